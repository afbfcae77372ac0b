"""Optimizer pass — fuse a loop's forward and backward passes when its steps are
independent (`grad_f`; and `value_and_grad_f`, see `_in_order`).

A loop whose steps share nothing but accumulators (`loss = loss + term`) does not need
its forward values saved: the backward pass can run the steps one by one, each step
recomputing its own forward values and then at once its adjoint. The step's adjoint
reads the loop-exit adjoint of the accumulator, which stays the same in every step,
and adds into the accumulators of the inputs (`x_bar = x_bar + ...`), in any order.
That is how a gradient like Griewank's is written by hand::

    for i in range(200):              for i in reversed(range(200)):
        saved.append((a,))               a = (x1 + 0.01 * i) / x2
        a = (x1 + 0.01 * i) / x2   →      a_bar = loss_bar * ...
        loss = loss + f(a)                x1_bar = x1_bar + a_bar / x2
    for i in reversed(range(200)):
        a_bar = loss_bar * ...
        x1_bar = x1_bar + a_bar / x2
        a, = saved.pop()

Only when the forward loop can then go: every statement of it is a pure assignment or
a push, and nothing after it reads what it computes (in `grad_f` the running loss is
dead). Steps must not read a value an earlier step wrote (apart from the accumulators,
which the fused loop does not compute), each value is assigned once per step, and
the backward step carries no adjoint across steps but accumulators.

Computations that read only values fixed for the whole loop (`e = math.exp(x2)`) move
in front of it, under `if range(...):` unless the range is a constant one that runs.
"""
import re

import gast

from ..syntax import nodes
from .facts import (effects, is_comment, is_tape_init, loads, name_counts,
                    removable_forward, single_target, stack_op, stores, stores_all, tape_op)


def fuse_loops(body, numbers=frozenset(), in_order=False):
    """Fuse each top-level forward/backward loop pair that qualifies. Returns a new
    body; the statements `value_and_grad_f` shares are not changed. `numbers`: the
    values known to be numbers, whose one-use temporaries the fused step folds back
    into the expressions that read them. `in_order` (for `value_and_grad_f`): values
    the loop leaves for later code (the running loss the value returns) may stay; the
    fused loop then runs in the forward loop's order (see `_in_order`)."""
    pairs = {}
    for k, st in enumerate(body):
        key = getattr(st, "s2s_pair", None)
        if isinstance(st, gast.For) and key is not None:
            pairs.setdefault(key, []).append(k)
    for key, where in pairs.items():
        if len(where) != 2:
            continue
        f, b = where
        if getattr(body[f], "s2s_backward", False) or not getattr(body[b], "s2s_backward", False):
            continue
        fused = _fuse(body, f, b, numbers, in_order)
        if fused is not None:
            body = fused
    return body


