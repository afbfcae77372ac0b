"""Helpers of batched code (`vmap`, stacked cotangents and tangents).

A batched value carries one example per entry of a new leading axis (the batch axis);
an unbatched value is the same for every example. These helpers are the batching rules
of the operations whose NumPy form alone would mix the batch axis with an example's
axes: aligning ranks before broadcasting, reductions over an example's axes, matrix
products, and the adjoint helpers of generated gradient code (`unbroadcast`,
`unreduce`, `grad_like`, `matmul_left`, ...), each taking `batched=(...)`: which of its
array arguments carry the batch axis.
"""
import numpy as np

from ..errors import GradientError
from .core import ShapeOf, is_zero, product_into, unbroadcast, unreduce


def _shape(x):
    return x.shape if isinstance(x, (np.ndarray, ShapeOf)) else np.shape(x)


def _ndim(x):
    return x.ndim if isinstance(x, (np.ndarray, ShapeOf)) else np.ndim(x)


def _example_shape(x, batched):
    shape = _shape(x)
    return shape[1:] if batched else shape


def per_example(x):
    """One example of batched `x`, for a helper that reads only its shape and dtype."""
    if isinstance(x, ShapeOf):
        return np.zeros(x.shape[1:])
    return x[0]


def example_at(x, k):
    """Example `k` of batched `x`: x[k] of a batched array; of a tuple, list or dict of
    batched values (a container's adjoint, a loop's results), the container of their
    examples k (an item that is a number, a zero adjoint, is the same for every one)."""
    if isinstance(x, (list, tuple)):
        items = [example_at(v, k) for v in x]
        return type(x)(*items) if hasattr(x, "_fields") else type(x)(items)
    if isinstance(x, dict):
        return {key: example_at(v, k) for key, v in x.items()}
    if isinstance(x, np.ndarray) and x.ndim:
        return x[k]
    if isinstance(x, ShapeOf):
        one = ShapeOf.__new__(ShapeOf)
        one.shape, one.ndim = x.shape[1:], x.ndim - 1
        return one
    return x if np.ndim(x) == 0 and not isinstance(x, np.ndarray) else x[k]


def to_batch(x, batch_size):
    """`x` (the same for every example) repeated along a new leading batch axis: a fresh
    array, so that later writes into one example leave the others alone."""
    if x is None:                             # (a placeholder before a loop sets it)
        return None
    x = np.asarray(x)
    if x.size > 64 and not x.any():          # zeros: fresh pages, nothing to copy
        return np.zeros((batch_size,) + x.shape, x.dtype)
    return np.repeat(x[None], batch_size, axis=0)


def batch_result(x, batch_size):
    """A result the same for every example, repeated along a new leading axis (each
    item of a tuple or list on its own, as a loop over the examples would stack them)."""
    if isinstance(x, (tuple, list)):
        from .core import same_kind
        return same_kind(x, [batch_result(v, batch_size) for v in x])
    return to_batch(x, batch_size)


def rank_up(x, other, other_batched=0):
    """Batched `x` with axes of length one inserted after its batch axis until an
    example of `x` has at least the rank of `other` (batched when `other_batched`):
    NumPy aligns trailing axes, so a batched number against an unbatched vector must
    read (B, 1) against (n,), not (B,) against (n,)."""
    need = np.ndim(other) - other_batched - (np.ndim(x) - 1)
    if need <= 0:
        return x
    x = np.asarray(x)
    return x.reshape(x.shape[:1] + (1,) * need + x.shape[1:])


def rank_up_core(x, others, batched, cores, core):
    """`rank_up` for an operand of a generalized ufunc (np.vecdot, np.matvec): batched
    `x`, whose last `core` axes are its core axes, with axes of length one inserted
    after its batch axis until an example has as many loop axes (those before the core
    axes) as each of `others` (batched where `batched` says, with `cores` core axes)."""
    need = max((np.ndim(o) - b - c for o, b, c in zip(others, batched, cores)), default=0)
    need -= np.ndim(x) - 1 - core
    if need <= 0:
        return x
    x = np.asarray(x)
    return x.reshape(x.shape[:1] + (1,) * need + x.shape[1:])


