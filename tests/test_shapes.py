"""Specialization on the arrays' shape patterns (`s2sgrad/ir/shapes.py`).

The code is compiled per argument kind, arrays by their shape pattern; values with no
dimension left (`X[i] @ w`, `x[0]` of a vector, `np.sum(v)`) are numbers, and values of
one known shape need no `unbroadcast` between them and no saved shapes. A wrong shape
would drop a sum a gradient needs: every case is checked against centered finite
differences.
"""
import re

import numpy as np
import pytest

import s2sgrad

from support.numeric import assert_grad_matches

R = np.random.default_rng(3)


def first_times_all(x):
    return np.sum(x[0] * x)


def test_one_function_called_with_a_vector_then_a_matrix():
    g = s2sgrad.grad(first_times_all)
    v, m = R.normal(size=4), R.normal(size=(3, 4))
    for x in (v, m, v):
        got = g(x)
        expected = np.zeros_like(x)
        expected[0] += x.sum(axis=0) if x.ndim == 2 else np.sum(x)
        expected += x[0]
        np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert_grad_matches(first_times_all, v)
    assert_grad_matches(first_times_all, m)


def rows_dot(w, X, y):
    total = 0.0
    for i in range(X.shape[0]):
        total = total + np.tanh(X[i] @ w - y[i]) ** 2
    return total


def matrix_vector_shapes(A, x, B):
    u = A @ x               # (m,)
    v = x @ B               # (k,)
    s = x @ x               # number
    C = B.T @ A.T           # (k, m)
    return np.sum(u) * s + np.sum(v * v) + np.sum(C.T[0]) + np.mean(A, axis=0) @ x


def axis_reductions(X):
    col = np.sum(X, axis=0)        # (n,)
    row = np.max(X, axis=1)        # (m,)
    keep = np.mean(X, axis=1, keepdims=True)
    return np.sum(col * col) + np.sum(row) + np.sum(X * keep)


def index_kinds(X, c):
    a = X[1]                 # a row
    b = X[1, 2]              # a number
    d = X[:, 1]              # a column
    e = X[1:]                # rows
    return np.sum(a * b) + np.sum(d * c) + np.sum(e) * b


def boolean_index(x):
    m = x[0] > 0.0           # a boolean: x[m] adds an axis, it is no number
    y = x[m]
    return np.sum(y * x)


def broadcast_into_number(x, s):
    t = s * x                # a vector, though s is a number
    u = t[2] + s             # a number
    return u * np.sum(t)


@pytest.mark.parametrize("f, args, wrt", [
    (rows_dot, (R.normal(size=3), R.normal(size=(5, 3)), R.normal(size=5)), (0, 1, 2)),
    (matrix_vector_shapes, (R.normal(size=(4, 3)), R.normal(size=3), R.normal(size=(3, 2))),
     (0, 1, 2)),
    (axis_reductions, (R.normal(size=(3, 4)),), 0),
    (index_kinds, (R.normal(size=(4, 3)), R.normal(size=4)), (0, 1)),
    (boolean_index, (np.array([0.5, -1.0, 2.0]),), 0),
    (broadcast_into_number, (R.normal(size=4), 0.7), (0, 1)),
], ids=lambda v: getattr(v, "__name__", ""))
def test_gradients_with_dimensions_known(f, args, wrt):
    assert_grad_matches(f, *args, wrt=wrt)


def test_a_loop_over_rows_needs_no_unbroadcast_and_is_fused():
    X, y, w = R.normal(size=(5, 3)), R.normal(size=5), R.normal(size=3)
    g = s2sgrad.grad(rows_dot, wrt=(0, 1, 2))
    g(w, X, y)
    assert "unbroadcast" not in g.source
    assert "forward step, recomputed" in g.source


# ---------------------------------------------------------------- shape patterns

from s2sgrad.ir import shapes


def test_patterns_keep_ones_and_name_equal_sizes_alike():
    assert shapes.pattern([(1000, 100), (100,), (1000,), (1, 100)]) == [
        ("d0", "d1"), ("d1",), ("d0",), (1, "d1")]


