"""The shared encoder's model: the `spacy_mtl.TransformerModel.v1` architecture
(`transformer`) and its int8 twin for CPU serving (`int8`)."""

from .int8 import quantize_pipeline
from .transformer import DEFAULT_ENCODER, create_transformer_model, resolve_encoder

__all__ = ["DEFAULT_ENCODER", "create_transformer_model", "quantize_pipeline", "resolve_encoder"]
