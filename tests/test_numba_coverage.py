"""What the Numba back end compiles beyond plain elementwise code: reductions over axes,
adjoints kept one type across loops, and the Numba versions of the runtime helpers
(transpose, roll, diag, max/min, dot, solve, cholesky, indexing with new axes).

Each function is compiled with `strict=True` (a fallback to NumPy code would fail the
test) and checked twice: against centered finite differences in float64 (an oracle
independent of s2sgrad), and against the NumPy back end to 1e-12 (the two back ends run
the same generated source). Skipped without Numba.
"""
import os
import sys
import textwrap
import warnings

import numpy as np
import pytest

import s2sgrad
from s2sgrad.backend import numba as numba_backend

from support.numba_cache import numba_cache_dir  # noqa: F401
from support.numba_check import check, compiled_entry, run_written
from support.numeric import numerical_grad

pytestmark = pytest.mark.skipif(not numba_backend.available(), reason="Numba not installed")
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


RNG = np.random.default_rng(3)
A = RNG.standard_normal((4, 5))
B3 = RNG.standard_normal((2, 3, 4))


# ------------------------------------------------------ reductions over axes

def softmax_xent(z, y):
    s = z - np.max(z, axis=1, keepdims=True)
    logp = s - np.log(np.sum(np.exp(s), axis=1, keepdims=True))
    return -np.sum(y * logp)


def min_mean_axes(x):
    m = np.min(x, axis=0)                  # ties are not hit by random data
    return np.sum(m * np.mean(x, axis=-1)[:4]) + np.sum(np.mean(x, axis=(0, 1)))


def reductions_3d(x):
    a = np.max(x, axis=(0, 2), keepdims=True)
    b = np.mean(x, axis=1)
    c = np.sum(x * x, axis=2, keepdims=True)
    return np.sum(np.sin(x - a) * c) + np.sum(b * b)


def test_softmax_shift_and_keepdims():
    check(softmax_xent, (A, np.abs(RNG.standard_normal((4, 5)))))


def test_min_and_mean_over_axes():
    check(min_mean_axes, (RNG.standard_normal((5, 4)),))


def test_reductions_of_three_dimensions_and_axis_tuples():
    check(reductions_3d, (B3,))


def test_reduction_helpers_give_numpys_values():
    """The helpers the rewriting writes for np.max/min/mean/sum(axis, keepdims): NumPy's
    values, dtypes and shapes (float32 and integers too), NaN propagated like NumPy."""
    import numba
    from s2sgrad.backend.numba import helpers as h

    @numba.njit
    def all_of(x):
        return (h.reduce_max(x, 1, True), h.reduce_min(x, 0), h.reduce_sum(x, -1, True),
                h.reduce_mean(x, (0, 1)), h.reduce_max(x, (1, 2)))

    for x in (B3, B3.astype(np.float32), np.arange(24).reshape(2, 3, 4) % 5,
              np.where(B3 > 1.0, np.nan, B3)):
        got = all_of(x)
        want = (np.max(x, axis=1, keepdims=True), np.min(x, axis=0),
                np.sum(x, axis=-1, keepdims=True), np.mean(x, axis=(0, 1)),
                np.max(x, axis=(1, 2)))
        for a, b in zip(got, want):
            assert np.asarray(a).dtype == np.asarray(b).dtype and np.shape(a) == np.shape(b)
            np.testing.assert_allclose(a, b, rtol=1e-6 if x.dtype == np.float32 else 1e-13)


def test_rewriting_leaves_other_reductions_alone():
    from s2sgrad.backend.numba.rewrite import reductions_over_axes
    src = textwrap.dedent("""\
        def f(x):
            a = np.max(x, axis=1, keepdims=True)  # σ
            b = np.sum(x, axis=0) + np.min(x, 1) + np.sum(x, axis=(0, -1))
            c = np.max(x) + np.sum(x, axis=None) + np.mean(x, axis=0, dtype=np.float32)
            d = np.sum(x, axis=k) + np.sum(x, k)
            return np.sum(x, 0, True)
        """)
    assert reductions_over_axes(src) == textwrap.dedent("""\
        def f(x):
            a = reduce_max(x, 1, True)  # σ
            b = reduce_sum(x, 0) + reduce_min(x, 1) + reduce_sum(x, (0, -1))
            c = np.max(x) + np.sum(x, axis=None) + np.mean(x, axis=0, dtype=np.float32)
            d = np.sum(x, axis=k) + np.sum(x, k)
            return reduce_sum(x, 0, True)
        """)


