"""Specialization on the arrays' numbers of dimensions (`trace.infer_ndims`).

The code is compiled per argument kind, arrays with their ndim; values with no
dimension left (`X[i] @ w`, `x[0]` of a vector, `np.sum(v)`) are numbers, so their
adjoints need no `unbroadcast` and their saves no shapes. A wrong ndim would drop a
sum a gradient needs: every case is checked against centered finite differences.
"""
import numpy as np
import pytest

import s2sgrad

try:
    from .numeric import assert_grad_matches
except ImportError:
    from numeric import assert_grad_matches

R = np.random.default_rng(3)


def first_times_all(x):
    return np.sum(x[0] * x)


def test_one_function_called_with_a_vector_then_a_matrix():
    g = s2sgrad.grad(first_times_all)
    v, m = R.normal(size=4), R.normal(size=(3, 4))
    for x in (v, m, v):
        got = g(x)
        expected = np.zeros_like(x)
        expected[0] += x.sum(axis=0) if x.ndim == 2 else np.sum(x)
        expected += x[0]
        np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert_grad_matches(first_times_all, v)
    assert_grad_matches(first_times_all, m)


def rows_dot(w, X, y):
    total = 0.0
    for i in range(X.shape[0]):
        total = total + np.tanh(X[i] @ w - y[i]) ** 2
    return total


def matrix_vector_shapes(A, x, B):
    u = A @ x               # (m,)
    v = x @ B               # (k,)
    s = x @ x               # number
    C = B.T @ A.T           # (k, m)
    return np.sum(u) * s + np.sum(v * v) + np.sum(C.T[0]) + np.mean(A, axis=0) @ x


def axis_reductions(X):
    col = np.sum(X, axis=0)        # (n,)
    row = np.max(X, axis=1)        # (m,)
    keep = np.mean(X, axis=1, keepdims=True)
    return np.sum(col * col) + np.sum(row) + np.sum(X * keep)


def index_kinds(X, c):
    a = X[1]                 # a row
    b = X[1, 2]              # a number
    d = X[:, 1]              # a column
    e = X[1:]                # rows
    return np.sum(a * b) + np.sum(d * c) + np.sum(e) * b


def boolean_index(x):
    m = x[0] > 0.0           # a boolean: x[m] adds an axis, it is no number
    y = x[m]
    return np.sum(y * x)


def broadcast_into_number(x, s):
    t = s * x                # a vector, though s is a number
    u = t[2] + s             # a number
    return u * np.sum(t)


@pytest.mark.parametrize("f, args, wrt", [
    (rows_dot, (R.normal(size=3), R.normal(size=(5, 3)), R.normal(size=5)), (0, 1, 2)),
    (matrix_vector_shapes, (R.normal(size=(4, 3)), R.normal(size=3), R.normal(size=(3, 2))),
     (0, 1, 2)),
    (axis_reductions, (R.normal(size=(3, 4)),), 0),
    (index_kinds, (R.normal(size=(4, 3)), R.normal(size=4)), (0, 1)),
    (boolean_index, (np.array([0.5, -1.0, 2.0]),), 0),
    (broadcast_into_number, (R.normal(size=4), 0.7), (0, 1)),
], ids=lambda v: getattr(v, "__name__", ""))
def test_gradients_with_dimensions_known(f, args, wrt):
    assert_grad_matches(f, *args, wrt=wrt)


def test_a_loop_over_rows_needs_no_unbroadcast_and_is_fused():
    X, y, w = R.normal(size=(5, 3)), R.normal(size=5), R.normal(size=3)
    g = s2sgrad.grad(rows_dot, wrt=(0, 1, 2))
    g(w, X, y)
    assert "unbroadcast" not in g.source
    assert "forward step, recomputed" in g.source
