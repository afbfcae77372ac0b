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


def sliding_window_grad(g, x, window_shape, axis=None):
    """Adjoint of y = sliding_window_view(x, window_shape, axis): each window's entries
    added back where they were read (windows overlap), one slice addition per position
    within a window (3 for a window of 3, 9 for 3 x 3), not one per window."""
    if is_zero(g):
        return 0.0
    shape = np.shape(x)
    window = (window_shape,) if np.ndim(window_shape) == 0 else tuple(window_shape)
    axes = range(len(shape)) if axis is None else (axis,) if np.ndim(axis) == 0 else axis
    axes = [a % len(shape) for a in axes]
    if len(set(axes)) != len(axes):
        raise NotImplementedError("gradient of sliding_window_view with windows along "
                                  "one axis twice is not supported")
    g = np.asarray(g)
    counts = g.shape[:len(shape)]            # window positions along each axis
    out = np.zeros(shape, np.result_type(g, 0.0))
    for offset in np.ndindex(*window):
        index = [slice(None)] * len(shape)
        for a, o in zip(axes, offset):
            index[a] = slice(o, o + counts[a])
        out[tuple(index)] += g[(Ellipsis,) + offset]
    return out


def take_along_axis_grad(g, arr, indices, axis=-1):
    """Adjoint of y = take_along_axis(x, indices, axis): x̄ gets ȳ added back at the
    positions it was read from (repeated indices accumulate)."""
    if is_zero(g):
        return 0.0
    shape = np.shape(arr)
    out = np.zeros(shape, np.result_type(g, 0.0))
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
        out.append(piece[0, 0] if np.ndim(x) == 0 else piece[:, 0] if np.ndim(x) < 2
                   else piece)
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
    out = np.zeros(np.shape(x), np.result_type(g, 0.0))
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
    moved = np.zeros(order.shape, np.result_type(g, 0.0))
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


# ---- more NumPy met in real code: dstack, meshgrid, quantiles, nan-aware reductions,
# running extremes, linspace between values, tolist (rules/selections.py).

def dstack_grads(g, xs):
    """Adjoints of the arrays of y = dstack(xs): `g` cut back into their depths (each
    xᵢ was made at least 3-D first)."""
    if isinstance(xs, np.ndarray):
        if is_zero(g):
            return 0.0
        parts = dstack_grads(g, list(xs))
        return np.reshape(np.stack([np.reshape(p, np.shape(xs[0])) for p in parts]), xs.shape)
    if is_zero(g):
        return [0.0] * len(xs)
    sizes = np.cumsum([np.shape(np.atleast_3d(x))[2] for x in xs])[:-1]
    return [np.reshape(p, np.shape(x)) for p, x in zip(np.split(g, sizes, 2), xs)]


def _meshgrid_axis(n, k, indexing):
    """The axis of meshgrid's outputs along which its k-th of n inputs varies."""
    if indexing == "xy" and n > 1 and k < 2:
        return 1 - k
    return k


def meshgrid_grad(g, xs, k, indexing="xy"):
    """Adjoint of the k-th input of ys = meshgrid(*xs, indexing): ȳₖ summed over every
    axis but the one xₖ varies along, in xₖ's shape."""
    if is_zero(g):
        return 0.0
    gk = g[k] if isinstance(g, (list, tuple)) else 0.0
    if is_zero(gk):
        return 0.0
    axis = _meshgrid_axis(len(xs), k, indexing)
    gk = np.asarray(gk)
    other = tuple(i for i in range(gk.ndim) if i != axis)
    return np.reshape(np.sum(gk, axis=other), np.shape(xs[k]))


def meshgrid_tangent(t, y, xs, k, indexing="xy"):
    """Tangent of ys = meshgrid(*xs, indexing) along ẋₖ = t: ẋₖ spread like yₖ, zeros
    for the other outputs."""
    axis = _meshgrid_axis(len(xs), k, indexing)
    shape = [1] * np.ndim(y[k])
    shape[axis] = -1
    out = [np.zeros(np.shape(yi)) for yi in y]
    out[k] = np.broadcast_to(np.reshape(t, shape), np.shape(y[k])) + out[k]
    return type(y)(out) if isinstance(y, tuple) else out


