"""Optimizer pass — the outer products a backward loop adds to an adjoint at each step,
added up after the loop as one matrix product:

    for i in reversed(range(30)):                    v5_bar_rows = np.empty((30, C.shape[0]))
        ...                                          v_rows = np.empty((30, C.shape[1]))
        K_bar += np.outer(v5_bar, v)          →      for i in reversed(range(30)):
        ...                                              ...
                                                         v5_bar_rows[i] = v5_bar
                                                         v_rows[i] = v
                                                         ...
                                                     K_bar += v5_bar_rows.T @ v_rows

The adjoint of a matrix that multiplies a vector at each step of a loop (`K @ v`,
`hx @ Wz`) gains the outer product of the step's two vectors. Each is a pass over the
whole matrix for the work of a vector (writing the product, then adding it), so the
backward loop costs several times the forward loop, which only reads the matrix; the
sum of the n products is `A.T @ B` for the n rows of each vector, one BLAS matrix
product (20 outer products of 48 x 32: 92 us to 26 us). Serves loops that apply a fixed
matrix to a vector: Sinkhorn and other fixed-point iterations, power iterations,
unbatched recurrent cells (an RNN or GRU on one sequence), filters. Batched cells (`h.T
@ z_bar` with h a matrix) already make one matrix product per step and are left alone.

Only in a loop `for i in reversed(range(n))` whose statement adds the product to an
adjoint the loop reads nowhere else, directly in the loop's body (not under a branch),
where both vectors are names of known length, each length a parameter's size (the
rows are allocated before the loop), and where the product is `np.outer(a, b)`, or a
name bound to one in the loop and read only there (`.T` of it too). The rows are
copies, written where the product was made, so what the step does to the vectors
later does not matter; the sum adds in another order.
"""
import gast

from ..syntax import nodes
from .facts import blocks, changed, is_zero, loads, name_counts, stores
from .kinds import parameter_sizes, size_expression

_NOTE = "the outer products of the loop's steps, added as one matrix product"


def stack_outer_products(fdef, shapes_of):
    """The pass over `fdef`, in place; `shapes_of()`: {name: dims} of its names of known
    shape (`optimize.kinds.code_shapes`), asked only where a loop adds outer products."""
    if not any(isinstance(n, gast.Attribute) and n.attr == "outer"
               for st in fdef.body if isinstance(st, gast.For) for n in nodes.walk(st)):
        return fdef
    shapes = shapes_of()
    sizes = parameter_sizes(fdef, shapes)
    if not sizes:
        return fdef
    reads, _ = name_counts(fdef)
    taken = {n.id for n in nodes.walk(fdef) if isinstance(n, gast.Name)}
    for block in list(blocks(fdef.body)):
        k = 0
        while k < len(block):
            st = block[k]
            k = _stack(block, k, sizes, shapes, reads, taken, fdef) \
                if isinstance(st, gast.For) else k + 1
    return fdef


def _reversed_range(loop):
    """(index name, trip count node) of `for i in reversed(range(n))`, else None."""
    it = loop.iter
    if loop.orelse or not isinstance(loop.target, gast.Name) or not (
            isinstance(it, gast.Call) and nodes.is_name(it.func, "reversed")
            and len(it.args) == 1 and not it.keywords):
        return None
    inner = it.args[0]
    if not (isinstance(inner, gast.Call) and nodes.is_name(inner.func, "range")
            and len(inner.args) == 1 and not inner.keywords):
        return None
    n = inner.args[0]
    if isinstance(n, gast.Name) or (isinstance(n, gast.Constant) and type(n.value) is int):
        return loop.target.id, n
    return None


def _accumulation(st):
    """(adjoint, added expression) of `A += e` or `A = A + e` (e not reading A)."""
    if isinstance(st, gast.AugAssign) and isinstance(st.op, gast.Add) \
            and isinstance(st.target, gast.Name):
        a, e = st.target.id, st.value
    elif isinstance(st, gast.Assign) and len(st.targets) == 1 \
            and isinstance(st.targets[0], gast.Name) and isinstance(st.value, gast.BinOp) \
            and isinstance(st.value.op, gast.Add) \
            and nodes.is_name(st.value.left, st.targets[0].id):
        a, e = st.targets[0].id, st.value.right
    else:
        return None
    return None if a in loads(e) else (a, e)


def _outer_args(e):
    if isinstance(e, gast.Call) and isinstance(e.func, gast.Attribute) \
            and e.func.attr == "outer" and nodes.is_name(e.func.value, "np") \
            and len(e.args) == 2 and not e.keywords \
            and all(isinstance(a, gast.Name) for a in e.args):
        return e.args[0].id, e.args[1].id
    return None


def _product(body, k, e, reads):
    """(a, b, index of the statement binding the product or None) where `e`, added at
    body[k], is the outer product of a and b."""
    pair = _outer_args(e)
    if pair is not None:
        return pair + (None,)
    swap = isinstance(e, gast.Attribute) and e.attr == "T"
    t = e.value if swap else e
    if not isinstance(t, gast.Name) or reads.get(t.id) != 1:
        return None
    j = next((j for j in range(k - 1, -1, -1) if t.id in stores(body[j])), None)
    if j is None or not isinstance(body[j], gast.Assign) or len(body[j].targets) != 1 \
            or not nodes.is_name(body[j].targets[0], t.id):
        return None
    pair = _outer_args(body[j].value)
    if pair is None or set(pair) & changed(body[j + 1:k]):
        return None
    a, b = pair
    return (b, a, j) if swap else (a, b, j)


