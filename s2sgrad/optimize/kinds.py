"""Optimizer pass — what the known kinds of the values settle, written as NumPy.

Where the compilation knows a name holds a NumPy array (an array argument, or a value
of known shape, see `ir/shapes.py`) or a number, some runtime helpers have nothing left to
decide: the adjoint of `x[1:]` is written as by hand, `count_reduced(v, None)` is
`v.size`. Entries: `index_adjoints`, `spell_out_helpers` (run by
`optimize.optimize_function`).
"""
import gast

from ..syntax import nodes
from .facts import called_names, is_comment, is_zero, loads, name_counts, single_target, stores, \
    stores_all, zeros_after
from ..ir.shapes import broadcast, einsum_dims, int_constant, matmul_shape, reduced


def index_adjoints(body, arrays, made=frozenset(), ints=frozenset()):
    """Where x is known to be an array and the index is basic (ints and constant
    slices), the adjoint of `x[idx]` is written as by hand:

        x_bar = add_at(0.0, x, slice(None, -1, None), v)    x_bar = np.zeros_like(x)
                                                        →   x_bar[:-1] = v
        x_bar = add_at(x_bar, x, slice(1, None, None), w, True)   x_bar[1:] += w

    The second form only after the first in the same block, with nothing in between
    binding x_bar (so x_bar is that array, and held by nobody else). And a loop whose
    steps only add into x_bar, zero before it (a convolution's taps, `x[:, j:j + m]`),
    gets the array first:

        x_bar = 0.0                                 x_bar = 0.0
        for j in ...:                          →    x_bar = np.zeros_like(x)
            x_bar = add_at(x_bar, x, j, v, True)    for j in ...:
                                                        x_bar[j] += v
    """
    out = []
    made = set(made)                  # adjoints made with np.zeros_like, held by no one
    zero = set()                      # adjoints bound to 0.0 and not read since
    for st in body:
        if isinstance(st, (gast.If, gast.For, gast.While)):
            if isinstance(st, gast.For) and not st.orelse:
                for t, x in _scatter_accumulators(st, zero, arrays):
                    out.append(nodes.copy_location(nodes.assign(t, nodes.call(
                        nodes.attribute(nodes.name("np"), "zeros_like"), [nodes.name(x)])),
                        st))
                    made.add(t)
            counters = _range_target(st)
            st.body = index_adjoints(st.body, arrays, made & stores_all([st]),
                                     ints | counters)
            st.orelse = index_adjoints(st.orelse, arrays, ints=ints)
            reads, binds = nodes.name_sets(st)
            made -= binds - _scattered(st)
            zero = zeros_after(zero, st, reads | binds)
            out.append(st)
            continue
        t = single_target(st)
        call = st.value if t is not None else None
        if isinstance(call, gast.Call) and nodes.is_name(call.func, "add_at") \
                and not call.keywords and len(call.args) in (4, 5) \
                and isinstance(call.args[1], gast.Name) and call.args[1].id in arrays:
            g, x, index, v = call.args[:4]
            subscript = _basic_subscript(index, ints=ints)
            # (`t = add_at(0.0, x, i, t)`, the adjoint of `x = x[i]`, reads the old t)
            fresh = len(call.args) == 4 and is_zero(g) and t not in loads(v) | loads(index)
            updated = (len(call.args) == 4 or _is_true(call.args[4])) and t in made \
                and nodes.is_name(g, t) and t not in loads(v) | loads(index)
            if subscript is not None and (fresh or updated):
                target = nodes.subscript(nodes.name(t), subscript, store=True)
                if fresh:
                    out.append(nodes.copy_location(nodes.assign(t, nodes.call(
                        nodes.attribute(nodes.name("np"), "zeros_like"), [x])), st))
                    out.append(nodes.copy_location(gast.Assign(
                        targets=[target], value=v, type_comment=None), st))
                    made.add(t)
                else:
                    out.append(nodes.copy_location(gast.AugAssign(
                        target=target, op=gast.Add(), value=v), st))
                continue
        reads, binds = nodes.name_sets(st)
        made -= reads | binds                 # (read elsewhere: maybe shared)
        zero = zeros_after(zero, st, reads | binds)
        out.append(st)
    return out


def _scatter_accumulators(loop, zero, arrays):
    """[(x_bar, x)] for the names zero before `loop` that its body only updates by
    `x_bar = add_at(x_bar, x, basic index, v[, True])`, at its top level, one array x."""
    found = {}
    bad = set(loads(loop.iter)) | stores(loop.target)
    changed = set(stores(loop.target))
    for st in loop.body:
        t = single_target(st)
        call = st.value if t is not None else None
        if t in zero and isinstance(call, gast.Call) and nodes.is_name(call.func, "add_at") \
                and not call.keywords and len(call.args) in (4, 5) \
                and nodes.is_name(call.args[0], t) and isinstance(call.args[1], gast.Name) \
                and call.args[1].id in arrays \
                and _basic_subscript(call.args[2], ints=_range_target(loop)) is not None \
                and (len(call.args) == 4 or _is_true(call.args[4])) \
                and t not in loads(call.args[3]) | loads(call.args[2]) \
                and found.get(t, call.args[1].id) == call.args[1].id:
            found[t] = call.args[1].id
            continue
        if not (isinstance(st, gast.Expr) and isinstance(st.value, gast.Constant)):
            bad |= loads(st) | stores_all([st])
            changed |= stores_all([st])
    return [(t, x) for t, x in sorted(found.items()) if t not in bad and x not in changed]


