"""Helpers every family uses: zero adjoints, broadcasting back to an argument's shape,
`grad_like`, `add_at`, `ShapeOf`, reductions, containers and the checks of outputs."""
import math

import numpy as np

from ..errors import GradientError


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
    if type(x) in (list, tuple) and type(g) in (list, tuple):
        if len(g) == len(x):
            return g
        raise _joined_lists()
    xs = x.shape if type(x) is np.ndarray else np.shape(x)
    gs = g.shape if type(g) is np.ndarray else np.shape(g)
    if gs == xs:
        return g
    if not xs and type(x) is not list:
        return np.sum(g)
    extra = len(gs) - len(xs)
    if extra > 0:
        g = np.sum(g, axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(xs) if n == 1 and np.shape(g)[i] != 1)
    if axes:
        g = np.sum(g, axis=axes, keepdims=True)
    if type(x) in (np.ndarray, ShapeOf) and np.shape(g) != xs:
        # g broadcasts to x (the zero adjoint `0.0` times the other operand, of a
        # smaller shape): x's own shape, as the rules after this one expect (a reshape's)
        g = np.array(np.broadcast_to(g, xs))
    return g


def axis_sum(a, axis, keepdims=False):
    """np.sum(a, axis=axis, keepdims=keepdims). A C-ordered float64 matrix is summed by
    one BLAS matrix-vector product with ones: NumPy's reduction spends its time per row
    of a tall, narrow matrix (1000 x 10: 39 us, the product 10 us; no slower for any
    shape). Down the columns both add row after row; along rows of at most 1024 (longer
    ones go to np.sum) the product adds in order where NumPy adds pairwise."""
    if type(a) is np.ndarray and a.ndim == 2 and a.dtype == np.float64 \
            and a.flags.c_contiguous and type(axis) is int:
        if axis in (0, -2):
            out = np.ones(a.shape[0]) @ a
            return out[None, :] if keepdims else out
        if axis in (1, -1) and a.shape[1] <= 1024:
            out = a @ np.ones(a.shape[1])
            return out[:, None] if keepdims else out
    return np.sum(a, axis=axis, keepdims=keepdims)


def sum_product(a, b):
    """np.sum(a * b). For two float64 arrays of one shape, BLAS's dot product (np.vdot:
    one pass, no temporary product; 100 x 100: 16 us to 4 us, a strided slice too); for
    anything else (shapes that broadcast, other dtypes, numbers) as written."""
    if type(a) is np.ndarray and type(b) is np.ndarray and a.shape == b.shape \
            and a.dtype == np.float64 and b.dtype == np.float64:
        return np.vdot(a, b)
    return np.sum(a * b)


def _joined_lists():
    return GradientError(
        "`+` or `*` joined or repeated lists that s2sgrad could not tell apart from numbers; "
        "write list(a) + list(b) or a comprehension so the list is built explicitly")


def match_shape(t, y):
    """A tangent broadcast to the shape of the value `y` it belongs to. A list's
    tangent is one of its length: of another, `+` joined lists that the tangent rule
    took for numbers (broadcasting it would give wrong numbers)."""
    if (type(t) is float and type(y) is float) or np.shape(t) == np.shape(y):
        return t
    if type(y) is float and y == 0.0 and type(t) is np.ndarray:
        return t        # y the zero adjoint `0.0` (of any shape): t has the real one
    if type(y) in (list, tuple) and type(t) in (list, tuple):
        if len(t) == len(y):
            return t
        raise _joined_lists()
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
        # a list's adjoint is a list, or one array (its rows) where NumPy read the list
        # as an array (`np.mean(parts)`): the sum keeps the list's type
        like = b if isinstance(a, np.ndarray) else a
        return same_kind(like, [add_grads(p, q) for p, q in zip(a, b)])
    if _is_dataclass_value(a) or _is_dataclass_value(b):
        # a @dataclass given as a tangent (jvp, hvp): its adjoint form is a dict
        a, b = _fields_dict(a), _fields_dict(b)
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


def _is_dataclass_value(x):
    return not isinstance(x, tuple) and record_fields(x) is not None


