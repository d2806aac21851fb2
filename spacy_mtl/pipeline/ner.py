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
from contextlib import contextmanager
from typing import Callable, Iterable, Iterator, List, Optional, Set

import numpy
from spacy.language import Language
from spacy.pipeline.ner import EntityRecognizer
from spacy.training import Example
from thinc.api import Config, Model, get_array_module

from ..distill.targets import teacher_ents
from ..errors import Errors
from ..types import TaskLoss, TaskReport
from .task_head import LISTENER_CONFIG, TaskHead

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


class TransitionLosses:
    """The true loss of every transition step of one update, with each state's weight.

    `MultiTaskEntityRecognizer.update_task` creates one per update; the parser's
    `get_batch_loss`, which spaCy calls once per transition step, records into it.

    taught (Set[int]): the ids of the (predicted) docs that learn a teacher's
        entities: their states weigh `teacher_weight`, the others 1.
    teacher_weight (float): the weight of a taught state.
    """

    def __init__(self, taught: Set[int], teacher_weight: float) -> None:
        self.taught = taught
        self.teacher_weight = teacher_weight
        self.losses: List[numpy.ndarray] = []
        self.weights: List[numpy.ndarray] = []
        #: False once a step's loss or gradient was not finite.
        self.finite = True

    def weigh(self, states, nll: numpy.ndarray, d_scores: numpy.ndarray) -> numpy.ndarray:
        """Record one step's per-state losses and return its gradient weighted by
        state; all zeros once any step was not finite, so that nothing more reaches
        the head's parameters.

        states: the step's parser states (each knows its doc).
        nll (numpy.ndarray): per state, -log P(gold actions).
        d_scores (numpy.ndarray): the stock gradient of the step's scores.
        RETURNS (numpy.ndarray): `d_scores`, weighted in place.
        """
        weights = numpy.asarray(
            [self.teacher_weight if id(state.doc) in self.taught else 1.0 for state in states]
        )
        if not (numpy.isfinite(nll).all() and numpy.isfinite(d_scores).all()):
            self.finite = False
        if not self.finite:
            d_scores[...] = 0.0
        else:
            xp = get_array_module(d_scores)
            d_scores *= xp.asarray(weights, dtype=d_scores.dtype)[:, None]
        self.losses.append(nll)
        self.weights.append(weights)
        return d_scores

    def result(self) -> TaskReport:
        """The weighted mean loss over every recorded transition, or None if a step
        was not finite or nothing was recorded."""
        total = float(sum(w.sum() for w in self.weights))
        if not self.finite or total == 0:
            return None
        loss = sum(float((nll * w).sum()) for nll, w in zip(self.losses, self.weights))
        return TaskLoss(loss / total, total)


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

    #: The losses of the update in progress (see `recording`); None between updates.
    _recorder: Optional[TransitionLosses] = None

    def update_task(self, examples: List[Example], *, drop: float) -> TaskReport:
        """Stock parser update, recording the true loss of every transition step."""
        taught = [self.is_taught(eg) for eg in examples]
        # The parser's states know their (predicted) doc, by which a step's loss tells
        # the taught states from the gold ones.
        taught_docs = {id(eg.predicted) for eg, is_taught in zip(examples, taught) if is_taught}
        examples = [
            self.with_teacher_reference(eg) if is_taught else eg
            for eg, is_taught in zip(examples, taught)
        ]
        with self.recording(TransitionLosses(taught_docs, self.teacher_weight)) as recorder:
            EntityRecognizer.update(self, examples, drop=drop, sgd=None, losses=None)
        return recorder.result()

    @contextmanager
    def recording(self, recorder: TransitionLosses) -> Iterator[TransitionLosses]:
        """Make `get_batch_loss` record into `recorder` for the duration of one
        update: spaCy's parser calls it from inside its own update loop, which passes
        it nothing of ours."""
        self._recorder = recorder
        try:
            yield recorder
        finally:
            self._recorder = None

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
        `teacher_weight`; records the step's true loss. Outside `update_task`, the
        stock gradient."""
        d_scores = super().get_batch_loss(states, golds, scores, None)
        if self._recorder is None:
            return d_scores
        nll = gold_action_nll(numpy.asarray(scores), gold_action_mask(self.moves, states, golds))
        return self._recorder.weigh(states, nll, d_scores)

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
        raise ValueError(Errors.E017.format(name=name, value=teacher_weight))
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
