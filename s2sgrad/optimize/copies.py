"""Copy propagation of adjoints: `v1_bar = v4_bar` followed by reads of `v1_bar` reads
`v4_bar` instead, where neither changes in between (serves every chain of additions and
subtractions, whose rules copy adjoints)."""
import gast

from ..syntax import nodes
from .facts import stores


def _adjoint_copy(st):
    """(a, b) for `a_bar = b` with b a name, else None."""
    if isinstance(st, gast.Assign) and len(st.targets) == 1 \
            and isinstance(st.targets[0], gast.Name) and st.targets[0].id.endswith("_bar") \
            and isinstance(st.value, gast.Name):
        return st.targets[0].id, st.value.id
    return None


def _substitute_loads(node, copies, changed):
    for n in nodes.walk(node):
        if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load) and n.id in copies:
            n.id = copies[n.id]
            changed.append(n.id)


def propagate_copies(body, changed):
    """After `a_bar = b`, read b where the code reads a_bar, until either is assigned
    again (within straight-line code; a branch or loop starts afresh). The copies that
    nothing reads any more are then removed as dead adjoints; `x = x` goes at once.
    Appends to `changed` when it rewrites anything."""
    copies = {}
    readers = {}           # b → the names a that were copied from b (copies[a] may be gone)
    out = []
    for st in body:
        if isinstance(st, (gast.If, gast.While)):
            _substitute_loads(st.test, copies, changed)
        elif isinstance(st, gast.For):
            _substitute_loads(st.iter, copies, changed)
        if isinstance(st, (gast.If, gast.For, gast.While)):
            st.body = propagate_copies(st.body, changed)
            st.orelse = propagate_copies(st.orelse, changed)
            copies, readers = {}, {}
            out.append(st)
            continue
        if isinstance(st, gast.Assign):
            _substitute_loads(st.value, copies, changed)
            for t in st.targets:
                if not isinstance(t, gast.Name):
                    _substitute_loads(t, copies, changed)     # the index of `g[i] = v`
        elif not isinstance(st, gast.Return) and not (
                isinstance(st, gast.Expr) and isinstance(st.value, gast.Constant)):
            _substitute_loads(st, copies, changed)    # (`return` keeps x_bar, y_bar)
        pair = _adjoint_copy(st)
        if pair and pair[0] == pair[1]:
            changed.append(pair[0])
            continue                                  # `a_bar = a_bar`
        for name in stores(st):      # forget the copies to or from a reassigned name
            copies.pop(name, None)
            for a in readers.pop(name, ()):
                if copies.get(a) == name:
                    del copies[a]
        if pair:
            copies[pair[0]] = pair[1]
            readers.setdefault(pair[1], []).append(pair[0])
        out.append(st)
    return out
