"""Losses that unpack their parameters from one flat vector by slices and reshapes: the
adjoint of the vector is assembled in place from its pieces (`optimize.pieces`), for one
gradient and for per-example gradients (`vmap`). Every gradient is checked against
float64 centred finite differences of the loss itself, example by example."""
import textwrap
import warnings

import gast
import numpy as np
import pytest

import s2sgrad
from s2sgrad import grad, vmap
from s2sgrad.errors import BatchingWarning
from s2sgrad.optimize.pieces import write_pieces_in_place
from s2sgrad.syntax import emit
from support.numeric import numerical_grad

RNG = np.random.default_rng(19)


def two_layers(w, x, y):
    W1 = np.reshape(w[:12], (4, 3))
    W2 = w[12:]
    h = np.tanh(x @ W1)
    return np.sum((h @ W2 - y) ** 2)


def three_layers_with_biases(w, x, y):
    W1 = np.reshape(w[:12], (4, 3))
    b1 = w[12:15]
    W2 = w[15:21].reshape(3, 2)
    b2 = w[21:23]
    W3 = w[23:25]
    h1 = np.tanh(x @ W1 + b1)
    h2 = np.sin(h1 @ W2 + b2)
    return np.sum((h2 @ W3 - y) ** 2)


def fortran_order(w, x, y):
    W1 = np.reshape(w[:12], (4, 3), order="F")
    W2 = w[12:]
    return np.sum((np.tanh(x @ W1) @ W2 - y) ** 2)


def overlapping(w, x, y):
    W1 = np.reshape(w[:12], (4, 3))
    W2 = w[10:13]                    # shares w[10], w[11] with W1
    return np.sum((np.tanh(x @ W1) @ W2 - y) ** 2)


def from_the_end(w, x, y):
    W1 = np.reshape(w[:12], (4, 3))
    W2 = w[-3:]                      # where it ends depends on len(w)
    return np.sum((np.tanh(x @ W1) @ W2 - y) ** 2)


def weights_on_the_left(w, x, y):
    W1 = np.reshape(w[:12], (3, 4))
    W2 = w[12:]
    h = np.tanh(W1 @ x.T)
    return np.sum((W2 @ h - y) ** 2)


N1 = 12


def by_a_global(w, x, y):
    W1 = w[:N1].reshape(4, 3)
    W2 = w[N1:]
    return np.sum((np.tanh(x @ W1) @ W2 - y) ** 2)


def by_offsets(w, x, y):
    o = 0
    W1 = np.reshape(w[o:o + 12], (4, 3))
    o = o + 12
    b1 = w[o:o + 3]
    o = o + 3
    W2 = w[o:o + 3]
    return np.sum((np.tanh(x @ W1 + b1) @ W2 - y) ** 2)


def overlapping_at_run_time(w, x, y):
    W1 = w[:N1].reshape(4, 3)
    W2 = w[N1 - 2:N1 + 1]            # shares w[10], w[11] with W1: seen only at run time
    return np.sum((np.tanh(x @ W1) @ W2 - y) ** 2)


CASES = {  # loss → number of parameters
    two_layers: 15, three_layers_with_biases: 25, fortran_order: 15, overlapping: 13,
    from_the_end: 15, weights_on_the_left: 15, by_a_global: 15, by_offsets: 18,
    overlapping_at_run_time: 13,
}
#: the pieces made in place (out=), by loss: a reshaped piece (np.reshape of its place),
#: a vector piece; none where the slices may overlap or end at a length not known
IN_PLACE = {two_layers: ("out=np.reshape", "out=w_bar[12:]"),
            three_layers_with_biases: ("out=np.reshape(w_bar[:12]",
                                       "out=np.reshape(w_bar[15:21]", "out=w_bar[23:25]"),
            weights_on_the_left: ("out=np.reshape", "out=w_bar[12:]"),
            fortran_order: ("out=w_bar[12:]",),       # (the order-F piece: a copy)
            # bounds known at run time: placed where the pieces turn out apart
            by_a_global: ("out=piece_place(w_bar", "out=piece_place(w_bar"),
            by_offsets: ("out=piece_place(w_bar", "out=piece_place(w_bar"),
            overlapping_at_run_time: ("out=piece_place(w_bar", "out=piece_place(w_bar")}


def data(n=7):
    return RNG.normal(size=(n, 4)), RNG.normal(size=n)


