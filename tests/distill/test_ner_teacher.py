"""Soft NER teacher targets: a teacher pipeline beside the student scores the student's
own transition states (mtl_ner's teacher_targets = "soft" / "confident")."""

import math
import random
import shutil

import numpy
import pytest
import spacy
from spacy.pipeline.ner import EntityRecognizer
from spacy.tokens import Doc, Span
from spacy.training import Example
from thinc.api import fix_random_seed

from spacy_mtl.distill.ner_teacher import (
    NERTeacher,
    TeacherSteps,
    action_names,
    confident_targets,
    masked_softmax,
)
from spacy_mtl.distill.targets import set_teacher_ents
from spacy_mtl.pipeline.ner import gold_action_mask, valid_action_mask

from helpers import cats_example, load_config, mixed_examples, ner_example, randomize_head

#: The teacher knows every label of the student's (tests/helpers.py: mixed_examples)
#: and one more, in another order: the two NERs' actions differ in number and order.
TEACHER_ENTS = [
    (["Coldplay", "played", "Wembley"], [(0, 1, "musicartist"), (2, 3, "facility")]),
    (["Arsenal", "beat", "Chelsea"], [(0, 1, "sportsteam"), (2, 3, "sportsteam")]),
    (["Apple", "sold", "iPhones", "in", "Paris"], [(0, 1, "company"), (2, 3, "product")]),
    (
        ["Obama", "met", "Merkel", "in", "Berlin"],
        [(0, 1, "person"), (2, 3, "person"), (4, 5, "geo-loc")],
    ),
]


@pytest.fixture(scope="module")
def teacher_path(tiny_encoder, tmp_path_factory) -> str:
    """configs/ner.cfg on the tiny encoder, its NER given random parameters (spaCy
    starts them at zero: a uniform teacher would hide mistakes), saved."""
    fix_random_seed(1)
    nlp = spacy.util.load_model_from_config(
        load_config("ner.cfg", tiny_encoder), auto_fill=True, validate=True
    )
    examples = [ner_example(nlp, words, ents) for words, ents in TEACHER_ENTS]
    nlp.initialize(lambda: examples)
    randomize_head(nlp, "ner", scale=1.0, seed=3)
    path = tmp_path_factory.mktemp("ner_teacher") / "model-best"
    nlp.to_disk(path)
    return str(path)


@pytest.fixture
def make_student(tiny_encoder):
    """configs/mtl.cfg on the tiny encoder, its NER set to learn from a teacher."""

    def make(targets: str = "soft", teacher=None, confidence: float = 0.9, weight: float = 1.0):
        fix_random_seed(0)
        config = load_config("mtl.cfg", tiny_encoder)
        config["components"]["ner"].update(
            {
                "teacher_targets": targets,
                "teacher": teacher,
                "teacher_confidence": confidence,
                "teacher_weight": weight,
            }
        )
        nlp = spacy.util.load_model_from_config(config, auto_fill=True, validate=True)
        examples = mixed_examples(nlp)
        nlp.initialize(lambda: examples)
        return nlp

    return make


def taught_example(nlp, text: str, ents) -> Example:
    """A sentiment doc (its entities missing) that a teacher annotated."""
    eg = cats_example(nlp, text, "positive")
    set_teacher_ents(eg.reference, [Span(eg.reference, s, e, label=label) for s, e, label in ents])
    return eg


def head_grads(nlp, examples):
    """Reset the NER head's gradients, update on `examples`, return its reported loss
    and gradients."""
    ner = nlp.get_pipe("ner")
    for node in ner.model.walk():
        for name in node.param_names:
            if node.has_grad(name):
                node.set_grad(name, node.get_grad(name) * 0)
    losses = nlp.update(examples, sgd=False, drop=0.0)
    grads = [
        node.get_grad(name).copy()
        for node in ner.model.walk()
        for name in node.param_names
        if node.has_grad(name)
    ]
    return losses["ner"], grads


def softmax(x):
    e = numpy.exp(x - x.max())
    return e / e.sum()


# --- the teacher's distribution, by hand ---------------------------------------------