def _fields_dict(x):
    """A dataclass instance as the dict of its fields (its adjoint's form); else x."""
    if _is_dataclass_value(x):
        return {name: getattr(x, name) for name in record_fields(x)}
    return x


def same_kind(x, items):
    """A list, tuple or NamedTuple like `x` holding `items` (a NamedTuple's class takes
    them one by one)."""
    if isinstance(x, tuple) and hasattr(type(x), "_fields"):
        return type(x)(*items)
    return type(x)(items)


def zero_grad(x):
    """A zero adjoint with the structure of `x`."""
    if isinstance(x, (list, tuple)):
        return same_kind(x, [zero_grad(v) for v in x])
    if isinstance(x, dict):
        return {k: zero_grad(v) for k, v in x.items()}
    if isinstance(x, np.ndarray):
        return np.zeros(x.shape, x.dtype if x.dtype.kind in "fc" else float)
    return 0.0


def record_fields(x):
    """The field names of a NamedTuple or dataclass instance `x` (the containers whose
    attributes are differentiated), or None for any other value."""
    t = type(x)
    if isinstance(x, tuple):
        return getattr(t, "_fields", None)
    fields = getattr(t, "__dataclass_fields__", None)
    if fields is None or isinstance(x, type):
        return None
    return tuple(n for n, f in fields.items() if str(f._field_type) == "_FIELD")  # no InitVar


def add_attr(g, x, name, v):
    """The adjoint of the NamedTuple or dataclass `x` after adding `v` at its field `name`
    (a NamedTuple's adjoint is a tuple of its fields' adjoints, a dataclass's a dict)."""
    fields = record_fields(x)
    if fields is None or name not in fields:
        what = "a field of" if fields is None else "a field (dataclass field or NamedTuple " \
            "entry) of"
        raise GradientError(
            f"a gradient reached the attribute `.{name}` of a {type(x).__name__} object, "
            f"which is not {what} a NamedTuple or @dataclass instance: s2sgrad "
            "differentiates attribute reads of those only; keep parameters in a "
            "dataclass, NamedTuple, dict, list or tuple and pass it as an argument")
    if isinstance(x, tuple):
        return add_at(g, x, fields.index(name), v)
    out = dict(g) if isinstance(g, dict) else {}
    out[name] = add_grads(out[name], v) if name in out else v
    return out


def attr_tangent(t, name):
    """The tangent of `x.name` from the tangent `t` of the record `x` (a record like x,
    a dict of its fields, a tuple of a NamedTuple's fields, or the zero 0.0)."""
    if isinstance(t, dict):
        return t.get(name, 0.0)
    if is_zero(t) or t is None:
        return 0.0
    return getattr(t, name)


_NUMBER_ITEMS = frozenset((float, int, np.float64, np.float32, np.int64, np.int32))


def grad_like(g, x):
    """The adjoint `g` converted to the type, shape and dtype of its argument `x`. What
    `wrt` names is differentiated whole: a number or an array (integer ones too), a list
    or tuple of numbers (`neuron([-3, 2, -3], x)`); inside a parameter container only
    float leaves are (`tree_grad_like`)."""
    if type(x) is float and type(g) in (float, np.float64):
        return float(g)                     # (a number's adjoint: the common case first)
    if isinstance(x, np.ndarray):
        dtype = x.dtype if x.dtype.kind in "fc" else np.float64
        if type(g) is np.ndarray and g.dtype == dtype and g.shape == x.shape \
                and g.flags.writeable:
            return g
        if dtype.kind == "f" and np.iscomplexobj(g):
            raise _complex_gradient()
        g = np.asarray(g, dtype=dtype)
        if g.shape != x.shape:
            g = np.broadcast_to(g, x.shape).copy()
        elif not g.flags.writeable:         # a broadcast view (the seed of a sum)
            g = g.copy()
        return g
    if type(x) in (list, tuple) and x and all(
            type(xi) in _NUMBER_ITEMS for xi in x):   # a list of numbers named by `wrt`:
        if is_zero(g) or g is None:                   # its ints are differentiated too
            g = [0.0] * len(x)
        if type(g) in (list, tuple) and len(g) != len(x):
            raise _joined_lists()
        return type(x)(grad_like(gi, xi) for gi, xi in zip(g, x))
    if isinstance(x, (list, tuple, dict)) or record_fields(x) is not None:
        return tree_grad_like(g, x)
    if isinstance(x, (float, int)) and not isinstance(x, bool):
        if np.iscomplexobj(g):
            raise _complex_gradient()
        return float(np.sum(g)) if np.ndim(g) else float(g)
    if isinstance(x, np.generic):
        return np.asarray(g, dtype=x.dtype if x.dtype.kind in "fc" else float)[()]
    return g


