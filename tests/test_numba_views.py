"""The Numba back end's sums of products (`sum_product`: four running sums for two
float64 arrays of one shape) and additions into views of an adjoint
(`rewrite.views_added`: `x_bar[:, j:k] += e` written `added_into(x_bar[:, j:k], e)`,
one loop where e has the view's shape, the in-place operator otherwise): the rewrite
on source text, the helpers called from compiled code against NumPy over the cases
each treats apart (strided views, shapes that broadcast, memory shared with the view,
float32, NaN), and gradients compiled with `strict=True` against the NumPy back end
(1e-12) and centred finite differences. Skipped without Numba.
"""
import ast

import numpy as np
import pytest

from s2sgrad.backend import numba as numba_backend
from s2sgrad.backend.numba.rewrite import views_added

from support.numba_cache import numba_cache_dir  # noqa: F401
from support.numba_check import check

pytestmark = pytest.mark.skipif(not numba_backend.available(), reason="Numba not installed")

RNG = np.random.default_rng(29)


# ------------------------------------------------------ the rewrite on source text

SOURCE = """\
def grad_f(x, idx, j, k, g, out_bar=1.0):
    x_bar = np.zeros_like(x)
    x_bar[:, j:k] += g
    x_bar[1:] -= g
    x_bar[j] += g
    x_bar[:, idx] += g
    x_bar[None, :] += g
    y_bar[:, j:k] += g
    x_bar += g
    return x_bar
"""
SHAPES = {"grad_f": {"x": ("d0", "d1"), "x_bar": ("d0", "d1"), "j": (), "k": (),
                     "g": ("d0", "d2"), "idx": ("d3",), "out_bar": ()}}


def test_views_of_known_arrays_are_added_into():
    out = views_added(SOURCE, SHAPES)
    ast.parse(out)
    assert "    added_into(x_bar[:, j:k], g)\n" in out
    assert "    subtracted_into(x_bar[1:], g)\n" in out
    # an element (no slice), an index array (a copy), a new axis, an array of
    # unknown shape, the whole array: as they were
    for line in ("x_bar[j] += g", "x_bar[:, idx] += g", "x_bar[None, :] += g",
                 "y_bar[:, j:k] += g", "    x_bar += g"):
        assert line in out


def test_without_shapes_nothing_changes():
    assert views_added(SOURCE, {}) == SOURCE


# ------------------------------------------------------ the helpers, compiled

def _compiled():
    import numba
    from s2sgrad.backend.numba.helpers import added_into, subtracted_into, sum_product

    @numba.njit
    def add(x, lo, hi, e):
        added_into(x[:, lo:hi], e)

    @numba.njit
    def sub(x, lo, hi, e):
        subtracted_into(x[:, lo:hi], e)

    @numba.njit
    def add_rows(x, e):
        added_into(x[1:], e)

    @numba.njit
    def dot(a, b):
        return sum_product(a, b)
    return add, sub, add_rows, dot


def test_added_into_a_vector_view():
    import numba
    from s2sgrad.backend.numba.helpers import added_into, subtracted_into

    @numba.njit
    def both(x, e):
        added_into(x[1:], e)
        subtracted_into(x[:-1], e)
    x, e = RNG.standard_normal(7), RNG.standard_normal(6)
    got, want = x.copy(), x.copy()
    both(got, e)
    want[1:] += e
    want[:-1] -= e
    np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError):
        both(x.copy(), RNG.standard_normal(5))


@pytest.mark.parametrize("eshape", [(4, 5), (1, 5), (5,), (4, 1), ()])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_added_into_a_view_adds_as_the_operator_does(eshape, dtype):
    add, sub, _, _ = _compiled()
    x = RNG.standard_normal((4, 9)).astype(dtype)
    e = RNG.standard_normal(eshape) if eshape else 0.75
    for helper, op in ((add, np.add), (sub, np.subtract)):
        got, want = x.copy(), x.copy()
        helper(got, 2, 7, e)
        view = want[:, 2:7]
        op(view, e, out=view, casting="same_kind")
        np.testing.assert_array_equal(got, want)


def test_added_into_a_view_refuses_what_numpy_refuses():
    add, _, _, _ = _compiled()
    with pytest.raises(ValueError):
        add(np.zeros((4, 9)), 2, 7, RNG.standard_normal((4, 6)))


def test_added_into_a_view_of_its_own_array():
    _, _, add_rows, _ = _compiled()
    x = RNG.standard_normal((6, 3))
    got, want = x.copy(), x.copy()
    add_rows(got, got[:-1])            # reads rows the addition writes: as NumPy does
    want[1:] += want[:-1].copy()
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("a, b", [
    (RNG.standard_normal(11), RNG.standard_normal(11)),
    (RNG.standard_normal((5, 13))[:, 2:9], RNG.standard_normal((5, 7))),   # strided
    (RNG.standard_normal((6, 4)).T, RNG.standard_normal((4, 6))),
    (RNG.standard_normal((3, 1)), RNG.standard_normal((3, 4))),           # broadcasts
    (RNG.standard_normal(3).astype(np.float32), RNG.standard_normal(3).astype(np.float32)),
    (np.array([1.0, np.nan, 2.0]), np.ones(3)),
    (np.zeros((0, 3)), np.zeros((0, 3))),
])
def test_sum_product_is_the_sum_of_the_product(a, b):
    _, _, _, dot = _compiled()
    got, want = dot(a, b), np.sum(a * b)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    assert np.isnan(got) == np.isnan(want)