def _quantile_weights(q, n):
    """NumPy's 'linear' quantiles as weights of the sorted values: a (len(q), n) matrix,
    1 - t at the order statistic below the virtual index (n - 1)·q and t above it."""
    q = np.ravel(np.asarray(q, dtype=float))
    if np.any((q < 0.0) | (q > 1.0)):
        raise ValueError("quantiles must be in the range [0, 1]")
    index = q * (n - 1)
    lo = np.floor(index).astype(np.intp)
    hi = np.minimum(lo + 1, n - 1)
    t = index - lo
    weights = np.zeros((q.size, n))
    rows = np.arange(q.size)
    weights[rows, lo] += 1.0 - t
    weights[rows, hi] += t
    return weights


def quantile_grad(g, a, q, axis=None, keepdims=False):
    """Adjoint of y = quantile(a, q, axis) (method 'linear'): ȳ to the two order
    statistics each quantile lies between, with the interpolation weights."""
    if is_zero(g):
        return 0.0
    axes, rest, last, order, _ = _median_layout(a, axis)
    weights = _quantile_weights(q, order.shape[-1])
    g = np.moveaxis(np.reshape(g, (weights.shape[0],) + rest), 0, -1)
    sorted_bar = g @ weights
    moved = np.zeros(order.shape, np.result_type(g, 0.0))
    np.put_along_axis(moved, order, sorted_bar, -1)
    shape = tuple(np.shape(a)[i] for i in axes)
    return np.moveaxis(np.reshape(moved, rest + shape), last, axes)


def quantile_tangent(t, y, a, q, axis=None, keepdims=False):
    """Tangent of y = quantile(a, q, axis) (method 'linear'): ȧ at the two order
    statistics, with the interpolation weights."""
    axes, rest, last, order, _ = _median_layout(a, axis)
    weights = _quantile_weights(q, order.shape[-1])
    moved = np.reshape(np.moveaxis(np.broadcast_to(t, np.shape(a)), axes, last), rest + (-1,))
    out = np.take_along_axis(moved, order, -1) @ weights.T
    return np.reshape(np.moveaxis(out, -1, 0), np.shape(y))


def count_nonnan(x, axis=None, keepdims=True):
    """How many elements that are not NaN a nan-aware reduction over `axis` combines."""
    return np.sum(np.logical_not(np.isnan(x)), axis=axis, keepdims=keepdims)


def _accumulated_source(x, axis, larger):
    """For y = maximum.accumulate(x, axis) (minimum: larger=False), the index along
    `axis` of the element of x each yⱼ is: a new running extreme replaces the old only
    when strictly beyond it (ties stay with the earlier element, as np.maximum's rule
    gives them to its first operand)."""
    x = np.moveaxis(np.asarray(x), axis, -1)
    running = np.maximum.accumulate(x, axis=-1) if larger else \
        np.minimum.accumulate(x, axis=-1)
    new = np.ones(x.shape, bool)
    new[..., 1:] = (x[..., 1:] > running[..., :-1]) if larger else \
        (x[..., 1:] < running[..., :-1])
    index = np.where(new, np.arange(x.shape[-1]), 0)
    return np.maximum.accumulate(index, axis=-1)


def accumulate_grad(g, x, axis=0, larger=True):
    """Adjoint of y = maximum.accumulate(x, axis) (minimum: larger=False): each ȳⱼ goes
    to the element yⱼ is (the earliest of tied ones)."""
    if is_zero(g):
        return 0.0
    source = _accumulated_source(x, axis, larger)
    g = np.moveaxis(np.broadcast_to(g, np.shape(x)), axis, -1)
    n = source.shape[-1]
    flat = np.zeros((int(np.prod(source.shape[:-1], dtype=int)), n),
                    np.result_type(g, 0.0))
    rows = np.arange(flat.shape[0])[:, None]
    np.add.at(flat, (rows, np.reshape(source, (-1, n))), np.reshape(g, (-1, n)))
    return np.moveaxis(np.reshape(flat, source.shape), -1, axis)


