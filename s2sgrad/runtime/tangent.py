"""Helpers of the forward-mode (tangent) templates in rules/tangents.py."""
import numpy as np

from .core import (_products_of_others, add_at, choose_grad, einsum_grad, extremum_grad, getitem_grad, grad_like, is_zero,
                   keeps_values, _list_with_array,
                   match_shape, unbroadcast, unreduce, zero_grad)


# ---- tangent helpers
# Called by the forward-mode (tangent) templates in rules/tangents.py. Each returns one
# term of an output tangent, already shaped like the output, so that the terms of the
# different inputs add up (with `+`, or `add_grads` for containers) in any order.

def match_grad(t, y):
    """`match_shape` for a term of an adjoint sum: containers pass through unchanged."""
    if isinstance(y, (list, tuple, dict)):
        return t
    return match_shape(t, y)


def own_tangent(t, y):
    """A tangent of the container `y` that stores may write into: a new writable array
    of y's shape (the tangent of a fresh value may still be another value's tangent, a
    view of one, or a read-only broadcast), a new list or dict."""
    if isinstance(y, (list, dict)):
        return type(y)(t) if isinstance(t, (list, dict)) else zero_grad(y)
    dtype = y.dtype if isinstance(y, np.ndarray) and y.dtype.kind == "f" else float
    return np.array(np.broadcast_to(t, np.shape(y)), dtype=dtype)


def unshared_tangent(t, y, o_dot, o):
    """The tangent `t` of y, copied where it shares memory with the tangent `o_dot` of an
    operand `o` that a store changes later while y does not share o's memory: `z = y +
    0.0` has the tangent ẏ itself, `y.flatten()` a view of it, and `y[0] = v` would
    change ż too."""
    if isinstance(t, np.ndarray) and isinstance(o_dot, np.ndarray) \
            and np.may_share_memory(t, o_dot) and not (
                isinstance(y, np.ndarray) and isinstance(o, np.ndarray)
                and np.may_share_memory(y, o)):
        return t.copy()
    return t


def slot_tangent(t, y):
    """The tangent `t` of an adjoint's slot y = getitem_grad(g, index): a zero `0.0` left
    in the container tangent for a slot that holds an array (or container) becomes zeros
    of y's structure, so that `a @ ẏ`, `ẏ[..., None]` work as on y."""
    if is_zero(t) and not isinstance(y, float) and not is_zero(y):
        return zero_grad(y)
    return t


def tangents_like(ts, xs):
    """The tangents of a sequence of values, each broadcast to its value's shape (a
    zero `0.0` of an array element becomes an array of zeros)."""
    return [match_shape(t, x) for t, x in zip(ts, xs)]


def prod_list_tangent(ts, xs, start=1):
    """Tangent of y = math.prod(xs, start=start) along the items' tangents `ts`:
    Σᵢ ṫᵢ·start·Π_{j≠i} xⱼ (exact with zeros)."""
    items = list(xs)
    if is_zero(ts):
        return 0.0
    out = 0.0
    for t, other in zip(ts, _products_of_others(items, start)):
        if not is_zero(t):
            out = out + t * other
    return out


def prod_list_grad_dxs(g, xs, ts, start=1):
    """Tangent of prod_list_grad(g, xs, start) along the items' tangents `ts` (g held
    fixed): for each i, ȳ·start·Σ_{k≠i} ṫₖ·Π_{j≠i,k} xⱼ, by the product rule over the
    other items."""
    items = list(xs)
    if is_zero(g) or is_zero(ts):
        return 0.0 if isinstance(xs, np.ndarray) else [0.0] * len(items)
    ts = list(ts)
    out = []
    for i, x in enumerate(items):
        p, p_dot = start, 0.0
        for j, (xj, tj) in enumerate(zip(items, ts)):
            if j != i:
                p_dot = p_dot * xj + (0.0 if is_zero(tj) else p * tj)
                p = p * xj
        out.append(unbroadcast(g * p_dot, x))
    return np.array(out).reshape(xs.shape) if isinstance(xs, np.ndarray) else out


def item_tangent(t, k, y):
    """Tangent of the display y = [.., item k, ..] along item k: zeros elsewhere."""
    out = [t if j == k else zero_grad(v) for j, v in enumerate(y)]
    return tuple(out) if isinstance(y, tuple) else out


def dict_item_tangent(t, key, y):
    """Tangent of the display y = {.., key: item, ..} along one item: zeros elsewhere."""
    return {k: (t if k == key else zero_grad(v)) for k, v in y.items()}


def concat_tangent_left(t, b):
    """Tangent of the list a + b along a: ȧ followed by zeros for b."""
    if isinstance(b, np.ndarray):
        raise _list_with_array()
    out = list(t) + [zero_grad(v) for v in b]
    return tuple(out) if isinstance(b, tuple) else out