def _complex_gradient():
    """The refusal of a gradient that came out complex for a real input: a complex
    value (an argument the transform saw only as an array) met the differentiated
    input, and the rules are those of real-valued code."""
    return GradientError(
        "the gradient of a real input came out complex: a complex value (an argument "
        "or a constant) meets the differentiated input, and s2sgrad differentiates "
        "real-valued code; write the real and imaginary parts as two real arrays")


def tree_grad_like(g, x):
    """The adjoint `g` of a parameter container `x` (nested dicts, lists, tuples,
    NamedTuples, dataclasses) as a container of the same type and structure: float and
    complex leaves (numbers, arrays) get their adjoints, every other leaf (ints, bools,
    strings, None, integer arrays, other objects) is carried over unchanged."""
    if isinstance(x, (list, tuple)):
        if is_zero(g) or g is None:
            g = [0.0] * len(x)
        if type(g) in (list, tuple) and len(g) != len(x):   # (concatenated or repeated
            # as if it were a number: a number's adjoint rule gave a list of another length)
            raise _joined_lists()
        items = [tree_grad_like(gi, xi) for gi, xi in zip(g, x)]
        fields = getattr(type(x), "_fields", None) if isinstance(x, tuple) else None
        if fields is not None:
            return type(x)(*items)                      # a NamedTuple
        return type(x)(items)
    if isinstance(x, dict):
        if not isinstance(g, dict):
            g = {}
        out = {k: tree_grad_like(g.get(k, 0.0), v) for k, v in x.items()}
        return out if type(x) is dict else type(x)(out)
    fields = record_fields(x)
    if fields is not None:                              # a dataclass: a shallow copy
        import copy
        if type(g) is type(x):          # (already one: the fields are the adjoints)
            g = {name: getattr(g, name) for name in fields}
        elif not isinstance(g, dict):
            g = {}
        out = copy.copy(x)
        for name in fields:
            object.__setattr__(out, name, tree_grad_like(g.get(name, 0.0), getattr(x, name)))
        return out
    if is_tree_leaf(x):
        if isinstance(x, complex) or getattr(x, "dtype", None) is not None \
                and x.dtype.kind == "c":
            raise GradientError(
                "a parameter container holds a complex leaf: s2sgrad differentiates "
                "real-valued code; store its real and imaginary parts as two real leaves")
        return grad_like(g, x)
    return x


def is_tree_leaf(x):
    """Is `x` a leaf a gradient is computed for: a float or complex number or array (not
    an int, bool, string, None, integer array or other object)?"""
    if type(x) is float or type(x) is complex:
        return True
    if isinstance(x, (np.ndarray, np.generic)):
        return x.dtype.kind in "fc"
    return isinstance(x, (float, complex)) and not isinstance(x, bool)


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


def stored_grad(g, x, index, v=None):
    """The adjoint of `v` in `x[index] = v`: g[index], except where integer arrays in
    `index` name a position more than once: NumPy keeps one of those writes, and only
    that one gets the position's adjoint (the others' are zero). Given `v` (a value
    that may be a list, so the compiler could not tell), summed back to v's shape when
    `x` is an array (v was broadcast into the slots; a list slot holds v itself)."""
    piece = getitem_grad(g, index)
    if not isinstance(x, np.ndarray) or not isinstance(piece, np.ndarray):
        return piece
    if not _is_basic_index(index):
        writes = np.arange(piece.size).reshape(piece.shape)
        kept = np.full(x.shape, -1)
        kept[index] = writes          # the same store, with each write's number as value
        lost = kept[index] != writes
        if lost.any():
            piece = np.where(lost, 0.0, piece)
    return piece if v is None else unbroadcast(piece, v)


