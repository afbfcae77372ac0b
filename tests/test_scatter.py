"""The adjoint of fancy indexing at provably distinct positions (s2sgrad/optimize/scatter.py):
a plain assignment into zeros instead of `np.add.at`, where an index array is
`np.arange(n)` and the index arrays broadcast to its shape; `add_at` everywhere else
(repeated positions must add up). Source in, source out on the pass itself, and the
generated gradients against centred finite differences, repeated positions included.
"""
import textwrap

import gast
import numpy as np

import s2sgrad
from s2sgrad.optimize.scatter import distinct_scatters
from s2sgrad.syntax import emit

from support.numeric import assert_grad_matches, assert_value_and_grad_matches, numerical_grad


def run_pass(src, shapes):
    fdef = gast.parse(textwrap.dedent(src)).body[0]
    fdef.body = distinct_scatters(fdef.body, shapes)
    return emit.source(fdef)


def test_pass_rewrites_an_arange_row_index():
    out = run_pass("""
        def g(logp, labels, n, v9_bar):
            v8 = np.arange(n)
            v9 = logp[v8, labels]
            logp_bar = add_at(0.0, logp, (v8, labels), v9_bar)
            logp_bar = add_at(logp_bar, logp, (v8, 0), v9_bar, True)
            return logp_bar
        """, {"logp": ("n", "k"), "labels": ("n",), "v8": ("n",)})
    assert "logp_bar = np.zeros_like(logp)\n    logp_bar[v8, labels] = v9_bar\n" in out, out
    assert "logp_bar[v8, 0] += v9_bar" in out, out
    assert "add_at" not in out, out


def test_pass_keeps_add_at_where_positions_may_repeat():
    shapes = {"x": ("n", "k"), "labels": ("n",), "v8": ("n",), "rows": ("m", "n"),
              "idx": ("n",), "short": ("m",), "one": (1,)}
    cases = [
        "add_at(0.0, x, (idx, labels), g)",          # no arange: idx may repeat
        "add_at(0.0, x, (v8, rows), g)",             # arange broadcast along another axis
        "add_at(0.0, x, (one, labels), g)",          # np.arange(1) against n labels
        "add_at(0.0, x, (v8, unknown), g)",          # shape not known
    ]
    for case in cases:
        src = f"""
            def g(x, labels, rows, idx, n, g):
                v8 = np.arange(n)
                one = np.arange(1)
                x_bar = {case}
                return x_bar
            """
        assert "add_at" in run_pass(src, shapes), case


def test_pass_needs_a_single_binding_of_the_arange():
    src = """
        def g(x, n, g):
            v8 = np.arange(n)
            v8 = v8[::-1] * 0
            x_bar = add_at(0.0, x, v8, g)
            return x_bar
        """
    assert "add_at" in run_pass(src, {"x": ("n",), "v8": ("n",)})


# ------------------------------------------------------------------ through s2sgrad

def label_nll(W, X, labels):
    z = X @ W
    z = z - np.max(z, axis=1, keepdims=True)
    logp = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))
    return -np.mean(logp[np.arange(X.shape[0]), labels])


def test_integer_label_cross_entropy():
    rng = np.random.default_rng(0)
    W, X = rng.standard_normal((3, 4)), rng.standard_normal((6, 3))
    labels = np.array([0, 3, 3, 1, 0, 2])
    g = s2sgrad.grad(label_nll)
    g(W, X, labels)
    assert "np.add.at" not in g.source and "add_at(" not in g.source, g.source
    assert_grad_matches(label_nll, W, X, labels)
    assert_value_and_grad_matches(label_nll, W, X, labels)


def picked_twice(x, idx):
    return np.sum(np.sin(x[idx]) * np.arange(idx.shape[0]))


def test_repeated_positions_still_add():
    x = np.array([0.3, -0.2, 0.5, 1.1])
    idx = np.array([1, 1, 3, 0, 1])
    assert_grad_matches(picked_twice, x, idx)


def diagonal_of_a_column_block(A):
    n = A.shape[0]
    d = A[np.arange(n), np.arange(n)]
    rows = A[np.arange(n)]
    return np.sum(d ** 3) + np.sum(rows[:, 0] * d)


