"""Teacher targets: what trained teacher pipelines say about a doc, kept apart from gold.

A multi-task student learns every task on every doc when single-task teachers label
the docs their task has no gold for (and, for BAM's teacher annealing, the docs it
has gold for too). The teacher's labels never go into `doc.cats` or `doc.ents`,
which stay the gold; they live in two `Doc` extensions, which `DocBin` keeps:

- `doc._.teacher_cats` (Optional[Dict[str, float]]): the class distribution of every
  text classification teacher (several heads' labels side by side, as in `doc.cats`);
- `doc._.teacher_ents` (Optional[Tuple[Tuple[int, int, str], ...]]): the NER
  teacher's entities as (start token, end token, label); every other token is
  outside an entity. `()` is a teacher that found none, which teaches "no entity".

None means no teacher said anything. The heads (`mtl_textcat`, `mtl_ner`) read them
with `teacher_cats` and `teacher_ents`; `spacy mtl teach` (`spacy_mtl.distill.teach`)
writes them.
"""

from typing import Dict, Iterable, List, Optional, Tuple

from spacy.tokens import Doc, Span

from ..errors import Errors

TEACHER_CATS = "teacher_cats"
TEACHER_ENTS = "teacher_ents"

TeacherEnts = Tuple[Tuple[int, int, str], ...]

for _name in (TEACHER_CATS, TEACHER_ENTS):
    if not Doc.has_extension(_name):
        Doc.set_extension(_name, default=None)


def teacher_cats(doc: Doc) -> Optional[Dict[str, float]]:
    """The teachers' class distribution on `doc`, or None."""
    cats = doc._.get(TEACHER_CATS)
    return None if cats is None else dict(cats)


def teacher_ents(doc: Doc) -> Optional[List[Span]]:
    """The NER teacher's entities on `doc` as spans of `doc`, or None."""
    ents = doc._.get(TEACHER_ENTS)
    if ents is None:
        return None
    return [Span(doc, start, end, label=label) for start, end, label in ents]


def set_teacher_cats(doc: Doc, cats: Dict[str, float]) -> None:
    """Add a teacher's class distribution to `doc` (labels of other teachers are kept).

    cats (Dict[str, float]): label to probability, each in [0, 1].
    """
    bad = {label: value for label, value in cats.items() if not 0.0 <= float(value) <= 1.0}
    if bad:
        raise ValueError(Errors.E250.format(bad=bad, text=doc.text[:40]))
    merged = teacher_cats(doc) or {}
    merged.update({label: float(value) for label, value in cats.items()})
    doc._.set(TEACHER_CATS, merged)


def set_teacher_ents(doc: Doc, ents: Iterable[Span]) -> None:
    """Set the NER teacher's entities on `doc` (spans of a doc with the same tokens)."""
    spans = tuple((ent.start, ent.end, ent.label_) for ent in ents)
    if any(end > len(doc) for _, end, _ in spans):
        raise ValueError(Errors.E251.format(spans=spans, n=len(doc), text=doc.text[:40]))
    doc._.set(TEACHER_ENTS, spans)
