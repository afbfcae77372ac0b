"""Parameters a call leaves at their defaults: the code is compiled knowing the defaults'
kinds as it knows the arguments' (a step `dt=0.05` is a number, so what it scales keeps
a known shape and the generic helpers are spelled out); a call that passes them, by
position or by keyword, or a function whose defaults change, gets code for what it
passes. Every gradient against centred finite differences."""
import numpy as np
import pytest

import s2sgrad

from support.numeric import numerical_grad


def rk4(theta, y0, n_steps=20, dt=0.05):
    y = y0
    total = 0.0
    for _ in range(n_steps):
        k1 = np.tanh(theta @ y)
        k2 = np.tanh(theta @ (y + 0.5 * dt * k1))
        k3 = np.tanh(theta @ (y + 0.5 * dt * k2))
        k4 = np.tanh(theta @ (y + dt * k3))
        y = y + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
        total = total + np.sum(y ** 2)
    return total


def scaled(x, w=2.0, shift=0.5):
    return np.sum(np.sin(w * x + shift) ** 2)


rng = np.random.default_rng(7)
THETA = 0.3 * rng.standard_normal((6, 6))
Y0 = rng.standard_normal(6)
X = rng.standard_normal((3, 4))


def test_defaults_left_out_are_compiled_as_the_numbers_they_are():
    g = s2sgrad.grad(rk4)
    got = g(THETA, Y0)
    assert np.allclose(got, numerical_grad(rk4, (THETA, Y0)), rtol=1e-6, atol=1e-9)
    # dt a number: no placeholder of a shape saved per step, no broadcast undone
    assert "ShapeOf(" not in g.source and "unbroadcast(" not in g.source
    # the state's adjoint starts as an array of its shape: the products spelled out
    assert "matmul_left(" not in g.source and "y_bar = np.zeros_like(y)" in g.source


@pytest.mark.parametrize("call", [
    lambda f: f(X, 3.0),                             # by position
    lambda f: f(X, w=np.full(4, 1.5)),               # an array by keyword
    lambda f: f(X, np.full((3, 1), 0.7), np.arange(4.0)),   # arrays by position
])
def test_a_call_that_passes_a_defaulted_parameter_gets_code_for_it(call):
    g = s2sgrad.grad(scaled)
    g(X)                                             # compiled for the defaults first
    got = call(g)
    expected = call(lambda *a, **k: numerical_grad(
        lambda x: scaled(x, *a[1:], **k), (a[0],)))
    assert np.allclose(got, expected, rtol=1e-6, atol=1e-9)


def test_replaced_defaults_are_read_at_the_call():
    def f(x, w=2.0):
        return np.sum(np.cos(w * x))

    g = s2sgrad.grad(f)
    assert np.allclose(g(X), numerical_grad(f, (X,)), rtol=1e-6, atol=1e-9)
    f.__defaults__ = (np.linspace(0.5, 2.0, 4),)     # now an array, broadcast along x
    assert np.allclose(g(X), numerical_grad(f, (X,)), rtol=1e-6, atol=1e-9)


def test_gradient_with_respect_to_a_defaulted_parameter_passed_or_not():
    g = s2sgrad.grad(scaled, wrt=1)
    assert np.isclose(g(X), numerical_grad(scaled, (X, 2.0), wrt=1), rtol=1e-6)
    assert np.isclose(g(X, 3.0), numerical_grad(scaled, (X, 3.0), wrt=1), rtol=1e-6)
