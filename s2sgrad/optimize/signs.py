"""Optimizer pass — negations. Entry: `fold_negations` (run by
`optimize.optimize_function`).

The adjoint of a subtraction is a negation: one more pass over an array unless the
sign goes where it costs nothing (a sum that subtracts instead, a number factor).
"""
import gast

from ..syntax import nodes
from .facts import loads, name_counts, single_target, unchanged


def fold_negations(fdef):
    """The adjoint of a subtraction is a negation, one more pass over an array. Where
    the negated adjoint is read once, the sign travels to where it costs nothing:

    * into the sum that reads it: `n_bar = -m_bar` ... `x_bar = x_bar + n_bar * d`
      → `x_bar = x_bar - m_bar * d`; through products read once on the way, whose
      names say that they hold the negative (`b_bar = -(c_bar * s)`;
      `a_bar = b_bar / q`; `y_bar = y_bar + 2.0 * a_bar * y` → `neg_b_bar = c_bar * s`;
      `neg_a_bar = neg_b_bar / q`; `y_bar = y_bar - 2.0 * neg_a_bar * y`);
    * into the first factor of the product it negates: `m_bar = s_bar * 2 * v` ...
      `n_bar = -m_bar` → `n_bar = -s_bar * 2 * v` (a number negated, when s̄ is one).

    Only for adjoints bound once and read once, in one block, with nothing in between
    changing what a moved expression reads."""
    n_loads, n_stores = name_counts(fdef)
    taken = set(n_loads) | set(n_stores) | {a.id for a in fdef.args.args}

    def once(name):
        return name.endswith("_bar") and n_loads.get(name) == 1 and n_stores.get(name) == 1

    def block(stmts):
        for st in stmts:
            if isinstance(st, (gast.If, gast.For, gast.While)):
                block(st.body)
                block(st.orelse)
        k = 0
        while k < len(stmts):
            if _carry_sign(stmts, k, once, taken):
                continue                  # stmts[k] changed or is gone: look again
            if _sign_into_product(stmts, k, once):
                continue                  # stmts[k] is gone; look at what is there now
            k += 1
    block(fdef.body)


def _carry_sign(stmts, d, once, taken):
    """`n = -(e)` at `d`, read once: follow the sign through the products read once
    that carry it (`m = n / q`) to a sum (or a negation) that takes it. Only if one
    does: `neg_n = e`, `neg_m = neg_n / q`, and the sum subtracts (for `n = -m`, the
    readers read m instead). Returns whether it rewrote."""
    head = stmts[d]
    n = single_target(head)
    if n is None or not once(n) or not _negation(head.value):
        return False
    chain = [(d, n)]                    # statements whose names hold the negative
    while True:
        k, name = chain[-1]
        reader = _reader(stmts, k, name)
        how = None if reader is None else _sign_site(stmts[reader], name)
        if how is None:
            return False
        if how[0] != "define":
            break
        m = single_target(stmts[reader])
        if not once(m):
            return False
        chain.append((reader, m))
    operand = head.value.operand
    renamed = {}
    if isinstance(operand, gast.Name):
        # `n = -m`: the negative of n has a name already: read m where n was read
        first = chain[1][0] if len(chain) > 1 else reader
        if not unchanged(stmts, d, first, {operand.id}):
            return False
        renamed[n] = operand.id
        chain = chain[1:]
    else:
        head.value = operand
    for _, name in chain:
        renamed[name] = nodes.fresh_name("neg_" + name, taken)
        taken.add(renamed[name])
    for k, name in chain:
        st = stmts[k]
        st.targets[0] = nodes.name(renamed[name], store=True)
        for x in nodes.walk(st.value):
            if isinstance(x, gast.Name) and x.id in renamed:
                x.id = renamed[x.id]
    last = chain[-1][1] if chain else n
    _flip(stmts[reader], how, last, renamed[last])
    if n not in [name for _, name in chain]:
        del stmts[d]
    return True


def _flip(st, how, name, new):
    """Read `new` (the negative of `name`) in st, and take the sign where `how` says."""
    for x in nodes.walk(st.value):
        if isinstance(x, gast.Name) and x.id == name:
            x.id = new
    kind, where = how
    if kind in ("sum", "aug"):
        where.op = gast.Sub() if isinstance(where.op, gast.Add) else gast.Add()
    elif kind == "swap":
        where.left, where.right = where.right, where.left
        where.op = gast.Sub()
    elif kind == "cancel":
        grand, neg, x = where
        if grand is None:
            st.value = x
        else:
            _replace_child(grand, neg, x)


