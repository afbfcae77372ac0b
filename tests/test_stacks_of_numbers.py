"""np.hstack / np.column_stack of pieces among which are numbers (`np.hstack([v[0],
v[1:], 2.0])`): each number's adjoint was a 1-element array, and storing it into the
number's place raised "setting an array element with a sequence"."""
import numpy as np
import pytest

import s2sgrad

V = np.array([0.3, -1.1, 0.8])


def hstack_mixed(v):
    return np.sum(np.hstack([v[0], v[1:], 2.0]) ** 2 * np.arange(1.0, 5.0))


def hstack_numbers(v):
    return np.sum(np.hstack([v[0] * v[2], v[1]]) ** 3)


def hstack_tuple(v):
    return np.sum(np.hstack((v[:2], v[0] * 3)) ** 2)


def column_stack_numbers(v):
    return np.sum(np.column_stack([v[0], v[1] ** 2]) ** 2 * np.array([1.0, 3.0]))


@pytest.mark.parametrize("f", [hstack_mixed, hstack_numbers, hstack_tuple,
                               column_stack_numbers])
def test_matches_finite_differences(f):
    np.testing.assert_allclose(s2sgrad.grad(f)(V), s2sgrad.numerical_grad(f, (V,), 0),
                               rtol=1e-6, atol=1e-9)
    t = np.array([0.5, 1.0, -2.0])
    _, d = s2sgrad.jvp(f)((V,), (t,))
    assert abs(d - (f(V + 1e-6 * t) - f(V - 1e-6 * t)) / 2e-6) < 1e-5
    g = s2sgrad.grad(f)
    np.testing.assert_allclose(s2sgrad.hvp(f)(V, t), (g(V + 1e-6 * t) - g(V - 1e-6 * t)) / 2e-6,
                               rtol=1e-4, atol=1e-6)
