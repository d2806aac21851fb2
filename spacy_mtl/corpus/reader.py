"""``spacy_mtl.MultiTaskCorpus.v1``: a spaCy reader that mixes several single-task corpora.

Config::

    [corpora.train]
    @readers = "spacy_mtl.MultiTaskCorpus.v1"
    paths = {"textcat": "corpus/textcat/train.spacy", "ner": "corpus/ner/train.spacy"}
    sampling = "proportional"   # "uniform", "temperature", or "none" (dev/evaluation)
    temperature = 2.0           # used by "temperature"
    cap = null                  # per-corpus size cap in the sampling weights
    epoch_size = null           # examples per call; null = sum of the corpus sizes
    shuffle = null              # null: true when sampling, false for "none"
    seed = ${system.seed}       # required when sampling or shuffling

    [corpora.dev]
    @readers = "spacy_mtl.MultiTaskCorpus.v1"
    paths = {"textcat": "corpus/textcat/dev.spacy", "ner": "corpus/ner/dev.spacy"}
    sampling = "none"

**Keys say which annotation a corpus provides.** A key is ``TASK[+TASK...][/NAME]``,
TASK a kind of task of :mod:`spacy_mtl.tasks`: ``textcat`` (and ``textcat_multilabel``)
→ ``doc.cats``, ``ner`` → entities, or a kind a user registered (a ``tagger`` → tags).
So ``textcat+ner`` is a corpus annotated for both, and ``ner/wnut``, ``ner/conll`` are
two entity corpora::

    [corpora.train.paths]
    textcat = "corpus/sentiment/train.spacy"
    ner/wnut = "corpus/wnut/train.spacy"
    ner/conll = "corpus/conll/train.spacy"

(section keys take no quotes; ``spacy train … --corpora.train.paths.ner/wnut x.spacy``
swaps one), or inline ``paths = {"textcat": "…", "ner/wnut": "…"}``. Keys with
``:`` are refused: configparser reads ``:`` like ``=``, so ``ner:wnut = "…"`` would be
the key ``ner``, and spaCy writes inline dicts out as sections (``model-best/config.cfg``).

A value is a ``.spacy`` file or a directory of them. Every reference doc gets the
annotation its corpus does not provide marked missing, as each registered kind marks
it: ``doc.cats = {}`` without textcat, ``doc.set_ents([], default="missing")``
(``ent_iob == 0`` on every token) without ner. Components must treat those as "no
gradient", not as "no category" / "no entity".

**Sampling.** With K corpora of sizes n_k and c_k = min(n_k, cap) (c_k = n_k without a
cap), each example comes from corpus k with probability

* ``proportional``: c_k / Σ c (with a cap: T5's "examples-proportional mixing");
* ``uniform``: 1 / K (cap ignored);
* ``temperature``: c_k^(1/T) / Σ c^(1/T) (jiant / T5 temperature mixing; T = 1 is
  proportional, T → ∞ approaches uniform);
* ``none``: no sampling: every example of every corpus once, corpora in key order and
  docs in file order (unless ``shuffle = true`` is given). Use it for dev corpora.

Within a corpus, docs are drawn without replacement from a permutation (file order
with ``shuffle = false``); when it is used up a new one is drawn. One call (an "epoch")
yields ``epoch_size`` examples, and the state carries over between calls, so the next
epoch continues the per-corpus passes. Everything is driven by ``random.Random``
instances seeded from ``seed`` and nothing else (no global random state), so two runs
with the same seed yield the same sequence. ``seed`` is required unless the corpus is
read in file order (``sampling = "none"`` without ``shuffle``); write ``seed =
${system.seed}`` so that it changes with the training seed.

**spaCy's training loop and epochs.** With ``[training] max_epochs >= 0`` (the default
is 0) spaCy calls the train corpus once, keeps that list and reshuffles it every epoch,
so only the first draw is ever used. Set ``max_epochs = -1`` (and stop with
``max_steps``) to have a fresh draw of ``epoch_size`` examples each epoch.

**Evaluation with missing annotation** (spaCy 3.8 scorers, checked in
tests/corpus/test_reader.py): the NER scorer (``get_ner_prf``) skips references without
entity annotation, so textcat docs do not affect the entity scores. ``Scorer.score_cats``
skips docs with empty cats only when ``multi_label=True``; with exclusive classes
(``multi_label=False``, the ``textcat`` scorer) an NER doc with ``cats = {}`` counts as
a false positive of whatever class the model predicts, and as a negative for every
class in the AUC. A textcat component scoring this dev corpus must filter out examples
whose reference has no cats before calling ``score_cats``.
"""

