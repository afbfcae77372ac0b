"""Shapes and indexing: transpose, reshape, squeeze, slicing, integer-array reads;
tile, repeat, diff, roll, sort, take and `.item()`."""
from functools import partial
import builtins

import numpy as np

from .registry import (CONTAINER, FRESH, HOLDS_OPERANDS, PURE, READS_CONTAINER, VIEW,
                       defadjoint, nondifferentiable)

from ..runtime import (add_at, getitem_grad, transpose_grad, split_grad, unreshape,  # noqa: F401
                       unreshape_order, reshape_order,
                       flip_grad, roll_grad, copy_grad, index_concat_grad, cast_grad)


# rearrangements: the same operands give an equal result; `view`s share x's memory
pure = partial(defadjoint, props=PURE)
view = partial(defadjoint, props=(VIEW, PURE))
fresh = partial(defadjoint, props=(FRESH, PURE))


@view(ops=["getitem"], props=(VIEW, PURE, READS_CONTAINER))
def getitem(y, x, index):
    """y = x[index]  →  x̄[index] += ȳ   (repeated indices accumulate)"""
    x_bar = add_at(x_bar, x, index, y_bar)


@pure(ops=["index_concat"])
def index_concat(y, maker, index, *items):
    """y = np.r_[a, b, …] or np.c_[a, b, …]  →  each item's adjoint is its block of ȳ"""
    items_bar += index_concat_grad(y_bar, maker, index, k)


@view(np.transpose, methods=["transpose"])
def transpose(y, x, *order, axes=None):
    """y = transpose(x, axes)  →  x̄ += transpose(ȳ, inverse of axes)"""
    x_bar += transpose_grad(y_bar, order if axes is None else (axes,))


@view(attributes=["T"])
def T(y, x):
    """y = x.T  →  x̄ += ȳ.T"""
    x_bar += transpose_grad(y_bar)


nondifferentiable(reshape_order)      # a string: which index order
_ORDER = {np.reshape: {2: "order"}, np.ravel: {1: "order"}, ".ravel": {1: "order"},
          ".flatten": {1: "order"}}


@view(np.reshape, np.ravel, np.squeeze, np.expand_dims,
            methods=["reshape", "ravel", "flatten", "squeeze"],
            keywords=("newshape", "shape", "axis", "copy"), positional=_ORDER)
def reshape(y, x, *shape, order=None, **options):
    """y = reshape(x, shape, order)  →  x̄ += reshape(ȳ, shape of x, order)"""
    x_bar += unreshape(y_bar, x) if order is None else unreshape_order(y_bar, x, order)


@view(np.atleast_1d, np.atleast_2d, np.atleast_3d)
def atleast(y, x):
    """y = atleast_nd(x), x with axes of length 1 added  →  x̄ += reshape(ȳ, shape of x)
    (one array: atleast_2d(a, b) returns a list and is refused)"""
    x_bar += unreshape(y_bar, x)


@view(np.broadcast_to)
def broadcast_to(y, x, shape):
    """y = broadcast_to(x, shape)  →  x̄ += ȳ summed over the broadcast axes"""
    x_bar += unbroadcast(y_bar, x)


_COPY_OPTIONS = ("copy", "order", "subok", "like", "casting")


#: np.astype(x, dtype) (NumPy ≥ 2.1), x.astype(dtype) as a function, if NumPy has it
ASTYPE = tuple(f for f in (getattr(np, "astype", None),) if f is not None)


@defadjoint(np.array, np.copy, *ASTYPE,
            methods=["copy", "astype"], keywords=_COPY_OPTIONS, props=(FRESH, READS_CONTAINER),
            positional={np.array: {1: "dtype"}, ".astype": {1: "dtype"},
                        np.copy: {1: "order"}, ".copy": {1: "order"},
                        **{f: {1: "dtype"} for f in ASTYPE}})
