"""`out` passed by position: `np.multiply(x, x, y)`, the in-place idiom `np.add(y, x, y)`,
`np.cumsum(x, 0, None, buf)`, `np.take(x, idx, 0, buf)`, `x.clip(lo, hi, buf)`. The
keyword `out=` was refused, but by position the array written into was taken for an
input only (a bare call statement was even kept for its effect alone): its value after
the call came from NumPy, its adjoint went nowhere, a silently wrong gradient. Refused
now where the argument is written, naming the function."""
import numpy as np
import pytest

import s2sgrad
from s2sgrad.errors import TransformError


def multiply_into(x):
    y = np.empty(3)
    np.multiply(x, x, y)
    return np.sum(y * x)


def add_in_place(x):
    y = x * 1.0
    np.add(y, x, y)
    return np.sum(y * x)


def cumsum_into(x):
    buf = np.zeros(3)
    np.cumsum(x, 0, None, buf)
    return np.sum(buf * x)


def take_into(x):
    buf = np.zeros(2)
    np.take(x, [0, 2], 0, buf)
    return np.sum(buf * 3)


def exp_into_and_assigned(x):
    y = np.zeros(3)
    z = np.exp(x, y)
    return np.sum(y) + np.sum(z)


def dot_into(x):
    y = np.zeros(3)
    np.dot(np.eye(3), x, y)
    return np.sum(y * x)


def clip_method_into(x):
    buf = np.zeros(3)
    z = x.clip(-1.0, 1.0, buf)
    return np.sum(buf * x) + np.sum(z)


@pytest.mark.parametrize("f, where", [
    (multiply_into, "argument 3 of `np.multiply`"), (add_in_place, "argument 3 of `np.add`"),
    (cumsum_into, "argument 4 of `np.cumsum`"), (take_into, "argument 4 of `np.take`"),
    (exp_into_and_assigned, "argument 2 of `np.exp`"), (dot_into, "argument 3 of `np.dot`"),
    (clip_method_into, "argument 3 of `x.clip`")], ids=lambda v: getattr(v, "__name__", ""))
def test_refused_where_written(f, where):
    with pytest.raises(TransformError, match="does not follow writes through `out`") as info:
        s2sgrad.grad(f)(np.array([0.5, -1.0, 2.0]))
    assert where in str(info.value)
    assert "assign the result instead" in str(info.value)


def test_calls_without_out_still_differentiate():
    def f(x):
        return np.sum(np.cumsum(x, 0) * x) + np.sum(x.clip(-1.0, 1.0)) \
            + np.sum(np.multiply(x, x))
    x = np.array([0.5, -0.3, 2.0])
    got = s2sgrad.grad(f)(x)
    want = np.cumsum(x) + np.cumsum((x)[::-1])[::-1] + (np.abs(x) < 1) + 2 * x
    np.testing.assert_allclose(got, want, rtol=1e-12)
