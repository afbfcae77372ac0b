"""`b = a; b += 1` where `a` is a number (Tangent's test-suite style): grad compiles
knowing the argument is a number, but vjp, jvp and hvp compiled generically and refused
("`y += ...` changes `y` in place, and it may share memory with the argument"). They
now know which parameters are given plain numbers; an array argument stays refused."""
import numpy as np
import pytest

import s2sgrad


def aug_ops(x):
    y = x
    y += 2
    y *= x
    y -= 1
    y /= x + 3
    y **= 2
    return y + x


def alias_then_add(x):
    y = x
    y += 2
    return np.sum(y * x)


X, H = 0.7, 1e-5


def test_every_mode_matches_finite_differences():
    d1 = (aug_ops(X + H) - aug_ops(X - H)) / (2 * H)
    d2 = (aug_ops(X + H) - 2 * aug_ops(X) + aug_ops(X - H)) / H ** 2
    value, pull = s2sgrad.vjp(aug_ops)(X)
    assert value == aug_ops(X)
    assert pull(1.0) == pytest.approx(d1, rel=1e-8)
    value, tangent = s2sgrad.jvp(aug_ops)((X,), (1.0,))
    assert tangent == pytest.approx(d1, rel=1e-8)
    assert s2sgrad.hvp(aug_ops)(X, 1.0) == pytest.approx(d2, rel=1e-5)


def test_numbers_then_arrays_with_one_operator_object():
    vjp = s2sgrad.vjp(alias_then_add)
    assert vjp(1.5)[1](1.0) == pytest.approx(2 * 1.5 + 2)
    with pytest.raises(s2sgrad.TransformError, match="in place"):
        vjp(np.ones(2))
    jvp = s2sgrad.jvp(alias_then_add)
    assert jvp((1.5,), (1.0,))[1] == pytest.approx(5.0)
    with pytest.raises(s2sgrad.TransformError, match="in place"):
        jvp((np.ones(2),), (np.ones(2),))
