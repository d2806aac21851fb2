"""What a person looks at after `spacy mtl annotate`: who is mentioned, and with what sentiment.

`entity_sentiment` tallies annotated records (JSON lines with "cats" and "ents")
into an entity × sentiment table: per entity (its text, case and spacing folded,
and its label), the posts that mention it and how many of those fall in each
class. A post counts once per entity however often it names it; its class is its
most probable one. A line that is not such a record (not JSON, nested too deep to
parse, "cats" that are not numbers) is counted as a bad line and left out.
`write_report` writes the table as CSV (every entity) and Markdown (the most
mentioned), and a PNG bar chart of the most mentioned with their sentiment split
(matplotlib: `spacy-mtl[plot]`). All three are made before any is written, each
through a temporary file: a failed run leaves what was there. A CSV cell that a
spreadsheet would run as a formula (starting with =, +, -, @, a tab or a carriage
return) is written with a ' in front.
"""

import csv
import io
import json
import math
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Tuple, Union

from ..errors import Errors
from ..files import atomic_file, check_outputs

#: Colours of the chart's classes by name; other classes take matplotlib's cycle.
COLOURS = {"negative": "#d62728", "neutral": "#9e9e9e", "positive": "#2ca02c"}


@dataclass
class EntityRow:
    """One entity: how it is written most often, its label, the posts that mention
    it, and those posts per class."""

    text: str
    label: str
    posts: int
    classes: Dict[str, int]


@dataclass
class Tally:
    """What `entity_sentiment` found.

    classes (List[str]): the classes, in the records' order.
    rows (List[EntityRow]): every entity, most mentioned first.
    posts (int): the posts read.
    per_class (Dict[str, int]): the posts of each class.
    bad_lines (int): lines that were not annotated records.
    """

    classes: List[str]
    rows: List[EntityRow]
    posts: int
    per_class: Dict[str, int]
    bad_lines: int = 0


def read_annotated(path: Union[str, Path]) -> Iterator[object]:
    """The JSON values of an annotated file's lines, or of every JSON-lines file in
    a directory (Ray's write_json writes one per block); "-" reads stdin.

    path (Union[str, Path]): the file, directory or "-".
    YIELDS (object): each line parsed, or None where it is not JSON.
    """
    if str(path) == "-":
        files: Iterable = [sys.stdin]
    else:
        path = Path(path)
        paths = (
            sorted(p for p in path.iterdir() if p.suffix in (".json", ".jsonl"))
            if path.is_dir()
            else [path]
        )
        files = (p.open(encoding="utf-8", errors="replace") for p in paths)
    for file in files:
        with file:
            for line in file:
                if not line.strip():
                    continue
                try:
                    yield json.loads(line)
                except (ValueError, RecursionError):
                    yield None


def _probability(value: Any) -> bool:
    # null is what annotate writes for a probability the pipeline gave as NaN.
    if value is None:
        return True
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def entity_sentiment(records: Iterable[object]) -> Tally:
    """Tally annotated records into the entity × sentiment table.

    records (Iterable[object]): parsed JSON lines; what is not a record with
        "cats" (a dict of finite numbers or nulls) and "ents" (a list) counts as a
        bad line.
    RETURNS (Tally): the table.
    """
    classes: Dict[str, None] = {}
    per_class: Counter = Counter()
    counts: Dict[Tuple[str, str], Counter] = defaultdict(Counter)
    spellings: Dict[Tuple[str, str], Counter] = defaultdict(Counter)
    posts = bad = 0
    for record in records:
        if not (
            isinstance(record, Mapping)
            and isinstance(record.get("cats"), Mapping)
            and isinstance(record.get("ents"), list)
            and all(_probability(value) for value in record["cats"].values())
        ):
            bad += 1
            continue
        posts += 1
        cats = record["cats"]
        classes.update(dict.fromkeys(cats))
        feeling = max(cats, key=lambda label: cats[label] or 0.0) if cats else None
        per_class[feeling] += 1
        seen = set()
        for ent in record["ents"]:
            if not isinstance(ent, Mapping) or not isinstance(ent.get("text"), str):
                continue
            key = (" ".join(ent["text"].split()).lower(), str(ent.get("label", "")))
            spellings[key][ent["text"]] += 1
            if key not in seen:
                seen.add(key)
                counts[key][feeling] += 1
    rows = [
        EntityRow(
            spellings[key].most_common(1)[0][0],
            key[1],
            sum(feelings.values()),
            {label: feelings[label] for label in classes},
        )
        for key, feelings in counts.items()
    ]
    rows.sort(key=lambda row: (-row.posts, row.text.lower(), row.label))
    return Tally(list(classes), rows, posts, {label: per_class[label] for label in classes}, bad)


