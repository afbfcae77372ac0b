"""Analyses of a built trace: SSA renaming of straight-line code, the facts later stages
read (`active`, `overwritten`, `maybe_container`), and the checks that refuse stores into
views or aliases of other values.
"""
import gast
import numpy as np

from ..rules.registry import CONTAINER, FRESH, HOLDS_OPERANDS, READS_CONTAINER, VIEW
from ..syntax import nodes
from .statements import (Assign, SetItem, Append, Pop, Effect, If, For, While, Return,
                         walk, defs, makes_array, reads, Kind)


def rename_top_level(trace):
    """Give each straight-line top-level reassignment its own name (SSA)."""
    top = {}
    nested = set()
    for s in trace.body:
        for d in defs(s):
            top[d] = top.get(d, 0) + 1
        if isinstance(s, (If, For, While)):
            nested.update(d for x in walk([s]) for d in defs(x))
    params = set(trace.params)
    used = set(trace.user_names)
    version = {}
    counts = {}
    for s in trace.body:
        apply_renames(s, {k: v for k, v in version.items() if k != v} if
                       len(version) < 64 else _Renamed(version))
        if isinstance(s, Assign):
            t = s.target
            if t in nested and t in s.reads() and s.kind is not Kind.COPY:
                # (normalize gives such a rebinding a name of its own first: a name
                # kept here would lose the adjoint of its old value)
                raise trace.parsed.error(
                    f"s2sgrad cannot rebind `{t}` from its own value here: a loop or "
                    "branch also changes it", s.node,
                    f"assign the new value to a new name (`{t}_new = ...`)")
            if t in nested or (top.get(t, 0) < 2 and t not in params):
                continue
            if t not in version and t not in params and counts.get(t) is None:
                counts[t] = 0
                version[t] = t           # the first definition keeps the user's name
                continue
            n = counts.get(t, 0)
            while True:
                n += 1
                cand = f"{t}_{n}"
                if cand not in used:
                    break
            counts[t] = n
            used.add(cand)
            version[t] = cand
            s.target = cand
            s.node = nodes.assign(cand, s.expr) if s.node is None else \
                nodes.copy_location(nodes.assign(cand, s.node.value), s.node)
    trace.user_names = used


class _Renamed(dict):
    """A view of a version map holding only the names that changed (built lazily)."""

    def __init__(self, version):
        super().__init__()
        self.version = version

    def __contains__(self, k):
        return self.version.get(k, k) != k

    def __getitem__(self, k):
        return self.version[k]

    def get(self, k, default=None):
        v = self.version.get(k, default)
        return default if v == k else v

    def items(self):
        return ((k, v) for k, v in self.version.items() if k != v)

    def __bool__(self):
        return any(k != v for k, v in self.version.items())


def apply_renames(s, mapping):
    if not mapping:
        return
    ren = lambda a: mapping.get(a, a) if isinstance(a, str) else a  # noqa: E731
    for x in walk([s]):
        if isinstance(x, Assign):
            x.args = [ren(a) for a in x.args]
            x.kwargs = {k: ren(v) for k, v in x.kwargs.items()}
            x.expr = nodes.substitute(x.expr, mapping)
            x.node = nodes.copy_location(nodes.assign(x.target, x.expr), x.node)
        elif isinstance(x, SetItem):
            x.container, x.value = ren(x.container), ren(x.value)
            x.index = nodes.substitute(x.index, mapping)
            x.node = nodes.substitute(x.node, mapping)
        elif isinstance(x, (Append, Effect)):
            if isinstance(x, Append):
                x.container, x.value = ren(x.container), ren(x.value)
            x.node = nodes.substitute(x.node, mapping)
        elif isinstance(x, If):
            x.test = ren(x.test)
        elif isinstance(x, While):
            x.test = ren(x.test)
        elif isinstance(x, For):
            x.range_args = [ren(a) for a in x.range_args]
        elif isinstance(x, Return):
            x.value = ren(x.value)


def dependencies(s):
    """(defined names, names whose value flows differentiably into them)."""
    if isinstance(s, Assign):
        if s.kind in (Kind.NONDIFF, Kind.CONST, Kind.STOP) or s.no_gradient:
            return [s.target], []
        if s.kind is Kind.OP:
            keep = s.rule.adjoint_names()
            flows = []
            params = s.rule.params
            for i, a in enumerate(s.args):
                pname = params[i] if i < len(params) else s.rule.vararg
                if isinstance(a, str) and (pname in keep or pname is None):
                    flows.append(a)
            for k, a in s.kwargs.items():
                if isinstance(a, str) and k in keep:
                    flows.append(a)
            return [s.target], flows
        return [s.target], [a for a in s.reads()]
    if isinstance(s, SetItem):
        return [s.container], [s.container] + ([s.value] if isinstance(s.value, str) else [])
    if isinstance(s, Append):
        return [s.container], s.reads()
    if isinstance(s, Pop):
        return [s.container], [s.container]
    if isinstance(s, Effect) and s.restored_item():     # (code s2sgrad generated)
        container, old = s.restored_item()
        return [container], [container] + ([old] if old else [])
    return [], []


# Operands that select (np.where's condition, take's indices, a mask, an index): a
# boolean or an integer, piecewise constant in the input like an index, so not checked
# (a mask the backward pass reads back from its saved list was refused in hvp)
_SELECTORS = frozenset({"condition", "condlist", "indices", "mask", "index"})


def _cut_inputs(s):
    """(name, what) for each operand that statement `s` reads but carries no gradient
    from: an option parameter of a rule (einsum's `subscripts`, np.clip's bounds), a
    range in np.r_ or an index object (np.s_, np.ogrid), an argument of a constant
    built from values (np.full, np.arange, a random draw's location). Harmless for
    integers and constants; a value that depends on the differentiated input must not
    reach one."""
    out = []
    if not isinstance(s, Assign):
        return out
    if s.kind is Kind.OP and not s.tangent_only:
        keep = s.rule.adjoint_names()
        params = s.rule.params
        for i, a in enumerate(s.args):
            pname = params[i] if i < len(params) else s.rule.vararg
            if pname in _SELECTORS and s.rule.name != "index_concat":
                continue
            if isinstance(a, str) and pname is not None and pname not in keep:
                out.append((a, f"the argument `{pname}` of `{s.rule.name}`"))
        for k, a in s.kwargs.items():
            if isinstance(a, str) and k not in keep:
                out.append((a, f"the option `{k}=` of `{s.rule.name}`"))
        # (an index of an array or list is an integer, a boolean or a slice of them:
        # piecewise constant, so not checked; a float index is NumPy's error)
        if s.rule.name == "index_concat":     # bounds of np.r_[x:3] start a range at x
            out += [(n, "a range in np.r_/np.c_") for x in nodes.walk(s.expr.slice)
                    if isinstance(x, gast.Slice) for n in nodes.names_in(x)]
    elif s.kind is Kind.NONDIFF and s.cut_what:
        reads = s.cut_args
        reads = s.reads() if reads is None else [a for a in reads if isinstance(a, str)]
        out += [(n, s.cut_what) for n in reads]
    return out


