"""Shapes known at compile time, from the pattern of the arrays' shapes.

The code is compiled per *shape pattern* of the array arguments: each dimension is the
literal 1 or a symbol, and equal sizes share a symbol (`X` 1000×100 and `y` of 1000
give `X: (d0, d1)`, `y: (d0,)`). Calls with other sizes of the same pattern reuse the
code. `infer_shapes` follows the symbols through the trace:

* elementwise operations broadcast (a 1 stretches; two different symbols give up);
* `a @ b`, `np.dot` of vectors and matrices, reductions over `axis` (`np.linalg.norm`
  too), `.T`; numbers from `float(x)` and from `math` functions of numbers;
* copies and casts (`x0.copy()`, `np.array(x)`), `np.roll`, `np.flip`, `np.tril`,
  `np.linalg.cholesky`: the shape of their operand; `np.diff(x, n, axis)`: n fewer;
  `np.eye(n)`: n×n; `np.linalg.solve` with one matrix: the right-hand side's shape;
  `np.diag` of a square matrix: its diagonal;
* indexing by integers (a dimension goes), slices (`x[1:]` and `x[:-1]` are `(d0, 1)`:
  d0 less one, whatever d0 is), `x.shape`, `len(x)`, `np.zeros(shape)`;
* `np.concatenate([x, h], axis)` of a list display nothing else reads: the parts'
  lengths along the axis added (a GRU's `[x, h]` of (b, n) and (b, m) is (b, n + m), the
  rows of the weights it multiplies); `np.array([a, b])` and `np.stack([x, y], axis)`
  of such a display of alike items: their number, a new axis (an ODE's right-hand side
  `np.array([y[1], -k * y[0]])` is a vector of 2).

Integers computed from sizes (`H = W.shape[0]`, `2 * H`, `n - 1`) are linear forms of the
symbols, and slices with such bounds (`z[:, H:2 * H]` of the stacked gates of an LSTM)
have the length their bounds give. Where a length equals a size only for the sizes the
code is compiled for (`4 * H` columns less `3 * H`, and `H`), the shapes rely on it: the
equality (and the order of the bounds) is an *assumption* (`trace.shape_assumptions`),
which a call of other sizes checks before it reuses the code (`pipeline.cached_compile`).
A loop variable of `for j in range(a, b, step)` with ends computed from sizes is a
linear form too, of a symbol of its own that no dimension may read: a slice whose ends
move with it by the same amount (`x[:, j:j + m]`, a convolution's windows) is hi - lo
long where the bounds hold at both ends of the range (assumed like the others).

Anything else has no known shape. A name bound more than once (a loop's carried `h`)
has a shape only if every binding gives the same one (a fixpoint that starts from the
first binding and gives up on disagreement): then it has that shape in every step.
Values of one known shape share a shape class (`trace.shape_classes`), so the
backward pass drops `unbroadcast` between them and needs no saved shapes.
"""
import math

import gast

from ..rules.registry import ELEMENTWISE, FULL_REDUCTION, RETURNS_NUMBER, SCALAR_PRESERVING
from ..syntax.nodes import Const
from .statements import Assign, SetItem, Append, Pop, For, Kind, defs, makes_array, reads, walk

UNKNOWN = "?"


def elementwise_op(s):
    """Is `s` an operation whose result has the broadcast shape of its array operands?"""
    return s.kind is Kind.OP and ELEMENTWISE in s.rule.props


def full_reduction(s):
    """Does `s` reduce its one operand over `axis=` (see `reduced_axis`)?"""
    return s.kind is Kind.OP and FULL_REDUCTION in s.rule.props


def reduced_axis(s):
    """The `axis=` a reduction `s` is given, else its function's default: every axis for
    np.sum and most, the first for a ufunc's `reduce` (`np.logaddexp.reduce(X)` of a
    matrix is a row, not a number)."""
    if len(s.args) > 1:
        return s.args[1]
    return s.kwargs.get("axis", Const(s.rule.defaults.get("axis")))


def pattern(shapes):
    """The symbolic form of concrete shapes: 1 stays, other sizes become "d0", "d1", …
    (equal sizes, one symbol)."""
    names = {}
    out = []
    for shape in shapes:
        dims = []
        for n in shape:
            if n == 1:
                dims.append(1)
            else:
                dims.append(names.setdefault(n, f"d{len(names)}"))
        out.append(tuple(dims))
    return out


