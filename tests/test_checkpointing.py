"""Checkpointing: `@s2sgrad.checkpoint` on a function, `grad(f, checkpoint=N | "auto")`
on loops. Gradients are checked against centered finite differences (tests/support)
and against the same gradient without checkpointing; refusals name the loop."""
import inspect

import numpy as np
import pytest

import s2sgrad
from s2sgrad import pipeline
from s2sgrad.errors import S2SGradError, TransformError
from s2sgrad.runtime import checkpoint as schedule

from support.numeric import numerical_grad


def rng_arrays(seed=0, width=3, steps=12):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(width, width)) * 0.5
    U = rng.normal(size=(width, width)) * 0.5
    h0 = rng.normal(size=width)
    xs = rng.normal(size=(steps, width))
    return W, U, h0, xs


def assert_fd(f, args, wrt, got, rtol=1e-6, atol=1e-8):
    got = got if isinstance(wrt, tuple) else (got,)
    for i, g in zip(wrt if isinstance(wrt, tuple) else (wrt,), got):
        np.testing.assert_allclose(g, numerical_grad(f, args, i), rtol=rtol, atol=atol)


def assert_same(a, b, tol=1e-12):
    a = a if isinstance(a, tuple) else (a,)
    b = b if isinstance(b, tuple) else (b,)
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, rtol=0, atol=tol)


# ------------------------------------------------------------------ the decorator

@s2sgrad.checkpoint
def cell(h, W, x):
    a = W @ h + x
    return np.tanh(a) * np.cos(a)


def rnn_with_cell(W, h0, xs, n):
    h = h0
    for t in range(n):
        h = cell(h, W, xs[t])
    return np.sum(h * h)


def test_decorator_leaves_the_function_callable():
    W, _, h0, xs = rng_arrays()
    a = W @ h0 + xs[0]
    np.testing.assert_array_equal(cell(h0, W, xs[0]), np.tanh(a) * np.cos(a))
    assert cell.__name__ == "cell" and inspect.isfunction(cell)


def test_checkpointed_call_matches_finite_differences():
    W, _, h0, xs = rng_arrays()
    args = [W, h0, xs, 7]
    got = s2sgrad.grad(rnn_with_cell, wrt=(0, 1))(*args)
    assert_fd(rnn_with_cell, args, (0, 1), got)


def test_checkpointed_call_recomputes_in_the_backward_pass():
    src = s2sgrad.source(rnn_with_cell)
    fwd = src[src.index("def cell_checkpoint_fwd"):src.index("def cell_checkpoint_bwd")]
    bwd = src[src.index("def cell_checkpoint_bwd"):src.index("def grad_rnn_with_cell")]
    assert "return value, (h, W, x)" in fwd            # keeps the inputs only
    assert "= cell_fwd(h, W, x)" in bwd and "return cell_bwd(" in bwd   # runs it again
    assert "cell_checkpoint_fwd(h, W, " in src and "cell_checkpoint_bwd(" in src


def test_decorator_refuses_what_is_not_a_function():
    with pytest.raises(S2SGradError, match="checkpoint applies to a function"):
        s2sgrad.checkpoint(np.sin)


def make_scaled(scale):
    @s2sgrad.checkpoint
    def scaled(x):                        # a closure: reads `scale` from its factory
        return np.sin(x) * scale
    return scaled


scaled3 = make_scaled(3.0)


@s2sgrad.checkpoint
def outer_block(x, y):
    return scaled3(x * y) + cell(x, np.eye(x.shape[0]), y)   # checkpointed inside too


def nested_loss(x, y):
    return np.sum(outer_block(x, y) ** 2)


def test_decorator_on_closures_and_nested_checkpointed_calls():
    x = np.array([0.3, -0.7, 1.1])
    y = np.array([0.5, 0.2, -0.4])
    got = s2sgrad.grad(nested_loss, wrt=(0, 1))(x, y)
    assert_fd(nested_loss, [x, y], (0, 1), got)
    src = s2sgrad.source(nested_loss)
    assert "scaled_checkpoint_bwd" in src and "outer_block_checkpoint_bwd" in src


