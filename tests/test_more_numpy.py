"""The NumPy and `math` rules added for ordinary code (triangles, padding, axes,
take_along_axis, cumprod, average, trapezoid, polyval, interp, convolve/correlate, kron,
vdot, cross, cholesky, eigh, svd, pinv, matrix_power, qr, special functions) used together
in whole programs: gradients, forward-mode tangents and Hessian-vector products against
finite differences of the programs themselves, and a stand-alone module written by
`s2sgrad transform` (its copied runtime helpers included).

Each rule alone is checked in test_rules.py (reverse), test_tangent_rules.py (forward)
and test_zero_adjoints.py (the zero adjoint).
"""
import importlib.util
import math
import re

import numpy as np
import pytest

import s2sgrad
from s2sgrad.tools.cli import main

from support.numeric import numerical_grad

trapezoid = getattr(np, "trapezoid", None) or np.trapz
KNOTS = np.array([-1.0, 0.0, 0.5, 1.0])


def f_arrays(x):
    m = np.reshape(x, (3, 4))
    t = np.tril(m, 1) + np.triu(m) * 0.5
    p = np.pad(t, ((1, 0), (0, 2)), constant_values=0.3)
    q = np.rot90(np.swapaxes(p, 0, 1)) @ np.fliplr(p).T
    k = np.kron(q[:2, :2], np.flipud(m[:2, :3]))
    c = np.convolve(x[:5], x[5:8], "same") + np.correlate(x[:5], x[8:], "valid")[0]
    v = np.cross(m[:, :3], np.moveaxis(m, 0, 1)[1:, :].T)
    s = np.take_along_axis(m, np.array([[1, 1], [0, 3], [2, 0]]), axis=1)
    return np.sum(k * k) + np.sum(c ** 2) + np.sum(np.sin(v)) + np.vdot(m, m[::-1]) \
        + np.sum(s ** 3)


def f_series(x):
    m = np.reshape(x, (3, 4))
    a = np.average(m, axis=1, weights=m[0] ** 2 + 1.0)
    c = np.cumprod(m * 0.5 + 1.0, axis=1)
    i = trapezoid(m, np.cumsum(np.exp(x[:4])), axis=1)
    p = np.polyval(x[:3], m)
    q = np.interp(x[4:8] * 0.5, KNOTS, x[8:])
    return np.sum(a * i) + np.sum(c) + np.sum(np.tanh(p)) + np.sum(q ** 2)


def f_linalg(x):
    m = np.reshape(x, (3, 4))
    s = m[:, :3] @ m[:, :3].T + 3.0 * np.eye(3)
    chol = np.linalg.cholesky(s)
    w, vecs = np.linalg.eigh(s + np.diag([0.0, 2.0, 5.0]))
    u, sv, vh = np.linalg.svd(m, full_matrices=False)
    q, r = np.linalg.qr(m.T)
    return (np.sum(chol) + np.sum(w * w) + np.sum(vecs[:, 0] ** 2 * np.arange(3.0))
            + np.sum(sv) + np.sum(np.outer(u[:, 0], vh[0]) * m) + np.sum(q * q[:, :1])
            + np.sum(r) + np.sum(np.linalg.pinv(m))
            + np.sum(np.linalg.matrix_power(s / 4.0, 3))
            + np.sum(np.linalg.eigvalsh(s) ** 2))


def f_special(x):
    return (math.erfc(x[0]) + math.gamma(x[1] + 2.0) + math.lgamma(x[2] + 3.0)
            + math.asinh(x[3]) + math.acosh(x[4] + 2.0) + math.atanh(x[5] * 0.5)
            + math.degrees(x[6]) + math.radians(x[7])
            + np.sum(np.sinc(x) + np.deg2rad(x) * np.rad2deg(x) + np.arccosh(x * x + 1.5)))


PROGRAMS = [pytest.param(f, id=f.__name__) for f in (f_arrays, f_series, f_linalg, f_special)]
X = np.random.default_rng(11).uniform(-0.8, 0.8, 12)
V = np.random.default_rng(12).normal(size=12)


def fd_directional(f, x, v, h=1e-6):
    return (f(x + h * v) - f(x - h * v)) / (2 * h)


def fd_hessian(f, x, h=1e-4):
    """Second-order centred differences of f itself."""
    n = x.size
    hess = np.zeros((n, n))
    eye = np.eye(n) * h
    for i in range(n):
        for j in range(i, n):
            hess[i, j] = hess[j, i] = (f(x + eye[i] + eye[j]) - f(x + eye[i] - eye[j])
                                       - f(x - eye[i] + eye[j]) + f(x - eye[i] - eye[j])) \
                / (4 * h * h)
    return hess


