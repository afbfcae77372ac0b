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


def _apply(f, x):
    return np.sum(f(x))


def _square(t):
    return t * t


def passes_functions_to_a_helper(x):
    return _apply(np.tanh, x) + _apply(_square, x) * 0.5


def test_forward_mode_through_a_helper_given_functions():
    # the helper's tangent code was not specialized on the functions the call passes:
    # "cannot differentiate a call through the local variable `f`"
    f = passes_functions_to_a_helper
    _, d = s2sgrad.jvp(f)((Y0,), (T,))
    assert abs(d - (f(Y0 + 1e-6 * T) - f(Y0 - 1e-6 * T)) / 2e-6) < 1e-6
    want = (-2 * np.tanh(Y0) * (1 - np.tanh(Y0) ** 2) + 1.0) * T
    np.testing.assert_allclose(s2sgrad.hvp(f)(Y0, T), want, rtol=1e-10)
