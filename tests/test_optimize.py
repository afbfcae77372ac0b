"""The optimizer: each pass as source in → source out, and the corpus run optimized and
unoptimized (a difference points at the optimizer)."""
import math
import textwrap

import gast
import numpy as np
import pytest

import s2sgrad
from s2sgrad.syntax import emit
from s2sgrad.ad import templates
from s2sgrad import optimize
from s2sgrad.optimize import signs as optimize_signs

from support.numeric import numerical_grad


def run_pass(fn, source):
    tree = gast.parse(textwrap.dedent(source))
    fdef = tree.body[0]
    fdef.body = fn(fdef.body)
    return emit.source(fdef)


def same(a, b):
    assert textwrap.dedent(a).strip() == textwrap.dedent(b).strip()


def test_first_write_turns_an_add_to_a_known_zero_into_a_definition():
    out = run_pass(optimize.first_writes, """
        def f(g):
            x_bar = 0.0
            x_bar = x_bar + g * 2
            y_bar = x_bar + 1
        """)
    same(out, """
        def f(g):
            x_bar = 0.0
            x_bar = g * 2
            y_bar = x_bar + 1
        """)


def test_first_write_inside_a_loop_after_a_reset():
    out = run_pass(optimize.first_writes, """
        def f(n, g):
            a_bar = 0.0
            for i in range(n):
                a_bar = a_bar + g
                b = a_bar
                a_bar = 0.0
        """)
    same(out, """
        def f(n, g):
            a_bar = 0.0
            for i in range(n):
                a_bar = g
                b = a_bar
                a_bar = 0.0
        """)


def test_first_write_keeps_the_sum_when_a_branch_may_have_written():
    src = """
        def f(c, g):
            a_bar = 0.0
            if c:
                a_bar = g
            a_bar = a_bar + g
        """
    same(run_pass(optimize.first_writes, src), src)


def test_algebra():
    out = run_pass(optimize.simplify, """
        def f(a, b, g):
            x = a + -b
            y_bar = g * 1.0
            z_dot = -(-g)
            w = a - -b
            v = a + -g * b / 2
            c = a * 1.0
            d = -(-a)
            e = (a / 1) * b
        """)
    # (a value of the user's stays a new array: `c[0] = ...` must not change `a`)
    same(out, """
        def f(a, b, g):
            x = a - b
            y_bar = g
            z_dot = g
            w = a + b
            v = a - g * b / 2
            c = a * 1.0
            d = --a
            e = a * b
        """)


def _propagate(body):
    return optimize.propagate_copies(body, [])


def test_copy_propagation_reads_the_source_until_either_name_changes():
    out = run_pass(_propagate, """
        def f(g, h):
            a_bar = g_bar
            b_bar = a_bar * 2
            g_bar = a_bar
            h_bar = h
            g_bar = h_bar
            c_bar = a_bar + g_bar
            return a_bar
        """)
    same(out, """
        def f(g, h):
            a_bar = g_bar
            b_bar = g_bar * 2
            h_bar = h
            g_bar = h
            c_bar = a_bar + h
            return a_bar
        """)


def test_copy_propagation_starts_afresh_in_branches_and_loops():
    out = run_pass(_propagate, """
        def f(n, c):
            a_bar = b_bar
            if c:
                d_bar = a_bar
                e_bar = d_bar * 3
            for i in range(n):
                x_bar = a_bar
        """)
    same(out, """
        def f(n, c):
            a_bar = b_bar
            if c:
                d_bar = a_bar
                e_bar = a_bar * 3
            for i in range(n):
                x_bar = a_bar
        """)


def test_dead_adjoints_are_removed_but_pops_stay():
    out = run_pass(lambda b: optimize.dead_adjoints(b, set()), """
        def f(g, saved):
            a_bar = g * 2
            b_bar = g * 3
            c = saved.pop()
            return b_bar
        """)
    same(out, """
        def f(g, saved):
            b_bar = g * 3
            c = saved.pop()
            return b_bar
        """)


def test_dead_adjoint_reset_in_a_loop_that_is_overwritten_before_use():
    out = run_pass(lambda b: optimize.dead_adjoints(b, set()), """
        def f(n, g):
            for i in range(n):
                a_bar = g
                h = a_bar * 2
                a_bar = 0.0
            return h
        """)
    same(out, """
        def f(n, g):
            for i in range(n):
                a_bar = g
                h = a_bar * 2
            return h
        """)