def rank_up_many(x, others, batched):
    """`rank_up` against several operands (np.where, np.clip, ...)."""
    need = max((np.ndim(o) - b for o, b in zip(others, batched)), default=0)
    need -= np.ndim(x) - 1
    if need <= 0:
        return x
    x = np.asarray(x)
    return x.reshape(x.shape[:1] + (1,) * need + x.shape[1:])


def example_axes(x):
    """Every axis of an example of batched `x` (what `axis=None` reduces)."""
    return tuple(range(1, np.ndim(x)))


def batch_axis(axis, x):
    """An example's `axis` (None, an int or a tuple) as an axis of batched `x`."""
    if axis is None:
        return example_axes(x)
    if isinstance(axis, (tuple, list)):
        return tuple(batch_axis(a, x) for a in axis)
    axis = int(axis)
    return axis + 1 if axis >= 0 else axis


def batch_index(index):
    """An example's index as an index of the batched array (the batch axis kept)."""
    if isinstance(index, tuple):
        if index and index[0] is Ellipsis:
            return index
        return (slice(None),) + index
    if index is Ellipsis:
        return index
    return (slice(None), index)


def batched_reshape(x, shape):
    """x.reshape(shape) for each example of batched `x`."""
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    return np.reshape(x, (np.shape(x)[0],) + tuple(shape))


def batched_transpose(x, axes=None):
    """The transpose of each example (`x.T`, np.transpose(x, axes))."""
    if axes is None:
        axes = tuple(range(np.ndim(x) - 2, -1, -1))
    return np.transpose(x, (0,) + tuple(a % (np.ndim(x) - 1) + 1 for a in axes))


def batched_size(x):
    """The number of elements of one example."""
    return int(np.prod(np.shape(x)[1:], dtype=np.int64))


class RaggedExamples(GradientError):
    """The examples' values differ in shape (or are not arrays): no batch holds them."""


def stack_examples(results, items=False):
    """The results of a loop over the examples stacked along a new leading axis; with
    `items`, a tuple (list) of stacks when each result is a tuple (list). Without, such
    results raise `RaggedExamples`: the code that asked wants one array."""
    if not results:
        raise GradientError("vmap needs at least one example along the mapped axis")
    first = results[0]
    if not items and any(isinstance(r, (tuple, list, dict)) for r in results):
        raise RaggedExamples("the examples give tuples or lists where one array per "
                             "example was expected")
    if isinstance(first, tuple) and all(isinstance(r, tuple) and len(r) == len(first)
                                        for r in results):
        return tuple(stack_examples([r[i] for r in results], True)
                     for i in range(len(first)))
    if isinstance(first, list) and all(isinstance(r, list) and len(r) == len(first)
                                       for r in results):
        return [stack_examples([r[i] for r in results], True) for i in range(len(first))]
    arrays = [np.asarray(r) for r in results]
    shapes = {a.shape for a in arrays}
    if len(shapes) == 2 and () in shapes and all(a.shape or a == 0.0 for a in arrays):
        (shape,) = shapes - {()}         # zero adjoints `0.0` among arrays: zeros of theirs
        arrays = [a if a.shape else np.zeros(shape) for a in arrays]
        shapes = {shape}
    if len(shapes) != 1 or arrays[0].dtype == object:
        raise RaggedExamples(
            f"the examples give values of different shapes or kinds "
            f"({', '.join(sorted(str(s) for s in shapes)[:3])}), which cannot be stacked "
            "along a batch axis")
    return np.stack(arrays)


def batched_array(x):
    """A loop's results as one batched array (tuples of results cannot be computed with)."""
    if isinstance(x, (tuple, list)):
        raise RaggedExamples("the examples give tuples where an array was expected")
    return x


def batched_take(x, index):
    """x[index] for each example of a batched integer `index` (x the same for all):
    positions gathered; any other index has no batched form here."""
    index = np.asarray(index)
    if index.dtype.kind not in "iu":
        raise RaggedExamples("a batched index that is not integer positions")
    return x[index]


def batched_sum_items(items):
    """sum(items) of a list of batched values: added item by item, ranks aligned."""
    total = 0.0
    for item in items:
        total = batched_add_grads(total, item, (not isinstance(total, float), True)) \
            if not isinstance(total, float) else item + total
    return total


