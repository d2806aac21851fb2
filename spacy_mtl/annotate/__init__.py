"""Annotating streams of posts: `spacy mtl annotate` and its parts.

- `read`: the input's lines as posts, and the problems of its bad lines;
- `workers`: the pipeline over batches of posts, here or in worker processes;
- `output`: the JSON lines written, the problem file, resuming a killed run;
- `stream`: `annotate_file`, the three together;
- `ray`: the same annotation in a pool of Ray actors (`spacy-mtl[ray]`);
- `report`: the entity × sentiment table of an annotated stream.
"""

from .output import (
    ANNOTATION_FIELDS,
    ProblemLog,
    default_errors_path,
    prepare_resume,
    record_line,
    repair_output,
)
from .read import (
    DEFAULT_MAX_CHARS,
    DEFAULT_MAX_RUN,
    FORMATS,
    MAX_DEPTH,
    PROBLEMS,
    STDIO,
    Item,
    Post,
    Problem,
    input_format_of,
    read_posts,
    run_problem,
)
from .stream import Stats, annotate_file
from .workers import (
    DEFAULT_BATCH_SIZE,
    Annotation,
    Annotator,
    annotate_batches,
    annotate_texts,
    load_pipeline,
)

__all__ = [
    "ANNOTATION_FIELDS",
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_MAX_CHARS",
    "DEFAULT_MAX_RUN",
    "FORMATS",
    "MAX_DEPTH",
    "PROBLEMS",
    "STDIO",
    "Annotation",
    "Annotator",
    "Item",
    "Post",
    "Problem",
    "ProblemLog",
    "Stats",
    "annotate_batches",
    "annotate_file",
    "annotate_texts",
    "default_errors_path",
    "input_format_of",
    "load_pipeline",
    "prepare_resume",
    "read_posts",
    "record_line",
    "repair_output",
    "run_problem",
]
