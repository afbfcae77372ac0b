"""Shapes from sizes the code computes (`ir.shapes`): slices whose ends are computed
from array sizes (`z[:, H:2 * H]`) have known lengths, relying on relations of the
sizes compiled for (assumptions); a call whose sizes break them gets code compiled
without any. Each case against centred finite differences, before and after a call of
other sizes."""
import numpy as np
import pytest

import s2sgrad
from s2sgrad.ir.shapes import holds

from support.numeric import numerical_grad


def gates(Wx, Wh, b, xs):
    """An LSTM's stacked gates: four slices of one product, widths computed from H."""
    H = Wh.shape[0]
    h = np.zeros((xs.shape[1], H))
    c = np.zeros((xs.shape[1], H))
    for t in range(xs.shape[0]):
        z = xs[t] @ Wx + h @ Wh + b
        i = 1.0 / (1.0 + np.exp(-z[:, :H]))
        f = 1.0 / (1.0 + np.exp(-z[:, H:2 * H]))
        o = 1.0 / (1.0 + np.exp(-z[:, 2 * H:3 * H]))
        g = np.tanh(z[:, 3 * H:])
        c = f * c + i * g
        h = o * np.tanh(c)
    return np.sum(h ** 2)


def head(W, x):
    """A prefix as long as another array: its length is k only while k ≤ len(x)."""
    k = W.shape[0]
    return np.sum(x[:k] * np.sum(W, axis=1)[:len(x[:k])]) + np.sum(x[k:] ** 2)


def tail_width(A, c):
    """The last slice is H wide only while A has 4·H columns."""
    H = c.shape[1]
    return np.sum(A[:, 3 * H:] ** 2) + np.sum(A[:, :H] * c) + np.sum(A[:, H:2 * H] * c)


def _gates_data(rng, T=3, B=2, D=5, H=4, width=None):
    width = 4 * H if width is None else width
    return (rng.standard_normal((D, width)) * 0.5, rng.standard_normal((H, width)) * 0.5,
            0.1 * rng.standard_normal(width), rng.standard_normal((T, B, D)))


def _check(f, args, wrt, g=None):
    g = g or s2sgrad.grad(f, wrt=wrt)
    got = g(*args)
    expected = numerical_grad(f, args, wrt)
    for a, e in zip(got, expected):
        np.testing.assert_allclose(a, e, rtol=1e-6, atol=1e-8)
    return g


def test_stacked_gates_have_known_shapes():
    rng = np.random.default_rng(0)
    g = _check(gates, _gates_data(rng), (0, 1, 2))
    src = g.source
    assert "unbroadcast" not in src and "add_at" not in src and "ShapeOf" not in src
    assert "z_bar[:, :H] += " in src and "axis_sum(z_bar, 0)" in src
    assert g.compiled.assumptions


def test_other_sizes_of_the_same_relations_reuse_the_code():
    rng = np.random.default_rng(1)
    g = _check(gates, _gates_data(rng, T=3, B=2, D=5, H=4), (0, 1, 2))
    first = g.compiled
    _check(gates, _gates_data(rng, T=7, B=3, D=6, H=5), (0, 1, 2), g)   # one pattern
    assert g.compiled is first


def test_sizes_that_break_an_order_get_general_code():
    rng = np.random.default_rng(2)
    g = _check(head, (rng.standard_normal((3, 2)), rng.standard_normal(7)), (0, 1))
    assumed = g.compiled
    assert assumed.assumptions
    # k = 9 > len(x) = 5: x[:k] is 5 long, not k
    _check(head, (rng.standard_normal((9, 2)), rng.standard_normal(5)), (0, 1), g)
    assert g.compiled is not assumed and not g.compiled.assumptions
    _check(head, (rng.standard_normal((3, 2)), rng.standard_normal(7)), (0, 1), g)
    assert g.compiled is assumed


def test_sizes_that_break_an_equality_get_general_code():
    rng = np.random.default_rng(3)
    g = _check(tail_width, (rng.standard_normal((2, 12)), rng.standard_normal((2, 3))),
               (0, 1))
    assumed = g.compiled
    # 14 columns for H = 3: the last slice is 5 wide
    _check(tail_width, (rng.standard_normal((2, 14)), rng.standard_normal((2, 3))), (0, 1), g)
    assert g.compiled is not assumed


def test_value_and_grad_under_assumptions():
    rng = np.random.default_rng(4)
    args = _gates_data(rng)
    value, grads = s2sgrad.value_and_grad(gates, wrt=(0, 1, 2))(*args)
    assert abs(value - gates(*args)) <= 1e-12 * abs(gates(*args))
    for a, e in zip(grads, numerical_grad(gates, args, (0, 1, 2))):
        np.testing.assert_allclose(a, e, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("assumptions, sizes, expected", [
    (set(), None, True),
    ({("le", (0, ()), (0, (("d0", 1),)))}, None, False),
    ({("le", (0, (("d0", 1),)), (0, (("d1", 1),)))}, {"d0": 3, "d1": 5}, True),
    ({("le", (0, (("d0", 1),)), (0, (("d1", 1),)))}, {"d0": 6, "d1": 5}, False),
    ({("eq", (0, (("d1", 1), ("d0", -3))), (0, (("d0", 1),)))}, {"d0": 4, "d1": 16}, True),
    ({("eq", (0, (("d1", 1), ("d0", -3))), (0, (("d0", 1),)))}, {"d0": 4, "d1": 17}, False),
    ({("le", (0, (("d9", 1),)), (0, ()))}, {"d0": 4}, False),    # a symbol not there
])
def test_holds(assumptions, sizes, expected):
    assert holds(assumptions, sizes) is expected
