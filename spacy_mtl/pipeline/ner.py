"""Named entity recognition head for multi-task training.

spaCy's `ner` (the transition-based `EntityRecognizer`) with two changes:
- it reports its true loss, the mean negative log-likelihood of the gold actions per
  transition (stock logs the unnormalised sum of squared gradients);
- it follows the `TaskHead` protocol, so the shared transformer knows in advance
  whether this batch will send it a gradient.
Docs whose entities are missing (`doc.set_ents([], default="missing")`) already get
no transition states in stock spaCy, so they teach nothing; a batch made only of such
docs is skipped.
"""
from typing import Callable, Dict, Iterable, Optional
import warnings

import numpy
from spacy.language import Language
from spacy.pipeline.ner import EntityRecognizer
from spacy.training import Example
from thinc.api import Config, Model, Optimizer

from .task_head import TaskHead

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

[model.tok2vec]
@architectures = "spacy-transformers.TransformerListener.v1"
grad_factor = 1.0
upstream = "*"

[model.tok2vec.pooling]
@layers = "reduce_mean.v1"
"""
)["model"]


def gold_action_nll(scores: numpy.ndarray, d_scores: numpy.ndarray) -> numpy.ndarray:
    """Per state: -log P(gold actions), recovered from spaCy's parser gradient.

    spaCy's `cpu_log_loss` writes d = p - q, where p = softmax(scores) and q is the
    softmax restricted to the gold (zero-cost) actions G, so q_i = p_i / P(G) on G.
    Taking the action i* where q is largest: -log P(G) = log q_i* - log p_i*.
    States without any gold action get d = 0, hence q = p and a loss of 0.
    """
    scores = scores.astype("float64")
    log_p = scores - scores.max(axis=1, keepdims=True)
    log_p -= numpy.log(numpy.exp(log_p).sum(axis=1, keepdims=True))
    q = numpy.exp(log_p) - d_scores
    best = q.argmax(axis=1)
    rows = numpy.arange(len(scores))
    return numpy.log(q[rows, best]) - log_p[rows, best]


class MultiTaskEntityRecognizer(TaskHead, EntityRecognizer):
    """`EntityRecognizer` that trains under a shared `mtl_transformer`."""

    def has_task_gold(self, examples: Iterable[Example]) -> bool:
        return any(len(eg.predicted) and self.moves.has_gold(eg) for eg in examples)

    def update(
        self,
        examples: Iterable[Example],
        *,
        drop: float = 0.0,
        sgd: Optional[Optimizer] = None,
        losses: Optional[Dict[str, float]] = None,
    ) -> Dict[str, float]:
        """Stock parser update; the true loss is gathered in `get_batch_loss`."""
        if losses is None:
            losses = {}
        losses.setdefault(self.name, 0.0)
        examples = list(examples)
        self.batch_loss = None
        if not self.has_task_gold(examples):
            return losses
        self._nll_total = 0.0
        self._n_transitions = 0
        super().update(examples, drop=drop, sgd=sgd, losses=None)
        if self.batch_loss is not None:
            losses[self.name] += self.batch_loss
        return losses

    def get_batch_loss(self, states, golds, scores, losses) -> numpy.ndarray:
        """Stock gradient of one transition step; records the step's true loss."""
        d_scores = super().get_batch_loss(states, golds, scores, None)
        nll = gold_action_nll(numpy.asarray(scores), d_scores)
        if not numpy.isfinite(nll).all():
            # Zero this step's gradient; the shared transformer drops the task for
            # the batch once it sees the non-finite batch loss.
            warnings.warn(f"[spacy-mtl] '{self.name}': non-finite loss in a transition step")
            d_scores[...] = 0.0
        self._nll_total += float(nll.sum())
        self._n_transitions += len(states)
        # The mean so far; complete once the last step ran, before the backward pass
        # reaches the transformer (the parser backpropagates into it at the end).
        self.batch_count = max(self._n_transitions, 1)
        self.batch_loss = self._nll_total / self.batch_count
        return d_scores


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
