"""What the `spacy mtl` commands share: the device option, `--code`, one-line errors."""

import math
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple

import typer
from spacy.util import import_file
from thinc.api import ConfigValidationError
from wasabi import msg

from ..device import resolve_gpu_id
from ..errors import Errors

GPU_HELP = "'auto': GPU 0 if cupy and torch can both use it, else the CPU; -1: the CPU; N: GPU N"
CODE_HELP = "Path to a Python file with additional code (registered functions) to import first"


def one_line(error: object) -> str:
    """An error's message on one line (its type's name if it has none)."""
    return " ".join(str(error).split()) or type(error).__name__


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
        msg.fail(Errors.E279.format(path=code_path), exits=1)
    try:
        import_file("python_code", code_path)
    except Exception as error:
        msg.fail(Errors.E280.format(path=code_path, error=error), exits=1)


def non_finite_values(config: Mapping[str, Any], prefix: str = "") -> List[Tuple[str, float]]:
    """Every NaN or infinite number in a config. spaCy would only say that the
    component's config is not JSON-serialisable (E961), without naming the key.

    config (Mapping[str, Any]): the config, as `spacy.util.load_config` reads it.
    prefix (str): the dotted path of `config` within the whole config.
    RETURNS (List[Tuple[str, float]]): (dotted key, value) per bad number, e.g.
        ("components.transformer.weighting.weights.ner", nan).
    """
    found: List[Tuple[str, float]] = []
    for key, value in config.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, float) and not math.isfinite(value):
            found.append((path, value))
        elif isinstance(value, Mapping):
            found.extend(non_finite_values(value, path))
        elif isinstance(value, (list, tuple)):
            found.extend(non_finite_values({str(i): item for i, item in enumerate(value)}, path))
    return found


def weighting_sections(config: Mapping[str, Any]) -> Dict[str, List[str]]:
    """Which config sections build each weighting strategy.

    RETURNS (Dict[str, List[str]]): e.g. {"spacy_mtl.static.v1": ["components.transformer.weighting"]}.
    """
    sections: Dict[str, List[str]] = {}
    for name, component in config.get("components", {}).items():
        block = component.get("weighting") if isinstance(component, dict) else None
        if isinstance(block, dict) and "@mtl_weightings" in block:
            sections.setdefault(block["@mtl_weightings"], []).append(f"components.{name}.weighting")
    return sections


@contextmanager
def value_errors_as_one_line(
    verbose: bool = False, config: Optional[Mapping[str, Any]] = None
) -> Iterator[None]:
    """Print a ValueError raised inside the block as one `✘` line and exit with 1.

    spaCy's `show_validation_error` covers the config's types and interpolation; a
    factory's or an `initialize`'s own check of a value raises ValueError, which
    would otherwise end the command with a long traceback. A weighting strategy's
    message starts with its registered name; the line then names the config section
    that builds it.

    verbose (bool): re-raise instead, traceback and all.
    config (Optional[Mapping[str, Any]]): the config being built, to find sections in.
    """
    try:
        yield
    except ConfigValidationError:
        raise  # a ValueError too, but spaCy's `show_validation_error` shows it
    except ValueError as error:
        if verbose:
            raise
        text = one_line(error)
        # A strategy's message names it right after its code; the line names the
        # config section that builds it there too.
        for strategy, sections in weighting_sections(config or {}).items():
            if text.split("] ", 1)[-1].startswith(f"{strategy}:"):
                text = text.replace(f"{strategy}:", f"[{', '.join(sections)}] {strategy}:", 1)
                break
        msg.fail(f"Could not initialize the pipeline: {text}", exits=1)
