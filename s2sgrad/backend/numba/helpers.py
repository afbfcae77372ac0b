"""The runtime helpers of generated code, for Numba's nopython mode.

The NumPy helpers (`s2sgrad.runtime`) look at the types of their arguments while they
run (`type(x) is np.ndarray`); compiled code knows those types when it is compiled.
Importing this module registers, for each helper named in `COMPILED`, a Numba
`overload`: the implementation for the argument types, picked once at compile time.
Called from Python, the helpers stay the NumPy ones. Generated code calling any other
helper runs as NumPy code (with a warning that names it).

Below the marker line, this file uses only NumPy, math, Numba and the helpers' names:
`s2sgrad transform --backend numba` copies that part into the module it writes, after
the NumPy helpers.
"""
import math

import numpy as np

from ...runtime import (grad_like, unbroadcast, zero_grad, match_shape,  # noqa: F401
                        axis_sum, div_or_zero, is_zero, stop_gradient, check_scalar,
                        sum_product, unreduce,
                        count_reduced, matmul_left, matmul_right, log_or_zero,
                        pow_base_deriv, add_at, add_grads, extremum_grad,
                        transpose_grad, roll_grad, dot_left, dot_right, stored_cast_grad,
                        check_in_place_cast)
from ...runtime.linalg import (diag_grad, solve_grad_a, solve_grad_b,  # noqa: F401
                               solve_grads, solve_triangle)
from ...runtime.decompositions import cholesky_grad  # noqa: F401
from .locator import register as _register_locator

_register_locator()           # (the helpers' compiled code: one cache, locator.py)

# ---- Numba versions of the runtime helpers (copied by `s2sgrad transform`) ----
from numba import types  # noqa: E402
from numba import literal_unroll  # noqa: E402
from numba import objmode  # noqa: E402
from numba.extending import intrinsic, register_jitable  # noqa: E402
from numba.extending import overload as _overload  # noqa: E402
from llvmlite import ir as _llvm  # noqa: E402
from numba.np.unsafe.ndarray import to_fixed_tuple  # noqa: E402
from numba.np.numpy_support import as_dtype  # noqa: E402



def overload(fn, **options):
    """Numba's `overload`, its implementations compiled with `cache=True`: compiled
    once, then loaded by every gradient that calls them (`locator.py`)."""
    return _overload(fn, jit_options={"cache": True}, **options)

def _float_dtype(t):
    """The NumPy dtype of gradients of an array of Numba element type `t`."""
    return as_dtype(t) if isinstance(t, types.Float) else np.dtype(np.float64)


def _is_number(t):
    return isinstance(t, (types.Float, types.Integer, types.Boolean))


@overload(grad_like)
def _grad_like(g, x):
    if isinstance(x, types.Array):
        dtype = _float_dtype(x.dtype)
        if isinstance(g, types.Array) and g.ndim == x.ndim and g.mutable and \
                g.layout in "CF" and as_dtype(g.dtype) == dtype:
            def impl(g, x):             # (as NumPy's grad_like: g itself, not a copy)
                if g.shape == x.shape:
                    return g
                out = np.empty(x.shape, dtype)
                out[...] = g
                return out
            return impl
        if isinstance(g, types.Array) and g.ndim == x.ndim:
            def impl(g, x):
                if g.shape == x.shape:
                    return np.asarray(g).astype(dtype)
                out = np.empty(x.shape, dtype)
                out[...] = g
                return out
            return impl
        if isinstance(g, types.Array):
            def impl(g, x):
                out = np.empty(x.shape, dtype)
                out[...] = g
                return out
            return impl
        if _is_number(g):
            def impl(g, x):
                return np.full(x.shape, g, dtype)
            return impl
    if _is_number(x):
        if _is_number(g):
            def impl(g, x):
                return float(g)
            return impl
        if isinstance(g, types.Array):
            def impl(g, x):
                return float(np.sum(g))
            return impl
    return None


@overload(unbroadcast)
def _unbroadcast(g, x):
    if _is_number(g):
        return lambda g, x: g
    if not isinstance(g, types.Array):
        return None
    if _is_number(x):
        return lambda g, x: np.sum(g)
    if not isinstance(x, types.Array) or x.ndim > g.ndim:
        return None
    extra, nd = g.ndim - x.ndim, x.ndim
    if extra == 0 and g.layout == "C":
        def same(g, x):
            if g.shape == x.shape:
                return g                 # (nothing was broadcast: g itself, as in NumPy)
            return _sum_to(g, x.shape, extra, nd)
        return same
    if extra == 0:
        def impl(g, x):
            if g.shape == x.shape:
                return np.ascontiguousarray(g)
            return _sum_to(g, x.shape, extra, nd)
        return impl
    return lambda g, x: _sum_to(g, x.shape, extra, nd)


