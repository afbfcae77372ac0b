"""Optimizations on the trace, before the reverse pass (part of stage 6).

- `eliminate_common_subexpressions`: in straight-line code (the top level, one loop
  step, one side of a branch), a statement that repeats an earlier pure operation on
  the same operands (`v3 = x1 / x2` after `v1 = x1 / x2`) is dropped and its name
  replaced by the earlier one. The value is then computed once and its adjoint
  accumulates in one place.
- `fuse_sigmoid`: `1 / (1 + exp(-x))` written out by hand gets the cheap derivative of
  the notes, `x̄ += ȳ·y·(1 - y)`, instead of the chain of four adjoints.

Both take a `Trace` and change it in place; the facts (`active`, ...) are recomputed by
the caller afterwards.
"""
import math

import gast
import numpy as np

from ..syntax import nodes
from .. import rules, runtime
from ..syntax.nodes import Const
from ..ir.statements import (Assign, SetItem, Append, Pop, If, For, While, Trace, Kind,
                             walk, defs, reads)
from ..ir import apply_renames


def _key(s):
    if s.kind is not Kind.OP or s.tangent_only or rules.PURE not in s.rule.props:
        return None
    return _structure(s.expr)


def _structure(node):
    """A hashable form of an expression, equal for expressions that read the same (a
    constant by its type and repr: `1`, `1.0`, `True` and `-0.0` differ, as in their
    source); ten times faster than printing the source."""
    if isinstance(node, gast.AST):
        return (node.__class__,) + tuple(
            _structure(getattr(node, f, None)) for f in node._fields
            if f not in ("ctx", "type_comment"))
    if isinstance(node, list):
        return tuple(_structure(x) for x in node)
    return (type(node), repr(node))


def eliminate_common_subexpressions(trace):
    """Serves straight-line code that computes the same pure value twice, at the top
    level or within one step of a loop or one side of a branch (`math.exp(-r)` in two
    helpers' formulas inlined by hand): the second statement is dropped and its name
    replaced by the first's. Each block is scanned on its own, in order; a statement
    that assigns an operand (directly or in a nested block) ends the match of the
    expressions that read it. A name read before its statement, or outside its block,
    is left alone (it may hold another step's value there)."""
    counts = {}
    for s in walk(trace.body):
        for d in defs(s):
            counts[d] = counts.get(d, 0) + 1
    stored = {d for s in walk(trace.body) if not isinstance(s, Assign) for d in defs(s)}
    for p in trace.params:
        counts[p] = counts.get(p, 0) + 1
    mapping = {}
    total = _read_counts(trace.body)
    for block in _blocks(trace.body):
        block[:] = _cse_block(block, counts, stored, mapping, total)
    if mapping:
        for s in trace.body:
            apply_renames(s, mapping)
    return bool(mapping)


def _cse_block(block, counts, stored, mapping, total):
    """One block's statements without its repeats (their names go into `mapping`).
    Linear in the block: `seen` is indexed by the operands that end a match."""
    first_read, in_block = {}, {}
    for k, s in enumerate(block):
        for x in walk([s]):
            for r in reads(x):
                first_read.setdefault(r, k)
                in_block[r] = in_block.get(r, 0) + 1
    seen = {}                      # expression source → the name that holds it
    by_operand = {}                # name → the expressions that read it
    out = []
    for k, s in enumerate(block):
        if mapping:
            apply_renames(s, mapping)
        key = None
        if isinstance(s, Assign) and counts.get(s.target) == 1 and s.target not in stored:
            key = _key(s)
            t = s.target           # read only after it, in this block
            if key is not None and key in seen and first_read.get(t, len(block)) > k \
                    and in_block.get(t, 0) == total.get(t, 0):
                mapping[t] = seen[key]
                continue
        for x in walk([s]):
            for d in defs(x):
                for e in by_operand.pop(d, ()):
                    seen.pop(e, None)
        if key is not None:
            seen[key] = s.target
            for r in set(s.reads()) | {s.target}:
                by_operand.setdefault(r, []).append(key)
        out.append(s)
    return out


