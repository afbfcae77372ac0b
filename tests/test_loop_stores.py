"""Stores into an array that a loop rebinds to a new value each step, as simulations write
them (`u = u + dt * lap` then a boundary condition `u[0, :] = 0.0`). Inside a loop
`u = u + ...` is kept as `u_new = u + ...; u = u_new`; `u` is still the only name of a
new array, so the store is accepted, while a second name that is read afterwards still
gets the refusal. Oracle: centered finite differences."""
import numpy as np
import pytest

import s2sgrad
from s2sgrad.errors import TransformError

from support.numeric import assert_grad_matches, numerical_grad

RS = np.random.RandomState(0)


def heat_with_boundaries(u0):
    u = u0.copy()
    for t in range(5):
        lap = np.roll(u, 1, 0) + np.roll(u, -1, 0) + np.roll(u, 1, 1) + np.roll(u, -1, 1) - 4 * u
        u = u + 0.1 * lap
        u[0, :] = 0.0
        u[:, -1] = u[:, -2]
    return np.sum(u ** 2 * np.arange(u.shape[1]))


def store_after_reading_the_new_value(u0):
    u = u0 * 1.0
    total = 0.0
    for t in range(3):
        u = u * u0
        total = total + np.sum(u ** 2)      # reads u before the store changes it
        u[0, :] = 0.5 * u[1, :]
        total = total + np.sum(np.sin(u))
    return total


def store_after_a_branch(u0, x):
    u = u0 * 1.0
    for t in range(3):
        if x > 0:
            u = u * x
        u[0] = u[0] + x
    return np.sum(u ** 2)


@pytest.mark.parametrize("optimize", [True, False])
def test_heat_equation_with_boundary_stores(optimize):
    u0 = RS.randn(4, 5)
    got = s2sgrad.grad(heat_with_boundaries, optimize=optimize)(u0)
    assert np.allclose(got, numerical_grad(heat_with_boundaries, (u0,)), rtol=1e-5, atol=1e-6)


def test_store_after_the_new_value_is_read():
    assert_grad_matches(store_after_reading_the_new_value, RS.randn(3, 4))


@pytest.mark.parametrize("x", [0.7, -0.7])
def test_store_after_a_branch_that_may_rebind(x):
    assert_grad_matches(store_after_a_branch, RS.randn(3), x, wrt=(0, 1))


def second_name_read_later(u0):
    u = u0 * 1.0
    for t in range(2):
        v = u * 2.0
        u = v
        u[0] = 0.0          # changes v too, and v is read below
        w = v * 1.0
    return np.sum(w) + np.sum(u)


def test_store_into_an_array_with_a_second_name_read_later_is_still_refused():
    with pytest.raises(TransformError, match=r"cannot store into `u`: it may share memory"):
        s2sgrad.grad(second_name_read_later)(RS.randn(3))


# ------------------------- a name changed in a loop, then rebound from itself at the top

_K = np.random.default_rng(11).normal(size=(4, 3))


def appended_then_array(q):
    scores = []
    for k in _K:
        scores.append(np.dot(q, k))
    scores = np.array(scores)
    return np.sum(scores ** 2)


def slots_then_array(q):
    ys = [0.0] * 4
    for i in range(4):
        ys[i] = np.dot(q, _K[i]) ** 2
    ys = np.array(ys)
    return np.sum(np.sin(ys))


def stored_then_tanh(q):
    y = np.zeros(4)
    for i in range(4):
        y[i] = np.dot(q, _K[i])
    y = np.tanh(y)
    y = y * 2.0
    return np.sum(y ** 2)


def stored_in_a_branch_then_squared(q):
    y = q * 1.0
    if q[0] > 0:
        y[0] = q[1] ** 2
    y = y * y
    return np.sum(y)


def stacked_states(q):
    hs = []
    h = q
    for t in range(3):
        h = np.tanh(h * 0.5 + 1.0)
        hs.append(h)
    hs = np.stack(hs)
    hs = hs.sum(axis=0)
    return np.sum(hs ** 2)


