"""`spacy mtl teach`: add trained teachers' predictions to a corpus, as teacher targets.

    spacy mtl teach corpus/textcat/train.spacy corpus/taught/textcat-train.spacy \\
        --teacher training/teacher-textcat/model-best --teacher training/teacher-ner/model-best

Gold stays in `doc.cats` and `doc.ents`; each teacher's predictions go into
`doc._.teacher_cats` / `doc._.teacher_ents` (see `spacy_mtl.distill.targets`), which the
heads learn from and `DocBin` keeps.
"""

from pathlib import Path
from typing import List

import spacy
import typer
from spacy.tokens import DocBin
from wasabi import msg

from ..device import resolve_gpu_id, use_device
from ..distill.teach import check_teachers, teach_docs, teacher_components
from ..errors import Errors
from ..files import atomic_file, check_outputs
from . import mtl_cli
from ._util import CODE_HELP, GPU_HELP, check_gpu_id, import_code

#: How often a line of progress is printed, in docs.
PROGRESS_EVERY = 2000


@mtl_cli.command("teach")
def teach_cli(
    # fmt: off
    input_path: Path = typer.Argument(
        ..., help="Corpus to teach (.spacy)", exists=True, dir_okay=False
    ),
    output_path: Path = typer.Argument(
        ...,
        help=".spacy file to write: the same docs, gold kept, teacher targets added",
        dir_okay=False,
    ),
    teachers: List[str] = typer.Option(
        ...,
        "--teacher",
        "-t",
        help="A trained pipeline (directory or package) whose textcat / NER predictions become teacher targets; repeat for several",
    ),
    batch_size: int = typer.Option(
        64, "--batch-size", "-b", help="The teachers' batch size", min=1
    ),
    code_path: Path = typer.Option(None, "--code", "-c", help=CODE_HELP),
    gpu_id: str = typer.Option("-1", "--gpu-id", "-g", help=GPU_HELP, callback=check_gpu_id),
    # fmt: on
) -> None:
    """
    Run trained teacher pipelines over a corpus and save each doc with their
    predictions as teacher targets (doc._.teacher_cats, doc._.teacher_ents) beside
    its gold, which is never changed. A multi-task student then learns every task
    on every doc: the entity teacher's entities on the sentiment docs, the
    sentiment teacher's class distribution on the entity docs, and each teacher's
    view of its own gold docs (for teacher annealing). The same input, teachers and
    device give the same bytes; the output is written whole or not at all, and
    never over the corpus, a teacher or the --code file.
    """
    given = [input_path, *(Path(t) for t in teachers), *([code_path] if code_path else [])]
    try:
        check_outputs([output_path], [path for path in given if path.exists()])
    except ValueError as error:
        msg.fail(" ".join(str(error).split()), exits=1)
    import_code(code_path)
    try:
        use_device(resolve_gpu_id(gpu_id))
        nlps = [spacy.load(teacher) for teacher in teachers]
        check_teachers(nlps)
    except (OSError, ValueError) as error:
        msg.fail(" ".join(str(error).split()), exits=1)
    for teacher, nlp in zip(teachers, nlps):
        taught = ", ".join(f"'{name}' ({kind})" for name, kind in teacher_components(nlp).items())
        msg.info(f"Teacher {teacher}: {taught}")
    try:
        docs = list(DocBin().from_disk(input_path).get_docs(nlps[0].vocab))
    except Exception as error:  # DocBin raises what msgpack and zlib raise
        msg.fail(Errors.E278.format(path=input_path, error=error), exits=1)
    out = DocBin(store_user_data=True)
    for done, doc in enumerate(teach_docs(nlps, docs, batch_size=batch_size), 1):
        out.add(doc)
        if done % PROGRESS_EVERY == 0 or done == len(docs):
            msg.text(f"  {done:,} / {len(docs):,} docs", show=True)
    with atomic_file(output_path) as file:
        file.write(out.to_bytes())
    msg.good(f"Saved {len(out):,} docs with teacher targets to {output_path}")