def test_masked_softmax_by_hand():
    scores = numpy.asarray([[0.0, math.log(2.0), math.log(3.0), 5.0], [1.0, 2.0, 3.0, 4.0]])
    allowed = numpy.asarray([[True, True, True, False], [False, False, False, False]])
    numpy.testing.assert_allclose(
        masked_softmax(scores, allowed), [[1 / 6, 2 / 6, 3 / 6, 0.0], [0.0, 0.0, 0.0, 0.0]]
    )
    # A confident teacher far from zero stays finite.
    big = masked_softmax(numpy.asarray([[1000.0, -1000.0, 999.0]]), numpy.ones((1, 3), bool))
    numpy.testing.assert_allclose(big, [[1 / (1 + math.exp(-1)), 0.0, 1 / (1 + math.e)]])


def test_confident_targets_by_hand():
    q = numpy.asarray([[0.05, 0.95, 0.0], [0.6, 0.4, 0.0], [0.0, 0.0, 0.0], [0.3, 0.3, 0.4]])
    numpy.testing.assert_array_equal(
        confident_targets(q, 0.9), [[0, 1, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0]]
    )
    numpy.testing.assert_array_equal(
        confident_targets(q, 0.0), [[0, 1, 0], [1, 0, 0], [0, 0, 0], [0, 0, 1]]
    )


class FixedStepModel:
    """Stands in for the teacher's step model: the same scores for every state."""

    def __init__(self, row):
        self.row = numpy.asarray(row, dtype="f")

    def predict(self, states):
        return numpy.tile(self.row, (len(states), 1))

    def clear_memory(self):
        pass


def test_teacher_distribution_follows_the_students_actions_by_name():
    """The teacher's scores are matched to the student's actions by name: an action
    only the teacher has is dropped, one only the student has gets 0, invalid ones
    get 0, and the rest are renormalised."""
    teacher_ner = spacy.blank("en").add_pipe("ner")
    for label in ("sportsteam", "person"):
        teacher_ner.add_label(label)
    student = spacy.blank("en")
    student_ner = student.add_pipe("ner")
    for label in ("person", "product"):
        student_ner.add_label(label)
    teacher_names = action_names(teacher_ner.moves)
    student_names = action_names(student_ner.moves)
    assert teacher_names != student_names
    row = numpy.arange(len(teacher_names), dtype="f") / 4
    steps = TeacherSteps(FixedStepModel(row), teacher_ner.moves, student_ner.moves)
    states = student_ner.moves.init_batch([Doc(student.vocab, words=["Obama", "sings"])])
    valid = valid_action_mask(student_ner.moves, states)
    q = steps.distribution(states, valid)[0]
    # At the first of two tokens: B-, U- and O are valid; I- and L- are not.
    allowed = [name in teacher_names and name[0] in "BUO" and name != "" for name in student_names]
    expected = numpy.asarray(
        [
            math.exp(row[teacher_names.index(n)]) if ok else 0.0
            for n, ok in zip(student_names, allowed)
        ]
    )
    numpy.testing.assert_allclose(q, expected / expected.sum(), rtol=1e-6)
    assert q[student_names.index("U-product")] == 0.0 and q[student_names.index("U-person")] > 0


# --- the loss in training ---------------------------------------------------------------


class OracleTeacher:
    """A teacher sure of the gold: on each state, the one-hot of its one gold action
    (the state's zero-cost action against the teacher's entities)."""

    def __init__(self, ner, example):
        self.ner = ner
        self.example = example
        self.states = 0

    def steps(self, docs, taught, moves):
        return self

    def distribution(self, states, valid):
        golds = [self.ner.moves.init_gold(state, self.example) for state in states]
        mask = gold_action_mask(self.ner.moves, states, golds)
        assert (mask.sum(axis=1) == 1).all(), "the check needs one gold action per state"
        self.states += len(states)
        return mask.astype("float64")

    def close(self):
        pass


