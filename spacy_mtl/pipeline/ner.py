"""Named entity recognition head for multi-task training.

spaCy's `ner` (the transition-based `EntityRecognizer`) with two changes:
- it reports its true loss, the mean negative log-likelihood of the gold actions per
  transition (stock logs the unnormalised sum of squared gradients);
- it follows the `TaskHead` contract, so the shared transformer knows in advance
  whether this batch will send it a gradient.
Docs whose entities are missing (`doc.set_ents([], default="missing")`) already get
no transition states in stock spaCy, so they teach nothing; a batch made only of such
docs is skipped.

A doc without gold entities but with a teacher's (`doc._.teacher_ents`, see
`spacy_mtl.distill.targets`) learns them as if they were gold: the teacher's hard entities,
every other token outside, each transition's loss weighted by `teacher_weight`. A doc
with gold entities learns its gold only: the NER teacher was trained on those very
docs, so on them its entities are a noisier copy of the gold.
"""

import math
from typing import Callable, Iterable, List, Optional, Set

import numpy
from spacy.language import Language
from spacy.pipeline.ner import EntityRecognizer
from spacy.training import Example
from thinc.api import Config, Model

from ..distill.targets import teacher_ents
from .task_head import LISTENER_CONFIG, TaskHead, TaskLoss

DEFAULT_NER_MODEL = Config().from_str(
    """
[model]
@architectures = "spacy.TransitionBasedParser.v2"
state_type = "ner"
extra_state_tokens = false
hidden_width = 64
maxout_pieces = 2
use_upper = false
nO = null
"""
    + LISTENER_CONFIG
)["model"]


def gold_action_mask(moves, states, golds) -> numpy.ndarray:
    """Per state and action: whether the action is gold, i.e. valid and of zero cost.

    These are the actions whose probability spaCy's parser loss raises. `get_cost`
    is the transition system's public cost (9000 for an invalid action).
    """
    n_moves = moves.n_moves
    return numpy.asarray(
        [
            [moves.get_cost(state, gold, i) <= 0 for i in range(n_moves)]
            for state, gold in zip(states, golds)
        ],
        dtype=bool,
    ).reshape(len(states), n_moves)


def gold_action_nll(scores: numpy.ndarray, gold: numpy.ndarray) -> numpy.ndarray:
    """Per state: -log P(gold actions) = logsumexp(scores) - logsumexp(scores[gold]).

    P is the softmax over every action, as in spaCy's parser loss, whose gradient with
    respect to the scores is this loss's. A state without a gold action gets
    no gradient from spaCy and a loss of 0 here.
    """
    scores = numpy.asarray(scores, dtype="float64")
    top = scores.max(axis=1, keepdims=True)
    log_z = numpy.log(numpy.exp(scores - top).sum(axis=1)) + top[:, 0]
    has_gold = gold.any(axis=1)
    gold_scores = numpy.where(gold, scores, -numpy.inf)
    gold_top = numpy.where(has_gold, gold_scores.max(axis=1), 0.0)[:, None]
    with numpy.errstate(divide="ignore", invalid="ignore"):
        log_gold = numpy.log(numpy.exp(gold_scores - gold_top).sum(axis=1)) + gold_top[:, 0]
    return numpy.where(has_gold, log_z - log_gold, 0.0)


