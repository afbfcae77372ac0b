"""Runtime helpers that generated code calls.

Each helper is self-contained (it uses only `numpy as np`, `math` and other helpers
of this module), so that `s2sgrad transform` can copy the ones a module needs into
the module it writes. A zero adjoint is represented by the float `0.0` until
something concrete arrives; helpers accept it wherever an adjoint may still be zero.
"""
import math

import numpy as np

from .errors import GradientError


def stop_gradient(x):
    """Identity in the forward pass; no gradient flows through it."""
    return x


def is_zero(g):
    """Whether `g` is the zero adjoint `0.0` (no gradient has arrived yet).  Every rule is
    linear in its output's adjoint, so a helper given it returns zero without looking at
    shapes: `0.0` for one input, a list of them for several."""
    if type(g) is float:
        return g == 0.0
    if type(g) is np.ndarray:
        return g.ndim == 0 and g == 0.0
    return isinstance(g, np.floating) and g == 0.0


def unbroadcast(g, x):
    """Sum the adjoint `g` over the axes along which `x` was broadcast."""
    if type(g) is np.ndarray and type(x) is np.ndarray and g.shape == x.shape:
        return g                                          # nothing was broadcast
    if type(g) is float or is_zero(g):
        return g
    xs = x.shape if type(x) is np.ndarray else np.shape(x)
    gs = g.shape if type(g) is np.ndarray else np.shape(g)
    if gs == xs:
        return g
    if not xs and type(x) is not list:
        return np.sum(g)
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


class ShapeOf:
    """What the backward pass keeps of a value it only needs the shape of."""
    __slots__ = ("shape", "ndim")

    def __init__(self, x):
        self.shape = x.shape if type(x) is np.ndarray else np.shape(x)
        self.ndim = len(self.shape)

    @property
    def size(self):
        return math.prod(self.shape)

    def __repr__(self):
        return f"ShapeOf{self.shape}"


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
    if type(x) is float and type(g) is float:
        return g
    if isinstance(x, np.ndarray):
        dtype = x.dtype if x.dtype.kind in "fc" else np.float64
        if type(g) is np.ndarray and g.dtype == dtype and g.shape == x.shape \
                and g.flags.writeable:
            return g
        g = np.asarray(g, dtype=dtype)
        if g.shape != x.shape:
            g = np.broadcast_to(g, x.shape).copy()
        elif not g.flags.writeable:         # a broadcast view (the seed of a sum)
            g = g.copy()
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
    try:
        return g[index]
    except TypeError:
        if np.ndim(g) == 0:       # a number as a container's adjoint: the output's seed
            raise GradientError(
                "grad needs a scalar output, but the function returned a tuple, list or "
                "dict; return one number, or use s2sgrad.vjp for several outputs") from None
        raise


def add_at(g, x, index, v, in_place=False):
    """The adjoint of `x` after adding `v` at `x[index]`: a new array, or `g` itself
    updated when the optimizer proved nobody else holds it (`in_place`)."""
    if in_place and isinstance(g, np.ndarray) and g.shape == np.shape(x):
        if _is_basic_index(index):
            g[index] += v
        else:
            np.add.at(g, index, v)
        return g
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
        return tuple(out) if isinstance(x, tuple) else out   # namedtuples too
    fresh = False
    if isinstance(g, np.ndarray) and g.shape == np.shape(x):
        out = g.astype(np.result_type(g, v, float), copy=True)
    else:
        xa = x if type(x) is np.ndarray else np.asarray(x)
        out = np.zeros(xa.shape, xa.dtype if xa.dtype.kind in "fc" else float)
        fresh = is_zero(g)
        if not fresh:
            out = out + g
    if _is_basic_index(index):
        if fresh:
            out[index] = v          # into zeros: no need to read them
        else:
            out[index] += v         # distinct positions: a plain in-place add is exact
    else:
        np.add.at(out, index, v)    # integer arrays may repeat positions
    return out


def _is_basic_index(index):
    """Ints, slices, None and Ellipsis (no fancy indexing): positions never repeat."""
    parts = index if type(index) is tuple else (index,)
    for p in parts:
        if not (p is None or p is Ellipsis or type(p) in (int, slice)
                or isinstance(p, np.integer)):
            return False
    return True


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
    """The value at x[index], copied if it is a view into an array (KeyError stands
    for a dict key that is not there yet)."""
    if isinstance(x, dict) and index not in x:
        return KeyError
    v = x[index]
    return v.copy() if isinstance(v, np.ndarray) else v


def restore_item(x, index, old):
    """Undo `x[index] = ...` with the value `copy_item` saved."""
    if old is KeyError and isinstance(x, dict):
        del x[index]
    else:
        x[index] = old


def unappend(g):
    """Split a list adjoint into (rest, last) to undo an `append`."""
    if isinstance(g, float) and g == 0.0:
        return 0.0, 0.0
    return list(g[:-1]), g[-1]


def repeat_list_grad(g, a, b):
    """Adjoints (ā, b̄) of y = a * b where one of them is a list repeated (the other, an
    int) times: the list's adjoint sums the copies of ȳ, the count gets none."""
    if is_zero(g):
        return 0.0, 0.0
    first = isinstance(a, (list, tuple))
    k = len(a if first else b)
    out = [0.0] * k
    for j, gj in enumerate(g):
        out[j % k] = add_grads(out[j % k], gj)
    return (out, 0.0) if first else (0.0, out)


def split_concat(g, a, b):
    """Adjoints of `a` and `b` from the adjoint of `a + b` (lists or tuples)."""
    if isinstance(g, float) and g == 0.0:
        return 0.0, 0.0
    n = len(a)
    return list(g[:n]), list(g[n:])


def sum_list_grad(g, xs):
    """Adjoint of every element of `xs` from the adjoint of `sum(xs)`. The builtin sum
    iterates the first axis of an array, so an array's adjoint is an array: ȳ (reduced
    to the shape of one row) broadcast over the rows."""
    if isinstance(xs, np.ndarray):
        if is_zero(g) or xs.ndim == 0:      # sum() of a 0-d array raises before this
            return 0.0
        return np.broadcast_to(unbroadcast(g, xs[0]), xs.shape)
    if is_zero(g):
        return [0.0] * len(xs)
    return [unbroadcast(g, x) for x in xs]


def unreduce(g, x, axis=None, keepdims=False):
    """Broadcast the adjoint of a reduction over `axis` back to the shape of `x`."""
    if axis is None and type(x) is np.ndarray and (type(g) is float or type(g) is np.float64):
        return np.full(x.shape, g)                        # the usual seed of a loss
    if is_zero(g):
        return 0.0
    shape = x.shape if type(x) is np.ndarray else np.shape(x)
    if axis is None:
        if np.ndim(g) == 0:
            return np.full(shape, g)        # (a stride-0 view is slower to compute with)
        return np.broadcast_to(g, shape)
    if not keepdims:
        axes = (axis,) if isinstance(axis, int) else tuple(axis)
        axes = tuple(a % len(shape) for a in axes)
        g = np.expand_dims(g, axes)
    return np.broadcast_to(g, shape)


def div_or_zero(a, b):
    """a / b, and 0 where b is 0. The adjoint of a standard deviation is ȳ/y times a
    term that is 0 wherever y is: over one element (or a scalar) std is constant, so 0
    is its derivative, and at equal elements 0 is a subgradient (autograd's and JAX's
    convention for std of a single element)."""
    if np.ndim(b) == 0:
        return a / b if b != 0 else 0.0 * a
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b != 0, a / b, 0.0 * a)


def count_reduced(x, axis=None):
    """How many elements a reduction over `axis` combines."""
    if axis is None and type(x) is np.ndarray:
        return x.size
    shape = x.shape if type(x) is np.ndarray else np.shape(x)
    if axis is None:
        return math.prod(shape)
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    n = 1
    for a in axes:
        n *= shape[a]
    return n


def prod_grad(g, x, axis=None, keepdims=False):
    """Adjoint of np.prod: the product of all the *other* elements (exact with zeros)."""
    if is_zero(g):
        return 0.0
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
    """Adjoint of max/min reductions: shared equally among the tied extreme elements;
    a list for the builtin max/min of a list (its adjoint adds up with other lists)."""
    if is_zero(g):
        return 0.0
    y_full = unreduce(y, x, axis, keepdims)
    mask = (np.asarray(x) == y_full)
    count = np.sum(mask, axis=axis, keepdims=True)
    out = unreduce(g, x, axis, keepdims) * mask / count
    return list(out) if isinstance(x, (list, tuple)) else out