def accumulate_tangent(t, x, axis=0, larger=True):
    """Tangent of y = maximum.accumulate(x, axis) (minimum: larger=False): ẋ of the
    element each yⱼ is."""
    source = _accumulated_source(x, axis, larger)
    t = np.moveaxis(np.broadcast_to(t, np.shape(x)), axis, -1)
    return np.moveaxis(np.take_along_axis(t, source, -1), -1, axis)


def _linspace_weights(start, stop, num, endpoint, axis, first):
    """The weights of start (first) or stop in y = linspace(start, stop, num): 1 - t and
    t, t = i/(num - 1) (i/num without the endpoint), laid out like y."""
    shape = np.broadcast_shapes(np.shape(start), np.shape(stop))
    one, zero = np.ones(shape), np.zeros(shape)
    return np.linspace(one, zero, num, endpoint=endpoint, axis=axis) if first else \
        np.linspace(zero, one, num, endpoint=endpoint, axis=axis)


def linspace_grad(g, start, stop, num=50, endpoint=True, axis=0, first=True):
    """Adjoint of start (first) or stop of y = linspace(start, stop, num): Σ ȳ·(1 - t) or
    Σ ȳ·t along the samples, reduced to the operand's shape."""
    if is_zero(g):
        return 0.0
    weights = _linspace_weights(start, stop, num, endpoint, axis, first)
    return unbroadcast(np.sum(g * weights, axis=axis), start if first else stop)


def linspace_tangent(t, start, stop, num=50, endpoint=True, axis=0, first=True):
    """Tangent of y = linspace(start, stop, num) along the tangent t of start (first) or
    stop: t·(1 - t) or t·t laid out like y."""
    weights = _linspace_weights(start, stop, num, endpoint, axis, first)
    shape = np.broadcast_shapes(np.shape(start), np.shape(stop))
    return weights * np.expand_dims(np.broadcast_to(t, shape), axis % weights.ndim)


def tolist_grad(g, x):
    """Adjoint of y = x.tolist(), a nested list of numbers: the list's adjoint as an
    array of x's shape (entries still the zero 0.0 stay zero)."""
    if is_zero(g):
        return 0.0
    x = np.asarray(x)
    if x.ndim == 0:
        return g
    out = np.zeros(x.shape, x.dtype if x.dtype.kind == "f" else float)
    for i, gi in enumerate(g):
        if not is_zero(gi):
            out[i] = tolist_grad(gi, x[i]) if x.ndim > 1 else gi
    return out


def tolist_tangent(t, x):
    """Tangent of y = x.tolist(): ẋ as the same nested list."""
    return np.broadcast_to(t, np.shape(x)).tolist()


def scatter_add(y, index, v, sign=1):
    """`np.add.at(y, index, v)` (`sign` -1: `np.subtract.at`) as a new array: the
    statement is differentiated as `y[...] = scatter_add(y, index, v)`, a store of the
    whole array (repeated indices accumulate, as np.add.at's do). A list or a number y
    raises as np.add.at does."""
    if not isinstance(y, np.ndarray):
        raise TypeError("first operand must be array")
    out = np.array(y, copy=True)
    (np.add if sign > 0 else np.subtract).at(out, index, v)
    return out


def scatter_add_grad_v(g, index, v, sign=1):
    """Adjoint of v in out = scatter_add(y, index, v): ȳ read at every index (one entry
    per occurrence, so repeated indices each get theirs), summed to v's shape."""
    if is_zero(g):
        return 0.0
    picked = np.asarray(g)[index]
    return unbroadcast(picked if sign > 0 else -picked, v)


def scatter_add_tangent(y_dot, out, index, v_dot, sign=1):
    """Tangent of out = scatter_add(y, index, v): ẏ with v̇ added at index."""
    base = np.zeros_like(out) if is_zero(y_dot) else np.array(
        np.broadcast_to(y_dot, np.shape(out)), dtype=np.result_type(out, y_dot))
    if not is_zero(v_dot):
        (np.add if sign > 0 else np.subtract).at(base, index, v_dot)
    return base
