# Two commands on a fresh machine: `make run` and `make test`.
# Everything is installed in .venv from the lock file; nothing else is needed but Python 3.11.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8
STAMP := $(VENV)/.installed
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: help setup run test lint complexity bench lock clean-outputs
.DEFAULT_GOAL := help

## make help: list the commands (this text)
help:
	@grep -hE '^## ' $(MAKEFILE_LIST) | sed -e 's/^## //' -e 's/^make \([a-z-]*\):/  make \1\t/' | expand -t 22

## make setup: create .venv from the lock file and register the Jupyter kernel
# --compile-bytecode: the libraries' .pyc are written once, here. uv does not write them, and where
# PYTHONDONTWRITEBYTECODE is set Python never does: every `dvc` call, stage and notebook kernel
# would then compile dvc, IPython, ipykernel... from source again (docs/execution.md).
setup: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name observatoire --display-name "Python (observatoire)" >/dev/null
	@touch $(STAMP)
	@echo "Environnement prêt : $(VENV) (noyau Jupyter « observatoire » enregistré)."

## make run: set up, then run the whole pipeline on the embedded synthetic sample
# `observatoire repro`: what `dvc repro` does, two independent stages at a time (each one run by
# `dvc repro --single-item`; docs/execution.md). RUN_JOBS=1: one stage after the other.
RUN_JOBS ?= 2
run: setup
	$(BIN)/observatoire repro --jobs $(RUN_JOBS)
	@$(BIN)/observatoire summary

## make test: the whole test suite (unit, ground truth, end-to-end on a reduced sample), on 2 processes
# pytest-xdist: a test module runs whole on one process (--dist loadscope), so a module's fixtures
# (the end-to-end `dvc repro`, a generated sample) are built once, and the modules in collection
# order, the end-to-end ones first (tests/conftest.py); every test that writes works in its own
# temporary copy of the project. `make test TEST_WORKERS=0`: one process, as before.
TEST_WORKERS ?= 2
test: setup
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadscope --no-loadscope-reorder

## make lint: ruff (style, imports, bugs) on src, tests and bench
lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

## make complexity: the longest and most branched functions (a guide, never a failure)
complexity: setup
	@$(BIN)/ruff check src --select C901,PLR0915,PLR0912 --exit-zero --output-format concise \
	  | grep -E 'C901|PLR09' | sort -t'(' -k2 -rn | head -40

## make bench: time each stage of a cold and a no-op `dvc repro` (bench/results/pipeline_stages.json)
bench: setup
	$(BIN)/python bench/pipeline_stages.py $(BENCH_ARGS)

## make lock: re-resolve requirements.lock from pyproject.toml (maintainers only)
lock:
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 \
	  --python-platform x86_64-manylinux_2_28 -o requirements.lock

## make clean-outputs: delete what the pipeline wrote (outputs/, data_clean/, quarantine, synthetic sample); raw exports stay
clean-outputs:
	rm -rf outputs/* data_clean/* data_raw/quarantine data_raw/sample data_raw/sample_truth
	@git checkout -- outputs/README.md data_clean/README.md 2>/dev/null || true
	@echo "Sorties effacées ; « make run » les recalcule (DVC les reprend de son cache si rien n'a changé)."
