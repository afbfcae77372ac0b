"""Splits, stacks, axes, selections and order statistics met in real code: vsplit, hsplit,
dsplit, column_stack, rollaxis, select, partition, median.

Each adjoint rule is followed by its tangent rule (`<name>_dot`); the tangent rules of the
runtime helpers the adjoints call (for forward-over-reverse) close the module.
"""
import numpy as np

from .registry import (CONTAINER, FRESH, FULL_REDUCTION, PURE, READS_CONTAINER, VIEW,
                       defadjoint, deftangent)

from .. import runtime
from ..runtime import (split_grad, column_stack_grads, rollaxis_grad,  # noqa: F401
                       select_grads, select_default_grad, select_default_tangent, tangents_like,
                       partition_grad, partition_tangent, median_grad, median_tangent)


# ---------------------------------------------------------------- splits along a fixed axis
@defadjoint(np.vsplit, props=(CONTAINER, PURE))
def vsplit(y, x, indices_or_sections):
    """ys = vsplit(x, …) = split(x, …, axis=0)  →  x̄ += concatenate(ȳs, axis=0)"""
    x_bar += split_grad(y_bar, x, indices_or_sections, 0)


@deftangent(np.vsplit)
def vsplit_dot(y, x, indices_or_sections):
    """ys = vsplit(x, …)  →  ẏs = vsplit(ẋ, …)"""
    y_dot += np.vsplit(x_dot, indices_or_sections)


@defadjoint(np.hsplit, props=(CONTAINER, PURE))
def hsplit(y, x, indices_or_sections):
    """ys = hsplit(x, …) = split(x, …, axis=1) (axis 0 for a vector)  →  x̄ += concatenate(ȳs)"""
    x_bar += split_grad(y_bar, x, indices_or_sections, 1 if np.ndim(x) > 1 else 0)


@deftangent(np.hsplit)
def hsplit_dot(y, x, indices_or_sections):
    """ys = hsplit(x, …)  →  ẏs = hsplit(ẋ, …)"""
    y_dot += np.hsplit(x_dot, indices_or_sections)


@defadjoint(np.dsplit, props=(CONTAINER, PURE))
def dsplit(y, x, indices_or_sections):
    """ys = dsplit(x, …) = split(x, …, axis=2)  →  x̄ += concatenate(ȳs, axis=2)"""
    x_bar += split_grad(y_bar, x, indices_or_sections, 2)


@deftangent(np.dsplit)
def dsplit_dot(y, x, indices_or_sections):
    """ys = dsplit(x, …)  →  ẏs = dsplit(ẋ, …)"""
    y_dot += np.dsplit(x_dot, indices_or_sections)


# ---------------------------------------------------------------- stacks and axes
@defadjoint(np.column_stack, props=(FRESH, READS_CONTAINER))
def column_stack(y, tup):
    """y = column_stack(xs)  →  x̄ᵢ += the columns of ȳ where xᵢ went (one for a vector)"""
    tup_bar += column_stack_grads(y_bar, tup)


@deftangent(np.column_stack)
def column_stack_dot(y, tup):
    """y = column_stack(xs)  →  ẏ = column_stack(ẋs)"""
    y_dot += np.column_stack(tangents_like(tup_dot, tup))


@defadjoint(np.rollaxis, props=(VIEW, PURE))
def rollaxis(y, a, axis, start=0):
    """y = rollaxis(a, axis, start)  →  ā += ȳ with the rolled axis moved back"""
    a_bar += rollaxis_grad(y_bar, a, axis, start)


@deftangent(np.rollaxis)
def rollaxis_dot(y, a, axis, start=0):
    """y = rollaxis(a, axis, start)  →  ẏ = rollaxis(ȧ, axis, start)"""
    y_dot += np.rollaxis(a_dot, axis, start)


# ---------------------------------------------------------------- selections
@defadjoint(np.select, props=(FRESH, PURE, READS_CONTAINER))
def select(y, condlist, choicelist, default=0):
    """y = select(conds, choices, d)  →  c̄hoiceᵢ += ȳ where condᵢ is the first that holds ;
    d̄ += ȳ where none holds"""
    choicelist_bar += select_grads(y_bar, condlist, choicelist)
    default_bar += select_default_grad(y_bar, condlist, default)


@deftangent(np.select)
def select_dot(y, condlist, choicelist, default=0):
    """y = select(conds, choices, d)  →  ẏ = select(conds, ċhoices, ḋ)"""
    y_dot += np.select(condlist, tangents_like(choicelist_dot, choicelist), 0.0) \
        + np.zeros(np.shape(y))
    y_dot += select_default_tangent(default_dot, condlist, y)


# ---------------------------------------------------------------- order statistics
@defadjoint(np.partition, props=(FRESH, PURE))
def partition(y, a, kth, axis=-1, kind="introselect", order=None):
    """y = partition(x, kth, axis): x's values rearranged  →  x̄ += ȳ scattered back to
    where each value came from"""
    a_bar += partition_grad(y_bar, y, a, axis)


@deftangent(np.partition)
def partition_dot(y, a, kth, axis=-1, kind="introselect", order=None):
    """y = partition(x, kth, axis)  →  ẏ = ẋ rearranged like x"""
    y_dot += partition_tangent(a_dot, y, a, axis)


@defadjoint(np.median, props=(FULL_REDUCTION, FRESH, PURE))
def median(y, a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """y = median(x, axis)  →  x̄ += ȳ at the middle element of each sorted slice (½ each
    at the middle two for an even count)"""
    a_bar += median_grad(y_bar, a, axis, keepdims)


@deftangent(np.median)
def median_dot(y, a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """y = median(x, axis)  →  ẏ = ẋ at the middle element(s), weighted like ȳ"""
    y_dot += median_tangent(a_dot, y, a, axis, keepdims)


# ---------------------------------------------------------------- helpers (forward-over-reverse)
# Each helper is linear in the adjoint it transforms: its tangent is the same helper
# applied to the adjoint's tangent.
@deftangent(runtime.column_stack_grads)
def column_stack_grads_(out, g, xs):
    """outs = column_stack_grads(g, xs)  →  ȯuts = column_stack_grads(ġ, xs)"""
    out_dot += column_stack_grads(g_dot, xs)


@deftangent(runtime.rollaxis_grad)
def rollaxis_grad_(out, g, a, axis, start=0):
    """out = rollaxis_grad(g, a, axis, start)  →  ȯut = rollaxis_grad(ġ, a, axis, start)"""
    out_dot += rollaxis_grad(g_dot, a, axis, start)


@deftangent(runtime.select_grads)
def select_grads_(out, g, condlist, choicelist):
    """outs = select_grads(g, conds, choices)  →  ȯuts = select_grads(ġ, conds, choices)"""
    out_dot += select_grads(g_dot, condlist, choicelist)


@deftangent(runtime.select_default_grad)
def select_default_grad_(out, g, condlist, default):
    """out = select_default_grad(g, conds, d)  →  ȯut = select_default_grad(ġ, conds, d)"""
    out_dot += select_default_grad(g_dot, condlist, default)


@deftangent(runtime.partition_grad)
def partition_grad_(out, g, y, x, axis=-1):
    """out = partition_grad(g, y, x, axis)  →  ȯut = partition_grad(ġ, y, x, axis)"""
    out_dot += partition_grad(g_dot, y, x, axis)


@deftangent(runtime.median_grad)
def median_grad_(out, g, x, axis=None, keepdims=False):
    """out = median_grad(g, x, axis, keepdims)  →  ȯut = median_grad(ġ, x, axis, keepdims)"""
    out_dot += median_grad(g_dot, x, axis, keepdims)