def _refuse_cut_gradients(trace, stmts, varied, useful):
    """A value that depends on the differentiated input and reaches an operand without
    a gradient would make the result's gradient silently incomplete: refused here, at
    transform time, at the statement."""
    # reaching: flows into the result through any operand, an index included (np.s_[...]
    # used as an index); a value used only to branch or loop is piecewise constant
    reaching = set(useful)
    changed = True
    while changed:
        changed = False
        for s in reversed(stmts):
            if any(t in reaching for t in defs(s)) and isinstance(s, (Assign, SetItem)):
                new = set(s.reads()) - reaching
                if new:
                    reaching |= new
                    changed = True
    written = set(nodes.names_in(trace.parsed.node, nodes.STORE)) | set(trace.params)
    through_calls = None
    for s in stmts:
        targets = defs(s)
        if not any(t in reaching for t in targets):
            continue
        for name, what in _cut_inputs(s):
            if name in varied and through_calls is None:
                through_calls = _varied_past_constant_calls(trace, stmts)
            if name in varied and name in through_calls:
                shown = f"`{name}`, which" if name in written else "a value that"
                raise trace.parsed.error(
                    f"s2sgrad has no derivative for {what}, and it receives {shown} "
                    "depends on the differentiated input", s.node,
                    "wrap the value in s2sgrad.stop_gradient(...) if no gradient should "
                    "flow there, or write the operation with functions s2sgrad "
                    "differentiates (or register a rule with @s2sgrad.adjoint)")


def _varied_past_constant_calls(trace, stmts):
    """The names that depend on the differentiated input when a call of the user's
    function whose result never does (`n, d = dims(X)` with `dims` returning `a.shape`,
    in another module) is known to give a constant: asked only where a value would be
    refused for reaching an operand without a gradient (a reshape's shape). The
    function's own trace, with every parameter differentiated, decides
    (`trace.constant_calls`); one that cannot be traced alone is not a constant."""
    oracle = getattr(trace, "constant_calls", None)
    deps = []
    for s in stmts:
        targets, flows = dependencies(s)
        if oracle is not None and isinstance(s, Assign) and s.kind is Kind.CALL \
                and s.callee is not None and oracle.gives_constant(
                    s.callee, len(s.args), tuple(sorted(s.kwargs))):
            flows = []
        deps.append((targets, flows))
    return _varied(trace, deps)


def _varied(trace, deps):
    """The names that depend on a differentiated parameter, given each statement's
    (defined names, names flowing differentiably into them): a fixed point, since a loop
    carries values around."""
    varied = {trace.params[i] for i in trace.wrt}
    changed = True
    while changed:
        changed = False
        for targets, flows in deps:
            if any(f in varied for f in flows):
                for t in targets:
                    if t not in varied:
                        varied.add(t)
                        changed = True
    return varied


def _refuse_complex(trace, stmts, varied, useful):
    """The rules differentiate real-valued code: a complex number (`1j`, `complex(a,
    b)`, a complex global or closure value) meeting a value that depends on the
    differentiated input would give a gradient that is silently wrong under any
    convention, so the statement where they meet is refused. Complex values that only
    make constants are left alone (flow-insensitive: a name is complex when any
    binding of it reads something complex). No walk: SSA statements hold their
    literals as operands."""
    defined = set(trace.params) | {d for s in stmts for d in defs(s)}
    free = {}
    for s in stmts:
        for name in reads(s):
            if name.__class__ is str and name not in defined and name not in free:
                try:
                    value = trace.parsed.resolve(name)
                except KeyError:
                    value = None
                free[name] = isinstance(value, complex) or isinstance(
                    value, (np.ndarray, np.generic)) and value.dtype.kind == "c"
    complex_names = {n for n, c in free.items() if c}
    literal = {id(s) for s in stmts if _complex_literal(s)}
    if not complex_names and not literal:
        return
    changed = True
    while changed:
        changed = False
        for s in stmts:
            if not isinstance(s, (Assign, SetItem)):
                continue
            if id(s) in literal or any(r in complex_names for r in reads(s)) \
                    and not _real_part(s):
                for d in defs(s):
                    if d not in complex_names:
                        complex_names.add(d)
                        changed = True
    for s in stmts:
        if not isinstance(s, (Assign, SetItem)) or not any(d in useful for d in defs(s)):
            continue
        operands = [r for r in reads(s) if isinstance(r, str)]
        meets = id(s) in literal or any(r in complex_names for r in operands)
        if meets and any(r in varied for r in operands):
            raise trace.parsed.error(
                "s2sgrad differentiates real-valued code: here a complex number meets a "
                "value that depends on the differentiated input", s.node,
                "write the real and imaginary parts as two real arrays (for |z|**2: "
                "re**2 + im**2), or wrap the complex part in s2sgrad.stop_gradient(...) "
                "if no gradient should flow through it")


def _complex_literal(s):
    """Does the SSA statement `s` hold a complex literal (`2j`) or call `complex`?"""
    for a in getattr(s, "args", None) or ():
        if a.__class__ is nodes.Const and type(a.value) is complex:
            return True
    expr = getattr(s, "expr", None)
    if expr.__class__ is gast.Constant:
        return type(expr.value) is complex
    return expr.__class__ is gast.Call and getattr(expr.func, "id", None) == "complex"


_REAL_PARTS = {"abs", "absolute", "fabs", "real", "imag", "angle"}


