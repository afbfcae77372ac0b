"""Generated code for loops, as a person would write it.

Each case checks the generated source (what is saved per step, which runtime helpers
remain) and the gradient against centered finite differences in float64.
"""
import math
import textwrap

import gast
import numpy as np

import s2sgrad
from s2sgrad.ad.callees import read_before_bound
from s2sgrad.optimize.lists import list_adjoints
from s2sgrad.optimize.saves import batch_saves, preallocate_tapes
from s2sgrad.syntax import emit

from support.numeric import assert_grad_matches


def fd_of_lists(f, args, wrt, h=1e-6):
    """Centered finite differences in float64 for float and list-of-float arguments."""
    out = []
    for k in wrt:
        def at(k, j, d):
            a = [list(x) if isinstance(x, list) else x for x in args]
            if j is None:
                a[k] = a[k] + d
            else:
                a[k][j] = a[k][j] + d
            return f(*a)
        if isinstance(args[k], list):
            out.append([(at(k, j, h) - at(k, j, -h)) / (2 * h) for j in range(len(args[k]))])
        else:
            out.append((at(k, None, h) - at(k, None, -h)) / (2 * h))
    return out


def assert_list_grads(f, *args, wrt):
    got = s2sgrad.grad(f, wrt=tuple(wrt))(*args)
    for g, want in zip(got, fd_of_lists(f, args, wrt)):
        assert type(g) is type(want)
        np.testing.assert_allclose(g, want, rtol=1e-6, atol=1e-8)


def source_of(f, *args, wrt=0):
    g = s2sgrad.grad(f, wrt=wrt)
    g(*args)
    return g.source


# ------------------------------------------------- shapes through np.roll and np.flip

def diffusion(psi, D, steps):
    for t in range(steps):
        lap = np.roll(psi, 1) - 2.0 * psi + np.roll(psi, -1)
        psi = psi + D * lap
    return np.sum(psi * psi)


def test_stencil_with_roll_keeps_one_shape():
    """psi keeps its shape through np.roll: no unbroadcast, no saved shapes."""
    psi = np.linspace(0.0, 1.0, 12) ** 2
    src = source_of(diffusion, psi, 0.1, 5, wrt=(0, 1))
    assert "unbroadcast" not in src and "ShapeOf" not in src
    assert_grad_matches(diffusion, psi, 0.1, 5, wrt=(0, 1))


def flipped(x, w):
    y = x
    for i in range(3):
        y = np.flip(y) * w + y
    return np.sum(y * y)


def test_flip_keeps_the_shape():
    x = np.array([0.3, -0.2, 0.9, 1.1])
    src = source_of(flipped, x, 0.7, wrt=(0, 1))
    assert "unbroadcast" not in src
    assert_grad_matches(flipped, x, 0.7, wrt=(0, 1))


def test_roll_of_a_matrix_broadcast_against_a_row_keeps_unbroadcast():
    """A row added to a rolled matrix still sums its adjoint over the rows."""
    def f(X, b):
        Y = X
        for i in range(2):
            Y = np.roll(Y, 1, axis=0) + b
        return np.sum(Y * Y)
    X = np.arange(12.0).reshape(4, 3) / 7
    b = np.array([0.1, -0.3, 0.2])
    assert_grad_matches(f, X, b, wrt=(0, 1))


# ------------------------------------------------------------- the neuron of lists

def dot(w, x):
    w_dot_x = 0.0
    x = [1] + x
    for (wi, xi) in zip(w, x):
        w_dot_x = w_dot_x + (wi * xi)
    return w_dot_x


def neuron(w, x):
    return 1 / (1 + math.exp(-1 * dot(w, x)))