def _sum_to(g, shape, extra, nd):
    """g summed to `shape`: over its first `extra` axes and the axes where shape is 1.

    The axes of g are merged into runs, each either kept or summed over (a bias's
    adjoint: one summed run, then one kept; a row sum: kept, then summed); one pass
    over g in memory order adds each run of g's last axes with a tight inner loop.
    Serves every broadcasting binary operation's adjoint."""
    out = np.zeros(shape, g.dtype)
    flat = out.reshape(-1)
    c = np.ascontiguousarray(g).reshape(-1)
    if c.size == 0:
        return out
    sizes = np.empty(max(g.ndim, 1), np.int64)
    summed = np.empty(max(g.ndim, 1), np.bool_)
    m = 0
    for k in range(g.ndim):
        n = g.shape[k]
        if n == 1:
            continue
        r = k < extra or shape[k - extra] == 1
        if m > 0 and summed[m - 1] == r:
            sizes[m - 1] *= n
        else:
            sizes[m] = n
            summed[m] = r
            m += 1
    if m == 0:
        flat[0] = c[0]
        return out
    step = np.zeros(m, np.int64)          # where the next index of each run moves out
    s = 1
    for k in range(m - 1, -1, -1):
        if not summed[k]:
            step[k] = s
            s *= sizes[k]
    inner = sizes[m - 1]
    rows = c.reshape((c.size // inner, inner))
    idx = np.zeros(m, np.int64)
    o = 0
    for i in range(rows.shape[0]):
        row = rows[i]
        if summed[m - 1]:
            acc = row[0]
            for j in range(1, inner):
                acc += row[j]
            flat[o] += acc
        else:
            into = flat[o:o + inner]
            for j in range(inner):
                into[j] += row[j]
        k = m - 2                          # the next index of the outer runs
        while k >= 0:
            idx[k] += 1
            o += step[k]
            if idx[k] < sizes[k]:
                break
            o -= step[k] * sizes[k]
            idx[k] = 0
            k -= 1
    return out


@overload(_sum_to)
def _sum_to_overload(g, shape, extra, nd):
    return _sum_to


@overload(check_in_place_cast)
def _check_in_place_cast(old, value, op):
    # the types say it: NumPy's casting rule ('same_kind') into old's dtype
    if not isinstance(old, types.Array):
        return lambda old, value, op: None
    kind = value.dtype if isinstance(value, types.Array) else value
    symbol = getattr(op, "literal_value", None)
    order = (types.Boolean, types.Integer, types.Float, types.Complex)

    def rank(t):
        return next((k for k, c in enumerate(order) if isinstance(t, c)), len(order))
    bad = rank(kind) > rank(old.dtype) or (symbol == "/" and rank(old.dtype) < 2)
    if not bad:
        return lambda old, value, op: None

    def refuse(old, value, op):
        raise TypeError("Cannot cast the in-place operation's output to the array's dtype "
                        "with casting rule 'same_kind'")
    return refuse


@overload(stored_cast_grad)
def _stored_cast_grad(piece, x):
    if isinstance(x, types.Array) and not isinstance(x.dtype, (types.Float, types.Complex)):
        if isinstance(piece, types.Array):
            return lambda piece, x: np.zeros_like(piece)
        return lambda piece, x: 0.0
    return lambda piece, x: piece


@overload(zero_grad)
def _zero_grad(x):
    if isinstance(x, types.Array):
        dtype = _float_dtype(x.dtype)
        return lambda x: np.zeros(x.shape, dtype)
    if _is_number(x):
        return lambda x: 0.0
    return None


@overload(match_shape)
def _match_shape(t, y):
    if _is_number(y):
        return lambda t, y: t
    if isinstance(y, types.Array):
        if isinstance(t, types.Array) and t.ndim == y.ndim:
            def impl(t, y):
                if t.shape == y.shape:
                    return np.asarray(t).copy()
                out = np.empty(y.shape, t.dtype)
                out[...] = t
                return out
            return impl
        if isinstance(t, types.Array):
            def impl(t, y):
                out = np.empty(y.shape, t.dtype)
                out[...] = t
                return out
            return impl
        if _is_number(t):
            return lambda t, y: np.full(y.shape, t)
    return None


@overload(div_or_zero)
def _div_or_zero(a, b):
    if _is_number(b):
        def impl(a, b):
            if b != 0:
                return a / b
            return 0.0 * a
        return impl
    return lambda a, b: np.where(b != 0, a / np.where(b == 0, 1.0, b), 0.0 * a)


@overload(is_zero)
def _is_zero(g):
    if _is_number(g):
        return lambda g: g == 0.0
    if isinstance(g, types.Array):
        return lambda g: False
    return None


@overload(stop_gradient)
def _stop_gradient(x):
    return lambda x: x


@overload(check_scalar)
def _check_scalar(y):
    if _is_number(y):
        return lambda y: y
    return None


@overload(unreduce, prefer_literal=True)
def _unreduce(g, x, axis=None, keepdims=False):
    if _is_number(x):
        return lambda g, x, axis=None, keepdims=False: g
    if not isinstance(x, types.Array):
        return None
    if _is_number(g):
        return lambda g, x, axis=None, keepdims=False: np.full(x.shape, g)
    if not isinstance(g, types.Array):
        return None
    if _no_axis(axis):
        def impl(g, x, axis=None, keepdims=False):
            out = np.empty(x.shape, g.dtype)
            out[...] = g
            return out
        return impl
    axes, keep = _literal_axes(axis, x.ndim), _literal_value(keepdims)
    if axes is None or keep is None:
        return None              # (an axis known only when running: g cannot be placed)
    nd = x.ndim

    def impl(g, x, axis=None, keepdims=False):
        out = np.empty(x.shape, g.dtype)
        out[...] = np.ascontiguousarray(g).reshape(_kept_shape(x.shape, axes, nd))
        return out
    return impl


@overload(count_reduced, prefer_literal=True)
def _count_reduced(x, axis=None):
    if _is_number(x):
        return lambda x, axis=None: 1
    if not isinstance(x, types.Array):
        return None
    if _no_axis(axis):
        return lambda x, axis=None: x.size
    axes = _literal_axes(axis, x.ndim)
    if axes is None:
        return None

    def impl(x, axis=None):
        n = 1
        for a in axes:
            n *= x.shape[a]
        return n
    return impl


@overload(matmul_left)
def _matmul_left(g, b, a):
    if not all(isinstance(t, types.Array) for t in (g, a, b)) and not (
            _is_number(g) and isinstance(a, types.Array) and a.ndim == 1 and
            isinstance(b, types.Array) and b.ndim == 1):
        return None
    if b.ndim == 1 and a.ndim == 1:
        return lambda g, b, a: g * b
    if b.ndim == 1 and a.ndim == 2:
        return lambda g, b, a: np.outer(g, b)
    if b.ndim == 2 and a.ndim == 1:
        return lambda g, b, a: np.ascontiguousarray(b) @ np.ascontiguousarray(g)
    if b.ndim == 2 and a.ndim == 2:
        return lambda g, b, a: np.ascontiguousarray(g) @ np.ascontiguousarray(b).T
    return None


@overload(matmul_right)
def _matmul_right(g, a, b):
    if not all(isinstance(t, types.Array) for t in (g, a, b)) and not (
            _is_number(g) and isinstance(a, types.Array) and a.ndim == 1 and
            isinstance(b, types.Array) and b.ndim == 1):
        return None
    if a.ndim == 1 and b.ndim == 1:
        return lambda g, a, b: g * a
    if a.ndim == 1 and b.ndim == 2:
        return lambda g, a, b: np.outer(a, g)
    if a.ndim == 2 and b.ndim in (1, 2):
        return lambda g, a, b: np.ascontiguousarray(a).T @ np.ascontiguousarray(g)
    return None


@overload(log_or_zero)
def _log_or_zero(a):
    if _is_number(a):
        return lambda a: math.log(a) if a != 0 else 0.0
    if isinstance(a, types.Array):
        return lambda a: np.log(np.where(a == 0, 1.0, a))
    return None


@overload(pow_base_deriv)
def _pow_base_deriv(a, b):
    if _is_number(b) and (_is_number(a) or isinstance(a, types.Array)):
        def impl(a, b):
            if b == 0:
                return 0.0 * a
            return b * np.power(a, b - 1.0)
        return impl
    return None


def _basic_index(t):
    """Is the Numba type `t` an index of integers, slices and new axes (distinct
    positions)?"""
    if isinstance(t, (types.Integer, types.SliceType)):
        return True
    return isinstance(t, types.BaseTuple) and all(
        isinstance(e, (types.Integer, types.SliceType, types.NoneType)) for e in t.types)


@overload(add_at)
def _add_at(g, x, index, v, in_place=False):
    if not isinstance(x, types.Array) or not _basic_index(index):
        return None
    dtype = _float_dtype(x.dtype)
    if _is_number(g):
        def impl(g, x, index, v, in_place=False):
            out = np.zeros(x.shape, dtype)
            out[index] += fits(v, out[index])
            return out
        return impl
    if isinstance(g, types.Array) and g.ndim == x.ndim:
        def impl(g, x, index, v, in_place=False):
            if in_place and g.shape == x.shape:
                g[index] += fits(v, g[index])
                return np.asarray(g)
            out = np.empty(x.shape, dtype)
            out[...] = g                 # (a checked assignment; `+=` is not checked)
            out[index] += fits(v, out[index])
            return out
        return impl
    return None


@overload(add_grads)
def _add_grads(a, b):
    if (_is_number(a) or isinstance(a, types.Array)) and \
            (_is_number(b) or isinstance(b, types.Array)):
        return lambda a, b: a + b
    return None


def shape_kept(x):
    """What compiled code keeps of a value whose shape the backward pass reads (for
    `ShapeOf(x)`): the value itself (Numba cannot hold a Python class's object)."""
    return x


@overload(shape_kept)
def _shape_kept(x):
    return lambda x: x


# ---- reductions over axes, which Numba's np.max, np.min and np.mean do not take

def _literal_value(t):
    """The Python value of a literal (or omitted) argument type, else None."""
    if t is None or isinstance(t, (bool, int, tuple)):
        return t                  # (an omitted argument's default, as Numba passes it)
    if isinstance(t, types.Omitted):
        return t.value
    if isinstance(t, types.Literal):
        return t.literal_value
    return None


def _no_axis(axis):
    """Is the argument type `axis` None (or an omitted None)?"""
    return axis is None or isinstance(axis, types.NoneType) or (
        isinstance(axis, types.Omitted) and axis.value is None)


def _literal_axes(axis, ndim):
    """The axes a literal `axis` (an int, a tuple of ints) names, as a sorted tuple of
    non-negative ints; None for no axis (all of them) or an axis not known when
    compiling."""
    if axis is None or isinstance(axis, types.NoneType):
        return None
    if isinstance(axis, (types.Omitted, int, tuple)):
        axis = axis.value if isinstance(axis, types.Omitted) else axis
        if axis is None:
            return None
        values = (axis,) if isinstance(axis, int) else tuple(axis)
    elif isinstance(axis, types.IntegerLiteral):
        values = (axis.literal_value,)
    elif isinstance(axis, types.BaseTuple) and all(
            isinstance(e, types.IntegerLiteral) for e in axis.types):
        values = tuple(e.literal_value for e in axis.types)
    else:
        return None
    return tuple(sorted({v % ndim for v in values}))


@register_jitable
def _kept_shape(shape, axes, nd):
    """`shape` with the dimensions `axes` made 1 (the shape keepdims=True gives)."""
    out = np.empty(nd, np.int64)
    for k in range(nd):
        out[k] = shape[k]
    for a in axes:
        out[a] = 1
    return to_fixed_tuple(out, nd)


@register_jitable
def _dropped_shape(shape, axes, nd, left):
    """`shape` without the dimensions `axes` (`left` of them remain)."""
    out = np.empty(left, np.int64)
    j = 0
    for k in range(nd):
        if k not in axes:
            out[j] = shape[k]
            j += 1
    return to_fixed_tuple(out, left)


@register_jitable
def _three(shape, a):
    """(before, along, after): the sizes of the dimensions before axis `a`, of `a`, and
    after it, so that a C-ordered array reshaped to them has `a` in the middle."""
    before, after = 1, 1
    for k in range(a):
        before *= shape[k]
    for k in range(a + 1, len(shape)):
        after *= shape[k]
    return before, shape[a], after


@register_jitable
def _row_sum(flat, i, n, zero):
    """flat[i:i + n] summed in NumPy's order for a contiguous row (eight running sums
    over blocks of up to 128 numbers; the blocks added in turn, where NumPy pairs
    them): the same number NumPy gives, for rows of up to 128."""
    res = zero
    end = i + n
    while i < end:
        m = min(end - i, 128)
        if m < 8:
            part = flat[i]
            for k in range(i + 1, i + m):
                part += flat[k]
        else:
            r0, r1, r2, r3 = flat[i], flat[i + 1], flat[i + 2], flat[i + 3]
            r4, r5, r6, r7 = flat[i + 4], flat[i + 5], flat[i + 6], flat[i + 7]
            k, end8 = i + 8, i + m - m % 8
            while k < end8:
                r0 += flat[k]
                r1 += flat[k + 1]
                r2 += flat[k + 2]
                r3 += flat[k + 3]
                r4 += flat[k + 4]
                r5 += flat[k + 5]
                r6 += flat[k + 6]
                r7 += flat[k + 7]
                k += 8
            part = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
            for k in range(end8, i + m):
                part += flat[k]
        res += part
        i += m
    return res


@register_jitable
def _sum3(a3, dtype):
    """a3 (C-ordered) summed over its middle axis, in NumPy's order: a row of the
    result at a time, the last axis innermost (a contiguous loop); when the middle axis
    is the last one, one number per row (`_row_sum`)."""
    p_, n_, q_ = a3.shape
    if q_ == 1:
        flat = a3.reshape(-1)
        out = np.zeros(p_, dtype)
        if n_ < 8:
            for p in range(p_):
                acc = out[p]
                for k in range(p * n_, (p + 1) * n_):
                    acc += flat[k]
                out[p] = acc
        else:
            for p in range(p_):
                out[p] = _row_sum(flat, p * n_, n_, out[p])
        return out.reshape((p_, 1))
    out = np.zeros((p_, q_), dtype)
    for p in range(p_):
        into = out[p]
        for n in range(n_):
            row = a3[p, n]
            for q in range(q_):
                into[q] += row[q]
    return out


@register_jitable
def _extreme3(a3, dtype, largest):
    """The max (`largest`) or min of a3 over its middle axis; NaN wins, as in NumPy."""
    p_, n_, q_ = a3.shape
    if n_ == 0:
        if largest:
            raise ValueError("zero-size array to reduction operation maximum")
        raise ValueError("zero-size array to reduction operation minimum")
    if q_ == 1:
        flat = a3.reshape(-1)
        last = np.empty(p_, dtype)
        for p in range(p_):
            e = flat[p * n_]
            for n in range(p * n_ + 1, (p + 1) * n_):
                v = flat[n]
                if (v > e if largest else v < e) or v != v:
                    e = v
            last[p] = e
        return last.reshape((p_, 1))
    out = np.empty((p_, q_), dtype)
    for p in range(p_):
        into = out[p]
        first = a3[p, 0]
        for q in range(q_):
            into[q] = first[q]
        for n in range(1, n_):
            row = a3[p, n]
            for q in range(q_):
                v = row[q]
                if (v > into[q] if largest else v < into[q]) or v != v:
                    into[q] = v
    return out


@register_jitable
def _max3(a3, dtype):
    return _extreme3(a3, dtype, True)


@register_jitable
def _min3(a3, dtype):
    return _extreme3(a3, dtype, False)


_REDUCERS = {"sum": _sum3, "max": _max3, "min": _min3, "mean": _sum3}


def _reduction(kind):
    """The Numba implementation of np.<kind>(a, axis, keepdims) for literal axes: the
    axes reduced one at a time (each keeping its dimension), then the shape asked for."""
    three = _REDUCERS[kind]

    def typer(a, axis, keepdims=False):
        if not isinstance(a, types.Array) or not isinstance(
                a.dtype, (types.Float, types.Integer, types.Boolean)):
            return None
        nd = a.ndim
        axes, keep = _literal_axes(axis, nd), _literal_value(keepdims)
        if axes is None or keep is None:
            return None
        if kind == "mean":
            dtype = _float_dtype(a.dtype)
        elif kind == "sum" and not isinstance(a.dtype, types.Float):
            dtype = np.dtype(np.int64)
        else:
            dtype = as_dtype(a.dtype)
        left = nd - len(axes)
        same = as_dtype(a.dtype) == dtype     # (else one conversion first: c keeps a type)

        def impl(a, axis, keepdims=False):
            c = np.ascontiguousarray(a) if same else a.astype(dtype)
            count = 1
            for k in axes:
                before, along, after = _three(c.shape, k)
                count *= along
                c = three(c.reshape((before, along, after)), dtype).reshape(
                    _kept_shape(c.shape, (k,), nd))
            if kind == "mean":
                c = c / count
            if keep:
                return c
            if left == 0:
                return c.reshape(-1)[0]
            return c.reshape(_dropped_shape(c.shape, axes, nd, left))
        return impl
    return typer


def reduce_sum(a, axis, keepdims=False):
    """np.sum(a, axis=axis, keepdims=keepdims), for Numba."""
    return np.sum(a, axis=axis, keepdims=keepdims)


def reduce_max(a, axis, keepdims=False):
    """np.max(a, axis=axis, keepdims=keepdims), for Numba."""
    return np.max(a, axis=axis, keepdims=keepdims)


def reduce_min(a, axis, keepdims=False):
    """np.min(a, axis=axis, keepdims=keepdims), for Numba."""
    return np.min(a, axis=axis, keepdims=keepdims)


def reduce_mean(a, axis, keepdims=False):
    """np.mean(a, axis=axis, keepdims=keepdims), for Numba."""
    return np.mean(a, axis=axis, keepdims=keepdims)


overload(reduce_sum, prefer_literal=True)(_reduction("sum"))
overload(reduce_max, prefer_literal=True)(_reduction("max"))
overload(reduce_min, prefer_literal=True)(_reduction("min"))
overload(reduce_mean, prefer_literal=True)(_reduction("mean"))


@overload(axis_sum, prefer_literal=True)
def _axis_sum(a, axis, keepdims=False):
    return _reduction("sum")(a, axis, keepdims)         # (compiled loops: no BLAS)


@overload(sum_product)
def _sum_product(a, b):
    """np.sum(a * b); for two float64 arrays of one shape (one or two axes, any strides:
    a window of a convolution, a weight's adjoint in a loop) one pass with four running
    sums, no temporary product (NumPy's version takes np.vdot there): Numba's
    np.sum(a * b) makes the product and then sums it in one chain of additions, four
    times slower (32 x 248: 9.6 us against 2.3 us)."""
    if isinstance(a, types.Array) and isinstance(b, types.Array) and \
            a.ndim == b.ndim and a.ndim in (1, 2) and \
            a.dtype == b.dtype == types.float64:
        if a.ndim == 1:
            def impl(a, b):
                if a.shape != b.shape:
                    return np.sum(a * b)
                return _dot_rows(a, b, 0.0)
            return impl

        def impl(a, b):
            if a.shape != b.shape:
                return np.sum(a * b)
            total = 0.0
            for i in range(a.shape[0]):
                total = _dot_rows(a[i], b[i], total)
            return total
        return impl
    if isinstance(a, types.Array) or isinstance(b, types.Array):
        return lambda a, b: np.sum(a * b)
    return lambda a, b: a * b


@register_jitable
def _dot_rows(a, b, total):
    """total + the dot product of vectors a and b of one length, in four running sums
    (independent additions the processor overlaps)."""
    n = a.shape[0]
    s0 = s1 = s2 = s3 = 0.0
    k = 0
    while k + 4 <= n:
        s0 += a[k] * b[k]
        s1 += a[k + 1] * b[k + 1]
        s2 += a[k + 2] * b[k + 2]
        s3 += a[k + 3] * b[k + 3]
        k += 4
    while k < n:
        s0 += a[k] * b[k]
        k += 1
    return total + ((s0 + s1) + (s2 + s3))


def zero_like(x):
    """The zero adjoint `0.0` of a value `x`, as an array of x's shape when x is one (so
    that a variable of compiled code keeps one type when arrays are added to it)."""
    if isinstance(x, np.ndarray):
        return np.zeros(x.shape, x.dtype if x.dtype.kind in "fc" else float)
    return 0.0


@overload(zero_like)
def _zero_like(x):
    if isinstance(x, types.Array):
        dtype = _float_dtype(x.dtype)
        return lambda x: np.zeros(x.shape, dtype)
    return lambda x: 0.0


# ---- adjoints of reductions, transposes, rolls, diagonals, dot, solve, cholesky

@register_jitable
def _extremum3(g2, y2, x3, dtype):
    """The adjoint of a max or min over x3's middle axis (y2 = the extremes, g2 their
    adjoint, both of shape (before, after)): g shared equally among the elements equal
    to the extreme, each getting g * 1 / count or g * 0 / count as NumPy's g * mask /
    count gives (NaN: none equal, every share NaN). For max/min along any one axis
    (softmax's shift, log-sum-exp, nearest centres, max pooling); branch-free loops."""
    p_, n_, q_ = x3.shape
    out = np.empty((p_, n_, q_), dtype)
    hit = np.empty(q_, dtype)
    miss = np.empty(q_, dtype)
    count = np.zeros(q_, np.int64)
    for p in range(p_):
        yp, gp = y2[p], g2[p]
        count[:] = 0
        for n in range(n_):
            row = x3[p, n]
            for q in range(q_):
                count[q] += row[q] == yp[q]
        for q in range(q_):
            if count[q] == 0:
                hit[q] = np.nan
                miss[q] = np.nan
            else:
                hit[q] = gp[q] / count[q]
                miss[q] = gp[q] * 0.0 / count[q]
        for n in range(n_):
            row, into = x3[p, n], out[p, n]
            for q in range(q_):
                into[q] = hit[q] if row[q] == yp[q] else miss[q]
    return out


@register_jitable
def _extremum_rows(g1, y1, x2, dtype):
    """`_extremum3` for a reduction over the last axis (x2 of shape (rows, n))."""
    p_, n_ = x2.shape
    xf = x2.reshape(-1)
    out = np.empty(p_ * n_, dtype)
    for p in range(p_):
        y, c = y1[p], 0
        for i in range(p * n_, (p + 1) * n_):
            c += xf[i] == y
        if c == 0:
            hit = miss = np.nan
        else:
            hit, miss = g1[p] / c, g1[p] * 0.0 / c
        for i in range(p * n_, (p + 1) * n_):
            out[i] = hit if xf[i] == y else miss
    return out


@overload(extremum_grad, prefer_literal=True)
def _extremum_grad(g, y, x, axis=None, keepdims=False):
    if not isinstance(x, types.Array) or not (_is_number(g) or isinstance(g, types.Array)):
        return None
    if _no_axis(axis):
        def impl(g, y, x, axis=None, keepdims=False):
            mask = x == y
            return g * mask / np.sum(mask)
        return impl

    axes = _literal_axes(axis, x.ndim)
    if axes is None or _literal_value(keepdims) is None:
        return None
    if len(axes) == 1 and isinstance(g, types.Array) and isinstance(y, types.Array):
        a, dtype = axes[0], _float_dtype(g.dtype)

        def along(g, y, x, axis=None, keepdims=False):
            c = np.ascontiguousarray(x)
            before, n, after = _three(c.shape, a)
            if g.size != before * after or y.size != before * after:
                raise ValueError("extremum_grad: the adjoint's shape does not match")
            g2 = np.ascontiguousarray(g).reshape((before, after))
            y2 = np.ascontiguousarray(y).reshape((before, after))
            if after == 1:
                out = _extremum_rows(g2.reshape(-1), y2.reshape(-1),
                                     c.reshape((before, n)), dtype)
                return out.reshape(c.shape)
            return _extremum3(g2, y2, c.reshape((before, n, after)), dtype).reshape(c.shape)
        return along

    def impl(g, y, x, axis=None, keepdims=False):
        mask = x == unreduce(y, x, axis, keepdims)
        count = reduce_sum(mask, axis, True)
        return unreduce(g, x, axis, keepdims) * mask / count
    return impl


@overload(transpose_grad, prefer_literal=True)
def _transpose_grad(g, axes=()):
    if _is_number(g):
        return lambda g, axes=(): g
    if not isinstance(g, types.Array):
        return None
    perm = _literal_value(axes) if isinstance(axes, (types.Omitted, tuple)) else (
        () if isinstance(axes, types.BaseTuple) and len(axes.types) == 0 else None)
    if perm is None and isinstance(axes, types.BaseTuple):
        inner = axes.types[0] if len(axes.types) == 1 and \
            isinstance(axes.types[0], types.BaseTuple) else axes
        if all(isinstance(e, types.IntegerLiteral) for e in inner.types):
            perm = tuple(e.literal_value for e in inner.types)
    if perm is None and isinstance(axes, types.BaseTuple) and len(axes.types) == 1 and \
            isinstance(axes.types[0], types.UniTuple) and \
            isinstance(axes.types[0].dtype, types.Integer):
        nd = g.ndim                            # transpose(x, axes) with axes known later

        def impl(g, axes=()):
            back = np.argsort(np.array(axes[0]) % nd)
            return np.transpose(g, to_fixed_tuple(back, nd))
        return impl
    if perm is None:
        return None
    if len(perm) == 0:
        return lambda g, axes=(): np.transpose(g)
    back = tuple(int(v) for v in np.argsort([p % g.ndim for p in perm]))
    return lambda g, axes=(): np.transpose(g, back)


@register_jitable
def _roll_along(g, shift, a):
    """np.roll(g, shift, axis=a)."""
    c = np.ascontiguousarray(g)
    before, along, after = _three(c.shape, a)
    g3 = c.reshape((before, along, after))
    out = np.empty_like(g3)
    if along == 0:
        return out.reshape(c.shape)
    s = shift % along
    for p in range(before):
        for n in range(along):
            m = n + s
            if m >= along:
                m -= along
            for q in range(after):
                out[p, m, q] = g3[p, n, q]
    return out.reshape(c.shape)


@overload(roll_grad, prefer_literal=True)
def _roll_grad(g, shift, axis=None):
    if _is_number(g):
        return lambda g, shift, axis=None: g
    if not isinstance(g, types.Array) or not isinstance(shift, types.Integer):
        return None
    if _no_axis(axis):
        def impl(g, shift, axis=None):
            flat = np.ascontiguousarray(g).reshape(-1)
            return _roll_along(flat, -shift, 0).reshape(g.shape)
        return impl
    axes = _literal_axes(axis, g.ndim)
    if axes is None or len(axes) != 1:
        return None
    a = axes[0]
    return lambda g, shift, axis=None: _roll_along(g, -shift, a)


@overload(diag_grad, prefer_literal=True)
def _diag_grad(g, v, k=0):
    if _is_number(g):
        return lambda g, v, k=0: g
    if not isinstance(g, types.Array) or not isinstance(v, types.Array) or v.ndim > 2:
        return None
    dtype = _float_dtype(v.dtype)
    if v.ndim == 1:
        def impl(g, v, k=0):              # y = diag(v): the k-th diagonal of g
            n = v.shape[0]
            out = np.empty(n, g.dtype)
            r, c = max(-k, 0), max(k, 0)
            for i in range(n):
                out[i] = g[r + i, c + i]
            return out
        return impl

    def impl(g, v, k=0):                  # y = diag(v) of a matrix: g on its diagonal
        out = np.zeros(v.shape, dtype)
        r, c = max(-k, 0), max(k, 0)
        for i in range(g.shape[0]):
            out[r + i, c + i] = g[i]
        return out
    return impl


def _dot_of_matrices(a, b):
    """Is np.dot(a, b) of these argument types a matrix product (1-D or 2-D)?"""
    return isinstance(a, types.Array) and isinstance(b, types.Array) and \
        a.ndim <= 2 and b.ndim <= 2


@overload(dot_right)
def _dot_right(g, a, b):
    if _dot_of_matrices(a, b):
        return lambda g, a, b: matmul_right(g, a, b)
    return None


@overload(dot_left)
def _dot_left(g, b, a):
    if _dot_of_matrices(a, b):
        return lambda g, b, a: matmul_left(g, b, a)
    return None


def _solve_operands(g, a, b):
    return isinstance(g, types.Array) and isinstance(a, types.Array) and a.ndim == 2 \
        and isinstance(b, types.Array) and b.ndim in (1, 2) and g.ndim == b.ndim


def _rows_of(a):
    """(a as a row-ordered array, whether it is aᵀ): a column-ordered a (a transposed
    Cholesky factor) is read as its transpose, without a copy."""
    return a, False


@overload(_rows_of)
def _rows_of_overload(a):
    if a.layout == "F":
        return lambda a: (a.T, True)
    return lambda a: (np.ascontiguousarray(a), False)


@register_jitable
def _triangle_solve(a, b, lower, trans, dtype):
    """x with a x = b (`trans`: aᵀ x = b) for a lower (`lower`) or upper triangular a,
    b a vector or a matrix: substitution reading a row of a at each step (a dot
    product where a is used as it is, a row update where aᵀ is). A Cholesky factor's
    solves (Gaussian processes, whitening, log-determinants) and their adjoints: O(n²)
    per right-hand side, where np.linalg.solve factors a again."""
    c, flipped = _rows_of(a)
    if flipped:                        # (a = cᵀ: aᵀ's other triangle is c's)
        lower, trans = not lower, not trans
    n = c.shape[0]
    if c.shape[1] != n or b.shape[0] != n:
        raise ValueError("solve: the matrix is not square or the shapes do not match")
    for i in range(n):
        if c[i, i] == 0:
            raise np.linalg.LinAlgError("singular matrix")
    x = np.empty(b.shape, dtype)
    x2 = x.reshape((n, -1))
    x2[...] = np.ascontiguousarray(b).reshape((n, -1))
    k = x2.shape[1]
    forward = lower != trans           # (the matrix solved with is lower triangular)
    if k == 1:
        xf = x.reshape(-1)
        for s in range(n):
            i = s if forward else n - 1 - s
            row = c[i]
            if not trans:              # x[i] = (b[i] - a[i, done] · x[done]) / a[i, i]
                lo, hi = (0, i) if forward else (i + 1, n)
                acc = xf[i]
                for j in range(lo, hi):
                    acc -= row[j] * xf[j]
                xf[i] = acc / row[i]
            else:                      # x[i] done: taken from the rows not yet done
                xi = xf[i] / row[i]
                xf[i] = xi
                lo, hi = (i + 1, n) if forward else (0, i)
                for j in range(lo, hi):
                    xf[j] -= row[j] * xi
        return x
    for s in range(n):
        i = s if forward else n - 1 - s
        xi, row = x2[i], c[i]
        if not trans:
            lo, hi = (0, i) if forward else (i + 1, n)
            for j in range(lo, hi):
                xj, aij = x2[j], row[j]
                for m in range(k):
                    xi[m] -= aij * xj[m]
            for m in range(k):
                xi[m] /= row[i]
        else:
            for m in range(k):
                xi[m] /= row[i]
            lo, hi = (i + 1, n) if forward else (0, i)
            for j in range(lo, hi):
                xj, aij = x2[j], row[j]
                for m in range(k):
                    xj[m] -= aij * xi[m]
    return x


def _solve_dtype(a, b):
    """The dtype of solve(a, b)'s result for Numba array types a and b."""
    both32 = all(isinstance(t.dtype, types.Float) and t.dtype.bitwidth == 32 for t in (a, b))
    return np.dtype(np.float32) if both32 else np.dtype(np.float64)


def _triangular(lower):
    """Is `lower` (a helper's argument type) a known triangle (a bool), not None?"""
    if isinstance(lower, types.Omitted):
        return isinstance(lower.value, bool)
    return isinstance(lower, types.Boolean)


# (`lower`: which triangle a known triangular a has, else None: a general a)
@overload(solve_grad_b)
def _solve_grad_b(g, a, b, lower=None):
    if not _solve_operands(g, a, b):
        return None
    if _triangular(lower):
        dtype = _solve_dtype(a, g)
        return lambda g, a, b, lower=None: _triangle_solve(a, g, lower, True, dtype)
    return lambda g, a, b, lower=None: np.linalg.solve(np.ascontiguousarray(a.T), g)


@overload(solve_grad_a)
def _solve_grad_a(g, y, a, b, lower=None):
    if not _solve_operands(g, a, b):
        return None
    if _triangular(lower):
        dtype = _solve_dtype(a, g)
        if b.ndim == 1:
            return lambda g, y, a, b, lower=None: -np.outer(
                _triangle_solve(a, g, lower, True, dtype), y)
        return lambda g, y, a, b, lower=None: -(
            _triangle_solve(a, g, lower, True, dtype) @ np.ascontiguousarray(y.T))
    if b.ndim == 1:
        return lambda g, y, a, b, lower=None: -np.outer(
            np.linalg.solve(np.ascontiguousarray(a.T), g), y)
    return lambda g, y, a, b, lower=None: -(np.linalg.solve(np.ascontiguousarray(a.T), g)
                                            @ np.ascontiguousarray(y.T))


@overload(solve_grads)
def _solve_grads(g, y, a, b, lower=None):
    if not _solve_operands(g, a, b):
        return None
    if _triangular(lower):
        dtype = _solve_dtype(a, g)

        def adjoint(g, a, lower):
            return _triangle_solve(a, g, lower, True, dtype)
    else:
        def adjoint(g, a, lower):
            return np.linalg.solve(np.ascontiguousarray(a.T), g)
    adjoint = register_jitable(adjoint)
    if b.ndim == 1:
        def both(g, y, a, b, lower=None):
            gb = adjoint(g, a, lower)
            return -np.outer(gb, y), gb
        return both

    def both_matrices(g, y, a, b, lower=None):
        gb = adjoint(g, a, lower)
        return -(gb @ np.ascontiguousarray(y.T)), gb
    return both_matrices


@overload(solve_triangle)
def _solve_triangle(a, b, lower):
    if not (isinstance(a, types.Array) and a.ndim == 2 and isinstance(b, types.Array)
            and b.ndim in (1, 2)):
        return None
    if isinstance(lower, types.Boolean):
        dtype = _solve_dtype(a, b)
        return lambda a, b, lower: _triangle_solve(a, b, lower, False, dtype)
    return lambda a, b, lower: np.linalg.solve(np.ascontiguousarray(a), b)


@overload(cholesky_grad, prefer_literal=True)
def _cholesky_grad(g, y, upper=False):
    if not (isinstance(g, types.Array) and g.ndim == 2 and isinstance(y, types.Array)
            and y.ndim == 2):
        return None
    up = _literal_value(upper)
    if up is None:
        return None
    dtype = _solve_dtype(y, g)

    def impl(g, y, upper=False):
        lo = np.ascontiguousarray(y.T) if up else np.ascontiguousarray(y)
        glo = np.ascontiguousarray(g.T) if up else np.ascontiguousarray(g)
        out = _phi_sandwich(lo, lo.T @ glo, dtype)
        return np.ascontiguousarray(out.T) if up else out
    return impl


@register_jitable
def _phi_sandwich(lo, m, dtype):
    """Φ(L⁻ᵀ·Φ(m)·L⁻¹ + its transpose), Φ: the lower triangle, half the diagonal (the
    Cholesky adjoint folded onto the lower triangle; `runtime.decompositions`), with two
    triangular solves by substitution (Lᵀ·X = Φ(m), then Lᵀ·Sᵀ = Xᵀ) where inverting L
    first cost a factorisation, an inversion and two products more. Serves every
    Cholesky adjoint (Gaussian processes, log-determinants, whitening)."""
    n = lo.shape[0]
    p = np.zeros((n, n), dtype)
    for i in range(n):
        for j in range(i):
            p[i, j] = m[i, j]
        p[i, i] = 0.5 * m[i, i]
    x = _triangle_solve(lo, p, True, True, dtype)                    # L⁻ᵀ·Φ(m)
    st = _triangle_solve(lo, np.ascontiguousarray(x.T), True, True, dtype)   # (·L⁻¹)ᵀ
    out = np.zeros((n, n), dtype)
    for i in range(n):
        for j in range(i):
            out[i, j] = st[i, j] + st[j, i]
        out[i, i] = st[i, i]
    return out


def same_shape(*arrays):
    """The shape the arrays of an elementwise loop share (`rewrite.elementwise_loops`);
    raises where they differ (the loop would read past an array's end)."""
    return arrays[0].shape


@overload(same_shape)
def _same_shape(*arrays):
    if isinstance(arrays[0], types.StarArgTuple):
        arrays = arrays[0].types
    if not arrays or not all(isinstance(a, types.Array) and a.ndim == arrays[0].ndim
                             for a in arrays):
        return None

    def impl(*arrays):
        shape = arrays[0].shape
        for a in literal_unroll(arrays):
            if a.shape != shape:
                raise ValueError("elementwise loop: the arrays' shapes differ")
        return shape
    return impl


def broadcast_shape(*arrays):
    """The shape arrays that broadcast together give, for an elementwise loop none of
    whose arrays has it (`rewrite.elementwise_loops`: `X[:, None, :] - C[None, :, :]`);
    `reads_broadcast` then checks each array against it."""
    return np.broadcast_shapes(*(a.shape for a in arrays))


@overload(broadcast_shape)
def _broadcast_shape(*arrays):
    if isinstance(arrays[0], types.StarArgTuple):
        arrays = arrays[0].types
    if not arrays or not all(isinstance(a, types.Array) for a in arrays):
        return None
    nd = max(a.ndim for a in arrays)

    def impl(*arrays):
        shape = np.ones(nd, np.int64)
        for a in literal_unroll(arrays):
            for k in range(a.ndim):
                if a.shape[k] != 1:
                    shape[nd - a.ndim + k] = a.shape[k]
        return to_fixed_tuple(shape, nd)
    return impl


def added_into(view, e):
    """`view += e` for a view of an adjoint (`rewrite.views_added`)."""
    view += e


def subtracted_into(view, e):
    """`view -= e` for a view of an adjoint (`rewrite.views_added`)."""
    view -= e


def _into(sign):
    """`view += sign * e`: for a float64 view and a float array of its shape (one or
    two axes), one loop over the elements; else Numba's in-place operator after `fits`
    (the shapes checked as NumPy checks them). Where e may share memory with the view,
    a copy of e is added (NumPy buffers such an operand; Numba's operator does not).
    Numba's in-place operator on a strided view goes through a general broadcasting
    iterator: 8 steps of `x_bar[:, j:j + m] += g` (32 x 248), 66 us against 19 us."""
    def typer(view, e):
        if isinstance(view, types.Array) and isinstance(e, types.Array) and \
                view.ndim == e.ndim and view.ndim in (1, 2) and \
                view.dtype == types.float64 and isinstance(e.dtype, types.Float):
            rows = _add_row if view.ndim == 1 else _add_rows

            def impl(view, e):
                if _overlap(view, e):
                    e = e.copy()             # (Numba's operator does not copy either)
                if view.shape != e.shape:
                    if sign > 0:
                        view += fits(e, view)
                    else:
                        view -= fits(e, view)
                    return
                rows(view, e, sign)
            return impl
        if sign > 0:
            def impl(view, e):
                view += fits(e, view)
        else:
            def impl(view, e):
                view -= fits(e, view)
        return impl
    return typer


@register_jitable
def _add_row(view, e, sign):
    for k in range(view.shape[0]):
        view[k] += sign * e[k]


@register_jitable
def _add_rows(view, e, sign):
    for i in range(view.shape[0]):
        _add_row(view[i], e[i], sign)


overload(added_into)(_into(1.0))
overload(subtracted_into)(_into(-1.0))


@register_jitable
def _extent(a):
    """The lowest and one past the highest address of the array a's elements."""
    lo = hi = a.ctypes.data
    for k in range(a.ndim):
        step = (a.shape[k] - 1) * a.strides[k]
        if step < 0:
            lo += step
        else:
            hi += step
    return lo, hi + a.itemsize


@register_jitable
def _overlap(a, b):
    """Might the arrays a and b share memory (their address ranges meet)?"""
    if a.size == 0 or b.size == 0:
        return False
    alo, ahi = _extent(a)
    blo, bhi = _extent(b)
    return alo < bhi and blo < ahi


def tanh_number(x):
    """np.tanh of one number, in an elementwise loop (`rewrite.elementwise_loops`)."""
    return np.tanh(x)


def exp_number(x):
    """np.exp of one number, in an elementwise loop (`rewrite.elementwise_loops`)."""
    return np.exp(x)


@intrinsic
def _float_of_bits(typingctx, bits):
    """The float64 whose IEEE bits are the int64 `bits` (a bitcast, no conversion)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], _llvm.DoubleType())
    return types.float64(types.int64), codegen


@intrinsic
def _bits_of_float(typingctx, x):
    """The IEEE bits of the float64 `x`, as an int64 (a bitcast, no conversion)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], _llvm.IntType(64))
    return types.int64(types.float64), codegen