def choose_grad(g, mask):
    """The part of adjoint `g` routed through positions where `mask` is true."""
    return np.where(mask, g, 0.0) if np.ndim(mask) else (g if mask else 0.0 * g)


def matmul_left(g, b, a):
    """Adjoint of `a` in y = a @ b (vectors, matrices and broadcast batches)."""
    if type(g) is np.ndarray and type(a) is np.ndarray and type(b) is np.ndarray \
            and g.ndim == 2 and a.ndim == 2 and b.ndim == 2:
        return g @ b.T                                    # matrices: the common case
    if is_zero(g):
        return 0.0
    if np.ndim(b) == 1:
        if np.ndim(a) == 1:
            return g * b                                  # inner product
        return np.expand_dims(g, -1) * b                  # (..., m) x (k,)
    if np.ndim(a) == 1:                                   # (k,) x (..., k, n)
        return np.reshape(b @ np.expand_dims(g, -1), (-1, np.shape(a)[0])).sum(axis=0)
    return unbroadcast(g @ np.swapaxes(b, -1, -2), a)


def matmul_right(g, a, b):
    """Adjoint of `b` in y = a @ b (vectors, matrices and broadcast batches)."""
    if type(g) is np.ndarray and type(a) is np.ndarray and type(b) is np.ndarray \
            and a.ndim == 2 and b.ndim == g.ndim and g.ndim <= 2:
        return a.T @ g                                    # matrix @ matrix or vector
    if is_zero(g):
        return 0.0
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
    if is_zero(g):
        return 0.0
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return unbroadcast(g * b, a)
    if np.ndim(a) > 2 or np.ndim(b) > 2:
        return tensordot_grads(g, a, b, _dot_axes(a, b))[0]
    return matmul_left(g, b, a)


def dot_right(g, a, b):
    """Adjoint of `b` in y = np.dot(a, b)."""
    if is_zero(g):
        return 0.0
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return unbroadcast(g * a, b)
    if np.ndim(a) > 2 or np.ndim(b) > 2:
        return tensordot_grads(g, a, b, _dot_axes(a, b))[1]
    return matmul_right(g, a, b)


def _dot_axes(a, b):
    """np.dot of N-D arrays is a tensordot: the last axis of a with the second-to-last
    of b (the only axis of a 1-D b); the free axes keep dot's order."""
    return [np.ndim(a) - 1], [max(np.ndim(b) - 2, 0)]


def tensordot_grads(g, a, b, axes=2):
    """Adjoints (a_bar, b_bar) of y = np.tensordot(a, b, axes)."""
    if is_zero(g):
        return 0.0, 0.0
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


def pow_base_deriv(a, b):
    """∂(aᵇ)/∂a = b·aᵇ⁻¹, and 0 where b = 0 (a⁰ = 1 for every a, 0 included: the
    convention autograd and JAX document)."""
    if type(a) in (int, float) and type(b) in (int, float) and a != 0:
        return b * a ** (b - 1) if b != 0 else 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.equal(b, 0), 0.0, b * np.power(a, np.where(np.equal(b, 0), 1.0, b - 1.0)))


def log_or_zero(a):
    """ln a, and 0 where a = 0: ∂(aᵇ)/∂b = aᵇ·ln a has the limit 0 there for b > 0 (the
    convention autograd and JAX document, instead of 0·(-∞) = NaN)."""
    if type(a) in (int, float) and a > 0:
        return math.log(a)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(np.where(np.equal(a, 0), 1.0, a))


def _einsum_terms(spec, shapes):
    """The input terms and output of an einsum spec, with `...` written out as letters
    (the broadcast axes, aligned from the right) and the implicit output made explicit."""
    spec = spec.replace(" ", "")
    inputs, output = spec.split("->") if "->" in spec else (spec, None)
    terms = inputs.split(",")
    letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    spare = [c for c in letters if c not in spec]
    widths = [len(s) - (len(t) - 3) for t, s in zip(terms, shapes) if "..." in t]
    ell = "".join(spare[:max(widths, default=0)])
    terms = [t.replace("...", ell[len(ell) - (len(s) - (len(t) - 3)):]) if "..." in t else t
             for t, s in zip(terms, shapes)]
    if output is None:
        letters = "".join(terms)
        output = ell + "".join(sorted(c for c in set(letters)
                                      if letters.count(c) == 1 and c not in ell))
    return terms, output.replace("...", ell)


def einsum_grad(g, spec, operands, k):
    """Adjoint of operand `k` of y = np.einsum(spec, *operands): ȳ contracted with the
    other operands onto the operand's distinct letters, broadcast along letters only it
    has, summed along axes it broadcast, and written on the diagonal for a letter it
    repeats (a trace 'ii->', a diagonal 'ii->i')."""
    if is_zero(g):
        return 0.0
    shapes = [np.shape(o) for o in operands]
    terms, output = _einsum_terms(spec, shapes)
    target, shape = terms[k], shapes[k]
    letters = "".join(dict.fromkeys(target))             # distinct, in order
    size = {c: shape[target.index(c)] for c in letters}
    others = [t for i, t in enumerate(terms) if i != k]
    other_ops = [o for i, o in enumerate(operands) if i != k]
    known = set(output).union(*others)
    kept = "".join(c for c in letters if c in known)
    grad = np.einsum(",".join([output] + others) + "->" + kept, g, *other_ops)
    for pos, c in enumerate(letters):
        if c not in known:                               # summed away by this operand alone
            grad = np.expand_dims(grad, pos)
    wide = tuple(pos for pos, c in enumerate(letters)    # this operand broadcast (size 1)
                 if size[c] == 1 and np.shape(grad)[pos] != 1)
    if wide:
        grad = np.sum(grad, axis=wide, keepdims=True)
    grad = np.broadcast_to(grad, tuple(size[c] for c in letters))
    if letters == target:
        return grad
    out = np.zeros(shape, np.result_type(grad, operands[k], float))
    np.einsum(target + "->" + letters, out)[...] = grad  # a writeable view: the diagonal
    return out


def _concat_items(index, k, item):
    """np.r_/np.c_'s index items with item `k` replaced by `item` and every other array
    zeroed (ranges and directives kept: they are the same in both builds)."""
    items = list(index) if isinstance(index, tuple) else [index]
    out = [v if isinstance(v, (slice, str)) else np.zeros(np.shape(v)) for v in items]
    out[k] = item
    return tuple(out)


def index_concat_grad(g, maker, index, k):
    """Adjoint of item `k` of y = np.r_[…] or np.c_[…] (`maker`). Each element of y is a
    copy of one element of one item, so y is built again with the item's elements
    numbered 1, 2, … (the other items zeroed), and the item's adjoint gathers ȳ where
    each number went."""
    if is_zero(g):
        return 0.0
    items = index if isinstance(index, tuple) else (index,)
    shape = np.shape(items[k])
    numbers = np.arange(1.0, np.size(items[k]) + 1.0).reshape(shape)
    where = np.asarray(maker[_concat_items(index, k, numbers)]) \
        - np.asarray(maker[_concat_items(index, k, np.zeros(shape))])
    g = np.broadcast_to(g, where.shape)
    hit = where != 0
    out = np.zeros(np.size(items[k]))
    np.add.at(out, where[hit].astype(np.intp) - 1, g[hit])
    return out.reshape(shape) if shape else out[0]


def index_concat_tangent(maker, index, k, t):
    """Tangent of y = np.r_[…] / np.c_[…] along item `k` (linear: the others zeroed)."""
    items = index if isinstance(index, tuple) else (index,)
    t = np.broadcast_to(t, np.shape(items[k]))
    return np.asarray(maker[_concat_items(index, k, t)]) \
        - np.asarray(maker[_concat_items(index, k, np.zeros(np.shape(t)))])


def split_grad(gs, x, indices_or_sections, axis=0):
    """Adjoint of `x` from the adjoints of the pieces of np.split(x, ...)."""
    if is_zero(gs):
        return 0.0
    # np.array_split cuts like np.split wherever np.split works, and also into unequal parts
    pieces = np.array_split(np.zeros(np.shape(x)), indices_or_sections, axis)
    parts = [np.broadcast_to(gi, p.shape) if not is_zero(gi)
             else p for gi, p in zip(gs, pieces)] if isinstance(gs, (list, tuple)) else pieces
    return np.concatenate(parts, axis)


