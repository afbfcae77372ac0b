"""Batched forward mode (jacobian by columns, vmap of a jvp) reads an item of a 1-d
example as NumPy does, a number, not a view: `y[0], y[1] = y[1], y[0]` read the
tangent of y[0] after overwriting it (x[:, 0] is a view of the batched x), so the
forward-mode Jacobian of a swap was silently wrong. A row of a 2-d example stays a view,
as in NumPy."""
import warnings

import numpy as np
import pytest

import s2sgrad

from support.numeric import numerical_jacobian


def swapped(x):
    y = x.copy()
    y[0], y[1] = y[1], y[0]
    return np.sum(y * np.arange(4.0))


def swapped_vector(x):
    y = x.copy()
    y[0], y[1] = y[1], y[0]
    return y * 2.0


def rows_swapped(m):
    y = m.copy()
    y[0], y[1] = y[1], y[0]          # (NumPy: both rows end up the old row 1)
    return y * 2.0


X = np.array([0.3, -1.2, 0.8, 1.7])


@pytest.mark.parametrize("f, x", [(swapped, X), (swapped_vector, X)])
def test_forward_jacobian(f, x):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = s2sgrad.jacobian(f, mode="forward")(x)
    np.testing.assert_allclose(got, numerical_jacobian(f, x), rtol=1e-6, atol=1e-8)
