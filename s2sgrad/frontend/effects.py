"""Which parameters a function of the user's changes in place, read from its source.

Python passes objects, not values: `def zero_ends(u): u[0] = 0.0; u[-1] = 0.0` changes the
caller's array, and the caller sees the change after the call. s2sgrad's generated code
does not: a function that stores into an argument works on a copy (the caller's data is
never changed), and a function called without gradient runs as written. Either way the
caller's later reads would see other values than Python's, so `ir.analyses.check_calls`
refuses such a call unless the argument is a new object nothing else reads.

`parameter_writes(func)` → {parameter position: (line, column, what)} for
- stores through a parameter: `p[i] = v`, `p[i] += v`, `p.attr = v`, `p[i][j] = v`;
- methods that change their object: `p.append(v)`, `p.extend`, `p.insert`, `p.pop`,
  `p.remove`, `p.clear`, `p.sort`, `p.reverse`, `p.update`, `p.setdefault`,
  `p.popitem`, `p.fill`, `p.resize`, `p.put`, `p.itemset`, `p.partition`, `p.setflags`;
- `p += v` (and the other `op=`), in place for arrays and lists;
- NumPy functions that write into an argument: `out=p`, `np.copyto(p, ...)`,
  `np.put(p, ...)`, `np.place`, `np.putmask`, `np.fill_diagonal`, `ufunc.at(p, ...)`,
  a random generator's `shuffle(p)`;
- a call of another function of the user's that changes the parameter passed to it.
A parameter rebound before the write (`p = p.copy()`, `p = list(p)`) is the function's own
object from there on: later writes do not count (a rebinding under a branch or in a loop
is not followed; the writes count).
"""
import builtins
import types

import gast

_MUTATING_METHODS = frozenset((
    "append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse", "update",
    "setdefault", "popitem", "fill", "resize", "put", "itemset", "partition", "setflags"))
_WRITING_FUNCTIONS = frozenset(("copyto", "put", "place", "putmask", "fill_diagonal",
                                "shuffle"))

_CACHE = {}


def parameter_writes(func):
    """{position: (line, column, what)} of the parameters `func` changes in place."""
    code = getattr(func, "__code__", None)
    if code is None:
        return {}
    hit = _CACHE.get(code)
    if hit is None:
        _CACHE[code] = {}                      # (a recursive call reads this meanwhile)
        hit = _CACHE[code] = _writes(func)
    return hit


def _writes(func):
    from .parse import parse_function
    from ..errors import S2SGradError
    try:
        node = parse_function(func).node
    except S2SGradError:
        return {}
    params = [a.id for a in node.args.args]
    found = {}
    live = set(params)          # parameters still naming the caller's objects

    def note(name, at, what):
        if name in live and name not in found:
            found[name] = (getattr(at, "lineno", None), getattr(at, "col_offset", None),
                           what)

    def base_name(t):
        while isinstance(t, (gast.Subscript, gast.Attribute)):
            t = t.value
        return t.id if isinstance(t, gast.Name) else None

    def visit_expr(e):
        for n in _walk(e):
            if not isinstance(n, gast.Call):
                continue
            f = n.func
            if isinstance(f, gast.Attribute) and f.attr in _MUTATING_METHODS:
                owner = base_name(f.value)
                if owner is not None and not _is_module(func, f.value):
                    note(owner, n, f"`{owner}.{f.attr}(...)`")
            name = f.attr if isinstance(f, gast.Attribute) else \
                f.id if isinstance(f, gast.Name) else None
            if name in _WRITING_FUNCTIONS or name == "at":
                if n.args and isinstance(n.args[0], gast.Name):
                    note(n.args[0].id, n, f"`{name}({n.args[0].id}, ...)`")
            for kw in n.keywords:
                if kw.arg == "out":
                    for o in _walk(kw.value):
                        if isinstance(o, gast.Name):
                            note(o.id, n, f"`out={o.id}`")
            callee = _user_function(func, f)
            if callee is not None:
                inner = parameter_writes(callee)
                for i, a in enumerate(n.args):
                    if i in inner and isinstance(a, gast.Name):
                        line = inner[i][0]
                        note(a.id, n, f"the call of {callee.__name__}, which changes its "
                                      f"argument (line {line})")

    def visit(block, top):
        for st in block:
            if isinstance(st, (gast.FunctionDef, gast.ClassDef)):
                continue
            if isinstance(st, (gast.Assign, gast.AugAssign, gast.AnnAssign)):
                targets = st.targets if isinstance(st, gast.Assign) else [st.target]
                value = st.value
                if value is not None:
                    visit_expr(value)
                for t in targets:
                    for sub in _walk(t):
                        if isinstance(sub, (gast.Subscript, gast.Attribute)) \
                                and isinstance(sub.ctx, gast.Store):
                            owner = base_name(sub)
                            if owner is not None:
                                note(owner, st, f"the store into `{owner}`")
                        elif isinstance(sub, (gast.Subscript, gast.Attribute)):
                            visit_expr(sub)
                if isinstance(st, gast.AugAssign) and isinstance(st.target, gast.Name):
                    note(st.target.id, st, f"`{st.target.id} {_op(st.op)}= ...` (in place "
                                           "for arrays and lists)")
                if top and not isinstance(st, gast.AugAssign):
                    for t in targets:
                        for sub in _walk(t):
                            if isinstance(sub, gast.Name) and isinstance(sub.ctx, gast.Store):
                                live.discard(sub.id)      # its own object from here on
                continue
            for field in ("test", "iter", "value", "exc", "msg"):
                e = getattr(st, field, None)
                if isinstance(e, gast.AST):
                    visit_expr(e)
            if isinstance(st, gast.Expr):
                continue
            for field in ("body", "orelse", "finalbody"):
                inner = getattr(st, field, None)
                if isinstance(inner, list):
                    visit(inner, False)
    visit(node.body, True)
    return {params.index(p): where for p, where in found.items()}


def _walk(node):
    """The nodes of `node`, not entering lambdas (their parameters are their own)."""
    todo = [node]
    while todo:
        n = todo.pop()
        yield n
        if isinstance(n, gast.Lambda):
            continue
        todo.extend(gast.iter_child_nodes(n))


def _resolve(func, name):
    closure = {n: c.cell_contents for n, c in zip(func.__code__.co_freevars,
                                                  func.__closure__ or ()) if _filled(c)}
    if name in closure:
        return closure[name]
    if name in func.__globals__:
        return func.__globals__[name]
    return getattr(builtins, name, None)


def _filled(cell):
    try:
        cell.cell_contents
        return True
    except ValueError:
        return False


def _is_module(func, e):
    return isinstance(e, gast.Name) and isinstance(_resolve(func, e.id), types.ModuleType)


def _user_function(func, f):
    """The user's Python function a call's `f` names (a global or closure name), else None."""
    if not isinstance(f, gast.Name):
        return None
    obj = _resolve(func, f.id)
    if isinstance(obj, types.FunctionType):
        module = (obj.__module__ or "").split(".")[0]
        if module not in ("numpy", "scipy", "s2sgrad", "math", "builtins"):
            return obj
    return None


def _op(op):
    return {gast.Add: "+", gast.Sub: "-", gast.Mult: "*", gast.Div: "/", gast.FloorDiv: "//",
            gast.Mod: "%", gast.Pow: "**", gast.MatMult: "@"}.get(type(op), "op")
