"""python bench/probe_inputs.py: the bad and hostile inputs of issue 28, run as a user runs them.

Each finding of issue 28 in annotate, report, teach and the Ray path (1, 5-9, 12 and
the "also surprising" ones) is run against a tiny pipeline (a random 2-layer BERT
with the packaged tokenizer, as the tests build it) through the command line,
`python -m spacy_mtl ...` in a subprocess, and judged by what it leaves: exit code,
messages, the files. One line per probe:

    ✓ handled clearly   ~ surprising   ✗ wrong

The commands use whichever spacy_mtl Python finds, so that another checkout can be
probed with the same script: `PYTHONPATH=/path/to/checkout python bench/probe_inputs.py`
(run as a file, not with -m, so that this checkout does not come first). The first
line says which one ran. Nothing is timed: a post that would stall the tokenizer is
judged by whether it went through it.
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Callable, List, Optional, Tuple

REPO = Path(__file__).resolve().parent.parent
# Run as a file, Python puts bench/ first on the path, where profile.py would hide the
# standard library's (which cProfile, and so spaCy, imports).
if sys.path and Path(sys.path[0] or ".").resolve() == REPO / "bench":
    del sys.path[0]
OK, ODD, WRONG, NA = "✓", "~", "✗", "-"
Verdict = Tuple[str, str]

ENV = {
    **os.environ,
    "ANSI_COLORS_DISABLED": "1",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    # Ray's own progress bars and dashboard are noise here.
    "RAY_DATA_DISABLE_PROGRESS_BARS": "1",
}


class Probe:
    """Runs commands in a scratch directory, with the tiny pipeline `model`."""

    def __init__(self, model: Path, work: Path) -> None:
        self.model = str(model)
        self.work = work
        self.n = 0

    def dir(self) -> Path:
        self.n += 1
        path = self.work / f"probe{self.n}"
        path.mkdir()
        return path

    def run(
        self, cwd: Path, *args: str, python: Optional[str] = None
    ) -> subprocess.CompletedProcess:
        command = [sys.executable, "-c", python] if python else [sys.executable, "-m", "spacy_mtl"]
        return subprocess.run(
            [*command, *args], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=900
        )

    def annotate(self, cwd: Path, *args: str) -> subprocess.CompletedProcess:
        return self.run(cwd, "annotate", self.model, *args, "--gpu-id", "-1")


def said(result: subprocess.CompletedProcess) -> str:
    """The last message line of a command, for the table."""
    lines = [line.strip() for line in (result.stderr + result.stdout).splitlines() if line.strip()]
    text = next((line for line in reversed(lines) if line[:1] in "✘✔⚠"), lines[-1] if lines else "")
    return text[:110]


def traceback(result: subprocess.CompletedProcess) -> bool:
    return "Traceback (most recent call last)" in result.stderr + result.stdout


def jsonl(path: Path) -> List[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def strict(path: Path) -> bool:
    def refuse(constant: str) -> None:
        raise ValueError(constant)

    try:
        for line in path.read_text(encoding="utf-8").splitlines():
            json.loads(line, parse_constant=refuse)
    except ValueError:
        return False
    return True


POST = '{"id": 1, "text": "Obama visited Paris"}\n'
DEEP = '{"id": 2, "text": "deep", "x": ' + "[" * 1000 + "]" * 1000 + "}\n"
LAST = '{"id": 3, "text": "Apple opened in London"}\n'


def output_is_input(p: Probe) -> Verdict:
    d = p.dir()
    (d / "p.jsonl").write_text(POST)
    result = p.annotate(d, "p.jsonl", "p.jsonl")
    if (d / "p.jsonl").read_text() != POST:
        return WRONG, f"input now {(d / 'p.jsonl').stat().st_size} bytes, exit {result.returncode}"
    if result.returncode and not traceback(result):
        return OK, said(result)
    return ODD, said(result)


def errors_is_input(p: Probe) -> Verdict:
    d = p.dir()
    (d / "p.jsonl").write_text(POST)
    result = p.annotate(d, "p.jsonl", "out.jsonl", "--errors", "p.jsonl")
    if (d / "p.jsonl").read_text() != POST:
        return WRONG, f"input now {(d / 'p.jsonl').stat().st_size} bytes, exit {result.returncode}"
    return (OK if result.returncode and not traceback(result) else ODD), said(result)


def deep_line(p: Probe) -> Verdict:
    d = p.dir()
    (d / "p.jsonl").write_text(POST + DEEP + LAST)
    result = p.annotate(d, "p.jsonl", "out.jsonl", "-b", "1")
    written = [r["id"] for r in jsonl(d / "out.jsonl")] if (d / "out.jsonl").exists() else []
    if result.returncode or traceback(result) or written != [1, 3]:
        return WRONG, f"exit {result.returncode}, posts written {written}: {said(result)}"
    problems = jsonl(d / "out.errors.jsonl")
    return OK, f"posts 1 and 3 written; line 2 reported: {problems[0]['kind']}"


def deep_line_resumed(p: Probe) -> Verdict:
    d = p.dir()
    (d / "p.jsonl").write_text(POST + DEEP + LAST)
    p.annotate(d, "p.jsonl", "out.jsonl", "-b", "1")
    result = p.annotate(d, "p.jsonl", "out.jsonl", "-b", "1", "--resume")
    written = [r["id"] for r in jsonl(d / "out.jsonl")] if (d / "out.jsonl").exists() else []
    if result.returncode or written != [1, 3]:
        return WRONG, f"--resume: exit {result.returncode}, posts {written}: {said(result)}"
    return OK, f"--resume: posts {written}, {said(result)[:60]}"


def deep_line_report(p: Probe) -> Verdict:
    d = p.dir()
    record = {
        "text": "x",
        "cats": {"positive": 0.9},
        "ents": [{"text": "Obama", "label": "person"}],
    }
    (d / "a.jsonl").write_text(json.dumps(record) + "\n" + DEEP)
    result = p.run(d, "report", "a.jsonl", "-o", "r")
    if traceback(result) or result.returncode:
        return WRONG, f"exit {result.returncode}: {said(result)}"
    return OK, said(
        result
    ) if "not annotated records" not in result.stdout else "1 bad line counted"


def failed_run_keeps_output(p: Probe) -> Verdict:
    d = p.dir()
    (d / "p.jsonl").write_text(POST + "\n" + LAST)
    p.annotate(d, "p.jsonl", "out.jsonl")
    before = (d / "out.jsonl").read_bytes(), (d / "out.errors.jsonl").read_bytes()
    result = p.run(d, "annotate", p.model + "_typo", "p.jsonl", "out.jsonl", "--gpu-id", "-1")
    after = (d / "out.jsonl").read_bytes(), (d / "out.errors.jsonl").read_bytes()
    if after != before:
        return WRONG, f"output now {len(after[0])} bytes, problems {len(after[1])}"
    return (OK if result.returncode and not traceback(result) else ODD), said(result)


def errors_is_output(p: Probe) -> Verdict:
    d = p.dir()
    (d / "p.jsonl").write_text(POST + "\n" + LAST)
    result = p.annotate(d, "p.jsonl", "out.jsonl", "--errors", "out.jsonl")
    if result.returncode == 0:
        lines = (d / "out.jsonl").read_text().splitlines() if (d / "out.jsonl").exists() else []
        return WRONG, f"exit 0; out.jsonl holds {len(lines)} lines, posts and problems mixed"
    return (OK if not traceback(result) else ODD), said(result)


def resume_wrong_file(p: Probe) -> Verdict:
    d = p.dir()
    (d / "p.jsonl").write_text(POST + LAST)
    other = b'{"id": 9, "text": "another run", "cats": {}, "ents": []}\n{"id": 10, "te'
    (d / "out.jsonl").write_bytes(other)
    result = p.annotate(d, "p.jsonl", "out.jsonl", "--resume")
    if (d / "out.jsonl").read_bytes()[: len(other)] != other:
        return WRONG, f"its torn last line was cut, exit {result.returncode}: {said(result)}"
    if result.returncode == 0:
        return WRONG, "resumed another run's output"
    return OK, said(result)


def resume_output_is_input(p: Probe) -> Verdict:
    d = p.dir()
    # Many files end without a line break: their last post looks like a torn line.
    given = POST + LAST.rstrip("\n")
    (d / "p.jsonl").write_text(given)
    result = p.annotate(d, "p.jsonl", "p.jsonl", "--resume")
    if (d / "p.jsonl").read_text() != given:
        return WRONG, f"the input's last post cut, exit {result.returncode}: {said(result)}"
    return (OK if result.returncode and not traceback(result) else ODD), said(result)


def resume_retweets(p: Probe) -> Verdict:
    d = p.dir()
    rows = [{"id": 1, "text": "RT great show"}, {"id": 2, "text": "RT great show"}]
    (d / "p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    p.annotate(d, "p.jsonl", "out.jsonl")
    rows = [{"id": 0, "text": "RT great show"}, *rows]
    (d / "p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = p.annotate(d, "p.jsonl", "out.jsonl", "--resume")
    ids = [r["id"] for r in jsonl(d / "out.jsonl")]
    if result.returncode == 0:
        return WRONG, f"resumed: ids {ids}"
    return (OK if ids == [1, 2] else WRONG), said(result)


def csv_over_limit(p: Probe) -> Verdict:
    d = p.dir()
    big = "x" * 140_000 + "\nthen, a fake row\n" + "y" * 10
    (d / "p.csv").write_text(f'id,text\n1,"{big}"\n2,"the real next post"\n')
    p.annotate(d, "p.csv", "out.jsonl")
    rows = jsonl(d / "out.jsonl") if (d / "out.jsonl").exists() else []
    problems = jsonl(d / "out.errors.jsonl") if (d / "out.errors.jsonl").exists() else []
    ids = [r.get("id") for r in rows]
    if ids != ["2"]:
        return WRONG, f"rows {ids[:4]}, {len(problems)} problems"
    return OK, f"the real next post written; 1 problem: {problems[0]['message'][:50]}"


def no_cuda(p: Probe, command: str) -> Verdict:
    from spacy_mtl.device import gpu_available

    if gpu_available():
        return NA, "this machine has a usable GPU"
    d = p.dir()
    (d / "p.txt").write_text("a post\n")
    if command == "annotate":
        result = p.run(d, "annotate", p.model, "p.txt", "out.jsonl", "-g", "5")
    else:
        sys.path.insert(0, str(REPO / "tests"))
        from helpers import write_task_corpora

        corpus = write_task_corpora(d)["textcat"]
        result = p.run(d, "teach", str(corpus), "out.spacy", "--teacher", p.model, "-g", "0")
    if traceback(result):
        return WRONG, f"traceback ({len(result.stderr.splitlines())} lines)"
    return (OK if result.returncode else ODD), said(result)


def report_bad_cats(p: Probe) -> Verdict:
    d = p.dir()
    ents = [{"text": "Obama", "label": "person"}]
    bad = {"text": "x", "cats": {"negative": "high", "positive": 0.5}, "ents": ents}
    (d / "a.jsonl").write_text(json.dumps(bad) + "\n")
    result = p.run(d, "report", "a.jsonl", "-o", "r")
    if traceback(result):
        return WRONG, f"traceback: {said(result)}"
    return (OK if result.returncode == 1 else ODD), said(result)


def ray_missing_model(p: Probe) -> Verdict:
    d = p.dir()
    (d / "p.jsonl").write_text(POST)
    result = p.run(d, "annotate", str(d / "no_such_model"), "p.jsonl", "out", "--ray", "-n", "1")
    left = (d / "out").exists()
    lines = len((result.stdout + result.stderr).splitlines())
    if traceback(result) or left:
        return WRONG, f"{lines} lines, traceback {traceback(result)}, output dir left: {left}"
    return (OK if result.returncode else ODD), said(result)


RAY_API = """
import sys, ray
from spacy_mtl.annotate.ray import annotate
ray.init(num_cpus=1, include_dashboard=False, configure_logging=False, log_to_driver=False)
try:
    annotate(ray.data.from_items([{"text": "a post"}]), sys.argv[1])
