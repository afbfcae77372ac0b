"""Lists, tuples and dicts: displays, concatenation, append, stacking arrays."""
from functools import partial
import numpy as np

from .registry import (CONTAINER, FRESH, HOLDS_OPERANDS, PURE, READS_CONTAINER, VIEW,
                       defadjoint)

from ..runtime import (concat_grads, stack_grads, hstack_grads, vstack_grads,  # noqa: F401
                       split_concat, getitem_grad, unappend, repeat_list_grad, add_attr)


# a new list/tuple/dict holding the operands themselves; or a new array joining a list's
holder = partial(defadjoint, props=(CONTAINER, FRESH, HOLDS_OPERANDS))
joined = partial(defadjoint, props=(FRESH, READS_CONTAINER))


@holder(ops=["list", "tuple"])
def display(y, *items):
    """y = [a, b, …]  →  ā += ȳ[0] ;  b̄ += ȳ[1] ; …"""
    items_bar += getitem_grad(y_bar, k)


@holder(ops=["dict"])
def dict_display(y, *values):
    """y = {"k₁": a, …}  →  ā += ȳ["k₁"] ; …"""
    values_bar += getitem_grad(y_bar, key)


@defadjoint(ops=["field"], props=(VIEW, PURE, READS_CONTAINER))
def field(y, x, name):
    """y = x.name, a field of a NamedTuple or dataclass x  →  x̄.name += ȳ"""
    x_bar = add_attr(x_bar, x, name, y_bar)


@holder(ops=["concat"], props=(CONTAINER, FRESH, HOLDS_OPERANDS, READS_CONTAINER))
def concat(y, a, b):
    """y = a + b for lists  →  ā += ȳ[:len(a)] ;  b̄ += ȳ[len(a):]"""
    a_bar += split_concat(y_bar, a, b)[0]
    b_bar += split_concat(y_bar, a, b)[1]


@holder(ops=["repeat"])
def repeat(y, a, b):
    """y = xs * n (or n * xs) for a list xs  →  x̄sᵢ += Σ over the n copies of ȳ"""
    a_bar += repeat_list_grad(y_bar, a, b)[0]
    b_bar += repeat_list_grad(y_bar, a, b)[1]


@defadjoint(ops=["append"], props=READS_CONTAINER)
def append(y, xs, x):
    """xs.append(x)  →  x̄ += x̄s[-1] ;  x̄s drops its last entry"""
    xs_bar, x_bar_part = unappend(xs_bar)
    x_bar += x_bar_part


@joined(np.concatenate)
def concatenate(y, xs, axis=0):
    """y = concatenate(xs, axis)  →  x̄ᵢ += the slice of ȳ where xᵢ went"""
    xs_bar += concat_grads(y_bar, xs, axis)


@joined(np.stack)
def stack(y, xs, axis=0):
    """y = stack(xs, axis)  →  x̄ᵢ += ȳ taken at i along axis"""
    xs_bar += stack_grads(y_bar, xs, axis)


@joined(np.hstack)
def hstack(y, xs):
    """y = hstack(xs)  →  x̄ᵢ += the columns of ȳ where xᵢ went"""
    xs_bar += hstack_grads(y_bar, xs)


@joined(np.vstack)
def vstack(y, xs):
    """y = vstack(xs)  →  x̄ᵢ += the rows of ȳ where xᵢ went"""
    xs_bar += vstack_grads(y_bar, xs)
