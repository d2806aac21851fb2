"""What every part of the benchmark shares: device, clock, data, pipelines, steps.

Every timed call goes through `timed` and every comparison through `interleave`, so
all sections follow one method (see bench/README.md).

Pipelines are named by a *spec*: "stock", "textcat", "ner" (configs/stock.cfg,
textcat.cfg, ner.cfg), "mtl" (configs/mtl.cfg as shipped: static weighting) or
"mtl:STRATEGY" (configs/mtl.cfg with `spacy_mtl.STRATEGY.v1` as its weighting; the
strategies are those registered under spacy_mtl.*, see `registered_strategies`).
"""

import functools
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import spacy
import torch
from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Corpus, Example
from spacy.util import fix_random_seed, load_config, load_model_from_config, registry
from thinc.api import Config, Optimizer, set_gpu_allocator
from transformers import AutoModel, AutoTokenizer

import spacy_mtl  # noqa: F401  (creates the mtl_weightings registry; factories come by entry point)
from spacy_mtl.device import describe_device, resolve_gpu_id, use_device
from spacy_mtl.distill.teach import teach_docs
from spacy_mtl.models.transformer import resolve_encoder
from spacy_mtl.pipeline.shared_transformer import MultiTaskTransformer
from spacy_mtl.registry import registered_weightings

REPO = Path(__file__).resolve().parent.parent
CONFIGS = REPO / "configs"
CONFIG_FILES = {"stock": "stock.cfg", "mtl": "mtl.cfg", "textcat": "textcat.cfg", "ner": "ner.cfg"}

#: Tweets of each task in a training batch: 16 sentiment + 16 entity = 32.
PER_TASK = 16
#: Examples kept per task: 512 train (32 batches), 64 dev and 64 test (128 texts).
CORPUS_CAP = 640

#: The weighting strategies, by short name ("mtl:dwa" is configs/mtl.cfg under "spacy_mtl.dwa.v1").
STRATEGIES: Dict[str, str] = registered_weightings()
#: The strategies that do more than weigh losses: they compare the tasks' gradients
#: every step, so their step-time target is looser. Every other one but static is
#: "loss-based".
GRADIENT_BASED = frozenset({"gradnorm", "pcgrad", "mgda"})


def family(strategy: str) -> str:
    """A strategy's family, which sets its step-time target: "static", "loss-based" or "gradient-based"."""
    if strategy == "static":
        return "static"
    return "gradient-based" if strategy in GRADIENT_BASED else "loss-based"


#: One timed thing: its name and a callable taking the step index (see `interleave`).
Contestant = Tuple[str, Callable[[int], Any]]
#: Seconds per call: {group: {contestant: [round 0, round 1, ...]}}.
Times = Dict[str, Dict[str, List[float]]]


_STARTED = time.perf_counter()


def the_transformer(nlp: Language) -> MultiTaskTransformer:
    """The pipeline's one shared transformer (the benchmark exits if it has not one)."""
    found = [proc for _, proc in nlp.pipeline if isinstance(proc, MultiTaskTransformer)]
    if len(found) != 1:
        raise SystemExit(f"expected one mtl_transformer in the pipeline, found {len(found)}")
    return found[0]


