"""Named entity recognition head for multi-task training.

spaCy's `ner` (the transition-based `EntityRecognizer`) with two changes:
- it reports its true loss, the mean negative log-likelihood of the gold actions per
  transition (stock logs the unnormalised sum of squared gradients);
- it follows the `TaskHead` contract, so the shared transformer knows in advance
  whether this batch will send it a gradient.
Docs whose entities are missing (`doc.set_ents([], default="missing")`) already get
no transition states in stock spaCy, so they teach nothing; a batch made only of such
docs is skipped.

A doc without gold entities but with a teacher's (`doc._.teacher_ents`, see
`spacy_mtl.distill.targets`) learns them as if they were gold: the teacher's hard entities,
every other token outside, each transition's loss weighted by `teacher_weight`. A doc
with gold entities learns its gold only: the NER teacher was trained on those very
docs, so on them its entities are a noisier copy of the gold.

How a taught doc learns is `teacher_targets`:
- "hard": the teacher's entities, as above;
- "soft": the teacher's uncertainty. The teacher pipeline (`teacher`, loaded beside
  the student, `spacy_mtl.distill.ner_teacher`) scores the student's own states as
  the update follows the student's actions, and each state learns the teacher's
  distribution over its valid actions (`soft_action_xent`: the cross-entropy, whose
  gradient p - q has the gold loss's form, so a one-hot teacher trains exactly as gold);
- "confident": the teacher's most probable action, one-hot, on the states where its
  probability is at least `teacher_confidence`; the other states of taught docs
  teach nothing.
Under all three the parser's update makes a taught doc's states from the teacher's
entities (`doc._.teacher_ents`, which also says which docs are taught), and its long
docs are cut where the teacher's entities allow.
"""

import math
from contextlib import contextmanager
from typing import Callable, Iterable, Iterator, List, Optional, Set, Tuple

import numpy
from spacy.language import Language
from spacy.pipeline.ner import EntityRecognizer
from spacy.training import Example
from thinc.api import Config, Model, get_array_module

from ..distill.ner_teacher import NERTeacher, TeacherSteps, action_names, confident_targets
from ..distill.targets import teacher_ents
from ..errors import Errors
from ..types import TaskLoss, TaskReport
from .task_head import LISTENER_CONFIG, TaskHead, check_teacher_weight

DEFAULT_NER_MODEL = Config().from_str(
    """
[model]
@architectures = "spacy.TransitionBasedParser.v2"
state_type = "ner"
extra_state_tokens = false
hidden_width = 64
maxout_pieces = 2
use_upper = false
nO = null
"""
    + LISTENER_CONFIG
)["model"]


#: How a doc without gold entities learns its teacher's (see the module's docstring).
TEACHER_TARGETS = ("hard", "soft", "confident")


def gold_action_mask(moves, states, golds) -> numpy.ndarray:
    """Per state and action: whether the action is gold, i.e. valid and of zero cost.

    These are the actions whose probability spaCy's parser loss raises. `get_cost`
    is the transition system's public cost (9000 for an invalid action).
    """
    n_moves = moves.n_moves
    return numpy.asarray(
        [
            [moves.get_cost(state, gold, i) <= 0 for i in range(n_moves)]
            for state, gold in zip(states, golds)
        ],
        dtype=bool,
    ).reshape(len(states), n_moves)


def gold_action_nll(scores: numpy.ndarray, gold: numpy.ndarray) -> numpy.ndarray:
    """Per state: -log P(gold actions) = logsumexp(scores) - logsumexp(scores[gold]).

    P is the softmax over every action, as in spaCy's parser loss, whose gradient with
    respect to the scores is this loss's. A state without a gold action gets
    no gradient from spaCy and a loss of 0 here.
    """
    scores = numpy.asarray(scores, dtype="float64")
    top = scores.max(axis=1, keepdims=True)
    log_z = numpy.log(numpy.exp(scores - top).sum(axis=1)) + top[:, 0]
    has_gold = gold.any(axis=1)
    gold_scores = numpy.where(gold, scores, -numpy.inf)
    gold_top = numpy.where(has_gold, gold_scores.max(axis=1), 0.0)[:, None]
    with numpy.errstate(divide="ignore", invalid="ignore"):
        log_gold = numpy.log(numpy.exp(gold_scores - gold_top).sum(axis=1)) + gold_top[:, 0]
    return numpy.where(has_gold, log_z - log_gold, 0.0)


def valid_action_mask(moves, states) -> numpy.ndarray:
    """Per state and action: whether the action is valid in the state (the
    transition system's public `is_valid`).

    RETURNS (numpy.ndarray): bool, (states, actions).
    """
    names = action_names(moves)
    return numpy.asarray(
        [[moves.is_valid(state, name) for name in names] for state in states], dtype=bool
    ).reshape(len(states), len(names))