def _range_target(loop):
    """{i} for `for i in range(...)` or `reversed(range(...))` (i an integer), else {}."""
    it = loop.iter if isinstance(loop, gast.For) else None
    if isinstance(it, gast.Call) and nodes.is_name(it.func, "reversed") and it.args:
        it = it.args[0]
    if isinstance(it, gast.Call) and nodes.is_name(it.func, "range") \
            and isinstance(loop.target, gast.Name):
        return frozenset([loop.target.id])
    return frozenset()


def _scattered(loop):
    """The names a loop's body updates only by `x_bar[index] += v` (after the rewrite):
    still held by nobody else after the loop."""
    out, others = set(), set()
    for st in loop.body:
        if isinstance(st, gast.AugAssign) and isinstance(st.target, gast.Subscript) \
                and isinstance(st.target.value, gast.Name):
            out.add(st.target.value.id)
            others |= loads(st.value) | loads(st.target.slice)
        else:
            others |= stores_all([st]) | loads(st)
    return out - others


def spell_out_helpers(body, arrays, numbers):
    """Helpers whose work the known kinds settle, written as NumPy: `count_reduced(v,
    None)` of an array is `v.size`; `unbroadcast(g, b)` for a number b is `np.sum(g)`;
    `unreduce(g, x, None, False)` (the adjoint of `np.sum(x)`) for a number x is `g`.
    And `x ** 2` of a number is `x * x` (CPython's float power is 2.5 times slower
    than a product here; the product is the correctly rounded square)."""
    class Spell(nodes.Transformer):
        def visit_BinOp(self, node):
            self.generic_visit(node)
            if isinstance(node.op, gast.Pow) and isinstance(node.left, gast.Name) \
                    and node.left.id in numbers and isinstance(node.right, gast.Constant) \
                    and type(node.right.value) in (int, float) and node.right.value == 2:
                return gast.BinOp(left=node.left, op=gast.Mult(),
                                  right=nodes.name(node.left.id))
            return node

        def visit_Call(self, node):
            self.generic_visit(node)
            args = node.args
            if nodes.is_name(node.func, "unreduce") and len(args) == 4 \
                    and not node.keywords and isinstance(args[1], gast.Name) \
                    and args[1].id in numbers and _is_none(args[2]) \
                    and isinstance(args[3], gast.Constant) and args[3].value is False:
                return args[0]        # np.sum(x) of a number x: its adjoint passes through
            if node.keywords or len(args) != 2 or not isinstance(node.func, gast.Name) \
                    or not isinstance(args[1 if node.func.id == "unbroadcast" else 0],
                                      gast.Name):
                return node
            if node.func.id == "count_reduced" and args[0].id in arrays \
                    and _is_none(args[1]):
                return nodes.attribute(args[0], "size")
            if node.func.id == "unbroadcast" and args[1].id in numbers:
                return nodes.call(nodes.attribute(nodes.name("np"), "sum"), [args[0]])
            return node
    spell = Spell()
    for st in body:
        spell.visit(st)


def _is_true(node):
    return isinstance(node, gast.Constant) and node.value is True


def _basic_subscript(index, inner=False, ints=frozenset()):
    """`slice(a, b, c)` with constant parts, an int constant, a name in `ints` (a range
    loop's integer), or a tuple of these and None, where slices may have names for parts
    too (integers the code computed, `z[:, H:2 * H]`), as subscript syntax."""
    if isinstance(index, gast.Name) and index.id in ints:
        return index
    if isinstance(index, gast.Call) and nodes.is_name(index.func, "slice") \
            and len(index.args) == 3 and not index.keywords:
        parts = [None if _is_none(a) else a for a in index.args]
        if all(p is None or _int_literal(p) or inner and isinstance(p, gast.Name)
               for p in parts):
            return gast.Slice(lower=parts[0], upper=parts[1], step=parts[2])
        return None             # (a vector's pieces at run-time slices: `pieces.py`)
    if isinstance(index, gast.Constant) and type(index.value) is int:
        return index
    if inner and _is_none(index):
        return index
    if isinstance(index, gast.Tuple) and not inner:
        parts = [_basic_subscript(e, True, ints) for e in index.elts]
        if parts and None not in parts:
            return gast.Tuple(elts=parts, ctx=gast.Load())
    return None


def _int_literal(node):
    return int_constant(node) is not None


def _is_none(node):
    return isinstance(node, gast.Constant) and node.value is None


# ------------------------------------------------------------ shapes of the adjoints

#: Runtime helpers that act element by element (their value has the broadcast shape of
#: their arguments).
_ELEMENTWISE_HELPERS = {"div_or_zero", "log_or_zero"}

#: Comparisons that act element by element (not `is`, `in`: one bool).
_ELEMENTWISE_COMPARISONS = (gast.Eq, gast.NotEq, gast.Lt, gast.LtE, gast.Gt, gast.GtE)

_UFUNCS = {
    "abs", "absolute", "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctan2",
    "arctanh", "cbrt", "clip", "cos", "cosh", "deg2rad", "exp", "exp2", "expm1", "fabs",
    "hypot", "log", "log10", "log1p", "log2", "logaddexp", "maximum", "minimum", "negative",
    "rad2deg", "reciprocal", "sign", "sin", "sinc", "sinh", "sqrt", "square", "tan", "tanh",
    "where"}
_ARITHMETIC = (gast.Add, gast.Sub, gast.Mult, gast.Div, gast.Pow)
_NONE = object()             # no binding seen yet (the start of the fixpoint)


