"""Lists, tuples and dicts: displays, concatenation, append, stacking arrays; `d.get`,
`d.items()` and `sorted(...)` (adjoint and tangent side by side for these three)."""
from functools import partial
import builtins

import numpy as np

from .registry import (CONTAINER, FRESH, HOLDS_OPERANDS, PURE, READS_CONTAINER, VIEW,
                       defadjoint, deftangent, nondifferentiable)

from ..runtime import (concat_grads, stack_grads, hstack_grads, vstack_grads,  # noqa: F401
                       split_concat, getitem_grad, unappend, repeat_list_grad, get_grad,
                       get_default_grad, get_tangent, get_default_tangent, sorted_grad,
                       sorted_tangent, items_grad, items_tangent, add_attr, first_best)


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


# ---------------------------------------------------------------- dict idioms
# d.get(key, default) may return d[key] or the default itself: no property (the most
# general aliasing) is declared.
@defadjoint(methods=["get"], props=READS_CONTAINER)
def get(y, d, key, default=None):
    """y = d.get(key, default)  →  d̄[key] += ȳ when key is in d, else d̄efault += ȳ"""
    d_bar = get_grad(d_bar, d, key, y_bar)
    default_bar += get_default_grad(y_bar, d, key)


@deftangent(methods=["get"])
def get_dot(y, d, key, default=None):
    """y = d.get(key, default)  →  ẏ = ḋ[key] when key is in d, else the default's tangent"""
    y_dot += get_tangent(d_dot, d, key, y)
    y_dot += get_default_tangent(default_dot, d, key, y)


@defadjoint(methods=["items"], props=(VIEW, CONTAINER, READS_CONTAINER))
def items(y, d):
    """y = d.items(), the pairs (k, d[k])  →  d̄[k] += the adjoint of the pair's value"""
    d_bar += items_grad(y_bar, d)


@deftangent(methods=["items"])
def items_dot(y, d):
    """y = d.items()  →  ẏ = the pairs (k, ḋ[k])"""
    y_dot += items_tangent(d_dot, d, y)


@defadjoint(builtins.sorted, props=(CONTAINER, FRESH, HOLDS_OPERANDS, READS_CONTAINER))
def sorted_(y, xs, key=None, reverse=False):
    """y = sorted(xs, key, reverse), a permutation of xs (the order carries no gradient)  →
    x̄s[i] += ȳ[j] where item i went to position j"""
    xs_bar += sorted_grad(y_bar, xs, key, reverse)


@deftangent(builtins.sorted)
def sorted_dot(y, xs, key=None, reverse=False):
    """y = sorted(xs, key, reverse)  →  ẏ = ẋs in the sorted order"""
    y_dot += sorted_tangent(xs_dot, y, xs, key, reverse)


# min(items, key=...)/max(...): the position of the item Python's scan returns (a
# number: no gradient), read by `normalize.extremum_by_key`
nondifferentiable(first_best)