def test_a_teacher_sure_of_the_gold_trains_exactly_as_gold(make_student, teacher_path):
    """With the teacher's distribution equal to the gold one-hot, a taught doc's
    gradient and reported loss are those of the same doc with gold entities; its
    gradient scales with teacher_weight and its reported mean loss does not."""
    nlp = make_student("soft", teacher_path)
    ner = nlp.get_pipe("ner")
    words, ents = ["Obama", "loves", "Paris"], [(0, 1, "person"), (2, 3, "geo-loc")]
    gold_loss, gold_grads = head_grads(nlp, [ner_example(nlp, words, ents)])
    taught = taught_example(nlp, "Obama loves Paris", ents)
    oracle = OracleTeacher(ner, ner.with_teacher_reference(taught))
    ner._teacher = oracle
    soft_loss, soft_grads = head_grads(nlp, [taught])
    assert oracle.states >= 3
    assert soft_loss == pytest.approx(gold_loss, rel=1e-6)
    assert any(numpy.abs(g).max() > 0 for g in gold_grads)
    for a, b in zip(soft_grads, gold_grads):
        numpy.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-8)
    ner.teacher_weight = 0.5
    half_loss, half_grads = head_grads(nlp, [taught])
    assert half_loss == pytest.approx(gold_loss, rel=1e-6)
    for a, b in zip(half_grads, gold_grads):
        numpy.testing.assert_allclose(a, 0.5 * b, rtol=1e-5, atol=1e-8)


def teacher_replay(teacher_path, words):
    """The teacher pipeline alone on a doc of `words`: its NER's scores for the state
    that `apply` leads to, and a way to take the student's action on that state."""
    teacher = spacy.load(teacher_path)
    doc = next(teacher.get_pipe("transformer").pipe([Doc(teacher.vocab, words=words)]))
    ner = teacher.get_pipe("ner")
    step = ner.model.predict([doc])
    state = ner.moves.init_batch([doc])[0]
    names = action_names(ner.moves)
    return step, state, ner.moves, names


def test_taught_doc_learns_the_teacher_pipelines_distribution(make_student, teacher_path):
    """A sentiment doc the teacher annotated, after a gold entity doc in the batch:
    at each transition the student's gradient on its state is
    teacher_weight * (p - q), q the teacher pipeline's own softmax over the valid
    actions of the student's state, and the gold doc keeps its gold gradient. The
    teacher runs its encoder on the taught doc only."""
    weight = 0.7
    nlp = make_student("soft", teacher_path, weight=weight)
    ner = nlp.get_pipe("ner")
    gold = ner_example(nlp, ["Barack", "Obama", "visited", "Paris"], [(0, 2, "person")])
    words = ["Obama", "loves", "Coldplay"]
    taught = taught_example(nlp, " ".join(words), [(0, 1, "person")])
    seen = []
    teacher = ner.ner_teacher()
    encoder = teacher.upstream[0]
    original_pipe = encoder.pipe

    def spy_pipe(docs, **kwargs):
        docs = list(docs)
        seen.append([doc.text for doc in docs])
        return original_pipe(docs, **kwargs)

    encoder.pipe = spy_pipe
    steps = []
    original = ner.get_batch_loss

    def spy(states, golds, scores, losses):
        scores = numpy.array(scores)
        row = [i for i, state in enumerate(states) if state.doc.text == taught.predicted.text]
        valid = valid_action_mask(ner.moves, states)
        stock = EntityRecognizer.get_batch_loss(ner, states, golds, scores, None)
        d_scores = original(states, golds, scores, losses)
        steps.append((scores, valid, row, numpy.array(d_scores), stock, len(states)))
        return d_scores

    ner.get_batch_loss = spy
    nlp.update([gold, taught], sgd=False, drop=0.0)
    assert seen == [["Obama loves Coldplay"]]
    step_model, state, moves, teacher_names = teacher_replay(teacher_path, words)
    student_names = action_names(ner.moves)
    assert student_names != teacher_names
    recorder_losses = []
    taught_steps = 0
    for scores, valid, row, d_scores, stock, n in steps:
        others = [i for i in range(n) if i not in row]
        # Gold states keep spaCy's own gradient.
        numpy.testing.assert_allclose(d_scores[others], stock[others], rtol=1e-6, atol=1e-8)
        if not row:
            continue
        (i,) = row
        taught_steps += 1
        t_scores = step_model.predict([state])[0]
        allowed = [valid[i][j] and name in teacher_names for j, name in enumerate(student_names)]
        q = numpy.asarray(
            [
                math.exp(float(t_scores[teacher_names.index(name)])) if ok else 0.0
                for name, ok in zip(student_names, allowed)
            ]
        )
        q /= q.sum()
        p = softmax(scores[i].astype("float64"))
        numpy.testing.assert_allclose(d_scores[i], weight * (p - q), rtol=1e-4, atol=1e-6)
        recorder_losses.append(-(q * numpy.log(p)).sum())
        # The student's own action, which the parser takes next.
        chosen = student_names[int(numpy.where(valid[i], scores[i], -numpy.inf).argmax())]
        moves.apply_transition(state, chosen)
    assert taught_steps == len(words) and state.is_final()
    assert all(numpy.isfinite(recorder_losses)) and min(recorder_losses) > 0


