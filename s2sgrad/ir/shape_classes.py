"""Which values are numbers and which share a shape: `infer_scalars`, `shape_classes`,
`uniform_adjoint_ok`, `shape_representatives` (facts the reverse pass and the optimizer
read to drop broadcasting wrappers and saved shapes).
"""
import gast

from ..syntax.nodes import Const
from ..rules.registry import RETURNS_NUMBER, SCALAR_PRESERVING
from .shapes import elementwise_op, full_reduction, infer_shapes, reduced_axis, slice_shrink
from .statements import Assign, SetItem, Append, Pop, For, While, walk, defs, Kind




def _scalar_output(s, scal, lists=frozenset(), number_calls=None):
    """Does statement `s` produce a number, given the names in `scal` are numbers and
    those in `lists` lists of numbers? `number_calls(callee, n_args, keywords)`: does a
    call of a function of the user's with numbers give a number (`trace._NumberCalls`)?"""
    def is_scalar(a):
        if isinstance(a, Const):
            return isinstance(a.value, (int, float)) or a.value is None
        return a in scal
    if s.kind is Kind.CALL:
        return number_calls is not None and s.callee is not None \
            and not getattr(s, "function_args", None) \
            and all(isinstance(a, str) and a in scal or isinstance(a, Const)
                    and type(a.value) in (int, float) for a in
                    list(s.args) + list(s.kwargs.values())) \
            and number_calls(s.callee, len(s.args), tuple(sorted(s.kwargs)))
    if s.kind is Kind.CONST:
        return s.number or isinstance(s.expr, gast.Constant) \
            and isinstance(s.expr.value, (int, float))
    if s.kind is Kind.COPY:
        return is_scalar(s.args[0])
    if s.kind is Kind.OP:
        props = s.rule.props
        if RETURNS_NUMBER in props:
            return True
        if SCALAR_PRESERVING in props:
            return all(is_scalar(a) for a in s.args) and \
                all(is_scalar(a) for a in s.kwargs.values())
        if full_reduction(s):
            if len(s.args) > 2:       # dtype, out, keepdims given by position
                return False
            axis = reduced_axis(s)
            keep = s.kwargs.get("keepdims", Const(False))
            return isinstance(axis, Const) and axis.value is None and \
                isinstance(keep, Const) and not keep.value
        if s.rule.name == "getitem" and s.args and s.args[0] in lists:
            return _int_index(s.expr.slice, scal)
        return False
    if s.kind is Kind.NONDIFF:
        e = s.expr
        if isinstance(e, (gast.Compare, gast.BoolOp, gast.UnaryOp, gast.BinOp)):
            return all(is_scalar(a) for a in s.args)
        if isinstance(e, gast.Call) and isinstance(e.func, gast.Name) and \
                e.func.id in ("len", "int", "round", "bool"):
            return True
    return False


def _int_index(index, scal):
    """Is `index` one integer (a literal, or a name known to hold a number: the trace
    gives integers only to indices)?"""
    if isinstance(index, gast.Constant):
        return type(index.value) is int
    if isinstance(index, gast.UnaryOp) and isinstance(index.op, gast.USub):
        return _int_index(index.operand, scal)
    return isinstance(index, gast.Name) and index.id in scal


def _list_output(s, scal, lists):
    """Does statement `s` produce a list (or tuple) of numbers: a display of numbers,
    the concatenation or a slice of such lists, a copy of one?"""
    if s.kind is Kind.COPY:
        return s.args[0] in lists if isinstance(s.args[0], str) else False
    if s.kind is Kind.CONST:                     # `1.0, 0.0`
        return isinstance(s.expr, (gast.Tuple, gast.List)) and all(
            isinstance(e, gast.Constant) and type(e.value) in (int, float)
            for e in s.expr.elts)
    if s.kind is not Kind.OP:
        return False
    name = s.rule.name
    if name == "display" and isinstance(s.expr, (gast.List, gast.Tuple)):
        return all(isinstance(a, Const) and type(a.value) in (int, float) or
                   isinstance(a, str) and a in scal for a in s.args)
    if name == "concat":
        return all(isinstance(a, str) and a in lists for a in s.args)
    if name == "getitem" and s.args and s.args[0] in lists:
        return isinstance(s.expr.slice, gast.Slice)
    return False


