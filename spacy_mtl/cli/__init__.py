"""`spacy mtl …`: the plugin's commands, added to spaCy's CLI.

spaCy imports the modules of the `spacy_cli` entry-point group before it builds its
command line (`spacy.cli.setup_cli`); importing this package adds the `mtl` group to
spaCy's typer app, as spacy-huggingface-hub adds `spacy huggingface-hub`.
"""

import typer
from spacy.cli import app

mtl_cli = typer.Typer(
    name="mtl",
    help="Multi-task training with spacy-mtl: train, evaluate, plot, convert; teach (teacher targets for distillation); quantize for CPU serving; annotate streams of posts and report on them.",
    no_args_is_help=True,
    # As spaCy's own app: plain help text, and no completion options of its own when
    # it runs alone (`python -m spacy_mtl`).
    rich_markup_mode=None,
    add_completion=False,
)
app.add_typer(mtl_cli)

# The command modules register themselves on `mtl_cli` when imported.
from . import annotate, convert, evaluate, plot, quantize, report, teach, train  # noqa: E402,F401