def log(message: str) -> None:
    """Progress, with the seconds since start, goes to stderr: stdout carries only the results."""
    print(f"{time.perf_counter() - _STARTED:6.0f}s {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Device:
    """Where everything runs: gpu_id -1 is the CPU."""

    gpu_id: int

    @property
    def on_gpu(self) -> bool:
        return self.gpu_id >= 0

    @property
    def torch_device(self) -> torch.device:
        return torch.device(f"cuda:{self.gpu_id}" if self.on_gpu else "cpu")

    def sync(self) -> None:
        """Wait for queued GPU kernels: CUDA calls return before the work is done."""
        if self.on_gpu:
            torch.cuda.synchronize(self.torch_device)

    def describe(self) -> str:
        if self.on_gpu:
            return describe_device(self.gpu_id)
        return f"CPU, {torch.get_num_threads()} torch threads"


def select_device(gpu_id: Optional[int]) -> Device:
    """Use GPU `gpu_id`, the CPU for -1, or for None GPU 0 if both cupy and torch see
    one (spacy_mtl.device, as `spacy mtl train --gpu-id auto`)."""
    gpu_id = resolve_gpu_id(gpu_id)
    if gpu_id >= 0:
        use_device(gpu_id)
        # As `spacy train` does for [system] gpu_allocator = "pytorch": cupy and
        # torch share one memory pool instead of competing for the card.
        set_gpu_allocator("pytorch")
    return Device(gpu_id)


def timed(fn: Callable[[], Any], device: Device) -> float:
    """Seconds that `fn()` takes, including the GPU work it queued."""
    device.sync()
    start = time.perf_counter()
    fn()
    device.sync()
    return time.perf_counter() - start


@dataclass(frozen=True)
class Spread:
    """Median, quartiles and extremes of a sample."""

    median: float
    q1: float
    q3: float
    low: float
    high: float

    @classmethod
    def of(cls, values: Sequence[float]) -> "Spread":
        values = list(values)
        if len(values) > 1:
            q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
        else:
            q1 = q3 = values[0]
        return cls(statistics.median(values), q1, q3, min(values), max(values))


def ratios(numerators: Sequence[float], denominators: Sequence[float]) -> Spread:
    """The spread of the per-round ratios: each round's pair is compared with itself,
    so drift of the machine's speed between rounds cancels out."""
    return Spread.of([a / b for a, b in zip(numerators, denominators)])


def interleave(
    groups: Mapping[str, Sequence[Contestant]],
    *,
    warmup: int,
    rounds: int,
    device: Device,
    section: str,
    unit: str,
) -> Times:
    """Time each contestant of each group once per round.

    Contestants are called with a step index: 0 .. warmup-1 for their untimed
    warm-up calls (once per distinct name, however many groups it is in), then
    warmup + r in round r, so that within a round every contestant gets the same
    input (the same batch). The order within a group rotates every round (AB, BA, ...
    or ABC, BCA, CAB), so that neither side always runs first.
    """
    warmed = set()
    for contestants in groups.values():
        for name, act in contestants:
            if name not in warmed:
                log(f"[{section}] warm-up: {name} ({warmup} calls)")
                for index in range(warmup):
                    act(index)
                warmed.add(name)
    times: Times = {
        group: {name: [] for name, _ in contestants} for group, contestants in groups.items()
    }
    for r in range(rounds):
        for group, contestants in groups.items():
            log(f"[{section}] {group}: {unit} {r + 1}/{rounds}")
            k = r % len(contestants)
            for name, act in [*contestants[k:], *contestants[:k]]:
                times[group][name].append(timed(functools.partial(act, warmup + r), device))
    return times


# --- data -------------------------------------------------------------------------


def make_corpus(out_dir: Path) -> Path:
    """Write the real tweets (WNUT-16 entities, sentiment) as .spacy files into out_dir,
    with the project's own preparation script."""
    script = Path(__file__).parent.parent / "project" / "scripts" / "prepare_tweets.py"
    subprocess.run(
        [
            sys.executable,
            str(script),
            str(out_dir),
            "--max-ner",
            str(CORPUS_CAP),
            "--max-textcat",
            str(CORPUS_CAP),
        ],
        check=True,
        capture_output=True,
    )
    return out_dir


def _read(nlp: Language, corpus_dir: Path, task: str, splits: Sequence[str]) -> List[Example]:
    return [eg for split in splits for eg in Corpus(corpus_dir / task / f"{split}.spacy")(nlp)]


def mixed_batches(nlp: Language, corpus_dir: Path) -> List[List[Example]]:
    """The training batches: batch i holds sentiment tweets 16i..16i+15 and entity
    tweets 16i..16i+15 of the train split, the same for every pipeline."""
    textcat = _read(nlp, corpus_dir, "textcat", ["train"])
    ner = _read(nlp, corpus_dir, "ner", ["train"])
    n_batches = min(len(textcat), len(ner)) // PER_TASK
    return [
        textcat[i * PER_TASK : (i + 1) * PER_TASK] + ner[i * PER_TASK : (i + 1) * PER_TASK]
        for i in range(n_batches)
    ]


def taught_batches(
    batches: Sequence[Sequence[Example]], teachers: Sequence[Language]
) -> List[List[Example]]:
    """Copies of `batches` in which every doc also carries every teacher's targets, as
    `spacy mtl teach` writes them (on each task's gold docs too, for annealing); the
    gold is left as it is and `batches` are not touched."""
    out = []
    for batch in batches:
        copies = [Example(eg.predicted.copy(), eg.reference.copy()) for eg in batch]
        for _ in teach_docs(teachers, [eg.reference for eg in copies]):
            pass
        out.append(copies)
    return out


def batch_texts(corpus_dir: Path) -> List[List[str]]:
    """The texts of `mixed_batches`, for the bare encoder."""
    return [
        [eg.reference.text for eg in batch]
        for batch in mixed_batches(spacy.blank("en"), corpus_dir)
    ]


def inference_texts(corpus_dir: Path, n: int) -> List[str]:
    """n unseen texts (dev and test splits), sentiment and entity tweets alternating,
    so that every batch of an even size is half of each."""
    nlp = spacy.blank("en")
    textcat, ner = (
        [eg.reference.text for eg in _read(nlp, corpus_dir, task, ["dev", "test"])]
        for task in ("textcat", "ner")
    )
    half = n // 2
    if half > min(len(textcat), len(ner)):
        raise ValueError(f"{n} texts asked for; the corpus holds {2 * min(len(textcat), len(ner))}")
    return [text for pair in zip(textcat[:half], ner[:half]) for text in pair]


def count_words(texts: Sequence[str]) -> int:
    """spaCy tokens in `texts`: the words that words/second counts."""
    return sum(len(doc) for doc in spacy.blank("en").pipe(texts))


# --- what is measured --------------------------------------------------------------


def _load_config(name: str) -> Config:
    return load_config(CONFIGS / CONFIG_FILES[name], interpolate=True)


@dataclass
class Pipeline:
    """A spaCy pipeline initialised for training, with its optimizer and batches."""

    spec: str
    nlp: Language
    optimizer: Optimizer
    dropout: float
    batches: List[List[Example]]

    def train_step(self, index: int) -> None:
        """One step of `spacy train` (spacy.training.loop.train_while_improving) on
        batch `index`: every component updates without stepping, then every
        trainable one steps with finish_update, then the schedules advance."""
        batch = self.batches[index % len(self.batches)]
        self.nlp.update(batch, drop=self.dropout, sgd=False, losses={})  # type: ignore[arg-type]
        for _, proc in self.nlp.pipeline:
            if getattr(proc, "is_trainable", False) and proc.model not in (True, False, None):  # type: ignore[attr-defined]
                proc.finish_update(self.optimizer)  # type: ignore[attr-defined]
        self.optimizer.step_schedules()

    def infer(self, texts: Sequence[str], batch_size: int) -> None:
        """Annotate `texts` with nlp.pipe."""
        for _ in self.nlp.pipe(texts, batch_size=batch_size):
            pass

    def infer_by_stage(
        self, texts: Sequence[str], batch_size: int, device: Device
    ) -> Dict[str, float]:
        """Annotate `texts` as nlp.pipe does, one batch at a time, and return the
        seconds spent in each stage: "tokenizer", then every pipe by name."""
        seconds = {"tokenizer": 0.0, **{name: 0.0 for name in self.nlp.pipe_names}}
        for start in range(0, len(texts), batch_size):
            batch = texts[start : start + batch_size]
            docs: List[Doc] = []
            seconds["tokenizer"] += timed(
                lambda docs=docs, batch=batch: docs.extend(self.nlp.make_doc(t) for t in batch),
                device,
            )
            for name, proc in self.nlp.pipeline:
                annotated: List[Doc] = []
                seconds[name] += timed(
                    lambda out=annotated, proc=proc, docs=docs: out.extend(
                        proc.pipe(docs, batch_size=batch_size)
                    ),
                    device,
                )
                docs = annotated
        return seconds


def load_pipeline(spec: str, corpus_dir: Path) -> Pipeline:
    """Build and initialise the pipeline of `spec` as `spacy train` would: the config's
    seed fixed first (so every pipeline starts from the same one), the optimizer from
    its [training.optimizer], initialised on the training batches."""
    name, _, strategy = spec.partition(":")
    config = _load_config(name)
    if strategy:
        if strategy not in STRATEGIES:
            raise ValueError(f"unknown weighting {strategy!r}; one of {list(STRATEGIES)}")
        config["components"]["transformer"]["weighting"] = {"@mtl_weightings": STRATEGIES[strategy]}
    fix_random_seed(config["training"]["seed"])
    nlp = load_model_from_config(config, auto_fill=True)
    optimizer = registry.resolve({"optimizer": config["training"]["optimizer"]})["optimizer"]
    batches = mixed_batches(nlp, corpus_dir)

    def get_examples() -> Iterator[Example]:
        return (eg for batch in batches for eg in batch)

    nlp.initialize(get_examples, sgd=optimizer)
    return Pipeline(spec, nlp, optimizer, float(config["training"]["dropout"]), batches)


class BareEncoder:
    """The Hugging Face encoder of configs/mtl.cfg alone: the floor under any pipeline.

    It offers the `train_step(index)` and `infer(texts, batch_size)` of `Pipeline`.

    Training step: tokenise (padding to the longest text), forward, a trivial loss
    (mean of last_hidden_state), backward, a torch AdamW step with the learning rate,
    betas, eps and weight decay of the config's [training.optimizer]. Inference: the
    same tokenisation and a forward under torch.no_grad().
    """

    def __init__(self, device: Device, corpus_dir: Path) -> None:
        config = _load_config("mtl")
        path = resolve_encoder(config["components"]["transformer"]["model"]["name"])
        fix_random_seed(config["training"]["seed"])
        self.device = device
        self.batches = batch_texts(corpus_dir)
        self.tokenizer = AutoTokenizer.from_pretrained(path, use_fast=True)
        self.model = AutoModel.from_pretrained(path).to(device.torch_device)
        opt = config["training"]["optimizer"]
        self.optimizer = torch.optim.AdamW(
            self.model.parameters(),
            lr=opt["learn_rate"]["initial_rate"],
            betas=(opt["beta1"], opt["beta2"]),
            eps=opt["eps"],
            weight_decay=opt["L2"],
        )

    def _encode(self, texts: Sequence[str]) -> torch.Tensor:
        batch = self.tokenizer(list(texts), padding="longest", return_tensors="pt").to(
            self.device.torch_device
        )
        return self.model(**batch).last_hidden_state

    def train_step(self, index: int) -> None:
        """One step on the texts of training batch `index` (see `mixed_batches`)."""
        # train(): the encoder's own dropout is on, as in the pipelines' updates.
        self.model.train()
        self._encode(self.batches[index % len(self.batches)]).mean().backward()
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)

    def infer(self, texts: Sequence[str], batch_size: int) -> None:
        """Encode `texts`, `batch_size` at a time."""
        self.model.eval()
        with torch.no_grad():
            for start in range(0, len(texts), batch_size):
                self._encode(texts[start : start + batch_size])


def load(spec: str, corpus_dir: Path, device: Device) -> Union[Pipeline, BareEncoder]:
    """The bare encoder for "bare", else the pipeline of `spec`."""
    return BareEncoder(device, corpus_dir) if spec == "bare" else load_pipeline(spec, corpus_dir)
