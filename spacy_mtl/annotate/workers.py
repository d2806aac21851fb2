"""Running the pipeline over batches of posts: here, or in a pool of worker processes.

Each batch runs inside spaCy's `nlp.memory_zone()`, so the vocabulary does not grow
with every new word of an endless stream; a worker sends back only the cats and
entities of its posts.
"""

import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any, Deque, Dict, Iterable, Iterator, List, NamedTuple, Optional, Tuple, Union

import spacy
from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import import_file

from ..device import use_device
from .read import Post

DEFAULT_BATCH_SIZE = 64

Model = Union[str, Path]


class Annotation(NamedTuple):
    """What the pipeline says about one post.

    cats (Dict[str, float]): the probability of every class.
    ents (List[Dict[str, Any]]): {"text", "label", "start_char", "end_char"} per entity.
    words (int): the post's tokens.
    """

    cats: Dict[str, float]
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
            Annotation(dict(doc.cats), entities(doc), len(doc))
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


def _annotate_in_worker(texts: List[str]) -> List[Annotation]:
    # Loaded by the first task, not the initializer: an error (a model that does not
    # load) then reaches the parent as itself, not as a broken pool.
    if "nlp" not in _worker:
        _worker["nlp"] = load_pipeline(_worker["model"], _worker["gpu_id"])
    return annotate_texts(_worker["nlp"], texts, _worker["batch_size"])


def annotate_batches(
    batches: Iterable[List[Post]],
    model: Model,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    n_process: int = 1,
    gpu_id: int = -1,
    code_path: Optional[Path] = None,
) -> Iterator[Tuple[List[Post], List[Annotation]]]:
    """Annotate batches of posts, in order, in this process or in `n_process` workers.

    The workers are started with "spawn"; each loads the pipeline once and runs one
    torch thread. spaCy's own `nlp.pipe(n_process=...)` starts its children with
    multiprocessing's default, fork on Linux: each inherits the parent's torch
    threads (one per core), and a child forked after the parent has used torch's
    thread pool hangs in its first matrix product (so does `nlp.pipe(n_process=2)`
    with this pipeline, on torch 2.13's CPU build). It also sends whole Docs back
    for the parent to deserialise; a worker here sends back only the cats and
    entities. At most two batches per worker are in flight.

    batches (Iterable[List[Post]]): the posts, a batch at a time.
    model (Model): an installed package's name or a pipeline directory.
    batch_size (int): nlp.pipe's batch size.
    n_process (int): 1: annotate here, with torch's default threads; more: workers.
    gpu_id (int): the device, -1 for the CPU (every worker uses the same one).
    code_path (Optional[Path]): a file with registered functions the pipeline needs,
        imported in every worker (here, the caller imports it).
    YIELDS (Tuple[List[Post], List[Annotation]]): each batch with its annotations.
    """
    if n_process == 1:
        nlp = load_pipeline(model, gpu_id)
        for batch in batches:
            yield batch, annotate_texts(nlp, [post.text for post in batch], batch_size)
        return
    pool = ProcessPoolExecutor(
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
    pending: Deque[Tuple[List[Post], "Future[List[Annotation]]"]] = deque()
    try:
        for batch in batches:
            pending.append((batch, pool.submit(_annotate_in_worker, [post.text for post in batch])))
            if len(pending) >= 2 * n_process:
                done, future = pending.popleft()
                yield done, future.result()
        while pending:
            done, future = pending.popleft()
            yield done, future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
