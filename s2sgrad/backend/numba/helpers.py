"""The runtime helpers of generated code, for Numba's nopython mode.

The NumPy helpers (`s2sgrad.runtime`) look at the types of their arguments while they
run (`type(x) is np.ndarray`); compiled code knows those types when it is compiled.
Each helper here is a plain Python function (the NumPy behaviour, used when it is called
from Python) with a Numba `overload` that picks the implementation for the argument
types once, at compile time. Only the helpers listed in `COMPILED` exist in compiled
code; generated code calling any other helper runs as NumPy code (with a warning that
names it).

This file is self-contained (NumPy, math, Numba): `s2sgrad transform --backend numba`
copies it into the module it writes.
"""
import math

import numpy as np
from numba import types
from numba.extending import overload
from numba.np.numpy_support import as_dtype


def _float_dtype(t):
    """The NumPy dtype of gradients of an array of Numba element type `t`."""
    return as_dtype(t) if isinstance(t, types.Float) else np.dtype(np.float64)


def _is_number(t):
    return isinstance(t, (types.Float, types.Integer, types.Boolean))


def grad_like(g, x):
    """The adjoint `g` converted to the type, shape and dtype of its argument `x`."""
    if isinstance(x, np.ndarray):
        out = np.asarray(g, dtype=_float_dtype_of(x))
        return np.broadcast_to(out, x.shape).copy() if out.shape != x.shape else out
    return float(np.sum(g))


def _float_dtype_of(x):
    return x.dtype if x.dtype.kind in "fc" else np.float64


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


def unbroadcast(g, x):
    """Sum the adjoint `g` over the axes along which `x` was broadcast."""
    xs, gs = np.shape(x), np.shape(g)
    if gs == xs:
        return g
    if not xs:
        return np.sum(g)
    extra = len(gs) - len(xs)
    if extra > 0:
        g = np.sum(g, axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(xs) if n == 1 and np.shape(g)[i] != 1)
    return np.sum(g, axis=axes, keepdims=True) if axes else g


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


def zero_grad(x):
    """A zero adjoint with the structure of `x`."""
    if isinstance(x, np.ndarray):
        return np.zeros(x.shape, _float_dtype_of(x))
    return 0.0


@overload(zero_grad)
def _zero_grad(x):
    if isinstance(x, types.Array):
        dtype = _float_dtype(x.dtype)
        return lambda x: np.zeros(x.shape, dtype)
    if _is_number(x):
        return lambda x: 0.0
    return None


def match_shape(t, y):
    """A tangent broadcast to the shape of the value `y` it belongs to."""
    if np.shape(t) == np.shape(y):
        return t
    return np.broadcast_to(t, np.shape(y))


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


def div_or_zero(a, b):
    """a / b, and 0 where b is 0 (the adjoint of a quotient whose output was zero)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b == 0, 0.0, a / np.where(b == 0, 1.0, b))


@overload(div_or_zero)
def _div_or_zero(a, b):
    if _is_number(b):
        def impl(a, b):
            if b != 0:
                return a / b
            return 0.0 * a
        return impl
    return lambda a, b: np.where(b != 0, a / np.where(b == 0, 1.0, b), 0.0 * a)


def is_zero(g):
    """Whether `g` is the zero adjoint `0.0`."""
    return np.ndim(g) == 0 and g == 0.0


@overload(is_zero)
def _is_zero(g):
    if _is_number(g):
        return lambda g: g == 0.0
    if isinstance(g, types.Array):
        return lambda g: False
    return None


def stop_gradient(x):
    """Identity in the forward pass; no gradient flows through it."""
    return x


@overload(stop_gradient)
def _stop_gradient(x):
    return lambda x: x


def check_scalar(y):
    """The value of a function whose gradient is asked for must be one number."""
    return y


@overload(check_scalar)
def _check_scalar(y):
    if _is_number(y):
        return lambda y: y
    return None


def unreduce(g, x, axis=None, keepdims=False):
    """Broadcast the adjoint of a reduction over `axis` back to the shape of `x`."""
    shape = np.shape(x)
    if axis is None or np.ndim(g) == 0:
        return np.full(shape, g) if np.ndim(g) == 0 else np.broadcast_to(g, shape)
    if not keepdims:
        axes = (axis,) if isinstance(axis, int) else tuple(axis)
        g = np.expand_dims(g, tuple(a % len(shape) for a in axes))
    return np.broadcast_to(g, shape)


def _axes_of(axis):
    return axis


@overload(_axes_of)
def _axes_of_overload(axis):
    if isinstance(axis, types.Integer):
        return lambda axis: (axis,)
    if isinstance(axis, types.BaseTuple):
        return lambda axis: axis
    return None


def _spread(g, shape, axes):
    """The array of `shape` whose elements are those of `g`, the reduction over `axes`
    (with or without its kept axes of size 1), repeated along them."""
    nd = len(shape)
    reduced = np.zeros(nd, np.bool_)
    for a in axes:
        reduced[a % nd] = True
    gflat = np.ascontiguousarray(g).reshape(-1)
    out = np.empty(shape, gflat.dtype)
    flat = out.reshape(-1)
    for i in range(flat.size):
        rest, off, stride = i, 0, 1
        for k in range(nd - 1, -1, -1):
            j = rest % shape[k]
            rest //= shape[k]
            if not reduced[k]:
                off += j * stride
                stride *= shape[k]
        flat[i] = gflat[off]
    return out


@overload(_spread)
def _spread_overload(g, shape, axes):
    return _spread


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


def count_reduced(x, axis=None):
    """How many elements a reduction over `axis` combines."""
    shape = np.shape(x)
    if axis is None:
        return math.prod(shape)
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    return math.prod(shape[a] for a in axes)


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


def matmul_left(g, b, a):
    """Adjoint of `a` in y = a @ b (vectors and matrices)."""
    if np.ndim(b) == 1:
        return g * b if np.ndim(a) == 1 else np.outer(g, b)
    return b @ g if np.ndim(a) == 1 else g @ b.T


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


def matmul_right(g, a, b):
    """Adjoint of `b` in y = a @ b (vectors and matrices)."""
    if np.ndim(a) == 1:
        return g * a if np.ndim(b) == 1 else np.outer(a, g)
    return a.T @ g


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


def log_or_zero(a):
    """ln a, and 0 where a = 0."""
    return np.log(np.where(np.equal(a, 0), 1.0, a))


@overload(log_or_zero)
def _log_or_zero(a):
    if _is_number(a):
        return lambda a: math.log(a) if a != 0 else 0.0
    if isinstance(a, types.Array):
        return lambda a: np.log(np.where(a == 0, 1.0, a))
    return None


def pow_base_deriv(a, b):
    """∂(aᵇ)/∂a = b·aᵇ⁻¹, and 0 where b = 0."""
    return np.where(np.equal(b, 0), 0.0, b * np.power(a, np.where(np.equal(b, 0), 1.0,
                                                                  b - 1.0)))


@overload(pow_base_deriv)
def _pow_base_deriv(a, b):
    if _is_number(b) and (_is_number(a) or isinstance(a, types.Array)):
        def impl(a, b):
            if b == 0:
                return 0.0 * a
            return b * np.power(a, b - 1.0)
        return impl
    return None


#: The helpers compiled code can call (the others make the function run as NumPy code).
COMPILED = ("grad_like", "unbroadcast", "zero_grad", "match_shape", "div_or_zero",
            "is_zero", "stop_gradient", "check_scalar", "unreduce", "count_reduced",
            "matmul_left", "matmul_right", "log_or_zero", "pow_base_deriv")