def test_in_place_accumulation_only_for_unshared_adjoints():
    out = run_pass(optimize.accumulate_in_place, """
        def f(x, g, h):
            x_bar = add_at(0.0, x, 0, g)
            x_bar = add_at(x_bar, x, 1, h)
            y_bar = x_bar
            x_bar = add_at(x_bar, x, 2, h)
        """)
    same(out, """
        def f(x, g, h):
            x_bar = add_at(0.0, x, 0, g)
            x_bar = add_at(x_bar, x, 1, h, True)
            y_bar = x_bar
            x_bar = add_at(x_bar, x, 2, h)
        """)


def test_in_place_accumulation_in_a_loop():
    out = run_pass(optimize.accumulate_in_place, """
        def f(xs, g, n):
            xs_bar = 0.0
            for t in range(n):
                xs_bar = add_at(xs_bar, xs, t, g)
            return xs_bar
        """)
    same(out, """
        def f(xs, g, n):
            xs_bar = 0.0
            for t in range(n):
                xs_bar = add_at(xs_bar, xs, t, g, True)
            return xs_bar
        """)


def test_constant_folding_of_rule_options():
    expr = gast.parse("y_bar * 2 * a ** (2 - 1) if None is None else 0").body[0].value
    assert emit.expression_source(templates.fold_template(expr)).strip("()") == "y_bar * 2 * a"


# ------------------------------------------------------------- trace passes

def griewank(x1, x2):
    return (np.sin(x1 / x2) + x1 / x2 - np.exp(x2)) * (x1 / x2 - np.exp(x2))


def code_only(source):
    return "\n".join(line for line in source.splitlines() if not line.strip().startswith("#"))


def test_common_subexpressions_are_computed_once():
    source = code_only(s2sgrad.grad(griewank, wrt=(0, 1)).source)
    assert source.count("x1 / x2") == 1
    assert source.count("np.exp(x2)") == 1
    unoptimized = code_only(s2sgrad.grad(griewank, wrt=(0, 1), optimize=False).source)
    assert unoptimized.count("x1 / x2") == 3


def sigmoid_sum(w, x):
    return np.sum(1.0 / (1.0 + np.exp(-(x @ w))))


def test_sigmoid_is_fused_into_its_cheap_derivative():
    g = s2sgrad.grad(sigmoid_sum)
    w, x = np.array([0.3, -0.2]), np.array([[1.0, 2.0], [0.5, -1.0], [2.0, 0.1]])
    np.testing.assert_allclose(g(w, x), numerical_grad(sigmoid_sum, (w, x), 0), rtol=1e-7)
    assert "* (1.0 - v5)" in g.source and "np.exp" not in g.source.split("backward")[1]


# ------------------------------------------------- optimized == unoptimized

def loop_fn(x, n):
    y = x
    for i in range(n):
        y = np.sin(y) * x + 0.1 * i
    return np.sum(y)


def branchy(x, y):
    s = 0.0
    for i in range(4):
        if s < 1.0:
            s = s + x * y
        else:
            s = s - math.sin(x)
    return s


def stores(x):
    out = np.zeros(len(x))
    for i in range(len(x)):
        out[i] = x[i] * x[i] + (out[i - 1] if i > 0 else 0.0)
    return np.sum(np.tanh(out))


def lists(w, x):
    acc = 0.0
    for wi, xi in zip(w, [1.0] + x):
        acc = acc + wi * xi
    return 1.0 / (1.0 + math.exp(-acc))


def mlp(W1, W2, X):
    h = np.tanh(X @ W1)
    z = h @ W2
    z = z - np.max(z, axis=1, keepdims=True)
    return -np.sum(z - np.log(np.sum(np.exp(z), axis=1, keepdims=True)))


rng = np.random.default_rng(3)
CORPUS = [
    (griewank, (1.5, 0.5), (0, 1)),
    (loop_fn, (rng.normal(size=3), 4), 0),
    (branchy, (0.7, 0.4), (0, 1)),
    (stores, (rng.normal(size=5),), 0),
    (lists, ([0.1, 0.2, -0.3], [1.0, 2.0]), (0, 1)),
    (mlp, (rng.normal(size=(4, 5)), rng.normal(size=(5, 3)), rng.normal(size=(6, 4))), (0, 1)),
    (sigmoid_sum, (rng.normal(size=2), rng.normal(size=(3, 2))), 0),
]


@pytest.mark.parametrize("f,args,wrt", CORPUS, ids=[c[0].__name__ for c in CORPUS])
def test_optimized_and_unoptimized_agree(f, args, wrt):
    fast = s2sgrad.grad(f, wrt=wrt)(*args)
    slow = s2sgrad.grad(f, wrt=wrt, optimize=False)(*args)
    fast = fast if isinstance(wrt, tuple) else (fast,)
    slow = slow if isinstance(wrt, tuple) else (slow,)
    for a, b in zip(fast, slow):
        np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float),
                                   rtol=1e-12, atol=1e-13)
    for i, a in zip(wrt if isinstance(wrt, tuple) else (wrt,), fast):
        if isinstance(args[i], list):
            continue
        np.testing.assert_allclose(np.asarray(a, float), numerical_grad(f, args, i),
                                   rtol=1e-5, atol=1e-7)


