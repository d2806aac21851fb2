"""Write `spacy project` assets from a local git copy of their repository.

    python scripts/assets_from_git.py --repo /copies/twitter_nlp \\
        data/annotated/wnut16/data/train:assets/wnut16/train ...

For a machine that reaches no GitHub but has a copy of the repository (a clone, bare
or not, or a mirror): each SRC:DEST writes the file SRC, as committed at --rev (default
HEAD), to DEST byte for byte, which is what `spacy project assets --extra` downloads
from raw.githubusercontent.com. Every source is read before anything is written, and
each file is written whole or not at all; a DEST inside the copy is refused. A source
the copy lacks (partial copies leave out large files) is an error naming it, or, with
--skip-missing, a warning. The sha256 of each file written is printed.
"""

import argparse
import hashlib
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Tuple

from spacy_mtl.files import atomic_file, check_outputs

#: What a Git LFS pointer file starts with: the copy holds a pointer, not the data.
LFS_POINTER = b"version https://git-lfs.github.com/spec/v1"


class AssetError(ValueError):
    """A source that cannot be written as an asset; the message names it."""


def parse_pair(pair: str) -> Tuple[str, Path]:
    """SRC:DEST, split at the last colon (a repository path holds none)."""
    source, colon, dest = pair.rpartition(":")
    if not colon or not source or not dest:
        raise AssetError(f"{pair!r}: expected SRC:DEST, a path in the repository and a file")
    return source, Path(dest)


def git(repo: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True)


def read_blob(repo: Path, rev: str, source: str) -> bytes:
    """The bytes of `source` at `rev` in `repo`.

    RAISES (AssetError): where the path is not in the commit, the copy lacks its
        object (a partial copy), or it holds a Git LFS pointer instead of the data.
    """
    where = f"{repo}: {rev}:{source}"
    listed = git(repo, "ls-tree", rev, "--", source)
    if listed.returncode:
        raise AssetError(f"{where}: {listed.stderr.decode(errors='replace').strip()}")
    if not listed.stdout.strip():
        raise AssetError(f"{where}: no such file in the commit")
    kind = listed.stdout.split()[1]
    if kind != b"blob":
        raise AssetError(f"{where}: a {kind.decode()}, not a file")
    blob = git(repo, "cat-file", "blob", f"{rev}:{source}")
    if blob.returncode:
        raise AssetError(
            f"{where}: the file is in the commit but its content is not in this copy "
            "(partial copies leave out large files): download it with "
            "`spacy project assets --extra`, or use a full clone"
        )
    if blob.stdout.startswith(LFS_POINTER):
        raise AssetError(f"{where}: the copy holds a Git LFS pointer, not the file")
    return blob.stdout


def materialise(
    repo: Path, pairs: List[Tuple[str, Path]], *, rev: str = "HEAD", skip_missing: bool = False
) -> Dict[Path, str]:
    """Write each (source, dest) of `pairs` from `repo` at `rev`.

    RETURNS (Dict[Path, str]): the sha256 of each file written, by dest.
    """
    if not git(repo, "rev-parse", "--git-dir").stdout:
        raise AssetError(f"{repo}: not a git repository")
    check_outputs([dest for _, dest in pairs], [repo])
    contents: Dict[Path, bytes] = {}
    for source, dest in pairs:
        try:
            contents[dest] = read_blob(repo, rev, source)
        except AssetError as error:
            if not skip_missing:
                raise
            print(f"skipped {dest}: {error}", file=sys.stderr, flush=True)
    written = {}
    for dest, content in contents.items():
        dest.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(dest) as file:
            file.write(content)
        written[dest] = hashlib.sha256(content).hexdigest()
        print(f"{dest}: {len(content):,} bytes, sha256 {written[dest]}", flush=True)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", required=True, help="the copy: a clone (bare or not) or mirror")
    parser.add_argument("--rev", default="HEAD", help="the commit to read (default: HEAD)")
    parser.add_argument(
        "--skip-missing",
        action="store_true",
        help="warn about a source the copy lacks instead of failing",
    )
    parser.add_argument("pairs", nargs="+", metavar="SRC:DEST", help="repository path : file")
    args = parser.parse_args()
    try:
        if not args.repo.strip():
            raise AssetError("--repo is empty: name the copy (e.g. --vars.twitter_nlp_git DIR)")
        pairs = [parse_pair(pair) for pair in args.pairs]
        materialise(Path(args.repo), pairs, rev=args.rev, skip_missing=args.skip_missing)
    except ValueError as error:  # AssetError and check_outputs' refusal: a message
        raise SystemExit(f"assets_from_git.py: {error}") from None


if __name__ == "__main__":
    main()
