"""Elementwise runs written as loops for Numba (`rewrite.elementwise_loops`): the
rewrite on source text (what it fuses, what it leaves alone), and gradients whose runs
it fuses, compiled with `strict=True` and compared with the NumPy back end (1e-12) and
with centred finite differences: slices of one vector, size-1 axes, broadcasting left
alone, float32, non-contiguous arguments, a zero divisor. Skipped without Numba.
"""
import ast

import numpy as np
import pytest

import s2sgrad
from s2sgrad.backend import numba as numba_backend
from s2sgrad.backend.numba.rewrite import ADDED, arguments_named, elementwise_loops, \
    source_line

from support.numba_cache import numba_cache_dir  # noqa: F401
from support.numba_check import check, compiled_entry

pytestmark = pytest.mark.skipif(not numba_backend.available(), reason="Numba not installed")

RNG = np.random.default_rng(19)


# ------------------------------------------------------ the rewrite on source text

CHAIN = """\
def grad_f(x, y, c, out_bar=1.0):
    a = x * y
    # a comment
    b = np.tanh(a) + c
    s = c * 2.0
    t = b * s / y
    return t, a
"""
D = ("d0", "d1")
SHAPES = {"grad_f": {"x": D, "y": D, "c": (), "a": D, "b": D, "s": (), "t": D,
                     "out_bar": ()}}


def test_a_run_becomes_one_loop_keeping_what_is_read_after_it():
    out = elementwise_loops(CHAIN, SHAPES)
    ast.parse(out)
    assert "for i0 in range(shape[0]):" in out and "for i1 in range(shape[1]):" in out
    assert "shape = same_shape(x, y)" in out
    # a and t are read after the run: arrays; b only inside it: a number per element
    assert "a = np.empty(shape, float_like(x, y))" in out
    assert "t = np.empty(shape, float_like(x, y))" in out
    assert "b = np.empty" not in out
    assert "a[i0, i1] = a_i = x[i0, i1] * y[i0, i1]" in out
    assert "b_i = tanh_number(a_i) + c" in out          # (np.tanh of a number)
    assert "t[i0, i1] = np.divide(b_i * s, y[i0, i1])" in out
    # the number's statement goes before the loop; the comment stays in it
    assert out.index("s = c * 2.0") < out.index("for i0")
    assert "        # a comment" in out


def test_added_lines_map_back_to_the_generated_source():
    out = elementwise_loops(CHAIN, SHAPES)
    lines = out.splitlines()
    k = next(n for n, ln in enumerate(lines, 1) if "a_i = x[i0, i1]" in ln)
    assert sum(ln.endswith(ADDED) for ln in lines[:k]) == 5
    assert source_line(k, out) == k - 5
    assert source_line(1, out) == 1


def _space():
    """The helpers the rewrite writes (their Python versions; Numba's when compiled)."""
    from s2sgrad.backend.numba import helpers
    from s2sgrad.backend.numba.settings import INTRODUCED
    return {"np": np, "axis_sum": helpers.axis_sum,
            **{n: getattr(helpers, n) for n in INTRODUCED}}


def run(source, name, *args):
    """The def `name` of `source` run in Python with NumPy (and the Python versions of
    the helpers the rewrite writes)."""
    space = _space()
    exec(compile(source, "<test>", "exec"), space)
    return space[name](*args)


def numba_run(source, name):
    """The def `name` of `source` compiled by Numba (with the Numba versions of the
    helpers)."""
    import numba
    space = _space()
    exec(compile(source, "<test>", "exec"), space)
    return numba.njit(space[name])


def test_the_loops_compute_what_the_statements_do():
    x, y = RNG.standard_normal((3, 4)), RNG.uniform(0.5, 2.0, (3, 4))
    want = run(CHAIN, "grad_f", x, y, 0.7)
    got = run(elementwise_loops(CHAIN, SHAPES), "grad_f", x, y, 0.7)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-15)


@pytest.mark.parametrize("shapes", [
    {},                                                       # nothing known
    {"grad_f": {**SHAPES["grad_f"], "y": ("d2",)}},           # no common shape
    {"grad_f": {k: v for k, v in SHAPES["grad_f"].items() if k != "b"}},   # b unknown
])
def test_statements_of_unknown_or_broadcast_shapes_stay(shapes):
    out = elementwise_loops(CHAIN, shapes)
    assert "    a = x * y\n" in out
    if not shapes or "b" not in shapes["grad_f"]:
        assert out == CHAIN