def sum_before_and_after_a_loop(x):
    first = np.sum(x)
    for i in range(2):
        x = x * 0.9 + np.sin(x)
    return np.sum(x) + 0.0 * first


def test_common_subexpressions_never_merge_across_a_reassignment():
    x = np.array([0.1, -0.2, 0.3])
    np.testing.assert_allclose(s2sgrad.grad(sum_before_and_after_a_loop)(x),
                               numerical_grad(sum_before_and_after_a_loop, (x,), 0),
                               rtol=1e-6)


def robust_loss(a, b, xs, ys):
    loss = 0.0
    for i in range(len(xs)):
        r = a * xs[i] + b - ys[i]
        s = 1.0 / (1.0 + math.exp(-r))
        loss = loss + math.log1p(math.exp(-r)) + 0.1 * s * r
    return loss / len(xs)


def test_common_subexpressions_within_one_loop_step():
    """`math.exp(-r)` twice in one step is computed once per step."""
    g = s2sgrad.grad(robust_loss, wrt=(0, 1))
    args = (1.3, 0.2, [0.5, -1.0, 2.0], [0.9, -2.5, 3.0])
    got = g(*args)
    for i in (0, 1):
        np.testing.assert_allclose(got[i], numerical_grad(robust_loss, args, i), rtol=1e-7)
    assert code_only(g.source).count("math.exp(-r)") <= 2      # forward loop, backward step
    assert code_only(s2sgrad.grad(robust_loss, wrt=(0, 1), optimize=False).source) \
        .count("math.exp") >= 2 * code_only(g.source).count("math.exp")


def cse_across_a_step_change(x, n):
    y = 0.0
    for i in range(n):
        a = math.sin(x * i)
        x = x + a * 0.5
        b = math.sin(x * i)            # the same text, another value of x
        y = y + a * b
    return y


def test_common_subexpressions_in_a_step_never_merge_across_a_reassignment():
    args = (0.7, 4)
    np.testing.assert_allclose(s2sgrad.grad(cse_across_a_step_change)(*args),
                               numerical_grad(cse_across_a_step_change, args, 0), rtol=1e-7)


def sigmoid_loop(a, b, xs, ys):
    loss = 0.0
    for i in range(len(xs)):
        r = a * xs[i] + b - ys[i]
        loss = loss + math.log1p(math.exp(r)) + 0.1 * (1.0 / (1.0 + math.exp(-r))) * r
    return loss / len(xs)


def test_fused_sigmoid_of_numbers_is_a_number():
    """A hand-written sigmoid fused into one statement keeps what the analyses know of
    the division it replaces: a number from numbers (no unbroadcast, no saved shapes)."""
    g = s2sgrad.grad(sigmoid_loop, wrt=(0, 1))
    args = (1.3, 0.2, [0.5, -1.0, 2.0], [0.9, -2.5, 3.0])
    got = g(*args)
    for i in (0, 1):
        np.testing.assert_allclose(got[i], numerical_grad(sigmoid_loop, args, i), rtol=1e-7)
    assert "sigmoid of r" in g.source
    code = code_only(g.source)
    assert "unbroadcast" not in code and "ShapeOf" not in code and "np.sum" not in code


# ----------------------------------------------------------------------------
# shapes known by relation: elementwise operations on one array keep its shape, so
# their adjoints need no `unbroadcast`; an operand that was broadcast keeps it


def same_shape_chain(x, b):
    a = np.sin(x) * x
    c = np.tanh(a) + x * 0.5
    d = c * a + b
    return np.sum(d * d)


def test_unbroadcast_only_where_an_operand_was_broadcast():
    x = np.linspace(-1.0, 1.0, 12).reshape(3, 4)
    b = np.array([0.1, -0.2, 0.3, 0.4])
    g = s2sgrad.grad(same_shape_chain, wrt=(0, 1))
    got = g(x, b)
    for k, arg in enumerate((x, b)):
        np.testing.assert_allclose(got[k], numerical_grad(same_shape_chain, (x, b), k),
                                   rtol=1e-6, atol=1e-9)
    src = g.source
    # only b's side of the sum with b, the one operation whose operands differ in shape
    # (the shapes (3, 4) and (4,) are known: the other side keeps its shape), and that
    # one is written as the sum over the leading axis (by BLAS: optimize.sums)
    assert "unbroadcast(" not in src and "b_bar = axis_sum(d_bar, 0)" in src, src
    # with a list for b (not an array) the relation is not assumed
    got_list = s2sgrad.grad(same_shape_chain, wrt=0)(x, list(b))
    np.testing.assert_allclose(got_list, got[0], rtol=1e-12)


