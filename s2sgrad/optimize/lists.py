"""List adjoints as lists: where `x` is known to hold a list of numbers (a parameter the
call gave as one, or a list built from numbers and never changed, `Trace.number_lists`)
and its adjoint only ever receives items by integer index, the adjoint is a list of
floats written as a person would:

    x_bar = 0.0                                   x_bar = [0.0] * len(x)
    for i in reversed(range(n)):            →     for i in reversed(range(n)):
        xi_bar = g * w[i]                             x_bar[i] += g * w[i]
        x_bar = add_at(x_bar, x, i, xi_bar, True)

Serves every function that reads lists of numbers by index in loops (the `zip` and
`enumerate` loops of plain Python code are index loops by then). The adjoint must be
made by that zero and changed only by those additions, read by nothing else before
the last of them (nobody else holds the list while it changes), and `x` bound only
before the zero (one list, one length).
"""
import gast

from ..syntax import nodes
from .facts import is_zero, loads, name_counts, single_target, stores, unchanged


def _addition(st, numbers):
    """(adjoint, list, index, value) of `x_bar = add_at(x_bar, x, i, v, True)` with an
    integer index, else None."""
    t = single_target(st)
    call = st.value if t is not None else None
    if not (isinstance(call, gast.Call) and nodes.is_name(call.func, "add_at")
            and not call.keywords and len(call.args) == 5):
        return None
    g, x, index, v, in_place = call.args
    if not (nodes.is_name(g, t) and isinstance(x, gast.Name)
            and isinstance(in_place, gast.Constant) and in_place.value is True):
        return None
    if not (isinstance(index, gast.Constant) and type(index.value) is int
            or isinstance(index, gast.Name) and index.id in numbers):
        return None
    return t, x.id, index, v


def list_adjoints(body, number_lists, numbers):
    """The rewrite above, over a function's body (top-level zeros, additions anywhere)."""
    if not number_lists:
        return body
    changed = False
    additions = {}                       # adjoint -> [(statement, list name)]
    for st in nodes.flat(body):
        found = _addition(st, numbers)
        if found is not None:
            additions.setdefault(found[0], []).append((st, found[1]))
    for g, sites in additions.items():
        x = sites[0][1]
        if x not in number_lists or any(s[1] != x for s in sites):
            continue
        plan = _plan(body, g, x, {id(s[0]) for s in sites})
        if plan is not None:
            body = _rewrite(body, g, x, plan, {id(s[0]) for s in sites}, numbers)
            changed = True
    return _fold_terms(body) if changed else body


def _fold_terms(body):
    """`wi_bar = g * xi` ... `w_bar[i] += wi_bar` → `w_bar[i] += g * xi` where the term
    is read once, by that addition, later in the same block, and nothing in between
    changes what it reads (the same operations in the same order)."""
    reads, binds = name_counts(gast.Module(body=body, type_ignores=[]))

    def fold(stmts):
        out, gone = list(stmts), set()
        for k, st in enumerate(out):
            if isinstance(st, (gast.If, gast.For, gast.While)):
                st.body = fold(st.body)
                st.orelse = fold(st.orelse)
                continue
            if not (isinstance(st, gast.AugAssign) and isinstance(st.target, gast.Subscript)
                    and isinstance(st.value, gast.Name)):
                continue
            t = st.value.id
            if not t.endswith("_bar") or reads.get(t) != 1 or binds.get(t) != 1:
                continue
            where = [d for d in range(k) if single_target(out[d]) == t]
            if where and id(out[where[0]]) not in gone \
                    and unchanged(out, where[0], k, loads(out[where[0]].value)):
                st.value = out[where[0]].value
                gone.add(id(out[where[0]]))
        return [st for st in out if id(st) not in gone]
    return fold(body)


def _plan(body, g, x, sites):
    """The index of the top-level `g = 0.0` that starts the list, if the conditions of
    the module docstring hold; else None."""
    holding = [k for k, st in enumerate(body) if any(id(s) in sites for s in nodes.flat([st]))]
    zeros = [k for k, st in enumerate(body[:holding[0]])
             if single_target(st) == g and is_zero(st.value)]
    if not zeros:
        return None
    zero, last = zeros[-1], holding[-1]
    for st in body[zero + 1:last + 1]:
        for s in nodes.flat([st]):
            if id(s) in sites:
                continue
            own = _own(s)
            if g in own[0] or x in own[0] or g in own[1]:
                return None              # changed some other way, x rebound, or read
    return zero


def _own(st):
    """(names bound, names read) by a statement itself (a block: its head only)."""
    if isinstance(st, gast.For):
        return stores(st.target), loads(st.iter)
    if isinstance(st, (gast.While, gast.If)):
        return set(), loads(st.test)
    return stores(st), loads(st)


def _rewrite(body, g, x, zero, sites, numbers):
    body = list(body)
    body[zero] = nodes.copy_location(nodes.assign(g, gast.BinOp(
        left=nodes.list_([nodes.const(0.0)]), op=gast.Mult(),
        right=nodes.call("len", [nodes.name(x)]))), body[zero])

    def fix(stmts):
        out = []
        for st in stmts:
            if id(st) in sites:
                _, _, index, v = _addition(st, numbers)
                out.append(nodes.copy_location(gast.AugAssign(
                    target=nodes.subscript(nodes.name(g), index, store=True),
                    op=gast.Add(), value=v), st))
                continue
            if isinstance(st, (gast.If, gast.For, gast.While)):
                st.body = fix(st.body)
                st.orelse = fix(st.orelse)
            out.append(st)
        return out
    return fix(body)