def test_operands_that_broadcast_are_read_at_the_loops_indices():
    """A row's maximum (n, 1) is read `y[i0, 0]`, a bias (m,) `y[i1]`, after a check
    that its shape is the one the loop reads it at."""
    for dims, shape, at in ((("d0", 1), (3, 1), "y[i0, 0]"), (("d1",), (4,), "y[i1]"),
                            ((1, "d1"), (1, 4), "y[0, i1]")):
        shapes = {"grad_f": {**SHAPES["grad_f"], "y": dims}}
        out = elementwise_loops(CHAIN, shapes)
        ones = tuple(d == 1 for d in dims)
        assert f"reads_broadcast(y, shape, {ones})" in out and "same_shape(x)" in out
        assert f"a_i = x[i0, i1] * {at}" in out
        x, y = RNG.standard_normal((3, 4)), RNG.uniform(0.5, 2.0, shape)
        for a, b in zip(run(out, "grad_f", x, y, 0.7), run(CHAIN, "grad_f", x, y, 0.7)):
            np.testing.assert_allclose(a, b, rtol=1e-15)
        bad = RNG.uniform(0.5, 2.0, (5,) + shape[1:] if len(shape) > 1 else (5,))
        with pytest.raises(ValueError, match="broadcast"):
            run(out, "grad_f", x, bad, 0.7)
        compiled = numba_run(out, "grad_f")
        for a, b in zip(compiled(x, y, 0.7), run(CHAIN, "grad_f", x, y, 0.7)):
            np.testing.assert_allclose(a, b, rtol=1e-15)
        with pytest.raises(ValueError, match="broadcast"):
            compiled(x, bad, 0.7)


@pytest.mark.parametrize("src", ["def g(x, y):\n    a = x * y + y\n    return a\n",
                                 "def g(x, y):\n    a = x - y\n    return a\n"])
def test_a_loop_none_of_whose_operands_has_its_shape(src):
    """`x - y` of a row and a column (pairwise differences, `X[:, None] - C[None]`): the
    loop's shape is the one they broadcast to (`broadcast_shape`), each read at the
    loop's indices, a loop even for one operation (Numba's broadcasting iterator is at
    its slowest there)."""
    out = elementwise_loops(src, {"g": {"x": (1, "d0"), "y": ("d1", 1),
                                        "a": ("d1", "d0")}})
    assert "shape = broadcast_shape(x, y)" in out and "x[0, i1]" in out and "y[i0, 0]" in out
    x, y = RNG.standard_normal((1, 4)), RNG.standard_normal((3, 1))
    compiled = numba_run(out, "g")
    for got in (run(out, "g", x, y), compiled(x, y)):
        np.testing.assert_allclose(got, run(src, "g", x, y), rtol=1e-15)
        assert got.shape == (3, 4)
    for bad in ((RNG.standard_normal((2, 4)), y), (x, RNG.standard_normal((3, 2)))):
        with pytest.raises(ValueError, match="broadcast"):
            compiled(*bad)