def test_confident_targets_keep_only_the_teachers_sure_states(make_student, teacher_path):
    """teacher_confidence 1: a taught state learns only where the teacher is certain,
    which an untrained teacher is only where one valid action is left (inside an
    entity on its last token); every other taught state has no target and no
    gradient. teacher_confidence 0: every taught state learns the teacher's most
    probable action, one-hot."""
    nlp = make_student("confident", teacher_path, confidence=1.0)
    ner = nlp.get_pipe("ner")
    taught = taught_example(nlp, "Obama loves Coldplay", [(0, 1, "person")])
    forced, unsure = [], []
    original = ner.get_batch_loss

    def spy(states, golds, scores, losses):
        scores = numpy.array(scores)
        valid = valid_action_mask(ner.moves, states)
        d_scores = original(states, golds, scores, losses)
        for i, state in enumerate(states):
            if state.doc.text != taught.predicted.text:
                continue
            if valid[i].sum() == 1:
                forced.append((softmax(scores[i].astype("float64")), valid[i], d_scores[i].copy()))
            else:
                unsure.append(d_scores[i].copy())
        return d_scores

    ner.get_batch_loss = spy
    gold = ner_example(nlp, ["Barack", "Obama", "visited", "Paris"], [(0, 2, "person")])
    nlp.update([gold, taught], sgd=False, drop=0.0)
    assert len(unsure) >= 1 and len(forced) + len(unsure) == 3
    assert all(not row.any() for row in unsure)
    for p, valid, d in forced:
        numpy.testing.assert_allclose(d, p - valid, rtol=1e-5, atol=1e-7)

    nlp = make_student("confident", teacher_path, confidence=0.0)
    ner = nlp.get_pipe("ner")
    taught = taught_example(nlp, "Obama loves Coldplay", [(0, 1, "person")])
    rows = []
    original = ner.get_batch_loss

    def spy_sure(states, golds, scores, losses):
        scores = numpy.array(scores)
        d_scores = original(states, golds, scores, losses)
        for i in range(len(states)):
            rows.append((softmax(scores[i].astype("float64")), d_scores[i].copy()))
        return d_scores

    ner.get_batch_loss = spy_sure
    nlp.update([taught], sgd=False, drop=0.0)
    assert len(rows) == 3
    for p, d in rows:
        target = p - d  # = the one-hot
        assert sorted(numpy.round(target, 5)) == [0.0] * (len(p) - 1) + [1.0]


def test_every_cut_of_a_long_taught_doc_is_scored(make_student, teacher_path):
    """The parser cuts a doc longer than its oracle cut size into several states,
    each starting mid-doc: the teacher scores each of them, so every taught state
    gets a target and weighs teacher_weight."""
    nlp = make_student("soft", teacher_path, weight=0.5)
    ner = nlp.get_pipe("ner")
    cut = ner.cfg["update_with_oracle_cut_size"]
    words = [f"w{i}" for i in range(2 * cut + 40)]
    taught = taught_example(
        nlp, " ".join(words), [(i, i + 1, "person") for i in range(0, len(words), 17)]
    )
    gold = ner_example(nlp, ["Barack", "Obama", "visited", "Paris"], [(0, 2, "person")])
    taught_rows = []
    original = ner.get_batch_loss

    def spy(states, golds, scores, losses):
        d_scores = original(states, golds, scores, losses)
        recorder = ner._recorder
        for i, state in enumerate(states):
            if len(state.doc) == len(words):
                taught_rows.append((recorder.losses[-1][i], recorder.weights[-1][i], state.B(0)))
        return d_scores

    ner.get_batch_loss = spy
    random.seed(0)  # the parser draws its cut length from `random`
    nlp.update([taught, gold], sgd=False, drop=0.0)
    assert len({start for _, _, start in taught_rows[:8]}) > 1  # several cuts at once
    assert len(taught_rows) >= len(words) // 2
    assert all(
        weight == 0.5 and math.isfinite(loss) and loss > 0 for loss, weight, _ in taught_rows
    )