_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01           # ln 2 in two parts: n · _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10
_ROUND = 6755399441055744.0                     # 1.5 · 2^52: x + _ROUND rounds x to an int
_EXP_C = tuple(1.0 / math.factorial(k) for k in range(2, 14))   # Taylor, 1/2! .. 1/13!


@register_jitable(inline="always")
def _exp64(x):
    """e^x for a float64, without a branch or a call: x = n·ln 2 + r, |r| ≤ ln 2 / 2,
    e^r by its Taylor polynomial of degree 13 (truncation below 2^-60), times 2^n
    built from its bits in two halves (so that subnormal results come out rounded
    once). Overflow, underflow, ±inf and NaN are selected at the end. Within 1 ulp of
    NumPy's np.exp (checked on 3·10^6 numbers over the whole range, subnormal results
    included). Libm's exp, which Numba calls for math.exp and np.exp of a number, takes
    about 4 ns per number here; this takes about 1.6 ns."""
    c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13 = _EXP_C
    xc = x if x < 710.0 else 710.0
    xc = xc if xc > -746.0 else -746.0
    t = xc * _LOG2E + _ROUND
    n = t - _ROUND                                  # round(x / ln 2), as a float
    r = (xc - n * _LN2_HI) - n * _LN2_LO
    p = ((((((((((c13 * r + c12) * r + c11) * r + c10) * r + c9) * r + c8) * r + c7)
              * r + c6) * r + c5) * r + c4) * r + c3) * r + c2
    p = p * r * r + r + 1.0
    k = _bits_of_float(t) - _bits_of_float(_ROUND)                      # n, as an int
    h = _bits_of_float(math.floor(n * 0.5) + _ROUND) - _bits_of_float(_ROUND)
    y = p * _float_of_bits((h + 1023) << 52) * _float_of_bits((k - h + 1023) << 52)
    y = y if x <= 709.782712893384 else math.inf
    y = y if x >= -745.2 else 0.0
    return y if x == x else x


