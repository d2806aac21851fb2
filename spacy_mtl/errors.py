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
    # everything else: W040-W059
    # evaluation/: W048-W049 (W050-W059 are models/' on main)
    W048 = ("{task}: nothing to score in {path}: none of its {n} non-empty docs has gold for "
            "the task, so it gets no scores (is it the right file for the task? --strict "
            "makes this an error)")
    W049 = ("{task}: {n} empty docs in {path} (the first at index {first}) are not scored; "
            "per-doc records keep every doc's index in the file")


class Errors(metaclass=ErrorsWithCodes):
    # pipeline/: E001-E049

    # weighting/: E050-E079

    # models/: E080-E099

    # corpus/: E100-E149
    # sources.py: reading annotated files; {where} is "file:line"
    E100 = ("{where}: not valid UTF-8 ({reason}); re-encode the file as UTF-8")
    E101 = ("{where}: invalid tag {tag!r} (expected O, B-LABEL or I-LABEL)")
    E102 = ("{where}: expected 'token<TAB>tag', got {line!r}")
    E103 = ("{where}: {n} columns {columns}, but line {first} has {width}; every token line "
            "needs the same columns (one token, without spaces, per line)")
    E104 = ("{where}: token {token!r} contains a space; write one token per line")
    E105 = ("{where}: invalid BIO sequence: {tag!r} after {after} (an entity must start with "
            "B-{label})")
    E106 = ("{where}: label {label!r} has value {value!r}; expected 0/1, true/false")
    E107 = ("{where}: label {label!r} has value {value!r}; expected a number in [0, 1]")
    E108 = ("{where}: {n} labels {labels} in single-label mode (pass multilabel=True / "
            "--multilabel for multi-label data)")
    E109 = ("{where}: no {field!r} column in header {header}")
    E110 = ("{where}: no {field!r} column in header {header} (one 0/1 column per label needs "
            "multilabel=True / --multilabel)")
    E111 = ("{where}: expected {expected} fields, got {n}")
    E112 = ("{where}: expected exactly one of 'label', 'labels', 'cats'; got {given}")
    E113 = ("{where}: 'label' must be a string, got {value!r}")
    E114 = ("{where}: 'labels' must be a list of strings, got {value!r}")
    E115 = ("{where}: 'cats' must be an object, got {value!r}")
    E116 = ("{where}: invalid JSON ({error})")
    E117 = ("{where}: expected a JSON object, got {type}")
    E118 = ("{where}: field {field!r} missing or not a string")
    E119 = ("{path}: unknown category file type {suffix!r} (expected .csv or .jsonl)")
    E120 = ("{where}: not readable as CSV: {error}")
    E121 = ("{where}: invalid JSON (nested too deeply for Python's JSON parser)")
    E122 = ("{where}: the tag column must be a column number of 2 or more (the token is "
            "column 1), got {column!r}")
    E123 = ("{where}: no column {column} to take the tag from: the line has {width}")

    # split.py
    E124 = ("split ratios must be three finite numbers (train, dev, test) >= 0 summing to 1, "
            "train > 0; got {ratios}")
    E125 = ("{n} examples are too few to split by {ratios}")
    # convert.py and `spacy mtl convert`
    E126 = ("{path}: no usable examples (skipped: {skipped})")
    E127 = ("unknown split(s) {unknown}: splits are {splits}")
    E128 = ("no input files given: at least one file of a task (train, dev or test)")
    E129 = ("a cap on the examples applies to a re-split only")
    E130 = ("multilabel applies to category (textcat) files, and none is given")
    E131 = ("--lang {lang!r}: spaCy has no such language ({error})")
    E132 = ("the {task} {split} file is given twice: {path} and {other}")
    E133 = ("--column {task}: no file of that task is given (tasks with files: {tasks})")
    E134 = ("{path}: no such file (the {task} {split} file)")
    E135 = ("{option} {value!r}: expected {expected}")
    # reader.py: spacy_mtl.MultiTaskCorpus.v1
    E136 = ("{reader}: paths key {key!r}: write {fixed!r}; a ':' in a key does not survive "
            "spaCy's config files (configparser reads it like '=')")
    E137 = ("{reader}: paths key {key!r} names unknown task(s) {unknown}; a key is "
            "TASK[+TASK...][/NAME] with TASK a registered kind of task: {known} (register "
            "your own with @spacy_mtl.register_task)")
    E138 = ("{reader}: sampling must be one of {modes}, got {sampling!r}")
    E139 = ("{reader}: paths[{key!r}] = {path!r} does not exist{hint}")
    E140 = ("{reader}: paths[{key!r}] = {path!r} holds no .spacy files")
    E141 = ("{reader}: paths[{key!r}]: {file} is not a .spacy file ({error})")
    E142 = ("{reader}: {key} must be {expected}, got {value}")
    E143 = ("{reader}: epoch_size has no meaning with sampling = 'none' (one pass); set it "
            "to null")
    E144 = ("{reader}: paths is empty; give at least one corpus, e.g. {{'ner': 'train.spacy'}}")
    E145 = ("{reader}: seed is required with sampling = {sampling!r}{shuffle}; write seed = "
            "${{system.seed}}")
    E146 = ("{reader}: paths[{key!r}] = {path!r} holds no docs")
    E147 = ("{reader}: the corpus files are not read yet; call load() first")
    E148 = ("{where}: {n} empty docs (first at index {first})")
    E149 = ("{where}: labels {task}, but none of its {n} docs has {annotation} annotation")

    # tasks.py: E150-E169
    E150 = ("A kind of task's name must be letters, digits, '_', '.' and '-' (corpus keys "
            "join names with '+' and '/'), got {name!r}")
    E151 = ("The kind of task {name!r} must be registered as a subclass of "
            "spacy_mtl.TaskKind, got {value!r}")
    E152 = ("The kind of task {name!r} ({cls}) names no annotation: set its class attribute "
            "`annotation`, e.g. annotation = \"tags\"")
    E153 = ("Unknown kind of task {name!r}: the registered kinds are {known}. Register your "
            "own with @spacy_mtl.register_task (in a --code file, or an entry point of the "
            "group 'thinc_mtl_tasks')")
    E154 = ("The kind of task {name!r} cannot {what}: its class {cls} does not define {methods}")
    E155 = ("{key!r} names an empty task: write TASK[+TASK...][/NAME]")
    E156 = ("{key!r} names several tasks: give one, TASK[/NAME]")
    E157 = ("The kind of task {name!r} ({cls}) must define {methods}: the reader and the "
            "converter mark every kind's annotation missing on the other tasks' docs")

    # evaluation/: E170-E199
    E170 = ("Give at least one test set: --task NAME=FILE, --textcat FILE or --ner FILE")
    E171 = ("Test set for {task} not found: {path}")
    E172 = ("Can't find the pipeline {model!r}: it is neither a directory nor an installed "
            "package")
    E173 = ("{task}: nothing to score in {path}: none of its {n} non-empty docs has gold for "
            "the task (is it the right file for the task?)")
    E174 = ("{path} is not a .spacy file (a DocBin): {error}")
    E175 = ("Can't write the scores into the pipeline's meta: {path} not found (the pipeline "
            "{model!r})")
    E176 = ("paired_bootstrap needs at least one run of each setup")
    E177 = ("{task}: the runs were not scored on the same test docs")
    E178 = ("{task}: no per-doc records")
    E179 = ("The test set {task} is given twice: {path} and {other}")

    # annotate/: E200-E249

    # distill/: E250-E269

    # training/, device.py, files.py, cli/: E270-E299
    E270 = ("The output {output} is, holds or lies inside the input {input}: writing it would "
            "destroy what the command reads. Choose another output path.")
    E271 = ("The outputs {output} and {other} overlap: give each output its own path.")
    E272 = ("{path} exists and is not empty: pass --force to replace it, or choose another path.")

# fmt: on