class MultiTaskEntityRecognizer(TaskHead, EntityRecognizer):
    """`EntityRecognizer` that trains under a shared `mtl_transformer`."""

    #: The loss weight of a transition on a doc that only a teacher annotates.
    teacher_weight: float = 1.0

    def is_taught(self, example: Example) -> bool:
        """Whether the example learns the teacher's entities: it has no gold entities,
        a teacher's, and the head learns from teachers (`teacher_weight` > 0)."""
        return (
            self.teacher_weight > 0
            and teacher_ents(example.reference) is not None
            and not self.moves.has_gold(example)
        )

    def has_task_gold(self, examples: Iterable[Example]) -> bool:
        return any(
            len(eg.predicted) and (self.moves.has_gold(eg) or self.is_taught(eg)) for eg in examples
        )

    def update_task(self, examples: List[Example], *, drop: float) -> Optional[TaskLoss]:
        """Stock parser update, summing the true loss of every transition step."""
        self._step_losses: List[numpy.ndarray] = []
        self._step_weights: List[numpy.ndarray] = []
        self._finite = True
        taught = [self.is_taught(eg) for eg in examples]
        # The parser's states know their (predicted) doc, by which a step's loss tells
        # the taught states from the gold ones.
        self._taught: Set[int] = {
            id(eg.predicted) for eg, is_taught in zip(examples, taught) if is_taught
        }
        examples = [
            self.with_teacher_reference(eg) if is_taught else eg
            for eg, is_taught in zip(examples, taught)
        ]
        EntityRecognizer.update(self, examples, drop=drop, sgd=None, losses=None)
        total = float(sum(w.sum() for w in self._step_weights))
        if not self._finite or total == 0:
            return None
        loss = sum(float((nll * w).sum()) for nll, w in zip(self._step_losses, self._step_weights))
        return TaskLoss(loss / total, total)

    def with_teacher_reference(self, example: Example) -> Example:
        """The example with the teacher's entities as its reference's entities.

        Entities of labels this head does not predict are left missing rather than
        taught as "outside".
        """
        reference = example.reference.copy()
        spans = teacher_ents(reference) or []
        known = set(self.labels)
        reference.set_ents(
            [span for span in spans if span.label_ in known],
            missing=[span for span in spans if span.label_ not in known],
            default="outside",
        )
        return Example(example.predicted, reference)

    def get_batch_loss(self, states, golds, scores, losses) -> numpy.ndarray:
        """Stock gradient of one transition step, teacher-taught states weighted by
        `teacher_weight`; records the step's true loss."""
        d_scores = super().get_batch_loss(states, golds, scores, None)
        nll = gold_action_nll(numpy.asarray(scores), gold_action_mask(self.moves, states, golds))
        weights = numpy.asarray(
            [self.teacher_weight if id(state.doc) in self._taught else 1.0 for state in states]
        )
        if not (numpy.isfinite(nll).all() and numpy.isfinite(d_scores).all()):
            # Nothing more reaches this head's parameters; the batch reports no loss,
            # so the transformer leaves the task out of the step.
            self._finite = False
        if not self._finite:
            d_scores[...] = 0.0
        else:
            d_scores *= self.model.ops.asarray(weights, dtype=d_scores.dtype)[:, None]
        self._step_losses.append(nll)
        self._step_weights.append(weights)
        return d_scores

    def initialize(
        self,
        get_examples: Callable[[], Iterable[Example]],
        *,
        nlp: Optional[Language] = None,
        labels: Optional[dict] = None,
    ) -> None:
        """Initialise for training, as stock `ner` (`labels` from `spacy init labels`)."""
        self.require_encoder(nlp)
        super().initialize(get_examples, nlp=nlp, labels=labels)


@Language.factory(
    "mtl_ner",
    assigns=["doc.ents", "token.ent_iob", "token.ent_type"],
    default_config={
        "moves": None,
        "update_with_oracle_cut_size": 100,
        "model": DEFAULT_NER_MODEL,
        "incorrect_spans_key": None,
        "scorer": {"@scorers": "spacy.ner_scorer.v1"},
        "teacher_weight": 1.0,
    },
    default_score_weights={"ents_f": 1.0, "ents_p": 0.0, "ents_r": 0.0, "ents_per_type": None},
)
def make_mtl_ner(
    nlp: Language,
    name: str,
    model: Model,
    moves,
    update_with_oracle_cut_size: int,
    incorrect_spans_key: Optional[str],
    scorer: Optional[Callable],
    teacher_weight: float,
) -> MultiTaskEntityRecognizer:
    """Named entity recognition that trains under a shared `mtl_transformer`.

    teacher_weight (float): loss weight of a transition on a doc that only a teacher
        annotates (`doc._.teacher_ents`); 0: teachers are ignored.
    """
    if not (math.isfinite(teacher_weight) and teacher_weight >= 0.0):
        raise ValueError(f"[components.{name}] teacher_weight must be >= 0, got {teacher_weight}")
    head = MultiTaskEntityRecognizer(
        nlp.vocab,
        model,
        name=name,
        moves=moves,
        update_with_oracle_cut_size=update_with_oracle_cut_size,
        incorrect_spans_key=incorrect_spans_key,
        scorer=scorer,
    )
    head.teacher_weight = float(teacher_weight)
    return head