def concat_grads(g, xs, axis=0):
    """Adjoints of the pieces of np.concatenate(xs, axis)."""
    if is_zero(g):
        return [0.0] * len(xs)
    if axis is None:
        sizes = np.cumsum([np.size(x) for x in xs])[:-1]
        return [np.reshape(p, np.shape(x)) for p, x in zip(np.split(np.ravel(g), sizes), xs)]
    sizes = np.cumsum([np.shape(x)[axis] for x in xs])[:-1]
    return list(np.split(g, sizes, axis))


def stack_grads(g, xs, axis=0):
    """Adjoints of the pieces of np.stack(xs, axis)."""
    if is_zero(g):
        return [0.0] * len(xs)
    return [np.take(g, k, axis=axis) for k in range(len(xs))]


def hstack_grads(g, xs):
    if isinstance(xs, np.ndarray):
        return _stacked_array_grad(hstack_grads, g, xs)
    if is_zero(g):
        return [0.0] * len(xs)
    axis = 0 if all(np.ndim(x) <= 1 for x in xs) else 1
    return concat_grads(g, [np.atleast_1d(x) for x in xs], axis)


def vstack_grads(g, xs):
    if isinstance(xs, np.ndarray):
        return _stacked_array_grad(vstack_grads, g, xs)
    if is_zero(g):
        return [0.0] * len(xs)
    parts = concat_grads(g, [np.atleast_2d(x) for x in xs], 0)
    return [np.reshape(p, np.shape(x)) for p, x in zip(parts, xs)]


def _stacked_array_grad(pieces_grad, g, x):
    """np.hstack(x) / np.vstack(x) of one array stacks its sub-arrays x[0], x[1], …:
    the adjoint of x is theirs, stacked back into x's shape."""
    if is_zero(g):
        return 0.0
    parts = pieces_grad(g, list(x))
    return np.reshape(np.stack([np.reshape(p, np.shape(x[0])) for p in parts]), x.shape)


def transpose_grad(g, axes=()):
    """Adjoint of transpose(x, *axes): transpose back by the inverse permutation."""
    if is_zero(g):
        return 0.0
    if len(axes) == 1:
        axes = axes[0]
    if axes is None or len(axes) == 0:
        return np.transpose(g)
    return np.transpose(g, np.argsort(axes))


def unreshape(g, x):
    """Adjoint of a reshape (ravel, squeeze, expand_dims, ...) of `x`: ȳ in x's shape."""
    if is_zero(g):
        return 0.0
    return np.reshape(g, x.shape if type(x) is np.ndarray else np.shape(x))


def unreshape_order(g, x, order):
    """Adjoint of a reshape of `x` in index order `order`: ȳ in x's shape, read in the
    same order."""
    if is_zero(g):
        return 0.0
    if reshape_order(x, order) == "F":
        return np.reshape(g, np.shape(x), order="F")
    return np.reshape(g, np.shape(x))


def reshape_like(t, y, x, order):
    """Tangent of y = reshape(x, …, order): ẋ reshaped in the same index order."""
    if reshape_order(x, order) == "F":
        return np.reshape(t, np.shape(y), order="F")
    return np.reshape(t, np.shape(y))


def reshape_order(x, order):
    """The index order ('C' or 'F') a reshape of `x` with `order` uses: 'A' is 'F' for
    an array that is Fortran- and not C-contiguous. ('K' is refused at transform
    time.)"""
    if order in ("C", "F", "c", "f"):
        return order.upper()
    if order in ("A", "a"):
        flags = getattr(x, "flags", None)
        return "F" if flags is not None and flags.f_contiguous and not flags.c_contiguous \
            else "C"
    raise GradientError(f"s2sgrad differentiates reshapes in order 'C', 'F' or 'A', "
                        f"not {order!r}")


def flip_grad(g, axis=None):
    """Adjoint of y = flip(x, axis): flip ȳ back."""
    if is_zero(g):
        return 0.0
    return np.flip(g, axis)


def roll_grad(g, shift, axis=None):
    """Adjoint of y = roll(x, shift, axis): roll ȳ back by -shift."""
    if is_zero(g):
        return 0.0
    return np.roll(g, np.negative(shift), axis)


def cumsum_grad(g, x, axis=None):
    """Adjoint of y = cumsum(x, axis): the reversed cumulative sum of ȳ."""
    if is_zero(g):
        return 0.0
    if axis is None:
        return np.reshape(np.flip(np.cumsum(np.flip(np.ravel(g)))), np.shape(x))
    return np.flip(np.cumsum(np.flip(g, axis), axis), axis)


def inner_grads(g, a, b):
    """Adjoints (ā, b̄) of y = np.inner(a, b), the sum over the last axes of a and b."""
    if is_zero(g):
        return 0.0, 0.0
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return unbroadcast(g * b, a), unbroadcast(g * a, b)
    return tensordot_grads(g, a, b, ([np.ndim(a) - 1], [np.ndim(b) - 1]))


def outer_grads(g, a, b):
    """Adjoints (ā, b̄) of y = np.outer(a, b) (a and b flattened, as NumPy does)."""
    if is_zero(g):
        return 0.0, 0.0
    return (np.reshape(g @ np.ravel(b), np.shape(a)),
            np.reshape(np.ravel(a) @ g, np.shape(b)))


def copy_grad(g, x):
    """Adjoint of y = array(x) / list(x) / x.copy(): ȳ, as a list when x is a list, as an
    array when x is an array whose rows were listed (`list(X)`: ȳ is a list of rows)."""
    if is_zero(g):
        return g
    if isinstance(x, np.ndarray) and isinstance(g, (list, tuple)):
        row = x.shape[1:]
        return np.stack([np.zeros(row) if is_zero(gi) else np.broadcast_to(gi, row)
                         for gi in g]) if len(g) else np.zeros(x.shape)
    if not isinstance(x, (list, tuple)):
        return g
    return list(g)


def cast_grad(g, x, y):
    """Adjoint of y = x.astype(dtype) / array(x, dtype): ȳ, or nothing when the cast is to
    integers or booleans (a piecewise constant function)."""
    if isinstance(y, np.ndarray) and y.dtype.kind not in "fc":
        return 0.0
    return copy_grad(g, x)


def check_scalar(y):
    """`grad` needs a scalar output: refuse anything else with a clear message."""
    if np.ndim(y) != 0 and not (np.size(y) == 1 and isinstance(y, np.ndarray)):
        raise GradientError(
            f"grad needs a scalar output, but the function returned shape {np.shape(y)}; "
            "reduce it (e.g. np.sum) or use s2sgrad.vjp with an output cotangent")
    return y


# ---- tangent helpers
# Called by the forward-mode (tangent) templates in rules/tangents.py. Each returns one
# term of an output tangent, already shaped like the output, so that the terms of the
# different inputs add up (with `+`, or `add_grads` for containers) in any order.

def match_grad(t, y):
    """`match_shape` for a term of an adjoint sum: containers pass through unchanged."""
    if isinstance(y, (list, tuple, dict)):
        return t
    return match_shape(t, y)


def tangents_like(ts, xs):
    """The tangents of a sequence of values, each broadcast to its value's shape (a
    zero `0.0` of an array element becomes an array of zeros)."""
    return [match_shape(t, x) for t, x in zip(ts, xs)]


def item_tangent(t, k, y):
    """Tangent of the display y = [.., item k, ..] along item k: zeros elsewhere."""
    out = [t if j == k else zero_grad(v) for j, v in enumerate(y)]
    return tuple(out) if isinstance(y, tuple) else out


def dict_item_tangent(t, key, y):
    """Tangent of the display y = {.., key: item, ..} along one item: zeros elsewhere."""
    return {k: (t if k == key else zero_grad(v)) for k, v in y.items()}


def concat_tangent_left(t, b):
    """Tangent of the list a + b along a: ȧ followed by zeros for b."""
    out = list(t) + [zero_grad(v) for v in b]
    return tuple(out) if isinstance(b, tuple) else out


def concat_tangent_right(a, t):
    """Tangent of the list a + b along b: zeros for a followed by ḃ."""
    out = [zero_grad(v) for v in a] + list(t)
    return tuple(out) if isinstance(a, tuple) else out


def copy_tangent(t, y):
    """Tangent of a copy or conversion y = array(x), list(x), float32(x)...: ẋ converted
    like x was (a fresh array, never a view of ẋ)."""
    if isinstance(y, np.ndarray):
        if y.dtype.kind not in "fc":          # a cast to integers: piecewise constant
            return np.zeros(y.shape)
        return np.array(t, dtype=y.dtype)
    return grad_like(t, y)


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
    dtype = np.result_type(x.dtype, np.asarray(t).dtype, float)
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
    weights = extremum_grad(np.ones(np.shape(y)), y, x, axis, keepdims)
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


