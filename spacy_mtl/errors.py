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
    W001 = ("'{name}': task '{task}' gave a non-finite loss or gradient; it is left out of "
            "this step")
    W002 = ("'{name}': task '{task}' sent a non-finite gradient; it is left out of this step")
    W003 = ("{name}: every weight is 0, so the shared encoder learns from no task (the heads "
            "still train on their own losses)")
    # annotate/: W020-W039
    # everything else: W040-W059
    pass


class Errors(metaclass=ErrorsWithCodes):
    # pipeline/: E001-E049
    E001 = ("TaskLoss: n_terms must be > 0, got {n_terms}")
    E002 = ("{name}: update_task returned a non-finite loss; return None instead")
    E003 = ("Component '{name}' does not listen to a shared transformer: its model needs a "
            "'spacy-transformers.TransformerListener.v1' tok2vec whose upstream is an "
            "'mtl_transformer' component placed before it.")
    E004 = ("{cls} subclasses TaskHead but does not implement {methods}")
    E005 = ("{cls} subclasses TaskHead but not a spaCy component: put TaskHead before a "
            "component class, e.g. class MyHead(TaskHead, Tagger)")
    E006 = ("[components.{name}] max_batch_items = {value}: give the most word pieces the "
            "encoder may run at once (at least 1)")
    E007 = ("[components.{name}.weighting] must build a spacy_mtl Weighting, got {type}")
    E008 = ("[components.{name}.weighting] {error}")
    E009 = ("Component '{name}' listens to the shared transformer '{encoder}' but is not a "
            "multi-task head: use a spacy_mtl factory (mtl_textcat, mtl_textcat_multilabel, "
            "mtl_ner) or implement TaskHead.")
    E010 = ("Component '{name}' has {n} listeners to '{encoder}'; a task head must have "
            "exactly one.")
    E011 = ("Component '{name}': the model must be a spacy-transformers TransformerModel "
            "(e.g. spacy_mtl.TransformerModel.v1), got {type}")
    E012 = ("Component '{name}': its encoder is {what}, which runs inference only; train the "
            "fp32 pipeline and convert it with `spacy mtl quantize`")
    E013 = ("Task head '{task}' sent a gradient for a batch in which its has_task_gold() was "
            "False: its update must skip exactly those batches.")
    E014 = ("Task head '{task}' sent two gradients for one batch.")
    E015 = ("Task head '{task}' reported a loss for a batch in which its has_task_gold() was "
            "False, or without the transformer's update.")
    E016 = ("Task head '{task}' reported a loss, but its listener sent no gradient.")
    E017 = ("[components.{name}] teacher_weight must be >= 0, got {value}")
    E018 = ("Component '{name}': the annealing schedule gave {value}, outside [0, 1]")
    E019 = ("Component '{name}' needs at least {n} labels, got {labels}")
    E020 = ("Component '{name}': the training docs carry label sets that share no label "
            "({sets}); say which are this head's with [initialize.components.{name}] labels "
            "= [...]")
    E021 = ("Component '{name}', training example {index} ({text!r}): cats values must lie in "
            "[0, 1], got {cats}")
    E022 = ("Component '{name}', training example {index} ({text!r}): an exclusive head's "
            "labels must sum to 1 per doc, got {cats}; use mtl_textcat_multilabel for "
            "independent labels")
    E023 = ("Component '{name}': positive_label {label!r} must be one of exactly two labels, "
            "got {labels}")
    E024 = ("[components.{name}] max_train_batch_items = {value}: give the most word pieces "
            "the encoder may run at once in training (at least 1), or null for one call per "
            "batch")
    E025 = ("Task head '{task}' sent {n} gradients for a batch in which {expected} docs have "
            "the encoder's output: one per such doc, in the batch's order.")
    # training/ (the weight trace, its plot, the schedules): with pipeline/, whose
    # heads they serve.
    E040 = ("spacy_mtl.linear.v1: steps must be at least 1, got {steps}")
    E041 = ("{path}:{line}: not a weight-trace record ({error})")
    E042 = ("{path}: no records")
    E043 = ("plot needs matplotlib: pip install 'spacy-mtl[plot]'")

    # weighting/: E050-E079
    # A strategy's messages start with its registered name, right after the code.
    E050 = ("{owner}: {arg} must be {kind}, got {value!r}")
    E051 = ("{owner}: {arg} must be >= {bound}, got {value!r}")
    E052 = ("{owner}: {arg} must be > {bound}, got {value!r}")
    E053 = ("{name}: no task heads listen to the transformer")
    E054 = ("{cls} must define weights() or combine()")
    E055 = ("{name}: 'weights' is empty; leave it out (null) for equal weights or give one "
            "non-negative weight per task")
    E056 = ("{name}: weights.{task} = {value!r}; a weight must be a finite number >= 0")
    E057 = ("{name}: weights name {unknown}, which are not task heads of the pipeline (its "
            "tasks are {tasks})")
    E058 = ("{name}: weights give no weight for the tasks {missing}")
    E059 = ("{name}: normalization must be one of {options}, got {value!r}")

    # models/: E080-E099

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
