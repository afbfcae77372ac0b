"""Batching: one function of an example → one function of a batch, as source.

The input is code in A-normal form (a user's function after `normalize`, or code
s2sgrad generated: gradients, backward halves of pairs, tangent code) and the names of
its parameters that carry a batch (one example per entry of a new leading axis). Each
value is then known to be batched or not, and each operation is rewritten by its
batching rule:

    y = a * b           y = rank_up(a, b) * b        (an example of a against b: ranks aligned)
    y = np.sum(x)       y = np.sum(x, axis=example_axes(x))
    y = np.sum(x, 0)    y = np.sum(x, axis=1)
    y = x[i]            y = x[:, i]
    y = x @ w           y = batched_matmul(x, w, batched=(True, False))
    y = x.T             y = batched_transpose(x)
    g = unbroadcast(ḡ, x)   g = batched_unbroadcast(ḡ, x, batched=(True, False))

A value that stays the same for every example is left as it is (no work per example).
An operation with no rule runs once per example in a loop over the batch, with a
comment and a note saying so (`Batcher.notes`); a construct that a statement-level loop
cannot handle (an `if` or a `while` whose condition differs between examples, ...)
raises `NoBatchingRule`: the caller then runs the whole function once per example.
"""
import builtins
import math

import gast
import numpy as np

from .. import runtime
from ..syntax import emit, nodes

ANY = "any"           # batched: an array with a batch axis, or a tuple of them (a loop's)


class NoBatchingRule(Exception):
    """A construct the batched code cannot express: the whole function must run once
    per example instead. `node` is where, `what` says what."""

    def __init__(self, node, what):
        super().__init__(what)
        self.node, self.what = node, what


def is_batched(flag):
    if flag is True or flag == ANY:
        return True
    if isinstance(flag, tuple):
        if flag[0] == "tup":
            return any(is_batched(f) for f in flag[1])
        return is_batched(flag[1])
    return False


def _join(a, b, node):
    """The flag of a value that is `a` on one path and `b` on another."""
    if a is None:
        return b
    if b is None or a == b:
        return a
    if isinstance(a, tuple) or isinstance(b, tuple):
        if isinstance(a, tuple) and isinstance(b, tuple) and a[0] == b[0]:
            if a[0] == "seq":
                return ("seq", _join(a[1], b[1], node))
            if len(a[1]) == len(b[1]):
                return ("tup", tuple(_join(x, y, node) for x, y in zip(a[1], b[1])))
        raise NoBatchingRule(node, "a container batched differently on two paths")
    return True


# ------------------------------------------------------------------ what calls are

_ELEMENTWISE = {np.where, np.clip, np.real, np.imag, np.conj, np.round, np.around,
                np.nan_to_num, np.sinc, np.heaviside, np.fix, runtime.stop_gradient,
                runtime.div_or_zero, runtime.pow_base_deriv, runtime.log_or_zero,
                runtime.choose_grad, np.zeros_like, np.ones_like, np.empty_like,
                np.copy, np.array, np.asarray, np.ascontiguousarray, np.asanyarray}
_LIKE_ONLY = {np.zeros_like, np.ones_like, np.empty_like}
_REDUCTIONS = {np.sum, np.mean, np.prod, np.max, np.min, np.amax, np.amin, np.std,
               np.var, np.all, np.any, np.nansum, np.nanmean, np.nanmax, np.nanmin}
_AXIS_ONLY = {np.cumsum, np.cumprod, np.argmax, np.argmin, np.sort, np.argsort, np.flip,
              np.diff}                                     # axis=None flattens: loop
_METHOD_REDUCTIONS = {"sum", "mean", "prod", "max", "min", "std", "var", "all", "any"}
_METHOD_SAME = {"copy", "astype", "conj", "clip", "round"}
_BUILTIN_MAP = {abs: "np.abs", max: "np.maximum", min: "np.minimum"}

#: helper → (positions of values, positions read for shape only, batched version)
_HELPERS = {
    "unbroadcast": ((0,), (1,), "batched_unbroadcast"),
    "unreduce": ((0,), (1,), "batched_unreduce"),
    "count_reduced": ((), (0,), None),
    "zero_grad": ((), (0,), None),
    "grad_like": ((0,), (1,), "batched_grad_like"),
    "match_shape": ((0,), (1,), "batched_match_shape"),
    "matmul_left": ((0, 1), (2,), "batched_matmul_left"),
    "matmul_right": ((0, 1), (2,), "batched_matmul_right"),
    "dot_left": ((0, 1), (2,), "batched_dot_left"),
    "dot_right": ((0, 1), (2,), "batched_dot_right"),
    "add_at": ((0, 3), (1,), "batched_add_at"),
    "add_grads": ((0, 1), (), "batched_add_grads"),
    "getitem_grad": ((0,), (), None),
    "copy_grad": ((0,), (1,), "batched_copy_grad"),
    "tangents_like": ((0,), (1,), None),
    "copy_tangent": ((0,), (1,), None),
    "extremum_grad": ((0, 1, 2), (), "batched_extremum_grad"),
    "unreshape": ((0,), (1,), "batched_unreshape"),
    "check_scalar": ((0,), (), "batched_check_scalar"),
    "concat_grads": ((0,), (1,), "batched_concat_grads"),
    "stack_grads": ((0,), (1,), "batched_stack_grads"),
    "transpose_grad": ((0,), (), "batched_transpose_grad"),
    "extremum_tangent": ((0, 1, 2), (), "batched_extremum_tangent"),
    "item_tangent": ((0,), (2,), "batched_item_tangent"),
}
#: helpers whose batched version returns a list of batched values
_LIST_RESULTS = {"concat_grads", "stack_grads", "item_tangent", "tangents_like"}
#: helpers taking lists of batched values (`batched=` says whether their items are)
_LIST_ARGS = {"tangents_like": ((0,), (1,), "batched_tangents_like"),
              "copy_tangent": ((0,), (1,), "batched_copy_tangent")}