def squares(x):
    y = x * x
    return np.sum(y)


def test_product_of_a_value_with_itself_is_one_adjoint_term():
    x = np.array([0.3, -1.2, 2.0])
    g = s2sgrad.grad(squares)
    np.testing.assert_allclose(g(x), numerical_grad(squares, (x,), 0), rtol=1e-6)
    # the sum's adjoint is the seed itself (a number), and y is not even computed
    assert "x_bar = 2.0 * v1_bar * x" in g.source, g.source
    assert "y = " not in g.source.split("# backward pass")[0], g.source


# ----------------------------------------------------------------------------
# one push and one pop per loop step for all the values a step overwrites


def three_carried(x, n):
    a = 0.0
    b = 0.0
    c = x
    for i in range(n):
        a = np.sin(c) * x
        b = a * a + b * 0.5
        c = np.cos(a) + b
    return c


def test_loop_saves_are_written_to_tapes_made_before_the_loop():
    g = s2sgrad.grad(three_carried)
    for x in (0.3, -1.1):
        expected = numerical_grad(three_carried, (x, 4), 0)
        assert g(x, 4) == pytest.approx(expected, rel=1e-7)
        value, grad = s2sgrad.value_and_grad(three_carried)(x, 4)
        assert value == pytest.approx(three_carried(x, 4), rel=1e-12)
    src = g.source
    # v1 is the step's own value (pushed once made), a and c old values; a loop of n
    # steps saving one or two values of each kind writes a tape each, made before it
    assert "saved_v1 = [None] * n" in src and "saved_v1[i] = v1" in src, src
    assert "v1 = saved_v1[i]" in src and "a = saved_a[i]" in src, src
    assert ".append(" not in src and ".pop()" not in src, src
    unoptimized = s2sgrad.grad(three_carried, optimize=False)(0.3, 4)
    assert unoptimized == pytest.approx(g(0.3, 4), rel=1e-12)


def four_carried(x, n):
    a = 0.0
    b = 0.0
    c = x
    while n > 0:
        a = np.sin(c) * x + a * 0.1
        b = a * a + b * 0.5
        c = np.cos(a) + b * c
        n = n - 1
    return c


def test_loop_saves_are_batched_into_one_tuple_per_step():
    """A loop of unknown trip count: the old values a step overwrites, one tuple (c
    keeps its own stack: its old value is read in the backward step after the pop)."""
    g = s2sgrad.grad(four_carried)
    for x in (0.3, -1.1):
        expected = numerical_grad(four_carried, (x, 4), 0)
        assert g(x, 4) == pytest.approx(expected, rel=1e-7)
    src = g.source
    assert "saved.append((a, b))" in src and "a, b = saved.pop()" in src, src
    assert src.count(".append(") == 3 and src.count(".pop()") == 3, src


def stencil(x):
    d = x[1:] - x[:-1]                   # n - 1 entries
    e = x[2:] - x[:-2]                   # n - 2 entries
    return np.sum(d[1:] * d[:-1] * 3.0 + np.sin(e) ** 2)


def test_shape_only_values_are_not_computed_by_grad_f():
    x = np.linspace(-1.0, 2.0, 9)
    g = s2sgrad.grad(stencil)
    np.testing.assert_allclose(g(x), numerical_grad(stencil, (x,), 0), rtol=1e-6, atol=1e-9)
    value, grad = s2sgrad.value_and_grad(stencil)(x)
    assert value == pytest.approx(stencil(x), rel=1e-12)
    src = g.source
    forward = src.split("# backward pass")[0]
    assert "np.sum" not in forward, src            # grad_f does not compute the value
    # slices that drop as many entries have one shape; d[1:] and e both drop two from
    # x, through different routes (the shapes `x: (n,)`, `d[1:]` and `e: (n - 2,)`)
    assert src.count("unbroadcast(") == 0, src


