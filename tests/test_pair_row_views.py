"""vjp, jvp and jacobian (compiled without the arguments' shapes) check that `r = y[i]`
is not a row of `y` stored into while r is still read, as grad refuses it: the check was
left out when `y` might have been a list (`y = m.copy()` of an argument), and the
pullback of a row swap was silently wrong. A swap of numbers still runs."""
import warnings

import numpy as np
import pytest

import s2sgrad
from s2sgrad.errors import GradientError, S2SGradError


def rows_swapped(m):
    y = m.copy()
    y[0], y[1] = y[1], y[0]          # (NumPy: both rows end up the old row 1)
    return np.sum(y * np.arange(6.0).reshape(2, 3))


def items_swapped(x):
    y = x.copy()
    y[0], y[1] = y[1], y[0]
    return np.sum(y * np.arange(4.0))


M = np.arange(6.0).reshape(2, 3)


def test_grad_refuses():
    with pytest.raises(S2SGradError, match="view"):
        s2sgrad.grad(rows_swapped)(M)


@pytest.mark.parametrize("op", [
    lambda: s2sgrad.vjp(rows_swapped)(M)[1](1.0),
    lambda: s2sgrad.jvp(rows_swapped)((M,), (np.ones((2, 3)),)),
    lambda: s2sgrad.jacobian(rows_swapped, mode="reverse")(M),
    lambda: s2sgrad.jacobian(rows_swapped, mode="forward")(M),
])
def test_other_modes_refuse(op):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(GradientError, match="row of `y`"):
            op()


def test_numbers_still_swap():
    x = np.array([0.3, -1.2, 0.8, 1.7])
    _, pull = s2sgrad.vjp(items_swapped)(x)
    np.testing.assert_allclose(pull(1.0), [1.0, 0.0, 2.0, 3.0])
    np.testing.assert_allclose(s2sgrad.jvp(items_swapped)((x,), (np.eye(4)[0],))[1], 1.0)
