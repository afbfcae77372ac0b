"""Dead code: adjoints nobody reads, forward values only the value would need (in
`grad_f`), values needed only for their shape read from elsewhere, the seed of a sum
kept a number, and empty blocks filled with `pass`."""
import gast

from ..syntax import nodes
from .facts import is_comment, loads, removable_forward, stores


def fill_blocks(body):
    """Give `pass` to every block the passes left with comments only (Python needs a
    statement there); an empty `else` stays empty."""
    for st in body:
        if isinstance(st, (gast.If, gast.For, gast.While)):
            fill_blocks(st.body)
            fill_blocks(st.orelse)
            if all(is_comment(s) for s in st.body):
                st.body.append(gast.Pass())
            if st.orelse and all(is_comment(s) for s in st.orelse):
                st.orelse.append(gast.Pass())


def drop_empty_backward_loops(body):
    """Remove the backward loops of `for` loops the passes left with comments only, with
    the comment that names them (`# grad of: for i in range(n)` over `for i in
    reversed(range(n)): pass`): a loop whose steps carry no adjoint (a comprehension of
    keys, of counts) has nothing to run backwards. (That of a `while` loop, `for _ in
    range(count)`, stays: the forward loop counts its steps for it.)"""
    out = []
    for st in body:
        if isinstance(st, (gast.If, gast.For, gast.While)):
            st.body = drop_empty_backward_loops(st.body)
            st.orelse = drop_empty_backward_loops(st.orelse)
        if isinstance(st, gast.For) and getattr(st, "s2s_backward", False) \
                and isinstance(st.iter, gast.Call) and nodes.is_name(st.iter.func, "reversed") \
                and not st.orelse and all(is_comment(s) for s in st.body):
            if out and is_comment(out[-1]) and "grad of: " in out[-1].value.value:
                out.pop()
            continue
        out.append(st)
    return out


def _removable(st):
    if not (isinstance(st, gast.Assign) and isinstance(st.targets[0], gast.Name)):
        return None
    name = st.targets[0].id
    if not name.endswith("_bar"):
        return None
    for n in nodes.walk(st.value):
        if isinstance(n, gast.Attribute) and n.attr in ("pop", "append"):
            return None
    return name


def _live_block(stmts, live_out, remove, memo=None):
    """Backward liveness over a block; with `remove`, drop dead adjoint assignments.
    Returns (new statements, live-in set). `memo`: {id(statement): (statement, what
    it reads, what it kills, the adjoint it may drop)}, kept across the fixed-point
    rounds of loops (the statements themselves do not change during the run)."""
    memo = {} if memo is None else memo
    live = set(live_out)
    out = []
    for st in reversed(stmts):
        if isinstance(st, gast.If):
            body, lb = _live_block(st.body, live, remove, memo)
            orelse, lo = _live_block(st.orelse, live, remove, memo)
            if remove:
                st.body = body or [gast.Pass()]
                st.orelse = orelse
            live = lb | lo | loads(st.test)
            out.append(st)
            continue
        if isinstance(st, (gast.For, gast.While)):
            head = loads(st.iter) if isinstance(st, gast.For) else loads(st.test)
            entry = set(live)
            while True:
                _, inner = _live_block(st.body, entry | live, False, memo)
                new = entry | inner
                if new == entry:
                    break
                entry = new
            if remove:
                body, _ = _live_block(st.body, entry | live, True, memo)
                st.body = body or [gast.Pass()]
            live = entry | live | head
            out.append(st)
            continue
        known = memo.get(id(st))
        if known is None:
            reads, binds = nodes.name_sets(st)
            kills = binds if isinstance(st, gast.Assign) and not isinstance(
                st.targets[0], gast.Subscript) else set()
            known = memo[id(st)] = (st, reads, kills, _removable(st))
        _, reads, kills, name = known
        if name is not None and name not in live:
            if not remove:
                out.append(st)
            continue
        live -= kills
        live |= reads
        out.append(st)
    return list(reversed(out)), live


def uniform_seeds(body, ok):
    """`v_bar = unreduce(s_bar, v, None, False)` (the adjoint of a full sum: s̄ in every
    entry), or `v_bar = v_bar + unreduce(...)` in a loop step, → `s_bar` in its place
    where `ok(v)`: the number stands for the uniform array, and every operation it meets
    broadcasts it (see `trace.uniform_adjoint_ok`)."""
    for st in body:
        if isinstance(st, (gast.For, gast.While, gast.If)):
            uniform_seeds(st.body, ok)           # (a loop step's sums too)
            uniform_seeds(st.orelse, ok)
        v = st.value if isinstance(st, gast.Assign) else None
        if _uniform_seed(v, ok):
            st.value = v.args[0]
        elif isinstance(v, gast.BinOp) and isinstance(v.op, gast.Add):
            if _uniform_seed(v.right, ok):
                v.right = v.right.args[0]
            elif _uniform_seed(v.left, ok):
                v.left = v.left.args[0]
    return body