import itertools
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

from spacy.language import Language
from spacy.tokens import Doc, DocBin
from spacy.training import Example
from spacy.util import registry
from spacy.vocab import Vocab

from ..errors import Errors
from ..tasks import TaskKind, find_task, key_tasks, missing_markers, task_kinds

READER_NAME = "spacy_mtl.MultiTaskCorpus.v1"
SAMPLING_MODES = ("proportional", "uniform", "temperature", "none")


def corpus_kinds(key: str) -> List[TaskKind]:
    """The kinds of task a corpus key names; see the module docstring.

    key (str): ``TASK[+TASK...][/NAME]``.
    RETURNS (List[TaskKind]): in the key's order.
    """
    if ":" in key:
        raise ValueError(
            Errors.E136.format(reader=READER_NAME, key=key, fixed=key.replace(":", "/", 1))
        )
    names = key_tasks(key)
    kinds = [find_task(name) for name in names]
    unknown = [name for name, kind in zip(names, kinds) if kind is None]
    if unknown:
        known = sorted(task_kinds())
        raise ValueError(
            Errors.E137.format(reader=READER_NAME, key=key, unknown=unknown, known=known)
        )
    return [kind for kind in kinds if kind is not None]


def sampling_probabilities(
    sizes: Sequence[int], sampling: str, temperature: float = 2.0, cap: Optional[int] = None
) -> List[float]:
    """Probability of drawing from each corpus (see the module docstring).

    For ``"none"`` it is each corpus's share of one pass, n_k / Σ n.
    """
    capped = [min(n, cap) if cap is not None else n for n in sizes]
    if sampling == "uniform":
        weights = [1.0] * len(sizes)
    elif sampling == "temperature":
        weights = [c ** (1.0 / temperature) for c in capped]
    elif sampling == "proportional":
        weights = [float(c) for c in capped]
    elif sampling == "none":
        weights = [float(n) for n in sizes]
    else:
        raise ValueError(
            Errors.E138.format(reader=READER_NAME, modes=SAMPLING_MODES, sampling=sampling)
        )
    total = sum(weights)
    return [w / total for w in weights]


def make_example(nlp: Language, reference: Doc, gold_preproc: bool = False) -> Example:
    """An example of `reference` as spaCy's `Corpus` makes it: the predicted doc is
    the reference's text through the pipeline's tokenizer, or its tokens when
    `gold_preproc` asks for them or its spacing is unknown (its text would not
    reproduce its tokens).

    nlp (Language): the pipeline.
    reference (Doc): the gold doc.
    gold_preproc (bool): build the predicted doc from the reference's tokens.
    RETURNS (Example): the example.
    """
    if gold_preproc or reference.has_unknown_spaces:
        words = [token.text for token in reference]
        spaces = [bool(token.whitespace_) for token in reference]
        return Example(Doc(nlp.vocab, words=words, spaces=spaces), reference)
    return Example(nlp.make_doc(reference.text), reference)


def _read_doc_bins(key: str, path: Union[str, Path]) -> List[DocBin]:
    path = Path(path)
    if not path.exists():
        # configparser reads the old spelling `ner:wnut = "x.spacy"` as `ner = 'wnut = "x.spacy"'`.
        hint = f' (a config key {key}:NAME? write "{key}/NAME")' if " = " in str(path) else ""
        raise ValueError(Errors.E139.format(reader=READER_NAME, key=key, path=str(path), hint=hint))
    files = sorted(path.rglob("*.spacy")) if path.is_dir() else [path]
    if not files:
        raise ValueError(Errors.E140.format(reader=READER_NAME, key=key, path=str(path)))
    doc_bins = []
    for file in files:
        try:
            doc_bins.append(DocBin().from_disk(file))
        except ValueError as err:
            raise ValueError(
                Errors.E141.format(reader=READER_NAME, key=key, file=file, error=err)
            ) from None
    return doc_bins