def test_neuron_of_lists_reads_like_a_person_wrote_it():
    """Lists of numbers: items read again rather than saved, no unbroadcast on numbers,
    no placeholders, the adjoints lists updated by index."""
    w, x = [-3, 2, -3], [-1.0, -2.0]
    g = s2sgrad.grad(neuron, wrt=(0, 1))
    dw, dx = g(w, x)
    src = g.source
    for absent in ("unbroadcast", "add_at", "ShapeOf", "None", "saved_", ".append(",
                   ".pop("):
        assert absent not in src, absent
    assert "w_bar[i] += " in src and "x_1_bar[i] += " in src
    assert "w_bar = [0.0] * len(w)" in src
    out = neuron(w, x)
    d = out * (1 - out)                       # the closed form
    np.testing.assert_allclose(dw, [d, x[0] * d, x[1] * d], rtol=1e-12)
    np.testing.assert_allclose(dx, [w[1] * d, w[2] * d], rtol=1e-12)
    assert type(dw) is list and type(dx) is list
    assert_list_grads(neuron, [-0.3, 0.2, -0.7], [-1.0, 0.5], wrt=(0, 1))


def test_list_holding_an_array_keeps_the_general_code():
    """A list with an array in it is not a list of numbers: its items broadcast."""
    def f(w, x):
        s = 0.0
        for i in range(len(w)):
            s = s + w[i] * x[i]
        return np.sum(s)
    w = [0.5, np.array([1.0, -2.0])]
    x = [np.array([0.3, 0.1]), 2.0]
    g = s2sgrad.grad(f, wrt=(0, 1))
    gw, gx = g(w, x)
    np.testing.assert_allclose(gw[0], 0.4)
    np.testing.assert_allclose(gw[1], [2.0, 2.0])
    np.testing.assert_allclose(gx[0], [0.5, 0.5])
    np.testing.assert_allclose(gx[1], -1.0)
    assert "unbroadcast" in g.source


def poly(cs, t):
    acc = 0.0
    for k in range(len(cs)):
        acc = acc * t + cs[k]
    return acc * acc


def test_list_adjoint_when_the_list_is_read_twice_per_step():
    cs = [0.3, -1.2, 0.7, 2.0]
    g = s2sgrad.grad(poly, wrt=(0, 1))
    g(cs, 0.9)
    assert "cs_bar[k] += " in g.source and "add_at" not in g.source
    assert_list_grads(poly, cs, 0.9, wrt=(0, 1))


def test_list_built_from_numbers_inside_the_function():
    def f(a, b):
        xs = [a, b, a * b]
        s = 0.0
        for i in range(3):
            s = s + xs[i] * xs[i]
        return s
    g = s2sgrad.grad(f, wrt=(0, 1))
    g(0.4, -1.3)
    assert "add_at" not in g.source and "unbroadcast" not in g.source
    assert_grad_matches(f, 0.4, -1.3, wrt=(0, 1))


def dot_n(w, x, n):
    s = 0.0
    for i in range(n):
        s = s + w[i] * x[i]
    return s


def calls_dot_n(w, x, n):
    return dot_n(w, x, n) * 2.0


def test_callee_loop_that_runs_no_step():
    """What the backward pass reads before binding it is all the pair keeps: a loop
    that ran no step leaves no name unbound."""
    g = s2sgrad.grad(calls_dot_n, wrt=(0, 1))
    gw, gx = g([1.0, 2.0], [3.0, 4.0], 0)
    assert gw == [0.0, 0.0] and gx == [0.0, 0.0]
    assert_list_grads(calls_dot_n, [1.0, 2.0], [3.0, 4.0], 2, wrt=(0, 1))


# ------------------------------------------------------- values that live in one step

def recurrence(a, b, n):
    x, v = 1.0, 0.0
    for t in range(n):
        f = math.sin(x) * a
        v = v + f - b * v
        x = x + 0.1 * v
    return x * x + v


def test_step_local_values_are_pushed_after_they_are_made():
    """No `v2 = None` before the loop: sin(x) is saved once made and read back first;
    the numbers of the tuple `1.0, 0.0` are numbers (no shapes saved)."""
    g = s2sgrad.grad(recurrence, wrt=(0, 1))
    g(0.8, 0.3, 6)
    src = g.source
    assert " = None\n" not in src and "ShapeOf" not in src and "unbroadcast" not in src
    assert "saved_v1[t] = v1" in src and "v1 = saved_v1[t]" in src
    assert_grad_matches(recurrence, 0.8, 0.3, 6, wrt=(0, 1))
    assert_grad_matches(recurrence, 0.8, 0.3, 0, wrt=(0, 1))