def test_a_stock_spacy_ner_pipeline_can_teach(make_student, tmp_path):
    """A teacher whose NER has its own tok2vec (no transformer, spaCy's default) works
    too; each taught state gets a target."""
    teacher = spacy.blank("en")
    teacher.add_pipe("ner")
    examples = [ner_example(teacher, words, ents) for words, ents in TEACHER_ENTS]
    teacher.initialize(lambda: examples)
    randomize_head(teacher, "ner", scale=1.0)
    teacher.to_disk(tmp_path / "stock")
    nlp = make_student("soft", str(tmp_path / "stock"))
    student = nlp.get_pipe("ner")
    taught = taught_example(nlp, "Obama loves Paris", [(0, 1, "person")])
    loss, grads = head_grads(nlp, [taught])
    assert math.isfinite(loss) and loss > 0
    assert any(numpy.abs(g).max() > 0 for g in grads)
    assert student.ner_teacher().upstream == []
    assert nlp.get_pipe("transformer").last_step["ner"]["loss"] == pytest.approx(loss)


def test_the_student_saved_and_loaded_needs_no_teacher(make_student, teacher_path, tmp_path):
    """Nothing of the teacher is saved with the student: it loads and annotates with
    the teacher gone. Training it again would load the teacher, and says so."""
    own_teacher = tmp_path / "teacher"
    shutil.copytree(teacher_path, own_teacher)
    nlp = make_student("soft", str(own_teacher))
    nlp.update([taught_example(nlp, "Obama loves Paris", [(0, 1, "person")])], sgd=False, drop=0.0)
    nlp.to_disk(tmp_path / "student")
    shutil.rmtree(own_teacher)
    assert sorted(p.name for p in (tmp_path / "student" / "ner").iterdir()) == [
        "cfg",
        "model",
        "moves",
    ]
    loaded = spacy.load(tmp_path / "student")
    assert loaded.config["components"]["ner"]["teacher_targets"] == "soft"
    doc = loaded("Obama loves Paris")
    assert len(doc) == 3
    ner = loaded.get_pipe("ner")
    assert ner._teacher is None
    with pytest.raises(ValueError, match=r"\[E029\]"):
        ner.ner_teacher()


# --- bad settings ------------------------------------------------------------------------


def test_bad_teacher_settings_are_named(make_student, teacher_path, tmp_path):
    with pytest.raises(ValueError, match=r"\[E026\] \[components\.ner\] teacher_targets = 'fuzzy'"):
        make_student("fuzzy", teacher_path)
    with pytest.raises(ValueError, match=r"\[E027\] \[components\.ner\] teacher_targets = 'soft'"):
        make_student("soft", None)
    with pytest.raises(ValueError, match=r"\[E028\] \[components\.ner\] teacher_confidence"):
        make_student("confident", teacher_path, confidence=1.5)
    with pytest.raises(ValueError, match=r"\[E029\] \[components\.ner\] teacher = "):
        make_student("soft", str(tmp_path / "nowhere"))
    spacy.blank("en").to_disk(tmp_path / "blank")
    with pytest.raises(ValueError, match=r"\[E030\] .* has 0 NER components"):
        make_student("soft", str(tmp_path / "blank"))
    other = spacy.blank("en")
    other.add_pipe("ner").add_label("spaceship")
    other.initialize()
    other.to_disk(tmp_path / "other")
    with pytest.raises(ValueError, match=r"\[E031\] .*'spaceship'"):
        make_student("soft", str(tmp_path / "other"))
    # "hard" never loads a teacher, so a path it does not use is no error.
    nlp = make_student("hard", str(tmp_path / "nowhere"))
    assert nlp.get_pipe("ner")._teacher is None
    assert isinstance(make_student("soft", teacher_path).get_pipe("ner")._teacher, NERTeacher)