@overload(exp_number)
def _exp_number(x):
    """np.exp of a float as `_exp64` (float32: in float64, then rounded, as close to
    NumPy's float32 exp as its own rounding). Serves every exp in an elementwise loop:
    softmax and log-sum-exp, sigmoids, Gaussian densities. Other types: np.exp."""
    if not isinstance(x, types.Float):
        return lambda x: np.exp(x)
    kind = np.float32 if x == types.float32 else np.float64

    def impl(x):
        return kind(_exp64(np.float64(x)))
    return impl


# Cephes' rational approximation of tanh(x) = x + x·z·P(z)/Q(z), z = x², |x| < 0.625
_TANH_P = (-9.64399179425052238628e-1, -9.92877231001918586564e1,
           -1.61468768441708447952e3)
_TANH_Q = (1.12811678491632931402e2, 2.23548839060100448583e3, 4.84406305325125486048e3)


@overload(tanh_number)
def _tanh_number(x):
    """tanh of a float as 1 - 2 / (e^{2|x|} + 1) with x's sign, and for |x| < 0.625
    (where that subtraction cancels) Cephes' rational approximation: within 2 ulp of
    NumPy's tanh (inf, NaN and -0.0 included), two to three times faster than Numba's
    np.tanh of a number (libm's tanh: 32 x 64 numbers, 23 us against 7.5 us; NumPy's own
    loop, vectorised, takes 3.8 us but makes an array of its own). e^ is libm's here,
    not `_exp64`: inlined in one branch of two, LLVM computes its polynomial for every
    number (2.4x slower on the same numbers). Serves every tanh in an elementwise loop
    (the activations of RNNs, MLPs, convolutions and their adjoints). Other types:
    np.tanh."""
    if not isinstance(x, types.Float):
        return lambda x: np.tanh(x)
    p0, p1, p2 = _TANH_P
    q0, q1, q2 = _TANH_Q
    kind = np.float32 if x == types.float32 else np.float64

    def impl(x):
        v = np.float64(x)
        a = abs(v)
        if a < 0.625:
            z = v * v
            t = a + a * (z * ((p0 * z + p1) * z + p2) / (((z + q0) * z + q1) * z + q2))
        else:
            t = 1.0 - 2.0 / (math.exp(2.0 * a) + 1.0)
        return kind(math.copysign(t, v))
    return impl