def test_broadcast_matmul_and_reductions_of_symbolic_shapes():
    assert shapes.broadcast([("a", "b"), ("b",)]) == ("a", "b")
    assert shapes.broadcast([("a", 1), (1, "b")]) == ("a", "b")
    assert shapes.broadcast([("a",), ("b",)]) is None        # depends on the sizes
    assert shapes.broadcast([(("a", 1),), ("a",)]) is None   # a - 1 may be 1
    assert shapes.matmul_shape(("n", "d"), ("d",)) == ("n",)
    assert shapes.matmul_shape(("d",), ("d",)) == ()
    assert shapes.matmul_shape(("d",), ("d", "h")) == ("h",)
    assert shapes.matmul_shape(("b", "n", "d"), ("d", "h")) == ("b", "n", "h")
    assert shapes.matmul_shape(("n", "d"), ("e", "h")) is None
    assert shapes.reduced(("n", "d"), 1, True) == ("n", 1)
    assert shapes.reduced(("n", "d"), -1, False) == ("n",)
    assert shapes.reduced(("n", "d"), None, False) == ()


def grows_in_the_loop(x):
    acc = 0.0                     # a number, then an array: no one shape
    h = np.zeros((x.shape[0], 1))
    for i in range(3):
        acc = acc + x * i
        h = h * x[:, None] + 1.0  # (n, 1) times (n, 1): keeps its shape
    return np.sum(acc * acc) + np.sum(h)


def same_sizes_by_chance(W, X):
    h = np.tanh(X @ W)            # (n, k), and W is (k, k) when n == k
    return np.sum(h * h) + np.sum(W * W)


def broadcast_against_ones(a, b):
    c = a * b                     # (3, 1) * (1, 4) -> (3, 4)
    return np.sum(np.sin(c) * a)


@pytest.mark.parametrize("f, args", [
    (grows_in_the_loop, (R.normal(size=4),)),
    (broadcast_against_ones, (R.normal(size=(3, 1)), R.normal(size=(1, 4)))),
], ids=lambda v: getattr(v, "__name__", ""))
def test_shapes_that_change_or_broadcast(f, args):
    wrt = tuple(range(len(args))) if len(args) > 1 else 0
    assert_grad_matches(f, *args, wrt=wrt)


def test_equal_sizes_by_chance_then_different_sizes():
    g = s2sgrad.grad(same_sizes_by_chance, wrt=(0, 1))
    for n in (3, 5, 3):                    # (3, 3) @ (3, 3), then (5, 3) @ (3, 3)
        W, X = R.normal(size=(3, 3)), R.normal(size=(n, 3))
        got = g(W, X)
        assert got[0].shape == (3, 3) and got[1].shape == (n, 3)
        assert_grad_matches(same_sizes_by_chance, W, X, wrt=(0, 1))


def test_one_compilation_per_pattern():
    g = s2sgrad.grad(broadcast_against_ones, wrt=(0, 1))
    g(R.normal(size=(3, 1)), R.normal(size=(1, 4)))
    first = g.source
    g(R.normal(size=(6, 1)), R.normal(size=(1, 7)))     # the same pattern: same code
    assert g.source is first or g.source == first
    # both operands were broadcast: their adjoints are summed over the other's axis,
    # each a contraction of the product's adjoint with the other operand
    assert "np.expand_dims(np.einsum('ij,ij->i', c_bar, b), 1)" in first
    assert "np.expand_dims(np.einsum('ij,ij->j', c_bar, a), 0)" in first


def rnn(Wx, Wh, b, xs):
    h = np.zeros((xs.shape[1], Wh.shape[0]))
    for t in range(len(xs)):
        h = np.tanh(xs[t] @ Wx + h @ Wh + b)
    return np.mean(h ** 2)


def test_a_recurrent_state_keeps_its_shape_through_the_loop():
    Wx, Wh, b = R.normal(size=(2, 3)), 0.5 * R.normal(size=(3, 3)), R.normal(size=3)
    xs = R.normal(size=(4, 5, 2))
    g = s2sgrad.grad(rnn, wrt=(0, 1, 2))
    g(Wx, Wh, b, xs)
    src = g.source
    # h is (batch, hidden) in every step: only b's adjoint is summed over the batch
    # (written as that sum), the matrix products' adjoints are written as by hand, and
    # no step saves shapes
    assert "unbroadcast(" not in src and "b_bar += axis_sum(v11_bar, 0)" in src, src
    assert "h_bar = v11_bar @ Wh.T" in src and "Wh_bar += h.T @ v11_bar" in src, src
    assert "matmul_left" not in src and "matmul_right" not in src, src
    assert "ShapeOf" not in src
    assert_grad_matches(rnn, Wx, Wh, b, xs, wrt=(0, 1, 2))


