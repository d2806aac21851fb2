"""Teaching a corpus: trained teacher pipelines' predictions added to its docs as
teacher targets (`spacy mtl teach`). Gold is never changed; see `targets`.
"""

from typing import Dict, Iterator, List, Sequence, Tuple, cast

from spacy.language import Language
from spacy.pipeline import EntityRecognizer, TextCategorizer
from spacy.tokens import Doc, Span
from spacy.vocab import Vocab

from ..errors import Errors
from .targets import set_teacher_cats, set_teacher_ents


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


def token_copy(doc: Doc, vocab: Vocab) -> Doc:
    """A doc of `vocab` with `doc`'s tokens and spacing and nothing else: what a
    teacher runs on, so that what it predicts lines up with `doc`'s tokens."""
    return Doc(vocab, words=[t.text for t in doc], spaces=[bool(t.whitespace_) for t in doc])


def _labels(nlp: Language, name: str) -> Tuple[str, ...]:
    """The labels of a text classifier that `teacher_components` found."""
    return tuple(cast(TextCategorizer, nlp.get_pipe(name)).labels)


def teach_docs(
    teachers: Sequence[Language], docs: Sequence[Doc], *, batch_size: int = 64
) -> Iterator[Doc]:
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
        copies = (token_copy(doc, nlp.vocab) for doc in docs)
        streams.append((nlp, teacher_components(nlp), nlp.pipe(copies, batch_size=batch_size)))
    for doc, *predictions in zip(docs, *(stream for _, _, stream in streams)):
        for (nlp, wanted, _), taught in zip(streams, predictions):
            for name, kind in wanted.items():
                if kind == "cats":
                    labels = _labels(nlp, name)
                    set_teacher_cats(doc, {label: taught.cats[label] for label in labels})
                else:
                    set_teacher_ents(
                        doc, [Span(doc, e.start, e.end, label=e.label_) for e in taught.ents]
                    )
        yield doc


def check_teachers(teachers: Sequence[Language]) -> None:
    """Raise unless the teachers teach something, one NER and disjoint labels at most."""
    ner: List[str] = []
    labels: Dict[str, str] = {}
    for i, nlp in enumerate(teachers):
        wanted = teacher_components(nlp)
        if not wanted:
            raise ValueError(Errors.E252.format(i=i + 1, name=nlp.meta.get("name")))
        for name, kind in wanted.items():
            if kind == "ents":
                ner.append(f"teacher {i + 1}: '{name}'")
                continue
            for label in _labels(nlp, name):
                if label in labels:
                    raise ValueError(
                        Errors.E253.format(label=label, first=labels[label], i=i + 1, name=name)
                    )
                labels[label] = f"teacher {i + 1}: '{name}'"
    if len(ner) > 1:
        raise ValueError(Errors.E254.format(teachers=", ".join(ner)))
