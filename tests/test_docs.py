"""The documentation a user reads: README.md, docs/, bench/*.md and project/README.md.

Its links lead somewhere, its config snippets are configs spaCy reads as written, and
the README names every `spacy mtl` command."""

import re
import unicodedata
from pathlib import Path
from typing import Iterator, List, Set, Tuple

import pytest
import typer.main
from thinc.api import Config

from spacy_mtl.cli import mtl_cli

from helpers import REPO

README = REPO / "README.md"
PAGES = [README, *sorted((REPO / "docs").glob("*.md")), *sorted((REPO / "bench").glob("*.md"))]
PAGES.append(REPO / "project" / "README.md")

# [text](target): a relative target, with or without #anchor; not inside inline code.
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def links(page: Path) -> Iterator[Tuple[str, str]]:
    """(path, anchor) of every relative link on the page; path "" is the page itself."""
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    text = re.sub(r"`[^`\n]*`", "", text)
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        yield path, anchor


def anchors(page: Path) -> Set[str]:
    """The anchors GitHub gives the page's headings."""
    found = set()
    for line in page.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"#{1,6} (.+)", line)
        if heading:
            title = heading.group(1).strip().lower()
            title = "".join(c for c in title if c in " -_" or unicodedata.category(c)[0] in "LN")
            found.add(title.replace(" ", "-"))
    return found


def code_blocks(page: Path, language: str) -> List[str]:
    text = page.read_text(encoding="utf-8")
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_link_leads_to_a_file_and_heading_that_exist(page):
    broken = []
    for path, anchor in links(page):
        target = (page.parent / path).resolve() if path else page
        if not target.exists():
            broken.append(f"{path}: no such file")
        elif anchor and target.suffix == ".md" and anchor not in anchors(target):
            broken.append(f"{path}#{anchor}: no such heading")
    assert not broken, f"{page.relative_to(REPO)}: {broken}"


def test_the_readme_names_every_spacy_mtl_command():
    commands = typer.main.get_command(mtl_cli).commands  # type: ignore[attr-defined]
    readme = README.read_text(encoding="utf-8")
    missing = [name for name in commands if f"spacy mtl {name}" not in readme]
    assert len(commands) >= 8
    assert not missing, f"README.md does not name: {missing}"


def with_parent_sections(snippet: str) -> str:
    """A config excerpt with the parent sections it leaves out, as spaCy needs them:
    each one just before the first section inside it."""
    seen: Set[str] = set()
    lines = []
    for line in snippet.splitlines():
        section = re.fullmatch(r"\[([^\]]+)\]", line)
        if section:
            parts = section.group(1).split(".")
            for i in range(1, len(parts) + 1):
                name = ".".join(parts[:i])
                if name not in seen and i < len(parts):
                    lines.append(f"[{name}]")
                seen.add(name)
        lines.append(line)
    return "\n".join(lines) + "\n"


def test_the_readme_config_snippets_read_as_written():
    snippets = code_blocks(README, "ini")
    assert snippets, "README.md has no config snippet"
    for snippet in snippets:
        config = Config().from_str(with_parent_sections(snippet), interpolate=False)
        for section, values in config.items():
            for key, value in values.items():
                # spaCy's configs take no comment after a value: it becomes the value.
                assert "#" not in str(value), f"[{section}] {key} = {value!r}"
