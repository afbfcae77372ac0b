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


_sum_to_compiled = None


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
    if _is_number(a) and _is_number(b):
        return lambda a, b: 0.0 if b == 0 else a / b
    return lambda a, b: np.where(b == 0, 0.0, a / np.where(b == 0, 1.0, b))


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


#: The helpers compiled code can call (the others make the function run as NumPy code).
COMPILED = ("grad_like", "unbroadcast", "zero_grad", "match_shape", "div_or_zero",
            "is_zero", "stop_gradient", "check_scalar")