def unpack_examples(x, n):
    """`a, b = x` for each example of batched `x` (a tuple of batched items already, or
    a batched array whose examples are unpacked along their first axis)."""
    if isinstance(x, (tuple, list)):
        return tuple(x)
    return tuple(x[:, i] for i in range(n))


def batched_item_value(v):
    """x[:, i] for x[i] of each example: a copy where each example's item is a number
    (NumPy's x[i] of a 1-d array is a number, not a view of x), else the view."""
    return v.copy() if type(v) is np.ndarray and v.ndim == 1 else v


def batched_item(x, i):
    """x[i] of each example: an item of a tuple of batched values, or x[:, i]."""
    if isinstance(x, (tuple, list)):
        return x[i]
    if isinstance(x, float) and x == 0.0:      # (a zero adjoint of a whole container)
        return 0.0
    return x[batch_index(i)]


def batched_stored_grad(g, x, index, v=None, batched=(True, False, False)):
    """`stored_grad` for each example: g[index] of each, zero where NumPy did not keep
    a write to a repeated position (the same for every example), summed back to v's
    shape when `v` is given and `x` is an array."""
    from .core import _is_basic_index, stored_grad
    piece = batched_item(g, index)
    if isinstance(x, (list, tuple, dict)) or not isinstance(piece, np.ndarray):
        return piece
    if not _is_basic_index(index):
        shape = _example_shape(x, batched[1])
        kept = stored_grad(np.ones(shape), np.zeros(shape), index)
        piece = np.where(kept != 0.0, piece, 0.0)
    if v is None:
        return piece
    return batched_unbroadcast(piece, v, (True, len(batched) > 2 and batched[2]))


# ------------------------------------------------------------------ products

def _pad_stack(x, batched, n):
    """Batched `x` with axes of length one after the batch axis, so that an example has
    `n` stacked (matrix-batch) axes in front of its last two."""
    if not batched:
        return x
    have = np.ndim(x) - 3
    if have >= n:
        return x
    return x.reshape(x.shape[:1] + (1,) * (n - have) + x.shape[1:])


def batched_matmul(a, b, batched=(True, True), out=None):
    """a @ b for each example (each side batched or not). A side that is the same for
    every example and at most a matrix meets the other side in one 2-D product (one
    BLAS call rather than one per example). Written into `out` where it has the
    result's shape (`product_into`)."""
    ab, bb = batched
    if ab and not bb and np.ndim(b) <= 2:             # (B, ..., d) @ (d[, k])
        a = np.asarray(a)
        return (a.reshape(-1, a.shape[-1]) @ b).reshape(a.shape[:-1] + np.shape(b)[1:])
    if bb and not ab and np.ndim(a) <= 2:
        b = np.asarray(b)
        if b.ndim == 2:                               # (n, d) @ (B, d) → (B, n)
            return b @ np.transpose(a)
        if b.ndim == 3:                               # (n, d) @ (B, d, k) → (B, n, k)
            bt = np.swapaxes(b, -1, -2)
            out = bt.reshape(-1, bt.shape[-1]) @ np.transpose(a)
            return np.swapaxes(out.reshape(bt.shape[:-1] + out.shape[-1:]), -1, -2) \
                if np.ndim(a) == 2 else out.reshape(bt.shape[:-1])
    if ab and bb and np.ndim(a) == 2 and np.ndim(b) == 2:
        return np.einsum("bi,bi->b", a, b)            # inner products
    ra, rb = np.ndim(a) - ab, np.ndim(b) - bb
    if ra == 0 or rb == 0:
        raise GradientError("matmul of a number: use * instead of @")
    if ra == 1:
        a = np.expand_dims(a, -2)
    if rb == 1:
        b = np.expand_dims(b, -1)
    n = max(np.ndim(a) - ab, np.ndim(b) - bb) - 2
    a, b = _pad_stack(a, ab, n), _pad_stack(b, bb, n)
    if rb == 1 or ra == 1:
        out = None                          # (out has the shape of the result trimmed)
    if np.shape(a)[-1] == 1:
        out = product_into(np.multiply, a, b, out)    # outer products: no sum to do
    else:
        out = product_into(np.matmul, a, b, out)
    if rb == 1:
        out = out[..., 0]
    if ra == 1:
        out = out[..., 0] if rb == 1 else out[..., 0, :]
    return out


