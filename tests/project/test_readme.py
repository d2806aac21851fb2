"""project/README.md documents project/project.yml: its generated part is what
`spacy project document` writes from the project.yml beside it."""

from weasel.cli.document import MARKER_END, MARKER_START, project_document

from helpers import REPO

PROJECT = REPO / "project"


def generated_part(text: str) -> str:
    start, end = MARKER_START.format(tag="WEASEL"), MARKER_END.format(tag="WEASEL")
    assert start in text and end in text, "the WEASEL markers are missing"
    return text.split(start, 1)[1].split(end, 1)[0].strip()


def test_the_project_readme_is_generated_from_project_yml(tmp_path):
    fresh = tmp_path / "README.md"
    project_document(PROJECT, fresh)
    committed = (PROJECT / "README.md").read_text(encoding="utf-8")
    assert generated_part(committed) == generated_part(fresh.read_text(encoding="utf-8")), (
        "project/README.md is out of date: run "
        "`spacy project document project/ --output project/README.md`"
    )
    # The hand-written part after the generated one is kept.
    assert "## Running it" in committed.split(MARKER_END.format(tag="WEASEL"), 1)[1]
