"""The shapes the optimizer infers for the adjoints of reductions, and the runtime
helpers that must give those shapes: `unreduce` of a number over every axis is an array
of x's shape (zero too, of every real type), so the adjoint of `np.mean(np.min(D2,
axis=1))` has D2's shape, `np.expand_dims` of it one more axis, and the adjoint of a
broadcast subtraction is summed by `axis_sum` (k-means, RBF kernels, mixtures). Checked
against centred finite differences; the cotangents 0 of vjp go down the same code."""
import gast
import numpy as np
import pytest

import s2sgrad
from s2sgrad.optimize.kinds import code_shapes
from s2sgrad.runtime import unreduce

from support.numeric import numerical_grad

RNG = np.random.default_rng(41)


@pytest.mark.parametrize("g", [0.0, 0, np.float32(0.0), np.float64(0.0), np.array(0.0),
                               np.float32(1.5), 2, np.array(0.5)])
def test_unreduce_of_a_number_over_every_axis_is_an_array_of_xs_shape(g):
    x = RNG.standard_normal((3, 4))
    got = unreduce(g, x, None, False)
    assert isinstance(got, np.ndarray) and got.shape == x.shape
    np.testing.assert_array_equal(got, np.full(x.shape, float(g)))


def test_expand_dims_and_unreduce_of_a_number_have_shapes():
    src = ("def f(x, g):\n    a = unreduce(g, x, None, False)\n"
           "    b = np.expand_dims(a, 2)\n    c = np.expand_dims(a, -1)\n"
           "    d = np.expand_dims(a, 0)\n    return b\n")
    fdef = gast.parse(src).body[0]
    shapes = code_shapes(fdef, {"x": ("n", "k")}, numbers=("g",))
    assert shapes["a"] == ("n", "k")
    assert shapes["b"] == shapes["c"] == ("n", "k", 1)
    assert shapes["d"] == (1, "n", "k")


def kmeans(C, X):
    D2 = np.sum((X[:, None, :] - C[None, :, :]) ** 2, axis=2)
    return np.mean(np.min(D2, axis=1))


def mixture(mu, log_s, X):
    D2 = np.sum((X[:, None, :] - mu[None, :, :]) ** 2, axis=2)
    a = -0.5 * D2 / np.exp(2.0 * log_s) - X.shape[1] * log_s
    m = np.max(a, axis=1, keepdims=True)
    return -np.mean(m[:, 0] + np.log(np.sum(np.exp(a - m), axis=1)))


@pytest.mark.parametrize("f, args", [
    (kmeans, (RNG.standard_normal((3, 2)), RNG.standard_normal((9, 2)))),
    (mixture, (RNG.standard_normal((3, 2)), 0.2 * RNG.standard_normal(3),
               RNG.standard_normal((9, 2))))])
def test_gradients_through_broadcast_differences(f, args, capsys):
    n = len(args) - 1
    g = s2sgrad.grad(f, wrt=tuple(range(n)))
    for k, got in enumerate(g(*args)):
        np.testing.assert_allclose(got, numerical_grad(f, args, k), rtol=1e-6, atol=1e-9)
    g.show()
    out = capsys.readouterr().out       # the broadcast sum spelled out, or contracted
    assert "unbroadcast(" not in out and ("-axis_sum(" in out or "np.einsum('ij,ijk->jk'" in out)


@pytest.mark.parametrize("zero", [0.0, np.float32(0.0), np.array(0.0)])
def test_a_zero_cotangent_gives_zero_gradients(zero):
    C, X = RNG.standard_normal((3, 2)), RNG.standard_normal((9, 2))
    value, pullback = s2sgrad.vjp(kmeans, wrt=(0, 1))(C, X)
    np.testing.assert_allclose(value, kmeans(C, X), rtol=1e-12)
    out = pullback(zero)
    out = out if isinstance(out, tuple) else (out,)
    assert np.shape(out[0]) == C.shape and np.shape(out[1]) == X.shape
    assert not np.any(out[0]) and not np.any(out[1])