def _fuse(body, f, b, numbers=frozenset(), in_order=False):
    fwd, bwd = body[f], body[b]
    if not _same_range(fwd, bwd):
        return None
    target = fwd.target.id
    stacks, step = set(), []
    for st in fwd.body:
        if is_comment(st):
            continue
        name = stack_op(st, "append") or tape_op(st, "write")
        if name is not None:
            stacks.add(name)
        elif removable_forward(st) is not None:
            step.append(st)
        else:
            return None
    written = [removable_forward(st) for st in step]
    if len(set(written)) != len(written) or target in written:
        return None
    computed = set(written)
    carried = _exposed_loads(step) & computed           # read before written in a step
    back = []
    for st in bwd.body:
        name = stack_op(st, "pop") or tape_op(st, "read")
        if name is None and isinstance(st, gast.Assign) and isinstance(st.targets[0], gast.Tuple):
            name = _tuple_pop(st)
        if name is not None:
            if name not in stacks:
                return None
            continue
        if getattr(st, "s2s_reread", False) and removable_forward(st) in {
                removable_forward(x) for x in step}:
            continue                       # a value read again: the step recomputes it
        if is_comment(st):
            back.append(st)
        elif isinstance(st, (gast.Assign, gast.AugAssign)):
            back.append(st)
        else:
            return None
    if not _stacks_private(body, stacks, f, b):
        return None
    back_reads = set()
    for st in back:
        back_reads |= loads(st)
    if back_reads & carried or stores_all(back) & (computed | {target}):
        return None
    kept, moved, left = set(), [], set()
    if in_order:
        kept, moved, left = _in_order(body, f, b, computed, target, step)
        if kept is None:
            return None
    recompute = _slice(step, (back_reads & computed) | kept)
    if _exposed_loads(recompute) & computed - kept:
        return None
    if not _fixed_before(body, f, _exposed_loads(recompute) - {target} - kept):
        return None
    if not _independent_adjoints(back):
        return None
    # nothing else may read what the loops compute: the forward values (gone with the
    # forward loop, or the last step's), or the per-step adjoints (the first step's
    # backward ran last before; now the last step's does)
    private = (computed - kept) | {target} | (stores_all(back) - _accumulators(back))
    for k, st in enumerate(body):
        if k not in (f, b) and loads(st) & private:
            return None
    if moved and _moved_reads_clash(moved, recompute + back, body[f + 1:b], kept):
        return None
    hoisted, inside = _hoist(recompute, computed | {target})
    back = [nodes.clone(st) for st in back]
    back, zeros, sunk = _sink_hoisted_adjoints(
        back, {removable_forward(st) for st in hoisted},
        stores_all(inside + back) | {target})
    if hoisted and not _runs(fwd):
        hoisted = [nodes.if_(nodes.clone(fwd.iter), hoisted)]
        if sunk:
            sunk = [nodes.if_(nodes.clone(fwd.iter), sunk)]
    hoisted += zeros
    inside = _fold_temporaries(inside, inside + back, lambda n: _TEMP.match(n)
                               and n in numbers)
    back = _fold_temporaries(back, inside + back, lambda n: n.endswith("_bar")
                             and n[:-4] in numbers)
    # in the backward loop's order (in the forward loop's when values are kept)
    loop = nodes.for_(target, nodes.clone((fwd if kept else bwd).iter), [
        nodes.comment("forward step, in its order (steps share only sums)" if kept else
                      "forward step, recomputed (steps are independent)")]
        + inside + [nodes.comment("its adjoint")] + back)
    nodes.copy_location(loop, bwd)
    loop.s2s_backward = True
    # the stacks, and the `a = None` that gave saved values a first value, go too
    inits = {k for k, st in enumerate(body) if isinstance(st, gast.Assign)
             and len(st.targets) == 1 and isinstance(st.targets[0], gast.Name)
             and (st.targets[0].id in stacks or st.targets[0].id in private | (kept - left)
                  and isinstance(st.value, gast.Constant) and st.value.value is None)}
    later = {id(st) for st in moved}
    out = []
    for k, st in enumerate(body):
        if k == f or k in inits or id(st) in later:
            continue
        if k == b:
            out += hoisted + [loop] + sunk + moved
        else:
            out.append(st)
    return out


def _in_order(body, f, b, computed, target, step):
    """For `value_and_grad_f`: the values of the forward loop that code between the
    loops reads (the running loss the value returns), and the forward statements there
    that read them (`value = loss`), which move after the fused loop. Nothing before the
    loops or after the backward loop may read what the loop computes (as for `grad_f`).
    The fused loop then runs the steps in the forward loop's order, so that what a step
    carries to the next (`loss = loss + term`, or any recurrence the backward step does
    not read) is computed as the function computes it, bit for bit; the backward steps
    only add into sums (`_independent_adjoints`), in another order (differences in the
    last bits of the gradient). Returns (the names the fused step computes for later code, the
    statements moved, the names later code reads), or Nones when a value the loop
    leaves is read by something that cannot wait until after the fused loop."""
    outside = set()           # before the loops, and after the backward loop, which
    for k, st in enumerate(body):       # sees the values it restored: not the last step's
        if k < f or k > b:
            outside |= loads(st)
    if outside & (computed | {target}):
        return None, None, None
    live_after = set()
    for st in body[f + 1:b]:
        live_after |= loads(st)
    kept = live_after & computed
    if target in live_after:
        return None, None, None
    if not kept:
        return set(), [], set()
    tainted, moved = set(kept), []
    for st in body[f + 1:b]:
        if loads(st) & tainted:
            if removable_forward(st) is None:
                return None, None, None
            moved.append(st)
            tainted |= stores(st)
        elif stores(st) & tainted:
            return None, None, None
    # (the step is straight-line code: each value kept is the last step's)
    return _slice_closure(step, kept), moved, kept


