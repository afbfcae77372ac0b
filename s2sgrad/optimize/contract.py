"""Optimizer pass — a sum over axes of a product of two arrays, as one contraction:

    v4_bar = np.expand_dims(D2_bar, 2)       →   v2_bar = -2 * np.expand_dims(
    v3_bar = v4_bar * 2 * v3                         np.einsum('ij,ijk->jk', D2_bar, v3), 0)
    v2_bar = -np.sum(v3_bar, axis=0, keepdims=True)

    gamma_bar = np.sum(y_bar * xhat, axis=0) →   gamma_bar = np.einsum('ij,ij->j', y_bar, xhat)
    r_bar = np.sum(v9_bar * v2, axis=1)      →   r_bar = v9_bar @ v2.T     (dims (i, k), (j, k))

Where an operand of a product was broadcast, its adjoint is the sum of the other
operand's product with the result's adjoint over the broadcast axes
(`unbroadcast`): the scale of a layer or batch norm, a weight shared along an axis,
centres or means subtracted from every point (k-means, mixture models, RBF features),
attention's weighted sums, outer products added up over a batch. Written as a product
then a sum, it makes a temporary of the product's full size and reads it again;
`np.einsum` multiplies and adds as it reads its operands (1.3x to 3.6x faster on 10^4
to 10^6 entries, never slower down to a few entries), and a sum that is one matrix
product (no axis both operands and the result keep, one axis summed) is written with
`@`, which BLAS computes.

Only in the backward pass (the function's value is computed as the user's code does),
where the product is bound to a name read once, by the sum, in the same block (or is
the sum's operand itself), has exactly two factors that are arrays of known shape (a
name, or `np.expand_dims` of a name read only there) and any number of factors that are
numbers, and the sum has constant axes and no options but `keepdims`. Numbers multiply
the contraction; the order of the additions is einsum's, as for `optimize.squares`.
"""
import gast

from ..syntax import nodes
from .facts import blocks, changed, is_comment, loads, name_counts, single_target, sum_options
from .kinds import _shape

_LETTERS = "ijklmnopqrstuvwxyz"
_MARK = nodes.COMMENT_MARK + "backward pass"


def contract_sums(fdef, shapes_of):
    """The pass over `fdef`'s backward pass, in place. `shapes_of()`: {name: dims} of
    the function's names of known shape, computed only where a candidate is found.
    Marks `fdef.s2s_adjoints`: the names that had an adjoint before the pass (a
    contracted product's adjoint is no longer bound; `optimize.squares` asks)."""
    body = fdef.body
    start = next((k + 1 for k, st in enumerate(body)
                  if is_comment(st) and st.value.value == _MARK), None)
    if start is None or not any(_sum_call(n) is not None for st in body[start:]
                                for n in nodes.walk(st)):
        return fdef
    reads, binds = name_counts(fdef)
    fdef.s2s_adjoints = frozenset(n[:-4] for n in binds if n.endswith("_bar"))
    shapes = None
    for block, first in _backward_blocks(body, start):
        k = first
        while k < len(block):
            st = block[k]
            for call in [n for n in _own_nodes(st) if _sum_call(n) is not None]:
                if not _of_a_product(call, block, k, first, reads, binds):
                    continue                   # (no shapes computed for nothing)
                if shapes is None:
                    shapes = shapes_of()
                    views = _views(fdef, binds, shapes)
                _contract(call, block, k, first, reads, binds, shapes, views)
            k = block.index(st) + 1 if st in block else k
    if shapes is not None:
        _drop_unread_views(fdef, views)
    return fdef


def _drop_unread_views(fdef, views):
    """The views the contractions read through that nothing reads now."""
    reads, _ = name_counts(fdef)
    unread = {id(st) for t, (_, _, st, _) in views.items() if not reads.get(t)}
    if not unread:
        return
    for block in blocks(fdef.body):
        if any(id(st) in unread for st in block):
            _remove(block, unread)


def _own_nodes(st):
    """The nodes of statement `st`, not those of the blocks nested in it (a loop's
    body is a block of its own)."""
    if isinstance(st, (gast.If, gast.For, gast.While)):
        return nodes.walk(st.test if not isinstance(st, gast.For) else st.iter)
    return nodes.walk(st)