def infer_shapes(trace, param_shapes, scalars=None):
    """{name: tuple of dims} for the names whose array (or number: ()) has that shape
    whenever they hold a value. `param_shapes`: {array parameter: symbolic shape};
    `scalars`: the names known to be numbers (default `trace.scalars`). The dims of the
    items of the lists np.concatenate joins go to `trace.list_items`."""
    scalars = trace.scalars if scalars is None else scalars
    ctx = _Sizes(trace.symbol_sizes, trace.shape_assumptions) if trace.symbol_sizes \
        else None
    val = {p: ("arr", tuple(s)) for p, s in param_shapes.items()}
    val.update({p: ("arr", ()) for p in trace.params if p in scalars})
    val.update({p: ("dict", items) for p, items in trace.dict_items.items()})
    stmts = list(walk(trace.body))
    lists = _joined_lists(stmts)
    changed = True
    while changed:
        changed = False
        for k, s in enumerate(stmts):
            if isinstance(s, For):
                target, new = s.target, ("int", None)
                if ctx is not None:
                    new = ("int", ctx.loop(f"{s.target}@{k}", _range_ends(s, val)))
                    changed |= ctx.changed
            elif isinstance(s, Assign):
                target, new = s.target, _evaluate(s, val, scalars, ctx, lists)
                if new == UNKNOWN and s.target in scalars:
                    new = ("arr", ())         # a number whatever computed it (`np.pi`)
            elif isinstance(s, (Append, Pop)):
                target, new = s.container, UNKNOWN
            elif isinstance(s, SetItem):
                continue                      # an item changes, the shape does not
            else:
                continue
            old = val.get(target)
            if old is None:
                val[target] = new
                changed = True
            elif old != UNKNOWN and old != new:
                val[target] = UNKNOWN
                changed = True
    trace.list_items = {n: v[1] for n, v in val.items() if v != UNKNOWN and v[0] == "list"}
    return {n: v[1] if v[0] == "arr" else () for n, v in val.items()
            if v != UNKNOWN and v[0] in ("arr", "int")}


class _Sizes:
    """The sizes of the symbols in the call compiled for, and the assumptions made on
    them: ("le" | "eq", a, b) for the linear forms a ≤ b, a = b. `loops`: {loop symbol:
    (lowest, highest) linear forms of the values the loop's variable takes, or None
    where they are not known}; a loop symbol (`j@3`, one per `For`) stands in linear
    forms for the loop variable, whose value is no size: forms reading one are no
    dimension (`dim`), and only `corners` turns them into forms of sizes."""
    def __init__(self, sizes, assumptions):
        self.sizes = sizes
        self.assumptions = assumptions
        self.loops = {}
        self.changed = False          # (did the last `loop` forget a range it had?)

    def value(self, form):
        return form[0] + sum(c * self.sizes[n] for n, c in form[1])

    def loop(self, symbol, ends):
        """The linear form of the variable of a loop visiting the integers between the
        forms `ends` (None: unknown). A loop whose ends are found to differ between
        passes of the fixpoint keeps none (`changed` says when that happened)."""
        old = self.loops.get(symbol, ends)
        self.changed = symbol in self.loops and old is not None and old != ends
        self.loops[symbol] = ends if old == ends else None
        return ("lin", (0, ((symbol, 1),)))

    def corners(self, form, depth=4):
        """The forms of sizes `form` takes where each loop variable in it is at one end
        of its range (an outer loop's variable in an inner loop's ends taken at its own
        ends in turn): a linear form is largest and smallest at such corners, so a
        bound that holds at every corner holds for every step. None if a loop's range
        is not known."""
        loop = next((n for n, _ in form[1] if n in self.loops), None)
        if loop is None:
            return [form]
        ends = self.loops[loop]
        if ends is None or depth == 0:
            return None
        coefficient = dict(form[1])[loop]
        rest = (form[0], tuple((n, c) for n, c in form[1] if n != loop))
        out = []
        for end in ends:
            more = self.corners(_combine(rest, _scale(end, coefficient)), depth - 1)
            if more is None:
                return None
            out.extend(more)
        return out

    def reads_loop(self, form):
        return any(n in self.loops for n, _ in form[1])

    def assume(self, relation, a, b):
        if a != b:
            self.assumptions.add((relation, a, b))

    def symbol_of(self, size):
        """The symbol whose size in the call compiled for is the literal `size` (> 1),
        the equality assumed; else `size`."""
        if size > 1:
            for symbol, n in self.sizes.items():
                if n == size:
                    self.assume("eq", (size, ()), (0, ((symbol, 1),)))
                    return symbol
        return size

    def dim(self, form, integer=False):
        """The dimension the linear form is: exact for a constant, a symbol or a symbol
        less a constant; else the symbol (or 1) of its size in the call compiled for, the
        equality assumed; else None (with `integer`: the form itself, ("lin", form))."""
        const, terms = form
        if not terms:
            return const
        if self.reads_loop(form):
            return ("lin", form) if integer else None
        if len(terms) == 1 and terms[0][1] == 1 and const <= 0:
            return terms[0][0] if const == 0 else (terms[0][0], -const)
        size = self.value(form)
        if size == 1:
            self.assume("eq", form, (1, ()))
            return 1
        for symbol, n in self.sizes.items():
            if n == size:
                self.assume("eq", form, (0, ((symbol, 1),)))
                return symbol
        return ("lin", form) if integer else None


