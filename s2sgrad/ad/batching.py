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

import gast
import numpy as np

from ..syntax import nodes
from .batching_rules import (ANY, CallRules, NoBatchingRule, _join, _made_batched,  # noqa: F401
                             _path_to_batched, _text, is_batched)


# ------------------------------------------------------------------ the transform

class Batcher(CallRules):
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
            self.array_params = frozenset()
        else:
            self.flags = {p: (p in batched) for p in self.params}
            self.array_params = frozenset(batched)   # (stacked along axis 0 by the caller)
        self.notes = []
        self.locals = set(nodes.names_in(fdef, gast.Store)) | set(self.params)
        self.returns = None          # the flag of what the batched function returns
        self.items_ok = False        # may a loop's results be tuples (an unpacking's)?
        self.keeps_returns = False   # (a callee with one `return`: its flags returned)
        self.callees = None          # callees(obj) → a definition to batch, or None
        self.made = {}               # (callee, flags) → batched name (shared with callees')
        self.defs = []               # the batched callees' definitions
        self.allocated = set()       # names whose binding now is `np.zeros_like(x)`, ...
        self.late = set()            # ... such names made batched after they were made
        self.batched_allocations = set()   # names whose allocations are batched at once

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
            if stored and p in self.params:   # (never write into the caller's arrays,
                #                                 nor through a second name)
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
            if target.id in self.allocated and is_batched(flag) \
                    and target.id in nodes.names_in(value):
                self.late.add(target.id)     # (the allocation updated into a batch)
            self.allocated.discard(target.id)
            if flag is False and self._allocation(e):
                if target.id in self.batched_allocations:
                    e, flag = self._batched_allocation(e), True
                else:
                    self.allocated.add(target.id)
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
        self.items_ok = True         # (a loop's results may be tuples: unpacked here)
        try:
            e, flag = self.expr(value, out)
        finally:
            self.items_ok = False
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
        if self.keeps_returns:      # a callee's one return: what is batched stays known
            e, flag = self.expr(st.value, out)
            self.returns = flag
        elif isinstance(st.value, gast.Tuple):
            items = [self.atom(e, out) for e in st.value.elts]
            e = nodes.tuple_([self._all_batched(x, f, st) for x, f in items])
            flag = ("tup", tuple(f for _, f in items))
            self.returns = _join(self.returns, _made_batched(flag), st)
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
            return nodes.call("batch_result", [e, nodes.name(self.size)])
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
                    end = self.flags.get(n)
                    self.flags[n] = _join(f, end, st)
                    if end is not None and end != self.flags[n]:
                        # a trip leaves it less batched than the next trip (and the
                        # code after the loop) takes it: made so at the end of the trip
                        self._convert(n, end, self.flags[n], body)
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

    def _allocation(self, e):
        """Is `e` np.zeros_like(x) (empty_like, ones_like) of one name?"""
        return isinstance(e, gast.Call) and len(e.args) == 1 and not e.keywords \
            and isinstance(e.args[0], gast.Name) \
            and self.resolve(e.func) in (np.zeros_like, np.empty_like, np.ones_like)

    def _batched_allocation(self, e):
        """np.zeros_like(x) for each example: the batch allocated at once, not repeated
        from one array (an `np.empty_like`'s is never read before it is written)."""
        x = e.args[0].id
        shape = nodes.parse_expr(f"({self.size},) + np.shape({x})")
        return nodes.call(e.func, [e.args[0]], {"shape": shape})

    def _convert(self, n, old, new, out):
        """Statements making `n` (of flag `old`) a value of flag `new`."""
        if old == new or not (n in self.locals or n in self.flags):
            return
        if n in self.allocated and not is_batched(old):
            self.late.add(n)             # (batch_function makes it batched where made)
        if not is_batched(old) and new is True or new == ANY:
            out.append(nodes.assign(n, self._to_batch(nodes.name(n))))
        elif isinstance(new, tuple) and new[0] == "seq":
            e = nodes.parse_expr(f"[to_batch(e, {self.size}) for e in {n}]") \
                if old[1] is not None and not is_batched(old[1]) else None   # ([]: none)
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

    def array(self, x, flag):
        """An operand of arithmetic: a loop's results that may be tuples are checked to
        be one array (a tuple would be read by NumPy as an array of the wrong axes)."""
        if flag == ANY:
            return nodes.call("batched_array", [x]), True
        return x, flag

    def _batched_names(self, node):
        return [n for n in nodes.names_in(node) if is_batched(self.flags.get(n, False))]

    def _to_batch(self, e):
        return nodes.call("to_batch", [e, nodes.name(self.size)])

    def atom(self, node, out):
        """An operand: a name or a constant (a compound batched expression is given a
        name of its own first, so that a rule may read it twice)."""
        if isinstance(node, gast.Name):
            return node, self.flags.get(node.id, False)
        if isinstance(node, gast.Constant) or _negative_constant(node):
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
                return nodes.tuple_(elts), False      # (items rewritten all the same)
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
        a, fa = self.array(*self.atom(left, out))
        b, fb = self.array(*self.atom(right, out))
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
                return nodes.call("batched_take", [x, node.slice]), True  # positions
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
        if not any(isinstance(n, gast.Slice) or (isinstance(n, gast.Constant) and n.value in (
                None, Ellipsis)) for n in gast.walk(node.slice)):
            # x[i] of a 1-d example is a number, a copy: x[:, i] is a view (a swap
            # `y[0], y[1] = y[1], y[0]` read the item it had already overwritten)
            return nodes.call("batched_item_value", [self._index(x, node.slice)]), True
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


