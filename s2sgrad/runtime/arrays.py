"""Triangles, padding, axes and along-axis selections."""
import numpy as np

from .core import is_zero, unbroadcast


# ---- triangles, padding, axes and along-axis selections
# Called by the templates of rules/arrays.py, rules/series.py and rules/products.py (the
# next sections too). Like the helpers above they use only NumPy and return zero for the
# zero adjoint 0.0.

def tril_grad(g, m, k=0):
    """Adjoint of y = tril(m, k): m̄ = tril(ȳ, k) (summed over the rows for a 1-D m)."""
    if is_zero(g):
        return 0.0
    return unbroadcast(np.tril(g, k), m)


def triu_grad(g, m, k=0):
    """Adjoint of y = triu(m, k): m̄ = triu(ȳ, k) (summed over the rows for a 1-D m)."""
    if is_zero(g):
        return 0.0
    return unbroadcast(np.triu(g, k), m)


def _pad_check(mode):
    """Only np.pad's mode 'constant' has a gradient here; any other mode is refused."""
    if not (isinstance(mode, str) and mode == "constant"):
        raise NotImplementedError(
            f"gradient of np.pad with mode={mode!r} is not supported: only mode='constant' "
            "is; build the padding from slices with np.concatenate instead")


def _pad_pairs(pad_width, ndim):
    """np.pad's pad_width as one (before, after) pair of ints per axis."""
    if isinstance(pad_width, dict):
        pairs = np.zeros((ndim, 2), np.intp)
        for axis, w in pad_width.items():
            pairs[axis] = np.broadcast_to(np.round(np.asarray(w)).astype(np.intp), (2,))
        return pairs
    return np.broadcast_to(np.round(np.asarray(pad_width)).astype(np.intp), (ndim, 2))


def pad_grad(g, array, pad_width, mode="constant"):
    """Adjoint of y = pad(x, pad_width) (mode 'constant'): x̄ = ȳ without the padding."""
    if is_zero(g):
        return 0.0
    _pad_check(mode)
    shape = np.shape(array)
    pairs = _pad_pairs(pad_width, len(shape))
    return g[tuple(slice(int(p[0]), int(p[0]) + n) for p, n in zip(pairs, shape))]


def pad_tangent(t, pad_width, mode="constant"):
    """Tangent of y = pad(x, pad_width) (mode 'constant') along ẋ = t: the padded ẋ."""
    _pad_check(mode)
    return np.pad(t, pad_width)


def pad_values_grad(g, array, pad_width, constant_values=0):
    """Adjoint of c in y = pad(x, pad_width, constant_values=c): c̄ = Σ ȳ over the padding
    that shows each entry of c (one pad of zeros per entry of c)."""
    if is_zero(g):
        return 0.0
    c = np.asarray(constant_values, dtype=float)
    zeros = np.zeros(np.shape(array))
    out = np.zeros(c.shape)
    for idx in np.ndindex(*c.shape):
        e = np.zeros(c.shape)
        e[idx] = 1.0
        out[idx] = np.sum(g * np.pad(zeros, pad_width, constant_values=e))
    return out[()]


def pad_values_tangent(t, array, pad_width):
    """Tangent of y = pad(x, pad_width, constant_values=c) along ċ = t: ċ on the padding."""
    return np.pad(np.zeros(np.shape(array)), pad_width, constant_values=t)


def swapaxes_grad(g, axis1, axis2):
    """Adjoint of y = swapaxes(x, axis1, axis2): x̄ = swapaxes(ȳ, axis1, axis2)."""
    if is_zero(g):
        return 0.0
    return np.swapaxes(g, axis1, axis2)


def moveaxis_grad(g, source, destination):
    """Adjoint of y = moveaxis(x, source, destination): x̄ = moveaxis(ȳ, destination, source)."""
    if is_zero(g):
        return 0.0
    return np.moveaxis(g, destination, source)


def rot90_grad(g, k=1, axes=(0, 1)):
    """Adjoint of y = rot90(x, k, axes): x̄ = rot90(ȳ, -k, axes)."""
    if is_zero(g):
        return 0.0
    return np.rot90(g, -k, axes)


def take_along_axis_grad(g, arr, indices, axis=-1):
    """Adjoint of y = take_along_axis(x, indices, axis): x̄ gets ȳ added back at the
    positions it was read from (repeated indices accumulate)."""
    if is_zero(g):
        return 0.0
    shape = np.shape(arr)
    out = np.zeros(shape, np.result_type(g, float))
    ind = np.asarray(indices)
    if axis is None:
        np.add.at(out.reshape(-1), ind, g)
        return out
    nd = len(shape)
    axis = axis % nd
    full = []
    for d in range(nd):
        if d == axis:
            full.append(ind)
        else:
            s = [1] * nd
            s[d] = shape[d]
            full.append(np.arange(shape[d]).reshape(s))
    np.add.at(out, tuple(full), g)
    return out




# ---- splits, stacks, axes, selections and order statistics found in real code
# (column_stack, rollaxis, select, partition, median, nan_to_num).

def column_stack_grads(g, xs):
    """Adjoints of the pieces of y = column_stack(xs): xᵢ's columns of ȳ (a 1-D xᵢ was
    one column)."""
    if is_zero(g):
        return [0.0] * len(xs)
    out, start = [], 0
    for x in xs:
        width = 1 if np.ndim(x) < 2 else np.shape(x)[1]
        piece = g[:, start:start + width]
        out.append(piece[:, 0] if np.ndim(x) < 2 else piece)
        start += width
    return out