def _of_a_product(call, block, k, first, reads, binds):
    """Does the sum `call` (in block[k]) add up a product or quotient, written in it or
    bound to the name it sums?"""
    operand = _sum_call(call)[0]
    while isinstance(operand, gast.UnaryOp) and isinstance(operand.op, gast.USub):
        operand = operand.operand
    if isinstance(operand, gast.Name):
        j = _binding(block, first, k, operand.id, reads, binds)
        operand = block[j].value if j is not None else None
    return isinstance(operand, gast.BinOp) and isinstance(operand.op, (gast.Mult, gast.Div))


def _backward_blocks(body, start):
    """(block, index of its first backward statement) for the backward pass's statements
    and the blocks nested in them."""
    yield body, start
    nested = blocks(body[start:])
    next(nested)                      # (a copy of the backward statements themselves)
    for block in nested:
        yield block, 0


def _sum_call(node):
    """(operand, axis node, keepdims) of `np.sum(x, axis=A[, keepdims=K])` (or with the
    axis in place), else None."""
    found = sum_options(node)
    return None if found is None else (found[0], found[1], found[2].value)


def _axes(node, rank):
    """The constant axes (normalised, sorted) an axis option holds, else None."""
    elts = node.elts if isinstance(node, gast.Tuple) else [node]
    out = []
    for e in elts:
        v = e.value if isinstance(e, gast.Constant) else \
            -e.operand.value if isinstance(e, gast.UnaryOp) and isinstance(e.op, gast.USub) \
            and isinstance(e.operand, gast.Constant) else None
        if type(v) is not int or not -rank <= v < rank:
            return None
        out.append(v % rank)
    return tuple(sorted(set(out))) if len(set(out)) == len(out) else None


def _factors(node, divides=False):
    """(factor, divides) of each factor of a chain of products and quotients (unary
    minus as the number -1)."""
    if isinstance(node, gast.BinOp) and isinstance(node.op, gast.Mult):
        return _factors(node.left, divides) + _factors(node.right, divides)
    if isinstance(node, gast.BinOp) and isinstance(node.op, gast.Div) and not divides:
        return _factors(node.left) + [(node.right, True)]
    if isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.USub):
        return [(nodes.const(-1), False)] + _factors(node.operand, divides)
    return [(node, divides)]


def _contract(call, block, k, first, reads, binds, shapes, views):
    operand, axis, keep = _sum_call(call)
    removed = []                                  # statements the contraction replaces
    negated = False
    while isinstance(operand, gast.UnaryOp) and isinstance(operand.op, gast.USub):
        operand, negated = operand.operand, not negated
    product = operand
    if isinstance(operand, gast.Name):
        t = operand.id
        j = _binding(block, first, k, t, reads, binds)
        if j is None:
            return
        product = block[j].value
        removed.append(block[j])
        if loads(product) & changed(block[j + 1:k]):
            return
    if not (isinstance(product, gast.BinOp) and isinstance(product.op, (gast.Mult, gast.Div))):
        return
    full = _shape(product, shapes)
    if not full or type(full) is not tuple:
        return
    rank = len(full)
    axes = _axes(axis, rank)
    if not axes:
        return
    numbers, arrays, divisors = [], [], []
    for f, divides in _factors(product):
        d = _shape(f, shapes)
        if divides:
            if not _outside(d, axes, rank, keep):
                return
            divisors.append(f)
        elif _is_minus_one(f):
            negated = not negated
        elif d == ():
            numbers.append(f)
        elif type(d) is tuple and isinstance(f, gast.Name):
            arrays.append(_operand(f, d, block, first, k, reads, binds, shapes, removed,
                                   views))
        else:
            return
    if len(arrays) != 2 or None in arrays:
        return
    subscripts = []
    for base, dims, inserted in arrays:
        expanded = len(dims) + len(inserted)
        if expanded > rank:
            return
        positions = [p for p in range(expanded) if p not in inserted]
        at = [rank - expanded + p for p in positions]
        if any(n != full[p] and n != 1 for n, p in zip(dims, at)):
            return
        subscripts.append((base, dims, at))
    if {p for _, _, at in subscripts for p in at} != set(range(rank)):
        return                       # (an axis of length 1 that neither operand has)
    out = [p for p in range(rank) if p not in axes]
    total = _matmul(subscripts, out, full) or _einsum(subscripts, out)
    if keep:
        total = nodes.call(nodes.attribute(nodes.name("np"), "expand_dims"),
                           [total, _axes_node(axes)])
    for d in divisors:
        total = gast.BinOp(left=total, op=gast.Div(), right=d)
    if negated and numbers and isinstance(numbers[0], gast.Constant) \
            and type(numbers[0].value) in (int, float):
        numbers[0] = nodes.const(-numbers[0].value)           # -2 * ..., not -(2 * ...)
        negated = False
    for number in reversed(numbers):
        total = gast.BinOp(left=number, op=gast.Mult(), right=total)
    if negated:
        total = gast.UnaryOp(op=gast.USub(), operand=total)
    _replace(block[k], call, total)
    _remove(block, {id(st) for st in removed})


