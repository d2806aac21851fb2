"""`python -m spacy_mtl COMMAND ...` (also installed as `spacy-mtl`)."""
import sys
from typing import List, Optional

COMMANDS = {
    "train": ("spacy_mtl.cli.train", "spacy train on the GPU if one is usable, else the CPU"),
    "evaluate": ("spacy_mtl.cli.evaluate", "score a pipeline on each task's own test set"),
    "plot": ("spacy_mtl.cli.plot", "draw loss and weight curves from a weight trace"),
    "convert": ("spacy_mtl.corpus.convert", "write train/dev/test .spacy files per task"),
}


def main(argv: Optional[List[str]] = None) -> None:
    import importlib

    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in COMMANDS:
        print("usage: python -m spacy_mtl COMMAND [--help]\n\ncommands:")
        for name, (_, help_text) in COMMANDS.items():
            print(f"  {name:<10} {help_text}")
        sys.exit(0 if argv and argv[0] in ("-h", "--help") else 2)
    module = importlib.import_module(COMMANDS[argv[0]][0])
    sys.exit(module.main(argv[1:]))


if __name__ == "__main__":
    main()
