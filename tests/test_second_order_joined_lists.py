"""hvp and hessian of a function growing a list in a loop (`acc = acc + [x[i]]`): the
gradient code fed back to the compiler restores `acc` from its tape, so forward mode
could not tell the `+` from a number's and broadcast the shorter list's tangent over
the longer list (a silently wrong Hessian-vector product for two items, a broadcasting
ValueError for more). A list's tangent of another length now raises GradientError;
whatever runs must agree with finite differences of the gradient."""
import numpy as np
import pytest

import s2sgrad
from s2sgrad.errors import GradientError


def grown(x):
    acc = [x[0]]
    for i in range(1, len(x)):
        acc = acc + [x[i]]
    return np.sum(np.array(acc) ** 3)


def grown_rows(x):
    acc = []
    for i in range(2):
        acc = acc + [x[i]]
    return np.sum(np.array(acc) ** 2)


def fd_hvp(f, x, v, h=1e-6):
    g = s2sgrad.grad(f)
    return (g(x + h * v) - g(x - h * v)) / (2 * h)


@pytest.mark.parametrize("f, x", [
    (grown, np.array([0.5, -1.0])),
    (grown, np.array([0.5, -1.0, 2.0])),
    (grown_rows, np.arange(6.0).reshape(2, 3) / 7),
])
def test_hvp_is_right_or_refused(f, x):
    v = np.linspace(1.0, -0.5, x.size).reshape(x.shape)
    try:
        got = s2sgrad.hvp(f)(x, v)
    except GradientError as exc:
        assert "lists" in str(exc)
        return
    np.testing.assert_allclose(got, fd_hvp(f, x, v), rtol=1e-6, atol=1e-8)


def test_hessian_is_right_or_refused():
    x = np.array([0.5, -1.0])
    try:
        got = s2sgrad.hessian(grown)(x)
    except GradientError:
        return
    np.testing.assert_allclose(got, np.diag(6 * x), rtol=1e-6)
