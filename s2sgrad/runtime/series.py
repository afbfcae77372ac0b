"""Cumulative products, weighted averages, integration, polynomials, interpolation."""
import numpy as np

from .core import count_reduced, getitem_grad, is_zero, unbroadcast, unreduce, zero_grad
from .linalg import diff_grad


# ---- cumulative products, weighted averages, integration, polynomials, interpolation

def cumprod_grad(g, x, axis=None):
    """Adjoint of y = cumprod(x, axis): x̄ᵢ = Π_{k<i} xₖ · Σ_{j≥i} ȳⱼ·Π_{i<k≤j} xₖ, the sum
    by a backward recurrence (exact with zeros in x); vectorised where no product is
    zero (`_cumprod_grad_nonzero`)."""
    if is_zero(g):
        return 0.0
    if axis is None:
        return np.reshape(cumprod_grad(np.ravel(g), np.ravel(x), 0), np.shape(x))
    x = np.asarray(x)
    dtype = np.result_type(g, x, 0.0)
    if x.shape[axis] == 0:
        return np.zeros(x.shape, dtype)
    fast = _cumprod_grad_nonzero(g, x, axis, dtype)
    if fast is not None:
        return fast
    xm = np.moveaxis(x, axis, -1).astype(dtype)
    gm = np.moveaxis(np.broadcast_to(g, x.shape), axis, -1)
    n = xm.shape[-1]
    acc = np.zeros(xm.shape, dtype)
    acc[..., n - 1] = gm[..., n - 1]
    for i in range(n - 2, -1, -1):
        acc[..., i] = gm[..., i] + xm[..., i + 1] * acc[..., i + 1]
    left = np.concatenate((np.ones(xm.shape[:-1] + (1,), dtype),
                           np.cumprod(xm[..., :-1], axis=-1)), axis=-1)
    return np.moveaxis(left * acc, -1, axis)


def _cumprod_grad_nonzero(g, x, axis, dtype):
    """The adjoint of cumprod along `axis` as (Σ_{j≥i} ȳⱼ·yⱼ) / xᵢ, vectorised (the
    backward recurrence is a Python loop over the axis: 45x the forward pass for 250
    steps); None unless every product yⱼ is a normal, finite nonzero number, where the
    division is as exact as the recurrence (yⱼ/xᵢ is the product of the other factors)."""
    if dtype.kind != "f":
        return None
    y = np.cumprod(x.astype(dtype), axis=axis)
    a = np.abs(y)
    if not (a.min() >= np.finfo(dtype).tiny and a.max() < np.inf):
        return None                           # a zero, an underflow or an overflow
    gy = np.flip(g * y, axis)
    return np.flip(np.cumsum(gy, axis=axis), axis) / x


def cumprod_tangent(t, x, axis=None):
    """Tangent of y = cumprod(x, axis) along ẋ = t: ẏⱼ = ẏⱼ₋₁·xⱼ + yⱼ₋₁·ẋⱼ (exact with zeros)."""
    if axis is None:
        return cumprod_tangent(np.ravel(t), np.ravel(x), 0)
    x = np.asarray(x)
    dtype = np.result_type(t, x, 0.0)
    xm = np.moveaxis(x, axis, -1).astype(dtype)
    tm = np.moveaxis(np.broadcast_to(t, x.shape), axis, -1)
    y = np.cumprod(xm, axis=-1)
    out = np.zeros(xm.shape, dtype)
    if xm.shape[-1]:
        out[..., 0] = tm[..., 0]
    for j in range(1, xm.shape[-1]):
        out[..., j] = out[..., j - 1] * xm[..., j] + y[..., j - 1] * tm[..., j]
    return np.moveaxis(out, -1, axis)