def _uniform_seed(v, ok):
    return isinstance(v, gast.Call) and nodes.is_name(v.func, "unreduce") and len(v.args) == 4 \
        and isinstance(v.args[1], gast.Name) and isinstance(v.args[2], gast.Constant) \
        and v.args[2].value is None and isinstance(v.args[3], gast.Constant) \
        and v.args[3].value is False and ok(v.args[1].id)


_SHAPE_ONLY_ARG = {"unreduce": 1, "unbroadcast": 1, "count_reduced": 0}


def read_shapes_elsewhere(body, representatives):
    """In `unreduce(g, v9, ...)`, `unbroadcast(g, v9)`, `count_reduced(v9)` and
    `v9.size`, which only read v9's shape, read an earlier name of the same shape instead (see
    `trace.shape_representatives`), so that `dead_forward` may drop v9."""
    if not representatives:
        return body
    for st in body:
        for n in nodes.walk(st):
            if isinstance(n, gast.Attribute) and n.attr in ("size", "shape") \
                    and isinstance(n.value, gast.Name) and n.value.id in representatives \
                    and isinstance(n.ctx, gast.Load):
                n.value = nodes.name(representatives[n.value.id])
            elif isinstance(n, gast.Call) and isinstance(n.func, gast.Name) \
                    and n.func.id in _SHAPE_ONLY_ARG:
                k = _SHAPE_ONLY_ARG[n.func.id]
                if len(n.args) > k and isinstance(n.args[k], gast.Name) \
                        and n.args[k].id in representatives:
                    n.args[k] = nodes.name(representatives[n.args[k].id])
    return body


def dead_forward(body):
    """Drop top-level forward assignments whose value nothing reads (the final value,
    in `grad_f`): only pure expressions, and not inside loops or branches, whose
    statements `value_and_grad_f` shares."""
    live = set()
    out = []
    for st in reversed(body):
        name = removable_forward(st)
        if name is not None and name not in live:
            continue
        if isinstance(st, gast.Assign) and all(isinstance(t, gast.Name) for t in st.targets):
            live -= {t.id for t in st.targets}
        live |= loads(st)
        out.append(st)
    return list(reversed(out))


def dead_forward_in_blocks(body):
    """Inside loops and branches of `grad_f`: drop pure assignments to names that
    nothing else needs (a running loss `loss = loss + v7` that only the value used).
    Liveness by name over the whole function (flow-insensitive, so safe): the names read
    by every statement that stays, closed under the reads of the assignments they need.
    Returns the body, with the compound statements that lose statements copied first
    (`value_and_grad_f` shares the originals and needs the value)."""
    removable, others = {}, []
    for st in nodes.statements(body):
        name = removable_forward(st)
        if name is not None:
            removable.setdefault(name, []).append(st)
        elif not isinstance(st, (gast.If, gast.For, gast.While)):
            others.append(st)
    live = set()
    for st in others:
        live |= loads(st)
    for st in nodes.statements(body):
        if isinstance(st, (gast.If, gast.While)):
            live |= loads(st.test)
        elif isinstance(st, gast.For):
            live |= loads(st.iter) | stores(st.target)
    todo = list(live)
    while todo:
        n = todo.pop()
        for st in removable.get(n, ()):
            for m in loads(st.value) - live:
                live.add(m)
                todo.append(m)
    dead = {id(st) for n, sts in removable.items() if n not in live for st in sts}
    if not dead:
        return body

    def prune(stmts):
        out = []
        for st in stmts:
            if id(st) in dead:
                continue
            if isinstance(st, (gast.If, gast.For, gast.While)) and any(
                    id(x) in dead for x in nodes.statements(st.body + st.orelse)):
                # a new node over pruned copies of the blocks: value_and_grad_f keeps
                # the original statement, whose blocks compute the value
                fields = {f: getattr(st, f) for f in st._fields}
                fields["body"] = prune(st.body) or [gast.Pass()]
                fields["orelse"] = prune(st.orelse)
                new = type(st)(**fields)
                nodes.copy_location(new, st)
                for mark in ("s2s_backward", "s2s_pair"):
                    if hasattr(st, mark):
                        setattr(new, mark, getattr(st, mark))
                st = new
            out.append(st)
        return out
    return prune(body)


def dead_adjoints(body, live_out):
    """Remove adjoint assignments whose value is never read."""
    new, _ = _live_block(body, live_out, True)
    return new