def _stack(block, at, sizes, shapes, reads, taken, fdef):
    """Stack the outer products of the loop block[at]; returns the index in `block` of
    the statement after the loop and the sums put after it."""
    loop = block[at]
    header = _reversed_range(loop)
    if header is None:
        return at + 1
    index, count = header
    body = loop.body
    if index in changed(body):
        return at + 1
    found = []                       # (statement index, adjoint, a, b, product's index)
    for k, st in enumerate(body):
        acc = _accumulation(st)
        if acc is None:
            continue
        product = _product(body, k, acc[1], reads)
        if product is None:
            continue
        a, b, j = product
        da, db = shapes.get(a), shapes.get(b)
        if not (type(da) is tuple and len(da) == 1 and type(db) is tuple and len(db) == 1):
            continue
        if size_expression(da[0], sizes) is None or size_expression(db[0], sizes) is None:
            continue
        found.append((k, acc[0], a, b, j))
    # an adjoint the loop reads other than in its own additions keeps its code
    accs = {f[1] for f in found}
    for st in nodes.walk(loop):
        if isinstance(st, gast.stmt) and not isinstance(st, (gast.For, gast.If, gast.While)):
            acc = _accumulation(st)
            mentioned = (loads(st) | stores(st)) & accs
            if acc is not None:
                mentioned -= {acc[0]}
            accs -= mentioned
    found = [f for f in found if f[1] in accs]
    if not found:
        return at + 1
    rows = {}                        # (vector, its binding's index) → rows name
    before, after, replaced, dropped = [], [], {}, set()

    def rows_of(v, k):
        last = max((j for j in range(k) if v in changed(body[j:j + 1])), default=-1)
        key = (v, last)
        if key not in rows:
            name = nodes.fresh_name(v + "_rows", taken)
            taken.add(name)
            rows[key] = name
            before.append(nodes.assign(name, nodes.call(
                nodes.attribute(nodes.name("np"), "empty"),
                [gast.Tuple(elts=[_steps(count, fdef),
                                  size_expression(shapes[v][0], sizes)],
                            ctx=gast.Load())])))
            replaced.setdefault(k, []).append(gast.Assign(
                targets=[nodes.subscript(nodes.name(name), nodes.name(index), store=True)],
                value=nodes.name(v), type_comment=None))
        return rows[key]

    for k, acc, a, b, j in found:
        ra, rb = rows_of(a, k), rows_of(b, k)
        replaced.setdefault(k, [])
        if j is not None:
            dropped.add(j)
        after.append((acc, gast.BinOp(left=nodes.attribute(nodes.name(ra), "T"),
                                      op=gast.MatMult(), right=nodes.name(rb)),
                      isinstance(body[k], gast.AugAssign)))
    new_body = []
    for k, st in enumerate(body):
        if k in replaced:
            new_body.extend(nodes.copy_location(s, st) for s in replaced[k])
        elif k not in dropped:
            new_body.append(st)
    loop.body[:] = new_body
    left = {n for s in loop.body for n in loads(s) | stores(s)}
    sums, defined = [nodes.comment(_NOTE)], set()
    for acc, total, in_place in after:
        start = _zero_start(block, block.index(loop), acc) \
            if acc not in left and acc not in defined else None
        if start is not None:                  # (0.0 before the loop: the sum is its value)
            block.remove(start)
            sums.append(nodes.assign(acc, total))
        elif in_place or acc in defined:
            sums.append(gast.AugAssign(target=nodes.name(acc, store=True), op=gast.Add(),
                                       value=total))
        else:
            # the loop added with `A = A + e`: A may be another adjoint's array too
            # (`K_bar = M_bar; D_bar = M_bar`), which `+=` would change
            sums.append(nodes.assign(acc, gast.BinOp(left=nodes.name(acc), op=gast.Add(),
                                                     right=total)))
        defined.add(acc)
    at = block.index(loop)
    block[at + 1:at + 1] = sums
    block[at:at] = before
    return at + len(before) + len(sums) + 1


def _steps(count, fdef):
    """The number of steps of `range(count)`: `np.maximum(n, 0)` (a negative count makes
    no step, and np.empty refuses a negative length; not the builtin `max`, which `from
    numpy import *` in the user's module replaces), or n itself where it is a length
    (`len(xs)`, `xs.shape[0]`)."""
    if isinstance(count, gast.Constant):
        return nodes.const(max(count.value, 0))
    if _is_length(count.id, fdef):
        return nodes.clone(count)
    return nodes.call(nodes.attribute(nodes.name("np"), "maximum"),
                      [nodes.clone(count), nodes.const(0)])


def _is_length(name, fdef):
    """Is `name` bound once, to `len(...)`, `x.shape[k]` or `s[k]` of `s = x.shape`?"""
    def binding(n):
        found = [st.value for st in nodes.walk(fdef) if isinstance(st, gast.Assign)
                 and len(st.targets) == 1 and nodes.is_name(st.targets[0], n)]
        bound = [t for t in nodes.walk(fdef) if isinstance(t, gast.Name)
                 and t.id == n and not isinstance(t.ctx, gast.Load)]
        return found[0] if len(found) == 1 and len(bound) == 1 else None
    value = binding(name)
    if isinstance(value, gast.Call) and nodes.is_name(value.func, "len"):
        return True
    if not isinstance(value, gast.Subscript):
        return False
    base = value.value
    if isinstance(base, gast.Name):
        base = binding(base.id)
    return isinstance(base, gast.Attribute) and base.attr == "shape"


def _zero_start(block, at, acc):
    """The statement `acc = 0.0` before the loop block[at] with nothing reading acc
    between, else None."""
    for st in reversed(block[:at]):
        if acc in stores(st):
            return st if isinstance(st, gast.Assign) and is_zero(st.value) else None
        if acc in loads(st):
            return None
    return None