def nested(x, n):
    total = 0.0
    for j in range(n):
        for i in range(3):
            h = np.sin(x * (i + 1.0))
            total = total + h
        total = total * h              # h of the inner loop's last step, read after it
    return total


def test_value_read_after_its_inner_loop_is_not_step_local():
    assert_grad_matches(nested, 0.6, 3)


def rows(X, w, n):
    acc = 0.0
    for k in range(n):
        for i in range(X.shape[0]):
            xi = X[i]
            acc = acc + np.tanh(xi @ w) * (k + 1.0)
        w = w * 0.9 + 0.01 * acc
    return acc


def test_rows_read_again_in_the_backward_step():
    """`xi = X[i]` of an array nobody changes is read again; w changes in the outer
    loop, the rows do not."""
    X = np.arange(6.0).reshape(3, 2) / 5
    w = np.array([0.3, -0.2])
    g = s2sgrad.grad(rows, wrt=(0, 1))
    g(X, w, 2)
    assert "saved_xi" not in g.source
    assert_grad_matches(rows, X, w, 2, wrt=(0, 1))


def overwritten_container(xs, n):
    acc = 0.0
    for k in range(n):
        for i in range(2):
            acc = acc + xs[i] * xs[i]
        xs = [xs[1], xs[0] * 1.5]
    return acc


def test_item_of_a_list_rebound_in_an_outer_loop():
    """The list changes between outer steps: reading it again must see that step's."""
    assert_list_grads(overwritten_container, [0.4, -0.9], 3, wrt=(0,))


# ---------------------------------------------------------------- one forward function

def layer(W, x):
    for _ in range(1):         # a loop: a pair of its own (small helpers are inlined)
        x = np.tanh(W @ x)
    return x


def two_layers(W1, W2, x):
    h = layer(W1, x)
    return np.sum(layer(W2, h))


def test_one_forward_function_for_calls_differentiated_differently():
    """layer(W1, x) needs W1's adjoint, layer(W2, h) both: two backward functions, one
    forward function."""
    rng = np.random.default_rng(0)
    W1, W2, x = rng.normal(size=(3, 3)), rng.normal(size=(3, 3)), rng.normal(size=3)
    src = source_of(two_layers, W1, W2, x, wrt=(0, 1))
    assert src.count("def layer_fwd") == 1 and src.count("def layer_bwd") == 2
    assert "layer_fwd2" not in src
    assert_grad_matches(two_layers, W1, W2, x, wrt=(0, 1))


def test_calls_with_other_kinds_get_their_own_pair():
    """dot of lists of numbers and dot of a list holding an array: one pair each."""
    def f(a, b):
        return dot_n([a, b], [b, a], 2) + np.sum(dot_n([np.array([a, b]), b], [b, a], 2))
    src = source_of(f, 0.3, -0.8, wrt=(0, 1))
    assert src.count("def dot_n_bwd") == 2
    assert_grad_matches(f, 0.3, -0.8, wrt=(0, 1))


# ------------------------------------------------------- the passes, source in and out


def parsed(source):
    fdef = gast.parse(textwrap.dedent(source)).body[0]
    for loop in gast.walk(fdef):               # what the reverse pass marks
        if isinstance(loop, gast.For) and "reversed" in gast.dump(loop.iter) \
                or isinstance(loop, gast.For) and loop.target.id == "_":
            loop.s2s_backward = True
    return fdef


def same(fdef, expected):
    assert emit.source(fdef).strip() == textwrap.dedent(expected).strip()


