"""Numba's version of a NumPy function that raises at run time where NumPy's does not
(np.linalg.norm(a, 'fro'): Numba takes no string `ord`) makes the gradient run as the
NumPy code, with one warning (strict=True: an error), in process and in the module
`s2sgrad transform --backend numba` writes; an error NumPy raises too is still raised."""
import warnings

import numpy as np
import pytest

import s2sgrad
from s2sgrad.backend import numba as numba_backend
from s2sgrad.errors import S2SGradError

from support.numba_cache import numba_cache_dir  # noqa: F401
from support.numba_check import compiled_entry, run_written
from support.numeric import numerical_grad

pytestmark = pytest.mark.skipif(not numba_backend.available(), reason="Numba not installed")

MODEL = '''import numpy as np


def frobenius(a):
    return np.linalg.norm(a, 'fro') * np.sum(a)
'''


def frobenius(a):
    return np.linalg.norm(a, 'fro') * np.sum(a)


def product(a, b):
    return np.sum(np.sin(a) * b)


A = np.arange(6.0).reshape(2, 3) / 5 - 0.3


def test_a_run_time_refusal_runs_the_numpy_code():
    from s2sgrad.backend.numba.compile import NumbaFallbackWarning
    g = s2sgrad.grad(frobenius, backend="numba")
    with pytest.warns(NumbaFallbackWarning, match="raised ValueError"):
        got = g(A)
    want = s2sgrad.grad(frobenius)(A)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    np.testing.assert_allclose(got, numerical_grad(frobenius, (A,), 0), rtol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(g(A), want, rtol=1e-12)      # (one warning)


def test_strict_raises():
    with pytest.raises(S2SGradError, match="raised ValueError"):
        s2sgrad.grad(frobenius, backend="numba", strict=True)(A)


def test_an_error_numpy_raises_too_is_raised():
    g = s2sgrad.grad(product, backend="numba", strict=True)
    with pytest.raises(ValueError):
        g(np.ones(3), np.ones(4))
    assert compiled_entry(g).compiled
    np.testing.assert_allclose(g(np.ones(3), np.ones(3)), np.cos(1.0) * np.ones(3))


def test_written_module_runs_the_numpy_code(tmp_path):
    from s2sgrad.tools.cli import main
    src = tmp_path / "model.py"
    src.write_text(MODEL)
    assert main(["transform", str(src), "--backend", "numba", "-o",
                 str(tmp_path / "model_grad.py")]) == 0
    lines = run_written(tmp_path, "model_grad", """
        warnings.simplefilter("ignore")
        a = np.arange(6.0).reshape(2, 3) / 5 - 0.3
        print(repr(m.grad_frobenius(a).tolist()))
    """)
    np.testing.assert_allclose(eval(lines[0]), s2sgrad.grad(frobenius)(A), rtol=1e-12)