def _promote_adjoint(g, ra, rb):
    """The adjoint of y = a @ b with the vector sides given back their axis of one."""
    if rb == 1:
        g = np.expand_dims(g, -1)
    if ra == 1:
        g = np.expand_dims(g, -2)
    return g


def _promoted(out, vector, axis):
    """`out` with the axis of one that a vector side's product has (a view), or None."""
    if type(out) is not np.ndarray or not vector:
        return out
    return np.expand_dims(out, axis)


def _adjoint_batched(g, others, batched):
    """An adjoint the same for every example, repeated along the batch axis of the
    other operands (the batched product rules read `g` as batched)."""
    if batched[0]:
        return g, batched
    n = next(_shape(x)[0] for x, b in zip(others, batched[1:]) if b)
    return to_batch(g, n), (True,) + tuple(batched[1:])


def batched_matmul_left(g, b, a, batched=(True, False, False), out=None):
    """The adjoint of `a` in y = a @ b, for each example (`g` batched); written into
    `out` where it has the adjoint's shape."""
    if is_zero(g):
        return 0.0
    g, batched = _adjoint_batched(g, (b, a), batched)
    _, bb, ab = batched
    ra, rb = _ndim(a) - ab, np.ndim(b) - bb
    gp = _promote_adjoint(g, ra, rb)
    bp = np.expand_dims(b, -1) if rb == 1 else b
    out = batched_matmul(gp, np.swapaxes(bp, -1, -2), (True, bb),
                         _promoted(out, ra == 1, -2))
    if ra == 1:
        out = out[..., 0, :]
    return batched_unbroadcast(out, a, batched=(True, ab))


def batched_matmul_right(g, a, b, batched=(True, False, False), out=None):
    """The adjoint of `b` in y = a @ b, for each example (`g` batched); written into
    `out` where it has the adjoint's shape."""
    if is_zero(g):
        return 0.0
    g, batched = _adjoint_batched(g, (a, b), batched)
    _, ab, bb = batched
    ra = np.ndim(a) - ab
    rb = _ndim(b) - bb
    gp = _promote_adjoint(g, ra, rb)
    ap = np.expand_dims(a, -2) if ra == 1 else a
    out = batched_matmul(np.swapaxes(ap, -1, -2), gp, (ab, True),
                         _promoted(out, rb == 1, -1))
    if rb == 1:
        out = out[..., 0]
    return batched_unbroadcast(out, b, batched=(True, bb))


def batched_dot(a, b, batched=(True, True)):
    """np.dot(a, b) for each example: a product with a number, or a matrix product for
    vectors and matrices (higher ranks: one example at a time)."""
    ab, bb = batched
    ra, rb = np.ndim(a) - ab, np.ndim(b) - bb
    if ra == 0 or rb == 0:
        return rank_up(a, b, bb) * rank_up(b, a, ab) if ab and bb else \
            (rank_up(a, b, 0) * b if ab else a * rank_up(b, a, 0))
    if ra <= 2 and rb <= 2:
        return batched_matmul(a, b, batched)
    return _each(np.dot, (a, b), batched)


def _each(fn, args, batched, **keywords):
    """fn applied to each example, stacked: the rule of last resort inside a helper."""
    n = next(np.shape(x)[0] for x, b in zip(args, batched) if b)
    return stack_examples([fn(*[x[k] if b else x for x, b in zip(args, batched)], **keywords)
                           for k in range(n)], items=True)


def batched_dot_left(g, b, a, batched=(True, False, False), out=None):
    """The adjoint of `a` in y = np.dot(a, b), for each example."""
    if is_zero(g):
        return 0.0
    g, batched = _adjoint_batched(g, (b, a), batched)
    _, bb, ab = batched
    ra, rb = _ndim(a) - ab, np.ndim(b) - bb
    if ra == 0 or rb == 0:
        return batched_unbroadcast(rank_up(g, b, bb) * (rank_up(b, g, 1) if bb else b),
                                   a, batched=(True, ab))
    if ra <= 2 and rb <= 2:
        return batched_matmul_left(g, b, a, batched, out)
    from .core import dot_left
    return _each(dot_left, (g, b, a), batched)


