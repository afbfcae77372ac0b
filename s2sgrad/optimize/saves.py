"""One tuple saved per loop step: the forward loop pushes what a step overwrites as one
`saved.append((a, v5))` and the backward loop pops it as one `a, v5 = saved.pop()`
(serves every loop whose steps save two or more values)."""
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