def test_a_name_the_run_reads_before_binding_it_gets_a_new_array():
    """`x = a * a` after a statement that reads x, `y = y * x + y * y`: the loop writes
    a new array (bound to the name after it), never the one it reads."""
    src = ("def g(x, y):\n    a = x * y + x\n    x = a * a\n    b = x - y * y\n"
           "    y = y * x + y * b\n    return a, b, x, y\n")
    shapes = {"g": {n: ("d0",) for n in "xyab"}}
    out = elementwise_loops(src, shapes)
    assert out.count("same_shape(") == 1
    assert "x_new[i] = x_i = a_i * a_i" in out and "    x = x_new  # " in out
    assert "y_new[i] = y[i] * x_i + y[i] * b_i" in out and "    y = y_new  # " in out
    x, y = RNG.standard_normal(5), RNG.standard_normal(5)
    x0, y0 = x.copy(), y.copy()
    for a, b in zip(run(out, "g", x, y), run(src, "g", x, y)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(y, y0)


def test_a_value_a_loop_carries_is_kept():
    """v, read by the run before the run binds it, is the next step's v."""
    src = ("def g(k, x, n):\n    v = 0.0 * x\n    for t in range(n):\n"
           "        w = v - k * x\n        v = w\n        x = x + 0.1 * v\n"
           "    return x, v\n")
    shapes = {"g": {**{a: ("d0",) for a in "kxvw"}, "n": (), "t": ()}}
    out = elementwise_loops(src, shapes)
    assert "v_new[i] = " in out and "        v = v_new  # " in out
    k, x = RNG.standard_normal(4), RNG.standard_normal(4)
    for a, b in zip(run(out, "g", k, x, 5), run(src, "g", k, x, 5)):
        np.testing.assert_array_equal(a, b)


def carried(k, x0, obs):
    x = x0
    v = 0.0 * x0
    loss = 0.0
    for t in range(obs.shape[0]):
        v = v - 0.1 * k * x
        x = x + 0.1 * v
        r = x - obs[t]
        loss = loss + np.sum(r * r)
    return loss


def test_a_gradient_with_values_carried_by_a_loop():
    check(carried, (np.array([1.0, 2.0, 3.0]), RNG.standard_normal(3),
                    RNG.standard_normal((6, 3))), wrt=(0, 1))


def test_a_loop_index_does_not_clobber_a_name_of_the_function():
    src = ("def g(x, y):\n    for i in range(3):\n        a = x * y + x\n"
           "        b = a * a - y\n    return b + i\n")
    shapes = {"g": {n: ("d0",) for n in "xyab"}}
    out = elementwise_loops(src, shapes)
    assert "for k in range(shape[0]):" in out
    x, y = RNG.standard_normal(4), RNG.standard_normal(4)
    np.testing.assert_array_equal(run(out, "g", x, y), run(src, "g", x, y))


# ------------------------------------------------------ gradients

def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def chain(x, y):
    z = np.tanh(x * y) / (1.0 + y * y)
    return np.sum(z * z - 0.5 * x)


def module_text(g):
    with open(compiled_entry(g).path) as fh:
        return fh.read()


@pytest.mark.parametrize("n", [2, 3, 40])
def test_rosenbrock_is_one_loop(n):
    g = check(rosenbrock, (RNG.uniform(-1.5, 1.5, n),))
    assert "for i in range(shape[0]):" in module_text(g)


@pytest.mark.parametrize("shape", [(5, 7), (1, 6), (6, 1), (1, 1), (3, 4, 2)])
def test_chains_over_matrices_and_size_1_axes(shape):
    g = check(chain, (RNG.standard_normal(shape), RNG.standard_normal(shape)), wrt=(0, 1))
    assert "same_shape(" in module_text(g)


def test_broadcast_operands_are_left_to_numpy_semantics():
    check(chain, (RNG.standard_normal((4, 5)), RNG.standard_normal(5)), wrt=(0, 1))
    check(chain, (RNG.standard_normal((4, 1)), RNG.standard_normal((1, 5))), wrt=(0, 1))


def test_non_contiguous_arguments():
    x = RNG.standard_normal((6, 10))[:, ::2]
    y = RNG.standard_normal((5, 6)).T
    check(chain, (x, y), wrt=(0, 1))
    check(rosenbrock, (RNG.uniform(-1.5, 1.5, 30)[::3],))


def test_float32_stays_float32():
    x = RNG.uniform(-1.5, 1.5, 17).astype(np.float32)
    got = s2sgrad.grad(rosenbrock, backend="numba", strict=True)(x)
    want = s2sgrad.grad(rosenbrock)(x)
    assert got.dtype == want.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)
    a, b = (RNG.standard_normal((3, 4)).astype(np.float32) for _ in range(2))
    got = s2sgrad.grad(chain, wrt=(0, 1), backend="numba", strict=True)(a, b)
    want = s2sgrad.grad(chain, wrt=(0, 1))(a, b)
    for u, v in zip(got, want):
        assert u.dtype == v.dtype == np.float32
        np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-6)


def ratio(x, y):
    return np.sum(x / y * x - y)


def test_a_zero_divisor_gives_numpy_s_infinities():
    x, y = RNG.standard_normal(6), RNG.standard_normal(6)
    y[2] = 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        g = s2sgrad.grad(ratio, wrt=(0, 1), backend="numba", strict=True)
        got = g(x, y)
        want = s2sgrad.grad(ratio, wrt=(0, 1))(x, y)
    assert "np.divide(" in module_text(g)
    for u, v in zip(got, want):
        np.testing.assert_allclose(u, v, rtol=1e-12)


def test_code_shapes_of_the_backward_sums():
    """`axis_sum` and `sum_product` (written after the passes that spell helpers out)
    have the shapes the elementwise loops read."""
    import gast
    from s2sgrad.optimize.kinds import code_shapes
    src = ("def g(z, w):\n    a = axis_sum(z, 1, True)\n    b = axis_sum(z, 0)\n"
           "    c = sum_product(z, z)\n    d = axis_sum(z, w)\n    e = axis_sum(z, 2)\n"
           "    return a\n")
    fdef = gast.parse(src).body[0]
    got = code_shapes(fdef, {"z": ("d0", "d1")})
    assert got["a"] == ("d0", 1) and got["b"] == ("d1",) and got["c"] == ()
    assert "d" not in got and "e" not in got