# ------------------------------------------------------ gradients

def windows(w, x, target):
    """A convolution's windows: slices' adjoints added into views of x_bar."""
    m = x.shape[1] - w.shape[0] + 1
    y = w[0] * x[:, 0:m]
    for j in range(1, w.shape[0]):
        y = y + w[j] * x[:, j:j + m]
    return np.sum(np.sin(y) * target)


def halves(x, c):
    """Two halves of one vector, scaled and subtracted."""
    n = c.shape[0]
    return np.sum((x[:n] * c - x[n:2 * n]) ** 2) + np.sum(x * x)


def test_gradient_of_windows(numba_cache_dir):
    args = (RNG.standard_normal(4), RNG.standard_normal((3, 12)), RNG.standard_normal((3, 9)))
    check(windows, args, wrt=(0, 1))


def test_gradient_of_halves(numba_cache_dir):
    check(halves, (RNG.standard_normal(10), RNG.standard_normal(5)), wrt=(0, 1))


# ------------------------------------------------------ tanh of a number in a loop

def _elementwise(number_version):
    """A Numba-compiled loop applying `number_version` to each element of a vector."""
    import numba

    @numba.njit
    def each(x):
        out = np.empty_like(x)
        for i in range(x.shape[0]):
            out[i] = number_version(x[i])
        return out
    return each


def test_tanh_number_is_numpys_tanh_within_two_ulp():
    from s2sgrad.backend.numba.helpers import tanh_number
    each = _elementwise(tanh_number)
    x = np.concatenate([np.linspace(-25, 25, 20001), np.geomspace(1e-300, 800, 5000),
                        -np.geomspace(1e-300, 800, 5000),
                        [0.0, -0.0, np.inf, -np.inf, np.nan, 0.625, -0.625,
                         np.nextafter(0.625, 0), 5e-324, 1e308, -1e308]])
    got, want = each(x), np.tanh(x)
    assert np.array_equal(np.isnan(got), np.isnan(want))
    assert np.array_equal(np.signbit(got), np.signbit(want))
    ok = ~np.isnan(want)
    np.testing.assert_allclose(got[ok], want[ok], rtol=4.5e-16, atol=0)
    x32 = np.clip(x, -1e30, 1e30).astype(np.float32)
    got32 = each(x32)
    assert got32.dtype == np.float32
    np.testing.assert_allclose(got32[ok], np.tanh(x32)[ok], rtol=2e-7, atol=0)


def test_exp_number_is_numpys_exp_within_one_ulp():
    from s2sgrad.backend.numba.helpers import exp_number
    each = _elementwise(exp_number)
    x = np.concatenate([RNG.uniform(-750, 715, 200000), RNG.standard_normal(20000),
                        1e-12 * RNG.standard_normal(2000), np.linspace(-746, -700, 5001),
                        [0.0, -0.0, np.inf, -np.inf, np.nan, 709.78, 709.79,
                         709.782712893384, np.nextafter(709.782712893384, 800), -745.13,
                         -745.14, -708.4, 5e-324, -5e-324, 1e-300, 1e308, -1e308]])
    got = each(x)
    with np.errstate(over="ignore", under="ignore"):
        want = np.exp(x)
    assert np.array_equal(np.isnan(got), np.isnan(want))
    assert np.array_equal(got[~np.isfinite(want)], want[~np.isfinite(want)], equal_nan=True)
    assert np.array_equal(got[want == 0], want[want == 0])
    normal = np.isfinite(want) & (want >= np.finfo(float).tiny)
    ulps = np.abs(got[normal] - want[normal]) / np.spacing(want[normal])
    assert ulps.max() <= 1.0
    sub = (want > 0) & (want < np.finfo(float).tiny)          # subnormal results
    assert np.all(np.abs(got[sub] - want[sub]) <= 5e-324)
    x32 = np.clip(x, -200, 80).astype(np.float32)
    got32 = each(x32)
    assert got32.dtype == np.float32
    ok = ~np.isnan(x32)
    # NumPy's float32 exp is itself within about 1.5 float32 ulp; this is the float64
    # result rounded once
    np.testing.assert_allclose(got32[ok], np.exp(x32)[ok], rtol=2.4e-7, atol=1e-45)
    np.testing.assert_array_equal(got32, np.exp(x32.astype(np.float64)).astype(np.float32))


