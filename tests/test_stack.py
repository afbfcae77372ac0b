"""`optimize.stack`: the outer products a backward loop adds to a matrix's adjoint at each
step, added after the loop as one matrix product of the steps' vectors. Each program is
checked against centred finite differences (grad and value_and_grad, float64 and
float32); the source checks say where the pass applies and where it must not."""
import importlib.util

import numpy as np
import pytest

import s2sgrad
from s2sgrad.optimize.stack import stack_outer_products

from support.numeric import assert_grad_matches, assert_value_and_grad_matches
from support.source_passes import gradient_source, run_pass

R = np.random.default_rng(11)


def sinkhorn(C, a, b):                            # a fixed matrix applied at each step
    K = np.exp(-C / 0.5)
    u = np.ones_like(a)
    for _ in range(6):
        v = b / (K.T @ u)
        u = a / (K @ v)
    return np.sum(u[:, None] * K * v[None, :] * C)


def rnn(W, U, xs):                                # an unbatched recurrent cell
    h = np.zeros(W.shape[0])
    for t in range(xs.shape[0]):
        h = np.tanh(W @ h + U @ xs[t])
    return np.sum(h ** 2)


def gru(Wz, Wh, xs):                              # a gate on the joined state and input
    h = np.zeros(Wz.shape[1])
    for t in range(len(xs)):
        hx = np.concatenate([h, xs[t]])
        z = 1.0 / (1.0 + np.exp(-(hx @ Wz)))
        hh = np.tanh(hx @ Wh)
        h = (1 - z) * h + z * hh
    return np.sum(h ** 2)


def power(A, v):                                  # a power iteration, normalised
    for _ in range(5):
        v = A @ v
        v = v / np.sqrt(v @ v)
    return v @ A @ v


def batched_rnn(W, xs):                           # (h is a matrix: left alone)
    h = np.zeros((xs.shape[1], W.shape[1]))
    for t in range(xs.shape[0]):
        h = np.tanh(h @ W + xs[t])
    return np.sum(h ** 2)


CASES = [
    (sinkhorn, (R.random((4, 3)), np.full(4, 0.25), np.full(3, 1 / 3)), 0),
    (rnn, (0.4 * R.standard_normal((5, 5)), R.standard_normal((5, 3)),
           R.standard_normal((7, 3))), (0, 1)),
    (gru, (0.4 * R.standard_normal((6, 4)), 0.4 * R.standard_normal((6, 4)),
           R.standard_normal((5, 2))), (0, 1)),
    (power, (R.standard_normal((4, 4)), R.standard_normal(4)), (0, 1)),
    (batched_rnn, (0.4 * R.standard_normal((3, 3)), R.standard_normal((4, 2, 3))), 0),
]
IDS = [f.__name__ for f, _, _ in CASES]


@pytest.mark.parametrize("f, args, wrt", CASES, ids=IDS)
def test_gradients_match_finite_differences(f, args, wrt):
    assert_grad_matches(f, *args, wrt=wrt)
    assert_value_and_grad_matches(f, *args, wrt=wrt)


@pytest.mark.parametrize("f, args, wrt", CASES, ids=IDS)
def test_float32_stays_float32(f, args, wrt):
    small = tuple(a.astype(np.float32) for a in args)
    got = s2sgrad.grad(f, wrt=wrt)(*small)
    want = s2sgrad.grad(f, wrt=wrt, optimize=False)(*args)
    for g, w in zip(got if isinstance(got, tuple) else (got,),
                    want if isinstance(want, tuple) else (want,)):
        assert g.dtype == np.float32
        np.testing.assert_allclose(g, w, rtol=2e-3, atol=2e-4)


@pytest.mark.parametrize("k, sums", [(0, ["K_bar += ", "K_bar += "]), (1, ["W_bar = ", "U_bar = "]),
                                     (2, ["Wz_bar = ", "Wh_bar = "])])
def test_outer_products_become_one_matrix_product(k, sums):
    src = gradient_source(*CASES[k])
    assert "np.outer" not in src and "_rows = np.empty((" in src, src
    after = src[src.index("added as one matrix product"):]
    for s in sums:
        assert after.count(s) >= sums.count(s), src
    assert after.count("_rows.T @ ") == len(sums), src


def test_the_joined_vector_is_kept_once_for_two_products():
    src = gradient_source(*CASES[2])
    assert src.count("hx_rows[t] = hx") == 1, src


def test_batched_cells_are_left_alone():
    src = gradient_source(*CASES[4])
    assert "_rows" not in src, src


def test_no_steps():
    # a loop that runs no step: the sums of no products are zeros
    W, U = R.standard_normal((3, 3)), R.standard_normal((3, 2))
    gW, gU = s2sgrad.grad(rnn, wrt=(0, 1))(W, U, np.zeros((0, 2)))
    assert not gW.any() and not gU.any() and gW.shape == (3, 3) and gU.shape == (3, 2)


def _optimized(text, shapes):
    return run_pass(text, stack_outer_products, shapes)


def test_source_in_source_out():
    text = (
        "def f(W, xs, n):\n"
        "    W_bar = 0.0\n"
        "    for i in reversed(range(n)):\n"
        "        g = xs[i]\n"
        "        W_bar += np.outer(g, g)\n"
        "    return W_bar\n")
    out = _optimized(text, {"W": ("a", "a"), "xs": ("n", "a"), "g": ("a",)})
    assert "g_rows = np.empty((np.maximum(n, 0), W.shape[0]))" in out, out   # (n < 0)
    assert "g_rows[i] = g" in out and "W_bar = g_rows.T @ g_rows" in out, out
    assert "W_bar = 0.0" not in out and "np.outer" not in out, out


@pytest.mark.parametrize("body", [
    "        W_bar += np.outer(g, g)\n        y = W_bar[0]\n",        # read in the loop
    "        if g[0] > 0:\n            W_bar += np.outer(g, g)\n",    # under a branch
])
def test_accumulators_the_loop_reads_or_adds_to_conditionally_are_left_alone(body):
    text = (
        "def f(W, xs, n):\n"
        "    W_bar = 0.0\n"
        "    for i in reversed(range(n)):\n"
        "        g = xs[i]\n" + body +
        "    return W_bar\n")
    out = _optimized(text, {"W": ("a", "a"), "xs": ("n", "a"), "g": ("a",)})
    assert "np.outer(g, g)" in out and "_rows" not in out, out


def test_lengths_no_parameter_has_are_left_alone():
    text = (
        "def f(xs, n):\n"
        "    W_bar = 0.0\n"
        "    for i in reversed(range(n)):\n"
        "        g = np.tanh(xs[i])\n"
        "        W_bar += np.outer(g, g)\n"
        "    return W_bar\n")
    out = _optimized(text, {"g": ("b",)})
    assert "np.outer(g, g)" in out, out


@pytest.mark.skipif(importlib.util.find_spec("numba") is None, reason="numba not installed")
def test_numba_compiles_the_stacked_loop():
    W, U, xs = CASES[1][1]
    g = s2sgrad.grad(rnn, wrt=(0, 1), backend="numba", strict=True)
    got = g(W, U, xs)
    want = s2sgrad.grad(rnn, wrt=(0, 1))(W, U, xs)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    assert "_rows.T @" in g.source