def changed_in_place(stmts):
    """Names whose list may change in place (or whose items are read by code that may
    change them): containers of stores, appends and pops, receivers of unknown methods,
    arguments of the user's own functions and of operations without a rule."""
    out = set()
    for s in stmts:
        if isinstance(s, (SetItem, Append, Pop)):
            out.add(s.container)
        elif isinstance(s, Assign) and (s.kind in (Kind.OPAQUE, Kind.POP) or s.mutable_receiver
                                        or s.kind is Kind.CALL and _may_change(s.callee)):
            out |= {a for a in list(s.args) + list(s.kwargs.values()) if isinstance(a, str)}
    return out


_READERS = frozenset(("len", "range", "zip", "enumerate", "min", "max", "sum", "abs", "float",
                      "int", "list", "tuple", "reversed", "sorted", "isinstance", "print"))
_MODULES = frozenset(("np", "numpy", "math"))


def _may_change(func):
    """May the user's function `func` change a list it is given, as far as its own code
    shows: a store into an item or attribute, an augmented assignment (`xs += [a]`
    extends in place), a method call, or a call of anything but a builtin that only
    reads and NumPy/math functions."""
    from ..frontend.parse import parse_function
    try:
        tree = parse_function(func).node
    except Exception:                    # no source: assume the worst
        return True
    for n in gast.walk(tree):
        if isinstance(n, (gast.Subscript, gast.Attribute)) and \
                isinstance(n.ctx, (gast.Store, gast.Del)):
            return True
        if isinstance(n, gast.AugAssign):
            return True
        if isinstance(n, gast.Call):
            f = n.func
            root = f
            while isinstance(root, gast.Attribute):
                root = root.value
            if isinstance(f, gast.Name) and f.id in _READERS:
                continue
            if isinstance(f, gast.Attribute) and isinstance(root, gast.Name) \
                    and root.id in _MODULES and "random" not in gast.dump(f):
                continue
            return True
    return False


SCALAR = "<number>"


def _binding_counts(trace):
    """{name: how many statements bind it}, a parameter counting as one binding."""
    from collections import Counter
    count = Counter(d for s in walk(trace.body) for d in defs(s))
    count.update(trace.params)
    return count


def shape_classes(trace, array_params):
    """{name: class}: names of one class have the same shape whenever both hold a value
    computed in the same step (a class is a name whose own shape it shares, or SCALAR).
    Elementwise operations over operands of one class (numbers aside) stay in it; any
    other value starts a class of its own. Only names bound once (parameters that are
    arrays in this compilation, single definitions) get a class, so a class never
    changes under the code's feet; the backward pass drops `unbroadcast` between names
    of one class."""
    stmts = list(walk(trace.body))
    once = {n for n, c in _binding_counts(trace).items() if c == 1}
    cls = {n: SCALAR for n in trace.scalars}
    cls.update({p: p for p in array_params if p in once and p not in trace.scalars})
    containers = trace.maybe_container

    def of(a):
        if isinstance(a, Const):
            v = a.value
            return SCALAR if isinstance(v, (int, float)) else None
        return cls.get(a)

    for s in stmts:
        if not isinstance(s, Assign) or s.target not in once or s.target in cls:
            continue
        if s.target in containers:
            continue
        c = None
        elementwise = elementwise_op(s) or (
            s.kind is Kind.NONDIFF and isinstance(s.expr, (gast.Compare, gast.BinOp, gast.UnaryOp)))
        if elementwise:
            found = {of(a) for a in list(s.args) + list(s.kwargs.values())} - {SCALAR}
            if not found:
                c = SCALAR if s.target in trace.scalars else None
            elif len(found) == 1 and None not in found:
                c = found.pop()
        elif s.kind is Kind.COPY and not isinstance(s.args[0], Const):
            c = cls.get(s.args[0])
        elif s.kind is Kind.OP and s.rule.name == "getitem" and isinstance(s.args[0], str):
            k = _slice_shrink(s.expr)
            base = cls.get(s.args[0])
            if k is not None and base is not None and base != SCALAR:
                c = f"{base}[{k}:]"          # x[1:] and x[:-1] have one shape
        cls[s.target] = c if c is not None else s.target
    trace.structural_class = cls       # (shape_representatives: no coincidences)
    return _merge_known_shapes(trace, cls)