def soft_action_xent(
    scores: numpy.ndarray, targets: numpy.ndarray
) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """Per state: the cross-entropy H(q, p) = -sum_a q_a log p_a between a target
    distribution q over the actions and the student's p, the softmax of its scores
    over every action (as in spaCy's gold loss), and its gradient with respect to
    the scores, p * sum(q) - q (p - q for a distribution).

    The gradient is the gold loss's when q is one gold action's one-hot, so a teacher
    that is sure of the gold trains as gold does. spaCy v4's distillation
    backpropagates the same p - q (reporting the squared difference instead); the
    cross-entropy reported here is what that gradient minimises, in the unit of the
    gold loss, so taught and gold transitions average into one loss.

    scores (numpy.ndarray): (states, actions), the student's scores.
    targets (numpy.ndarray): (states, actions), q; a row of 0 is a state without
        target, whose loss and gradient are 0.
    RETURNS (Tuple[numpy.ndarray, numpy.ndarray]): the loss per state and the
        gradient, both float64.
    """
    scores = numpy.asarray(scores, dtype="float64")
    targets = numpy.asarray(targets, dtype="float64")
    top = scores.max(axis=1, keepdims=True)
    log_p = scores - (numpy.log(numpy.exp(scores - top).sum(axis=1, keepdims=True)) + top)
    mass = targets.sum(axis=1, keepdims=True)
    loss = -(targets * log_p).sum(axis=1)
    d_scores = numpy.exp(log_p) * mass - targets
    has_target = mass[:, 0] > 0
    return numpy.where(has_target, loss, 0.0), numpy.where(has_target[:, None], d_scores, 0.0)


class TransitionLosses:
    """The true loss of every transition step of one update, with each state's weight.

    `MultiTaskEntityRecognizer.update_task` creates one per update; the parser's
    `get_batch_loss`, which spaCy calls once per transition step, records into it.

    taught (Set[int]): the ids of the (predicted) docs that learn a teacher's
        entities: their states weigh `teacher_weight`, the others 1.
    teacher_weight (float): the weight of a taught state.
    teacher (Optional[TeacherSteps]): for soft targets, the teacher's step model
        over the update's docs, which scores the taught states.
    """

    def __init__(
        self, taught: Set[int], teacher_weight: float, teacher: Optional[TeacherSteps] = None
    ) -> None:
        self.taught = taught
        self.teacher_weight = teacher_weight
        self.teacher = teacher
        self.losses: List[numpy.ndarray] = []
        self.weights: List[numpy.ndarray] = []
        #: False once a step's loss or gradient was not finite.
        self.finite = True

    def is_taught(self, states) -> numpy.ndarray:
        """Per state: whether its doc learns from the teacher (bool)."""
        return numpy.asarray([id(state.doc) in self.taught for state in states], dtype=bool)

    def weigh(
        self,
        states,
        nll: numpy.ndarray,
        d_scores: numpy.ndarray,
        terms: Optional[numpy.ndarray] = None,
    ) -> numpy.ndarray:
        """Record one step's per-state losses and return its gradient weighted by
        state; all zeros once any step was not finite, so that nothing more reaches
        the head's parameters.

        states: the step's parser states (each knows its doc).
        nll (numpy.ndarray): per state, its loss: -log P(gold actions), or the
            cross-entropy with the teacher's distribution.
        d_scores (numpy.ndarray): the step's gradient of the scores, unweighted.
        terms (Optional[numpy.ndarray]): per state, whether it is a term of the loss
            (bool); a state without target is not, and weighs 0. None: all are.
        RETURNS (numpy.ndarray): `d_scores`, weighted in place.
        """
        weights = numpy.where(self.is_taught(states), self.teacher_weight, 1.0)
        if terms is not None:
            weights = numpy.where(terms, weights, 0.0)
        if not (numpy.isfinite(nll).all() and numpy.isfinite(d_scores).all()):
            self.finite = False
        if not self.finite:
            d_scores[...] = 0.0
        else:
            xp = get_array_module(d_scores)
            d_scores *= xp.asarray(weights, dtype=d_scores.dtype)[:, None]
        self.losses.append(nll)
        self.weights.append(weights)
        return d_scores

    def result(self) -> TaskReport:
        """The weighted mean loss over every recorded transition, or None if a step
        was not finite or nothing was recorded."""
        total = float(sum(w.sum() for w in self.weights))
        if not self.finite or total == 0:
            return None
        loss = sum(float((nll * w).sum()) for nll, w in zip(self.losses, self.weights))
        return TaskLoss(loss / total, total)