def code_shapes(fdef, known, numbers=()):
    """{name: dims} for the names of a generated function whose value has those
    (symbolic) dims whenever it is read, `()` for a number: the shapes of the adjoints.

    `known`: the trace's names of known shape (`trace.known_shapes`, arrays only where
    they cannot be containers), which hold for every binding of those names (a pop from
    a loop's stack restores a value of the same shape). Every other name gets the join
    of what its bindings compute (`x = e`, `x += e`), starting from no binding at all
    (so loop-carried adjoints get a shape when every step keeps it); a name bound any
    other way has none. Expressions: numbers, names, arithmetic and NumPy's ufuncs
    (broadcasting), `@`, `.T`, and the helpers `spell_out_shapes` rewrites, evaluated
    as what they are rewritten to (or, for `unreduce`, as what they return)."""
    from collections import Counter
    shapes = dict(known)
    shapes.update({n: () for n in numbers})
    bindings, n_stores = [], Counter()
    for node in nodes.walk(fdef):
        if isinstance(node, gast.Assign) and len(node.targets) == 1 \
                and isinstance(node.targets[0], gast.Name):
            bindings.append((node.targets[0].id, node.value))
        elif isinstance(node, gast.AugAssign) and isinstance(node.target, gast.Name) \
                and isinstance(node.op, _ARITHMETIC):
            t = node.target
            bindings.append((t.id, gast.BinOp(left=nodes.name(t.id), op=node.op,
                                              right=node.value)))
        elif isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
            n_stores[node.id] += 1
        elif isinstance(node, gast.arguments):
            n_stores.update(a.id for a in node.args)
    simple = Counter(t for t, _ in bindings)
    # bound another way too (a for target, tuple unpacking, a parameter): no shape
    opaque = {n for n, c in n_stores.items() if c > simple[n]} - set(shapes)
    bindings = [(t, v) for t, v in bindings if t not in shapes and t not in opaque]
    pending = {t for t, _ in bindings}
    while True:
        changed = True
        while changed:
            changed = False
            for target, value in bindings:
                new = _shape(value, shapes, pending)
                if new is _NONE:
                    continue
                old = shapes.get(target, _NONE)
                if old is _NONE:
                    shapes[target] = new
                    changed = True
                elif old is not None and old != new:
                    shapes[target] = None
                    changed = True
        # a binding that still reads names with no value: its target has no known shape
        # (and what was derived from the target's other bindings is redone)
        stuck = {t for t, v in bindings if _shape(v, shapes, pending) is _NONE
                 and shapes.get(t) is not None}
        if not stuck:
            break
        shapes.update(dict.fromkeys(stuck))
    return {n: d for n, d in shapes.items() if d is not None and n not in opaque
            and type(d) is not _Items}


class _Items:
    """The dims of each item of a list (or of the adjoint of one: its parts), as `shapes`
    holds them for `concat_grads` and `getitem_grad` (`_shape`); never a value's dims."""
    __slots__ = ("dims",)

    def __init__(self, dims):
        self.dims = tuple(dims)

    def __eq__(self, other):
        return type(other) is _Items and other.dims == self.dims

    def __hash__(self):
        return hash(self.dims)


