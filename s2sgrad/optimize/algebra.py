"""Algebraic simplification of generated expressions: `g * 1.0`, `0 + g`, `a + -b`,
`-(-g)` (serves what rule templates leave after their options are bound)."""
import gast


class _Simplify(gast.NodeTransformer):
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


def _is_one(node):
    return isinstance(node, gast.Constant) and type(node.value) in (int, float) \
        and node.value == 1


def simplify(body):
    """Algebraic clean-ups: `a + -b` → `a - b`, `g * 1.0` → `g`, `-(-g)` → `g`."""
    return [_Simplify().visit(st) for st in body]
