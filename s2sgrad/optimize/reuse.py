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
    known = {}                      # key of a value (`_key`) → the name that holds it
    readers = {}                    # name → keys of the known values that read it
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
        if isinstance(st, gast.Expr) and isinstance(st.value, gast.Constant):
            out.append(st)              # a comment
            continue
        key = None
        if isinstance(st, (gast.Assign, gast.AugAssign, gast.Return)) \
                and st.value is not None:
            value, changed, key = _rewrite(st.value, known, top=True)
            if changed:
                st = copy.copy(st)
                st.value = value
        target = single_target(st)
        simple = target is not None and isinstance(st.value, _SHAPES) and pure(st.value)
        for name in ({target} if simple else effects(st)):
            for k in readers.pop(name, ()):
                known.pop(k, None)
        if simple:
            reads = loads(st.value)
            if target not in reads:
                known.setdefault(key, target)
                for name in reads | {target}:
                    readers.setdefault(name, []).append(key)
        out.append(st)
    return out


def _replace(node, known, top=False):
    """(`node` with its parts that repeat a known value read from its name, whether any
    did); new nodes along the changed paths only, bottom up (`1.0 / (1.0 + v10)` is
    `1.0 / v13`, then `v14`). Not `node` itself when `top`: a whole repeated value is a
    copy, which the trace's common subexpressions pass handles."""
    node, changed, _ = _rewrite(node, known, top)
    return node, changed


def _rewrite(node, known, top=False):
    """(node, changed, key): `_replace` with the structural key of the result (`_key`),
    made from the children's keys (one walk, not one per part)."""
    changes, keys = {}, []
    present = node.__dict__
    for field in node._fields:
        if field == "ctx" or field not in present:
            continue
        value = present[field]
        if isinstance(value, gast.AST):
            new, changed, key = _rewrite(value, known)
            if changed:
                changes[field] = new
            keys.append((field, key))
        elif isinstance(value, list):
            items = [_rewrite(v, known) if isinstance(v, gast.AST) else (v, False, v)
                     for v in value]
            if any(changed for _, changed, _ in items):
                changes[field] = [v for v, _, _ in items]
            keys.append((field, tuple(k for _, _, k in items)))
        else:
            keys.append((field, (type(value).__name__, value)))
    if changes:
        node = copy.copy(node)
        for field, value in changes.items():
            setattr(node, field, value)
    key = (type(node).__name__, tuple(keys))
    if isinstance(node, _SHAPES) and not top:
        name = known.get(key)
        if name is not None:
            read = gast.Name(id=name, ctx=gast.Load(), annotation=None, type_comment=None)
            return read, True, _rewrite(read, {}, True)[2]
    return node, bool(changes), key


def _key(node):
    """The structural key of an expression: equal for equal expressions (operators,
    operands, constants and their types), as `gast.dump` but without its strings."""
    return _rewrite(node, {}, True)[2]