def ufunc_of(x, name):
    """np.<name>(x) for an array x, computed by NumPy where its loop is faster
    (`NUMPY_LOOP_SIZES`)."""
    return getattr(np, name)(x)


def ufunc_in_place(a, name):
    """a = np.<name>(a), in place, computed by NumPy where its loop is faster
    (`NUMPY_LOOP_SIZES`)."""
    getattr(np, name)(a, out=a)


def _numpy_simd():
    """Does this NumPy compute its transcendental functions of float64 with AVX-512
    instructions on this machine (its dispatch's `AVX512_SKX`)?"""
    try:
        from numpy._core._multiarray_umath import __cpu_features__
    except ImportError:                                         # (NumPy < 2)
        try:
            from numpy.core._multiarray_umath import __cpu_features__
        except ImportError:
            return False
    return bool(__cpu_features__.get("AVX512_SKX"))


#: np.<name> (of `rewrite.NUMPY_LOOPS`) → the size of an array from which NumPy's own
#: loop, called from compiled code (`objmode`, about 2.5 us a call), computes it faster
#: than a loop of Numba's version for one number. Where NumPy has AVX-512
#: (`_numpy_simd`), it computes these with SIMD instructions, several times faster per
#: number than Numba's scalar calls into libm (float64, ns a number, Numba's or
#: `tanh_number`/`exp_number` against NumPy's: tanh 5.3/1.7, exp 1.6/0.85, log
#: 3.5/0.8, log1p 10/1.1, sinh 12/1.2, arcsinh 20/2.1, tan 15/3.5); the size is where
#: the call's cost is paid back. Without AVX-512, NumPy calls libm too, and the table
#: is empty.
NUMPY_LOOP_SIZES = {"tanh": 1024, "exp": 4096, "log": 1024, "log2": 1024, "log10": 512,
               "log1p": 512, "expm1": 512, "arctan": 512, "arcsin": 512, "arccos": 512,
               "arcsinh": 256, "sinh": 256, "cosh": 512, "tan": 256} \
    if _numpy_simd() else {}