def assert_per_example(loss, w, X, y, G):
    assert G.shape == (len(X), len(w))
    for k in range(len(X)):
        expected = numerical_grad(loss, (w, X[k], y[k]))
        np.testing.assert_allclose(G[k], expected, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("loss", list(CASES), ids=lambda f: f.__name__)
def test_one_gradient_matches_finite_differences(loss):
    w = RNG.normal(size=CASES[loss]) * 0.5
    X, y = data()
    g = grad(loss)
    np.testing.assert_allclose(g(w, X, y), numerical_grad(loss, (w, X, y)),
                               rtol=1e-6, atol=1e-8)
    placed = IN_PLACE.get(loss, ())
    assert all(p in g.source for p in placed), g.source
    assert g.source.count("out=") == len(placed), g.source


@pytest.mark.parametrize("loss", list(CASES), ids=lambda f: f.__name__)
def test_per_example_gradients_match_finite_differences(loss):
    w = RNG.normal(size=CASES[loss]) * 0.5
    X, y = data()
    with warnings.catch_warnings():
        warnings.simplefilter("error", BatchingWarning)
        f = vmap(grad(loss), in_axes=(None, 0, 0))
        G = f(w, X, y)
    assert_per_example(loss, w, X, y, G)
    if loss in IN_PLACE:
        # the adjoint's batch is made once, where it is made, and each product writes
        # its piece into it
        assert "out=" in f.source and "to_batch(w_bar" not in f.source, f.source


def test_a_place_is_given_only_to_pieces_that_are_apart():
    from s2sgrad import runtime
    g = np.zeros(15)
    place = runtime.piece_place(g, (slice(None, 12), slice(12, None)), 0, np.ones((4, 3)))
    assert place.shape == (4, 3) and np.shares_memory(place, g)
    assert runtime.piece_place(g, (slice(None, 12), slice(10, 13)), 0, np.ones((4, 3))) \
        is None
    assert runtime.piece_place(g, (slice(None, 12, 2), slice(12, None)), 1, np.ones(3)) \
        is None                                          # (a step: not proved apart)
    assert runtime.pieces_apart(15, (-3, slice(None, -3)))
    assert not runtime.pieces_apart(15, (-3, slice(None, -2)))
    G = np.zeros((5, 15))
    place = runtime.batched_piece_place(G, (slice(None, 12), slice(12, None)), 0,
                                        np.ones((4, 3)))
    assert place.shape == (5, 4, 3) and np.shares_memory(place, G)
    # a piece in its place is not added again; any other value is
    v = place.reshape(5, 12)
    v[:] = 1.0
    out = runtime.batched_add_at(G, np.zeros(15), slice(None, 12), v, True)
    assert out is G and np.all(G[:, :12] == 1.0)
    out = runtime.batched_add_at(G, np.zeros(15), slice(None, 12), v.copy(), True)
    assert np.all(G[:, :12] == 2.0)


def test_overlapping_slices_keep_the_adjoint_of_zeros_and_adds():
    w = RNG.normal(size=13)
    X, y = data()
    f = vmap(grad(overlapping), in_axes=(None, 0, 0))
    f(w, X, y)
    g = grad(overlapping)
    g(w, X, y)
    for source in (f.source, g.source):
        assert "out=" not in source and "empty_like" not in source
        assert "zeros_like" in source


@pytest.mark.parametrize("in_axes", [(None, 1, 0), (None, 0, None), (None, -1, 0)])
def test_in_axes_variants(in_axes):
    loss = three_layers_with_biases
    w = RNG.normal(size=25) * 0.5
    X, y = data(5)
    Xin = X.T if in_axes[1] in (1, -1) else X
    yin = y[0] if in_axes[2] is None else y
    with warnings.catch_warnings():
        warnings.simplefilter("error", BatchingWarning)
        G = vmap(grad(loss), in_axes=in_axes)(w, Xin, yin)
    ys = np.full(5, y[0]) if in_axes[2] is None else y
    assert_per_example(loss, w, X, ys, G)


def test_a_batch_of_parameter_vectors_against_shared_data():
    W = RNG.normal(size=(4, 25)) * 0.5
    X, y = data(6)
    with warnings.catch_warnings():
        warnings.simplefilter("error", BatchingWarning)
        G = vmap(grad(three_layers_with_biases), in_axes=(0, None, None))(W, X, y)
    for k in range(4):
        np.testing.assert_allclose(G[k], numerical_grad(three_layers_with_biases,
                                                        (W[k], X, y)),
                                   rtol=1e-6, atol=1e-8)


def test_a_float32_vector_gets_a_float32_gradient_of_the_same_values():
    w = (RNG.normal(size=15) * 0.5).astype(np.float32)
    X, y = data()
    g = grad(two_layers)(w, X, y)
    assert g.dtype == np.float32
    expected = numerical_grad(two_layers, (w.astype(float), X, y))
    np.testing.assert_allclose(g, expected, rtol=1e-5, atol=1e-5)
    G = vmap(grad(two_layers), in_axes=(None, 0, 0))(w, X, y)
    assert G.dtype == np.float32
    np.testing.assert_allclose(G.sum(0), g, rtol=1e-4, atol=1e-5)


def test_hessian_vector_products_through_the_generated_gradient():
    """Forward mode over the gradient code that carries `out=` (compiled for the
    arguments' kinds) reads it as the value it is."""
    from s2sgrad.pipeline import (cached_compile, compile_jvp, compile_kinds,
                                  gradient_parsed, kinds_of)
    w = RNG.normal(size=25) * 0.5
    X, y = data()
    v = RNG.normal(size=25)
    compiled = cached_compile(three_layers_with_biases, (0,), False, True,
                              compile_kinds(kinds_of((w, X, y))))
    assert "out=" in compiled.full_text
    fn, _ = compile_jvp(gradient_parsed(compiled), (0,), "hvp_three_layers")
    g, hv = fn(w, X, y, w_dot=v)
    h = 1e-5
    gp = grad(three_layers_with_biases)(w + h * v, X, y)
    gm = grad(three_layers_with_biases)(w - h * v, X, y)
    np.testing.assert_allclose(hv, (gp - gm) / (2 * h), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(s2sgrad.hvp(three_layers_with_biases)(w, X, y, v), hv,
                               rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------------ the pass alone

def run_pass(source):
    fdef = gast.parse(textwrap.dedent(source)).body[0]
    fdef.body = write_pieces_in_place(fdef.body, {"w"})
    return emit.source(fdef).strip()


def test_the_pass_writes_each_product_into_its_place():
    out = run_pass("""
        def f(w, v1, W1, W2, g, h, x):
            W2_bar = matmul_right(g, h, W2)
            W1_bar = matmul_right(g, x, W1)
            w_bar = np.zeros_like(w)
            w_bar[3:] = W2_bar
            v1_bar = unreshape(W1_bar, v1)
            w_bar[:3] += v1_bar
            return w_bar
        """)
    assert out == textwrap.dedent("""
        def f(w, v1, W1, W2, g, h, x):
            # w_bar: assembled in place, each piece's adjoint written into its place
            w_bar = np.empty_like(w)
            W2_bar = matmul_right(g, h, W2, out=w_bar[3:])
            W1_bar = matmul_right(g, x, W1, out=np.reshape(w_bar[:3], np.shape(W1)))
            w_bar[3:] = W2_bar
            v1_bar = unreshape(W1_bar, v1)
            w_bar[:3] = v1_bar
            return w_bar""").strip()


@pytest.mark.parametrize("why, source", [
    ("overlap", """
        def f(w, W1, W2, g, h, x):
            W2_bar = matmul_right(g, h, W2)
            W1_bar = matmul_right(g, x, W1)
            w_bar = np.zeros_like(w)
            w_bar[2:] = W2_bar
            w_bar[:3] += W1_bar
            return w_bar
        """),
    ("the piece is read elsewhere", """
        def f(w, W1, W2, g, h, x):
            W2_bar = matmul_right(g, h, W2)
            w_bar = np.zeros_like(w)
            w_bar[3:] = W2_bar
            return w_bar, W2_bar
        """),
    ("the adjoint is read before its piece", """
        def f(w, W1, W2, g, h, x):
            W2_bar = matmul_right(g, h, W2)
            w_bar = np.zeros_like(w)
            s = np.sum(w_bar)
            w_bar[3:] = W2_bar
            return w_bar, s
        """),
    ("a step", """
        def f(w, W1, W2, g, h, x):
            W2_bar = matmul_right(g, h, W2)
            w_bar = np.zeros_like(w)
            w_bar[::2] = W2_bar
            return w_bar
        """),
])
def test_the_pass_leaves_what_it_cannot_prove(why, source):
    out = run_pass(source)
    assert "out=" not in out and "empty_like" not in out, why


def test_a_partial_cover_keeps_zeros_around_the_pieces():
    out = run_pass("""
        def f(w, W2, g, h):
            W2_bar = matmul_right(g, h, W2)
            w_bar = np.zeros_like(w)
            w_bar[3:6] = W2_bar
            return w_bar
        """)
    assert "np.zeros_like(w)" in out and "out=w_bar[3:6]" in out


def test_numba_source_makes_the_pieces_without_a_place():
    from s2sgrad.backend.numba.rewrite import pieces_unplaced
    src = ("    W2_bar = matmul_right(v, h, W2, out=w_bar[15:])\n"
           "    W1_bar = matmul_right(g, x, W1, out=piece_place(w_bar, (slice(a, b, None), "
           "slice(b, c, None)), 1, W1))\n"
           "    h_bar = matmul_left(g, W2, np.sum(h, out=None))\n")
    assert pieces_unplaced(src) == ("    W2_bar = matmul_right(v, h, W2)\n"
                                    "    W1_bar = matmul_right(g, x, W1)\n"
                                    "    h_bar = matmul_left(g, W2, np.sum(h, out=None))\n")