def test_decorator_with_hessian_vector_products():
    x = np.array([0.3, -0.7, 1.1])
    y = np.array([0.5, 0.2, -0.4])
    v = np.array([1.0, -2.0, 0.5])
    got = s2sgrad.hvp(nested_loss)(x, y, v)
    e = 1e-4                          # differences of finite-difference gradients
    expected = (numerical_grad(nested_loss, [x + e * v, y], 0) -
                numerical_grad(nested_loss, [x - e * v, y], 0)) / (2 * e)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


# ------------------------------------------------------------------ loops

def rnn(W, U, h0, xs, n):
    h = h0
    for t in range(n):
        h = np.tanh(W @ h + U @ xs[t])
    return np.sum(h * h)


@pytest.mark.parametrize("option", ["auto", 1, 2, 3, 5])
@pytest.mark.parametrize("n", [0, 1, 4, 7, 12])
def test_loop_checkpointing_equals_unchecked_gradient(option, n):
    W, U, h0, xs = rng_arrays()
    args = [W, U, h0, xs, n]
    plain = s2sgrad.grad(rnn, wrt=(0, 1, 2))(*args)
    checked = s2sgrad.grad(rnn, wrt=(0, 1, 2), checkpoint=option)(*args)
    assert_same(checked, plain)


@pytest.mark.parametrize("option", ["auto", 2, 3])
def test_loop_checkpointing_matches_finite_differences(option):
    W, U, h0, xs = rng_arrays(steps=40)
    args = [W, U, h0, xs, 40]         # 40 steps: "auto" checkpoints (>= 32 steps)
    got = s2sgrad.grad(rnn, wrt=(0, 1, 2), checkpoint=option)(*args)
    assert_fd(rnn, args, (0, 1, 2), got)


def two_states(x, c0, n):
    s = x
    c = c0
    for i in range(2, n, 3):           # a start and a step
        if i % 2 == 0:
            s = np.sin(s) * x + c
        else:
            s = s * 0.9
        c = c + np.sum(s) * 0.1
        last = s * float(i)            # bound in the loop, read after it
    return np.sum(last) + c * c


@pytest.mark.parametrize("option", ["auto", 1, 2, 4])
def test_loops_with_start_step_branches_and_two_carried_values(option):
    x = np.array([0.4, -0.3])
    args = [x, 0.5, 40]
    got = s2sgrad.grad(two_states, wrt=(0, 1), checkpoint=option)(*args)
    assert_fd(two_states, args, (0, 1), got)
    assert_same(got, s2sgrad.grad(two_states, wrt=(0, 1))(*args))


def countdown(x, n):
    y = x
    for k in range(n, 0, -1):          # a negative step
        y = np.cos(y) * (1.0 + 0.01 * k)
    return np.sum(y)


def test_negative_step():
    x = np.array([0.2, 1.3])
    got = s2sgrad.grad(countdown, checkpoint=3)(x, 35)
    assert_fd(countdown, [x, 35], 0, got)


def nested_loops(x, n, m):
    y = x
    for i in range(n):
        for j in range(m):
            y = np.sin(y) + 0.1 * x
    return np.sum(y)


def test_loop_with_an_inner_loop():
    x = np.array([0.2, -1.3, 0.6])
    got = s2sgrad.grad(nested_loops, checkpoint=2)(x, 9, 4)
    assert_fd(nested_loops, [x, 9, 4], 0, got)


def test_value_and_grad_with_checkpointing():
    W, U, h0, xs = rng_arrays()
    value, g = s2sgrad.value_and_grad(rnn, wrt=2, checkpoint="auto")(W, U, h0, xs, 12)
    assert value == pytest.approx(rnn(W, U, h0, xs, 12), rel=1e-14)
    assert_same(g, s2sgrad.grad(rnn, wrt=2)(W, U, h0, xs, 12))


def test_generated_code_shows_the_schedule():
    src = s2sgrad.source(rnn, wrt=(0, 1, 2), checkpoint=8)
    for text in ("t_checkpointed = checkpoint_wanted(0, n, 1, 8)",
                 "for t_segment in range(t_segments):",
                 "def rnn_loop_L", "_checkpoint_fwd(", "_checkpoint_bwd(",
                 "for t in range(t_first, t_last, t_step):"):
        assert text in src, text
    assert "loop_L" in src.split("def grad_rnn")[1]


