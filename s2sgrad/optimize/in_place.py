"""In-place accumulation: `x_bar = x_bar + g` becomes `x_bar += g` where the adjoint is
provably unshared (no other name holds the same array), across loop iterations too
(serves sums of adjoints over loop steps and array adjoints added to many times)."""
import gast

from ..syntax import nodes
from ..syntax.nodes import flat
from .facts import is_zero, loads, stores, stores_all


def _add_at_target(st):
    """`g = add_at(g, x, index, v)` → g (the adjoint updated), else None."""
    if isinstance(st, gast.Assign) and isinstance(st.targets[0], gast.Name) \
            and isinstance(st.value, gast.Call) and nodes.is_name(st.value.func, "add_at") \
            and len(st.value.args) == 4:
        first = st.value.args[0]
        name = st.targets[0].id
        if nodes.is_name(first, name) or is_zero(first):
            return name
    return None


def _other_loads(st, name):
    """Does `st` read `name` other than as the first argument of its own add_at?"""
    target = _add_at_target(st)
    if target == name:
        return any(name in loads(a) for a in st.value.args[1:])
    return name in loads(st)


def accumulate_in_place(body, owned=None):
    """`g = add_at(g, x, i, v)` copies g so that no other holder of g sees the change.
    Where g is provably held by nobody else (it was made by `add_at` and has not been
    read since), the update is done in place: `g = add_at(g, x, i, v, True)`."""
    owned = set() if owned is None else owned
    out = []
    for st in body:
        if isinstance(st, (gast.For, gast.While)):
            # inside a loop: names touched only by their own add_at updates stay owned
            candidates = {n for n in owned | _add_at_names(st.body)
                          if all(not _other_loads(x, n) for x in flat(st.body))
                          and _only_add_at_stores(st.body, n)}
            entry = (owned | {n for n in candidates if _starts_fresh(out, n)}) & candidates
            _in_place_loop(st.body, entry)
            sums = {n for n in _sum_names(st.body) if _starts_fresh(out, n)}
            _add_in_place(st.body, sums)
            owned = (owned - stores_all(st.body)) | entry
            out.append(st)
            continue
        if isinstance(st, gast.If):
            accumulate_in_place(st.body, set(owned))
            accumulate_in_place(st.orelse, set(owned))
            owned -= stores_all([st])
            out.append(st)
            continue
        target = _add_at_target(st)
        if target is not None:
            if target in owned and len(st.value.args) == 4:
                st.value.args.append(nodes.const(True))
            owned.discard(target)
            for n in list(owned):
                if _other_loads(st, n):
                    owned.discard(n)
            owned.add(target)            # add_at returns an array nobody else holds
            out.append(st)
            continue
        for n in list(owned):
            if _other_loads(st, n) or n in stores(st):
                owned.discard(n)
        out.append(st)
    return body


def _sum_names(stmts):
    """Adjoints that a loop body only adds to (`g = g + e`, `g = g - e`, e not reading
    g) and reads nowhere else: each step's sum is one nobody else holds."""
    found, other = set(), set()
    for x in flat(stmts):
        acc = _plain_sum(x)
        mentioned = loads(x) | stores(x)
        if acc is not None:
            found.add(acc)
            other |= mentioned - {acc}
        else:
            other |= mentioned
    return found - other


def _plain_sum(st):
    if isinstance(st, gast.Assign) and len(st.targets) == 1 \
            and isinstance(st.targets[0], gast.Name) and isinstance(st.value, gast.BinOp) \
            and isinstance(st.value.op, (gast.Add, gast.Sub)) \
            and nodes.is_name(st.value.left, st.targets[0].id) \
            and st.targets[0].id not in loads(st.value.right):
        return st.targets[0].id
    return None


def _add_in_place(stmts, names):
    """`g = g + e` → `g += e` for `names`: the first step adds to 0.0 (a new value),
    the later ones to the array that step made. Every term has g's shape (or is a
    number), so the in-place sum is the same array as the new one."""
    for block in _blocks(stmts):
        for k, x in enumerate(block):
            if _plain_sum(x) in names:
                block[k] = nodes.copy_location(gast.AugAssign(
                    target=nodes.name(x.targets[0].id, store=True), op=x.value.op,
                    value=x.value.right), x)


def _blocks(stmts):
    yield stmts
    for st in stmts:
        if isinstance(st, gast.If):
            yield from _blocks(st.body)
            yield from _blocks(st.orelse)
        elif isinstance(st, (gast.For, gast.While)):
            yield from _blocks(st.body)


def _add_at_names(stmts):
    return {n for n in (_add_at_target(x) for x in flat(stmts)) if n}


def _only_add_at_stores(stmts, name):
    for x in flat(stmts):
        if name in stores(x) and _add_at_target(x) != name:
            return False
    return True


def _starts_fresh(before, name):
    """Is `name` 0.0 (or unset) at this point of the straight-line code `before`?"""
    for st in reversed(before):
        if name in stores(st):
            return isinstance(st, gast.Assign) and is_zero(st.value)
        if not isinstance(st, gast.Expr) and not isinstance(st, gast.Assign):
            return False
    return False


def _in_place_loop(stmts, owned):
    for x in flat(stmts):
        target = _add_at_target(x)
        if target in owned and len(x.value.args) == 4 and nodes.is_name(
                x.value.args[0], target):
            x.value.args.append(nodes.const(True))
