"""More runtime helpers for Numba's nopython mode: the adjoints of reshape, where/clip/
maximum/abs (`choose_grad`), swapaxes, take, repeat, trace, prod, norm and det.

Written as `helpers.py` writes its own (an `overload` per helper, picked once for the
argument types when compiling), with the same promise: a case compiled here gives the
NumPy helper's numbers, and a case it cannot give them for does not match (the
generated function then runs as NumPy code, with the warning that names the helper).

Where the NumPy helper returns the zero adjoint `0.0` (its adjoint argument was the
number 0.0), compiled code cannot return a number on one path and an array on another:
a number adjoint is spread over the input's shape instead (zeros where NumPy gives
0.0), as `helpers.py` does for `unreduce` and `grad_like`.

Below the marker line, this file uses only NumPy, Numba, the helpers' names and the
names of the part of `helpers.py` below its marker: `s2sgrad transform --backend
numba` copies it into the module it writes, after that part.
"""
import numpy as np

from ...runtime import unreshape, choose_grad, swapaxes_grad, prod_grad  # noqa: F401
from ...runtime.linalg import (take_grad, repeat_grad, trace_grad,  # noqa: F401
                               norm_grad, det_grad)
from .helpers import (types, overload, register_jitable, as_dtype,  # noqa: F401
                      to_fixed_tuple, _float_dtype, _is_number, _literal_value, _no_axis,
                      _three)

# ---- Numba versions of the runtime helpers, continued (copied by `s2sgrad transform`) ----


def _with_float(t):
    """np.result_type(<Numba type t>, float), the dtype of the arrays the NumPy helpers
    make with it (float64 for a float32 adjoint too: `float` is float64 there)."""
    return np.result_type(as_dtype(t), float)


@overload(unreshape)
def _unreshape(g, x):
    if not isinstance(g, types.Array):
        if _is_number(g) and _is_number(x):
            return lambda g, x: g
        return None          # (a number spread over an array: NumPy's reshape may raise)
    if isinstance(x, types.Array):
        return lambda g, x: np.ascontiguousarray(g).reshape(x.shape)
    if _is_number(x):
        def impl(g, x):
            if g.size != 1:
                raise ValueError("cannot reshape the adjoint into a number's shape")
            return np.ascontiguousarray(g).reshape(-1)[0]
        return impl
    return None


@register_jitable
def _chosen(g, mask, shape, dtype):
    """np.where(mask, g, 0.0) in `dtype` (g and mask broadcast to `shape`)."""
    gf = np.ascontiguousarray(np.broadcast_to(g, shape)).reshape(-1)
    mf = np.ascontiguousarray(np.broadcast_to(mask, shape)).reshape(-1)
    out = np.empty(gf.size, dtype)
    for i in range(gf.size):
        out[i] = gf[i] if mf[i] else 0.0
    return out.reshape(shape)


@register_jitable
def _broadcast_shape(a, b, nd):
    """The shape np.broadcast_shapes(a, b) gives, for len(a) == nd >= len(b)."""
    out = np.empty(nd, np.int64)
    extra = nd - len(b)
    for k in range(nd):
        n = a[k]
        if k >= extra:
            m = b[k - extra]
            if n == 1:
                n = m
            elif m != 1 and m != n:
                raise ValueError("operands could not be broadcast together")
        out[k] = n
    return to_fixed_tuple(out, nd)


@overload(choose_grad)
def _choose_grad(g, mask):
    if _is_number(mask):                 # g if mask else 0.0 * g (NaN stays NaN)
        if isinstance(g, types.Float):
            cast = as_dtype(g).type
            return lambda g, mask: g if mask else cast(0.0 * g)
        if isinstance(g, types.Array) and isinstance(g.dtype, types.Float):
            dtype = as_dtype(g.dtype)

            def impl(g, mask):
                c = np.ascontiguousarray(g)
                if mask:
                    return c
                out = np.empty(g.shape, dtype)
                of, cf = out.reshape(-1), c.reshape(-1)
                for i in range(cf.size):
                    of[i] = 0.0 * cf[i]
                return out
            return impl
        return None
    if not isinstance(mask, types.Array) or mask.ndim == 0:
        return None
    if isinstance(g, types.Array) and g.ndim > 0:
        dtype = _float_dtype(g.dtype)
        if g.ndim >= mask.ndim:
            nd = g.ndim
            return lambda g, mask: _chosen(
                g, mask, _broadcast_shape(g.shape, mask.shape, nd), dtype)
        nd = mask.ndim
        return lambda g, mask: _chosen(
            g, mask, _broadcast_shape(mask.shape, g.shape, nd), dtype)
    if isinstance(g, types.Float):
        dtype = as_dtype(g)
        return lambda g, mask: _chosen(g, mask, mask.shape, dtype)
    return None


