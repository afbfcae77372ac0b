"""Triangles, padding, axes and along-axis selections: tril, triu, pad, swapaxes, moveaxis,
fliplr, flipud, rot90, take_along_axis, sliding_window_view; np.add.at (`scatter_add`).

Each adjoint rule is followed by its tangent rule (`<name>_dot`); the tangent rules of the
runtime helpers the adjoints call (for forward-over-reverse) close the module.
"""
from functools import partial
import numpy as np

from .registry import FRESH, PURE, VIEW, defadjoint, deftangent

from .. import runtime
from ..runtime import (tril_grad, triu_grad, pad_grad, pad_tangent,  # noqa: F401
                       pad_values_grad, pad_values_tangent, swapaxes_grad, moveaxis_grad,
                       rot90_grad, flip_grad, take_along_axis_grad, sliding_window_grad,
                       scatter_add_grad_v, scatter_add_tangent)


# results that share the operand's memory
view = partial(defadjoint, props=VIEW)


# ---------------------------------------------------------------- triangles
@defadjoint(np.tril, props=FRESH)
def tril(y, m, k=0):
    """y = tril(m, k)  →  m̄ += tril(ȳ, k)"""
    m_bar += tril_grad(y_bar, m, k)


@deftangent(np.tril)
def tril_dot(y, m, k=0):
    """y = tril(m, k)  →  ẏ = tril(ṁ, k)"""
    y_dot += np.tril(m_dot, k)


@defadjoint(np.triu, props=FRESH)
def triu(y, m, k=0):
    """y = triu(m, k)  →  m̄ += triu(ȳ, k)"""
    m_bar += triu_grad(y_bar, m, k)


@deftangent(np.triu)
def triu_dot(y, m, k=0):
    """y = triu(m, k)  →  ẏ = triu(ṁ, k)"""
    y_dot += np.triu(m_dot, k)


# ---------------------------------------------------------------- padding
@defadjoint(np.pad, props=FRESH)
def pad(y, array, pad_width, mode="constant", constant_values=0, **options):
    """y = pad(x, pad_width, constant_values=c)  →  x̄ += ȳ without the padding ;
    c̄ += Σ ȳ over the padding   (mode 'constant' only: the template does not read
    `mode`, so any other mode is refused where the call is compiled)"""
    array_bar += pad_grad(y_bar, array, pad_width)
    constant_values_bar += pad_values_grad(y_bar, array, pad_width, constant_values)


@deftangent(np.pad)
def pad_dot(y, array, pad_width, mode="constant", constant_values=0, **options):
    """y = pad(x, pad_width, constant_values=c)  →  ẏ = pad(ẋ) + ċ on the padding"""
    y_dot += pad_tangent(array_dot, pad_width)
    y_dot += pad_values_tangent(constant_values_dot, array, pad_width)


# ---------------------------------------------------------------- axes
@view(np.swapaxes, methods=["swapaxes"])
def swapaxes(y, a, axis1, axis2):
    """y = swapaxes(a, i, j)  →  ā += swapaxes(ȳ, i, j)"""
    a_bar += swapaxes_grad(y_bar, axis1, axis2)


@deftangent(np.swapaxes, methods=["swapaxes"])
def swapaxes_dot(y, a, axis1, axis2):
    """y = swapaxes(a, i, j)  →  ẏ = swapaxes(ȧ, i, j)"""
    y_dot += np.swapaxes(a_dot, axis1, axis2)


@view(np.moveaxis)
def moveaxis(y, a, source, destination):
    """y = moveaxis(a, src, dst)  →  ā += moveaxis(ȳ, dst, src)"""
    a_bar += moveaxis_grad(y_bar, source, destination)


@deftangent(np.moveaxis)
def moveaxis_dot(y, a, source, destination):
    """y = moveaxis(a, src, dst)  →  ẏ = moveaxis(ȧ, src, dst)"""
    y_dot += np.moveaxis(a_dot, source, destination)


@view(np.fliplr)
def fliplr(y, m):
    """y = fliplr(m) = flip(m, 1)  →  m̄ += flip(ȳ, 1)"""
    m_bar += flip_grad(y_bar, 1)


@deftangent(np.fliplr)
def fliplr_dot(y, m):
    """y = fliplr(m)  →  ẏ = fliplr(ṁ)"""
    y_dot += np.fliplr(m_dot)


@view(np.flipud)
def flipud(y, m):
    """y = flipud(m) = flip(m, 0)  →  m̄ += flip(ȳ, 0)"""
    m_bar += flip_grad(y_bar, 0)


@deftangent(np.flipud)
def flipud_dot(y, m):
    """y = flipud(m)  →  ẏ = flipud(ṁ)"""
    y_dot += np.flipud(m_dot)


@view(np.rot90)
def rot90(y, m, k=1, axes=(0, 1)):
    """y = rot90(m, k, axes)  →  m̄ += rot90(ȳ, -k, axes)"""
    m_bar += rot90_grad(y_bar, k, axes)


@deftangent(np.rot90)
def rot90_dot(y, m, k=1, axes=(0, 1)):
    """y = rot90(m, k, axes)  →  ẏ = rot90(ṁ, k, axes)"""
    y_dot += np.rot90(m_dot, k, axes)


# ---------------------------------------------------------------- selections
@defadjoint(np.take_along_axis, props=FRESH)
def take_along_axis(y, arr, indices, axis=-1):
    """y = take_along_axis(x, indices, axis)  →  x̄ += ȳ added back where it was read
    (repeated indices accumulate)"""
    arr_bar += take_along_axis_grad(y_bar, arr, indices, axis)