#: What a spreadsheet takes for the start of a formula (OWASP's CSV injection list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(text: str) -> str:
    """A text cell that no spreadsheet runs as a formula: a ' before a formula's start."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(tally: Tally) -> str:
    """Every entity: text, label, posts, then the posts per class (text cells made safe)."""
    file = io.StringIO(newline="")
    writer = csv.writer(file)
    writer.writerow([safe_cell(name) for name in ("entity", "label", "posts", *tally.classes)])
    for row in tally.rows:
        writer.writerow(
            [
                safe_cell(row.text),
                safe_cell(row.label),
                row.posts,
                *(row.classes[label] for label in tally.classes),
            ]
        )
    return file.getvalue()


def markdown(tally: Tally, top: int) -> str:
    """The `top` most mentioned entities as a Markdown table: posts per class and their share."""

    def cell(n: int, total: int) -> str:
        return f"{n} ({100 * n / total:.0f}%)" if total else "0"

    def escape(text: str) -> str:
        # A line break would end the table's row.
        return " ".join(text.split()).replace("|", "\\|")

    share = ", ".join(f"{label} {cell(n, tally.posts)}" for label, n in tally.per_class.items())
    lines = [
        f"{tally.posts:,} posts ({share}); {len(tally.rows):,} entities, the {min(top, len(tally.rows))} most "
        "mentioned below (a post counts once per entity; its class is its most probable one).",
        "",
        "| entity | label | posts | " + " | ".join(tally.classes) + " |",
        "|---|---|---:|" + "---:|" * len(tally.classes),
    ]
    for row in tally.rows[:top]:
        cells = [cell(row.classes[label], row.posts) for label in tally.classes]
        lines.append(
            f"| {escape(row.text)} | {escape(row.label)} | {row.posts} | "
            + " | ".join(cells)
            + " |"
        )
    return "\n".join(lines) + "\n"


def chart_png(tally: Tally, top: int) -> bytes:
    """A horizontal bar per entity (the `top` most mentioned), split by class, as PNG bytes."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError(Errors.E216) from None
    rows = tally.rows[:top][::-1]
    fig, ax = plt.subplots(figsize=(9, 1.2 + 0.35 * max(len(rows), 1)))
    names = [f"{row.text} ({row.label})" for row in rows]
    left = [0] * len(rows)
    cycle = iter(plt.rcParams["axes.prop_cycle"].by_key()["color"])
    for label in tally.classes:
        values = [row.classes[label] for row in rows]
        ax.barh(
            names, values, left=left, label=label, color=COLOURS.get(label.lower()) or next(cycle)
        )
        left = [a + b for a, b in zip(left, values)]
    ax.set_xlabel("posts that mention the entity")
    ax.set_title(
        f"The {len(rows)} most mentioned entities in {tally.posts:,} posts, by the posts' sentiment"
    )
    if tally.classes:
        ax.legend(loc="lower right")
    fig.tight_layout()
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=100)
    plt.close(fig)
    return png.getvalue()


def write_report(
    annotated: Union[str, Path], output_dir: Union[str, Path], top: int = 20
) -> Tuple[Tally, Dict[str, Path]]:
    """Tally an annotated file and write entities.csv, entities.md and entities.png.

    annotated (Union[str, Path]): the JSONL that `spacy mtl annotate` wrote, a
        directory of them (`--ray`), or "-" for stdin.
    output_dir (Union[str, Path]): where the files go (created if needed).
    top (int): entities in the Markdown table and the chart.
    RETURNS (Tuple[Tally, Dict[str, Path]]): the tally, and the files by kind
        ("csv", "markdown", "chart").
    RAISES (ValueError): an output that is, holds or lies inside the input, or no
        annotated record; (ImportError): no matplotlib.
    """
    output_dir = Path(output_dir)
    files = {
        "csv": output_dir / "entities.csv",
        "markdown": output_dir / "entities.md",
        "chart": output_dir / "entities.png",
    }
    check_outputs(files.values(), [] if str(annotated) == "-" else [annotated])
    tally = entity_sentiment(read_annotated(annotated))
    if not tally.posts:
        raise ValueError(Errors.E215.format(path=annotated))
    contents = {
        "csv": csv_text(tally).encode("utf-8"),
        "markdown": markdown(tally, top).encode("utf-8"),
        "chart": chart_png(tally, top),
    }
    for kind, path in files.items():
        with atomic_file(path, "wb") as file:
            file.write(contents[kind])
    return tally, files
