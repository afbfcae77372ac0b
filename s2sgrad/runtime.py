"""Runtime helpers that generated code calls.

Each helper is self-contained (it uses only `numpy as np`, `math` and other helpers
of this module), so that `s2sgrad transform` can copy the ones a module needs into
the module it writes. A zero adjoint is represented by the float `0.0` until
something concrete arrives; helpers accept it wherever an adjoint may still be zero.
"""
import math

import numpy as np

from .errors import GradientError


def unbroadcast(g, x):
    """Sum the adjoint `g` over the axes along which `x` was broadcast."""
    if type(g) is float:
        return g
    xs = np.shape(x)
    gs = np.shape(g)
    if gs == xs:
        return g
    if type(x) in (list, tuple) and type(g) in (list, tuple):
        raise GradientError(
            "`+` joined two lists that s2sgrad could not tell apart from numbers; "
            "write list(a) + list(b) or [*a, *b] so the concatenation is explicit")
    extra = len(gs) - len(xs)
    if extra > 0:
        g = np.sum(g, axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(xs) if n == 1 and np.shape(g)[i] != 1)
    if axes:
        g = np.sum(g, axis=axes, keepdims=True)
    return g


def match_shape(t, y):
    """A tangent broadcast to the shape of the value `y` it belongs to."""
    if (type(t) is float and type(y) is float) or np.shape(t) == np.shape(y):
        return t
    return np.broadcast_to(t, np.shape(y))


def add_grads(a, b):
    """a + b for adjoints, elementwise for lists, tuples and dicts."""
    if type(a) is float and type(b) is float:
        return a + b
    if isinstance(b, (list, tuple)) or isinstance(a, (list, tuple)):
        if isinstance(a, float) and a == 0.0:
            return b
        if isinstance(b, float) and b == 0.0:
            return a
        return type(a)(add_grads(p, q) for p, q in zip(a, b))
    if isinstance(a, dict) or isinstance(b, dict):
        if not isinstance(a, dict):
            return dict(b)
        if not isinstance(b, dict):
            return dict(a)
        out = dict(a)
        for k, v in b.items():
            out[k] = add_grads(out[k], v) if k in out else v
        return out
    return a + b


def zero_grad(x):
    """A zero adjoint with the structure of `x`."""
    if isinstance(x, (list, tuple)):
        return type(x)(zero_grad(v) for v in x)
    if isinstance(x, dict):
        return {k: zero_grad(v) for k, v in x.items()}
    if isinstance(x, np.ndarray):
        return np.zeros(x.shape, x.dtype if x.dtype.kind in "fc" else float)
    return 0.0


def grad_like(g, x):
    """The adjoint `g` converted to the type, shape and dtype of its argument `x`."""
    if isinstance(x, np.ndarray):
        dtype = x.dtype if x.dtype.kind in "fc" else np.float64
        g = np.asarray(g, dtype=dtype)
        if g.shape != x.shape:
            g = np.broadcast_to(g, x.shape).copy()
        return g
    if isinstance(x, (list, tuple)):
        if isinstance(g, float) and g == 0.0:
            g = [0.0] * len(x)
        return type(x)(grad_like(gi, xi) for gi, xi in zip(g, x))
    if isinstance(x, dict):
        if not isinstance(g, dict):
            g = {}
        return {k: grad_like(g.get(k, 0.0), v) for k, v in x.items()}
    if isinstance(x, (float, int)) and not isinstance(x, bool):
        return float(np.sum(g)) if np.ndim(g) else float(g)
    if isinstance(x, np.generic):
        return np.asarray(g, dtype=x.dtype if x.dtype.kind in "fc" else float)[()]
    return g


def getitem_grad(g, index):
    """g[index] where the container adjoint `g` may still be the zero 0.0."""
    if isinstance(g, float) and g == 0.0:
        return 0.0
    if isinstance(g, dict):
        return g.get(index, 0.0)
    return g[index]


