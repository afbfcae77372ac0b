"""Slices whose ends move with a loop variable (`x[:, j:j + m]` in `for j in range(k)`,
the windows of a convolution): `ir.shapes` gives them the length m where the sizes
compiled for keep every window inside the array (bounds assumed, checked again for
other sizes), and nothing where a window may run past an end (Python clips it) or start
before 0 (a negative end counts from the end). Their shapes feed the Numba back end's
elementwise loops. Every case is compared with the NumPy back end (1e-12) and with
centred finite differences, the Numba cases compiled with `strict=True`; skipped
without Numba where it is used.
"""
import numpy as np
import pytest

import s2sgrad
from s2sgrad.backend import numba as numba_backend
from s2sgrad.ir.shapes import _Sizes

from support.numba_cache import numba_cache_dir  # noqa: F401
from support.numba_check import check, compiled_entry
from support.numeric import numerical_grad

needs_numba = pytest.mark.skipif(not numba_backend.available(),
                                 reason="Numba not installed")
RNG = np.random.default_rng(23)


def conv(w, x, target):
    """Windows as wide as the output, one per tap: always inside x."""
    m = x.shape[1] - w.shape[0] + 1
    y = w[0] * x[:, 0:m]
    for j in range(1, w.shape[0]):
        y = y + w[j] * x[:, j:j + m]
    return np.sum((np.tanh(y) - target) ** 2)


def windows_of_width(x, c):
    """Windows of c's width, one per row of x: past x's end when x is short."""
    m = c.shape[0]
    y = c * 0.0
    for j in range(x.shape[0]):
        y = y + np.sin(x[j:j + m]) * c
    return np.sum(y * y)


def from_the_end(x, c):
    """Windows with negative ends (counted from the end): m wide, but no window of j."""
    m = c.shape[0]
    y = c * 1.0
    for j in range(1, 3):
        y = y * np.cos(x[-j - m:-j]) + c
    return np.sum(y ** 2)


def shifted_windows(w, x, c):
    """Windows x[j + 1:j + 1 + m], one per tap: inside x while taps + m ≤ len(x); past
    its end (the last one element long, broadcast against c) when m = 2 and there is
    one tap less than x has elements."""
    m = c.shape[0]
    y = c * 0.0
    for j in range(w.shape[0]):
        y = y + w[j] * np.sin(x[j + 1:j + 1 + m]) * c
    return np.sum(y * y)


def shifted_windows_past(w, x, c):
    """`shifted_windows` compiled first for sizes whose last window leaves x (a def of
    its own: the compiled code is kept per function)."""
    m = c.shape[0]
    y = c * 0.0
    for j in range(w.shape[0]):
        y = y + w[j] * np.sin(x[j + 1:j + 1 + m]) * c
    return np.sum(y * y)


def counting_down(w, x, c):
    """A range with a negative step: windows as wide as c, from the last tap down."""
    m = c.shape[0]
    y = c * 0.0
    for j in range(w.shape[0] - 1, -1, -1):
        y = np.tanh(y + w[j] * x[j:j + m])
    return np.sum(y * c)


def every_other(w, x, c):
    """A range with step 2 (its last value below its stop)."""
    m = c.shape[0]
    y = c * 0.0
    for j in range(0, w.shape[0], 2):
        y = y + w[j] * x[j:j + m] * x[j:j + m]
    return np.sum(y * y)


def nested(w, x, c):
    """An inner range starting at the outer variable: windows at i + j."""
    k = w.shape[0]
    m = c.shape[0]
    y = c * 0.0
    for i in range(k):
        for j in range(i, k):
            y = y + w[i] * w[j] * np.sin(x[i + j:i + j + m])
    return np.sum(y * y)


def rebound(w, x, c):
    """The loop variable bound again in the body: its windows are no windows of j."""
    m = c.shape[0]
    y = c * 0.0
    for j in range(w.shape[0]):
        j = 2 * j
        y = y + np.sin(x[j:j + m])
    return np.sum(y * y) + np.sum(w * w)


def count_given(x, c, n):
    """A range of a number the caller gives (no size): nothing known of its windows."""
    m = c.shape[0]
    y = c * 1.0
    for j in range(n):
        y = y * np.cos(x[j:j + m]) + c
    return np.sum(y ** 2)


def _numpy_check(f, args, wrt):
    g = s2sgrad.grad(f, wrt=wrt)
    got = g(*args)
    got = got if isinstance(wrt, tuple) else (got,)
    for i, a in zip(wrt if isinstance(wrt, tuple) else (wrt,), got):
        np.testing.assert_allclose(a, numerical_grad(f, args, i), rtol=1e-6, atol=1e-8)
    return g


def _conv_args(B=3, n=11, K=4):
    return (RNG.standard_normal(K) / 2, RNG.standard_normal((B, n)),
            RNG.standard_normal((B, n - K + 1)))


def _normal(*sizes):
    return tuple(RNG.standard_normal(n) for n in sizes)