class MultiTaskEntityRecognizer(TaskHead, EntityRecognizer):
    """`EntityRecognizer` that trains under a shared `mtl_transformer`."""

    #: The loss weight of a transition on a doc that only a teacher annotates.
    teacher_weight: float = 1.0
    #: How such a doc learns: one of TEACHER_TARGETS (see `configure_teacher`).
    teacher_targets: str = "hard"
    #: The teacher pipeline that scores the student's states ("soft", "confident").
    teacher_path: Optional[str] = None
    #: The least probability of a "confident" target.
    teacher_confidence: float = 0.9
    #: The teacher pipeline, once loaded (`ner_teacher`); never saved.
    _teacher: Optional[NERTeacher] = None

    def configure_teacher(
        self,
        teacher_targets: str,
        teacher: Optional[str] = None,
        teacher_confidence: float = 0.9,
    ) -> None:
        """Set how a doc that only a teacher annotates learns (the factory's settings).

        teacher_targets (str): "hard" (the teacher's entities), "soft" (its action
            distribution on the student's states) or "confident" (its most probable
            action where its probability is at least `teacher_confidence`).
        teacher (Optional[str]): the teacher pipeline's directory, loaded at
            `initialize` or the first update that needs it; needed by "soft" and
            "confident".
        teacher_confidence (float): in [0, 1].
        """
        if teacher_targets not in TEACHER_TARGETS:
            raise ValueError(
                Errors.E026.format(
                    name=self.name, value=teacher_targets, options=list(TEACHER_TARGETS)
                )
            )
        if teacher_targets != "hard" and not teacher:
            raise ValueError(Errors.E027.format(name=self.name, value=teacher_targets))
        if not (math.isfinite(teacher_confidence) and 0.0 <= teacher_confidence <= 1.0):
            raise ValueError(Errors.E028.format(name=self.name, value=teacher_confidence))
        self.teacher_targets = teacher_targets
        self.teacher_path = None if teacher is None else str(teacher)
        self.teacher_confidence = float(teacher_confidence)
        self._teacher = None

    def ner_teacher(self) -> NERTeacher:
        """The teacher pipeline, loaded from `teacher_path` the first time.

        RAISES (ValueError): E027 without a path, E029-E031 for a path that holds no
            usable NER teacher.
        """
        if self._teacher is None:
            if not self.teacher_path:
                raise ValueError(Errors.E027.format(name=self.name, value=self.teacher_targets))
            teacher = NERTeacher.load(self.teacher_path, owner=self.name)
            teacher.check_labels(self.labels, owner=self.name)
            self._teacher = teacher
        return self._teacher

    def is_taught(self, example: Example) -> bool:
        """Whether the example learns the teacher's entities: it has no gold entities,
        a teacher's, and the head learns from teachers (`teacher_weight` > 0)."""
        return (
            self.teacher_weight > 0
            and teacher_ents(example.reference) is not None
            and not self.moves.has_gold(example)
        )

    def has_task_gold(self, examples: Iterable[Example]) -> bool:
        return any(
            len(eg.predicted) and (self.moves.has_gold(eg) or self.is_taught(eg)) for eg in examples
        )

    #: The losses of the update in progress (see `recording`); None between updates.
    _recorder: Optional[TransitionLosses] = None

    def update_task(self, examples: List[Example], *, drop: float) -> TaskReport:
        """Stock parser update, recording the true loss of every transition step."""
        taught = [self.is_taught(eg) for eg in examples]
        # The parser's states know their (predicted) doc, by which a step's loss tells
        # the taught states from the gold ones.
        taught_docs = {id(eg.predicted) for eg, is_taught in zip(examples, taught) if is_taught}
        teacher = None
        if self.teacher_targets != "hard" and any(taught):
            # The parser makes its states from the batch's docs in this order.
            teacher = self.ner_teacher().steps(
                [eg.predicted for eg in examples], taught, self.moves
            )
        examples = [
            self.with_teacher_reference(eg) if is_taught else eg
            for eg, is_taught in zip(examples, taught)
        ]
        try:
            with self.recording(
                TransitionLosses(taught_docs, self.teacher_weight, teacher)
            ) as recorder:
                EntityRecognizer.update(self, examples, drop=drop, sgd=None, losses=None)
        finally:
            if teacher is not None:
                teacher.close()
        return recorder.result()

    @contextmanager
    def recording(self, recorder: TransitionLosses) -> Iterator[TransitionLosses]:
        """Make `get_batch_loss` record into `recorder` for the duration of one
        update: spaCy's parser calls it from inside its own update loop, which passes
        it nothing of ours."""
        self._recorder = recorder
        try:
            yield recorder
        finally:
            self._recorder = None

    def with_teacher_reference(self, example: Example) -> Example:
        """The example with the teacher's entities as its reference's entities.

        Entities of labels this head does not predict are left missing rather than
        taught as "outside".
        """
        reference = example.reference.copy()
        spans = teacher_ents(reference) or []
        known = set(self.labels)
        reference.set_ents(
            [span for span in spans if span.label_ in known],
            missing=[span for span in spans if span.label_ not in known],
            default="outside",
        )
        return Example(example.predicted, reference)

    def get_batch_loss(self, states, golds, scores, losses) -> numpy.ndarray:
        """Gradient of one transition step: stock on gold states and on states
        taught hard targets, the cross-entropy with the teacher's targets on states
        taught soft ones; teacher-taught states weighted by `teacher_weight`.
        Records the step's true loss. Outside `update_task`, the stock gradient."""
        d_scores = super().get_batch_loss(states, golds, scores, None)
        recorder = self._recorder
        if recorder is None:
            return d_scores
        scores = numpy.asarray(scores)
        nll = numpy.zeros(len(states), dtype="float64")
        terms = numpy.ones(len(states), dtype=bool)
        soft = (
            recorder.is_taught(states)
            if recorder.teacher is not None
            else numpy.zeros(len(states), dtype=bool)
        )
        gold_rows = numpy.flatnonzero(~soft)
        if len(gold_rows):
            nll[gold_rows] = gold_action_nll(
                scores[gold_rows],
                gold_action_mask(
                    self.moves, [states[i] for i in gold_rows], [golds[i] for i in gold_rows]
                ),
            )
        soft_rows = numpy.flatnonzero(soft)
        if len(soft_rows) and recorder.teacher is not None:
            soft_states = [states[i] for i in soft_rows]
            targets = recorder.teacher.distribution(
                soft_states, valid_action_mask(self.moves, soft_states)
            )
            if self.teacher_targets == "confident":
                targets = confident_targets(targets, self.teacher_confidence)
            loss, d_soft = soft_action_xent(scores[soft_rows], targets)
            nll[soft_rows] = loss
            d_scores[soft_rows] = d_soft
            terms[soft_rows] = targets.sum(axis=1) > 0
        return recorder.weigh(states, nll, d_scores, terms)

    def initialize(
        self,
        get_examples: Callable[[], Iterable[Example]],
        *,
        nlp: Optional[Language] = None,
        labels: Optional[dict] = None,
    ) -> None:
        """Initialise for training, as stock `ner` (`labels` from `spacy init labels`);
        with soft or confident teacher targets (and teacher_weight > 0), load the
        teacher pipeline and check that it predicts some of this head's labels."""
        self.require_encoder(nlp)
        super().initialize(get_examples, nlp=nlp, labels=labels)
        if self.teacher_targets != "hard" and self.teacher_weight > 0:
            self._teacher = None
            self.ner_teacher()