def check_in_place_cast(old, value, op):
    """`old op= value` (or `y[i] op= value`, old = y[i]) on an array: NumPy computes it
    into old's own dtype and raises where it cannot cast the result there ('same_kind':
    an integer array times floats, divided, a float array plus complex numbers); the
    generated code makes a new value instead, so raise NumPy's own error here."""
    if not isinstance(old, np.ndarray):
        return
    if old.dtype.kind == "f" and not np.iscomplexobj(value):
        return
    ufunc = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.true_divide,
             "//": np.floor_divide, "%": np.remainder, "**": np.power}[op]
    ufunc(old, value, out=np.empty_like(old))         # raises as `old op= value` would


def stored_cast_grad(piece, x):
    """The adjoint of `v` in `x[index] = v`: `piece`, or nothing when x holds integers
    or booleans (the store casts v to them: a piecewise constant function)."""
    if isinstance(x, np.ndarray) and not keeps_values(x):
        return 0.0
    return piece


def add_at(g, x, index, v, in_place=False):
    """The adjoint of `x` after adding `v` at `x[index]`: a new array, or `g` itself
    updated when the optimizer proved nobody else holds it (`in_place`; then a `v` that
    is the very view g[index] is a piece its product wrote there, `piece_place`: it is
    in its place already)."""
    if in_place and isinstance(g, np.ndarray) and g.shape == np.shape(x):
        if _is_basic_index(index):
            if not is_view_of(v, g, index):
                g[index] += v
        else:
            np.add.at(g, index, v)
        return g
    if isinstance(x, dict):
        out = dict(g) if isinstance(g, dict) else {}
        out[index] = add_grads(out[index], v) if index in out else v
        return out
    if isinstance(x, (list, tuple)):
        if in_place and type(g) is list and type(x) is list and len(g) == len(x):
            out = g     # (a list adjoint updated at each step of a loop: not copied
        else:           # at each, which made the loop's adjoint quadratic in its length)
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


def is_view_of(v, g, index):
    """Is `v` the view g[index] (the same memory, shape and strides; reshaped back)?"""
    if type(v) is not np.ndarray or v.base is None:
        return False
    place = g[index]
    return type(place) is np.ndarray and v.shape == place.shape \
        and v.strides == place.strides \
        and v.__array_interface__["data"][0] == place.__array_interface__["data"][0]


def piece_place(g, indices, k, like):
    """Where the k-th of the pieces `indices` of the adjoint `g` goes, shaped like
    `like`: a view of g[indices[k]] when every piece is an int or a slice of step 1 of
    g's first axis and no two share a position (the product that makes the piece may
    write it there: `optimize.pieces`), else None (the product makes its own array)."""
    if type(g) is not np.ndarray or g.ndim == 0 or not pieces_apart(g.shape[0], indices):
        return None
    place = g[indices[k]]
    shape = np.shape(like)
    if place.shape != shape:
        place = place.reshape(shape)
        if not np.may_share_memory(place, g):          # (a copy: no place to write)
            return None
    return place


def pieces_apart(n, indices):
    """Do the indices (ints and slices of step 1 along an axis of length n) name
    disjoint positions?"""
    spans = []
    for index in indices:
        if type(index) is int or isinstance(index, np.integer):
            k = int(index) + n if index < 0 else int(index)
            spans.append((k, k + 1))
        elif type(index) is slice:
            start, stop, step = index.indices(n)
            if step != 1:
                return False
            spans.append((start, max(start, stop)))
        else:
            return False
    spans.sort()
    return all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))


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


class ListSlots(list):
    """The items a slice store into a list overwrites (`copy_item`), with the list's
    length before the store (`restore_item` checks that the store kept it)."""


