"""A tuple of plain numbers as an argument (`params = (a, b)`) is compiled knowing its
items are numbers, as a list of numbers is (`pipeline.NUMBER_TUPLE`): the code reads
them as numbers, not through the generic helpers. Its gradient is a tuple of floats.
Checked against centred finite differences and closed forms."""
import math

import numpy as np
import pytest

import s2sgrad

R = np.random.default_rng(23)
XS = [float(v) for v in R.standard_normal(12)]
YS = [float(2.0 * x - 0.3 + 0.5 * R.standard_normal()) for x in XS]


def huber(params, xs, ys):
    a, b = params
    total = 0.0
    for x, y in zip(xs, ys):
        r = a * x + b - y
        total += r * r / 2 if abs(r) < 1 else abs(r) - 0.5
    return total / len(xs)


def indexed(params, xs):
    s = 0.0
    for i in range(len(params)):
        s = s + params[i] * math.sin(xs[i]) + params[i] ** 2
    return s


def _line(p, x):
    return p[0] * x + p[1]


def through_a_helper(params, xs):
    return sum((_line(params, x) - 1.0) ** 2 for x in xs)


def tuple_differences(f, params, *rest, eps=1e-6):
    out = []
    for k in range(len(params)):
        up = tuple(p + eps if j == k else p for j, p in enumerate(params))
        down = tuple(p - eps if j == k else p for j, p in enumerate(params))
        out.append((f(up, *rest) - f(down, *rest)) / (2 * eps))
    return tuple(out)


@pytest.mark.parametrize("f, params, rest", [
    (huber, (0.5, -0.2), (XS, YS)),
    (huber, (3, -1), (XS, YS)),                      # ints among the items
    (indexed, (0.3, -1.2, 2.0), (XS[:3],)),
    (through_a_helper, (1.5, 0.25), (XS,)),
], ids=["huber", "huber_ints", "indexed", "helper"])
def test_gradient_is_a_tuple_of_floats(f, params, rest):
    got = s2sgrad.grad(f)(params, *rest)
    assert type(got) is tuple and all(type(g) is float for g in got)
    np.testing.assert_allclose(got, tuple_differences(f, params, *rest), rtol=1e-6, atol=1e-8)
    value, again = s2sgrad.value_and_grad(f)(params, *rest)
    assert value == f(params, *rest) and again == got


def test_closed_form():
    # d/da sum (a x + b - y)^2 / 2 / n over |r| < 1 only: a tiny residual everywhere
    xs, ys = [0.1, 0.2, 0.3], [0.1, 0.2, 0.3]
    ga, gb = s2sgrad.grad(huber)((1.0, 0.0), xs, ys)
    assert ga == 0.0 and gb == 0.0
    ga, gb = s2sgrad.grad(huber)((1.0, 0.1), xs, ys)
    assert math.isclose(gb, 0.1) and math.isclose(ga, 0.1 * sum(xs) / 3)


def test_numbers_are_read_as_numbers():
    g = s2sgrad.grad(huber)
    g((0.5, -0.2), XS, YS)
    assert "unbroadcast" not in g.source and "ShapeOf" not in g.source, g.source


def test_list_and_tuple_compile_apart():
    g = s2sgrad.grad(indexed)
    as_tuple = g((0.3, -1.2, 2.0), XS[:3])
    as_list = g([0.3, -1.2, 2.0], XS[:3])
    assert type(as_tuple) is tuple and type(as_list) is list
    np.testing.assert_allclose(as_tuple, as_list, rtol=0, atol=0)