def _merge_known_shapes(trace, cls):
    """Join the classes of names whose shapes are known to be equal (`shapes.py`:
    from the pattern of the arrays' shapes). A class is then named by its first name
    (parameters first, then in order)."""
    if not trace.array_shapes:
        return cls
    known = trace.known_shapes        # (inferred with the scalars, `infer_scalars`)
    parent = {}

    def find(x):
        while parent.get(x, x) != x:
            x = parent[x]
        return x

    def union(a, b):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[rb] = ra
    order = list(trace.params) + [d for s in walk(trace.body) for d in defs(s)]
    for n in order:
        c = cls.get(n)
        if c is not None and c != SCALAR:
            union(c, n)
    first = {}
    for n in order:
        dims = known.get(n)
        if not dims or n in trace.scalars or n in trace.maybe_container:
            continue
        if dims in first:
            union(first[dims], n)
        else:
            first[dims] = n
    rep = {}
    names = list(dict.fromkeys(order))
    for n in names:
        rep.setdefault(find(n), n)          # a class is named by its first name
    out = dict(cls)
    for n in names:
        if out.get(n) != SCALAR and (n in cls or known.get(n)):
            out[n] = rep[find(n)]
    return out


def _slice_shrink(expr):
    """For `x[a:b]` with constant a ≥ 0 (or none), b < 0 (or none) and no step: how many
    leading entries the slice drops in all (a - b); its length is max(len(x) - k, 0)."""
    return slice_shrink(expr.slice) if isinstance(expr, gast.Subscript) else None


def uniform_adjoint_ok(trace, name):
    """May the adjoint of `name`, the argument of a full reduction (`np.sum(v)`), be the
    number ȳ itself instead of an array full of it? Yes when every value that adjoint
    reaches is bound once at the top level by an elementwise operation whose active
    operands share its shape class (so no `unbroadcast` would have to sum it), by
    indexing an array (its adjoint adds the number into place), or is an array argument."""
    cls = trace.shape_class
    if not cls or name not in cls:
        return False
    count = _binding_counts(trace)
    top = {s.target: s for s in walk(trace.body) if isinstance(s, Assign)}
    todo, seen = [name], set()
    while todo:
        n = todo.pop()
        if n in seen:
            continue
        seen.add(n)
        if n in trace.params:
            if n not in trace.array_params or count[n] != 1:
                return False
            continue
        s = top.get(n)
        if s is None or count[n] != 1 or n in trace.maybe_container:
            return False
        if s.kind in (Kind.CONST, Kind.NONDIFF, Kind.STOP):
            continue
        if s.kind is Kind.COPY:
            if isinstance(s.args[0], str):
                todo.append(s.args[0])
            continue
        if s.kind is Kind.OP and s.rule.name == "getitem":
            base = s.args[0]                  # an array: its adjoint adds the number in place
            if base in trace.array_params or (cls.get(base) not in (None, base, SCALAR)
                                              and base not in trace.maybe_container):
                continue
            return False
        if not elementwise_op(s):
            return False
        if cls.get(n) not in (None, SCALAR) and _full_terms(trace, s, cls):
            continue                    # ȳ times a full array: arrays from here on
        for a in list(s.args) + list(s.kwargs.values()):
            if isinstance(a, Const) or a not in trace.active:
                continue
            if cls.get(a) != cls.get(n) or cls.get(n) in (None, SCALAR):
                return False
            todo.append(a)
    return True


def _full_terms(trace, s, cls):
    """Does the adjoint term of each active operand of elementwise `s` multiply ȳ by a
    value of s's whole shape (its output, as in exp's ȳ·y, or an operand of its class,
    as in sin's ȳ·cos(x))? Then a number ȳ gives full arrays."""
    rule = s.rule
    reads = _term_reads(rule)
    own = cls.get(s.target)
    for k, a in enumerate(s.args):
        if not isinstance(a, str) or a not in trace.active:
            continue
        if k >= len(rule.params):
            return False
        names = reads.get(rule.params[k])
        if not names:
            return False
        if rule.output in names:
            continue
        if not any(isinstance(b, str) and cls.get(b) == own and rule.params[j] in names
                   for j, b in enumerate(s.args[:len(rule.params)])):
            return False
    return True