def test_the_seed_of_a_sum_stays_a_number_only_where_nothing_must_sum_it():
    x = np.linspace(-1.0, 2.0, 9)
    b = np.array([0.5])
    g = s2sgrad.grad(neighbours)
    np.testing.assert_allclose(g(x), numerical_grad(neighbours, (x,), 0), rtol=1e-6)
    assert "unreduce(" not in g.source and "unbroadcast(" not in g.source, g.source
    # b has its own shape class: the adjoint of x * 2.0 + b must be summed into b's
    # shape, so the sum's seed is an array again
    h = s2sgrad.grad(shifted_plain, wrt=(0, 1))
    got = h(x, b)
    assert "unreduce(" in h.source, h.source
    for k, arg in enumerate((x, b)):
        np.testing.assert_allclose(got[k], numerical_grad(shifted_plain, (x, b), k),
                                   rtol=1e-6)
    # unless an operation first multiplies the seed by an array of the whole shape:
    # tanh's ȳ·(1 - y²) is full, and b's sum is taken from it
    h = s2sgrad.grad(shifted, wrt=(0, 1))
    got = h(x, b)
    assert "unreduce(" not in h.source, h.source
    # (b of shape (1,): the sum keeps its axis)
    assert "b_bar = axis_sum(v2_bar, 0, True)" in h.source, h.source
    for k, arg in enumerate((x, b)):
        np.testing.assert_allclose(got[k], numerical_grad(shifted, (x, b), k), rtol=1e-6)


def neighbours(x):
    return np.sum(np.sin(x[1:]) * x[:-1] + x[1:] ** 2)


def shifted(x, b):
    return np.sum(np.tanh(x * 2.0 + b))


def shifted_plain(x, b):
    return np.sum(x * 2.0 + b)


def running_loss(x, n):
    loss = 0.0
    a = x
    for i in range(n):
        a = np.sin(a) * 1.5
        loss = loss + a * a
    return loss


def test_grad_f_drops_the_running_value_but_value_and_grad_keeps_it():
    g = s2sgrad.grad(running_loss)
    assert g(0.7, 5) == pytest.approx(numerical_grad(running_loss, (0.7, 5), 0), rel=1e-7)
    forward = g.source.split("# backward pass")[0]
    assert "loss" not in forward.split('"""')[-1], g.source
    value, grad = s2sgrad.value_and_grad(running_loss)(0.7, 5)
    assert value == pytest.approx(running_loss(0.7, 5), rel=1e-12)
    assert grad == pytest.approx(g(0.7, 5), rel=1e-12)


def _fold(fdef_body):
    fdef = gast.FunctionDef(name="f", args=gast.arguments(
        args=[], posonlyargs=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None,
        defaults=[]), body=fdef_body, decorator_list=[], returns=None, type_comment=None,
        type_params=[])
    optimize_signs.fold_negations(fdef)
    return fdef.body


def test_a_negated_adjoint_read_by_a_sum_becomes_a_subtraction():
    out = run_pass(_fold, """
        def f(s, v, x):
            v4_bar = s * 2 * v
            v3_bar = -v4_bar
            v2_bar = g + v3_bar * 2 * x
            return v2_bar, v4_bar
        """)
    same(out, """
        def f(s, v, x):
            v4_bar = s * 2 * v
            v2_bar = g - v4_bar * 2 * x
            return v2_bar, v4_bar
        """)


def test_a_negated_product_puts_its_sign_on_the_first_factor():
    out = run_pass(_fold, """
        def f(s, v):
            v7_bar = s * 2 * v
            v2_bar = -v7_bar
            return v2_bar
        """)
    same(out, """
        def f(s, v):
            v2_bar = -s * 2 * v
            return v2_bar
        """)


def test_negations_stay_where_the_value_is_read_twice_or_changes_in_between():
    src = """
        def f(s, v, g):
            a_bar = s * v
            b_bar = -a_bar
            c_bar = g + b_bar * 2
            d_bar = g + a_bar
            e_bar = s * v
            s = s + 1
            f_bar = -e_bar
            return c_bar, d_bar, f_bar
        """
    out = run_pass(_fold, src)
    assert "b_bar = -a_bar" not in out          # b̄ was read once: folded
    assert "c_bar = g - a_bar * 2" in out
    assert "f_bar = -e_bar" in out             # s changed between e_bar and f_bar
    assert "e_bar = s * v" in out


def difference_heavy(x, y):
    r = (y[1:] - x[:-1] ** 2)
    t = 1.0 - x[:-1]
    return np.sum(10.0 * r * r - t * t * 3.0) - np.sum(y - x)


