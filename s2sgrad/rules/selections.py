"""Splits, stacks, axes, selections and order statistics met in real code: vsplit, hsplit,
dsplit, column_stack, dstack, meshgrid, rollaxis, select, partition, median, ptp,
percentile and quantile; the nan-aware reductions (nansum nanmean nanmax nanmin nanprod
nanvar nanstd), running extremes (maximum.accumulate, minimum.accumulate), the
`reduce` of logaddexp, add, multiply, maximum and minimum (along the first axis by
default), linspace between values and `.tolist()`.

Each adjoint rule is followed by its tangent rule (`<name>_dot`); the tangent rules of the
runtime helpers the adjoints call (for forward-over-reverse) close the module.
"""
import numpy as np

from .registry import (CONTAINER, FRESH, FULL_REDUCTION, PURE, READS_CONTAINER, VIEW,
                       bound, defadjoint, deftangent)

from .. import runtime
from ..runtime import (split_grad, column_stack_grads, rollaxis_grad,  # noqa: F401
                       select_grads, select_default_grad, select_default_tangent, tangents_like,
                       partition_grad, partition_tangent, median_grad, median_tangent,
                       dstack_grads, meshgrid_grad, meshgrid_tangent, quantile_grad,
                       quantile_tangent, count_nonnan, unreduce, extremum_grad,
                       extremum_tangent, prod_grad, prod_tangent, div_or_zero, accumulate_grad,
                       accumulate_tangent, linspace_grad, linspace_tangent, tolist_grad,
                       tolist_tangent)


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


# ---------------------------------------------------------------- more stacks and grids
@defadjoint(np.dstack, props=(FRESH, READS_CONTAINER))
def dstack(y, tup):
    """y = dstack(xs)  →  x̄ᵢ += the depth slices of ȳ where xᵢ went"""
    tup_bar += dstack_grads(y_bar, tup)


@deftangent(np.dstack)
def dstack_dot(y, tup):
    """y = dstack(xs)  →  ẏ = dstack(ẋs)"""
    y_dot += np.dstack(tangents_like(tup_dot, tup))


@defadjoint(np.meshgrid, props=(CONTAINER, FRESH, PURE))
def meshgrid(y, *xi, copy=True, sparse=False, indexing="xy"):
    """ys = meshgrid(x₁, x₂, …, indexing)  →  x̄ₖ += ȳₖ summed over every axis but the one
    xₖ varies along (the first two swapped for indexing='xy')"""
    xi_bar += meshgrid_grad(y_bar, xi, k, indexing)


@deftangent(np.meshgrid)
def meshgrid_dot(y, *xi, copy=True, sparse=False, indexing="xy"):
    """ys = meshgrid(x₁, x₂, …)  →  ẏₖ = ẋₖ spread like yₖ (the other outputs do not move)"""
    y_dot += meshgrid_tangent(xi_dot, y, xi, k, indexing)


# ---------------------------------------------------------------- more order statistics
@defadjoint(np.ptp, props=(FULL_REDUCTION, FRESH, PURE))
def ptp(y, a, axis=None, out=None, keepdims=False):
    """y = max(a) - min(a)  →  ā += ȳ at the maximal elements - ȳ at the minimal ones
    (each shared among ties)"""
    a_bar += extremum_grad(y_bar, np.max(a, axis=axis, keepdims=keepdims), a, axis,
                           keepdims) - extremum_grad(y_bar, np.min(a, axis=axis,
                                                                   keepdims=keepdims),
                                                     a, axis, keepdims)


@deftangent(np.ptp)
def ptp_dot(y, a, axis=None, out=None, keepdims=False):
    """y = max(a) - min(a)  →  ẏ = ȧ at the maximal elements - ȧ at the minimal ones"""
    y_dot += extremum_tangent(a_dot, np.max(a, axis=axis, keepdims=keepdims), a, axis,
                              keepdims) - extremum_tangent(a_dot, np.min(a, axis=axis,
                                                                         keepdims=keepdims),
                                                           a, axis, keepdims)


