"""`np.sum(x, dtype=…)` and `np.mean(x, dtype=…)`: the accumulator's dtype. A float
dtype (float32 data summed in float64, SciPy's `rosen`) passes the adjoint through; an
integer or boolean one casts each element first, a piecewise constant function, so x
gets no gradient. Checked against finite differences and closed forms, in reverse and
forward mode."""
import numpy as np
import pytest

import s2sgrad

from support.numeric import assert_grad_matches

RNG = np.random.default_rng(5)
X = RNG.normal(size=(4, 3))


def sum_float64(x):
    return np.sum(np.sin(x), dtype=np.float64) + np.sum(x * x, axis=0, dtype=float)[1]


def mean_dtype_of(x):
    return np.mean(x ** 3, axis=1, dtype=x.dtype).sum() + x.sum(dtype=np.float64)


def rosen_like(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2, axis=0, dtype=x.dtype)


def sum_int(x):
    return np.sum(x * 3.7, dtype=np.int64) + np.sum(x * x)


def mean_bool(x):
    return np.mean(x, axis=0, dtype=bool).sum() * 1.0 + np.sum(np.cos(x))


@pytest.mark.parametrize("f, x", [(sum_float64, X), (mean_dtype_of, X),
                                  (rosen_like, X[:, 0] * 0.5), (rosen_like, X * 0.5)])
def test_a_float_accumulator_passes_the_gradient(f, x):
    if np.ndim(f(x)):
        def f(x, f=f):                  # (rosen_like of a matrix: one value per column)
            return np.sum(rosen_like(x) * np.arange(1.0, 4.0))
    assert_grad_matches(f, x.copy(), rtol=1e-6, atol=1e-8)


def test_an_integer_or_boolean_accumulator_passes_none():
    np.testing.assert_allclose(s2sgrad.grad(sum_int)(X), 2 * X, rtol=1e-14)
    np.testing.assert_allclose(s2sgrad.grad(mean_bool)(X), -np.sin(X), rtol=1e-14)


def test_float32_data_summed_in_float64():
    x32 = X.astype(np.float32)
    g = s2sgrad.grad(sum_float64)(x32)
    assert g.dtype == np.float32
    want = np.cos(X)
    want[:, 1] += 2 * X[:, 1]
    np.testing.assert_allclose(g, want, rtol=1e-6)


@pytest.mark.parametrize("f", [sum_float64, mean_dtype_of, sum_int, mean_bool])
def test_tangents(f):
    d = RNG.normal(size=X.shape)
    value, tangent = s2sgrad.jvp(f)((X.copy(),), (d,))
    h = 1e-6
    np.testing.assert_allclose(value, f(X), rtol=1e-14)
    np.testing.assert_allclose(tangent, (f(X + h * d) - f(X - h * d)) / (2 * h), rtol=1e-6,
                               atol=1e-7)
