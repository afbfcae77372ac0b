"""Arrays built from a list display (`np.array([y[1], -k * np.sin(y[0])])`,
`np.stack([a, b])`) have known dims: their number of items (a literal, made the symbol
of that size in the call compiled for, the equality checked on each call) and the
items' dims. They are arrays, not containers, whatever they were built from. An ODE
step built this way then has its adjoints written as NumPy, and the parts of the
array's adjoint are its items (`k4_bar[0]`). Checked against centred finite
differences."""
import re

import numpy as np

import s2sgrad

from support.numeric import assert_grad_matches

R = np.random.default_rng(29)


def rk4_pendulum(params, y0):
    g, L = params[0], params[1]

    def f(y):
        return np.array([y[1], -g / L * np.sin(y[0])])

    y = y0
    dt = 0.05
    for _ in range(12):
        k1 = f(y)
        k2 = f(y + 0.5 * dt * k1)
        k3 = f(y + 0.5 * dt * k2)
        k4 = f(y + dt * k3)
        y = y + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return y[0] ** 2 + y[1] ** 2


def stacked_rows(a, b):
    M = np.stack([a * b, np.sin(a)], axis=1)
    return np.sum(M @ np.array([1.5, -0.5]))


def first_two(x, w):
    v = np.array([x[0], x[1]])
    return np.sum(v * w[:2]) + np.sum(x ** 2)


def test_an_ode_step_built_from_numbers():
    args = (np.array([9.8, 1.2]), np.array([0.4, 0.1]))
    assert_grad_matches(rk4_pendulum, *args, wrt=(0, 1))
    g = s2sgrad.grad(rk4_pendulum, wrt=(0, 1))
    g(*args)
    for helper in ("unbroadcast(", "copy_grad(", "getitem_grad(", "add_grads("):
        assert helper not in g.source, g.source
    # the items' adjoints are the array adjoint's items
    assert re.search(r"\w+_bar = \w+_bar\[0\]\n\s+\w+_bar = \w+_bar\[1\]", g.source), g.source


def test_stacked_columns():
    assert_grad_matches(stacked_rows, R.standard_normal(4), R.standard_normal(4), wrt=(0, 1))


def test_the_literal_size_is_checked_on_each_call():
    g = s2sgrad.grad(first_two, wrt=(0, 1))
    for n in (2, 3, 2, 5):                 # 2 items: x's length only when n == 2
        x, w = R.standard_normal(n), R.standard_normal(n)
        got = g(x, w)
        assert got[0].shape == (n,)
        assert_grad_matches(first_two, x, w, wrt=(0, 1))


def test_an_array_of_a_list_is_no_container():
    # indexing it is indexing an array (a list's adjoint would be a list)
    def f(a):
        v = np.array([a[0] * a[1], a[2]])
        return v[0] * v[1] + np.sum(v ** 2)
    assert_grad_matches(f, R.standard_normal(3))
    gx = s2sgrad.grad(f)(R.standard_normal(3))
    assert isinstance(gx, np.ndarray) and gx.shape == (3,)