@defadjoint(np.quantile, props=(FRESH, PURE))
def quantile(y, a, q, axis=None, out=None, overwrite_input=False, method="linear",
             keepdims=False):
    """y = quantile(a, q, axis), method 'linear': the order statistics below and above the
    virtual index (n - 1)·q mixed by its fraction t  →  ā += ȳ·(1 - t) at the one below,
    ȳ·t at the one above   (other methods are refused; q gets no gradient)"""
    a_bar += quantile_grad(y_bar, a, q, axis, keepdims)


@deftangent(np.quantile)
def quantile_dot(y, a, q, axis=None, out=None, overwrite_input=False, method="linear",
                 keepdims=False):
    """y = quantile(a, q, axis)  →  ẏ = ȧ at the two order statistics, weighted 1 - t and t"""
    y_dot += quantile_tangent(a_dot, y, a, q, axis, keepdims)


@defadjoint(np.percentile, props=(FRESH, PURE))
def percentile(y, a, q, axis=None, out=None, overwrite_input=False, method="linear",
               keepdims=False):
    """y = percentile(a, q, axis) = quantile(a, q/100, axis)  →  ā += ȳ·(1 - t) and ȳ·t at
    the two order statistics   (method 'linear' only; q gets no gradient)"""
    a_bar += quantile_grad(y_bar, a, np.true_divide(q, 100.0), axis, keepdims)


@deftangent(np.percentile)
def percentile_dot(y, a, q, axis=None, out=None, overwrite_input=False, method="linear",
                   keepdims=False):
    """y = percentile(a, q, axis)  →  ẏ = ȧ at the two order statistics, weighted 1 - t and t"""
    y_dot += quantile_tangent(a_dot, y, a, np.true_divide(q, 100.0), axis, keepdims)


# ---------------------------------------------------------------- nan-aware reductions
# NaN entries are left out of the reduction, so they get no gradient; the others get
# what they get from the reduction of the entries that are not NaN.
@defadjoint(np.nansum, props=(FULL_REDUCTION, FRESH, PURE))
def nansum(y, a, axis=None, dtype=None, out=None, keepdims=False):
    """y = Σ a over the entries that are not NaN  →  ā += ȳ there, 0 at NaN"""
    a_bar += np.where(np.isnan(a), 0.0, unreduce(y_bar, a, axis, keepdims))


@deftangent(np.nansum)
def nansum_dot(y, a, axis=None, dtype=None, out=None, keepdims=False):
    """y = Σ a over the entries that are not NaN  →  ẏ = Σ ȧ there"""
    y_dot += np.sum(np.where(np.isnan(a), 0.0, a_dot), axis=axis, keepdims=keepdims)


@defadjoint(np.nanmean, props=(FULL_REDUCTION, FRESH, PURE))
def nanmean(y, a, axis=None, dtype=None, out=None, keepdims=False):
    """y = mean of the entries that are not NaN (n of them)  →  ā += ȳ / n there, 0 at NaN"""
    a_bar += np.where(np.isnan(a), 0.0, unreduce(y_bar, a, axis, keepdims) / count_nonnan(
        a, axis))


@deftangent(np.nanmean)
def nanmean_dot(y, a, axis=None, dtype=None, out=None, keepdims=False):
    """y = mean of the entries that are not NaN  →  ẏ = Σ ȧ there / n"""
    y_dot += np.sum(np.where(np.isnan(a), 0.0, a_dot), axis=axis, keepdims=keepdims) \
        / count_nonnan(a, axis, keepdims)


@defadjoint(np.nanmax, props=(FULL_REDUCTION, FRESH, PURE))
def nanmax(y, a, axis=None, out=None, keepdims=False):
    """y = max of the entries that are not NaN  →  ā += ȳ at the maximal ones (shared
    among ties), 0 at NaN"""
    a_bar += extremum_grad(y_bar, y, a, axis, keepdims)


@deftangent(np.nanmax)
def nanmax_dot(y, a, axis=None, out=None, keepdims=False):
    """y = max of the entries that are not NaN  →  ẏ = ȧ at the maximal ones (averaged
    over ties)"""
    y_dot += extremum_tangent(a_dot, y, a, axis, keepdims)


