"""The Numba back end gives the gradient of a NumPy scalar argument the type the NumPy
back end gives it (np.float32(2.0) → np.float32; np.float64 → float): Numba returns
every number as a Python float, so a float32 scalar's gradient came back as a float."""
import numpy as np
import pytest

import s2sgrad
from s2sgrad.backend import numba as numba_backend

from support.numba_cache import numba_cache_dir  # noqa: F401
from support.numba_check import compiled_entry

pytestmark = pytest.mark.skipif(not numba_backend.available(), reason="Numba not installed")


def poly(x):
    return x * x + 3.0 * x


def pair(a, b):
    return a * b + a * a


@pytest.mark.parametrize("x", [np.float32(2.0), np.float64(2.0), 2.0, 3, np.int64(3)])
def test_one_scalar(x):
    g = s2sgrad.grad(poly, backend="numba", strict=True)
    got = g(x)
    assert compiled_entry(g).compiled
    want = s2sgrad.grad(poly)(x)
    assert type(got) is type(want) and got == pytest.approx(want, rel=1e-6)


def test_two_scalars_with_value():
    a, b = np.float32(1.5), 0.5
    got = s2sgrad.value_and_grad(pair, wrt=(0, 1), backend="numba", strict=True)(a, b)[1]
    want = s2sgrad.value_and_grad(pair, wrt=(0, 1))(a, b)[1]
    assert [type(v) for v in got] == [type(v) for v in want] == [np.float32, float]
    np.testing.assert_allclose(got, want, rtol=1e-6)