# ----------------------------------------------------------------------------
# shapes of the adjoints in the generated code (`optimize_kinds.spell_out_shapes`):
# where they settle every case of a helper, the helper is written as NumPy


def vector_times_matrix(v, M, u):
    return np.sum(np.tanh(v @ M) * u)


def matrix_times_vector(M, v):
    return np.sum(np.sin(M @ v))


def matrix_times_matrix(A, B, c):
    return np.sum(np.tanh(A @ B + c) ** 2)


def test_products_of_vectors_and_matrices_are_written_as_by_hand():
    v, M, u = R.normal(size=3), R.normal(size=(3, 4)), R.normal(size=4)
    g = s2sgrad.grad(vector_times_matrix, wrt=(0, 1))
    g(v, M, u)
    assert "v_bar = M @ v1_bar" in g.source and "np.outer(v, v1_bar)" in g.source, g.source
    assert_grad_matches(vector_times_matrix, v, M, u, wrt=(0, 1))

    M2, w = R.normal(size=(4, 3)), R.normal(size=3)
    g = s2sgrad.grad(matrix_times_vector, wrt=(0, 1))
    g(M2, w)
    assert "np.outer(v1_bar, v)" in g.source and "v_bar = M.T @ v1_bar" in g.source, g.source
    assert_grad_matches(matrix_times_vector, M2, w, wrt=(0, 1))

    A, B = R.normal(size=(5, 3)), R.normal(size=(3, 4))
    for c in (R.normal(size=4), R.normal(size=(1, 4)), R.normal(size=(5, 1)), 0.5):
        g = s2sgrad.grad(matrix_times_matrix, wrt=(0, 1, 2))
        g(A, B, c)
        src = g.source
        assert "matmul_left" not in src and "matmul_right" not in src, src
        assert "unbroadcast" not in src, src
        assert_grad_matches(matrix_times_matrix, A, B, c, wrt=(0, 1, 2))


def scores_through_a_transpose(Wq, Wk, X):
    Q, K = X @ Wq, X @ Wk
    return np.sum(np.tanh(Q @ K.T))


def test_the_adjoint_of_a_transpose_is_a_transpose():
    Wq, Wk, X = R.normal(size=(3, 3)), R.normal(size=(3, 3)), R.normal(size=(5, 3))
    g = s2sgrad.grad(scores_through_a_transpose, wrt=(0, 1))
    g(Wq, Wk, X)
    assert "transpose_grad" not in g.source and "matmul_right" not in g.source, g.source
    assert re.search(r"K_bar = \w+_bar\.T\n", g.source), g.source
    assert_grad_matches(scores_through_a_transpose, Wq, Wk, X, wrt=(0, 1))


def stencil(u, c):
    for _ in range(3):
        u = u + c * (np.roll(u, 1) - 2.0 * u + np.roll(u, -1, axis=0))
    return np.sum(u ** 2)


def test_the_adjoint_of_a_roll_rolls_back():
    u, c = R.normal(size=8), 0.2
    g = s2sgrad.grad(stencil, wrt=0)
    g(u, c)
    assert "roll_grad" not in g.source, g.source
    assert re.search(r"np\.roll\(\w+_bar, -1\)", g.source), g.source
    assert re.search(r"np\.roll\(\w+_bar, 1, 0\)", g.source), g.source
    assert_grad_matches(stencil, u, c, wrt=0)


def batched(A, B):
    return np.sum(np.tanh(A @ B))


def leading_and_ones(x, b):
    return np.sum(np.sin(x * b))