def _check_settings(
    sampling: str,
    temperature: float,
    cap: Optional[int],
    epoch_size: Optional[int],
    paths: Mapping[str, Union[str, Path]],
) -> None:
    """Refuse a sampling mode, number or empty `paths` that the reader cannot use."""
    if sampling not in SAMPLING_MODES:
        raise ValueError(
            Errors.E138.format(reader=READER_NAME, modes=SAMPLING_MODES, sampling=sampling)
        )
    if not temperature > 0:
        raise ValueError(_bad_number("temperature", temperature, "a number > 0"))
    if cap is not None and cap < 1:
        raise ValueError(_bad_number("cap", cap, "a positive integer or null"))
    if epoch_size is not None and epoch_size < 1:
        raise ValueError(_bad_number("epoch_size", epoch_size, "a positive integer or null"))
    if epoch_size is not None and sampling == "none":
        raise ValueError(Errors.E143.format(reader=READER_NAME))
    if not paths:
        raise ValueError(Errors.E144.format(reader=READER_NAME))


def _bad_number(key: str, value: object, expected: str) -> str:
    return Errors.E142.format(reader=READER_NAME, key=key, value=value, expected=expected)


@dataclass
class _Source:
    """One corpus and where its sampling stands."""

    key: str
    kinds: List[TaskKind]
    doc_bins: List[DocBin]
    size: int
    rng: random.Random
    order: List[int] = field(default_factory=list)  # current pass over range(size)
    cursor: int = 0


