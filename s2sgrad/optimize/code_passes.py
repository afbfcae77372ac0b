"""Stage 6 — optimize: passes over generated statements.

Each pass takes gast nodes and returns gast nodes with the same meaning; the facts they
share (what a statement reads, writes, or does besides) are in `facts`.
"""
import gast

from ..syntax import nodes
from .facts import flat, is_comment, is_zero, loads, removable_forward, stack_op, stores, stores_all


def optimize_function(fdef, arrays=frozenset(), numbers=frozenset(), shapes=None):
    """The optimizer's entry: runs the passes over one generated function. `arrays`
    and `numbers`: names known to hold NumPy arrays, and numbers, in this compilation
    (see `index_adjoints`, `spell_out_helpers`); `shapes`: {name: dims} of the trace's
    names of known shape (see `spell_out_shapes`)."""
    fdef.body = first_writes(fdef.body)
    fdef.body = simplify(fdef.body)
    fdef.body = dead_adjoints(fdef.body, set())
    changed = []
    fdef.body = propagate_copies(fdef.body, changed)
    if changed:
        fdef.body = dead_adjoints(fdef.body, set())     # the copies nothing reads now
    from .kinds import index_adjoints, spell_out_helpers, spell_out_shapes
    from .signs import fold_negations
    fold_negations(fdef)
    fdef.body = accumulate_in_place(fdef.body)
    if arrays:
        fdef.body = index_adjoints(fdef.body, arrays)
    if arrays or numbers:
        spell_out_helpers(fdef.body, arrays, numbers)
    if shapes:
        spell_out_shapes(fdef, shapes, numbers)
    batch_saves(fdef)
    fill_blocks(fdef.body)
    return fdef


# ------------------------------------------------------------ one save per loop step


def _first_stores(stmts):
    """{name: index of the first statement of `stmts` that assigns it}."""
    out = {}
    for i, st in enumerate(stmts):
        for n in nodes.walk(st):
            if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store):
                out.setdefault(n.id, i)
    return out


def _last_mentions(stmts):
    """{name: index of the last statement of `stmts` that mentions it}."""
    out = {}
    for i, st in enumerate(stmts):
        for n in nodes.walk(st):
            if isinstance(n, gast.Name):
                out[n.id] = i
    return out


def batch_saves(fdef):
    """In a loop that saves several values per step (`saved_a.append(a)` ...
    `a = saved_a.pop()`), push one tuple at the start of the step and pop it at the end
    of the backward step: `saved.append((a, b))` ... `a, b = saved.pop()`. Only for
    stacks with one unconditional push and one pop, whose values do not change before
    the push and are not read after the pop in their step."""
    inits = {st.targets[0].id: st for st in fdef.body
             if isinstance(st, gast.Assign) and len(st.targets) == 1
             and isinstance(st.targets[0], gast.Name) and st.targets[0].id.startswith("saved_")
             and isinstance(st.value, gast.List) and not st.value.elts}
    if len(inits) < 2:
        return
    uses, sites = {}, {}
    for n in nodes.walk(fdef):
        if isinstance(n, gast.Name) and n.id in inits:
            uses[n.id] = uses.get(n.id, 0) + 1
    for loop in nodes.walk(fdef):
        if not isinstance(loop, gast.For):
            continue
        backward = getattr(loop, "s2s_backward", False)
        for i, st in enumerate(loop.body):
            name = stack_op(st, "pop" if backward else "append")
            if name in inits:
                sites.setdefault(name, []).append((loop, i, backward))
    groups, facts = {}, {}
    for name, found in sites.items():
        if uses.get(name) != 3 or len(found) != 2 or found[0][2] == found[1][2]:
            continue                    # (the init, one push, one pop: nothing else)
        (fwd, i, _), (bwd, j, _) = sorted(found, key=lambda f: f[2])
        push, pop = fwd.body[i], bwd.body[j]
        value = pop.targets[0].id
        arg = push.value.args[0]
        if {x.id for x in nodes.walk(arg) if isinstance(x, gast.Name)} - {value, "ShapeOf"}:
            continue
        if id(fwd) not in facts:
            facts[id(fwd)] = _first_stores(fwd.body)
        if id(bwd) not in facts:
            facts[id(bwd)] = _last_mentions(bwd.body)
        if facts[id(fwd)].get(value, i) < i or facts[id(bwd)].get(value, j) > j:
            continue
        groups.setdefault((id(fwd), id(bwd)), (fwd, bwd, []))[2].append((name, push, pop))
    taken = set(nodes.names_in(fdef))
    for fwd, bwd, members in groups.values():
        if len(members) < 2:
            continue
        members.sort(key=lambda m: fwd.body.index(m[1]))
        stack = nodes.fresh_name("saved", taken)
        pushes = {id(m[1]) for m in members}
        pops = {id(m[2]) for m in members}
        fwd.body = [nodes.expr_stmt(nodes.call(nodes.attribute(nodes.name(stack), "append"), [
            nodes.tuple_([m[1].value.args[0] for m in members])]))] + \
            [st for st in fwd.body if id(st) not in pushes]
        bwd.body = [st for st in bwd.body if id(st) not in pops] + [gast.Assign(
            targets=[gast.Tuple(elts=[nodes.name(m[2].targets[0].id, store=True)
                                      for m in members], ctx=gast.Store())],
            value=nodes.call(nodes.attribute(nodes.name(stack), "pop")), type_comment=None)]
        first = fdef.body.index(inits[members[0][0]])
        dropped = {id(inits[m[0]]) for m in members}
        fdef.body.insert(first, nodes.assign(stack, nodes.list_([])))
        fdef.body = [st for st in fdef.body if id(st) not in dropped]


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


