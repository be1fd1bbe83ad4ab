# Two commands on a fresh machine: `make run` and `make test`.
# Everything is installed in .venv from the lock file; nothing else is needed but Python 3.11.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8
STAMP := $(VENV)/.installed
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: setup run test lint bench lock clean-outputs

setup: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name observatoire --display-name "Python (observatoire)" >/dev/null
	@touch $(STAMP)
	@echo "Environnement prêt : $(VENV) (noyau Jupyter « observatoire » enregistré)."

## make run: set up, then run the whole pipeline on the embedded synthetic sample
run: setup
	$(BIN)/dvc repro
	@$(BIN)/observatoire summary

## make test: the whole test suite (unit, ground truth, end-to-end on a reduced sample)
test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

bench: setup
	$(BIN)/python bench/bench_pipeline.py

## make lock: re-resolve requirements.lock from pyproject.toml (maintainers only)
lock:
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 \
	  --python-platform x86_64-manylinux_2_28 -o requirements.lock
