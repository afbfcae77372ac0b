"""Optimizer pass — the adjoints of the arrays np.concatenate joined, as slices of its
adjoint (and of those np.stack or np.array stacked, as its rows):

    v16_bar = concat_grads(v17_bar, v16, 0)     →    v15_bar = v17_bar[:Wz.shape[1]]
    v15_bar = getitem_grad(v16_bar, 0)

    v31_bar = copy_grad(k4_bar, v31)            →    v27_bar = k4_bar[0]
    v27_bar = getitem_grad(v31_bar, 0)               v30_bar = k4_bar[1]
    v30_bar = getitem_grad(v31_bar, 1)

`concat_grads` cuts the joined array's adjoint into the items' lengths, read from the
items at run time, into a list that `getitem_grad` then reads; where the items' lengths
along the axis are known (each a literal or a parameter's size), each part is the slice
of the adjoint at its place, as one would write it. Serves recurrent cells that join
the state and the input (`np.concatenate([h, x]) @ W`, a GRU or LSTM on one sequence),
features joined before a layer, parameters joined into one vector, and vectors built
from numbers (an ODE's right-hand side `np.array([y[1], -k * np.sin(y[0])])`). The
Numba back end, which has no `concat_grads`, compiles the slices.

Only where the list's adjoint is read by `getitem_grad` at constant positions alone, in
the statements after it in its block, the joined adjoint is an array of known shape
that those statements do not bind again, and the axis is a constant.
"""
import gast

from ..ir.shapes import int_constant
from ..syntax import nodes
from .facts import blocks, name_counts, single_target, stores_all
from .kinds import size_expression


def spell_concat_parts(fdef, lists, shapes_of, sizes_of):
    """The pass over `fdef`, in place. `lists`: {name: dims of each item} of the lists
    np.concatenate joins; `shapes_of()`: {name: dims} of the names of known shape;
    `sizes_of(shapes)`: {symbol: expression of that size}."""
    if not lists:
        return fdef
    calls = [st for st in nodes.walk(fdef) if isinstance(st, gast.Assign)
             and _concat_call(st.value) is not None]
    if not calls:
        return fdef
    shapes = shapes_of()
    sizes = sizes_of(shapes)
    reads, binds = name_counts(fdef)
    for block in list(blocks(fdef.body)):
        for st in [s for s in block if any(s is c for c in calls)]:
            _spell(block, block.index(st), lists, shapes, sizes, reads, binds)
    return fdef


def _concat_call(e):
    """(g, list name, axis, joined) of `concat_grads(g, xs, axis)` (joined: True),
    `stack_grads(g, xs, axis)` or `copy_grad(g, xs)` (np.array of a list: stacked along
    axis 0) with names and an int axis, else None."""
    if not (isinstance(e, gast.Call) and isinstance(e.func, gast.Name) and not e.keywords
            and len(e.args) >= 2 and all(isinstance(a, gast.Name) for a in e.args[:2])):
        return None
    name, args = e.func.id, e.args
    if name in ("concat_grads", "stack_grads") and len(args) == 3 \
            and int_constant(args[2]) is not None:
        return args[0].id, args[1].id, int_constant(args[2]), name == "concat_grads"
    if name == "copy_grad" and len(args) == 2:
        return args[0].id, args[1].id, 0, False
    return None


def _spell(block, k, lists, shapes, sizes, reads, binds):
    st = block[k]
    t = single_target(st)
    g, xs, axis, joined = _concat_call(st.value)
    items, gd = lists.get(xs), shapes.get(g)
    if t is None or binds.get(t) != 1 or not items or type(gd) is not tuple or not gd:
        return
    axis = axis + len(gd) if axis < 0 else axis
    rank = len(gd) if joined else len(gd) - 1      # (a stack has one axis more)
    if not 0 <= axis < len(gd) or any(len(d) != rank for d in items):
        return
    lengths = [size_expression(d[axis], sizes) for d in items] if joined else None
    if joined and any(n is None for n in lengths):
        return
    sites = []                                  # (parent node, field, position)
    for m in range(k + 1, len(block)):
        for node in nodes.walk(block[m]):
            for field, value in gast.iter_fields(node):
                for pos, child in enumerate(value if isinstance(value, list) else [value]):
                    index = _part_read(child, t)
                    if index is not None:
                        sites.append((m, node, field, pos if isinstance(value, list) else None,
                                      index))
    if len(sites) != reads.get(t, 0) or not sites:
        return                                  # (read other than as one part)
    last = max(m for m, *_ in sites)
    if g in stores_all(block[k + 1:last]) or (
            isinstance(block[last], (gast.If, gast.For, gast.While))
            and g in stores_all([block[last]])):
        return
    for _, node, field, pos, index in sites:
        if not -len(items) <= index < len(items):
            return
    for _, node, field, pos, index in sites:
        part = _slice(g, lengths, index % len(items), axis) if joined else \
            _taken(g, index % len(items), axis)
        if pos is None:
            setattr(node, field, part)
        else:
            getattr(node, field)[pos] = part
    del block[k]


def _part_read(node, t):
    """k of `getitem_grad(t, k)` with a constant k, else None."""
    if isinstance(node, gast.Call) and nodes.is_name(node.func, "getitem_grad") \
            and len(node.args) == 2 and not node.keywords \
            and nodes.is_name(node.args[0], t):
        return int_constant(node.args[1])
    return None


def _slice(g, lengths, index, axis):
    """`g[..., start:end]` for the part `index` of the lengths along `axis`."""
    start = None
    for n in lengths[:index]:
        start = nodes.clone(n) if start is None else gast.BinOp(
            left=start, op=gast.Add(), right=nodes.clone(n))
    if index == len(lengths) - 1:
        end = None
    elif start is None:
        end = nodes.clone(lengths[index])
    else:
        end = gast.BinOp(left=nodes.clone(start), op=gast.Add(), right=nodes.clone(lengths[index]))
    return _along(g, axis, gast.Slice(lower=start, upper=end, step=None))


def _taken(g, index, axis):
    """`g[..., index]`: the part `index` of a stack along `axis`."""
    return _along(g, axis, nodes.const(index))


def _along(g, axis, at):
    """`g[:, ..., at]`: `at` indexes axis `axis` of g, full slices before it."""
    index_node = at if axis == 0 else gast.Tuple(
        elts=[gast.Slice(lower=None, upper=None, step=None) for _ in range(axis)] + [at],
        ctx=gast.Load())
    return gast.Subscript(value=nodes.name(g), slice=index_node, ctx=gast.Load())