def _shape(e, shapes, pending=frozenset()):
    """The dims of expression e (None: unknown; _NONE: reads a name with no binding
    evaluated yet)."""

    def all_of(parts):
        dims = [_shape(p, shapes, pending) for p in parts]
        if any(d is _NONE for d in dims):
            return _NONE
        return None if any(d is None or type(d) is _Items for d in dims) else dims

    if isinstance(e, gast.Constant):
        return () if type(e.value) in (int, float) else None
    if isinstance(e, gast.Name):
        return shapes.get(e.id, _NONE if e.id in pending else None)
    if isinstance(e, gast.UnaryOp) and isinstance(e.op, (gast.USub, gast.UAdd)):
        return _shape(e.operand, shapes, pending)
    if isinstance(e, gast.BinOp) and isinstance(e.op, _ARITHMETIC + (gast.MatMult,)):
        dims = all_of([e.left, e.right])
        if dims is None or dims is _NONE:
            return dims
        if isinstance(e.op, gast.MatMult):
            return matmul_shape(*dims)
        return broadcast(dims)
    if isinstance(e, gast.Attribute) and e.attr == "T":
        dims = _shape(e.value, shapes, pending)
        return dims if dims is None or dims is _NONE else tuple(reversed(dims))
    if isinstance(e, gast.Compare) and len(e.ops) == 1 and isinstance(
            e.ops[0], _ELEMENTWISE_COMPARISONS):                 # (a mask: `hn >= 0.0`)
        dims = all_of([e.left, e.comparators[0]])
        return dims if dims is None or dims is _NONE else broadcast(dims)
    if isinstance(e, gast.Subscript) and isinstance(e.value, gast.Attribute) \
            and e.value.attr == "shape" and int_constant(e.slice) is not None:
        return ()                                                # (`x.shape[-1]`)
    if isinstance(e, gast.Attribute) and e.attr == "size":
        dims = _shape(e.value, shapes, pending)
        return dims if dims is None or dims is _NONE else ()
    if isinstance(e, gast.Call) and isinstance(e.func, gast.Attribute) \
            and nodes.is_name(e.func.value, "np") and e.func.attr in ("sum", "mean") \
            and len(e.args) == 1:
        return _reduction_shape(e, shapes, pending)
    if isinstance(e, gast.Call) and not e.keywords:
        f = e.func
        if isinstance(f, gast.Attribute) and nodes.is_name(f.value, "np") \
                and f.attr in _UFUNCS and e.args:
            dims = all_of(e.args)
            return dims if dims is None or dims is _NONE else broadcast(dims)
        if isinstance(f, gast.Attribute) and nodes.is_name(f.value, "np") \
                and f.attr == "zeros_like" and len(e.args) == 1:
            return _shape(e.args[0], shapes, pending)
        if isinstance(f, gast.Attribute) and nodes.is_name(f.value, "np") \
                and f.attr == "einsum" and e.args and isinstance(e.args[0], gast.Constant):
            dims = all_of(e.args[1:])           # (`optimize.contract`'s contractions)
            return dims if dims is None or dims is _NONE else \
                einsum_dims(e.args[0].value, dims)
        if isinstance(f, gast.Attribute) and nodes.is_name(f.value, "np") \
                and f.attr == "expand_dims" and len(e.args) == 2 \
                and int_constant(e.args[1]) is not None:
            dims = _shape(e.args[0], shapes, pending)
            if dims is None or dims is _NONE or not dims:
                return None if dims == () else dims
            k = int_constant(e.args[1])
            k = k + len(dims) + 1 if k < 0 else k
            return dims[:k] + (1,) + dims[k:] if 0 <= k <= len(dims) else None
        if isinstance(f, gast.Name) and f.id == "add_at" and len(e.args) in (4, 5) \
                and not e.keywords:
            # the adjoint of x after adding at x[index]: an array of x's dims, whatever
            # the adjoint before (the zero 0.0 or an array of x's dims) and the index
            x = _shape(e.args[1], shapes, pending)
            return x if x is _NONE or (type(x) is tuple and x) else None
        if isinstance(f, gast.Name) and f.id == "concat_grads" and len(e.args) == 3:
            # the parts of an array g (not the zero 0.0, whose parts are 0.0): arrays of
            # the list's items' dims
            g, parts = _shape(e.args[0], shapes, pending), _shape(e.args[1], shapes, pending)
            if g is _NONE or parts is _NONE:
                return _NONE
            return parts if type(parts) is _Items and g and type(g) is tuple else None
        if isinstance(f, gast.Name) and f.id == "getitem_grad" and len(e.args) == 2 \
                and int_constant(e.args[1]) is not None:
            parts = _shape(e.args[0], shapes, pending)
            k = int_constant(e.args[1])
            if parts is _NONE:
                return _NONE
            return parts.dims[k] if type(parts) is _Items and \
                -len(parts.dims) <= k < len(parts.dims) else None
        if isinstance(f, gast.Name) and f.id in _ELEMENTWISE_HELPERS and e.args:
            dims = all_of(e.args)
            return dims if dims is None or dims is _NONE else broadcast(dims)
        if isinstance(f, gast.Name) and f.id in ("axis_sum", "sum_product"):
            return _backward_sum_shape(f.id, e.args, shapes, pending)
        if isinstance(f, gast.Name) and f.id in _SPELLED:
            dims = _helper_dims(e.args, shapes, pending)
            if dims is None or dims is _NONE:
                return dims
            spelled = _SPELLED[f.id](e.args, dims)
            return None if spelled is None else spelled[1]
        if isinstance(f, gast.Name) and f.id == "einsum_grad":
            spelled = _einsum_grad(e.args, shapes, pending)
            return spelled if spelled is None or spelled is _NONE else spelled[1]
    return None


def _einsum_grad(args, shapes, pending=frozenset()):
    """`einsum_grad(g, spec, (a, b, c), k)` (the adjoint of operand k of np.einsum) as
    the einsum of g with the other operands onto operand k's letters, `np.einsum('j,ik,
    ...->...', g, ...)`, and its dims: where every operand and g has known dims, no
    letter is broadcast (one size per letter), operand k repeats no letter (no
    diagonal) and has none that only it reads (no axis to broadcast back). Else None
    (or _NONE while a name has no binding evaluated yet)."""
    if len(args) != 4:
        return None
    g, spec, ops, k = args
    k = int_constant(k)
    if not (isinstance(spec, gast.Constant) and isinstance(spec.value, str)
            and isinstance(ops, gast.Tuple) and k is not None and 0 <= k < len(ops.elts)):
        return None
    text = spec.value.replace(" ", "")
    if "->" not in text or "." in text:
        return None
    inputs, out = text.split("->")
    terms = inputs.split(",")
    if len(terms) != len(ops.elts):
        return None
    dims = [_shape(o, shapes, pending) for o in ops.elts]
    gd = _shape(g, shapes, pending)
    if _NONE in [gd] + dims:
        return _NONE
    if type(gd) is not tuple or any(type(d) is not tuple for d in dims) \
            or len(gd) != len(out) or any(len(d) != len(t) for d, t in zip(dims, terms)):
        return None
    size = {}
    for term, d in zip(terms + [out], dims + [gd]):
        for letter, n in zip(term, d):
            if size.setdefault(letter, n) != n:
                return None
    target = terms[k]
    others = [t for i, t in enumerate(terms) if i != k]
    if len(set(target)) != len(target) or any(
            letter not in out and not any(letter in t for t in others) for letter in target):
        return None
    call = nodes.call(nodes.attribute(nodes.name("np"), "einsum"),
                      [nodes.const(",".join([out] + others) + "->" + target), g]
                      + [o for i, o in enumerate(ops.elts) if i != k])
    return call, dims[k]


