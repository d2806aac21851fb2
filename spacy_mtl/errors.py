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
    E080-E099  the encoder's models (models/)
    E100-E149  reading and converting corpora (corpus/)
    E150-E169  kinds of task (tasks.py)
    E170-E199  evaluation (evaluation/)
    E200-E249  annotating streams (annotate/)
    E250-E269  teacher targets (distill/)
    E270-E299  training, devices, files and the command line (training/, device.py,
               files.py, cli/)
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
    W020 = ("Input line {line} has a field {name!r}: the annotation replaces it, there and on "
            "every later line")
    W021 = ("The pipeline gave a probability that is NaN or infinite for {labels}: written as "
            "null, since JSON has no NaN")
    # everything else: W040-W059
    pass


class Errors(metaclass=ErrorsWithCodes):
    # pipeline/: E001-E049

    # weighting/: E050-E079

    # models/: E080-E099

    # corpus/: E100-E149

    # tasks.py: E150-E169

    # evaluation/: E170-E199

    # annotate/: E200-E249
    E200 = "Unknown input format {given!r}: use one of {formats}"
    E201 = "Reading stdin needs its format: --format {formats}"
    E202 = "{path}: extension {suffix} names no input format: use {extensions}, or give --format"
    E203 = "CSV header (line 1): {error}"
    E204 = "CSV header (line 1): not UTF-8"
    E205 = "CSV header has no column {text_field!r}: it has {columns}"
    E206 = ("batch_size and n_process must be at least 1, max_chars and max_run at least 0: got "
            "batch_size {batch_size}, n_process {n_process}, max_chars {max_chars}, max_run "
            "{max_run}")
    E207 = "--resume needs an output file: it continues where the file ends"
    E208 = ("{output} has {lines:,} lines but the input only {posts:,} valid posts: resume with "
            "the input and options of the run that wrote it. Nothing was changed.")
    E209 = ("{output}: its last line is not the annotation of input line {line}, the last post "
            "it should hold ({why}): resume with the input and options (--text-field, "
            "--line-field, --max-run) of the run that wrote it. Nothing was changed.")
    E210 = "Ray is not installed: pip install 'spacy-mtl[ray]'"
    E211 = "The dataset has no column {text_field!r}: it has {columns}"
    E212 = ("Can't find the pipeline {model!r}: it is neither an installed package nor a "
            "directory with a config.cfg")
    E213 = ("Each Ray actor asks for {num_gpus} GPU (--ray-gpus), but the Ray cluster has "
            "{gpus}: its actors would wait for ever. Start GPU nodes, or use --ray-gpus 0.")
    E214 = ("{path} exists and is not empty: Ray would add its files to those there. Remove it, "
            "or choose another directory.")
    E215 = "{path}: no annotated records (JSON lines with 'cats' and 'ents')"
    E216 = "The report's chart needs matplotlib: pip install 'spacy-mtl[plot]'"

    # distill/: E250-E269
    E250 = "teacher cats must lie in [0, 1], got {bad} on {text!r}"
    E251 = "teacher entities {spans} run past the {n} tokens of {text!r}"
    E252 = "teacher {i} ({name}) has no textcat or NER component to teach with"
    E253 = "label {label!r} is taught twice: by {first} and by teacher {i}: '{name}'"
    E254 = "more than one NER teacher ({teachers}); a doc takes one teacher's entities"

    # training/, device.py, files.py, cli/: E270-E299
    E270 = ("The output {output} is, holds or lies inside the input {input}: writing it would "
            "destroy what the command reads. Choose another output path.")
    E271 = ("The outputs {output} and {other} overlap: give each output its own path.")
    E272 = ("{path} exists and is not empty: pass --force to replace it, or choose another path.")
    E273 = "gpu id must be 'auto' or an integer (-1 for the CPU), got {gpu_id}"
    E274 = ("GPU {gpu_id} was asked for, but no CUDA GPU is usable here (that needs cupy and a "
            "CUDA build of torch): use --gpu-id -1 for the CPU, or auto")
    E275 = ("GPU {gpu_id} was asked for, but this machine has {count} GPU(s), numbered from 0: "
            "use --gpu-id auto, -1 for the CPU, or a GPU it has")
    E276 = "--ray reads and writes with Ray Data: it has no --resume, --errors, --line-field or '-'"
    E277 = "Annotated file not found: {path}"
    E278 = "{path} is not a readable .spacy file: {error}"
    E279 = "Path to Python code not found: {path}"
    E280 = "Couldn't load Python code {path}: {error}"

# fmt: on