# ------------------------------------------------------- in-place accumulation

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


# ------------------------------------------------------------ copy propagation

def _adjoint_copy(st):
    """(a, b) for `a_bar = b` with b a name, else None."""
    if isinstance(st, gast.Assign) and len(st.targets) == 1 \
            and isinstance(st.targets[0], gast.Name) and st.targets[0].id.endswith("_bar") \
            and isinstance(st.value, gast.Name):
        return st.targets[0].id, st.value.id
    return None


def _substitute_loads(node, copies, changed):
    for n in nodes.walk(node):
        if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load) and n.id in copies:
            n.id = copies[n.id]
            changed.append(n.id)


def propagate_copies(body, changed):
    """After `a_bar = b`, read b where the code reads a_bar, until either is assigned
    again (within straight-line code; a branch or loop starts afresh). The copies that
    nothing reads any more are then removed as dead adjoints; `x = x` goes at once.
    Appends to `changed` when it rewrites anything."""
    copies = {}
    readers = {}           # b → the names a that were copied from b (copies[a] may be gone)
    out = []
    for st in body:
        if isinstance(st, (gast.If, gast.While)):
            _substitute_loads(st.test, copies, changed)
        elif isinstance(st, gast.For):
            _substitute_loads(st.iter, copies, changed)
        if isinstance(st, (gast.If, gast.For, gast.While)):
            st.body = propagate_copies(st.body, changed)
            st.orelse = propagate_copies(st.orelse, changed)
            copies, readers = {}, {}
            out.append(st)
            continue
        if isinstance(st, gast.Assign):
            _substitute_loads(st.value, copies, changed)
            for t in st.targets:
                if not isinstance(t, gast.Name):
                    _substitute_loads(t, copies, changed)     # the index of `g[i] = v`
        elif not isinstance(st, gast.Return) and not (
                isinstance(st, gast.Expr) and isinstance(st.value, gast.Constant)):
            _substitute_loads(st, copies, changed)    # (`return` keeps x_bar, y_bar)
        pair = _adjoint_copy(st)
        if pair and pair[0] == pair[1]:
            changed.append(pair[0])
            continue                                  # `a_bar = a_bar`
        for name in stores(st):      # forget the copies to or from a reassigned name
            copies.pop(name, None)
            for a in readers.pop(name, ()):
                if copies.get(a) == name:
                    del copies[a]
        if pair:
            copies[pair[0]] = pair[1]
            readers.setdefault(pair[1], []).append(pair[0])
        out.append(st)
    return out


# ------------------------------------------------------------ first writes


def _accumulation(stmt):
    """(name, added value) for `x_bar = x_bar + e` / `x_bar = add_grads(x_bar, e)`."""
    if not (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name)):
        return None
    name, v = stmt.targets[0].id, stmt.value
    if isinstance(v, gast.BinOp) and isinstance(v.op, gast.Add) and nodes.is_name(v.left, name):
        return name, v.right
    if isinstance(v, gast.Call) and nodes.is_name(v.func, "add_grads") and len(v.args) == 2 \
            and nodes.is_name(v.args[0], name):
        return name, v.args[1]
    return None


def _zeros(stmts, zero, rewrite):
    """Walk statements with the set of names known to hold 0.0; with `rewrite`, turn an
    addition to a known zero into a definition. Returns the set after the block."""
    zero = set(zero)
    for i, st in enumerate(stmts):
        if isinstance(st, gast.If):
            a = _zeros(st.body, zero, rewrite)
            b = _zeros(st.orelse, zero, rewrite)
            zero = a & b
            continue
        if isinstance(st, (gast.For, gast.While)):
            entry = set(zero)
            while True:
                end = _zeros(st.body, entry, False)
                new = entry & end
                if new == entry:
                    break
                entry = new
            if rewrite:
                _zeros(st.body, entry, True)
            zero = entry - _stores_shallow(st)
            continue
        acc = _accumulation(st)
        if acc and acc[0] in zero:
            if rewrite:
                st.value = acc[1]
            zero.discard(acc[0])
            continue
        if isinstance(st, gast.Assign) and isinstance(st.targets[0], gast.Name) \
                and is_zero(st.value):
            zero.add(st.targets[0].id)
            continue
        zero -= stores(st)
    return zero