def _real_part(s):
    """Is `s` a real-valued view of a complex operand (`np.abs(z)`, `z.real`,
    `np.angle(z)`)? Its result is real: complex-ness stops there."""
    expr = getattr(s, "expr", None)
    if isinstance(expr, gast.Attribute):
        return expr.attr in ("real", "imag")
    if isinstance(expr, gast.Call):
        f = expr.func
        name = f.attr if isinstance(f, gast.Attribute) else getattr(f, "id", None)
        return name in _REAL_PARTS
    return False


def _outermost_loops(body):
    for s in body:
        if isinstance(s, (For, While)):
            yield s
        elif isinstance(s, If):
            yield from _outermost_loops(s.body)
            yield from _outermost_loops(s.orelse)


def analyse(trace):
    """Fill in `active`, `overwritten` and `maybe_container` (flow-insensitive)."""
    stmts = list(walk(trace.body))
    # overwritten: assigned at more than one site, or inside a loop, or a reassigned param
    counts = {}
    for s in stmts:
        for d in defs(s):
            counts[d] = counts.get(d, 0) + 1
    in_loop = set()
    for s in stmts:
        if isinstance(s, (For, While)):
            for x in walk(s.body):
                in_loop.update(defs(x))
                if isinstance(x, While):
                    in_loop.add(x.count_name)
    trace.overwritten = {n for n, c in counts.items() if c > 1} | in_loop | \
        (set(counts) & set(trace.params))
    # a loop-invariant value (defined once, inside a loop, from operands the loop never
    # changes) is the same in every iteration: nothing to save per iteration; a random
    # draw reads nothing the loop changes yet gives other numbers in each iteration
    trace.invariant = set()
    for loop in _outermost_loops(trace.body):
        changed_in_loop = {d for x in walk(loop.body) for d in defs(x)} | set(defs(loop))
        changed_in_loop |= {x.count_name for x in walk([loop]) if isinstance(x, While)}
        for s in walk(loop.body):
            if isinstance(s, Assign) and counts.get(s.target) == 1 \
                    and s.target not in trace.params \
                    and s.kind in (Kind.OP, Kind.COPY, Kind.CONST, Kind.NONDIFF) \
                    and not s.tangent_only and not s.random \
                    and not set(s.reads()) & changed_in_loop:
                trace.invariant.add(s.target)
    # a top-level first definition has no old value worth saving
    seen = set(trace.params)
    for s in trace.body:
        if isinstance(s, Assign) and s.target not in seen:
            s.first_def = True
        for x in walk([s]):
            seen.update(defs(x))
    # varied: depends on a wrt input
    deps = [dependencies(s) for s in stmts]
    varied = _varied(trace, deps)
    # useful: reaches the returned value
    useful = {trace.result} if isinstance(trace.result, str) else set()
    changed = True
    while changed:                       # backwards: one pass for straight-line code
        changed = False
        for targets, flows in reversed(deps):
            if any(t in useful for t in targets):
                for f in flows:
                    if f not in useful:
                        useful.add(f)
                        changed = True
    trace.active = varied & useful
    _refuse_cut_gradients(trace, stmts, varied, useful)
    _refuse_complex(trace, stmts, varied, useful)
    # maybe_container: names that may hold a list/tuple/dict. A parameter counts only
    # when the function uses it as a container (indexes it, sums it, passes it on).
    mc, listy = container_uses(stmts)
    # a parameter that is an array in this compilation and is only indexed is no container
    mc &= set(trace.params) - (set(trace.array_params) - listy)
    changed = True
    while changed:
        changed = False
        for s in stmts:
            if not isinstance(s, Assign) or s.target in mc:
                continue
            container = False
            if s.kind is Kind.CALL or s.tangent_only:
                container = True            # may return a tuple
            elif s.kind is Kind.COPY:
                container = s.args[0] in mc
            elif s.kind is Kind.OP:
                name = s.rule.name
                if CONTAINER in s.rule.props:
                    container = True
                elif makes_array(s):         # np.array(xs): an array, whatever xs is
                    container = False
                elif name in ("getitem", "field", "copy"):   # xs[i], p.W, list(xs)
                    # (an item of a dict of arrays and numbers read only at its keys:
                    # an array or a number, `shapes.read_only_dicts`)
                    container = (s.args[0] in mc or _builds_list(s)) and \
                        s.args[0] not in trace.dict_items
            if container:
                mc.add(s.target)
                changed = True
    trace.maybe_container = mc


def _builds_list(s):
    """`list(x)` or `tuple(x)`: a container whatever x is."""
    f = s.expr.func if isinstance(s.expr, gast.Call) else None
    return isinstance(f, gast.Name) and f.id in ("list", "tuple")


def container_uses(stmts, returned=()):
    """(names the statements use as containers: index, unpack, take `len` of, pass to a
    function of the user's; those of them used in ways whose adjoint may come back as a
    list), through copies and elements. `returned`: names that count as used so too
    (the values a function returns, for forward mode)."""
    mc = set(returned)
    listy = set()
    for s in stmts:
        if isinstance(s, Assign) and s.args and isinstance(s.args[0], str):
            if s.kind is Kind.CALL:
                mc.update(a for a in s.args if isinstance(a, str))
                listy.update(a for a in s.args if isinstance(a, str))
            elif s.kind is Kind.OP and READS_CONTAINER in s.rule.props:
                mc.add(s.args[0])
                if s.rule.name not in ("getitem", "field", "copy"):
                    listy.add(s.args[0])      # (a copy of an array is an array)
            elif s.kind is Kind.NONDIFF and isinstance(s.expr, gast.Call) \
                    and isinstance(s.expr.func, gast.Name) and s.expr.func.id == "len":
                mc.add(s.args[0])
    _uses_through_copies_and_elements(stmts, mc, listy)
    return mc, listy


