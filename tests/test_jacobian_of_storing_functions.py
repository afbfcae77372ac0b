"""`jacobian` of a function that stores into its argument (`x[i] = ...`): forward and
auto mode ran the function itself first, for its output's shape, which changed the
caller's array, and then differentiated at the changed point (a silently wrong
Jacobian); now it runs on copies, and the caller's array is unchanged."""
import warnings

import numpy as np
import pytest

import s2sgrad

def smooth(x):
    for i in range(3):
        x[i] = x[i] * 2 + x[i + 1]
    return np.sum(x ** 2)


def stretched(x):
    x[0] = x[0] * x[1]
    return x * 3.0


X = np.arange(4.0) / 3 + 0.1


def central_differences(f, x, h=1e-6):
    out = np.zeros(x.shape)
    for k in range(x.size):
        e = np.zeros(x.shape)
        e[k] = h
        out[k] = (f(x + e) - f(x - e)) / (2 * h)     # (x ± e: new arrays f may change)
    return out


@pytest.mark.parametrize("mode", ["forward", "reverse", "auto"])
def test_scalar_output(mode):
    x = X.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = s2sgrad.jacobian(smooth, mode=mode)(x)
    assert np.array_equal(x, X)
    np.testing.assert_allclose(got, central_differences(smooth, X), rtol=1e-6)


@pytest.mark.parametrize("mode", ["forward", "reverse", "auto"])
def test_vector_output(mode):
    x = X.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = s2sgrad.jacobian(stretched, mode=mode)(x)
    assert np.array_equal(x, X)
    want = np.diag([3.0] * 4)
    want[0, 0], want[0, 1] = 3 * X[1], 3 * X[0]
    np.testing.assert_allclose(got, want, rtol=1e-12)