def _ufunc_versions(name):
    """np.<name>; the compiled version for one number that an elementwise loop calls;
    the size from which NumPy's loop is called (-1: never)."""
    fn = getattr(np, name)
    return (fn, {"tanh": tanh_number, "exp": exp_number}.get(name, fn),
            NUMPY_LOOP_SIZES.get(name, -1))


@register_jitable
def _each_number(out, x, f):
    """out[...] = f(x) number by number (out: a new C-ordered array of x's shape)."""
    flat, src = out.reshape(out.size), np.ascontiguousarray(x).reshape(x.size)
    for k in range(out.size):
        flat[k] = f(src[k])


@overload(ufunc_of)
def _ufunc_of(x, name):
    """np.<name>(x) of an array: NumPy's loop from `NUMPY_LOOP_SIZES`' size on, else a
    loop of the version for numbers. Serves an elementwise function of an array that no
    arithmetic joins into a loop (`rewrite.elementwise_loops`): an activation standing
    alone, the exp of a softmax's shifted scores."""
    if not (isinstance(x, types.Array) and isinstance(name, types.StringLiteral)):
        return None
    fn, f, least = _ufunc_versions(name.literal_value)
    dtype = _float_dtype(x.dtype)

    def impl(x, name):
        out = np.empty(x.shape, dtype)
        if 0 <= least <= x.size:
            with objmode():
                fn(x, out=out)
        else:
            _each_number(out, x, f)
        return out
    return impl


