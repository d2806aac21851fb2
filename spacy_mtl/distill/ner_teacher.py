"""A trained NER pipeline beside a student: its action distribution on the student's
own transition states (`mtl_ner`'s teacher_targets = "soft" or "confident").

spaCy 3.8's parser update follows the student's own predicted actions, so the states
it learns on are only known during training: the teacher scores them as they come.
The teacher pipeline is loaded once (`NERTeacher.load`); for each update it runs the
components its NER listens to on copies of the taught docs and builds its NER's step
model over copies of every doc of the batch (`NERTeacher.steps`), which then scores
each step's states (`TeacherSteps.distribution`). A state knows its tokens by its
offset in the batch, and the copies have the same tokens in the same order, so the
teacher reads the same tokens as the student. Docs that are not taught are never
scored, so the teacher's encoder does not run on them: its listener gives them zeros.

Nothing of the teacher is saved with the student.
"""

from pathlib import Path
from typing import List, Optional, Sequence, Tuple, Union, cast

import numpy
import spacy
from spacy.language import Language
from spacy.pipeline import EntityRecognizer
from spacy.tokens import Doc
from thinc.api import to_numpy

from ..compat import ParserStepModel, parser_step_model
from ..errors import Errors
from .teach import teacher_components, token_copy


def masked_softmax(scores: numpy.ndarray, allowed: numpy.ndarray) -> numpy.ndarray:
    """Per row, the softmax of `scores` over the allowed entries; the others get 0.

    scores (numpy.ndarray): (rows, actions).
    allowed (numpy.ndarray): (rows, actions), bool.
    RETURNS (numpy.ndarray): float64, each row summing to 1, or all 0 where the row
        allows nothing.
    """
    scores = numpy.asarray(scores, dtype="float64")
    allowed = numpy.asarray(allowed, dtype=bool)
    masked = numpy.where(allowed, scores, -numpy.inf)
    has_any = allowed.any(axis=1)
    top = numpy.where(has_any, masked.max(axis=1, initial=-numpy.inf), 0.0)[:, None]
    with numpy.errstate(invalid="ignore"):
        exp = numpy.where(allowed, numpy.exp(masked - top), 0.0)
    total = exp.sum(axis=1, keepdims=True)
    return numpy.divide(exp, total, out=numpy.zeros_like(exp), where=total > 0)


def confident_targets(distribution: numpy.ndarray, threshold: float) -> numpy.ndarray:
    """The teacher's most probable action as a one-hot target, on the states where
    its probability is at least `threshold`; rows of 0 (no target) elsewhere.

    distribution (numpy.ndarray): (states, actions), rows summing to 1 or all 0.
    threshold (float): the least probability a target needs.
    RETURNS (numpy.ndarray): float64, (states, actions).
    """
    distribution = numpy.asarray(distribution, dtype="float64")
    targets = numpy.zeros_like(distribution)
    if not distribution.size:
        return targets
    best = distribution.argmax(axis=1)
    top = distribution[numpy.arange(len(best)), best]
    keep = (top >= threshold) & (top > 0)
    targets[numpy.flatnonzero(keep), best[keep]] = 1.0
    return targets


def action_names(moves) -> List[str]:
    """The names of a transition system's actions ("B-person", "O", ...), in order."""
    return [moves.get_class_name(i) for i in range(moves.n_moves)]


