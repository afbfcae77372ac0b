"""`v op= e` and `y[i] op= e` on arrays: NumPy computes them into the array's own dtype
and raises where the result cannot be cast there ('same_kind'). The generated code makes
a new value; it must raise as the function does, never return a number."""
import numpy as np
import pytest

import s2sgrad

X = np.array([1.3, -2.6, 0.7, 2.1])


def times_floats(x):
    y = np.ones(4, dtype=int)
    y *= x
    return np.sum(y * x)


def divided(x):
    y = np.arange(4)
    y /= 2
    return np.sum(y * x)


def row_plus_floats(x):
    y = np.ones((2, 4), dtype=int)
    y[0] += x
    return np.sum(y * x)


def slice_times_floats(x):
    y = np.ones(4, dtype=int)
    y[1:3] *= x[1:3]
    return np.sum(y * x)


def fancy_plus_floats(x):
    y = np.ones(4, dtype=int)
    y[np.array([1, 2])] += x[1:3]
    return np.sum(y * x)


@pytest.mark.parametrize("f", [times_floats, divided, row_plus_floats, slice_times_floats,
                               fancy_plus_floats])
@pytest.mark.parametrize("how", ["value_and_grad", "jvp"])
def test_raises_as_numpy_does(f, how):
    with pytest.raises(TypeError):
        f(X.copy())
    with pytest.raises(TypeError, match="same_kind"):
        if how == "jvp":
            s2sgrad.jvp(f)((X.copy(),), (np.ones(4),))
        else:
            s2sgrad.value_and_grad(f)(X.copy())


def element_plus_float(x):
    y = np.ones(4, dtype=int)
    y[1] += x[1]              # y[1] is a NumPy integer: a new number, stored (truncated)
    return np.sum(y * x)


def floats(x):
    s = np.zeros(4)
    for i in range(3):
        s += x * x[i]
    c = np.ones(4, dtype=int)
    c[0] += 2                 # integers into integers: fine
    return np.sum(s * s * c)


def _fd(f, x, eps=1e-6):
    return np.array([(f(x + e) - f(x - e)) / (2 * eps) for e in np.eye(x.size) * eps])


@pytest.mark.parametrize("f", [element_plus_float, floats])
def test_what_numpy_computes_is_differentiated(f):
    v, g = s2sgrad.value_and_grad(f)(X.copy())
    assert v == f(X.copy())
    np.testing.assert_allclose(g, _fd(f, X), rtol=1e-6, atol=1e-6)