@defadjoint(np.nanmin, props=(FULL_REDUCTION, FRESH, PURE))
def nanmin(y, a, axis=None, out=None, keepdims=False):
    """y = min of the entries that are not NaN  →  ā += ȳ at the minimal ones (shared
    among ties), 0 at NaN"""
    a_bar += extremum_grad(y_bar, y, a, axis, keepdims)


@deftangent(np.nanmin)
def nanmin_dot(y, a, axis=None, out=None, keepdims=False):
    """y = min of the entries that are not NaN  →  ẏ = ȧ at the minimal ones (averaged
    over ties)"""
    y_dot += extremum_tangent(a_dot, y, a, axis, keepdims)


@defadjoint(np.nanprod, props=(FULL_REDUCTION, FRESH, PURE))
def nanprod(y, a, axis=None, dtype=None, out=None, keepdims=False):
    """y = Π a over the entries that are not NaN (NaN counted as 1)  →  āᵢ += ȳ·Π_{j≠i} aⱼ
    there, 0 at NaN"""
    a_bar += np.where(np.isnan(a), 0.0, prod_grad(y_bar, np.where(np.isnan(a), 1.0, a), axis,
                                                  keepdims))


@deftangent(np.nanprod)
def nanprod_dot(y, a, axis=None, dtype=None, out=None, keepdims=False):
    """y = Π a over the entries that are not NaN  →  ẏ = Σᵢ ȧᵢ·Π_{j≠i} aⱼ there"""
    y_dot += prod_tangent(np.where(np.isnan(a), 0.0, a_dot), y, np.where(np.isnan(a), 1.0, a),
                          axis, keepdims)