def _range_ends(s, val):
    """The lowest and highest linear forms of the integers `for s.target in
    range(*s.range_args)` visits (with a constant step), None if not known. (For an
    empty range the ends cross; bounds that hold at both ends then hold for a loop that
    never runs.)"""
    def form(a):
        if isinstance(a, Const):
            return (a.value, ()) if type(a.value) is int else None
        v = val.get(a, UNKNOWN)
        return linear(v[1]) if v != UNKNOWN and v[0] == "int" else None
    args = list(s.range_args)
    if not 1 <= len(args) <= 3:
        return None
    step = 1
    if len(args) == 3:
        step = args[2].value if isinstance(args[2], Const) else None
        if type(step) is not int or step == 0:
            return None
    start, stop = (Const(0), args[0]) if len(args) == 1 else args[:2]
    start, stop = form(start), form(stop)
    if start is None or stop is None:
        return None
    if step > 0:                        # start, start + step, … < stop
        return (start, _combine(stop, (1, ()), -1))
    return (_combine(stop, (1, ()), 1), start)      # start, start + step, … > stop


def holds(assumptions, sizes):
    """Do the assumptions of compiled code hold for these sizes of its symbols?"""
    if not assumptions:
        return True
    if sizes is None:
        return False
    ctx = _Sizes(sizes, None)
    try:
        return all(ctx.value(a) <= ctx.value(b) if rel == "le" else
                   ctx.value(a) == ctx.value(b) for rel, a, b in assumptions)
    except KeyError:
        return False


def _is_dim(x):
    """Is the integer `x` of ("int", x) a dimension (not None, not a ("lin", form))?"""
    return x is not None and not (type(x) is tuple and x[0] == "lin")


def linear(dim):
    """The linear form (constant, ((symbol, coefficient), ...)) of a dimension or an
    integer: a literal, a symbol, (symbol, k) for the symbol less k, or ("lin", form) for
    an integer that is no dimension (`2 * H`); None if unknown."""
    if type(dim) is tuple and dim and dim[0] == "lin":
        return dim[1]
    if type(dim) is int:
        return (dim, ())
    if isinstance(dim, str):
        return (0, ((dim, 1),))
    if isinstance(dim, tuple) and len(dim) == 2 and isinstance(dim[0], str):
        return (-dim[1], ((dim[0], 1),))
    return None


def _combine(a, b, sign=1):
    terms = dict(a[1])
    for n, c in b[1]:
        terms[n] = terms.get(n, 0) + sign * c
    return (a[0] + sign * b[0], tuple(sorted((n, c) for n, c in terms.items() if c)))


def _scale(a, k):
    return (a[0] * k, tuple((n, c * k) for n, c in a[1] if c * k))


def _int_arithmetic(name, operands, ctx):
    """`2 * H`, `n - 1`, `H + H`: the dimension it is (see `_Sizes.dim`), or None."""
    forms = [linear(o[1]) for o in operands]
    if ctx is None or None in forms:
        return None
    if name == "negative" and len(forms) == 1:
        return ctx.dim(_scale(forms[0], -1), True)
    if len(forms) != 2:
        return None
    a, b = forms
    if name in ("add", "subtract"):
        return ctx.dim(_combine(a, b, 1 if name == "add" else -1), True)
    if not a[1]:
        a, b = b, a
    return ctx.dim(_scale(a, b[0]), True) if not b[1] else None


def _joined_lists(stmts):
    """The names of list displays (`v6 = [x, h]`) read by np.concatenate alone: the
    lists whose items' shapes hold when they are joined (a list read by anything else
    may be changed through another name)."""
    displays = {s.target for s in stmts if isinstance(s, Assign) and s.kind is Kind.OP
                and s.rule.name == "display" and isinstance(s.expr, gast.List)}
    if not displays:
        return displays
    for s in stmts:
        joins = isinstance(s, Assign) and s.kind is Kind.OP and s.args and (
            s.rule.name in ("concatenate", "stack") or makes_array(s))
        for n in reads(s):
            if n in displays and not (joins and n == s.args[0]
                                      and n not in s.args[1:]):
                displays.discard(n)
    bound = [t for s in stmts for t in defs(s) if t in displays]
    return displays - {t for t in bound if bound.count(t) > 1}


def _einsum_dims(spec, operands):
    """`einsum_dims` of the abstract values of the operands."""
    if any(o == UNKNOWN or o[0] not in ("arr", "int") for o in operands):
        return None
    return einsum_dims(spec, [o[1] if o[0] == "arr" else () for o in operands])


def einsum_dims(spec, operands):
    """The dims of np.einsum(spec, *operands) for an explicit spec (`'ij,jk->ik'`, no
    ellipsis) and operands of known dims (`operands`: their dims), each letter of one
    size; else None."""
    if not isinstance(spec, str) or "->" not in spec or "." in spec:
        return None
    inputs, out = spec.replace(" ", "").split("->")
    terms = inputs.split(",")
    if len(terms) != len(operands):
        return None
    size = {}
    for term, dims in zip(terms, operands):
        if len(dims) != len(term):
            return None
        for letter, n in zip(term, dims):
            if size.setdefault(letter, n) != n:
                return None
    if any(letter not in size for letter in out):
        return None
    return tuple(size[letter] for letter in out)