def add_at(g, x, index, v):
    """The adjoint of `x` after adding `v` at `x[index]` (a new value: never in place
    on an adjoint somebody else may hold)."""
    if isinstance(x, dict):
        out = dict(g) if isinstance(g, dict) else {}
        out[index] = add_grads(out[index], v) if index in out else v
        return out
    if isinstance(x, (list, tuple)):
        out = list(g) if isinstance(g, (list, tuple)) else [0.0] * len(x)
        if isinstance(index, slice):
            for k, vk in zip(range(*index.indices(len(x))), v):
                out[k] = add_grads(out[k], vk)
        else:
            out[index] = add_grads(out[index], v)
        return type(x)(out) if isinstance(x, tuple) else out
    if isinstance(g, np.ndarray) and g.shape == np.shape(x):
        out = g.astype(np.result_type(g, v, float), copy=True)
    else:
        out = np.zeros(np.shape(x), np.result_type(np.asarray(x).dtype, float)
                       if np.asarray(x).dtype.kind in "fc" else float)
        if not (isinstance(g, float) and g == 0.0):
            out = out + g
    np.add.at(out, index, v)
    return out


def set_zero(g, x, index):
    """The adjoint of a container after `x[index] = ...` overwrote those slots."""
    if isinstance(g, float) and g == 0.0:
        return g
    if isinstance(g, dict):
        out = dict(g)
        out.pop(index, None)
        return out
    if isinstance(g, list):
        out = list(g)
        if isinstance(index, slice):
            for k in range(*index.indices(len(out))):
                out[k] = 0.0
        else:
            out[index] = 0.0
        return out
    out = np.array(g, copy=True)
    out[index] = 0.0
    return out


def copy_item(x, index):
    """The value at x[index], copied if it is a view into an array."""
    v = x[index]
    return v.copy() if isinstance(v, np.ndarray) else v


def unappend(g):
    """Split a list adjoint into (rest, last) to undo an `append`."""
    if isinstance(g, float) and g == 0.0:
        return 0.0, 0.0
    return list(g[:-1]), g[-1]


def split_concat(g, a, b):
    """Adjoints of `a` and `b` from the adjoint of `a + b` (lists or tuples)."""
    if isinstance(g, float) and g == 0.0:
        return 0.0, 0.0
    n = len(a)
    return list(g[:n]), list(g[n:])


def sum_list_grad(g, xs):
    """Adjoint of every element of `xs` from the adjoint of `sum(xs)`."""
    return [unbroadcast(g, x) for x in xs]


def unreduce(g, x, axis=None, keepdims=False):
    """Broadcast the adjoint of a reduction over `axis` back to the shape of `x`."""
    shape = np.shape(x)
    if axis is not None and not keepdims:
        axes = (axis,) if isinstance(axis, int) else tuple(axis)
        axes = tuple(a % len(shape) for a in axes)
        g = np.expand_dims(g, axes)
    return np.broadcast_to(g, shape)


def count_reduced(x, axis=None):
    """How many elements a reduction over `axis` combines."""
    shape = np.shape(x)
    if axis is None:
        return int(np.prod(shape, dtype=np.int64)) if shape else 1
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    n = 1
    for a in axes:
        n *= shape[a]
    return n


def prod_grad(g, x, axis=None, keepdims=False):
    """Adjoint of np.prod: the product of all the *other* elements (exact with zeros)."""
    x = np.asarray(x)
    g = unreduce(g, x, axis, keepdims)
    if axis is None:
        flat = x.reshape(-1)
        left = np.concatenate(([1.0], np.cumprod(flat[:-1])))
        right = np.concatenate((np.cumprod(flat[::-1][:-1])[::-1], [1.0]))
        return g * (left * right).reshape(x.shape)
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    if len(axes) != 1:
        return g * np.prod(x, axis=axis, keepdims=True) / x
    a = axes[0] % x.ndim
    moved = np.moveaxis(x, a, -1)
    ones = np.ones(moved.shape[:-1] + (1,))
    left = np.concatenate((ones, np.cumprod(moved[..., :-1], axis=-1)), axis=-1)
    right = np.concatenate((np.cumprod(moved[..., ::-1][..., :-1], axis=-1)[..., ::-1],
                            ones), axis=-1)
    return g * np.moveaxis(left * right, -1, a)