def batched_dot_right(g, a, b, batched=(True, False, False), out=None):
    """The adjoint of `b` in y = np.dot(a, b), for each example."""
    if is_zero(g):
        return 0.0
    g, batched = _adjoint_batched(g, (a, b), batched)
    _, ab, bb = batched
    ra, rb = np.ndim(a) - ab, _ndim(b) - bb
    if ra == 0 or rb == 0:
        return batched_unbroadcast(rank_up(g, a, ab) * (rank_up(a, g, 1) if ab else a),
                                   b, batched=(True, bb))
    if ra <= 2 and rb <= 2:
        return batched_matmul_right(g, a, b, batched, out)
    from .core import dot_right
    return _each(dot_right, (g, a, b), batched)


# ------------------------------------------------------------------ adjoint helpers

def batched_unbroadcast(g, x, batched=(True, False)):
    """`unbroadcast` for each example: sum batched `g` over the axes along which an
    example of `x` was broadcast, keeping the batch axis."""
    if is_zero(g):
        return g
    if not batched[0]:
        return unbroadcast(g, per_example(x) if batched[1] else x)
    if isinstance(x, (list, tuple)):
        raise GradientError("vmap of a gradient with respect to a list: pass an array")
    xs = _example_shape(x, batched[1])
    gs = np.shape(g)[1:]
    if gs == xs:
        return g
    extra = len(gs) - len(xs)
    if extra > 0:
        g = np.sum(g, axis=tuple(range(1, extra + 1)))
    elif extra < 0:
        return g                         # an example of g broadcasts against x's shape
    axes = tuple(i + 1 for i, n in enumerate(xs) if n == 1 and np.shape(g)[i + 1] != 1)
    if axes:
        g = np.sum(g, axis=axes, keepdims=True)
    return g


def batched_unreduce(g, x, axis=None, keepdims=False, batched=(True, False)):
    """`unreduce` for each example: the adjoint of a reduction broadcast back to the
    shape of an example of `x`, with the batch axis in front."""
    if is_zero(g):
        return 0.0
    if not batched[0]:
        return unreduce(g, per_example(x) if batched[1] else x, axis, keepdims)
    xs = _example_shape(x, batched[1])
    g = np.asarray(g)
    n = g.shape[0]
    if axis is None:
        g = g.reshape((n,) + (1,) * len(xs))
    elif not keepdims:
        axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
        g = np.expand_dims(g, tuple(a % len(xs) + 1 for a in axes))
    return np.broadcast_to(g, (n,) + tuple(xs))


def batched_extremum_grad(g, y, x, axis=None, keepdims=False, batched=(True, True, True)):
    """`extremum_grad` for each example: the adjoint shared among the tied extremes."""
    if is_zero(g):
        return 0.0
    gb, yb, xb = batched
    x = np.asarray(x) if xb else to_batch(x, np.shape(g)[0] if gb else np.shape(y)[0])
    y_full = batched_unreduce(y, x, axis, keepdims, (yb, True))
    mask = x == y_full
    count = np.sum(mask, axis=batch_axis(axis, x), keepdims=True)
    return batched_unreduce(g, x, axis, keepdims, (gb, True)) * mask / count


def _batched_items_like(g, x):
    """`batched_grad_like` of a container `x` holding arrays (a NamedTuple, a list or
    dict of parameters): the container of its items' batched gradients, whose number of
    examples is that of any batched item (an item with no gradient: zeros)."""
    keys = list(x) if isinstance(x, dict) else range(len(x))
    got = {k: (g.get(k, 0.0) if isinstance(g, dict) else g[k]) for k in keys}
    n = next((np.shape(v)[0] for v in got.values() if np.ndim(v)), 1)
    out = {}
    for k in keys:
        v = got[k]
        if is_zero(v) or v is None:
            v = np.zeros((n,) + np.shape(x[k]))
        out[k] = batched_grad_like(v, x[k])
    if isinstance(x, dict):
        return out
    items = [out[k] for k in keys]
    if hasattr(x, "_fields"):
        return type(x)(*items)
    return type(x)(items) if isinstance(x, (list, tuple)) else items