def test_folded_negations_give_the_finite_difference_gradient():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=7), rng.normal(size=7)
    g = s2sgrad.grad(difference_heavy, wrt=(0, 1))
    gx, gy = g(x, y)
    fx, fy = numerical_grad(difference_heavy, (x, y), wrt=(0, 1))
    np.testing.assert_allclose(gx, fx, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(gy, fy, rtol=1e-6, atol=1e-8)
    ux, uy = s2sgrad.grad(difference_heavy, wrt=(0, 1), optimize=False)(x, y)
    np.testing.assert_allclose(gx, ux, rtol=1e-13)
    np.testing.assert_allclose(gy, uy, rtol=1e-13)


def test_a_sum_over_loop_steps_adds_in_place():
    out = run_pass(optimize.accumulate_in_place, """
        def f(n, g, W):
            W_bar = 0.0
            b_bar = 0.0
            for t in range(n):
                W_bar = W_bar + g @ W
                b_bar = b_bar - g
            return W_bar, b_bar
        """)
    same(out, """
        def f(n, g, W):
            W_bar = 0.0
            b_bar = 0.0
            for t in range(n):
                W_bar += g @ W
                b_bar -= g
            return W_bar, b_bar
        """)


def test_a_sum_read_elsewhere_in_the_loop_or_not_starting_at_zero_is_not_updated_in_place():
    src = """
        def f(n, g, W, c_bar):
            W_bar = 0.0
            for t in range(n):
                W_bar = W_bar + g @ W
                h_bar = W_bar
            c_bar = g
            for t in range(n):
                c_bar = c_bar + g
            return W_bar, h_bar, c_bar
        """
    out = run_pass(optimize.accumulate_in_place, src)
    assert "+=" not in out          # W̄ is read by h̄ = W̄; c̄ starts as g's array


def steps_sharing_weights(W, xs):
    h = np.zeros(W.shape[0])
    total = 0.0
    for t in range(xs.shape[0]):
        h = np.tanh(W @ h + xs[t])
        total = total + np.sum(h * h)
    return total


def test_in_place_sums_give_the_finite_difference_gradient():
    rng = np.random.default_rng(2)
    W, xs = 0.5 * rng.normal(size=(3, 3)), rng.normal(size=(4, 3))
    g = s2sgrad.grad(steps_sharing_weights)
    got = g(W, xs)
    # the steps' outer products: one matrix product after the loop (`optimize.stack`)
    assert "W_bar = v7_bar_rows.T @ h_rows" in g.source, g.source
    np.testing.assert_allclose(got, numerical_grad(steps_sharing_weights, (W, xs)),
                               rtol=1e-6, atol=1e-8)
    again = g(W, xs)
    np.testing.assert_array_equal(got, again)          # nothing was updated twice


def test_a_sign_travels_through_products_read_once_to_the_sum_that_takes_it():
    out = run_pass(_fold, """
        def f(c_bar, s, q, y, y_bar):
            b_bar = -(c_bar * s)
            a_bar = b_bar / q
            y_bar = y_bar + 2.0 * a_bar * y
            return y_bar
        """)
    same(out, """
        def f(c_bar, s, q, y, y_bar):
            neg_b_bar = c_bar * s
            neg_a_bar = neg_b_bar / q
            y_bar = y_bar - 2.0 * neg_a_bar * y
            return y_bar
        """)
    # no sum takes it (a_bar is returned): nothing changes
    src = """
        def f(c_bar, s, q):
            b_bar = -(c_bar * s)
            a_bar = b_bar / q
            return a_bar
        """
    same(run_pass(_fold, src), src)


def cos_chain(x):
    y = x
    for _ in range(3):
        y = y * np.cos(np.log1p(y * y))
    return np.sum(y)


def test_carried_signs_give_the_finite_difference_gradient():
    x = np.linspace(-0.7, 0.9, 5)
    g = s2sgrad.grad(cos_chain)
    np.testing.assert_allclose(g(x), numerical_grad(cos_chain, (x,), 0), rtol=1e-6, atol=1e-9)


def seed_through_sum(x, y):
    v0 = (x + y) + y              # x a number: its adjoint sums over y's entries
    return x + np.sum(v0)


def seed_through_broadcast_product(a, b):
    return np.mean(np.exp(a) * b)          # (3, 1) * (1, 4): the seed is (3, 4)


def seed_through_scaled_tanh(x, s):
    return np.sum(s * np.tanh(x))          # s a number: ȳ·s is no full array


@pytest.mark.parametrize("f, args", [
    (seed_through_sum, (0.3, np.array([0.1, -0.4, 0.9]))),
    (seed_through_broadcast_product, (np.linspace(-1, 1, 3).reshape(3, 1),
                                      np.linspace(0.5, 2, 4).reshape(1, 4))),
    (seed_through_scaled_tanh, (np.linspace(-1, 1, 5), 1.7)),
], ids=lambda v: getattr(v, "__name__", ""))
def test_a_number_seed_only_where_the_shapes_allow_it(f, args):
    got = s2sgrad.grad(f, wrt=(0, 1))(*args)
    for k in range(2):
        np.testing.assert_allclose(got[k], numerical_grad(f, args, k), rtol=1e-6, atol=1e-9)


def neighbour_sum(x, xs):
    return np.sum(np.sin(x[1:]) * x[:-1]) + x[0] * sum(xs[1:])


def test_adjoints_of_basic_indexing_into_arrays_are_written_as_by_hand():
    x = np.linspace(-1.0, 2.0, 7)
    xs = [0.5, 1.5, -0.25]
    g = s2sgrad.grad(neighbour_sum, wrt=(0, 1))
    got = g(x, xs)
    src = g.source
    assert "x_bar = np.zeros_like(x)" in src and "x_bar[0] = " in src, src
    assert "x_bar[:-1] += " in src and "x_bar[1:] += " in src, src
    assert "add_at(0.0, xs," in src          # a list keeps the helper
    np.testing.assert_allclose(got[0], numerical_grad(neighbour_sum, (x, xs), 0),
                               rtol=1e-6, atol=1e-9)
    expected = [0.0] + [float(x[0])] * 2
    np.testing.assert_allclose(got[1], expected, rtol=1e-12)
    general = s2sgrad.grad(neighbour_sum, wrt=(0, 1), optimize=False)(x, xs)
    np.testing.assert_allclose(got[0], general[0], rtol=1e-12)


# ----------------------------------------------------------------------------
# shapes of the adjoints (optimize_kinds.spell_out_shapes), source in → source out

def spell(source, known, numbers=()):
    from s2sgrad.optimize.kinds import spell_out_shapes
    tree = gast.parse(textwrap.dedent(source))
    return emit.source(spell_out_shapes(tree.body[0], known, numbers))


def test_helpers_the_adjoints_shapes_settle_are_written_as_numpy():
    out = spell("""
        def f(W, b, h, g, t_bar=1.0):
            v_bar = t_bar * (1.0 - h * h)
            b_bar = unbroadcast(v_bar, b)
            h_bar = matmul_left(v_bar, W, h)
            W_bar = matmul_right(v_bar, h, W)
            c_bar = unbroadcast(v_bar, g)
        """, {"W": ("d1", "d1"), "b": ("d1",), "h": ("d0", "d1"), "g": (1, "d1")},
        {"t_bar"})
    same(out, """
        def f(W, b, h, g, t_bar=1.0):
            v_bar = t_bar * (1.0 - h * h)
            b_bar = np.sum(v_bar, axis=0)
            h_bar = v_bar @ W.T
            W_bar = h.T @ v_bar
            c_bar = np.sum(v_bar, axis=0, keepdims=True)
        """)


def test_a_loop_carried_adjoint_gets_the_shape_every_step_keeps():
    out = spell("""
        def f(Wh, h, n, t_bar=1.0):
            h_bar = t_bar * h
            Wh_bar = 0.0
            for i in reversed(range(n)):
                v_bar = h_bar * (1.0 - h * h)
                h_bar = matmul_left(v_bar, Wh, h)
                Wh_bar += matmul_right(v_bar, h, Wh)
        """, {"Wh": ("d1", "d1"), "h": ("d0", "d1"), "n": ()}, {"t_bar"})
    same(out, """
        def f(Wh, h, n, t_bar=1.0):
            h_bar = t_bar * h
            Wh_bar = 0.0
            for i in reversed(range(n)):
                v_bar = h_bar * (1.0 - h * h)
                h_bar = v_bar @ Wh.T
                Wh_bar += h.T @ v_bar
        """)


def test_helpers_stay_where_an_adjoint_may_be_zero_or_its_shape_changes():
    source = """
        def f(W, h, n, flag, t_bar=1.0):
            a_bar = 0.0
            if flag:
                a_bar = t_bar * h
            x_bar = matmul_left(a_bar, W, h)
            y_bar = t_bar * h
            for i in range(n):
                y_bar = np.sum(y_bar, axis=0)
            z_bar = matmul_right(y_bar, h, W)
            u_bar, w_bar = pair(h)
            q_bar = matmul_left(u_bar, W, h)
            r_bar = matmul_left(t_bar * h, W, glob)
        """
    out = spell(source, {"W": ("d1", "d1"), "h": ("d0", "d1"), "n": (), "flag": ()},
                {"t_bar"})
    same(out, source)


# ----------------------------------------------------------------------------
# the adjoints of hoisted values after a fused loop (fuse._sink_hoisted_adjoints)

def sink(source, hoisted):
    from s2sgrad.optimize.fuse import _sink_hoisted_adjoints
    from s2sgrad.optimize.facts import stores_all
    tree = gast.parse(textwrap.dedent(source))
    back = tree.body
    step, zeros, after = _sink_hoisted_adjoints(back, set(hoisted), stores_all(back) | {"i"})
    text = lambda stmts: emit.source(gast.Module(body=stmts, type_ignores=[])).strip()
    return text(zeros) if zeros else "", text(step), text(after) if after else ""


def test_a_hoisted_values_adjoint_sums_the_steps_and_runs_once():
    zeros, step, after = sink("""
        v5_bar = s_bar * v6
        e_bar = -v5_bar
        e_bar = e_bar - v6
        a_bar = v5_bar * math.cos(a)
        x2_bar += e_bar * e
        x1_bar += a_bar / x2
        """, {"e"})
    assert zeros == "e_bar = 0.0"
    same(step, """
        v5_bar = s_bar * v6
        e_bar = e_bar - v5_bar
        e_bar = e_bar - v6
        a_bar = v5_bar * math.cos(a)
        x1_bar += a_bar / x2
        """)
    assert after == "x2_bar += e_bar * e"


@pytest.mark.parametrize("source", [
    # a step reads the hoisted value's adjoint other than to add to it
    """
    e_bar = s_bar * a
    a_bar = e_bar * 2.0
    x2_bar += e_bar * e
    """,
    # the adjoint is carried from step to step (added to before it is set)
    """
    e_bar = e_bar + s_bar * a
    x2_bar += e_bar * e
    """,
    # the moved statement is not linear in the adjoint
    """
    e_bar = s_bar * a
    x2_bar += e_bar * e_bar
    """,
    # it reads a value of the step
    """
    a = x1 * i
    e_bar = s_bar * a
    x2_bar += e_bar * a
    """,
    # the sum it adds into is read in the step
    """
    e_bar = s_bar * a
    x2_bar += e_bar * e
    y = x2_bar * 2.0
    """])
def test_hoisted_adjoints_stay_in_the_step_where_moving_them_would_change_the_sums(source):
    zeros, step, after = sink(source, {"e"})
    assert zeros == "" and after == ""
    same(step, source)


def squares_of_numbers(x, y):
    return x ** 2 + math.sin(y) ** 2 * x + y ** 3


def test_the_square_of_a_number_is_a_product():
    g = s2sgrad.grad(squares_of_numbers, wrt=(0, 1))
    got = g(1.2, 0.4)
    src = g.source
    assert "v3 = v2 * v2" in src and "3 * (y * y)" in src and "** 2" not in src.replace(
        "# grad of: v3 = v2 ** 2", "").replace("# grad of: v1 = x ** 2", ""), src
    for k in (0, 1):
        assert got[k] == pytest.approx(numerical_grad(squares_of_numbers, (1.2, 0.4), k),
                                       rel=1e-7)
    # an array keeps NumPy's square (its own fast path), a number beside it is a product
    h = s2sgrad.grad(summed_squares, wrt=(0, 1))
    x = np.array([1.2, -0.5])
    got = h(x, 0.4)
    assert "x ** 2" in h.source and "v2 * v2" in h.source, h.source
    for k in (0, 1):
        np.testing.assert_allclose(got[k], numerical_grad(summed_squares, (x, 0.4), k),
                                   rtol=1e-7)


def summed_squares(x, y):
    return np.sum(x ** 2 + math.sin(y) ** 2 * x)


def test_a_step_statement_ahead_of_the_first_comment_stays_in_the_step():
    # no comment heads the statements: the share e_bar is still computed in the step
    zeros, step, after = sink("""
        e_bar = s_bar * a
        x2_bar += e_bar * e
        """, {"e"})
    assert zeros == "e_bar = 0.0"
    assert step == "e_bar = e_bar + s_bar * a"
    assert after == "x2_bar += e_bar * e"


def cse_then_loop(x):
    c = 0.0
    for i in range(2):
        a = np.sin(x)           # read by nothing but through its twin
        b = np.sin(x)           # renamed a: a reader of a the block did not have
        c = c + b * i
    return np.sum(c * x)


def test_common_subexpression_whose_twin_is_read_by_nothing_else():
    x = np.array([0.3, -0.8])
    np.testing.assert_allclose(s2sgrad.grad(cse_then_loop)(x),
                               numerical_grad(cse_then_loop, (x,)), rtol=1e-6, atol=1e-8)


def test_common_subexpressions_are_matched_by_structure_constants_by_type():
    """The key of an expression is its structure: the same reads match whatever their
    marks, and constants match by type and value as their source would (`1`, `1.0`,
    `True`, `-0.0` and `0.0` are different expressions)."""
    from s2sgrad.optimize.trace_passes import _structure
    from s2sgrad.syntax.nodes import parse_expr

    def key(text):
        return _structure(parse_expr(text))
    assert key("np.exp(-r) * x[0]") == key("np.exp(-r) * x[0]")
    assert key("np.exp(-r)") != key("np.exp(r)") != key("np.tanh(r)")
    for a, b in (("x * 1", "x * 1.0"), ("x * 1", "x * True"), ("x * 0.0", "x * -0.0"),
                 ("x + y", "y + x"), ("f(x, y)", "f(y, x)")):
        assert key(a) != key(b), (a, b)
