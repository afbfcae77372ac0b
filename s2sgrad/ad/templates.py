"""The rule-template engine's folding: what binding a rule's options to constants leaves
(`y_bar / x if None is None else ...` → `y_bar / x`, `unbroadcast(e, a)` where the
shapes agree statically → `e`). Reverse and forward mode instantiate rules through it.
"""
import inspect

import gast

from .. import runtime
from ..syntax import nodes


def _const_value(n):
    if isinstance(n, gast.Constant):
        return True, n.value
    if isinstance(n, gast.UnaryOp) and isinstance(n.op, gast.USub) \
            and isinstance(n.operand, gast.Constant):
        return True, -n.operand.value
    if isinstance(n, gast.Tuple):
        vals = [_const_value(e) for e in n.elts]
        if all(ok for ok, _ in vals):
            return True, tuple(v for _, v in vals)
    return False, None


class _Fold(nodes.Transformer):
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

    def visit_Call(self, node):
        self.generic_visit(node)
        if node.keywords and isinstance(node.func, gast.Name):
            unset = _none_defaults(node.func.id)
            node.keywords = [k for k in node.keywords if not (
                k.arg in unset and isinstance(k.value, gast.Constant)
                and k.value.value is None)]
        return node

    def visit_BinOp(self, node):
        self.generic_visit(node)
        ok_l, left = _const_value(node.left)
        ok_r, right = _const_value(node.right)
        numbers = (int, float)
        if ok_l and ok_r and type(left) in numbers and type(right) in numbers:
            op = _ARITH.get(type(node.op))
            if op is not None:
                try:
                    value = op(left, right)
                except (ArithmeticError, ValueError):
                    return node
                return nodes.const(value) if value >= 0 else gast.UnaryOp(
                    op=gast.USub(), operand=nodes.const(-value))
        if isinstance(node.op, gast.Pow) and ok_r and type(right) in numbers:
            if right == 1:
                return node.left
            if right == 0:
                return nodes.const(1.0)
        return node


_ARITH = {gast.Add: lambda a, b: a + b, gast.Sub: lambda a, b: a - b,
          gast.Mult: lambda a, b: a * b, gast.Pow: lambda a, b: a ** b}


_NONE_DEFAULTS = {}


def _none_defaults(name):
    """The keywords of runtime helper `name` that default to None: `k=None` passed to one
    says nothing (`diff_grad(g, x, 1, -1, prepend=None)` is `diff_grad(g, x, 1, -1)`)."""
    if name not in _NONE_DEFAULTS:
        helper = getattr(runtime, name, None)
        try:
            params = inspect.signature(helper).parameters.values() if callable(helper) else ()
        except (TypeError, ValueError):
            params = ()
        keyword = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        _NONE_DEFAULTS[name] = frozenset(p.name for p in params
                                         if p.default is None and p.kind in keyword)
    return _NONE_DEFAULTS[name]


def fold_template(expr):
    """Fold constant tests left by binding template options to constants."""
    return _Fold().visit(expr)


class _Drop(nodes.Transformer):
    """The rewrite of `drop_broadcast` (a class made once: it runs per adjoint term)."""

    def __init__(self, others_scalar):
        self.others_scalar = others_scalar

    def visit_Call(self, node):
        self.generic_visit(node)
        f = node.func
        if isinstance(f, gast.Name) and len(node.args) == 2 and not node.keywords:
            if f.id == "unbroadcast" and isinstance(node.args[1], gast.Name) \
                    and self.others_scalar(node.args[1].id):
                return node.args[0]
            if f.id == "match_shape" and isinstance(node.args[0], gast.Name) \
                    and node.args[0].id.endswith("_dot") \
                    and self.others_scalar(node.args[0].id[:-4]):
                return node.args[0]
        return node


def drop_broadcast(expr, s, scalars, classes=None, containers=frozenset()):
    """`unbroadcast(e, a)` → `e` and `match_shape(t, y)` → `t` where the shapes agree
    statically: every other operand of statement `s` is a number (or `a` itself), or
    `a` and the result are of one shape class (`trace.shape_classes`). Not for `a * k`
    of an `a` that may be a list (`containers`): an int k repeats it, and the
    unbroadcast left in refuses the adjoint of the longer list at run time."""
    operands = [a for a in list(s.args) + list(s.kwargs.values())]
    same = classes.get(s.target) if classes else None
    repeats = getattr(s.rule, "name", None) == "multiply"

    def others_scalar(name):
        from ..syntax.nodes import Const
        if repeats and name in containers:
            return False
        if same is not None and classes.get(name) == same:
            return True
        for a in operands:
            if isinstance(a, Const):
                if not isinstance(a.value, (int, float)) and a.value is not None:
                    return False
            elif a != name and a not in scalars:
                return False
        return True

    return _Drop(others_scalar).visit(expr)