def batched_grad_like(g, x, batched=(True, False)):
    """`grad_like` for each example: batched `g` as an array of the dtype of `x` whose
    examples have the shape of an example of `x` (a number's gradient: one per example)."""
    if not batched[0]:
        from .core import grad_like
        return grad_like(g, per_example(x) if batched[1] else x)
    if isinstance(x, (list, tuple, dict)) and not batched[1] \
            and isinstance(g, type(x) if isinstance(x, dict) else (list, tuple)) \
            and any(isinstance(v, (np.ndarray, list, tuple, dict))
                    for v in (x.values() if isinstance(x, dict) else x)):
        return _batched_items_like(g, x)   # items of several shapes: each its own batch
    if isinstance(x, (list, tuple)) and not batched[1] and isinstance(g, (list, tuple)):
        n = next((np.shape(v)[0] for v in g if np.ndim(v)), None)
        if n is not None:               # a list's items: one column each
            return np.stack([np.broadcast_to(np.asarray(v, float), (n,)) for v in g],
                            axis=1)
    if isinstance(x, (list, tuple, dict)):
        raise GradientError("vmap of a gradient with respect to a list, tuple or dict: "
                            "pass an array")
    xs = _example_shape(x, batched[1])
    dtype = x.dtype if isinstance(x, np.ndarray) and x.dtype.kind in "fc" else np.float64
    g = np.asarray(g, dtype=dtype)
    target = g.shape[:1] + tuple(xs)
    if g.shape != target:
        g = np.broadcast_to(rank_up(g, np.zeros(xs)), target).copy()
    elif not g.flags.writeable:
        g = g.copy()
    return g


def batched_match_shape(t, y, batched=(True, False)):
    """`match_shape` for each example: a batched tangent broadcast to an example's shape."""
    ys = _example_shape(y, batched[1])
    t = np.asarray(t)
    target = t.shape[:1] + tuple(ys)
    if t.shape == target:
        return t
    return np.broadcast_to(rank_up(t, np.zeros(ys)), target)


def batched_add_at(g, x, index, v, in_place=False, batched=(True, False, True)):
    """`add_at` for each example: the adjoint of `x` after adding `v` at x[index]."""
    gb, xb, vb = batched
    if isinstance(x, (list, tuple)) and not xb and not isinstance(index, slice):
        out = list(g) if isinstance(g, (list, tuple)) else [0.0] * len(x)
        out[index] = batched_add_grads(out[index], v, (gb, vb))     # item by item
        return out
    if isinstance(x, (list, tuple, dict)):
        raise GradientError("vmap of indexing into a list, tuple or dict: use an array")
    xs = _example_shape(x, xb)
    n = np.shape(g)[0] if gb else np.shape(v)[0]
    dtype = np.result_type(*(a for a, b in ((g, gb), (v, vb)) if b), 0.0)
    if in_place and gb and type(g) is np.ndarray and g.shape == (n,) + tuple(xs) \
            and g.dtype == dtype and g.flags.writeable:
        out = g                         # (held by nobody else: updated, not copied)
        from .core import _is_basic_index, is_view_of
        if vb and _is_basic_index(index) and is_view_of(v, g, batch_index(index)):
            return g                    # (a piece its product wrote in place)
    else:
        out = np.zeros((n,) + tuple(xs), dtype)
        if not is_zero(g):
            out += rank_up(g, out, 1) if gb else g
    where = batch_index(index)
    from .core import _is_basic_index
    if vb:
        v = np.asarray(v)
        if _is_basic_index(index):
            out[where] += v.reshape(v.shape[:1] + (1,) * (out[where].ndim - v.ndim)
                                    + v.shape[1:])
            return out
        for k in range(n):
            np.add.at(out[k], index, v[k])
        return out
    if _is_basic_index(index):
        out[where] += v
    else:
        for k in range(n):
            np.add.at(out[k], index, v)
    return out