@defadjoint(np.nanvar, props=(FULL_REDUCTION, FRESH, PURE))
def nanvar(y, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    """y = Σ (a - nanmean(a))² / (n - ddof) over the n entries that are not NaN  →
    ā += 2ȳ(a - nanmean(a)) / (n - ddof) there, 0 at NaN"""
    a_bar += np.where(np.isnan(a), 0.0, 2.0 * unreduce(y_bar, a, axis, keepdims) * (
        a - np.nanmean(a, axis=axis, keepdims=True)) / (count_nonnan(a, axis) - ddof))


@deftangent(np.nanvar)
def nanvar_dot(y, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    """y = Σ (a - nanmean(a))² / (n - ddof)  →  ẏ = 2·Σ ȧ·(a - nanmean(a)) / (n - ddof)
    over the entries that are not NaN"""
    y_dot += 2.0 * np.sum(np.where(np.isnan(a), 0.0, a_dot * (
        a - np.nanmean(a, axis=axis, keepdims=True))), axis=axis, keepdims=keepdims) \
        / (count_nonnan(a, axis, keepdims) - ddof)


@defadjoint(np.nanstd, props=(FULL_REDUCTION, FRESH, PURE))
def nanstd(y, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    """y = √nanvar(a)  →  ā += ȳ(a - nanmean(a)) / ((n - ddof)·y) at the entries that are
    not NaN (0 where y = 0), 0 at NaN"""
    a_bar += np.where(np.isnan(a), 0.0, unreduce(div_or_zero(y_bar, y), a, axis, keepdims) * (
        a - np.nanmean(a, axis=axis, keepdims=True)) / (count_nonnan(a, axis) - ddof))


@deftangent(np.nanstd)
def nanstd_dot(y, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    """y = √nanvar(a)  →  ẏ = Σ ȧ·(a - nanmean(a)) / ((n - ddof)·y) over the entries that
    are not NaN   (0 where y = 0)"""
    y_dot += div_or_zero(np.sum(np.where(np.isnan(a), 0.0, a_dot * (
        a - np.nanmean(a, axis=axis, keepdims=True))), axis=axis, keepdims=keepdims),
        (count_nonnan(a, axis, keepdims) - ddof) * y)


# ---------------------------------------------------------------- ufunc methods
@defadjoint(bound(np.maximum, "accumulate"), props=(FRESH, PURE))
def maximum_accumulate(y, array, axis=0, dtype=None, out=None):
    """yⱼ = max(x₀ … xⱼ) along axis  →  x̄ᵢ += Σ ȳⱼ over the j whose running maximum is xᵢ
    (ties stay with the earlier element)"""
    array_bar += accumulate_grad(y_bar, array, axis, True)


@deftangent(bound(np.maximum, "accumulate"))
def maximum_accumulate_dot(y, array, axis=0, dtype=None, out=None):
    """yⱼ = max(x₀ … xⱼ)  →  ẏⱼ = ẋ of the element yⱼ is"""
    y_dot += accumulate_tangent(array_dot, array, axis, True)


@defadjoint(bound(np.minimum, "accumulate"), props=(FRESH, PURE))
def minimum_accumulate(y, array, axis=0, dtype=None, out=None):
    """yⱼ = min(x₀ … xⱼ) along axis  →  x̄ᵢ += Σ ȳⱼ over the j whose running minimum is xᵢ
    (ties stay with the earlier element)"""
    array_bar += accumulate_grad(y_bar, array, axis, False)


@deftangent(bound(np.minimum, "accumulate"))
def minimum_accumulate_dot(y, array, axis=0, dtype=None, out=None):
    """yⱼ = min(x₀ … xⱼ)  →  ẏⱼ = ẋ of the element yⱼ is"""
    y_dot += accumulate_tangent(array_dot, array, axis, False)


@defadjoint(bound(np.logaddexp, "reduce"), props=(FULL_REDUCTION, FRESH, PURE))
def logaddexp_reduce(y, array, axis=0, dtype=None, out=None, keepdims=False):
    """y = ln Σ exp(x) along axis  →  x̄ += ȳ·exp(x - y)"""
    array_bar += unreduce(y_bar, array, axis, keepdims) * np.exp(
        array - np.logaddexp.reduce(array, axis=axis, keepdims=True))


@deftangent(bound(np.logaddexp, "reduce"))
def logaddexp_reduce_dot(y, array, axis=0, dtype=None, out=None, keepdims=False):
    """y = ln Σ exp(x) along axis  →  ẏ = Σ ẋ·exp(x - y)"""
    y_dot += np.sum(array_dot * np.exp(array - np.logaddexp.reduce(array, axis=axis,
                                                                   keepdims=True)),
                    axis=axis, keepdims=keepdims)


@defadjoint(bound(np.add, "reduce"), props=(FULL_REDUCTION, FRESH, PURE))
def add_reduce(y, array, axis=0, dtype=None, out=None, keepdims=False):
    """y = Σ x along axis (the first by default)  →  x̄ += ȳ broadcast back"""
    array_bar += unreduce(y_bar, array, axis, keepdims)


@deftangent(bound(np.add, "reduce"))
def add_reduce_dot(y, array, axis=0, dtype=None, out=None, keepdims=False):
    """y = Σ x along axis  →  ẏ = Σ ẋ"""
    y_dot += np.sum(array_dot, axis=axis, keepdims=keepdims)


@defadjoint(bound(np.multiply, "reduce"), props=(FULL_REDUCTION, FRESH, PURE))
def multiply_reduce(y, array, axis=0, dtype=None, out=None, keepdims=False):
    """y = Π x along axis (the first by default)  →  x̄ᵢ += ȳ·Π_{j≠i} xⱼ"""
    array_bar += prod_grad(y_bar, array, axis, keepdims)


@deftangent(bound(np.multiply, "reduce"))
def multiply_reduce_dot(y, array, axis=0, dtype=None, out=None, keepdims=False):
    """y = Π x along axis  →  ẏ = Σᵢ ẋᵢ·Π_{j≠i} xⱼ"""
    y_dot += prod_tangent(array_dot, y, array, axis, keepdims)


@defadjoint(bound(np.maximum, "reduce"), bound(np.minimum, "reduce"),
            props=(FULL_REDUCTION, FRESH, PURE))
def extremum_reduce(y, array, axis=0, out=None, keepdims=False):
    """y = max (min) of x along axis (the first by default)  →  x̄ += ȳ at the extremal
    elements (shared among ties)"""
    array_bar += extremum_grad(y_bar, y, array, axis, keepdims)


@deftangent(bound(np.maximum, "reduce"), bound(np.minimum, "reduce"))
def extremum_reduce_dot(y, array, axis=0, out=None, keepdims=False):
    """y = max (min) of x along axis  →  ẏ = ẋ at the extremal elements (averaged over
    ties)"""
    y_dot += extremum_tangent(array_dot, y, array, axis, keepdims)


# ---------------------------------------------------------------- values between values
@defadjoint(np.linspace, props=(FRESH, PURE))
def linspace(y, start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """y = start + t·(stop - start), t = i/(num - 1) (i/num without the endpoint)  →
    s̄tart += Σ ȳ·(1 - t) ;  s̄top += Σ ȳ·t   (num gets no gradient; retstep is refused)"""
    start_bar += linspace_grad(y_bar, start, stop, num, endpoint, axis, True)
    stop_bar += linspace_grad(y_bar, start, stop, num, endpoint, axis, False)


@deftangent(np.linspace)
def linspace_dot(y, start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """y = start·(1 - t) + stop·t  →  ẏ = ṡtart·(1 - t) + ṡtop·t"""
    y_dot += linspace_tangent(start_dot, start, stop, num, endpoint, axis, True)
    y_dot += linspace_tangent(stop_dot, start, stop, num, endpoint, axis, False)


@defadjoint(methods=["tolist"], props=(CONTAINER, FRESH))
def tolist(y, x):
    """y = x.tolist(), nested lists of numbers  →  x̄ += the lists' adjoints as an array"""
    x_bar += tolist_grad(y_bar, x)


@deftangent(methods=["tolist"])
def tolist_dot(y, x):
    """y = x.tolist()  →  ẏ = ẋ.tolist()"""
    y_dot += tolist_tangent(x_dot, x)


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


@deftangent(runtime.dstack_grads)
def dstack_grads_(out, g, xs):
    """outs = dstack_grads(g, xs)  →  ȯuts = dstack_grads(ġ, xs)"""
    out_dot += dstack_grads(g_dot, xs)


@deftangent(runtime.meshgrid_grad)
def meshgrid_grad_(out, g, xs, k, indexing="xy"):
    """out = meshgrid_grad(g, xs, k, indexing)  →  ȯut = meshgrid_grad(ġ, xs, k, indexing)"""
    out_dot += meshgrid_grad(g_dot, xs, k, indexing)


@deftangent(runtime.quantile_grad)
def quantile_grad_(out, g, a, q, axis=None, keepdims=False):
    """out = quantile_grad(g, a, q, axis, keepdims)  →  ȯut = quantile_grad(ġ, a, q, …)
    (the order is piecewise constant in a)"""
    out_dot += quantile_grad(g_dot, a, q, axis, keepdims)


@deftangent(runtime.accumulate_grad)
def accumulate_grad_(out, g, x, axis=0, larger=True):
    """out = accumulate_grad(g, x, axis)  →  ȯut = accumulate_grad(ġ, x, axis)
    (which element is the running extreme is piecewise constant in x)"""
    out_dot += accumulate_grad(g_dot, x, axis, larger)


@deftangent(runtime.linspace_grad)
def linspace_grad_(out, g, start, stop, num=50, endpoint=True, axis=0, first=True):
    """out = linspace_grad(g, start, stop, …)  →  ȯut = linspace_grad(ġ, start, stop, …)
    (the weights depend on num and endpoint only)"""
    out_dot += linspace_grad(g_dot, start, stop, num, endpoint, axis, first)


@deftangent(runtime.tolist_grad)
def tolist_grad_(out, g, x):
    """out = tolist_grad(g, x)  →  ȯut = tolist_grad(ġ, x)"""
    out_dot += tolist_grad(g_dot, x)
