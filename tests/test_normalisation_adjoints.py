"""Adjoints of normalisations (layer norm, standardisation over an axis, ReLU masks)
written as NumPy where the shapes settle them (`optimize.kinds`): `count_reduced(x, -1)`
is `x.shape[-1]`, `choose_grad(g, mask)` of an array mask is `np.where(mask, g, 0.0)`,
`unreduce(g, x, axis, True)` inside an elementwise expression of x's shape is g, and a
negative constant axis is an axis. Gradients against centred finite differences (the
optimizer on and off), and the helpers gone from the code."""
import re

import numpy as np
import pytest

import s2sgrad

from support.numeric import numerical_grad

RNG = np.random.default_rng(23)


def layer_norm_mlp(W1, g, b, W2, X, Y):
    h = X @ W1
    mu = h.mean(axis=-1, keepdims=True)
    var = h.var(axis=-1, keepdims=True)
    hn = (h - mu) / np.sqrt(var + 1e-5) * g + b
    a = np.maximum(hn, 0.0)
    return 0.5 * np.mean((a @ W2 - Y) ** 2)


def standardise_rows(A, w):
    z = (A - np.mean(A, axis=1, keepdims=True)) / np.std(A, axis=1, keepdims=True)
    return np.sum(np.tanh(z) * w)


def centre_columns(A):
    c = A - np.mean(A, axis=-2, keepdims=True)
    return np.sum(c ** 3)


def relu_layer(W, X):
    return np.sum(np.maximum(X @ W, 0.0) ** 2)


def clipped(x, y):
    return np.sum(np.clip(x * y, -0.5, 0.5) ** 2)


CASES = [
    (layer_norm_mlp, lambda: (0.3 * RNG.standard_normal((4, 6)), 1 + RNG.random(6),
                              RNG.standard_normal(6), RNG.standard_normal((6, 3)),
                              RNG.standard_normal((5, 4)), RNG.standard_normal((5, 3))),
     (0, 1, 2, 3)),
    (standardise_rows, lambda: (RNG.standard_normal((4, 7)), RNG.standard_normal(7)),
     (0, 1)),
    (centre_columns, lambda: (RNG.standard_normal((5, 3)),), 0),
    (relu_layer, lambda: (RNG.standard_normal((3, 4)), RNG.standard_normal((6, 3))), 0),
    (clipped, lambda: (RNG.standard_normal(8), RNG.standard_normal(8)), (0, 1)),
]


@pytest.mark.parametrize("optimize", [True, False])
@pytest.mark.parametrize("func, make, wrt", CASES, ids=[c[0].__name__ for c in CASES])
def test_gradients_match_finite_differences(func, make, wrt, optimize):
    args = make()
    got = s2sgrad.grad(func, wrt=wrt, optimize=optimize)(*args)
    indices = wrt if isinstance(wrt, tuple) else (wrt,)
    got = got if isinstance(wrt, tuple) else (got,)
    for i, g in zip(indices, got):
        np.testing.assert_allclose(g, numerical_grad(func, args, i), rtol=1e-6, atol=1e-8)


def source(func, args, wrt):
    g = s2sgrad.grad(func, wrt=wrt)
    g(*args)
    return g.source


@pytest.mark.parametrize("func, make, wrt", CASES[:4], ids=[c[0].__name__ for c in CASES[:4]])
def test_the_shapes_settle_every_helper(func, make, wrt):
    text = source(func, make(), wrt)
    # (the adjoint of a sum over every axis, `unreduce(g, x, None, False)`, stays: it
    # makes x's shape from a number)
    text = re.sub(r"unreduce\(\w+, \w+, None, False\)", "", text)
    for helper in ("unreduce(", "count_reduced(", "choose_grad(", "matmul_right(",
                   "matmul_left(", "unbroadcast("):
        assert helper not in text, text


def test_the_layer_norm_reads_as_written_by_hand():
    text = source(layer_norm_mlp, CASES[0][1](), CASES[0][2])
    assert "np.where(hn >= 0.0, a_bar, 0.0)" in text
    assert "h_bar = h_bar + mu_bar / h.shape[-1]" in text
    assert "W1_bar = X.T @ h_bar" in text
