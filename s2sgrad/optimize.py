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
    if isinstance(n, gast.UnaryOp) and isinstance(n.op, gast.USub) \
            and isinstance(n.operand, gast.Constant):
        return True, -n.operand.value
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
    fdef.body = first_writes(fdef.body)
    fdef.body = simplify(fdef.body)
    fdef.body = dead_adjoints(fdef.body, set())
    return fdef


# ------------------------------------------------------------ first writes

def _is_zero(node):
    return isinstance(node, gast.Constant) and type(node.value) in (int, float) \
        and node.value == 0


def _accumulation(stmt):
    """(name, added value) for `x_bar = x_bar + e` / `x_bar = add_grads(x_bar, e)`."""
    if not (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name)):
        return None
    name, v = stmt.targets[0].id, stmt.value
    if isinstance(v, gast.BinOp) and isinstance(v.op, gast.Add) and nodes.is_name(v.left, name):
        return name, v.right
    if isinstance(v, gast.Call) and nodes.is_name(v.func, "add_grads") and len(v.args) == 2 \
            and nodes.is_name(v.args[0], name):
        return name, v.args[1]
    return None


def _stores(stmt):
    return {n.id for n in gast.walk(stmt) if isinstance(n, gast.Name)
            and isinstance(n.ctx, gast.Store)}


def _zeros(stmts, zero, rewrite):
    """Walk statements with the set of names known to hold 0.0; with `rewrite`, turn an
    addition to a known zero into a definition. Returns the set after the block."""
    zero = set(zero)
    for i, st in enumerate(stmts):
        if isinstance(st, gast.If):
            a = _zeros(st.body, zero, rewrite)
            b = _zeros(st.orelse, zero, rewrite)
            zero = a & b
            continue
        if isinstance(st, (gast.For, gast.While)):
            entry = set(zero)
            while True:
                end = _zeros(st.body, entry, False)
                new = entry & end
                if new == entry:
                    break
                entry = new
            if rewrite:
                _zeros(st.body, entry, True)
            zero = entry - _stores_shallow(st)
            continue
        acc = _accumulation(st)
        if acc and acc[0] in zero:
            if rewrite:
                st.value = acc[1]
            zero.discard(acc[0])
            continue
        if isinstance(st, gast.Assign) and isinstance(st.targets[0], gast.Name) \
                and _is_zero(st.value):
            zero.add(st.targets[0].id)
            continue
        zero -= _stores(st)
    return zero


def _stores_shallow(loop):
    out = set()
    if isinstance(loop, gast.For):
        out |= _stores(loop.target)
    return out


def first_writes(body):
    """`x_bar = x_bar + e` where x_bar is known to be 0.0 becomes `x_bar = e`."""
    _zeros(body, set(), True)
    return body


# ------------------------------------------------------------ algebra

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


# ------------------------------------------------------------ dead adjoints

def _removable(st):
    if not (isinstance(st, gast.Assign) and isinstance(st.targets[0], gast.Name)):
        return None
    name = st.targets[0].id
    if not name.endswith("_bar"):
        return None
    for n in gast.walk(st.value):
        if isinstance(n, gast.Attribute) and n.attr in ("pop", "append"):
            return None
    return name


def _loads(node):
    return {n.id for n in gast.walk(node) if isinstance(n, gast.Name)
            and isinstance(n.ctx, gast.Load)}


def _live_block(stmts, live_out, remove):
    """Backward liveness over a block; with `remove`, drop dead adjoint assignments.
    Returns (new statements, live-in set)."""
    live = set(live_out)
    out = []
    for st in reversed(stmts):
        if isinstance(st, gast.If):
            body, lb = _live_block(st.body, live, remove)
            orelse, lo = _live_block(st.orelse, live, remove)
            if remove:
                st.body = body or [gast.Pass()]
                st.orelse = orelse
            live = lb | lo | _loads(st.test)
            out.append(st)
            continue
        if isinstance(st, (gast.For, gast.While)):
            head = _loads(st.iter) if isinstance(st, gast.For) else _loads(st.test)
            entry = set(live)
            while True:
                _, inner = _live_block(st.body, entry | live, False)
                new = entry | inner
                if new == entry:
                    break
                entry = new
            if remove:
                body, _ = _live_block(st.body, entry | live, True)
                st.body = body or [gast.Pass()]
            live = entry | live | head
            out.append(st)
            continue
        name = _removable(st)
        if name is not None and name not in live:
            if not remove:
                out.append(st)
            continue
        live -= _stores(st) if isinstance(st, gast.Assign) and not isinstance(
            st.targets[0], gast.Subscript) else set()
        live |= _loads(st)
        out.append(st)
    return list(reversed(out)), live


def dead_adjoints(body, live_out):
    """Remove adjoint assignments whose value is never read."""
    new, _ = _live_block(body, live_out, True)
    return new


def drop_broadcast(expr, s, scalars):
    """`unbroadcast(e, a)` → `e` and `match_shape(t, y)` → `t` where the shapes agree
    statically: every other operand of statement `s` is a number (or `a` itself)."""
    operands = [a for a in list(s.args) + list(s.kwargs.values())]

    def others_scalar(name):
        from .nodes import Const
        for a in operands:
            if isinstance(a, Const):
                if not isinstance(a.value, (int, float)) and a.value is not None:
                    return False
            elif a != name and a not in scalars:
                return False
        return True

    class _Drop(gast.NodeTransformer):
        def visit_Call(self, node):
            self.generic_visit(node)
            f = node.func
            if isinstance(f, gast.Name) and len(node.args) == 2 and not node.keywords:
                if f.id == "unbroadcast" and isinstance(node.args[1], gast.Name) \
                        and others_scalar(node.args[1].id):
                    return node.args[0]
                if f.id == "match_shape" and isinstance(node.args[0], gast.Name) \
                        and node.args[0].id.endswith("_dot") \
                        and others_scalar(node.args[0].id[:-4]):
                    return node.args[0]
            return node
    return _Drop().visit(expr)
