"""Forward mode keeps the precision of its arguments: for float32 arguments and
float32 tangents, jvp's tangent, hvp's product and the tangent of forward over reverse
are float32 like the value (a float64 tangent meant the tangent code ran in float64,
twice the memory, and a result of another type than the value). Values are checked
against centered finite differences of the same function in float64, at float32
tolerance."""
import numpy as np
import pytest

import s2sgrad


def elementwise(x):
    return np.sum(np.sin(x) * np.cos(2.0 * x) + np.sqrt(x) / (1.0 + x * x))


def exp_log_tanh(x):
    return np.sum(np.exp(0.5 * x) + np.log(x + 1.0) * np.tanh(x))


def power(x):
    return np.sum(x ** 3 + x ** 2.5 + 2.0 ** x)


def reductions(x):
    m = x.reshape(2, 3)
    return np.sum(np.mean(m, axis=0) ** 2) + np.prod(x) + np.var(x) + np.std(m, axis=1)[0]


def extrema(x):
    return np.max(x) * np.min(x) + np.sum(np.maximum(x, 0.6) ** 2)


def products(x):
    a = x.reshape(2, 3)
    b = np.outer(x[:3], x[3:])
    return np.sum((a @ a.T) ** 2) * 0.5 + np.sum(np.dot(a, b)) + np.linalg.norm(x)


def cumulative(x):
    return np.sum(np.cumsum(x) * np.cumprod(x) * x)


CORPUS = [elementwise, exp_log_tanh, power, reductions, extrema, products, cumulative]
X = np.array([0.3, 0.9, 0.45, 1.2, 0.7, 1.05])
V = np.array([0.5, -1.0, 0.25, 0.8, -0.3, 0.6])


def fd_jvp(f, x, v, h=1e-6):
    return (f(x + h * v) - f(x - h * v)) / (2 * h)


def fd_hvp(f, x, v, h=1e-3):
    """(H·v)ᵢ by the four-point centered difference of f in float64."""
    out = np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h
        out[i] = (f(x + e + h * v) - f(x + e - h * v) - f(x - e + h * v)
                  + f(x - e - h * v)) / (4 * h * h)
    return out


def close32(got, want):
    np.testing.assert_allclose(np.asarray(got, dtype=np.float64), want, rtol=2e-3, atol=2e-3)


@pytest.mark.parametrize("f", CORPUS, ids=lambda f: f.__name__)
def test_jvp_tangent_has_the_primal_dtype(f):
    x32, v32 = X.astype(np.float32), V.astype(np.float32)
    value, tangent = s2sgrad.jvp(f)((x32,), (v32,))
    assert np.asarray(value).dtype == np.float32
    assert np.asarray(tangent).dtype == np.float32, f"tangent is {np.asarray(tangent).dtype}"
    close32(value, f(X))
    close32(tangent, fd_jvp(f, X, V))


@pytest.mark.parametrize("f", CORPUS, ids=lambda f: f.__name__)
def test_hvp_and_forward_over_reverse_keep_float32(f):
    x32, v32 = X.astype(np.float32), V.astype(np.float32)
    hv = s2sgrad.hvp(f)(x32, v32)
    assert hv.dtype == np.float32, f"hvp is {hv.dtype}"
    want = fd_hvp(f, X, V)
    close32(hv, want)
    g, gdot = s2sgrad.jvp(s2sgrad.grad(f))((x32,), (v32,))
    assert np.asarray(g).dtype == np.float32
    assert np.asarray(gdot).dtype == np.float32, f"jvp of grad is {np.asarray(gdot).dtype}"
    close32(gdot, want)


@pytest.mark.parametrize("f", [power, products], ids=lambda f: f.__name__)
def test_hessian_of_float32_is_float32(f):
    hess = s2sgrad.hessian(f)(X.astype(np.float32))
    assert hess.dtype == np.float32
    want = np.stack([fd_hvp(f, X, e) for e in np.eye(X.size)], axis=1)
    close32(hess, want)


def test_float32_number_gets_a_float32_tangent():
    value, tangent = s2sgrad.jvp(lambda x: x ** 3)((np.float32(0.5),), (np.float32(1.0),))
    assert type(value) is np.float32 and type(tangent) is np.float32
    assert tangent == pytest.approx(0.75)


def test_float64_arguments_keep_float64_tangents():
    _, t = s2sgrad.jvp(power)((X,), (V,))
    assert np.asarray(t).dtype == np.float64
    np.testing.assert_allclose(t, fd_jvp(power, X, V), rtol=1e-6)
