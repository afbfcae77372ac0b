"""`with np.errstate(...)` around code that may divide by zero or overflow: with modes
that only say whether NumPy reports the event (ignore, warn, print, log) the body is
differentiated as if written without it; "raise" and "call", and other `with` blocks,
stay refused where they are written. Gradients against centred finite differences."""
import warnings

import numpy as np
import pytest

import s2sgrad
from s2sgrad.errors import TransformError

from support.numeric import assert_grad_matches, assert_value_and_grad_matches


def safe_log_loss(x, w):
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.where(x > 0, np.log(np.abs(x) + 1e-300), 0.0)
        ratio = x / np.maximum(np.abs(x), 1e-3)
    return np.sum(logs * w) + np.sum(ratio ** 2 * w)


def in_a_loop(x):
    total = 0.0
    for k in range(3):
        if k > 0:
            with np.errstate(over="ignore", under="ignore"):
                total = total + np.sum(np.exp(-k * x ** 2))
    return total


def raising(x):
    with np.errstate(all="raise"):
        return np.sum(np.log(x))


def other_context(x):
    with warnings.catch_warnings():
        y = np.log(x)
    return np.sum(y)


X = np.array([0.5, -0.3, 2.0, 0.0])
W = np.array([1.0, 2.0, -0.5, 0.7])


@pytest.mark.parametrize("f, args, wrt", [
    (safe_log_loss, (X[:3], W[:3]), (0, 1)),
    (in_a_loop, (X,), 0),
])
def test_errstate_blocks_are_differentiated(f, args, wrt):
    assert_grad_matches(f, *args, wrt=wrt)
    assert_value_and_grad_matches(f, *args, wrt=wrt)


def test_the_gradient_is_the_bodys_also_where_numpy_would_report():
    """At x = 0 the body divides 0 by 1e-3 and takes the log of 1e-300: no event the
    gradient depends on; the numbers are those of the body without the block."""
    with np.errstate(all="ignore"):
        g = s2sgrad.grad(safe_log_loss)(X, W)
    assert np.all(np.isfinite(g))
    assert g[3] == pytest.approx(2.0 * X[3] / 1e-3 ** 2 * W[3] + 0.0)


@pytest.mark.parametrize("f", [raising, other_context])
def test_with_blocks_that_change_what_happens_stay_refused(f):
    with pytest.raises(TransformError, match="`with`"):
        s2sgrad.grad(f)(np.array([0.5, 2.0]))
