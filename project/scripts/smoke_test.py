"""Install packaged pipelines into a fresh virtualenv and load each in a new process.

    python scripts/smoke_test.py DIST_DIR PACKAGE_NAME [DIST_DIR PACKAGE_NAME ...] [--venv DIR] [--annotate]

Each DIST_DIR holds a pipeline wheel and the spacy-mtl wheel; several pipelines go
into the same fresh virtualenv, as an app serving several would install them. Everything else the
virtualenv needs (spaCy, torch, ...) is first copied into a local wheelhouse with
`pip download`, so that the install itself runs with `--no-index`, as an app's
deployment would. With --annotate, `spacy mtl annotate` then runs the installed
package on a few posts in the virtualenv. Exits non-zero if installing, loading or
annotating fails.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

TWEETS = [
    "Just landed in Paris , can't wait to see the Eiffel Tower !",
    "Apple support kept me on hold for two hours . Never again .",
    "Watching the Lakers game with @mike tonight",
]

# Run inside the fresh virtualenv: only the installed wheels are importable there.
CHECK = """
import json, sys, spacy
nlp = spacy.load(sys.argv[1])
assert {"transformer", "textcat", "ner"} <= set(nlp.pipe_names), nlp.pipe_names
for doc in nlp.pipe(json.loads(sys.argv[2])):
    assert doc.cats and abs(sum(doc.cats.values()) - 1.0) < 1e-3, doc.cats
    print(json.dumps({"text": doc.text, "cats": {k: round(v, 3) for k, v in doc.cats.items()},
                      "ents": [[e.text, e.label_] for e in doc.ents]}))
print("performance:", json.dumps({k: v for k, v in nlp.meta.get("performance", {}).items() if k.startswith("test_")}))
"""


def run(command: list, quiet: bool = False, **kwargs) -> None:
    """Run `command`; with `quiet`, show its output only if it fails."""
    shown = ["<script>" if "\n" in str(part) else str(part) for part in command]
    print("$", " ".join(shown), flush=True)
    if not quiet:
        subprocess.run(command, check=True, **kwargs)
        return
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        print(result.stdout + result.stderr, file=sys.stderr)
        raise SystemExit(f"command failed with exit code {result.returncode}")


def build_wheelhouse(wheelhouse: Path) -> None:
    """Download (from pip's cache where possible) the pinned requirements of this
    environment, less this project's own distributions."""
    frozen = subprocess.run(
        # --all: setuptools too, which torch, spaCy and thinc require at run time.
        [sys.executable, "-m", "pip", "freeze", "--all", "--exclude-editable"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    wanted = [
        line
        for line in frozen
        if line
        and not line.startswith(("-e", "#"))
        and " @ " not in line
        and not line.lower().startswith(("spacy-mtl", "en-"))
    ]
    requirements = wheelhouse / "requirements.txt"
    wheelhouse.mkdir(parents=True, exist_ok=True)
    requirements.write_text("\n".join(wanted) + "\n")
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--dest",
            wheelhouse,
            "-r",
            requirements,
        ],
        quiet=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "pairs",
        nargs="+",
        metavar="DIST PACKAGE",
        help="a folder with a pipeline wheel and the spacy-mtl wheel, then the pipeline's "
        "package name (e.g. en_mtl_tweets); repeat the pair for several pipelines",
    )
    parser.add_argument("--venv", type=Path, default=Path("packages/smoke-venv"))
    parser.add_argument("--wheelhouse", type=Path, default=Path("packages/wheelhouse"))
    parser.add_argument(
        "--annotate", action="store_true", help="also run `spacy mtl annotate` with each package"
    )
    args = parser.parse_args()
    if len(args.pairs) % 2:
        parser.error("give each pipeline as a pair: DIST PACKAGE")
    pipelines = [(Path(dist), package) for dist, package in zip(args.pairs[::2], args.pairs[1::2])]
    for dist, package in pipelines:
        wheels = sorted(dist.glob("*.whl"))
        names = {wheel.name.split("-")[0] for wheel in wheels}
        if package not in names or "spacy_mtl" not in names:
            raise SystemExit(
                f"{dist} must hold the {package} and spacy_mtl wheels; found {sorted(names)}"
            )
        for wheel in wheels:
            print(f"{wheel.name}: {wheel.stat().st_size / 1e6:.1f} MB")

    build_wheelhouse(args.wheelhouse)
    shutil.rmtree(args.venv, ignore_errors=True)
    venv.create(args.venv, with_pip=True)
    python = args.venv / "bin" / "python"
    # No PYTHONPATH and a neutral working directory, so that nothing from this checkout
    # is importable, nor taken by pip for an installed spacy-mtl (a source tree that
    # built a wheel holds spacy_mtl.egg-info). A packaged pipeline carries its encoder:
    # loading it needs no hub, so no offline variables either.
    env = {**os.environ, "PYTHONPATH": ""}
    links = [option for dist, _ in pipelines for option in ("--find-links", dist)]
    run(
        [
            python,
            "-m",
            "pip",
            "install",
            "--no-index",
            *links,
            "--find-links",
            args.wheelhouse,
            *[package for _, package in pipelines],
        ],
        quiet=True,
        env=env,
    )
    for dist, package in pipelines:
        check(python, package, args.venv, env, annotate=args.annotate)
        print(f"Smoke test passed: {package} installs from {dist} and loads in a fresh virtualenv")


def check(python: Path, package: str, venv_dir: Path, env: dict, *, annotate: bool) -> None:
    """Load `package` in a new process in the virtualenv (and annotate posts with it)."""
    run([python.absolute(), "-c", CHECK, package, json.dumps(TWEETS)], cwd=venv_dir, env=env)
    if not annotate:
        return
    posts = venv_dir.absolute() / f"{package}-posts.jsonl"
    annotated = venv_dir.absolute() / f"{package}-annotated.jsonl"
    posts.write_text("".join(json.dumps({"text": t}) + "\n" for t in TWEETS))
    run(
        [python.absolute(), "-m", "spacy", "mtl", "annotate", package, posts, annotated],
        cwd=venv_dir,
        env=env,
    )
    lines = annotated.read_text().splitlines()
    if len(lines) != len(TWEETS):
        raise SystemExit(f"spacy mtl annotate wrote {len(lines)} lines for {len(TWEETS)} posts")
    print(f"spacy mtl annotate ran {package} on {len(lines)} posts")


if __name__ == "__main__":
    main()
