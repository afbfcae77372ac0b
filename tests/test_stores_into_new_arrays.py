"""Stores into the result of a library call that always makes a new array (np.cumprod,
np.sort, np.diff, np.tile, np.roll, np.take, np.tril, np.pad, np.kron, np.convolve,
np.linalg.cholesky, ...: declared FRESH in their rules) are the function's own to
change: item stores, slice stores and `+=` are differentiated (checked against finite
differences), and the argument is left as it was. Calls whose result may be a view of
their operand (reshape, ravel, transpose, .T, np.asarray, squeeze, slicing,
np.broadcast_to, np.atleast_1d, np.expand_dims, np.real, np.diff with n=0) stay
refused."""
import numpy as np
import pytest

import s2sgrad
from s2sgrad import TransformError

from support.numeric import assert_grad_matches

X = np.array([0.7, 1.3, 0.4, 1.1, 0.9, 1.6])
M = np.array([[2.0, 0.3, 0.1], [0.3, 1.5, 0.2], [0.1, 0.2, 1.8]])


def cumprod_item(x):
    y = np.cumprod(x)
    y[0] = 2.0
    return np.sum(y * x)


def sort_slice(x):
    y = np.sort(x)
    y[1:3] = x[:2] ** 2
    return np.sum(y ** 2 * np.arange(1.0, 7.0))


def diff_add(x):
    y = np.diff(x, n=2)
    y += x[:4]
    y[0] *= x[5]
    return np.sum(y ** 3)


def tile_store(x):
    y = np.tile(x[:3], 2)
    y[::2] = np.sin(x[3:])
    return np.sum(y * x)


def roll_take(x):
    y = np.roll(x, 2)
    y[0] += 1.0
    z = np.take(x, np.argsort(x))
    z[-1] = y[1] * 3.0
    return np.sum(y * z * x)


def tril_pad(x):
    m = np.tril(np.outer(x[:3], x[3:]))
    m[0, 2] = x[0]
    p = np.pad(x, 1)
    p[0] = p[3] * 2.0
    return np.sum(m ** 2) + np.sum(p * p[::-1])


def kron_convolve(x):
    k = np.kron(x[:2], x[2:4])
    k[1] = 0.5
    c = np.convolve(x, x[:3])
    c[2:4] += k[:2]
    return np.sum(c ** 2) + np.sum(k)


def cholesky_store(x):
    a = M + np.diag(x[:3] ** 2)
    lower = np.linalg.cholesky(a)
    lower[0, 0] = x[4]
    return np.sum(lower * lower)


def concatenate_store(x):
    y = np.concatenate([x, x[:2]])
    y[3] = x[0] * x[1]
    return np.sum(y ** 2)


def stores_in_a_loop(x):
    y = np.cumsum(x)
    for i in range(3):
        y[i] = y[i + 1] * x[i]
    return np.sum(np.sin(y))


@pytest.mark.parametrize("f", [cumprod_item, sort_slice, diff_add, tile_store, roll_take,
                               tril_pad, kron_convolve, cholesky_store, concatenate_store,
                               stores_in_a_loop], ids=lambda f: f.__name__)
def test_store_into_a_new_array_matches_finite_differences(f):
    x = X.copy()
    assert_grad_matches(f, x)
    np.testing.assert_array_equal(x, X)


def test_hessian_of_a_store_into_a_new_array():
    """f = 2·x₀ + Σ_{j≥1} (Π_{k≤j} x_k)·x_j on the cumulative products (y₀ replaced)."""
    x = np.array([1.0, 2.0, 3.0])
    # f = 2·x0 + x0·x1² + x0·x1·x2²
    want = np.array([[0.0, 2 * x[1] + x[2] ** 2, 2 * x[1] * x[2]],
                     [2 * x[1] + x[2] ** 2, 2 * x[0], 2 * x[0] * x[2]],
                     [2 * x[1] * x[2], 2 * x[0] * x[2], 2 * x[0] * x[1]]])
    np.testing.assert_allclose(s2sgrad.hessian(cumprod_item)(x), want, rtol=1e-12)


def reshape_store(x):
    y = x.reshape(2, 3)
    y[0, 0] = 1.0
    return np.sum(y)


def ravel_store(x):
    y = np.ravel(x)
    y[0] = 1.0
    return np.sum(y)


def transpose_store(x):
    y = np.transpose(x.reshape(2, 3) * 2.0)
    z = y.T
    z[0] = 1.0
    return np.sum(y)


def asarray_store(x):
    y = np.asarray(x)
    y[0] = 1.0
    return np.sum(y)


def squeeze_store(x):
    y = np.squeeze(x[None, :])
    y[0] = 1.0
    return np.sum(y)


def slice_store(x):
    y = x[1:]
    y[0] = 1.0
    return np.sum(y)


def atleast_store(x):
    y = np.atleast_1d(x)
    y[0] = 1.0
    return np.sum(y)


def expand_store(x):
    y = np.expand_dims(x, 0)
    y[0, 0] = 1.0
    return np.sum(y)


def real_store(x):
    y = np.real(x)
    y[0] = 1.0
    return np.sum(y)


def broadcast_store(x):
    y = np.broadcast_to(x * 2.0, (2, 6))
    y[0, 0] = 1.0
    return np.sum(y)


def matrix_transpose_store(x):
    y = np.matrix_transpose(x.reshape(2, 3))
    y[0, 0] = 1.0
    return np.sum(y)


def diff_zero_store(x):
    y = np.diff(x, n=0)
    y[0] = 1.0
    return np.sum(y * x)


def diff_variable_order_store(x, n):
    y = np.diff(x, n)
    y[0] = 1.0
    return np.sum(y * x[:np.size(y)])


def view_of_new_array_then_argument(x):
    y = np.sort(x)
    y = x.reshape(6)
    y[0] = 1.0
    return np.sum(y)


@pytest.mark.parametrize("f, args", [
    (reshape_store, (X,)), (ravel_store, (X,)), (transpose_store, (X,)), (asarray_store, (X,)),
    (squeeze_store, (X,)), (slice_store, (X,)), (atleast_store, (X,)), (expand_store, (X,)),
    (real_store, (X,)), (broadcast_store, (X,)),
    pytest.param(matrix_transpose_store, (X,), marks=pytest.mark.skipif(
        not hasattr(np, "matrix_transpose"), reason="NumPy < 2")),
    (diff_zero_store, (X,)), (diff_variable_order_store, (X, 0)),
    (view_of_new_array_then_argument, (X,))], ids=lambda v: getattr(v, "__name__", ""))
def test_stores_into_possible_views_stay_refused(f, args):
    x = X.copy()
    with pytest.raises(TransformError, match="may share memory|argument"):
        s2sgrad.grad(f)(x, *args[1:])
    np.testing.assert_array_equal(x, X)
