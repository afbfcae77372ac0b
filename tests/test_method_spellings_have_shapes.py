"""Code written with methods and positional options has the same known shapes as with
functions and keywords: `x.mean(-1, keepdims=True)` (an axis given by position),
`x.shape[-1]` (a negative index into a shape), `math.sqrt(d)` of a size (a number),
`np.linalg.norm(v)` (a number), and the softmax shift `A.max(-1, keepdims=True)` is
recognised as one (its adjoint is exactly zero). The adjoints are then NumPy, not
generic helpers. Checked against centred finite differences."""
import math

import numpy as np
import pytest

import s2sgrad

from support.numeric import assert_grad_matches

R = np.random.default_rng(31)


def layer_norm_attention(Wq, Wk, X):
    d = X.shape[-1]
    mu = X.mean(-1, keepdims=True)
    h = (X - mu) / np.sqrt(((X - mu) ** 2).mean(-1, keepdims=True) + 1e-5)
    A = (h @ Wq) @ (h @ Wk).T / math.sqrt(d)
    A = np.exp(A - A.max(-1, keepdims=True))
    A = A / A.sum(-1, keepdims=True)
    return np.sum((A @ h) ** 2)


def normalised_steps(A, v):
    for _ in range(4):
        w = A @ v
        v = w / np.linalg.norm(w)
    return v @ A @ v


@pytest.mark.parametrize("f, args, wrt", [
    (layer_norm_attention, (0.3 * R.standard_normal((6, 6)), 0.3 * R.standard_normal((6, 6)),
                            R.standard_normal((5, 6))), (0, 1, 2)),
    (normalised_steps, (R.standard_normal((4, 4)) + 3 * np.eye(4), R.standard_normal(4)),
     (0, 1)),
], ids=["layer_norm_attention", "normalised_steps"])
def test_gradients(f, args, wrt):
    assert_grad_matches(f, *args, wrt=wrt)


def test_method_spellings_are_written_as_numpy():
    args = (0.3 * R.standard_normal((6, 6)), 0.3 * R.standard_normal((6, 6)),
            R.standard_normal((5, 6)))
    g = s2sgrad.grad(layer_norm_attention, wrt=(0, 1, 2))
    g(*args)
    for helper in ("unbroadcast(", "unreduce(", "matmul_left(", "matmul_right(",
                   "extremum_grad("):
        assert helper not in g.source, g.source


def test_the_steps_of_a_normalised_iteration_know_their_shapes():
    args = (R.standard_normal((4, 4)) + 3 * np.eye(4), R.standard_normal(4))
    g = s2sgrad.grad(normalised_steps, wrt=(0, 1))
    g(*args)
    loop = g.source[g.source.index("for _ in reversed"):]
    assert "unbroadcast(" not in loop and "sum_product(" in loop, g.source
