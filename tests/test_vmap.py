"""`vmap`: a function (or its gradient) mapped over a leading batch axis by generated
batched code. Checked against independent oracles: closed-form per-example gradients,
centered finite differences of the loss of one example, and a Python loop calling the
plain (untransformed) function on each example."""
import warnings

import numpy as np
import pytest

import s2sgrad
from s2sgrad import grad, vmap
from s2sgrad.errors import BatchingWarning, S2SGradError, TransformError
from support.numeric import numerical_grad

RNG = np.random.default_rng(7)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def logreg(w, x, y):
    z = x @ w
    p = 1.0 / (1.0 + np.exp(-z))
    return -np.sum(y * np.log(p) + (1 - y) * np.log(1 - p))


def mlp(W1, W2, x, y):
    h = np.tanh(x @ W1)
    o = h @ W2
    return np.mean((o - y) ** 2)


def no_loop_warnings():
    """A context in which a loop fallback fails the test (the batched form must exist)."""
    ctx = warnings.catch_warnings()
    ctx.__enter__()
    warnings.simplefilter("error", BatchingWarning)
    return ctx


def test_per_example_gradients_of_logistic_regression_match_the_closed_form():
    X = RNG.normal(size=(32, 5))
    y = (RNG.random(32) > 0.5).astype(float)
    w = RNG.normal(size=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error", BatchingWarning)
        G = vmap(grad(logreg), in_axes=(None, 0, 0))(w, X, y)
    expected = (sigmoid(X @ w) - y)[:, None] * X          # d/dw of one example's loss
    assert G.shape == (32, 5)
    np.testing.assert_allclose(G, expected, rtol=1e-10, atol=1e-12)


def test_per_example_gradients_of_an_mlp_match_finite_differences():
    W1 = RNG.normal(size=(4, 3))
    W2 = RNG.normal(size=3)
    X = RNG.normal(size=(6, 4))
    y = RNG.normal(size=6)
    with warnings.catch_warnings():
        warnings.simplefilter("error", BatchingWarning)
        G1, G2 = vmap(grad(mlp, wrt=(0, 1)), in_axes=(None, None, 0, 0))(W1, W2, X, y)
    assert G1.shape == (6, 4, 3) and G2.shape == (6, 3)
    for k in range(6):
        n1, n2 = numerical_grad(mlp, (W1, W2, X[k], y[k]), wrt=(0, 1))
        np.testing.assert_allclose(G1[k], n1, rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(G2[k], n2, rtol=1e-6, atol=1e-8)


def test_the_mean_of_per_example_gradients_is_the_full_batch_gradient():
    X = RNG.normal(size=(20, 3))
    y = RNG.normal(size=20)
    W1, W2 = RNG.normal(size=(3, 4)), RNG.normal(size=4)

    def batch_loss(W1, W2, X, y):
        return np.mean((np.tanh(X @ W1) @ W2 - y) ** 2)
    G1, G2 = vmap(grad(mlp, wrt=(0, 1)), in_axes=(None, None, 0, 0))(W1, W2, X, y)
    n1, n2 = numerical_grad(batch_loss, (W1, W2, X, y), wrt=(0, 1))
    np.testing.assert_allclose(G1.mean(0), n1, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(G2.mean(0), n2, rtol=1e-6, atol=1e-8)


def recurrent(w, xs):
    """A loop over time whose trip count comes from one example's length."""
    h = 0.0
    for t in range(len(xs)):
        h = np.tanh(w[0] * h + w[1] * xs[t])
    return h * h


def test_per_example_gradient_through_a_loop_matches_finite_differences():
    w = np.array([0.6, -0.9])
    XS = RNG.normal(size=(5, 7))
    with warnings.catch_warnings():
        warnings.simplefilter("error", BatchingWarning)
        G = vmap(grad(recurrent), in_axes=(None, 0))(w, XS)
    for k in range(5):
        np.testing.assert_allclose(G[k], numerical_grad(recurrent, (w, XS[k])),
                                   rtol=1e-6, atol=1e-9)


def features(x, A, n):
    """Reductions with an axis, indexing, a transpose, a reshape, shapes, a loop and a
    branch on an unbatched value."""
    m = x.reshape(2, 3)
    col = np.sum(m, axis=0)
    row = m.mean(axis=-1)
    top = np.max(m)
    s = 0.0
    for i in range(n):
        s = s + m[i % 2, 1] * col[i % 3]
    if n > 1:
        s = s * 2.0
    t = m.T @ row
    return np.concatenate([A @ x + top * col.sum(), t * s + x.shape[0]])


@pytest.mark.parametrize("n", [1, 3])
def test_vmap_of_a_plain_function_matches_a_loop_over_the_examples(n):
    X = RNG.normal(size=(9, 6))
    A = RNG.normal(size=(4, 6))
    with warnings.catch_warnings():
        warnings.simplefilter("error", BatchingWarning)
        got = vmap(features, in_axes=(0, None, None))(X, A, n)
    expected = np.stack([features(X[k], A, n) for k in range(9)])
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def scale_and_shift(x, s):
    return np.exp(x) * s + s ** 2


@pytest.mark.parametrize("in_axes", [0, (0, 0), (1, 0), (-1, 0), (0, None)])
def test_in_axes_variants(in_axes):
    X = RNG.normal(size=(5, 3))
    S = RNG.normal(size=5)
    ax = in_axes if isinstance(in_axes, tuple) else (in_axes, in_axes)
    if ax[0] in (1, -1):
        X = X.T.copy()                             # examples along axis 1: (3, 5)
    if ax[1] is None:
        S = 0.7
    with warnings.catch_warnings():
        warnings.simplefilter("error", BatchingWarning)
        got = vmap(scale_and_shift, in_axes=in_axes)(X, S)
    Xe = np.moveaxis(X, ax[0], 0)
    expected = np.stack([np.exp(Xe[k]) * (S[k] if ax[1] is not None else S)
                         + (S[k] if ax[1] is not None else S) ** 2 for k in range(5)])
    assert got.shape == (5, 3)
    np.testing.assert_allclose(got, expected, rtol=1e-13)


def test_a_batched_number_against_an_unbatched_vector_is_aligned_by_rank():
    """An example's scalar times a vector shared by all examples: (B,) against (n,) must
    read (B, 1) against (n,), not broadcast (or fail) along the wrong axis."""
    v = np.arange(5.0)

    def f(s, v):
        return s * v + np.sin(s)
    S = RNG.normal(size=5)                      # B == n: a silent misalignment would pass
    got = vmap(f, in_axes=(0, None))(S, v)
    np.testing.assert_allclose(got, S[:, None] * v + np.sin(S)[:, None])


def test_the_batched_code_is_readable_and_deterministic():
    f = vmap(grad(logreg), in_axes=(None, 0, 0))
    X, y, w = RNG.normal(size=(4, 3)), np.ones(4), np.zeros(3)
    f(w, X, y)
    src = f.source
    assert src.startswith("def vmap_grad_logreg(w, x, y")
    assert "batched_matmul_right(" in src and "batch_size = np.shape(x)[0]" in src
    assert "# grad of:" in src                      # the gradient's comments kept
    g = vmap(grad(logreg), in_axes=(None, 0, 0))
    g(w, X, y)
    assert g.source == src


def branchy(x):
    if np.sum(x) > 0:
        return np.sum(x ** 2)
    return -np.sum(x)


def test_a_condition_that_differs_between_examples_runs_as_a_loop_with_a_warning():
    X = np.array([[1.0, 2.0], [-3.0, 1.0], [0.5, -2.0]])
    with pytest.warns(BatchingWarning, match=r"test_vmap\.py:\d+.*loop over the examples"):
        got = vmap(branchy)(X)
    np.testing.assert_allclose(got, [5.0, 2.0, 1.5])
    with pytest.warns(BatchingWarning):
        G = vmap(grad(branchy))(X)
    np.testing.assert_allclose(G, [[2.0, 4.0], [-1.0, -1.0], [-1.0, -1.0]])


def helper(a, scale=1.0):
    """(a default: batched code does not call into it, the call loops)"""
    return np.cumprod(a)[-1] * scale


def uses_helper(x, c):
    return helper(x) * c + np.sum(x)


def test_an_operation_without_a_rule_loops_over_the_examples_with_a_note():
    X = RNG.normal(size=(4, 3))
    f = vmap(uses_helper, in_axes=(0, None))
    with pytest.warns(BatchingWarning, match="helper"):
        got = f(X, 2.0)
    np.testing.assert_allclose(got, [np.prod(x) * 2.0 + np.sum(x) for x in X])
    assert "no batching rule for the call `helper(x)`: a loop over the examples" in f.source
    assert "stack_examples([helper(x[k]) for k in range(batch_size)])" in f.source


def ragged(x):
    return x[: int(x[0] > 0) + 1]


def test_results_that_cannot_be_stacked_are_a_located_error():
    X = np.array([[1.0, 2.0], [-1.0, 2.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BatchingWarning)
        with pytest.raises(TransformError) as info:
            vmap(ragged)(X)
    err = info.value
    assert err.filename.endswith("test_vmap.py")
    assert "return x[: int(x[0] > 0) + 1]" in err.source_line
    assert "stack" in err.message


def test_refusals_of_bad_arguments():
    X = np.ones((3, 2))
    with pytest.raises(S2SGradError, match="out_axes=0"):
        vmap(scale_and_shift, out_axes=1)
    with pytest.raises(S2SGradError, match="2 arguments"):
        vmap(scale_and_shift, in_axes=(0,))(X, X)
    with pytest.raises(S2SGradError, match="is a number"):
        vmap(scale_and_shift, in_axes=(0, 0))(X, 2.0)
    with pytest.raises(S2SGradError, match="examples along"):
        vmap(scale_and_shift)(X, np.ones(4))
    with pytest.raises(S2SGradError, match="at least one argument"):
        vmap(scale_and_shift, in_axes=None)(X, X)
    with pytest.raises(S2SGradError, match="has 2 axes"):
        vmap(scale_and_shift, in_axes=(2, None))(X, 1.0)


def writes_into(x):
    y = x * 1.0
    y[0] = 0.0
    return y


def test_stores_never_touch_the_callers_arrays():
    X = RNG.normal(size=(3, 4))
    before = X.copy()
    got = vmap(writes_into)(X)
    np.testing.assert_array_equal(X, before)
    expected = before.copy()
    expected[:, 0] = 0.0
    np.testing.assert_array_equal(got, expected)


def test_vmap_is_exported():
    assert "vmap" in s2sgrad.__all__ and s2sgrad.vmap is vmap


def two_parts(a):
    return np.cumsum(a)[-1], a * 2.0


def unpacks_a_call(x):
    s, d = two_parts(x)
    return s + np.sum(d)


def extends_a_list(x):
    out = []
    out.extend([x, x * 2.0])
    return out[0] + out[1]


def test_calls_returning_tuples_and_methods_of_shared_lists_stay_right():
    X = RNG.normal(size=(4, 3))
    with pytest.warns(BatchingWarning):
        got = vmap(unpacks_a_call)(X)
    np.testing.assert_allclose(got, [unpacks_a_call(x) for x in X], rtol=1e-13)
    with pytest.warns(BatchingWarning, match="extend"):
        got = vmap(extends_a_list)(X)
    np.testing.assert_allclose(got, 3.0 * X, rtol=1e-13)


def packed_mlp(w, x, y):
    W1 = np.reshape(w[:12], (4, 3))
    return mlp(W1, w[12:], x, y)


def test_per_example_gradients_through_a_called_function_match_finite_differences():
    """`mlp` is inlined into the gradient (a small helper): batched, no loop."""
    w = RNG.normal(size=15)
    X = RNG.normal(size=(5, 4))
    y = RNG.normal(size=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error", BatchingWarning)
        f = vmap(grad(packed_mlp), in_axes=(None, 0, 0))
        G = f(w, X, y)
    assert "mlp_fwd" not in f.source and "loop over the examples" not in f.source
    for k in range(5):
        np.testing.assert_allclose(G[k], numerical_grad(packed_mlp, (w, X[k], y[k])),
                                   rtol=1e-6, atol=1e-9)


def vector_loss(w, x):
    return mlp(np.reshape(w[:12], (4, 3)), w[12:], x, 0.0) * x


def test_a_per_example_output_that_is_not_a_number_is_refused():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BatchingWarning)
        with pytest.raises(s2sgrad.GradientError, match="scalar output"):
            vmap(grad(vector_loss), in_axes=(None, 0))(np.ones(15), np.ones((3, 4)))


def energy(x, c):
    return np.sum(np.sin(x) * x) + c * np.sum(x ** 2) / x.shape[0]


def test_per_example_gradients_with_respect_to_the_batched_argument():
    X = RNG.normal(size=(6, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("error", BatchingWarning)
        G = vmap(grad(energy), in_axes=(0, None))(X, 0.3)
        H = vmap(grad(energy, wrt=1), in_axes=(0, None))(X, 0.3)
    np.testing.assert_allclose(G, np.sin(X) + X * np.cos(X) + 0.3 * 2 * X / 4, rtol=1e-12)
    np.testing.assert_allclose(H, np.sum(X ** 2, axis=1) / 4, rtol=1e-12)


def masked_sum(x, m):
    return np.sum(x[m] ** 2)


def test_a_batched_mask_is_not_read_as_positions():
    x = np.arange(1.0, 5.0)
    M = np.array([[True, False, True, False], [False, False, False, True]])
    with pytest.warns(BatchingWarning):
        got = vmap(masked_sum, in_axes=(None, 0))(x, M)
    np.testing.assert_allclose(got, [1.0 + 9.0, 16.0])
    idx = np.array([[0, 1], [3, 3]])
    with warnings.catch_warnings():
        warnings.simplefilter("error", BatchingWarning)
        got = vmap(masked_sum, in_axes=(None, 0))(x, idx)      # integer positions
    np.testing.assert_allclose(got, [1.0 + 4.0, 32.0])


def sums_a_list(x, y):
    parts = []
    for i in range(3):
        parts.append(y ** 2 + x * (i + 1.0))
    return np.sum(sum(parts))


def test_sum_of_a_list_of_batched_values_adds_the_items_not_the_examples():
    X = RNG.normal(size=(4, 3))
    y = RNG.normal(size=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", BatchingWarning)
        got = vmap(sums_a_list, in_axes=(0, None))(X, y)
    np.testing.assert_allclose(got, [3 * np.sum(y ** 2) + 6 * np.sum(x) for x in X],
                               rtol=1e-12)


def bilinear(x, Y, c):
    return x @ (Y @ c)


def test_an_adjoint_shared_by_the_examples_meets_a_batched_product():
    """The output's adjoint 1.0 is the same for every example while x is not: the
    product rules must not read the number as a batch."""
    X = RNG.normal(size=(5, 3))
    Y = RNG.normal(size=(3, 4))
    c = RNG.normal(size=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error", BatchingWarning)
        GX, GY = vmap(grad(bilinear, wrt=(0, 1)), in_axes=(0, None, None))(X, Y, c)
    np.testing.assert_allclose(GX, np.broadcast_to(Y @ c, (5, 3)), rtol=1e-12)
    np.testing.assert_allclose(GY, X[:, :, None] * c[None, None, :], rtol=1e-12)


OFFSET = 1.5


def ignores_x(x, y):
    v1 = OFFSET
    return v1 + np.sum(np.tanh(y))


def test_a_gradient_the_same_for_every_example_is_repeated_item_by_item():
    X = RNG.normal(size=3)
    y = RNG.normal(size=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BatchingWarning)
        gx, gy = vmap(grad(ignores_x, wrt=(0, 1)), in_axes=(0, None))(X, y)
    np.testing.assert_array_equal(gx, np.zeros(3))
    np.testing.assert_allclose(gy, np.broadcast_to(1.0 - np.tanh(y) ** 2, (3, 3)), rtol=1e-12)


def square_sum(v):
    return np.sum(v * v)


def calls_a_function_of_this_module(x, c):
    return square_sum(x * c) + square_sum(x)


def test_a_called_function_of_the_same_module_is_batched_along():
    X = RNG.normal(size=(4, 3))
    f = vmap(calls_a_function_of_this_module, in_axes=(0, None))
    with warnings.catch_warnings():
        warnings.simplefilter("error", BatchingWarning)
        got = f(X, 2.0)
    np.testing.assert_allclose(got, 5.0 * np.sum(X ** 2, axis=1), rtol=1e-12)
    assert "def square_sum_batched(v):" in f.source


def rebinds_in_a_loop(x, y):
    for _ in range(2):
        x = np.tanh(0.3)            # the batched argument replaced by a shared value
        y = y * 0.5 + np.sin(np.mean(y) * y)
    return np.sum(np.cos(y)) / (1.0 + x * x)


def test_a_loop_that_replaces_a_batched_value_by_a_shared_one():
    """After the loop the value is the shared one, flagged batched: repeated per example
    at the end of each trip, so per-example gradients have the batch's length."""
    X = np.array([0.1, 0.2, 0.3])
    y = np.array([[0.3, -0.2], [0.5, 0.1]])
    gx, gy = s2sgrad.vmap(s2sgrad.grad(rebinds_in_a_loop, wrt=(0, 1)), in_axes=(0, None))(X, y)
    assert gx.shape == (3,) and gy.shape == (3, 2, 2)
    for k in range(3):
        want = numerical_grad(rebinds_in_a_loop, (X[k], y), 1)
        np.testing.assert_allclose(gy[k], want, rtol=1e-6, atol=1e-9)
        assert gx[k] == 0.0