class MultiTaskCorpus:
    """Callable ``(nlp) -> Iterator[Example]`` mixing several corpora; see the module docstring."""

    def __init__(
        self,
        paths: Mapping[str, Union[str, Path]],
        *,
        sampling: str = "proportional",
        temperature: float = 2.0,
        cap: Optional[int] = None,
        epoch_size: Optional[int] = None,
        shuffle: Optional[bool] = None,
        seed: Optional[int] = None,
        gold_preproc: bool = False,
    ) -> None:
        # Cheap checks first, so a config typo fails before any file is read.
        _check_settings(sampling, temperature, cap, epoch_size, paths)
        kinds = {key: corpus_kinds(key) for key in paths}
        shuffle = shuffle if shuffle is not None else sampling != "none"
        if seed is None and (sampling != "none" or shuffle):
            raise ValueError(
                Errors.E145.format(
                    reader=READER_NAME,
                    sampling=sampling,
                    shuffle=" and shuffle = true" if shuffle else "",
                )
            )

        self.sampling = sampling
        self.temperature = temperature
        self.cap = cap
        self.shuffle = shuffle
        self.gold_preproc = gold_preproc
        self.seed = seed
        # The RNGs are seeded from Random(seed).getrandbits(32): what earlier versions
        # drew from the global random state that `spacy train` had just seeded with the
        # same number, so `seed = ${system.seed}` keeps the sequences of earlier runs.
        self._base_seed = random.Random(seed).getrandbits(32) if seed is not None else 0
        self._paths = dict(paths)
        self._kinds = kinds
        self._epoch_size = epoch_size
        self._mix_rng = random.Random(f"{self._base_seed}:mix")
        self._cache: Optional[Tuple[Vocab, List[List[Doc]]]] = None
        # The files are read by load(), on first use as spaCy's own Corpus does, so that
        # a config can be resolved (e.g. by `spacy debug config`) before the data exists.
        self._sources: Optional[List[_Source]] = None
        self._probabilities: List[float] = []
        self._cum_weights: List[float] = []

    def load(self) -> "MultiTaskCorpus":
        """Read the corpus files, if not read yet; iterating the corpus calls it.

        RETURNS (MultiTaskCorpus): The corpus itself.
        """
        if self._sources is not None:
            return self
        sources = []
        for key, path in self._paths.items():
            doc_bins = _read_doc_bins(key, path)
            size = sum(len(doc_bin) for doc_bin in doc_bins)
            if size == 0:
                raise ValueError(Errors.E146.format(reader=READER_NAME, key=key, path=str(path)))
            # String seeds are hashed with SHA-512, the same in every process.
            rng = random.Random(f"{self._base_seed}:{key}")
            sources.append(_Source(key, self._kinds[key], doc_bins, size, rng))
        sizes = [source.size for source in sources]
        self._probabilities = sampling_probabilities(
            sizes, self.sampling, self.temperature, self.cap
        )
        self._cum_weights = list(itertools.accumulate(self._probabilities))
        self._sources = sources
        return self

    def _loaded_sources(self) -> List[_Source]:
        if self._sources is None:
            raise RuntimeError(Errors.E147.format(reader=READER_NAME))
        return self._sources

    @property
    def epoch_size(self) -> int:
        """Examples drawn per call: as configured, else the sum of the corpus sizes (after load())."""
        return self._epoch_size if self._epoch_size is not None else sum(self.sizes.values())

    @property
    def sizes(self) -> Dict[str, int]:
        """Number of docs per corpus key (after load())."""
        return {s.key: s.size for s in self._loaded_sources()}

    @property
    def probabilities(self) -> Dict[str, float]:
        """Probability of drawing from each corpus key, share of one pass for "none" (after load())."""
        return {s.key: p for s, p in zip(self._loaded_sources(), self._probabilities)}

    def __call__(self, nlp: Language) -> Iterator[Example]:
        """Yield one epoch of examples (see the module docstring)."""
        sources = self.load()._loaded_sources()
        docs = self._reference_docs(nlp.vocab, sources)
        if self.sampling == "none":
            pairs = [(i, j) for i, source in enumerate(sources) for j in range(source.size)]
            if self.shuffle:
                self._mix_rng.shuffle(pairs)
            for i, j in pairs:
                yield make_example(nlp, docs[i][j], self.gold_preproc)
            return
        indices = range(len(sources))
        for _ in range(self.epoch_size):
            i = self._mix_rng.choices(indices, cum_weights=self._cum_weights)[0]
            yield make_example(nlp, docs[i][self._next_index(sources[i])], self.gold_preproc)

    def _next_index(self, source: _Source) -> int:
        """The next doc of a corpus: without replacement, a new pass when one is used up."""
        if source.cursor == len(source.order):
            source.order = list(range(source.size))
            if self.shuffle:
                source.rng.shuffle(source.order)
            source.cursor = 0
        source.cursor += 1
        return source.order[source.cursor - 1]

    def _reference_docs(self, vocab: Vocab, sources: List[_Source]) -> List[List[Doc]]:
        """The docs of every corpus with missing annotation marked, cached per vocab."""
        if self._cache is None or self._cache[0] is not vocab:
            self._cache = (vocab, [self._docs(source, vocab) for source in sources])
        return self._cache[1]

    def _docs(self, source: _Source, vocab: Vocab) -> List[Doc]:
        docs = [doc for doc_bin in source.doc_bins for doc in doc_bin.get_docs(vocab)]
        where = f"{READER_NAME}: paths[{source.key!r}]"
        empty = [i for i, doc in enumerate(docs) if len(doc) == 0]
        if empty:
            raise ValueError(Errors.E148.format(where=where, n=len(empty), first=empty[0]))
        # A corpus that promises an annotation but carries none of it is most likely the
        # wrong file under the wrong key; training on it would teach "no entities".
        for kind in source.kinds:
            if not any(kind.has_gold(doc) for doc in docs):
                raise ValueError(
                    Errors.E149.format(
                        where=where, task=kind.name, n=len(docs), annotation=kind.annotation
                    )
                )
        for marker in missing_markers(kind.annotation for kind in source.kinds):
            for doc in docs:
                marker.mark_missing(doc)
        return docs


@registry.readers(READER_NAME)
def create_multitask_corpus(
    paths: Dict[str, Union[str, Path]],
    sampling: str = "proportional",
    temperature: float = 2.0,
    cap: Optional[int] = None,
    epoch_size: Optional[int] = None,
    shuffle: Optional[bool] = None,
    seed: Optional[int] = None,
    gold_preproc: bool = False,
) -> MultiTaskCorpus:
    """Build a :class:`MultiTaskCorpus`; the arguments are described in the module docstring.

    ``gold_preproc``: build the predicted docs from the reference tokens instead of
    re-tokenising the text (as in spaCy's ``Corpus``).
    """
    return MultiTaskCorpus(
        paths,
        sampling=sampling,
        temperature=temperature,
        cap=cap,
        epoch_size=epoch_size,
        shuffle=shuffle,
        seed=seed,
        gold_preproc=gold_preproc,
    )
