# The README's two commands: `make demo` and `make test`. Both build their own virtualenv.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test bench fuzz clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) samples/run_all.py

test: $(STAMP)
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) -m pip install -q -e '.[bench]' || echo "optional peers not installed; benchmarking what is there"
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 $(PY) benchmarks/run.py --plot --json

fuzz: $(STAMP)
	S2SGRAD_FUZZ_EXAMPLES=$${EXAMPLES:-5000} $(PY) -m pytest -q tests/test_fuzz.py

clean:
	rm -rf $(VENV) build *.egg-info
