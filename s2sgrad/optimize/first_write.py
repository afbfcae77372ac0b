"""First write as definition: a zero initialisation followed by `x_bar = x_bar + g`
becomes `x_bar = g`, and `x_bar = add_at(x_bar, x, index, v)` becomes `add_at(0.0, ...)`
(also across loop iterations); serves every adjoint with one contribution or whose first
contribution is known, and the adjoints of slices in a loop (an LSTM's gates)."""
import gast

from ..syntax import nodes
from .facts import is_zero, stores


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


def _scatter_into(stmt):
    """The name of `x_bar = add_at(x_bar, x, index, v[, in_place])`, else None."""
    if not (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], gast.Name)):
        return None
    v, name = stmt.value, stmt.targets[0].id
    if isinstance(v, gast.Call) and nodes.is_name(v.func, "add_at") and not v.keywords \
            and len(v.args) in (4, 5) and nodes.is_name(v.args[0], name):
        return name
    return None


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
        scatter = _scatter_into(st)
        if scatter in zero:
            if rewrite:                  # add_at(0.0, x, index, v): a fresh adjoint
                st.value.args = [nodes.const(0.0)] + st.value.args[1:4]
            zero.discard(scatter)
            continue
        acc = _accumulation(st)
        if acc and acc[0] in zero:
            if rewrite:
                st.value = acc[1]
            zero.discard(acc[0])
            continue
        if isinstance(st, gast.Assign) and isinstance(st.targets[0], gast.Name) \
                and is_zero(st.value):
            zero.add(st.targets[0].id)
            continue
        zero -= stores(st)
    return zero


def _stores_shallow(loop):
    out = set()
    if isinstance(loop, gast.For):
        out |= stores(loop.target)
    return out


def first_writes(body):
    """`x_bar = x_bar + e` where x_bar is known to be 0.0 becomes `x_bar = e`."""
    _zeros(body, set(), True)
    return body
