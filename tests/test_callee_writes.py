"""A function of yours that changes an argument in place (`xs[0] = v`, `xs.append(v)`,
`u += v` on an array, `out=u`, through another function of yours): Python's caller sees
the change, so s2sgrad either reproduces it (the argument is a new object nothing else
reads) or refuses the call where it is written. Never a wrong number, never a changed
argument of the user's.

Oracles: centered finite differences (tests/support/numeric.py) and closed forms."""
import copy

import numpy as np
import pytest

import s2sgrad
from s2sgrad import grad

from support.numeric import numerical_grad


# ------------------------------------------------------------- refused: the change is seen

def set_first(xs, a):
    xs[0] = a * 2.0
    return xs[0] * a


def reads_after_the_store(xs, a):
    return set_first(xs, a) + xs[0]


def append_scaled(xs, a):
    xs.append(a * 3.0)
    return a


def reads_the_appended(xs, a):
    append_scaled(xs, a)
    return xs[-1] * a


def zero_first(arr):
    arr[0] = 0.0


def zeroes_then_reads(arr, a):
    v = arr[0] * a
    zero_first(arr)
    return v + arr[1] * a


def add_into(u, v):
    u += v
    return np.sum(u)


def reads_after_add_into(u, a):
    w = u * a
    s = add_into(w, a)
    return s + np.sum(w)


def clip_into(u):
    np.clip(u, -1.0, 1.0, out=u)
    return 0.0


def reads_after_clip(x):
    y = x * 2.0
    clip_into(y)
    return np.sum(y ** 2)


def calls_set_first(xs, a):
    return set_first(xs, a)


def through_another_function(xs, a):
    return calls_set_first(xs, a) + xs[0]


def accumulates(buf, x):
    buf[0] += x
    return buf[0] * x


def buffer_across_steps(x):
    buf = np.zeros(1)
    total = 0.0
    for i in range(3):
        total = total + accumulates(buf, x)
    return total


REFUSED = [
    (reads_after_the_store, ([1.0, 2.0], 3.0), r"set_first\(\) changes its argument `xs`"),
    (reads_the_appended, ([1.0], 3.0), r"append_scaled\(\) for its effect"),
    (zeroes_then_reads, (np.array([1.0, 2.0]), 3.0), r"zero_first\(\) for its effect"),
    (reads_after_add_into, (np.array([1.0, 2.0]), 3.0), "`u \\+= ...`"),
    (reads_after_clip, (np.array([0.3, 0.9]),), "`out=u`"),
    (through_another_function, ([1.0, 2.0], 3.0), "the call of set_first"),
    (buffer_across_steps, (0.5,), "accumulates\\(\\) changes its argument `buf`"),
]


@pytest.mark.parametrize("f, args, message", REFUSED, ids=[f.__name__ for f, _, _ in REFUSED])
def test_a_change_the_caller_sees_is_refused_where_the_call_is(f, args, message):
    before = copy.deepcopy(args)
    with pytest.raises(s2sgrad.TransformError, match=message) as info:
        grad(f, wrt=len(args) - 1)(*args)
    err = info.value
    assert err.filename.endswith("test_callee_writes.py") and err.lineno is not None
    assert "return the new value" in str(err)
    for a, b in zip(args, before):      # the user's data as it was
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


# ------------------------------------------------------------- accepted: nothing else sees it

def fill(out, a):
    out[0] = a * a
    out[1] = np.sin(a)
    return out


def fills_a_new_array(a):
    y = fill(np.zeros(2), a)
    return np.sum(y * y)


def copies_first(xs, a):
    xs = list(xs)
    xs[0] = xs[0] * a
    return xs[0] + xs[1]


def caller_of_copies_first(xs, a):
    return copies_first(xs, a) * xs[0]


def bump(x):
    x += 1.0
    return x * x


def bumps_a_number(a):
    return bump(a * 2.0) + a


ACCEPTED = [
    (fills_a_new_array, (0.7,), 0),
    (caller_of_copies_first, ([1.5, -2.0], 0.8), 1),
    (bumps_a_number, (0.3,), 0),
]


@pytest.mark.parametrize("f, args, wrt", ACCEPTED, ids=[f.__name__ for f, _, _ in ACCEPTED])
def test_a_change_nothing_else_reads_is_differentiated(f, args, wrt):
    before = copy.deepcopy(args)
    got = grad(f, wrt=wrt)(*args)
    np.testing.assert_allclose(got, numerical_grad(f, args, wrt), rtol=1e-6, atol=1e-9)
    for a, b in zip(args, before):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_the_closed_form_of_a_filled_array():
    # y = (a², sin a): d/da Σ y² = 4a³ + 2 sin a cos a
    a = 0.7
    assert grad(fills_a_new_array)(a) == pytest.approx(4 * a ** 3 + np.sin(2 * a), rel=1e-12)