def _stores_shallow(loop):
    out = set()
    if isinstance(loop, gast.For):
        out |= stores(loop.target)
    return out


def first_writes(body):
    """`x_bar = x_bar + e` where x_bar is known to be 0.0 becomes `x_bar = e`."""
    _zeros(body, set(), True)
    return body


# ------------------------------------------------------------ algebra

class _Simplify(gast.NodeTransformer):
    def visit_BinOp(self, node):
        self.generic_visit(node)
        l, r, op = node.left, node.right, node.op
        if isinstance(op, gast.Add) and isinstance(r, gast.UnaryOp) \
                and isinstance(r.op, gast.USub):
            return gast.BinOp(left=l, op=gast.Sub(), right=r.operand)
        if isinstance(op, gast.Sub) and isinstance(r, gast.UnaryOp) \
                and isinstance(r.op, gast.USub):
            return gast.BinOp(left=l, op=gast.Add(), right=r.operand)
        if isinstance(op, (gast.Mult, gast.Div)) and isinstance(l, gast.UnaryOp) \
                and isinstance(l.op, gast.USub):
            return gast.UnaryOp(op=gast.USub(), operand=gast.BinOp(left=l.operand, op=op,
                                                                    right=r))
        if isinstance(op, gast.Mult):
            if _is_one(r):
                return l
            if _is_one(l):
                return r
        if isinstance(op, gast.Div) and _is_one(r):
            return l
        return node

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, gast.USub) and isinstance(node.operand, gast.UnaryOp) \
                and isinstance(node.operand.op, gast.USub):
            return node.operand.operand
        return node


def _is_one(node):
    return isinstance(node, gast.Constant) and type(node.value) in (int, float) \
        and node.value == 1


def simplify(body):
    """Algebraic clean-ups: `a + -b` → `a - b`, `g * 1.0` → `g`, `-(-g)` → `g`."""
    return [_Simplify().visit(st) for st in body]


# ------------------------------------------------------------ dead adjoints

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


def _live_block(stmts, live_out, remove):
    """Backward liveness over a block; with `remove`, drop dead adjoint assignments.
    Returns (new statements, live-in set)."""
    live = set(live_out)
    out = []
    for st in reversed(stmts):
        if isinstance(st, gast.If):
            body, lb = _live_block(st.body, live, remove)
            orelse, lo = _live_block(st.orelse, live, remove)
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
                _, inner = _live_block(st.body, entry | live, False)
                new = entry | inner
                if new == entry:
                    break
                entry = new
            if remove:
                body, _ = _live_block(st.body, entry | live, True)
                st.body = body or [gast.Pass()]
            live = entry | live | head
            out.append(st)
            continue
        name = _removable(st)
        if name is not None and name not in live:
            if not remove:
                out.append(st)
            continue
        live -= stores(st) if isinstance(st, gast.Assign) and not isinstance(
            st.targets[0], gast.Subscript) else set()
        live |= loads(st)
        out.append(st)
    return list(reversed(out)), live


def uniform_seeds(body, ok):
    """`v_bar = unreduce(s_bar, v, None, False)` (the adjoint of a full sum: s̄ in every
    entry) → `v_bar = s_bar` where `ok(v)`: the number stands for the uniform array, and
    every operation it meets broadcasts it (see `trace.uniform_adjoint_ok`)."""
    for st in body:
        v = st.value if isinstance(st, gast.Assign) else None
        if isinstance(v, gast.Call) and nodes.is_name(v.func, "unreduce") and len(v.args) == 4 \
                and isinstance(v.args[1], gast.Name) and isinstance(v.args[2], gast.Constant) \
                and v.args[2].value is None and isinstance(v.args[3], gast.Constant) \
                and v.args[3].value is False and ok(v.args[1].id):
            st.value = v.args[0]
    return body


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
    for st in nodes.walk(gast.Module(body=body, type_ignores=[])):
        if not isinstance(st, gast.stmt):
            continue
        name = removable_forward(st)
        if name is not None:
            removable.setdefault(name, []).append(st)
        elif not isinstance(st, (gast.If, gast.For, gast.While)):
            others.append(st)
    live = set()
    for st in others:
        live |= loads(st)
    for st in nodes.walk(gast.Module(body=body, type_ignores=[])):
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
                    id(x) in dead for x in nodes.walk(st) if isinstance(x, gast.stmt)):
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


# ------------------------------------------------------------ shared facts


