"""Second order through a store into an item (`h[0] = h[0] * h[0]`) of an array whose
backward rule reads it again (`h = ones / d`: d̄ reads h). The gradient code saves the
overwritten item (`copy_item`) and writes it back (`restore_item(h, 0, old)`) before
that rule runs. Forward mode of the gradient code (hvp, hessian, jvp of grad) did not
see that `restore_item` makes h depend on `old`: old was taken for inactive and the
restored item got a zero tangent, a silently wrong Hessian-vector product. Checked
against centred finite differences of the gradient, and of the function twice."""
import numpy as np
import pytest

import s2sgrad

from support.numeric import numerical_grad, numerical_jacobian


def divide_in_place_then_square_an_item(x):
    h = np.ones(3)
    h /= (1.0 + x ** 2)
    h[0] = h[0] * h[0]
    return np.sum(h)


def divide_then_power_an_item(x):
    h = x * 1.0
    h = h / (1.0 + x ** 2)
    h[0] **= 3
    return np.sum(h)


def of_a_number(x):
    h = np.array([x, 2.0 * x, 0.5])
    h = h / (1.0 + x ** 2)
    h[0] = h[0] * h[0]
    return np.sum(h)


def tanh_then_scale_an_item(x):
    h = np.tanh(x)
    h[0] = h[0] * 3
    return np.sum(h * h)


def running_product_of_exps(x):
    h = np.exp(x)
    for i in range(1, 3):
        h[i] = h[i] * h[i - 1]
    return np.sum(h)


def softmax_then_an_item(x):
    e = np.exp(x - np.max(x))
    p = e / np.sum(e)
    p[0] = p[0] * 2
    return np.sum(p ** 2)


def masked_items_of_exps(x):
    h = np.exp(x)
    h[x > 0] = h[x > 0] ** 2
    return np.sum(h)


X = np.array([0.7, -0.4, 1.2])
V = np.array([1.0, 0.5, -0.3])


def _hessian(f, x):
    return numerical_jacobian(lambda z: numerical_grad(f, (z,), 0), x, h=1e-4)


@pytest.mark.parametrize("f", [divide_in_place_then_square_an_item,
                               divide_then_power_an_item, tanh_then_scale_an_item,
                               running_product_of_exps, softmax_then_an_item,
                               masked_items_of_exps], ids=lambda f: f.__name__)
def test_hvp_and_hessian_match_finite_differences(f):
    want = _hessian(f, X.copy())
    np.testing.assert_allclose(s2sgrad.hvp(f)(X.copy(), V), want @ V, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(s2sgrad.hessian(f)(X.copy()), want, rtol=1e-5, atol=1e-5)


def test_second_derivative_of_a_number():
    x, h = 0.7, 1e-4
    d = lambda z: numerical_grad(of_a_number, (z,), 0)      # noqa: E731
    want = (d(x + h) - d(x - h)) / (2 * h)
    assert s2sgrad.grad(s2sgrad.grad(of_a_number))(x) == pytest.approx(want, rel=1e-5)
    assert s2sgrad.hvp(of_a_number)(x, 1.0) == pytest.approx(want, rel=1e-5)
    _, tangent = s2sgrad.jvp(s2sgrad.grad(of_a_number))((x,), (1.0,))
    assert tangent == pytest.approx(want, rel=1e-5)
