"""The types and model attributes at spacy-mtl's boundaries; docs/design.md says
what crosses each."""

from typing import List

from thinc.types import ArrayXd

#: Per doc, per array of the transformer's output: the gradient a listener sends
#: back (numpy on the CPU, cupy on a GPU).
DocTensors = List[List[ArrayXd]]

#: The key of a transformer model's `attrs` that says it runs inference only; its
#: value says what it is (e.g. 'int8 (quantize = "int8")'). Training such a
#: model is refused.
INFERENCE_ONLY = "inference_only"