@pytest.mark.parametrize("f", [appended_then_array, slots_then_array, stored_then_tanh,
                               stored_in_a_branch_then_squared, stacked_states])
def test_a_name_changed_in_a_loop_then_rebound_from_itself(f):
    """`xs = np.array(xs)` after a loop appending to xs: the rebinding reads the old
    value and binds the new one under the same name; its adjoint was lost (a zero or
    partial gradient)."""
    q = np.array([0.5, -1.0, 2.0])
    assert_grad_matches(f, q)
    value, _ = s2sgrad.value_and_grad(f)(q.copy())
    assert value == f(q.copy())
    _, t = s2sgrad.jvp(f)((q.copy(),), (np.array([0.3, 1.0, -0.5]),))
    h = 1e-6
    d = np.array([0.3, 1.0, -0.5])
    assert t == pytest.approx((f(q + h * d) - f(q - h * d)) / (2 * h), rel=1e-6)


def counted_by_an_empty_loop(x):
    for i in range(3):
        pass
    while False:
        pass
    return x[i] * x[0]


def test_loops_whose_body_is_pass():
    assert_grad_matches(counted_by_an_empty_loop, np.array([0.5, -1.0, 2.0, 0.3]))


def appended_then_averaged(x):
    h = []
    for v in x:
        h.append(v * 2)
    h = np.array(h)
    h = h.mean()
    return h ** 2


def grown_in_a_while_loop(x):
    ys = []
    i = 0
    while len(ys) < 3:
        ys.append(x[i] * x[i + 1])
        i += 1
    ys = np.array(ys)
    return np.sum(ys ** 2)


def appended_then_sorted(x):
    ys = []
    for v in x:
        ys.append(v * 3)
    ys = sorted(ys)
    return ys[0] * ys[-1]


def stored_then_updated_in_place(x):
    y = np.zeros(4)
    for i in range(4):
        y[i] = x[i] ** 2
    y += x
    y *= 2
    return np.sum(y ** 2)


def appended_then_extended(x):
    ys = []
    for v in x:
        ys.append(v)
    ys = ys + [x[0] * 10]
    ys += [1.0]
    return np.sum(np.array(ys) ** 2)


def filled_by_nested_loops_then_squared(x):
    m = np.zeros((2, 2))
    for i in range(2):
        for j in range(2):
            m[i, j] = x[i] * x[j + 2]
    m = m @ m
    return np.sum(m)


@pytest.mark.parametrize("f", [appended_then_averaged, grown_in_a_while_loop,
                               appended_then_sorted, stored_then_updated_in_place,
                               appended_then_extended, filled_by_nested_loops_then_squared])
def test_more_names_changed_in_a_loop_then_rebound(f):
    """(Each gave a zero gradient.)"""
    assert_grad_matches(f, np.array([0.5, -1.0, 2.0, 0.3]))


# ------------------------------- a container filled by stores, then rebound to a view of it

def rows_stored_then_transposed(x):
    m = np.zeros((3, 3))
    for i in range(3):
        m[i] = x[i] * (i + 1)
    m = m.T
    return np.sum(m * np.arange(9.0).reshape(3, 3))


def appended_then_reversed(x):
    ys = []
    for v in x:
        ys.append(v * 3)
    ys = ys[::-1]
    return ys[0] * 2 + ys[1]


@pytest.mark.parametrize("f, x", [
    (rows_stored_then_transposed, np.arange(9.0).reshape(3, 3) / 7 - 0.4),
    (appended_then_reversed, np.array([0.5, -1.0, 2.0, 0.3])),
])
def test_a_binding_after_the_stores_does_not_make_them_stores_into_a_view(f, x):
    assert_grad_matches(f, x)


def stored_into_after_rebinding_to_a_view(x):
    m = np.zeros((2, 2))
    for i in range(2):
        m[i] = x[i]
    m = m.T
    m[0, 0] = 5.0
    return np.sum(m * x)


def test_a_store_after_rebinding_to_a_view_is_still_refused():
    with pytest.raises(TransformError, match="may share memory"):
        s2sgrad.grad(stored_into_after_rebinding_to_a_view)(np.ones((2, 2)))