def test_arange_alone_and_twice():
    A = np.random.default_rng(1).standard_normal((4, 4))
    g = s2sgrad.grad(diagonal_of_a_column_block)
    g(A)
    assert "A_bar = add_at(" not in g.source, g.source     # both reads of A: assignments
    assert_grad_matches(diagonal_of_a_column_block, A)


def broadcast_rows(A, cols):
    n = cols.shape[0]
    return np.sum(A[np.arange(n)[:, None], cols] ** 2)


def test_an_arange_reshaped_keeps_add_at_and_stays_right():
    A = np.random.default_rng(2).standard_normal((3, 5))
    cols = np.array([[0, 0], [4, 4], [1, 1]])        # the same position twice per row
    assert_grad_matches(broadcast_rows, A, cols)


def stored_twice(x, idx):
    y = np.ones(5)
    y[idx] = np.sin(x) * x[0]          # a repeated position keeps one write
    return np.sum(y ** 3 * x)


def stored_twice_2d(A, rows):
    B = np.zeros((4, 3))
    B[rows, 1:] = A ** 2
    return np.sum(np.cos(B) * B)


def test_a_store_at_repeated_positions_gives_only_the_kept_write_its_adjoint():
    x = np.array([0.5, -1.3, 2.2, 0.9, -0.1])
    idx = np.array([0, 2, 2, 4, 0])
    assert_grad_matches(stored_twice, x, idx)
    assert_value_and_grad_matches(stored_twice_2d, np.array(
        [[0.3, -0.7], [1.2, 0.4], [-0.5, 0.8]]), np.array([3, 0, 3]))
    with_fd = numerical_grad(stored_twice, (x, idx))
    got = s2sgrad.grad(stored_twice, optimize=False)(x, idx)
    assert np.allclose(got, with_fd, rtol=1e-6, atol=1e-8)
    # forward over reverse: the Hessian-vector product against differences of gradients
    v = np.array([0.3, -0.1, 0.7, 0.2, -0.4])
    g = s2sgrad.grad(stored_twice)
    h = 1e-5
    fd = (g(x + h * v, idx) - g(x - h * v, idx)) / (2 * h)
    assert np.allclose(s2sgrad.hvp(stored_twice)(x, idx, v), fd, rtol=1e-5, atol=1e-6)


def test_batched_stored_grad_is_stored_grad_of_each_example():
    from s2sgrad.runtime import batched_stored_grad, stored_grad
    x = np.zeros((4, 3))
    index = (np.array([3, 0, 3]), slice(1, None))
    g = np.random.default_rng(3).standard_normal((2, 4, 3))
    got = batched_stored_grad(g, x, index)
    assert np.array_equal(got, np.stack([stored_grad(gk, x, index) for gk in g]))
    assert np.all(got[:, 0] == 0.0) and np.all(got[:, 2] != 0.0)   # the first write lost
    summed = batched_stored_grad(g, x, index, 0.5)      # a number stored in the slots
    assert np.allclose(summed, [np.sum(stored_grad(gk, x, index)) for gk in g])


def one_number_into_many_slots(A, x):
    B = A.copy()
    B[A > 0] = x[0] ** 2         # x[0] might be a list here, for all the code knows
    B[0, 1:] = x[1]
    return np.sum(B * A) + np.sum(np.sin(B))


def test_a_number_stored_into_many_slots_gets_their_sum_without_types():
    # hvp compiles the gradient without the arguments' types: `x[0]` may then be a list
    # (not broadcast), and the adjoint of the slots was not summed (a ValueError in hvp)
    A = np.array([[0.3, -1.2, 2.0], [1.5, 0.7, -0.4]])
    x = np.array([0.5, -1.3, 2.2])
    v = np.array([0.3, -0.1, 0.7])
    g = s2sgrad.grad(one_number_into_many_slots, wrt=1)
    np.testing.assert_allclose(g(A, x), numerical_grad(one_number_into_many_slots, (A, x), 1),
                               rtol=1e-6, atol=1e-8)
    h = 1e-5
    fd = (g(A, x + h * v) - g(A, x - h * v)) / (2 * h)
    np.testing.assert_allclose(s2sgrad.hvp(one_number_into_many_slots, wrt=1)(A, x, v), fd,
                               rtol=1e-5, atol=1e-6)
