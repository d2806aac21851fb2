"""Running the pipeline over batches of posts: here, or in a pool of worker processes.

The pipeline is loaded first (`Annotator`), in this process or in the workers, so
that a pipeline that does not load fails before anything is read or written. Each
batch runs inside spaCy's `nlp.memory_zone()`, so the vocabulary does not grow with
every new word of an endless stream; a worker sends back only the cats and entities
of its posts.
"""

import math
import multiprocessing
import os
import signal
import threading
import time
import warnings
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import (
    Any,
    Deque,
    Dict,
    Iterable,
    Iterator,
    List,
    NamedTuple,
    Optional,
    Tuple,
    Type,
    Union,
)

import spacy
from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import import_file

from ..device import use_device
from ..errors import Warnings
from .read import Post

DEFAULT_BATCH_SIZE = 64

Model = Union[str, Path]


class Annotation(NamedTuple):
    """What the pipeline says about one post.

    cats (Dict[str, Optional[float]]): the probability of every class; None where
        the pipeline gave NaN or an infinite number (which JSON cannot hold).
    ents (List[Dict[str, Any]]): {"text", "label", "start_char", "end_char"} per entity.
    words (int): the post's tokens.
    """

    cats: Dict[str, Optional[float]]
    ents: List[Dict[str, Any]]
    words: int


def load_pipeline(model: Model, gpu_id: int = -1) -> Language:
    """spacy.load `model` on the device `gpu_id` (-1: the CPU).

    model (Model): an installed package's name or a pipeline directory.
    gpu_id (int): a resolved GPU id, as spacy_mtl.device.resolve_gpu_id returns.
    RETURNS (Language): the pipeline.
    """
    use_device(gpu_id)
    return spacy.load(model)


def entities(doc: Doc) -> List[Dict[str, Any]]:
    """The entities of `doc` as the output records hold them."""
    return [
        {
            "text": ent.text,
            "label": ent.label_,
            "start_char": ent.start_char,
            "end_char": ent.end_char,
        }
        for ent in doc.ents
    ]


def finite_cats(cats: Dict[str, float]) -> Dict[str, Optional[float]]:
    """`doc.cats` with every non-finite probability as None (null in JSON), and a warning."""
    found = {label: float(value) for label, value in cats.items()}
    bad = [label for label, value in found.items() if not math.isfinite(value)]
    if not bad:
        return dict(found)
    warnings.warn(Warnings.W021.format(labels=", ".join(map(repr, bad))), stacklevel=2)
    return {label: None if label in bad else value for label, value in found.items()}


def annotate_texts(
    nlp: Language, texts: List[str], batch_size: int = DEFAULT_BATCH_SIZE
) -> List[Annotation]:
    """Annotate texts, inside one memory zone.

    nlp (Language): the pipeline.
    texts (List[str]): the posts.
    batch_size (int): nlp.pipe's batch size.
    RETURNS (List[Annotation]): one per text, in order.
    """
    # The strings and lexemes of words first seen here are freed when the zone ends:
    # on an endless stream the vocabulary would otherwise grow with every new word.
    with nlp.memory_zone():
        return [
            Annotation(finite_cats(doc.cats), entities(doc), len(doc))
            for doc in nlp.pipe(texts, batch_size=batch_size)
        ]


# What a worker process holds: its settings, then its pipeline once loaded.
_worker: Dict[str, Any] = {}


def _start_worker(
    model: str, gpu_id: int, batch_size: int, code_path: Optional[str], parent: int
) -> None:
    # One torch thread per process: n processes on n cores, none competing with the
    # others for cores. The HF tokenizer's own thread pool likewise.
    import torch

    torch.set_num_threads(1)
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    # Ctrl-C is the parent's to handle: it stops the pool.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    if code_path is not None:
        import_file("python_code", code_path)
    _worker.update(model=model, gpu_id=gpu_id, batch_size=batch_size)


def _exit_with_parent(parent: int) -> None:
    # A worker waits on its task queue; if the parent is killed (SIGKILL: no clean-up
    # runs), nothing else would ever end it.
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def _load_in_worker() -> None:
    if "nlp" not in _worker:
        _worker["nlp"] = load_pipeline(_worker["model"], _worker["gpu_id"])


def _annotate_in_worker(texts: List[str]) -> List[Annotation]:
    _load_in_worker()
    return annotate_texts(_worker["nlp"], texts, _worker["batch_size"])


