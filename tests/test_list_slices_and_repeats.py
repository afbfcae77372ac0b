"""Lists joined or repeated through a slice or a copy (`l[:2] + l[2:]`, `l[:2] * 2`,
`l.copy() * 2`) and a list read out of a container and repeated (`d["a"] * 2`). A slice
or copy of a list was not known as a list: `+` raised a GradientError at run time, and
`*` by an int was differentiated as a number's product, so the adjoint of the repeated
list (twice as long) was doubled again and only the first copy's items reached the
list, a silently wrong gradient. Slices and copies of lists are lists now; a repetition
of a value that may be a list keeps its `unbroadcast`, which refuses the longer adjoint
at run time instead of cutting it. Against centred finite differences."""
import numpy as np
import pytest

import s2sgrad
from s2sgrad.errors import GradientError

from support.numeric import numerical_grad


def joined_slices(x):
    l = list(x)
    return sum(v * (i + 1) for i, v in enumerate(l[:2] + l[2:]))


def repeated_slice(x):
    l = list(x)
    m = l[:2] * 2
    return sum(v * (i + 1) for i, v in enumerate(m))


def repeated_copy(x):
    l = [x[0], x[1]]
    m = l.copy() * 2
    return sum(v * (i + 1) for i, v in enumerate(m))


def rotated_tuple(x):
    t = (x[0], x[1], x[2])
    u = t[1:] + t[:1]
    return u[0] * u[1] ** 2 * u[2] ** 3


def strided_slices(x):
    l = list(x)
    return np.sum(np.array(l[::2] + l[1::2]) * np.arange(4))


def repeated_list_from_a_dict(x):
    d = {"a": [x[0], x[1]]}
    m = d["a"] * 2
    return m[0] + 2 * m[1] + 3 * m[2] + 4 * m[3]


X = np.array([0.5, 1.5, -2.0, 3.0])


@pytest.mark.parametrize("f", [joined_slices, repeated_slice, repeated_copy,
                               rotated_tuple, strided_slices], ids=lambda f: f.__name__)
def test_gradient_pullback_and_tangent(f):
    want = numerical_grad(f, (X.copy(),), 0)
    np.testing.assert_allclose(s2sgrad.grad(f)(X.copy()), want, rtol=1e-6, atol=1e-8)
    _, pullback = s2sgrad.vjp(f)(X.copy())
    np.testing.assert_allclose(pullback(1.0), want, rtol=1e-6, atol=1e-8)
    t = np.array([0.3, -1.0, 0.7, 2.0])
    _, tangent = s2sgrad.jvp(f)((X.copy(),), (t,))
    assert tangent == pytest.approx(want @ t, rel=1e-6)


def test_a_repetition_not_known_as_a_list_is_refused_not_cut():
    with pytest.raises(GradientError, match="repeated lists"):
        s2sgrad.grad(repeated_list_from_a_dict)(X.copy())
    _, tangent = s2sgrad.jvp(repeated_list_from_a_dict)((X.copy(),), (np.ones(4),))
    assert tangent == pytest.approx(4.0 + 6.0)