def _helper_dims(args, shapes, pending=frozenset()):
    """The dims of a helper's arguments, its constants (options: axis, keepdims) as
    `()`; None or _NONE as `_shape` gives them for any argument."""
    dims = [() if isinstance(a, gast.Constant) or isinstance(a, gast.Tuple) and
            _axis_value(a) is not _NONE else _shape(a, shapes, pending) for a in args]
    if any(d is _NONE for d in dims):
        return _NONE
    return None if any(d is None or type(d) is _Items for d in dims) else dims


def _backward_sum_shape(name, args, shapes, pending):
    """`axis_sum(x, axis[, keepdims])` with constant options: x's dims reduced;
    `sum_product(a, b)`: a number (`optimize.sums` writes both, after the passes that
    spell helpers out: only the Numba back end reads these shapes)."""
    if name == "sum_product":
        return () if len(args) == 2 else None
    if not 2 <= len(args) <= 3:
        return None
    axis, keep = int_constant(args[1]), args[2] if len(args) == 3 else nodes.const(False)
    if axis is None or not (isinstance(keep, gast.Constant) and type(keep.value) is bool):
        return None
    dims = _shape(args[0], shapes, pending)
    if dims is None or dims is _NONE:
        return dims
    return reduced(dims, axis, keep.value)


def _reduction_shape(e, shapes, pending):
    """np.sum(x, axis=k, keepdims=b) with constant options."""
    options = {k.arg: k.value for k in e.keywords}
    axis = _axis_value(options.get("axis", nodes.const(None)))
    keep = options.get("keepdims", nodes.const(False))
    if set(options) - {"axis", "keepdims"} or axis is _NONE or not (
            isinstance(keep, gast.Constant) and type(keep.value) is bool):
        return None
    dims = _shape(e.args[0], shapes, pending)
    if dims is None or dims is _NONE:
        return dims
    return reduced(dims, axis, keep.value)


# Each helper's spelled-out form for argument dims it settles: (expression, its dims),
# else None. `g` of the full shape the rule expects (never the zero 0.0, a number).

def _matmul_left(args, dims):
    """a_bar of y = a @ b: g @ b.T (matrices), b @ g (vector @ matrix),
    np.outer(g, b) (matrix @ vector)."""
    g, b, a = args
    gd, bd, ad = dims
    if _matmul_dims(ad, bd) != gd:
        return None
    if len(ad) == 2 and len(bd) == 2:
        return gast.BinOp(left=g, op=gast.MatMult(), right=nodes.attribute(b, "T")), ad
    if len(ad) == 1 and len(bd) == 2:
        return gast.BinOp(left=b, op=gast.MatMult(), right=g), ad
    if len(ad) == 2 and len(bd) == 1:
        return nodes.call(nodes.attribute(nodes.name("np"), "outer"), [g, b]), ad
    return None


def _matmul_right(args, dims):
    """b_bar of y = a @ b: a.T @ g (a a matrix), np.outer(a, g) (vector @ matrix)."""
    g, a, b = args
    gd, ad, bd = dims
    if _matmul_dims(ad, bd) != gd:
        return None
    if len(ad) == 2 and len(bd) in (1, 2):
        return gast.BinOp(left=nodes.attribute(a, "T"), op=gast.MatMult(), right=g), bd
    if len(ad) == 1 and len(bd) == 2:
        return nodes.call(nodes.attribute(nodes.name("np"), "outer"), [a, g]), bd
    return None


def _unbroadcast(args, dims):
    """g summed over the axes x was broadcast along: np.sum(g, axis=0) for leading axes,
    np.sum(g, axis=k, keepdims=True) for x's axes of length 1; g itself if none."""
    g, x = args
    gd, xd = dims
    if not gd or broadcast([gd, xd]) != gd:
        return None
    extra = len(gd) - len(xd)
    ones = tuple(k for k, n in enumerate(xd) if n == 1 and gd[extra + k] != 1)
    if extra and ones:
        return None
    np_sum = nodes.attribute(nodes.name("np"), "sum")
    if extra:
        return nodes.call(np_sum, [g], {"axis": _axes(range(extra))}), xd
    if ones:
        return nodes.call(np_sum, [g], {"axis": _axes(ones),
                                         "keepdims": nodes.const(True)}), xd
    return g, xd


def _unreduce(args, dims):
    """The adjoint of a reduction of x over `axis`, given one of the reduced shape, has
    x's shape (the helper stays: a broadcast view), and so has unreduce's of a number
    over every axis. extremum_grad(g, y, x, axis, keepdims) likewise, given an array."""
    if len(args) < 4:
        return None
    g, x, axis, keep = args[0], args[-3], args[-2], args[-1]
    gd, xd = dims[0], dims[-3]
    axis = _axis_value(axis)
    if not xd or axis is _NONE or not isinstance(keep, gast.Constant):
        return None
    if gd == () and axis is None and len(args) == 4:
        return None, xd         # (unreduce of a number: np.full of x's shape, zero too)
    want = reduced(xd, axis, bool(keep.value))
    if not gd or want != gd:
        return None
    return None, xd


def _choose_grad(args, dims):
    """The part of g routed through where an array `mask` is true (the adjoint of
    np.maximum, np.where, np.clip): np.where(mask, g, 0.0)."""
    if len(args) != 2 or not dims[1] or broadcast(dims) is None:
        return None
    return nodes.call(nodes.attribute(nodes.name("np"), "where"),
                      [args[1], args[0], nodes.const(0.0)]), broadcast(dims)