class Annotator:
    """The pipeline, loaded here or in `n_process` worker processes, ready to annotate.

    The pipeline is loaded when the annotator is made: with workers, each is asked
    to load it (in a worker, not its initializer: an error, such as a model that
    does not load, then reaches the caller as itself, not as a broken pool). Use it
    as a context manager, which stops the workers.

    The workers are started with "spawn"; each loads the pipeline once and runs one
    torch thread. spaCy's own `nlp.pipe(n_process=...)` starts its children with
    multiprocessing's default, fork on Linux: each inherits the parent's torch
    threads (one per core), and a child forked after the parent has used torch's
    thread pool hangs in its first matrix product (so does `nlp.pipe(n_process=2)`
    with this pipeline, on torch 2.13's CPU build). It also sends whole Docs back
    for the parent to deserialise; a worker here sends back only the cats and
    entities. At most two batches per worker are in flight.

    model (Model): an installed package's name or a pipeline directory.
    batch_size (int): nlp.pipe's batch size.
    n_process (int): 1: annotate here, with torch's default threads; more: workers.
    gpu_id (int): the device, -1 for the CPU (every worker uses the same one).
    code_path (Optional[Path]): a file with registered functions the pipeline needs,
        imported in every worker (here, the caller imports it).
    RAISES (OSError, ValueError...): what loading the pipeline raises.
    """

    def __init__(
        self,
        model: Model,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        n_process: int = 1,
        gpu_id: int = -1,
        code_path: Optional[Path] = None,
    ) -> None:
        self.batch_size = batch_size
        self.n_process = n_process
        self.nlp: Optional[Language] = None
        self.pool: Optional[ProcessPoolExecutor] = None
        if n_process == 1:
            self.nlp = load_pipeline(model, gpu_id)
            return
        self.pool = ProcessPoolExecutor(
            n_process,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(
                str(model),
                gpu_id,
                batch_size,
                None if code_path is None else str(code_path),
                os.getpid(),
            ),
        )
        try:
            for future in [self.pool.submit(_load_in_worker) for _ in range(n_process)]:
                future.result()
        except BaseException:
            self.close()
            raise

    def annotate(
        self, batches: Iterable[List[Post]]
    ) -> Iterator[Tuple[List[Post], List[Annotation]]]:
        """Annotate batches of posts, in order.

        batches (Iterable[List[Post]]): the posts, a batch at a time.
        YIELDS (Tuple[List[Post], List[Annotation]]): each batch with its annotations.
        """
        if self.pool is None:
            assert self.nlp is not None
            for batch in batches:
                yield (
                    batch,
                    annotate_texts(self.nlp, [post.text for post in batch], self.batch_size),
                )
            return
        pending: Deque[Tuple[List[Post], "Future[List[Annotation]]"]] = deque()
        for batch in batches:
            texts = [post.text for post in batch]
            pending.append((batch, self.pool.submit(_annotate_in_worker, texts)))
            if len(pending) >= 2 * self.n_process:
                done, future = pending.popleft()
                yield done, future.result()
        while pending:
            done, future = pending.popleft()
            yield done, future.result()

    def close(self) -> None:
        """Stop the workers, if any; the batches still queued are dropped."""
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None

    def __enter__(self) -> "Annotator":
        return self

    def __exit__(
        self,
        kind: Optional[Type[BaseException]],
        error: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        self.close()


def annotate_batches(
    batches: Iterable[List[Post]],
    model: Model,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    n_process: int = 1,
    gpu_id: int = -1,
    code_path: Optional[Path] = None,
) -> Iterator[Tuple[List[Post], List[Annotation]]]:
    """Annotate batches of posts, in order, in this process or in `n_process` workers
    (see `Annotator`, which this loads when the first batch is asked for).

    batches (Iterable[List[Post]]): the posts, a batch at a time.
    model (Model): an installed package's name or a pipeline directory.
    batch_size (int): nlp.pipe's batch size.
    n_process (int): 1: annotate here, with torch's default threads; more: workers.
    gpu_id (int): the device, -1 for the CPU (every worker uses the same one).
    code_path (Optional[Path]): a file with registered functions the pipeline needs,
        imported in every worker (here, the caller imports it).
    YIELDS (Tuple[List[Post], List[Annotation]]): each batch with its annotations.
    """
    with Annotator(
        model, batch_size=batch_size, n_process=n_process, gpu_id=gpu_id, code_path=code_path
    ) as annotator:
        yield from annotator.annotate(batches)