# ------------------------------------------------------ adjoints of one type in loops

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


def gates(W, xs):
    h = np.zeros((xs.shape[1], W.shape[1]))
    c = np.zeros((xs.shape[1], W.shape[1]))
    for t in range(xs.shape[0]):
        z = xs[t] @ W
        c = np.tanh(z) * c + z
        h = c * h + np.sin(c)
    return np.sum(h * h)


def shrinking(x):
    for _ in range(3):
        x = x[1:] * np.cos(x[:-1])
    return np.sum(x)


def test_loop_carried_arrays_start_from_array_zeros():
    """`x_bar = 0.0` before a backward loop adding arrays to it: compiled as zeros of
    x's shape (Numba types a variable once)."""
    obs = RNG.standard_normal((6, 3))
    check(carried, (np.array([1.0, 2.0, 3.0]), RNG.standard_normal(3), obs), wrt=(0, 1))


def test_state_built_with_zeros_in_the_loop():
    check(gates, (0.5 * RNG.standard_normal((3, 4)), RNG.standard_normal((5, 2, 3))))


def test_a_value_whose_shape_changes_in_the_loop():
    """Compiled or not, the same numbers (the zero's shape is the value's at that
    point)."""
    x = RNG.standard_normal(7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = s2sgrad.grad(shrinking, backend="numba")(x)
    np.testing.assert_allclose(got, s2sgrad.grad(shrinking)(x), rtol=1e-12)
    np.testing.assert_allclose(got, numerical_grad(shrinking, (x,)), rtol=1e-6, atol=1e-8)


# ------------------------------------------------------ the runtime helpers

def attention(Wq, Wk, X):
    S = (X @ Wq) @ (X @ Wk).T
    P = np.exp(S - np.max(S, axis=1, keepdims=True))
    return np.sum(P / np.sum(P, axis=1, keepdims=True) * X[:, :1])


def transposed(x):
    return np.sum(np.sin(np.transpose(x, (1, 0, 2))) * np.arange(24.0).reshape(3, 2, 4))


def stencil(u, D):
    for _ in range(5):
        u = u + D * (np.roll(u, 1) - 2.0 * u + np.roll(u, -1))
    return np.sum(u * u * np.arange(u.shape[0]))


def diagonal(L, v):
    return np.sum(np.log(np.diag(L) ** 2)) + np.sum(np.diag(v) * L)


def kmeans(C, X):
    D2 = np.sum((X[:, None, :] - C[None, :, :]) ** 2, axis=2)
    return np.mean(np.min(D2, axis=1)) + np.max(C)


def gp(log_ell, D2, y):
    n = y.shape[0]
    K = np.exp(-0.5 * D2 / np.exp(2.0 * log_ell)) + 0.5 * np.eye(n)
    L = np.linalg.cholesky(K)
    alpha = np.linalg.solve(L.T, np.linalg.solve(L, y))
    return 0.5 * np.dot(y, alpha) + np.sum(np.log(np.diag(L)))


def matrix_solve(a, b):
    return np.sum(np.linalg.solve(a, b) ** 2) + np.dot(b[:, 0], a[0])


def test_transpose_of_a_product():
    check(attention, (0.3 * RNG.standard_normal((3, 3)), 0.3 * RNG.standard_normal((3, 3)),
                      RNG.standard_normal((5, 3))), wrt=(0, 1))


def test_transpose_with_axes():
    check(transposed, (RNG.standard_normal((2, 3, 4)),))


def test_roll():
    check(stencil, (RNG.standard_normal(9), 0.2), wrt=(0, 1))


def test_roll_grad_helper_with_an_axis():
    import numba
    from s2sgrad.runtime import roll_grad

    @numba.njit
    def both(g):
        return roll_grad(g, 2, 1), roll_grad(g, -1, 0), roll_grad(g, 5, None)
    g = RNG.standard_normal((3, 4))
    for got, want in zip(both(g), (roll_grad(g, 2, 1), roll_grad(g, -1, 0),
                                   roll_grad(g, 5, None))):
        np.testing.assert_array_equal(got, want)


def test_diag_of_a_matrix_and_of_a_vector():
    L = np.tril(RNG.standard_normal((4, 4))) + 3.0 * np.eye(4)
    check(diagonal, (L, RNG.standard_normal(4)), wrt=(0, 1))


def test_min_and_max_reductions_with_new_axes():
    check(kmeans, (RNG.standard_normal((3, 2)), RNG.standard_normal((10, 2))))


def test_ties_share_the_adjoint():
    def f(x):
        return np.sum(np.max(x, axis=1)) + np.min(x)
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.5]])
    got = s2sgrad.grad(f, backend="numba", strict=True)(x)
    np.testing.assert_allclose(got, s2sgrad.grad(f)(x), rtol=1e-12)
    np.testing.assert_allclose(got, [[0.0, 0.5, 0.5], [0.5, 0.5, 1.0]])