def _count_reduced(args, dims):
    """How many elements a reduction of an array x over constant axes combines:
    `x.shape[-1]`, `x.shape[0] * x.shape[2]` (`x.size` for every axis is
    `spell_out_helpers`'s)."""
    if len(args) != 2 or not dims[0]:
        return None
    axis = _axis_value(args[1])
    if axis is _NONE or axis is None or reduced(dims[0], axis, False) is None:
        return None
    sizes = [gast.Subscript(value=nodes.attribute(args[0], "shape"),
                            slice=nodes.const(a) if a >= 0 else gast.UnaryOp(
                                op=gast.USub(), operand=nodes.const(-a)),
                            ctx=gast.Load())
             for a in (axis if isinstance(axis, tuple) else (axis,))]
    out = sizes[0]
    for size in sizes[1:]:
        out = gast.BinOp(left=out, op=gast.Mult(), right=size)
    return out, ()


def _axis_value(axis):
    """The value of a constant axis argument: an int (`-1` too), a tuple of ints or
    None; else _NONE."""
    if isinstance(axis, gast.Constant) and axis.value is None:
        return None
    if int_constant(axis) is not None:
        return int_constant(axis)
    if isinstance(axis, gast.Tuple) and axis.elts and all(
            int_constant(e) is not None for e in axis.elts):
        return tuple(int_constant(e) for e in axis.elts)
    return _NONE


def _transpose_grad(args, dims):
    """The adjoint of `x.T`, transpose_grad(g) of an array g: g.T."""
    if len(args) != 1 or not dims[0]:
        return None
    return nodes.attribute(args[0], "T"), tuple(reversed(dims[0]))


def _roll_grad(args, dims):
    """The adjoint of `np.roll(x, shift, axis)` for a constant integer shift, of an
    array g: g rolled back, np.roll(g, -shift, axis)."""
    if len(args) != 3 or not dims[0] or int_constant(args[1]) is None:
        return None
    back = [args[0], nodes.const(-int_constant(args[1]))]
    axis = args[2]
    if not (isinstance(axis, gast.Constant) and axis.value is None):
        back.append(axis)
    return nodes.call(nodes.attribute(nodes.name("np"), "roll"), back), dims[0]


_SPELLED = {"matmul_left": _matmul_left, "matmul_right": _matmul_right,
            "unbroadcast": _unbroadcast, "unreduce": _unreduce, "extremum_grad": _unreduce,
            "transpose_grad": _transpose_grad, "roll_grad": _roll_grad,
            "count_reduced": _count_reduced, "choose_grad": _choose_grad}


def _matmul_dims(a, b):
    if len(a) > 2 or len(b) > 2 or not a or not b:
        return None
    return matmul_shape(a, b)


def _axes(axes):
    axes = list(axes)
    if len(axes) == 1:
        return nodes.const(axes[0])
    return nodes.tuple_([nodes.const(k) for k in axes])


def spell_out_shapes(fdef, known, numbers=(), lists=None):
    """Helpers whose every case the shapes settle (`code_shapes`), written as NumPy:

        h_bar = matmul_left(v11_bar, Wh, h)      →   h_bar = v11_bar @ Wh.T
        Wh_bar += matmul_right(v11_bar, h, Wh)   →   Wh_bar += h.T @ v11_bar
        b_bar += unbroadcast(v11_bar, b)         →   b_bar += np.sum(v11_bar, axis=0)

    Only where the adjoint has the full shape of the operation's result (an array, not
    the zero 0.0) and the operands are vectors or matrices."""
    called = called_names(fdef.body)
    if not called & (_SPELLED.keys() | {"unreduce", "einsum_grad"}):
        return fdef
    if "concat_grads" in called:
        known = with_items(known, lists)
    shapes = _array_starts(fdef, known, numbers)

    class Spell(nodes.Transformer):
        def visit_Call(self, node):
            self.generic_visit(node)
            f = node.func
            if isinstance(f, gast.Name) and f.id == "einsum_grad" and not node.keywords:
                spelled = _einsum_grad(node.args, shapes)
                return node if spelled is None or spelled is _NONE else spelled[0]
            if node.keywords or not isinstance(f, gast.Name) or f.id not in _SPELLED:
                return node
            dims = _helper_dims(node.args, shapes)
            if dims is None or dims is _NONE:
                return node
            spelled = _SPELLED[f.id](node.args, dims)
            return node if spelled is None or spelled[0] is None else spelled[0]
    Spell().visit(fdef)
    if "unreduce" in called:
        _narrow_unreduces(fdef, shapes)
        _kept_dims_unreduces(fdef, shapes)
    return fdef


def parameter_sizes(fdef, shapes):
    """{symbol: `P.shape[k]`} for the sizes of the parameters of known shape: an
    expression of each size that holds anywhere in the function."""
    out = {}
    for a in fdef.args.args:
        dims = shapes.get(a.id)
        if type(dims) is not tuple:
            continue
        for k, d in enumerate(dims):
            if isinstance(d, str) and d not in out:
                out[d] = nodes.subscript(nodes.attribute(nodes.name(a.id), "shape"),
                                         nodes.const(k))
    return out


def size_expression(d, sizes):
    """A new expression of the size `d` (a literal, or a symbol `sizes` gives an
    expression of, `parameter_sizes`), else None."""
    if type(d) is int:
        return nodes.const(d)
    found = sizes.get(d)
    return None if found is None else nodes.clone(found)


