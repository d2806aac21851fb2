"""Every error and warning message of spacy-mtl, each with a code, as in spaCy.

    raise ValueError(Errors.E001.format(name=name, value=value))
    warnings.warn(Warnings.W001.format(name=name))

Reading `Errors.E001` gives the message with its code in front:
"(spacy-mtl) [E001] ...". Tests match the code, not the prose, so a message can be
reworded without touching them. Codes are never reused: a message that goes away
leaves a gap. Each part of the package has its own range of codes, so that the
messages of one feature stand together:

    E001-E039  the shared transformer and its task heads (pipeline/)
    E040-E049  training: the trace logger, its plot, schedules (training/)
    E050-E079  the weighting strategies (weighting/)
    E080-E099  the encoder's models (models/), continued at E300-E349
    E100-E149  reading and converting corpora (corpus/)
    E150-E169  kinds of task (tasks.py)
    E170-E199  evaluation (evaluation/)
    E200-E249  annotating streams (annotate/)
    E250-E269  teacher targets (distill/)
    E270-E299  devices, files and the command line (device.py, files.py, cli/)
    E300-E349  the encoder's models (models/), continued; E302-E319: the per-task
               layers of partial sharing (models/task_layers.py)
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
    W020 = ("Input line {line} has a field {name!r}: the annotation replaces it, there and on "
            "every later line")
    W021 = ("The pipeline gave a probability that is NaN or infinite for {labels}: written as "
            "null, since JSON has no NaN")
    # everything else: W040-W059 (evaluation/: W048-W049; models/: W050-W059)
    W048 = ("{task}: nothing to score in {path}: none of its {n} non-empty docs has gold for "
            "the task, so it gets no scores (is it the right file for the task? --strict "
            "makes this an error)")
    W049 = ("{task}: {n} empty docs in {path} (the first at index {first}) are not scored; "
            "per-doc records keep every doc's index in the file")
    W050 = ("{component}: quantize = \"int8\" runs the encoder through PyTorch's deprecated eager "
            "int8 (torch.ao.quantization.quantize_dynamic), whose per-batch activation scales make a "
            "post's output depend on the posts batched with it. Serve with ONNX Runtime instead: "
            "`spacy mtl quantize IN OUT` (engine onnxruntime).")



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
    # mtl_ner's soft teacher targets: the teacher pipeline beside the student (pipeline/ner.py,
    # distill/ner_teacher.py, compat.py)
    E026 = ("[components.{name}] teacher_targets = {value!r}; use one of {options}")
    E027 = ("[components.{name}] teacher_targets = {value!r} scores the student's own transition "
            "states with a trained NER pipeline: set teacher = \"path/to/teacher/model-best\" "
            "(e.g. ${{paths.ner_teacher}}), or use teacher_targets = \"hard\"")
    E028 = ("[components.{name}] teacher_confidence must lie in [0, 1], got {value}")
    E029 = ("[components.{name}] teacher = {path!r}: not a saved pipeline (no config.cfg there)")
    E030 = ("[components.{name}] teacher = {path!r} has {n} NER components ({names}); the "
            "teacher must have exactly one")
    E031 = ("[components.{name}] teacher = {path!r}: its NER predicts none of this head's "
            "labels (teacher: {teacher}; this head: {labels})")
    E032 = ("{name}: the NER model's predict(docs) gave {type}, not the step model of spaCy "
            "3.8's transition-based parser, which scores states: soft NER teacher targets need "
            "spacy.TransitionBasedParser.v2 (or v1) in the teacher")
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
    # models/task_layers.py (spacy_mtl.TaskLayersListener.v1, partial sharing): E302-E319
    E302 = ("spacy_mtl.TaskLayersListener.v1: layers = {layers}; give distinct layer indices "
            "of the pretrained encoder in increasing order, e.g. [5] for MiniLM's top layer, "
            "or [] for none (full sharing)")
    E303 = ("spacy_mtl.TaskLayersListener.v1: name = {name!r}: the encoder {module} has no "
            "encoder.layer list to copy layers from")
    E304 = ("spacy_mtl.TaskLayersListener.v1: layers = {layers}, but the encoder {name!r} has "
            "{n} layers (0-{last})")
    E305 = ("spacy_mtl.TaskLayersListener.v1: max_batch_items = {value}; give the most word "
            "pieces, padding included, that the task layers may run at once (at least 1)")
    E306 = ("spacy_mtl.TaskLayersListener.v1: the task layers copied from {name!r} take vectors "
            "of width {hidden}, but the shared transformer gives width {width}: name the shared "
            "transformer's own encoder, name = ${{components.transformer.model.name}}")
    E307 = ("spacy_mtl.TaskLayersListener.v1: the task layers have not been loaded: initialise "
            "the pipeline (nlp.initialize, spacy train) or load a trained one")
    E308 = ("The task layers saved in a head's 'model' file {what}; a pipeline never runs code "
            "when it loads, and this one is not loaded.")
    E309 = ("spacy_mtl.TaskLayersListener.v1: got {got} gradients for the {expected} docs with "
            "word pieces that it ran forward")
    E310 = ("the model {name!r} holds no task layers of spacy_mtl.TaskLayersListener.v1")

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
    E217 = ("{constant} is not JSON (RFC 8259 has no NaN or Infinity)")
    E218 = ("{number} is beyond the range of a float")
    E219 = ("{n} records where the quotes make one")
    E220 = ("a record of over {cap:,} characters: a field is over csv's limit of {limit:,} "
            "characters, or a quote is not closed")
    E221 = ("a quote is not closed: the record runs to the end of the input")

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
