"""What a loop saves per step, as few pushes as possible, and for loops whose trip count
is known when they start, a tape made once instead of a stack that grows.

`batch_saves` (serves every loop whose steps save two or more values): the values a
step overwrites are pushed as one tuple at the start of the step and popped as one at
the end of the backward step (`saved.append((a, v5))` ... `a, v5 = saved.pop()`); the
values a step makes for itself (see `ir.loops`) as one tuple at the end of the step,
popped first in the backward step.

`preallocate_tapes` (serves `for i in range(n)` loops whose forward and backward loops
are in one function): the stack becomes a list of n entries made before the loop,
written and read at the step's index (`saved_a[i] = a` ... `a = saved_a[i]`). In such
loops two values per step get a tape each and three or more one tape of tuples, as
measured (CPython 3.11, floats, 100 steps, forward and backward, best of 15):

    values per step      1      2      3      4      6
    a stack each       8.8   16.2   23.1   27.5   38.7  µs
    one stack, tuples    -   14.6   15.5   15.6   16.6
    a tape each        6.5    9.5   14.5   19.4   25.7
    one tape, tuples     -   12.2   13.1   14.0   15.7
"""
import gast

from ..syntax import nodes
from .facts import stack_op


def _first_stores(stmts):
    """{name: index of the first statement of `stmts` that assigns it}."""
    out = {}
    for i, st in enumerate(stmts):
        for n in nodes.walk(st):
            if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store):
                out.setdefault(n.id, i)
    return out


def _last_stores(stmts):
    out = {}
    for i, st in enumerate(stmts):
        for n in nodes.walk(st):
            if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store):
                out[n.id] = i
    return out


def _mentions(stmts):
    """{name: [indices of the statements of `stmts` that mention it]}."""
    out = {}
    for i, st in enumerate(stmts):
        for n in nodes.walk(st):
            if isinstance(n, gast.Name):
                where = out.setdefault(n.id, [])
                if not where or where[-1] != i:
                    where.append(i)
    return out


def _stack_inits(fdef):
    return {st.targets[0].id: st for st in fdef.body
            if isinstance(st, gast.Assign) and len(st.targets) == 1
            and isinstance(st.targets[0], gast.Name) and st.targets[0].id.startswith("saved")
            and isinstance(st.value, gast.List) and not st.value.elts}


def _sites(fdef, inits):
    """({stack: uses}, {stack: (forward loop, push index, backward loop, pop index)}) for
    the stacks with one push at the top level of a forward loop and one pop at the top
    level of a backward loop, used nowhere else."""
    uses, found = {}, {}
    if not inits:
        return uses, found
    for n in nodes.name_nodes(fdef):
        if n.id in inits:
            uses[n.id] = uses.get(n.id, 0) + 1
    for loop in nodes.statements(fdef.body):
        if not isinstance(loop, (gast.For, gast.While)):
            continue
        backward = getattr(loop, "s2s_backward", False)
        for i, st in enumerate(loop.body):
            name = stack_op(st, "pop" if backward else "append")
            if name is None and backward:
                name = _tuple_pop(st)
            if name in inits:
                found.setdefault(name, []).append((loop, i, backward))
    out = {}
    for name, sites in found.items():
        if uses.get(name) != 3 or len(sites) != 2 or sites[0][2] == sites[1][2]:
            continue                    # (the init, one push, one pop: nothing else)
        (fwd, i, _), (bwd, j, _) = sorted(sites, key=lambda f: f[2])
        out[name] = (fwd, i, bwd, j)
    return uses, out


def _tuple_pop(st):
    """The stack of `a, b = saved.pop()`."""
    if isinstance(st, gast.Assign) and len(st.targets) == 1 \
            and isinstance(st.targets[0], gast.Tuple) and isinstance(st.value, gast.Call) \
            and isinstance(st.value.func, gast.Attribute) and st.value.func.attr == "pop" \
            and not st.value.args and isinstance(st.value.func.value, gast.Name):
        return st.value.func.value.id
    return None