def test_the_helpers_stay_where_the_shapes_leave_cases_open():
    # a batch of matrices: the helper handles the broadcast batch dimensions
    A, B = R.normal(size=(2, 3, 4)), R.normal(size=(4, 5))
    g = s2sgrad.grad(batched, wrt=(0, 1))
    g(A, B)
    assert "matmul_left(" in g.source and "matmul_right(" in g.source, g.source
    assert_grad_matches(batched, A, B, wrt=(0, 1))
    # b (1, 4) against x (2, 3, 4): a leading axis and an axis of length 1 to sum
    x, b = R.normal(size=(2, 3, 4)), R.normal(size=(1, 4))
    g = s2sgrad.grad(leading_and_ones, wrt=(0, 1))
    g(x, b)
    assert "unbroadcast(" in g.source, g.source
    assert_grad_matches(leading_and_ones, x, b, wrt=(0, 1))


def product_used_in_one_branch(A, B, c):
    M = A @ B
    out = np.sum(c * c)
    if np.sum(c) > 0.0:
        out = out + np.sum(np.tanh(M))
    return out


def loop_changes_the_adjoints_shape(A, v, n):
    total = 0.0
    y = v
    for i in range(n):
        y = np.sum(A * y, axis=1) if i % 2 == 0 else np.sum(A * y, axis=0)
        total = total + np.sum(y)
    return total


def test_an_adjoint_that_may_be_the_zero_keeps_the_helper():
    # M's adjoint is 0.0 when the branch is not taken: `0.0 @ B.T` would be an error
    A, B = R.normal(size=(3, 4)), R.normal(size=(4, 2))
    g = s2sgrad.grad(product_used_in_one_branch, wrt=(0, 1))
    for c in (np.array([1.0, 2.0]), np.array([-1.0, -2.0])):
        got = g(A, B, c)
        assert "matmul_left(" in g.source, g.source
        assert_grad_matches(product_used_in_one_branch, A, B, c, wrt=(0, 1))
        if c[0] < 0:
            assert np.all(got[0] == 0.0) and np.all(got[1] == 0.0)


def test_adjoints_whose_shape_changes_between_steps_are_not_spelled_out():
    A = R.normal(size=(3, 3))
    v = R.normal(size=3)
    for n in (1, 2, 3):
        assert_grad_matches(loop_changes_the_adjoints_shape, A, v, n, wrt=(0, 1))


def outer_tanh(x, y):
    return np.sum(np.tanh(x[:, None] * y[None, :]))


def first_pick_of_aranged_rows(A, labels):
    n = A.shape[0]
    return np.sum(np.exp(A[np.arange(n), labels]) * A[:, 0])


def test_new_axes_and_aranges_have_known_shapes():
    # x[:, None] is (n, 1); np.arange(n) has n values: the adjoints are written as NumPy
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal(4), rng.standard_normal(3)
    g = s2sgrad.grad(outer_tanh, wrt=(0, 1))
    g(x, y)
    assert "unbroadcast" not in g.source and \
        "v1_bar = np.expand_dims(v3_bar @ y, 1)" in g.source, g.source   # (y[None, :] read)
    assert_grad_matches(outer_tanh, x, y, wrt=(0, 1))
    A, labels = rng.standard_normal((5, 3)), np.array([2, 0, 0, 1, 2])
    assert_grad_matches(first_pick_of_aranged_rows, A, labels)


# ------------------------------------------------------------------ np.concatenate
def gru(Wz, Wh, xs):
    h = np.zeros((xs.shape[1], Wz.shape[1]))
    for x in xs:
        xh = np.concatenate([x, h], axis=1)
        z = 1.0 / (1.0 + np.exp(-(xh @ Wz)))
        hc = np.tanh(np.concatenate([x, z * h], axis=1) @ Wh)
        h = (1 - z) * h + z * hc
    return np.sum(h ** 2)


def joined_list_changed(a, b):
    parts = [a, b]
    parts.append(b)                         # the list a name holds changes: no shape
    return np.sum(np.concatenate(parts) ** 2)


def joined_list_aliased(a, b):
    parts = [a, b]
    more = parts                            # read through another name: no shape either
    return np.sum(np.concatenate(parts, 0) * np.arange(1.0, 5.0)) + np.sum(more[1] ** 3)


