"""A function of another module (called, so paired) whose small same-file helper
`normalize` inlines: the helper's free names were bound for the callee's own tree only,
so the inlined body read them in the root's module — the root's `scale`, not the
helper's module's (a silently wrong gradient), or nothing at all (`NameError:
_mvn_full` in the Hessian-vector product of scipy's multivariate normal, whose runtime
helper inlines a private helper)."""
import importlib
import sys

import numpy as np
import scipy.stats as st

import s2sgrad

HELPERS = '''
import numpy as np

scale = 10.0


def scaled(x):
    y = x * scale
    return y


def loop_of_squares(x):
    s = 0.0
    for i in range(2):
        s = s + np.sum(scaled(x) ** 2)
    return s
'''

MAIN = '''
import numpy as np
from inlined_helpers import loop_of_squares

scale = 1.0


def loss(x):
    return loop_of_squares(x) * scale + np.sum(x)
'''


def _modules(tmp_path, monkeypatch):
    (tmp_path / "inlined_helpers.py").write_text(HELPERS)
    (tmp_path / "inlined_main.py").write_text(MAIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("inlined_helpers", "inlined_main"):
        sys.modules.pop(name, None)
    return importlib.import_module("inlined_main")


def test_the_helper_reads_its_own_modules_global(tmp_path, monkeypatch):
    loss = _modules(tmp_path, monkeypatch).loss
    x = np.array([1.0, 2.0])
    want = 2 * 2 * 100.0 * x + 1.0                   # d/dx [2·Σ(10x)²] + 1
    np.testing.assert_allclose(s2sgrad.grad(loss)(x), want)
    np.testing.assert_allclose(s2sgrad.vjp(loss)(x)[1](1.0), want)
    _, tangent = s2sgrad.jvp(loss)((x,), (np.ones(2),))
    assert tangent == np.sum(want)
    np.testing.assert_allclose(s2sgrad.hvp(loss)(x, np.ones(2)), [400.0, 400.0])


def test_hvp_of_the_multivariate_normal():
    def f(x):
        return st.multivariate_normal.logpdf(x[:3], np.zeros(3), np.eye(3) * 2)
    x = np.array([0.3, -0.2, 0.5, 1.0])
    np.testing.assert_allclose(s2sgrad.hvp(f)(x, np.ones(4)), [-0.5, -0.5, -0.5, 0.0])