# ---- linear algebra, shape and selection helpers
# Called by the adjoint and tangent templates of rules/linalg.py, rules/indexing.py and
# the matching rules of rules/tangents.py (norms, inverses, determinants, solves,
# diagonals, tile/repeat/diff, sort and take, `.item()`). Like the helpers above they
# use only NumPy and accept the zero adjoint 0.0 where one may still be zero.

def _as_like(y, items):
    """A tuple with the type of the tuple `y` (namedtuples such as SlogdetResult too)."""
    if hasattr(type(y), "_fields"):
        return type(y)(*items)
    return type(y)(items)


def _norm_axes(x, ord=None, axis=None):
    """The axes np.linalg.norm(x, ord, axis) reduces (None: all of them, flattened)."""
    nd = np.ndim(x)
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    return tuple(a % nd for a in axes)


def _is_two_norm(x, ord, axis):
    """The vector 2-norm or the Frobenius norm: ∂y/∂x = x / y."""
    nd = np.ndim(x)
    count = nd if axis is None else 1 if isinstance(axis, int) else len(axis)
    if ord is None:
        return True
    if isinstance(ord, str):
        return ord == "fro"
    return ord == 2 and (count == 1 or (axis is None and nd == 1))


def _norm_partials(y, x, ord, axis, keepdims):
    """∂y/∂x of y = np.linalg.norm(x, ord, axis, keepdims), with the shape of x: the
    p-norm's sign(x)·(|x|/y)^(p-1); for ±inf the entries at the extreme (shared by
    ties); for matrix norms the extreme column or row sums (ord ±1, ±inf), U·Vᵀ of the
    SVD ('nuc') and u₁v₁ᵀ of the largest or smallest singular value (ord ±2)."""
    x = np.asarray(x, dtype=np.result_type(x, float))
    nd = x.ndim
    axes = _norm_axes(x, ord, axis)
    full = tuple(range(nd)) if axes is None else axes
    n = unreduce(y, x, axes, keepdims)
    with np.errstate(divide="ignore", invalid="ignore"):
        if _is_two_norm(x, ord, axis):
            return x / np.where(n == 0.0, 1.0, n)
        if len(full) == 1:
            return _vector_norm_partials(x, n, ord, full)
        return _matrix_norm_partials(x, ord, full)


def _vector_norm_partials(x, n, ord, axes):
    ax = np.abs(x)
    if ord == 0:
        return np.zeros_like(x)
    if ord in (np.inf, -np.inf):
        hit = (ax == n).astype(x.dtype)
        return np.sign(x) * hit / np.sum(hit, axis=axes, keepdims=True)
    p = float(ord)
    ratio = np.where((n == 0.0) | (x == 0.0), 0.0, ax / np.where(n == 0.0, 1.0, n))
    part = np.sign(x) * np.where(ratio == 0.0, 0.0, ratio ** (p - 1.0))
    return np.where(n == 0.0, 0.0, part)


def _matrix_norm_partials(x, ord, axes):
    r, c = axes
    if isinstance(ord, str) and ord == "nuc" or ord in (2, -2):
        xm = np.moveaxis(x, (r, c), (-2, -1))
        u, s, vt = np.linalg.svd(xm, full_matrices=False)
        if isinstance(ord, str):
            d = u @ vt
        else:
            i = 0 if ord == 2 else -1
            d = u[..., :, i:i + 1 if i == 0 else None] @ vt[..., i:i + 1 if i == 0 else None, :]
        return np.moveaxis(d, (-2, -1), (r, c))
    if ord in (1, -1, np.inf, -np.inf):
        summed = r if ord in (1, -1) else c      # column sums (ord ±1), row sums (±inf)
        sums = np.sum(np.abs(x), axis=summed, keepdims=True)
        pick = np.max if ord in (1, np.inf) else np.min
        hit = (sums == pick(sums, axis=axes, keepdims=True)).astype(x.dtype)
        return np.sign(x) * hit / np.sum(hit, axis=axes, keepdims=True)
    raise ValueError(f"invalid norm order {ord!r} for matrices")


def norm_grad(g, y, x, ord=None, axis=None, keepdims=False):
    """Adjoint of y = np.linalg.norm(x, ord, axis, keepdims): x̄ = ȳ·∂y/∂x (for the
    2-norm ȳ·x / y, 0 at y = 0)."""
    if is_zero(g):
        return 0.0
    axes = _norm_axes(x, ord, axis)
    if _is_two_norm(x, ord, axis):
        x = np.asarray(x)
        n = unreduce(y, x, axes, keepdims)
        safe = np.where(n == 0.0, 1.0, n)
        return unreduce(g, x, axes, keepdims) * x / safe
    return unreduce(g, np.asarray(x), axes, keepdims) * _norm_partials(y, x, ord, axis,
                                                                       keepdims)


def norm_tangent(t, y, x, ord=None, axis=None, keepdims=False):
    """Tangent of y = ‖x‖ along ẋ = t: Σ ∂y/∂x·ẋ over the reduced axes (0 at y = 0 for
    the 2-norm)."""
    axes = _norm_axes(x, ord, axis)
    if _is_two_norm(x, ord, axis):
        s = np.sum(np.asarray(x) * t, axis=axes, keepdims=keepdims)
        return np.where(y == 0.0, 0.0, s / np.where(y == 0.0, 1.0, y))[()]
    return np.sum(_norm_partials(y, x, ord, axis, keepdims) * t, axis=axes,
                  keepdims=keepdims)[()]


def inv_grad(g, y):
    """Adjoint of y = inv(a) (batched): ā = -yᵀ·ȳ·yᵀ."""
    if is_zero(g):
        return 0.0
    yt = np.swapaxes(y, -1, -2)
    return -(yt @ g @ yt)


def det_grad(g, y, a):
    """Adjoint of y = det(a) (batched): ā = ȳ·y·a⁻ᵀ."""
    if is_zero(g):
        return 0.0
    gy = np.asarray(g * y)[..., None, None]
    return gy * np.swapaxes(np.linalg.inv(a), -1, -2)


def det_tangent(t, y, a):
    """Tangent of y = det(a) along ȧ = t: y·tr(a⁻¹ȧ)."""
    return y * np.trace(np.linalg.solve(a, t), axis1=-2, axis2=-1)


def slogdet_grad(g, a):
    """Adjoint of (sign, logabsdet) = slogdet(a) from the pair's adjoint `g`: only
    logabsdet carries a gradient, ā = ḡ₁·a⁻ᵀ."""
    g1 = getitem_grad(g, 1)
    if is_zero(g1):
        return zero_grad(np.asarray(a, dtype=float))
    return np.asarray(g1)[..., None, None] * np.swapaxes(np.linalg.inv(a), -1, -2)


def slogdet_tangent(t, y, a):
    """Tangent of (sign, logabsdet) = slogdet(a) along ȧ = t: (0, tr(a⁻¹ȧ))."""
    d = np.trace(np.linalg.solve(a, t), axis1=-2, axis2=-1)
    return _as_like(y, (zero_grad(y[0]) if np.ndim(y[0]) else 0.0 * y[0], d))


def _solve_vector(a, b):
    """np.linalg.solve treats b as a vector exactly when it is 1-D (NumPy ≥ 2)."""
    return np.ndim(b) == 1


def _solve_adjoint(g, a, b):
    """solve(aᵀ, ȳ) with ȳ shaped like y = solve(a, b) (a vector ȳ per matrix for 1-D b)."""
    at = np.swapaxes(a, -1, -2)
    if _solve_vector(a, b):
        return np.linalg.solve(at, np.asarray(g)[..., None])[..., 0]
    return np.linalg.solve(at, g)


def solve_grad_b(g, a, b):
    """Adjoint of b in y = solve(a, b): b̄ = solve(aᵀ, ȳ) (summed over broadcast batches)."""
    if is_zero(g):
        return 0.0
    return unbroadcast(_solve_adjoint(g, a, b), b)


def solve_grad_a(g, y, a, b):
    """Adjoint of a in y = solve(a, b): ā = -b̄·yᵀ with b̄ = solve(aᵀ, ȳ)."""
    if is_zero(g):
        return 0.0
    gb = _solve_adjoint(g, a, b)
    if _solve_vector(a, b):
        return unbroadcast(-(gb[..., :, None] * y[..., None, :]), a)
    return unbroadcast(-(gb @ np.swapaxes(y, -1, -2)), a)