def _term_reads(rule):
    """{parameter: the plain names its adjoint terms read} (no adjoints, no globals)."""
    reads = getattr(rule, "_term_reads", None)
    if reads is None:
        reads = {}
        for st in rule.body:
            if isinstance(st, gast.AugAssign) and isinstance(st.target, gast.Name) \
                    and st.target.id.endswith("_bar"):
                names = {n for n in _value_names(st.value)
                         if not n.endswith("_bar") and n not in rule.namespace}
                reads.setdefault(st.target.id[:-4], set()).update(names)
        rule._term_reads = reads
    return reads


def _value_names(expr):
    """Names whose values `expr` computes with: not the second argument of
    `unbroadcast(g, a)`, which gives only a's shape (add's `unbroadcast(ȳ, a)` does not
    make ȳ full)."""
    if isinstance(expr, gast.Name):
        return {expr.id}
    if isinstance(expr, gast.Call) and isinstance(expr.func, gast.Name) \
            and expr.func.id == "unbroadcast" and expr.args:
        return _value_names(expr.args[0])
    out = set()
    for child in gast.iter_child_nodes(expr):
        out |= _value_names(child)
    return out


def shape_representatives(trace):
    """{name: another name of the same shape}, both bound once at the top level of the
    function (so both hold their one value when the backward pass runs): shape-only uses
    of the first (`unreduce(g, v9)`) can read the second, and v9 may then be dead.
    Only classes the code makes (elementwise operations), not sizes that happen to be
    equal in this call's shapes: `unreduce(g, v7)` should not read an unrelated `W2`
    because the batch size equals a layer width."""
    cls = trace.structural_class or trace.shape_class
    if not cls:
        return {}
    count = _binding_counts(trace)
    top = [p for p in trace.params if count[p] == 1] + [
        s.target for s in trace.body if isinstance(s, Assign) and count[s.target] == 1]
    first = {}
    out = {}
    for n in top:
        c = cls.get(n)
        if c is None or c == SCALAR:
            continue
        if c in first:
            out[n] = first[c]
        else:
            first[c] = n
    return out


def infer_scalars(trace, scalar_params, number_calls=None):
    """Names that hold numbers (0-d) on every path: the greatest fixpoint. Where the
    arrays' shapes are known (`trace.array_shapes`), values they give with no dimension
    left (`X[i] @ w` of a matrix and a vector) count as numbers too."""
    zero_d = set()
    while True:
        found = _scalar_fixpoint(trace, scalar_params, zero_d, number_calls)
        if not trace.array_shapes and not trace.dict_items:
            return found
        trace.known_shapes = infer_shapes(trace, trace.array_shapes, found)
        more = {n for n, dims in trace.known_shapes.items() if dims == ()} - found
        if more <= zero_d:
            return found
        zero_d |= more


def _scalar_fixpoint(trace, scalar_params, zero_d, number_calls=None):
    """The names that hold numbers, and (`trace.number_lists`) the names that hold lists
    of numbers: parameters this compilation knows as such (`trace.number_list_params`)
    and lists built from numbers, none of them ever changed in place. One greatest
    fixpoint for both (`w[i]` of a list of numbers is a number; `[1.0, a]` of numbers
    is a list of numbers)."""
    stmts = list(walk(trace.body))
    candidates = set(scalar_params)
    for s in stmts:
        for d in defs(s):
            candidates.add(d)
        if isinstance(s, While):
            candidates.add(s.count_name)
    candidates -= set(trace.params) - set(scalar_params)
    list_params = set(getattr(trace, "number_list_params", ()))
    lists = (list_params | {d for s in stmts for d in defs(s)}) - \
        (set(trace.params) - list_params) - changed_in_place(stmts)
    changed = True
    while changed:
        changed = False
        for s in stmts:
            if isinstance(s, (SetItem, Append, Pop)):
                bad = s.container in candidates
                candidates.discard(s.container)
                changed |= bad
            elif isinstance(s, Assign):
                if s.target in candidates and s.target not in zero_d \
                        and not _scalar_output(s, candidates, lists, number_calls):
                    candidates.discard(s.target)
                    changed = True
                if s.target in lists and not _list_output(s, candidates, lists):
                    lists.discard(s.target)
                    changed = True
            elif isinstance(s, For) and s.target in lists:
                lists.discard(s.target)
                changed = True
    trace.number_lists = lists - candidates
    return candidates