def _uses_through_copies_and_elements(stmts, mc, listy):
    """A use as a container of another name for the same value is a use of the value:
    of `b` after `b = a` (an inlined helper's parameter bound to the argument passed), of
    `c[i]` for whatever was put in `c` (`pairs = [ws, ws]`, `c.append(ws)`, `c[k] = ws`),
    so that `ws`, used twice, has its adjoints added as containers (`add_grads`)."""
    held = {}                    # container -> the names put in it
    copies = []                  # (copy, original)
    reads = []                   # (element read, container)
    for s in stmts:
        if isinstance(s, Assign) and s.args and isinstance(s.args[0], str):
            if s.kind is Kind.COPY:
                copies.append((s.target, s.args[0]))
            elif s.kind is Kind.OP and CONTAINER in s.rule.props:
                held.setdefault(s.target, []).extend(a for a in s.args if isinstance(a, str))
            elif s.kind is Kind.OP and s.rule.name == "getitem":
                reads.append((s.target, s.args[0]))
        elif isinstance(s, (Append, SetItem)) and isinstance(s.value, str):
            held.setdefault(s.container, []).append(s.value)
    changed = True
    while changed:                  # `t = [[ws]]; v = t[0]`: v holds what t's elements hold
        changed = False
        sources = copies + [(v, e) for v, c in reads for e in held.get(c, ())]
        for v, src in sources:
            for e in held.get(src, ()):
                if e not in held.setdefault(v, []):
                    held[v].append(e)
                    changed = True
    links = copies + [(v, e) for v, c in reads for e in held.get(c, ())]
    changed = True
    while changed:
        changed = False
        for derived, original in links:
            for used in (mc, listy):
                if derived in used and original not in used:
                    used.add(original)
                    changed = True


def _is_fresh(s):
    """Does statement `s` bind its target to a new object (not a view or an alias)?"""
    if s.kind in (Kind.CONST, Kind.NONDIFF):
        return True
    if s.kind is not Kind.OP:
        return False
    return FRESH in s.rule.props and not _copy_may_alias(s) and not _diff_may_alias(s)


def _diff_may_alias(s):
    """`np.diff(x, n)` is x itself for n = 0: a new array only for a literal n ≥ 1 (or
    none, n=1)."""
    call = s.expr if isinstance(s.expr, gast.Call) else None
    if call is None or s.rule.name != "diff":
        return False
    n = call.args[1] if len(call.args) > 1 else next(
        (k.value for k in call.keywords if k.arg == "n"), None)
    if any(k.arg is None for k in call.keywords):
        return True                                   # **options: may hold n=0
    return n is not None and not (isinstance(n, gast.Constant) and type(n.value) is int
                                  and n.value >= 1)


def _copy_may_alias(s):
    """`x.astype(t, copy=False)`, `np.array(x, copy=None)`: x itself where no copy is
    needed (any `copy=` but a literal True; astype's copy given by position)."""
    call = s.expr if isinstance(s.expr, gast.Call) else None
    if call is None or s.rule.name != "copy":
        return False
    for k in call.keywords:
        if k.arg == "copy" and not (isinstance(k.value, gast.Constant) and k.value.value is True):
            return True
        if k.arg is None:
            return True                               # **options: may hold copy=False
    return isinstance(call.func, gast.Attribute) and call.func.attr == "astype" \
        and len(call.args) >= 5


def _own_code(trace):
    """Is the traced function code s2sgrad wrote (a gradient differentiated again)?"""
    return str(trace.parsed.filename).startswith("<s2sgrad")


def _placed(body, loops=()):
    """(statement, the loops around it) for every statement, in program order."""
    for s in body:
        yield s, loops
        if isinstance(s, If):
            yield from _placed(s.body, loops)
            yield from _placed(s.orelse, loops)
        elif isinstance(s, (For, While)):
            yield from _placed(s.body, loops + (id(s),))


def _reads_of(s):
    """What `s` reads, a returned name aside (returning a view reads nothing here)."""
    return [] if isinstance(s, Return) else reads(s)


def _is_view(s, trace):
    if not (isinstance(s, Assign) and s.kind is Kind.OP and s.args
            and isinstance(s.args[0], str)):
        return False
    if s.rule.name == "getitem":
        # slices are views; so is y[i] with integers i of an array `y` that keeps a
        # dimension (a row of a matrix). An element of a vector is a number, a mask or
        # an integer array copies; where the shapes are unknown y[i] is taken for a number.
        idx = s.expr.slice if isinstance(s.expr, gast.Subscript) else None
        parts = idx.elts if isinstance(idx, gast.Tuple) else [idx]
        if any(isinstance(p, gast.Slice) or (isinstance(p, gast.Constant) and p.value is None)
               for p in parts):
            return True
        if s.args[0] in trace.maybe_container or not all(
                isinstance(p, gast.Constant) and type(p.value) is int
                or isinstance(p, gast.Name) and p.id in trace.scalars for p in parts):
            return False
        dims = trace.known_shapes.get(s.target)
        base = trace.known_shapes.get(s.args[0])
        return bool(dims) or base is not None and len(base) > len(parts)
    return VIEW in s.rule.props or _copy_may_alias(s)


def _maybe_row(s, trace):
    """`r = y[i]` with integer indices of an array `y` whose shape is not known: a row
    (a view) if y has more dimensions than indices, a number otherwise."""
    if not (isinstance(s, Assign) and s.kind is Kind.OP and s.args
            and isinstance(s.args[0], str) and s.rule.name == "getitem"
            and isinstance(s.expr, gast.Subscript)) or s.target in trace.scalars \
            or _is_view(s, trace):
        return False
    idx = s.expr.slice
    parts = idx.elts if isinstance(idx, gast.Tuple) else [idx]
    return all(isinstance(p, gast.Constant) and type(p.value) is int
               or isinstance(p, gast.Name) and p.id in trace.scalars for p in parts) \
        and s.target not in trace.known_shapes and s.args[0] not in trace.known_shapes


def _guard_rows(trace, rows):
    """After each `r = y[i]` of `rows`, a check when the code runs: r must not be a row of
    y (a view), since y is stored into while r is read afterwards (`check_views`)."""
    from .. import runtime
    from ..syntax import emit
    name, taken = "must_not_be_view", set(trace.parsed.namespace)
    while name in taken or trace.parsed.closure.get(name, runtime.must_not_be_view) \
            is not runtime.must_not_be_view:
        name = "s2s_" + name
    trace.parsed.closure[name] = runtime.must_not_be_view
    guarded = {id(s) for s in rows}

    def insert(body):
        out = []
        for s in body:
            out.append(s)
            if isinstance(s, If):
                s.body, s.orelse = insert(s.body), insert(s.orelse)
            elif isinstance(s, (For, While)):
                s.body = insert(s.body)
            elif id(s) in guarded:
                line = getattr(s.node, "lineno", "?")
                read = emit.expression_source(s.expr)
                text = (f"{trace.parsed.filename}:{line}: `{s.target} = {read}` is a row of "
                        f"`{s.args[0]}` (a view), and `{s.args[0]}` is stored into while "
                        f"`{s.target}` is read afterwards: the gradient would take the row "
                        f"for the value it had; write `{s.target} = {read}.copy()`")
                call = nodes.call(name, [nodes.name(s.target), nodes.name(s.args[0]),
                                         nodes.const(text)])
                out.append(Effect(nodes.copy_location(nodes.expr_stmt(call), s.node)))
        return out
    trace.body = insert(trace.body)


