"""Algebraic simplification of generated expressions: `g * 1.0`, `0 + g`, `a + -b`,
`-(-g)`, `np.sum(-g)` (serves what rule templates leave after their options are bound). A value of the
user's (`b = a * 1.0`) is never made a second name of its operand: it may be changed in
place."""
import gast

from ..syntax import nodes
from .facts import changed_in_place


class _Simplify(nodes.Transformer):
    def __init__(self, body=()):
        self.body, self._mutated = body, None

    @property
    def mutated(self):
        """The names the statements change in place (computed when first asked)."""
        if self._mutated is None:
            self._mutated = set()
            for st in nodes.flat(self.body):
                self._mutated |= changed_in_place(st)
        return self._mutated

    def visit_Assign(self, node):
        top = node.value
        self.generic_visit(node)
        if node.value is not top and not isinstance(node.value, (gast.BinOp, gast.UnaryOp)) \
                and (not _adjoint_target(node) or isinstance(node.value, gast.Name)
                     and node.value.id in self.mutated):
            # `b = a * 1.0` in the user's code makes a new array that `b[0] = ...` may
            # change; `b = a` would change `a` too (adjoints are never changed in place
            # unless `in_place` proves them unshared). Likewise `a_bar = 1.0 * b` of a
            # value the code changes in place later (`restore_item(b, 0, ...)`, `b[0] =
            # v`): `a_bar = b` would read the changed value
            node.value = top
        return node

    def visit_BinOp(self, node):
        self.generic_visit(node)
        l, r, op = node.left, node.right, node.op
        if isinstance(op, gast.Add) and isinstance(r, gast.UnaryOp) \
                and isinstance(r.op, gast.USub):
            return gast.BinOp(left=l, op=gast.Sub(), right=r.operand)
        if isinstance(op, gast.Sub) and isinstance(r, gast.UnaryOp) \
                and isinstance(r.op, gast.USub):
            return gast.BinOp(left=l, op=gast.Add(), right=r.operand)
        if isinstance(op, (gast.Mult, gast.Div)) and isinstance(l, gast.UnaryOp) \
                and isinstance(l.op, gast.USub):
            return gast.UnaryOp(op=gast.USub(), operand=gast.BinOp(left=l.operand, op=op,
                                                                    right=r))
        if isinstance(op, gast.Mult):
            if _is_one(r):
                return l
            if _is_one(l):
                return r
        if isinstance(op, gast.Div) and _is_one(r):
            return l
        return node

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, gast.USub) and isinstance(node.operand, gast.UnaryOp) \
                and isinstance(node.operand.op, gast.USub):
            return node.operand.operand
        return node


class _Reductions(nodes.Transformer):
    def visit_Call(self, node):
        self.generic_visit(node)
        f = node.func
        if isinstance(f, gast.Attribute) and f.attr in ("sum", "mean") \
                and isinstance(f.value, gast.Name) and f.value.id == "np" and node.args \
                and len(node.args) <= 2 and isinstance(node.args[0], gast.UnaryOp) \
                and isinstance(node.args[0].op, gast.USub) \
                and all(k.arg in ("axis", "keepdims") for k in node.keywords):
            node.args[0] = node.args[0].operand
            return gast.UnaryOp(op=gast.USub(), operand=node)
        return node


def negated_reductions(body):
    """`np.sum(-g, axis=1)` → `-np.sum(g, axis=1)`: the sign of the reduced array, not of
    every element (a negation is exact: the same bits). Serves the adjoints of
    subtractions summed over broadcast axes (`unbroadcast(-v, b)` spelled out), after
    the passes that write them."""
    return [_Reductions().visit(st) for st in body]


def _adjoint_target(node):
    """Does the assignment bind an adjoint or a tangent (`x_bar`, `x_dot`)?"""
    return len(node.targets) == 1 and isinstance(node.targets[0], gast.Name) \
        and node.targets[0].id.endswith(("_bar", "_dot"))


def _is_one(node):
    return isinstance(node, gast.Constant) and type(node.value) in (int, float) \
        and node.value == 1


def simplify(body):
    """Algebraic clean-ups: `a + -b` → `a - b`, `g * 1.0` → `g`, `-(-g)` → `g`."""
    simplifier = _Simplify(body)
    return [simplifier.visit(st) for st in body]