def _average_axes(nd, axis):
    """The axes np.average reduces over an array of `nd` dimensions, as a sorted tuple
    (None for all). (Given the number, not the array: hvp, differentiating the adjoints
    below, sees integers, not a value of the input, reach np.sum's axis.)"""
    if axis is None:
        return None
    return tuple(sorted(d % nd for d in ((axis,) if np.ndim(axis) == 0 else axis)))


def _average_weights(a, axis, weights):
    """np.average's weights broadcast to a's shape (weights shaped like a's `axis` lie
    along those axes, in the order given)."""
    shape = np.shape(a)
    w = np.asarray(weights)
    if w.shape == shape:
        return w
    axes = tuple(d % len(shape) for d in ((axis,) if np.ndim(axis) == 0 else axis))
    w = np.transpose(w, np.argsort(axes))
    w = np.reshape(w, tuple(n if d in axes else 1 for d, n in enumerate(shape)))
    return np.broadcast_to(w, shape)


def _average_unweights(gw, a, axis, weights):
    """The adjoint of np.average's weights from the adjoint of their broadcast to a's shape."""
    if np.shape(weights) == np.shape(a):
        return gw
    nd = np.ndim(a)
    axes = tuple(d % nd for d in ((axis,) if np.ndim(axis) == 0 else axis))
    s = np.sum(gw, axis=tuple(d for d in range(nd) if d not in axes))
    return np.transpose(s, np.argsort(np.argsort(axes)))


def average_grad_a(g, a, axis=None, weights=None, returned=False, keepdims=False):
    """Adjoint of a in y = average(a, axis, weights): ā = ȳ·w / Σw (w = 1 without weights)."""
    gy = getitem_grad(g, 0) if returned else g
    if is_zero(gy):
        return 0.0
    axes = _average_axes(np.ndim(a), axis)
    ga = unreduce(gy, a, axes, keepdims)
    if weights is None:
        return ga / count_reduced(a, axes)
    w = _average_weights(a, axis, weights)
    return ga * w / np.sum(w, axis=axes, keepdims=True)


def average_grad_weights(g, y, a, axis=None, weights=None, returned=False, keepdims=False):
    """Adjoint of the weights in y = average(a, axis, weights) = Σ w·a / Σ w:
    w̄ = ȳ·(a - y) / Σw, plus the adjoint of Σw when it is returned too."""
    if weights is None:
        return 0.0
    gy = getitem_grad(g, 0) if returned else g
    gs = getitem_grad(g, 1) if returned else 0.0
    if is_zero(gy) and is_zero(gs):
        return 0.0
    axes = _average_axes(np.ndim(a), axis)
    a = np.asarray(a)
    w = _average_weights(a, axis, weights)
    total = np.zeros(a.shape, np.result_type(a, w, 0.0))
    if not is_zero(gy):
        avg = unreduce(y[0] if returned else y, a, axes, keepdims)
        total = total + unreduce(gy, a, axes, keepdims) * (a - avg) \
            / np.sum(w, axis=axes, keepdims=True)
    if not is_zero(gs):
        total = total + unreduce(gs, a, axes, keepdims)
    return _average_unweights(total, a, axis, weights)


def average_tangent_a(t, y, a, axis=None, weights=None, returned=False, keepdims=False):
    """Tangent of y = average(a, axis, weights) along ȧ = t: average(ȧ, axis, weights)."""
    d = np.average(t, axis=axis, weights=weights, keepdims=keepdims)
    return (d, zero_grad(np.asarray(y[1], dtype=float))[()]) if returned else d


def average_tangent_weights(t, y, a, axis=None, weights=None, returned=False,
                            keepdims=False):
    """Tangent of y = average(a, axis, weights) along ẇ = t: Σ ẇ·(a - y) / Σw (and Σẇ for
    the returned sum of weights)."""
    axes = _average_axes(np.ndim(a), axis)
    a = np.asarray(a)
    w = _average_weights(a, axis, weights)
    tw = _average_weights(a, axis, t)
    avg = y[0] if returned else y
    d = np.sum(tw * (a - unreduce(avg, a, axes, keepdims)), axis=axes, keepdims=keepdims) \
        / np.sum(w, axis=axes, keepdims=keepdims)
    if not returned:
        return d
    return d, np.broadcast_to(np.sum(tw, axis=axes, keepdims=keepdims), np.shape(y[1]))[()]


