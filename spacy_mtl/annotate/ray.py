"""Annotate a Ray Dataset in a pool of Ray actors: the same pipeline on a cluster.

    import ray
    from spacy_mtl.annotate.ray import annotate

    ray.init()                                     # local; ray.init(address="auto") joins a cluster
    posts = ray.data.read_json("posts/")           # JSONL files, a row per line
    annotate(posts, "en_mtl_tweets", concurrency=8).write_parquet("annotated/")

Each actor loads the pipeline once (`spacy.load`: an installed package's name, or a
directory every node can read) and annotates `batch_size` rows at a time as
`spacy mtl annotate` does (spacy_mtl.annotate: the same text check, truncation,
memory zone and record fields): a row keeps its columns and gains "cats" (a struct
with one float per class) and "ents" (a list of {text, label, start_char, end_char}).
Rows whose text is missing, null, not a string or empty are dropped, as the local
command skips them; it is the local command that reports them line by line.

Ray is an optional dependency (`pip install "spacy-mtl[ray]"`), imported only here.
"""

from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Union

from .read import DEFAULT_MAX_CHARS, input_format_of, text_problem, truncate
from .workers import DEFAULT_BATCH_SIZE, Model, annotate_texts, load_pipeline

if TYPE_CHECKING:
    import pyarrow
    import ray.data


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ImportError("Ray is not installed: pip install 'spacy-mtl[ray]'") from None
    return ray


def cat_labels(nlp: Any) -> List[str]:
    """The classes of every text classifier in a pipeline: the keys of `doc.cats`.

    nlp (Language): the pipeline.
    RETURNS (List[str]): the labels, in pipeline order.
    """
    from spacy.pipeline import TextCategorizer

    labels = [
        label
        for _, pipe in nlp.pipeline
        if isinstance(pipe, TextCategorizer)
        for label in pipe.labels
    ]
    return list(dict.fromkeys(labels))


class PipelineActor:
    """A Ray Data actor: loads the pipeline once, then annotates pyarrow batches.

    model (Model): an installed package's name or a pipeline directory.
    text_field (str): the column that holds the post.
    batch_size (int): nlp.pipe's batch size.
    max_chars (int): annotate at most this many characters of a post; 0: all.
    num_threads (int): torch threads: the CPUs Ray reserved for the actor.
    use_gpu (bool): run on the GPU Ray gave the actor (its cuda:0).
    """

    def __init__(
        self,
        model: Model,
        text_field: str,
        batch_size: int,
        max_chars: int,
        num_threads: int,
        use_gpu: bool,
    ) -> None:
        import pyarrow as pa
        import torch

        torch.set_num_threads(num_threads)
        self.nlp = load_pipeline(model, 0 if use_gpu else -1)
        self.text_field = text_field
        self.batch_size = batch_size
        self.max_chars = max_chars
        # Explicit types: a batch without a single entity must give the same schema
        # as the others, or the blocks could not be written to one Parquet dataset.
        self.cats_type = pa.struct([(label, pa.float64()) for label in cat_labels(self.nlp)])
        self.ents_type = pa.list_(
            pa.struct(
                [
                    ("text", pa.string()),
                    ("label", pa.string()),
                    ("start_char", pa.int64()),
                    ("end_char", pa.int64()),
                ]
            )
        )

    def __call__(self, batch: "pyarrow.Table") -> "pyarrow.Table":
        import pyarrow as pa

        if self.text_field not in batch.column_names:
            raise ValueError(
                f"The dataset has no column {self.text_field!r}: it has {batch.column_names}"
            )
        keep, texts = [], []
        for row, value in enumerate(batch.column(self.text_field).to_pylist()):
            if text_problem(value, self.text_field) is None:
                keep.append(row)
                texts.append(truncate(value, self.max_chars))
        annotations = annotate_texts(self.nlp, texts, self.batch_size)
        kept = batch.take(pa.array(keep, type=pa.int64()))
        kept = kept.select([name for name in kept.column_names if name not in ("cats", "ents")])
        cats = pa.array([annotation.cats for annotation in annotations], type=self.cats_type)
        ents = pa.array([annotation.ents for annotation in annotations], type=self.ents_type)
        return kept.append_column("cats", cats).append_column("ents", ents)


