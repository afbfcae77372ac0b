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
                        div_or_zero, is_zero, stop_gradient, check_scalar, unreduce,
                        count_reduced, matmul_left, matmul_right, log_or_zero,
                        pow_base_deriv, add_at, add_grads)

# ---- Numba versions of the runtime helpers (copied by `s2sgrad transform`) ----
from numba import types  # noqa: E402
from numba.extending import overload  # noqa: E402
from numba.np.numpy_support import as_dtype  # noqa: E402


def _float_dtype(t):
    """The NumPy dtype of gradients of an array of Numba element type `t`."""
    return as_dtype(t) if isinstance(t, types.Float) else np.dtype(np.float64)


def _is_number(t):
    return isinstance(t, (types.Float, types.Integer, types.Boolean))


@overload(grad_like)
def _grad_like(g, x):
    if isinstance(x, types.Array):
        dtype = _float_dtype(x.dtype)
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
    if extra == 0:
        def impl(g, x):
            if g.shape == x.shape:
                return np.asarray(g).copy()
            return _sum_to(g, x.shape, extra, nd)
        return impl
    return lambda g, x: _sum_to(g, x.shape, extra, nd)


def _sum_to(g, shape, extra, nd):
    """g summed to `shape`: over its first `extra` axes and the axes where shape is 1."""
    out = np.zeros(shape, g.dtype)
    flat = out.reshape(-1)
    for idx in np.ndindex(g.shape):
        off = 0
        for k in range(nd):
            j = idx[k + extra]
            if shape[k] == 1:
                j = 0
            off = off * shape[k] + j
        flat[off] += g[idx]
    return out


@overload(_sum_to)
def _sum_to_overload(g, shape, extra, nd):
    return _sum_to


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


@overload(unreduce)
def _unreduce(g, x, axis=None, keepdims=False):
    if _is_number(x):
        return lambda g, x, axis=None, keepdims=False: g
    if not isinstance(x, types.Array):
        return None
    if _is_number(g):
        return lambda g, x, axis=None, keepdims=False: np.full(x.shape, g)
    if not isinstance(g, types.Array):
        return None
    if axis is None or isinstance(axis, (types.NoneType, types.Omitted)):
        def impl(g, x, axis=None, keepdims=False):
            out = np.empty(x.shape, g.dtype)
            out[...] = g
            return out
        return impl
    return lambda g, x, axis=None, keepdims=False: _spread(g, x.shape, _axes_of(axis))


@overload(count_reduced)
def _count_reduced(x, axis=None):
    if _is_number(x):
        return lambda x, axis=None: 1
    if not isinstance(x, types.Array):
        return None
    if axis is None or isinstance(axis, (types.NoneType, types.Omitted)):
        return lambda x, axis=None: x.size

    def impl(x, axis=None):
        n = 1
        for a in _axes_of(axis):
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
    """Is the Numba type `t` an index of integers and slices (distinct positions)?"""
    if isinstance(t, (types.Integer, types.SliceType)):
        return True
    return isinstance(t, types.BaseTuple) and all(
        isinstance(e, (types.Integer, types.SliceType)) for e in t.types)


@overload(add_at)
def _add_at(g, x, index, v, in_place=False):
    if not isinstance(x, types.Array) or not _basic_index(index):
        return None
    dtype = _float_dtype(x.dtype)
    if _is_number(g):
        def impl(g, x, index, v, in_place=False):
            out = np.zeros(x.shape, dtype)
            out[index] += v
            return out
        return impl
    if isinstance(g, types.Array) and g.ndim == x.ndim:
        def impl(g, x, index, v, in_place=False):
            if in_place and g.shape == x.shape:
                g[index] += v
                return np.asarray(g)
            out = np.zeros(x.shape, dtype)
            out += g
            out[index] += v
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
