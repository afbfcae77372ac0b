"""More NumPy met in real code: fmod, copysign (np and math), float_power, heaviside,
dstack, meshgrid, the nan-aware reductions, ptp, percentile and quantile, trapezoid,
linspace between values, maximum/minimum.accumulate, logaddexp.reduce, linalg.lstsq,
sliding_window_view (convolutions written with windows) and the methods `.tolist()`,
`.conj()` and `.conjugate()`.

Each is checked in reverse mode (the gradient against centered finite differences in
float64) and in forward mode (a jvp against the directional finite difference), in the
variants real code uses (axis, keepdims, ddof, options passed by keyword). Arrays holding
NaN are differentiated at the entries that are not NaN (finite differences there). What
is not supported (other quantile methods, retstep, a rank-deficient lstsq) is refused.
"""
import math

import numpy as np
import pytest

import s2sgrad
from s2sgrad.errors import GradientError, TransformError

from support.numeric import assert_grad_matches

RNG = np.random.default_rng(11)
X12 = RNG.normal(size=12)
X24 = RNG.normal(size=24)
# distinct values at least 0.05 apart (order statistics without near-ties)
D12 = RNG.permutation(12) * 0.3 + RNG.uniform(-0.05, 0.05, 12)
D24 = RNG.permutation(24) * 0.3 + RNG.uniform(-0.05, 0.05, 24)


