"""`spacy mtl train`: `spacy train` with `--gpu-id auto` and one-line config errors.

Everything else is spaCy's: the config, its overrides (`--training.max_steps 100`),
`--code`, the training loop and its output directory. Mixed precision is the config's
`[components.<transformer>.model] mixed_precision`, set there or by an override.
"""

import logging
import sys
from pathlib import Path
from typing import Any, Dict, Optional, Union

import typer
from spacy import util
from spacy.training.initialize import init_nlp
from spacy.training.loop import train as train_nlp
from wasabi import msg

from ..compat import parse_config_overrides, show_validation_error
from ..device import check_device, describe_device, resolve_gpu_id, use_device
from . import mtl_cli
from ._util import (
    CODE_HELP,
    GPU_HELP,
    check_gpu_id,
    import_code,
    non_finite_values,
    value_errors_as_one_line,
)


@mtl_cli.command(
    "train", context_settings={"allow_extra_args": True, "ignore_unknown_options": True}
)
def train_cli(
    # fmt: off
    ctx: typer.Context,  # holds the config overrides, as in `spacy train`
    config_path: Path = typer.Argument(
        ..., help="Path to config file", exists=True, allow_dash=True
    ),
    output_path: Optional[Path] = typer.Option(
        None,
        "--output",
        "--output-path",
        "-o",
        help="Output directory to store the trained pipeline (and its weights.jsonl) in",
    ),
    code_path: Optional[Path] = typer.Option(None, "--code", "-c", help=CODE_HELP),
    gpu_id: str = typer.Option("auto", "--gpu-id", "-g", help=GPU_HELP, callback=check_gpu_id),
    verbose: bool = typer.Option(
        False,
        "--verbose",
        "-V",
        "-VV",
        help="Display more information for debugging purposes, and full tracebacks",
    ),
    # fmt: on
) -> None:
    """
    Train a multi-task pipeline: `spacy train` on the GPU when one is usable
    (--gpu-id auto), on the CPU otherwise. Override config settings as in spaCy,
    e.g. --training.max_steps 100 or
    --components.transformer.weighting.@mtl_weightings spacy_mtl.famo.v1;
    --code imports a file that registers your own weighting or architecture first.
    The weight trace goes to OUTPUT/weights.jsonl.
    """
    if verbose:
        util.logger.setLevel(logging.DEBUG)
    overrides = parse_config_overrides(ctx.args)
    import_code(code_path)
    train(config_path, output_path, gpu_id=gpu_id, overrides=overrides, verbose=verbose)


def train(
    config_path: Union[str, Path],
    output_path: Optional[Union[str, Path]] = None,
    *,
    gpu_id: Union[int, str] = "auto",
    overrides: Dict[str, Any] = util.SimpleFrozenDict(),
    verbose: bool = False,
) -> None:
    """Train a pipeline from a config, as `spacy.cli.train.train` does, on the device
    `gpu_id` resolves to.

    config_path (Union[str, Path]): the config file ("-" for stdin).
    output_path (Optional[Union[str, Path]]): where model-best, model-last and the
        weight trace go; None saves nothing.
    gpu_id (Union[int, str]): "auto", -1 for the CPU, or a GPU id.
    overrides (Dict[str, Any]): config overrides, {"training.max_steps": 100}.
    verbose (bool): let a ValueError from a factory or `initialize` end with its
        traceback instead of one line.
    """

    config_path = Path(config_path)
    output_dir = None if output_path is None else Path(output_path)
    if not str(config_path) or (str(config_path) != "-" and not config_path.exists()):
        msg.fail("Config file not found", config_path, exits=1)
    try:
        device = resolve_gpu_id(gpu_id)
        check_device(device)
    except ValueError as error:
        msg.fail(" ".join(str(error).split()), exits=1)
    msg.info(f"Training on {describe_device(device)}")
    if output_dir is None:
        msg.info("No output directory provided")
    else:
        if not output_dir.exists():
            output_dir.mkdir(parents=True)
            msg.good(f"Created output directory: {output_dir}")
        msg.info(f"Saving to output directory: {output_dir}")
    use_device(device)
    with show_validation_error(config_path):
        config = util.load_config(config_path, overrides=overrides, interpolate=False)
    for key, value in non_finite_values(config)[:1]:
        msg.fail(f"Config value {key} = {value}: a config value must be a finite number", exits=1)
    msg.divider("Initializing pipeline")
    # Building the components runs their factories and `initialize`: their own checks
    # of config values raise ValueError.
    with (
        show_validation_error(config_path, hint_fill=False),
        value_errors_as_one_line(verbose, config),
    ):
        nlp = init_nlp(config, use_gpu=device)
    msg.good("Initialized pipeline")
    msg.divider("Training pipeline")
    train_nlp(nlp, output_dir, use_gpu=device, stdout=sys.stdout, stderr=sys.stderr)