def pairwise_rbf(C, X):
    D2 = np.sum((X[:, None, :] - C[None, :, :]) ** 2, axis=2)
    return np.sum(np.exp(-D2)) + np.mean(np.min(D2, axis=1))


def test_gradient_through_pairwise_differences(numba_cache_dir):
    """k-means' and an RBF kernel's `X[:, None, :] - C[None, :, :]` (a loop over the
    shape the two broadcast to), against the NumPy back end and finite differences."""
    C, X = RNG.standard_normal((3, 2)), RNG.standard_normal((7, 2))
    g = check(pairwise_rbf, (C, X), wrt=(0, 1))
    assert "= broadcast_shape(" in open(compiled_entry(g).path).read()


def test_an_elementwise_argument_of_a_reduction_is_named_and_joins_the_loop():
    """`-axis_sum(P_bar * P / v7, 1, True)` (a softmax's adjoint): its argument becomes
    `v7_bar_arg = ...`, computed in the loop before it, the line mapping kept."""
    src = ("def f(P_bar, P, v7):\n    E_bar = P_bar / v7\n"
           "    v7_bar = -axis_sum(P_bar * P / v7, 1, True)\n    s = np.sum(P * P)\n"
           "    return E_bar, v7_bar, s\n")
    dims = {"P_bar": ("n", "m"), "P": ("n", "m"), "v7": ("n", 1), "E_bar": ("n", "m"),
            "v7_bar": ("n", 1), "s": ()}
    shapes = {"f": dict(dims)}
    out = elementwise_loops(src, shapes)
    assert shapes == {"f": dims}                        # (the caller's shapes unchanged)
    assert "    v7_bar = -axis_sum(v7_bar_arg, 1, True)\n" in out
    assert "v7_bar_arg[i0, i1] = np.divide(P_bar[i0, i1] * P[i0, i1], v7[i0, 0])" + ADDED \
        in out
    assert "s = np.sum(P * P)" in out                   # (one operation, one shape)
    lines = out.splitlines()
    k = next(i for i, ln in enumerate(lines, 1) if ln.startswith("    v7_bar = "))
    assert source_line(k, out) == 3
    P_bar, P, v7 = (RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4)),
                    RNG.uniform(1, 2, (3, 1)))
    want = run(src, "f", P_bar, P, v7)
    for got in (run(out, "f", P_bar, P, v7), numba_run(out, "f")(P_bar, P, v7)):
        for a, b in zip(got, want):
            np.testing.assert_allclose(a, b, rtol=1e-14)


def test_a_reduction_inside_another_is_written_first():
    """`np.sum(g * (x - np.mean(x, axis=-1, keepdims=True)), axis=-1, keepdims=True)`
    (the tangent of np.std over an axis): both calls written, the inner first (the two
    edits of one line used to overlap and leave source that did not parse)."""
    from s2sgrad.backend.numba.rewrite import reductions_over_axes
    src = ("def f(g, x):\n    return np.sum(g * (x - np.mean(x, axis=-1, keepdims=True)),"
           " axis=-1, keepdims=True)\n")
    out = reductions_over_axes(src)
    assert "reduce_sum(g * (x - reduce_mean(x, -1, True)), -1, True)" in out
    g, x = RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4))
    np.testing.assert_allclose(numba_run(out, "f")(g, x), run(src, "f", g, x), rtol=1e-14)


def normalised(x):
    return np.sum(x / np.std(x, axis=-1, keepdims=True))


def test_hvp_through_std_over_an_axis(numba_cache_dir):
    x, v = RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4))
    import warnings
    with warnings.catch_warnings():             # (np.std over an axis: Numba has none,
        warnings.simplefilter("ignore")         # the forward line runs as NumPy code)
        got = s2sgrad.hvp(normalised, backend="numba")(x, v)
    want = s2sgrad.hvp(normalised)(x, v)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    g = s2sgrad.grad(normalised)
    h = 1e-5
    fd = (g(x + h * v) - g(x - h * v)) / (2 * h)
    np.testing.assert_allclose(got, fd, rtol=1e-6, atol=1e-8)


def test_a_named_argument_after_a_name_that_is_not_ascii():
    """ast's columns count UTF-8 bytes: the argument is cut where it is."""
    src = ("def f(ψ, P):\n    t = np.sum(ψ * P - ψ, axis=1)\n    return t\n")
    out = arguments_named(src, {"f": {"ψ": ("n", "m"), "P": ("n", "m"), "t": ("n",)}})
    assert "    t_arg = ψ * P - ψ" + ADDED + "\n    t = np.sum(t_arg, axis=1)\n" in out


