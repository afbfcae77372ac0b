"""Stage 3 — trace: the A-normal-form function → the typed execution trace (IR).

Takes the normalized `FunctionDef` and the `Parsed` record; returns a `Trace`:
a list of statements (`Assign`, `SetItem`, `Append`, `Effect`, and the structured
blocks `If`, `For`, `While`) ending in one `Return`, plus the facts later stages need:

- every call is resolved to its adjoint rule (or to a user function, or marked
  non-differentiable); an unknown call is refused here, with the user's line;
- names assigned only in straight-line top-level code are renamed so that each is
  assigned once (SSA: `h`, `h_1`, `h_2`); names assigned inside blocks keep their name
  and are `overwritten` (the reverse pass saves them when it needs their old values);
- `active`: names that depend on a `wrt` input and reach the output;
- `maybe_container`: names that may hold a list, tuple or dict (their adjoints are
  added elementwise).
"""
import builtins
import collections
import functools
import inspect
import math
import types

import gast
import numpy as np

from ..syntax import nodes
from .. import rules, runtime
from ..syntax.nodes import Const
from ..frontend.parse import Parsed, parse_function, unwrap
from ..errors import TransformError
from .instances import LIBRARIES as _LIBRARIES, InstanceKind, instance_kind, method_of
from .analyses import (analyse, check_calls, check_in_place, check_item_updates,
                       check_stores, check_views,
                       rename_top_level)
from .shape_classes import infer_scalars
from .shapes import read_only_dicts
from .statements import (Assign, SetItem, Append, Pop, Effect, If, For, While, Return, Trace,
                         walk, defs, Kind)


_BINOPS = {gast.Add: "add", gast.Sub: "sub", gast.Mult: "mul", gast.Div: "truediv",
           gast.Pow: "pow", gast.Mod: "mod", gast.MatMult: "matmul"}
_UNARY = {gast.USub: "neg", gast.UAdd: "pos"}
_STRING_METHODS = ("format",)   # (of the non-differentiable methods) a string's

_NONDIFF_BINOPS = (gast.FloorDiv, gast.BitAnd, gast.BitOr, gast.BitXor, gast.LShift,
                   gast.RShift)
_CONTAINER_METHODS = {"copy", "pop", "index", "count", "keys", "values", "items", "get"}



# ------------------------------------------------------------------- building the IR

