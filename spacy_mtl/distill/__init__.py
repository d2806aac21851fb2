"""Distillation from single-task teachers: teacher targets kept apart from gold.

- `targets`: the `Doc` extensions that hold what teachers say (`doc._.teacher_cats`,
  `doc._.teacher_ents`), which the heads learn from;
- `teach`: running trained teachers over a corpus to fill them (`spacy mtl teach`);
- `ner_teacher`: a trained NER pipeline scoring a student's own transition states
  during training (`mtl_ner`'s soft teacher targets).
"""

from .ner_teacher import NERTeacher, TeacherSteps
from .targets import (
    TEACHER_CATS,
    TEACHER_ENTS,
    set_teacher_cats,
    set_teacher_ents,
    teacher_cats,
    teacher_ents,
)
from .teach import check_teachers, teach_docs, teacher_components

__all__ = [
    "TEACHER_CATS",
    "TEACHER_ENTS",
    "NERTeacher",
    "TeacherSteps",
    "check_teachers",
    "set_teacher_cats",
    "set_teacher_ents",
    "teach_docs",
    "teacher_cats",
    "teacher_components",
    "teacher_ents",
]