def _stacked(items, axis, ctx):
    """The dims of np.stack (np.array: axis 0) of arrays of dims `items`: all alike,
    their number inserted at `axis` (the symbol of that size in the call compiled for,
    the equality assumed, as a reshape's literal sizes), else None."""
    if not items or any(d != items[0] for d in items) or not isinstance(axis, int) \
            or isinstance(axis, bool) or not -len(items[0]) - 1 <= axis <= len(items[0]):
        return None
    axis %= len(items[0]) + 1
    n = len(items) if ctx is None else ctx.symbol_of(len(items))
    return items[0][:axis] + (n,) + items[0][axis:]


def _concatenated(parts, axis, ctx):
    """The dims of np.concatenate of arrays of dims `parts` along `axis`: the others
    equal, the axis's lengths added (a dimension of the sizes compiled for), else None."""
    if not parts or not isinstance(axis, int) or isinstance(axis, bool):
        return None
    nd = len(parts[0])
    if nd == 0 or any(len(p) != nd for p in parts) or not -nd <= axis < nd:
        return None
    axis %= nd
    if any(p[:axis] + p[axis + 1:] != parts[0][:axis] + parts[0][axis + 1:] for p in parts):
        return None
    forms = [linear(p[axis]) for p in parts]
    if None in forms:
        return None
    total = forms[0]
    for f in forms[1:]:
        total = _combine(total, f)
    if total[1] and ctx is None:
        return None
    length = ctx.dim(total) if total[1] else total[0]
    return None if length is None else parts[0][:axis] + (length,) + parts[0][axis + 1:]