def check_views(trace):
    """A store into an array changes every view of it (`v = y[1:]`, `y.T`, `y.reshape`):
    refused while such a view is still read after the store, since the backward pass
    would take the view for the value it had when it was made. Run once the numbers are
    known (`trace.scalars`): an element of an array is a view unless it is a number."""
    placed = list(_placed(trace.body))
    views = [(s, i, loops) for i, (s, loops) in enumerate(placed) if _is_view(s, trace)]
    # a second name `z = y` sees a store into y as a view does (the trace rebinds y)
    views += [(s, i, loops) for i, (s, loops) in enumerate(placed)
              if isinstance(s, Assign) and s.kind is Kind.COPY and s.args
              and isinstance(s.args[0], str) and s.target not in trace.scalars
              and s.args[0] not in trace.scalars]
    views.sort(key=lambda v: v[1])
    holders = [(s, i, loops) for i, (s, loops) in enumerate(placed) if _held(s)]
    # (s2sgrad's own code keeps in its containers what the user's code it replays kept)
    own_code = _own_code(trace)
    # rows or numbers, as the shapes decide when the code runs: checked then (a guard)
    rows = [] if own_code else [(s, i, loops) for i, (s, loops) in enumerate(placed)
                                if _maybe_row(s, trace)]
    guards = []
    if not views and not holders and not rows:
        return
    links = [(s.args[0], s.target) for s, _, _ in views] + [
        (s.args[0], s.target) for s, _ in placed
        if isinstance(s, Assign) and s.kind is Kind.COPY and isinstance(s.args[0], str)] + [
        (a, _holder(s)) for s, _, _ in holders for a in _held(s)]
    readers = {}                          # name → positions of the statements reading it
    for k, (r, _) in enumerate(placed):
        for n in _reads_of(r):
            readers.setdefault(n, []).append(k)
    aliases = {}                          # container → itself, its views, views of those…
    loop_of = {id(s): s for s, _ in placed if isinstance(s, (For, While))}
    for j, (st, st_loops) in enumerate(placed):
        if not isinstance(st, SetItem):
            continue
        if st.container not in aliases:
            base = {st.container}
            changed = True
            while changed:
                changed = False
                for a, b in links:
                    if a in base and b not in base:
                        base.add(b)
                        changed = True
            aliases[st.container] = base
        base = aliases[st.container]
        # the container made anew earlier in the same loop step (`y = np.zeros(n)` at the
        # step's top level): names bound before that, or after the store, hold the
        # objects of other steps, which this store does not change
        start = None
        if st_loops:
            step = loop_of[st_loops[-1]].body
            made = [p for p, (d, dl) in enumerate(placed) if p < j and tuple(dl) == tuple(
                st_loops) and isinstance(d, Assign) and d.target == st.container
                and _is_fresh(d) and any(d is t for t in step)]
            start = made[-1] if made else None
        for v, i, v_loops in views:
            if v.target not in base or v.target == st.container:
                continue
            if start is not None and not start <= i < j:
                continue
            for k in readers.get(v.target, ()):
                r_loops = placed[k][1]
                later = i < j < k
                around = set(v_loops) & set(r_loops) & set(st_loops)
                if later or (around and k < i):
                    line = getattr(v.node, "lineno", "?")
                    what = "another name for it" if v.kind is Kind.COPY else "a view of it"
                    raise trace.parsed.error(
                        f"s2sgrad cannot store into `{st.container}` while `{v.target}`, "
                        f"{what} (line {line}), is read after the store", st.node,
                        f"take a copy: `{v.target} = ....copy()`")
        for v, i, v_loops in rows:
            if v.args[0] not in base or any(v is g for g in guards):
                continue
            for k in readers.get(v.target, ()):
                around = set(v_loops) & set(placed[k][1]) & set(st_loops)
                if i < j < k or (around and k < i):
                    guards.append(v)
                    break
        for h, i, h_loops in holders if not own_code else ():
            target = _holder(h)
            held = [a for a in _held(h) if a in base]
            if not held or target == st.container:
                continue
            # a list appended to in a loop keeps the objects of earlier steps: a store
            # in the same loop into an array it appended, not made anew in the loop
            common = set(h_loops) & set(st_loops)
            carried = isinstance(h, Append) and common and not any(
                isinstance(d, Assign) and d.target == st.container and set(dl) >= common
                for d, dl in placed)
            for k in readers.get(target, ()):
                r_loops = placed[k][1]
                if (i < j < k) or (carried and (k > j or set(r_loops) & common)) \
                        or (set(h_loops) & set(r_loops) & set(st_loops) and k < i):
                    line = getattr(h.node, "lineno", "?")
                    raise trace.parsed.error(
                        f"s2sgrad cannot store into `{st.container}` while `{target}`, "
                        f"which holds it (line {line}), is read after the store (Python's "
                        f"`{target}` sees the change)", st.node,
                        f"put a copy in the container: `{held[0]}.copy()`")
    if guards:
        _guard_rows(trace, guards)


def _held(s):
    """The names whose objects the container `s` makes holds (a list, tuple or dict
    display, `xs.append(v)`), else []."""
    if isinstance(s, Append):
        return [s.value] if isinstance(s.value, str) else []
    if isinstance(s, Assign) and s.kind is Kind.OP and HOLDS_OPERANDS in s.rule.props \
            and READS_CONTAINER not in s.rule.props:
        return [a for a in s.args if isinstance(a, str)]
    return []


def _holder(s):
    return s.container if isinstance(s, Append) else s.target