def _trapezoid_parts(y, x=None, dx=1.0, axis=-1):
    """(d, s, axis) for np.trapezoid(y, x, dx, axis) = Σ d·s along axis: the spacings d
    (broadcastable to s) and the mean heights s = (y[1:] + y[:-1]) / 2."""
    y = np.asarray(y)
    nd = y.ndim
    axis = axis % nd
    hi, lo = [slice(None)] * nd, [slice(None)] * nd
    hi[axis], lo[axis] = slice(1, None), slice(None, -1)
    s = (y[tuple(hi)] + y[tuple(lo)]) / 2.0
    if x is None:
        return dx, s, axis
    x = np.asarray(x)
    if x.ndim == 1:
        d = np.diff(x)
        shape = [1] * nd
        shape[axis] = d.shape[0]
        return d.reshape(shape), s, axis
    return np.diff(x, axis=axis), s, axis


def trapezoid_sum(y, x=None, dx=1.0, axis=-1):
    """Σ d·(y[1:] + y[:-1]) / 2 along axis: np.trapezoid(y, x, dx, axis), which is linear
    in y, in x's spacings and in dx (its tangent along each one is itself)."""
    d, s, axis = _trapezoid_parts(y, x, dx, axis)
    return np.sum(d * s, axis=axis)


def trapezoid_grad_y(g, y, x=None, dx=1.0, axis=-1):
    """Adjoint of y in I = trapezoid(y, x, dx, axis): ȳᵢ = Ī·(dᵢ₋₁ + dᵢ) / 2."""
    if is_zero(g):
        return 0.0
    d, s, axis = _trapezoid_parts(y, x, dx, axis)
    h = np.expand_dims(g, axis) * d / 2.0
    h = np.broadcast_to(h, np.broadcast_shapes(np.shape(h), s.shape))
    pad = [(0, 0)] * h.ndim
    pad[axis] = (0, 1)
    before = np.pad(h, pad)
    pad[axis] = (1, 0)
    return unbroadcast(before + np.pad(h, pad), y)


def trapezoid_grad_x(g, y, x=None, dx=1.0, axis=-1):
    """Adjoint of x in I = trapezoid(y, x, axis): x̄ᵢ = Ī·(sᵢ₋₁ - sᵢ), s the mean heights."""
    if is_zero(g) or x is None:
        return 0.0
    d, s, axis = _trapezoid_parts(y, x, dx, axis)
    gd = np.expand_dims(g, axis) * s
    x = np.asarray(x)
    if x.ndim == 1:
        gd = np.sum(gd, axis=tuple(i for i in range(gd.ndim) if i != axis))
        return diff_grad(gd, x, 1, 0)
    return diff_grad(unbroadcast(gd, d), x, 1, axis)


def trapezoid_grad_dx(g, y, x=None, dx=1.0, axis=-1):
    """Adjoint of dx in I = trapezoid(y, dx=dx, axis=axis): d̄x = Ī·Σ (y[1:] + y[:-1]) / 2."""
    if is_zero(g) or x is not None:
        return 0.0
    d, s, axis = _trapezoid_parts(y, x, dx, axis)
    return unbroadcast(np.expand_dims(g, axis) * s, dx)


def polyval_deriv(p, x):
    """p'(x) for y = polyval(p, x), by Horner's rule on (value, derivative) pairs."""
    x = np.asarray(x)
    v, dv = 0.0, 0.0
    for c in p:
        dv = dv * x + v
        v = v * x + c
    return dv