def _slice_closure(step, kept):
    """`kept` with the step's values they are computed from."""
    return {removable_forward(st) for st in _slice(step, kept)} | set(kept)


def _moved_reads_clash(moved, loop_code, between, kept):
    """Do the moved statements write what the fused loop reads, or read what the
    statements staying between the loops write, or what the loop writes but the values
    kept (whose order they would change)?"""
    written = set()
    for st in moved:
        written |= stores(st)
    reads = set()
    for st in loop_code:
        reads |= loads(st)
    staying = [st for st in between if not any(st is m for m in moved)]
    moved_reads = set()
    for st in moved:
        moved_reads |= loads(st)
    return bool(written & reads) or bool(stores_all(staying) & moved_reads) \
        or bool((stores_all(loop_code) - set(kept)) & moved_reads)


def _fixed_before(body, f, names):
    """Do `names` hold, where the backward loop runs, what they held in the forward
    loop? Yes if each is bound at most once, by a top-level statement before it (the
    backward pass restores only the values its own code reads)."""
    where = {}
    for k, st in enumerate(body):
        for n in nodes.walk(st):
            if isinstance(n, gast.Name) and n.id in names and isinstance(n.ctx, gast.Store):
                if n.id in where or k >= f or not isinstance(st, gast.Assign):
                    return False
                where[n.id] = k
    return True


_TEMP = re.compile(r"v\d+$")          # the temporaries of A-normal form


def _fold_temporaries(stmts, scope, eligible):
    """`v1 = 0.01 * i`; `v2 = x1 + v1` → `v2 = x1 + 0.01 * i` for eligible names (numbers:
    a Python loop pays for every name it stores and loads) read once in `scope`, by a
    later statement of `stmts`, with nothing in between changing what they read. The
    operations and their order stay the same: the sums are bit for bit the same. Returns
    new statements; a changed reader is a copy (the originals may be shared)."""
    n_loads, n_stores = name_counts(gast.Module(body=list(scope), type_ignores=[]))
    out = list(stmts)
    k = 0
    while k < len(out):
        st = out[k]
        t = removable_forward(st)
        if t is None or not eligible(t) or n_loads.get(t) != 1 or n_stores.get(t) != 1:
            k += 1
            continue
        reads = loads(st.value)
        for j in range(k + 1, len(out)):
            reader = out[j]
            if t in loads(reader):
                if isinstance(reader, (gast.Assign, gast.AugAssign)) \
                        and isinstance(getattr(reader, "target", None) or reader.targets[0],
                                       gast.Name):
                    new = nodes.clone(reader)
                    new.value = nodes.substitute(new.value, {t: nodes.clone(st.value)})
                    out[j] = nodes.copy_location(new, reader)
                    del out[k]
                    k -= 1
                break
            if effects(reader) & reads:
                break
        k += 1
    return out


def _same_range(fwd, bwd):
    """`for i in range(a)` and `for i in reversed(range(a))`, of one target and range."""
    it = bwd.iter
    if not (isinstance(fwd.target, gast.Name) and isinstance(bwd.target, gast.Name)
            and fwd.target.id == bwd.target.id):
        return False
    if not (isinstance(it, gast.Call) and nodes.is_name(it.func, "reversed")
            and len(it.args) == 1 and isinstance(fwd.iter, gast.Call)
            and nodes.is_name(fwd.iter.func, "range")):
        return False
    return gast.dump(it.args[0]) == gast.dump(fwd.iter)


def _tuple_pop(st):
    call = st.value
    if isinstance(call, gast.Call) and isinstance(call.func, gast.Attribute) \
            and call.func.attr == "pop" and not call.args \
            and isinstance(call.func.value, gast.Name) \
            and all(isinstance(e, gast.Name) for e in st.targets[0].elts):
        return call.func.value.id
    return None


def _stacks_private(body, stacks, f, b):
    """The stacks appear only in their `saved = []`, the forward loop and the backward
    loop (no restore after the loops)."""
    for k, st in enumerate(body):
        if k in (f, b):
            continue
        for n in nodes.walk(st):
            if isinstance(n, gast.Name) and n.id in stacks and not (
                    isinstance(st, gast.Assign) and st.targets[0] is n
                    and (isinstance(st.value, gast.List) and not st.value.elts
                         or is_tape_init(st))):
                return False
    return True


