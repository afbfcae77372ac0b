"""A function passed as an argument and called (`euler(dynamics, y0, n, h)`, autograd's
ODE example): grad specializes the code on the function given, but vjp and jvp compiled
generically and refused ("cannot differentiate a call through the local variable `f`").
They now compile for the functions (and numbers) the call passes, once per function."""
import numpy as np

import s2sgrad


def euler(f, y0, n, h):
    y = y0
    for _ in range(n):
        y = y + h * f(y)
    return np.sum(y ** 2)


def dynamics(y):
    return -0.5 * y + np.sin(y)


Y0 = np.array([0.3, -1.2, 0.8])
T = np.array([1.0, -0.5, 2.0])


def _fd(f, y, h=1e-6):
    return (euler(f, y + h * T, 3, 0.1) - euler(f, y - h * T, 3, 0.1)) / (2 * h)


def test_vjp_and_jvp_match_finite_differences():
    for f in (dynamics, np.tanh):
        g = s2sgrad.grad(euler, wrt=1)(f, Y0, 3, 0.1)
        value, pull = s2sgrad.vjp(euler, wrt=1)(f, Y0, 3, 0.1)
        assert value == euler(f, Y0, 3, 0.1)
        np.testing.assert_allclose(pull(1.0), g, rtol=1e-12)
        _, d = s2sgrad.jvp(euler)((f, Y0, 3, 0.1), (None, T, None, None))
        assert abs(d - _fd(f, Y0)) < 1e-6
        assert abs(np.dot(g, T) - _fd(f, Y0)) < 1e-6


def test_hvp():
    g = s2sgrad.grad(euler, wrt=1)
    hv = s2sgrad.hvp(euler, wrt=1)(dynamics, Y0, 3, 0.1, T)
    want = (g(dynamics, Y0 + 1e-6 * T, 3, 0.1) - g(dynamics, Y0 - 1e-6 * T, 3, 0.1)) / 2e-6
    np.testing.assert_allclose(hv, want, atol=1e-5)
