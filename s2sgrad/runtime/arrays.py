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


