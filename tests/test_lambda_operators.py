"""Lambdas given to every operator, not only grad: forward mode, Hessian-vector products,
Hessians, grad of grad, and the TypeError of a call with the wrong arguments. The generated
function is named after the lambda (`jvp_loss`, `hvp_lambda_L12`), never `<lambda>`, which
is no Python name. Oracles: closed forms and centered finite differences."""
import functools

import numpy as np
import pytest

import s2sgrad

from support.numeric import numerical_grad

X = np.array([0.3, 1.2, -0.7])
V = np.array([1.0, -0.5, 2.0])

sin_squared = lambda x: np.sum(np.sin(x) ** 2)          # noqa: E731 (the idiom under test)


def test_jvp_of_a_lambda_bound_to_a_name():
    value, tangent = s2sgrad.jvp(sin_squared)((X,), (V,))
    assert value == pytest.approx(np.sum(np.sin(X) ** 2))
    assert tangent == pytest.approx(np.sum(np.sin(2 * X) * V), rel=1e-12)
    assert "def jvp_sin_squared(" in s2sgrad.jvp(sin_squared).source


def test_jvp_of_a_lambda_in_the_call():
    value, tangent = s2sgrad.jvp(lambda x: np.sum(x ** 3))((X,), (V,))
    assert tangent == pytest.approx(np.sum(3 * X ** 2 * V), rel=1e-12)


def test_hvp_and_hessian_of_a_lambda():
    # d²/dx² sin(x)² = 2 cos(2x), a diagonal Hessian
    assert np.allclose(s2sgrad.hvp(sin_squared)(X, V), 2 * np.cos(2 * X) * V, rtol=1e-12)
    assert np.allclose(s2sgrad.hessian(sin_squared)(X), np.diag(2 * np.cos(2 * X)), rtol=1e-12)


def test_hvp_of_a_lambda_closing_over_data_against_finite_differences():
    A = np.array([[2.0, 0.3, 0.0], [0.3, 1.0, -0.4], [0.0, -0.4, 1.5]])
    loss = lambda w: np.log(np.sum(np.exp(A @ w)))      # noqa: E731
    g = lambda w: numerical_grad(loss, (w,))             # noqa: E731
    expected = (g(X + 1e-5 * V) - g(X - 1e-5 * V)) / 2e-5
    assert np.allclose(s2sgrad.hvp(loss)(X, V), expected, rtol=1e-4, atol=1e-6)


def test_grad_of_grad_of_a_lambda():
    assert s2sgrad.grad(s2sgrad.grad(lambda t: t ** 3))(2.0) == pytest.approx(12.0)


def test_wrong_arguments_to_the_gradient_of_a_lambda_give_the_type_error():
    f = lambda x, y: np.sum(np.sin(x) * y)               # noqa: E731
    with pytest.raises(TypeError, match=r"missing 1 required positional argument: 'y'"):
        s2sgrad.grad(f)(X)
    with pytest.raises(TypeError, match=r"takes 2 positional arguments but 3 were given"):
        s2sgrad.grad(f)(X, 1.0, 3.0)


def scaled(x, y):
    return np.sum(x * y)


def test_wrong_arguments_to_the_gradient_of_a_partial_give_the_type_error():
    with pytest.raises(TypeError, match=r"grad of .*missing 1 required positional argument"):
        s2sgrad.grad(functools.partial(scaled, y=2.0))()


def test_forward_mode_jacobian_of_a_lambda():
    # the columns by forward mode named the batched tangent code `jvp_<lambda>`: a
    # SyntaxError (mode "auto" takes this way when the outputs outnumber the inputs)
    f = lambda v: np.tanh(v) * v[0]                     # noqa: E731
    x = np.array([0.3, -0.7])
    want = np.stack([(f(x + 1e-6 * e) - f(x - 1e-6 * e)) / 2e-6 for e in np.eye(2)], axis=1)
    np.testing.assert_allclose(s2sgrad.jacobian(f, mode="forward")(x), want, atol=1e-8)
    g = lambda t: np.array([t[0], t[0] ** 2, np.sin(t[0])])   # noqa: E731
    np.testing.assert_allclose(s2sgrad.jacobian(g)(np.array([0.5])),
                               [[1.0], [1.0], [np.cos(0.5)]], atol=1e-12)