class Builder:
    """Turns ANF statements into IR statements, resolving every call."""

    def __init__(self, parsed, fn):
        self.parsed = parsed
        self.fn = fn
        self.locals = set(nodes.names_in(fn, nodes.STORE)) | {a.id for a in fn.args.args}
        self.current = None
        self.numeric = set()       # parameters known to be numbers or arrays
        self.functions = {}        # parameters known to be given these function objects
        self.stored = set(nodes.names_in(fn, nodes.STORE))
        self.prelude = []          # statements a call needs before it (a partial's values)
        self.deps = list(getattr(parsed, "name_deps", ()))   # globals renamed at parse
        self.display = {}          # memo of `_is_display` per name
        self.displays = {}         # name -> the list/tuple display it was last bound to
        self.objects = {}          # name -> the module object it was bound to (np.r_)
        self.object_text = {}      # ... and the source that named it (`np.s_`, for messages)
        self.bindings = collections.Counter(
            t.id for n in nodes.walk(fn) if isinstance(n, gast.Assign)
            for t in n.targets if isinstance(t, gast.Name))

    def error(self, msg, node, hint=None):
        if getattr(node, "lineno", None) is None:
            node = self.current
        return self.parsed.error(msg, node, hint)

    def note_dependency(self, func, obj):
        """Remember the global name a function was called by (the compiled code is stale
        once that name is rebound): a user function, or any function under a global
        name of the user's (`act = np.tanh`: the rule was chosen for np.tanh, while the
        code calls `act`). A library's own names (`np.sin`) are left alone."""
        if isinstance(func, gast.Name) and func.id not in self.parsed.closure \
                and func.id in self.parsed.namespace:
            self.deps.append((self.parsed.namespace, func.id, obj))
        elif isinstance(func, gast.Attribute):
            try:
                base = self._resolve(func.value)
            except KeyError:
                return
            if isinstance(base, types.ModuleType) and \
                    base.__name__.split(".")[0] not in _LIBRARIES:
                self.deps.append((vars(base), func.attr, obj))

    def options(self, rule, key, args, kwargs, call, label):
        """The call's operands with options passed by position moved to their keyword
        (`x.flatten('F')` → order='F'); refused when the rule does not handle one of
        them (its template never reads it: the adjoint would be that of the default)."""
        where = rules.POSITIONAL_OPTIONS.get(key, {})
        if any(i < len(args) for i in where):
            kwargs = dict(kwargs)
            for i in sorted(where, reverse=True):
                if i < len(args):
                    kwargs[where[i]] = args[i]
                    args = args[:i] + args[i + 1:]
        bad = rule.unsupported_option(args, kwargs, self._float_dtype)
        if bad is not None:
            what = bad if bad.startswith("argument") else f"the keyword `{bad}=`"
            raise self.error(f"s2sgrad does not support {what} of `{label}`", call,
                             "leave it at its default (compute the same thing with "
                             "other operations), or register a rule with @s2sgrad.adjoint")
        if "order" in kwargs and "order" in rule.kwonly + rule.params \
                and "order" not in rule.unread_options():
            order = kwargs["order"]
            if not (isinstance(order, Const) and order.value in ("C", "F", "A", "c", "f",
                                                                 "a")):
                raise self.error(f"s2sgrad differentiates `{label}` with order 'C', 'F' "
                                 "or 'A' given as a literal", call,
                                 "write order='C' or order='F'")
        return args, kwargs

    def _float_dtype(self, operand):
        """Is this `dtype=` operand statically a floating dtype (a literal such as
        'float32', or a name bound once to np.float64, float...)?"""
        value = operand.value if isinstance(operand, Const) else self._static(operand)
        if value is _UNKNOWN:
            return False
        try:
            return np.dtype(value).kind == "f"
        except TypeError:
            return False

    def _static(self, name):
        """The object a local name is bound to by its only assignment, when that is a
        module constant (`v1 = np.float32` in A-normal form); else _UNKNOWN."""
        found = [st.value for st in nodes.walk(self.fn) if isinstance(st, gast.Assign)
                 and isinstance(st.targets[0], gast.Name) and st.targets[0].id == name]
        if name in {a.id for a in self.fn.args.args} or len(found) != 1 \
                or not isinstance(found[0], (gast.Attribute, gast.Name)):
            return _UNKNOWN
        try:
            return self._resolve(found[0])
        except KeyError:
            return _UNKNOWN

    def check_decorator(self, obj, call):
        """A decorated function is called: its wrapper must provably just call the
        function it wraps (`unwrap`), refused at the call otherwise."""
        try:
            unwrap(obj)
        except TransformError as exc:
            where = f" (defined at {exc.filename}:{exc.lineno})" if exc.filename else ""
            raise self.error(exc.message + where, call, exc.hint) from None

    def fresh(self, hint):
        return nodes.fresh_name(hint, self.locals)

    def block(self, stmts):
        out = []
        for s in stmts:
            new = self.stmt(s)
            out += self.prelude
            self.prelude = []
            if isinstance(new, If) and any(new.test in defs(x) for x in walk(new.body + new.orelse)):
                # the branch reassigns its own test: keep the tested value apart
                keep = self.fresh("branch")
                node = nodes.copy_location(nodes.assign(keep, nodes.name(new.test)), s)
                out.append(Assign(keep, node.value, Kind.COPY, args=[new.test], node=node))
                new.test = keep
                new.node = nodes.copy_location(nodes.if_(nodes.name(keep), s.body, s.orelse), s)
            out.append(new)
        return out

    def stmt(self, s):
        self.current = s
        if isinstance(s, gast.Assign):
            t = s.targets[0]
            if isinstance(t, gast.Name):
                if getattr(s, "s2s_extend", False):
                    self.check_extend(t.id, s)
                a = self.assign(t.id, s.value, s)
                a.in_place = getattr(s, "s2s_inplace", False)
                a.item_update = getattr(s, "s2s_item_update", False)
                if (a.in_place or a.item_update) and isinstance(s.value, gast.BinOp) \
                        and type(s.value.op) in _IN_PLACE_OPS \
                        and isinstance(s.value.left, gast.Name) \
                        and not str(self.parsed.filename).startswith("<s2sgrad"):
                    # NumPy computes `v op= e` into v's own dtype and raises where it
                    # cannot (an integer array times floats); the trace makes a new value
                    helper = self._helper_name("check_in_place_cast",
                                               runtime.check_in_place_cast)
                    check = nodes.copy_location(nodes.expr_stmt(nodes.call(
                        nodes.name(helper), [nodes.clone(s.value.left),
                                             nodes.clone(s.value.right),
                                             nodes.const(_IN_PLACE_OPS[type(s.value.op)])])), s)
                    self.prelude.append(Effect(check))
                    self.current = s
                return a
            if isinstance(t, gast.Subscript):
                return SetItem(t.value.id, t.slice, _operand(s.value), s)
        if isinstance(s, gast.If):
            return If(s.test.id, self.block(s.body), self.block(s.orelse), s)
        if isinstance(s, gast.For):
            return For(s.target.id, [_operand(a) for a in s.iter.args], self.block(s.body), s)
        if isinstance(s, gast.While):
            count = self.fresh("n_while")
            return While(s.test.id, self.block(s.body), s, count)
        if isinstance(s, gast.Return):
            return Return(_operand(s.value), s)
        if isinstance(s, gast.Expr):
            call = s.value
            if isinstance(call.func, gast.Attribute) and call.func.attr == "append" \
                    and isinstance(call.func.value, gast.Name) \
                    and call.func.value.id in self.locals:
                if len(call.args) != 1 or call.keywords:
                    raise self.error("append takes exactly one argument", s)
                return Append(call.func.value.id, _operand(call.args[0]), s)
            if isinstance(call.func, gast.Attribute) and call.func.attr == "pop" \
                    and not call.args and isinstance(call.func.value, gast.Name) \
                    and call.func.value.id in self.locals:
                return Pop(call.func.value.id, s)
            if isinstance(call.func, gast.Attribute) and isinstance(call.func.value, gast.Name) \
                    and call.func.value.id in self.locals:
                raise self.error(
                    f"s2sgrad cannot differentiate the in-place method `.{call.func.attr}()`",
                    s, "write the result to a new name (e.g. `ys = ys + [x]`)")
            self.refuse_global_change(call, s)
            self.check_effect_call(call, s)
            sign = _scatter_sign(self, call.func)
            if sign is not None:
                return self.scatter(call, sign, s)
            if _writes_in_place(self, call.func):
                raise self.error(f"s2sgrad cannot differentiate `{_dotted(call.func)}`, which "
                                 "writes into an array in place", s,
                                 "build the new array instead (np.where, indexing, "
                                 "np.concatenate) and assign it to a name")
            try:
                self.refuse_positional_out(call, self._resolve(call.func))
            except KeyError:
                pass
            return Effect(s)
        if isinstance(s, (gast.Assert, gast.Raise, gast.Pass)):   # (`pass`: an empty loop body)
            return Effect(s)
        raise self.error(f"unsupported statement {type(s).__name__}", s)

    def refuse_positional_out(self, call, obj, receiver=0):
        """`np.add(a, b, a)`, `np.cumsum(x, 0, None, buf)`: the result is written into
        the array passed as `out` by position, which the trace would take for an input
        only (the keyword `out=` is refused by `normalize`). `receiver`: 1 for a method
        (`x.clip(lo, hi, buf)`), whose receiver is the function's first argument."""
        if len(call.args) + receiver < 2:    # (no NumPy callable takes `out` first)
            return
        at = _out_position(obj)
        at = None if at is None else at - receiver
        if at is None or at < 0 or len(call.args) <= at or any(
                isinstance(a, gast.Starred) for a in call.args[:at + 1]) or (
                isinstance(call.args[at], gast.Constant) and call.args[at].value is None):
            return
        name = _dotted(call.func)
        raise self.error(f"s2sgrad does not follow writes through `out` (argument "
                         f"{at + 1} of `{name}`)", call.args[at],
                         f"assign the result instead: `y = {name}(...)` with the "
                         "arguments before it")

    def scatter(self, call, sign, s):
        """`np.add.at(y, index, v)` (`np.subtract.at`: `sign` -1) into a local array y:
        `y[...] = scatter_add(y, index, v)`, a new array with v added at index (repeated
        indices accumulating) written back into y, so that every check of stores into
        arrays applies (views of y read afterwards, containers holding it)."""
        args = call.args
        if len(args) != 3 or call.keywords or not isinstance(args[0], gast.Name) \
                or args[0].id not in self.locals:
            raise self.error(
                f"s2sgrad differentiates `{_dotted(call.func)}(y, index, v)` into an array "
                "y the function made itself", s,
                "make y in the function (`y = np.zeros(n)` or `y = x.copy()`) and pass "
                "index and v by position")
        helper = self._scatter_name()
        new = self.fresh("scattered")
        made = nodes.copy_location(nodes.assign(new, nodes.call(
            nodes.name(helper), list(args) + ([nodes.const(-1)] if sign < 0 else []))), s)
        self.prelude.append(self.stmt(made))
        store = nodes.copy_location(gast.Assign(
            targets=[nodes.subscript(nodes.name(args[0].id), nodes.const(Ellipsis),
                                     store=True)],
            value=nodes.name(new), type_comment=None), s)
        self.current = s
        return self.stmt(store)

    def _scatter_name(self):
        return self._helper_name("scatter_add", runtime.scatter_add)

    def _helper_name(self, name, helper):
        """The name generated code calls a runtime helper by (bound in the function's
        closure; another where the function's own names take that one)."""
        taken = set(self.locals) | set(self.parsed.namespace)
        while name in taken or self.parsed.closure.get(name, helper) is not helper:
            name = "s2s_" + name
        self.parsed.closure[name] = helper
        return name

    def check_extend(self, name, s):
        """`xs.extend(ys)`, written `xs += list(ys)`, is right only for a list: one the
        function builds (every binding of xs a list), or an argument that is not a
        number or an array."""
        params = {a.id for a in self.fn.args.args}
        if _is_display(gast.Name(id=name, ctx=gast.Load(), annotation=None,
                                 type_comment=None), self.fn, memo=self.display) \
                or (name in params and name not in self.numeric):
            return
        raise self.error(f"s2sgrad cannot differentiate `{name}.extend(...)`: `{name}` is "
                         "not known to be a list here", s,
                         f"build the list in the function (`{name} = []`, a list display "
                         f"or `list(...)`) or write `{name} = {name} + list(...)`")

    def assign(self, target, e, s):
        if isinstance(e, gast.Name):
            return Assign(target, e, Kind.COPY, args=[e.id], node=s)
        if nodes.is_const(e) or _is_literal(e):
            return Assign(target, e, Kind.CONST, node=s)
        if isinstance(e, gast.BinOp):
            args = [_operand(e.left), _operand(e.right)]
            if isinstance(e.op, _NONDIFF_BINOPS):
                return Assign(target, e, Kind.NONDIFF, args=args, node=s)
            if isinstance(e.op, gast.Mod) and isinstance(e.left, gast.Constant) \
                    and isinstance(e.left.value, str):       # "loss %.3f" % v: a string
                a = Assign(target, e, Kind.NONDIFF, args=args, node=s)
                a.cut_what = "a value formatted as a string"
                a.cut_args = args[1:]
                return a
            key = _BINOPS.get(type(e.op))
            if key is None:
                raise self.error(f"unsupported operator {type(e.op).__name__}", e)
            if key in ("add", "mul") and (_is_display(e.left, self.fn, memo=self.display)
                                          or _is_display(e.right, self.fn, memo=self.display)):
                key = "concat" if key == "add" else "repeat"      # [a, b] + xs, [0.0] * n
            if key == "mul" and isinstance(e.left, gast.Name) and isinstance(e.right, gast.Name) \
                    and e.left.id == e.right.id:
                # x * x: one adjoint term 2·ȳ·x instead of two ȳ·x
                return Assign(target, e, Kind.OP, rules.lookup(np.square), [e.left.id], node=s)
            return self._power(Assign(target, e, Kind.OP, rules.OPERATORS[key], args, node=s))
        if isinstance(e, gast.UnaryOp):
            key = _UNARY.get(type(e.op))
            args = [_operand(e.operand)]
            if key is None:
                return Assign(target, e, Kind.NONDIFF, args=args, node=s)
            return Assign(target, e, Kind.OP, rules.OPERATORS[key], args, node=s)
        if isinstance(e, (gast.Compare, gast.BoolOp)):
            a = Assign(target, e, Kind.NONDIFF, args=[n for n in nodes.names_in(e)], node=s)
            if isinstance(e, gast.BoolOp):      # `a or b` is one of its operands
                a.cut_what = "`and`/`or` (its value is one of its operands)"
            return a
        obj = self._indexed_object(e) if isinstance(e, gast.Subscript) else None
        if obj is not None:
            return self.index_object(target, e, s, obj)
        if isinstance(e, gast.Subscript):
            return Assign(target, e, Kind.OP, rules.OPERATORS["getitem"],
                          [_operand(e.value), Const(None)], node=s)
        if isinstance(e, (gast.List, gast.Tuple)):
            self.displays[target] = e       # einsum's sublists: [0, 1] is hoisted
            key = "list" if isinstance(e, gast.List) else "tuple"
            return Assign(target, e, Kind.OP, rules.OPERATORS[key],
                          [_operand(x) for x in e.elts], node=s)
        if isinstance(e, gast.Dict):
            keys = []
            for k in e.keys:
                if not nodes.is_const(k):
                    raise self.error("dict keys must be constants (e.g. strings)", k)
                keys.append(k.value)
            return Assign(target, e, Kind.OP, rules.OPERATORS["dict"],
                          [_operand(v) for v in e.values], node=s, keys=keys)
        if isinstance(e, gast.Attribute):
            return self.attribute(target, e, s)
        if isinstance(e, gast.Call):
            return self.call(target, e, s)
        raise self.error(f"unsupported expression {type(e).__name__}", e)

    def attribute(self, target, e, s):
        if not isinstance(e.value, gast.Name) or e.value.id not in self.locals:
            try:
                self._resolve(e)
            except KeyError:
                raise self.error(f"unknown name in `{_dotted(e)}`", e) from None
            value = self.objects[target] = self._resolve(e)
            self.object_text[target] = _dotted(e)
            of_module = isinstance(self._resolve(e.value), types.ModuleType)
            return Assign(target, e, Kind.CONST, node=s,       # a module constant: np.pi
                          number=of_module and type(value) in (int, float))
        if e.attr in rules.ATTRIBUTES:
            return Assign(target, e, Kind.OP, rules.ATTRIBUTES[e.attr], [e.value.id], node=s)
        if e.attr in rules.NONDIFF_ATTRIBUTES:
            return Assign(target, e, Kind.NONDIFF, args=[e.value.id], node=s)
        if e.value.id not in self.numeric:
            # a field of a parameter container (NamedTuple, dataclass): differentiated;
            # of any other object (a config, `self`), a constant unless a gradient
            # reaches it, which `add_attr` refuses when the code runs
            return Assign(target, e, Kind.OP, rules.OPERATORS["field"],
                          [e.value.id, Const(e.attr)], node=s)
        # an attribute of a number or array without a rule: refused only if a gradient
        # would have to flow through it
        a = Assign(target, e, Kind.OPAQUE, args=[e.value.id], node=s)
        a.error = self.error(f"s2sgrad has no adjoint for the attribute `.{e.attr}`", e,
                             "use the equivalent NumPy function, or pass the value as an "
                             "argument")
        return a

    @staticmethod
    def _power(a):
        """a ** 0 is the constant 1 (no a^(-1) in its adjoint); a power whose exponent is
        not a constant gets the rule that is 0, not NaN, at b = 0 and at a = 0."""
        if a.rule not in (rules.OPERATORS["pow"], rules.lookup(math.pow)) \
                or len(a.args) != 2 or a.kwargs:
            return a
        b = a.args[1]
        if isinstance(b, Const) and not isinstance(b.value, (tuple, str)) \
                and np.all(np.equal(b.value, 0)):
            a.kind, a.rule = Kind.NONDIFF, None
        elif isinstance(b, str):
            a.rule = rules.OPERATORS["pow_var"]
        return a

    def _indexed_object(self, e):
        """The library object a subscript indexes (np.r_, `from numpy import s_`), or
        None for arrays, containers and local values."""
        if not isinstance(e.value, gast.Name):
            return None
        name = e.value.id
        if name in self.objects and self.bindings[name] == 1:
            obj = self.objects[name]
        elif name not in self.locals:
            try:
                obj = self._resolve(e.value)
            except KeyError:
                return None
        else:
            return None
        plain = (np.ndarray, np.generic, list, tuple, dict, str, int, float, complex)
        return None if isinstance(obj, plain) else obj

    def index_object(self, target, e, s, obj):
        """A subscript of a library object: np.r_[a, b] and np.c_[a, b] concatenate
        (rule `index_concat`); any other (np.s_, np.ogrid, np.index_exp) builds
        indices or grids, a constant unless a differentiated value reaches it."""
        elts = e.slice.elts if isinstance(e.slice, gast.Tuple) else [e.slice]
        if obj is np.r_ or obj is np.c_:
            items = [_operand(x) if isinstance(x, gast.Name) or _is_literal(x)
                     else Const(None) for x in elts]
            return Assign(target, e, Kind.OP, rules.OPERATORS["index_concat"],
                          [e.value.id, Const(None)] + items, node=s)
        a = Assign(target, e, Kind.NONDIFF, args=[e.value.id], node=s)
        shown = self.object_text.get(e.value.id, e.value.id)   # (np.s_, not its temporary)
        a.cut_what = f"the index of `{shown}`"
        return a

    def _einsum_spec(self, e):
        """The subscripts string of einsum's sublist form `einsum(a, [0, 1], b, [1, 2],
        [0, 2])` (the same contraction, so one rule serves both forms)."""
        if e.keywords or len(e.args) < 2:
            raise self.error("einsum's sublist form takes operands and sublists only", e)
        def sub(a):
            if isinstance(a, gast.Name):         # bound once, to a display
                a = self.displays.get(a.id) if self.bindings[a.id] == 1 else None
            return _sublist(a)
        subs = [sub(a) for a in e.args[1::2]]
        out = sub(e.args[-1]) if len(e.args) % 2 == 1 else None
        if any(x is None for x in subs) or (len(e.args) % 2 == 1 and out is None):
            raise self.error("einsum's sublists must be written out as lists or tuples of "
                             "integers (and ...)", e,
                             "write the subscripts as a string, e.g. np.einsum('ij->ji', a)")
        spec = ",".join(_sublist_letters(x) for x in subs)
        return spec if out is None else spec + "->" + _sublist_letters(out)

    def check_effect_call(self, call, s):
        """A call of a function of yours for its effect (`zero_ends(u)`) that changes an
        argument of this function's in place: the statement is kept for the forward pass
        only, so the backward pass and the caller's later reads would see other values
        than Python's (see `frontend.effects`). Refused."""
        from ..frontend.effects import parameter_writes
        try:
            obj = self._resolve(call.func)
        except KeyError:
            return
        self.refuse_argument_changes(call, obj, s)
        bound = 0
        call_method = getattr(type(obj), "__call__", None)
        if isinstance(call_method, types.FunctionType):   # an object of yours, called
            obj = types.MethodType(call_method, obj)
        if isinstance(obj, types.MethodType):   # `NORM.apply_(y)`, a classmethod: its
            obj, bound = obj.__func__, 1        # first parameter is bound already
        obj = getattr(obj, "__wrapped__", obj)
        if not isinstance(obj, types.FunctionType) or _library(obj) \
                or (obj.__module__ or "").split(".")[0] == "s2sgrad":   # (runtime helpers)
            return
        for gname, g in _changed_globals(obj):
            if any(isinstance(n, gast.Name) and self._resolves_to(n, g)
                   for n in nodes.walk(self.fn)):
                raise self.error(
                    f"s2sgrad cannot differentiate the call of {obj.__name__}() for its "
                    f"effect: it changes the global `{gname}`, which this function reads, "
                    "and s2sgrad reads globals as constants", s,
                    f"make {obj.__name__} return the value and keep it in a local name "
                    f"(or pass `{gname}` in as an argument)")
        writes = parameter_writes(obj)
        code = obj.__code__
        names = code.co_varnames[:code.co_argcount]
        passed = [(i + bound, a) for i, a in enumerate(call.args)] + [
            (names.index(k.arg), k.value) for k in call.keywords if k.arg in names]
        for i, a in passed:
            if i in writes and isinstance(a, gast.Name) and a.id in self.locals:
                line, _, what = writes[i]
                raise self.error(
                    f"s2sgrad cannot differentiate the call of {obj.__name__}() for its "
                    f"effect: it changes its argument `{names[i]}` in place ({what}, line "
                    f"{line}); the backward pass would read `{a.id}` as if it had not", s,
                    f"make {obj.__name__} return the new value and assign it: "
                    f"`{a.id} = {obj.__name__}(...)`, with `{names[i]} = "
                    f"{names[i]}.copy()` (or `list({names[i]})`) at its start")

    def refuse_global_change(self, call, s):
        """`HIST.append(x * 2)` or `STATE.update(last=v)` on a global container that the
        function also reads: the trace reads the global as a constant, not as the value
        the call changed (a log that is only written, `LOSSES.append(loss)`, is fine)."""
        func = call.func
        if not (isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name)
                and func.value.id not in self.locals):
            return
        try:
            owner = self._resolve(func.value)
        except KeyError:
            return
        if not isinstance(owner, (list, dict, set, bytearray, collections.deque,
                                  np.ndarray)) or func.attr in _READ_ONLY_METHODS:
            return
        name = func.value.id
        if any(isinstance(n, gast.Name) and n is not func.value and
               (n.id == name or self._resolves_to(n, owner)) for n in nodes.walk(self.fn)):
            raise self.error(
                f"s2sgrad cannot differentiate `{name}.{func.attr}(...)`: it changes the "
                f"global `{name}`, which the function reads, and s2sgrad reads globals as "
                "constants", s, f"keep the value in a local name (or pass `{name}` in as "
                "an argument) and return what the caller should keep")

    def _resolves_to(self, name, obj):
        """Is the global `name` (a gast.Name) the object `obj` (a helper inlined from
        another module reads it under a name of its own)?"""
        if name.id in self.locals:
            return False
        try:
            return self._resolve(name) is obj
        except (KeyError, AttributeError):
            return False

    def refuse_argument_changes(self, call, obj, s):
        """`random.shuffle(ys)`, `np.ndarray.sort(y)`, `operator.iadd(y, x)`: a library
        function that changes a local value passed to it, which the trace would take for
        unchanged (see `_changes_its_arguments`). Refused."""
        if _changes_its_arguments(obj) and any(
                isinstance(a, gast.Name) and a.id in self.locals
                for a in list(call.args) + [k.value for k in call.keywords]):
            raise self.error(
                f"s2sgrad cannot differentiate the call of `{_dotted(call.func)}`: it "
                "changes its argument in place, and the backward pass would read it as "
                "if it had not", s, "build the new value and assign it to a name "
                "(`ys = sorted(ys)`, `y = np.sort(y)`, `y = y + x`, indexing with a "
                "permutation)")

    def _resolve(self, func):
        if isinstance(func, gast.Name):
            if func.id in self.functions and func.id not in self.stored:
                return self.functions[func.id]      # a parameter given this function
            if func.id in self.locals:
                raise KeyError(func.id)
            return self.parsed.resolve(func.id)
        if isinstance(func, gast.Attribute):
            base = self._resolve(func.value)
            if not hasattr(base, func.attr):
                raise KeyError(func.attr)
            return getattr(base, func.attr)
        raise KeyError(None)

    def call(self, target, e, s):
        func = e.func
        starred = [a for a in e.args if isinstance(a, gast.Starred)
                   and not getattr(a, "s2s_packed", None)]   # (packed: one parameter)
        args = [_operand(a.value if isinstance(a, gast.Starred) else a) for a in e.args]
        kwargs = {k.arg if k.arg is not None else k.s2s_packed: _operand(k.value)
                  for k in e.keywords}
        method = isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name) \
            and (func.value.id in self.locals or self._global_array_method(func))
        if method:
            name = func.attr
            if not starred:              # `x.clip(lo, hi, buf)`: np.clip's `out`, shifted
                self.refuse_positional_out(e, getattr(np, name, None), 1)
            call = self._method_call(target, e, s, func.value.id, name, args, kwargs)
            if call is not None:
                return call
            args = [func.value.id] + args
            if starred and name in rules.METHODS:
                raise self._starred_error(starred[0], f".{name}()")
            if name in rules.METHODS:
                args, kwargs = self.options(rules.METHODS[name], "." + name, args, kwargs,
                                            e, f".{name}()")
                return Assign(target, e, Kind.OP, rules.METHODS[name], args, kwargs, s)
            if name == "pop" and len(args) == 1 and not kwargs:
                return Assign(target, e, Kind.POP, args=args, node=s)
            if name in rules.NONDIFF_METHODS or name in ("astype_int",):
                a = Assign(target, e, Kind.NONDIFF, args=args, kwargs=kwargs, node=s)
                if name in _STRING_METHODS:     # an f-string's text: a number read back
                    a.cut_what = "a value formatted as a string"    # from it has a slope
                    a.cut_args = args[1:] + list(kwargs.values())
                return a
            if name in _CONTAINER_METHODS:
                raise self.error(f"s2sgrad cannot differentiate the method `.{name}()`", e,
                                 "index the container explicitly")
            # a method of a value without gradient (a local random Generator, a config
            # object) gives a constant; refused if a gradient would flow through the call
            # or into its receiver, which the method might change in place
            a = Assign(target, e, Kind.OPAQUE, args=args, kwargs=kwargs, node=s)
            a.mutable_receiver = True       # args[0]
            a.error = self.error(f"s2sgrad has no adjoint for the method `.{name}()`", e,
                                 "use the equivalent NumPy function, or register a rule "
                                 "with @s2sgrad.adjoint; a method of your own class: write "
                                 f"it as a function of the parameters, `{name}(params, ...)`,"
                                 " with the parameters in a @dataclass, NamedTuple or dict")
            return a
        if isinstance(func, gast.Attribute) and isinstance(func.value, gast.Constant) \
                and isinstance(func.value.value, str) and hasattr(str, func.attr):
            # "W{}".format(i), ", ".join(names): a string, never a gradient (refused
            # where a value with one would reach the result through it)
            a = Assign(target, e, Kind.NONDIFF, args=[_operand(func.value)] + args,
                       kwargs=kwargs, node=s)
            a.cut_what = "a value formatted as a string"
            a.cut_args = args + list(kwargs.values())
            return a
        try:
            obj = self._resolve(func)
        except KeyError:
            if isinstance(func, gast.Name) and func.id in self.locals:
                raise self.error(f"cannot differentiate a call through the local variable "
                                 f"`{func.id}`", e, "call the function by its global name") \
                    from None
            raise self.error(f"unknown function `{_dotted(func)}`", e) from None
        if starred and not self._takes_no_gradient(obj):
            raise self._starred_error(starred[0], _dotted(func))
        if not starred:
            self.refuse_positional_out(e, obj)
        self.refuse_argument_changes(e, obj, s)
        if isinstance(func, gast.Name):
            call = self._instance_call(target, e, s, func, obj, args, kwargs)
            if call is not None:
                return call
        if isinstance(obj, types.MethodType) and isinstance(func, gast.Attribute) \
                and isinstance(func.value, gast.Name):
            kind = instance_kind(obj.__self__)      # `model.forward(x)`, model a global
            if kind is not None:
                self.note_dependency(func.value, obj.__self__)
                own = getattr(obj.__self__, "__dict__", None)
                if own is not None:      # (stale once the object's own attribute shadows it)
                    self.deps.append((own, func.attr, None))
                call = self._method_call(target, e, s, func.value.id, func.attr, args,
                                         kwargs, kind)
                if call is not None:
                    return call
        self.note_dependency(func, obj)
        obj = numpy_equivalent(obj)
        if isinstance(obj, functools.partial):
            obj, args, kwargs = self._unpartial(func, obj, args, kwargs, s)
        if obj is runtime.stop_gradient:
            return Assign(target, e, Kind.STOP, args=args, node=s)
        rule = rules.lookup(obj)
        if obj in (builtins.max, builtins.min) and len(args) == 1:
            rule = rules.lookup(np.max if obj is builtins.max else np.min)
        elif obj in (builtins.max, builtins.min) and len(args) > 2:
            raise self.error(f"{obj.__name__}() of more than two arguments", e,
                             f"nest the calls: {obj.__name__}({obj.__name__}(a, b), c)")
        if obj is np.einsum and args and not (isinstance(args[0], Const)
                                              and isinstance(args[0].value, str)):
            args = [Const(self._einsum_spec(e))] + args[0::2][:len(args) // 2]
        if rule is not None:
            args, kwargs = self.options(rule, id(obj), args, kwargs, e, _dotted(func))
            return self._power(Assign(target, e, Kind.OP, rule, args, kwargs, s))
        if obj is str:          # str(v): text, from which float() would read v back
            a = Assign(target, e, Kind.NONDIFF, args=args, kwargs=kwargs, node=s)
            a.cut_what = "a value formatted as a string"
            a.cut_args = args + list(kwargs.values())
            return a
        if rules.is_nondifferentiable(obj):
            return Assign(target, e, Kind.NONDIFF, args=args, kwargs=kwargs, node=s)
        if id(obj) in rules.CONSTANT_ARGS:      # np.full, np.arange: constants of constants
            first = rules.CONSTANT_ARGS[id(obj)]
            a = Assign(target, e, Kind.NONDIFF, args=args, kwargs=kwargs, node=s)
            a.cut_what = f"the arguments of `{_dotted(func)}`"
            a.cut_args = args[first:] + list(kwargs.values())
            a.random = _is_random(obj)      # np.random.rand(3): a constant, but not one value
            return a
        if _is_random(obj):         # a draw is a constant; its parameters are not
            a = Assign(target, e, Kind.NONDIFF, args=args, kwargs=kwargs, node=s)
            a.cut_what = f"the parameters of the random draw `{_dotted(func)}`"
            a.random = True
            return a
        if id(obj) in rules.T_CALLABLES:      # a helper of generated code: forward mode only
            a = Assign(target, e, Kind.OP, rules.T_CALLABLES[id(obj)], args, kwargs, s)
            a.tangent_only = True
            return a
        if getattr(obj, "__wrapped__", None) is not None and not _library(obj):
            self.check_decorator(obj, e)
        if isinstance(obj, types.FunctionType) and not _library(obj):
            return self._user_call(Assign(target, e, Kind.CALL, args=args, kwargs=kwargs,
                                          node=s, callee=obj))
        if isinstance(obj, type) and obj in (bool, int, str, slice, range):
            return Assign(target, e, Kind.NONDIFF, args=args, kwargs=kwargs, node=s)
        inner = getattr(obj, "__wrapped__", None)
        if isinstance(inner, types.FunctionType) and not _library(inner):
            return Assign(target, e, Kind.CALL, args=args, kwargs=kwargs, node=s, callee=inner)
        label = getattr(obj, "__module__", None)
        label = f"{label}.{getattr(obj, '__name__', obj)}" if label else _dotted(func)
        hint = ("register one with @s2sgrad.adjoint, or wrap a value that needs no "
                "gradient in s2sgrad.stop_gradient")
        klass = obj.cls if obj.__class__ is InstanceKind else type(obj)
        if not hasattr(obj, "__name__") and \
                (getattr(klass, "__module__", None) or "").split(".")[0] not in _LIBRARIES:
            # an object called (`layer(x)`): its class's __call__ was not differentiable
            label = f"{_dotted(func)}`, an object of class `{klass.__qualname__}"
            hint = ("give the object's class a `__call__` written in Python, pass the "
                    "object as an argument or hold it in a global (an object held in "
                    "another object's attribute is not followed), or call a function "
                    "of yours with its parameters")
        # refused only if a gradient has to flow through it (see `opaque_error`)
        a = Assign(target, e, Kind.OPAQUE, args=args, kwargs=kwargs, node=s)
        a.error = self.error(f"no adjoint for `{label}`", e, hint)
        return a


    def _method_call(self, target, e, s, receiver, name, args, kwargs, kind=None):
        """`receiver.name(...)` of an object of the user's class known here (a parameter
        the code is specialized on, or a global given as `kind`): the call of the
        function its class defines, the object first (see `instances`); else None."""
        if kind is None:
            kind = self.functions.get(receiver) if receiver not in self.stored else None
            if kind.__class__ is not InstanceKind:
                return None
        found = method_of(kind, name)
        if found is None:
            return None
        fn, bound, owner = found
        self.deps.append((owner, name, owner[name]))   # (the class's method, rebound: stale)
        args = ([receiver] if bound else []) + args
        return self._user_call(Assign(target, e, Kind.CALL, args=args, kwargs=kwargs,
                                      node=s, callee=fn))

    def _global_array_method(self, func):
        """`X.dot(W)` with `X` a global or closure array: its method, as on a local
        (the array is read where the code runs, as `X @ W` reads it)."""
        if func.attr not in rules.METHODS:
            return False
        try:
            obj = self.parsed.resolve(func.value.id)
        except KeyError:
            return False
        return isinstance(obj, (np.ndarray, np.generic))

    def _instance_call(self, target, e, s, func, obj, args, kwargs):
        """`model(x)`: an object of the user's class called (a parameter the code is
        specialized on, or a global), i.e. its class's `__call__`; else None."""
        if obj.__class__ is InstanceKind:
            return self._method_call(target, e, s, func.id, "__call__", args, kwargs)
        kind = instance_kind(obj)
        if kind is None or "__call__" not in kind.methods:
            return None
        self.note_dependency(func, obj)
        own = getattr(obj, "__dict__", None)
        if own is not None:
            self.deps.append((own, "__call__", None))
        return self._method_call(target, e, s, func.id, "__call__", args, kwargs, kind)

    @staticmethod
    def _takes_no_gradient(obj):
        """Does a call of `obj` give a constant whatever its arguments (a random draw, a
        shape, a constructor of constants)? Then `*xs` may stay in it: `rs.randn(*shape)`."""
        return rules.lookup(obj) is None and (
            rules.is_nondifferentiable(obj) or id(obj) in rules.CONSTANT_ARGS
            or _is_random(obj) or (isinstance(obj, type) and obj in (bool, int, str, range)))

    def _starred_error(self, node, label):
        return self.error(f"s2sgrad cannot differentiate `{label}` called with `*` "
                          "(the number of arguments is not known here)", node,
                          "pass the arguments one by one, or call a function of yours "
                          "whose parameters have no defaults (its `*xs` is spread)")

    def _unpartial(self, func, obj, args, kwargs, s):
        """A call of a functools.partial (a parameter given one, a global): the call of
        its function with the fixed arguments first, read from the partial object
        itself by statements placed before the call (they carry no gradient)."""
        fixed = []
        for i in range(len(obj.args)):
            fixed.append(self._partial_value(func, nodes.subscript(
                nodes.attribute(nodes.clone(func), "args"), nodes.const(i)), s))
        merged = {k: self._partial_value(func, nodes.subscript(
            nodes.attribute(nodes.clone(func), "keywords"), nodes.const(k)), s)
            for k in obj.keywords if k not in kwargs}
        return obj.func, fixed + list(args), {**merged, **kwargs}

    def _partial_value(self, func, expr, s):
        name = self.fresh("fixed")
        node = nodes.copy_location(nodes.assign(name, expr), s)
        reads = [func.id] if isinstance(func, gast.Name) and func.id in self.locals else []
        self.prelude.append(Assign(name, expr, Kind.NONDIFF, args=reads, node=node))
        self.locals.add(name)
        return name

    def _user_call(self, a):
        """A call of the user's function: note the functions it is given (`apply(np.tanh,
        x)`, a parameter given a function), on which its generated pair is specialized."""
        found = {}
        for key, operand in list(enumerate(a.args)) + list(a.kwargs.items()):
            obj = self._function_value(operand)
            if obj is not None:
                found[key] = obj
        a.function_args = found or None
        return a

    def _function_value(self, operand):
        """The function object a call operand denotes when that is known here (a global
        function, `np.tanh`, a parameter given a function), else None."""
        if not isinstance(operand, str):
            return None
        if operand in self.functions and operand not in self.stored:
            obj = self.functions[operand]
            if obj.__class__ is InstanceKind:
                return obj
        elif operand in self.objects and self.bindings[operand] == 1:
            obj = self.objects[operand]
        elif operand not in self.locals:
            try:
                obj = self.parsed.resolve(operand)
            except KeyError:
                return None
            if is_function_value(obj):    # (a global: the callee is specialized on it)
                self.note_dependency(nodes.name(operand), obj)
            else:                         # an object of the user's class: on its class
                kind = instance_kind(obj)
                if kind is not None:
                    self.note_dependency(nodes.name(operand), obj)
                    return kind
        else:
            return None
        return obj if is_function_value(obj) else None


def is_function_value(obj):
    """Is `obj` a function a differentiated function may be given and call (a Python
    function or lambda, a NumPy or built-in function, a functools.partial)?"""
    return isinstance(obj, (types.FunctionType, types.BuiltinFunctionType, np.ufunc,
                            functools.partial, type(np.sum)))


_UNKNOWN = object()

#: `v op= e` operators NumPy computes in place into v's dtype (check_in_place_cast)
_IN_PLACE_OPS = {gast.Add: "+", gast.Sub: "-", gast.Mult: "*", gast.Div: "/",
                 gast.FloorDiv: "//", gast.Mod: "%", gast.Pow: "**"}


def _scatter_sign(tracer, func):
    """1 for `np.add.at`, -1 for `np.subtract.at`, else None."""
    try:
        obj = tracer._resolve(func)
    except KeyError:
        return None
    owner = getattr(obj, "__self__", None)
    if getattr(obj, "__name__", "") != "at":
        return None
    return 1 if owner is np.add else -1 if owner is np.subtract else None


def _writes_in_place(tracer, func):
    """Is `func` (a call for its effect) a NumPy function that changes its arguments
    (np.copyto, np.put, np.add.at, np.random.shuffle, ...)?"""
    try:
        obj = tracer._resolve(func)
    except KeyError:
        return False
    import numpy as np
    mutating = (np.copyto, np.put, np.put_along_axis, np.putmask, np.place,
                np.fill_diagonal, np.random.shuffle)
    if any(obj is m for m in mutating):
        return True
    owner = getattr(obj, "__self__", None)
    if isinstance(owner, np.random.Generator) and getattr(obj, "__name__", "") == "shuffle":
        return True
    return isinstance(owner, np.ufunc) and getattr(obj, "__name__", "") == "at"


def _sublist(node):
    """The integers (and `...`) of a literal einsum sublist, or None."""
    if not isinstance(node, (gast.Tuple, gast.List)):
        return None
    out = []
    for x in node.elts:
        if isinstance(x, gast.Name) and x.id == "Ellipsis":
            out.append(Ellipsis)
        elif isinstance(x, gast.Constant) and (x.value is Ellipsis or (
                isinstance(x.value, int) and not isinstance(x.value, bool)
                and 0 <= x.value < 52)):
            out.append(x.value)
        else:
            return None
    return out


def _sublist_letters(sub):
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    return "".join("..." if i is Ellipsis else letters[i] for i in sub)


_AUTOGRAD_NAMES = {}          # id(a function of autograd.numpy) -> NumPy's of its name


def numpy_equivalent(obj):
    """The NumPy or SciPy function an autograd wrapper stands for (scripts written for
    autograd, `import autograd.numpy as np`, run unchanged): a primitive's `.fun`
    (`autograd.numpy.sum.fun is numpy.sum`, `autograd.scipy.special.logsumexp`), or the
    NumPy function of the same name for the few autograd writes in Python (`np.array`,
    `np.concatenate`, `np.where`, `np.mean`); anything else is returned as it is."""
    module = getattr(obj, "__module__", None) or ""
    if not module.startswith("autograd"):
        return obj
    fun = getattr(obj, "fun", None)
    if callable(fun) and (getattr(fun, "__module__", None) or "").split(".")[0] in (
            "numpy", "scipy"):
        return fun
    if not _AUTOGRAD_NAMES:
        import sys
        namespace = sys.modules.get("autograd.numpy")
        for name in dir(namespace) if namespace is not None else ():
            same = getattr(np, name, None)
            if callable(same) and not isinstance(same, type) and not name.startswith("_"):
                _AUTOGRAD_NAMES[id(getattr(namespace, name))] = same
    return _AUTOGRAD_NAMES.get(id(obj), obj)


def _library(func):
    """A library's own Python function (Python's standard library included: statistics,
    random): its source is not the user's to differentiate."""
    root = (getattr(func, "__module__", None) or "").split(".")[0]
    code = getattr(func, "__code__", None)
    return root in _LIBRARIES or code is not None and _in_stdlib(code.co_filename)


@functools.lru_cache(maxsize=256)
def _in_stdlib(filename):
    """Is `filename` a module of Python's standard library (not an installed package,
    nor a file of the user's that happens to share a standard module's name)?"""
    import os
    import sysconfig
    stdlib = os.path.realpath(sysconfig.get_paths()["stdlib"]) + os.sep
    path = os.path.realpath(filename)
    parts = path.split(os.sep)
    return path.startswith(stdlib) and "site-packages" not in parts \
        and "dist-packages" not in parts


@functools.lru_cache(maxsize=None)
def _in_place_library_functions():
    """The standard library's functions that change an argument in place."""
    import bisect
    import heapq
    import operator
    import random
    out = {random.shuffle, bisect.insort, bisect.insort_left, bisect.insort_right,
           operator.setitem, operator.delitem, setattr, delattr}
    out |= {getattr(heapq, n) for n in ("heapify", "heappush", "heappop", "heapreplace",
                                        "heappushpop")}
    out |= {getattr(operator, n) for n in (
        "iadd", "iand", "iconcat", "ifloordiv", "ilshift", "imatmul", "imod", "imul",
        "ior", "ipow", "irshift", "isub", "itruediv", "ixor")}
    return frozenset(out)


def _changes_its_arguments(obj):
    """Is `obj` a library callable that changes an argument in place: a method taken
    from a mutable type and called with the object (`np.ndarray.sort(y)`,
    `list.reverse(ys)`), or one of the standard library's (`random.shuffle(ys)`,
    `heapq.heapify(ys)`, `bisect.insort(ys, v)`, `operator.setitem`, `operator.iadd`)?
    (Module-level `random.shuffle` is a bound method of a hidden generator.)"""
    owner = getattr(obj, "__objclass__", None)
    if owner in (np.ndarray, list, dict, set, bytearray, collections.deque):
        return getattr(obj, "__name__", "") not in _READ_ONLY_METHODS
    func = getattr(obj, "__func__", None)
    if func is not None and getattr(func, "__qualname__", "") == "Random.shuffle":
        return True
    try:
        return obj in _in_place_library_functions()
    except TypeError:                      # (unhashable)
        return False


# methods of the mutable types that read their object only (`np.ndarray.sum(y)`)
def _changed_globals(fn):
    """(name, object) for each global container (list, dict, set, deque, array) that
    the function `fn` may change: it calls a method of it other than the read-only ones
    (`HIST.append(v)`), or it stores into a subscript or attribute anywhere (`G[k] = v`,
    taken for any container it loads)."""
    import dis
    code = fn.__code__
    instructions = list(dis.get_instructions(code))
    stores = any(i.opname in ("STORE_SUBSCR", "STORE_ATTR", "DELETE_SUBSCR")
                 for i in instructions)
    out = []
    for k, ins in enumerate(instructions):
        if ins.opname != "LOAD_GLOBAL":
            continue
        name = ins.argval
        g = fn.__globals__.get(name)
        if not isinstance(g, (list, dict, set, collections.deque, np.ndarray)):
            continue
        after = instructions[k + 1] if k + 1 < len(instructions) else None
        method = after is not None and after.opname in ("LOAD_METHOD", "LOAD_ATTR") \
            and after.argval not in _READ_ONLY_METHODS | _READ_ONLY_ATTRIBUTES
        if (method or stores) and all(n != name for n, _ in out):
            out.append((name, g))
    return out


_READ_ONLY_ATTRIBUTES = frozenset({"shape", "T", "size", "ndim", "dtype", "real", "imag",
                                   "flags", "itemsize", "nbytes", "strides"})

_READ_ONLY_METHODS = frozenset({
    "__getitem__", "__len__", "__contains__", "__iter__", "__repr__", "__str__", "copy",
    "count", "index", "get", "keys", "values", "items", "sum", "mean", "max", "min", "std",
    "var", "prod", "any", "all", "dot", "tolist", "reshape", "ravel", "flatten", "transpose",
    "astype", "round", "clip", "cumsum", "cumprod", "argmax", "argmin", "argsort", "take",
    "squeeze", "swapaxes", "nonzero", "trace", "diagonal", "conj", "conjugate", "view",
    "item", "tobytes", "ptp"})


def _out_position(obj):
    """The position at which a NumPy callable takes `out` (a ufunc's after its inputs,
    `np.cumsum(a, axis, dtype, out)`), or None. Remembered per callable: reading the
    signature of a function written in C costs up to 2 ms."""
    if isinstance(obj, np.ufunc):
        return obj.nin
    if not str(getattr(obj, "__module__", "") or "").startswith("numpy"):
        return None
    try:
        return _OUT_POSITIONS[obj]
    except (KeyError, TypeError):         # (not seen, or not hashable)
        pass
    at = _signature_out_position(obj)
    try:
        _OUT_POSITIONS[obj] = at
    except TypeError:
        pass
    return at


_OUT_POSITIONS = {}


def _signature_out_position(obj):
    try:
        params = list(inspect.signature(obj).parameters.values())
    except (TypeError, ValueError):
        return None
    for k, p in enumerate(params):
        if p.name == "out" and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            return k
        if p.kind in (p.VAR_POSITIONAL, p.KEYWORD_ONLY, p.VAR_KEYWORD):
            return None
    return None


def _is_random(obj):
    """NumPy's random numbers (module functions, Generator/RandomState methods) are
    constants for the gradient."""
    import numpy as np
    owner = getattr(obj, "__self__", None)
    if isinstance(owner, (np.random.Generator, np.random.RandomState)):
        return True
    return str(getattr(obj, "__module__", "") or "").startswith("numpy.random")


def _dotted(e):
    if isinstance(e, gast.Name):
        return e.id
    if isinstance(e, gast.Attribute):
        return _dotted(e.value) + "." + e.attr
    return "<expression>"


def _operand(e):
    if isinstance(e, gast.Name):
        return e.id
    if isinstance(e, gast.Constant):
        return Const(e.value)
    if _is_literal(e):
        return Const(_literal_value(e))
    raise ValueError(f"not an atom: {gast.dump(e)}")


def _is_literal(e):
    if isinstance(e, gast.Constant):
        return True
    if isinstance(e, gast.UnaryOp) and isinstance(e.op, (gast.USub, gast.UAdd)) \
            and isinstance(e.operand, gast.Constant):
        return True
    if isinstance(e, gast.Tuple):
        return all(_is_literal(x) for x in e.elts)
    return False


def _literal_value(e):
    if isinstance(e, gast.Constant):
        return e.value
    if isinstance(e, gast.UnaryOp):
        v = _literal_value(e.operand)
        return -v if isinstance(e.op, gast.USub) else v
    return tuple(_literal_value(x) for x in e.elts)


def _is_display(e, fn, seen=None, memo=None):
    """Is the operand statically a list/tuple (a display, `list(...)`, a concatenation
    with one, a slice or copy of one, or a name bound only to such values)? `memo` caches, per function, the
    set of names that hold lists on every path (one fixpoint over all definitions)."""
    if isinstance(e, gast.List):
        return True
    if isinstance(e, gast.Call) and isinstance(e.func, gast.Name) and e.func.id in ("list", "tuple"):
        return True
    if isinstance(e, gast.BinOp) and isinstance(e.op, (gast.Add, gast.Mult)):
        return _is_display(e.left, fn, memo=memo) or _is_display(e.right, fn, memo=memo)
    if isinstance(e, gast.Subscript) and isinstance(e.slice, gast.Slice):
        return _is_display(e.value, fn, memo=memo)       # `xs[:2]` of a list: a list
    if isinstance(e, gast.Call) and isinstance(e.func, gast.Attribute) \
            and e.func.attr == "copy" and not e.args and not e.keywords:
        return _is_display(e.func.value, fn, memo=memo)  # `xs.copy()` of a list
    if not isinstance(e, gast.Name):
        return False
    memo = {} if memo is None else memo
    if "<lists>" not in memo:
        memo["<lists>"] = _list_names(fn)
    return e.id in memo["<lists>"]


def _list_names(fn):
    table, targets = {}, set()
    for st in nodes.walk(fn):
        if isinstance(st, gast.Assign) and isinstance(st.targets[0], gast.Name):
            table.setdefault(st.targets[0].id, []).append(st.value)
            targets.add(id(st.targets[0]))
    # names bound otherwise too (parameters, loop targets, unpacking): of any type
    other = {n.id for n in nodes.walk(fn) if isinstance(n, gast.Name) and isinstance(
        n.ctx, (gast.Store, gast.Param)) and id(n) not in targets}
    other |= {a.id for a in fn.args.args + fn.args.kwonlyargs if isinstance(a, gast.Name)}
    lists = set()                # least fixpoint: a cycle of `+` proves nothing
    memo = {"<lists>": lists}

    def listy(d):
        if isinstance(d, gast.Tuple):
            return not _is_literal(d)
        return _is_display(d, fn, memo=memo)
    changed = True
    while changed:
        changed = False
        for name, values in table.items():
            if name not in lists and all(listy(d) for d in values):
                lists.add(name)
                changed = True
    # then the greatest fixpoint over the names bound by assignments only: a cycle of
    # `*` proves a list (`acc = acc * 2` in a loop: `acc_new = acc * 2; acc = acc_new`)
    # when every binding is a display or `+`/`*` with a list. The cycle has an entry, a
    # display: no other binding gives the names a value before the cycle runs
    proven = set(lists)
    lists |= {name for name in table if name not in other}
    changed = True
    while changed:
        changed = False
        for name, values in table.items():
            if name in lists and name not in proven and not all(listy(d) for d in values):
                lists.discard(name)
                changed = True
    return lists


# ------------------------------------------------------------------------- analyses

class _NumberCalls:
    """Does a call of a function of the user's with numbers give a number? Its trace is
    built with those parameters known as numbers, and every `return` must give one (so
    the caller needs no `unbroadcast` or saved shape for the result: `r = residual(a,
    b, x, y)` in a loop of scalars). Asked by `infer_scalars` for calls whose operands
    are all numbers; answered once per (function, arguments) in one compilation, never
    across compilations (a global the function reads may be rebound). A function that
    cannot be traced on its own, recursion, `*args`: not known to give a number. The same
    memo answers `gives_constant` (see `analyses._varied_past_constant_calls`)."""

    def __init__(self):
        self.known = {}

    def __call__(self, callee, n_args, keywords):
        return self._answer("number", callee, n_args, keywords)

    def gives_constant(self, callee, n_args, keywords):
        """Does a call of `callee` give a value that depends on none of its arguments
        differentiably (sizes, shapes, counts: `return a.shape`)? Its trace, built with
        every argument passed differentiated, says; once per compilation."""
        return self._answer("constant", callee, n_args, keywords)

    def _answer(self, question, callee, n_args, keywords):
        key = (question, callee, n_args, keywords)
        if key not in self.known:
            self.known[key] = False              # (a recursive call: not known)
            self.known[key] = self._ask(question, callee, n_args, keywords)
        return self.known[key]

    def _ask(self, question, callee, n_args, keywords):
        """The callee traced alone, its passed parameters known as numbers ("number")
        or differentiated ("constant"); then what its returns give."""
        from ..errors import S2SGradError
        from ..frontend.normalize import normalize
        code = getattr(callee, "__code__", None)
        if code is None or code.co_flags & 0x0C:          # (*args, **kwargs)
            return False
        try:
            parsed = parse_function(callee)
            parsed.functions = {}
            fn = normalize(parsed)
            params = [a.id for a in fn.args.args]
            passed = [i for i, p in enumerate(params) if i < n_args or p in keywords]
            if question == "number":
                tr = build(parsed, fn, (), {params[i] for i in passed}, (),
                           number_calls=self)            # (one memo: recursion ends)
            else:
                tr = build(parsed, fn, tuple(passed), number_calls=self)
        except (S2SGradError, RecursionError):
            return False
        returns = [r for r in walk(tr.body) if isinstance(r, Return)]
        if question == "number":
            return bool(returns) and all(
                (type(r.value.value) in (int, float)) if isinstance(r.value, Const)
                else r.value in tr.scalars for r in returns)
        return bool(returns) and all(isinstance(r.value, Const) or r.value not in tr.active
                                     for r in returns)


def build(parsed: Parsed, fn: gast.FunctionDef, wrt: tuple, scalar_params=(), array_params=(),
          entry: bool = False, functions=None, number_calls=None) -> Trace:
    """The trace of normalized `fn`; `scalar_params` names the parameters known to be
    numbers (not arrays) for this compilation, which lets `scalars` be inferred;
    `array_params` those known to be NumPy arrays (so not lists): a sequence of names,
    or {name: ndim}. `entry`: the function is called by the user (not by another
    differentiated function, which may read its arguments after the call).
    `functions`: {parameter: the function object it is given} (the code is specialized
    on them: calls through the parameter are calls of that function)."""
    builder = Builder(parsed, fn)
    builder.numeric = set(scalar_params) | set(array_params)
    builder.functions = dict(functions or {})
    body = builder.block(fn.body)
    params = [a.id for a in fn.args.args]
    trace = Trace(fn.name, params, fn.args.defaults, body, parsed, tuple(wrt),
                  user_names=set(builder.locals), deps=builder.deps)
    trace.array_params = tuple(array_params)
    trace.number_list_params = tuple(getattr(parsed, "number_lists", ()))
    if isinstance(array_params, dict):         # {name: symbolic shape}
        trace.array_shapes = dict(array_params)
        if entry:                              # (a callee's symbols are its own)
            trace.symbol_sizes = getattr(parsed, "symbol_sizes", None)
    rename_top_level(trace)
    if entry and getattr(parsed, "dict_items", None):
        trace.dict_items = read_only_dicts(list(walk(trace.body)), parsed.dict_items)
    check_stores(trace)
    trace.constant_calls = number_calls or _NumberCalls()
    analyse(trace)
    trace.scalars = infer_scalars(trace, set(scalar_params), trace.constant_calls)
    trace.constant_calls = None          # (it holds the callees: the cache must not)
    trace.maybe_container -= trace.scalars
    check_views(trace)
    check_calls(trace)
    check_in_place(trace, entry)
    check_item_updates(trace)
    _drop_number_cast_checks(trace)
    return trace


def _drop_number_cast_checks(trace):
    """`check_in_place_cast(v, e, op)` of a number v checks nothing (`v op= e` on a
    number makes a new number in Python too): not written."""
    def keep(s):
        call = s.node.value if isinstance(s, Effect) and isinstance(s.node, gast.Expr) \
            else None
        return not (isinstance(call, gast.Call) and isinstance(call.func, gast.Name)
                    and trace.parsed.closure.get(call.func.id) is runtime.check_in_place_cast
                    and isinstance(call.args[0], gast.Name)
                    and call.args[0].id in trace.scalars)

    def walk_body(body):
        out = []
        for s in body:
            if not keep(s):
                continue
            if isinstance(s, If):
                s.body, s.orelse = walk_body(s.body), walk_body(s.orelse)
            elif isinstance(s, (For, While)):
                s.body = walk_body(s.body)
            out.append(s)
        return out
    trace.body = walk_body(trace.body)


def resolve_callee(obj):
    return parse_function(obj)


