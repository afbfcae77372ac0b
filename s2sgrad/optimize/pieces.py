"""Optimizer pass — an adjoint assembled from pieces gets each piece written in place.

Serves every function that unpacks a packed parameter vector by slices (and reshapes):
`W1 = np.reshape(w[:1600], (50, 32)); W2 = w[1600:]`. After `kinds.index_adjoints`
the adjoint of `w` is a zero array into which each piece's adjoint is stored, and each
piece was made first as an array of its own:

    W2_bar = matmul_right(v3_bar, h2, W2)
    ...
    W1_bar = matmul_right(v2_bar, x, W1)
    w_bar = np.zeros_like(w)
    w_bar[1600:] = W2_bar
    v1_bar = unreshape(W1_bar, v1)
    w_bar[:1600] += v1_bar

becomes

    w_bar = np.empty_like(w)
    W2_bar = matmul_right(v3_bar, h2, W2, out=w_bar[1600:])
    ...
    W1_bar = matmul_right(v2_bar, x, W1, out=np.reshape(w_bar[:1600], np.shape(W1)))
    w_bar[1600:] = W2_bar
    v1_bar = unreshape(W1_bar, v1)
    w_bar[:1600] = v1_bar

The product that makes a piece writes it into its place (`out=`, a view of the
adjoint), so no second array of the adjoint's size is made and freed per call: batched
by `vmap` (one adjoint per example) that second array cost more than the whole
backward pass: glibc gives freed blocks of a few MB back to the system and the next
call faults their pages in again (256 per-example gradients of a 50-32-1 MLP packed in
one vector: 2,100 page faults and 4.8 ms per call before, none and 1.4 ms after;
benchmarks/batching.py). The stores stay: a store of a piece that is
already in its place copies nothing (NumPy sees the same memory), and where the
product could not write into `out` (another shape or dtype, a view NumPy could not
make), the store puts the piece in its place as before — the result never depends on
`out` being used.

When it applies: the stores into the adjoint are stores at constant slices or ints of
its first axis (`index_adjoints`' form) whose regions are provably disjoint (so `+=`
into zeros is `=`, and a piece written early is not overwritten by another); a piece is
written in place when the stored name was made, through single-use reshapes
(`unreshape`), by a product helper (`matmul_left/right`, `dot_left/right`) whose result
is read by nothing else; and nothing else reads or writes the adjoint between the
first such product and the last store. When the regions provably cover the whole
first axis (`[:a]`, `[a:b]`, `[b:]`), the adjoint is made with `np.empty_like`.
Overlapping slices, negative bounds and steps keep the code as it was.

Slices whose bounds are names (`w[:n1]`, `w[o:o + k]`: `add_at` at run-time slices)
get the same with the check at run time (`_assemble_at`): `out=piece_place(w_bar,
(the pieces' indices), k, W)` is a view where the pieces are apart and None otherwise,
and `add_at(w_bar, w, index, v, True)` adds nothing for a piece already in its place.
"""
import gast

from ..ir.shapes import int_constant
from ..runtime.core import WRITES_INTO
from ..syntax import nodes
from .facts import is_zero, name_counts, single_target, stores, stores_all
_END = float("inf")


def write_pieces_in_place(body, arrays):
    """Rewrite the adjoints assembled from pieces in `body` (see the module docstring).
    `arrays`: the names known to hold NumPy arrays (an adjoint of anything else, a list
    or a tuple, is not assembled in place)."""
    reads, binds = name_counts(gast.Module(body=list(body), type_ignores=[]))
    return _block(list(body), reads, binds, arrays)


def _block(body, reads, binds, arrays):
    for st in body:
        for field in ("body", "orelse"):
            inner = getattr(st, field, None)
            if isinstance(inner, list) and isinstance(st, (gast.If, gast.For, gast.While)):
                setattr(st, field, _block(inner, reads, binds, arrays))
    k = 0
    while k < len(body):
        done = _assemble(body, k, reads, binds)
        if done is None:
            done = _assemble_at(body, k, reads, binds, arrays)
        k = done if done is not None else k + 1
    return body