@overload(swapaxes_grad)
def _swapaxes_grad(g, axis1, axis2):
    if not (isinstance(axis1, types.Integer) and isinstance(axis2, types.Integer)):
        return None
    if isinstance(g, types.Array) and g.ndim >= 2:
        return lambda g, axis1, axis2: np.swapaxes(g, axis1, axis2)
    if _is_number(g):
        return lambda g, axis1, axis2: g
    return None


def _mode(t):
    """The `mode` of take (a literal string known when compiling), else None."""
    value = _literal_value(t) if not isinstance(t, str) else t
    return value if value in ("raise", "wrap", "clip") else None


@register_jitable
def _place(i, n, mode):
    """Index i of an axis of n elements, as take's `mode` reads it."""
    if mode == 1:
        return i % n
    if mode == 2:
        return min(max(i, 0), n - 1)
    if i < -n or i >= n:
        raise IndexError("index out of bounds in the adjoint of take")
    return i + n if i < 0 else i


def _flat_indices(indices):
    """The indices of take, as a 1-D array of ints."""
    return indices


@overload(_flat_indices)
def _flat_indices_overload(indices):
    if isinstance(indices, types.Integer):
        return lambda indices: np.full(1, indices, np.int64)
    if isinstance(indices, types.Array) and isinstance(indices.dtype, types.Integer):
        return lambda indices: np.ascontiguousarray(indices).reshape(-1)
    if isinstance(indices, (types.List, types.UniTuple)) and \
            isinstance(indices.dtype, types.Integer):
        def impl(indices):
            out = np.empty(len(indices), np.int64)
            for k in range(len(indices)):
                out[k] = indices[k]
            return out
        return impl
    return None


def _index_type(t):
    return isinstance(t, types.Integer) or (
        isinstance(t, (types.Array, types.List, types.UniTuple)) and
        isinstance(t.dtype, types.Integer))


@overload(take_grad, prefer_literal=True)
def _take_grad(g, x, indices, axis=None, mode="raise"):
    how = _mode(mode)
    if not isinstance(x, types.Array) or not _index_type(indices) or how is None:
        return None
    if not (isinstance(g, types.Array) or isinstance(g, types.Float)):
        return None
    code = ("raise", "wrap", "clip").index(how)
    dtype = _with_float(g.dtype if isinstance(g, types.Array) else g)
    scalar = not isinstance(g, types.Array)
    if _no_axis(axis):
        def flat(g, x, indices, axis=None, mode="raise"):
            out = np.zeros(x.shape, dtype)
            into = out.reshape(-1)
            ind = _flat_indices(indices)
            n = into.size
            if scalar:
                for k in range(ind.size):
                    into[_place(ind[k], n, code)] += g
                return out
            gf = np.ascontiguousarray(g).reshape(-1)
            if gf.size != ind.size:
                raise ValueError("take_grad: the adjoint's shape does not match")
            for k in range(ind.size):
                into[_place(ind[k], n, code)] += gf[k]
            return out
        return flat
    if not isinstance(axis, types.Integer) or scalar:
        return None
    nd = x.ndim

    def along(g, x, indices, axis=None, mode="raise"):
        out = np.zeros(x.shape, dtype)
        before, n, after = _three(x.shape, axis % nd)
        o3 = out.reshape((before, n, after))
        ind = _flat_indices(indices)
        m = ind.size
        if g.size != before * m * after:
            raise ValueError("take_grad: the adjoint's shape does not match")
        g3 = np.ascontiguousarray(g).reshape((before, m, after))
        places = np.empty(m, np.int64)
        for j in range(m):
            places[j] = _place(ind[j], n, code)
        for p in range(before):
            for j in range(m):
                row, into = g3[p, j], o3[p, places[j]]
                for q in range(after):
                    into[q] += row[q]
        return out
    return along


@overload(repeat_grad)
def _repeat_grad(g, x, repeats, axis=None):
    if not isinstance(x, types.Array) or not isinstance(g, types.Array):
        return None
    if not (isinstance(repeats, types.Integer) or (
            isinstance(repeats, types.Array) and repeats.ndim == 1 and
            isinstance(repeats.dtype, types.Integer))):
        return None
    dtype = _with_float(g.dtype)
    if _no_axis(axis):
        def flat(g, x, repeats, axis=None):
            counts = np.empty(x.size, np.int64)
            counts[:] = repeats
            return _repeat_sum(g, counts, 1, x.size, 1, dtype).reshape(x.shape)
        return flat
    if not isinstance(axis, types.Integer):
        return None
    nd = x.ndim

    def along(g, x, repeats, axis=None):
        before, n, after = _three(x.shape, axis % nd)
        counts = np.empty(n, np.int64)
        counts[:] = repeats
        return _repeat_sum(g, counts, before, n, after, dtype).reshape(x.shape)
    return along