def batched_add_grads(a, b, batched=(True, True)):
    """`add_grads` of adjoints of arrays and numbers, for each example."""
    ab, bb = batched
    if type(a) is np.ndarray and type(b) is np.ndarray and a.shape == b.shape and ab == bb:
        return a + b                       # (the usual case: nothing to align)
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        if is_zero(a):                     # (lists of adjoints: item by item)
            return b
        if is_zero(b):
            return a
        from .core import same_kind
        return same_kind(a, [batched_add_grads(p, q, batched) for p, q in zip(a, b)])
    if isinstance(a, dict) or isinstance(b, dict):
        from .core import add_grads
        return _each(add_grads, (a, b), batched)
    if not ab and not bb:
        return a + b
    if is_zero(a):
        return b
    if is_zero(b):
        return a
    if ab and bb:
        return rank_up(a, b, 1) + rank_up(b, a, 1)
    return rank_up(a, b) + b if ab else a + rank_up(b, a)


def batched_check_scalar(y):
    """`check_scalar` for each example: every example's output must be a number."""
    if np.ndim(y) != 1:
        raise GradientError(
            f"grad needs a scalar output, but each example gave shape {np.shape(y)[1:]}; "
            "reduce it (e.g. np.sum) or use s2sgrad.vjp with an output cotangent")
    return y


def batched_unreshape(g, x, batched=(True, False)):
    """`unreshape` for each example: batched `g` back to an example's shape of `x`."""
    if is_zero(g):
        return g
    return np.reshape(g, np.shape(g)[:1] + tuple(_example_shape(x, batched[1])))


def batched_piece_place(g, indices, k, like, batched=(True, False)):
    """`piece_place` for each example: a view of g[:, indices[k]] shaped like an example
    of `like`, when the pieces are apart, else None."""
    from .core import pieces_apart
    if not batched[0] or type(g) is not np.ndarray or g.ndim < 2 or \
            not pieces_apart(g.shape[1], indices):
        return None
    place = g[batch_index(indices[k])]
    shape = g.shape[:1] + tuple(_example_shape(like, batched[1]))
    if place.shape != shape:
        place = place.reshape(shape)
        if not np.may_share_memory(place, g):
            return None
    return place


def batched_unreshape_order(g, x, order, batched=(True, False)):
    """`unreshape_order` for each example: batched `g` back to an example's shape of
    `x`, read in index order `order` (each example on its own: the batch axis is not
    one of the axes that order runs over)."""
    from .core import reshape_order
    if is_zero(g):
        return g
    shape = tuple(_example_shape(x, batched[1]))
    if reshape_order(per_example(x) if batched[1] else x, order) == "C":
        return np.reshape(g, np.shape(g)[:1] + shape)
    # an example in order F is its transpose in order C
    return batched_transpose(np.reshape(batched_transpose(g), np.shape(g)[:1] + shape[::-1]))


def batched_concat_grads(g, xs, axis=0, batched=(True, False)):
    """`concat_grads` for each example: batched `g` cut back into the pieces' widths."""
    if is_zero(g) or axis is None or batched[1]:
        from .core import concat_grads
        return _each(concat_grads, (g, xs), batched, axis=axis) if not is_zero(g) \
            else [0.0] * len(xs)
    sizes = np.cumsum([np.shape(x)[axis] for x in xs])[:-1]
    return list(np.split(g, sizes, batch_axis(axis, g)))


def batched_stack_grads(g, xs, axis=0, batched=(True, False)):
    """`stack_grads` for each example: batched `g` taken apart along the stacked axis."""
    if is_zero(g):
        return [0.0] * len(xs)
    a = batch_axis(axis, g)
    return [np.take(g, k, axis=a) for k in range(len(xs))]


def batched_transpose_grad(g, axes=(), batched=(True,)):
    """`transpose_grad` for each example: transpose back, the batch axis kept first."""
    if is_zero(g):
        return 0.0
    if len(axes) == 1:
        axes = axes[0]
    if axes is None or len(axes) == 0:
        return batched_transpose(g)
    return batched_transpose(g, tuple(np.argsort(axes)))


