"""Seeds folded out of loops: a backward loop whose only incoming adjoint is a number
that does not change in the loop (`loss_bar`, of a loss summed over a loop) runs with
1.0 in its place, and the adjoints it leaves are multiplied by that number once after
it.

Serves every loss accumulated in a loop (`loss = loss + f(x[i])`, `total += ...`), the
most common shape of scalar code and of per-step losses over arrays: the adjoint is
linear in the incoming adjoints, so with every other adjoint the loop reads zero when it
starts, what the loop computes is the number times what it computes from 1.0. Without
the fold, every step multiplies the number into its adjoints (one operation per term in
scalar code, one pass over an array per term in array code).

Conditions (else the loop is left as it is): the number is read in the loop and assigned
nowhere in it, it is an adjoint of a number (or the function's seed); every other
adjoint the loop reads before it assigns it is 0.0 when the loop starts (an accumulator
such as `a_bar = 0.0` before `a_bar += ...`); the loop binds adjoints by name only (no
stores into an adjoint, no nested loops or branches that might skip a binding).
"""
import gast

from ..syntax import nodes
from .algebra import simplify
from .facts import loads, single_target, stores, zeros_after


def fold_loop_seeds(body, numbers, arrays=frozenset(), seed=None):
    """The pass over a function body (its top level: the loops of the backward pass).
    `numbers`, `arrays`: the names of the trace holding numbers, NumPy arrays (the
    adjoints the loop leaves must be of one of these: a list's adjoint is a list);
    `seed`: the function's seed."""
    if not any(isinstance(st, gast.For) for st in body):
        return body
    out = []
    zero = set()                     # adjoints bound to 0.0 and not touched since
    for k, st in enumerate(body):
        if isinstance(st, gast.For) and not st.orelse:
            s = _foldable(st, zero, numbers, seed)
            after = set()
            for later in body[k + 1:] if s is not None else ():
                after |= loads(later)
            scaled = sorted(n for n in _adjoints_bound(st.body) if n in after)
            if s is not None and all(n.endswith("_bar") and n[:-len("_bar")] in
                                     numbers | arrays for n in scaled):
                out.append(_fold(st, s))
                for n in scaled:
                    out.append(nodes.copy_location(nodes.assign(n, gast.BinOp(
                        left=nodes.name(s), op=gast.Mult(), right=nodes.name(n))), st))
                zero -= stores(st)
                continue
        zero = zeros_after(zero, st)
        if _zeros_like(st):               # (a state's adjoint made an array: kinds)
            zero.add(st.targets[0].id)
        out.append(st)
    return out


def _zeros_like(st):
    """`x_bar = np.zeros_like(x)`: zero as 0.0 is, for the linearity the fold relies on."""
    v = st.value if single_target(st) is not None else None
    return isinstance(v, gast.Call) and isinstance(v.func, gast.Attribute) \
        and v.func.attr == "zeros_like" and nodes.is_name(v.func.value, "np") \
        and len(v.args) == 1 and not v.keywords


def _is_adjoint(name):
    """An adjoint of the generated code (`x_bar`, `h_bar_cell` of a called function's
    pair): the user's own names never end in `_bar` (`syntax/reserved.py`), and a name
    with `_bar` inside counts too, so that the checks below stay on the safe side."""
    return "_bar" in name


def _adjoints_bound(stmts):
    return {n for st in stmts for n in stores(st) if _is_adjoint(n)}


def _foldable(loop, zero, numbers, seed):
    """The seed of `loop` that can be folded out, else None."""
    body = loop.body
    if any(isinstance(st, (gast.If, gast.For, gast.While, gast.Return)) for st in body):
        return None
    bound = _adjoints_bound(body)
    for st in body:
        if isinstance(st, (gast.Assign, gast.AugAssign)):
            targets = st.targets if isinstance(st, gast.Assign) else [st.target]
            if any(not isinstance(t, (gast.Name, gast.Tuple)) for t in targets):
                if any(_is_adjoint(n) for t in targets for n in loads(t)):
                    return None         # a store into an adjoint (`x_bar[i] += g`)
    invariant = {n for st in body for n in loads(st) if _is_adjoint(n)} - bound
    invariant -= stores(loop.target)
    if len(invariant) != 1:
        return None
    s = invariant.pop()
    if s != seed and not (s.endswith("_bar") and s[:-len("_bar")] in numbers):
        return None
    written = set()
    for st in body:
        read = {n for n in loads(st) if _is_adjoint(n)}
        if isinstance(st, gast.AugAssign) and isinstance(st.target, gast.Name):
            read.add(st.target.id)
        carried = (read - written) & bound
        if carried - zero:
            return None                 # an adjoint the loop reads before it binds it
        written |= {n for n in stores(st) if _is_adjoint(n)}
    return s


def _fold(loop, s):
    """A copy of `loop` (its statements are shared with the value twin's) with 1.0 for
    the seed `s`, the products by 1.0 simplified away."""
    loop = nodes.clone(loop)

    class One(nodes.Transformer):
        def visit_Name(self, node):
            if node.id == s and isinstance(node.ctx, gast.Load):
                return nodes.const(1.0)
            return node
    class Quotients(nodes.Transformer):
        """`1.0 / x * y` (what `s / x * y` becomes) → `y / x`."""
        def visit_BinOp(self, node):
            self.generic_visit(node)
            if isinstance(node.op, gast.Mult):
                for q, y in ((node.left, node.right), (node.right, node.left)):
                    if isinstance(q, gast.BinOp) and isinstance(q.op, gast.Div) \
                            and isinstance(q.left, gast.Constant) and q.left.value == 1.0:
                        return gast.BinOp(left=y, op=gast.Div(), right=q.right)
            return node
    body = simplify([One().visit(st) for st in loop.body])
    loop.body = _merge_copies([Quotients().visit(st) for st in body])
    return loop


def _merge_copies(body):
    """`r_bar = v15` followed (later) by `r_bar = r_bar - e`, what `g * 1.0` left, becomes
    `r_bar = v15 - e` there, where nothing in between mentions r_bar or binds v15."""
    body = list(body)
    k = 0
    while k < len(body):
        st = body[k]
        if isinstance(st, gast.Assign) and len(st.targets) == 1 \
                and isinstance(st.targets[0], gast.Name) and _is_adjoint(st.targets[0].id) \
                and isinstance(st.value, gast.Name):
            t, n = st.targets[0].id, st.value.id
            for j in range(k + 1, len(body)):
                later = body[j]
                if t in nodes.names_in(later):
                    if isinstance(later, gast.Assign) and len(later.targets) == 1 \
                            and nodes.is_name(later.targets[0], t) \
                            and nodes.names_in(later.value).count(t) == 1:
                        later.value = nodes.substitute(later.value, {t: n})
                        del body[k]
                        k -= 1
                    break
                if n in stores(later):
                    break
        k += 1
    return body
