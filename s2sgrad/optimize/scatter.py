"""Optimizer pass — the adjoint of fancy indexing by positions that are provably
distinct is a plain assignment, not `np.add.at`.

Serves every program that reads an array at an index built with `np.arange(n)`: one
element per row (`logp[np.arange(n), labels]`, the log-probability of each row's label),
`x[np.arange(n)]`, `A[np.arange(n), :]`, `A[:, np.arange(k)]`. The adjoint of `x[index]`
adds the cotangent at `x_bar[index]`; a position named twice must receive both
contributions, which is what `np.add.at` does (and why it is generic and slow:
a hundred times a plain assignment here). When one index array is `np.arange(n)` (values
0, 1, ..., n-1: all distinct, none negative) and the index arrays broadcast to its shape
(n,), the index tuples differ in that component, so no position is named twice, and

    x_bar = add_at(0.0, x, (v8, labels), g)     x_bar = np.zeros_like(x)
                                            →   x_bar[v8, labels] = g

as an expert writes it (`x_bar[v8, labels] += g` for a later contribution into an array
the pass made). The shapes come from the trace's shape inference (`trace.known_shapes`,
symbolic: the code is compiled for the arguments' shape pattern, so two sizes that are
the same symbol are equal in every call that runs it); an index whose shape is not
known, or any other index, keeps `add_at`.
"""
import gast

from ..ir.shapes import broadcast, int_constant
from ..syntax import nodes
from .facts import is_zero, name_counts, single_target, stores, stores_all


def distinct_scatters(body, shapes):
    """Rewrite the `add_at` adjoints of `body` whose positions are distinct (see the
    module docstring). `shapes`: {name: dims} of the names of known shape."""
    reads, binds = name_counts(gast.Module(body=list(body), type_ignores=[]))
    aranges = {n for n, dims in shapes.items() if len(dims) == 1 and binds.get(n) == 1}
    aranges &= _arange_names(body)
    if not aranges:
        return body
    return _rewrite(body, shapes, aranges)


def _arange_names(body):
    """Names bound by `np.arange(stop)` (one argument: the values 0 .. stop-1)."""
    out = set()
    for st in nodes.walk(gast.Module(body=list(body), type_ignores=[])):
        t = single_target(st) if isinstance(st, gast.Assign) else None
        call = st.value if t is not None else None
        if isinstance(call, gast.Call) and isinstance(call.func, gast.Attribute) \
                and call.func.attr == "arange" and nodes.is_name(call.func.value, "np") \
                and len(call.args) == 1 and not call.keywords:
            out.add(t)
    return out


def _rewrite(body, shapes, aranges):
    out = []
    made = set()                      # adjoints this block made with np.zeros_like
    for st in body:
        if isinstance(st, (gast.If, gast.For, gast.While)):
            st.body = _rewrite(st.body, shapes, aranges)
            st.orelse = _rewrite(st.orelse, shapes, aranges)
            made -= stores_all([st])
            out.append(st)
            continue
        t = single_target(st) if isinstance(st, gast.Assign) else None
        call = st.value if t is not None else None
        if isinstance(call, gast.Call) and nodes.is_name(call.func, "add_at") \
                and not call.keywords and len(call.args) in (4, 5) \
                and isinstance(call.args[1], gast.Name) and shapes.get(call.args[1].id):
            g, x, index, v = call.args[:4]
            subscript = _distinct_subscript(index, shapes, aranges)
            fresh = len(call.args) == 4 and is_zero(g)
            updated = len(call.args) == 5 and isinstance(call.args[4], gast.Constant) \
                and call.args[4].value is True and t in made and nodes.is_name(g, t)
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
        made -= stores(st)
        out.append(st)
    return out


def _distinct_subscript(index, shapes, aranges):
    """The subscript for `index` when the positions it names are distinct, else None:
    an `np.arange` name, alone or in a tuple with int constants, constant slices and
    index arrays that broadcast with it to its own shape."""
    parts = index.elts if isinstance(index, gast.Tuple) else [index]
    arrays, out = [], []
    for p in parts:
        if isinstance(p, gast.Name):
            if p.id not in shapes:
                return None
            arrays.append(p.id)
            out.append(nodes.name(p.id))
        elif isinstance(p, gast.Constant) and type(p.value) is int:
            out.append(p)
        elif isinstance(p, gast.Call) and nodes.is_name(p.func, "slice") \
                and len(p.args) == 3 and not p.keywords \
                and all(_none(a) or int_constant(a) is not None for a in p.args):
            out.append(gast.Slice(*[None if _none(a) else a for a in p.args]))
        else:
            return None
    together = broadcast([shapes[a] for a in arrays]) if arrays else None
    if together is None or not any(a in aranges and shapes[a] == together for a in arrays):
        return None
    return out[0] if len(out) == 1 else gast.Tuple(elts=out, ctx=gast.Load())


def _none(node):
    return isinstance(node, gast.Constant) and node.value is None