def batched_extremum_tangent(t, y, x, axis=None, keepdims=False, batched=(True, False, False)):
    """`extremum_tangent` for each example: the mean of the tangent over the tied
    extreme elements."""
    tb, yb, xb = batched
    if yb or xb:
        n = np.shape(t)[0] if tb else np.shape(x if xb else y)[0]
        ones = np.ones((n,) + tuple(_example_shape(y, yb)))
        weights = batched_extremum_grad(ones, y, x, axis, keepdims, (True, yb, xb))
        wb = True
    else:
        from .core import extremum_grad
        weights = extremum_grad(np.ones(np.shape(y)), y, x, axis, keepdims)
        wb = False
    if not tb:
        t = to_batch(t, np.shape(weights)[0])
    prod = rank_up(t, weights, int(wb)) * (rank_up(weights, t, 1) if wb else weights)
    return np.sum(prod, axis=batch_axis(axis, prod), keepdims=keepdims)


def batched_item_tangent(t, k, y, batched=(True, False)):
    """`item_tangent` for each example: the batched tangent at item k, zeros elsewhere."""
    from .core import zero_grad
    n = np.shape(t)[0]
    items = [per_example(v) if batched[1] else v for v in y]
    out = [t if j == k else to_batch(zero_grad(v), n) for j, v in enumerate(items)]
    return tuple(out) if isinstance(y, tuple) else out


def batched_tangents_like(ts, xs, batched=(True, False)):
    """`tangents_like` for each example: each batched tangent broadcast to its value's
    shape."""
    return [batched_match_shape(t if batched[0] else to_batch(t, 1), x, (True, batched[1]))
            for t, x in zip(ts, xs)]


def batched_unshared_tangent(t, y, o_dot, o, batched=None):
    """`unshared_tangent` for each example: a batched tangent shares memory with a
    batched operand's tangent exactly where one example's would."""
    from .tangent import unshared_tangent
    return unshared_tangent(t, y, o_dot, o)


def batched_copy_tangent(t, y, batched=(True, False)):
    """`copy_tangent` for each example: the tangent converted like the value was (an
    array of y's dtype when y is an array; a list of batched items otherwise)."""
    if isinstance(y, np.ndarray):
        from .core import keeps_values
        dtype = y.dtype if y.dtype.kind in "fcO" else np.float64
        if not keeps_values(y):
            n = np.shape(t[0] if isinstance(t, (list, tuple)) else t)[0]
            return np.zeros((n,) + tuple(_example_shape(y, batched[1])))
        if isinstance(t, (list, tuple)):
            n = max(np.shape(v)[0] for v in t if np.ndim(v))
            items = [np.broadcast_to(v, (n,) + np.shape(v)[1:]) if np.ndim(v) else
                     np.full(n, v) for v in t]
            return np.array(np.stack(items, axis=1), dtype=dtype)
        return np.array(t, dtype=dtype)
    if isinstance(t, (list, tuple)):
        return type(y)(t) if isinstance(y, (list, tuple)) else list(t)
    return [t[:, i] for i in range(np.shape(t)[1])]


def batched_stored_cast_grad(piece, x, batched=(True, False)):
    """`stored_cast_grad` for each example: nothing where x holds integers or booleans
    (its dtype is every example's)."""
    from .core import keeps_values
    if isinstance(x, np.ndarray) and not keeps_values(x):
        return 0.0
    return piece


def batched_copy_grad(g, x, batched=(True, False)):
    """`copy_grad` for each example: ȳ itself for an array, its columns (one batched
    item per item of x) for a list x turned into an array."""
    if is_zero(g):
        return g
    if isinstance(x, (list, tuple)) and not batched[1] and isinstance(g, np.ndarray):
        return [g[:, i] for i in range(len(x))]
    if isinstance(x, np.ndarray) and isinstance(g, (list, tuple)) and batched[0] \
            and not batched[1] and len(g) == len(x):
        # an array's adjoint from its items' (y = list(x)): each item batched, stacked
        # along the example's first axis, the examples' axis staying first
        n = next((np.shape(v)[0] for v in g if not is_zero(v) and np.ndim(v)), None)
        if n is not None:
            row = (n,) + x.shape[1:]
            return np.stack([np.zeros(row) if is_zero(v) else np.broadcast_to(v, row)
                             for v in g], axis=1)
    if isinstance(x, (list, tuple)) or isinstance(g, (list, tuple)):
        from .core import copy_grad
        return _each(copy_grad, (g, x), batched)
    return g