def test_pass_list_adjoints():
    fdef = parsed("""
        def g(w, n, g_bar):
            w_bar = 0.0
            for i in reversed(range(n)):
                w_bar = add_at(w_bar, w, i, g_bar * 2.0, True)
            return grad_like(w_bar, w)
        """)
    fdef.body = list_adjoints(fdef.body, {"w"}, {"i"})
    same(fdef, """
        def g(w, n, g_bar):
            w_bar = [0.0] * len(w)
            for i in reversed(range(n)):
                w_bar[i] += g_bar * 2.0
            return grad_like(w_bar, w)
        """)


def test_pass_list_adjoints_leaves_a_shared_adjoint():
    """Read while it still changes (another name holds it): stays add_at."""
    source = """
        def g(w, n, g_bar):
            w_bar = 0.0
            for i in reversed(range(n)):
                v_bar = w_bar
                w_bar = add_at(w_bar, w, i, g_bar, True)
            return v_bar
        """
    fdef = parsed(source)
    fdef.body = list_adjoints(fdef.body, {"w"}, {"i"})
    same(fdef, source)
    fdef = parsed(source.replace("v_bar = w_bar", "v_bar = 1.0"))
    fdef.body = list_adjoints(fdef.body, {"w"}, set())           # i: not known an int
    assert "add_at" in emit.source(fdef)


def test_pass_preallocate_tapes():
    fdef = parsed("""
        def g(x, n):
            saved_y = []
            y = x
            for i in range(n):
                saved_y.append(y)
                y = np.sin(y)
            y_bar = 1.0
            for i in reversed(range(n)):
                y = saved_y.pop()
                y_bar = y_bar * np.cos(y)
            return y_bar
        """)
    preallocate_tapes(fdef)
    same(fdef, """
        def g(x, n):
            y = x
            saved_y = [None] * n
            for i in range(n):
                saved_y[i] = y
                y = np.sin(y)
            y_bar = 1.0
            for i in reversed(range(n)):
                y = saved_y[i]
                y_bar = y_bar * np.cos(y)
            return y_bar
        """)


def test_pass_batch_saves_of_a_steps_own_values():
    """Values made in the step: one tuple pushed at its end, popped first."""
    fdef = parsed("""
        def g(x, c):
            saved_a = []
            saved_b = []
            n_while = 0
            while c:
                n_while += 1
                a = np.sin(x)
                saved_a.append(a)
                b = np.cos(a)
                saved_b.append(b)
                x = a * b
                c = x > 0.1
            x_bar = 1.0
            for _ in range(n_while):
                a = saved_a.pop()
                b = saved_b.pop()
                x_bar = x_bar * (b - a)
            return x_bar
        """)
    batch_saves(fdef)
    same(fdef, """
        def g(x, c):
            saved = []
            n_while = 0
            while c:
                n_while += 1
                a = np.sin(x)
                b = np.cos(a)
                x = a * b
                c = x > 0.1
                saved.append((a, b))
            x_bar = 1.0
            for _ in range(n_while):
                a, b = saved.pop()
                x_bar = x_bar * (b - a)
            return x_bar
        """)


def test_read_before_bound():
    body = gast.parse(textwrap.dedent("""
        for i in reversed(range(n)):
            wi = w[i]
            s_bar = s_bar + wi
            t += 1
        if c:
            u = 1
        else:
            u = 2
        z = u + q
        """)).body
    assert read_before_bound(body) == {"reversed", "range", "n", "w", "s_bar", "t", "c", "q"}


def test_pass_list_adjoints_folds_a_term_read_once():
    fdef = parsed("""
        def g(w, x, n, s_bar):
            w_bar = 0.0
            for i in reversed(range(n)):
                xi = x[i]
                wi_bar = s_bar * xi
                w_bar = add_at(w_bar, w, i, wi_bar, True)
            return w_bar
        """)
    fdef.body = list_adjoints(fdef.body, {"w"}, {"i"})
    same(fdef, """
        def g(w, x, n, s_bar):
            w_bar = [0.0] * len(w)
            for i in reversed(range(n)):
                xi = x[i]
                w_bar[i] += s_bar * xi
            return w_bar
        """)