def annotate(
    dataset: "ray.data.Dataset",
    model: Model,
    *,
    text_field: str = "text",
    batch_size: int = DEFAULT_BATCH_SIZE,
    concurrency: int = 2,
    num_cpus: float = 1,
    num_gpus: float = 0,
    max_chars: int = DEFAULT_MAX_CHARS,
) -> "ray.data.Dataset":
    """Annotate the posts of a Ray Dataset in a pool of actors.

    dataset (ray.data.Dataset): rows with the post in `text_field`.
    model (Model): an installed package's name or a pipeline directory that every
        node can load.
    text_field (str): the column that holds the post.
    batch_size (int): rows per actor call, and nlp.pipe's batch size.
    concurrency (int): actors, each holding one copy of the pipeline.
    num_cpus (float): CPUs Ray reserves per actor; its torch threads (at least 1).
    num_gpus (float): GPUs per actor; above 0 the pipeline runs on the actor's GPU.
    max_chars (int): annotate at most this many characters of a post; 0: all.
    RETURNS (ray.data.Dataset): the valid rows with "cats" and "ents" added (lazy:
        nothing runs until it is consumed or written).
    """
    ray = _ray()
    return dataset.map_batches(
        PipelineActor,
        fn_constructor_kwargs={
            "model": str(model),
            "text_field": text_field,
            "batch_size": batch_size,
            "max_chars": max_chars,
            "num_threads": max(1, int(num_cpus)),
            "use_gpu": num_gpus > 0,
        },
        batch_size=batch_size,
        batch_format="pyarrow",
        # A fixed pool (`concurrency=` says the same, deprecated since Ray 2.51).
        compute=ray.data.ActorPoolStrategy(size=concurrency),
        num_cpus=num_cpus,
        num_gpus=num_gpus,
    )


def read(path: Union[str, Path], input_format: Optional[str] = None) -> "ray.data.Dataset":
    """Read posts with Ray Data's readers: read_json (JSONL), read_csv or read_text.

    A malformed file fails the read there: the line-by-line checks are the local
    command's. A text file's lines become the column "text".

    path (Union[str, Path]): a file or directory (or remote URI) Ray can read.
    input_format (Optional[str]): "jsonl", "csv" or "text"; None: by extension.
    RETURNS (ray.data.Dataset): the rows.
    """
    ray = _ray()
    input_format = input_format_of(path, input_format)
    # Ray filters a directory's files by extension; a file named outright is read
    # whatever its extension (e.g. .ndjson). Reading costs little next to the
    # pipeline, and a read task that waited for a CPU would wait for ever where the
    # actors hold them all (2 actors on 2 CPUs): Ray Data hangs.
    options: Dict[str, Any] = {
        "num_cpus": 0,
        **({"file_extensions": None} if Path(path).is_file() else {}),
    }
    if input_format == "jsonl":
        return ray.data.read_json(str(path), **options)
    if input_format == "csv":
        return ray.data.read_csv(str(path), **options)
    return ray.data.read_text(str(path), **options)


def write(dataset: "ray.data.Dataset", path: Union[str, Path]) -> None:
    """Write with Ray Data's writers: Parquet files if `path` ends in .parquet, else JSONL files.

    dataset (ray.data.Dataset): the annotated rows.
    path (Union[str, Path]): the directory (or remote URI) to write the files into.
    """
    # No CPU for the write tasks either, as for the read ones (see `read`).
    tasks = {"num_cpus": 0}
    if str(path).endswith(".parquet"):
        dataset.write_parquet(str(path), ray_remote_args=tasks)
    else:
        # pandas writes the JSON: all characters as they are, floats to 15 digits
        # (its default is 10).
        dataset.write_json(str(path), ray_remote_args=tasks, force_ascii=False, double_precision=15)


def annotate_files(
    model: Model,
    input_path: Union[str, Path],
    output_path: Union[str, Path],
    *,
    input_format: Optional[str] = None,
    text_field: str = "text",
    batch_size: int = DEFAULT_BATCH_SIZE,
    concurrency: int = 2,
    num_cpus: float = 1,
    num_gpus: float = 0,
    max_chars: int = DEFAULT_MAX_CHARS,
    address: Optional[str] = None,
) -> None:
    """`spacy mtl annotate --ray`: read, annotate in actors, write, with Ray Data.

    Joins the Ray cluster at `address` (None: RAY_ADDRESS, else a new local
    instance) unless Ray is already initialised. The other arguments are those of
    `read`, `annotate` and `write`; for text input the post is the column "text".
    """
    ray = _ray()
    if not ray.is_initialized():
        ray.init(address=address)
    column = "text" if input_format_of(input_path, input_format) == "text" else text_field
    annotated = annotate(
        read(input_path, input_format),
        model,
        text_field=column,
        batch_size=batch_size,
        concurrency=concurrency,
        num_cpus=num_cpus,
        num_gpus=num_gpus,
        max_chars=max_chars,
    )
    write(annotated, output_path)