def _negative_constant(node):
    """`-1` (a unary minus on a number literal): a constant operand."""
    return isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.USub) and \
        isinstance(node.operand, gast.Constant) and \
        isinstance(node.operand.value, (int, float)) and not isinstance(node.operand.value, bool)


def _index_value(index):
    """An index written inside brackets as a value (`:500` → slice(None, 500, None))."""
    if isinstance(index, gast.Slice):
        parts = [p if p is not None else nodes.const(None)
                 for p in (index.lower, index.upper, index.step)]
        return nodes.call("slice", parts)
    if isinstance(index, gast.Tuple):
        return nodes.tuple_([_index_value(e) for e in index.elts])
    return index


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


def stacks_again(fdef):
    """Loop tapes (`saved = [None] * n`, `saved[i] = v` forward, `v = saved[i]` backward:
    `optimize.saves.preallocate_tapes`) written back as the stacks they were
    (`saved = []`, `saved.append(v)`, `v = saved.pop()`): a tape holds one entry per
    step, batched or not, where a list the batching rules see is one value, batched
    or not. Each step writes its entry once and the backward step reads it once, in
    reverse, so the two forms agree."""
    tapes = {st.targets[0].id for st in fdef.body if isinstance(st, gast.Assign)
             and len(st.targets) == 1 and isinstance(st.targets[0], gast.Name)
             and st.targets[0].id.startswith("saved") and isinstance(st.value, gast.BinOp)
             and isinstance(st.value.op, gast.Mult) and isinstance(st.value.left, gast.List)
             and len(st.value.left.elts) == 1 and nodes.is_const(st.value.left.elts[0])
             and st.value.left.elts[0].value is None}
    if not tapes:
        return

    def tape_of(e):
        return e.value.id if isinstance(e, gast.Subscript) and isinstance(e.value, gast.Name) \
            and e.value.id in tapes else None

    def rewrite(block):
        for k, st in enumerate(block):
            if isinstance(st, gast.Assign) and len(st.targets) == 1:
                t = st.targets[0]
                if isinstance(t, gast.Name) and t.id in tapes:
                    st.value = gast.List(elts=[], ctx=gast.Load())
                elif tape_of(t):
                    block[k] = nodes.copy_location(gast.Expr(value=nodes.call(
                        nodes.attribute(nodes.name(tape_of(t)), "append"), [st.value])), st)
                elif tape_of(st.value):
                    st.value = nodes.call(nodes.attribute(nodes.name(tape_of(st.value)),
                                                          "pop"), [])
            for field in ("body", "orelse"):
                inner = getattr(st, field, None)
                if isinstance(inner, list):
                    rewrite(inner)
    rewrite(fdef.body)


def batch_function(fdef, batched, namespace, name, doc_extra="", callees=None):
    """The batched version of `fdef` (gast, A-normal form) whose parameters `batched`
    carry a batch axis: ([the batched callees' definitions..., the new FunctionDef],
    notes [(line, what)] of the operations run once per example). `callees(obj)` gives
    the definition of a called function to batch along (else its calls loop). Raises
    `NoBatchingRule` when the whole function must run once per example."""
    stacks_again(fdef)
    early = set()
    for _ in range(4):
        b = Batcher(nodes.clone(fdef), set(batched), None)
        b.resolve = resolver(namespace, set())
        b.callees = callees
        b.batched_allocations = early
        new = b.run(name, doc_extra)
        if b.late <= early:
            break
        # an array allocated for every example alike (`x_bar = np.zeros_like(x)`) and
        # made batched later: allocated batched where it is made, so that what reads it
        # in between (a piece's product writing into it: `optimize.pieces`) reads the
        # array the batched code fills
        early = early | b.late
    return b.defs + [new], b.notes
