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
with `teacher_cats` and `teacher_ents`; `spacy mtl teach` writes them.
"""
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from spacy.language import Language
from spacy.pipeline import EntityRecognizer, TextCategorizer
from spacy.tokens import Doc, Span

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
        raise ValueError(f"teacher cats must lie in [0, 1], got {bad} on {doc.text[:40]!r}")
    merged = teacher_cats(doc) or {}
    merged.update({label: float(value) for label, value in cats.items()})
    doc._.set(TEACHER_CATS, merged)


def set_teacher_ents(doc: Doc, ents: Iterable[Span]) -> None:
    """Set the NER teacher's entities on `doc` (spans of a doc with the same tokens)."""
    spans = tuple((ent.start, ent.end, ent.label_) for ent in ents)
    if any(end > len(doc) for _, end, _ in spans):
        raise ValueError(f"teacher entities {spans} run past the {len(doc)} tokens of {doc.text[:40]!r}")
    doc._.set(TEACHER_ENTS, spans)


def teacher_components(nlp: Language) -> Dict[str, str]:
    """What a teacher pipeline can teach: its text classification and NER components.

    RETURNS (Dict[str, str]): component name to "cats" or "ents", in pipeline order.
    """
    found = {}
    for name, component in nlp.pipeline:
        if isinstance(component, TextCategorizer):  # the multi-label one subclasses it
            found[name] = "cats"
        elif isinstance(component, EntityRecognizer):
            found[name] = "ents"
    return found


def teach_docs(teachers: Sequence[Language], docs: Sequence[Doc], *, batch_size: int = 64) -> Iterator[Doc]:
    """Each doc with every teacher's predictions added as teacher targets, in order.

    The docs' gold (`doc.cats`, `doc.ents`) is left as it is. Each teacher runs on a
    copy of the doc's own tokens, so its entities line up with them.

    teachers (Sequence[Language]): trained pipelines; between them at most one NER
        component, and text classifiers whose labels do not overlap.
    docs (Sequence[Doc]): the corpus.
    batch_size (int): the teachers' batch size.
    YIELDS (Doc): the docs of `docs`, with `doc._.teacher_cats` / `teacher_ents` set.
    """
    check_teachers(teachers)
    streams = []
    for nlp in teachers:
        copies = (Doc(nlp.vocab, words=[t.text for t in doc], spaces=[bool(t.whitespace_) for t in doc]) for doc in docs)
        streams.append((nlp, teacher_components(nlp), nlp.pipe(copies, batch_size=batch_size)))
    for doc, *predictions in zip(docs, *(stream for _, _, stream in streams)):
        for (nlp, wanted, _), taught in zip(streams, predictions):
            for name, kind in wanted.items():
                if kind == "cats":
                    labels = nlp.get_pipe(name).labels
                    set_teacher_cats(doc, {label: taught.cats[label] for label in labels})
                else:
                    set_teacher_ents(doc, [Span(doc, e.start, e.end, label=e.label_) for e in taught.ents])
        yield doc


def check_teachers(teachers: Sequence[Language]) -> None:
    """Raise unless the teachers teach something, one NER and disjoint labels at most."""
    ner, labels = [], {}
    for i, nlp in enumerate(teachers):
        wanted = teacher_components(nlp)
        if not wanted:
            raise ValueError(f"teacher {i + 1} ({nlp.meta.get('name')}) has no textcat or NER component to teach with")
        for name, kind in wanted.items():
            if kind == "ents":
                ner.append(f"teacher {i + 1}: '{name}'")
                continue
            for label in nlp.get_pipe(name).labels:
                if label in labels:
                    raise ValueError(f"label {label!r} is taught twice: by {labels[label]} and by teacher {i + 1}: '{name}'")
                labels[label] = f"teacher {i + 1}: '{name}'"
    if len(ner) > 1:
        raise ValueError(f"more than one NER teacher ({', '.join(ner)}); a doc takes one teacher's entities")