def test_multi_level_schedule_is_compiled_once():
    W, U, h0, xs = rng_arrays(steps=30)
    kinds = pipeline.compile_kinds(pipeline.kinds_of((W, U, h0, xs, 30)))
    first = pipeline.cached_compile(rnn, (2,), False, True, kinds, checkpoint=2)
    again = pipeline.cached_compile(rnn, (2,), False, True, kinds, checkpoint=2)
    assert first is again          # the nested segment functions stay alive with it


def stores_into_a_list(x, n):
    hs = [x]
    for i in range(n):
        hs.append(np.sin(hs[-1]))      # a loop that stores into a container runs as written
    return np.sum(hs[-1])


def test_loop_storing_into_a_container_runs_as_written():
    x = np.array([0.5, 1.5])
    got = s2sgrad.grad(stores_into_a_list, checkpoint=2)(x, 40)
    assert_fd(stores_into_a_list, [x, 40], 0, got)
    assert "checkpoint_wanted" not in s2sgrad.source(stores_into_a_list, checkpoint=2)


def newton_like(x):
    y = x
    while np.sum(y * y) > 1e-3:
        y = y * 0.5
    return np.sum(y * x)


def test_while_loop_is_refused_naming_the_loop():
    with pytest.raises(TransformError) as info:
        s2sgrad.grad(newton_like, checkpoint="auto")(np.array([1.0, 2.0]))
    err = info.value
    line = inspect.getsourcelines(newton_like)[1] + 2
    assert err.lineno == line and "while loop" in err.message
    assert "not known before it ends" in err.message
    assert "for step in range(max_steps)" in err.hint
    assert "while np.sum(y * y) > 1e-3:" in str(err)
    # without checkpoint= the while loop is differentiated as before
    x = np.array([1.0, 2.0])
    assert_fd(newton_like, [x], 0, s2sgrad.grad(newton_like)(x))


def integer_while(x, n):
    k = 0
    while k < n:
        k = k + 1
    return np.sum(x * x) * k


def test_while_loop_no_gradient_flows_through_is_not_refused():
    x = np.array([1.0, 2.0])
    assert_fd(integer_while, [x, 3], 0, s2sgrad.grad(integer_while, checkpoint=4)(x, 3))


@pytest.mark.parametrize("bad", [0, -2, "sometimes", True, 2.5])
def test_option_is_checked(bad):
    with pytest.raises(S2SGradError, match="checkpoint="):
        s2sgrad.grad(rnn, checkpoint=bad)


# ------------------------------------------------------------------ the schedule

@pytest.mark.parametrize("start,stop,step", [(0, 2000, 1), (3, 50, 4), (40, -7, -3),
                                             (0, 1, 1), (5, 5, 1)])
@pytest.mark.parametrize("snapshots", [1, 3, 8, "auto"])
def test_segments_cover_the_range_in_order(start, stop, step, snapshots):
    stride = schedule.checkpoint_stride(start, stop, step, snapshots)
    count = schedule.checkpoint_segments(start, stop, step, stride)
    steps = []
    for k in range(count):
        first = schedule.checkpoint_first(start, step, stride, k)
        last = schedule.checkpoint_stop(start, stop, step, stride, k)
        assert len(range(first, last, step)) >= 1
        steps += list(range(first, last, step))
    assert steps == list(range(start, stop, step))
    if snapshots != "auto":
        assert count <= max(snapshots, 1)
    elif len(steps) == 2000:
        assert count == 45 and stride == 45      # about sqrt(2000) of each


# ------------------------------------------------------------------ what a rerun changes

def in_place_update(x, n):
    h = x * 1.0
    for i in range(n):
        h += np.sin(h) * x             # in place as written; a new value in a segment
    return np.sum(h)


def breaks_out(x, n):
    h = x
    for i in range(n):
        if np.sum(h) > 5.0:
            break
        h = h * 1.1 + 0.1 * x
    return np.sum(h)