class TeacherSteps:
    """The teacher's NER step model over one batch of the student's docs.

    step_model (ParserStepModel): the teacher NER's step model over copies of the docs.
    teacher_moves: the teacher NER's transition system.
    student_moves: the student's, whose action order the distributions follow.
    """

    def __init__(self, step_model: ParserStepModel, teacher_moves, student_moves) -> None:
        self.step_model = step_model
        self.teacher_moves = teacher_moves
        self.student_moves = student_moves
        self._index: Optional[Tuple[int, numpy.ndarray]] = None

    def action_index(self) -> numpy.ndarray:
        """Per student action, the teacher's action of the same name, or -1. Built
        again whenever the student gained actions (spaCy adds labels in update)."""
        n_moves = self.student_moves.n_moves
        if self._index is None or self._index[0] != n_moves:
            teacher = {name: i for i, name in enumerate(action_names(self.teacher_moves))}
            index = numpy.asarray(
                [teacher.get(name, -1) for name in action_names(self.student_moves)], dtype="int64"
            )
            self._index = (n_moves, index)
        return self._index[1]

    def distribution(self, states: Sequence, valid: numpy.ndarray) -> numpy.ndarray:
        """The teacher's distribution over the student's actions in each state: its
        softmax over the actions that are valid in the state and that it knows,
        renormalised; the other actions get 0.

        states (Sequence[StateClass]): unfinished states of the student's batch.
        valid (numpy.ndarray): (states, student actions), bool: which are valid.
        RETURNS (numpy.ndarray): float64, (states, student actions); a row is all 0
            where the teacher knows none of the valid actions.
        """
        index = self.action_index()
        n_states = len(states)
        mapped = numpy.zeros((n_states, len(index)), dtype="float64")
        known = index >= 0
        if n_states and known.any():
            scores = to_numpy(self.step_model.predict(list(states)))
            mapped[:, known] = numpy.asarray(scores, dtype="float64")[:, index[known]]
        return masked_softmax(mapped, numpy.asarray(valid, dtype=bool) & known[None, :])

    def close(self) -> None:
        """Free the step model's activations."""
        self.step_model.clear_memory()


class NERTeacher:
    """A trained pipeline's NER component, scoring another NER's transition states.

    nlp (Language): the teacher pipeline.
    name (str): its NER component (an `EntityRecognizer`, as `load` finds it).
    source (str): where it was loaded from, for messages.
    """

    def __init__(self, nlp: Language, name: str, source: str) -> None:
        self.nlp = nlp
        self.name = name
        self.source = source
        self.ner = cast(EntityRecognizer, nlp.get_pipe(name))
        # What the NER reads: the components before it, except text classifiers,
        # which only set doc.cats.
        kinds = teacher_components(nlp)
        self.upstream = []
        for other, proc in nlp.pipeline:
            if other == name:
                break
            if kinds.get(other) != "cats":
                self.upstream.append(proc)

    @classmethod
    def load(cls, path: Union[str, Path], *, owner: str) -> "NERTeacher":
        """Load the teacher pipeline saved at `path`.

        owner (str): the student component that asks, for messages.
        RAISES (ValueError): E029 for a path without a saved pipeline, E030 unless the
            pipeline has exactly one NER component.
        """
        path = Path(path)
        if not (path / "config.cfg").is_file():
            raise ValueError(Errors.E029.format(name=owner, path=str(path)))
        nlp = spacy.load(path)
        names = [name for name, kind in teacher_components(nlp).items() if kind == "ents"]
        if len(names) != 1:
            raise ValueError(
                Errors.E030.format(name=owner, path=str(path), n=len(names), names=names)
            )
        return cls(nlp, names[0], str(path))

    @property
    def labels(self) -> Tuple[str, ...]:
        """The entity labels the teacher predicts."""
        return tuple(self.ner.labels)

    def check_labels(self, labels: Sequence[str], *, owner: str) -> None:
        """Raise E031 if the teacher predicts none of the student's `labels`."""
        if labels and not set(labels) & set(self.labels):
            raise ValueError(
                Errors.E031.format(
                    name=owner,
                    path=self.source,
                    teacher=sorted(self.labels),
                    labels=sorted(labels),
                )
            )

    def steps(self, docs: Sequence[Doc], taught: Sequence[bool], student_moves) -> TeacherSteps:
        """The teacher's NER step model over copies of the batch's docs.

        docs (Sequence[Doc]): the docs of the student's batch, in the order the
            student's parser made its states from.
        taught (Sequence[bool]): per doc, whether its states will be scored: only
            these are run through the teacher's encoder.
        student_moves: the student NER's transition system.
        RETURNS (TeacherSteps): the step model; `close()` it after the update.
        """
        copies = [token_copy(doc, self.nlp.vocab) for doc in docs]
        run = [copy for copy, is_taught in zip(copies, taught) if is_taught and len(copy)]
        for proc in self.upstream:
            if hasattr(proc, "pipe"):
                run = list(proc.pipe(run))
            else:
                run = [proc(doc) for doc in run]
        return TeacherSteps(
            parser_step_model(self.ner.model, copies), self.ner.moves, student_moves
        )


__all__ = [
    "NERTeacher",
    "TeacherSteps",
    "action_names",
    "confident_targets",
    "masked_softmax",
]