@Language.factory(
    "mtl_ner",
    assigns=["doc.ents", "token.ent_iob", "token.ent_type"],
    default_config={
        "moves": None,
        "update_with_oracle_cut_size": 100,
        "model": DEFAULT_NER_MODEL,
        "incorrect_spans_key": None,
        "scorer": {"@scorers": "spacy.ner_scorer.v1"},
        "teacher_weight": 1.0,
        "teacher_targets": "hard",
        "teacher": None,
        "teacher_confidence": 0.9,
    },
    default_score_weights={"ents_f": 1.0, "ents_p": 0.0, "ents_r": 0.0, "ents_per_type": None},
)
def make_mtl_ner(
    nlp: Language,
    name: str,
    model: Model,
    moves,
    update_with_oracle_cut_size: int,
    incorrect_spans_key: Optional[str],
    scorer: Optional[Callable],
    teacher_weight: float,
    teacher_targets: str,
    teacher: Optional[str],
    teacher_confidence: float,
) -> MultiTaskEntityRecognizer:
    """Named entity recognition that trains under a shared `mtl_transformer`.

    teacher_weight (float): loss weight of a transition on a doc that only a teacher
        annotates (`doc._.teacher_ents`); 0: teachers are ignored.
    teacher_targets (str): what such a doc learns: "hard" (the teacher's entities),
        "soft" (the teacher's action distribution on the student's own states) or
        "confident" (its most probable action where it is at least
        `teacher_confidence` sure).
    teacher (Optional[str]): the trained teacher pipeline's directory, for "soft"
        and "confident" (loaded for training only, never saved with the student).
    teacher_confidence (float): the least probability of a "confident" target.
    """
    teacher_weight = check_teacher_weight(name, teacher_weight)
    head = MultiTaskEntityRecognizer(
        nlp.vocab,
        model,
        name=name,
        moves=moves,
        update_with_oracle_cut_size=update_with_oracle_cut_size,
        incorrect_spans_key=incorrect_spans_key,
        scorer=scorer,
    )
    head.teacher_weight = teacher_weight
    head.configure_teacher(teacher_targets, teacher, teacher_confidence)
    return head
