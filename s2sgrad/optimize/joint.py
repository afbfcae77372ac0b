"""Joint adjoints: where the adjoints of two operands of one operation share a costly
step, one call computes both.

Serves every program in which both operands of such an operation are active:

- `np.linalg.solve(a, b)`: ā = -b̄·yᵀ needs b̄ = solve(aᵀ, ȳ), so `solve_grad_a` and
  `solve_grad_b` each solve with aᵀ; `solve_grads` solves once (a Gaussian process's
  `solve(L.T, solve(L, y))`, a linear system whose matrix and right-hand side both depend
  on the parameters);
- the helpers that return both adjoints at once (`outer_grads`, `inner_grads`,
  `tensordot_grads`, `split_concat`, ...): the rules read their `[0]` and their `[1]` in
  two statements, and both calls do the whole work.

    A_bar = solve_grad_a(v1_bar, v1, A, b)          A_bar, b_bar = solve_grads(v1_bar, v1, A, b)
    b_bar = solve_grad_b(v1_bar, A, b)         →

The two statements must be in one straight-line block, each binding one name, and nothing
between them may change what the calls read or the names they bind.
"""
import gast

from ..syntax import nodes
from .facts import effects, loads, single_target

#: (first helper, second helper) → (joint helper, positions of the first's arguments
#: that the second takes): the joint helper takes the first's arguments and returns the
#: pair (first's result, second's result)
PAIRS = {
    ("solve_grad_a", "solve_grad_b"): ("solve_grads", (0, 2, 3, 4)),
}


def _helper_call(expr):
    """(helper name, call) of a call of a runtime helper by its plain name."""
    if isinstance(expr, gast.Call) and isinstance(expr.func, gast.Name) \
            and not expr.keywords:
        return expr.func.id, expr
    return None


def _item(expr):
    """(call, k) of `helper(...)[k]` with k the constant 0 or 1."""
    if isinstance(expr, gast.Subscript) and isinstance(expr.slice, gast.Constant) \
            and expr.slice.value in (0, 1) and _helper_call(expr.value):
        return expr.value, expr.slice.value
    return None


def _same(a, b):
    return gast.dump(a) == gast.dump(b)


def _partner(first, second):
    """The joint statement's value and the order of the targets when `first` and `second`
    (values of two assignments, first before second) are adjoints one call gives, else None.
    The order is (target of first, target of second) or reversed."""
    pair = _item(first), _item(second)
    if all(pair) and _same(pair[0][0], pair[1][0]) and pair[0][1] != pair[1][1]:
        return pair[0][0], pair[0][1] == 0
    calls = _helper_call(first), _helper_call(second)
    if not all(calls):
        return None
    for (one, other), straight in (((calls[0], calls[1]), True),
                                   ((calls[1], calls[0]), False)):
        joint = PAIRS.get((one[0], other[0]))
        if joint is None:
            continue
        name, positions = joint
        args = one[1].args
        positions = [i for i in positions if i < len(args)]     # (options left out)
        if len(other[1].args) == len(positions) and all(
                i < len(args) and _same(args[i], a)
                for i, a in zip(positions, other[1].args)):
            return nodes.call(name, list(args)), straight
    return None


def joint_adjoints(body):
    """Rewrites, in `body` and its blocks, pairs of adjoint statements one call gives."""
    for st in body:
        for block in ("body", "orelse"):
            if isinstance(getattr(st, block, None), list):
                setattr(st, block, joint_adjoints(getattr(st, block)))
    out = list(body)
    i = 0
    while i < len(out):
        j = _match(out, i)
        if j is not None:
            value, straight = _partner(out[i].value, out[j].value)
            names = [single_target(out[i]), single_target(out[j])]
            if not straight:
                names.reverse()
            out[i] = gast.Assign(targets=[gast.Tuple(
                elts=[nodes.name(n, store=True) for n in names],
                ctx=gast.Store())], value=value, type_comment=None)
            del out[j]
        i += 1
    return out


def _match(stmts, i):
    """The index of the statement after stmts[i] that pairs with it, else None."""
    first = single_target(stmts[i])
    if first is None or not (_item(stmts[i].value) or _helper_call(stmts[i].value)):
        return None
    reads = loads(stmts[i].value)
    if first in reads:
        return None
    for j in range(i + 1, len(stmts)):
        st = stmts[j]
        second = single_target(st)
        if second is not None and second != first and second not in reads \
                and first not in loads(st.value) and _partner(stmts[i].value, st.value):
            between = stmts[i + 1:j]
            if all(not ({first, second} & (loads(s) | effects(s))) for s in between):
                return j
        if isinstance(st, (gast.If, gast.For, gast.While)) or effects(st) & reads:
            return None
    return None
