"""A pullback refuses a cotangent of another shape than the value (a stack of them
goes through batched=True): one that broadcast against the adjoints gave the sum of
the products, silently (pullback(np.ones(3)) of a scalar function: three times its
gradient)."""
import numpy as np
import pytest

import s2sgrad
from s2sgrad.errors import GradientError


def total(x):
    return np.sum(x * x)


def squares(x):
    return x * x


X = np.array([0.5, -1.0, 2.0])


def test_scalar_value():
    _, pull = s2sgrad.vjp(total)(X)
    np.testing.assert_allclose(pull(1.0), 2 * X)
    np.testing.assert_allclose(pull(np.float64(2.0)), 4 * X)
    with pytest.raises(GradientError, match="shaped like the value"):
        pull(np.ones(3))


def test_array_value():
    _, pull = s2sgrad.vjp(squares)(X)
    np.testing.assert_allclose(pull(np.ones(3)), 2 * X)
    with pytest.raises(GradientError, match="batched=True"):
        pull(np.ones((2, 3)))
    with pytest.raises(GradientError):
        pull(1.0)