def check_jvp(f, x, rtol=1e-6, atol=1e-8):
    """s2sgrad.jvp(f) along a random direction against (f(x + hv) - f(x - hv)) / 2h."""
    v = RNG.normal(size=np.shape(x))
    out, tangent = s2sgrad.jvp(f)((x,), (v,))
    h = 1e-6
    expected = (f(x + h * v) - f(x - h * v)) / (2 * h)
    np.testing.assert_allclose(out, f(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(tangent, expected, rtol=rtol, atol=atol)


# ---------------------------------------------------------------- elementwise
def fmod(x):
    return np.sum(np.fmod(3.0 * x[:6], x[6:] + 2.5) * x[:6]) + np.sum(np.fmod(x, 0.7) ** 2)


def copysign(x):
    return np.sum(np.copysign(x[:6] + 0.1, x[6:]) * x[:6]) + np.sum(np.copysign(x, -1.0))


def math_copysign(x):
    return math.copysign(x[0] * x[1], x[2]) + math.copysign(2.0, x[3]) * x[4] \
        + math.copysign(x[5], -1.0) ** 2


def float_power(x):
    return np.sum(np.float_power(np.abs(x[:6]) + 0.5, x[6:])) + np.sum(np.float_power(x, 2))


def heaviside(x):
    return np.sum(np.heaviside(x, 0.5) * x * x) + np.sum(np.heaviside(x[:6], x[6:]) * x[6:])


# ---------------------------------------------------------------- stacks and grids
def dstack(x):
    m = np.dstack([np.reshape(x[:6], (2, 3)), np.reshape(x[6:], (2, 3)) ** 2])
    return np.sum(np.sin(m) * np.arange(12.0).reshape(2, 3, 2))


def dstack_vectors(x):
    return np.sum(np.dstack((x[:4], x[4:8] * x[8:])) ** 2 * np.arange(8.0).reshape(1, 4, 2))


def meshgrid_xy(x):
    a, b = np.meshgrid(x[:3], x[3:7])
    return np.sum(a * b * np.arange(12.0).reshape(4, 3)) + np.sum(np.sin(a))


def meshgrid_ij(x):
    a, b = np.meshgrid(x[:3], x[3:7], indexing="ij")
    return np.sum(a * b * b * np.arange(12.0).reshape(3, 4))


def meshgrid_three(x):
    a, b, c = np.meshgrid(x[:2], x[2:5], x[5:9])
    return np.sum(a * b * c * np.arange(24.0).reshape(3, 2, 4))


def meshgrid_three_ij(x):
    grids = np.meshgrid(x[:2], x[2:5], x[5:9], indexing="ij")
    return np.sum(grids[0] * np.exp(grids[2]) + grids[1] ** 2 * grids[2])


def meshgrid_one_used(x):
    a, b = np.meshgrid(x[:3], x[3:7])
    return np.sum(a ** 3)


# ---------------------------------------------------------------- nan-aware reductions
NAN_AT = np.zeros(12, bool)
NAN_AT[[1, 6, 7]] = True


def with_nan(x):
    return np.where(NAN_AT, np.nan, x)


def nansum(x):
    return np.nansum(with_nan(x * x)) + np.sum(np.nansum(np.reshape(with_nan(x), (3, 4)),
                                                        axis=0) ** 2)


def nanmean(x):
    m = np.reshape(with_nan(x), (3, 4))
    return np.nanmean(with_nan(x ** 2)) + np.sum(np.nanmean(m, axis=1) * np.arange(3.0)) \
        + np.sum(np.nanmean(m, axis=0, keepdims=True) * x[:4])


def nanmax_nanmin(x):
    m = np.reshape(with_nan(D12 * x), (3, 4))
    return np.nanmax(with_nan(D12 + x)) + np.sum(np.nanmin(m, axis=1) ** 2) \
        + np.sum(np.nanmax(m, axis=0, keepdims=True) * np.arange(4.0))


def nanprod(x):
    m = np.reshape(with_nan(x), (3, 4))
    return np.nanprod(with_nan(x)) + np.sum(np.nanprod(m, axis=1)) \
        + np.sum(np.nanprod(m, axis=0, keepdims=True) ** 2)


def nanvar(x):
    m = np.reshape(with_nan(x), (3, 4))
    return np.nanvar(with_nan(x)) + np.sum(np.nanvar(m, axis=1, ddof=1) * np.arange(3.0)) \
        + np.sum(np.nanvar(m, axis=0, keepdims=True))


def nanstd(x):
    m = np.reshape(with_nan(x), (3, 4))
    return np.nanstd(with_nan(x), ddof=1) + np.sum(np.nanstd(m, axis=1) ** 3) \
        + np.sum(np.nanstd(m, axis=0, keepdims=True) * np.arange(4.0))


def nan_free(x):
    m = np.reshape(x, (3, 4))
    return np.nansum(m * m) + np.sum(np.nanmean(m, axis=0)) + np.nanstd(x) + np.nanvar(x)


# ---------------------------------------------------------------- order statistics
def ptp(x):
    m = np.reshape(D12 * x, (3, 4))
    return np.ptp(D12 + x) + np.sum(np.ptp(m, axis=0) ** 2) \
        + np.sum(np.ptp(m, axis=1, keepdims=True) * m)


def quantile(x):
    y = D12 + x
    m = np.reshape(y, (3, 4))
    return np.quantile(y, 0.3) + np.sum(np.quantile(y, [0.1, 0.5, 1.0]) * np.arange(3.0)) \
        + np.sum(np.quantile(m, 0.25, axis=1) ** 2) \
        + np.sum(np.quantile(m, [0.2, 0.7], axis=0, keepdims=True) * m[0])


def percentile(x):
    y = D24 + x
    m = np.reshape(y, (2, 3, 4))
    return np.percentile(y, 40.0) + np.sum(np.percentile(m, [10.0, 90.0], axis=-1) ** 2) \
        + np.sum(np.percentile(m, 50, axis=(0, 2)) * np.arange(3.0)) \
        + np.sum(np.percentile(m, 35.0, axis=1, keepdims=True, method="linear") * m)


def trapezoid(x):
    m = np.reshape(x, (3, 4))
    return np.trapezoid(x * x) + np.sum(np.trapezoid(m, dx=0.5, axis=0)) \
        + np.sum(np.trapezoid(m, x=np.cumsum(np.exp(x[:4]))) ** 2)


# ---------------------------------------------------------------- linspace, ufunc methods
def linspace(x):
    return np.sum(np.linspace(x[0], x[1] ** 2, 7) * np.arange(7.0)) \
        + np.sum(np.sin(np.linspace(x[2], 3.0, 5, endpoint=False))) \
        + np.sum(np.linspace(0.0, x[3], num=4) ** 2)


def linspace_arrays(x):
    y = np.linspace(x[:3], x[3:6], 4)
    z = np.linspace(x[6], x[7:9], 5, axis=1)
    return np.sum(y * np.arange(12.0).reshape(4, 3)) + np.sum(z ** 2)


def accumulate(x):
    y = D12 * x
    m = np.reshape(y, (3, 4))
    return np.sum(np.maximum.accumulate(y) * np.arange(12.0)) \
        + np.sum(np.minimum.accumulate(m, axis=1) ** 2) \
        + np.sum(np.maximum.accumulate(m) * m)


def logaddexp_reduce(x):
    m = np.reshape(x, (3, 4))
    return np.logaddexp.reduce(x) + np.sum(np.logaddexp.reduce(m, axis=1) * np.arange(3.0)) \
        + np.sum(np.logaddexp.reduce(m, axis=0, keepdims=True) * m)


# ---------------------------------------------------------------- least squares
A_LS = RNG.normal(size=(6, 3))


def lstsq(x):
    a = A_LS + 0.1 * np.reshape(x[:18], (6, 3))
    sol, res, rank, sv = np.linalg.lstsq(a, x[18:], rcond=None)
    return np.sum(sol * np.arange(1.0, 4.0)) + np.sum(sol ** 2)


def lstsq_matrix_b(x):
    a = A_LS + 0.1 * np.reshape(x[:18], (6, 3))
    b = np.reshape(np.concatenate([x[18:], x[18:] ** 2]), (6, 2))
    sol = np.linalg.lstsq(a, b)[0]
    return np.sum(np.sin(sol))


def lstsq_residuals(x):
    a = A_LS + 0.1 * np.reshape(x[:18], (6, 3))
    sol, res, rank, sv = np.linalg.lstsq(a, x[18:], rcond=None)
    return np.sum(res) + np.sum(sv ** 2) + np.sum(sol)


# ---------------------------------------------------------------- methods
def tolist(x):
    xs = (x * x).tolist()
    rows = np.reshape(x, (3, 4)).tolist()
    return xs[0] + 2.0 * xs[5] + sum(xs) + rows[1][2] * rows[2][0] + sum(rows[0])


def conj_methods(x):
    return np.sum(x.conj() * x) + np.sum(np.sin(x).conjugate()) + (x[0] * 2.0).conjugate()


# ---------------------------------------------------------------- windows
def windows_1d(x):
    w = np.array([0.2, -0.5, 1.0])
    return np.sum(np.tanh(np.lib.stride_tricks.sliding_window_view(x, 3) @ w) ** 2)


def windows_2d(x):
    img = np.reshape(x, (3, 4))
    win = np.lib.stride_tricks.sliding_window_view(img, (2, 3))
    return np.sum(np.sin(np.einsum("ijkl,kl->ij", win, img[:2, :3])))


def windows_along_an_axis(x):
    w = np.lib.stride_tricks.sliding_window_view(np.reshape(x, (3, 4)), window_shape=2,
                                                 axis=1)
    return np.sum(w[..., 0] * w[..., 1] ** 2)


def windows_along_two_axes(x):
    w = np.lib.stride_tricks.sliding_window_view(np.reshape(x, (2, 3, 4)), (2, 2),
                                                 axis=(2, 1))
    return np.sum(np.exp(0.3 * w) * np.arange(2)[:, None])


CASES = [(fmod, X12), (copysign, X12), (math_copysign, X12), (float_power, X12),
         (heaviside, X12), (dstack, X12), (dstack_vectors, X12), (meshgrid_xy, X12),
         (meshgrid_ij, X12), (meshgrid_three, X12), (meshgrid_three_ij, X12),
         (meshgrid_one_used, X12), (nansum, X12), (nanmean, X12), (nanmax_nanmin, X12),
         (nanprod, X12), (nanvar, X12), (nanstd, X12), (nan_free, X12), (ptp, X12),
         (quantile, X12), (percentile, X24), (trapezoid, X12), (linspace, X12),
         (linspace_arrays, X12), (accumulate, X12), (logaddexp_reduce, X12),
         (lstsq, X24), (lstsq_matrix_b, X24), (lstsq_residuals, X24), (tolist, X12),
         (conj_methods, X12), (windows_1d, X12), (windows_2d, X12),
         (windows_along_an_axis, X12), (windows_along_two_axes, X24)]


@pytest.mark.parametrize("f, x", CASES, ids=[f.__name__ for f, _ in CASES])
def test_gradient_matches_finite_differences(f, x):
    assert_grad_matches(f, x.copy())


@pytest.mark.parametrize("f, x", CASES, ids=[f.__name__ for f, _ in CASES])
def test_tangent_matches_finite_differences(f, x):
    check_jvp(f, x.copy())


def nan_only_reduced(x):
    return np.nansum(with_nan(x)) + np.nanmean(with_nan(x) * 2.0) + np.nanstd(with_nan(x))


def test_nan_positions_get_no_gradient_through_the_reduction():
    g = s2sgrad.grad(nan_only_reduced)(X12.copy())
    assert np.all(g[NAN_AT] == 0.0)
    assert np.all(g[~NAN_AT] != 0.0)


@pytest.mark.parametrize("f", [nanmean, quantile, fmod, dstack, meshgrid_xy, linspace,
                               windows_1d],
                         ids=lambda f: f.__name__)
def test_float32_stays_float32(f):
    x = X12.astype(np.float32)
    g = s2sgrad.grad(f)(x)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, s2sgrad.grad(f)(X12.copy()), rtol=1e-3, atol=1e-4)


# ---------------------------------------------------------------- refusals
def quantile_nearest(x):
    return np.quantile(x, 0.3, method="nearest")


def percentile_weights(x):
    return np.percentile(x, 30.0, method="inverted_cdf", weights=np.ones(12))


def linspace_retstep(x):
    y, step = np.linspace(0.0, x[0], 5, retstep=True)
    return np.sum(y) + step


def linspace_num_from_input(x):
    return np.sum(np.linspace(0.0, 1.0, int(x[0] * 0 + 5)) * x[1])


def quantile_q_from_input(x):
    return np.quantile(x, 1.0 / (1.0 + np.exp(-x[0])))


def max_accumulate_out(x):
    out = np.zeros(12)
    return np.sum(np.maximum.accumulate(x, out=out))


def writeable_windows(x):
    return np.sum(np.lib.stride_tricks.sliding_window_view(x, 3, writeable=True))


@pytest.mark.parametrize("f, what", [(quantile_nearest, "`method=`"),
                                     (writeable_windows, "`writeable=`"),
                                     (percentile_weights, "weights"),
                                     (linspace_retstep, "`retstep=`"),
                                     (quantile_q_from_input, "`q`"),
                                     (max_accumulate_out, "`out=`")],
                         ids=lambda v: getattr(v, "__name__", "what"))
def test_unsupported_options_are_refused(f, what):
    with pytest.raises(TransformError, match=what):
        s2sgrad.grad(f)(X12.copy())


def test_lstsq_of_a_rank_deficient_matrix_is_refused():
    def f(x):
        a = np.outer(x[:6], np.ones(3))
        return np.sum(np.linalg.lstsq(a, x[6:], rcond=None)[0])
    with pytest.raises(GradientError, match="full column rank"):
        s2sgrad.grad(f)(X12.copy())
    with pytest.raises(GradientError, match="full column rank"):
        s2sgrad.jvp(f)((X12.copy(),), (X12.copy(),))


def test_lstsq_rank_is_a_constant():
    def f(x):
        a = A_LS + 0.1 * np.reshape(x[:18], (6, 3))
        sol, res, rank, sv = np.linalg.lstsq(a, x[18:])
        return np.sum(sol) * rank
    assert_grad_matches(f, X24.copy())


# ---------------------------------------------------------------- forward over reverse
HVP_CASES = list(CASES)        # lstsq's included: its rank check runs as written


@pytest.mark.parametrize("f, x", HVP_CASES, ids=[f.__name__ for f, _ in HVP_CASES])
def test_hvp_matches_finite_differences_of_the_gradient(f, x):
    """The adjoint templates are differentiable in forward mode: hvp against the
    directional finite difference of s2sgrad's own gradient (checked above)."""
    v = RNG.normal(size=x.shape)
    g = s2sgrad.grad(f)
    h = 1e-5
    expected = (g(x + h * v) - g(x - h * v)) / (2 * h)
    np.testing.assert_allclose(s2sgrad.hvp(f)(x.copy(), v), expected, rtol=1e-4, atol=1e-5)