def extremum_grad(g, y, x, axis=None, keepdims=False):
    """Adjoint of max/min reductions: shared equally among the tied extreme elements."""
    y_full = unreduce(y, x, axis, keepdims)
    mask = (np.asarray(x) == y_full)
    count = np.sum(mask, axis=axis, keepdims=True)
    return unreduce(g, x, axis, keepdims) * mask / count


def choose_grad(g, mask):
    """The part of adjoint `g` routed through positions where `mask` is true."""
    return np.where(mask, g, 0.0) if np.ndim(mask) else (g if mask else 0.0 * g)


def matmul_left(g, b, a):
    """Adjoint of `a` in y = a @ b (vectors, matrices and broadcast batches)."""
    if np.ndim(b) == 1:
        if np.ndim(a) == 1:
            return g * b                                  # inner product
        return np.expand_dims(g, -1) * b                  # (..., m) x (k,)
    if np.ndim(a) == 1:                                   # (k,) x (..., k, n)
        return np.reshape(b @ np.expand_dims(g, -1), (-1, np.shape(a)[0])).sum(axis=0)
    return unbroadcast(g @ np.swapaxes(b, -1, -2), a)


def matmul_right(g, a, b):
    """Adjoint of `b` in y = a @ b (vectors, matrices and broadcast batches)."""
    if np.ndim(a) == 1:
        if np.ndim(b) == 1:
            return g * a
        return unbroadcast(np.expand_dims(a, -1) * np.expand_dims(g, -2), b)
    if np.ndim(b) == 1:                                   # (..., m, k) x (k,)
        k = np.shape(b)[0]
        return np.reshape(a, (-1, k)).T @ np.reshape(g, (-1,))
    return unbroadcast(np.swapaxes(a, -1, -2) @ g, b)


def dot_left(g, b, a):
    """Adjoint of `a` in y = np.dot(a, b)."""
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return unbroadcast(g * b, a)
    if np.ndim(a) > 2 or np.ndim(b) > 2:
        raise NotImplementedError("gradient of np.dot on arrays of more than 2 dimensions: "
                                  "use np.matmul or np.tensordot")
    return matmul_left(g, b, a)


def dot_right(g, a, b):
    """Adjoint of `b` in y = np.dot(a, b)."""
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return unbroadcast(g * a, b)
    if np.ndim(a) > 2 or np.ndim(b) > 2:
        raise NotImplementedError("gradient of np.dot on arrays of more than 2 dimensions: "
                                  "use np.matmul or np.tensordot")
    return matmul_right(g, a, b)


def tensordot_grads(g, a, b, axes=2):
    """Adjoints (a_bar, b_bar) of y = np.tensordot(a, b, axes)."""
    na, nb = np.ndim(a), np.ndim(b)
    if isinstance(axes, int):
        a_axes = list(range(na - axes, na))
        b_axes = list(range(axes))
    else:
        a_axes, b_axes = axes
        a_axes = [a_axes] if isinstance(a_axes, int) else list(a_axes)
        b_axes = [b_axes] if isinstance(b_axes, int) else list(b_axes)
        a_axes = [d % na for d in a_axes]
        b_axes = [d % nb for d in b_axes]
    a_free = [d for d in range(na) if d not in a_axes]
    b_free = [d for d in range(nb) if d not in b_axes]
    nf_a = len(a_free)
    g_a_free = list(range(nf_a))
    g_b_free = list(range(nf_a, nf_a + len(b_free)))
    # a_bar[a_free, a_axes] = sum over b_free of g[a_free, b_free] * b[b_axes, b_free]
    ga = np.tensordot(g, b, axes=(g_b_free, b_free))   # a_free..., sorted(b_axes)...
    perm_a = a_free + [a_axes[b_axes.index(d)] for d in sorted(b_axes)]
    a_bar = np.transpose(ga, np.argsort(perm_a))
    gb = np.tensordot(a, g, axes=(a_free, g_a_free))   # sorted(a_axes)..., b_free...
    perm_b = [b_axes[a_axes.index(d)] for d in sorted(a_axes)] + b_free
    b_bar = np.transpose(gb, np.argsort(perm_b))
    return a_bar, b_bar


