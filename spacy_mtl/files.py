"""Writing files without destroying what a command was given.

Every command that writes (convert, teach, quantize, evaluate, annotate, report)
checks its outputs against its inputs first (`check_outputs`) and writes each file
through a temporary one beside it that replaces the target only once it is whole
(`atomic_file`, `atomic_dir`): a failed or interrupted run leaves what was there.
"""

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterable, Iterator, List, Tuple, Union

from .errors import Errors

PathLike = Union[str, Path]


def _overlaps(output: Path, given: Path) -> bool:
    """Whether `output` is `given`, lies inside it or holds it (paths resolved)."""
    return output == given or given in output.parents or output in given.parents


def check_outputs(outputs: Iterable[PathLike], inputs: Iterable[PathLike]) -> None:
    """Refuse an output that is, holds or lies inside one of the inputs, or another output.

    Paths are resolved (symlinks followed) before they are compared, so two names of
    one file are one path. "-" (stdin, stdout) is never compared.

    outputs (Iterable[PathLike]): the files or directories a command will write.
    inputs (Iterable[PathLike]): the files or directories it reads.
    RAISES (ValueError): naming the two paths.
    """
    resolved_inputs = [(str(p), Path(p).resolve()) for p in inputs if str(p) != "-"]
    seen: List[Tuple[str, Path]] = []
    for output in outputs:
        if str(output) == "-":
            continue
        resolved = Path(output).resolve()
        for name, given in resolved_inputs:
            if _overlaps(resolved, given):
                raise ValueError(Errors.E270.format(output=output, input=name))
        for name, other in seen:
            if _overlaps(resolved, other):
                raise ValueError(Errors.E271.format(output=output, other=name))
        seen.append((str(output), resolved))


@contextmanager
def atomic_file(path: PathLike, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file beside `path` for writing; it replaces `path` when the
    block ends without an error, and is removed when it raises.

    path (PathLike): the file to write; its directory is created if need be.
    mode (str): "wb" or "w" (text, UTF-8).
    YIELDS (IO): the open temporary file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        encoding = None if "b" in mode else "utf-8"
        with os.fdopen(handle, mode, encoding=encoding) as file:
            yield file
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


@contextmanager
def atomic_dir(path: PathLike, *, replace: bool = False) -> Iterator[Path]:
    """A temporary directory beside `path` to fill; it takes the place of `path` when
    the block ends without an error, and is removed when it raises.

    path (PathLike): the directory to write.
    replace (bool): an existing, non-empty `path` is replaced; without it, refused.
    YIELDS (Path): the temporary directory.
    RAISES (ValueError): `path` exists, is not empty, and `replace` is False.
    """
    path = Path(path)
    if path.exists() and (not path.is_dir() or any(path.iterdir())) and not replace:
        raise ValueError(Errors.E272.format(path=path))
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}-", dir=path.parent))
    try:
        yield staging
        # The old directory steps aside before the new one takes its name, and goes
        # only after: at no moment is neither of them there.
        old = None
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}-old-", dir=path.parent))
            os.replace(path, old / path.name)
        os.replace(staging, path)
        if old is not None:
            shutil.rmtree(old)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