def _exposed_loads(stmts):
    """Names straight-line `stmts` read before they write them."""
    seen, out = set(), set()
    for st in stmts:
        value = st.value if isinstance(st, (gast.Assign, gast.AugAssign)) else st
        out |= loads(value) - seen
        if isinstance(st, gast.AugAssign):
            out |= stores(st.target) - seen
        seen |= stores(st)
    return out


def _slice(step, needed):
    """The statements of `step` that compute `needed`, with those they read."""
    keep = []
    needed = set(needed)
    for st in reversed(step):
        name = removable_forward(st)
        if name in needed:
            keep.append(st)
            needed |= loads(st.value)
    return list(reversed(keep))


def _accumulation(st):
    """`x = x + e`, `x = x - e`, `x += e`, `x -= e`, `x = add_at(x, ...)`: (x, the
    expressions added), else None."""
    if isinstance(st, gast.AugAssign) and isinstance(st.target, gast.Name) \
            and isinstance(st.op, (gast.Add, gast.Sub)):
        return st.target.id, [st.value]
    if not (isinstance(st, gast.Assign) and len(st.targets) == 1
            and isinstance(st.targets[0], gast.Name)):
        return None
    x, v = st.targets[0].id, st.value
    if isinstance(v, gast.BinOp) and isinstance(v.op, (gast.Add, gast.Sub)) \
            and nodes.is_name(v.left, x):
        return x, [v.right]
    if isinstance(v, gast.Call) and nodes.is_name(v.func, "add_at") and v.args \
            and nodes.is_name(v.args[0], x) and not v.keywords:
        return x, v.args[1:]
    return None


def _accumulators(back):
    out = set()
    for st in back:
        acc = _accumulation(st)
        if acc is not None:
            out.add(acc[0])
    return out


def _independent_adjoints(back):
    """Does the backward step carry nothing across steps but sums? Every adjoint it
    reads before writing must be either never written in it (the loop-exit adjoint of
    an accumulator) or only ever added to, by terms that read no such sum."""
    code = [st for st in back if not is_comment(st)]
    carried = _exposed_loads(code) & stores_all(code)
    for st in code:
        mentioned = loads(st) | stores(st)
        if not mentioned & carried:
            continue
        acc = _accumulation(st)
        if acc is None or acc[0] not in carried:
            return False
        for e in acc[1]:
            if loads(e) & carried:
                return False
    return True


def _hoist(recompute, varying):
    """Split the recomputed step into what reads only values fixed for the loop and the
    rest (which keeps the step's order)."""
    varying = set(varying)
    out, inside = [], []
    for st in recompute:
        name = removable_forward(st)
        if loads(st.value) & varying:
            inside.append(st)
        else:
            out.append(st)
            varying.discard(name)
    return [nodes.clone(st) for st in out], [nodes.clone(st) for st in inside]