def dead_saves(fdef):
    """A stack whose popped value the backward pass never reads (`v9 = saved_v9.pop()`
    with no later read of v9) is dropped with its push and its pop. Serves loops whose
    step adjoint stopped needing a value once the optimizer simplified it (a step's
    `np.sum(r * r)` whose adjoint is the number s̄: the shape of `r * r` saved for
    `unreduce` is then read by nothing)."""
    inits = _stack_inits(fdef)
    if not inits:
        return
    _, sites = _sites(fdef, inits)
    dead = []
    for name, (fwd, i, bwd, j) in sites.items():
        pop = bwd.body[j]
        if stack_op(pop, "pop") != name or stack_op(fwd.body[i], "append") != name:
            continue
        value = pop.targets[0].id
        after = bwd.body[:j] + bwd.body[j + 1:]
        top = next((k for k, st in enumerate(fdef.body) if st is bwd), None)
        if top is None:
            continue
        after += fdef.body[top + 1:]
        if any(isinstance(n, gast.Name) and n.id == value and isinstance(n.ctx, gast.Load)
               for st in after for n in nodes.walk(st)):
            continue
        pushed = fwd.body[i].value.args[0]
        if not (isinstance(pushed, gast.Name) or isinstance(pushed, gast.Call)
                and nodes.is_name(pushed.func, "ShapeOf") and len(pushed.args) == 1
                and isinstance(pushed.args[0], gast.Name)):
            continue
        dead.append((bwd.body, pop))
        dead.append((fwd.body, fwd.body[i]))
        dead.append((fdef.body, inits[name]))
    for block, st in dead:                    # (by identity: the indices move)
        block[:] = [x for x in block if x is not st]


def batch_saves(fdef):
    """In a loop that saves several values per step (`saved_a.append(a)` ...
    `a = saved_a.pop()`), one tuple per kind of value: the old values a step overwrites
    pushed at the start of the step and popped at the end of the backward step; the
    values a step makes for itself pushed at its end and popped at the start of the
    backward step. Only for stacks with one unconditional push and one pop, whose
    values do not change between where they are pushed and where the tuple is."""
    inits = _stack_inits(fdef)
    if len(inits) < 2:
        return
    _, sites = _sites(fdef, inits)
    groups, facts = {}, {}
    for name, (fwd, i, bwd, j) in sites.items():
        push, pop = fwd.body[i], bwd.body[j]
        if not isinstance(pop.targets[0], gast.Name):
            continue
        value = pop.targets[0].id
        arg = push.value.args[0]
        if {x.id for x in nodes.walk(arg) if isinstance(x, gast.Name)} - {value, "ShapeOf"}:
            continue
        if id(fwd) not in facts:
            facts[id(fwd)] = (_first_stores(fwd.body), _last_stores(fwd.body))
        if id(bwd) not in facts:
            facts[id(bwd)] = _mentions(bwd.body)
        first, last = facts[id(fwd)]
        mentions = facts[id(bwd)].get(value, [j])
        if first.get(value, i) > i and mentions[-1] <= j:
            kind = "start"               # the old value: before anything changes it
        elif first.get(value, i) < i and last.get(value) < i and mentions[0] >= j:
            kind = "end"                 # the step's own value, bound once before
        else:
            continue
        groups.setdefault((id(fwd), id(bwd), kind), (fwd, bwd, kind, []))[3].append(
            (name, push, pop))
    taken = set(nodes.names_in(fdef))
    top = {id(st) for st in fdef.body}
    for fwd, bwd, kind, members in groups.values():
        taped = id(fwd) in top and id(bwd) in top and _counted(fwd, bwd)
        if len(members) < (3 if taped else 2):       # (see the table above)
            continue
        members.sort(key=lambda m: fwd.body.index(m[1]))
        stack = nodes.fresh_name("saved", taken)
        taken.add(stack)
        pushes = {id(m[1]) for m in members}
        pops = {id(m[2]) for m in members}
        push = nodes.expr_stmt(nodes.call(nodes.attribute(nodes.name(stack), "append"), [
            nodes.tuple_([m[1].value.args[0] for m in members])]))
        pop = gast.Assign(
            targets=[gast.Tuple(elts=[nodes.name(m[2].targets[0].id, store=True)
                                      for m in members], ctx=gast.Store())],
            value=nodes.call(nodes.attribute(nodes.name(stack), "pop")), type_comment=None)
        fwd_rest = [st for st in fwd.body if id(st) not in pushes]
        bwd_rest = [st for st in bwd.body if id(st) not in pops]
        if kind == "start":
            fwd.body, bwd.body = [push] + fwd_rest, bwd_rest + [pop]
        else:
            fwd.body, bwd.body = fwd_rest + [push], [pop] + bwd_rest
        first = fdef.body.index(inits[members[0][0]])
        dropped = {id(inits[m[0]]) for m in members}
        fdef.body.insert(first, nodes.assign(stack, nodes.list_([])))
        fdef.body = [st for st in fdef.body if id(st) not in dropped]


