# Two entry points, each doing its own set-up on a fresh machine:
#   make demo   the main job (Song 2000 / Guetig 2003 with the `jstdp` CLI)
#   make test   the full test suite (Norse 1.1.0 parity included)
VENV ?= .venv
PY := $(VENV)/bin/python
# Brian2 for the benchmark's Song 2000 rows, in a venv of its own (Brian2 2.9
# needs NumPy < 2.4); never a dependency of jstdp.
BRIAN_VENV ?= .venv-brian
PYTEST_ARGS ?=

.PHONY: venv brian-venv demo test lint bench long-run clean

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

# --dist loadfile: a file's tests run on one worker, so a module's fixture (the
# Song science runs of tests/test_experiments.py, ~5 min) is computed once.
test: venv
	$(PY) -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

brian-venv: $(BRIAN_VENV)/.installed

$(BRIAN_VENV)/.installed:
	python3 -m venv $(BRIAN_VENV)
	$(BRIAN_VENV)/bin/python -m pip install -q brian2==2.9.0 cython "numpy<2.4"
	touch $@

# BRIAN2_PYTHON=/path/to/python uses an existing Brian2 venv instead.
bench: venv
	test -n "$$BRIAN2_PYTHON" || $(MAKE) brian-venv
	BRIAN2_PYTHON=$${BRIAN2_PYTHON:-$(BRIAN_VENV)/bin/python} $(PY) benchmarks/run.py

long-run: venv
	$(PY) benchmarks/long_run.py

clean:
	rm -rf $(VENV) $(BRIAN_VENV) out .pytest_cache .ruff_cache .hypothesis