@pytest.mark.parametrize("f", PROGRAMS)
def test_gradient(f):
    np.testing.assert_allclose(s2sgrad.grad(f)(X), numerical_grad(f, (X,)),
                               rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("f", PROGRAMS)
def test_jvp(f):
    value, tangent = s2sgrad.jvp(f)((X,), (V,))
    assert value == pytest.approx(f(X), rel=1e-12)
    assert tangent == pytest.approx(fd_directional(f, X, V), rel=1e-6, abs=1e-8)


def h_cholesky(x):
    m = x.reshape(3, 4)[:, :3]
    return np.sum(np.linalg.cholesky(m @ m.T + 3.0 * np.eye(3)))
def h_matrix_power(x): return np.sum(np.linalg.matrix_power(x.reshape(3, 4)[:, :3], 3))
def h_cumprod_polyval(x): return np.sum(np.cumprod(x)) + np.sum(np.polyval(x[:4], x[4:]))
def h_trapezoid(x): return trapezoid(np.sin(x[:6]), np.cumsum(np.exp(x[6:])))


@pytest.mark.parametrize("f", [pytest.param(f, id=f.__name__) for f in (
    f_arrays, f_special, h_cholesky, h_matrix_power, h_cumprod_polyval, h_trapezoid)])
def test_hessian_vector_product(f):
    """Forward over reverse: through the tangent rules of the runtime helpers the adjoints
    call (tril_grad, pad_grad, kron_grad_a, ...) or through the helpers' own source."""
    hv = s2sgrad.hvp(f)(X, V)
    expected = fd_hessian(f, X) @ V
    np.testing.assert_allclose(hv, expected, rtol=1e-5, atol=1e-5 * np.max(np.abs(expected)))


MODULE = '''\
import numpy as np


def loss(x):
    m = np.reshape(x, (3, 4))
    u, s, vh = np.linalg.svd(m, full_matrices=False)
    p = np.pad(np.tril(m), 1)
    c = np.cumprod(np.cross(m[:, :3], m[:, 1:]), axis=0)
    return np.sum(s ** 2) + np.sum(p * p[::-1]) + np.sum(c) + np.trapezoid(x) + \\
        np.sum(np.interp(x, np.array([-1.0, 0.0, 1.0]), np.array([0.5, -0.5, 2.0])))
'''


def test_transform_copies_the_new_helpers(tmp_path, capsys):
    src = tmp_path / "model.py"
    src.write_text(MODULE.replace("np.trapezoid", "np." + trapezoid.__name__))
    out = tmp_path / "model_grad.py"
    assert main(["transform", str(src), "-o", str(out)]) == 0, capsys.readouterr().err
    text = out.read_text()
    assert not re.search(r"^\s*(import|from) s2sgrad", text, re.M)
    for helper in ("def svd_grad", "def pad_grad", "def tril_grad", "def cumprod_grad",
                   "def cross_grad_a", "def interp_grad_x", "def _interp_parts"):
        assert helper in text
    spec = importlib.util.spec_from_file_location("model_grad_more", out)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    grad = mod.grad_loss(X)
    grad = grad[0] if isinstance(grad, tuple) else grad
    np.testing.assert_allclose(grad, numerical_grad(mod.loss, (X,)), rtol=1e-6, atol=1e-7)


# ------------------------------------- methods of a global array (cs231n's `X.dot(W)`)

_DATA = np.random.default_rng(12).normal(size=(5, 4))
_LABELS = np.array([0, 2, 1, 2, 0])


def svm_loss_of_global_data(W):
    scores = _DATA.dot(W)
    correct = scores[np.arange(5), _LABELS][:, np.newaxis]
    margins = np.maximum(0, scores - correct + 1)
    margins[np.arange(5), _LABELS] = 0
    return margins.sum() / 5 + 0.5 * np.sum(W * W) + _DATA.T.dot(_DATA).dot(W).sum()


def test_methods_of_a_global_array():
    W = np.random.default_rng(13).normal(size=(4, 3)) * 0.1
    got = s2sgrad.grad(svm_loss_of_global_data)(W.copy())
    np.testing.assert_allclose(got, numerical_grad(svm_loss_of_global_data, (W.copy(),)),
                               rtol=1e-6, atol=1e-8)
    v = np.random.default_rng(14).normal(size=W.shape)
    _, t = s2sgrad.jvp(svm_loss_of_global_data)((W.copy(),), (v,))
    h = 1e-6
    assert t == pytest.approx((svm_loss_of_global_data(W + h * v)
                               - svm_loss_of_global_data(W - h * v)) / (2 * h), rel=1e-6)


# ------------------------------------------------------------------ cumprod's two paths
def cumprod_wealth(w, R):
    wealth = np.cumprod(1.0 + R @ w)
    return -np.log(wealth[-1]) + np.sum(wealth) * 0.01


def cumprod_axes(x):
    return np.sum(np.cumprod(x, axis=1) * np.arange(1.0, 6.0)) + np.sum(np.cumprod(x, axis=0) ** 2)


def cumprod_rows(x):
    return np.sum(np.cumprod(x, axis=1) * np.arange(1.0, 6.0))


@pytest.mark.parametrize("f, x", [
    (cumprod_axes, np.linspace(0.5, 1.5, 15).reshape(3, 5)),       # no product zero
    (cumprod_axes, np.array([[1.2, 0.0, 0.7, 1.1, 0.9],             # zeros: the recurrence
                             [0.8, 1.3, 0.0, 0.0, 1.4], [1.1, 0.6, 1.5, 0.9, 0.0]])),
    (cumprod_rows, np.array([[1e-160, 1e-160, 1e160, 2.0, 0.5],     # a subnormal product
                             [1.0, 1.0, 1.0, 1.0, 1.0], [0.9, 1.1, 1.2, 0.8, 1.3]])),
], ids=["nonzero", "zeros", "subnormal"])
def test_cumprod_gradient_on_either_path_matches_finite_differences(f, x):
    """The adjoint of cumprod is vectorised where no running product is zero, subnormal or
    infinite, and the exact backward recurrence otherwise; both against differences."""
    assert np.allclose(s2sgrad.grad(f)(x), numerical_grad(f, (x,)), rtol=1e-6, atol=1e-8)


def test_cumprod_of_returns_over_many_steps_matches_finite_differences():
    rng = np.random.default_rng(3)
    R = 0.01 * rng.standard_normal((250, 6))
    w = np.full(6, 0.2)
    assert np.allclose(s2sgrad.grad(cumprod_wealth)(w, R),
                       numerical_grad(cumprod_wealth, (w, R)), rtol=1e-6, atol=1e-9)
