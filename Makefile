# The README's two commands: `make demo` and `make test`. Both build their own virtualenv;
# the demo installs only what s2sgrad needs at run time, the tests add their extras.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
RUN    := $(VENV)/.installed-run
TEST   := $(VENV)/.installed-test

.PHONY: demo test bench fuzz clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(RUN): pyproject.toml | $(PY)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $(RUN)

$(TEST): pyproject.toml | $(RUN)
	$(PY) -m pip install -q -e '.[test]'
	touch $(TEST)

demo: $(RUN)
	$(PY) samples/run_all.py

test: $(TEST)
	$(PY) -m pytest

bench: $(TEST)
	$(PY) -m pip install -q -e '.[bench]' || echo "optional peers not installed; benchmarking what is there"
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 $(PY) benchmarks/run.py --plot --json

fuzz: $(TEST)
	S2SGRAD_FUZZ_EXAMPLES=$${EXAMPLES:-5000} $(PY) -m pytest -q tests/test_fuzz.py

clean:
	rm -rf $(VENV) build *.egg-info
