"""Facts about loops that let the reverse pass save less per step.

A name that lives within one step of a loop (`step_locals`: bound once, at the top
level of the loop's body, read only after that binding in the same step) needs no value
from before the step: the forward loop pushes its value *after* binding it and the
backward step pops it first, so no `x = None` placeholder and no saved old value.

Such a name bound by a cheap read of something the loop never changes
(`rereadable`: `wi = w[i]` of a list or array nobody rebinds or changes in place, by the
loop's own index) is not saved at all: the backward step reads it again. Serves every
loop that walks lists or arrays by index (dot products, recurrences over sequences,
neurons written with lists).
"""
import gast

from .analyses import _reads_of
from .shape_classes import changed_in_place
from .statements import Assign, For, While, walk, defs, Kind


def _loops(body):
    for s in walk(body):
        if isinstance(s, (For, While)):
            yield s


def step_locals(trace, names):
    """{name: (loop, statement)} for the names of `names` that live within one step of
    the loop `loop`, bound by `statement`."""
    counts, reads = {}, {}
    for s in walk(trace.body):
        for d in defs(s):
            counts[d] = counts.get(d, 0) + 1
        for r in _reads_of(s):
            reads[r] = reads.get(r, 0) + 1
        if isinstance(s, Assign):
            for e in s.extra_targets:
                counts[e] = counts.get(e, 0) + 2           # bound by a call: leave it
    result = trace.body[-1].value
    out = {}
    for loop in _loops(trace.body):
        inside = {}
        for s in walk(loop.body):
            for r in _reads_of(s):
                inside[r] = inside.get(r, 0) + 1
        earlier = set()                 # names read so far in the step
        for s in loop.body:
            if isinstance(s, Assign) and s.target in names and counts.get(s.target) == 1 \
                    and s.target not in trace.params and s.target != result \
                    and s.target not in earlier \
                    and inside.get(s.target, 0) == reads.get(s.target, 0):
                out[s.target] = (loop, s)
            for x in walk([s]):
                earlier.update(_reads_of(x))
    return out


def rereadable(trace, loop, s, restored=frozenset()):
    """Is `s` (binding a step-local name of `loop`) a cheap read the backward step can
    do again: `x[i]` (ints or names as the index) of a name `x` the code never rebinds
    nor changes in place, by the loop's index or names the loop never changes (or that
    the backward pass restores: `restored`)?"""
    if not (s.kind is Kind.OP and s.rule.name == "getitem" and s.args
            and isinstance(s.args[0], str) and not s.tangent_only):
        return False
    index = s.expr.slice
    parts = index.elts if isinstance(index, gast.Tuple) else [index]
    if not all(isinstance(p, (gast.Name, gast.Constant)) for p in parts):
        return False
    if changed_in_place(walk(trace.body)):
        return False                   # (an alias of the container might change)
    in_loop = {d for x in walk(loop.body) for d in defs(x)}
    target = loop.target if isinstance(loop, For) else None
    names = [s.args[0]] + [p.id for p in parts if isinstance(p, gast.Name) and p.id != target]
    return all(n not in in_loop and (n not in trace.overwritten or n in restored)
               for n in names)