def test_cholesky_solve_and_dot():
    x = RNG.uniform(-2.0, 2.0, (6, 2))
    D2 = np.sum((x[:, None, :] - x[None, :, :]) ** 2, axis=2)
    check(gp, (0.1, D2, RNG.standard_normal(6)), wrt=0)


def test_solve_with_a_matrix_right_hand_side():
    a = RNG.standard_normal((3, 3)) + 3.0 * np.eye(3)
    check(matrix_solve, (a, RNG.standard_normal((3, 2))), wrt=(0, 1))


# ------------------------------------------------------ the benchmark workloads

def _workloads():
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    import workloads
    return workloads


# The workloads that ran as NumPy code before the helpers and rewrites above; the
# others are in test_numba_backend.py's slice or are plain elementwise code.
BEFORE_FALLBACK = ["mlp", "oscillator", "lstm", "attention", "gp", "xent", "diffusion",
                   "gmm", "kmeans"]


@pytest.mark.parametrize("name", BEFORE_FALLBACK)
def test_workload_compiles_with_the_numpy_back_ends_numbers(name):
    W = _workloads()
    w = W.BY_NAME[name]
    args = w.make_data(tiny=True)
    g = s2sgrad.grad(w.loss, wrt=w.wrt_arg, backend="numba", strict=True)
    got = g(*args)
    assert compiled_entry(g).compiled
    want = s2sgrad.grad(w.loss, wrt=w.wrt_arg)(*args)
    got = got if isinstance(got, tuple) else (got,)
    want = want if isinstance(want, tuple) else (want,)
    for i, a, b in zip(w.wrt, got, want):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(a, W.finite_difference(w.loss, args, i), rtol=1e-5,
                                   atol=1e-7)


# ------------------------------------------------------ fallback when Numba itself fails

def test_an_error_of_numba_while_compiling_falls_back(monkeypatch):
    """Numba may fail with an error that is no NumbaError (LLVM refusing the code it
    generated): the function then runs as NumPy code, with the warning; an error the
    compiled code raises while running is the user's and propagates where the NumPy code
    raises it too, else the NumPy code's result is taken, with the warning."""
    from s2sgrad.backend.numba import compile as nc

    def f(x):
        return np.sum(np.cos(x) * x)
    x = np.linspace(0.0, 1.0, 5)
    g = s2sgrad.grad(f, backend="numba")
    g(x)
    entry = compiled_entry(g)

    class Broken:
        overloads = {}

        def typeof_pyval(self, v):
            return entry.dispatcher.typeof_pyval(v)

        def __call__(self, *args):
            raise RuntimeError("Instruction does not dominate all uses!")
    compiled = nc.Compiled(entry.python, Broken(), False, None, entry.path)
    with pytest.warns(nc.NumbaFallbackWarning, match="failed while compiling"):
        got = compiled(x)
    np.testing.assert_allclose(got, np.cos(x) - x * np.sin(x), rtol=1e-12)

    def bad(*args):
        raise ValueError("operands could not be broadcast")
    raising = type("D", (), {"overloads": entry.dispatcher.overloads,
                             "typeof_pyval": entry.dispatcher.typeof_pyval,
                             "__call__": lambda self, *a: bad()})()
    # raised by the NumPy code too: the user's error, propagated
    ran = nc.Compiled(bad, entry.dispatcher, False, None, entry.path)
    ran.dispatcher = raising
    with pytest.raises(ValueError, match="broadcast"):
        ran(x)
    # raised by Numba's code alone (a NumPy function Numba implements for fewer
    # arguments): the NumPy code's result, with the warning
    ran = nc.Compiled(entry.python, entry.dispatcher, False, None, entry.path)
    ran.dispatcher = raising
    monkeypatch.setattr(nc, "_WARNED", set())      # (warned once per function)
    with pytest.warns(nc.NumbaFallbackWarning, match="raised ValueError"):
        got = ran(x)
    np.testing.assert_allclose(got, np.cos(x) - x * np.sin(x), rtol=1e-12)


