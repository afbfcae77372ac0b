"""`raise` in the differentiated function: input checks (`if np.any(np.isnan(x)): raise
ValueError(...)`) run in the forward pass as written. A call whose check fails raises the
user's own exception; one that passes gets its gradient, against finite differences."""
import numpy as np
import pytest

import s2sgrad
from s2sgrad.errors import TransformError

from support.numeric import assert_grad_matches, assert_value_and_grad_matches


def checked(x):
    if x.ndim != 1:
        raise ValueError(f"expected a vector, got {x.ndim} dimensions")
    if np.any(np.isnan(x)):
        raise FloatingPointError("nan in the input")
    return np.sum(np.sin(x) ** 2)


def checked_in_loop(x, steps):
    y = x
    for k in range(steps):
        y = np.tanh(y * 1.5)
        if np.max(np.abs(y)) > 10.0:
            raise OverflowError(f"diverged at step {k}")
    return np.sum(y ** 2)


def raises_or_returns(x, mode):
    if mode == "sum":
        return np.sum(x ** 3)
    if mode == "mean":
        return np.mean(x ** 3)
    raise KeyError(mode)


def reraises(x):
    raise


X = np.array([0.3, -1.2, 0.8, 2.0])


@pytest.mark.parametrize("f, args", [
    (checked, (X,)),
    (checked_in_loop, (X, 4)),
    (raises_or_returns, (X, "sum")),
    (raises_or_returns, (X, "mean")),
])
def test_checks_that_pass_give_the_gradient(f, args):
    assert_grad_matches(f, *args)
    assert_value_and_grad_matches(f, *args)


def test_a_check_that_fails_raises_the_users_exception():
    g = s2sgrad.grad(checked)
    g(X)
    with pytest.raises(FloatingPointError, match="nan in the input"):
        g(np.array([0.1, np.nan]))
    with pytest.raises(ValueError, match="2 dimensions"):
        g(np.ones((2, 2)))
    with pytest.raises(KeyError):
        s2sgrad.grad(raises_or_returns)(X, "median")


def test_jvp_and_hvp_run_the_checks_too():
    v = np.array([1.0, 0.5, -0.3, 0.2])
    value, tangent = s2sgrad.jvp(checked)((X,), (v,))
    assert value == pytest.approx(checked(X), rel=1e-12)
    assert tangent == pytest.approx(np.sum(2 * np.sin(X) * np.cos(X) * v), rel=1e-10)
    hv = s2sgrad.hvp(checked)(X, v)
    np.testing.assert_allclose(hv, 2 * np.cos(2 * X) * v, rtol=1e-10)


def test_a_bare_raise_is_refused_where_it_is():
    with pytest.raises(TransformError, match="bare `raise`"):
        s2sgrad.grad(reraises)(X)