def copy_item(x, index):
    """The value at x[index], copied if it is a view into an array (KeyError stands
    for a dict key that is not there yet)."""
    if isinstance(x, dict) and index not in x:
        return KeyError
    v = x[index]
    if type(x) is list and isinstance(index, slice):
        v = ListSlots(v)
        v.length = len(x)
    return v.copy() if isinstance(v, np.ndarray) else v


def restore_item(x, index, old):
    """Undo `x[index] = ...` with the value `copy_item` saved."""
    if isinstance(old, ListSlots) and len(x) != old.length:
        raise GradientError(
            f"a slice store into a list changed its length ({old.length} -> {len(x)} "
            f"items): s2sgrad differentiates slice stores that keep a list's length; "
            f"build a new list instead, e.g. `xs = xs[:i] + [a, b] + xs[j:]`")
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
    if isinstance(b if first else a, (float, np.floating, np.ndarray)) and \
            np.asarray(b if first else a).dtype.kind not in "iu":
        raise _list_with_array()
    k = len(a if first else b)
    out = [0.0] * k
    for j, gj in enumerate(g):
        out[j % k] = add_grads(out[j % k], gj)
    return (out, 0.0) if first else (0.0, out)


def split_concat(g, a, b):
    """Adjoints of `a` and `b` from the adjoint of `a + b` (lists or tuples)."""
    if isinstance(g, float) and g == 0.0:
        return 0.0, 0.0
    if not (isinstance(a, (list, tuple)) and isinstance(b, (list, tuple))):
        raise _list_with_array()
    n = len(a)
    return list(g[:n]), list(g[n:])


def _list_with_array():
    return GradientError(
        "a list `+` or `*` an array (or a float) is NumPy's elementwise operation, "
        "not a list's concatenation or repetition: make the list an array first "
        "(np.array([a, b]) + x)")


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


def prod_list_grad(g, xs, start=1):
    """Adjoint of every element of `xs` from the adjoint of y = math.prod(xs, start=start):
    x̄ᵢ = ȳ·start·Π_{j≠i} xⱼ, from prefix and suffix products (exact with zeros). Like
    `sum_list_grad`, an array's adjoint (math.prod multiplies its rows) is an array."""
    items = list(xs)
    if is_zero(g):
        return 0.0 if isinstance(xs, np.ndarray) else [0.0] * len(items)
    out = [unbroadcast(g * other, x)
           for other, x in zip(_products_of_others(items, start), items)]
    return np.array(out).reshape(xs.shape) if isinstance(xs, np.ndarray) else out


def _products_of_others(items, start=1):
    """[start·Π_{j≠i} xⱼ for each i], from prefix and suffix products (no division)."""
    before, p = [], start
    for x in items:
        before.append(p)
        p = p * x
    after, p = [None] * len(items), 1
    for i in reversed(range(len(items))):
        after[i] = p
        p = p * items[i]
    return [b * a for b, a in zip(before, after)]


def unreduce(g, x, axis=None, keepdims=False):
    """Broadcast the adjoint of a reduction over `axis` back to the shape of `x`."""
    if axis is None and (type(x) is np.ndarray or type(x) is ShapeOf) and (
            type(g) is float or type(g) is np.float64 or _real_number(g)):
        # the usual seed of a loss; a number of any real type, zero too, gives an array
        # of x's shape (`optimize.kinds` takes that shape for it, as Numba's helper does;
        # so does the backward pass where it kept only x's shape, `ShapeOf`)
        return np.full(x.shape, g)
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


def _real_number(g):
    """Is g a real number (a Python or NumPy one, or a 0-d array), not a bool?"""
    if type(g) is np.ndarray:
        return g.ndim == 0 and g.dtype.kind in "iuf"
    return isinstance(g, (int, float, np.integer, np.floating)) and not isinstance(
        g, (bool, np.bool_))


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
    if np.count_nonzero(mask) == np.size(y) and np.all(y == y):
        # one extreme per reduction (and no NaN, which matches nothing): no ties to
        # share among, and no counts along the axis (slow along a short one)
        out = unreduce(g, x, axis, keepdims) * mask
    else:
        count = np.sum(mask, axis=axis, keepdims=True)
        out = unreduce(g, x, axis, keepdims) * mask / count
    return list(out) if isinstance(x, (list, tuple)) else out