def _math_to_numpy(obj):
    """The NumPy ufunc that does what a `math` function does, element by element."""
    if getattr(obj, "__module__", None) != "math" and getattr(math, getattr(
            obj, "__name__", ""), None) is not obj:
        return None
    name = {"fabs": "abs", "pow": "power", "atan": "arctan", "asin": "arcsin",
            "acos": "arccos", "atan2": "arctan2", "asinh": "arcsinh", "acosh": "arccosh",
            "atanh": "arctanh"}.get(obj.__name__, obj.__name__)
    f = getattr(np, name, None)
    return f"np.{name}" if isinstance(f, np.ufunc) else None


def _is_ufunc(obj):
    return isinstance(obj, np.ufunc)


# ------------------------------------------------------------------ the transform

class Batcher:
    """Rewrites one function; `notes` lists the statements run once per example."""

    def __init__(self, fdef, batched, resolve, size_name="batch_size"):
        self.fdef = fdef
        self.resolve = resolve
        taken = set(nodes.names_in(fdef)) | {fdef.name}
        self.taken = taken
        self.size = size_name if size_name not in taken else nodes.fresh_name(size_name, taken)
        taken.add(self.size)
        self.k = nodes.fresh_name("k", taken)
        self.params = [a.id for a in fdef.args.args]
        if isinstance(batched, dict):            # (a callee's: any flags)
            self.flags = {p: batched.get(p, False) for p in self.params}
        else:
            self.flags = {p: (p in batched) for p in self.params}
        self.notes = []
        self.locals = set(nodes.names_in(fdef, gast.Store)) | set(self.params)
        self.returns = None          # the flag of what the batched function returns
        self.callees = None          # callees(obj) → a definition to batch, or None
        self.made = {}               # (callee, flags) → batched name (shared with callees')
        self.defs = []               # the batched callees' definitions

    # -- the function

    def run(self, name, doc_extra=""):
        batched = [p for p in self.params if self.flags[p] is True] or \
            [f"{p}{_path_to_batched(self.flags[p])}" for p in self.params
             if is_batched(self.flags[p])]
        body = list(self.fdef.body)
        doc = None
        if body and isinstance(body[0], gast.Expr) and isinstance(body[0].value, gast.Constant) \
                and isinstance(body[0].value.value, str) \
                and not body[0].value.value.startswith(nodes.COMMENT_MARK):
            doc = body.pop(0).value.value
        head = [nodes.assign(self.size, nodes.parse_expr(f"np.shape({batched[0]})[0]"))]
        stored = {t.value.id for st in nodes.flat(body)
                  if isinstance(st, (gast.Assign, gast.AugAssign))
                  for t in (st.targets if isinstance(st, gast.Assign) else [st.target])
                  if isinstance(t, gast.Subscript) and isinstance(t.value, gast.Name)}
        for p in batched:
            if p in stored and p in self.params:    # (never write into the caller's array)
                head.append(nodes.assign(p, nodes.parse_expr(f"{p}.copy()")))
        out = self.block(body)
        if doc_extra:
            doc = f"{doc.rstrip()}\n\n    {doc_extra}" if doc else doc_extra
        new = nodes.function_def(name, self.params, head + out,
                                 defaults=self.fdef.args.defaults, docstring=doc)
        return new

    # -- statements

    def block(self, stmts):
        out = []
        for st in stmts:
            self.stmt(st, out)
        return out

    def stmt(self, st, out):
        if isinstance(st, gast.Assign) and len(st.targets) == 1:
            return self.assign(st, st.targets[0], st.value, out)
        if isinstance(st, gast.AugAssign) and isinstance(st.target, gast.Name):
            value = gast.BinOp(left=nodes.name(st.target.id), op=st.op, right=st.value)
            return self.assign(st, nodes.name(st.target.id, store=True), value, out)
        if isinstance(st, gast.AugAssign) and isinstance(st.target, gast.Subscript) \
                and isinstance(st.target.value, gast.Name):
            return self.aug_store(st, out)
        if isinstance(st, gast.Expr):
            return self.expr_stmt(st, out)
        if isinstance(st, gast.Return):
            return self.return_(st, out)
        if isinstance(st, gast.If):
            return self.if_(st, out)
        if isinstance(st, gast.For):
            return self.for_(st, out)
        if isinstance(st, gast.While):
            return self.while_(st, out)
        if isinstance(st, (gast.Pass, gast.Break, gast.Continue)):
            out.append(st)
            return
        if isinstance(st, gast.Assert):
            test, flag = self.expr(st.test, out)
            if is_batched(flag):
                test = nodes.call("np.all", [test])
            out.append(nodes.copy_location(gast.Assert(test=test, msg=st.msg), st))
            return
        if not self._batched_names(st):
            out.append(st)
            return
        raise NoBatchingRule(st, f"`{_text(st)}`")

    def assign(self, st, target, value, out):
        if isinstance(target, gast.Name):
            e, flag = self.expr(value, out)
            out.append(nodes.copy_location(nodes.assign(target.id, e), st))
            self.flags[target.id] = flag
            return
        if isinstance(target, (gast.Tuple, gast.List)) and \
                all(isinstance(t, gast.Name) for t in target.elts):
            return self.unpack(st, target, value, out)
        if isinstance(target, gast.Subscript) and isinstance(target.value, gast.Name):
            return self.store(st, target, value, out)
        raise NoBatchingRule(st, f"the assignment `{_text(st)}`")

    def unpack(self, st, target, value, out):
        e, flag = self.expr(value, out)
        n = len(target.elts)
        names = [t.id for t in target.elts]
        if isinstance(flag, tuple) and flag[0] == "tup" and len(flag[1]) == n:
            flags = list(flag[1])
        elif isinstance(flag, tuple) and flag[0] == "seq":
            flags = [flag[1]] * n
        elif is_batched(flag):
            e = nodes.call("unpack_examples", [e, nodes.const(n)])
            flags = [True] * n
        else:
            flags = [False] * n
        out.append(nodes.copy_location(nodes.assign(
            nodes.tuple_([nodes.name(x, store=True) for x in names], store=True), e), st))
        for x, f in zip(names, flags):
            self.flags[x] = f

    def store(self, st, target, value, out):
        c = target.value.id
        cflag = self.flags.get(c, False)
        if self._batched_names(target.slice):
            raise NoBatchingRule(st, f"a store at an index that differs between examples "
                                     f"`{_text(st)}`")
        v, vflag = self.atom(value, out)
        if isinstance(cflag, tuple) and cflag[0] == "seq":
            if is_batched(vflag) and not is_batched(cflag[1]):
                self._convert(c, cflag, ("seq", True), out)
                cflag = self.flags[c] = ("seq", True)
            if is_batched(cflag[1]) and not is_batched(vflag):
                v = self._to_batch(v)
            out.append(nodes.copy_location(nodes.assign(target, v), st))
            return
        if isinstance(cflag, tuple):
            raise NoBatchingRule(st, f"a store into a tuple `{_text(st)}`")
        if is_batched(vflag) and not is_batched(cflag):
            self._convert(c, False, True, out)
            cflag = self.flags[c] = True
        if is_batched(cflag):
            where = self._index(nodes.name(c), target.slice, store=True)
            if is_batched(vflag):
                v = nodes.call("rank_up", [v, self._index(nodes.name(c), target.slice),
                                           nodes.const(1)])
            out.append(nodes.copy_location(nodes.assign(where, v), st))
            return
        out.append(nodes.copy_location(nodes.assign(target, v), st))

    def aug_store(self, st, out):
        """c[i] += v: in place, as the code it batches (which proved c its own)."""
        target = st.target
        c = target.value.id
        cflag = self.flags.get(c, False)
        if self._batched_names(target.slice) or isinstance(cflag, tuple):
            load = nodes.subscript(nodes.clone(target.value), nodes.clone(target.slice))
            value = gast.BinOp(left=load, op=st.op, right=st.value)
            return self.assign(st, target, value, out)
        v, vflag = self.atom(st.value, out)
        if is_batched(vflag) and not is_batched(cflag):
            self._convert(c, False, True, out)
            cflag = self.flags[c] = True
        if is_batched(cflag):
            where = self._index(nodes.name(c), target.slice, store=True)
            if is_batched(vflag):
                v = nodes.call("rank_up", [v, self._index(nodes.name(c), target.slice),
                                           nodes.const(1)])
            target = where
        out.append(nodes.copy_location(gast.AugAssign(target=target, op=st.op, value=v), st))

    def expr_stmt(self, st, out):
        v = st.value
        if isinstance(v, gast.Constant):
            out.append(st)
            return
        if isinstance(v, gast.Call) and isinstance(v.func, gast.Attribute) \
                and isinstance(v.func.value, gast.Name) and v.func.attr == "append" \
                and len(v.args) == 1 and not v.keywords:
            lst = v.func.value.id
            lflag = self.flags.get(lst, False)
            x, xflag = self.atom(v.args[0], out)
            elem = lflag[1] if isinstance(lflag, tuple) and lflag[0] == "seq" else None
            if isinstance(lflag, tuple) and lflag[0] == "tup":
                raise NoBatchingRule(st, f"`{_text(st)}`")
            joined = _join(elem, xflag, st)
            if joined != elem and elem is not None:
                self._convert(lst, ("seq", elem), ("seq", joined), out)
            if is_batched(joined) and not is_batched(xflag):
                x = self._to_batch(x)
            self.flags[lst] = ("seq", joined)
            out.append(nodes.copy_location(nodes.expr_stmt(nodes.call(
                nodes.attribute(nodes.name(lst), "append"), [x])), st))
            return
        e, _ = self.expr(v, out)
        out.append(nodes.copy_location(nodes.expr_stmt(e), st))

    def return_(self, st, out):
        if st.value is None:
            raise NoBatchingRule(st, "a `return` without a value")
        if isinstance(st.value, gast.Tuple):
            items = [self.atom(e, out) for e in st.value.elts]
            e = nodes.tuple_([self._all_batched(x, f, st) for x, f in items])
            flag = ("tup", tuple(f for _, f in items))
        else:
            e, flag = self.expr(st.value, out)
            e = self._all_batched(e, flag, st)
        self.returns = _join(self.returns, _made_batched(flag), st)
        out.append(nodes.copy_location(nodes.return_(e), st))

    def _all_batched(self, e, flag, node):
        """`e` with every part batched (a result the same for all examples repeated)."""
        if flag is True or flag == ANY:
            return e
        if flag is False:
            return self._to_batch(e)
        if flag[0] == "tup":
            return nodes.tuple_([self._all_batched(nodes.subscript(e, nodes.const(i)), f, node)
                                 for i, f in enumerate(flag[1])])
        if is_batched(flag[1]):
            return e                                  # a list of batched items
        return self._list_to_batch(e)

    def _list_to_batch(self, e):
        """A list of values the same for every example: each item repeated."""
        comp = nodes.parse_expr(f"[to_batch(item, {self.size}) for item in __list__]")
        return nodes.substitute(comp, {"__list__": e})

    def if_(self, st, out):
        test, flag = self.atom(st.test, out)
        if is_batched(flag):
            raise NoBatchingRule(st, f"`if {_text(st.test)}:` whose condition differs "
                                     "between examples")
        before = dict(self.flags)
        body = self.block(st.body)
        after_body = self.flags
        self.flags = dict(before)
        orelse = self.block(st.orelse)
        after_else = self.flags
        joined = {}
        for n in set(after_body) | set(after_else):
            a, b = after_body.get(n), after_else.get(n)
            joined[n] = _join(a, b, st)
            if a is not None and b is not None:
                if a != joined[n]:
                    self._convert(n, a, joined[n], body)
                if b != joined[n]:
                    self._convert(n, b, joined[n], orelse)
        self.flags = joined
        out.append(nodes.copy_location(gast.If(test=test, body=body or [gast.Pass()],
                                               orelse=orelse), st))

    def _loop_body(self, st, body_stmts, out, test=None):
        """The body batched with the flags it keeps from one trip to the next: a value
        that a trip makes batched is batched (repeated) before the loop."""
        for _ in range(8):
            before = dict(self.flags)
            body = self.block(body_stmts)
            changed = {}
            for n, f in self.flags.items():
                if n in before and before[n] is not None and before[n] != f:
                    j = _join(before[n], f, st)
                    if j != before[n]:
                        changed[n] = j
            if not changed:
                if test is not None and is_batched(self.flags.get(test)):
                    raise NoBatchingRule(st, f"`while {test}:` whose condition differs "
                                             "between examples")
                for n, f in before.items():      # after the loop: what a trip leaves
                    self.flags[n] = _join(f, self.flags.get(n), st)
                return body
            self.flags = before
            for n, j in changed.items():
                self._convert(n, before[n], j, out)
                self.flags[n] = j
        raise NoBatchingRule(st, "a loop whose values keep changing between batched "
                                 "and not")

    def for_(self, st, out):
        if st.orelse or not isinstance(st.target, gast.Name):
            raise NoBatchingRule(st, "a `for` loop with `else` or unpacking")
        it, flag = self.atom(st.iter, out)
        if is_batched(flag):
            raise NoBatchingRule(st, f"`for {st.target.id} in {_text(st.iter)}:` whose "
                                     "trips differ between examples")
        self.flags[st.target.id] = False
        body = self._loop_body(st, st.body, out)
        out.append(nodes.copy_location(nodes.for_(st.target.id, it, body), st))

    def while_(self, st, out):
        if st.orelse or not isinstance(st.test, gast.Name):
            raise NoBatchingRule(st, "a `while` loop with `else` or a compound condition")
        if is_batched(self.flags.get(st.test.id)):
            raise NoBatchingRule(st, f"`while {st.test.id}:` whose condition differs "
                                     "between examples")
        body = self._loop_body(st, st.body, out, test=st.test.id)
        out.append(nodes.copy_location(nodes.while_(st.test, body), st))

    def _convert(self, n, old, new, out):
        """Statements making `n` (of flag `old`) a value of flag `new`."""
        if old == new or not (n in self.locals or n in self.flags):
            return
        if not is_batched(old) and new is True or new == ANY:
            out.append(nodes.assign(n, self._to_batch(nodes.name(n))))
        elif isinstance(new, tuple) and new[0] == "seq":
            e = nodes.parse_expr(f"[to_batch(e, {self.size}) for e in {n}]") \
                if not is_batched(old[1]) else None
            if e is not None:
                out.append(nodes.assign(n, e))
        elif isinstance(new, tuple) and new[0] == "tup":
            items = [self._to_batch(nodes.subscript(nodes.name(n), nodes.const(i)))
                     if is_batched(f) and not is_batched(o)
                     else nodes.subscript(nodes.name(n), nodes.const(i))
                     for i, (o, f) in enumerate(zip(old[1], new[1]))]
            out.append(nodes.assign(n, nodes.tuple_(items)))
        else:
            raise NoBatchingRule(self.fdef, f"`{n}` batched differently on two paths")

    # -- expressions

    def _batched_names(self, node):
        return [n for n in nodes.names_in(node) if is_batched(self.flags.get(n, False))]

    def _to_batch(self, e):
        return nodes.call("to_batch", [e, nodes.name(self.size)])

    def atom(self, node, out):
        """An operand: a name or a constant (a compound batched expression is given a
        name of its own first, so that a rule may read it twice)."""
        if isinstance(node, gast.Name):
            return node, self.flags.get(node.id, False)
        if isinstance(node, gast.Constant):
            return node, False
        e, flag = self.expr(node, out)
        t = nodes.fresh_name("b", self.taken)
        out.append(nodes.assign(t, e))
        self.flags[t] = flag
        return nodes.name(t), flag

    def expr(self, node, out):
        if isinstance(node, gast.Name):
            return node, self.flags.get(node.id, False)
        if isinstance(node, (gast.Tuple, gast.List)):
            return self.display(node, out)
        if not self._batched_names(node):
            return node, False
        if isinstance(node, gast.BinOp):
            return self.binop(node, out)
        if isinstance(node, gast.UnaryOp):
            x, f = self.atom(node.operand, out)
            if isinstance(node.op, gast.Not):
                return nodes.call("np.logical_not", [x]), f
            return gast.UnaryOp(op=node.op, operand=x), f
        if isinstance(node, gast.Compare) and len(node.ops) == 1 and not isinstance(
                node.ops[0], (gast.In, gast.NotIn, gast.Is, gast.IsNot)):
            return self.binop(node, out)
        if isinstance(node, gast.Subscript):
            return self.subscript(node, out)
        if isinstance(node, gast.Attribute):
            return self.attribute(node, out)
        if isinstance(node, gast.Call):
            return self.call(node, out)
        raise NoBatchingRule(node, f"`{_text(node)}`")

    def display(self, node, out):
        items = [self.atom(e, out) for e in node.elts]
        elts = [e for e, _ in items]
        flags = [f for _, f in items]
        if isinstance(node, gast.Tuple):
            if not any(is_batched(f) or isinstance(f, tuple) for f in flags):
                return node, False
            return nodes.tuple_(elts), ("tup", tuple(flags))
        joined = None
        for f in flags:
            joined = _join(joined, f, node)
        if is_batched(joined):
            elts = [e if is_batched(f) else self._to_batch(e) for e, f in zip(elts, flags)]
        return nodes.list_(elts), ("seq", joined)

    def binop(self, node, out):
        if isinstance(node, gast.Compare):
            left, right = node.left, node.comparators[0]
        else:
            left, right = node.left, node.right
        a, fa = self.atom(left, out)
        b, fb = self.atom(right, out)
        if isinstance(fa, tuple) or isinstance(fb, tuple):
            raise NoBatchingRule(node, f"`{_text(node)}` on a list or tuple")
        if not is_batched(fa) and not is_batched(fb):
            if isinstance(node, gast.Compare):
                return gast.Compare(left=a, ops=node.ops, comparators=[b]), False
            return gast.BinOp(left=a, op=node.op, right=b), False
        if isinstance(node, gast.BinOp) and isinstance(node.op, gast.MatMult):
            return self._helper("batched_matmul", [a, b], (fa, fb)), True
        a2 = self._align(a, fa, b, fb)
        b2 = self._align(b, fb, a, fa)
        if isinstance(node, gast.Compare):
            return gast.Compare(left=a2, ops=node.ops, comparators=[b2]), True
        return gast.BinOp(left=a2, op=node.op, right=b2), True

    def _align(self, x, fx, other, fo):
        if not is_batched(fx) or isinstance(other, gast.Constant) or (
                isinstance(x, gast.Name) and isinstance(other, gast.Name) and x.id == other.id):
            return x
        args = [x, other] + ([nodes.const(1)] if is_batched(fo) else [])
        return nodes.call("rank_up", args)

    def _helper(self, name, args, flags, keywords=None):
        kws = dict(keywords or {})
        kws["batched"] = nodes.tuple_([nodes.const(bool(is_batched(f))) for f in flags])
        return nodes.call(name, args, kws)

    def _index(self, x, index, store=False):
        """x[index] of each example of batched x."""
        if isinstance(index, gast.Tuple):
            if index.elts and isinstance(index.elts[0], gast.Constant) and \
                    index.elts[0].value is Ellipsis:
                new = index
            else:
                new = gast.Tuple(elts=[gast.Slice(lower=None, upper=None, step=None)]
                                 + list(index.elts), ctx=gast.Load())
        elif isinstance(index, gast.Constant) and index.value is Ellipsis:
            new = index
        elif isinstance(index, (gast.Constant, gast.Slice)):
            new = gast.Tuple(elts=[gast.Slice(lower=None, upper=None, step=None), index],
                             ctx=gast.Load())
        else:
            new = nodes.call("batch_index", [index])
        return nodes.subscript(nodes.clone(x), new, store=store)

    def subscript(self, node, out):
        x, fx = self.atom(node.value, out)
        if self._batched_names(node.slice):
            if not is_batched(fx) and isinstance(node.slice, gast.Name):
                return nodes.subscript(x, node.slice), True     # a batch of positions
            return self.loop(node, out, "indexing at a position that differs between "
                                        "examples")
        if isinstance(fx, tuple):
            if fx[0] == "tup" and isinstance(node.slice, gast.Constant) and \
                    isinstance(node.slice.value, int):
                return nodes.subscript(x, node.slice), fx[1][node.slice.value]
            if fx[0] == "seq" and not isinstance(node.slice, gast.Slice):
                return nodes.subscript(x, node.slice), fx[1]
            if fx[0] == "seq":
                return nodes.subscript(x, node.slice), fx
            raise NoBatchingRule(node, f"`{_text(node)}`: an item of a tuple chosen at run "
                                       "time")
        if fx == ANY:
            return nodes.call("batched_item", [x, _index_value(node.slice)]), True
        return self._index(x, node.slice), True

    def attribute(self, node, out):
        x, fx = self.atom(node.value, out)
        if not is_batched(fx) or isinstance(fx, tuple):
            raise NoBatchingRule(node, f"`{_text(node)}`")
        attr = node.attr
        if attr == "T":
            return nodes.call("batched_transpose", [x]), True
        if attr == "shape":
            return nodes.subscript(nodes.attribute(x, "shape"),
                                   gast.Slice(lower=nodes.const(1), upper=None, step=None)), False
        if attr == "ndim":
            return gast.BinOp(left=nodes.attribute(x, "ndim"), op=gast.Sub(),
                              right=nodes.const(1)), False
        if attr == "size":
            return nodes.call("batched_size", [x]), False
        if attr == "dtype":
            return nodes.attribute(x, attr), False
        if attr in ("real", "imag"):
            return nodes.attribute(x, attr), True
        return self.loop(node, out, f"the attribute `.{attr}`")

    # -- calls

    def call(self, node, out):
        func = node.func
        if isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name) \
                and func.value.id in self.locals:
            return self.method(node, out)
        base = func
        while isinstance(base, gast.Attribute):
            base = base.value
        local = isinstance(base, gast.Name) and base.id in self.locals
        obj = self.resolve(func) if not self._batched_names(func) and not local else None
        if obj is None:
            return self.loop(node, out, f"the call `{_text(node)}`")
        called = self.call_batched(node, obj, out)
        if called is not None:
            return called
        if isinstance(obj, np.ufunc) or obj in _ELEMENTWISE or _math_to_numpy(obj) \
                or (obj in _BUILTIN_MAP and len(node.args) == 2) or (obj is abs):
            return self.elementwise(node, obj, out)
        if obj is float:
            x, _ = self.atom(node.args[0], out)
            return nodes.call("np.asarray", [x], {"dtype": nodes.name("float")}), True
        if obj in _REDUCTIONS:
            return self.reduction(node, obj, out, axis_at=1)
        if obj in _AXIS_ONLY:
            return self.axis_op(node, out)
        if obj is np.matmul or obj is np.dot:
            args = [self.atom(a, out) for a in node.args]
            if len(args) != 2 or node.keywords:
                return self.loop(node, out, f"the call `{_text(node)}`")
            name = "batched_matmul" if obj is np.matmul else "batched_dot"
            if not any(is_batched(f) for _, f in args):
                return nodes.call(node.func, [a for a, _ in args]), False
            return self._helper(name, [a for a, _ in args], [f for _, f in args]), True
        if obj in (np.concatenate, np.stack) and len(node.args) in (1, 2):
            joined = self.join_arrays(node, out)
            if joined is not None:
                return joined, True
        if obj is sum and len(node.args) == 1 and not node.keywords:
            x, _ = self.atom(node.args[0], out)
            return nodes.call("np.sum", [x], {"axis": nodes.const(1)}), True
        if obj in (len, np.shape, np.ndim, np.size) and len(node.args) == 1:
            x, fx = self.atom(node.args[0], out)
            if fx is True:
                text = {len: f"np.shape({{}})[1]", np.shape: "np.shape({})[1:]",
                        np.ndim: "np.ndim({}) - 1", np.size: "batched_size({})"}[obj]
                return nodes.parse_expr(text.format(x.id)), False
        if obj is np.reshape and len(node.args) == 2 and not node.keywords:
            x, fx = self.atom(node.args[0], out)
            s, fs = self.atom(node.args[1], out)
            if fx is True and not is_batched(fs):
                return nodes.call("batched_reshape", [x, s]), True
        if obj is np.transpose and not node.keywords:
            args = [self.atom(a, out) for a in node.args]
            if args[0][1] is True and not any(is_batched(f) for _, f in args[1:]):
                return nodes.call("batched_transpose", [a for a, _ in args]), True
        name = getattr(obj, "__name__", None)
        if runtime.owns(obj) and name in _HELPERS:
            return self.helper(node, name, out)
        return self.loop(node, out, f"the call `{_text(node)}`")

    def join_arrays(self, node, out):
        """np.concatenate / np.stack of a list of batched arrays: along the axis after
        the batch axis (a constant axis only)."""
        args, kws = self._args(node, out)
        xs, fx = args[0]
        axis = args[1][0] if len(args) > 1 else kws.pop("axis", (nodes.const(0), False))[0]
        if kws or not (isinstance(fx, tuple) and fx[0] == "seq" and fx[1] is True) or \
                not (isinstance(axis, gast.Constant) and isinstance(axis.value, int)):
            return None
        a = axis.value
        return nodes.call(node.func, [xs], {"axis": nodes.const(a + 1 if a >= 0 else a)})

    def call_batched(self, node, obj, out):
        """A call of a function whose code is at hand (a generated pair, a function of
        the same module): the call of its batched version, made once per pattern of
        batched arguments."""
        fdef = self.callees(obj) if self.callees is not None else None
        if fdef is None or node.keywords or len(node.args) != len(fdef.args.args):
            return None
        args = [self.atom(a, out) for a in node.args]
        flags = tuple(f for _, f in args)
        if not any(is_batched(f) for f in flags) or \
                any(_path_to_batched(f) is None for f in flags if is_batched(f)):
            return None
        key = (id(obj), flags)
        if key not in self.made:
            self.made[key] = None                    # (recursion: a loop instead)
            sub = Batcher(fdef, {p.id: f for p, f in zip(fdef.args.args, flags)},
                          self.resolve, self.size)
            sub.callees, sub.made, sub.defs = self.callees, self.made, self.defs
            name = nodes.fresh_name(f"{fdef.name}_batched", self.taken)
            try:
                new = sub.run(name)
            except NoBatchingRule:
                return None
            self.notes += sub.notes
            self.defs.append(new)
            self.made[key] = (name, sub.returns)
        made = self.made[key]
        if made is None:
            return None
        name, flag = made
        return nodes.call(name, [a for a, _ in args]), flag

    def _args(self, node, out):
        args = [self.atom(a, out) for a in node.args]
        kws = {}
        for k in node.keywords:
            if k.arg is None:
                raise NoBatchingRule(node, f"`**` in `{_text(node)}`")
            kws[k.arg] = self.atom(k.value, out)
        return args, kws

    def elementwise(self, node, obj, out):
        args, kws = self._args(node, out)
        if any(is_batched(f) for _, f in kws.values()) or \
                any(isinstance(f, tuple) for _, f in args):
            return self.loop(node, out, f"the call `{_text(node)}`")
        if not any(is_batched(f) for _, f in args):
            return gast.Call(func=node.func, args=[a for a, _ in args],
                             keywords=[gast.keyword(arg=k, value=v)
                                       for k, (v, _) in kws.items()]), False
        func = node.func
        mapped = _math_to_numpy(obj) or (_BUILTIN_MAP.get(obj) if obj in _BUILTIN_MAP
                                         else None)
        if mapped:
            func = nodes.parse_expr(mapped)
        if obj in _LIKE_ONLY or obj in (np.array, np.asarray, np.copy,
                                        np.ascontiguousarray, np.asanyarray):
            return gast.Call(func=func, args=[a for a, _ in args],
                             keywords=[gast.keyword(arg=k, value=v)
                                       for k, (v, _) in kws.items()]), True
        new = []
        for i, (a, f) in enumerate(args):
            others = [(b, g) for j, (b, g) in enumerate(args) if j != i
                      and not isinstance(b, gast.Constant)]
            if not is_batched(f) or not others:
                new.append(a)
            elif len(others) == 1:
                new.append(self._align(a, f, others[0][0], others[0][1]))
            else:
                new.append(nodes.call("rank_up_many", [
                    a, nodes.tuple_([b for b, _ in others]),
                    nodes.tuple_([nodes.const(int(is_batched(g))) for _, g in others])]))
        return gast.Call(func=func, args=new, keywords=[gast.keyword(arg=k, value=v)
                                                        for k, (v, _) in kws.items()]), True

    def _axis(self, axis_node, x):
        """An example's axis as an axis of batched x."""
        if axis_node is None or (isinstance(axis_node, gast.Constant) and axis_node.value is None):
            return nodes.call("example_axes", [x])
        if isinstance(axis_node, gast.Constant) and isinstance(axis_node.value, int):
            a = axis_node.value
            return nodes.const(a + 1 if a >= 0 else a)
        if isinstance(axis_node, gast.Tuple) and all(
                isinstance(e, gast.Constant) and isinstance(e.value, int) for e in axis_node.elts):
            return nodes.tuple_([nodes.const(e.value + 1 if e.value >= 0 else e.value)
                                 for e in axis_node.elts])
        return nodes.call("batch_axis", [axis_node, x])

    def reduction(self, node, obj, out, axis_at):
        args, kws = self._args(node, out)
        if not args or args[0][1] is not True or any(is_batched(f) for _, f in args[1:]) \
                or any(is_batched(f) for _, f in kws.values()) or len(args) > axis_at + 1:
            return self.loop(node, out, f"the call `{_text(node)}`")
        x = args[0][0]
        axis = args[axis_at][0] if len(args) > axis_at else kws.pop("axis", (None, False))[0]
        keywords = {"axis": self._axis(axis, x)}
        keywords.update({k: v for k, (v, _) in kws.items()})
        return nodes.call(node.func, [x], keywords), True

    def axis_op(self, node, out):
        """cumsum, argmax, sort, ...: with an explicit axis, the axis shifted by one."""
        args, kws = self._args(node, out)
        axis = args[1][0] if len(args) > 1 else kws.get("axis", (None, False))[0]
        if axis is None or (isinstance(axis, gast.Constant) and axis.value is None) or \
                not args or args[0][1] is not True or len(args) > 2 or \
                any(is_batched(f) for _, f in list(kws.values()) + args[1:]):
            return self.loop(node, out, f"the call `{_text(node)}`")
        kws.pop("axis", None)
        keywords = {"axis": self._axis(axis, args[0][0])}
        keywords.update({k: v for k, (v, _) in kws.items()})
        return nodes.call(node.func, [args[0][0]], keywords), True

    def method(self, node, out):
        x, fx = self.atom(node.func.value, out)
        attr = node.func.attr
        if isinstance(fx, tuple) and fx[0] == "seq" and attr == "pop" and not node.args:
            return node, fx[1]
        if fx is not True:
            if not is_batched(fx) and attr == "dot" and len(node.args) == 1:
                b, fb = self.atom(node.args[0], out)
                return self._helper("batched_dot", [x, b], (False, fb)), True
            return self.loop(node, out, f"the call `{_text(node)}`")
        args, kws = self._args(node, out)
        if any(is_batched(f) for _, f in kws.values()):
            return self.loop(node, out, f"the call `{_text(node)}`")
        if attr in _METHOD_REDUCTIONS and len(args) <= 1:
            axis = args[0][0] if args else kws.pop("axis", (None, False))[0]
            keywords = {"axis": self._axis(axis, x)}
            keywords.update({k: v for k, (v, _) in kws.items()})
            return nodes.call(nodes.attribute(x, attr), [], keywords), True
        if attr in _METHOD_SAME and not any(is_batched(f) for _, f in args):
            return node, True
        if attr == "reshape" and not kws and not any(is_batched(f) for _, f in args):
            shape = args[0][0] if len(args) == 1 else nodes.tuple_([a for a, _ in args])
            return nodes.call("batched_reshape", [x, shape]), True
        if attr in ("ravel", "flatten") and not args:
            return nodes.call("batched_reshape", [x, nodes.const(-1)]), True
        if attr == "item" and not args:
            return nodes.call("batched_reshape", [x, nodes.tuple_([])]), True
        if attr == "transpose" and not kws and not any(is_batched(f) for _, f in args):
            axes = [] if not args else [args[0][0] if len(args) == 1
                                        else nodes.tuple_([a for a, _ in args])]
            return nodes.call("batched_transpose", [x] + axes), True
        if attr == "dot" and len(args) == 1 and not kws:
            return self._helper("batched_dot", [x, args[0][0]], (True, args[0][1])), True
        return self.loop(node, out, f"the method call `{_text(node)}`")

    def helper(self, node, name, out):
        values, like, batched_name = _HELPERS[name]
        args, kws = self._args(node, out)
        seqs = [f for _, f in args if isinstance(f, tuple) and f[0] == "seq"]
        if name in _LIST_ARGS and not kws and all(not isinstance(f, tuple) or f[0] == "seq"
                                                  for _, f in args):
            elems = [f[1] if isinstance(f, tuple) else f for _, f in args]
            if not is_batched(elems[0]):
                return nodes.call(name, [a for a, _ in args]), False
            result = ("seq", True) if name in _LIST_RESULTS else ANY
            return self._helper(_LIST_ARGS[name][2], [a for a, _ in args], elems), result
        if name == "getitem_grad" and len(args) == 2 and seqs == [args[0][1]] \
                and not is_batched(args[1][1]):
            return nodes.call(name, [a for a, _ in args]), args[0][1][1]
        if name == "add_grads" and seqs and len(args) == 2 and not kws and all(
                not isinstance(f, tuple) or f[0] == "seq" for _, f in args):
            elems = [f[1] if isinstance(f, tuple) else f for _, f in args]
            if not any(is_batched(f) for f in elems):
                return nodes.call(name, [a for a, _ in args]), ("seq", False)
            return self._helper("batched_add_grads", [a for a, _ in args], elems), \
                ("seq", True)
        if any(is_batched(f) for _, f in kws.values()) or \
                any(isinstance(f, tuple) and (i not in like or is_batched(f))
                    for i, (_, f) in enumerate(args)):
            return self.loop(node, out, f"the call `{_text(node)}`")
        others = [i for i in range(len(args)) if i not in values and i not in like]
        if any(is_batched(args[i][1]) for i in others):
            return self.loop(node, out, f"the call `{_text(node)}`")
        keywords = {k: v for k, (v, _) in kws.items()}
        if not any(is_batched(args[i][1]) for i in values if i < len(args)):
            new = [nodes.call("per_example", [a]) if i in like and is_batched(f) else a
                   for i, (a, f) in enumerate(args)]
            return nodes.call(name, new, keywords), False
        if name == "getitem_grad" and len(args) == 2 and not kws:
            return nodes.call("batched_item", [a for a, _ in args]), True
        if batched_name is None:
            return self.loop(node, out, f"the call `{_text(node)}`")
        flags = [args[i][1] for i in values + like if i < len(args)]
        if name == "add_at":
            flags = [args[0][1], args[1][1], args[3][1]]
        elif name == "extremum_grad":
            flags = [args[0][1], args[1][1], args[2][1]]
        elif name in ("matmul_left", "matmul_right", "dot_left", "dot_right"):
            flags = [args[0][1], args[1][1], args[2][1]]
        elif name == "check_scalar":
            return nodes.call(batched_name, [args[0][0]]), True
        result = ("seq", True) if name in _LIST_RESULTS else \
            ANY if name == "copy_grad" else True
        return self._helper(batched_name, [a for a, _ in args], flags, keywords), result

    def loop(self, node, out, what):
        """No rule: the expression evaluated once per example, the results stacked."""
        mapping = {}
        for n in set(self._batched_names(node)):
            if self.flags.get(n) not in (True, ANY):
                raise NoBatchingRule(node, f"{what} on a list or tuple of batched values")
            mapping[n] = nodes.subscript(nodes.name(n), nodes.name(self.k))
        body = nodes.substitute(node, mapping)
        line = getattr(node, "lineno", None)
        self.notes.append((line, what))
        out.append(nodes.comment(f"no batching rule for {what}: a loop over the examples"))
        e = nodes.parse_expr(f"stack_examples([__each__ for {self.k} in range({self.size})])")
        return nodes.substitute(e, {"__each__": body}), ANY