def _evaluate(s, val, scalars, ctx=None, lists=frozenset()):
    """The abstract value s computes: ("arr", dims), ("int", dim or None),
    ("tup", dims), ("list", item dims) for a list display only np.concatenate reads
    (`lists`), or UNKNOWN. `ctx`: the sizes compiled for (`_Sizes`), or None."""
    def of(a):
        if isinstance(a, Const):
            v = a.value
            if type(v) is tuple and all(type(n) is int for n in v):
                return ("tup", v)                       # (a shape written out: `(3, 2)`)
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                return UNKNOWN
            return ("int", v) if type(v) is int else ("arr", ())
        return val.get(a, UNKNOWN)

    if s.kind is Kind.COPY:
        return of(s.args[0])
    if s.kind is Kind.CONST:
        e = s.expr
        if isinstance(e, gast.Constant) and type(e.value) in (int, float):
            return of(Const(e.value))
        return UNKNOWN
    if s.kind is Kind.NONDIFF:
        return _nondiff(s, of, scalars)
    if s.kind is not Kind.OP:
        return UNKNOWN
    name = s.rule.name
    operands = [of(a) for a in list(s.args) + list(s.kwargs.values())]
    if name == "display" and isinstance(s.expr, gast.List):
        if s.target in lists and operands and all(o != UNKNOWN and o[0] == "arr"
                                                  for o in operands):
            return ("list", tuple(o[1] for o in operands))
        return UNKNOWN
    if name == "concatenate" and s.args and set(s.kwargs) <= {"axis"}:
        items = operands[0]
        axis = s.kwargs.get("axis", s.args[1] if len(s.args) > 1 else Const(0))
        if items == UNKNOWN or items[0] != "list" or len(s.args) > 2 \
                or not isinstance(axis, Const):
            return UNKNOWN
        return _arr(_concatenated(items[1], axis.value, ctx))
    if (name == "stack" and set(s.kwargs) <= {"axis"} or makes_array(s) and not s.kwargs) \
            and s.args and operands[0] != UNKNOWN and operands[0][0] == "list":
        axis = s.kwargs.get("axis", s.args[1] if len(s.args) > 1 and name == "stack"
                            else Const(0))
        if len(s.args) > (2 if name == "stack" else 1) or not isinstance(axis, Const):
            return UNKNOWN
        return _arr(_stacked(operands[0][1], axis.value, ctx))
    if name == "display" and isinstance(s.expr, gast.Tuple):
        if all(o != UNKNOWN and o[0] == "int" and _is_dim(o[1]) for o in operands):
            return ("tup", tuple(o[1] for o in operands))
        return UNKNOWN
    if name in ("add", "subtract", "multiply", "negative") and operands \
            and all(o != UNKNOWN and o[0] == "int" for o in operands):
        return ("int", _int_arithmetic(name, operands, ctx))     # i + 1: an integer
    if elementwise_op(s):
        shapes = [o[1] if o != UNKNOWN and o[0] == "arr" else
                  () if o != UNKNOWN and o[0] == "int" else None for o in operands]
        if None in shapes:
            return UNKNOWN
        return _arr(broadcast(shapes))
    if RETURNS_NUMBER in s.rule.props or SCALAR_PRESERVING in s.rule.props and operands \
            and all(o != UNKNOWN and (o[0] == "int" or o == ("arr", ())) for o in operands):
        return ("arr", ())                     # float(x); math.sqrt(n) of a number
    if name == "norm" and len(s.args) == 1 and set(s.kwargs) <= {"axis", "keepdims"}:
        axis = s.kwargs.get("axis", Const(None))
        keep = s.kwargs.get("keepdims", Const(False))
        base = operands[0]
        if base == UNKNOWN or base[0] != "arr" or not isinstance(axis, Const) \
                or not isinstance(keep, Const) or (axis.value is None and len(base[1]) > 2):
            return UNKNOWN                     # (a 2-norm, or Frobenius of a matrix)
        return _arr(reduced(base[1], axis.value, bool(keep.value)))
    if name == "getitem" and isinstance(s.expr, gast.Subscript):
        return _getitem(of(s.args[0]), s.expr.slice, of, ctx)
    if name == "field" and len(s.args) == 2 and isinstance(s.args[1], Const):
        base = of(s.args[0])                     # `params.W` of a record's known fields
        if base != UNKNOWN and base[0] == "dict" and s.args[1].value in base[1]:
            return ("arr", tuple(base[1][s.args[1].value]))
        return UNKNOWN
    if name == "reshape" and _is_reshape(s.expr):
        return _arr(_reshaped(operands[0], operands[1:], ctx))
    if name == "einsum" and s.args and isinstance(s.args[0], Const) and not s.kwargs:
        return _arr(_einsum_dims(s.args[0].value, operands[1:]))
    if name in ("matmul", "dot") and len(s.args) == 2 and not s.kwargs:
        a, b = operands
        if a == UNKNOWN or b == UNKNOWN or a[0] != "arr" or b[0] != "arr":
            return UNKNOWN
        return _arr(matmul_shape(a[1], _inner_unified(a[1], b[1], ctx), name == "dot"))
    if full_reduction(s) and (len(s.args) == 1 or len(s.args) == 2 and "axis" not in s.kwargs
                              and isinstance(s.args[1], Const)):     # (`x.mean(-1)` too)
        base = operands[0]
        axis = reduced_axis(s)
        keep = s.kwargs.get("keepdims", Const(False))
        if base == UNKNOWN or base[0] != "arr" or not isinstance(axis, Const) \
                or not isinstance(keep, Const):
            return UNKNOWN
        return _arr(reduced(base[1], axis.value, bool(keep.value)))
    if name == "diff" and s.args and len(s.args) <= 3 and set(s.kwargs) <= {"n", "axis"}:
        options = dict(zip(("n", "axis"), s.args[1:]), **s.kwargs)
        n, axis = options.get("n", Const(1)), options.get("axis", Const(-1))
        base = operands[0]
        if base == UNKNOWN or base[0] != "arr" or not all(
                isinstance(c, Const) and type(c.value) is int for c in (n, axis)):
            return UNKNOWN
        return _arr(_differenced(base[1], n.value, axis.value, ctx))
    if name in _SAME_SHAPE and s.args and s.kwargs.keys() <= _SAME_SHAPE[name][0]:
        base = operands[0]
        if base != UNKNOWN and base[0] == "arr" and len(base[1]) >= _SAME_SHAPE[name][1]:
            return base
        return UNKNOWN
    if name in ("solve", "solve_triangle_") and len(s.args) in (2, 3) and not s.kwargs:
        a, b = operands[:2]                   # one matrix: the shape of b (n or n×k)
        if a != UNKNOWN and b != UNKNOWN and a[0] == b[0] == "arr" and len(a[1]) == 2 \
                and a[1][0] == a[1][1] and len(b[1]) in (1, 2) and b[1][0] == a[1][1]:
            return b
        return UNKNOWN
    if name == "diag" and len(s.args) == 1 and not s.kwargs:
        base = operands[0]                    # the diagonal of a square matrix
        if base != UNKNOWN and base[0] == "arr" and len(base[1]) == 2 \
                and base[1][0] == base[1][1]:
            return ("arr", base[1][:1])
        return UNKNOWN
    if name in ("transpose", "T") and len(s.args) == 1 and not s.kwargs:
        base = operands[0]
        if base != UNKNOWN and base[0] == "arr":
            return ("arr", tuple(reversed(base[1])))
    return UNKNOWN


def _is_reshape(e):
    """Is `e` a call of np.reshape or of an array's reshape (not ravel, squeeze or the
    other views one rule serves)?"""
    f = getattr(e, "func", None)
    return isinstance(e, gast.Call) and (
        isinstance(f, gast.Attribute) and f.attr == "reshape" or
        isinstance(f, gast.Name) and f.id == "reshape")


def _reshaped(base, shape, ctx=None):
    """The dims of a reshape of `base` (an abstract value) to `shape`, the abstract
    values of the sizes (`x.reshape(64, 32)`, `np.reshape(x, (n, 3))`,
    `x.reshape(x.shape)`): the sizes asked for, whenever the reshape succeeds; one -1 is
    found where every other size is a literal (`theta[:6].reshape(2, -1)`). A literal
    size that is the size of a symbol in the call compiled for is that symbol, the
    equality assumed (`ctx`): a matrix unpacked from a flat vector then has the dims of
    the data it multiplies."""
    if base == UNKNOWN or base[0] != "arr":
        return None
    if len(shape) == 1 and shape[0] != UNKNOWN and shape[0][0] == "tup":
        dims = list(shape[0][1])
    elif all(o != UNKNOWN and o[0] == "int" for o in shape):
        dims = [o[1] for o in shape]
    else:
        return None
    if not all(_is_dim(d) for d in dims):
        return None
    if dims.count(-1) == 1:
        others = [d for d in dims if d != -1]
        if not all(type(d) is int for d in list(base[1]) + others):
            return None
        total, rest = math.prod(base[1]), math.prod(others)
        if rest <= 0 or total % rest:
            return None
        dims[dims.index(-1)] = total // rest
    if any(type(d) is int and d < 0 for d in dims):
        return None
    if ctx is not None:
        dims = [ctx.symbol_of(d) if type(d) is int else d for d in dims]
    return tuple(dims)