def _sink_hoisted_adjoints(back, hoisted, varying):
    """The adjoint of a value hoisted out of the loop (`e = math.exp(x2)`) runs once
    after it, on the sum of what the steps gave:

        for i in ...:                          e_bar = 0.0
            e_bar = -v6_bar                    for i in ...:
            e_bar = e_bar - v5_bar     →           e_bar = e_bar - v6_bar
            x2_bar += e_bar * e                    e_bar = e_bar - v5_bar
                                               x2_bar += e_bar * e

    which is right because an adjoint rule is linear in its output's adjoint:
    Σᵢ ēᵢ·e = (Σᵢ ēᵢ)·e. Moved: statements that read one hoisted value's adjoint, as
    a factor, and otherwise only what the loop leaves fixed, and add into an adjoint
    (or define the adjoint of another hoisted value). Only if every read of such an
    adjoint moves, each of them is defined afresh in every step (not carried), and
    the sums the moved statements add into are only added to in the loop. The sums
    then add in another order (differences in the last bits). Returns (the step's
    statements, the zeros to put before the loop, the statements after it)."""
    bars = {n + "_bar" for n in hoisted if n}
    code = [st for st in back if not is_comment(st)]

    def movable(st):
        acc = _accumulation(st)
        if acc is not None and len(acc[1]) == 1:     # (add_at adds more than one term)
            target, term = acc[0], acc[1][0]
        elif isinstance(st, gast.Assign) and single_target(st) in bars:
            target, term = single_target(st), st.value
        else:
            return None
        reads = loads(term)
        factor = reads & bars
        if len(factor) != 1 or target in reads:
            return None
        m = factor.pop()
        if (reads - {m} - hoisted) & varying or not _linear_in(term, m):
            return None
        return m, target

    moved = {id(st): movable(st) for st in code}
    moved = {k: v for k, v in moved.items() if v is not None}
    if not moved:
        return back, [], []
    stay = [st for st in code if id(st) not in moved]
    factors = {m for m, _ in moved.values()}
    targets = {t for _, t in moved.values()}
    for st in stay:
        # what the moved statements read or add into: only added to in the step
        for t in loads(st) & (factors | targets):
            acc = _accumulation(st)
            if acc is None or acc[0] != t or any(t in loads(e) for e in acc[1]):
                return back, [], []
    defined_after = {single_target(st) for st in code if id(st) in moved
                     and _accumulation(st) is None}
    if defined_after & stores_all(stay):
        return back, [], []
    firsts = {}                              # the step's definition of each share
    for m in sorted(factors - defined_after):
        first = next((st for st in stay if m in loads(st) | stores(st)), None)
        if first is None or single_target(first) != m or m in loads(first.value):
            return back, [], []             # carried from step to step, or never set
        firsts[m] = first
    zeros = []
    for m, first in firsts.items():
        v = first.value
        if isinstance(v, gast.UnaryOp) and isinstance(v.op, gast.USub):
            first.value = gast.BinOp(left=nodes.name(m), op=gast.Sub(), right=v.operand)
        else:
            first.value = gast.BinOp(left=nodes.name(m), op=gast.Add(), right=v)
        zeros.append(nodes.assign(m, nodes.const(0.0)))
    # a comment goes with the statements under it: after the loop when all of them move
    step, after = [], []
    for block in _comment_blocks(back):
        statements = [x for x in block if not is_comment(x)]
        if statements and all(id(x) in moved for x in statements):
            after += block
        else:
            for x in block:
                (after if id(x) in moved else step).append(x)
    return step, zeros, after


def _comment_blocks(stmts):
    """`stmts` cut before each comment: [[comment, statements...], ...] (the first
    block has no comment when `stmts` does not start with one)."""
    blocks = [[]]
    for st in stmts:
        if is_comment(st) and blocks[-1]:
            blocks.append([])
        blocks[-1].append(st)
    return [b for b in blocks if b]


def _linear_in(e, name):
    """Is expression e a product (`*`, `@`, or a quotient, a sum over axes, a linear
    helper) with `name` as one factor?"""
    if nodes.is_name(e, name):
        return True
    if isinstance(e, gast.UnaryOp) and isinstance(e.op, gast.USub):
        return _linear_in(e.operand, name)
    if isinstance(e, gast.BinOp) and isinstance(e.op, (gast.Mult, gast.MatMult)):
        return (_linear_in(e.left, name) and name not in loads(e.right)) or \
            (_linear_in(e.right, name) and name not in loads(e.left))
    if isinstance(e, gast.BinOp) and isinstance(e.op, gast.Div):
        return _linear_in(e.left, name) and name not in loads(e.right)
    if isinstance(e, gast.Call) and e.args and (
            isinstance(e.func, gast.Name) and e.func.id in _LINEAR_HELPERS
            or isinstance(e.func, gast.Attribute) and nodes.is_name(e.func.value, "np")
            and e.func.attr == "sum"):
        rest = e.args[1:] + [k.value for k in e.keywords]
        return _linear_in(e.args[0], name) and not any(name in loads(a) for a in rest)
    return False


# runtime helpers linear in their first argument (an adjoint), the others fixed
_LINEAR_HELPERS = {"unbroadcast", "unreduce", "matmul_left", "matmul_right"}


def _runs(loop):
    """Is the loop's range made of integer constants and not empty?"""
    from ..ir.shapes import int_constant
    values = [int_constant(a) for a in loop.iter.args]
    if None in values:
        return False
    try:
        return len(range(*values)) > 0
    except (TypeError, ValueError):
        return False