def choose_grad(g, mask):
    """The part of adjoint `g` routed through positions where `mask` is true."""
    return np.where(mask, g, 0.0) if np.ndim(mask) else (g if mask else 0.0 * g)


def product_into(fn, a, b, out=None):
    """fn(a, b) (np.matmul or np.multiply) written into `out` when `out` has exactly the
    result's shape and dtype, else a fresh array. `out` is a view of an adjoint being
    assembled from pieces (`optimize.pieces`): a piece made in place is not made twice,
    and the statement that puts the piece in its place then copies nothing."""
    if type(out) is np.ndarray and type(a) is np.ndarray and type(b) is np.ndarray \
            and out.dtype == np.result_type(a, b) and out.shape == _product_shape(fn, a, b):
        return fn(a, b, out=out)
    return fn(a, b)


def _product_shape(fn, a, b):
    if fn is np.multiply:
        return a.shape if a.shape == b.shape else np.broadcast_shapes(a.shape, b.shape)
    if a.ndim == 0 or b.ndim == 0 or a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
        return None                                       # (NumPy's error, not ours)
    if b.ndim == 1:
        return a.shape[:-1]
    if a.ndim == 1:
        return b.shape[:-2] + b.shape[-1:]
    stack = a.shape[:-2] if a.shape[:-2] == b.shape[:-2] or b.ndim == 2 else \
        b.shape[:-2] if a.ndim == 2 else np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    return stack + (a.shape[-2], b.shape[-1])


def matmul_left(g, b, a, out=None):
    """Adjoint of `a` in y = a @ b (vectors, matrices and broadcast batches); written
    into `out` where it has the adjoint's shape (`product_into`)."""
    if type(g) is np.ndarray and type(a) is np.ndarray and type(b) is np.ndarray \
            and g.ndim == 2 and a.ndim == 2 and b.ndim == 2:
        return product_into(np.matmul, g, b.T, out)       # matrices: the common case
    if is_zero(g):
        return 0.0
    if np.ndim(b) == 1:
        if np.ndim(a) == 1:
            return g * b                                  # inner product
        # (..., m) x (k,): an outer product, as a product over an axis of length one
        # (`*` with broadcasting takes a ufunc buffer of 64 kB beside its result)
        g, b = np.asarray(g), np.asarray(b)
        return product_into(np.matmul, g[..., None], b[None, :], out)
    if np.ndim(a) == 1:                                   # (k,) x (..., k, n)
        return np.reshape(b @ np.expand_dims(g, -1), (-1, np.shape(a)[0])).sum(axis=0)
    return unbroadcast(g @ np.swapaxes(b, -1, -2), a)


def matmul_right(g, a, b, out=None):
    """Adjoint of `b` in y = a @ b (vectors, matrices and broadcast batches); written
    into `out` where it has the adjoint's shape (`product_into`)."""
    if type(g) is np.ndarray and type(a) is np.ndarray and type(b) is np.ndarray \
            and a.ndim == 2 and b.ndim == g.ndim and g.ndim <= 2:
        return product_into(np.matmul, a.T, g, out)       # matrix @ matrix or vector
    if is_zero(g):
        return 0.0
    if np.ndim(a) == 1:
        if np.ndim(b) == 1:
            return g * a
        if np.ndim(b) == 2 and np.ndim(g) == 1:           # vector @ matrix: an outer product
            a, g = np.asarray(a), np.asarray(g)
            return product_into(np.multiply, a[:, None], g[None, :], out)
        return unbroadcast(np.expand_dims(a, -1) * np.expand_dims(g, -2), b)
    if np.ndim(b) == 1:                                   # (..., m, k) x (k,)
        k = np.shape(b)[0]
        return np.reshape(a, (-1, k)).T @ np.reshape(g, (-1,))
    return unbroadcast(np.swapaxes(a, -1, -2) @ g, b)


def dot_left(g, b, a, out=None):
    """Adjoint of `a` in y = np.dot(a, b)."""
    if is_zero(g):
        return 0.0
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return unbroadcast(g * b, a)
    if np.ndim(a) > 2 or np.ndim(b) > 2:
        return tensordot_grads(g, a, b, _dot_axes(a, b))[0]
    return matmul_left(g, b, a, out)