#: (function, arguments, do its windows get the width m): windows inside the array at
#: every step, and windows that may leave it or have negative ends
CASES = [
    (counting_down, _normal(4, 10, 5), True),         # 3 + 5 ≤ 10
    (every_other, _normal(5, 10, 6), True),           # (taps - 1) + 6 ≤ 10
    (nested, _normal(3, 10, 6), True),                # 2 + 2 + 6 ≤ 10
    (from_the_end, _normal(9, 4), False),
    (rebound, _normal(3, 12, 6), False),
    (count_given, _normal(9, 4) + (3,), False),
    (windows_of_width, _normal(5, 2), False),         # the last window is 1 long
    (shifted_windows_past, _normal(5, 6, 2), False),  # x[5:7]: 1 long
    (shifted_windows, _normal(3, 6, 2), True),
]
IDS = [f"{f.__name__}-{'inside' if inside else 'unknown'}" for f, _, inside in CASES]


# ---------------------------------------------------------------- the shapes (NumPy)

def test_windows_of_a_convolution_have_the_width_of_the_output():
    g = _numpy_check(conv, _conv_args(), (0, 1))
    src = g.source
    assert "unbroadcast" not in src and "ShapeOf" not in src
    known = g.compiled.trace.known_shapes
    assert known["v12"] == known["target"] == known["y"]
    assert g.compiled.assumptions


def test_other_sizes_of_a_convolution_reuse_the_code():
    g = _numpy_check(conv, _conv_args(3, 11, 4), (0, 1))
    first = g.compiled
    g(*_conv_args(2, 20, 6))
    assert g.compiled is first


@pytest.mark.parametrize("f, args, inside", CASES, ids=IDS)
def test_windows_get_a_width_only_where_they_stay_inside(f, args, inside):
    g = _numpy_check(f, args, (0, 1))
    assert ("unbroadcast" not in g.source) is inside
    known = g.compiled.trace.known_shapes
    # values as wide as c other than c and the sums: the windows and what they give
    width = [n for n, d in known.items() if d == known["c"] and n not in ("c", "y", "y_new")]
    assert bool(width) is inside, width


def test_sizes_that_push_the_windows_past_the_end_get_general_code():
    g = _numpy_check(shifted_windows, _normal(3, 6, 2), (0, 1, 2))
    assumed = g.compiled
    assert assumed.assumptions
    _numpy_check(shifted_windows, _normal(5, 6, 2), (0, 1, 2))
    g(*_normal(5, 6, 2))                      # 5 taps: the last window x[5:7]
    assert g.compiled is not assumed and not g.compiled.assumptions
    g(*_normal(3, 6, 2))
    assert g.compiled is assumed


# ---------------------------------------------------------------- corners

def test_corners_take_every_loop_variable_at_both_ends():
    ctx = _Sizes({"n": 10, "k": 3}, set())
    ctx.loop("i@0", ((0, ()), (-1, (("k", 1),))))                  # i in 0 … k-1
    ctx.loop("j@1", ((0, (("i@0", 1),)), (-1, (("k", 1),))))       # j in i … k-1
    form = (2, (("i@0", 1), ("j@1", 1)))                           # i + j + 2
    got = sorted(ctx.value(c) for c in ctx.corners(form))
    assert min(got) == 2 and max(got) == 2 * (3 - 1) + 2


def test_a_loop_whose_ends_change_between_passes_keeps_none():
    ctx = _Sizes({"n": 10}, set())
    ctx.loop("j@0", ((0, ()), (-1, (("n", 1),))))
    assert not ctx.changed
    ctx.loop("j@0", ((1, ()), (-1, (("n", 1),))))
    assert ctx.changed and ctx.loops["j@0"] is None
    assert ctx.corners((0, (("j@0", 1),))) is None
    # a loop variable is no dimension
    assert ctx.dim((0, (("j@0", 1),)), integer=True) == ("lin", (0, (("j@0", 1),)))
    assert ctx.dim((0, (("j@0", 1),))) is None


# ---------------------------------------------------------------- Numba

@needs_numba
def test_numba_fuses_the_steps_of_a_convolution(numba_cache_dir):
    g = check(conv, _conv_args(), wrt=(0, 1))
    text = open(compiled_entry(g).path).read()
    step = text[text.index("for j in range(1, v9):"):]
    assert "same_shape(" in step[:step.index("saved")]


@needs_numba
@pytest.mark.parametrize("f, args, inside", CASES, ids=IDS)
def test_numba_gradients_of_moving_slices(f, args, inside, numba_cache_dir):
    check(f, args, wrt=(0, 1))


@needs_numba
def test_numba_windows_then_sizes_that_push_them_past_the_end(numba_cache_dir):
    g = s2sgrad.grad(shifted_windows, wrt=(0, 1, 2), backend="numba", strict=True)
    for taps in (3, 5, 3):
        args = _normal(taps, 6, 2)
        got = g(*args)
        want = s2sgrad.grad(shifted_windows, wrt=(0, 1, 2))(*args)
        for i, a, b in zip((0, 1, 2), got, want):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
            np.testing.assert_allclose(a, numerical_grad(shifted_windows, args, i),
                                       rtol=1e-6, atol=1e-8)