def concat_tangent_right(a, t):
    """Tangent of the list a + b along b: zeros for a followed by ḃ."""
    if isinstance(a, np.ndarray):
        raise _list_with_array()
    out = [zero_grad(v) for v in a] + list(t)
    return tuple(out) if isinstance(a, tuple) else out


def copy_tangent(t, y):
    """Tangent of a copy or conversion y = array(x), list(x), float32(x)...: ẋ converted
    like x was (a fresh array, never a view of ẋ)."""
    if isinstance(y, np.ndarray):
        if not keeps_values(y):               # a cast to integers: piecewise constant
            return np.zeros(y.shape)
        return np.array(t, dtype=y.dtype)
    return _text_as_zero(grad_like(t, y))


def _text_as_zero(t):
    """A tangent with the strings, Nones and integers grad_like carries over from the
    copied value (the keys of `list(d.items())`, the counts of `list(enumerate(xs))`,
    which are values, not tangents) as zeros `0.0`, so that it adds up with other
    tangents."""
    if type(t) in (list, tuple):
        return type(t)(_text_as_zero(v) for v in t)
    if type(t) is dict:
        return {k: _text_as_zero(v) for k, v in t.items()}
    return 0.0 if t is None or isinstance(t, (str, bytes, bool, int, np.integer)) else t


def transpose_tangent(t, axes=()):
    """transpose(t, *axes), with the axes given either spread out or as one tuple."""
    if len(axes) == 1:
        axes = axes[0]
    if axes is None or len(axes) == 0:
        return np.transpose(t)
    return np.transpose(t, axes)


def einsum_tangent(spec, operands, k, t):
    """Tangent of y = einsum(spec, *operands) along operand k: operand k replaced by t."""
    ops = list(operands)
    ops[k] = t
    return np.einsum(spec, *ops)


def prod_others(x, t, axis=None):
    """(p, ṗ): p[i] = the product of the other elements of x over `axis` (all axes when
    None), and its derivative along the direction t. Exact with zeros: the products
    left and right of each element are cumulative products of dual numbers (x, t),
    computed by a doubling scan (log n vectorised steps)."""
    x = np.asarray(x)
    dtype = np.result_type(x, t, 0.0)
    x = x.astype(dtype)
    t = np.broadcast_to(np.asarray(t, dtype=dtype), x.shape)
    nd = x.ndim
    if nd == 0:
        return np.ones((), dtype), np.zeros((), dtype)
    axes = range(nd) if axis is None else (axis,) if isinstance(axis, int) else axis
    axes = [a % nd for a in axes]
    dest = list(range(nd - len(axes), nd))
    xm, tm = np.moveaxis(x, axes, dest), np.moveaxis(t, axes, dest)
    moved = xm.shape
    batch = moved[:nd - len(axes)]
    n = int(np.prod(moved[nd - len(axes):], dtype=np.int64))
    xm, tm = xm.reshape(batch + (n,)), tm.reshape(batch + (n,))

    def exclusive_cumprod(v, dv):
        # shift right by one (product of nothing = 1, derivative 0), then scan
        p = np.concatenate((np.ones(batch + (1,), dtype), v[..., :-1]), axis=-1)
        dp = np.concatenate((np.zeros(batch + (1,), dtype), dv[..., :-1]), axis=-1)
        d = 1
        while d < n:
            p_new, dp_new = p.copy(), dp.copy()
            p_new[..., d:] = p[..., :-d] * p[..., d:]
            dp_new[..., d:] = dp[..., :-d] * p[..., d:] + p[..., :-d] * dp[..., d:]
            p, dp, d = p_new, dp_new, 2 * d
        return p, dp

    left, dleft = exclusive_cumprod(xm, tm)
    right, dright = exclusive_cumprod(xm[..., ::-1], tm[..., ::-1])
    right, dright = right[..., ::-1], dright[..., ::-1]
    p = (left * right).reshape(moved)
    dp = (dleft * right + left * dright).reshape(moved)
    return np.moveaxis(p, dest, axes), np.moveaxis(dp, dest, axes)


def prod_tangent(t, y, x, axis=None, keepdims=False):
    """Tangent of y = prod(x, axis) along ẋ = t: Σᵢ tᵢ·Π_{j≠i} xⱼ (exact with zeros)."""
    return np.sum(t * prod_others(x, 0.0, axis)[0], axis=axis, keepdims=keepdims)


def prod_grad_dx(g, x, t, axis=None, keepdims=False):
    """Tangent of prod_grad(g, x, axis, keepdims) along ẋ = t (g held fixed)."""
    return unreduce(g, x, axis, keepdims) * prod_others(x, t, axis)[1]


def extremum_tangent(t, y, x, axis=None, keepdims=False):
    """Tangent of y = max(x, axis) or min(...) along ẋ = t: the mean of t over the
    tied extreme elements (the same sharing as `extremum_grad`)."""
    # (ones in y's precision: a float32 max keeps a float32 tangent)
    weights = extremum_grad(np.ones(np.shape(y), np.result_type(y, np.float32)), y, x, axis,
                            keepdims)
    if isinstance(t, (list, tuple)):        # max(xs) of a list: the items' tangents
        t = np.asarray(tangents_like(t, x), dtype=float)
    return np.sum(t * weights, axis=axis, keepdims=keepdims)


