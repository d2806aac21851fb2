"""A user's third task, outside the package: a part-of-speech tagger head and its kind of task.

This file is what a user would pass as `--code` to `spacy mtl convert`, `spacy train`
and `spacy mtl evaluate` (tests/test_tasks.py does); importing it registers

* the factory `user_tagger_head`: a `TaskHead` tagger that trains under the shared
  transformer (as tests/pipeline/test_user_head.py writes one);
* the kind of task `tagger` in spacy-mtl's `mtl_tasks` registry: gold in the tokens'
  tags, read from a column of CoNLL files, scored by spaCy's `tag_acc`, per-doc
  records of correct / total tags, whose summed counts give the accuracy.
"""

from typing import Any, Iterable, Iterator, List, Optional, Sequence

import numpy
from spacy.language import Language
from spacy.pipeline.tagger import Tagger
from spacy.tokens import Doc
from spacy.training import Example
from thinc.api import Config, set_dropout_rate

import spacy_mtl
from spacy_mtl import TaskHead, TaskLoss
from spacy_mtl.corpus.sources import read_tags
from spacy_mtl.pipeline.task_head import LISTENER_CONFIG

TAGGER_MODEL = Config().from_str(
    '[model]\n@architectures = "spacy.Tagger.v2"\nnO = null\n' + LISTENER_CONFIG
)["model"]


class UserTaggerHead(TaskHead, Tagger):
    """Part-of-speech tags; the loss is the mean NLL over the tagged tokens."""

    def has_task_gold(self, examples) -> bool:
        return any(len(eg.predicted) and eg.reference.has_annotation("TAG") for eg in examples)

    def update_task(self, examples: List[Example], *, drop: float) -> Optional[TaskLoss]:
        set_dropout_rate(self.model, drop)
        scores, backprop = self.model.begin_update([eg.predicted for eg in examples])
        d_scores, total, n_tokens = [], 0.0, 0
        for eg, probs in zip(examples, scores):
            d = probs.copy()
            for i, tag in enumerate(eg.get_aligned("TAG", as_string=True)):
                if tag in self.labels:
                    j = self.labels.index(tag)
                    total -= float(numpy.log(probs[i, j]))
                    d[i, j] -= 1.0
                    n_tokens += 1
                else:
                    d[i] = 0.0
            d_scores.append(d)
        if n_tokens == 0 or not numpy.isfinite(total):
            return None
        backprop(d_scores)
        return TaskLoss(total / n_tokens, n_tokens)

    def initialize(self, get_examples, *, nlp=None, labels=None):
        self.require_encoder(nlp)
        super().initialize(get_examples, nlp=nlp, labels=labels)


@Language.factory("user_tagger_head", default_config={"model": TAGGER_MODEL})
def make_user_tagger_head(nlp, name, model):
    return UserTaggerHead(nlp.vocab, model, name=name)


@spacy_mtl.register_task("tagger")
class TaggerTask(spacy_mtl.TaskKind):
    """Tags in `token.tag_`; missing: every tag empty."""

    annotation = "tags"
    scores = ("tag_acc",)

    def has_gold(self, doc: Doc) -> bool:
        return doc.has_annotation("TAG")

    def mark_missing(self, doc: Doc) -> None:
        for token in doc:
            token.tag_ = ""

    def gold_labels(self, doc: Doc) -> Iterable[str]:
        return [token.tag_ for token in doc if token.tag_]

    def read_file(self, path, options: spacy_mtl.ReadOptions):
        return read_tags(path, column=options.column, lowercase_labels=options.lowercase_labels)

    def make_docs(self, nlp: Language, examples: Sequence[Any]) -> List[Doc]:
        return [
            Doc(
                nlp.vocab,
                words=list(e.words),
                spaces=[True] * (len(e.words) - 1) + [False],
                tags=list(e.tags),
            )
            for e in examples
        ]

    def records(self, nlp: Language, examples: Sequence[Example]) -> Iterator[Optional[dict]]:
        # As spaCy's `Scorer.score_token_attr`: a gold token counts, and a predicted
        # token aligned to exactly one gold token is compared with it.
        for eg in examples:
            gold = {i: token.tag_ for i, token in enumerate(eg.reference) if token.tag_}
            if not gold:
                yield None
                continue
            correct = 0
            for token in eg.predicted:
                aligned = eg.alignment.x2y[token.i]
                if len(aligned) == 1 and gold.get(int(aligned[0])) == token.tag_:
                    correct += 1
            yield {"correct": correct, "total": len(gold)}

    def counts(self, records: Sequence[dict]) -> numpy.ndarray:
        return numpy.asarray([[r["correct"], r["total"]] for r in records], dtype=float).reshape(
            -1, 2
        )

    def score(self, sums: numpy.ndarray) -> numpy.ndarray:
        return numpy.divide(
            sums[:, 0], sums[:, 1], out=numpy.zeros(len(sums)), where=sums[:, 1] > 0
        )
