# `make run` and `make test` do all set-up on a fresh machine: .venv, torch, the project.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.arena-installed
# The CPU build of torch; a bare `torch` requirement would fetch the CUDA build.
TORCH ?= torch==2.13.0

.PHONY: run test setup bench clean gnugo

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile games/go/_core.c agents/alphazero/_puct.c setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q "$(TORCH)"
	$(PY) -m pip install -q -e ".[test,plots,ray]"
	touch $@

run: $(STAMP)
	$(VENV)/bin/arena

test: $(STAMP) gnugo
	$(PY) -m pytest -q

# GnuGo 3.8 for the Go tests: Debian's `gnugo` (it lands in /usr/games, not on every PATH).
# Installs only where neither place has it; sudo only when not root.
gnugo:
	@command -v gnugo >/dev/null 2>&1 || test -x /usr/games/gnugo || { \
	  SUDO=$$(test "$$(id -u)" -eq 0 || echo sudo); \
	  $$SUDO apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gnugo >/dev/null; }

bench: $(STAMP)
	$(PY) benchmarks/match_overhead.py

clean:
	rm -rf $(VENV) build *.egg-info
