"""A ufunc's `reduce` reduces along the first axis by default, not every axis:
`np.logaddexp.reduce(X)` of a matrix is a row. The shapes and the numbers inferred for
the trace read the default of the function called (this was a silently wrong gradient:
the row was taken for a number). add, multiply, maximum and minimum's `reduce` are
differentiated too; every gradient against centred finite differences."""
import numpy as np
import pytest

import s2sgrad

from support.numeric import assert_grad_matches, assert_value_and_grad_matches

R = np.random.default_rng(21)
X = R.standard_normal((4, 3))
W = np.array([0.5, -1.0, 2.0])


def logaddexp_rows(X, w):
    r = np.logaddexp.reduce(X)                # shape (3,): along axis 0
    return np.sum((r * w) ** 2)


def logaddexp_broadcast(X, w):
    r = np.logaddexp.reduce(X)
    return np.sum((r + w) * X)


def add_reduce_default(X, w):
    return np.sum(np.add.reduce(X * w) ** 2) + np.add.reduce(X[0]) * np.add.reduce(
        X, axis=None)


def multiply_reduce(X, w):
    return np.sum(np.multiply.reduce(X + 2.0) * w) + np.sum(np.multiply.reduce(X, axis=1))


def extremes(X, w):
    return np.sum(np.maximum.reduce(X) * w) + np.sum(np.minimum.reduce(X, axis=1,
                                                                       keepdims=True) * X)


def in_a_loop(X, w):
    total = 0.0
    for k in range(3):
        total = total + np.sum(np.logaddexp.reduce(X * (k + 1)) * w)
    return total


@pytest.mark.parametrize("f", [logaddexp_rows, logaddexp_broadcast, add_reduce_default,
                               multiply_reduce, extremes, in_a_loop])
def test_reduce_along_the_default_axis(f):
    assert_grad_matches(f, X, W, wrt=(0, 1))
    assert_value_and_grad_matches(f, X, W, wrt=(0, 1))


def test_tangent_and_hvp_of_a_reduce():
    v = R.standard_normal(X.shape)
    value, tangent = s2sgrad.jvp(logaddexp_rows)((X, W), (v, np.zeros(3)))
    h = 1e-6
    expected = (logaddexp_rows(X + h * v, W) - logaddexp_rows(X - h * v, W)) / (2 * h)
    assert value == pytest.approx(logaddexp_rows(X, W), rel=1e-12)
    assert tangent == pytest.approx(expected, rel=1e-6)
    g = s2sgrad.grad(add_reduce_default)
    hv = s2sgrad.hvp(add_reduce_default)(X, W, v)
    fd = (g(X + 1e-5 * v, W) - g(X - 1e-5 * v, W)) / 2e-5
    np.testing.assert_allclose(hv, fd, rtol=1e-5, atol=1e-7)