@overload(ufunc_in_place)
def _ufunc_in_place(a, name):
    """a = np.<name>(a) in place, for the array an elementwise loop wrote
    (`rewrite.elementwise_loops` ends a loop there, its last value's argument written
    in place of the value): NumPy's loop from `NUMPY_LOOP_SIZES`' size on, else a loop
    of the version for numbers."""
    if not (isinstance(a, types.Array) and isinstance(name, types.StringLiteral)):
        return None
    fn, f, least = _ufunc_versions(name.literal_value)

    def impl(a, name):
        if 0 <= least <= a.size:
            with objmode():
                fn(a, out=a)
        else:
            _each_number(a, a, f)
    return impl


def float_like(*arrays):
    """The dtype of an array an elementwise loop over `arrays` writes: float32 where
    they all are float32 (as NumPy keeps it, numbers being weak), else float64."""
    return np.result_type(*arrays, np.float32)


@overload(float_like)
def _float_like(*arrays):
    if isinstance(arrays[0], types.StarArgTuple):
        arrays = arrays[0].types
    single = all(isinstance(a, types.Array) and a.dtype == types.float32 for a in arrays)
    dtype = np.float32 if single else np.float64
    return lambda *arrays: dtype


def reads_broadcast(x, shape, ones):
    """Check that an elementwise loop over `shape` may read x at the loop's indices,
    `ones` (one flag per axis of x) marking the axes of length 1, read at index 0
    (`rewrite.elementwise_loops`); raises as NumPy would where x does not broadcast."""
    extra = len(shape) - x.ndim
    if extra < 0 or any(x.shape[k] != (1 if ones[k] else shape[k + extra])
                        for k in range(x.ndim)):
        raise ValueError("operands could not be broadcast together")


