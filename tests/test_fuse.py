"""The fused loop (s2sgrad/optimize/fuse.py): a loop whose steps share only accumulators runs
forward step and adjoint together in `grad_f`, without saving anything.

Each case checks the generated source (fused or not, what moved out of the loop) and
the gradient against centered finite differences; the unfused `value_and_grad_f` of the
same function must give the same gradient up to the last bits (the fused loop adds the
adjoints of the values it hoists once, after the loop: the same sums in another order).
"""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import s2sgrad

from support.numeric import assert_grad_matches
from support.fuzz_programs import load_module

FUSED = "forward step, recomputed"


def source_of(f, *args, wrt=0):
    g = s2sgrad.grad(f, wrt=wrt)
    g(*args)
    return g.source


def same_as_value_and_grad(f, *args, wrt=0):
    got = s2sgrad.grad(f, wrt=wrt)(*args)
    _, other = s2sgrad.value_and_grad(f, wrt=wrt)(*args)
    for a, b in zip(np.atleast_1d(got) if not isinstance(got, tuple) else got,
                    np.atleast_1d(other) if not isinstance(other, tuple) else other):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)


# ------------------------------------------------------------------ fused loops

def griewank(x1, x2):
    loss = 0.0
    for i in range(20):
        a = (x1 + 0.01 * i) / x2
        e = math.exp(x2)
        loss = loss + (math.sin(a) + a - e) * (a - e)
    return loss


def test_independent_steps_are_fused_and_nothing_is_saved():
    src = source_of(griewank, 1.5, 0.5, wrt=(0, 1))
    assert FUSED in src
    assert "saved" not in src and ".pop()" not in src
    assert_grad_matches(griewank, 1.5, 0.5, wrt=(0, 1))
    same_as_value_and_grad(griewank, 1.5, 0.5, wrt=(0, 1))


def test_a_value_fixed_for_the_loop_is_computed_once_before_it():
    src = source_of(griewank, 1.5, 0.5, wrt=(0, 1))
    lines = [ln.strip() for ln in src.splitlines()]
    assert "e = math.exp(x2)" in lines
    assert lines.index("e = math.exp(x2)") < lines.index("for i in reversed(range(20)):")


def sum_over_n(x1, x2, n):
    loss = 0.0
    for i in range(n):
        loss += math.exp(x2) * x1 * i
    return loss


def test_with_a_range_that_may_be_empty_the_hoisted_value_is_guarded():
    src = source_of(sum_over_n, 1.5, 0.5, 4, wrt=(0, 1))
    assert FUSED in src and "if range(n):" in src
    assert_grad_matches(sum_over_n, 1.5, 0.5, 4, wrt=(0, 1))
    # no step runs: math.exp(1000.0) (an OverflowError) must not run either
    assert s2sgrad.grad(sum_over_n, wrt=(0, 1))(1.5, 1000.0, 0) == (0.0, 0.0)


def least_squares(w, X, y):
    loss = 0.0
    for i in range(len(y)):
        r = X[i] @ w - y[i]
        loss = loss + r * r
    return loss / len(y)


def test_array_steps_indexing_an_input_are_fused():
    # X[i] @ w is a number when X is a matrix and w a vector (the code is specialized
    # on the arrays' ndim): the running sum stays a number, no step reads its shape
    rng = np.random.default_rng(0)
    X, y, w = rng.normal(size=(6, 3)), rng.normal(size=6), rng.normal(size=3)
    src = source_of(least_squares, w, X, y, wrt=(0, 1))
    assert FUSED in src and "unbroadcast" not in src
    assert_grad_matches(least_squares, w, X, y, wrt=(0, 1))
    same_as_value_and_grad(least_squares, w, X, y, wrt=(0, 1))


def list_loop(xs, c):
    total = 0.0
    for x in xs:
        total = total + math.sin(x * c) - x
    return total


def test_a_loop_over_a_list():
    # (the items' types are not known: the sum's shape is read in each step, so the
    # steps are not provably independent and the loop keeps its saves)
    xs = [0.3, -1.2, 2.0, 0.7]
    assert_grad_matches(list_loop, xs, 1.3, wrt=1)
    same_as_value_and_grad(list_loop, xs, 1.3, wrt=(0, 1))
    assert_grad_matches(list_loop, np.array(xs), 1.3, wrt=(0, 1))


# --------------------------------------------------------------- left unfused

def carried_state(x, y):
    h = 1.0
    loss = 0.0
    for i in range(5):
        h = math.tanh(h * x + y)       # each step reads the last one's h
        loss = loss + h
    return loss


