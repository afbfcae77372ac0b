"""Reductions: sum, mean, prod, max, min, var, std (functions and array methods)."""
from functools import partial
import builtins
import math

import numpy as np

from .registry import FRESH, FULL_REDUCTION, PURE, READS_CONTAINER, defadjoint

from ..runtime import (unreduce, count_reduced, extremum_grad, sum_list_grad,  # noqa: F401
                       accumulated_grad, prod_list_grad, unbroadcast,
                       prod_grad, cumsum_grad, div_or_zero)


# a new array each call; `reduction`s drop `axis=` (every axis by default) of one operand
computed = partial(defadjoint, props=(FRESH, PURE))
reduction = partial(defadjoint, props=(FULL_REDUCTION, FRESH, PURE))


@reduction(np.sum, methods=["sum"])
def sum_(y, x, axis=None, dtype=None, out=None, keepdims=False):
    """y = Σ x  →  x̄ += ȳ broadcast back to x's shape   (none with an integer dtype=)"""
    x_bar += unreduce(y_bar if dtype is None else accumulated_grad(y_bar, dtype), x, axis,
                      keepdims)


@reduction(np.mean, methods=["mean"])
def mean(y, x, axis=None, dtype=None, out=None, keepdims=False):
    """y = mean(x)  →  x̄ += ȳ / n broadcast back to x's shape   (none with an integer
    dtype=)"""
    x_bar += unreduce((y_bar if dtype is None else accumulated_grad(y_bar, dtype))
                      / count_reduced(x, axis), x, axis, keepdims)


@reduction(np.prod, methods=["prod"])
def prod(y, x, axis=None, dtype=None, out=None, keepdims=False):
    """y = Π x  →  x̄ᵢ += ȳ·Π_{j≠i} xⱼ"""
    x_bar += prod_grad(y_bar, x, axis, keepdims)


@reduction(np.max, np.amax, methods=["max"])
def max_(y, x, axis=None, out=None, keepdims=False):
    """y = max(x)  →  x̄ += ȳ at the maximal elements (shared among ties)"""
    x_bar += extremum_grad(y_bar, y, x, axis, keepdims)


@reduction(np.min, np.amin, methods=["min"])
def min_(y, x, axis=None, out=None, keepdims=False):
    """y = min(x)  →  x̄ += ȳ at the minimal elements (shared among ties)"""
    x_bar += extremum_grad(y_bar, y, x, axis, keepdims)


@reduction(np.var, methods=["var"])
def var(y, x, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    """y = mean((x - x̄)²)  →  x̄ += 2ȳ(x - mean(x)) / (n - ddof)"""
    x_bar += 2.0 * unreduce(y_bar, x, axis, keepdims) * (
        x - np.mean(x, axis=axis, keepdims=True)) / (count_reduced(x, axis) - ddof)


@reduction(np.std, methods=["std"])
def std(y, x, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    """y = √var(x)  →  x̄ += ȳ(x - mean(x)) / ((n - ddof)·y)   (0 where y = 0)"""
    x_bar += unreduce(div_or_zero(y_bar, y), x, axis, keepdims) * (
        x - np.mean(x, axis=axis, keepdims=True)) / (count_reduced(x, axis) - ddof)


@computed(builtins.sum, math.fsum, props=(FRESH, PURE, READS_CONTAINER))
def sum_list(y, xs, start=0):
    """y = sum(xs)  →  x̄ᵢ += ȳ for every element"""
    xs_bar += sum_list_grad(y_bar, xs)
    start_bar += y_bar


@computed(math.prod, props=(FRESH, PURE, READS_CONTAINER))
def prod_list(y, xs, *, start=1):
    """y = start·Π xs  →  x̄ᵢ += ȳ·start·Π_{j≠i} xⱼ ;  s̄tart += ȳ·Π xⱼ"""
    xs_bar += prod_list_grad(y_bar, xs, start)
    start_bar += unbroadcast(y_bar * math.prod(xs), start)


@computed(np.cumsum, methods=["cumsum"])
def cumsum(y, x, axis=None):
    """y = cumsum(x)  →  x̄ += reversed cumulative sum of ȳ"""
    x_bar += cumsum_grad(y_bar, x, axis)