@overload(reads_broadcast)
def _reads_broadcast(x, shape, ones):
    """Each axis of x is of length 1 where `ones` says so and else of the loop's length
    (aligned on the right): the loop reads `x[i0, 0]` for a row's maximum, `b[i1]` for a
    bias, in place of a broadcast view of x, which Numba reads through its strides
    several times slower (a softmax's `np.exp(S - m)`: 150 us against 28 us)."""
    if not isinstance(x, types.Array):
        return None

    def impl(x, shape, ones):
        extra = len(shape) - x.ndim
        ok = extra >= 0
        for k in range(x.ndim):
            if ok:
                ok = x.shape[k] == 1 if ones[k] else x.shape[k] == shape[k + extra]
        if not ok:
            raise ValueError("operands could not be broadcast together")
    return impl


def fits(e, x):
    """e, which an in-place operation on x combines with x (NumPy checks the shapes)."""
    return e


@overload(fits)
def _fits(e, x):
    if not (isinstance(e, types.Array) and isinstance(x, types.Array)):
        return lambda e, x: e
    if e.ndim > x.ndim:
        return None
    extra = x.ndim - e.ndim

    def impl(e, x):
        for k in range(e.ndim):
            if e.shape[k] != x.shape[k + extra] and e.shape[k] != 1:
                raise ValueError("operands could not be broadcast together in an "
                                 "in-place operation")
        return e
    return impl