def copy(y, x, *options, dtype=None, **keywords):
    """y = array(x)  →  x̄ += ȳ   (lists of floats get a list adjoint; a cast to an
    integer or boolean dtype passes no gradient)"""
    x_bar += copy_grad(y_bar, x) if dtype is None else cast_grad(y_bar, x, y)


# np.asarray(x), np.float64(x) are x itself when x is already such an array: the same
# rule, declared a view
defadjoint(np.asarray, np.asanyarray, np.float64, np.float32, keywords=_COPY_OPTIONS, props=(VIEW, READS_CONTAINER),
           positional={np.asarray: {1: "dtype"}, np.asanyarray: {1: "dtype"}})(copy)
# list(x), tuple(x) are new containers of x's own elements (the rows of an array are views
# of it): they hold what x holds, for the aliasing analysis
defadjoint(builtins.list, builtins.tuple, props=(FRESH, READS_CONTAINER, HOLDS_OPERANDS))(copy)


@pure(np.split, np.array_split, props=(CONTAINER, PURE))
def split(y, x, indices_or_sections, axis=0):
    """ys = split(x, …)  →  x̄ += concatenate(ȳs)"""
    x_bar += split_grad(y_bar, x, indices_or_sections, axis)


from ..runtime import unbroadcast  # noqa: E402,F401


@view(np.flip)
def flip(y, x, axis=None):
    """y = flip(x, axis)  →  x̄ += flip(ȳ, axis)"""
    x_bar += flip_grad(y_bar, axis)


# ---------------------------------------------------------------- copies and selections
from ..runtime import (tile_grad, repeat_grad, diff_grad, diff_end_grad,  # noqa: E402,F401
                       sort_grad, take_grad, item_grad)


@fresh(np.tile)
def tile(y, x, reps):
    """y = tile(x, reps)  →  x̄ += Σ over the copies of ȳ"""
    x_bar += tile_grad(y_bar, x, reps)


@fresh(np.repeat, methods=["repeat"])
def repeat(y, x, repeats, axis=None):
    """y = repeat(x, repeats, axis)  →  x̄ᵢ += Σ ȳ over the copies of xᵢ"""
    x_bar += repeat_grad(y_bar, x, repeats, axis)


@fresh(np.diff)   # (n=0 returns x itself: `analyses._may_return_operand`)
def diff(y, x, n=1, axis=-1, prepend=None, append=None):
    """yᵢ = xᵢ₊₁ - xᵢ (n times, along axis)  →  x̄ᵢ += ȳᵢ₋₁ - ȳᵢ (n times);
    with prepend/append, x is [prepend, x, append] (a number broadcast to one slice of
    x's shape) and each of the three gets its part of that adjoint"""
    x_bar += diff_grad(y_bar, x, n, axis, prepend=prepend, append=append)
    prepend_bar += diff_end_grad(y_bar, "prepend", x, n, axis, prepend=prepend, append=append)
    append_bar += diff_end_grad(y_bar, "append", x, n, axis, prepend=prepend, append=append)


@fresh(np.roll)
def roll(y, x, shift, axis=None):
    """y = roll(x, shift, axis)  →  x̄ += roll(ȳ, -shift, axis)"""
    x_bar += roll_grad(y_bar, shift, axis)


@fresh(np.sort)
def sort(y, x, axis=-1, kind=None, order=None):
    """y = x[argsort(x)] along axis  →  x̄[argsort(x)] += ȳ"""
    x_bar += sort_grad(y_bar, x, axis, kind)


@fresh(np.take, methods=["take"])
def take(y, x, indices, axis=None, out=None, mode="raise"):
    """y = take(x, indices, axis)  →  x̄[indices] += ȳ along axis (repeats accumulate)"""
    x_bar += take_grad(y_bar, x, indices, axis, mode)


@pure(methods=["item"])
def item(y, x, *index):
    """y = x.item(*index)  →  x̄[index] += ȳ"""
    x_bar += item_grad(y_bar, x, index)