def softmax_loss(W, x, y):
    z = x @ W
    e = np.exp(z - 0.5)
    p = e / np.sum(e, axis=1, keepdims=True)
    return -np.sum(y * np.log(p)) + np.sum(np.exp(-W * W))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gradient_through_exp_loops(dtype, numba_cache_dir):
    W = (RNG.standard_normal((4, 3))).astype(dtype)
    x = RNG.standard_normal((6, 4)).astype(dtype)
    y = np.eye(3)[RNG.integers(0, 3, 6)].astype(dtype)
    if dtype == np.float64:
        g = check(softmax_loss, (W, x, y), wrt=(0, 1))
    else:
        import s2sgrad
        g = s2sgrad.grad(softmax_loss, wrt=(0, 1), backend="numba", strict=True)
        got, want = g(W, x, y), s2sgrad.grad(softmax_loss, wrt=(0, 1))(W, x, y)
        for a, b in zip(got, want):
            assert a.dtype == b.dtype == np.float32
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    from support.numba_check import compiled_entry
    assert "exp_number(" in open(compiled_entry(g).path).read()


def tanh_layers(W, x):
    h = np.tanh(x @ W + 0.5)
    return np.sum(np.tanh(h * 2.0 - x) ** 2)


@pytest.mark.parametrize("rows", [6, 300])          # (below and above NumPy's loops)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gradient_through_tanh_loops(dtype, rows, numba_cache_dir):
    W = (RNG.standard_normal((4, 4)) * 2).astype(dtype)
    x = RNG.standard_normal((rows, 4)).astype(dtype)
    if dtype == np.float64:
        g = check(tanh_layers, (W, x), wrt=(0, 1), atol_fd=1e-8 * rows)
    else:
        import s2sgrad
        g = s2sgrad.grad(tanh_layers, wrt=(0, 1), backend="numba", strict=True)
        got, want = g(W, x), s2sgrad.grad(tanh_layers, wrt=(0, 1))(W, x)
        for a, b in zip(got, want):
            assert a.dtype == b.dtype == np.float32
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    from support.numba_check import compiled_entry
    text = open(compiled_entry(g).path).read()
    assert 'ufunc_in_place(h, "tanh")' in text and 'ufunc_in_place(v5, "tanh")' in text


def tanh_alone(Wx, Wh, xs):
    """A recurrent step whose tanh stands alone between the tape's append and the next
    step (`ufunc_of`: NumPy's loop or one of tanh_number)."""
    h = np.zeros((xs.shape[1], Wh.shape[0]))
    for t in range(xs.shape[0]):
        h = np.tanh(xs[t] @ Wx + h @ Wh)
    return np.sum(h * h)


def test_a_tanh_alone_is_a_loop(numba_cache_dir):
    args = (RNG.standard_normal((3, 4)), 0.5 * RNG.standard_normal((4, 4)),
            RNG.standard_normal((5, 2, 3)))
    g = check(tanh_alone, args, wrt=(0, 1))
    from support.numba_check import compiled_entry
    text = open(compiled_entry(g).path).read()
    code = [ln.split("#")[0] for ln in text.split("def grad_tanh_alone")[1].splitlines()]
    assert not any("np.tanh(" in ln for ln in code)
    assert any('h = ufunc_of(' in ln and '"tanh")' in ln for ln in code)


@pytest.mark.parametrize("name", sorted(__import__(
    "s2sgrad.backend.numba.rewrite", fromlist=["NUMPY_LOOPS"]).NUMPY_LOOPS))
def test_numpy_loops_called_from_compiled_code(name):
    """`ufunc_of` and `ufunc_in_place` against NumPy's function, below and above the
    size from which they call NumPy's loop, for float64, float32, integers and a
    strided view."""
    import numba
    from s2sgrad.backend.numba import helpers
    from s2sgrad.backend.numba.rewrite import NUMPY_LOOPS
    assert set(helpers.NUMPY_LOOP_SIZES) <= NUMPY_LOOPS
    of = numba.njit(lambda x: helpers.ufunc_of(x, name))
    in_place = numba.njit(lambda a: helpers.ufunc_in_place(a, name))
    low, high = {"arcsin": (-0.9, 0.9), "arccos": (-0.9, 0.9), "log": (0.1, 5),
                 "log2": (0.1, 5), "log10": (0.1, 5), "log1p": (-0.5, 5)}.get(name, (-3, 3))
    fn = getattr(np, name)
    for n in (7, 5000):
        x = RNG.uniform(low, high, (n, 3))
        for arg in (x, x[::2, 1:], x.astype(np.float32)):
            got = of(arg)
            assert got.dtype == fn(arg).dtype and got.shape == arg.shape
            rtol = 1e-6 if arg.dtype == np.float32 else 4e-15
            np.testing.assert_allclose(got, fn(arg), rtol=rtol, atol=0)
            a, want = np.array(arg, order="C"), fn(arg)
            in_place(a)
            np.testing.assert_allclose(a, want, rtol=rtol, atol=0)
        ints = np.ones(n, dtype=np.int64)     # (in every domain)
        np.testing.assert_allclose(of(ints), fn(ints), rtol=4e-15, atol=0)