def joined_along_rows(a, b):
    return np.sum(np.sin(np.concatenate([a, b]) @ np.ones((3, 2))))


@pytest.mark.parametrize("f, args, wrt", [
    (gru, (0.3 * R.normal(size=(7, 4)), 0.3 * R.normal(size=(7, 4)),
           R.normal(size=(5, 2, 3))), (0, 1)),
    (joined_list_changed, (R.normal(size=3), R.normal(size=2)), (0, 1)),
    (joined_list_aliased, (R.normal(size=3), R.normal(size=1)), (0, 1)),
    (joined_along_rows, (R.normal(size=(2, 3)), R.normal(size=(4, 3))), (0, 1)),
])
def test_concatenations_of_known_shapes(f, args, wrt):
    assert_grad_matches(f, *args, wrt=wrt)


def test_a_concatenation_has_the_shape_its_parts_add_up_to():
    """`np.concatenate([x, h], axis=1)` of (b, n) and (b, m) is (b, n + m), the size of
    the weights it multiplies: the recurrence's adjoints need no unbroadcast, and code
    compiled for these sizes is not reused where n + m differs."""
    g = s2sgrad.grad(gru, wrt=(0, 1))
    Wz, Wh = 0.3 * R.normal(size=(7, 4)), 0.3 * R.normal(size=(7, 4))
    g(Wz, Wh, R.normal(size=(5, 2, 3)))
    assert "unbroadcast(" not in g.source and "ShapeOf(" not in g.source
    # other sizes, one more input column: still right
    Wz2, Wh2 = 0.3 * R.normal(size=(8, 4)), 0.3 * R.normal(size=(8, 4))
    assert_grad_matches(gru, Wz2, Wh2, R.normal(size=(3, 2, 4)), wrt=(0, 1))


# ------------------------------------------------------------------ copies and differences
def chain_energy(k, x0, steps=12, dt=0.05):
    x = x0.copy()
    v = np.zeros_like(x0)
    energy = 0.0
    for _ in range(steps):
        stretch = np.diff(x) - 1.0
        f = np.zeros_like(x)
        f[:-1] += k * stretch
        f[1:] -= k * stretch
        v = v + dt * f
        x = x + dt * v
        energy = energy + np.sum(stretch ** 2)
    return energy * dt


def second_differences(u):
    w = np.array(u, dtype=float)
    return np.sum(np.diff(w, 2, axis=0) ** 2) + np.sum(np.diff(w, axis=1) * w[:, 1:])


@pytest.mark.parametrize("f, args, wrt", [
    (chain_energy, (2.0, np.arange(6.0) * 1.1), (0, 1)),
    (second_differences, (R.normal(size=(5, 4)),), 0),
])
def test_copies_and_differences(f, args, wrt):
    assert_grad_matches(f, *args, wrt=wrt)


def test_a_copy_of_an_array_argument_is_an_array_of_its_shape():
    """`x = x0.copy()` of an array argument is no container (its adjoint needs no
    add_grads), and it and np.diff's result have known shapes: the state's adjoints are
    added with no unbroadcast."""
    g = s2sgrad.grad(chain_energy, wrt=(0, 1))
    g(2.0, np.arange(6.0) * 1.1)
    assert "add_grads(" not in g.source
    assert "unbroadcast(x_bar" not in g.source and "unbroadcast(v_bar" not in g.source


def sinkhorn(scale, a, b, C, n_iter=8):
    K = np.exp(-C * scale / 0.1)
    v = np.ones_like(b)
    for _ in range(n_iter):
        u = a / (K @ v)
        v = b / (K.T @ u)
    return np.sum(u[:, None] * K * v[None, :] * C)


def test_an_adjoint_made_zero_again_in_each_step_keeps_its_shape():
    """`u` is overwritten in each step: its adjoint is set to zero there and added to in
    the next; as an array of u's shape the matrix products' adjoints are written as
    NumPy."""
    args = (1.0, np.full(4, 0.25), np.full(3, 1 / 3), R.random((4, 3)))
    assert_grad_matches(sinkhorn, *args)
    g = s2sgrad.grad(sinkhorn)
    g(*args)
    assert "matmul_left(" not in g.source and "matmul_right(" not in g.source