@pytest.mark.parametrize("f", [in_place_update, breaks_out])
def test_in_place_updates_and_breaks_in_checkpointed_loops(f):
    x = np.array([0.3, 0.8])
    got = s2sgrad.grad(f, checkpoint=3)(x, 40)
    assert "checkpoint_wanted" in s2sgrad.source(f, checkpoint=3)
    assert_fd(f, [x, 40], 0, got)
    np.testing.assert_array_equal(x, [0.3, 0.8])          # the caller's array untouched


def draws_in_loop(x, n):
    h = x
    rng = np.random.default_rng(0)
    for i in range(n):
        h = np.sin(h * rng.normal(size=2))
    return np.sum(h)


@s2sgrad.checkpoint
def noisy(h):
    return np.sin(h * np.random.normal(size=h.shape))


def calls_noisy(x):
    return np.sum(noisy(x))


def test_random_draws_in_checkpointed_code_are_refused_where_written():
    x = np.array([0.3, 0.8])
    with pytest.raises(TransformError) as info:
        s2sgrad.grad(draws_in_loop, checkpoint="auto")(x, 40)
    assert info.value.lineno == inspect.getsourcelines(draws_in_loop)[1] + 4
    assert "runs this loop's steps again" in info.value.message
    assert "before the loop" in info.value.hint
    with pytest.raises(TransformError) as info:
        s2sgrad.grad(calls_noisy)(x)
    assert info.value.lineno == inspect.getsourcelines(noisy)[1] + 2
    assert "noisy is checkpointed" in info.value.message and "random" in info.value.message
    s2sgrad.grad(draws_in_loop)(x, 40)          # without checkpoint= as before


def maybe_bound(x, n, flag):
    if flag:
        z = 2.0
    y = x
    for i in range(n):
        if flag:
            y = np.sin(y) * z          # z is bound only when flag is set
        else:
            y = np.cos(y)
    return np.sum(y)


@pytest.mark.parametrize("flag", [True, False])
def test_loop_reading_a_name_bound_on_one_path_only_runs_as_written(flag):
    x = np.array([0.3, 0.8])
    got = s2sgrad.grad(maybe_bound, checkpoint=2)(x, 40, flag)
    assert_fd(maybe_bound, [x, 40, flag], 0, got)


@s2sgrad.checkpoint
def scaled_cell(h, W, scale=1.0):
    return np.tanh(W @ h) * scale


def keyword_call(W, h):
    return np.sum(scaled_cell(h, W=W, scale=2.0))


@s2sgrad.checkpoint
def power(x, n):
    if n <= 1:
        return x
    return x * power(x, n - 1)


def calls_power(x):
    return power(x, 4)


def test_checkpointed_calls_with_keywords_and_recursion():
    W = np.array([[0.6, 0.1], [0.1, 0.6]])
    h = np.array([0.3, -0.2])
    assert_fd(keyword_call, [W, h], (0, 1),
              s2sgrad.grad(keyword_call, wrt=(0, 1))(W, h))
    assert s2sgrad.grad(calls_power)(1.3) == pytest.approx(4 * 1.3 ** 3, rel=1e-14)
    assert "power_checkpoint_bwd" in s2sgrad.source(calls_power)


def test_gradient_objects_with_checkpoint_pickle():
    import pickle
    W, U, h0, xs = rng_arrays()
    g = pickle.loads(pickle.dumps(s2sgrad.grad(rnn, wrt=2, checkpoint=3)))
    assert g.checkpoint == 3
    assert_same(g(W, U, h0, xs, 12), s2sgrad.grad(rnn, wrt=2)(W, U, h0, xs, 12))


def two_loops_in_a_branch(x, xs, flag):
    y = x
    if flag:
        for row in xs:                     # over the rows: an index loop once normalized
            y = np.tanh(y * row + 0.1)
        for k in range(len(xs)):
            y = y * 0.9 + np.sin(y) * xs[k]
    else:
        y = y * 2.0
    return np.sum(y * y)


def test_two_loops_inside_a_branch():
    rng = np.random.default_rng(3)
    x = rng.normal(size=3)
    xs = rng.normal(size=(37, 3)) * 0.5
    src = s2sgrad.source(two_loops_in_a_branch, checkpoint="auto")
    assert src.count("checkpoint_wanted(") == 2
    for flag in (True, False):
        got = s2sgrad.grad(two_loops_in_a_branch, wrt=(0, 1), checkpoint="auto")(x, xs, flag)
        assert_fd(two_loops_in_a_branch, [x, xs, flag], (0, 1), got)