@register_jitable
def _repeat_sum(g, counts, before, n, after, dtype):
    """The sum of g's copies of each element: g read as (before, sum(counts), after),
    each element's copies added in order from zero (as np.add.at adds them)."""
    total = 0
    for k in range(n):
        if counts[k] < 0:
            raise ValueError("negative dimensions are not allowed")
        total += counts[k]
    if g.size != before * total * after:
        raise ValueError("repeat_grad: the adjoint's shape does not match")
    g3 = np.ascontiguousarray(g).reshape((before, total, after))
    out = np.zeros((before, n, after), dtype)
    for p in range(before):
        j = 0
        for k in range(n):
            into = out[p, k]
            for c in range(counts[k]):
                row = g3[p, j]
                for q in range(after):
                    into[q] += row[q]
                j += 1
    return out


@overload(trace_grad)
def _trace_grad(g, a, offset=0, axis1=0, axis2=1):
    if not (isinstance(a, types.Array) and a.ndim == 2 and isinstance(g, types.Float)):
        return None
    dtype = _with_float(a.dtype)

    def impl(g, a, offset=0, axis1=0, axis2=1):
        k1, k2 = axis1 % 2, axis2 % 2
        if k1 == k2:
            raise ValueError("axis1 and axis2 cannot be the same")
        out = np.zeros(a.shape, dtype)
        r, c = max(-offset, 0), max(offset, 0)
        n = min(a.shape[k1] - r, a.shape[k2] - c)
        for i in range(max(n, 0)):
            if k1 == 0:
                out[r + i, c + i] = g
            else:
                out[c + i, r + i] = g
        return out
    return impl


@overload(prod_grad)
def _prod_grad(g, x, axis=None, keepdims=False):
    if not (_no_axis(axis) and isinstance(x, types.Array) and
            isinstance(x.dtype, (types.Float, types.Integer))):
        return None
    if not (isinstance(g, types.Float) or (isinstance(g, types.Array) and
                                           g.ndim <= x.ndim)):
        return None

    def impl(g, x, axis=None, keepdims=False):
        flat = np.ascontiguousarray(x).reshape(-1)
        n = flat.size
        both = np.ones(n, np.float64)     # left[i] * right[i]: the others' product
        if n > 1:
            left = np.cumprod(flat[:-1])
            right = np.cumprod(flat[::-1][:-1])[::-1]
            for i in range(1, n):
                both[i] = float(left[i - 1])
            for i in range(n - 1):
                both[i] = both[i] * float(right[i])
        return g * both.reshape(x.shape)
    return impl


@overload(norm_grad, prefer_literal=True)
def _norm_grad(g, y, x, ord=None, axis=None, keepdims=False):
    if not (_no_axis(axis) and isinstance(x, types.Array) and
            isinstance(x.dtype, types.Float) and isinstance(g, types.Float) and
            isinstance(y, types.Float)):
        return None
    order = None if _no_axis(ord) else _literal_value(ord)
    if not (_no_axis(ord) or (order == "fro" and x.ndim == 2) or
            (order == 2 and x.ndim == 1)):
        return None           # (only the 2-norm and the Frobenius norm: x̄ = ȳ·x / y)
    g_dtype, y_dtype = as_dtype(g), as_dtype(y)

    def impl(g, y, x, ord=None, axis=None, keepdims=False):
        gx = np.full(x.shape, g, g_dtype) * x
        safe = np.full(x.shape, y if y != 0.0 else 1.0, y_dtype)
        return gx / safe
    return impl


@overload(det_grad)
def _det_grad(g, y, a):
    if not (isinstance(a, types.Array) and a.ndim == 2 and
            isinstance(a.dtype, types.Float) and isinstance(g, types.Float) and
            isinstance(y, types.Float)):
        return None
    # g·y as NumPy types it when g is the Python float seed (a float64 here): y's type
    gy_dtype = as_dtype(y) if g.bitwidth == 64 else np.result_type(as_dtype(g),
                                                                    as_dtype(y))
    gy_type = gy_dtype.type

    def impl(g, y, a):
        gy = np.full((1, 1), gy_type(g * y), gy_dtype)
        return gy * np.ascontiguousarray(_inverse(a).T)
    return impl


@register_jitable
def _inverse(a):
    """a⁻¹ as np.linalg.inv computes it (LAPACK's gesv with the identity: the same
    numbers in float64, where Numba's np.linalg.inv factors and inverts, getri)."""
    n = a.shape[0]
    return np.linalg.solve(np.ascontiguousarray(a), np.eye(n, n, 0, a.dtype))