# ------------------------------------------------- parameters unpacked from a flat vector
def flat_mlp(theta, X, Y):
    W1 = theta[:12].reshape(4, 3)
    b1 = theta[12:15]
    W2 = np.reshape(theta[15:21], (3, 2))
    b2 = theta[-2:]
    h = np.tanh(X @ W1 + b1)
    return np.mean((h @ W2 + b2 - Y) ** 2)


def flat_reshaped_by_minus_one(theta, X):
    W = theta[:8].reshape(4, -1)
    return np.sum(np.sin(X @ W))


def reshaped_to_its_own_shape(A, B):
    C = (A * B).reshape(A.shape)
    return np.sum(C @ B.T)


@pytest.mark.parametrize("f, args, wrt", [
    (flat_mlp, (0.5 * R.normal(size=23), R.normal(size=(5, 4)), R.normal(size=(5, 2))), 0),
    (flat_reshaped_by_minus_one, (R.normal(size=10), R.normal(size=(3, 4))), (0, 1)),
    (reshaped_to_its_own_shape, (R.normal(size=(3, 4)), R.normal(size=(3, 4))), (0, 1)),
])
def test_reshapes_have_the_shapes_they_ask_for(f, args, wrt):
    assert_grad_matches(f, *args, wrt=wrt)


def test_a_flat_parameter_vector_unpacks_into_known_shapes():
    """`theta[:12].reshape(4, 3)` is (4, 3), its 4 the size of X's columns (assumed
    equal), and `theta[-2:]` has Y's 2 columns: the layers' adjoints are written as by
    hand, with no unbroadcast or matmul helper; other sizes still get right gradients
    (the assumptions fail there: code compiled for no sizes)."""
    g = s2sgrad.grad(flat_mlp)
    g(0.5 * R.normal(size=23), R.normal(size=(5, 4)), R.normal(size=(5, 2)))
    for helper in ("unbroadcast(", "matmul_left(", "matmul_right(", "count_reduced("):
        assert helper not in g.source, g.source
    assert "W1_bar = X.T @ " in g.source
    # one more row of data: the same code; another layout of theta: other code, right
    assert_grad_matches(flat_mlp, 0.5 * R.normal(size=23), R.normal(size=(7, 4)),
                        R.normal(size=(7, 2)))


def wide_first_layer(theta, X):
    W = theta[:6].reshape(2, 3)
    return np.sum(np.tanh(X[:, :2] @ W))


def test_a_literal_size_assumed_equal_to_a_symbol_s_is_checked_on_each_call():
    """X's 2 columns make the reshape's 2 X's column symbol; called with X of 5
    columns the assumption fails, and the gradient is still right."""
    for X in (R.normal(size=(4, 2)), R.normal(size=(4, 5)), R.normal(size=(3, 2))):
        assert_grad_matches(wide_first_layer, R.normal(size=6), X, wrt=(0, 1))


def gru_cell_vectors(Wz, Wh, xs):
    h = np.zeros(Wz.shape[1])
    for t in range(xs.shape[0]):
        hx = np.concatenate([h, xs[t]])
        z = 1.0 / (1.0 + np.exp(-(hx @ Wz)))
        hh = np.tanh(np.concatenate([z * h, xs[t]]) @ Wh)
        h = (1 - z) * h + z * hh
    return np.sum(h ** 2)


def test_the_parts_of_a_joined_list_s_adjoint_have_the_items_shapes():
    """`concat_grads(g, [h, x], 0)`'s parts have h's and x's dims: what the step's
    adjoints compute from them is known, and the products with the weights are
    written as by hand (`Wh @ g`, `np.outer(hx, g)`), not as helpers."""
    args = (0.3 * R.normal(size=(7, 4)), 0.3 * R.normal(size=(7, 4)), R.normal(size=(5, 3)))
    g = s2sgrad.grad(gru_cell_vectors, wrt=(0, 1))
    g(*args)
    assert "matmul_left(" not in g.source and "matmul_right(" not in g.source, g.source
    assert "hx_rows.T @ " in g.source     # (the steps' outer products: `optimize.stack`)
    assert_grad_matches(gru_cell_vectors, *args, wrt=(0, 1))
