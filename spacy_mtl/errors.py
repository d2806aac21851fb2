"""Every error and warning message of spacy-mtl, each with a code, as in spaCy.

    raise ValueError(Errors.E001.format(name=name, value=value))
    warnings.warn(Warnings.W001.format(name=name))

Reading `Errors.E001` gives the message with its code in front:
"(spacy-mtl) [E001] ...". Tests match the code, not the prose, so a message can be
reworded without touching them. Codes are never reused: a message that goes away
leaves a gap. Each part of the package has its own range of codes, so that the
messages of one feature stand together:

    E001-E049  the shared transformer and its task heads (pipeline/)
    E050-E079  the weighting strategies (weighting/)
    E080-E099  the encoder's models (models/), continued at E300-E349
    E100-E149  reading and converting corpora (corpus/)
    E150-E169  kinds of task (tasks.py)
    E170-E199  evaluation (evaluation/)
    E200-E249  annotating streams (annotate/)
    E250-E269  teacher targets (distill/)
    E270-E299  training, devices, files and the command line (training/, device.py,
               files.py, cli/)
    E300-E349  the encoder's models (models/), continued
"""

from typing import Any


class ErrorsWithCodes(type):
    """Makes `Errors.E001` read as "(spacy-mtl) [E001] <message>"."""

    def __getattribute__(self, code: str) -> Any:
        message = super().__getattribute__(code)
        if code.startswith("__"):  # Python's own attributes, e.g. __class__
            return message
        return f"(spacy-mtl) [{code}] {message}"


# fmt: off

class Warnings(metaclass=ErrorsWithCodes):
    # pipeline/ and weighting/: W001-W019
    # annotate/: W020-W039
    # everything else: W040-W059 (models/: W050-W059)
    W050 = ("{component}: quantize = \"int8\" runs the encoder through PyTorch's deprecated eager "
            "int8 (torch.ao.quantization.quantize_dynamic), whose per-batch activation scales make a "
            "post's output depend on the posts batched with it. Serve with ONNX Runtime instead: "
            "`spacy mtl quantize IN OUT` (engine onnxruntime).")



class Errors(metaclass=ErrorsWithCodes):
    # pipeline/: E001-E049

    # weighting/: E050-E079

    # models/: E080-E099, then E300-E349
    E080 = ("spacy_mtl.TransformerModel.v1: quantize = {value!r}; use one of {values}, or null for fp32")
    E081 = ("spacy_mtl.TransformerModel.v1: quantize = 'int8' runs on the CPU; set mixed_precision = false")
    E082 = ("spacy_mtl.TransformerModel.v1: layers = {layers}; give distinct layer indices in "
            "increasing order, e.g. [0, 2, 4], or null for all")
    E083 = ("spacy_mtl.TransformerModel.v1: layers: {module} has no encoder.layer list")
    E084 = ("spacy_mtl.TransformerModel.v1: layers = {layers}, but the encoder has {n} layers (0-{last})")
    E085 = ("An int8 encoder (quantize = \"int8\") runs on the CPU only (PyTorch's dynamic int8 "
            "kernels have no GPU version): load the pipeline without spacy.require_gpu(), or use "
            "the fp32 pipeline")
    E086 = ("{path}: not a saved pipeline (no config.cfg)")
    E087 = ("{path}: no component's model is spacy_mtl.TransformerModel.v1; only its encoders can "
            "be converted")
    E088 = ("{path}: component '{component}' is already converted ({what}); convert the fp32 "
            "pipeline it came from")
    E089 = ("The encoder saved in a transformer component's 'model' file names the tokenizer file {name!r}, "
            "which is not a plain file name (absolute, a folder, or outside its directory): the "
            "pipeline was crafted or damaged, and it is not loaded.")
    E090 = ("The encoder saved in a transformer component's 'model' file asks to run code of its own "
            "({what}); a pipeline never runs code when it loads, and this one is not loaded.")
    E091 = ("spacy_mtl.TransformerModel.v1: {key} sets trust_remote_code; loading and initialising "
            "a pipeline never runs code from a model directory. Remove it.")
    E092 = ("spacy_mtl.TransformerModel.v1: engine = {value!r}; use one of {values}")
    E093 = ("engine = \"onnxruntime\" needs ONNX Runtime: pip install \"spacy-mtl[onnx]\" "
            "(or onnxruntime, or onnxruntime-gpu for CUDA)")
    E094 = ("spacy_mtl.TransformerModel.v1: engine = \"onnxruntime\" runs an encoder exported "
            "from a trained pipeline, and has none to initialise: train with engine = \"torch\", "
            "then `spacy mtl quantize IN OUT --precision fp32|int8`")
    E095 = ("The ONNX Runtime encoder runs inference only: it has no gradients. Train the "
            "torch pipeline it was exported from.")
    E096 = ("{option} = {value!r}; use one of {values}")
    E097 = ("--activations static calibrates int8 activation scales on posts: pass "
            "--calibration with one or more .spacy files of training posts (e.g. "
            "corpus/textcat/train.spacy), or use --activations per-token")
    E098 = ("{path}: no posts to calibrate on (a .spacy file of docs with text)")
    E099 = ("{component}: --engine torch supports --precision int8 only (the torch fp32 "
            "pipeline is the input)")
    E300 = ("The saved ONNX Runtime encoder is {found!r}, not a spacy-mtl ONNX encoder "
            "(format {expected!r}): save it again with this version of spacy-mtl")
    E301 = ("expected a spacy-transformers TransformerModel, got {name!r} with {shim}")

    # corpus/: E100-E149

    # tasks.py: E150-E169

    # evaluation/: E170-E199

    # annotate/: E200-E249

    # distill/: E250-E269

    # training/, device.py, files.py, cli/: E270-E299
    E270 = ("The output {output} is, holds or lies inside the input {input}: writing it would "
            "destroy what the command reads. Choose another output path.")
    E271 = ("The outputs {output} and {other} overlap: give each output its own path.")
    E272 = ("{path} exists and is not empty: pass --force to replace it, or choose another path.")

# fmt: on
