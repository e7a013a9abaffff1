# `make run` and `make test` do all set-up on a fresh machine: .venv, torch, the project.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.arena-installed
# The CPU build of torch; a bare `torch` requirement would fetch the CUDA build.
TORCH ?= torch==2.13.0

.PHONY: run test setup bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q "$(TORCH)"
	$(PY) -m pip install -q -e ".[test]"
	touch $@

run: $(STAMP)
	$(VENV)/bin/arena

test: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) benchmarks/match_overhead.py

clean:
	rm -rf $(VENV) build *.egg-info