def _reader(stmts, k, n):
    for j in range(k + 1, len(stmts)):
        if n in loads(stmts[j]):
            return j
    return None


def _sign_site(st, n):
    """Where a sign on `n` can go in `st`: ("sum", parent) — parent is the `+`/`-`
    whose right side is the product holding n; ("swap", parent) — `product + r`;
    ("cancel", ...) — a negation of the product; ("aug", st) — `x += product`;
    ("define", st) — `m = product` (the sign then rides on m). None if nowhere."""
    if not isinstance(st, (gast.Assign, gast.AugAssign)):
        return None
    path = _path_to(st.value, n)
    if path is None:
        return None
    top = len(path) - 1                       # climb the * and / above n
    while top > 0 and isinstance(path[top - 1], gast.BinOp) \
            and isinstance(path[top - 1].op, (gast.Mult, gast.Div)):
        top -= 1
    x = path[top]
    parent = path[top - 1] if top > 0 else None
    if parent is None:
        if isinstance(st, gast.AugAssign):
            return ("aug", st) if isinstance(st.op, (gast.Add, gast.Sub)) else None
        if len(st.targets) == 1 and isinstance(st.targets[0], gast.Name):
            return ("define", st)
        return None
    if isinstance(parent, gast.BinOp) and isinstance(parent.op, (gast.Add, gast.Sub)) \
            and parent.right is x:
        return ("sum", parent)
    if isinstance(parent, gast.BinOp) and isinstance(parent.op, gast.Add) and parent.left is x:
        return ("swap", parent)
    if isinstance(parent, gast.UnaryOp) and isinstance(parent.op, gast.USub):
        return ("cancel", (path[top - 2] if top > 1 else None, parent, x))
    return None


def _path_to(expr, n):
    """The nodes from `expr` down to the Name `n` (through operators only)."""
    if isinstance(expr, gast.Name):
        return [expr] if expr.id == n else None
    children = []
    if isinstance(expr, gast.BinOp):
        children = [expr.left, expr.right]
    elif isinstance(expr, gast.UnaryOp):
        children = [expr.operand]
    for c in children:
        p = _path_to(c, n)
        if p is not None:
            return [expr] + p
    return None


def _replace_child(parent, old, new):
    for field, child in gast.iter_fields(parent):
        if child is old:
            setattr(parent, field, new)
            return


def _sign_into_product(stmts, k, once):
    """`m = p` (read once) ... `n = -m` → `n = -p`, the sign on p's first factor."""
    st = stmts[k]
    value = st.value if isinstance(st, gast.Assign) else None
    if value is None or not _negated_name(value) or not once(value.operand.id):
        return False
    for d in range(k - 1, -1, -1):
        if single_target(stmts[d]) == value.operand.id:
            if not unchanged(stmts, d, k, loads(stmts[d].value)):
                return False
            st.value = _negate(stmts[d].value)
            del stmts[d]
            return True
    return False


def _negation(expr):
    return isinstance(expr, gast.UnaryOp) and isinstance(expr.op, gast.USub)




def _negated_name(expr):
    return isinstance(expr, gast.UnaryOp) and isinstance(expr.op, gast.USub) \
        and isinstance(expr.operand, gast.Name)


def _leading_factor(parent, field):
    """The leftmost operand of the `*`/`/` chain at `parent.field`, if a Name: (the
    Name, a function that replaces it)."""
    node = getattr(parent, field)
    while isinstance(node, gast.BinOp) and isinstance(node.op, (gast.Mult, gast.Div)):
        parent, field, node = node, "left", node.left
    if isinstance(node, gast.Name):
        return node, lambda new: setattr(parent, field, new)
    return None


def _negate(expr):
    """-expr, with the sign on the first factor of a product or quotient."""
    if isinstance(expr, gast.BinOp) and isinstance(expr.op, (gast.Mult, gast.Div)):
        return gast.BinOp(left=_negate(expr.left), op=expr.op, right=expr.right)
    if isinstance(expr, gast.UnaryOp) and isinstance(expr.op, gast.USub):
        return expr.operand
    if isinstance(expr, gast.Constant) and type(expr.value) in (int, float):
        return nodes.const(-expr.value)
    return gast.UnaryOp(op=gast.USub(), operand=expr)
