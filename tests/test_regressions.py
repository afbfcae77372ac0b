"""Programs the differential fuzzer (tests/test_fuzz.py) found wrong, kept as tests.

Every ``tests/regressions/*.py`` is a module with ``main(x, y)`` and ``ARGS``; the test
imports it from its file (s2sgrad reads the source) and compares
``s2sgrad.value_and_grad(main, wrt=(0, 1))(*ARGS)`` with finite differences (value,
gradient values, type/shape/dtype).  Files are written by the fuzzer's long mode
(``S2SGRAD_FUZZ_EXAMPLES=5000 .venv/bin/python -m pytest tests/test_fuzz.py``) or by hand.

A file that documents a bug not fixed yet sets ``XFAIL = "reason"`` (keep it on one line,
so that deleting the line un-marks it): the test is then
``xfail(strict=True)``, so fixing the bug makes it XPASS-fail until the line is removed.
"""
import glob
import os

import numpy as np
import pytest

import s2sgrad

from support.fuzz_programs import compare, copy_args, fd_grad, load_module

HERE = os.path.dirname(os.path.abspath(__file__))
FILES = sorted(glob.glob(os.path.join(HERE, "regressions", "*.py")))


def _xfail_reason(path):
    """The XFAIL string of a regression file, read without importing it."""
    import ast
    with open(path) as fh:
        tree = ast.parse(fh.read(), path)
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "XFAIL" for t in node.targets):
            return ast.literal_eval(node.value)
    return None


def _params():
    out = []
    for path in FILES:
        reason = _xfail_reason(path)
        marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
        out.append(pytest.param(path, marks=marks, id=os.path.basename(path)[:-3]))
    return out


@pytest.mark.parametrize("path", _params())
def test_regression(path):
    name = "regression_" + os.path.basename(path)[:-3].replace("-", "_")
    mod = load_module(path, name)
    args = tuple(mod.ARGS)
    with open(path) as fh:
        source = fh.read()
    value = float(mod.main(*copy_args(args)))
    expected = fd_grad(mod.main, args)
    given = copy_args(args)
    got_value, got = s2sgrad.value_and_grad(mod.main, wrt=(0, 1))(*given)
    for a, b in zip(args, given):
        if isinstance(a, np.ndarray):
            assert np.array_equal(a, b), "s2sgrad mutated an argument\n" + source
    assert np.isclose(float(got_value), value, rtol=1e-12, atol=1e-12), \
        "value %r, main returns %r\n%s" % (got_value, value, source)
    problem = compare(got, expected, args)
    assert problem is None, problem + "\n\n" + source
