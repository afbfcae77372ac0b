"""`optimize.trace_passes.stop_softmax_shifts`: the stabilising shift of a softmax,
log-softmax or log-sum-exp written by hand gets no adjoint (it is exactly zero). Each
case: the gradient against centred finite differences, optimized and not, and whether
the generated code still differentiates the `max`."""
import numpy as np
import pytest

import s2sgrad

from support.numeric import numerical_grad


def softmax_rows(z, t):
    e = np.exp(z - np.max(z, axis=1, keepdims=True))
    p = e / np.sum(e, axis=1, keepdims=True)
    return np.sum((p - t) ** 2)


def log_softmax_rows(z, t):
    z = z - np.max(z, axis=1, keepdims=True)
    logp = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))
    return -np.sum(logp * t)


def log_softmax_all(z, t):
    lw = z - np.max(z)
    lw = lw - np.log(np.sum(np.exp(lw)))
    return np.sum(lw * t)


def logsumexp_indexed(z, t):
    m = np.max(z, axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.sum(np.exp(z - m), axis=1))
    return np.sum(lse * t[:, 0])


def logsumexp_kept(z, t):
    m = z.max(axis=-1, keepdims=True)
    return np.sum((m + np.log(np.sum(np.exp(z - m), axis=-1, keepdims=True))) * t[:, :1])


def softmax_in_a_loop(z, t):
    total = 0.0
    for k in range(3):
        s = z * (k + 1.0)
        e = np.exp(s - np.max(s, axis=1, keepdims=True))
        total = total + np.sum(e / np.sum(e, axis=1, keepdims=True) * t)
    return total


def logsumexp_axis_put_back(z, t):             # the max without keepdims, put back
    m = z.max(axis=1)
    return np.sum((m + np.log(np.exp(z - m[:, None]).sum(axis=1))) * t[:, 0])


def softmax_axis_put_back(z, t):
    m = np.max(z, axis=1)
    e = np.exp(z - m[:, None])
    return np.sum(e / np.sum(e, axis=1, keepdims=True) * t)


def log_softmax_columns_put_back(z, t):
    m = np.max(z, axis=0)
    s = z - m[None, :]
    return -np.sum((s - np.log(np.sum(np.exp(s), axis=0, keepdims=True))) * t)


# left alone: the max is used for something else, or broadcasts along another axis
def put_back_along_another_axis(z, t):
    m = np.max(z, axis=1)
    e = np.exp(z - m[None, :])          # the rows' maxima subtracted along the columns
    return np.sum(e / np.sum(e, axis=1, keepdims=True) * t)


def put_back_and_read_again(z, t):
    m = np.max(z, axis=1)
    mk = m[:, None]
    e = np.exp(z - mk)
    return np.sum(e / np.sum(e, axis=1, keepdims=True) * t) + np.sum(mk)


def max_also_returned(z, t):
    m = np.max(z, axis=1, keepdims=True)
    e = np.exp(z - m)
    return np.sum(e / np.sum(e, axis=1, keepdims=True) * t) + np.sum(m)


def shift_without_keepdims(z, t):
    m = np.max(z, axis=1)
    e = np.exp(z - m)                   # (3, 3) - (3,): shifts the columns
    return np.sum(e / np.sum(e, axis=1) * t)


STOPPED = [softmax_rows, log_softmax_rows, log_softmax_all, logsumexp_indexed,
           logsumexp_kept, softmax_in_a_loop, logsumexp_axis_put_back,
           softmax_axis_put_back, log_softmax_columns_put_back]
KEPT = [max_also_returned, shift_without_keepdims, put_back_along_another_axis,
        put_back_and_read_again]

rng = np.random.default_rng(5)
Z = rng.normal(size=(3, 3))
T = rng.uniform(size=(3, 3))
TIES = np.array([[1.0, 1.0, 0.2], [0.3, 0.3, 0.3], [2.0, -1.0, 2.0]])


@pytest.mark.parametrize("f", STOPPED + KEPT, ids=lambda f: f.__name__)
@pytest.mark.parametrize("z", [Z, TIES], ids=["distinct", "ties"])
@pytest.mark.parametrize("optimize", [True, False])
def test_gradient_matches_finite_differences(f, z, optimize):
    if f in KEPT and z is TIES:
        pytest.skip("the max itself is differentiated: not smooth at ties")
    got = s2sgrad.grad(f, optimize=optimize)(z, T)
    np.testing.assert_allclose(got, numerical_grad(f, (z, T), 0), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("f", STOPPED, ids=lambda f: f.__name__)
def test_the_shift_gets_no_adjoint(f):
    g = s2sgrad.grad(f)
    g(Z, T)
    assert "extremum_grad" not in g.source
    assert "extremum_grad" in s2sgrad.grad(f, optimize=False).source


@pytest.mark.parametrize("f", KEPT, ids=lambda f: f.__name__)
def test_other_uses_keep_the_adjoint_of_the_max(f):
    g = s2sgrad.grad(f)
    g(Z, T)
    assert "extremum_grad" in g.source


def test_hvp_through_a_stopped_shift():
    """Closed form: per row, -Σ t·log softmax(z) has Hessian (Σ t)(diag p - p pᵀ)."""
    v = rng.normal(size=(3, 3))
    got = s2sgrad.hvp(log_softmax_rows)(Z, T, v)
    p = np.exp(Z) / np.sum(np.exp(Z), axis=1, keepdims=True)
    want = np.sum(T, axis=1, keepdims=True) * (p * v - p * np.sum(p * v, axis=1, keepdims=True))
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
