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

from ..syntax import emit
from ..syntax import nodes
from .. import rules
from ..syntax.nodes import Const
from ..ir.statements import Assign, If, For, While, Return, Trace, Kind, walk, defs
from ..ir import apply_renames


def _key(s):
    if s.kind is not Kind.OP or s.tangent_only or rules.PURE not in s.rule.props:
        return None
    return emit.expression_source(s.expr)


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
    readers = _readers(trace.body)
    for block in _blocks(trace.body):
        block[:] = _cse_block(block, counts, stored, mapping, readers)
    if mapping:
        for s in trace.body:
            apply_renames(s, mapping)
    return bool(mapping)


def _cse_block(block, counts, stored, mapping, readers):
    """One block's scan. `readers`: {name: how many statements of the function read it}
    (a name is only renamed at its own statement, so its count holds during the scan);
    a name may be replaced when the statements after its own in this block are all its
    readers (`later`: the block's readers less those up to the current statement)."""
    seen = {}                      # expression source → (its name, its operands)
    out = []
    later = _readers(block)
    for s in block:
        if mapping:
            apply_renames(s, mapping)
        for n, c in _readers([s]).items():
            later[n] = later.get(n, 0) - c     # (a renamed read may be new here)
        key = None
        if isinstance(s, Assign) and counts.get(s.target) == 1 and s.target not in stored:
            key = _key(s)
            if key is not None and key in seen \
                    and later.get(s.target, 0) == readers.get(s.target, 0):
                mapping[s.target] = seen[key][0]
                continue
        assigned = {d for x in walk([s]) for d in defs(x)}
        if assigned:
            seen = {e: (name, ops) for e, (name, ops) in seen.items()
                    if not (ops & assigned) and name not in assigned}
        if key is not None:
            seen[key] = (s.target, set(s.reads()))
        out.append(s)
    return out


def _readers(body):
    """{name: how many statements of `body` (nested ones included) read it}."""
    out = {}
    for x in walk(body):
        for n in set(_reads(x)):
            out[n] = out.get(n, 0) + 1
    return out


def _reads(s):
    """The names one statement reads (not those of its nested blocks)."""
    if isinstance(s, (If, While)):
        return [s.test]
    if isinstance(s, For):
        return [a for a in s.range_args if isinstance(a, str)]
    if isinstance(s, Return):
        return [s.value] if isinstance(s.value, str) else []
    return s.reads() if hasattr(s, "reads") else []


_EXPS = {id(np.exp), id(math.exp)}


def fuse_sigmoid(trace):
    """Find y = 1 / (1 + exp(-x)) as four straight-line statements whose temporaries
    are used once, and give the last one the sigmoid adjoint."""
    uses = {}
    for s in walk(trace.body):
        for r in _reads(s):
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


def optimize_trace(trace: Trace) -> bool:
    """Run the trace passes; True if anything changed."""
    changed = eliminate_common_subexpressions(trace)
    if changed:
        renumber(trace, set(nodes.names_in(trace.parsed.node)))
    changed |= fuse_sigmoid(trace)
    return changed


__all__ = ["optimize_trace", "eliminate_common_subexpressions", "fuse_sigmoid", "SIGMOID",
           "gast"]