def _outside(dims, axes, rank, keep):
    """Is a divisor of these dims the same along the summed `axes`, and does it then
    broadcast against the sum as it did against the product? A number; with keepdims,
    an array of length 1 along those axes; without, an array whose axes all come after
    them."""
    if dims == ():
        return True
    if type(dims) is not tuple or len(dims) > rank:
        return False
    start = rank - len(dims)
    if keep:
        return all(dims[p - start] == 1 for p in axes if p >= start)
    return all(p < start for p in axes)


def _remove(block, gone):
    """`block` without the statements whose ids are in `gone`, nor the comments naming
    steps that have no statement left."""
    kept, emptied = [], set()
    for st in block:
        if id(st) in gone:
            if kept and is_comment(kept[-1]):
                emptied.add(id(kept[-1]))
        else:
            kept.append(st)
    block[:] = [st for j, st in enumerate(kept) if id(st) not in emptied
                or not (j + 1 == len(kept) or is_comment(kept[j + 1]))]


def _is_minus_one(node):
    return isinstance(node, gast.Constant) and type(node.value) is int and node.value == -1


def _binding(block, first, k, t, reads, binds):
    """The index of the statement `t = ...` before `block[k]` in the backward part of
    `block`, where t is bound once and read once, else None."""
    if reads.get(t) != 1 or binds.get(t) != 1:
        return None
    return next((j for j in range(k - 1, first - 1, -1) if single_target(block[j]) == t
                 and isinstance(block[j], gast.Assign)), None)


def _operand(f, dims, block, first, k, reads, binds, shapes, removed, views):
    """(name, its dims, axes inserted) of an array factor: a name, or the array a view
    bound to it widens (`views`): `np.expand_dims(a, 2)`, `X[:, None, :]`, the
    broadcast of an adjoint `unreduce(g, x, 0, False)`. The view's binding goes where
    the factor was its only read, in this block."""
    view = views.get(f.id)
    if view is None:
        return f.id, dims, ()
    base, inserted, st, anywhere = view
    j = next((j for j in range(k - 1, first - 1, -1) if block[j] is st), None)
    if j is not None:                        # bound before, in this block
        if base in changed(block[j + 1:k]):
            return f.id, dims, ()
        if reads.get(f.id) == 1:
            removed.append(st)
    elif not anywhere:
        return f.id, dims, ()
    return base, shapes[base], inserted


def _views(fdef, binds, shapes):
    """{name: (array, axes inserted, binding, anywhere)} for the names bound once, to a
    view that only inserts axes of length 1 into (or broadcasts along them) an array of
    known shape that no statement writes into: the view reads the same numbers as the
    array until the array's name is bound again. `anywhere`: both bound once in the
    whole run (at the function's top level, the array perhaps a parameter the function
    never rebinds), so the array may be read for the view wherever the view is read;
    else only after the view's binding in its block, with no binding of the array
    between."""
    written = {n.value.id for n in nodes.walk(fdef) if isinstance(n, gast.Subscript)
               and isinstance(n.ctx, gast.Store) and isinstance(n.value, gast.Name)}
    params = {a.id for a in fdef.args.args}       # (bound once: by the call)
    top = {id(st) for st in fdef.body}
    top_names = {single_target(st) for st in fdef.body if isinstance(st, gast.Assign)}
    out = {}
    for st in nodes.walk(fdef):
        t = single_target(st) if isinstance(st, gast.Assign) else None
        if t is None or binds.get(t) != 1 or t in written:
            continue
        found = _inserted_axes(st.value, shapes)
        if found is None or found[0] in written:
            continue
        base = found[0]
        once = binds.get(base) == 1 and (base in params or base in top_names)
        out[t] = found + (st, once and id(st) in top)
    return out