def check_stores(trace):
    """Stores (`x[i] = v`, `xs.append(v)`) only into containers the function created:
    writing into an argument, or into a view or alias of one, is refused. A binding
    that cannot reach the store (after it, in no loop around both: `m = m.T` once a
    loop has filled `m`) is no matter."""
    placed = list(_placed(trace.body))
    position = {id(s): (k, loops) for k, (s, loops) in enumerate(placed)}
    # (s2sgrad's own code: its backward pass rebinds what the forward pass stored into)
    own_code = _own_code(trace)
    stmts = [s for s, _ in placed]
    defs_of = {}
    for s in stmts:
        if isinstance(s, Assign):
            defs_of.setdefault(s.target, []).append(s)
    readers = {}
    for s in stmts:
        for n in _reads_of(s):
            readers.setdefault(n, []).append(s)
    for s in stmts:
        if not isinstance(s, (SetItem, Append)):
            continue
        c = s.container
        what = "append to" if isinstance(s, Append) else "store into"
        j, store_loops = position[id(s)]
        # (a parameter a loop rebinds keeps its name: `x = x.copy()` in the function's
        # body before the store, outside any branch or loop, makes it the function's own)
        if c in trace.params and not any(
                any(d is t for t in trace.body) and position[id(d)][0] < j
                and (_is_fresh(d) or _takes_over_fresh(d, c, defs_of, readers))
                for d in defs_of.get(c, [])):
            raise trace.parsed.error(
                f"s2sgrad does not {what} the argument `{c}` (the caller's data)", s.node,
                f"work on a copy: `{c} = {c}.copy()` first" if isinstance(s, SetItem)
                else f"build a new list: `{c} = {c} + [value]` or `{c} = list({c})` first")
        for d in defs_of.get(c, []):
            k, def_loops = position[id(d)]
            if k > j and not set(def_loops) & set(store_loops) and not own_code:
                continue
            if not (_is_fresh(d) or _takes_over_fresh(d, c, defs_of, readers)):
                raise trace.parsed.error(
                    f"s2sgrad cannot {what} `{c}`: it may share memory with another value "
                    f"(it was assigned from `{emit_expr(d, trace)}`)", s.node,
                    f"make it a copy: `{c} = ....copy()` or build it with np.zeros/[]")


def check_calls(trace):
    """A call of a function of the user's that changes an argument in place (see
    `frontend.effects`): Python's caller sees the change, generated code's does not (the
    callee works on a copy, or runs as written on data the backward pass reads). Refused
    unless the argument is a new object made in the same loop step (or outside any loop)
    and read by nothing but the call; `p += v` on a number is no change in place."""
    from ..frontend.effects import parameter_writes
    placed = list(_placed(trace.body))
    defs_of, readers = {}, {}
    for s, loops in placed:
        if isinstance(s, Assign):
            defs_of.setdefault(s.target, []).append((s, loops))
        for n in _reads_of(s):
            readers.setdefault(n, []).append(s)
    for s, loops in placed:
        if not (isinstance(s, Assign) and s.kind is Kind.CALL and s.callee is not None):
            continue
        writes = parameter_writes(s.callee)
        if not writes:
            continue
        code = s.callee.__code__
        names = code.co_varnames[:code.co_argcount]
        operands = list(enumerate(s.args)) + [(names.index(k), v) for k, v in
                                               s.kwargs.items() if k in names]
        for i, a in operands:
            if i not in writes or not isinstance(a, str):
                continue
            line, col, what = writes[i]
            if what.startswith("`") and "= ..." in what and a in trace.scalars:
                continue                               # `x += 1` on a number: a new number
            defs = defs_of.get(a, [])
            own = defs and all(_is_fresh(d) and tuple(dl) == tuple(loops) for d, dl in defs) \
                and all(r is s for r in readers.get(a, ()))
            if own:
                continue
            fname = s.callee.__name__
            raise trace.parsed.error(
                f"s2sgrad cannot differentiate this call: {fname}() changes its argument "
                f"`{names[i]}` in place ({what}, line {line}), and the change would not "
                "be seen here as Python sees it", s.node,
                f"make {fname} return the new value and assign it (`{a} = {fname}(...)`, "
                f"with `{names[i]} = {names[i]}.copy()` or `list({names[i]})` at its start), "
                "or pass it a new object that nothing else reads")


def _takes_over_fresh(d, c, defs_of, readers):
    """`c = t` where `t` is always a new object and nothing else reads `t` (the
    `u_new = u * 2.0; u = u_new` that `u = u * 2.0` becomes in a loop): `c` is then the
    only name of that object, as if it had been bound to it directly."""
    if not (d.kind is Kind.COPY and d.args and isinstance(d.args[0], str)):
        return False
    t = d.args[0]
    return t != c and bool(defs_of.get(t)) and all(_is_fresh(e) for e in defs_of[t]) \
        and all(isinstance(r, Assign) and r.kind is Kind.COPY and r.target == c
                for r in readers.get(t, ()))


def emit_expr(s, trace=None):
    """The expression of statement `s` for a message; given the `trace`, as the user
    wrote it: the temporaries of A-normal form (`v1` in `v1.reshape(3)`) put back as the
    expressions they stand for (`(x * 2.0).reshape(3)`), while that stays short."""
    from ..syntax import emit
    if trace is None:
        return emit.expression_source(s.expr)
    written = set(nodes.names_in(trace.parsed.node, nodes.STORE)) | set(trace.params)
    defs_of = {}
    for d, _ in _placed(trace.body):
        if isinstance(d, Assign):
            defs_of.setdefault(d.target, []).append(d)

    def expand(expr, depth):
        mapping = {}
        for n in set(nodes.names_in(expr)):
            ds = defs_of.get(n, [])
            if n not in written and len(ds) == 1 and isinstance(ds[0].expr, gast.expr) \
                    and depth < 8:
                mapping[n] = expand(ds[0].expr, depth + 1)
        return nodes.substitute(expr, mapping) if mapping else expr
    try:
        text = emit.expression_source(expand(s.expr, 0))
    except Exception:                     # (an expression astor cannot print)
        text = None
    return text if text is not None and len(text) <= 100 else emit.expression_source(s.expr)


