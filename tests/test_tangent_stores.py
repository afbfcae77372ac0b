"""Forward mode through stores into arrays (`y[i] = v`, `y[:, 0] += v`): the tangent of
the stored-into array must be an array of its own. The tangent of `x + 0.5` is x's
tangent itself, and that of `zeros + x[0]` a read-only broadcast view: a store into
either wrote into another value's tangent (a wrong directional derivative) or raised.
Checked against centered directional finite differences."""
import numpy as np
import pytest

import s2sgrad


def store_after_an_offset(x):
    y = x + 0.5
    y[0] = 5.0
    return np.sum(y * x)


def store_into_a_broadcast_sum(x):
    y = np.zeros((3, 4))
    y += x[0]
    y[:, 0] += x[:, 1]
    y -= y.mean()
    y *= y
    return np.sum(y)


def store_into_a_copy_of_a_row(x):
    y = x[1] * 1.0
    for i in range(3):
        y[i] = y[i] * x[0, i]
    return np.sum(y ** 2) + np.sum(x[1])


def _directional(f, x, t, h=1e-6):
    return (f(x + h * t) - f(x - h * t)) / (2 * h)


@pytest.mark.parametrize("f, shape", [(store_after_an_offset, (4,)),
                                      (store_into_a_broadcast_sum, (3, 4)),
                                      (store_into_a_copy_of_a_row, (2, 4))])
def test_jvp_through_stores(f, shape):
    rng = np.random.default_rng(5)
    x, t = rng.normal(size=shape), rng.normal(size=shape)
    t_before = t.copy()
    value, tangent = s2sgrad.jvp(f)((x.copy(),), (t,))
    assert value == f(x.copy())
    assert tangent == pytest.approx(_directional(f, x, t), rel=1e-6, abs=1e-8)
    np.testing.assert_array_equal(t, t_before)


@pytest.mark.parametrize("f, shape", [(store_after_an_offset, (4,)),
                                      (store_into_a_copy_of_a_row, (2, 4))])
def test_hvp_through_stores(f, shape):
    rng = np.random.default_rng(6)
    x, v = rng.normal(size=shape), rng.normal(size=shape)
    g = s2sgrad.grad(f)
    h = 1e-5
    expected = (g(x + h * v) - g(x - h * v)) / (2 * h)
    np.testing.assert_allclose(s2sgrad.hvp(f)(x.copy(), v), expected, rtol=1e-5, atol=1e-7)
