"""`value_and_grad_f` costs `grad_f` plus what the value needs beyond it: the same
optimizer passes run over it (shape reads from elsewhere, dead forward values, loop
fusion), one forward pass, and loops whose steps share only sums fused as in `grad_f`,
the fused loop running in the forward order when the value reads what the loop leaves
(s2sgrad/optimize/fuse.py, `_in_order`).

The generated code is checked for its shape (one forward loop, no tape, every statement
of `grad_f` present in order); the values against the function itself (bit for bit
where the loop runs in its order) and the gradients against centered finite
differences.
"""
import ast
import math

import numpy as np

import s2sgrad

from support.numeric import assert_value_and_grad_matches


def sources(f, *args, wrt=0):
    g = s2sgrad.grad(f, wrt=wrt)
    g(*args)
    v = s2sgrad.value_and_grad(f, wrt=wrt)
    v(*args)
    return g.source, v.source


def body_lines(src, name):
    """The statements of the function `name` in `src`, one dumped line each (code only)."""
    tree = ast.parse(src)
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name)
    return [ast.unparse(st) for st in fn.body
            if not (isinstance(st, ast.Expr) and isinstance(st.value, ast.Constant))]


def loops(src):
    return sum(isinstance(n, (ast.For, ast.While)) for n in ast.walk(ast.parse(src)))


def is_subsequence(small, big):
    it = iter(big)
    return all(any(x == y for y in it) for x in small)


# ------------------------------------------------------------------ a scalar loop

def running_loss(x1, x2):
    loss = 0.0
    for i in range(50):
        a = (x1 + 0.01 * i) / x2
        e = math.exp(x2)
        loss = loss + (math.sin(a) + a - e) * (a - e)
    return loss


def test_a_loop_of_independent_steps_is_fused_in_value_and_grad():
    g, v = sources(running_loss, 1.5, 0.5, wrt=(0, 1))
    assert loops(g) == 1
    assert loops(v) == 1, v                    # one pass: forward step and adjoint together
    assert ".append(" not in v and ".pop(" not in v, v
    assert "for i in range(50)" in v, v        # in the function's own order


def test_the_fused_value_is_the_functions_bit_for_bit():
    value, (g1, g2) = s2sgrad.value_and_grad(running_loss, wrt=(0, 1))(1.5, 0.5)
    assert value == running_loss(1.5, 0.5)
    assert_value_and_grad_matches(running_loss, 1.5, 0.5, wrt=(0, 1))
    h1, h2 = s2sgrad.grad(running_loss, wrt=(0, 1))(1.5, 0.5)
    assert math.isclose(g1, h1, rel_tol=1e-12) and math.isclose(g2, h2, rel_tol=1e-12)


def squared_running_loss(x):
    loss = 0.0
    for i in range(20):
        loss = loss + np.sin(x * (i + 1.0))
    return loss * loss


def test_a_value_the_adjoint_needs_keeps_the_loops_apart():
    # loss_bar = 2 * loss * ...: the backward steps need the loop's result first
    g, v = sources(squared_running_loss, 0.3)
    assert loops(v) == 2, v
    assert_value_and_grad_matches(squared_running_loss, 0.3)


def scaled_running_loss(x):
    loss = 0.0
    for i in range(20):
        loss = loss + np.cos(x * (i + 1.0)) * x
    out = 3.0 * loss
    return out + 1.0


def test_forward_code_after_the_loop_moves_after_the_fused_loop():
    g, v = sources(scaled_running_loss, 0.7)
    assert loops(v) == 1, v
    assert_value_and_grad_matches(scaled_running_loss, 0.7)
    assert s2sgrad.value_and_grad(scaled_running_loss)(0.7)[0] == scaled_running_loss(0.7)


def last_term_too(x):
    loss = 0.0
    t = 0.0
    for i in range(10):
        t = np.sin(x + i)
        loss = loss + t * x
    return loss + t


def test_the_last_steps_values_read_after_the_loop():
    assert_value_and_grad_matches(last_term_too, 0.4)
    assert s2sgrad.value_and_grad(last_term_too)(0.4)[0] == last_term_too(0.4)


def no_steps(x, n):
    loss = x * 0.0
    for i in range(n):
        loss = loss + np.sin(x * i)
    return loss + x


def test_a_loop_that_does_not_run():
    assert_value_and_grad_matches(no_steps, 0.4, 0, wrt=0)
    assert_value_and_grad_matches(no_steps, 0.4, 3, wrt=0)


# ------------------------------------------------------------------ straight-line code

def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def logreg(w, b, X, y):
    z = X @ w + b
    return np.mean(np.logaddexp(0.0, -y * z))


def test_value_and_grad_runs_the_gradients_statements_and_one_forward_pass():
    rng = np.random.default_rng(0)
    cases = [(rosenbrock, (rng.uniform(-1, 1, 7),), 0),
             (logreg, (rng.standard_normal(3), 0.2, rng.standard_normal((6, 3)),
                       np.sign(rng.standard_normal(6))), (0, 1))]
    for f, args, wrt in cases:
        g, v = sources(f, *args, wrt=wrt)
        gl, vl = body_lines(g, "grad_" + f.__name__), body_lines(v, "value_and_grad_" + f.__name__)
        assert is_subsequence(gl[:-1], vl), (g, v)      # grad_f's statements, in order
        forward = [line for line in vl if "_bar" not in line and not line.startswith("return")]
        assert len(forward) == len(set(forward)), v     # no statement computed twice
        assert_value_and_grad_matches(f, *args, wrt=wrt)


def overwrites_what_an_earlier_loop_reads(x, y):
    parts = []
    for i in range(2):
        parts.append(x * np.sum(y, axis=0) + (y + 0.5))
    v = np.sum(np.stack(parts), axis=0)
    for j in range(2):             # its results feed nothing, but it rebinds x and y,
        x = x + np.tanh(np.sum(y, axis=0)) * np.sin(0.3 * np.sum(v, axis=0))
        y = y * 0.5 + np.sin(x + y)     # which the first loop's adjoint reads
    return np.sum(v)


def test_a_loop_is_not_fused_where_later_adjoints_read_what_it_rebinds():
    x = np.array([0.419, 0.583, 0.069])
    y = np.array([[0.646, 0.367, 0.118]])
    assert_value_and_grad_matches(overwrites_what_an_earlier_loop_reads, x, y, wrt=(0, 1))


def through_a_helper(w, x):
    def layer(a, b):
        return np.tanh(a @ b)
    return np.sum(layer(x, w) ** 2) + 0.5 * np.sum(w * w)


def test_the_twin_made_on_first_use_is_right_in_every_thread():
    """`grad` loads `grad_f` alone; `value_and_grad_f` (and the pairs it calls) is
    optimized and loaded when first asked for, under the compile lock when several
    threads ask at once."""
    import threading
    rng = np.random.default_rng(3)
    w, x = rng.standard_normal((4, 3)), rng.standard_normal((5, 4))
    g = s2sgrad.grad(through_a_helper)
    g(w, x)
    twins, errors = [], []
    start = threading.Barrier(4)

    def ask():
        try:
            start.wait()
            twins.append(s2sgrad.value_and_grad(through_a_helper)(w, x))
        except Exception as e:       # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    value = through_a_helper(w, x)
    for got_value, got_grad in twins:
        assert got_value == value
        np.testing.assert_array_equal(got_grad, twins[0][1])
    assert_value_and_grad_matches(through_a_helper, w, x)
    assert "def value_and_grad_through_a_helper" in s2sgrad.value_and_grad(through_a_helper).source