def _alias_links(placed, containers=frozenset(), passed_on=frozenset()):
    """{name: names that see a change made in place to its memory}: a view, a second
    name and a call's result share memory both ways; a container holding a value (a
    display, an append, a store, the list or tuple an element was read from:
    `containers`) sees its elements change, not the reverse (nor its other elements).
    `a = t` with `t` in `passed_on` (see `_passed_on`) links nothing."""
    links = {}
    held = {}           # container -> the values put in it (displays, appends, stores)
    displays = {}       # container bound once by a display -> its items, in order
    for s, _ in placed:
        if isinstance(s, (SetItem, Append)) and isinstance(s.value, str):
            held.setdefault(s.container, set()).add(s.value)
        elif isinstance(s, Assign) and s.kind is Kind.OP and HOLDS_OPERANDS in s.rule.props:
            held.setdefault(s.target, set()).update(_operands(s))
            if s.rule.name == "display":        # a literal [a, b] or (a, b): in order
                displays[s.target] = None if s.target in displays else list(s.args)

    def link(a, b):
        links.setdefault(a, set()).add(b)
    for s, _ in placed:
        if isinstance(s, Assign) and s.kind is Kind.COPY and s.args and s.args[0] in passed_on:
            continue
        if isinstance(s, (SetItem, Append)) and isinstance(s.value, str):
            link(s.value, s.container)
        elif isinstance(s, Assign) and s.kind is Kind.OP and HOLDS_OPERANDS in s.rule.props:
            for a in _operands(s):
                link(a, s.target)
        elif isinstance(s, Assign) and s.kind is Kind.OP and s.rule.name == "getitem" \
                and s.args and s.args[0] in containers:
            # an element of a list, tuple or dict: the container sees it change, and it
            # is one of the values put in the container (the one a constant index of a
            # display names, else any)
            link(s.target, s.args[0])
            for a in _element_of(s, displays, held, containers):
                link(a, s.target)
                link(s.target, a)
        elif isinstance(s, Assign) and not _is_fresh(s):
            for a in _operands(s):
                link(a, s.target)
                link(s.target, a)
    return links


def _element_of(s, displays, held, containers):
    """The values `s = container[index]` may be: the item a constant index of a literal
    display names, else anything put in the container, or in a container it holds
    (`[a] + xs` holds the elements of xs)."""
    items = displays.get(s.args[0])
    index = getattr(s.expr, "slice", None)
    if items and isinstance(index, gast.Constant) and isinstance(index.value, int) \
            and -len(items) <= index.value < len(items):
        item = items[index.value]
        found = {item} if isinstance(item, str) else set()
    else:
        found = set(held.get(s.args[0], ()))
    todo = [a for a in found if a in containers]
    while todo:
        for a in held.get(todo.pop(), ()):
            if a not in found:
                found.add(a)
                if a in containers:
                    todo.append(a)
    return sorted(found)


def _passed_on(placed):
    """New objects bound once and read once, by a copy `a = t`: `a` taking its next value
    (`v op= e` desugared to `v_new = v op e; v = v_new`, a loop-carried `a = a * v` in
    A-normal form), not a second name for an object anything else sees."""
    reads, bindings = {}, {}
    for s, _ in placed:
        for n in _reads_of(s):
            reads[n] = reads.get(n, 0) + 1
        for d in defs(s):
            bindings[d] = bindings.get(d, 0) + 1
    return {s.target for s, _ in placed if isinstance(s, Assign) and _is_fresh(s)
            and reads.get(s.target) == 1 and bindings.get(s.target) == 1}


def _operands(s):
    """The values a statement's result may be made of (not the names in an index,
    which only say where: `p[start:stop]` is a view of p, not of start)."""
    return [a for a in list(s.args) + list(s.kwargs.values()) if isinstance(a, str)]


def _component(name, links):
    seen, todo = {name}, [name]
    while todo:
        for m in links.get(todo.pop(), ()):
            if m not in seen:
                seen.add(m)
                todo.append(m)
    return seen


def check_in_place(trace, entry=False):
    """`v op= e` on an array or a list changes v's memory, which every alias of v sees
    (a view `v = z[:2]`, a second name `w = z`, a row `for row in B`, a list holding v,
    the caller's argument); the trace rebinds v instead. Refused where that differs:
    an alias of v is read afterwards (or around a loop), or v may be an argument or a
    value from outside the function (an argument of a function another one calls: the
    caller may read it afterwards; the arguments of the function the user called are
    like its locals, the change to the caller's array is not made). A number
    (trace.scalars) is always rebound."""
    if _own_code(trace) or \
            str(trace.parsed.namespace.get("__name__", "")).startswith("s2sgrad."):
        return          # s2sgrad's own code (adjoints, runtime helpers differentiated for
        #                 second derivatives) adds in place only into what it owns
    placed = list(_placed(trace.body))
    updates = [(j, s, loops) for j, (s, loops) in enumerate(placed)
               if isinstance(s, Assign) and s.in_place and s.args
               and isinstance(s.args[0], str) and s.args[0] not in trace.scalars]
    if not updates:
        return
    defined = set(trace.params) | {d for s, _ in placed for d in defs(s)}
    loop_of = {id(s): s for s, _ in placed if isinstance(s, (For, While))}
    passed_on = _passed_on(placed)
    rebound = _rebound_params(trace, placed)
    readers = {}
    for k, (r, _) in enumerate(placed):
        for n in _reads_of(r):
            readers.setdefault(n, []).append(k)
    items = _number_items(trace, placed)
    for j, s, loops in updates:
        old = s.args[0]
        op = _AUG_SYMBOL.get(type(getattr(s.expr, "op", None)), "+")
        # aliases made after the update see the new value in Python too; in a loop
        # around the update, a later statement also runs before it (next iteration)
        before = [(r, rl) for k, (r, rl) in enumerate(placed)
                  if k < j or set(rl) & set(loops)]
        step = loop_of.get(loops[-1]).body if loops else ()
        fresh = [k for k, (r, rl) in enumerate(placed) if k < j and tuple(rl) == tuple(loops)
                 and isinstance(r, Assign) and r.target == old and _is_fresh(r)
                 and any(r is st for st in step)]      # (run every step, not in a branch)
        if loops and fresh:
            # `old` is made anew earlier in the same step (`f = X[i].dot(W); f -= ...`):
            # what earlier steps made from it holds other objects
            before = [(r, rl) for k, (r, rl) in enumerate(placed) if fresh[-1] <= k < j]
        links = _alias_links(before, trace.maybe_container, passed_on)
        for a in sorted(_component(old, links) - {s.target}):
            outside = (a in trace.params and not entry and rebound.get(a, j) >= j) \
                or a not in defined
            if outside and a not in trace.scalars:
                what = "the argument" if a in trace.params else "the outside value"
                raise trace.parsed.error(
                    f"`{old} {op}= ...` changes `{old}` in place, and it may share memory "
                    f"with {what} `{a}` (the caller would see the change)", s.node,
                    f"make a new value: `{old} = {old} {op} ...` (or copy first: "
                    f"`{old} = {old}.copy()`)")
            if a == old or a in items:
                continue
            for k in readers.get(a, ()):
                around = set(loops) & set(placed[k][1])
                if k > j or around:
                    line = getattr(placed[k][0].node, "lineno", "?")
                    raise trace.parsed.error(
                        f"`{old} {op}= ...` changes `{old}` in place, and `{a}`, which may "
                        f"share its memory (a view, an alias or a container holding it), "
                        f"is read afterwards (line {line})", s.node,
                        f"write `{old} = {old} {op} ...` for a new value, or store into "
                        f"the array itself (`z[:2] *= 3.0` or `z[:2] = z[:2] * 3.0`)")


