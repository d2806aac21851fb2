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
Rows whose text is missing, null, not a string or empty, or whose runs of
characters without whitespace would stall spaCy's tokenizer (`max_run`), are
dropped, as the local command skips them; it is the local command that reports
them line by line.

What can be checked before the dataset is consumed is checked when `annotate` is
called: that the pipeline is an installed package or a directory with a config.cfg
(a mistyped name fails at once, not in every actor's constructor), and that the
cluster has the GPUs an actor asks for. `annotate_files` also refuses an output
that would overwrite its input or add to an existing directory, and writes into a
temporary directory that takes the output's name only once every row is written.

Ray is an optional dependency (`pip install "spacy-mtl[ray]"`), imported only here.
"""

from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Union

from spacy.util import is_package

from ..errors import Errors
from ..files import atomic_dir, check_outputs
from .read import DEFAULT_MAX_CHARS, DEFAULT_MAX_RUN, input_format_of, post_text
from .workers import DEFAULT_BATCH_SIZE, Model, annotate_texts, load_pipeline

if TYPE_CHECKING:
    import pyarrow
    import ray.data


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ImportError(Errors.E210) from None
    return ray


def check_model(model: Model) -> None:
    """Refuse a pipeline that is neither an installed package nor a directory with a
    config.cfg, before any actor tries to load it.

    model (Model): an installed package's name or a pipeline directory.
    RAISES (OSError): naming it.
    """
    if is_package(str(model)) or (Path(model) / "config.cfg").is_file():
        return
    raise OSError(Errors.E212.format(model=model))


def error_message(error: BaseException) -> str:
    """One line for an error that surfaced through Ray: the cause's, not Ray's traceback.

    A task's error carries its cause; an actor that died in its constructor only
    the cause's text, as the last line of its message.
    """
    cause = getattr(error, "cause", None)
    if isinstance(cause, BaseException) and cause is not error:
        return error_message(cause)
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__


def _is_remote(path: Union[str, Path]) -> bool:
    return "://" in str(path)


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
    max_run (int): drop a post whose runs without whitespace cost the tokenizer more
        than one run of this many symbols (see `read.run_problem`); 0: no limit.
    """

    def __init__(
        self,
        model: Model,
        text_field: str,
        batch_size: int,
        max_chars: int,
        num_threads: int,
        use_gpu: bool,
        max_run: int = DEFAULT_MAX_RUN,
    ) -> None:
        import pyarrow as pa
        import torch

        torch.set_num_threads(num_threads)
        self.nlp = load_pipeline(model, 0 if use_gpu else -1)
        self.text_field = text_field
        self.batch_size = batch_size
        self.max_chars = max_chars
        self.max_run = max_run
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
                Errors.E211.format(text_field=self.text_field, columns=batch.column_names)
            )
        keep, texts = [], []
        for row, value in enumerate(batch.column(self.text_field).to_pylist()):
            text = post_text(value, self.text_field, self.max_chars, self.max_run)
            if isinstance(text, str):
                keep.append(row)
                texts.append(text)
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
    max_run: int = DEFAULT_MAX_RUN,
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
    max_run (int): drop a post whose runs without whitespace cost spaCy's tokenizer
        more than one run of this many symbols (see `read.run_problem`); 0: no limit.
    RETURNS (ray.data.Dataset): the valid rows with "cats" and "ents" added (lazy:
        nothing runs until it is consumed or written).
    RAISES (OSError): the pipeline is neither an installed package nor a directory
        with a config.cfg; (ValueError): the cluster has fewer GPUs than `num_gpus`.
    """
    ray = _ray()
    check_model(model)
    if num_gpus > 0:
        gpus = ray.cluster_resources().get("GPU", 0)
        if gpus < num_gpus:
            raise ValueError(Errors.E213.format(num_gpus=num_gpus, gpus=gpus))
    return dataset.map_batches(
        PipelineActor,
        fn_constructor_kwargs={
            "model": str(model),
            "text_field": text_field,
            "batch_size": batch_size,
            "max_chars": max_chars,
            "num_threads": max(1, int(num_cpus)),
            "use_gpu": num_gpus > 0,
            "max_run": max_run,
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


def write(
    dataset: "ray.data.Dataset", path: Union[str, Path], parquet: Optional[bool] = None
) -> None:
    """Write with Ray Data's writers: Parquet files if `path` ends in .parquet, else JSONL files.

    dataset (ray.data.Dataset): the annotated rows.
    path (Union[str, Path]): the directory (or remote URI) to write the files into.
    parquet (Optional[bool]): Parquet or JSONL; None: by `path`'s name.
    """
    # No CPU for the write tasks either, as for the read ones (see `read`).
    tasks = {"num_cpus": 0}
    if parquet is None:
        parquet = str(path).endswith(".parquet")
    if parquet:
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
    max_run: int = DEFAULT_MAX_RUN,
    address: Optional[str] = None,
) -> None:
    """`spacy mtl annotate --ray`: read, annotate in actors, write, with Ray Data.

    Joins the Ray cluster at `address` (None: RAY_ADDRESS, else a new local
    instance) unless Ray is already initialised. The other arguments are those of
    `read`, `annotate` and `write`; for text input the post is the column "text".
    Before Ray starts, the pipeline is loaded here once (so that every node must
    be able to load it from the same name or path as this one) and a local output
    refused if it would overwrite the input or add files to a directory that is not
    empty; a local output is written into a temporary directory beside it, which
    takes its name once every row is written: a failed run leaves nothing.

    RAISES (ValueError, OSError): what is checked before Ray starts; what Ray raises
        while it runs (ray.exceptions.RayError: see `error_message`).
    """
    input_format = input_format_of(input_path, input_format)
    check_model(model)
    local = not _is_remote(output_path)
    if local:
        inputs = [Path(p) for p in (input_path, model) if not _is_remote(p)]
        check_outputs([output_path], [path for path in inputs if path.exists()])
        target = Path(output_path)
        if target.exists() and (not target.is_dir() or any(target.iterdir())):
            raise ValueError(Errors.E214.format(path=output_path))
    ray = _ray()
    # A pipeline that does not load fails here, in one line, before Ray starts: in
    # the actors it would end in Ray's traceback of an actor that died.
    load_pipeline(model)
    if not ray.is_initialized():
        ray.init(address=address)
    column = "text" if input_format == "text" else text_field
    annotated = annotate(
        read(input_path, input_format),
        model,
        text_field=column,
        batch_size=batch_size,
        concurrency=concurrency,
        num_cpus=num_cpus,
        num_gpus=num_gpus,
        max_chars=max_chars,
        max_run=max_run,
    )
    if not local:
        write(annotated, output_path)
        return
    # The format goes by the output's name, not the temporary directory's.
    with atomic_dir(output_path, replace=True) as staging:
        write(annotated, staging, parquet=str(output_path).endswith(".parquet"))