# ------------------------------------------------------ s2sgrad transform

def test_transform_writes_the_new_helpers(tmp_path):
    src = tmp_path / "model2.py"
    src.write_text(textwrap.dedent("""
        import numpy as np

        def xent(z, y):
            s = z - np.max(z, axis=1, keepdims=True)
            return -np.sum(y * (s - np.log(np.sum(np.exp(s), axis=1, keepdims=True))))

        def carried(k, x0):
            x = x0
            v = 0.0 * x0
            for t in range(4):
                v = v - 0.1 * k * x
                x = x + 0.1 * v
            return np.sum(x * x) + np.sum(np.diag(x * v) * 2.0)
    """))
    from s2sgrad.tools.cli import main
    assert main(["transform", str(src), "--backend", "numba", "-o",
                 str(tmp_path / "model2_grad.py")]) == 0
    lines = run_written(tmp_path, "model2_grad", """
        z = np.linspace(-1.0, 1.0, 6).reshape(2, 3)
        print(repr(m.grad_xent(z, np.abs(z)).tolist()))
        print(repr(m.grad_carried(np.array([1.0, 2.0]), np.array([0.5, -0.3])).tolist()))
        print(len(m.grad_xent.compiled.signatures), len(m.grad_carried.compiled.signatures))
    """)
    assert lines[2] == "1 1"
    ns = {}
    exec(compile(src.read_text(), str(src), "exec"), ns)
    z = np.linspace(-1.0, 1.0, 6).reshape(2, 3)
    np.testing.assert_allclose(eval(lines[0]), numerical_grad(ns["xent"], (z, np.abs(z))),
                               rtol=1e-6)
    k, x0 = np.array([1.0, 2.0]), np.array([0.5, -0.3])
    np.testing.assert_allclose(eval(lines[1]), numerical_grad(ns["carried"], (k, x0), 0),
                               rtol=1e-6)


def test_in_place_operations_check_shapes():
    """Numba's `a += b` reads past b's end when b's shape does not broadcast to a's;
    the rewriting makes it raise, as NumPy does."""
    import numba
    from s2sgrad.backend.numba.helpers import fits
    from s2sgrad.backend.numba.rewrite import in_place_checked
    assert in_place_checked("def f(a, b):\n    a += b * 2.0\n    a[1:] -= b\n") == \
        "def f(a, b):\n    a += fits(b * 2.0, a)\n    a[1:] -= fits(b, a[1:])\n"

    @numba.njit
    def add(a, b):
        a += fits(b, a)
        return a
    np.testing.assert_array_equal(add(np.zeros((2, 3)), np.ones(3)), np.ones((2, 3)))
    assert add(1.0, 2.0) == 3.0
    with pytest.raises(ValueError, match="broadcast"):
        add(np.zeros(5), np.ones(4))


# ------------------------------------------------------ lists of numbers as arguments

def _softplus(z):
    return np.log1p(np.exp(z))


def robust(a, b, xs, ys):
    loss = 0.0
    for i in range(len(xs)):
        r = a * xs[i] + b - ys[i]
        loss = loss + _softplus(r) + _softplus(-r)
    return loss / len(xs)


def extends(a, xs):
    ys = xs + [1.0]            # list concatenation: an array would add instead
    s = 0.0
    for i in range(len(ys)):
        s = s + a * ys[i] * ys[i]
    return s


def test_lists_only_indexed_are_passed_as_arrays():
    """Numba converts a list argument item by item on each call (and writes it back):
    lists the compiled code only reads by len and [i] are given to it as arrays (the
    same values), the others stay lists."""
    xs = [0.5, -1.0, 2.0, 0.25]
    ys = [1.0, 0.0, 3.5, -2]                      # (an int among floats)
    g = check(robust, (1.3, 0.2, xs, ys), wrt=(0, 1))
    assert compiled_entry(g).as_arrays == (2, 3)
    assert xs == [0.5, -1.0, 2.0, 0.25] and ys[3] == -2     # the caller's lists as given
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        h = s2sgrad.grad(extends, backend="numba")
        got = h(0.7, [1.0, 2.0])
    assert compiled_entry(h).as_arrays == ()
    assert got == pytest.approx(s2sgrad.grad(extends)(0.7, [1.0, 2.0]), rel=1e-12)
    assert got == pytest.approx(6.0, rel=1e-12)