def solve_tangent_a(t, y, a, b):
    """Tangent of y = solve(a, b) along ȧ = t: -solve(a, ȧ·y)."""
    if _solve_vector(a, b):
        return -np.linalg.solve(a, t @ y[..., None])[..., 0]
    return -np.linalg.solve(a, t @ y)


def solve_tangent_b(a, t, b):
    """Tangent of y = solve(a, b) along ḃ = t: solve(a, ḃ)."""
    if _solve_vector(a, b):
        return np.linalg.solve(a, np.asarray(t)[..., None])[..., 0]
    return np.linalg.solve(a, t)


def diagonal_grad(g, a, offset=0, axis1=0, axis2=1):
    """Adjoint of y = diagonal(a, offset, axis1, axis2): ȳ put back on that diagonal."""
    if is_zero(g):
        return 0.0
    shape = np.shape(a)
    out = np.zeros(shape, np.result_type(np.asarray(a).dtype, float)
                   if np.asarray(a).dtype.kind in "fc" else float)
    moved = np.moveaxis(out, (axis1, axis2), (-2, -1))        # a view: writes go to out
    n = np.shape(np.diagonal(out, offset, axis1, axis2))[-1]
    i = np.arange(n)
    moved[..., i + max(-offset, 0), i + max(offset, 0)] = g if is_zero(g) else \
        np.broadcast_to(g, moved.shape[:-2] + (n,))
    return out


def trace_grad(g, a, offset=0, axis1=0, axis2=1):
    """Adjoint of y = trace(a, offset, axis1, axis2): ȳ on every element of the diagonal."""
    if is_zero(g):
        return 0.0
    return diagonal_grad(np.asarray(g)[..., None], a, offset, axis1, axis2)


def diag_grad(g, v, k=0):
    """Adjoint of y = diag(v, k): the k-th diagonal of ȳ for a 1-D v, ȳ placed on the
    k-th diagonal of zeros for a 2-D v."""
    if is_zero(g):
        return 0.0
    if np.ndim(v) == 1:
        return np.diag(g, k)
    return diagonal_grad(g, v, k, 0, 1)


def tile_grad(g, x, reps):
    """Adjoint of y = tile(x, reps): the sum of ȳ over the copies."""
    if is_zero(g):
        return 0.0
    xs = np.shape(x)
    reps = (reps,) if np.ndim(reps) == 0 else tuple(reps)
    d = max(len(reps), len(xs))
    xp = (1,) * (d - len(xs)) + tuple(xs)
    rp = (1,) * (d - len(reps)) + reps
    g = np.reshape(g, [n for pair in zip(rp, xp) for n in pair])
    return np.reshape(np.sum(g, axis=tuple(range(0, 2 * d, 2))), xs)


def repeat_grad(g, x, repeats, axis=None):
    """Adjoint of y = repeat(x, repeats, axis): the sum of ȳ over each element's copies."""
    if is_zero(g):
        return 0.0
    xs = np.shape(x)
    if axis is None:
        n, rest, gm = int(np.prod(xs, dtype=np.int64)), (), np.ravel(g)
    else:
        axis = axis % len(xs)
        n, gm = xs[axis], np.moveaxis(g, axis, 0)
        rest = gm.shape[1:]
    out = np.zeros((n,) + rest, np.result_type(g, float))
    np.add.at(out, np.repeat(np.arange(n), repeats), gm)
    return np.reshape(out, xs) if axis is None else np.moveaxis(out, 0, axis)


def diff_grad(g, x, n=1, axis=-1):
    """Adjoint of y = diff(x, n, axis): n times x̄ᵢ = ȳᵢ₋₁ - ȳᵢ (zero-padded ends)."""
    if is_zero(g):
        return 0.0
    nd = np.ndim(x)
    axis = axis % nd
    for _ in range(n):
        pad = [(0, 0)] * nd
        pad[axis] = (1, 0)
        before = np.pad(g, pad)
        pad[axis] = (0, 1)
        g = before - np.pad(g, pad)
    return g


def sort_grad(g, x, axis=-1, kind=None):
    """Adjoint of y = sort(x, axis): ȳ scattered back to where each element came from."""
    if is_zero(g):
        return 0.0
    if axis is None:
        return np.reshape(sort_grad(g, np.ravel(x), -1, kind), np.shape(x))
    order = np.argsort(x, axis=axis, kind=kind)
    out = np.zeros(np.shape(x), np.result_type(g, float))
    np.put_along_axis(out, order, g, axis)
    return out


def sort_tangent(t, x, axis=-1, kind=None):
    """Tangent of y = sort(x, axis) along ẋ = t: ẋ in the order of x's sort."""
    if axis is None:
        return sort_tangent(np.ravel(t), np.ravel(x), -1, kind)
    return np.take_along_axis(np.broadcast_to(t, np.shape(x)),
                              np.argsort(x, axis=axis, kind=kind), axis)


def _take_indices(indices, n, mode="raise"):
    indices = np.asarray(indices)
    if mode == "wrap":
        return indices % n
    if mode == "clip":
        return np.clip(indices, 0, n - 1)
    return indices


def take_grad(g, x, indices, axis=None, mode="raise"):
    """Adjoint of y = take(x, indices, axis): x̄[indices] += ȳ along axis (repeated
    indices accumulate)."""
    if is_zero(g):
        return 0.0
    xs = np.shape(x)
    out = np.zeros(xs, np.result_type(g, float))
    if axis is None:
        flat = out.reshape(-1)
        np.add.at(flat, _take_indices(indices, flat.size, mode), g)
        return out
    axis = axis % len(xs)
    ind = _take_indices(indices, xs[axis], mode)
    k = ind.ndim
    gm = np.moveaxis(g, tuple(range(axis, axis + k)), tuple(range(k)))
    np.add.at(np.moveaxis(out, axis, 0), ind, gm)
    return out


def item_grad(g, x, index=()):
    """Adjoint of y = x.item(*index): ȳ at that one element of x."""
    if is_zero(g):
        return 0.0
    out = np.zeros(np.shape(x), np.result_type(np.asarray(x).dtype, float)
                   if np.asarray(x).dtype.kind in "fc" else float)
    if len(index) == 0:
        out[...] = g
    elif len(index) == 1 and not isinstance(index[0], tuple):
        out.reshape(-1)[index[0]] = g
    elif len(index) == 1:
        out[index[0]] = g
    else:
        out[tuple(index)] = g
    return out


# Tangents of the helpers above that are not linear in their every argument (used by
# the forward-mode rules of the helpers, for forward-over-reverse).

def _inv_tangent(a, t):
    """d(a⁻¹) along ȧ = t: -a⁻¹·ȧ·a⁻¹."""
    ai = np.linalg.inv(a)
    return -(ai @ t @ ai)


def inv_grad_dy(g, y, t):
    """Tangent of inv_grad(g, y) = -yᵀ·g·yᵀ along ẏ = t."""
    yt, tt = np.swapaxes(y, -1, -2), np.swapaxes(t, -1, -2)
    return -(tt @ g @ yt + yt @ g @ tt)


def det_grad_da(g, y, a, t):
    """Tangent of det_grad(g, y, a) = g·y·a⁻ᵀ along ȧ = t (g, y held fixed)."""
    return np.asarray(g * y)[..., None, None] * np.swapaxes(_inv_tangent(a, t), -1, -2)


def slogdet_grad_da(g, a, t):
    """Tangent of slogdet_grad(g, a) along ȧ = t (g held fixed)."""
    g1 = getitem_grad(g, 1)
    if is_zero(g1):
        return zero_grad(np.asarray(a, dtype=float))
    return np.asarray(g1)[..., None, None] * np.swapaxes(_inv_tangent(a, t), -1, -2)


def _solve_adjoint_da(g, a, b, t):
    """d solve(aᵀ, g) along ȧ = t: -solve(aᵀ, ȧᵀ·solve(aᵀ, g))."""
    gb = _solve_adjoint(g, a, b)
    tt = np.swapaxes(t, -1, -2)
    if _solve_vector(a, b):
        return -_solve_adjoint((tt @ gb[..., None])[..., 0], a, b)
    return -_solve_adjoint(tt @ gb, a, b)


def solve_grad_b_da(g, a, b, t):
    """Tangent of solve_grad_b(g, a, b) along ȧ = t (g held fixed)."""
    return unbroadcast(_solve_adjoint_da(g, a, b, t), b)


def solve_grad_a_da(g, y, a, b, t):
    """Tangent of solve_grad_a(g, y, a, b) along ȧ = t (g and y held fixed)."""
    d = _solve_adjoint_da(g, a, b, t)
    if _solve_vector(a, b):
        return unbroadcast(-(d[..., :, None] * y[..., None, :]), a)
    return unbroadcast(-(d @ np.swapaxes(y, -1, -2)), a)


