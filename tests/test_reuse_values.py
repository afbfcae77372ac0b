"""`optimize.reuse.reuse_values`: a part of an expression that repeats an assignment's
value in the same block reads the assigned name. Source in, source out; and gradients
of code where it applies against centred finite differences."""
import math

import numpy as np
import pytest

import s2sgrad
from s2sgrad.optimize.reuse import reuse_values
from s2sgrad.syntax import emit, nodes

from support.numeric import assert_grad_matches


def _run(text):
    return emit.source(nodes.module(reuse_values(nodes.parse_stmts(text)))).strip()


@pytest.mark.parametrize("before, after", [
    ("v13 = 1.0 + v10\ng = y_bar / (1.0 + v10)",
     "v13 = 1.0 + v10\ng = y_bar / v13"),
    ("e = np.exp(x)\ng = y_bar * np.exp(x) + 1",
     "e = np.exp(x)\ng = y_bar * e + 1"),
    # the whole value is left to the trace's common subexpressions
    ("a = x * y\nb = x * y", "a = x * y\nb = x * y"),
    # an operand assigned in between
    ("a = x + 1\nx = 2.0\nb = (x + 1) * 3", "a = x + 1\nx = 2.0\nb = (x + 1) * 3"),
    # the name assigned in between
    ("a = x + 1\na = 0.0\nb = (x + 1) * 3", "a = x + 1\na = 0.0\nb = (x + 1) * 3"),
    # a call that may change its arguments is not a value to reuse
    ("a = f(x)\nb = f(x) * 2", "a = f(x)\nb = f(x) * 2"),
    # random numbers are drawn anew
    ("a = np.random.rand()\nb = np.random.rand() * 2",
     "a = np.random.rand()\nb = np.random.rand() * 2"),
    # an array stored into in between changes the value
    ("a = x + 1\nx[0] = 5.0\nb = (x + 1) * 3", "a = x + 1\nx[0] = 5.0\nb = (x + 1) * 3"),
    # a loop body is a block of its own
    ("a = x + 1\nfor i in range(3):\n    b = (x + 1) * i",
     "a = x + 1\nfor i in range(3):\n    b = (x + 1) * i"),
    ("for i in range(3):\n    a = x * i\n    b = (x * i) ** 2",
     "for i in range(3):\n    a = x * i\n    b = a ** 2"),
    # a value reading its own target is not available afterwards
    ("x = x + 1\nb = (x + 1) * 2", "x = x + 1\nb = (x + 1) * 2"),
])
def test_source(before, after):
    assert _run(before) == after


def _softplus(z):
    return math.log1p(math.exp(z))


def _sigmoid(z):
    return 1.0 / (1.0 + math.exp(-z))


def robust(a, b, xs, ys):
    loss = 0.0
    for i in range(len(xs)):
        r = a * xs[i] + b - ys[i]
        loss = loss + _softplus(r) + _softplus(-r) + 0.1 * _sigmoid(r) * r
    return loss / len(xs)


def sqrt_twice(x):
    s = np.sqrt(x)
    return np.sum(s * np.log1p(s) / (2.0 * s))


def test_scalar_loop_reads_the_forward_value():
    g = s2sgrad.grad(robust, wrt=(0, 1))
    rng = np.random.default_rng(0)
    xs = [float(v) for v in rng.uniform(-2, 2, 20)]
    ys = [2.0 * x + 0.3 * float(rng.standard_normal()) for x in xs]
    assert_grad_matches(robust, 1.3, 0.2, xs, ys, wrt=(0, 1))
    g(1.3, 0.2, xs, ys)
    code = "\n".join(line for line in g.source.splitlines()
                     if not line.strip().startswith("#"))
    assert code.count("1.0 + v10") == 1 and "/ v13" in code    # (computed once, read twice)


@pytest.mark.parametrize("optimize", [True, False])
def test_arrays(optimize):
    x = np.random.default_rng(1).uniform(0.5, 2.0, 6)
    got = s2sgrad.grad(sqrt_twice, optimize=optimize)(x)
    h = 1e-6
    fd = np.array([(sqrt_twice(x + h * e) - sqrt_twice(x - h * e)) / (2 * h)
                   for e in np.eye(6)])
    np.testing.assert_allclose(got, fd, rtol=1e-6, atol=1e-9)


def tanh_square(w, x):
    return np.sum(np.tanh(x * w) ** 2)


def test_gradient_and_value_twin_share_no_rewrite():
    """grad_f drops `v3 = v2 * v2` (only the value reads it); its value twin keeps it and
    reads it in the tanh adjoint: the twins share statements, so the rewrite must not
    change grad_f's."""
    for w, x in ((0.5, 1.5), (np.array([0.5, -0.2]), np.array([1.5, 2.0]))):
        assert_grad_matches(tanh_square, w, x)
        value, g = s2sgrad.value_and_grad(tanh_square)(w, x)
        assert np.isclose(value, tanh_square(w, x))
