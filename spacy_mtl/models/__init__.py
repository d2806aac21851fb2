"""The shared encoder's model: the `spacy_mtl.TransformerModel.v1` architecture
(`transformer`) and its int8 twin for CPU serving (`int8`); and, for partial sharing,
each head's own copy of the encoder's top layers (`task_layers`,
`spacy_mtl.TaskLayersListener.v1`)."""

from .int8 import quantize_pipeline
from .task_layers import create_task_layers_listener
from .transformer import DEFAULT_ENCODER, create_transformer_model, resolve_encoder

__all__ = [
    "DEFAULT_ENCODER",
    "create_task_layers_listener",
    "create_transformer_model",
    "quantize_pipeline",
    "resolve_encoder",
]