def norm_grad_dy(g, y, x, t, ord=None, axis=None, keepdims=False):
    """Tangent of norm_grad(g, y, x, …) = ḡ·x / y along ẏ = t (g, x held fixed)."""
    if not _is_two_norm(x, ord, axis):
        raise GradientError(f"second derivatives of np.linalg.norm with ord={ord!r} are "
                            "not supported (the 2-norm's and the Frobenius norm's are)")
    safe = np.where(y == 0.0, 1.0, y)
    return -norm_grad(g * t / safe, y, x, ord, axis, keepdims)


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


# ---- cumulative products, weighted averages, integration, polynomials, interpolation

def cumprod_grad(g, x, axis=None):
    """Adjoint of y = cumprod(x, axis): x̄ᵢ = Π_{k<i} xₖ · Σ_{j≥i} ȳⱼ·Π_{i<k≤j} xₖ, the sum
    by a backward recurrence (exact with zeros in x)."""
    if is_zero(g):
        return 0.0
    if axis is None:
        return np.reshape(cumprod_grad(np.ravel(g), np.ravel(x), 0), np.shape(x))
    x = np.asarray(x)
    dtype = np.result_type(g, x, float)
    xm = np.moveaxis(x, axis, -1).astype(dtype)
    gm = np.moveaxis(np.broadcast_to(g, x.shape), axis, -1)
    n = xm.shape[-1]
    acc = np.zeros(xm.shape, dtype)
    if n == 0:
        return np.zeros(x.shape, dtype)
    acc[..., n - 1] = gm[..., n - 1]
    for i in range(n - 2, -1, -1):
        acc[..., i] = gm[..., i] + xm[..., i + 1] * acc[..., i + 1]
    left = np.concatenate((np.ones(xm.shape[:-1] + (1,), dtype),
                           np.cumprod(xm[..., :-1], axis=-1)), axis=-1)
    return np.moveaxis(left * acc, -1, axis)


def cumprod_tangent(t, x, axis=None):
    """Tangent of y = cumprod(x, axis) along ẋ = t: ẏⱼ = ẏⱼ₋₁·xⱼ + yⱼ₋₁·ẋⱼ (exact with zeros)."""
    if axis is None:
        return cumprod_tangent(np.ravel(t), np.ravel(x), 0)
    x = np.asarray(x)
    dtype = np.result_type(np.asarray(t).dtype, x, float)
    xm = np.moveaxis(x, axis, -1).astype(dtype)
    tm = np.moveaxis(np.broadcast_to(t, x.shape), axis, -1)
    y = np.cumprod(xm, axis=-1)
    out = np.zeros(xm.shape, dtype)
    if xm.shape[-1]:
        out[..., 0] = tm[..., 0]
    for j in range(1, xm.shape[-1]):
        out[..., j] = out[..., j - 1] * xm[..., j] + y[..., j - 1] * tm[..., j]
    return np.moveaxis(out, -1, axis)


def _average_axes(a, axis):
    """The axes np.average reduces, as a sorted tuple (None for all)."""
    if axis is None:
        return None
    nd = np.ndim(a)
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
    axes = _average_axes(a, axis)
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
    axes = _average_axes(a, axis)
    a = np.asarray(a)
    w = _average_weights(a, axis, weights)
    total = np.zeros(a.shape, np.result_type(a, w, float))
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
    axes = _average_axes(a, axis)
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
    out = np.zeros(pa.shape, np.result_type(g, pa, float))
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
    out = np.zeros(np.shape(fp), np.result_type(g, float))
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
    out = np.zeros(np.shape(xp), np.result_type(g, float))
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


# ---- 1-D convolution and correlation, kron, vdot, cross

