"""Test configuration: the `support` package (the numerical oracle, the fuzz generator,
the corpora) is importable from every test module and from the subprocesses tests start
(they put this directory on PYTHONPATH)."""
import os
import sys

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
if TESTS_DIR not in sys.path:
    sys.path.insert(0, TESTS_DIR)