def _index_value(index):
    """An index written inside brackets as a value (`:500` → slice(None, 500, None))."""
    if isinstance(index, gast.Slice):
        parts = [p if p is not None else nodes.const(None)
                 for p in (index.lower, index.upper, index.step)]
        return nodes.call("slice", parts)
    if isinstance(index, gast.Tuple):
        return nodes.tuple_([_index_value(e) for e in index.elts])
    return index


def _text(node):
    try:
        return emit.expression_source(node)
    except Exception:            # (a node astor cannot print: describe it by its kind)
        return type(node).__name__


def resolver(namespace, local_names):
    """`resolve(node)`: the object a name or dotted name in generated code denotes (None
    when it is a local variable or unknown)."""
    def resolve(node):
        if isinstance(node, gast.Name):
            if node.id in local_names:
                return None
            if node.id in namespace:
                return namespace[node.id]
            return getattr(builtins, node.id, None)
        if isinstance(node, gast.Attribute):
            base = resolve(node.value)
            return getattr(base, node.attr, None) if base is not None else None
        return None
    return resolve


def _path_to_batched(flag):
    """The subscripts reaching a batched array inside a value of this flag ('' for the
    array itself, '[1][0]' inside tuples), or None (a list's items)."""
    if flag is True:
        return ""
    if isinstance(flag, tuple) and flag[0] == "tup":
        for i, f in enumerate(flag[1]):
            if is_batched(f):
                inner = _path_to_batched(f)
                return None if inner is None else f"[{i}]{inner}"
    return None


def _made_batched(flag):
    """The flag of a value after `_all_batched`."""
    if isinstance(flag, tuple):
        if flag[0] == "tup":
            return ("tup", tuple(_made_batched(f) for f in flag[1]))
        return ("seq", True)
    return ANY if flag == ANY else True


def batch_function(fdef, batched, namespace, name, doc_extra="", callees=None):
    """The batched version of `fdef` (gast, A-normal form) whose parameters `batched`
    carry a batch axis: ([the batched callees' definitions..., the new FunctionDef],
    notes [(line, what)] of the operations run once per example). `callees(obj)` gives
    the definition of a called function to batch along (else its calls loop). Raises
    `NoBatchingRule` when the whole function must run once per example."""
    b = Batcher(fdef, set(batched), None)
    b.resolve = resolver(namespace, set())
    b.callees = callees
    new = b.run(name, doc_extra)
    return b.defs + [new], b.notes