# ------------------------------------- sums over a leading axis added up in the loop

BIAS = """\
def grad_f(h, g, b, out_bar=1.0):
    v = g * (1.0 - h * h)
    # grad of: z = u + b
    b_bar = {call}
    return v, b_bar
"""
BIAS_SHAPES = {"grad_f": {"h": D, "g": D, "v": D, "b": ("d1",), "out_bar": ()}}


@pytest.mark.parametrize("call, zeros, into", [
    ("axis_sum(v, 0)", "b_bar = np.zeros((shape[1],), v.dtype)",
     "b_bar[i1] = b_bar[i1] + v[i0, i1]"),
    ("axis_sum(v, -2, True)", "b_bar = np.zeros((1, shape[1]), v.dtype)",
     "b_bar[0, i1] = b_bar[0, i1] + v[i0, i1]"),
    ("np.sum(v, axis=0)", "b_bar = np.zeros((shape[1],), v.dtype)",
     "b_bar[i1] = b_bar[i1] + v[i0, i1]"),
    ("reduce_sum(v, (0,), keepdims=False)", "b_bar = np.zeros((shape[1],), v.dtype)",
     "b_bar[i1] = b_bar[i1] + v[i0, i1]"),
])
def test_a_sum_over_a_leading_axis_is_added_up_in_the_loop(call, zeros, into):
    src = BIAS.format(call=call)
    out = elementwise_loops(src, BIAS_SHAPES)
    assert call not in out
    assert f"    {zeros}{ADDED}\n" in out
    assert out.index(zeros) < out.index("for i0")
    assert f"            {into}\n" in out          # (the last line in the loop)
    assert "            # grad of: z = u + b\n" in out
    # the added-up line stands for the sum's line: lines map back
    lines = out.splitlines()
    assert source_line(next(k for k, ln in enumerate(lines, 1) if into in ln), out) == \
        src.splitlines().index(f"    b_bar = {call}") + 1
    h, g, b = RNG.standard_normal((5, 3)), RNG.standard_normal((5, 3)), np.zeros(3)
    v, b_bar = run(out, "grad_f", h, g, b)
    assert np.array_equal(v, run(src, "grad_f", h, g, b)[0])
    keep = "True" in call
    assert b_bar.shape == (1, 3) if keep else (3,)
    assert np.array_equal(b_bar, np.sum(v, axis=0, keepdims=keep))   # NumPy's order


@pytest.mark.parametrize("call", [
    "axis_sum(v, 1)",              # the last axis: NumPy adds a row pairwise
    "axis_sum(v, -1, True)",
    "axis_sum(v, (0, 1))",         # several axes: NumPy adds one axis, then the next
    "axis_sum(v, k)",              # an axis not known here
    "axis_sum(h, 0)",              # not written by the run
    "axis_sum(v * 2.0, 0)",        # not a name the run wrote
    "np.sum(v, 0, None)",          # np.sum's third parameter is dtype
])
def test_other_sums_stay_after_the_loop(call):
    src = BIAS.format(call=call)
    out = elementwise_loops(src, BIAS_SHAPES)
    assert f"    b_bar = {call}\n" in out and "b_bar = np.zeros" not in out


def test_a_sum_into_a_name_the_run_reads_stays():
    src = BIAS.format(call="axis_sum(v, 0)").replace("g * (1.0 - h * h)",
                                                     "g * (1.0 - h * h) + b_bar")
    shapes = {"grad_f": {**BIAS_SHAPES["grad_f"], "b_bar": ("d1",)}}
    out = elementwise_loops(src, shapes)
    assert "    b_bar = axis_sum(v, 0)\n" in out


def dense_layer(W, b, X, Y):
    h = np.tanh(X @ W + b)
    return np.sum((h - Y) ** 2)


@pytest.mark.parametrize("n", [1, 4, 9])
def test_bias_gradients_of_a_dense_layer(n):
    """The bias's adjoint sums the activation's adjoint over the batch in its loop;
    the gradient is the NumPy back end's to 1e-12 and the finite differences'."""
    args = (RNG.standard_normal((5, 3)), RNG.standard_normal(3),
            RNG.standard_normal((n, 5)), RNG.standard_normal((n, 3)))
    g = check(dense_layer, args, wrt=(0, 1))
    assert "b_bar = np.zeros(" in module_text(g)
