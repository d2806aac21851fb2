"""`python -m spacy_mtl COMMAND ...` (also installed as `spacy-mtl`): the same commands
as `spacy mtl COMMAND ...`, without loading the rest of spaCy's command line."""

import os
import sys
from typing import List, Optional


def main(argv: Optional[List[str]] = None, prog_name: Optional[str] = None) -> None:
    """Run the `spacy mtl` command group.

    argv (Optional[List[str]]): the arguments; None reads them from sys.argv.
    prog_name (Optional[str]): the program name usage lines show; None: "python -m
        spacy_mtl" when run as a module, else the script's name.
    """
    from typer.main import get_command

    from .cli import mtl_cli

    if prog_name is None:
        script = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
        prog_name = "python -m spacy_mtl" if script in ("", "__main__.py", "-c") else script
    get_command(mtl_cli)(args=argv, prog_name=prog_name)


if __name__ == "__main__":
    main()
