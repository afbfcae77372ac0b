"""`optimize.squares`: in `grad_f`, a square read only by the sum that follows it is one
einsum (no temporary, one pass over memory). Gradients against centred finite
differences (optimized and not), the value of `value_and_grad` against the function's
own bit for bit, the source it writes, and where it must not apply: another axis,
keepdims, the square read elsewhere, integers."""
import numpy as np
import pytest

import s2sgrad

from support.numeric import numerical_grad


def distances(C, X):
    D2 = np.sum((X[:, None, :] - C[None, :, :]) ** 2, axis=2)
    return np.mean(np.min(D2, axis=1))


def row_norms(A, w):
    return np.sum(w * np.sum(A * A, axis=-1))


def least_squares(w, X, y):
    r = X @ w - y
    return np.sum(r ** 2)


def matrix_residual(W, X):
    return 0.5 * np.sum((X @ W - X) ** 2)


def rbf_kernel(X, ell):
    K = np.exp(-np.sum((X[:, None, :] - X[None, :, :]) ** 2, -1) / ell ** 2)
    return np.sum(K)


def unit_rows(A, w):
    norms = np.sqrt(np.sum(A * A, axis=1))
    return np.sum(w * norms) + np.sum(A[0] ** 2)


def first_axis(A, w):
    return np.sum(w * np.sum(A ** 2, axis=0))


def kept_dims(A, w):
    return np.sum(w * np.sum(A ** 2, axis=1, keepdims=True)[:, 0])


def square_read_twice(A, w):
    S = A ** 2
    return np.sum(w * np.sum(S, axis=1)) + np.sum(np.exp(S[0]))


def in_a_loop(A, w):
    total = 0.0
    for k in range(3):
        B = A * (k + 1.0)
        total = total + np.sum(w * np.sum(B ** 2, axis=1))
    return total


def cube_sum(A, w):
    return np.sum(w * np.sum(A ** 3, axis=1))


CASES = [
    (distances, lambda r: (r.standard_normal((3, 2)), r.standard_normal((20, 2)))),
    (row_norms, lambda r: (r.standard_normal((4, 5)), r.standard_normal(4))),
    (least_squares, lambda r: (r.standard_normal(3), r.standard_normal((8, 3)),
                               r.standard_normal(8))),
    (matrix_residual, lambda r: (r.standard_normal((3, 3)), r.standard_normal((6, 3)))),
    (rbf_kernel, lambda r: (r.standard_normal((6, 2)), np.array(1.3))),
    (unit_rows, lambda r: (r.standard_normal((4, 5)), r.standard_normal(4))),
    (first_axis, lambda r: (r.standard_normal((4, 5)), r.standard_normal(5))),
    (kept_dims, lambda r: (r.standard_normal((4, 5)), r.standard_normal(4))),
    (square_read_twice, lambda r: (r.standard_normal((4, 5)), r.standard_normal(4))),
    (in_a_loop, lambda r: (r.standard_normal((4, 5)), r.standard_normal(4))),
    (cube_sum, lambda r: (r.standard_normal((4, 5)), r.standard_normal(4))),
]
IDS = [c[0].__name__ for c in CASES]


@pytest.mark.parametrize("optimize", [True, False])
@pytest.mark.parametrize("f, make", CASES, ids=IDS)
def test_gradient_and_value_against_finite_differences(f, make, optimize):
    args = make(np.random.default_rng(3))
    value, got = s2sgrad.value_and_grad(f, wrt=(0, 1), optimize=optimize)(*args)
    np.testing.assert_allclose(value, f(*args), rtol=1e-12)
    for g, e in zip(got, numerical_grad(f, args, (0, 1))):
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-8)
    for g, e in zip(s2sgrad.grad(f, wrt=(0, 1), optimize=optimize)(*args), got):
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("f, spec, square", [
    (distances, "np.einsum('...i,...i->...', v3, v3)", "v3 ** 2"),
    (row_norms, "np.einsum('...i,...i->...', A, A)", "A * A"),
    (rbf_kernel, "np.einsum('...i,...i->...', v3, v3)", "v3 ** 2"),
    (unit_rows, "np.einsum('...i,...i->...', A, A)", "A * A"),
])
def test_sums_over_the_last_axis_are_one_einsum(f, spec, square):
    make = dict((c[0], c[1]) for c in CASES)[f]
    g = s2sgrad.grad(f, wrt=(0, 1))
    g(*make(np.random.default_rng(3)))
    assert spec in g.source
    assert square not in g.source.split("# backward pass")[0]


def test_value_and_grad_returns_the_value_bit_for_bit():
    """The einsum adds in another order: value_and_grad_f keeps the function's own
    sums, and its value is the function's, bit for bit."""
    for f, make in CASES:
        args = make(np.random.default_rng(3))
        vg = s2sgrad.value_and_grad(f, wrt=(0, 1))
        value, _ = vg(*args)
        assert value == f(*args)
        assert "einsum" not in vg.source


def residual_norm(w, X, y):
    r = X @ w - y
    return np.sqrt(np.sum(r ** 2))


def test_a_full_sum_the_gradient_reads_is_one_einsum():
    args = CASES[2][1](np.random.default_rng(3))
    g = s2sgrad.grad(residual_norm, wrt=(0, 1))
    got = g(*args)
    assert "np.einsum('i,i->', r, r)" in g.source, g.source
    for a, e in zip(got, numerical_grad(residual_norm, args, (0, 1))):
        np.testing.assert_allclose(a, e, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("f", [first_axis, kept_dims, square_read_twice, cube_sum])
def test_left_alone(f):
    make = dict((c[0], c[1]) for c in CASES)[f]
    g = s2sgrad.grad(f, wrt=(0, 1))
    g(*make(np.random.default_rng(3)))
    assert "einsum" not in g.source


def test_integer_squares_keep_numpys_sum():
    """A square of integers is not differentiated: NumPy's sum widens int32 to int64,
    einsum would not."""
    def f(w, counts):
        return np.sum(w * np.sum(counts ** 2, axis=1))
    counts = np.full((3, 4), 40000, dtype=np.int32)
    g = s2sgrad.grad(f, wrt=0)
    grad = g(np.ones(3), counts)
    assert "einsum" not in g.source
    np.testing.assert_allclose(grad, np.sum(counts.astype(np.int64) ** 2, axis=1))


def test_float32_is_kept():
    A = np.random.default_rng(3).standard_normal((50, 7)).astype(np.float32)
    w = np.ones(50, dtype=np.float32)
    gA, gw = s2sgrad.grad(row_norms, wrt=(0, 1))(A, w)
    assert gA.dtype == np.float32 and gw.dtype == np.float32
    np.testing.assert_allclose(gw, np.sum(A.astype(np.float64) ** 2, axis=1), rtol=1e-5)
    np.testing.assert_allclose(gA, 2 * A * w[:, None], rtol=1e-6)