def _allocation(st):
    """(t, x) of `t = np.zeros_like(x)`, else None."""
    t = single_target(st)
    call = st.value if t is not None else None
    if isinstance(call, gast.Call) and isinstance(call.func, gast.Attribute) \
            and call.func.attr == "zeros_like" and nodes.is_name(call.func.value, "np") \
            and len(call.args) == 1 and not call.keywords \
            and isinstance(call.args[0], gast.Name):
        return t, call.args[0].id
    return None


def _store(st, t):
    """(index, value name, statement) of `t[index] = v` / `t[index] += v`, else None."""
    target = st.targets[0] if isinstance(st, gast.Assign) and len(st.targets) == 1 else \
        st.target if isinstance(st, gast.AugAssign) and isinstance(st.op, gast.Add) else None
    if isinstance(target, gast.Subscript) and nodes.is_name(target.value, t) \
            and isinstance(st.value, gast.Name) and st.value.id != t \
            and _region(target.slice) is not None:
        return target.slice, st.value.id
    return None


def _region(index):
    """[lo, hi) of the first axis that a constant index names (hi _END: to the end),
    or None (a negative bound or a step: not known without the length)."""
    if isinstance(index, gast.Constant) and type(index.value) is int:
        return (index.value, index.value + 1) if index.value >= 0 else None
    if not isinstance(index, gast.Slice) or index.step is not None:
        return None
    lo = 0 if index.lower is None else int_constant(index.lower)
    hi = _END if index.upper is None else int_constant(index.upper)
    if lo is None or hi is None or lo < 0 or hi < 0:
        return None
    return lo, max(lo, hi)


def _assemble(body, a, reads, binds):
    """Rewrite the assembly starting at body[a] when it is one; the position to go on
    from, or None."""
    made = _allocation(body[a])
    if made is None:
        return None
    t, x = made
    pieces = []                                  # (position, index, value name)
    for k in range(a + 1, len(body)):
        st = body[k]
        if t not in nodes.names_in(st):
            continue
        piece = _store(st, t)
        if piece is None:
            break
        pieces.append((k,) + piece)
    regions = sorted(_region(index) for _, index, _ in pieces)
    if not pieces or any(r[1] > s[0] for r, s in zip(regions, regions[1:])):
        return None                              # (none, or regions that may overlap)
    producers = {}                               # position of the product → (call, out)
    for _, index, v in pieces:
        found = _producer(body, v, reads, binds)
        if found is not None:
            k, call, reshaped = found
            producers[k] = (call, _out(t, index, call.args[2], reshaped))
    if not producers:
        return None
    first = min(producers)
    if first < a and not _free(body[first:a], t, x):
        return None
    for k, (call, out) in producers.items():
        call.keywords = [gast.keyword(arg="out", value=out)]
    for k, index, v in pieces:
        body[k] = nodes.copy_location(gast.Assign(
            targets=[nodes.subscript(nodes.name(t), nodes.clone(index), store=True)],
            value=nodes.name(v), type_comment=None), body[k])
    covered = regions[0][0] == 0 and regions[-1][1] == _END and \
        all(r[1] == s[0] for r, s in zip(regions, regions[1:]))
    alloc = body[a]
    if covered:
        alloc.value.func.attr = "empty_like"
    note = nodes.comment(f"{t}: assembled in place, each piece's adjoint written into "
                         f"its place")
    del body[a]
    body[min(first, a):min(first, a)] = [note, alloc]
    return pieces[-1][0] + 2


