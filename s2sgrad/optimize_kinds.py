"""Optimizer pass — what the known kinds of the values settle, written as NumPy.

Where the compilation knows a name holds a NumPy array (an array argument, or a value
of known shape, see `shapes.py`) or a number, some runtime helpers have nothing left to
decide: the adjoint of `x[1:]` is written as by hand, `count_reduced(v, None)` is
`v.size`. Entries: `index_adjoints`, `spell_out_helpers` (run by
`optimize.optimize_function`).
"""
import gast

from . import nodes
from .optimize import _is_zero, _single_target, _stores, _stores_all


def index_adjoints(body, arrays):
    """Where x is known to be an array and the index is basic (ints and constant
    slices), the adjoint of `x[idx]` is written as by hand:

        x_bar = add_at(0.0, x, slice(None, -1, None), v)    x_bar = np.zeros_like(x)
                                                        →   x_bar[:-1] = v
        x_bar = add_at(x_bar, x, slice(1, None, None), w, True)   x_bar[1:] += w

    The second form only after the first in the same block, with nothing in between
    binding x_bar (so x_bar is that array, and held by nobody else)."""
    out = []
    made = set()                      # adjoints this block made with np.zeros_like
    for st in body:
        if isinstance(st, (gast.If, gast.For, gast.While)):
            st.body = index_adjoints(st.body, arrays)
            st.orelse = index_adjoints(st.orelse, arrays)
            made -= _stores_all([st])
            out.append(st)
            continue
        t = _single_target(st)
        call = st.value if t is not None else None
        if isinstance(call, gast.Call) and nodes.is_name(call.func, "add_at") \
                and not call.keywords and len(call.args) in (4, 5) \
                and isinstance(call.args[1], gast.Name) and call.args[1].id in arrays:
            g, x, index, v = call.args[:4]
            subscript = _basic_subscript(index)
            fresh = len(call.args) == 4 and _is_zero(g)
            updated = len(call.args) == 5 and _is_true(call.args[4]) and t in made \
                and nodes.is_name(g, t)
            if subscript is not None and (fresh or updated):
                target = nodes.subscript(nodes.name(t), subscript, store=True)
                if fresh:
                    out.append(nodes.copy_location(nodes.assign(t, nodes.call(
                        nodes.attribute(nodes.name("np"), "zeros_like"), [x])), st))
                    out.append(nodes.copy_location(gast.Assign(
                        targets=[target], value=v, type_comment=None), st))
                    made.add(t)
                else:
                    out.append(nodes.copy_location(gast.AugAssign(
                        target=target, op=gast.Add(), value=v), st))
                continue
        made -= _stores(st)
        out.append(st)
    return out


def spell_out_helpers(body, arrays, numbers):
    """Helpers whose work the known kinds settle, written as NumPy: `count_reduced(v,
    None)` of an array is `v.size`; `unbroadcast(g, b)` for a number b is `np.sum(g)`."""
    class Spell(gast.NodeTransformer):
        def visit_Call(self, node):
            self.generic_visit(node)
            args = node.args
            if node.keywords or len(args) != 2 or not isinstance(node.func, gast.Name) \
                    or not isinstance(args[1 if node.func.id == "unbroadcast" else 0],
                                      gast.Name):
                return node
            if node.func.id == "count_reduced" and args[0].id in arrays \
                    and _is_none(args[1]):
                return nodes.attribute(args[0], "size")
            if node.func.id == "unbroadcast" and args[1].id in numbers:
                return nodes.call(nodes.attribute(nodes.name("np"), "sum"), [args[0]])
            return node
    spell = Spell()
    for st in body:
        spell.visit(st)


def _is_true(node):
    return isinstance(node, gast.Constant) and node.value is True


def _basic_subscript(index):
    """`slice(a, b, c)` with constant parts, an int constant, or a name (a loop's
    integer: the trace only gives add_at names that index), as subscript syntax."""
    if isinstance(index, gast.Call) and nodes.is_name(index.func, "slice") \
            and len(index.args) == 3 and not index.keywords:
        parts = [None if _is_none(a) else a for a in index.args]
        if all(p is None or _int_literal(p) for p in parts):
            return gast.Slice(lower=parts[0], upper=parts[1], step=parts[2])
        return None
    if isinstance(index, gast.Constant) and type(index.value) is int:
        return index
    return None


def _int_literal(node):
    from .shapes import int_constant
    return int_constant(node) is not None


def _is_none(node):
    return isinstance(node, gast.Constant) and node.value is None