def _inner_unified(a, b, ctx):
    """b's dims, the one a matrix product sums over written as a's where the two differ
    only in how they are written (a symbol and a literal, `X @ W1` for X of (d0, d1) and
    W1 reshaped to (64, 32)) and have one size in the call compiled for: the equality
    assumed (see `holds`)."""
    if ctx is None or not a or not b:
        return b
    k = -2 if len(b) > 1 else 0
    x, y = a[-1], b[k]
    fx, fy = linear(x), linear(y)
    if x == y or fx is None or fy is None or ctx.reads_loop(fx) or ctx.reads_loop(fy):
        return b
    try:
        same = ctx.value(fx) == ctx.value(fy)
    except KeyError:
        return b
    if not same:
        return b
    ctx.assume("eq", fx, fy)
    return b[:-2] + (x,) + b[-1:] if k == -2 else (x,) + b[1:]


# Operations whose result has the shape of their first operand, whatever their other
# options (a stencil's `np.roll(psi, 1)`, `np.flip(x)`, a copy `x0.copy()` or cast), where
# it has at least so many dimensions (`np.tril` of a vector is a matrix): {rule name:
# (keywords allowed, ndim)}.
_SAME_SHAPE = {"copy": ({"dtype", "copy", "order", "subok", "casting"}, 0),
               "roll": ({"shift", "axis"}, 1), "flip": ({"axis"}, 1), "fliplr": (set(), 1),
               "flipud": (set(), 1), "cholesky": ({"upper"}, 2), "tril": ({"k"}, 2),
               "triu": ({"k"}, 2)}


def _differenced(dims, n, axis, ctx):
    """The dims of np.diff(x, n, axis) of an x of `dims`: n fewer along the axis (an
    exact dimension: `(d0, n)` of a symbol, a literal less n; else one of the sizes
    compiled for, assumed)."""
    if not dims or n < 0 or not -len(dims) <= axis < len(dims):
        return None
    axis %= len(dims)
    d = dims[axis]
    if n == 0:
        return dims
    if type(d) is int:
        length = d - n if d >= n else None
    elif isinstance(d, str):
        length = (d, n)
    elif isinstance(d, tuple) and len(d) == 2 and isinstance(d[0], str):
        length = (d[0], d[1] + n)                   # already shrunk: (symbol, k)
    else:
        length = None
    return None if length is None else dims[:axis] + (length,) + dims[axis + 1:]


def _arr(dims):
    return UNKNOWN if dims is None else ("arr", dims)


def _nondiff(s, of, scalars):
    e = s.expr
    if isinstance(e, gast.Attribute) and e.attr == "shape" and isinstance(e.value, gast.Name):
        base = of(e.value.id)
        if base != UNKNOWN and base[0] == "arr":
            return ("tup", base[1])
        return UNKNOWN
    if isinstance(e, gast.Call) and isinstance(e.func, gast.Name) and e.func.id == "len" \
            and len(e.args) == 1 and isinstance(e.args[0], gast.Name):
        base = of(e.args[0].id)
        if base != UNKNOWN and base[0] == "arr" and base[1]:
            return ("int", base[1][0])
        return ("int", None) if s.target in scalars else UNKNOWN
    if isinstance(e, gast.Call) and isinstance(e.func, gast.Attribute) \
            and isinstance(e.func.value, gast.Name) and e.func.value.id in ("np", "numpy") \
            and not e.keywords and e.args:
        shape = _shape_operand(e.args[0], of)
        if e.func.attr in ("zeros", "ones", "empty") and len(e.args) == 1 and shape:
            return ("arr", shape)
        if e.func.attr == "arange" and len(e.args) == 1 and shape and len(shape) == 1:
            return ("arr", shape)                 # np.arange(n): n values
        if e.func.attr in ("eye", "identity") and len(e.args) == 1 and shape \
                and len(shape) == 1:
            return ("arr", shape * 2)             # np.eye(n): n×n
        if e.func.attr == "full" and len(e.args) == 2 and shape:
            fill = _operand_value(e.args[1], of)
            if fill != UNKNOWN and fill[0] in ("arr", "int") and (fill[0] == "int" or not fill[1]):
                return ("arr", shape)
        if e.func.attr in ("zeros_like", "ones_like", "empty_like") and len(e.args) == 1 \
                and isinstance(e.args[0], gast.Name):
            base = of(e.args[0].id)
            if base != UNKNOWN and base[0] == "arr":
                return base
    if isinstance(e, (gast.BinOp, gast.UnaryOp, gast.Compare)):
        # integer arithmetic (`i + 1`), or an elementwise mask (`x > 0`)
        found = [of(a) for a in s.args]
        if found and all(v != UNKNOWN and v[0] == "int" for v in found) \
                and isinstance(e, gast.BinOp) and isinstance(e.op, (gast.FloorDiv, gast.Mod)):
            return ("int", None)
        if found and all(v != UNKNOWN and v[0] in ("arr", "int") for v in found):
            dims = broadcast([v[1] if v[0] == "arr" else () for v in found])
            if dims:
                return ("arr", dims)
    if s.target in scalars:
        return ("arr", ())
    return UNKNOWN