def _rolled_position(ndim, axis, start):
    """np.rollaxis(a, axis, start) is np.moveaxis(a, axis, position): the position."""
    axis = axis % ndim
    start = start + ndim if start < 0 else start
    return start - 1 if axis < start else start


def rollaxis_grad(g, a, axis, start=0):
    """Adjoint of y = rollaxis(a, axis, start): ā = ȳ with the rolled axis moved back."""
    if is_zero(g):
        return 0.0
    return np.moveaxis(g, _rolled_position(np.ndim(a), axis, start), axis % np.ndim(a))


def _select_masks(condlist):
    """Where each choice of np.select wins: its condition, and no earlier one; then
    where none holds (the default)."""
    taken = np.zeros(np.broadcast_shapes(*[np.shape(c) for c in condlist]), bool)
    masks = []
    for c in condlist:
        masks.append(np.logical_and(c, np.logical_not(taken)))
        taken = np.logical_or(taken, c)
    return masks, np.logical_not(taken)


def select_grads(g, condlist, choicelist):
    """Adjoints of the choices of y = select(condlist, choicelist, default): ȳ where the
    choice was taken (the first condition that holds), reduced to each choice's shape."""
    if is_zero(g):
        return [0.0] * len(choicelist)
    masks, _ = _select_masks(condlist)
    return [unbroadcast(np.where(m, g, 0.0), c) for m, c in zip(masks, choicelist)]


def select_default_grad(g, condlist, default):
    """Adjoint of np.select's default: ȳ where no condition holds."""
    if is_zero(g):
        return 0.0
    return unbroadcast(np.where(_select_masks(condlist)[1], g, 0.0), default)


def select_default_tangent(t, condlist, y):
    """Tangent of np.select's output along its default's tangent."""
    return np.where(_select_masks(condlist)[1], t, 0.0) + np.zeros(np.shape(y))


def _partition_source(y, x, axis):
    """For each element of y = partition(x, kth, axis), the index along `axis` of the
    element of x it is: y and x hold the same values along the axis, so the k-th smallest
    of y is the k-th smallest of x (stable argsorts pair equal values in order)."""
    from_y = np.argsort(y, axis=axis, kind="stable")
    from_x = np.argsort(x, axis=axis, kind="stable")
    source = np.empty_like(from_x)
    np.put_along_axis(source, from_y, from_x, axis)
    return source


def partition_grad(g, y, x, axis=-1):
    """Adjoint of y = partition(x, kth, axis): ȳ scattered back to where each element
    came from."""
    if is_zero(g):
        return 0.0
    if axis is None:
        return np.reshape(partition_grad(g, y, np.ravel(x), -1), np.shape(x))
    out = np.zeros(np.shape(x), np.result_type(g, float))
    np.put_along_axis(out, _partition_source(y, x, axis), g, axis)
    return out


def partition_tangent(t, y, x, axis=-1):
    """Tangent of y = partition(x, kth, axis): ẋ taken where each element came from."""
    if axis is None:
        return partition_tangent(np.ravel(t), y, np.ravel(x), -1)
    return np.take_along_axis(np.broadcast_to(t, np.shape(x)), _partition_source(y, x, axis),
                              axis)


def _median_layout(x, axis):
    """x with the reduced axes moved last and merged into one, the reduced shape, the
    argsort along that last axis and the weights of the sorted values (½, ½ at the
    middle two for an even count, 1 at the middle for an odd one)."""
    x = np.asarray(x)
    axes = tuple(range(x.ndim)) if axis is None else \
        tuple(a % x.ndim for a in (axis if isinstance(axis, tuple) else (axis,)))
    rest = tuple(s for i, s in enumerate(x.shape) if i not in axes)
    last = tuple(range(x.ndim - len(axes), x.ndim))
    moved = np.reshape(np.moveaxis(x, axes, last), rest + (-1,))
    n = moved.shape[-1]
    weights = np.zeros(n)
    if n % 2:
        weights[n // 2] = 1.0
    else:
        weights[n // 2 - 1:n // 2 + 1] = 0.5
    return axes, rest, last, np.argsort(moved, axis=-1, kind="stable"), weights


def median_grad(g, x, axis=None, keepdims=False):
    """Adjoint of y = median(x, axis): ȳ to the middle element of each sorted slice
    (halved between the middle two for an even count)."""
    if is_zero(g):
        return 0.0
    axes, rest, last, order, weights = _median_layout(x, axis)
    sorted_bar = np.reshape(g, rest + (1,)) * weights
    moved = np.zeros(order.shape, np.result_type(g, float))
    np.put_along_axis(moved, order, sorted_bar, -1)
    shape = tuple(np.shape(x)[i] for i in axes)
    return np.moveaxis(np.reshape(moved, rest + shape), last, axes)


def median_tangent(t, y, x, axis=None, keepdims=False):
    """Tangent of y = median(x, axis): the same weights of ẋ at the middle elements."""
    axes, rest, last, order, weights = _median_layout(x, axis)
    moved = np.reshape(np.moveaxis(np.broadcast_to(t, np.shape(x)), axes, last), rest + (-1,))
    return np.reshape(np.take_along_axis(moved, order, -1) @ weights, np.shape(y))


def masked_sum(g, mask, like):
    """Σ ȳ where `mask` holds, reduced to the shape of `like` (the adjoint of a value
    np.nan_to_num writes where x is nan or infinite)."""
    if is_zero(g):
        return 0.0
    return unbroadcast(np.where(mask, g, 0.0), like)