def preallocate_tapes(fdef):
    """Each stack of a top-level `for i in range(n)` loop whose backward loop `for i in
    reversed(range(n))` is in the same function becomes a list of n entries made just
    before the forward loop, written and read at index i (see the module docstring)."""
    inits = _stack_inits(fdef)
    if not inits:
        return
    _, sites = _sites(fdef, inits)
    top = {id(st): k for k, st in enumerate(fdef.body)}
    before = {}                            # id(forward loop) -> [tape made before it]
    dropped = set()
    counted = {}                           # (a tape's writes leave the loops counted)
    for name, (fwd, i, bwd, j) in sorted(sites.items()):
        if id(fwd) not in top or id(bwd) not in top:
            continue
        pair = (id(fwd), id(bwd))
        if pair not in counted:
            counted[pair] = _counted(fwd, bwd)
        if not counted[pair]:
            continue
        index = fwd.target.id
        fwd.body[i] = nodes.copy_location(gast.Assign(
            targets=[nodes.subscript(nodes.name(name), nodes.name(index), store=True)],
            value=fwd.body[i].value.args[0], type_comment=None), fwd.body[i])
        pop = bwd.body[j]
        pop.value = nodes.subscript(nodes.name(name), nodes.name(index))
        before.setdefault(id(fwd), []).append(nodes.assign(name, gast.BinOp(
            left=nodes.list_([nodes.const(None)]), op=gast.Mult(),
            right=nodes.clone(fwd.iter.args[0]))))
        dropped.add(id(inits[name]))
    if not dropped:
        return
    out = []
    for st in fdef.body:
        if id(st) in dropped:
            continue
        out += before.get(id(st), [])
        out.append(st)
    fdef.body = out


def _counted(fwd, bwd):
    """`for i in range(n)` and `for i in reversed(range(n))` (n a name or a number), the
    index bound by nothing else in either loop."""
    if not isinstance(fwd, gast.For):
        return False
    it = fwd.iter
    if not (isinstance(fwd.target, gast.Name) and isinstance(bwd.target, gast.Name)
            and fwd.target.id == bwd.target.id and isinstance(it, gast.Call)
            and nodes.is_name(it.func, "range") and len(it.args) == 1 and not it.keywords
            and isinstance(it.args[0], (gast.Name, gast.Constant))):
        return False
    back = bwd.iter
    if not (isinstance(back, gast.Call) and nodes.is_name(back.func, "reversed")
            and len(back.args) == 1 and gast.dump(back.args[0]) == gast.dump(it)):
        return False
    index = fwd.target.id
    if isinstance(it.args[0], gast.Name) and any(
            isinstance(n, gast.Name) and n.id == it.args[0].id and isinstance(n.ctx, gast.Store)
            for st in fwd.body for n in nodes.walk(st)):
        return False                       # (the count changes in the loop)
    for loop in (fwd, bwd):
        for st in loop.body:
            for n in nodes.walk(st):
                if isinstance(n, gast.Name) and n.id == index and isinstance(n.ctx, gast.Store):
                    return False
    return True
