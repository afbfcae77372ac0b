"""Facts about generated statements that several optimizer passes share: which names a
statement reads and writes, how often a name is read, whether an expression is pure, what a
statement does besides binding its targets. Each is a query; none changes code.
"""
import gast

from ..syntax import nodes


def is_comment(st):
    return isinstance(st, gast.Expr) and isinstance(st.value, gast.Constant) \
        and isinstance(st.value.value, str) and st.value.value.startswith(nodes.COMMENT_MARK)


def stack_op(st, method):
    """The stack name of `saved_x.append(v)` (method "append") or `x = saved_x.pop()`."""
    call = st.value if isinstance(st, (gast.Expr, gast.Assign)) else None
    if not (isinstance(call, gast.Call) and isinstance(call.func, gast.Attribute)
            and call.func.attr == method and isinstance(call.func.value, gast.Name)):
        return None
    if method == "append" and isinstance(st, gast.Expr) and len(call.args) == 1:
        return call.func.value.id
    if method == "pop" and isinstance(st, gast.Assign) and not call.args \
            and len(st.targets) == 1 and isinstance(st.targets[0], gast.Name):
        return call.func.value.id
    return None


def tape_op(st, kind):
    """The tape name of `saved_x[i] = v` (kind "write") or `x = saved_x[i]`, `a, b =
    saved[i]` (kind "read"): the preallocated form of a loop's stack (`saves`)."""
    if not (isinstance(st, gast.Assign) and len(st.targets) == 1):
        return None
    t, v = st.targets[0], st.value
    sub = t if kind == "write" else v
    if isinstance(sub, gast.Subscript) and isinstance(sub.value, gast.Name) \
            and sub.value.id.startswith("saved") and isinstance(sub.slice, gast.Name) \
            and (kind == "write" or isinstance(t, (gast.Name, gast.Tuple))):
        return sub.value.id
    return None


def is_tape_init(st):
    """`saved = [None] * n`, the making of a tape."""
    return isinstance(st, gast.Assign) and len(st.targets) == 1 \
        and isinstance(st.targets[0], gast.Name) and isinstance(st.value, gast.BinOp) \
        and isinstance(st.value.op, gast.Mult) and isinstance(st.value.left, gast.List) \
        and len(st.value.left.elts) == 1 and isinstance(st.value.left.elts[0], gast.Constant) \
        and st.value.left.elts[0].value is None


def stores(stmt):
    """Names `stmt` binds."""
    return nodes.name_sets(stmt)[1]


def stores_all(stmts):
    """Names the statements bind, in nested blocks too (the stores of a compound
    statement are those of its whole subtree)."""
    out = set()
    for x in stmts:
        out |= stores(x)
    return out


def changed(stmts):
    """The names the statements bind or change in place (`x[i] = ...`, `x[i] += ...`,
    `restore_item(x, ...)`, `xs.append(v)`: `changed_in_place`)."""
    out = set()
    for st in stmts:
        out |= stores(st) | changed_in_place(st)
    return out


def changed_in_place(st):
    """Names whose value `st` changes without binding them: stores into them (`x[i] = v`,
    `x[i] += v`, `x.a = v`), the generated code's `restore_item(x, ...)` and in-place
    `add_at(g, ..., True)`, and the receivers of method calls (`xs.append(v)`; a NumPy
    module's functions excepted)."""
    out = set()
    for n in nodes.walk(st):
        if n.__class__ in (gast.Subscript, gast.Attribute) \
                and n.ctx.__class__ in (gast.Store, gast.Del):
            base = n.value
            while base.__class__ in (gast.Subscript, gast.Attribute):
                base = base.value
            if base.__class__ is gast.Name:
                out.add(base.id)
        elif n.__class__ is gast.Call:
            f = n.func
            if f.__class__ is gast.Name and n.args and n.args[0].__class__ is gast.Name and (
                    f.id == "restore_item" or f.id == "add_at" and len(n.args) == 5
                    and not (n.args[4].__class__ is gast.Constant
                             and n.args[4].value is False)):
                out.add(n.args[0].id)
            elif f.__class__ is gast.Attribute and f.value.__class__ is gast.Name \
                    and f.value.id not in _PURE_MODULES:
                out.add(f.value.id)
    return out


def loads(node):
    return nodes.name_sets(node)[0]


def called_names(body):
    """The names called as functions (`add_at(...)`, not `np.sum(...)`) anywhere in
    `body`: one walk that lets a pass with nothing to rewrite return at once."""
    return {n.func.id for st in body for n in nodes.walk(st)
            if n.__class__ is gast.Call and n.func.__class__ is gast.Name}


