"""The Numba versions of the helpers of `s2sgrad/backend/numba/helpers_more.py`: the
adjoints of reshape, where/clip/maximum/abs (`choose_grad`), swapaxes, take, repeat,
trace, prod, norm and det.

Each helper compiled alone is compared with its NumPy helper on several shapes,
dtypes and layouts (shape, dtype and numbers to 1e-12); each gradient of a small
ordinary function is compiled with `strict=True` (no fallback) and compared with the
NumPy back end and with finite differences (`support.numba_check`); cases the Numba
versions leave to NumPy still fall back with the warning that names the helper.
Skipped without Numba.
"""
import textwrap
import warnings

import numpy as np
import pytest

import s2sgrad
from s2sgrad import runtime
from s2sgrad.backend import numba as numba_backend
from s2sgrad.runtime import linalg

from support.numba_cache import numba_cache_dir  # noqa: F401
from support.numba_check import check, compiled_entry, run_written
from support.numeric import numerical_grad

pytestmark = pytest.mark.skipif(not numba_backend.available(), reason="Numba not installed")

RNG = np.random.default_rng(29)


@pytest.fixture(scope="module")
def nb():
    import numba
    from s2sgrad.backend.numba import helpers_more  # noqa: F401
    return numba


def same(got, want, rtol=1e-12):
    """The NumPy helper's array: shape, dtype and numbers (NaN where it has NaN)."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape and got.dtype == want.dtype, (got.dtype, want.dtype)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=0.0)


def layouts(shape, dtype=np.float64):
    """An array of `shape` in C order, as a transposed view and as a strided view."""
    a = RNG.standard_normal(shape).astype(dtype)
    t = np.ascontiguousarray(a.T).T
    s = RNG.standard_normal(shape[:-1] + (2 * shape[-1],)).astype(dtype)[..., ::2]
    return a, t, s


# ------------------------------------------------------ the helpers alone

def test_unreshape(nb):
    f = nb.njit(lambda g, x: runtime.unreshape(g, x))
    for dtype in (np.float64, np.float32):
        for shape, gshape in (((3, 4), (12,)), ((2, 3, 4), (6, 4)), ((5,), (1, 5))):
            x = np.zeros(shape)
            for g in layouts(gshape, dtype):
                same(f(g, x), runtime.unreshape(g, x))
    assert f(np.full((1, 1), 2.5), 1.0) == 2.5             # (a number's adjoint)
    assert f(0.0, 1.0) == 0.0


def test_choose_grad(nb):
    f = nb.njit(lambda g, m: runtime.choose_grad(g, m))
    for dtype in (np.float64, np.float32):
        for g in layouts((4, 5), dtype):
            g = g.copy()
            g[0, 0] = np.nan
            m = RNG.standard_normal((4, 5)) > 0
            m[0, 0] = False                               # (NaN not chosen: 0)
            for mask in (m, m[0], m[:, :1], m.T.copy().T):
                same(f(g, mask), runtime.choose_grad(g, mask))
            same(f(g, True), runtime.choose_grad(g, True))
            same(f(g, False), runtime.choose_grad(g, False))
    m = RNG.standard_normal((3, 2)) > 0
    same(f(2.5, m), runtime.choose_grad(2.5, m))
    same(f(np.ones((1, 2)), m), runtime.choose_grad(np.ones((1, 2)), m))
    assert f(2.5, False) == 0.0 and f(2.5, True) == 2.5


def test_swapaxes_grad(nb):
    f = nb.njit(lambda g, a, b: runtime.swapaxes_grad(g, a, b))
    for g in layouts((2, 3, 4), np.float32):
        for a, b in ((0, 1), (0, 2), (-1, 1), (2, 2)):
            same(f(g, a, b), runtime.swapaxes_grad(g, a, b))


def test_take_grad(nb):
    flat = nb.njit(lambda g, x, i: linalg.take_grad(g, x, i, None, "raise"))
    wrap = nb.njit(lambda g, x, i: linalg.take_grad(g, x, i, 1, "wrap"))
    clip = nb.njit(lambda g, x: linalg.take_grad(g, x, [0, 3, 3, -2], -1, "clip"))
    x = np.zeros((3, 4))
    idx = np.array([[0, 11], [11, -1]])                   # (repeated indices accumulate)
    for dtype in (np.float64, np.float32):
        for g in layouts((2, 2), dtype):
            same(flat(g, x, idx), linalg.take_grad(g, x, idx))
        for g in layouts((3, 2, 2), dtype):
            same(wrap(g, x, idx + 5), linalg.take_grad(g, x, idx + 5, 1, "wrap"))
        for g in layouts((3, 4), dtype):
            same(clip(g, x), linalg.take_grad(g, x, [0, 3, 3, -2], -1, "clip"))
    same(flat(2.0, x, 7), linalg.take_grad(2.0, x, 7))
    with pytest.raises(IndexError):
        flat(np.ones(1), x, np.array([12]))


def test_repeat_grad(nb):
    flat = nb.njit(lambda g, x, r: linalg.repeat_grad(g, x, r))
    along = nb.njit(lambda g, x, r, a: linalg.repeat_grad(g, x, r, a))
    x = np.zeros((3, 4))
    for dtype in (np.float64, np.float32):
        for g in layouts((4, 6), dtype):
            same(flat(g, x, 2), linalg.repeat_grad(g, x, 2))
        r = np.array([1, 0, 3, 2])
        for g in layouts((3, 6), dtype):
            same(along(g, x, r, 1), linalg.repeat_grad(g, x, r, 1))
            x3 = np.zeros((3, 3))
            same(along(g, x3, 2, -1), linalg.repeat_grad(g, x3, 2, -1))
        for g in layouts((9, 4), dtype):
            same(along(g, x, 3, 0), linalg.repeat_grad(g, x, 3, 0))


def test_trace_grad(nb):
    f = nb.njit(lambda g, a, o, a1, a2: linalg.trace_grad(g, a, o, a1, a2))
    for dtype in (np.float64, np.float32):
        for a in layouts((3, 5), dtype):
            for o, a1, a2 in ((0, 0, 1), (2, 0, 1), (-1, 0, 1), (1, 1, 0), (-2, -1, 0),
                              (9, 0, 1)):
                same(f(1.5, a, o, a1, a2), linalg.trace_grad(1.5, a, o, a1, a2))


def test_prod_grad(nb):
    f = nb.njit(lambda g, x: runtime.prod_grad(g, x, None, False))
    for dtype in (np.float64, np.float32):
        for x in layouts((3, 4), dtype):
            x = x.copy()
            same(f(1.5, x), runtime.prod_grad(1.5, x))
            x[1, 2] = 0.0                                # (exact with a zero)
            same(f(np.float32(0.5), x), runtime.prod_grad(np.float32(0.5), x))
    same(f(2.0, np.arange(1, 6)), runtime.prod_grad(2.0, np.arange(1, 6)))
    same(f(2.0, np.ones(1)), runtime.prod_grad(2.0, np.ones(1)))


def test_norm_grad(nb):
    two = nb.njit(lambda g, y, x: linalg.norm_grad(g, y, x, None, None, False))
    fro = nb.njit(lambda g, y, x: linalg.norm_grad(g, y, x, "fro", None, False))
    vec = nb.njit(lambda g, y, x: linalg.norm_grad(g, y, x, 2, None, False))
    for dtype in (np.float64, np.float32):
        for x in layouts((3, 4), dtype):
            y = np.linalg.norm(x)
            same(two(1.5, y, x), linalg.norm_grad(1.5, y, x))
            same(fro(1.5, y, x), linalg.norm_grad(1.5, y, x, "fro"))
            v = x[1]
            same(vec(0.5, np.linalg.norm(v), v), linalg.norm_grad(0.5, np.linalg.norm(v),
                                                                    v, 2))
        zero = np.zeros(3, dtype)                         # (0 at y = 0)
        same(two(1.0, np.linalg.norm(zero), zero), linalg.norm_grad(1.0, 0.0, zero))


def test_det_grad(nb):
    f = nb.njit(lambda g, y, a: linalg.det_grad(g, y, a))
    for dtype, rtol in ((np.float64, 1e-12), (np.float32, 1e-5)):
        for a in layouts((4, 4), dtype):
            y = np.linalg.det(a)
            # (float32: LAPACK's float32 solve, rounded as float32 is)
            same(f(1.5, y, a), linalg.det_grad(1.5, y, a), rtol)


def test_cases_left_to_numpy_do_not_match(nb):
    """Cases the Numba versions do not give NumPy's numbers for are not compiled:
    sort (no version), norms of other orders, of an order known only when running, and
    along axes, the product along an axis."""
    import numba
    x = RNG.standard_normal((3, 4))
    for fn in (lambda g, x: linalg.sort_grad(g, x, -1, None),
               lambda g, x: linalg.norm_grad(1.0, 2.0, x, 1, None, False),
               lambda g, x: linalg.norm_grad(1.0, 2.0, x[0], x.shape[0] - 1, None, False),
               lambda g, x: linalg.norm_grad(1.0, np.ones(3), x, None, 1, False),
               lambda g, x: runtime.prod_grad(g, x, 0, False)):
        with pytest.raises(numba.core.errors.TypingError):
            nb.njit(fn)(x, x)


# ------------------------------------------------------ gradients end to end

def reshaped(x):
    return np.sum(np.sin(np.reshape(x, (2, -1))) ** 2) + np.sum(np.ravel(x) * x.ravel())


def where_leaky(x):
    return np.sum(np.where(x > 0, x, 0.1 * x) ** 2)


def clipped(x):
    return np.sum(np.clip(x, -0.5, 0.5) * x)


def maximum_and_abs(x, y):
    return np.sum(np.maximum(x, y) ** 2 + np.abs(x) * y)


def swapped(x):
    return np.sum(np.sin(np.swapaxes(x, 0, 1)) * np.arange(6.0).reshape(3, 2))


def taken(x):
    return np.sum(np.take(x, np.array([0, 2, 2, 5])) ** 2) + \
        np.sum(np.take(x, np.array([1, 1]), axis=1) ** 3)


def repeated(x):
    return np.sum(np.repeat(x, 3) ** 2 * np.arange(x.size * 3))


def traced(x):
    return np.trace(x @ x) + np.trace(np.sin(x), 1)


def product(x):
    return np.prod(x) + np.prod(np.cos(x))


def normed(x):
    return np.linalg.norm(x) + np.linalg.norm(np.sin(x)) + np.linalg.norm(x[0], 2)


def determinant(x):
    return np.linalg.det(x) + np.linalg.det(x @ x.T + np.eye(x.shape[0]))


@pytest.mark.parametrize("func, args", [
    (reshaped, ((3, 4),)),
    (where_leaky, ((4, 5),)),
    (clipped, ((4, 5),)),
    (maximum_and_abs, ((4, 5), (4, 5))),
    (swapped, ((2, 3),)),
    (taken, ((3, 4),)),
    (repeated, ((2, 3),)),
    (traced, ((4, 4),)),
    (product, ((2, 3),)),
    (normed, ((3, 4),)),
    (determinant, ((3, 3),)),
], ids=lambda v: getattr(v, "__name__", ""))
def test_gradient_compiles_and_matches(func, args):
    values = tuple(RNG.standard_normal(s) for s in args)
    check(func, values, wrt=tuple(range(len(values))) if len(values) > 1 else 0)


def test_float32_gradient_keeps_its_dtype():
    x = RNG.standard_normal((3, 4)).astype(np.float32)
    for func in (reshaped, where_leaky, normed, product):
        g = s2sgrad.grad(func, backend="numba", strict=True)
        got, want = g(x), s2sgrad.grad(func)(x)
        assert compiled_entry(g).compiled
        assert got.dtype == want.dtype == np.float32
        # (to float32's rounding: NumPy's float32 sin and cos are not libm's, which
        # Numba calls, and a product of twelve of them moves by a few units more)
        np.testing.assert_allclose(got, want, rtol=1e-5)


def sorted_default(x):
    return np.sum(np.sort(x) * np.arange(x.shape[-1]))


def test_sort_falls_back_with_the_helpers_name():
    """np.sort's default kind may order equal elements otherwise than a sort compiled
    by Numba (and Numba's np.sort takes no kind): its adjoint stays NumPy code, and
    says so."""
    x = RNG.standard_normal(5)
    g = s2sgrad.grad(sorted_default, backend="numba")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = g(x)
    np.testing.assert_allclose(got, s2sgrad.grad(sorted_default)(x), rtol=1e-12)
    assert any("sort_grad" in str(w.message) for w in caught)


# ------------------------------------------------------ s2sgrad transform

def test_transform_copies_the_new_helpers(tmp_path):
    src = tmp_path / "model.py"
    src.write_text(textwrap.dedent("""
        import numpy as np

        def leaky(x):
            return np.sum(np.where(x > 0, x, 0.1 * x) ** 2) + np.linalg.norm(x)

        def flat(x):
            return np.sum(np.sin(np.reshape(x, (-1,))) ** 2)
    """))
    from s2sgrad.tools.cli import main
    out = tmp_path / "model_grad.py"
    assert main(["transform", str(src), "--backend", "numba", "-o", str(out)]) == 0
    text = out.read_text()
    assert "@overload(choose_grad)" in text and "@overload(unreshape)" in text
    assert "@overload(det_grad)" not in text          # (helpers the module lacks: left out)
    lines = run_written(tmp_path, "model_grad", """
        x = np.linspace(-1.0, 1.0, 6).reshape(2, 3)
        print(repr(m.grad_leaky(x).tolist()))
        print(repr(m.grad_flat(x).tolist()))
        print(len(m.grad_leaky.compiled.signatures), len(m.grad_flat.compiled.signatures))
    """)
    assert lines[2] == "1 1"
    ns = {}
    exec(compile(src.read_text(), str(src), "exec"), ns)
    x = np.linspace(-1.0, 1.0, 6).reshape(2, 3)
    np.testing.assert_allclose(eval(lines[0]), numerical_grad(ns["leaky"], (x,)), rtol=1e-6)
    np.testing.assert_allclose(eval(lines[1]), numerical_grad(ns["flat"], (x,)), rtol=1e-6)
