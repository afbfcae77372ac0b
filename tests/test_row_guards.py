"""`r = y[i]` with integer indices where the shapes are not known when the code is
compiled: a row of y (a view) if y has more dimensions, a number otherwise. Where y is
stored into while r is still read, Python's r sees the store and the backward pass would
not: a row is refused when the code runs (a GradientError naming the line), a number
passes and is differentiated. Gradients against centred finite differences."""
import numpy as np
import pytest

import s2sgrad
from s2sgrad.errors import GradientError

from support.numeric import assert_grad_matches


def row_then_store(x):
    y = np.concatenate([x, x])              # shape not known when compiled
    r = y[1]
    y[1, 0] = 5.0
    return np.sum(r * x[0]) + np.sum(y ** 2)


def element_then_store(x):
    y = np.concatenate([x, x * 2.0])
    r = y[1]
    y[1] = 5.0
    return r * x[0] + np.sum(y ** 2)


def row_copied(x):
    y = np.vstack([x, x * 2.0])
    r = y[1].copy()
    y[1, 0] = 5.0
    return np.sum(r * x[0]) + np.sum(y ** 2)


def test_a_row_read_after_a_store_is_refused_when_the_code_runs():
    x = np.array([[0.3, -1.2], [0.8, 2.0]])
    with pytest.raises(GradientError, match=r"`r = y\[1\]` is a row of `y`.*\.copy\(\)"):
        s2sgrad.grad(row_then_store)(x)


def test_an_element_passes_and_is_differentiated():
    assert_grad_matches(element_then_store, np.array([0.3, -1.2, 0.8]))


def test_a_copied_row_is_differentiated():
    assert_grad_matches(row_copied, np.array([0.3, -1.2, 0.8]))