def _operand_value(node, of):
    if isinstance(node, gast.Name):
        return of(node.id)
    if isinstance(node, gast.Constant):
        return of(Const(node.value))
    value = int_constant(node)
    return UNKNOWN if value is None else ("int", value)


def _shape_operand(node, of):
    """The dims a shape argument (`(n, m)`, a name of a tuple, an int) stands for."""
    if isinstance(node, gast.Tuple):
        dims = []
        for e in node.elts:
            v = _operand_value(e, of)
            if v == UNKNOWN or v[0] != "int" or not _is_dim(v[1]):
                return None
            dims.append(v[1])
        return tuple(dims)
    v = _operand_value(node, of)
    if v == UNKNOWN:
        return None
    if v[0] == "tup":
        return v[1]
    if v[0] == "int" and _is_dim(v[1]):
        return (v[1],)
    return None


def broadcast(shapes):
    """NumPy's broadcast of symbolic shapes, or None where it depends on the sizes."""
    ndim = max((len(s) for s in shapes), default=0)
    out = []
    for k in range(ndim):
        dims = {s[len(s) - ndim + k] for s in shapes if len(s) - ndim + k >= 0}
        dims.discard(1)
        if len(dims) > 1:
            return None
        out.append(dims.pop() if dims else 1)
    return tuple(out)


def matmul_shape(a, b, is_dot=False):
    if not a or not b or (is_dot and (len(a) > 2 or len(b) > 2)):
        return None
    if len(a) == 1 and len(b) == 1:
        return () if a[0] == b[0] else None
    if len(b) == 1:
        return a[:-1] if a[-1] == b[0] else None
    if len(a) == 1:
        return b[:-2] + b[-1:] if a[0] == b[-2] else None
    if a[-1] != b[-2]:
        return None
    batch = broadcast([a[:-2], b[:-2]])
    return None if batch is None else batch + (a[-2], b[-1])


def reduced(dims, axis, keepdims):
    if axis is None:
        return tuple(1 for _ in dims) if keepdims else ()
    axes = axis if isinstance(axis, tuple) else (axis,)
    if not all(type(a) is int for a in axes):
        return None
    try:
        axes = {a % len(dims) if -len(dims) <= a < len(dims) else None for a in axes}
    except ZeroDivisionError:
        return None
    if None in axes:
        return None
    return tuple(1 if k in axes else d for k, d in enumerate(dims)
                 if keepdims or k not in axes)


def read_only_dicts(stmts, dict_items):
    """The dict (or NamedTuple and dataclass) parameters among `dict_items` ({name: {key:
    dims}}) that the statements only read items of, at constant keys the dict has
    (`params["W1"]`; the fields of a record, `params.W1`): never stored into, passed
    on, iterated or read whole, so each such item is, whenever it is read, the array
    (or number) the call passed there. {name: {key: dims}}."""
    keep = dict(dict_items)
    for s in stmts:
        if isinstance(s, SetItem) and s.container in keep:
            keep.pop(s.container)
            continue
        for n in reads(s):
            if n not in keep:
                continue
            item = isinstance(s, Assign) and s.kind is Kind.OP and s.args[0] == n and (
                s.rule.name == "getitem" and n not in s.args[1:]
                and isinstance(s.expr, gast.Subscript)
                and isinstance(s.expr.slice, gast.Constant)
                and s.expr.slice.value in keep[n]
                or s.rule.name == "field" and len(s.args) == 2
                and isinstance(s.args[1], Const) and s.args[1].value in keep[n])
            if not item:
                keep.pop(n)
    return keep


def _getitem(base, index, of, ctx=None):
    if base == UNKNOWN:
        return UNKNOWN
    if base[0] == "dict":
        if isinstance(index, gast.Constant) and index.value in base[1]:
            return ("arr", tuple(base[1][index.value]))
        return UNKNOWN
    parts = index.elts if isinstance(index, gast.Tuple) else [index]
    if base[0] == "tup":
        k = int_constant(parts[0]) if len(parts) == 1 else None     # (`x.shape[-1]` too)
        if k is not None and -len(base[1]) <= k < len(base[1]):
            return ("int", base[1][k])
        return UNKNOWN
    if base[0] != "arr":
        return UNKNOWN
    dims = list(base[1])
    out = []
    k = 0                                   # the dimension of base the next part indexes
    for p in parts:
        if isinstance(p, gast.Constant) and p.value is None:
            out.append(1)                   # x[:, None]: a new axis of length 1
            continue
        if k >= len(dims):
            return UNKNOWN
        if isinstance(p, gast.Slice):
            d = _sliced(dims[k], p, of, ctx)
            if d is None:
                return UNKNOWN
            out.append(d)
            k += 1
            continue
        v = _operand_value(p, of) if isinstance(p, (gast.Name, gast.Constant)) else UNKNOWN
        if v == UNKNOWN or v[0] != "int" or (isinstance(p, gast.Constant) and type(p.value)
                                              is not int):
            return UNKNOWN
        k += 1
    return ("arr", tuple(out) + tuple(dims[k:]))