def _read_counts(body):
    out = {}
    for x in walk(body):
        for r in reads(x):
            out[r] = out.get(r, 0) + 1
    return out


_EXPS = {id(np.exp), id(math.exp)}


def fuse_sigmoid(trace):
    """Find y = 1 / (1 + exp(-x)) as four straight-line statements whose temporaries
    are used once, and give the last one the sigmoid adjoint."""
    uses = {}
    for s in walk(trace.body):
        for r in reads(s):
            uses[r] = uses.get(r, 0) + 1
    found = False
    for block in _blocks(trace.body):
        by_target = {s.target: s for s in block if isinstance(s, Assign)}
        for s in block:
            if not _is_op(s, "divide") or s.args[0] != Const(1) and s.args[0] != Const(1.0):
                continue
            den = by_target.get(s.args[1])
            if den is None or uses.get(den.target) != 1 or not _is_op(den, "add"):
                continue
            one, e = den.args
            if isinstance(one, str):
                one, e = e, one
            if one not in (Const(1), Const(1.0)) or not isinstance(e, str):
                continue
            ex = by_target.get(e)
            if ex is None or uses.get(e) != 1 or not _is_exp(ex):
                continue
            neg = by_target.get(ex.args[0]) if isinstance(ex.args[0], str) else None
            if neg is None or uses.get(neg.target) != 1 or not _is_op(neg, "negative"):
                continue
            if not isinstance(neg.args[0], str):
                continue
            # the four statements must follow each other: nothing may change x between
            pos = {id(st): k for k, st in enumerate(block)}
            if [pos.get(id(t)) for t in (neg, ex, den, s)] != \
                    list(range(pos[id(neg)], pos[id(neg)] + 4)):
                continue
            for temp in (neg, ex, den):
                temp.kind = Kind.NONDIFF          # no adjoint of its own
            s.rule = SIGMOID
            s.args = [neg.args[0]]
            s.kwargs = {}
            s.fused = f"sigmoid of {neg.args[0]}"
            found = True
    return found


def _blocks(body):
    yield body
    for s in body:
        if isinstance(s, If):
            yield from _blocks(s.body)
            yield from _blocks(s.orelse)
        elif isinstance(s, (For, While)):
            yield from _blocks(s.body)


def _is_op(s, name):
    return isinstance(s, Assign) and s.kind is Kind.OP and s.rule.name == name and not s.kwargs


def _is_exp(s):
    if not (isinstance(s, Assign) and s.kind is Kind.OP and len(s.args) == 1 and not s.kwargs):
        return False
    return s.rule is rules.CALLABLES.get(id(np.exp)) or s.rule is rules.CALLABLES.get(
        id(math.exp))


def _sigmoid(y, x):
    """y = 1 / (1 + e⁻ˣ)  →  x̄ += ȳ·y·(1 - y)"""
    x_bar += y_bar * y * (1.0 - y)  # noqa: F821


def _sigmoid_tangent(y, x):
    """y = 1 / (1 + e⁻ˣ)  →  ẏ = ẋ·y·(1 - y)"""
    y_dot += x_dot * y * (1.0 - y)  # noqa: F821


# what the analyses may assume of the fused statement: those of the division it
# replaces (a number from a number, the broadcast shape, a new value)
_SIGMOID_PROPS = (rules.ELEMENTWISE, rules.SCALAR_PRESERVING, rules.FRESH, rules.PURE)
SIGMOID = rules.Rule(_sigmoid, name="sigmoid", props=_SIGMOID_PROPS)
SIGMOID_TANGENT = rules.Rule(_sigmoid_tangent, name="sigmoid", props=_SIGMOID_PROPS)