def _inserted_axes(value, shapes):
    """(array, axes inserted) of a view expression, else None."""
    if isinstance(value, gast.Call) and isinstance(value.func, (gast.Attribute, gast.Name)) \
            and not value.keywords and value.args and isinstance(value.args[0], gast.Name):
        base = value.args[0].id
        inner = shapes.get(base)
        if type(inner) is not tuple or not inner:
            return None
        f = value.func
        if isinstance(f, gast.Attribute) and f.attr == "expand_dims" \
                and nodes.is_name(f.value, "np") and len(value.args) == 2:
            axis = value.args[1]
            added = len(axis.elts) if isinstance(axis, gast.Tuple) else 1
            axes = _axes(axis, len(inner) + added)
            return None if axes is None else (base, axes)
        if nodes.is_name(f, "unreduce") and len(value.args) == 4 \
                and isinstance(value.args[1], gast.Name) \
                and isinstance(value.args[3], gast.Constant) and value.args[3].value is False:
            full = shapes.get(value.args[1].id)
            axes = _axes(value.args[2], len(full)) if type(full) is tuple else None
            if axes is None or len(full) != len(inner) + len(axes):
                return None
            kept = [n for p, n in enumerate(full) if p not in axes]
            return (base, axes) if list(inner) == kept else None
        return None
    if isinstance(value, gast.Subscript) and isinstance(value.value, gast.Name):
        base = value.value.id
        inner = shapes.get(base)
        index = value.slice.elts if isinstance(value.slice, gast.Tuple) else [value.slice]
        if type(inner) is not tuple or not all(
                _is_none(e) or _full_slice(e) for e in index) \
                or sum(not _is_none(e) for e in index) != len(inner):
            return None
        return base, tuple(p for p, e in enumerate(index) if _is_none(e))
    return None


def _is_none(node):
    return isinstance(node, gast.Constant) and node.value is None


def _full_slice(node):
    return isinstance(node, gast.Slice) and node.lower is None and node.upper is None \
        and node.step is None


def _einsum(subscripts, out):
    spec = ",".join("".join(_LETTERS[p] for p in at) for _, _, at in subscripts)
    spec += "->" + "".join(_LETTERS[p] for p in out)
    return nodes.call(nodes.attribute(nodes.name("np"), "einsum"),
                      [nodes.const(spec)] + [nodes.name(base) for base, _, _ in subscripts])


def _matmul(subscripts, out, full):
    """`a @ b` (operands transposed as needed) where the contraction is one matrix
    product: both operands of one or two dims of the result's sizes, one position both
    read and the result does not keep, every other position read by one operand and
    kept. Else None."""
    (a, ad, apos), (b, bd, bpos) = subscripts
    if not (1 <= len(apos) <= 2 and 1 <= len(bpos) <= 2) or len(out) > 2:
        return None
    if any(n != full[p] for dims, at in ((ad, apos), (bd, bpos)) for n, p in zip(dims, at)):
        return None
    shared = set(apos) & set(bpos)
    if len(shared) != 1 or shared & set(out):
        return None
    (c,) = shared
    oa, ob = [p for p in apos if p != c], [p for p in bpos if p != c]
    if sorted(oa + ob) != out:
        return None

    def oriented(name, at, last_is_c):
        """name with c as its last (or first) axis."""
        if len(at) == 1 or (at[-1] == c) == last_is_c:
            return nodes.name(name)
        return nodes.attribute(nodes.name(name), "T")

    if out == oa + ob:
        left, right = oriented(a, apos, True), oriented(b, bpos, False)
    else:
        left, right = oriented(b, bpos, True), oriented(a, apos, False)
    return gast.BinOp(left=left, op=gast.MatMult(), right=right)


def _axes_node(axes):
    return nodes.const(axes[0]) if len(axes) == 1 else \
        gast.Tuple(elts=[nodes.const(a) for a in axes], ctx=gast.Load())


def _replace(tree, old, new):
    """Put `new` where the node `old` is in `tree`."""
    for node in nodes.walk(tree):
        for field, value in gast.iter_fields(node):
            if value is old:
                setattr(node, field, nodes.copy_location(new, old))
                return
            if isinstance(value, list) and any(v is old for v in value):
                value[:] = [nodes.copy_location(new, old) if v is old else v for v in value]
                return