def _sliced(dim, sl, of=None, ctx=None):
    """The length of `x[lo:hi]` along a dimension: the same for `:`, the dimension less
    k for constant ends (`1:`, `:-1`, `2:-1`); for ends the code computes from sizes
    (`H:2 * H`), hi - lo where 0 ≤ lo ≤ hi ≤ the dimension in the call compiled for (the
    order assumed); else None."""
    k = slice_shrink(sl)
    if k is None:
        return _computed_slice(dim, sl, of, ctx)
    if k == 0:
        return dim
    if dim == 1:
        return None
    if isinstance(dim, tuple):                  # already shrunk: (symbol, k)
        return (dim[0], dim[1] + k)
    return (dim, k)


def _computed_slice(dim, sl, of, ctx):
    if ctx is None or not isinstance(sl, gast.Slice) or sl.step is not None:
        return None
    whole = linear(dim)
    last = int_constant(sl.lower)
    if last is not None and last < 0 and sl.upper is None and whole is not None \
            and not ctx.reads_loop(whole):     # `x[-4:]`: the last 4, where there are 4
        if ctx.value(whole) < -last:
            return None
        ctx.assume("le", (-last, ()), whole)
        return ctx.symbol_of(-last)
    lo = (0, ()) if sl.lower is None else _bound(sl.lower, of)
    hi = whole if sl.upper is None else _bound(sl.upper, of)
    if whole is None or lo is None or hi is None:
        return None
    if ctx.reads_loop(lo) or ctx.reads_loop(hi):
        return _moving_slice(whole, lo, hi, ctx)
    if not 0 <= ctx.value(lo) <= ctx.value(hi) <= ctx.value(whole):
        return None                     # (negative ends count from the end: not followed)
    ctx.assume("le", (0, ()), lo)
    ctx.assume("le", lo, hi)
    ctx.assume("le", hi, whole)
    return ctx.dim(_combine(hi, lo, -1))


def _moving_slice(whole, lo, hi, ctx):
    """The length of `x[lo:hi]` whose ends move with loop variables by the same amount
    (`x[:, j:j + m]` in `for j in range(k)`, a window of a convolution): hi - lo, where
    that is free of loop variables and 0 ≤ lo ≤ hi ≤ the dimension at every step. A
    bound linear in the loop variables holds at every step if it holds at the corners
    of their ranges (`_Sizes.corners`), which are forms of sizes: those bounds must
    hold in the call compiled for, and are assumed (a call of other sizes checks them).
    Else None: Python clips a slice running past an end, and counts negative ends
    from the end, so its length is then no such difference."""
    length = _combine(hi, lo, -1)
    if ctx.reads_loop(length):
        return None
    lows, highs = ctx.corners(lo), ctx.corners(hi)
    if lows is None or highs is None or len(lows) + len(highs) > 16:
        return None
    bounds = [((0, ()), a) for a in lows] + [(b, whole) for b in highs] + \
        [((0, ()), length)]
    if not all(ctx.value(a) <= ctx.value(b) for a, b in bounds):
        return None
    for a, b in bounds:
        ctx.assume("le", a, b)
    return ctx.dim(length)


def _bound(node, of):
    """The linear form of a slice's end: an integer literal or a name of a known int."""
    value = int_constant(node)
    if value is not None:
        return (value, ())
    if isinstance(node, gast.Name):
        v = of(node.id)
        if v != UNKNOWN and v[0] == "int":
            return linear(v[1])
    return None


def slice_shrink(sl):
    """For a slice `a:b` with constant a ≥ 0 (or none), b < 0 (or none) and no step: how
    many entries it drops in all (a - b); else None."""
    if not isinstance(sl, gast.Slice) or sl.step is not None:
        return None
    lo, hi = int_constant(sl.lower, 0), int_constant(sl.upper, 0)
    if lo is None or hi is None or lo < 0 or hi > 0 or (sl.upper is not None and hi == 0):
        return None
    return lo - hi


def int_constant(e, default=None):
    """The value of an integer literal (`3`, `-1`); `default` for no node, else None."""
    if e is None:
        return default
    if isinstance(e, gast.Constant) and type(e.value) is int:
        return e.value
    if isinstance(e, gast.UnaryOp) and isinstance(e.op, gast.USub) \
            and isinstance(e.operand, gast.Constant) and type(e.operand.value) is int:
        return -e.operand.value
    return None