def einsum_grad(g, spec, operands, k):
    """Adjoint of operand `k` of y = np.einsum(spec, *operands)."""
    spec = spec.replace(" ", "")
    if "." in spec:
        raise NotImplementedError("einsum gradients with '...' are not supported")
    if "->" in spec:
        inputs, output = spec.split("->")
    else:
        inputs = spec
        letters = inputs.replace(",", "")
        output = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    terms = inputs.split(",")
    target = terms[k]
    if len(set(target)) != len(target):
        raise NotImplementedError("einsum gradients with a repeated index in one operand "
                                  "(traces, diagonals) are not supported")
    others = [t for i, t in enumerate(terms) if i != k]
    other_ops = [o for i, o in enumerate(operands) if i != k]
    known = set(output).union(*others)
    kept = "".join(c for c in target if c in known)
    grad = np.einsum(",".join([output] + others) + "->" + kept, g, *other_ops)
    if kept == target:
        return grad
    for pos, c in enumerate(target):          # letters summed away by this operand alone
        if c not in known:
            grad = np.expand_dims(grad, pos)
    return np.broadcast_to(grad, np.shape(operands[k]))


def split_grad(gs, x, indices_or_sections, axis=0):
    """Adjoint of `x` from the adjoints of the pieces of np.split(x, ...)."""
    pieces = np.split(np.zeros(np.shape(x)), indices_or_sections, axis)
    parts = [np.broadcast_to(gi, p.shape) if not (isinstance(gi, float) and gi == 0.0)
             else p for gi, p in zip(gs, pieces)] if isinstance(gs, (list, tuple)) else pieces
    return np.concatenate(parts, axis)


def concat_grads(g, xs, axis=0):
    """Adjoints of the pieces of np.concatenate(xs, axis)."""
    if axis is None:
        sizes = np.cumsum([np.size(x) for x in xs])[:-1]
        return [np.reshape(p, np.shape(x)) for p, x in zip(np.split(np.ravel(g), sizes), xs)]
    sizes = np.cumsum([np.shape(x)[axis] for x in xs])[:-1]
    return list(np.split(g, sizes, axis))


def stack_grads(g, xs, axis=0):
    """Adjoints of the pieces of np.stack(xs, axis)."""
    return [np.take(g, k, axis=axis) for k in range(len(xs))]


def hstack_grads(g, xs):
    axis = 0 if all(np.ndim(x) <= 1 for x in xs) else 1
    return concat_grads(g, [np.atleast_1d(x) for x in xs], axis)


def vstack_grads(g, xs):
    parts = concat_grads(g, [np.atleast_2d(x) for x in xs], 0)
    return [np.reshape(p, np.shape(x)) for p, x in zip(parts, xs)]


def transpose_grad(g, axes=()):
    """Adjoint of transpose(x, *axes): transpose back by the inverse permutation."""
    if len(axes) == 1:
        axes = axes[0]
    if axes is None or len(axes) == 0:
        return np.transpose(g)
    return np.transpose(g, np.argsort(axes))


def check_scalar(y):
    """`grad` needs a scalar output: refuse anything else with a clear message."""
    if np.ndim(y) != 0 and not (np.size(y) == 1 and isinstance(y, np.ndarray)):
        raise GradientError(
            f"grad needs a scalar output, but the function returned shape {np.shape(y)}; "
            "reduce it (e.g. np.sum) or use s2sgrad.vjp with an output cotangent")
    return y
