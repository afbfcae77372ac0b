"""Golden tests: the generated gradient code of a few small functions, compared exactly.

Each ``tests/golden/<name>.py`` defines ``FUNCTION``, ``WRT`` and ``CASES`` (label →
arguments: Python floats, and NumPy arrays where the code differs for arrays; a module
whose arguments are containers defines ``CHECK(args, gradient)``, its own check), and may
define ``EXPECTED`` (arguments → the gradients in closed form) for arguments finite
differences do not perturb (lists).  For
every case the test calls ``s2sgrad.grad(FUNCTION, wrt=WRT)`` on the arguments and
compares the gradient's ``.source`` (the code for those argument kinds) with the
matching section of ``tests/golden/<name>.expected``, byte for byte.

The golden files document what the generated code looks like (readability, stable
formatting); they are not a correctness oracle.  So the same test also checks the
gradient values against finite differences (tests/support/numeric.py).

When a change to the compiler changes the generated code on purpose, regenerate the
expected files and review the diff before committing it::

    S2SGRAD_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_golden.py

With ``S2SGRAD_UPDATE_GOLDEN=1`` the test rewrites ``<name>.expected`` from the
current compiler instead of comparing (it still checks the values).
"""
import difflib
import importlib.util
import os
import sys

import numpy as np
import pytest

import s2sgrad

from support.numeric import check_grads

GOLDEN_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden")
NAMES = sorted(n[:-3] for n in os.listdir(GOLDEN_DIR) if n.endswith(".py"))
UPDATE = os.environ.get("S2SGRAD_UPDATE_GOLDEN") == "1"


def load(name):
    modname = f"s2sgrad_golden_{name}"
    spec = importlib.util.spec_from_file_location(modname, os.path.join(GOLDEN_DIR,
                                                                        name + ".py"))
    mod = importlib.util.module_from_spec(spec)
    sys.modules[modname] = mod
    spec.loader.exec_module(mod)
    return mod


def describe(args):
    return ", ".join(_describe(a) for a in args)


def _describe(a):
    """An argument as the case line shows it: arrays by their shape, containers by
    their items."""
    if isinstance(a, np.ndarray):
        return f"array{tuple(a.shape)}"
    if isinstance(a, tuple) and hasattr(a, "_fields"):
        return f"{type(a).__name__}(" + ", ".join(
            f"{k}={_describe(v)}" for k, v in zip(a._fields, a)) + ")"
    if isinstance(a, list):
        return "[" + ", ".join(_describe(v) for v in a) + "]"
    return repr(a)


def render(name, mod):
    """The expected-file text for golden module `name`, and the gradients it computed."""
    parts = [f"# Generated gradient code for tests/golden/{name}.py (s2sgrad golden test).\n"
             f"# Regenerate: S2SGRAD_UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py\n"]
    computed = []
    for label, args in mod.CASES.items():
        g = s2sgrad.grad(mod.FUNCTION, wrt=mod.WRT)
        got = g(*args)
        computed.append((args, got))
        parts.append(f"\n# ---- case {label}: {mod.FUNCTION.__name__}({describe(args)}), "
                     f"wrt={mod.WRT!r}\n")
        parts.append(g.source)
    return "".join(parts), computed


@pytest.mark.parametrize("name", NAMES)
def test_golden(name):
    mod = load(name)
    text, computed = render(name, mod)
    for args, got in computed:          # the values, independently of the text
        if hasattr(mod, "CHECK"):       # (a module whose arguments are containers)
            mod.CHECK(args, got)
        elif hasattr(mod, "EXPECTED"):  # a closed form (lists, which finite differences
            for g, want in zip(got, mod.EXPECTED(*args)):   # here do not perturb)
                assert type(g) is type(want)
                np.testing.assert_allclose(g, want, rtol=1e-12)
        else:
            check_grads(mod.FUNCTION, args, got, wrt=mod.WRT, rtol=1e-6, atol=1e-8)
    path = os.path.join(GOLDEN_DIR, name + ".expected")
    if UPDATE:
        with open(path, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        return
    assert os.path.exists(path), \
        f"{path} is missing: run with S2SGRAD_UPDATE_GOLDEN=1 to create it"
    with open(path, encoding="utf-8") as fh:
        expected = fh.read()
    if text != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), text.splitlines(True),
                                            f"{name}.expected", "generated now"))
        pytest.fail(f"generated code for golden/{name}.py changed (if intended, rerun with "
                    f"S2SGRAD_UPDATE_GOLDEN=1 and review the diff):\n{diff}")


def test_every_golden_module_has_an_expected_file():
    missing = [n for n in NAMES if not os.path.exists(os.path.join(GOLDEN_DIR, n + ".expected"))]
    assert not missing or UPDATE, missing
    assert len(NAMES) >= 4