def dot_right(g, a, b, out=None):
    """Adjoint of `b` in y = np.dot(a, b)."""
    if is_zero(g):
        return 0.0
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return unbroadcast(g * a, b)
    if np.ndim(a) > 2 or np.ndim(b) > 2:
        return tensordot_grads(g, a, b, _dot_axes(a, b))[1]
    return matmul_right(g, a, b, out)


#: the helpers above that take `out=` (optimize.pieces writes an adjoint's pieces into
#: their places through it; the batching rules pass it on to their batched forms)
WRITES_INTO = frozenset({"matmul_left", "matmul_right", "dot_left", "dot_right"})


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


def pow_base_deriv2(a, b):
    """∂²(aᵇ)/∂a² = b·(b-1)·aᵇ⁻², and 0 where b = 0 or b = 1 (aᵇ is constant or linear in a:
    no 0·∞ = NaN at a = 0)."""
    if type(a) in (int, float) and type(b) in (int, float) and a != 0:
        return b * (b - 1) * a ** (b - 2) if b not in (0, 1) else 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        flat = np.equal(b, 0) | np.equal(b, 1)
        return np.where(flat, 0.0, b * (b - 1.0) * np.power(a, np.where(flat, 1.0, b - 2.0)))


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
    repeats (a trace 'ii->', a diagonal 'ii->i'). The plan of these steps depends on the
    spec and the shapes alone: made once per them (parsing the spec cost more than the
    contraction of small operands)."""
    if is_zero(g):
        return 0.0
    shapes = tuple(np.shape(o) for o in operands)
    key = (spec, shapes, np.shape(g), k)
    plan = _EINSUM_PLANS.get(key)
    if plan is None:
        plan = _einsum_plan(g, spec, operands, shapes, k)
        if len(_EINSUM_PLANS) >= 1024:
            _EINSUM_PLANS.clear()
        _EINSUM_PLANS[key] = plan
    contraction, expand, wide, full, diagonal = plan
    grad = np.einsum(contraction, g, *[o for i, o in enumerate(operands) if i != k])
    for pos in expand:                                   # summed away by this operand alone
        grad = np.expand_dims(grad, pos)
    if wide:                                             # this operand broadcast (size 1)
        grad = np.sum(grad, axis=wide, keepdims=True)
    if np.shape(grad) != full:
        grad = np.broadcast_to(grad, full)
    if diagonal is None:
        return grad
    out = np.zeros(shapes[k], np.result_type(grad, operands[k], 0.0))
    np.einsum(diagonal, out)[...] = grad                 # a writeable view: the diagonal
    return out


_EINSUM_PLANS = {}


def _einsum_plan(g, spec, operands, shapes, k):
    """(the contraction's spec, the axes to insert, the axes to sum, the shape of the
    distinct letters, the spec of the diagonal view to write into or None) for
    `einsum_grad`."""
    terms, output = _einsum_terms(spec, shapes)
    target, shape = terms[k], shapes[k]
    letters = "".join(dict.fromkeys(target))             # distinct, in order
    size = {c: shape[target.index(c)] for c in letters}
    others = [t for i, t in enumerate(terms) if i != k]
    known = set(output).union(*others)
    kept = "".join(c for c in letters if c in known)
    contraction = ",".join([output] + others) + "->" + kept
    # the contraction's shape: each kept letter's size where ȳ or another operand has it
    sizes = {}
    for term, dims in [(output, np.shape(g))] + [(t, s) for i, (t, s) in
                                                  enumerate(zip(terms, shapes)) if i != k]:
        for c, n in zip(term, dims):
            if sizes.get(c, 1) == 1:
                sizes[c] = n
    expand = tuple(pos for pos, c in enumerate(letters) if c not in known)
    after = [1 if c not in known else sizes.get(c, 1) for c in letters]
    wide = tuple(pos for pos, c in enumerate(letters) if size[c] == 1 and after[pos] != 1)
    full = tuple(size[c] for c in letters)
    diagonal = None if letters == target else target + "->" + letters
    return contraction, expand, wide, full, diagonal


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


def unstack_grad(gs, x, axis=0):
    """Adjoint of `x` from the adjoints of the pieces of np.unstack(x, axis=axis): the
    pieces' adjoints stacked along the axis (zeros for pieces that got none)."""
    if is_zero(gs):
        return 0.0
    shape = np.shape(x)
    a = axis % len(shape)
    piece = shape[:a] + shape[a + 1:]
    dtype = np.result_type(x, 0.0)
    return np.stack([np.zeros(piece, dtype) if is_zero(gi) else np.broadcast_to(gi, piece)
                     for gi in gs], a)


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
    """Adjoints of the arrays of y = hstack(xs): `g` cut back into their widths."""
    if isinstance(xs, np.ndarray):
        return _stacked_array_grad(hstack_grads, g, xs)
    if is_zero(g):
        return [0.0] * len(xs)
    axis = 0 if all(np.ndim(x) <= 1 for x in xs) else 1
    parts = concat_grads(g, [np.atleast_1d(x) for x in xs], axis)
    # a number among the pieces (`np.hstack([a[0], a[1:]])`) gets a number back
    return [p[0] if np.ndim(x) == 0 else p for p, x in zip(parts, xs)]