def stop_softmax_shifts(trace):
    """Serves softmax, log-softmax and log-sum-exp written by hand with the usual shift
    for stability (`z - np.max(z, axis=1, keepdims=True)`): their value does not change
    when the shift does, so the adjoint of the shift is exactly zero, and the expert
    leaves out the `max` adjoint (a mask, a count of ties, a sum) that would add terms
    cancelling to zero. Recognised, each temporary used only as shown:

        m = max(z, axis=a, keepdims=k); z1 = z - m; e = exp(z1); s = sum(e, axis=a, keepdims=k)
        (or `m = max(z, axis=a)` and `z1 = z - m[:, None]`: the axis put back)
        p = e / s                          (softmax)
        l = log(s); out = z1 - l           (log-softmax)
        l = log(s); out = m + l            (log-sum-exp; or `m[:, 0] + l` with keepdims=False
                                            on the sum and the index dropping axis a)

    The `max` is then marked `no_gradient`: no adjoint is written for it, and none flows
    from `z1` to `m`. (Any m constant along the reduced axis would do: softmax(z - m) =
    softmax(z), m + log Σ exp(z - m) = log Σ exp z; hence `keepdims=True` or no axis.)
    Any other use of a temporary, another axis or keepdims, and the pattern is left
    alone."""
    uses = {}
    for s in walk(trace.body):
        for r in reads(s):
            uses.setdefault(r, []).append(s)
    found = False
    for block in _blocks(trace.body):
        by_target = {s.target: s for s in block if isinstance(s, Assign)}
        for m in block:
            if not (_is_op_kw(m, "max_") and len(m.args) in (1, 2)      # (`z.max(-1)`)
                    and isinstance(m.args[0], str)):
                continue
            if _softmax_shift(m, by_target, uses):
                m.no_gradient = "the shift of a softmax: its value does not depend on it"
                found = True
    return found


def _reduction_options(s):
    axis = s.args[1] if len(s.args) > 1 else s.kwargs.get("axis", Const(None))
    keep = s.kwargs.get("keepdims", Const(False))
    if not isinstance(axis, Const) or not isinstance(keep, Const) or len(s.args) > 2 \
            or set(s.kwargs) - {"axis", "keepdims"}:
        return None
    return axis.value, bool(keep.value)


def _softmax_shift(m, by_target, uses):
    options = _reduction_options(m)
    if options is None:
        return False
    axis, keep = options
    z = m.args[0]
    shifted, kept = m.target, keep          # (the m the shift subtracts, with its axis)
    if axis is not None and not keep:
        # m would broadcast along another axis than it reduced, unless the shift puts the
        # axis back: `z - m[:, None]` (read nowhere else)
        views = [u for u in uses.get(m.target, []) if _is_op_kw(u, "getitem")
                 and u.args[:1] == [m.target] and _restores_axis(u.expr, axis)]
        if len(views) != 1 or len(uses.get(views[0].target, [])) != 1:
            return False
        shifted, kept = views[0].target, True

    def only(name, n=1):
        used = uses.get(name, [])
        return used if len(used) == n and all(u.target in by_target and
                                               by_target[u.target] is u for u in used
                                               if isinstance(u, Assign)) else None
    m_uses = uses.get(m.target, [])
    shift = [u for u in uses.get(shifted, []) if _is_op_kw(u, "subtract")
             and u.args == [z, shifted]]
    if len(shift) != 1:
        return False
    z1 = shift[0].target
    rest = [u for u in m_uses if u is not shift[0] and getattr(u, "target", None) != shifted]
    z1_uses = uses.get(z1, [])
    exps = [u for u in z1_uses if _is_exp(u)]
    if len(exps) != 1 or not all(isinstance(u, Assign) for u in z1_uses):
        return False
    e = exps[0].target
    e_uses = uses.get(e, [])
    sums = [u for u in e_uses if _is_op_kw(u, "sum_") and u.args[:1] == [e]]
    if len(sums) != 1 or _reduction_options(sums[0]) is None \
            or _reduction_options(sums[0])[0] != axis:
        return False
    total = sums[0]
    sum_keep = _reduction_options(total)[1]
    t_uses = only(total.target)
    if t_uses is None:
        return False
    other_e = [u for u in e_uses if u is not total]
    other_z1 = [u for u in z1_uses if u is not exps[0]]
    if not rest and not other_z1 and len(other_e) == 1 and sum_keep == kept \
            and _is_op_kw(other_e[0], "divide") and other_e[0].args == [e, total.target] \
            and t_uses[0] is other_e[0]:
        return True                                           # softmax
    if other_e or not _is_op_kw(t_uses[0], "log") or t_uses[0].args != [total.target]:
        return False
    log = t_uses[0].target
    l_uses = only(log)
    if l_uses is None:
        return False
    out = l_uses[0]
    if not rest and other_z1 == [out] and sum_keep == kept and _is_op_kw(out, "subtract") \
            and out.args == [z1, log]:
        return True                                           # log-softmax
    if other_z1 or len(rest) != 1 or not _is_op_kw(out, "add") or log not in out.args:
        return False
    back = rest[0]                                            # log-sum-exp: m added back
    if back is out and sum_keep == keep and sorted(out.args) == sorted([m.target, log]):
        return True
    return (keep and not sum_keep and _is_op_kw(back, "getitem") and back.args[:1] == [m.target]
            and only(back.target) == [out] and sorted(out.args) == sorted([back.target, log])
            and _drops_axis(back.expr, axis))


