"""What a component must offer to train as a task under `MultiTaskTransformer`."""
from typing import Callable, Iterable, Optional

from spacy.language import Language
from spacy.training import Example


class TaskHead:
    """Mixin for the heads that listen to a shared `MultiTaskTransformer`.

    The shared transformer asks each head, before the heads update, whether the batch
    holds gold for its task (`has_task_gold`), so that it knows whose gradient to wait
    for before running the single backward pass. A head's `update` must skip the
    batch exactly when `has_task_gold` is False, and must set `batch_loss` and
    `batch_count` before its gradient reaches the transformer.
    """

    #: The head's true loss on the batch of its last `update`: a mean negative
    #: log-likelihood, comparable across steps (what loss-based weightings read).
    batch_loss: Optional[float] = None
    #: How many terms `batch_loss` is the mean of (annotated docs, transitions). A head
    #: backpropagates the gradient of their sum, as stock spaCy does; the shared
    #: transformer divides by this count, so that the gradient each weighting sees is
    #: the gradient of the loss it sees. Without it, NER (a sum over every transition
    #: of the batch) outweighs textcat (a sum over docs) a hundredfold in the encoder.
    batch_count: int = 1

    def has_task_gold(self, examples: Iterable[Example]) -> bool:
        """Whether any non-empty example of the batch is annotated for this task."""
        raise NotImplementedError

    def initialize(
        self,
        get_examples: Callable[[], Iterable[Example]],
        *,
        nlp: Optional[Language] = None,
        **kwargs,
    ) -> None:
        """Check that a shared transformer trains this head, then initialise it."""
        if nlp is not None and not any(
            getattr(proc, "task_heads", {}).get(self.name) is self for _, proc in nlp.pipeline
        ):
            raise ValueError(
                f"Component '{self.name}' does not listen to a shared transformer: its "
                "model needs a 'spacy-transformers.TransformerListener.v1' tok2vec whose "
                "upstream is an 'mtl_transformer' component placed before it."
            )
        super().initialize(get_examples, nlp=nlp, **kwargs)  # type: ignore[misc]
