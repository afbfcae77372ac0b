"""In-place accumulation: `x_bar = x_bar + g` becomes `x_bar += g` where the adjoint is
provably unshared (no other name holds the same array), across loop iterations too
(serves sums of adjoints over loop steps and array adjoints added to many times).
Likewise a checkpointed call's backward pass is given the caller's adjoint itself to add
to, not a copy (`own_grad(x_bar)` → `x_bar`), where nobody else holds it
(`thread_accumulators`; ad/callees.py says why)."""
import gast

from ..syntax import nodes
from ..syntax.nodes import flat
from .facts import is_zero, loads, name_counts, single_target, stores, stores_all


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


def accumulate_in_place(body, owned=None, entry=()):
    """`g = add_at(g, x, i, v)` copies g so that no other holder of g sees the change.
    Where g is provably held by nobody else (it was made by `add_at` and has not been
    read since), the update is done in place: `g = add_at(g, x, i, v, True)`. Likewise
    `g = g + e` in a loop → `g += e`. `entry`: the adjoints the function is given that
    nobody else holds (a checkpointed callee's accumulators)."""
    owned = set() if owned is None else owned
    out = []
    for st in body:
        if isinstance(st, (gast.For, gast.While)):
            # inside a loop: names touched only by their own add_at updates stay owned
            candidates = {n for n in owned | _add_at_names(st.body)
                          if all(not _other_loads(x, n) for x in flat(st.body))
                          and _only_add_at_stores(st.body, n)}
            start = (owned | {n for n in candidates if _starts_fresh(out, n, entry)}) \
                & candidates
            _in_place_loop(st.body, start)
            sums = {n for n in _sum_names(st.body) if _starts_fresh(out, n, entry)}
            _add_in_place(st.body, sums)
            owned = (owned - stores_all(st.body)) | start
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


def _starts_fresh(before, name, entry=()):
    """Is `name` 0.0 (or unset) at this point of the straight-line code `before`, a value
    an arithmetic operation made and nothing has read since (a new array or number,
    `K_bar = v7_bar * v6`), or the unread accumulator it was given (`entry`)?"""
    read = False
    for st in reversed(before):
        if name in stores(st):
            return isinstance(st, gast.Assign) and (is_zero(st.value) or not read and (
                isinstance(st.value, gast.BinOp) and name not in loads(st.value)))
        if not isinstance(st, gast.Expr) and not isinstance(st, gast.Assign):
            return False
        if name in loads(st):
            entry, read = (), True
    return name in entry


# ------------------------------------------------- accumulators of checkpointed calls
def array_accumulators(fdef, entry):
    """`w_bar = array_grad(w_bar)` first in `fdef` for each accumulator it was given that
    it adds to in place (`w_bar += e`): what it is given may be a caller's list."""
    added = {x.target.id for x in flat(fdef.body) if isinstance(x, gast.AugAssign)
             and isinstance(x.target, gast.Name) and x.target.id in entry}
    if added:
        doc = fdef.body[0]
        first = 1 if isinstance(doc, gast.Expr) and isinstance(doc.value, gast.Constant) \
            and isinstance(doc.value.value, str) else 0
        fdef.body[first:first] = [nodes.assign(n, nodes.call("array_grad", [nodes.name(n)]))
                                  for n in sorted(added)]


def thread_accumulators(body, entry=()):
    """`f_bwd(saved, y_bar, w_bar=own_grad(w_bar))` → `f_bwd(..., w_bar=w_bar)` where
    w_bar is provably held by nobody else at the call: it is 0.0, or an operator made
    it (`w_bar + e`, `2.0 * v_bar * W`), or such a call returned it, and nothing has
    read it since
    (`entry`: the accumulators this function is given). Loops: what holds at the
    start of every step."""
    _owned_through(body, set(entry), True)
    return body


def _owned_through(stmts, owned, rewrite):
    """The names owned after `stmts`, given those owned before; rewrites the calls with
    `rewrite`."""
    owned = set(owned)
    for st in stmts:
        if isinstance(st, gast.If):
            owned -= loads(st.test)
            owned = _owned_through(st.body, owned, rewrite) & \
                _owned_through(st.orelse, owned, rewrite)
        elif isinstance(st, (gast.For, gast.While)):
            owned -= loads(st.iter if isinstance(st, gast.For) else st.test)
            owned -= stores(st.target) if isinstance(st, gast.For) else set()
            start = set(owned)
            while True:
                end = _owned_through(st.body, start, False)
                if start <= end:
                    break
                start &= end
            if rewrite:
                _owned_through(st.body, start, True)
            owned = start - stores_all(st.orelse)
        else:
            owned = _owned_after(st, owned, rewrite)
    return owned


def _own_grad_keywords(st):
    """The keywords `k=own_grad(name)` of the call `st` assigns, as (keyword, name)."""
    if not (isinstance(st, gast.Assign) and isinstance(st.value, (gast.Call, gast.Subscript))):
        return []
    call = st.value.value if isinstance(st.value, gast.Subscript) else st.value
    if not isinstance(call, gast.Call):
        return []
    return [(k, k.value.args[0].id) for k in call.keywords
            if isinstance(k.value, gast.Call) and nodes.is_name(k.value.func, "own_grad")
            and len(k.value.args) == 1 and isinstance(k.value.args[0], gast.Name)]


def _owned_after(st, owned, rewrite):
    owned = set(owned)
    threaded = _own_grad_keywords(st)
    if threaded:
        reads, _ = name_counts(st)
        for k, n in threaded:
            if n in owned and reads.get(n) == 1 and n in stores(st):
                if rewrite:
                    k.value = nodes.name(n)
            else:
                threaded = [t for t in threaded if t[1] != n]
        passed = {n for _, n in threaded}
        return (owned - loads(st) - stores(st)) | passed
    acc = _plain_sum(st)
    if acc is not None:                  # w_bar = w_bar + e: a new value
        return (owned - loads(st.value.right)) | {acc}
    if isinstance(st, gast.AugAssign) and isinstance(st.target, gast.Name):
        return owned - loads(st.value)   # w_bar += e: the same value
    if single_target(st) is not None and (is_zero(st.value) or isinstance(
            st.value, (gast.BinOp, gast.UnaryOp))):
        # 0.0, or what an operator made: a new value (it never returns an operand)
        return (owned - loads(st.value) - stores(st)) | {single_target(st)}
    return owned - loads(st) - stores(st)


def _in_place_loop(stmts, owned):
    for x in flat(stmts):
        target = _add_at_target(x)
        if target in owned and len(x.value.args) == 4 and nodes.is_name(
                x.value.args[0], target):
            x.value.args.append(nodes.const(True))