def _assemble_at(body, a, reads, binds, arrays):
    """The same for an adjoint assembled by `add_at` at slices that are not constants
    (`w[:n1]`, `w[o:o + k]`): whether the pieces are apart is known when the code runs,
    so each product gets `out=piece_place(t, (the pieces' indices), k, like)` (a view
    when they are apart, else None), `t` starts as zeros and every piece is added in
    place (`add_at` adds nothing for a piece already in its place)."""
    st = body[a]
    t = single_target(st)
    call = st.value if t is not None else None
    if not (_is_call(call, "add_at") and len(call.args) == 4 and is_zero(call.args[0])
            and isinstance(call.args[1], gast.Name) and isinstance(call.args[3], gast.Name)
            and _plain_index(call.args[2])):
        return None
    x = call.args[1].id
    if x not in arrays:
        return None
    pieces = [(a, call.args[2], call.args[3].id)]
    for k in range(a + 1, len(body)):
        st = body[k]
        if t not in nodes.names_in(st):
            continue
        c = st.value if single_target(st) == t else None
        if not (_is_call(c, "add_at") and len(c.args) == 5 and nodes.is_name(c.args[0], t)
                and nodes.is_name(c.args[1], x) and isinstance(c.args[3], gast.Name)
                and isinstance(c.args[4], gast.Constant) and c.args[4].value is True
                and _plain_index(c.args[2])):
            break
        pieces.append((k, c.args[2], c.args[3].id))
    if len(pieces) < 2:
        return None
    indices = gast.Tuple(elts=[index for _, index, _ in pieces], ctx=gast.Load())
    producers = {}
    for j, (_, _, v) in enumerate(pieces):
        found = _producer(body, v, reads, binds)
        if found is not None:
            producers[found[0]] = (found[1], j)
    if not producers:
        return None
    first = min(min(producers), a)
    if not _free(body[first:a], t, x) or \
            stores_all(body[first:pieces[-1][0]]) & set(nodes.names_in(indices)):
        return None
    for call, j in producers.values():
        call.keywords = [gast.keyword(arg="out", value=nodes.call("piece_place", [
            nodes.name(t), nodes.clone(indices), nodes.const(j), nodes.clone(call.args[2])]))]
    fresh = body[a].value
    fresh.args[0] = nodes.name(t)
    fresh.args.append(nodes.const(True))
    note = nodes.comment(f"{t}: assembled in place where its pieces are apart")
    alloc = nodes.assign(t, nodes.call(nodes.attribute(nodes.name("np"), "zeros_like"),
                                       [nodes.name(x)]))
    body[first:first] = [note, alloc]
    return pieces[-1][0] + 3


def _is_call(call, name):
    return isinstance(call, gast.Call) and nodes.is_name(call.func, name) \
        and not call.keywords


def _plain_index(index):
    """An index read again where the adjoint is made: names, int constants and
    `slice(...)` of them (nothing that computes)."""
    if isinstance(index, gast.Name) or (isinstance(index, gast.Constant)
                                        and type(index.value) is int):
        return True
    return _is_call(index, "slice") and all(
        isinstance(p, gast.Name) or (isinstance(p, gast.Constant) and
                                     (p.value is None or type(p.value) is int))
        or int_constant(p) is not None for p in index.args)


def _free(stmts, t, x):
    """May `t = np.zeros_like(x)` move before `stmts`: they neither mention t nor bind x?"""
    return not any(t in nodes.names_in(st) or x in stores(st) for st in stmts)


def _producer(body, v, reads, binds):
    """(position, the product call, reshaped?) of the statement that makes `v` through
    single-use reshapes from a `WRITES_INTO` helper, else None."""
    reshaped = False
    for _ in range(8):
        if reads.get(v) != 1 or binds.get(v) != 1:
            return None
        k = next((k for k, st in enumerate(body) if single_target(st) == v), None)
        if k is None:
            return None
        call = body[k].value
        if not isinstance(call, gast.Call) or call.keywords \
                or not isinstance(call.func, gast.Name):
            return None
        if call.func.id == "unreshape" and len(call.args) == 2 \
                and isinstance(call.args[0], gast.Name):
            v, reshaped = call.args[0].id, True
            continue
        if call.func.id in WRITES_INTO and len(call.args) == 3 \
                and isinstance(call.args[2], gast.Name):
            return k, call, reshaped
        return None
    return None


def _out(t, index, like, reshaped):
    """The place of a piece: t[index], in the shape of `like` when reshaped."""
    place = nodes.subscript(nodes.name(t), nodes.clone(index))
    if not reshaped:
        return place
    return nodes.call(nodes.attribute(nodes.name("np"), "reshape"), [
        place, nodes.call(nodes.attribute(nodes.name("np"), "shape"), [nodes.name(like.id)])])
