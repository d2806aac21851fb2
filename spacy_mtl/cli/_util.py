"""What the `spacy mtl` commands share: the device option, `--code`, one-line errors."""
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

import typer
from spacy.util import import_file
from thinc.api import ConfigValidationError
from wasabi import msg

from ..device import resolve_gpu_id

GPU_HELP = "'auto': GPU 0 if cupy and torch can both use it, else the CPU; -1: the CPU; N: GPU N"
CODE_HELP = "Path to a Python file with additional code (registered functions) to import first"


def check_gpu_id(value: str) -> str:
    """Typer callback of `--gpu-id`: a usage error for anything but 'auto' or an integer.

    value (str): the option's text.
    RETURNS (str): the text, unchanged.
    """
    try:
        resolve_gpu_id(value)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    return value


def import_code(code_path: Optional[Path]) -> None:
    """Import the `--code` file, as spaCy's commands do, so that what it registers
    (weightings, architectures, readers) can be named in the config.

    code_path (Optional[Path]): the file, or None for nothing to import.
    """
    if code_path is None:
        return
    if not Path(code_path).exists():
        msg.fail("Path to Python code not found", code_path, exits=1)
    try:
        import_file("python_code", code_path)
    except Exception as error:
        msg.fail(f"Couldn't load Python code: {code_path}", error, exits=1)


@contextmanager
def value_errors_as_one_line(verbose: bool = False) -> Iterator[None]:
    """Print a ValueError raised inside the block as one `✘` line and exit with 1.

    spaCy's `show_validation_error` covers the config's types and interpolation; a
    factory's or an `initialize`'s own check of a value raises ValueError, which
    would otherwise end the command with a long traceback.

    verbose (bool): re-raise instead, traceback and all.
    """
    try:
        yield
    except ConfigValidationError:
        raise  # a ValueError too, but spaCy's `show_validation_error` shows it
    except ValueError as error:
        if verbose:
            raise
        text = " ".join(str(error).split()) or type(error).__name__
        msg.fail(f"Could not initialize the pipeline: {text}", exits=1)