def _conv_full(g, n, m, mode, correlate=False):
    """The adjoint ȳ of a 1-D convolution (correlation) of lengths n and m placed in the
    'full' output of length n + m - 1, where mode 'same' or 'valid' took it from."""
    if mode == "full":
        return np.asarray(g)
    big, small = max(n, m), min(n, m)
    if mode == "same":
        size, start = big, (small // 2 if correlate and n < m else (small - 1) // 2)
    elif mode == "valid":
        size, start = big - small + 1, small - 1
    else:
        raise NotImplementedError(f"gradient of np.convolve/np.correlate with mode={mode!r} "
                                  "is not supported: use 'full', 'same' or 'valid'")
    out = np.zeros(n + m - 1, np.result_type(g, float))
    out[start:start + size] = g
    return out


def convolve_grad(g, other, x, mode="full"):
    """Adjoint of x in y = convolve(x, other, mode) (either operand: convolution is
    symmetric): x̄ = correlate(ȳ_full, other, 'valid')."""
    if is_zero(g):
        return 0.0
    full = _conv_full(g, np.size(x), np.size(other), mode)
    return np.correlate(full, np.ravel(other), "valid")


def correlate_grad_a(g, v, a, mode="valid"):
    """Adjoint of a in y = correlate(a, v, mode) = convolve(a, v[::-1]):
    ā = correlate(ȳ_full, v[::-1], 'valid')."""
    if is_zero(g):
        return 0.0
    full = _conv_full(g, np.size(a), np.size(v), mode, correlate=True)
    return np.correlate(full, np.ravel(v)[::-1], "valid")


def correlate_grad_v(g, a, v, mode="valid"):
    """Adjoint of v in y = correlate(a, v, mode): v̄ = correlate(ȳ_full, a, 'valid') reversed."""
    if is_zero(g):
        return 0.0
    full = _conv_full(g, np.size(a), np.size(v), mode, correlate=True)
    return np.correlate(full, np.ravel(a), "valid")[::-1]


def _kron_blocks(g, a, b):
    """ȳ of y = kron(a, b) with its axes split in alternating (a, b) pairs, and the shapes
    of a and b padded with ones to a common length."""
    sa, sb = np.shape(a), np.shape(b)
    nd = max(len(sa), len(sb))
    sa = (1,) * (nd - len(sa)) + tuple(sa)
    sb = (1,) * (nd - len(sb)) + tuple(sb)
    return np.reshape(g, [n for pair in zip(sa, sb) for n in pair]), sa, sb, nd


def kron_grad_a(g, b, a):
    """Adjoint of a in y = kron(a, b): āᵢ = Σⱼ ȳ[block i, j]·bⱼ."""
    if is_zero(g):
        return 0.0
    blocks, sa, sb, nd = _kron_blocks(g, a, b)
    bb = np.reshape(b, [n for s in sb for n in (1, s)])
    return np.reshape(np.sum(blocks * bb, axis=tuple(range(1, 2 * nd, 2))), np.shape(a))


def kron_grad_b(g, a, b):
    """Adjoint of b in y = kron(a, b): b̄ⱼ = Σᵢ ȳ[block i, j]·aᵢ."""
    if is_zero(g):
        return 0.0
    blocks, sa, sb, nd = _kron_blocks(g, a, b)
    aa = np.reshape(a, [n for s in sa for n in (s, 1)])
    return np.reshape(np.sum(blocks * aa, axis=tuple(range(0, 2 * nd, 2))), np.shape(b))


def vdot_grad(g, other, x):
    """Adjoint of x in y = vdot(x, other) = Σ ravel(x)·ravel(other): x̄ = ȳ·other, in x's shape."""
    if is_zero(g):
        return 0.0
    return np.reshape(g * np.ravel(other), np.shape(x))


def _cross_moved(a, b, axisa, axisb, axisc, axis):
    """a and b with their vector axes last, and the vector axis of the result (3-vectors)."""
    if axis is not None:
        axisa = axisb = axisc = axis
    am, bm = np.moveaxis(np.asarray(a), axisa, -1), np.moveaxis(np.asarray(b), axisb, -1)
    if am.shape[-1] != 3 or bm.shape[-1] != 3:
        raise NotImplementedError("gradient of np.cross is supported for 3-vectors only; "
                                  "for 2-vectors write a[0] * b[1] - a[1] * b[0]")
    return am, bm, axisa, axisb, axisc


def cross_grad_a(g, b, a, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """Adjoint of a in y = a × b: ā = b × ȳ (summed over broadcast dimensions)."""
    if is_zero(g):
        return 0.0
    am, bm, axisa, axisb, axisc = _cross_moved(a, b, axisa, axisb, axisc, axis)
    ga = np.cross(bm, np.moveaxis(g, axisc, -1))
    return np.moveaxis(unbroadcast(ga, am), -1, axisa)


def cross_grad_b(g, a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """Adjoint of b in y = a × b: b̄ = ȳ × a (summed over broadcast dimensions)."""
    if is_zero(g):
        return 0.0
    am, bm, axisa, axisb, axisc = _cross_moved(a, b, axisa, axisb, axisc, axis)
    gb = np.cross(np.moveaxis(g, axisc, -1), am)
    return np.moveaxis(unbroadcast(gb, bm), -1, axisb)


# ---- matrix decompositions: cholesky, eigh, eigvalsh, svd, pinv, matrix_power, qr
# Batched over leading axes. LAPACK reads a symmetric matrix from one triangle, so the
# adjoint S̄ of the symmetric matrix is folded onto that triangle (`_sym_pullback`): the
# gradient is the one finite differences of the NumPy function see.

def _mT(x):
    return np.swapaxes(x, -1, -2)


def _sym_from(t, lower=True):
    """The symmetric matrix LAPACK reads from the lower (upper) triangle of t."""
    if lower:
        return np.tril(t) + _mT(np.tril(t, -1))
    return np.triu(t) + _mT(np.triu(t, 1))


def _sym_pullback(s, lower=True):
    """Adjoint of t ↦ _sym_from(t): S̄ + S̄ᵀ below (above) the diagonal, S̄ on it."""
    if lower:
        return np.tril(s) + np.tril(_mT(s), -1)
    return np.triu(s) + np.triu(_mT(s), 1)


def _phi(x):
    """The lower triangle of x with its diagonal halved."""
    return np.tril(x) - 0.5 * x * np.eye(x.shape[-1])


def cholesky_grad(g, y, upper=False):
    """Adjoint of L = cholesky(a): S̄ = L⁻ᵀ·Φ(Lᵀ·L̄)·L⁻¹ (Φ: lower triangle, half diagonal),
    folded onto the triangle of a that is read (U = Lᵀ for upper=True)."""
    if is_zero(g):
        return 0.0
    lo = _mT(y) if upper else y
    glo = _mT(g) if upper else g
    inv = np.linalg.inv(lo)
    return _sym_pullback(_mT(inv) @ _phi(_mT(lo) @ glo) @ inv, not upper)


def cholesky_tangent(t, y, upper=False):
    """Tangent of L = cholesky(a) along ȧ = t: L̇ = L·Φ(L⁻¹·Ṡ·L⁻ᵀ), Ṡ the symmetric ȧ."""
    lo = _mT(y) if upper else y
    inv = np.linalg.inv(lo)
    d = lo @ _phi(inv @ _sym_from(t, not upper) @ _mT(inv))
    return _mT(d) if upper else d


def _inv_gaps(w):
    """F[i, j] = 1 / (w[j] - w[i]) off the diagonal, 0 on it (w distinct)."""
    eye = np.eye(np.shape(w)[-1], dtype=bool)
    gaps = w[..., None, :] - w[..., :, None]
    return np.where(eye, 0.0, 1.0 / np.where(eye, 1.0, gaps))


def _lower_uplo(UPLO):
    return str(UPLO).upper() == "L"


def eigh_grad(g, y, UPLO="L"):
    """Adjoint of (w, V) = eigh(a): S̄ = V·(diag(w̄) + F∘(Vᵀ·V̄))·Vᵀ, F[i, j] = 1/(wⱼ - wᵢ)
    (distinct eigenvalues), folded onto the triangle `UPLO` of a."""
    if is_zero(g):
        return 0.0
    w, v = y[0], y[1]
    gw, gv = getitem_grad(g, 0), getitem_grad(g, 1)
    inner = np.zeros(np.shape(v), np.result_type(v, float))
    if not is_zero(gw):
        inner = inner + np.asarray(gw)[..., None] * np.eye(np.shape(w)[-1])
    if not is_zero(gv):
        inner = inner + _inv_gaps(w) * (_mT(v) @ gv)
    return _sym_pullback(v @ inner @ _mT(v), _lower_uplo(UPLO))


def eigh_tangent(t, y, UPLO="L"):
    """Tangent of (w, V) = eigh(a) along ȧ = t: with X = Vᵀ·Ṡ·V, ẇ = diag(X) and
    V̇ = V·(F∘X)."""
    w, v = y[0], y[1]
    x = _mT(v) @ _sym_from(t, _lower_uplo(UPLO)) @ v
    return _as_like(y, (np.diagonal(x, axis1=-2, axis2=-1).copy(), v @ (_inv_gaps(w) * x)))


def eigvalsh_grad(g, a, UPLO="L"):
    """Adjoint of w = eigvalsh(a): S̄ = V·diag(w̄)·Vᵀ, folded onto the triangle `UPLO`."""
    if is_zero(g):
        return 0.0
    v = np.linalg.eigh(a, UPLO)[1]
    return _sym_pullback((v * np.asarray(g)[..., None, :]) @ _mT(v), _lower_uplo(UPLO))


def eigvalsh_tangent(t, a, UPLO="L"):
    """Tangent of w = eigvalsh(a) along ȧ = t: ẇᵢ = vᵢᵀ·Ṡ·vᵢ."""
    v = np.linalg.eigh(a, UPLO)[1]
    return np.sum(v * (_sym_from(t, _lower_uplo(UPLO)) @ v), axis=-2)


def _svd_check(hermitian):
    if hermitian:
        raise NotImplementedError("gradient of np.linalg.svd/pinv with hermitian=True is "
                                  "not supported: leave hermitian=False")


def _svd_check_extra(gu, gvh, k):
    """svd(full_matrices=True) of a non-square matrix: the singular vectors beyond the
    k-th are arbitrary, so nothing may depend on them (their adjoints must be zero)."""
    if (not is_zero(gu) and np.any(gu[..., :, k:] != 0.0)) or \
            (not is_zero(gvh) and np.any(gvh[..., k:, :] != 0.0)):
        raise NotImplementedError(
            "gradient of np.linalg.svd(full_matrices=True) of a non-square matrix through "
            "the extra singular vectors, which are not unique: use full_matrices=False")


def svd_grad(g, y, a, full_matrices=True, compute_uv=True, hermitian=False):
    """Adjoint of (U, s, Vh) = svd(a) (distinct nonzero s): ā = U·[(F∘(UᵀŪ - ŪᵀU))·S
    + diag(s̄) + S·(F∘(VᵀV̄ - V̄ᵀV))]·Vᵀ + (I - UUᵀ)·Ū·S⁻¹·Vᵀ + U·S⁻¹·V̄ᵀ·(I - VVᵀ),
    F[i, j] = 1/(sⱼ² - sᵢ²)."""
    if is_zero(g):
        return 0.0
    _svd_check(hermitian)
    if not compute_uv:
        u, s, vh = np.linalg.svd(a, full_matrices=False)
        return (u * np.asarray(g)[..., None, :]) @ vh
    u, s, vh = y[0], y[1], y[2]
    gu, gs, gvh = getitem_grad(g, 0), getitem_grad(g, 1), getitem_grad(g, 2)
    m, n = np.shape(a)[-2:]
    k = min(m, n)
    if full_matrices and m != n:
        _svd_check_extra(gu, gvh, k)
        u, vh = u[..., :, :k], vh[..., :k, :]
        gu = gu if is_zero(gu) else gu[..., :, :k]
        gvh = gvh if is_zero(gvh) else gvh[..., :k, :]
    v = _mT(vh)
    f = _inv_gaps(s * s)
    inner = np.zeros(np.shape(s)[:-1] + (k, k), np.result_type(u, float))
    out = 0.0
    if not is_zero(gs):
        inner = inner + np.asarray(gs)[..., None] * np.eye(k)
    if not is_zero(gu):
        utgu = _mT(u) @ gu
        inner = inner + f * (utgu - _mT(utgu)) * s[..., None, :]
        out = out + ((gu - u @ utgu) / s[..., None, :]) @ vh
    if not is_zero(gvh):
        gv = _mT(gvh)
        vtgv = vh @ gv
        inner = inner + s[..., :, None] * (f * (vtgv - _mT(vtgv)))
        out = out + (u / s[..., None, :]) @ _mT(gv - v @ vtgv)
    return u @ inner @ vh + out


def svd_tangent(t, y, a, full_matrices=True, compute_uv=True, hermitian=False):
    """Tangent of (U, s, Vh) = svd(a) along ȧ = t: with P = Uᵀ·ȧ·V, ṡ = diag(P),
    U̇ = U·(F∘(PS + SPᵀ)) + (I - UUᵀ)·ȧ·V·S⁻¹, V̇ = V·(F∘(SP + PᵀS)) + (I - VVᵀ)·ȧᵀ·U·S⁻¹."""
    _svd_check(hermitian)
    if not compute_uv:
        u, s, vh = np.linalg.svd(a, full_matrices=False)
        return np.sum(u * (t @ _mT(vh)), axis=-2)
    m, n = np.shape(a)[-2:]
    if full_matrices and m != n:
        raise NotImplementedError(
            "tangent of np.linalg.svd(full_matrices=True) of a non-square matrix: the extra "
            "singular vectors are not unique; use full_matrices=False")
    u, s, vh = y[0], y[1], y[2]
    v = _mT(vh)
    tv = t @ v
    p = _mT(u) @ tv
    f = _inv_gaps(s * s)
    ps, sp = p * s[..., None, :], s[..., :, None] * p
    tu = _mT(t) @ u
    du = u @ (f * (ps + _mT(ps))) + (tv - u @ p) / s[..., None, :]
    dv = v @ (f * (sp + _mT(sp))) + (tu - v @ _mT(p)) / s[..., None, :]
    return _as_like(y, (du, np.diagonal(p, axis1=-2, axis2=-1).copy(), _mT(dv)))


def _pinv_check(a, rcond=None, hermitian=False, rtol=None):
    """pinv has a gradient where a has full rank (no singular value is cut off)."""
    _svd_check(hermitian)
    s = np.linalg.svd(a, compute_uv=False)
    m, n = np.shape(a)[-2:]
    tol = rtol if rtol is not None else rcond if rcond is not None \
        else max(m, n) * np.finfo(np.result_type(a, float)).eps
    if np.any(s <= np.asarray(tol)[..., None] * np.max(s, axis=-1, keepdims=True)):
        raise NotImplementedError("gradient of np.linalg.pinv of a rank-deficient matrix "
                                  "is not supported (it jumps where the rank changes)")


def pinv_grad(g, y, a, rcond=None, hermitian=False, rtol=None):
    """Adjoint of Y = pinv(a) (full rank): ā = -Yᵀ·Ȳ·Yᵀ + (I - aY)·Ȳᵀ·Y·Yᵀ + Yᵀ·Y·Ȳᵀ·(I - Ya)."""
    if is_zero(g):
        return 0.0
    _pinv_check(a, rcond, hermitian, rtol)
    m, n = np.shape(a)[-2:]
    yt, gt = _mT(y), _mT(g)
    return -(yt @ g @ yt) + (np.eye(m) - a @ y) @ gt @ y @ yt \
        + yt @ y @ gt @ (np.eye(n) - y @ a)


def pinv_tangent(t, y, a, rcond=None, hermitian=False, rtol=None):
    """Tangent of Y = pinv(a) along ȧ = t: -Y·ȧ·Y + Y·Yᵀ·ȧᵀ·(I - aY) + (I - Ya)·ȧᵀ·Yᵀ·Y."""
    _pinv_check(a, rcond, hermitian, rtol)
    m, n = np.shape(a)[-2:]
    yt, tt = _mT(y), _mT(t)
    return -(y @ t @ y) + y @ yt @ tt @ (np.eye(m) - a @ y) \
        + (np.eye(n) - y @ a) @ tt @ yt @ y


def _matrix_powers(b, p):
    """[I, b, b², …, b^(p-1)] (batched)."""
    out = [np.broadcast_to(np.eye(np.shape(b)[-1]), np.shape(b))]
    for _ in range(p - 1):
        out.append(out[-1] @ b)
    return out


def matrix_power_grad(g, a, n):
    """Adjoint of y = aⁿ: ā = Σₖ (aᵀ)ᵏ·ȳ·(aᵀ)ⁿ⁻¹⁻ᵏ (for n < 0 through b = a⁻¹, ā = -bᵀ·b̄·bᵀ)."""
    if is_zero(g):
        return 0.0
    a = np.asarray(a)
    if n == 0:
        return np.zeros(a.shape, np.result_type(a, float))
    b = a if n > 0 else np.linalg.inv(a)
    p = abs(int(n))
    powers = _matrix_powers(_mT(b), p)
    gb = sum(powers[k] @ g @ powers[p - 1 - k] for k in range(p))
    return gb if n > 0 else inv_grad(gb, b)


def matrix_power_tangent(t, a, n):
    """Tangent of y = aⁿ along ȧ = t: Σₖ aᵏ·ȧ·aⁿ⁻¹⁻ᵏ (for n < 0 with a⁻¹ and its tangent)."""
    a = np.asarray(a)
    if n == 0:
        return np.zeros(a.shape, np.result_type(a, float))
    b = a if n > 0 else np.linalg.inv(a)
    db = t if n > 0 else -(b @ t @ b)
    p = abs(int(n))
    powers = _matrix_powers(b, p)
    return sum(powers[k] @ db @ powers[p - 1 - k] for k in range(p))


def _qr_check(a, mode):
    m, n = np.shape(a)[-2:]
    if mode not in ("reduced", "complete", "r") or m < n or (mode == "complete" and m != n):
        raise NotImplementedError(
            f"gradient of np.linalg.qr with mode={mode!r} of a {m}x{n} matrix is not "
            "supported: only mode 'reduced' (or 'r') of a matrix with at least as many "
            "rows as columns is")


def qr_grad(g, y, a, mode="reduced"):
    """Adjoint of (Q, R) = qr(a) (rows ≥ columns, full rank): ā = (Q̄ + Q·copyltu(M))·R⁻ᵀ,
    M = R·R̄ᵀ - Q̄ᵀ·Q, copyltu(M) the symmetric matrix with M's lower triangle."""
    if is_zero(g):
        return 0.0
    _qr_check(a, mode)
    if mode == "r":
        (q, r), gq, gr = np.linalg.qr(a), 0.0, g
    else:
        q, r, gq, gr = y[0], y[1], getitem_grad(g, 0), getitem_grad(g, 1)
    m = np.zeros(np.shape(r), np.result_type(r, float))
    if not is_zero(gr):
        m = m + r @ _mT(gr)
    if not is_zero(gq):
        m = m - _mT(gq) @ q
    lhs = q @ (np.tril(m) + _mT(np.tril(m, -1)))
    if not is_zero(gq):
        lhs = lhs + gq
    return _mT(np.linalg.solve(r, _mT(lhs)))


def qr_tangent(t, y, a, mode="reduced"):
    """Tangent of (Q, R) = qr(a) along ȧ = t: with X = Qᵀ·ȧ·R⁻¹ and Ω = X's strict lower
    triangle minus its transpose, Ṙ = (X - Ω)·R and Q̇ = Q·Ω + ȧ·R⁻¹ - Q·X."""
    _qr_check(a, mode)
    q, r = np.linalg.qr(a) if mode == "r" else (y[0], y[1])
    tr = _mT(np.linalg.solve(_mT(r), _mT(t)))
    x = _mT(q) @ tr
    low = np.tril(x, -1)
    omega = low - _mT(low)
    dr = (x - omega) @ r
    if mode == "r":
        return dr
    return _as_like(y, (q @ omega + tr - q @ x, dr))


# ---- special functions

def digamma(x):
    """ψ(x) = d/dx ln Γ(x): ψ(x) = ψ(x + 1) - 1/x up to x ≥ 10, then the asymptotic series
    ln x - 1/(2x) - Σ B₂ₖ/(2k·x²ᵏ); ψ(x) = ψ(1 - x) - π/tan(πx) for x < 0."""
    x = float(x)
    if x < 0.0:
        return digamma(1.0 - x) - math.pi / math.tan(math.pi * x)
    result = 0.0
    while x < 10.0:
        result -= 1.0 / x
        x += 1.0
    x2 = 1.0 / (x * x)
    series = x2 * (1.0 / 12 - x2 * (1.0 / 120 - x2 * (1.0 / 252 - x2 * (1.0 / 240
                                                                     - x2 / 132))))
    return result + math.log(x) - 0.5 / x - series


def sinc_deriv(x):
    """d/dx sinc(x) = (cos(πx) - sinc(x)) / x, and -(π²x/3)·(1 - (πx)²/10) near 0."""
    x = np.asarray(x)
    small = np.abs(x) < 1e-3
    safe = np.where(small, 1.0, x)
    px = np.pi * x
    return np.where(small, -(np.pi ** 2) * x / 3.0 * (1.0 - px * px / 10.0),
                    (np.cos(np.pi * safe) - np.sinc(safe)) / safe)[()]
