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
import gast

from .facts import effects, loads, pure, single_target

_SHAPES = (gast.BinOp, gast.UnaryOp, gast.Call)


def reuse_values(body):
    """The pass over a function's statements (and its blocks'); changes them in place."""
    known = {}                      # dump of a value → the name that holds it
    readers = {}                    # name → dumps of the known values that read it
    for st in body:
        for block in ("body", "orelse"):
            inner = getattr(st, block, None)
            if isinstance(inner, list) and inner and not isinstance(st, gast.Expr):
                reuse_values(inner)
        if isinstance(st, (gast.If, gast.For, gast.While)):
            known.clear()
            readers.clear()
            continue
        if known and isinstance(st, (gast.Assign, gast.AugAssign, gast.Return)) \
                and st.value is not None:
            st.value = _replace(st.value, known, top=True)
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
    return body


def _replace(node, known, top=False):
    """`node` with its parts that repeat a known value read from its name (not `node`
    itself when `top`: a whole repeated value is a copy, the trace's common
    subexpressions pass handles it)."""
    if isinstance(node, _SHAPES) and not top:
        name = known.get(gast.dump(node))
        if name is not None:
            return gast.Name(id=name, ctx=gast.Load(), annotation=None, type_comment=None)
    for field, value in gast.iter_fields(node):
        if isinstance(value, gast.AST) and not isinstance(value, gast.expr_context):
            setattr(node, field, _replace(value, known))
        elif isinstance(value, list):
            setattr(node, field, [_replace(v, known) if isinstance(v, gast.AST) else v
                                  for v in value])
    return node