def decayed(x):
    loss = 0.0
    for i in range(5):
        loss = 0.9 * loss + math.sin(x * i)   # the sum is scaled: its adjoint changes
    return loss


def value_read_after(x):
    loss = 0.0
    for i in range(4):
        a = math.sin(x + i)
        loss = loss + a * a
    return loss + a


def fixed_then_changed(x):
    c = 2.0 * x
    loss = 0.0
    for i in range(4):
        loss = loss + math.sin(c * i)
    c = 3.0 * x                           # c changes after the loop
    return loss + c * c


def branch_inside(x):
    loss = 0.0
    for i in range(4):
        if i % 2 == 0:
            loss = loss + math.sin(x * i)
        else:
            loss = loss + math.cos(x * i)
    return loss


def nested(x):
    loss = 0.0
    for i in range(3):
        for j in range(2):
            loss = loss + math.sin(x * i + j)
    return loss


@pytest.mark.parametrize("f, args", [
    (carried_state, (0.4, 0.2)),
    (decayed, (0.7,)),
    (value_read_after, (0.3,)),
    (fixed_then_changed, (0.6,)),
    (branch_inside, (0.8,)),
    (nested, (0.5,)),
], ids=lambda v: getattr(v, "__name__", ""))
def test_loops_whose_steps_depend_on_each_other_are_not_fused_and_stay_right(f, args):
    wrt = tuple(range(len(args))) if len(args) > 1 else 0
    assert_grad_matches(f, *args, wrt=wrt)
    same_as_value_and_grad(f, *args, wrt=wrt)


def test_carried_values_and_scaled_sums_keep_their_saves():
    assert FUSED not in source_of(carried_state, 0.4, 0.2, wrt=(0, 1))
    assert FUSED not in source_of(decayed, 0.7)
    assert FUSED not in source_of(value_read_after, 0.3)


def test_value_and_grad_keeps_the_forward_loop():
    vg = s2sgrad.value_and_grad(griewank, wrt=(0, 1))
    value, _ = vg(1.5, 0.5)
    assert value == pytest.approx(griewank(1.5, 0.5), rel=1e-14)


def test_unoptimized_code_is_not_fused():
    g = s2sgrad.grad(griewank, wrt=(0, 1), optimize=False)
    g(1.5, 0.5)
    assert FUSED not in g.source


def test_the_fused_step_folds_its_number_temporaries_back():
    src = source_of(griewank, 1.5, 0.5, wrt=(0, 1))
    lines = [ln.strip() for ln in src.splitlines()]
    assert "a = (x1 + 0.01 * i) / x2" in lines          # the user's line, not v1, v2
    assert "x1_bar += a_bar / x2" in lines               # no v2_bar in between
    assert not any(ln.startswith(("v1 =", "v2 =", "v2_bar =")) for ln in lines)
    same_as_value_and_grad(griewank, 1.5, 0.5, wrt=(0, 1))


# ------------------------------------------- adjoints of hoisted values, after the loop

def loop_body_lines(src):
    """(the lines inside the fused loop, the lines after it), stripped."""
    lines = src.splitlines()
    start = next(k for k, ln in enumerate(lines) if ln.strip().startswith("for i in"))
    indent = len(lines[start]) - len(lines[start].lstrip())
    end = next(k for k in range(start + 1, len(lines))
               if len(lines[k]) - len(lines[k].lstrip()) <= indent)
    return ([ln.strip() for ln in lines[start + 1:end]],
            [ln.strip() for ln in lines[end:]])


def test_the_adjoint_of_a_hoisted_value_runs_once_after_the_loop():
    src = source_of(griewank, 1.5, 0.5, wrt=(0, 1))
    inside, after = loop_body_lines(src)
    # e = math.exp(x2) is computed once before the loop; its adjoint sums the steps'
    # shares and is applied once after it, as a hand-written gradient does
    assert "e_bar = 0.0" in src.splitlines()[[ln.strip() for ln in src.splitlines()].index(
        "e = math.exp(x2)") + 1].strip()
    assert "x2_bar += e_bar * e" in after and "x2_bar += e_bar * e" not in inside, src
    assert "e_bar = e_bar - v6_bar" in inside, src
    assert_grad_matches(griewank, 1.5, 0.5, wrt=(0, 1))
    assert_grad_matches(griewank, -0.3, 1.7, wrt=(0, 1))
    same_as_value_and_grad(griewank, 1.5, 0.5, wrt=(0, 1))


def hoisted_chain(x1, x2, n):
    loss = 0.0
    for i in range(n):
        e = math.exp(x2)
        f = e * x1
        a = math.sin(x1 * i)
        loss = loss + f * a + e * a * a - math.cos(f) * i
    return loss


