"""`np.add.at(y, index, v)` and `np.subtract.at` into an array the function made: the
scatter-add of graph and particle code (messages summed per node, forces per particle).
Differentiated as `y[...] = scatter_add(y, index, v)`, repeated indices accumulating as
NumPy's do; every gradient against centred finite differences, tangents and
Hessian-vector products against differences too."""
import importlib.util
import re

import numpy as np
import pytest

import s2sgrad
from s2sgrad.errors import TransformError
from s2sgrad.tools.cli import main

from support.numeric import assert_grad_matches, assert_value_and_grad_matches, numerical_grad

R = np.random.default_rng(11)
SRC = np.array([0, 1, 2, 2, 3, 0])
DST = np.array([1, 2, 0, 1, 1, 1])          # node 1 receives four messages


def message_passing(x, w):
    agg = np.zeros((4, x.shape[1]))
    np.add.at(agg, DST, x[SRC] * w)
    return np.sum(np.tanh(agg) ** 2)


def two_scatters(x, w):
    agg = x.copy()
    np.add.at(agg, DST, np.sin(x[SRC]) * w)
    np.subtract.at(agg, (SRC, 0), 0.5 * x[DST, 1])       # a tuple index, one column
    return np.sum(agg * x)


def in_a_loop(x, w):
    h = x
    for _ in range(3):
        agg = np.zeros_like(h)
        np.add.at(agg, DST, h[SRC])
        h = np.tanh(agg * w + h)
    return np.sum(h ** 2)


def scalar_values(x):
    counts = np.zeros(5)
    np.add.at(counts, [0, 0, 4, 2, 0], x[0] * x[1])      # one number added three times at 0
    return np.sum(counts * np.arange(1.0, 6.0)) + np.sum(counts ** 2)


X = R.standard_normal((4, 3))
W = R.standard_normal(3)


@pytest.mark.parametrize("f, args, wrt", [
    (message_passing, (X, W), (0, 1)),
    (two_scatters, (X, W), (0, 1)),
    (in_a_loop, (X, W), (0, 1)),
    (scalar_values, (R.standard_normal(2),), 0),
])
def test_gradients_through_add_at(f, args, wrt):
    assert_grad_matches(f, *args, wrt=wrt)
    assert_value_and_grad_matches(f, *args, wrt=wrt)


def test_repeated_indices_accumulate_as_numpy_does():
    """Node 1 gets four messages: its adjoint is read four times, once per message."""
    x = X.copy()
    got = s2sgrad.grad(message_passing)(x, W)
    np.testing.assert_allclose(got, numerical_grad(message_passing, (x, W)), rtol=1e-6,
                               atol=1e-8)
    np.testing.assert_array_equal(x, X)                  # the argument is left alone


def _flat(f, shape, *rest):
    return lambda z: f(z.reshape(shape), *rest)


def test_tangent_and_hessian_vector_product():
    v = R.standard_normal(X.shape)
    value, tangent = s2sgrad.jvp(two_scatters)((X, W), (v, np.zeros(3)))
    h = 1e-6
    expected = (two_scatters(X + h * v, W) - two_scatters(X - h * v, W)) / (2 * h)
    assert value == pytest.approx(two_scatters(X, W), rel=1e-12)
    assert tangent == pytest.approx(expected, rel=1e-6, abs=1e-9)
    hv = s2sgrad.hvp(message_passing)(X, W, v)
    g = s2sgrad.grad(message_passing)
    expected = (g(X + 1e-5 * v, W) - g(X - 1e-5 * v, W)) / 2e-5
    np.testing.assert_allclose(hv, expected, rtol=1e-5, atol=1e-7)


def into_an_argument(y, v):
    np.add.at(y, [0, 1], v)
    return np.sum(y ** 2)


def view_read_after(x):
    agg = np.zeros(4)
    first = agg[:2]                          # a view of agg, read after the scatter
    np.add.at(agg, [0, 0, 3], x)
    return np.sum(first * x[:2])


def test_refusals_name_the_line_and_what_to_write():
    with pytest.raises(TransformError, match="argument `y`"):
        s2sgrad.grad(into_an_argument)(np.zeros(3), 1.0)
    with pytest.raises(TransformError, match="view|share"):
        s2sgrad.grad(view_read_after)(R.standard_normal(3))


MODULE = '''\
import numpy as np

SRC = np.array([0, 1, 2, 2])
DST = np.array([1, 2, 0, 1])


def loss(x):
    agg = np.zeros(3)
    np.add.at(agg, DST, x[SRC] ** 2)
    return np.sum(np.sin(agg))
'''


def test_transform_writes_a_module_that_needs_numpy_only(tmp_path, capsys):
    src = tmp_path / "graph.py"
    src.write_text(MODULE)
    out = tmp_path / "graph_grad.py"
    assert main(["transform", str(src), "-o", str(out)]) == 0, capsys.readouterr().err
    text = out.read_text()
    assert "def scatter_add" in text
    assert not re.search(r"^\s*(import|from) s2sgrad", text, re.M)
    spec = importlib.util.spec_from_file_location("graph_grad", out)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    x = np.array([0.3, -0.7, 1.1, 0.4])
    grad = mod.grad_loss(x)
    np.testing.assert_allclose(grad, numerical_grad(mod.loss, (x,)), rtol=1e-6, atol=1e-8)