# ------------------------------------------- the weights' adjoint: one accumulator

def rnn_weights_read_elsewhere(W, U, h0, xs, n):
    h = h0
    for t in range(n):
        h = np.tanh(W @ h + U @ xs[t])
    return np.sum(h * h) + np.sum(W * W) * 0.5 + np.sum(U)   # W_bar, U_bar not only the loop's


@pytest.mark.parametrize("f", [rnn, rnn_weights_read_elsewhere])
@pytest.mark.parametrize("option", ["auto", 2, 3])
def test_segments_add_into_the_weights_adjoint(f, option):
    """Each segment's backward pass adds into the caller's adjoint of the weights (one
    array for the whole loop, not one per segment): equal to the unchecked gradient, on
    every level of the schedule, also where the weights' adjoint has other terms."""
    W, U, h0, xs = rng_arrays(steps=40)
    args = [W, U, h0, xs, 40]
    plain = s2sgrad.grad(f, wrt=(0, 1, 2))(*args)
    got = s2sgrad.grad(f, wrt=(0, 1, 2), checkpoint=option)(*args)
    assert_same(got, plain, tol=1e-10)
    assert_same((W, U), rng_arrays(steps=40)[:2], tol=0)           # inputs untouched


def test_generated_code_threads_the_weights_adjoint():
    src = s2sgrad.source(rnn, wrt=(0, 1, 2), checkpoint=8)
    assert "U_bar=U_bar, W_bar=W_bar)" in src.split("def grad_rnn")[1]
    assert "own_grad(" not in src                 # provably unshared: no copy
    assert "_bwd(saved, h_bar, U_bar=0.0, W_bar=0.0):" in src


@s2sgrad.checkpoint
def cell_twice(h, W):
    return np.tanh(W @ h + W @ np.cos(h))


def loss_same_weight_twice(W, h0, n):
    h = h0
    for t in range(n):
        h = cell_twice(h, W) + 0.1 * cell(h, W, h)    # W reaches two checkpointed calls
    return np.sum(h * h) + np.sum(W @ W)


def test_checkpointed_calls_sharing_a_weight_adjoint():
    rng = np.random.default_rng(5)
    W = rng.normal(size=(3, 3)) * 0.4
    h0 = rng.normal(size=3)
    got = s2sgrad.grad(loss_same_weight_twice, wrt=(0, 1))(W, h0, 6)
    assert_fd(loss_same_weight_twice, [W, h0, 6], (0, 1), got)


@s2sgrad.checkpoint
def mix(a, b):
    return np.sin(a) * b + b


def loss_one_name_in_two_positions(x):
    return np.sum(mix(x, x) * mix(x, 2.0 * x))


def test_checkpointed_call_given_one_name_twice():
    x = np.array([0.3, -1.1, 0.7])
    assert_fd(loss_one_name_in_two_positions, [x], 0,
              s2sgrad.grad(loss_one_name_in_two_positions)(x))


def rnn_list_weights(ws, h0, xs, n):
    h = h0
    for t in range(n):
        h = np.tanh(ws[0] * h + ws[1] * xs[t])
    return np.sum(h * h) + ws[0] * ws[1]


def test_weights_given_as_a_list_of_numbers():
    """A list weight: what the caller's adjoint holds is a list, which a segment adds
    array adjoints to (array_grad makes it an array first)."""
    _, _, h0, xs = rng_arrays(steps=40)
    args = [[0.7, -0.4], h0, xs, 40]
    plain = s2sgrad.grad(rnn_list_weights, wrt=(0, 1))(*args)
    for option in ("auto", 3):
        got = s2sgrad.grad(rnn_list_weights, wrt=(0, 1), checkpoint=option)(*args)
        assert type(got[0]) is list
        np.testing.assert_allclose(got[0], plain[0], rtol=0, atol=1e-10)
        np.testing.assert_allclose(got[1], plain[1], rtol=0, atol=1e-10)
