"""Stage 6 — optimize: passes over generated statements.

`fold_template` folds what rule inlining leaves constant (`y_bar / x if None is None
else ...` → `y_bar / x`). Each pass takes gast nodes and returns gast nodes with the
same meaning.
"""
import gast

from . import nodes


def _const_value(n):
    if isinstance(n, gast.Constant):
        return True, n.value
    if isinstance(n, gast.Tuple):
        vals = [_const_value(e) for e in n.elts]
        if all(ok for ok, _ in vals):
            return True, tuple(v for _, v in vals)
    return False, None


class _Fold(gast.NodeTransformer):
    def visit_Compare(self, node):
        self.generic_visit(node)
        if len(node.ops) != 1:
            return node
        ok_l, left = _const_value(node.left)
        ok_r, right = _const_value(node.comparators[0])
        if not (ok_l and ok_r):
            return node
        op = node.ops[0]
        if isinstance(op, gast.Is):
            return nodes.const(left is right)
        if isinstance(op, gast.IsNot):
            return nodes.const(left is not right)
        return node

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        ok, v = _const_value(node.operand)
        if ok and isinstance(node.op, gast.Not):
            return nodes.const(not v)
        return node

    def visit_BoolOp(self, node):
        self.generic_visit(node)
        vals = [_const_value(v) for v in node.values]
        if all(ok for ok, _ in vals):
            if isinstance(node.op, gast.And):
                return nodes.const(all(v for _, v in vals))
            return nodes.const(any(v for _, v in vals))
        return node

    def visit_IfExp(self, node):
        self.generic_visit(node)
        ok, v = _const_value(node.test)
        if ok:
            return node.body if v else node.orelse
        return node


def fold_template(expr):
    """Fold constant tests left by binding template options to constants."""
    return _Fold().visit(expr)


def optimize_function(fdef):
    """The optimizer's entry: runs the passes over one generated function."""
    return fdef
