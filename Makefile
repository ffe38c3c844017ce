# Two entry points, each doing its own set-up on a fresh machine:
#   make demo   the main job (Song 2000 / Guetig 2003 with the `jstdp` CLI)
#   make test   the full test suite (Norse 1.1.0 parity included)
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: venv demo test lint bench long-run clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml Makefile
	python3 -m venv $(VENV)
	$(PY) -m pip install -q -U pip
	$(PY) -m pip install -q -e ".[test,dev]"
	# Norse's own requirements pull torchvision and a CUDA torch: install it bare.
	$(PY) -m pip install -q --no-deps norse==1.1.0 nir nirtorch
	touch $@

demo: venv
	$(VENV)/bin/jstdp song2000 --out out

test: venv
	$(PY) -m pytest -n 2 $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

bench: venv
	$(PY) benchmarks/run.py

long-run: venv
	$(PY) benchmarks/long_run.py

clean:
	rm -rf $(VENV) out .pytest_cache .ruff_cache .hypothesis