@deftangent(np.take_along_axis)
def take_along_axis_dot(y, arr, indices, axis=-1):
    """y = take_along_axis(x, indices, axis)  →  ẏ = take_along_axis(ẋ, indices, axis)"""
    y_dot += np.take_along_axis(arr_dot, indices, axis)


# ---------------------------------------------------------------- helpers (forward-over-reverse)
# Each helper is linear in the adjoint it transforms: its tangent is the same helper
# applied to the adjoint's tangent.
# ---------------------------------------------------------------- windows
@view(np.lib.stride_tricks.sliding_window_view)
def sliding_window_view(y, x, window_shape, axis=None, subok=False, writeable=False):
    """y = sliding_window_view(x, w, axis)  →  x̄ += Σ over windows of ȳ, each added back
    where it was read (a read-only view: writeable=True is refused where it is called)"""
    x_bar += sliding_window_grad(y_bar, x, window_shape, axis)


@deftangent(np.lib.stride_tricks.sliding_window_view)
def sliding_window_view_dot(y, x, window_shape, axis=None, subok=False, writeable=False):
    """y = sliding_window_view(x, w, axis)  →  ẏ = sliding_window_view(ẋ, w, axis)"""
    y_dot += np.lib.stride_tricks.sliding_window_view(x_dot, window_shape, axis)


@deftangent(runtime.tril_grad)
def tril_grad_(out, g, m, k=0):
    """out = tril_grad(g, m, k)  →  ȯut = tril_grad(ġ, m, k)"""
    out_dot += tril_grad(g_dot, m, k)


@deftangent(runtime.triu_grad)
def triu_grad_(out, g, m, k=0):
    """out = triu_grad(g, m, k)  →  ȯut = triu_grad(ġ, m, k)"""
    out_dot += triu_grad(g_dot, m, k)


@deftangent(runtime.pad_grad)
def pad_grad_(out, g, array, pad_width, mode="constant"):
    """out = pad_grad(g, x, pad_width, mode)  →  ȯut = pad_grad(ġ, x, pad_width, mode)"""
    out_dot += pad_grad(g_dot, array, pad_width, mode)


@deftangent(runtime.pad_values_grad)
def pad_values_grad_(out, g, array, pad_width, constant_values=0):
    """out = pad_values_grad(g, x, pad_width, c)  →  ȯut = pad_values_grad(ġ, x, pad_width, c)"""
    out_dot += pad_values_grad(g_dot, array, pad_width, constant_values)


@deftangent(runtime.swapaxes_grad)
def swapaxes_grad_(out, g, axis1, axis2):
    """out = swapaxes_grad(g, i, j)  →  ȯut = swapaxes_grad(ġ, i, j)"""
    out_dot += swapaxes_grad(g_dot, axis1, axis2)


@deftangent(runtime.moveaxis_grad)
def moveaxis_grad_(out, g, source, destination):
    """out = moveaxis_grad(g, src, dst)  →  ȯut = moveaxis_grad(ġ, src, dst)"""
    out_dot += moveaxis_grad(g_dot, source, destination)


@deftangent(runtime.rot90_grad)
def rot90_grad_(out, g, k=1, axes=(0, 1)):
    """out = rot90_grad(g, k, axes)  →  ȯut = rot90_grad(ġ, k, axes)"""
    out_dot += rot90_grad(g_dot, k, axes)


@deftangent(runtime.take_along_axis_grad)
def take_along_axis_grad_(out, g, arr, indices, axis=-1):
    """out = take_along_axis_grad(g, x, indices, axis)  →  ȯut = take_along_axis_grad(ġ, …)"""
    out_dot += take_along_axis_grad(g_dot, arr, indices, axis)


@deftangent(runtime.flip_grad)
def flip_grad_(out, g, axis=None):
    """out = flip_grad(g, axis)  →  ȯut = flip_grad(ġ, axis)"""
    out_dot += flip_grad(g_dot, axis)


@deftangent(runtime.sliding_window_grad)
def sliding_window_grad_(out, g, x, window_shape, axis=None):
    """out = sliding_window_grad(g, x, w, axis)  →  ȯut = sliding_window_grad(ġ, …)"""
    out_dot += sliding_window_grad(g_dot, x, window_shape, axis)


# ---------------------------------------------------------------- np.add.at
@defadjoint(runtime.scatter_add, props=(FRESH, PURE))
def scatter_add(out, y, index, v, sign=1):
    """out = y with v added at y[index] (`np.add.at`, written back into y)  →  ȳ += ōut ;
    v̄ += ōut[index] (each occurrence of a repeated index)"""
    y_bar += out_bar
    v_bar += scatter_add_grad_v(out_bar, index, v, sign)


@deftangent(runtime.scatter_add)
def scatter_add_dot(out, y, index, v, sign=1):
    """out = scatter_add(y, index, v)  →  ȯut = ẏ + scatter_add(0, index, v̇)"""
    out_dot += scatter_add_tangent(y_dot, out, index, 0.0, sign)
    out_dot += scatter_add_tangent(0.0, out, index, v_dot, sign)


@deftangent(runtime.scatter_add_grad_v)
def scatter_add_grad_v_dot(out, g, index, v, sign=1):
    """out = scatter_add_grad_v(g, index, v)  →  ȯut = scatter_add_grad_v(ġ, index, v)"""
    out_dot += scatter_add_grad_v(g_dot, index, v, sign)