def einsum_grad_tangent(g, spec, operands, k, operands_dot):
    """Tangent of einsum_grad(g, spec, operands, k) along the operands' tangents (g held
    fixed): the sum over the other operands i of einsum_grad with operand i replaced
    by its tangent. Operand k enters only through its shape."""
    total = zero_grad(np.asarray(operands[k], dtype=float))
    for i, t in enumerate(operands_dot):
        if i == k or (isinstance(t, float) and t == 0.0):
            continue
        ops = list(operands)
        ops[i] = t
        total = total + einsum_grad(g, spec, ops, k)
    return total


def clip_mask(x, a_min, a_max):
    """Where clip(x, a_min, a_max) passes x through (a bound of None is no bound)."""
    if a_min is None:
        return x <= a_max
    if a_max is None:
        return x >= a_min
    return (x >= a_min) & (x <= a_max)


def clip_pass(g, x, a_min, a_max):
    """The part of ȳ that y = clip(x, a_min, a_max) passes to x."""
    return choose_grad(g, clip_mask(x, a_min, a_max))


def clip_low(x, a_min, a_max):
    """Where clip(x, a_min, a_max) is its lower bound: x below it, and the bound not
    above the upper one (there the upper bound wins)."""
    if a_min is None:
        return np.zeros(np.shape(x), bool)
    low = x < a_min
    return low if a_max is None else low & (np.asarray(a_min) <= a_max)


def clip_high(x, a_min, a_max):
    """Where clip(x, a_min, a_max) is its upper bound: max(x, a_min) above it."""
    if a_max is None:
        return np.zeros(np.shape(x), bool)
    return (x if a_min is None else np.maximum(x, a_min)) > a_max




# ---- dict idioms: d.get(k, default), sorted(d.items(), key=...)

def get_grad(g, d, key, v):
    """The adjoint of `d` after y = d.get(key, default) received `v`: added at d[key]
    when the key is there (else the default got it)."""
    if is_zero(v) or key not in d:
        return g
    return add_at(g, d, key, v)


def get_default_grad(v, d, key):
    """The adjoint of the default of y = d.get(key, default): ȳ when the key is missing."""
    return 0.0 if key in d else v


def get_tangent(t, d, key, y):
    """Tangent of y = d.get(key, default) along ḋ: ḋ[key], or zero when the key is missing."""
    return getitem_grad(t, key) if key in d else zero_grad(y)


def get_default_tangent(t, d, key, y):
    """Tangent of y = d.get(key, default) along the default's: zero when the key is there."""
    return zero_grad(y) if key in d else t


def _sort_order(xs, key=None, reverse=False):
    """The positions of xs in the order sorted(xs, key=key, reverse=reverse) puts them
    (Python's sort is stable, in reverse too, so sorting the positions by their items'
    keys gives the same order)."""
    items = list(xs)
    return sorted(range(len(items)), key=(lambda i: items[i]) if key is None else
                  (lambda i: key(items[i])), reverse=reverse)


def first_best(keys, largest):
    """The position of the item `min(items, key=k)` returns (`max` when `largest`), from
    the items' keys: Python's own scan, where a later key replaces the best only when it
    is strictly smaller (larger), so the first of tied keys wins. The position carries
    no gradient; the item read there does."""
    best = 0
    for j in range(1, len(keys)):
        if (keys[j] > keys[best]) if largest else (keys[j] < keys[best]):
            best = j
    return best


def sorted_grad(g, xs, key=None, reverse=False):
    """Adjoints of the items of y = sorted(xs, key, reverse): ȳ[j] goes back to the
    position its item came from."""
    if is_zero(g):
        return 0.0
    order = _sort_order(xs, key, reverse)
    out = [0.0] * len(order)
    for j, i in enumerate(order):
        out[i] = getitem_grad(g, j)
    return np.array(out, np.result_type(xs, 0.0)) if isinstance(xs, np.ndarray) else out


def sorted_tangent(t, y, xs, key=None, reverse=False):
    """Tangent of y = sorted(xs, key, reverse): the items' tangents in the sorted order."""
    return [getitem_grad(t, i) if not is_zero(t) else zero_grad(y[j])
            for j, i in enumerate(_sort_order(xs, key, reverse))]


def items_grad(g, d):
    """The adjoint of `d` from the adjoints of its (key, value) pairs, y = d.items()."""
    if is_zero(g):
        return 0.0
    return {k: getitem_grad(getitem_grad(g, i), 1) for i, k in enumerate(d)}


def items_tangent(t, d, y):
    """Tangent of y = d.items(): the pairs (key, ḋ[key]), keys without tangent (0.0)."""
    return [(0.0, getitem_grad(t, k)) for k in d]