def test_a_chain_of_hoisted_values_is_differentiated_after_the_loop_in_order():
    src = source_of(hoisted_chain, 0.7, 0.3, 5, wrt=(0, 1))
    inside, after = loop_body_lines(src)
    assert after.index("e_bar = e_bar + f_bar * x1") < after.index("x2_bar += e_bar * e"), src
    assert not any("f_bar * x1" in ln or "e_bar * e" in ln for ln in inside), src
    for n in (1, 5):
        assert_grad_matches(hoisted_chain, 0.7, 0.3, n, wrt=(0, 1))
        same_as_value_and_grad(hoisted_chain, 0.7, 0.3, n, wrt=(0, 1))
    # no step runs: neither the hoisted values nor their adjoints are computed
    assert s2sgrad.grad(hoisted_chain, wrt=(0, 1))(0.7, 1000.0, 0) == (0.0, 0.0)


def rows_through_fixed_transform(w, X, c):
    loss = 0.0
    for i in range(X.shape[0]):
        s = np.tanh(c * w)
        loss = loss + np.sum(s * X[i]) ** 2
    return loss


def product_of_hoisted(x1, x2, n):
    loss = 0.0
    for i in range(n):
        loss += math.exp(x2) * math.exp(x1) * math.sin(i * x1)
    return loss


def test_array_adjoints_of_hoisted_values_are_summed_over_the_rows_first():
    R = np.random.default_rng(7)
    w, X = R.normal(size=3), R.normal(size=(6, 3))
    src = source_of(rows_through_fixed_transform, w, X, 0.7, wrt=(0, 2))
    inside, after = loop_body_lines(src)
    # tanh's adjoint, and c's and w's sums, once for all rows
    assert any("(1.0 - s * s)" in ln for ln in after), src
    assert not any("(1.0 - s * s)" in ln or "w_bar" in ln for ln in inside), src
    assert_grad_matches(rows_through_fixed_transform, w, X, 0.7, wrt=(0, 2))
    assert_grad_matches(rows_through_fixed_transform, w, X[:1], -0.4, wrt=(0, 2))
    assert_grad_matches(product_of_hoisted, 0.4, 0.2, 6, wrt=(0, 1))
    same_as_value_and_grad(product_of_hoisted, 0.4, 0.2, 6, wrt=(0, 1))


def hoisted_read_by_a_step(x1, x2, n):
    loss = 0.0
    for i in range(n):
        e = x2 * x2
        loss = loss + math.sin(e * i) * x1
    return loss


def test_hoisted_adjoints_stay_right_where_they_cannot_move():
    for n in (0, 1, 4):
        assert_grad_matches(hoisted_read_by_a_step, 0.8, 0.6, n, wrt=(0, 1))


# ------------------------------------------------ fused loops drawn at random

FIXED = ["math.exp(x2)", "x1 * x2", "math.sin(x2) + x1", "math.tanh(x1 * x2)", "x2 * x2"]
DERIVED = ["{} * x1", "math.cos({})", "{} / (1.0 + x2 * x2)", "({}) ** 2"]
STEP = ["math.sin(x1 * i)", "(x2 + 0.1 * i) / (1.0 + x1 * x1)", "math.cos(0.3 * i) * x2",
        "x1 * i"]
COMBINE = ["{f} * {s}", "{f} * {s} + {g}", "math.sin({f} + {s})", "{g} * {s} - {f}"]


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(st.sampled_from(FIXED), st.sampled_from(DERIVED), st.sampled_from(STEP),
       st.sampled_from(COMBINE), st.integers(0, 4), st.booleans())
def test_random_fused_loops_match_finite_differences(tmp_path_factory, fixed, derived,
                                                     step, combine, n, augmented):
    update = "loss += {}" if augmented else "loss = loss + {}"
    source = "\n".join([
        "import math", "", "",
        "def f(x1, x2, n):",
        "    loss = 0.0",
        "    for i in range(n):",
        "        e = " + fixed,
        "        g = " + derived.format("e"),
        "        s = " + step,
        "        " + update.format(combine.format(f="e", g="g", s="s")),
        "    return loss", ""])
    path = tmp_path_factory.mktemp("fused") / "drawn.py"
    path.write_text(source)
    mod = load_module(str(path), "drawn_fused")
    assert_grad_matches(mod.f, 0.6, 0.4, n, wrt=(0, 1))
    got = s2sgrad.grad(mod.f, wrt=(0, 1))(0.6, 0.4, n)
    _, other = s2sgrad.value_and_grad(mod.f, wrt=(0, 1))(0.6, 0.4, n)
    np.testing.assert_allclose(got, other, rtol=1e-13, atol=1e-15)