def _number_items(trace, placed):
    """The numbers read out of an array at integer positions (`acc[0]` of a vector, a
    NumPy scalar: a copy, which no change to the array reaches), bound only so."""
    out = {}
    for s, _ in placed:
        for d in defs(s):
            whole = isinstance(s, Assign) and s.kind is Kind.OP and s.rule.name == "getitem" \
                and d in trace.scalars and _integer_index(getattr(s.expr, "slice", None))
            out[d] = out.get(d, True) and whole
    return {d for d, ok in out.items() if ok}


def _integer_index(index):
    """Is `index` integers alone (names or literals, no slice, None or Ellipsis)?"""
    parts = index.elts if isinstance(index, gast.Tuple) else [index]
    return index is not None and all(
        isinstance(p, gast.Name) or isinstance(p, gast.Constant) and type(p.value) is int
        or isinstance(p, gast.UnaryOp) and isinstance(p.operand, gast.Constant)
        and type(p.operand.value) is int for p in parts)


def check_item_updates(trace):
    """`c[i] op= e` with `c` a list, tuple or dict of arrays changes the array in place
    (`c[i].__iadd__(e)`); the trace puts a new array in the slot. Refused where another
    name or slot may hold the same array and be read afterwards: `[z] * n`, `[y, y]`,
    `xs.append(y)` in a loop where `y` is not made anew, `y` read after the update."""
    if _own_code(trace):
        return
    placed = list(_placed(trace.body))
    updates = [(j, s, loops) for j, (s, loops) in enumerate(placed)
               if isinstance(s, Assign) and s.item_update and s.args
               and isinstance(s.args[0], str) and s.args[0] not in trace.scalars]
    if not updates:
        return
    defs_of = {}
    for k, (s, loops) in enumerate(placed):
        if isinstance(s, Assign):
            defs_of.setdefault(s.target, []).append((k, s, loops))
    readers = {}
    for k, (r, _) in enumerate(placed):
        for n in _reads_of(r):
            readers.setdefault(n, []).append(k)
    for j, s, loops in updates:
        got = [d for _, d, _ in defs_of.get(s.args[0], ())
               if d.kind is Kind.OP and d.rule.name == "getitem" and d.args
               and isinstance(d.args[0], str)]
        if not got or got[0].args[0] not in trace.maybe_container:
            continue
        c = got[0].args[0]
        why = _shared_item(trace, c, j, loops, placed, defs_of, readers)
        if why:
            raise trace.parsed.error(
                f"`{emit_expr(got[0], trace)} {_AUG_SYMBOL.get(type(s.expr.op), '+')}= ...` "
                f"changes that array in place, and {why}: Python would see the change "
                "there too", s.node,
                f"write the new value into the slot: `{emit_expr(got[0], trace)} = "
                f"{emit_expr(got[0], trace)} {_AUG_SYMBOL.get(type(s.expr.op), '+')} ...`, or put "
                "a separate array in each slot (`[np.zeros(n) for _ in range(k)]`, "
                "`y.copy()`)")


def _shared_item(trace, c, j, loops, placed, defs_of, readers):
    """Why an array held by the container `c` may also be held elsewhere, or None."""
    held = []                             # (name, position of the statement holding it)
    for k, d, dl in defs_of.get(c, ()):
        if d.kind in (Kind.CONST, Kind.COPY) or c in trace.params:
            continue
        if d.kind is Kind.OP and d.rule.name == "repeat":
            return f"`{c}` repeats its items (`[a] * n` holds the same array n times)"
        if d.kind is Kind.OP and HOLDS_OPERANDS in d.rule.props \
                and READS_CONTAINER not in d.rule.props:
            held += [(a, k) for a in d.args if isinstance(a, str)]
    for k, (st, sl) in enumerate(placed):
        if isinstance(st, Append) and st.container == c and isinstance(st.value, str):
            made = [dl for _, _, dl in defs_of.get(st.value, ())]
            if sl and (not made or any(not set(sl) <= set(dl) for dl in made)):
                return (f"`{c}.append({st.value})` may append the same array more than "
                        "once (it is not made anew in the loop)")
            held.append((st.value, k))
        elif isinstance(st, SetItem) and st.container == c and isinstance(st.value, str):
            held.append((st.value, k))
    names = [h for h, _ in held if h not in trace.scalars]
    for h in set(names):
        if names.count(h) > 1:
            return f"`{c}` holds `{h}` more than once"
        holders = {k for n, k in held if n == h}
        for k in readers.get(h, ()):
            if k not in holders and (k > j or set(placed[k][1]) & set(loops)):
                line = getattr(placed[k][0].node, "lineno", "?")
                return f"`{h}`, held by `{c}`, is read afterwards (line {line})"
    return None


def _rebound_params(trace, placed):
    """{parameter: position of its first top-level rebinding to a new value}: from
    there on the name no longer holds the caller's object (`x = float(x)`)."""
    top = {id(s) for s in trace.body}
    out = {}
    for k, (s, _) in enumerate(placed):
        if id(s) in top and isinstance(s, Assign) and s.target in trace.params \
                and s.target not in out and not s.in_place and _is_fresh(s):
            out[s.target] = k
    return out


_AUG_SYMBOL = {gast.Add: "+", gast.Sub: "-", gast.Mult: "*", gast.Div: "/", gast.Pow: "**",
               gast.Mod: "%", gast.MatMult: "@", gast.FloorDiv: "//"}