def vstack_grads(g, xs):
    """Adjoints of the arrays of y = vstack(xs): `g` cut back into their heights."""
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


def accumulated_grad(g, dtype):
    """The adjoint (or tangent) `g` of x in a reduction that accumulates x in `dtype`
    (`np.sum(x, dtype=np.float64)`, `np.mean(x, dtype=…)`): g itself for a float or
    complex dtype, zeros for an integer or boolean one (each element is cast to it
    first: a piecewise constant function)."""
    if np.dtype(dtype).kind in "fc":
        return g
    return np.zeros_like(g, dtype=float) if isinstance(g, np.ndarray) else 0.0


def cast_grad(g, x, y):
    """Adjoint of y = x.astype(dtype) / array(x, dtype): ȳ, or nothing when the cast is to
    integers or booleans (a piecewise constant function). An object array holds x's
    numbers as they are: ȳ; a complex one is refused (real-valued code only)."""
    if isinstance(y, np.ndarray) and not keeps_values(y):
        return 0.0
    return copy_grad(g, x)


def keeps_values(y):
    """Does the array `y` that a cast or a store made hold the numbers given it (floats,
    objects), not integers or booleans made of them (a piecewise constant function)? A
    complex array raises GradientError: s2sgrad differentiates real-valued code."""
    kind = y.dtype.kind
    if kind == "c":
        raise GradientError(
            "s2sgrad differentiates real-valued code: a value that depends on the "
            "differentiated input was made complex (a cast to a complex dtype, or a store "
            "into a complex array); keep it real (its .real and .imag as two arrays)")
    return kind in "fO"


def spread_count(xs, k, what):
    """`f(*xs)` spread into `k` arguments: refuse a different number of items (Python
    would raise a TypeError; the generated code would read only `k` of them)."""
    if len(xs) != k:
        raise GradientError(f"{what}, but it has {len(xs)} items")


def check_scalar(y):
    """`grad` needs a scalar output: refuse anything else with a clear message."""
    if np.ndim(y) != 0 and not (np.size(y) == 1 and isinstance(y, np.ndarray)):
        raise GradientError(
            f"grad needs a scalar output, but the function returned shape {np.shape(y)}; "
            "reduce it (e.g. np.sum) or use s2sgrad.vjp with an output cotangent")
    return y


def must_not_be_view(value, container, message):
    """Raise GradientError if `value`, read as `container[i]`, is a row of it (a view):
    the code stores into the container while it still reads the row, which Python sees
    change and the backward pass would not. Where the shapes are not known when the code
    is compiled, this is checked when it runs (a number passes)."""
    if isinstance(value, np.ndarray) and value.base is not None \
            and isinstance(container, np.ndarray) and np.may_share_memory(value, container):
        raise GradientError(message)

