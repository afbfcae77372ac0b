"""Batched pullbacks (jacobian in reverse mode, pullback(..., batched=True)) of a
function reading an array's items through `list(x)`: the array's adjoint was stacked
from its items' batched adjoints with the items' axis first, so the Jacobian came out
transposed where the sizes agreed (silently wrong) and raised elsewhere."""
import functools
import warnings

import numpy as np
import pytest

import s2sgrad

from support.numeric import numerical_jacobian


def mixed(v):
    items = list(v)
    return np.array([items[0] * items[1], items[1] ** 2, items[2] * 3.0])


def rows(m):
    r = list(m)
    return np.concatenate([r[0] * r[1], np.sin(r[1])])


def folded(v):
    return functools.reduce(lambda a, b: a + b * b, v, 0.0)


@pytest.mark.parametrize("f, x", [
    (mixed, np.array([0.5, -1.0, 2.0])),
    (rows, np.arange(6.0).reshape(2, 3) / 5 - 0.4),
    (folded, np.array([0.3, -1.2, 0.8, 1.7])),
])
def test_reverse_jacobian(f, x):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = s2sgrad.jacobian(f, mode="reverse")(x)
        fwd = s2sgrad.jacobian(f, mode="forward")(x)
    np.testing.assert_allclose(got, numerical_jacobian(f, x), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(got, fwd, rtol=1e-12, atol=1e-14)


def test_batched_pullback_equals_one_by_one():
    x = np.array([0.5, -1.0, 2.0])
    _, pull = s2sgrad.vjp(mixed)(x)
    cts = np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.5, 0.0, -1.0]])
    np.testing.assert_allclose(pull(cts, batched=True), [pull(c) for c in cts], rtol=1e-12)
