"""A list repeated through its own name (`acc = acc * 2`, in a loop or not) is a list
repetition, not a product of numbers: every binding of `acc` is a display or a
repetition of a list, so it holds a list. The gradient summed the copies' adjoints
into one copy (half the gradient for two copies), silently; jvp doubled the tangent."""
import numpy as np
import pytest

import s2sgrad


def looped(x):
    acc = [x[0], x[1]]
    for i in range(1, 3):
        acc = acc * 2
    return np.sum(np.array(acc) ** 3)


def once(x):
    acc = [x[0], x[1]]
    acc = 2 * acc
    return np.sum(np.array(acc) ** 3)


def scaled_parameter(x, s):
    s = s * 2              # a parameter: a number here, the product stays a product
    return np.sum(x) * s


X = np.array([0.5, -1.0])


@pytest.mark.parametrize("f, copies", [(looped, 4), (once, 2)])
def test_gradient_and_tangent(f, copies):
    want = copies * 3 * X ** 2
    np.testing.assert_allclose(s2sgrad.grad(f)(X), want, rtol=1e-12)
    np.testing.assert_allclose(s2sgrad.numerical_grad(f, (X,), 0), want, rtol=1e-6)
    v = np.array([1.0, 0.3])
    _, t = s2sgrad.jvp(f)((X,), (v,))
    assert t == pytest.approx(want @ v, rel=1e-12)


def test_a_parameter_multiplied_is_a_number():
    np.testing.assert_allclose(s2sgrad.grad(scaled_parameter, wrt=1)(X, 1.5), -1.0)
    np.testing.assert_allclose(s2sgrad.grad(scaled_parameter)(X, 1.5), [3.0, 3.0])