def polyval_grad_p(g, p, x):
    """Adjoint of p in y = polyval(p, x) = Σᵢ pᵢ·x^(n-1-i): p̄ᵢ = Σ ȳ·x^(n-1-i)."""
    if is_zero(g):
        return 0.0
    pa = np.asarray(p)
    n = len(pa)
    x = np.asarray(x)
    out = np.zeros(pa.shape, np.result_type(g, pa, 0.0))
    for i in range(n):
        out[i] = unbroadcast(g * x ** (n - 1 - i), pa[i])
    return out


def polyval_grad_x(g, p, x):
    """Adjoint of x in y = polyval(p, x): x̄ = ȳ·p'(x)."""
    if is_zero(g):
        return 0.0
    return unbroadcast(g * polyval_deriv(p, x), x)


def _interp_check(period):
    """np.interp's `period` is refused (raising here keeps the helpers raise-free, so that
    forward mode can differentiate them from their source)."""
    if period is not None:
        raise NotImplementedError("gradient of np.interp with period= is not supported: "
                                  "reduce x modulo the period first (np.mod)")


def _interp_parts(x, xp, fp, period=None):
    """For y = interp(x, xp, fp): (j, jn, t, width, below, inside, above) — the segment
    [xp[j], xp[jn]] of each x, the fraction t of the way along it, its width, and where
    x lies left of, within and right of xp."""
    _interp_check(period)
    x = np.asarray(x, dtype=float)
    xp = np.asarray(xp, dtype=float)
    n = xp.shape[0]
    below, above = x < xp[0], x > xp[-1]
    inside = ~(below | above)
    j = np.clip(np.searchsorted(xp, x, side="right") - 1, 0, max(n - 2, 0))
    if n == 1:
        return j, j, np.zeros(x.shape), np.ones(x.shape), below, inside, above
    width = xp[j + 1] - xp[j]
    return j, j + 1, (x - xp[j]) / width, width, below, inside, above


def interp_grad_x(g, x, xp, fp, left=None, right=None, period=None):
    """Adjoint of x in y = interp(x, xp, fp): x̄ = ȳ·(fp[j+1] - fp[j]) / (xp[j+1] - xp[j])
    within segment j, 0 outside xp (the right segment at a knot)."""
    if is_zero(g):
        return 0.0
    j, jn, t, width, below, inside, above = _interp_parts(x, xp, fp, period)
    fp = np.asarray(fp)
    return unbroadcast(np.where(inside, g * (fp[jn] - fp[j]) / width, 0.0), x)


def interp_grad_fp(g, x, xp, fp, left=None, right=None, period=None):
    """Adjoint of fp in y = interp(x, xp, fp): fp̄[j] += ȳ·(1 - t), fp̄[j+1] += ȳ·t within
    segment j; the end values get ȳ outside xp unless left/right replace them."""
    if is_zero(g):
        return 0.0
    j, jn, t, width, below, inside, above = _interp_parts(x, xp, fp, period)
    g = np.broadcast_to(g, np.shape(inside))
    out = np.zeros(np.shape(fp), np.result_type(g, 0.0))
    gi = np.where(inside, g, 0.0)
    np.add.at(out, j, gi * (1.0 - t))
    np.add.at(out, jn, gi * t)
    if left is None:
        out[0] += np.sum(np.where(below, g, 0.0))
    if right is None:
        out[-1] += np.sum(np.where(above, g, 0.0))
    return out


def interp_grad_xp(g, x, xp, fp, left=None, right=None, period=None):
    """Adjoint of xp in y = interp(x, xp, fp): with s = fp[j+1] - fp[j] and w the width,
    xp̄[j] += ȳ·s·(t - 1)/w and xp̄[j+1] += -ȳ·s·t/w within segment j."""
    if is_zero(g):
        return 0.0
    j, jn, t, width, below, inside, above = _interp_parts(x, xp, fp, period)
    fp = np.asarray(fp)
    gs = np.where(inside, g * (fp[jn] - fp[j]) / width, 0.0)
    out = np.zeros(np.shape(xp), np.result_type(g, 0.0))
    np.add.at(out, j, gs * (t - 1.0))
    np.add.at(out, jn, -gs * t)
    return out


