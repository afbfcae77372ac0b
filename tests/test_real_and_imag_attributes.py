"""`x.real` and `x.imag` of a real array: `v.real` was refused at transform time
("no adjoint for the attribute `.real`") and `v.T.real` failed when the gradient ran,
with an error about NamedTuple fields. They are x itself and zeros, as `np.real` and
`np.imag` of a real x."""
import numpy as np
import pytest

import s2sgrad

X = np.array([0.3, -1.2, 0.5])


def real_part(v):
    return np.sum(v.real ** 2)


def imag_part(v):
    return np.sum(v.imag + v ** 2) + np.sum(np.imag(v))


def through_transpose(v):
    m = np.outer(v, v)
    return np.sum(m.T.real * m)


def indexed(v):
    return v.real[0] * v[1]


@pytest.mark.parametrize("f", [real_part, imag_part, through_transpose, indexed])
def test_every_mode_matches_finite_differences(f):
    np.testing.assert_allclose(s2sgrad.grad(f)(X), s2sgrad.numerical_grad(f, (X,), 0),
                               rtol=1e-6, atol=1e-9)
    t = np.array([1.0, -0.5, 2.0])
    _, d = s2sgrad.jvp(f)((X,), (t,))
    assert d == pytest.approx((f(X + 1e-6 * t) - f(X - 1e-6 * t)) / 2e-6, rel=1e-6)
    g = s2sgrad.grad(f)
    np.testing.assert_allclose(s2sgrad.hvp(f)(X, t),
                               (g(X + 1e-6 * t) - g(X - 1e-6 * t)) / 2e-6, atol=1e-5)
