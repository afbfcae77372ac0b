"""A list display `+` or `*` an array (or a float array) is NumPy's elementwise
operation, not a list's concatenation or repetition: s2sgrad took `[a, b] *
np.array(2.0)` for a repetition (the gradient came out halved, silently) and
`[a, b] + x` for a concatenation (a TypeError in the backward pass, a broadcasting
ValueError in forward mode). Both raise GradientError now; the list idioms stay."""
import numpy as np
import pytest

import s2sgrad
from s2sgrad.errors import GradientError


def plus_array(x):
    return np.sum(([x[0], x[1]] + x * 3.0) ** 2)


def times_array(x):
    return np.sum(([x[0], x[1]] * np.array(2.0)) ** 2)


def repeated(x):
    return np.sum(np.array([x[0], x[1]] * 2) ** 2)


def joined(x):
    return np.sum(np.array([x[0]] + [x[1] * 2.0]) ** 2)


X = np.array([0.5, -1.0])


@pytest.mark.parametrize("f", [plus_array, times_array])
def test_refused(f):
    with pytest.raises(GradientError, match="elementwise"):
        s2sgrad.grad(f)(X)


def test_forward_mode_refuses_the_sum():
    with pytest.raises(GradientError, match="elementwise"):
        s2sgrad.jvp(plus_array)((X,), (np.ones(2),))


@pytest.mark.parametrize("f", [repeated, joined])
def test_list_idioms(f):
    np.testing.assert_allclose(s2sgrad.grad(f)(X), s2sgrad.numerical_grad(f, (X,), 0),
                               rtol=1e-6)