def with_items(known, lists):
    """`known` with the items' dims of the lists np.concatenate joins (`lists`: {name:
    dims of each item}): the parts of a joined list's adjoint have them."""
    return {**known, **{n: _Items(items) for n, items in lists.items()}} if lists else known


def _array_starts(fdef, known, numbers):
    """`code_shapes` of `fdef`, after writing `x_bar = np.zeros_like(x)` for the
    `x_bar = 0.0` before a loop (or in its step, where x is overwritten) where that
    makes every binding of x_bar an array of x's known shape. Serves loops whose carried state the loss reads at each step (an ODE
    integrator's or a filter's state, a recurrence with a loss per step): the state's
    adjoint is zero when the backward loop starts, then an array, and read by the
    step's other adjoints (`v_bar = y_bar * h`); as the number 0.0 its shape is
    unknown, and so is that of everything derived from it (`theta @ y`'s adjoints stay
    generic helpers). `0.0 + a` and `zeros + a` are the same numbers. Only where a
    helper more is then settled; pure accumulators (`w_bar += e`, read by nothing else
    in the loop) keep their 0.0, which later passes fold (`seeds`)."""
    shapes = before = code_shapes(fdef, known, numbers)
    starts = []

    def candidate(st, loop):
        t = single_target(st)
        dims = known.get(t[:-4]) if t is not None and t.endswith("_bar") else None
        if dims and type(dims) is tuple and shapes.get(t) is None:
            starts.append((st, t, dims, loop))

    for block in _blocks(fdef.body):
        for k, st in enumerate(block):
            if not isinstance(st, (gast.For, gast.While)):
                continue
            j = k - 1
            while j >= 0 and (is_comment(block[j]) or single_target(block[j]) is not None
                              and is_zero(block[j].value)):
                candidate(block[j], st)        # zero before the loop
                j -= 1
            for inner in st.body:              # made zero again in a step (its value
                if single_target(inner) is not None and is_zero(inner.value):
                    candidate(inner, st)       # overwritten: `u = a / (K @ v)`)
    if not starts:
        return shapes
    calls = [n for n in nodes.walk(fdef) if n.__class__ is gast.Call
             and n.func.__class__ is gast.Name and n.func.id in _SPELLED and not n.keywords]
    settled = _spelled(calls, shapes)
    if settled == len(calls):
        return shapes                    # every helper settled already: nothing to gain
    starts = [(st, t, dims) for st, t, dims, loop in starts if _read_in(loop, t)]
    while starts:
        for st, t, _ in starts:
            st.s2s_zero, st.value = st.value, nodes.copy_location(nodes.call(
                nodes.attribute(nodes.name("np"), "zeros_like"), [nodes.name(t[:-4])]),
                st.value)
        shapes = code_shapes(fdef, known, numbers)
        wrong = [(st, t, dims) for st, t, dims in starts if shapes.get(t) != dims]
        if not wrong:
            break
        for st, _, _ in starts:          # undo all, try again without the failures
            st.value = st.s2s_zero
        starts = [x for x in starts if x not in wrong]
        shapes = code_shapes(fdef, known, numbers)
    if starts and _spelled(calls, shapes) <= settled:
        for st, _, _ in starts:          # no helper more is settled: as it was
            st.value = st.s2s_zero
        starts, shapes = [], before
    for st, _, _ in starts:
        del st.s2s_zero
    return shapes


def _spelled(calls, shapes):
    """How many of the helper `calls` (of those `spell_out_shapes` writes as NumPy) the
    shapes settle."""
    count = 0
    for call in calls:
        dims = _helper_dims(call.args, shapes)
        if dims is not None and dims is not _NONE:
            spelled = _SPELLED[call.func.id](call.args, dims)
            count += spelled is not None and spelled[0] is not None
    return count


def _blocks(stmts):
    """`stmts` and every statement list nested in them (loop and branch bodies)."""
    yield stmts
    for st in nodes.statements(stmts):
        for field in ("body", "orelse"):
            inner = getattr(st, field, None)
            if inner.__class__ is list and inner and isinstance(inner[0], gast.stmt):
                yield inner


def _read_in(loop, t):
    """Is `t` read in `loop` other than to add to itself (`t = t + e`, `t += e`)?"""
    for st in nodes.statements(loop.body):
        if isinstance(st, gast.AugAssign) and nodes.is_name(st.target, t):
            if t in loads(st.value):
                return True
            continue
        if single_target(st) == t and isinstance(st.value, gast.BinOp) \
                and isinstance(st.value.op, gast.Add) and nodes.is_name(st.value.left, t):
            if t in loads(st.value.right):
                return True
            continue
        if isinstance(st, (gast.For, gast.While, gast.If)):
            header = st.iter if isinstance(st, gast.For) else st.test
            if t in loads(header):
                return True
            continue
        if t in loads(st):
            return True
    return False


_BROADCASTING = (gast.Add, gast.Sub, gast.Mult, gast.Div)


