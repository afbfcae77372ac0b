"""The loops the Numba back end's helpers run in place of NumPy's array expressions:
the adjoint of broadcasting (`unbroadcast`), sums, maxima and minima along an axis
(the rewriting's `reduce_*`), and the adjoint of a max or min along an axis
(`extremum_grad`), over the shapes each loop treats apart (the reduced axis first,
in the middle or last; short rows, rows of more than 128 numbers; ties and NaN).

Each gradient is compiled with `strict=True`, compared with centered finite
differences in float64 (an oracle independent of s2sgrad) and with the NumPy back end
to 1e-12. Skipped without Numba.
"""
import warnings

import numpy as np
import pytest

import s2sgrad
from s2sgrad.backend import numba as numba_backend

from support.numba_cache import numba_cache_dir  # noqa: F401
from support.numba_check import check

pytestmark = pytest.mark.skipif(not numba_backend.available(), reason="Numba not installed")

RNG = np.random.default_rng(18)


# ------------------------------------------------------ adjoints of broadcasting

def broadcast_pairs(x, y):
    return np.sum(np.sin(x - y) * (x + 0.5 * y))


@pytest.mark.parametrize("xs, ys", [
    ((6, 3, 4), (1, 3, 4)),       # one summed axis, then kept ones (a centre's adjoint)
    ((6, 3, 4), (3, 4)),          # leading axes added
    ((6, 3, 4), (6, 1, 4)),       # summed in the middle
    ((6, 3, 4), (6, 3, 1)),       # summed last
    ((6, 3, 4), (1, 3, 1)),       # summed, kept, summed
    ((5, 200), (5, 1)),           # long rows summed
    ((2, 3, 4, 5), (3, 1, 5)),
    ((4, 1), (1,)),
    ((1, 3), (3,)),
    ((3,), ()),
])
def test_unbroadcast_sums_each_summed_run(xs, ys):
    x = RNG.standard_normal(xs)
    y = RNG.standard_normal(ys) if ys else 0.7
    check(broadcast_pairs, (x, y), wrt=(0, 1))


def bias_of_transposed(W, b):
    return np.sum(np.tanh(W.T + b) ** 2)


def test_unbroadcast_of_a_transposed_adjoint():
    check(bias_of_transposed, (RNG.standard_normal((5, 7)), RNG.standard_normal(5)),
          wrt=(0, 1))


def same_shape(x, y):
    z = x * y
    return np.sum(z * z + x)


def test_unbroadcast_of_equal_shapes_is_the_adjoint_itself():
    check(same_shape, (RNG.standard_normal((4, 5)), RNG.standard_normal((4, 5))),
          wrt=(0, 1))


# ------------------------------------------------------ sums along an axis

def row_and_column_sums(x):
    r = np.sum(x * x, axis=1)
    c = np.sum(np.sin(x), axis=0)
    return np.sum(r * np.arange(r.shape[0])) + np.sum(c ** 2) + \
        np.sum(np.mean(np.cos(x), axis=-1, keepdims=True))


@pytest.mark.parametrize("shape", [(7, 3), (5, 8), (4, 37), (3, 150), (1, 1)])
def test_sums_along_rows_and_columns(shape):
    check(row_and_column_sums, (RNG.standard_normal(shape),), atol_fd=1e-6)


def middle_sum(x):
    return np.sum(np.sum(x ** 2, axis=1) * np.sum(x, axis=(0, 1), keepdims=True)[0])


def test_sum_over_a_middle_axis():
    check(middle_sum, (RNG.standard_normal((3, 4, 5)),))


def test_row_sums_are_numpys_numbers():
    """Sums along the last axis add in NumPy's order: the same numbers, for rows of up
    to 128 (float64 and float32), within rounding for longer ones."""
    import numba
    from s2sgrad.backend.numba import helpers as h

    @numba.njit
    def sums(x):
        return h.reduce_sum(x, 1), h.reduce_sum(x, -1, True), h.reduce_mean(x, 1)

    for shape in ((9, 1), (9, 7), (9, 8), (9, 100), (9, 128), (4, 1000), (3, 0)):
        for dtype in (np.float64, np.float32):
            x = (RNG.standard_normal(shape) * 10.0 ** RNG.integers(-3, 4, shape)).astype(dtype)
            got = sums(x)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)     # (the mean of no number)
                want = (x.sum(axis=1), x.sum(axis=-1, keepdims=True), x.mean(axis=1))
            for a, b in zip(got, want):
                assert a.dtype == b.dtype and a.shape == b.shape
                if shape[1] <= 128:
                    np.testing.assert_array_equal(a, b)      # (NaN where NumPy's is)
                else:
                    np.testing.assert_allclose(a, b, rtol=1e-12 if dtype == np.float64
                                               else 1e-5)


# ------------------------------------------------------ max and min along an axis

def nearest(C, X):
    D2 = np.sum((X[:, None, :] - C[None, :, :]) ** 2, axis=2)
    return np.mean(np.min(D2, axis=1))


def test_nearest_centres():
    check(nearest, (RNG.standard_normal((4, 3)), RNG.standard_normal((30, 3))))


def shifted_logsumexp(z):
    m = np.max(z, axis=1, keepdims=True)
    return np.sum(m[:, 0] + np.log(np.sum(np.exp(z - m), axis=1))) + \
        np.sum(np.max(z, axis=0) ** 2)


def test_max_along_rows_and_columns():
    check(shifted_logsumexp, (RNG.standard_normal((6, 5)),))


def pooled(x):
    return np.sum(np.max(x, axis=1) * np.min(x, axis=1)) + np.sum(np.max(x, axis=2) ** 2)