except Exception as error:
    print("raised:", type(error).__name__, str(error)[:80])
else:
    print("returned a dataset: the error waits for its consumption")
"""


def ray_api_missing_model(p: Probe) -> Verdict:
    d = p.dir()
    result = p.run(d, str(d / "no_such_model"), python=RAY_API)
    line = next((x for x in result.stdout.splitlines() if x), said(result))
    return (OK if line.startswith("raised") else WRONG), line


def nan_in_input(p: Probe) -> Verdict:
    d = p.dir()
    (d / "p.jsonl").write_text('{"text": "Obama in Paris", "score": NaN}\n' + LAST)
    p.annotate(d, "p.jsonl", "out.jsonl")
    if not strict(d / "out.jsonl"):
        return WRONG, "NaN written to the output"
    return OK, "the NaN line reported (malformed_json), the output strict JSON"


def nan_from_pipeline(p: Probe) -> Verdict:
    import spacy

    d = p.dir()
    nlp = spacy.load(p.model)
    for node in nlp.get_pipe("textcat").model.walk():
        for name in node.param_names:
            if node.has_param(name):
                node.set_param(name, node.get_param(name) * float("nan"))
    nlp.to_disk(d / "nan_model")
    (d / "p.jsonl").write_text(POST)
    p.run(d, "annotate", str(d / "nan_model"), "p.jsonl", "out.jsonl", "--gpu-id", "-1")
    if not strict(d / "out.jsonl"):
        return WRONG, "NaN probabilities written to the output"
    return OK, f"cats written as {jsonl(d / 'out.jsonl')[0]['cats']}"


def stalling_post(p: Probe) -> Verdict:
    d = p.dir()
    posts = [{"id": 1, "text": "#" * 10_000}, {"id": 2, "text": "\U0001f600" * 5_000}]
    (d / "p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in posts) + LAST)
    p.annotate(d, "p.jsonl", "out.jsonl")
    ids = [r["id"] for r in jsonl(d / "out.jsonl")]
    if 1 in ids or 2 in ids:
        return WRONG, "went through spaCy's tokenizer, whose time grows with the run's square"
    return OK, "skipped before the tokenizer, reported: " + jsonl(d / "out.errors.jsonl")[0]["kind"]


def formula_injection(p: Probe) -> Verdict:
    d = p.dir()
    ent = {"text": '=HYPERLINK("http://x")', "label": "person"}
    (d / "a.jsonl").write_text(json.dumps({"cats": {"positive": 1.0}, "ents": [ent]}) + "\n")
    p.run(d, "report", "a.jsonl", "-o", "r")
    with (d / "r" / "entities.csv").open(encoding="utf-8", newline="") as file:
        cell = list(csv.reader(file))[1][0]
    return (OK if cell.startswith("'=") else WRONG), f"its cell: {cell}"


def teach_over_input(p: Probe) -> Verdict:
    sys.path.insert(0, str(REPO / "tests"))
    from helpers import write_task_corpora

    d = p.dir()
    corpus = write_task_corpora(d)["textcat"]
    before = corpus.read_bytes()
    result = p.run(d, "teach", str(corpus), str(corpus), "--teacher", p.model, "-g", "-1")
    if result.returncode == 0:
        changed = corpus.read_bytes() != before
        return WRONG, f"exit 0, the corpus {'overwritten' if changed else 'rewritten'}"
    return (OK if corpus.read_bytes() == before else WRONG), said(result)


PROBES: List[Tuple[str, str, Callable[[Probe], Verdict]]] = [
    ("1", "annotate M p.jsonl p.jsonl (OUTPUT is INPUT)", output_is_input),
    ("1", "annotate --errors INPUT", errors_is_input),
    ("5", "a JSON line nested 1,000 deep", deep_line),
    ("5", "... then --resume", deep_line_resumed),
    ("5", "... report on it", deep_line_report),
    ("6", "a mistyped model after an earlier run", failed_run_keeps_output),
    ("7", "--errors is OUTPUT", errors_is_output),
    ("8", "--resume on another run's output, torn last line", resume_wrong_file),
    ("8", "--resume with OUTPUT == INPUT", resume_output_is_input),
    ("8", "--resume after the input was edited (retweets)", resume_retweets),
    ("9", "CSV field over csv's limit, with line breaks", csv_over_limit),
    ("12", "annotate -g 5 without CUDA", lambda p: no_cuda(p, "annotate")),
    ("12", "teach -g 0 without CUDA", lambda p: no_cuda(p, "teach")),
    ("12", "report with non-numeric cats", report_bad_cats),
    ("12", "annotate --ray with a missing model", ray_missing_model),
    ("12", "ray API annotate() with a missing model", ray_api_missing_model),
    ("also", "NaN in an input line", nan_in_input),
    ("also", "a pipeline that gives NaN", nan_from_pipeline),
    ("also", "10,000 '#' / 5,000 emoji in a post", stalling_post),
    ("also", "entities.csv with '=HYPERLINK(...)'", formula_injection),
    ("also", "teach OUTPUT == INPUT", teach_over_input),
]


def tiny_pipeline(directory: Path) -> Path:
    """The tests' tiny pipeline (tests/conftest.py's `tiny_pipeline`), saved in `directory`."""
    import spacy
    from thinc.api import fix_random_seed

    sys.path.insert(0, str(REPO / "tests"))
    from helpers import build_tiny_encoder, load_config, mixed_examples, randomize_head

    encoder = build_tiny_encoder(directory / "tiny_bert")
    fix_random_seed(0)
    config = load_config("mtl.cfg", str(encoder))
    nlp = spacy.util.load_model_from_config(config, auto_fill=True, validate=True)
    nlp.initialize(lambda: mixed_examples(nlp))
    randomize_head(nlp, "textcat", scale=1.0)
    randomize_head(nlp, "ner", scale=1.0)
    nlp.to_disk(directory / "tiny_mtl")
    return directory / "tiny_mtl"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, help="a pipeline directory (default: a tiny one)")
    parser.add_argument("--only", nargs="*", help="run the probes whose finding is one of these")
    args = parser.parse_args()
    import spacy_mtl

    print(f"spacy_mtl: {Path(spacy_mtl.__file__).parent}", flush=True)
    with tempfile.TemporaryDirectory(prefix="probe-inputs-") as tmp:
        work = Path(tmp)
        model = args.model.resolve() if args.model else tiny_pipeline(work)
        probe = Probe(model, work)
        print("| # | input | verdict | what happened |\n|---|---|:-:|---|", flush=True)
        for finding, name, check in PROBES:
            if args.only and finding not in args.only:
                continue
            try:
                verdict, note = check(probe)
            except Exception as error:  # a probe that breaks is a finding too
                verdict, note = WRONG, f"the probe broke: {type(error).__name__}: {error}"[:110]
            note = note.replace("|", "\\|").replace("\n", " ")
            print(f"| {finding} | {name} | {verdict} | {note} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