def is_zero(node):
    return isinstance(node, gast.Constant) and type(node.value) in (int, float) \
        and node.value == 0


def name_counts(tree):
    """({name: times read}, {name: times bound}) in `tree`."""
    reads, binds = {}, {}
    load = gast.Load
    for n in nodes.name_nodes(tree):
        table = reads if n.ctx.__class__ is load else binds
        table[n.id] = table.get(n.id, 0) + 1
    return reads, binds


def zeros_after(zero, st, touched=None):
    """The names bound to the number 0 and neither read nor bound again since, after
    `st`, given those before it (`zero`): the adjoints a later pass may still give
    their first value (a loop's accumulator, an array made in its place). A compound
    statement kills what any statement in it reads or binds. first_write's `_zeros`
    is another fact: a read keeps a name 0.0 there. `touched`: the names `st` reads
    or binds, where the caller has them."""
    zero = zero - (touched if touched is not None else stores(st) | loads(st))
    t = single_target(st)
    if t is not None and is_zero(st.value):
        zero.add(t)
    return zero


def single_target(st):
    if isinstance(st, gast.Assign) and len(st.targets) == 1 \
            and isinstance(st.targets[0], gast.Name):
        return st.targets[0].id
    return None


_PURE_MODULES = ("np", "math", "numpy")


def _mentions(attr, name):
    while isinstance(attr, gast.Attribute):
        if attr.attr == name:
            return True
        attr = attr.value
    return False


def pure(expr):
    """Can `expr` be dropped when its value is unused: operators, subscripts, attributes
    and calls of NumPy/math functions (not random numbers), nothing that has an effect."""
    for n in nodes.walk(expr):
        if isinstance(n, gast.Call):
            f, root = n.func, n.func
            while isinstance(root, gast.Attribute):
                root = root.value
            if not (isinstance(f, gast.Attribute) and isinstance(root, gast.Name)
                    and root.id in _PURE_MODULES and not _mentions(f, "random")):
                return False
        elif isinstance(n, (gast.Lambda, gast.NamedExpr, gast.Yield, gast.Await)):
            return False
    return True


def effects(st):
    """Names whose value `st` may change: what it binds, the array it stores into
    (`x_bar[1:] += w`), and what a call other than a NumPy/math function may write into
    (`add_at(g, ..., True)`, `restore_item(x, ...)`)."""
    out = set()
    for n in nodes.walk(st):
        if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store):
            out.add(n.id)
        elif isinstance(n, (gast.Subscript, gast.Attribute)) \
                and isinstance(n.ctx, (gast.Store, gast.Del)):
            base = n.value
            while isinstance(base, (gast.Subscript, gast.Attribute)):
                base = base.value
            if isinstance(base, gast.Name):
                out.add(base.id)
        elif isinstance(n, gast.Call) and not (isinstance(n.func, gast.Attribute)
                                               and pure(n)):
            out |= loads(n)
    return out


def unchanged(stmts, d, k, names):
    """Does nothing strictly between statements d and k change `names`?"""
    for st in stmts[d + 1:k]:
        if isinstance(st, (gast.If, gast.For, gast.While)) or effects(st) & names:
            return False
    return True


def removable_forward(st):
    """The name a pure single-target assignment binds, else None."""
    if isinstance(st, gast.Assign) and len(st.targets) == 1 \
            and isinstance(st.targets[0], gast.Name) and pure(st.value):
        return st.targets[0].id
    return None


def blocks(stmts):
    """`stmts` and every statement list nested in them, at any depth (the bodies and
    `else` blocks of branches and loops)."""
    yield stmts
    for st in stmts:
        if isinstance(st, (gast.If, gast.For, gast.While)):
            yield from blocks(st.body)
            yield from blocks(st.orelse)


def sum_options(node):
    """(operand, axis, keepdims) of `np.sum(x, axis=a, keepdims=k)` (the axis perhaps
    in place, keepdims perhaps left out: a constant False), the axis given and no other
    option, keepdims a constant bool; else None."""
    if not (isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute)
            and node.func.attr == "sum" and nodes.is_name(node.func.value, "np")
            and 1 <= len(node.args) <= 2):
        return None
    options = {k.arg: k.value for k in node.keywords}
    if len(node.args) == 2:
        if "axis" in options:
            return None
        options["axis"] = node.args[1]
    keep = options.get("keepdims", nodes.const(False))
    if set(options) - {"axis", "keepdims"} or "axis" not in options \
            or not (isinstance(keep, gast.Constant) and type(keep.value) is bool):
        return None
    return node.args[0], options["axis"], keep