def test_max_and_min_of_three_dimensions():
    check(pooled, (RNG.standard_normal((3, 4, 5)),))


def test_extremum_grad_shares_among_ties_and_propagates_nan():
    """Ties share the adjoint equally (g / count), a NaN extreme gives NaN shares: the
    NumPy helper's numbers, along the first, middle and last axis."""
    import numba
    from s2sgrad.backend.numba import helpers as h
    from s2sgrad.runtime import extremum_grad

    @numba.njit
    def grads(g0, y0, g1, y1, g2, y2, x):
        return (h.extremum_grad(g0, y0, x, 0, False), h.extremum_grad(g1, y1, x, 1, True),
                h.extremum_grad(g2, y2, x, -1, False))

    x = np.round(RNG.standard_normal((4, 5, 6)))
    x[1, 2, 3] = np.nan
    args = []
    for axis, keep in ((0, False), (1, True), (-1, False)):
        y = np.max(x, axis=axis, keepdims=keep)
        args += [RNG.standard_normal(y.shape), y]
    got = grads(*args, x)
    with np.errstate(invalid="ignore"):
        want = (extremum_grad(args[0], args[1], x, 0, False),
                extremum_grad(args[2], args[3], x, 1, True),
                extremum_grad(args[4], args[5], x, -1, False))
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)


def ties(x):
    return np.sum(np.max(x * x, axis=1))


def test_ties_in_a_gradient():
    x = np.array([[1.0, -1.0, 0.5], [0.25, 2.0, -2.0]])
    got = s2sgrad.grad(ties, backend="numba", strict=True)(x)
    np.testing.assert_array_equal(got, s2sgrad.grad(ties)(x))
    np.testing.assert_array_equal(got, [[1.0, -1.0, 0.0], [0.0, 2.0, -2.0]])


# ------------------------------------------------------ solves with a Cholesky factor

def whitened(a, b):
    K = a @ a.T + 3.0 * np.eye(a.shape[0])
    L = np.linalg.cholesky(K)
    z = np.linalg.solve(L, b)
    w = np.linalg.solve(L.T, z)
    return np.sum(z * z) + np.sum(np.sin(w)) + np.sum(np.log(np.diag(L)))


@pytest.mark.parametrize("cols", [None, 3])
def test_triangular_solves_and_their_adjoints(cols):
    """Both triangles, a factor and its transpose, a vector and a matrix right-hand
    side: the substitution loops of solve_triangle, solve_grads and solve_grad_a."""
    a = RNG.standard_normal((5, 5))
    b = RNG.standard_normal(5 if cols is None else (5, cols))
    check(whitened, (a, b), wrt=(0, 1))


def test_triangular_solve_helper_is_numpys():
    import numba
    from s2sgrad.backend.numba import helpers as h
    from s2sgrad.runtime import linalg

    @numba.njit
    def solve(a, b, lower):
        return h.solve_triangle(a, b, lower)

    m = RNG.standard_normal((6, 6))
    lo = np.linalg.cholesky(m @ m.T + 6.0 * np.eye(6))
    for a, lower in ((lo, True), (lo.T, False), (np.ascontiguousarray(lo.T), False),
                     (np.asfortranarray(lo), True)):
        for b in (RNG.standard_normal(6), RNG.standard_normal((6, 2)),
                  RNG.standard_normal((6, 4))[:, ::2]):
            np.testing.assert_allclose(solve(a, b, lower),
                                       linalg.solve_triangle(a, b, lower), rtol=1e-12)
    a32, b32 = lo.astype(np.float32), RNG.standard_normal(6).astype(np.float32)
    assert solve(a32, b32, True).dtype == np.float32
    singular = lo.copy()
    singular[2, 2] = 0.0
    with pytest.raises(np.linalg.LinAlgError):
        solve(singular, b32.astype(float), True)


def test_cholesky_adjoint_helper_is_numpys():
    """The Cholesky adjoint by two triangular solves (`_phi_sandwich`), lower and
    upper factors, C- and Fortran-ordered, float32 kept."""
    import numba
    from s2sgrad.backend.numba import helpers as h
    from s2sgrad.runtime import decompositions

    @numba.njit
    def lower(g, y):
        return h.cholesky_grad(g, y, False)

    @numba.njit
    def upper(g, y):
        return h.cholesky_grad(g, y, True)

    for n in (1, 2, 7):
        m = RNG.standard_normal((n, n))
        lo = np.linalg.cholesky(m @ m.T + n * np.eye(n))
        g = RNG.standard_normal((n, n))
        for y, gy in ((lo, g), (np.asfortranarray(lo), g.T)):
            np.testing.assert_allclose(lower(gy, y), decompositions.cholesky_grad(gy, y),
                                       rtol=1e-12, atol=1e-14)
        up = np.ascontiguousarray(lo.T)
        np.testing.assert_allclose(upper(g, up), decompositions.cholesky_grad(g, up, True),
                                   rtol=1e-12, atol=1e-14)
        got = lower(g.astype(np.float32), lo.astype(np.float32))
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, decompositions.cholesky_grad(g, lo), rtol=1e-4,
                                   atol=1e-5)


def gp_like(a, y):
    K = a @ a.T + 2.0 * np.eye(a.shape[0])
    L = np.linalg.cholesky(K)
    alpha = np.linalg.solve(L.T, np.linalg.solve(L, y))
    return 0.5 * np.dot(y, alpha) + np.sum(np.log(np.diag(L)))


def test_cholesky_adjoint_in_a_gradient():
    check(gp_like, (RNG.standard_normal((6, 6)), RNG.standard_normal(6)), wrt=(0, 1))
