"""Slice stores into Python lists: one that keeps the list's length is differentiated
(checked against centred finite differences); one that changes it (`xs[1:2] = [a, b]`,
`xs[0:2] = [a]`, `xs[1:1] = [a]`) is differentiated in forward mode, and reverse mode
raises a GradientError that says what to write (it used to fail with an IndexError from
a helper), as does jvp called with arrays where it takes tuples."""
import numpy as np
import pytest

import s2sgrad
from s2sgrad.errors import GradientError, S2SGradError

from support.numeric import numerical_grad

X = np.array([1.0, 2.0, 3.0])
V = np.array([0.3, -0.2, 0.5])


def same_length(x):
    xs = [x[0], x[1], x[2]]
    xs[0:2] = [x[1] * 4.0, x[2] * x[0]]
    return xs[1] * 2.0 + xs[0] * xs[2]


def longer(x):
    xs = [x[0], x[1], x[2]]
    xs[1:2] = [x[0] * 3.0, x[2] * 5.0]
    return xs[0] * xs[3] + xs[2]


def shorter(x):
    xs = [x[0], x[1], x[2]]
    xs[0:2] = [x[1] * 4.0]
    return xs[1] * 2.0 + xs[0]


def inserted(x):
    xs = [x[0], x[1], x[2]]
    xs[1:1] = [x[2] * 2.0]
    return xs[3] * 7.0 + xs[1]


def shorter_then_appended(x):
    xs = [x[0], x[1], x[2]]
    xs[0:1] = []
    xs.append(x[0] * 7.0)
    return xs[0] * xs[1] + xs[2] ** 2


def _fd_directional(f, x, v, h=1e-6):
    return (f(x + h * v) - f(x - h * v)) / (2 * h)


def test_a_store_that_keeps_the_length():
    np.testing.assert_allclose(s2sgrad.grad(same_length)(X), numerical_grad(same_length, (X,)),
                               rtol=1e-7)
    _, t = s2sgrad.jvp(same_length)((X,), (V,))
    np.testing.assert_allclose(t, _fd_directional(same_length, X, V), rtol=1e-7)


@pytest.mark.parametrize("f", [longer, shorter, inserted, shorter_then_appended])
def test_a_store_that_changes_the_length(f):
    with pytest.raises(GradientError, match=r"changed its length .*xs\[:i\] \+ \[a, b\]"):
        s2sgrad.grad(f)(X)
    with pytest.raises(GradientError, match="changed its length"):
        s2sgrad.vjp(f)(X)[1](1.0)
    _, t = s2sgrad.jvp(f)((X,), (V,))
    np.testing.assert_allclose(t, _fd_directional(f, X, V), rtol=1e-7)


def test_jvp_called_with_arrays_says_it_takes_tuples():
    with pytest.raises(S2SGradError, match=r"jvp\(f\)\(\(x,\), \(v,\)\)"):
        s2sgrad.jvp(same_length)(X, V)