def _restores_axis(expr, axis):
    """Is `expr` `m[:, None]` with the None at position `axis` (`m[None]` for axis 0,
    `m[..., None]` for -1): m with the axis it was reduced over put back, of length 1?"""
    return _at_axis(expr, axis, lambda x: isinstance(x, gast.Constant) and x.value is None)


def _drops_axis(expr, axis):
    """Is `expr` `m[:, 0]` with the 0 at position `axis` (`m[0]` for axis 0, `m[..., 0]`
    for -1): m of keepdims=True without the axis it was reduced over?"""
    return _at_axis(expr, axis, lambda x: isinstance(x, gast.Constant)
                    and type(x.value) is int and x.value == 0)


def _at_axis(expr, axis, marker):
    """Is `expr` a subscript whose index is `marker` at position `axis` (≥ 0, or -1 after
    an Ellipsis) and full slices elsewhere?"""
    if not isinstance(expr, gast.Subscript) or not isinstance(axis, int):
        return False
    idx = expr.slice
    items = idx.elts if isinstance(idx, gast.Tuple) else [idx]

    def full(x):
        return isinstance(x, gast.Slice) and x.lower is None and x.upper is None \
            and x.step is None
    if axis == -1:
        return len(items) == 2 and isinstance(items[0], gast.Constant) \
            and items[0].value is Ellipsis and marker(items[1])
    return axis >= 0 and len(items) > axis and all(full(x) for x in items[:axis]) \
        and marker(items[axis]) and all(full(x) for x in items[axis + 1:])


def _is_op_kw(s, name):
    return isinstance(s, Assign) and s.kind is Kind.OP and s.rule.name == name


def renumber(trace, user_names):
    """After statements were dropped, number the temporaries v1, v2, ... again in
    order of definition (names the user wrote are left alone)."""
    import re
    temps = []
    for s in walk(trace.body):
        for d in defs(s):
            if re.fullmatch(r"v\d+", d) and d not in user_names and d not in temps:
                temps.append(d)
    mapping = {}
    taken = set(user_names)
    n = 0
    for t in temps:
        n += 1
        while f"v{n}" in taken:
            n += 1
        mapping[t] = f"v{n}"
    mapping = {k: v for k, v in mapping.items() if k != v}
    if not mapping:
        return
    # one simultaneous rename (each name is looked up once), so v3 → v2 and v2 → v1
    # cannot collide
    for s in trace.body:
        apply_renames(s, mapping)
        for x in walk([s]):
            if isinstance(x, Assign) and x.target in mapping:
                x.target = mapping[x.target]
                x.node = nodes.copy_location(nodes.assign(x.target, x.expr), x.node)
    trace.user_names = (set(trace.user_names) - set(mapping)) | set(mapping.values())