def _kept_dims_unreduces(fdef, shapes):
    """`unreduce(g, x, axis, True)` inside an elementwise expression (`+ - * /`, unary
    minus) whose value has the same shape with g in its place is `g`: the operations
    broadcast g (its reduced axes kept, of length 1) as `unreduce` would, each element
    of the result reading the same numbers, with no broadcast view made and read.
    Serves the adjoint of a sum or mean with keepdims=True added to its operand's other
    adjoint (softmax normalisers: `E_bar = E_bar + unreduce(v7_bar, S_1, 1, True)` →
    `E_bar = E_bar + v7_bar`), and the variance's (`2.0 * unreduce(g, x, -1, True) *
    (x - mean) / n` → `2.0 * g * (x - mean) / n`, in a layer norm)."""

    def kept_dims(call):
        """g, where `call` is such an unreduce of g (of the reduced shape, or a
        number), else None."""
        if not (isinstance(call, gast.Call) and nodes.is_name(call.func, "unreduce")
                and len(call.args) == 4 and not call.keywords
                and isinstance(call.args[1], gast.Name) and _is_true(call.args[3])):
            return None
        g, x, axis = call.args[:3]
        full, axes = shapes.get(x.id), _constant_axes(axis)
        if not full or axes is None:
            return None
        gd = _shape(g, shapes)
        return g if gd == () or gd == reduced(full, axes, True) else None

    def sites(e):
        """(node, field) of each unreduce call e reaches through elementwise operations."""
        if isinstance(e, gast.BinOp) and isinstance(e.op, _BROADCASTING):
            for field in ("left", "right"):
                side = getattr(e, field)
                yield from [(e, field)] if kept_dims(side) is not None else sites(side)
        elif isinstance(e, gast.UnaryOp) and isinstance(e.op, gast.USub):
            yield from [(e, "operand")] if kept_dims(e.operand) is not None \
                else sites(e.operand)

    def narrow(root):
        want = _shape(root, shapes)
        if not want or want is _NONE:
            return
        for node, field in list(sites(root)):
            call = getattr(node, field)
            setattr(node, field, kept_dims(call))
            if _shape(root, shapes) != want:
                setattr(node, field, call)

    for st in nodes.walk(fdef):
        if isinstance(st, gast.Assign) and len(st.targets) == 1:
            narrow(st.value)
        elif isinstance(st, gast.AugAssign) and isinstance(st.op, _BROADCASTING) \
                and isinstance(st.target, gast.Name):
            root = gast.BinOp(left=nodes.name(st.target.id), op=st.op, right=st.value)
            narrow(root)
            st.value = root.right


def _constant_axes(node):
    """The int or tuple of ints a constant axis option holds (`-1` too), else None."""
    axes = _axis_value(node)
    return None if axes is _NONE else axes


def _narrow_unreduces(fdef, shapes):
    """`t = unreduce(g, x, axis, False)` read once, as a factor of a product that has a
    factor of x's full shape (`t * 2 * v9`), is `np.expand_dims(g, axis)`: the product
    broadcasts it as `unreduce` would, and what comes before the full factor
    (`t * 2`) is computed at the reduced size, not at x's. Serves the adjoint of a sum
    over an axis followed by its operand's own adjoint (squared distances of a mixture
    model or k-means: `np.sum((X[:, None] - C[None]) ** 2, axis=2)`). With keepdims,
    `unreduce(g, x, axis, True)` is g itself, read in t's place (a softmax's
    normaliser: `s_bar = logp_bar + v5_bar * v4`)."""
    reads, binds = name_counts(fdef)
    for block in _statement_blocks(fdef.body):
        dropped = set()
        for k, st in enumerate(block):
            t = single_target(st)
            call = st.value if t is not None else None
            if not (isinstance(call, gast.Call) and nodes.is_name(call.func, "unreduce")
                    and len(call.args) == 4 and not call.keywords
                    and reads.get(t) == 1 and binds.get(t) == 1
                    and isinstance(call.args[1], gast.Name)
                    and int_constant(call.args[2]) is not None
                    and isinstance(call.args[3], gast.Constant)
                    and call.args[3].value in (False, True)):
                continue
            full = shapes.get(call.args[1].id)
            if not full or _NONE is full:
                continue
            at = next((j for j in range(k + 1, len(block)) if t in loads(block[j])), None)
            if at is None or not _factor_beside_full(block[at], t, full, shapes):
                continue
            g = call.args[0]
            if call.args[3].value is False:
                st.value = nodes.call(nodes.attribute(nodes.name("np"), "expand_dims"),
                                      [g, call.args[2]])
            elif isinstance(g, gast.Name) and not any(
                    g.id in stores(between) for between in block[k + 1:at]):
                # keepdims: g itself, read where t was (a copy would only rename it)
                block[at] = nodes.substitute(block[at], {t: g.id})
                dropped.add(id(st))
            else:
                st.value = g
        block[:] = [st for st in block if id(st) not in dropped]


def _statement_blocks(body):
    yield body
    for st in body:
        for name in ("body", "orelse"):
            inner = getattr(st, name, None)
            if isinstance(inner, list) and isinstance(st, (gast.If, gast.For, gast.While)):
                yield from _statement_blocks(inner)


def _factor_beside_full(stmt, t, full, shapes):
    """Is `t` read in `stmt` only as a factor of a chain of products that has a factor
    (a name) of the shape `full`?"""
    for node in nodes.walk(stmt):
        if isinstance(node, gast.BinOp) and isinstance(node.op, gast.Mult):
            factors = _product_factors(node)
            if any(nodes.is_name(f, t) for f in factors):
                return any(isinstance(f, gast.Name) and shapes.get(f.id) == full
                           for f in factors) and \
                    sum(nodes.is_name(n, t) for n in nodes.walk(stmt)) == 1
    return False


def _product_factors(node):
    if isinstance(node, gast.BinOp) and isinstance(node.op, gast.Mult):
        return _product_factors(node.left) + _product_factors(node.right)
    return [node]
