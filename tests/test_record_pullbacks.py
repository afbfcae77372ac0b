"""vjp's pullback of a function reading a NamedTuple parameter's fields: the copy of
the saved forward state kept the NamedTuple a NamedTuple (it became a plain tuple, and
the backward pass's `.b` raised GradientError)."""
from typing import NamedTuple

import numpy as np

import s2sgrad


class Params(NamedTuple):
    w: np.ndarray
    b: float


RS = np.random.RandomState(2)
X = RS.randn(5, 3)
P = Params(RS.randn(3), 0.7)


def loss(p, x):
    return np.sum(np.tanh(x @ p.w + p.b) ** 2)


def outputs(p, x):
    return np.tanh(x @ p.w + p.b)


def test_pullback_matches_grad():
    value, pull = s2sgrad.vjp(loss)(P, X)
    assert value == loss(P, X)
    g = pull(2.0)
    want = s2sgrad.grad(loss)(P, X)
    np.testing.assert_allclose(g.w, 2 * want.w, rtol=1e-12)
    assert abs(g.b - 2 * want.b) < 1e-12
    eps = 1e-6
    fd_b = (loss(P._replace(b=P.b + eps), X) - loss(P._replace(b=P.b - eps), X)) / (2 * eps)
    assert abs(want.b - fd_b) < 1e-6


def test_batched_pullback_of_vector_output():
    value, pull = s2sgrad.vjp(outputs)(P, X)
    cts = np.eye(5)
    g = pull(cts, batched=True)
    rows = [pull(c) for c in cts]
    np.testing.assert_allclose(g.w, np.stack([r.w for r in rows]), rtol=1e-12)
    np.testing.assert_allclose(g.b, [r.b for r in rows], rtol=1e-12)
    d = 1 - value ** 2
    np.testing.assert_allclose(g.b, d, rtol=1e-12)