def triangular_solves(trace):
    """Serves code that solves with a Cholesky factor: a Gaussian process's
    `np.linalg.solve(L.T, np.linalg.solve(L, y))`, a whitening `np.linalg.solve(L, x - mu)`.
    The compilation knows the factor is triangular, so the solve is back-substitution
    (`solve_triangle`: SciPy's when installed, a third of LU's work) and so is the
    transposed solve of its adjoint, with no test of the matrix at run time.

    Triangular: the result of `np.linalg.cholesky` (lower; upper with `upper=True`), of
    `np.tril(m)` and `np.triu(m)`, their copies and transposes; each bound once, and none
    of them, nor a view of one, changed in place afterwards. (A stack of matrices, which
    `.T` does not transpose one by one, is solved by LU: `solve_triangle` back-substitutes
    only for one matrix.)"""
    count = {}
    for s in walk(trace.body):
        for d in defs(s):
            count[d] = count.get(d, 0) + 1
    lower = {}
    for s in walk(trace.body):
        if not isinstance(s, Assign) or count.get(s.target) != 1:
            continue
        side = _triangle_made(s, lower)
        if side is not None:
            lower[s.target] = side
    if not lower or _changed_in_place(trace, lower):
        return False
    rule = rules.CALLABLES[id(runtime.solve_triangle)]
    found = False
    for s in walk(trace.body):
        if isinstance(s, Assign) and s.kind is Kind.OP and s.rule is _SOLVE_RULE() \
                and len(s.args) == 2 and not s.kwargs and s.args[0] in lower:
            s.rule = rule
            s.args = [s.args[0], s.args[1], Const(lower[s.args[0]])]
            s.expr = nodes.call("solve_triangle", [nodes.operand(a) for a in s.args])
            s.fwd_node = nodes.copy_location(nodes.assign(s.target, s.expr), s.node)
            found = True
    return found


def _SOLVE_RULE():
    return rules.CALLABLES.get(id(np.linalg.solve))


def _triangle_made(s, lower):
    """True (False) if `s` makes a lower (upper) triangular matrix, else None."""
    if s.kind is Kind.COPY:
        return lower.get(s.args[0]) if isinstance(s.args[0], str) else None
    if s.kind is not Kind.OP or not s.args:
        return None
    name = s.rule.name
    if name == "cholesky" and len(s.args) == 1:
        upper = s.kwargs.get("upper", Const(False))
        return not upper.value if isinstance(upper, Const) else None
    if name in ("tril", "triu") and len(s.args) == 1 and not s.kwargs:
        return name == "tril"
    if name in ("T", "transpose") and len(s.args) == 1 and not s.kwargs \
            and s.args[0] in lower:
        return not lower[s.args[0]]       # (a stack of factors is solved by LU at run time)
    return None


def _changed_in_place(trace, lower):
    """Is one of the triangular names, or a view or copy of one, changed in place?"""
    held = set(lower)
    for s in walk(trace.body):
        if isinstance(s, Assign) and any(a in held for a in s.args if isinstance(a, str)) \
                and (s.kind is Kind.COPY or s.kind is Kind.OP and rules.VIEW in s.rule.props):
            held.add(s.target)
    for s in walk(trace.body):
        if isinstance(s, (SetItem, Append, Pop)) and s.container in held:
            return True
        if isinstance(s, Assign) and (s.in_place or s.mutable_receiver) and (
                s.target in held or any(a in held for a in s.args if isinstance(a, str))):
            return True
    return False


def optimize_trace(trace: Trace) -> bool:
    """Run the trace passes; True if anything changed."""
    changed = eliminate_common_subexpressions(trace)
    if changed:
        renumber(trace, set(nodes.names_in(trace.parsed.node)))
    changed |= fuse_sigmoid(trace)
    changed |= stop_softmax_shifts(trace)
    changed |= triangular_solves(trace)
    return changed


__all__ = ["optimize_trace", "eliminate_common_subexpressions", "fuse_sigmoid", "SIGMOID",
           "stop_softmax_shifts", "triangular_solves",
           "gast"]
