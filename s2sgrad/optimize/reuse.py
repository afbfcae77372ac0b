"""Reuse of computed values: within straight-line code, a part of an expression that
repeats an assignment's whole value (`1.0 + v10` after `v13 = 1.0 + v10`) reads the
assigned name instead.

Serves adjoint formulas that repeat a forward operation: the rule of `log1p(x)` divides
by `1.0 + x`, the one of `sqrt` by `2.0 * y`, and the user's code may have computed the
same value already (`1.0 + math.exp(-z)` in a sigmoid written by hand next to
`math.log1p(math.exp(-z))`). Most visible in scalar code, where each operation is an
interpreter step: in a loop whose forward step is recomputed beside its adjoint (`fuse`),
forward and backward share one block. The value read is bit for bit the one recomputed
(the same operation on the same operands).

A block's candidates are its single-name assignments of pure operators and NumPy/math
calls; a candidate ends where its name or a name it reads is assigned again (or where
anything may change them: see `facts.effects`). Branches and loop bodies are blocks of
their own, starting with nothing known.
"""
import copy

import gast

from .facts import effects, loads, pure, single_target

_SHAPES = (gast.BinOp, gast.UnaryOp, gast.Call)


def reuse_values(body):
    """The pass over a function's statements (and its blocks'): a new list; statements
    it changes are new nodes (the gradient and its value twin share statements)."""
    known = {}                      # dump of a value → the name that holds it
    readers = {}                    # name → dumps of the known values that read it
    out = []
    for st in body:
        if isinstance(st, (gast.If, gast.For, gast.While)):
            inner = {b: reuse_values(getattr(st, b)) for b in ("body", "orelse")}
            if any(new != getattr(st, b) for b, new in inner.items()):
                st = copy.copy(st)
                for b, new in inner.items():
                    setattr(st, b, new)
            known.clear()
            readers.clear()
            out.append(st)
            continue
        if known and isinstance(st, (gast.Assign, gast.AugAssign, gast.Return)) \
                and st.value is not None:
            value, changed = _replace(st.value, known, top=True)
            if changed:
                st = copy.copy(st)
                st.value = value
        for name in effects(st):
            for key in readers.pop(name, ()):
                known.pop(key, None)
        target = single_target(st)
        if target is not None and isinstance(st.value, _SHAPES) and pure(st.value) \
                and target not in loads(st.value):
            key = gast.dump(st.value)
            known.setdefault(key, target)
            for name in loads(st.value) | {target}:
                readers.setdefault(name, []).append(key)
        out.append(st)
    return out


def _replace(node, known, top=False):
    """(`node` with its parts that repeat a known value read from its name, whether any
    did); new nodes along the changed paths only, bottom up (`1.0 / (1.0 + v10)` is
    `1.0 / v13`, then `v14`). Not `node` itself when `top`: a whole repeated value is a
    copy, which the trace's common subexpressions pass handles."""
    changes = {}
    for field, value in gast.iter_fields(node):
        if isinstance(value, gast.AST) and not isinstance(value, gast.expr_context):
            new, changed = _replace(value, known)
            if changed:
                changes[field] = new
        elif isinstance(value, list):
            items = [_replace(v, known) if isinstance(v, gast.AST) else (v, False)
                     for v in value]
            if any(changed for _, changed in items):
                changes[field] = [v for v, _ in items]
    if changes:
        node = copy.copy(node)
        for field, value in changes.items():
            setattr(node, field, value)
    if isinstance(node, _SHAPES) and not top:
        name = known.get(gast.dump(node))
        if name is not None:
            return gast.Name(id=name, ctx=gast.Load(), annotation=None,
                             type_comment=None), True
    return node, bool(changes)