def interp_grad_left(g, x, xp, period=None):
    """Adjoint of `left` in y = interp(x, xp, fp, left): Σ ȳ where x < xp[0]."""
    if is_zero(g):
        return 0.0
    below = _interp_parts(x, xp, None, period)[4]
    return np.sum(np.where(below, g, 0.0))


def interp_grad_right(g, x, xp, period=None):
    """Adjoint of `right` in y = interp(x, xp, fp, right=…): Σ ȳ where x > xp[-1]."""
    if is_zero(g):
        return 0.0
    above = _interp_parts(x, xp, None, period)[6]
    return np.sum(np.where(above, g, 0.0))


def interp_tangent_x(t, x, xp, fp, period=None):
    """Tangent of y = interp(x, xp, fp) along ẋ = t: ẋ times the slope of x's segment."""
    j, jn, frac, width, below, inside, above = _interp_parts(x, xp, fp, period)
    fp = np.asarray(fp)
    return np.where(inside, t * (fp[jn] - fp[j]) / width, 0.0)[()]


def interp_tangent_xp(t, x, xp, fp, period=None):
    """Tangent of y = interp(x, xp, fp) along ẋp = t: s·((t - 1)·ẋp[j] - t·ẋp[j+1]) / w."""
    j, jn, frac, width, below, inside, above = _interp_parts(x, xp, fp, period)
    fp, t = np.asarray(fp), np.asarray(t)
    d = (fp[jn] - fp[j]) * ((frac - 1.0) * t[j] - frac * t[jn]) / width
    return np.where(inside, d, 0.0)[()]


def interp_tangent_fp(t, x, xp, left=None, right=None, period=None):
    """Tangent of y = interp(x, xp, fp) along ḟp = t: interp(x, xp, ḟp), with 0 outside xp
    where left/right replace the end values."""
    _interp_check(period)
    return np.interp(x, xp, t, left=None if left is None else 0.0,
                     right=None if right is None else 0.0)


def interp_tangent_end(t, x, xp, side, period=None):
    """Tangent of y = interp(x, xp, fp, left, right) along l̇eft (side -1) or ṙight (side
    1): the tangent where x lies beyond that end of xp."""
    parts = _interp_parts(x, xp, None, period)
    return np.where(parts[4] if side < 0 else parts[6], t, 0.0)[()]




# ---- np.cumulative_sum / np.cumulative_prod (NumPy ≥ 2.1): cumsum / cumprod that may
# start with the initial value (0 or 1) along the axis (`include_initial=True`)

def _along(axis, nd, index):
    """The subscript taking `index` (a slice) along `axis` of an array of `nd` axes."""
    at = [slice(None)] * nd
    at[axis] = index
    return tuple(at)


def drop_initial(g, axis=None, include_initial=False):
    """The adjoint of cumsum(x)/cumprod(x) inside that of cumulative_sum/_prod(x, ...):
    ȳ without its first entry along the axis when the result starts with the initial
    value (a constant: its adjoint goes nowhere)."""
    if is_zero(g) or not include_initial:
        return g
    g = np.asarray(g)
    return g[_along(0 if axis is None else axis, g.ndim, slice(1, None))]


def with_initial(t, axis=None, include_initial=False):
    """The tangent of cumulative_sum/_prod(x, ...) from that of cumsum(x)/cumprod(x): a
    zero first entry along the axis for the initial value, a constant."""
    if not include_initial:
        return t
    t = np.asarray(t)
    a = 0 if axis is None else axis
    first = np.zeros_like(t[_along(a, t.ndim, slice(0, 1))])
    return np.concatenate((first, t), axis=a)
