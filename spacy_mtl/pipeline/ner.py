"""Named entity recognition head for multi-task training.

spaCy's `ner` (the transition-based `EntityRecognizer`) with two changes:
- it reports its true loss, the mean negative log-likelihood of the gold actions per
  transition (stock logs the unnormalised sum of squared gradients);
- it follows the `TaskHead` contract, so the shared transformer knows in advance
  whether this batch will send it a gradient.
Docs whose entities are missing (`doc.set_ents([], default="missing")`) already get
no transition states in stock spaCy, so they teach nothing; a batch made only of such
docs is skipped.
"""
from typing import Callable, Iterable, List, Optional

import numpy
from spacy.language import Language
from spacy.pipeline.ner import EntityRecognizer
from spacy.training import Example
from thinc.api import Config, Model

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
        [[moves.get_cost(state, gold, i) <= 0 for i in range(n_moves)] for state, gold in zip(states, golds)],
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

    def has_task_gold(self, examples: Iterable[Example]) -> bool:
        return any(len(eg.predicted) and self.moves.has_gold(eg) for eg in examples)

    def update_task(self, examples: List[Example], *, drop: float) -> Optional[TaskLoss]:
        """Stock parser update, summing the true loss of every transition step."""
        self._step_losses: List[numpy.ndarray] = []
        self._finite = True
        EntityRecognizer.update(self, examples, drop=drop, sgd=None, losses=None)
        n_transitions = sum(len(nll) for nll in self._step_losses)
        if not self._finite or n_transitions == 0:
            return None
        return TaskLoss(float(sum(nll.sum() for nll in self._step_losses)) / n_transitions, n_transitions)

    def get_batch_loss(self, states, golds, scores, losses) -> numpy.ndarray:
        """Stock gradient of one transition step; records the step's true loss."""
        d_scores = super().get_batch_loss(states, golds, scores, None)
        nll = gold_action_nll(numpy.asarray(scores), gold_action_mask(self.moves, states, golds))
        if not (numpy.isfinite(nll).all() and numpy.isfinite(d_scores).all()):
            # Nothing more reaches this head's parameters; the batch reports no loss,
            # so the transformer leaves the task out of the step.
            self._finite = False
        if not self._finite:
            d_scores[...] = 0.0
        self._step_losses.append(nll)
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
) -> MultiTaskEntityRecognizer:
    """Named entity recognition that trains under a shared `mtl_transformer`."""
    return MultiTaskEntityRecognizer(
        nlp.vocab,
        model,
        name=name,
        moves=moves,
        update_with_oracle_cut_size=update_with_oracle_cut_size,
        incorrect_spans_key=incorrect_spans_key,
        scorer=scorer,
    )
