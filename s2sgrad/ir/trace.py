"""Stage 3 — trace: the A-normal-form function → the typed execution trace (IR).

Takes the normalized `FunctionDef` and the `Parsed` record; returns a `Trace`:
a list of statements (`Assign`, `SetItem`, `Append`, `Forward`, and the structured
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
import math
import types
from dataclasses import dataclass, field

import gast
import numpy as np

from ..syntax import nodes
from .. import rules
from ..syntax.nodes import Const
from ..frontend.parse import parse_function

# --------------------------------------------------------------------------- the IR


@dataclass
class Assign:
    """`target = expr`, one primitive operation."""
    target: str
    expr: object                  # the forward expression (gast), operands as atoms
    kind: str                     # op | copy | const | nondiff | stop | call
    rule: object = None           # rules.Rule for kind == "op"
    args: list = field(default_factory=list)       # operands: str (a name) or Const
    kwargs: dict = field(default_factory=dict)
    node: object = None           # the ANF statement (location, forward emission)
    callee: object = None         # Parsed, for kind == "call"
    keys: list = None             # dict display keys

    def reads(self):
        return [a for a in list(self.args) + list(self.kwargs.values()) if isinstance(a, str)] \
            + _index_names(self)


@dataclass
class SetItem:
    """`container[index] = value` into a local container."""
    container: str
    index: object                 # gast index expression
    value: object                 # operand
    node: object = None

    def reads(self):
        return ([self.value] if isinstance(self.value, str) else []) + \
            [self.container] + nodes.names_in(self.index)


@dataclass
class Append:
    """`container.append(value)` on a local list."""
    container: str
    value: object
    node: object = None

    def reads(self):
        return [self.container] + ([self.value] if isinstance(self.value, str) else [])


@dataclass
class Pop:
    """`container.pop()` as a statement (undoing an append)."""
    container: str
    node: object = None

    def reads(self):
        return [self.container]


@dataclass
class Forward:
    """A statement kept for the forward pass only (print, assert)."""
    node: object

    def reads(self):
        return nodes.names_in(self.node)


@dataclass
class If:
    test: str
    body: list
    orelse: list
    node: object = None


@dataclass
class For:
    target: str
    range_args: list              # operands of range(...)
    body: list
    node: object = None


@dataclass
class While:
    test: str
    body: list
    node: object = None
    count_name: str = None        # how many times the body ran (for the backward loop)


@dataclass
class Return:
    value: object                 # operand
    node: object = None


@dataclass
class Trace:
    name: str
    params: list
    defaults: list
    body: list
    parsed: object
    wrt: tuple = ()
    active: set = field(default_factory=set)
    overwritten: set = field(default_factory=set)
    maybe_container: set = field(default_factory=set)
    user_names: set = field(default_factory=set)
    scalars: set = field(default_factory=set)
    shape_class: dict = field(default_factory=dict)   # see `shape_classes`
    structural_class: dict = field(default_factory=dict)  # the same, sizes aside
    known_shapes: dict = field(default_factory=dict)      # {name: shape}, infer_scalars
    array_params: tuple = ()      # parameters known to be NumPy arrays (not containers)
    array_shapes: dict = field(default_factory=dict)  # {array parameter: shape pattern}
    invariant: set = field(default_factory=set)
    deps: list = field(default_factory=list)

    @property
    def result(self):
        return self.body[-1].value


_BINOPS = {gast.Add: "add", gast.Sub: "sub", gast.Mult: "mul", gast.Div: "truediv",
           gast.Pow: "pow", gast.Mod: "mod", gast.MatMult: "matmul"}
_UNARY = {gast.USub: "neg", gast.UAdd: "pos"}
_NONDIFF_BINOPS = (gast.FloorDiv, gast.BitAnd, gast.BitOr, gast.BitXor, gast.LShift,
                   gast.RShift)
_CONTAINER_USES = {"getitem", "sum_list", "concatenate", "stack", "hstack", "vstack", "copy",
                   "concat", "append"}
_CONTAINER_METHODS = {"copy", "pop", "index", "count", "keys", "values", "items", "get"}


def _index_names(stmt):
    if stmt.kind == "op" and stmt.rule is rules.OPERATORS.get("getitem"):
        return nodes.names_in(stmt.expr.slice)
    if stmt.kind in ("op", "nondiff") and isinstance(stmt.expr, gast.Subscript) \
            and (stmt.kind == "nondiff" or stmt.rule is rules.OPERATORS.get("index_concat")):
        return nodes.names_in(stmt.expr.slice)      # np.r_[a, 0:n], np.s_[i:j]
    return []


# ------------------------------------------------------------------- building the IR

class Builder:
    """Turns ANF statements into IR statements, resolving every call."""

    def __init__(self, parsed, fn):
        self.parsed = parsed
        self.fn = fn
        self.locals = set(nodes.names_in(fn, nodes.STORE)) | {a.id for a in fn.args.args}
        self.current = None
        self.deps = []
        self.display = {}          # memo of `_is_display` per name
        self.displays = {}         # name -> the list/tuple display it was last bound to
        self.objects = {}          # name -> the module object it was bound to (np.r_)
        self.bindings = collections.Counter(
            t.id for n in gast.walk(fn) if isinstance(n, gast.Assign)
            for t in n.targets if isinstance(t, gast.Name))

    def error(self, msg, node, hint=None):
        if getattr(node, "lineno", None) is None:
            node = self.current
        return self.parsed.error(msg, node, hint)

    def note_dependency(self, func, obj):
        """Remember the global name a user function was called by (the compiled code is
        stale once that name is rebound)."""
        if isinstance(func, gast.Name) and func.id not in self.parsed.closure \
                and func.id in self.parsed.namespace:
            self.deps.append((self.parsed.namespace, func.id, obj))
        elif isinstance(func, gast.Attribute):
            try:
                base = self._resolve(func.value)
            except KeyError:
                return
            if isinstance(base, types.ModuleType):
                self.deps.append((vars(base), func.attr, obj))

    def fresh(self, hint):
        return nodes.fresh_name(hint, self.locals)

    def block(self, stmts):
        out = []
        for s in stmts:
            new = self.stmt(s)
            if isinstance(new, If) and any(new.test in defs(x) for x in walk(new.body + new.orelse)):
                # the branch reassigns its own test: keep the tested value apart
                keep = self.fresh("branch")
                node = nodes.copy_location(nodes.assign(keep, nodes.name(new.test)), s)
                out.append(Assign(keep, node.value, "copy", args=[new.test], node=node))
                new.test = keep
                new.node = nodes.copy_location(nodes.if_(nodes.name(keep), s.body, s.orelse), s)
            out.append(new)
        return out

    def stmt(self, s):
        self.current = s
        if isinstance(s, gast.Assign):
            t = s.targets[0]
            if isinstance(t, gast.Name):
                return self.assign(t.id, s.value, s)
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
            if _writes_in_place(self, call.func):
                raise self.error(f"s2sgrad cannot differentiate `{_dotted(call.func)}`, which "
                                 "writes into an array in place", s,
                                 "build the new array instead (np.where, indexing, "
                                 "np.concatenate) and assign it to a name")
            return Forward(s)
        if isinstance(s, gast.Assert):
            return Forward(s)
        raise self.error(f"unsupported statement {type(s).__name__}", s)

    def assign(self, target, e, s):
        if isinstance(e, gast.Name):
            return Assign(target, e, "copy", args=[e.id], node=s)
        if nodes.is_const(e) or _is_literal(e):
            return Assign(target, e, "const", node=s)
        if isinstance(e, gast.BinOp):
            args = [_operand(e.left), _operand(e.right)]
            if isinstance(e.op, _NONDIFF_BINOPS):
                return Assign(target, e, "nondiff", args=args, node=s)
            key = _BINOPS.get(type(e.op))
            if key is None:
                raise self.error(f"unsupported operator {type(e.op).__name__}", e)
            if key in ("add", "mul") and (_is_display(e.left, self.fn, memo=self.display)
                                          or _is_display(e.right, self.fn, memo=self.display)):
                key = "concat" if key == "add" else "repeat"      # [a, b] + xs, [0.0] * n
            if key == "mul" and isinstance(e.left, gast.Name) and isinstance(e.right, gast.Name) \
                    and e.left.id == e.right.id:
                # x * x: one adjoint term 2·ȳ·x instead of two ȳ·x
                return Assign(target, e, "op", rules.lookup(np.square), [e.left.id], node=s)
            return self._power(Assign(target, e, "op", rules.OPERATORS[key], args, node=s))
        if isinstance(e, gast.UnaryOp):
            key = _UNARY.get(type(e.op))
            args = [_operand(e.operand)]
            if key is None:
                return Assign(target, e, "nondiff", args=args, node=s)
            return Assign(target, e, "op", rules.OPERATORS[key], args, node=s)
        if isinstance(e, (gast.Compare, gast.BoolOp)):
            a = Assign(target, e, "nondiff", args=[n for n in nodes.names_in(e)], node=s)
            if isinstance(e, gast.BoolOp):      # `a or b` is one of its operands
                a.cut_what = "`and`/`or` (its value is one of its operands)"
            return a
        obj = self._indexed_object(e) if isinstance(e, gast.Subscript) else None
        if obj is not None:
            return self.index_object(target, e, s, obj)
        if isinstance(e, gast.Subscript):
            return Assign(target, e, "op", rules.OPERATORS["getitem"],
                          [_operand(e.value), Const(None)], node=s)
        if isinstance(e, (gast.List, gast.Tuple)):
            self.displays[target] = e       # einsum's sublists: [0, 1] is hoisted
            key = "list" if isinstance(e, gast.List) else "tuple"
            return Assign(target, e, "op", rules.OPERATORS[key],
                          [_operand(x) for x in e.elts], node=s)
        if isinstance(e, gast.Dict):
            keys = []
            for k in e.keys:
                if not nodes.is_const(k):
                    raise self.error("dict keys must be constants (e.g. strings)", k)
                keys.append(k.value)
            return Assign(target, e, "op", rules.OPERATORS["dict"],
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
            self.objects[target] = self._resolve(e)
            return Assign(target, e, "const", node=s)       # a module constant: np.pi
        if e.attr in rules.ATTRIBUTES:
            return Assign(target, e, "op", rules.ATTRIBUTES[e.attr], [e.value.id], node=s)
        if e.attr in rules.NONDIFF_ATTRIBUTES:
            return Assign(target, e, "nondiff", args=[e.value.id], node=s)
        # an attribute of a value without gradient (a config object, `self`) is a
        # constant; refused only if a gradient would have to flow through it
        a = Assign(target, e, "opaque", args=[e.value.id], node=s)
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
            a.kind, a.rule = "nondiff", None
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
            return Assign(target, e, "op", rules.OPERATORS["index_concat"],
                          [e.value.id, Const(None)] + items, node=s)
        a = Assign(target, e, "nondiff", args=[e.value.id], node=s)
        a.cut_what = f"the index of `{_dotted(e.value)}`"
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

    def _resolve(self, func):
        if isinstance(func, gast.Name):
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
        args = [_operand(a) for a in e.args]
        kwargs = {k.arg: _operand(k.value) for k in e.keywords}
        method = isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name) \
            and func.value.id in self.locals
        if method:
            name = func.attr
            args = [func.value.id] + args
            if name in rules.METHODS:
                return Assign(target, e, "op", rules.METHODS[name], args, kwargs, s)
            if name == "pop" and len(args) == 1 and not kwargs:
                return Assign(target, e, "pop", args=args, node=s)
            if name in rules.NONDIFF_METHODS or name in ("astype_int",):
                return Assign(target, e, "nondiff", args=args, kwargs=kwargs, node=s)
            if name in _CONTAINER_METHODS:
                raise self.error(f"s2sgrad cannot differentiate the method `.{name}()`", e,
                                 "index the container explicitly")
            # a method of a value without gradient (a local random Generator, a config
            # object) gives a constant; refused if a gradient would flow through the call
            # or into its receiver, which the method might change in place
            a = Assign(target, e, "opaque", args=args, kwargs=kwargs, node=s)
            a.mutable_receiver = True       # args[0]
            a.error = self.error(f"s2sgrad has no adjoint for the method `.{name}()`", e,
                                 "use the equivalent NumPy function, or register a rule "
                                 "with @s2sgrad.adjoint")
            return a
        try:
            obj = self._resolve(func)
        except KeyError:
            if isinstance(func, gast.Name) and func.id in self.locals:
                raise self.error(f"cannot differentiate a call through the local variable "
                                 f"`{func.id}`", e, "call the function by its global name") \
                    from None
            raise self.error(f"unknown function `{_dotted(func)}`", e) from None
        from ..api import stop_gradient
        if obj is stop_gradient:
            return Assign(target, e, "stop", args=args, node=s)
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
            return self._power(Assign(target, e, "op", rule, args, kwargs, s))
        if rules.is_nondifferentiable(obj):
            return Assign(target, e, "nondiff", args=args, kwargs=kwargs, node=s)
        if id(obj) in rules.CONSTANT_ARGS:      # np.full, np.arange: constants of constants
            first = rules.CONSTANT_ARGS[id(obj)]
            a = Assign(target, e, "nondiff", args=args, kwargs=kwargs, node=s)
            a.cut_what = f"the arguments of `{_dotted(func)}`"
            a.cut_args = args[first:] + list(kwargs.values())
            return a
        if _is_random(obj):         # a draw is a constant; its parameters are not
            a = Assign(target, e, "nondiff", args=args, kwargs=kwargs, node=s)
            a.cut_what = f"the parameters of the random draw `{_dotted(func)}`"
            return a
        if id(obj) in rules.T_CALLABLES:      # a helper of generated code: forward mode only
            a = Assign(target, e, "op", rules.T_CALLABLES[id(obj)], args, kwargs, s)
            a.tangent_only = True
            return a
        if isinstance(obj, types.FunctionType) and not _library(obj):
            self.note_dependency(func, obj)
            return Assign(target, e, "call", args=args, kwargs=kwargs, node=s,
                          callee=obj)
        if isinstance(obj, type) and obj in (bool, int, str, slice, range):
            return Assign(target, e, "nondiff", args=args, kwargs=kwargs, node=s)
        inner = getattr(obj, "__wrapped__", None)
        if isinstance(inner, types.FunctionType) and not _library(inner):
            return Assign(target, e, "call", args=args, kwargs=kwargs, node=s, callee=inner)
        label = getattr(obj, "__module__", None)
        label = f"{label}.{getattr(obj, '__name__', obj)}" if label else _dotted(func)
        # refused only if a gradient has to flow through it (see `opaque_error`)
        a = Assign(target, e, "opaque", args=args, kwargs=kwargs, node=s)
        a.error = self.error(f"no adjoint for `{label}`", e,
                             "register one with @s2sgrad.adjoint, or wrap a value that "
                             "needs no gradient in s2sgrad.stop_gradient")
        return a


_LIBRARIES = ("numpy", "scipy", "math", "builtins", "jax", "torch", "autograd")


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


def _library(func):
    """A library's own Python function: its source is not the user's to differentiate."""
    module = getattr(func, "__module__", None) or ""
    return module.split(".")[0] in _LIBRARIES


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
    with one, or a name bound only to such values)? `memo` caches, per function, the
    set of names that hold lists on every path (one fixpoint over all definitions)."""
    if isinstance(e, gast.List):
        return True
    if isinstance(e, gast.Call) and isinstance(e.func, gast.Name) and e.func.id in ("list", "tuple"):
        return True
    if isinstance(e, gast.BinOp) and isinstance(e.op, (gast.Add, gast.Mult)):
        return _is_display(e.left, fn, memo=memo) or _is_display(e.right, fn, memo=memo)
    if not isinstance(e, gast.Name):
        return False
    memo = {} if memo is None else memo
    if "<lists>" not in memo:
        memo["<lists>"] = _list_names(fn)
    return e.id in memo["<lists>"]


def _list_names(fn):
    table = {}
    for st in nodes.walk(fn):
        if isinstance(st, gast.Assign) and isinstance(st.targets[0], gast.Name):
            table.setdefault(st.targets[0].id, []).append(st.value)
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
    return lists


# ------------------------------------------------------------------------- analyses

def walk(body):
    """Every IR statement in `body`, blocks included, in order."""
    for s in body:
        yield s
        if isinstance(s, If):
            yield from walk(s.body)
            yield from walk(s.orelse)
        elif isinstance(s, (For, While)):
            yield from walk(s.body)


def defs(s):
    """Names a statement (re)binds."""
    if isinstance(s, Assign):
        return [s.target]
    if isinstance(s, (SetItem, Append, Pop)):
        return [s.container]
    if isinstance(s, For):
        return [s.target]
    return []


def _rename_top_level(trace):
    """Give each straight-line top-level reassignment its own name (SSA)."""
    top = {}
    nested = set()
    for s in trace.body:
        for d in defs(s):
            top[d] = top.get(d, 0) + 1
        if isinstance(s, (If, For, While)):
            nested.update(d for x in walk([s]) for d in defs(x))
    params = set(trace.params)
    used = set(trace.user_names)
    version = {}
    counts = {}
    for s in trace.body:
        _apply_renames(s, {k: v for k, v in version.items() if k != v} if
                       len(version) < 64 else _Renamed(version))
        if isinstance(s, Assign):
            t = s.target
            if t in nested or (top.get(t, 0) < 2 and t not in params):
                continue
            if t not in version and t not in params and counts.get(t) is None:
                counts[t] = 0
                version[t] = t           # the first definition keeps the user's name
                continue
            n = counts.get(t, 0)
            while True:
                n += 1
                cand = f"{t}_{n}"
                if cand not in used:
                    break
            counts[t] = n
            used.add(cand)
            version[t] = cand
            s.target = cand
            s.node = nodes.assign(cand, s.expr) if s.node is None else \
                nodes.copy_location(nodes.assign(cand, s.node.value), s.node)
    trace.user_names = used


class _Renamed(dict):
    """A view of a version map holding only the names that changed (built lazily)."""

    def __init__(self, version):
        super().__init__()
        self.version = version

    def __contains__(self, k):
        return self.version.get(k, k) != k

    def __getitem__(self, k):
        return self.version[k]

    def get(self, k, default=None):
        v = self.version.get(k, default)
        return default if v == k else v

    def items(self):
        return ((k, v) for k, v in self.version.items() if k != v)

    def __bool__(self):
        return any(k != v for k, v in self.version.items())


def _apply_renames(s, mapping):
    if not mapping:
        return
    ren = lambda a: mapping.get(a, a) if isinstance(a, str) else a  # noqa: E731
    for x in walk([s]):
        if isinstance(x, Assign):
            x.args = [ren(a) for a in x.args]
            x.kwargs = {k: ren(v) for k, v in x.kwargs.items()}
            x.expr = nodes.substitute(x.expr, mapping)
            x.node = nodes.copy_location(nodes.assign(x.target, x.expr), x.node)
        elif isinstance(x, SetItem):
            x.container, x.value = ren(x.container), ren(x.value)
            x.index = nodes.substitute(x.index, mapping)
            x.node = nodes.substitute(x.node, mapping)
        elif isinstance(x, (Append, Forward)):
            if isinstance(x, Append):
                x.container, x.value = ren(x.container), ren(x.value)
            x.node = nodes.substitute(x.node, mapping)
        elif isinstance(x, If):
            x.test = ren(x.test)
        elif isinstance(x, While):
            x.test = ren(x.test)
        elif isinstance(x, For):
            x.range_args = [ren(a) for a in x.range_args]
        elif isinstance(x, Return):
            x.value = ren(x.value)


def _dependencies(s):
    """(defined names, names whose value flows differentiably into them)."""
    if isinstance(s, Assign):
        if s.kind in ("nondiff", "const", "stop"):
            return [s.target], []
        if s.kind == "op":
            keep = s.rule.adjoint_names()
            flows = []
            params = s.rule.params
            for i, a in enumerate(s.args):
                pname = params[i] if i < len(params) else s.rule.vararg
                if isinstance(a, str) and (pname in keep or pname is None):
                    flows.append(a)
            for k, a in s.kwargs.items():
                if isinstance(a, str) and k in keep:
                    flows.append(a)
            return [s.target], flows
        return [s.target], [a for a in s.reads()]
    if isinstance(s, SetItem):
        return [s.container], [s.container] + ([s.value] if isinstance(s.value, str) else [])
    if isinstance(s, Append):
        return [s.container], s.reads()
    if isinstance(s, Pop):
        return [s.container], [s.container]
    return [], []


def _cut_inputs(s):
    """(name, what) for each operand that statement `s` reads but carries no gradient
    from: an option parameter of a rule (einsum's `subscripts`, np.clip's bounds), a
    range in np.r_ or an index object (np.s_, np.ogrid), an argument of a constant
    built from values (np.full, np.arange, a random draw's location). Harmless for
    integers and constants; a value that depends on the differentiated input must not
    reach one."""
    out = []
    if not isinstance(s, Assign):
        return out
    if s.kind == "op" and not getattr(s, "tangent_only", False):
        keep = s.rule.adjoint_names()
        params = s.rule.params
        for i, a in enumerate(s.args):
            pname = params[i] if i < len(params) else s.rule.vararg
            if isinstance(a, str) and pname is not None and pname not in keep:
                out.append((a, f"the argument `{pname}` of `{s.rule.name}`"))
        for k, a in s.kwargs.items():
            if isinstance(a, str) and k not in keep:
                out.append((a, f"the option `{k}=` of `{s.rule.name}`"))
        # (an index of an array or list is an integer, a boolean or a slice of them:
        # piecewise constant, so not checked; a float index is NumPy's error)
        if s.rule.name == "index_concat":     # bounds of np.r_[x:3] start a range at x
            out += [(n, "a range in np.r_/np.c_") for x in gast.walk(s.expr.slice)
                    if isinstance(x, gast.Slice) for n in nodes.names_in(x)]
    elif s.kind == "nondiff" and getattr(s, "cut_what", None):
        reads = getattr(s, "cut_args", None)
        reads = s.reads() if reads is None else [a for a in reads if isinstance(a, str)]
        out += [(n, s.cut_what) for n in reads]
    return out


def _refuse_cut_gradients(trace, stmts, varied, useful):
    """A value that depends on the differentiated input and reaches an operand without
    a gradient would make the result's gradient silently incomplete: refused here, at
    transform time, at the statement."""
    # reaching: flows into the result through any operand, an index included (np.s_[...]
    # used as an index); a value used only to branch or loop is piecewise constant
    reaching = set(useful)
    changed = True
    while changed:
        changed = False
        for s in reversed(stmts):
            if any(t in reaching for t in defs(s)) and isinstance(s, (Assign, SetItem)):
                new = set(s.reads()) - reaching
                if new:
                    reaching |= new
                    changed = True
    written = set(nodes.names_in(trace.parsed.node, nodes.STORE)) | set(trace.params)
    for s in stmts:
        targets = defs(s)
        if not any(t in reaching for t in targets):
            continue
        for name, what in _cut_inputs(s):
            if name in varied:
                shown = f"`{name}`, which" if name in written else "a value that"
                raise trace.parsed.error(
                    f"s2sgrad has no derivative for {what}, and it receives {shown} "
                    "depends on the differentiated input", s.node,
                    "wrap the value in s2sgrad.stop_gradient(...) if no gradient should "
                    "flow there, or write the operation with functions s2sgrad "
                    "differentiates (or register a rule with @s2sgrad.adjoint)")


def _outermost_loops(body):
    for s in body:
        if isinstance(s, (For, While)):
            yield s
        elif isinstance(s, If):
            yield from _outermost_loops(s.body)
            yield from _outermost_loops(s.orelse)


def analyse(trace):
    """Fill in `active`, `overwritten` and `maybe_container` (flow-insensitive)."""
    stmts = list(walk(trace.body))
    # overwritten: assigned at more than one site, or inside a loop, or a reassigned param
    counts = {}
    for s in stmts:
        for d in defs(s):
            counts[d] = counts.get(d, 0) + 1
    in_loop = set()
    for s in stmts:
        if isinstance(s, (For, While)):
            for x in walk(s.body):
                in_loop.update(defs(x))
                if isinstance(x, While):
                    in_loop.add(x.count_name)
    trace.overwritten = {n for n, c in counts.items() if c > 1} | in_loop | \
        (set(counts) & set(trace.params))
    # a loop-invariant value (defined once, inside a loop, from operands the loop never
    # changes) is the same in every iteration: nothing to save per iteration
    trace.invariant = set()
    for loop in _outermost_loops(trace.body):
        changed_in_loop = {d for x in walk(loop.body) for d in defs(x)} | set(defs(loop))
        changed_in_loop |= {x.count_name for x in walk([loop]) if isinstance(x, While)}
        for s in walk(loop.body):
            if isinstance(s, Assign) and counts.get(s.target) == 1 \
                    and s.target not in trace.params \
                    and s.kind in ("op", "copy", "const", "nondiff") \
                    and not getattr(s, "tangent_only", False) \
                    and not set(s.reads()) & changed_in_loop:
                trace.invariant.add(s.target)
    # a top-level first definition has no old value worth saving
    seen = set(trace.params)
    for s in trace.body:
        if isinstance(s, Assign) and s.target not in seen:
            s.first_def = True
        for x in walk([s]):
            seen.update(defs(x))
    # varied: depends on a wrt input
    varied = {trace.params[i] for i in trace.wrt}
    deps = [_dependencies(s) for s in stmts]
    changed = True
    while changed:
        changed = False
        for targets, flows in deps:
            if any(f in varied for f in flows):
                for t in targets:
                    if t not in varied:
                        varied.add(t)
                        changed = True
    # useful: reaches the returned value
    useful = {trace.result} if isinstance(trace.result, str) else set()
    changed = True
    while changed:                       # backwards: one pass for straight-line code
        changed = False
        for targets, flows in reversed(deps):
            if any(t in useful for t in targets):
                for f in flows:
                    if f not in useful:
                        useful.add(f)
                        changed = True
    trace.active = varied & useful
    _refuse_cut_gradients(trace, stmts, varied, useful)
    # maybe_container: names that may hold a list/tuple/dict. A parameter counts only
    # when the function uses it as a container (indexes it, sums it, passes it on).
    mc = set()
    listy = set()         # used in ways whose adjoint may come back as a list
    for s in stmts:
        if isinstance(s, Assign) and s.args and isinstance(s.args[0], str):
            if s.kind == "call":
                mc.update(a for a in s.args if isinstance(a, str))
                listy.update(a for a in s.args if isinstance(a, str))
            elif s.kind == "op" and s.rule.name in _CONTAINER_USES:
                mc.add(s.args[0])
                if s.rule.name != "getitem":
                    listy.add(s.args[0])
            elif s.kind == "nondiff" and isinstance(s.expr, gast.Call) \
                    and isinstance(s.expr.func, gast.Name) and s.expr.func.id == "len":
                mc.add(s.args[0])
    # a parameter that is an array in this compilation and is only indexed is no container
    mc &= set(trace.params) - (set(trace.array_params) - listy)
    changed = True
    while changed:
        changed = False
        for s in stmts:
            if not isinstance(s, Assign) or s.target in mc:
                continue
            container = False
            if s.kind == "call" or getattr(s, "tangent_only", False):
                container = True            # may return a tuple
            elif s.kind == "copy":
                container = s.args[0] in mc
            elif s.kind == "op":
                name = s.rule.name
                if name in ("display", "dict_display", "concat", "repeat", "split"):
                    container = True
                elif name in ("getitem", "copy"):     # xs[i], xs.copy(), np.array(xs)
                    container = s.args[0] in mc or _builds_list(s)
            if container:
                mc.add(s.target)
                changed = True
    trace.maybe_container = mc


def _builds_list(s):
    """`list(x)` or `tuple(x)`: a container whatever x is."""
    f = s.expr.func if isinstance(s.expr, gast.Call) else None
    return isinstance(f, gast.Name) and f.id in ("list", "tuple")


_FRESH_RULES = {"display", "dict_display", "concat", "repeat", "concatenate", "stack", "hstack",
                "vstack"}
_VIEW_CALLS = {"asarray", "asanyarray", "atleast_1d", "atleast_2d"}


def _is_fresh(s):
    """Does statement `s` bind its target to a new object (not a view or an alias)?"""
    if s.kind in ("const", "nondiff"):
        return True
    if s.kind != "op":
        return False
    if s.rule.name in _FRESH_RULES:
        return True
    if s.rule.name == "copy":
        f = s.expr.func if isinstance(s.expr, gast.Call) else None
        name = f.attr if isinstance(f, gast.Attribute) else getattr(f, "id", "")
        return name not in _VIEW_CALLS
    module = s.rule.template.__module__.rsplit(".", 1)[-1]
    return module in ("arithmetic", "math_", "numpy_", "reductions", "linalg")


_VIEW_RULES = {"getitem", "reshape", "transpose", "T", "swapaxes", "moveaxis", "broadcast_to",
               "diagonal", "flip", "fliplr", "flipud", "rot90"}


def _placed(body, loops=()):
    """(statement, the loops around it) for every statement, in program order."""
    for s in body:
        yield s, loops
        if isinstance(s, If):
            yield from _placed(s.body, loops)
            yield from _placed(s.orelse, loops)
        elif isinstance(s, (For, While)):
            yield from _placed(s.body, loops + (id(s),))


def _reads_of(s):
    if isinstance(s, (If, While)):
        return [s.test]
    if isinstance(s, For):
        return [a for a in s.range_args if isinstance(a, str)]
    reads = getattr(s, "reads", None)
    return list(reads()) if reads else []


def _is_view(s):
    if not (isinstance(s, Assign) and s.kind == "op" and s.args
            and isinstance(s.args[0], str)):
        return False
    if s.rule.name == "copy":
        f = s.expr.func if isinstance(s.expr, gast.Call) else None
        return (f.attr if isinstance(f, gast.Attribute) else getattr(f, "id", "")) in _VIEW_CALLS
    if s.rule.name == "getitem":
        # slices are views; an element y[i] is taken as a copy (it is one for a vector;
        # a row of a matrix is a view that this check does not see)
        idx = s.expr.slice if isinstance(s.expr, gast.Subscript) else None
        parts = idx.elts if isinstance(idx, gast.Tuple) else [idx]
        return any(isinstance(p, gast.Slice) or (isinstance(p, gast.Constant) and p.value is None)
                   for p in parts)
    return s.rule.name in _VIEW_RULES


def check_views(trace):
    """A store into an array changes every view of it (`v = y[1:]`, `y.T`, `y.reshape`):
    refused while such a view is still read after the store, since the backward pass
    would take the view for the value it had when it was made."""
    placed = list(_placed(trace.body))
    views = [(s, i, loops) for i, (s, loops) in enumerate(placed) if _is_view(s)]
    if not views:
        return
    links = [(s.args[0], s.target) for s, _, _ in views] + [
        (s.args[0], s.target) for s, _ in placed
        if isinstance(s, Assign) and s.kind == "copy" and isinstance(s.args[0], str)]
    readers = {}                          # name → positions of the statements reading it
    for k, (r, _) in enumerate(placed):
        for n in _reads_of(r):
            readers.setdefault(n, []).append(k)
    aliases = {}                          # container → itself, its views, views of those…
    for j, (st, st_loops) in enumerate(placed):
        if not isinstance(st, SetItem):
            continue
        if st.container not in aliases:
            base = {st.container}
            changed = True
            while changed:
                changed = False
                for a, b in links:
                    if a in base and b not in base:
                        base.add(b)
                        changed = True
            aliases[st.container] = base
        base = aliases[st.container]
        for v, i, v_loops in views:
            if v.target not in base or v.target == st.container:
                continue
            for k in readers.get(v.target, ()):
                r_loops = placed[k][1]
                later = i < j < k
                around = set(v_loops) & set(r_loops) & set(st_loops)
                if later or (around and k < i):
                    line = getattr(v.node, "lineno", "?")
                    raise trace.parsed.error(
                        f"s2sgrad cannot store into `{st.container}` while `{v.target}`, a "
                        f"view of it (line {line}), is read after the store", st.node,
                        f"take a copy for the view: `{v.target} = ....copy()`")


def check_stores(trace):
    """Stores (`x[i] = v`, `xs.append(v)`) only into containers the function created:
    writing into an argument, or into a view or alias of one, is refused."""
    stmts = list(walk(trace.body))
    defs_of = {}
    for s in stmts:
        if isinstance(s, Assign):
            defs_of.setdefault(s.target, []).append(s)
    for s in stmts:
        if not isinstance(s, (SetItem, Append)):
            continue
        c = s.container
        what = "append to" if isinstance(s, Append) else "store into"
        if c in trace.params:
            raise trace.parsed.error(
                f"s2sgrad does not {what} the argument `{c}` (the caller's data)", s.node,
                f"work on a copy: `{c} = {c}.copy()` first" if isinstance(s, SetItem)
                else f"build a new list: `{c} = {c} + [value]` or `{c} = list({c})` first")
        for d in defs_of.get(c, []):
            if not _is_fresh(d):
                raise trace.parsed.error(
                    f"s2sgrad cannot {what} `{c}`: it may share memory with another value "
                    f"(it was assigned from `{emit_expr(d)}`)", s.node,
                    f"make it a copy: `{c} = ....copy()` or build it with np.zeros/[]")


def emit_expr(s):
    from ..syntax import emit
    return emit.expression_source(s.expr)


def build(parsed, fn, wrt, scalar_params=(), array_params=()):
    """The trace of normalized `fn`; `scalar_params` names the parameters known to be
    numbers (not arrays) for this compilation, which lets `scalars` be inferred;
    `array_params` those known to be NumPy arrays (so not lists): a sequence of names,
    or {name: ndim}."""
    builder = Builder(parsed, fn)
    body = builder.block(fn.body)
    params = [a.id for a in fn.args.args]
    trace = Trace(fn.name, params, fn.args.defaults, body, parsed, tuple(wrt),
                  user_names=set(builder.locals), deps=builder.deps)
    trace.array_params = tuple(array_params)
    if isinstance(array_params, dict):         # {name: symbolic shape}
        trace.array_shapes = dict(array_params)
    _rename_top_level(trace)
    check_stores(trace)
    check_views(trace)
    analyse(trace)
    trace.scalars = infer_scalars(trace, set(scalar_params))
    trace.maybe_container -= trace.scalars
    return trace


_ELEMENTWISE_MODULES = ("arithmetic", "math_", "numpy_")
_FULL_REDUCTIONS = {"sum_", "mean", "prod", "max_", "min_", "var", "std"}


def _scalar_output(s, scal):
    """Does statement `s` produce a number, given the names in `scal` are numbers?"""
    def is_scalar(a):
        if isinstance(a, Const):
            return isinstance(a.value, (int, float)) or a.value is None
        return a in scal
    if s.kind == "const":
        return isinstance(s.expr, gast.Constant) and isinstance(s.expr.value, (int, float))
    if s.kind == "copy":
        return is_scalar(s.args[0])
    if s.kind == "op":
        module = s.rule.template.__module__.rsplit(".", 1)[-1]
        if s.rule.name == "float_":
            return True
        if module in _ELEMENTWISE_MODULES:
            return all(is_scalar(a) for a in s.args) and \
                all(is_scalar(a) for a in s.kwargs.values())
        if s.rule.name in _FULL_REDUCTIONS:
            axis = s.kwargs.get("axis", s.args[1] if len(s.args) > 1 else Const(None))
            keep = s.kwargs.get("keepdims", Const(False))
            return isinstance(axis, Const) and axis.value is None and \
                isinstance(keep, Const) and not keep.value
        return False
    if s.kind == "nondiff":
        e = s.expr
        if isinstance(e, (gast.Compare, gast.BoolOp, gast.UnaryOp, gast.BinOp)):
            return all(is_scalar(a) for a in s.args)
        if isinstance(e, gast.Call) and isinstance(e.func, gast.Name) and \
                e.func.id in ("len", "int", "round", "bool"):
            return True
    return False


# Rules whose output has the broadcast shape of their array operands.
_ELEMENTWISE_RULES = {
    "add", "subtract", "multiply", "divide", "mod", "power", "negative", "positive",
    "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctan2", "arctanh", "cbrt", "clip",
    "cos", "cosh", "deg2rad", "exp", "exp2", "expm1", "hypot", "log", "log10", "log1p",
    "log2", "logaddexp", "maximum", "minimum", "rad2deg", "reciprocal", "sin", "sinc", "sinh",
    "sqrt", "square", "tan", "tanh", "where"}
SCALAR = "<number>"


def _binding_counts(trace):
    """{name: how many statements bind it}, a parameter counting as one binding."""
    from collections import Counter
    count = Counter(d for s in walk(trace.body) for d in defs(s))
    count.update(trace.params)
    return count


def _elementwise_op(s):
    """Is `s` an operation whose result has the broadcast shape of its array operands?"""
    return s.kind == "op" and s.rule.name in _ELEMENTWISE_RULES \
        and s.rule.template.__module__.endswith(("arithmetic", "numpy_"))


def shape_classes(trace, array_params):
    """{name: class}: names of one class have the same shape whenever both hold a value
    computed in the same step (a class is a name whose own shape it shares, or SCALAR).
    Elementwise operations over operands of one class (numbers aside) stay in it; any
    other value starts a class of its own. Only names bound once (parameters that are
    arrays in this compilation, single definitions) get a class, so a class never
    changes under the code's feet; the backward pass drops `unbroadcast` between names
    of one class."""
    stmts = list(walk(trace.body))
    once = {n for n, c in _binding_counts(trace).items() if c == 1}
    cls = {n: SCALAR for n in trace.scalars}
    cls.update({p: p for p in array_params if p in once and p not in trace.scalars})
    containers = trace.maybe_container

    def of(a):
        if isinstance(a, Const):
            v = a.value
            return SCALAR if isinstance(v, (int, float)) else None
        return cls.get(a)

    for s in stmts:
        if not isinstance(s, Assign) or s.target not in once or s.target in cls:
            continue
        if s.target in containers:
            continue
        c = None
        elementwise = _elementwise_op(s) or (
            s.kind == "nondiff" and isinstance(s.expr, (gast.Compare, gast.BinOp, gast.UnaryOp)))
        if elementwise:
            found = {of(a) for a in list(s.args) + list(s.kwargs.values())} - {SCALAR}
            if not found:
                c = SCALAR if s.target in trace.scalars else None
            elif len(found) == 1 and None not in found:
                c = found.pop()
        elif s.kind == "copy" and not isinstance(s.args[0], Const):
            c = cls.get(s.args[0])
        elif s.kind == "op" and s.rule.name == "getitem" and isinstance(s.args[0], str):
            k = _slice_shrink(s.expr)
            base = cls.get(s.args[0])
            if k is not None and base is not None and base != SCALAR:
                c = f"{base}[{k}:]"          # x[1:] and x[:-1] have one shape
        cls[s.target] = c if c is not None else s.target
    trace.structural_class = cls       # (shape_representatives: no coincidences)
    return _merge_known_shapes(trace, cls)


def _merge_known_shapes(trace, cls):
    """Join the classes of names whose shapes are known to be equal (`shapes.py`:
    from the pattern of the arrays' shapes). A class is then named by its first name
    (parameters first, then in order)."""
    if not trace.array_shapes:
        return cls
    known = trace.known_shapes        # (inferred with the scalars, `infer_scalars`)
    parent = {}

    def find(x):
        while parent.get(x, x) != x:
            x = parent[x]
        return x

    def union(a, b):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[rb] = ra
    order = list(trace.params) + [d for s in walk(trace.body) for d in defs(s)]
    for n in order:
        c = cls.get(n)
        if c is not None and c != SCALAR:
            union(c, n)
    first = {}
    for n in order:
        dims = known.get(n)
        if not dims or n in trace.scalars or n in trace.maybe_container:
            continue
        if dims in first:
            union(first[dims], n)
        else:
            first[dims] = n
    rep = {}
    names = list(dict.fromkeys(order))
    for n in names:
        rep.setdefault(find(n), n)          # a class is named by its first name
    out = dict(cls)
    for n in names:
        if out.get(n) != SCALAR and (n in cls or known.get(n)):
            out[n] = rep[find(n)]
    return out


def _slice_shrink(expr):
    """For `x[a:b]` with constant a ≥ 0 (or none), b < 0 (or none) and no step: how many
    leading entries the slice drops in all (a - b); its length is max(len(x) - k, 0)."""
    from .shapes import slice_shrink
    return slice_shrink(expr.slice) if isinstance(expr, gast.Subscript) else None


def uniform_adjoint_ok(trace, name):
    """May the adjoint of `name`, the argument of a full reduction (`np.sum(v)`), be the
    number ȳ itself instead of an array full of it? Yes when every value that adjoint
    reaches is bound once at the top level by an elementwise operation whose active
    operands share its shape class (so no `unbroadcast` would have to sum it), by
    indexing an array (its adjoint adds the number into place), or is an array argument."""
    cls = trace.shape_class
    if not cls or name not in cls:
        return False
    count = _binding_counts(trace)
    top = {s.target: s for s in trace.body if isinstance(s, Assign)}
    todo, seen = [name], set()
    while todo:
        n = todo.pop()
        if n in seen:
            continue
        seen.add(n)
        if n in trace.params:
            if n not in trace.array_params or count[n] != 1:
                return False
            continue
        s = top.get(n)
        if s is None or count[n] != 1 or n in trace.maybe_container:
            return False
        if s.kind in ("const", "nondiff", "stop"):
            continue
        if s.kind == "copy":
            if isinstance(s.args[0], str):
                todo.append(s.args[0])
            continue
        if s.kind == "op" and s.rule.name == "getitem":
            base = s.args[0]                  # an array: its adjoint adds the number in place
            if base in trace.array_params or (cls.get(base) not in (None, base, SCALAR)
                                              and base not in trace.maybe_container):
                continue
            return False
        if not _elementwise_op(s):
            return False
        if cls.get(n) not in (None, SCALAR) and _full_terms(trace, s, cls):
            continue                    # ȳ times a full array: arrays from here on
        for a in list(s.args) + list(s.kwargs.values()):
            if isinstance(a, Const) or a not in trace.active:
                continue
            if cls.get(a) != cls.get(n) or cls.get(n) in (None, SCALAR):
                return False
            todo.append(a)
    return True


def _full_terms(trace, s, cls):
    """Does the adjoint term of each active operand of elementwise `s` multiply ȳ by a
    value of s's whole shape (its output, as in exp's ȳ·y, or an operand of its class,
    as in sin's ȳ·cos(x))? Then a number ȳ gives full arrays."""
    rule = s.rule
    reads = _term_reads(rule)
    own = cls.get(s.target)
    for k, a in enumerate(s.args):
        if not isinstance(a, str) or a not in trace.active:
            continue
        if k >= len(rule.params):
            return False
        names = reads.get(rule.params[k])
        if not names:
            return False
        if rule.output in names:
            continue
        if not any(isinstance(b, str) and cls.get(b) == own and rule.params[j] in names
                   for j, b in enumerate(s.args[:len(rule.params)])):
            return False
    return True


def _term_reads(rule):
    """{parameter: the plain names its adjoint terms read} (no adjoints, no globals)."""
    reads = getattr(rule, "_term_reads", None)
    if reads is None:
        reads = {}
        for st in rule.body:
            if isinstance(st, gast.AugAssign) and isinstance(st.target, gast.Name) \
                    and st.target.id.endswith("_bar"):
                names = {n for n in _value_names(st.value)
                         if not n.endswith("_bar") and n not in rule.namespace}
                reads.setdefault(st.target.id[:-4], set()).update(names)
        rule._term_reads = reads
    return reads


def _value_names(expr):
    """Names whose values `expr` computes with: not the second argument of
    `unbroadcast(g, a)`, which gives only a's shape (add's `unbroadcast(ȳ, a)` does not
    make ȳ full)."""
    if isinstance(expr, gast.Name):
        return {expr.id}
    if isinstance(expr, gast.Call) and isinstance(expr.func, gast.Name) \
            and expr.func.id == "unbroadcast" and expr.args:
        return _value_names(expr.args[0])
    out = set()
    for child in gast.iter_child_nodes(expr):
        out |= _value_names(child)
    return out


def shape_representatives(trace):
    """{name: another name of the same shape}, both bound once at the top level of the
    function (so both hold their one value when the backward pass runs): shape-only uses
    of the first (`unreduce(g, v9)`) can read the second, and v9 may then be dead.
    Only classes the code makes (elementwise operations), not sizes that happen to be
    equal in this call's shapes: `unreduce(g, v7)` should not read an unrelated `W2`
    because the batch size equals a layer width."""
    cls = trace.structural_class or trace.shape_class
    if not cls:
        return {}
    count = _binding_counts(trace)
    top = [p for p in trace.params if count[p] == 1] + [
        s.target for s in trace.body if isinstance(s, Assign) and count[s.target] == 1]
    first = {}
    out = {}
    for n in top:
        c = cls.get(n)
        if c is None or c == SCALAR:
            continue
        if c in first:
            out[n] = first[c]
        else:
            first[c] = n
    return out


def infer_scalars(trace, scalar_params):
    """Names that hold numbers (0-d) on every path: the greatest fixpoint. Where the
    arrays' shapes are known (`trace.array_shapes`), values they give with no dimension
    left (`X[i] @ w` of a matrix and a vector) count as numbers too."""
    zero_d = set()
    while True:
        found = _scalar_fixpoint(trace, scalar_params, zero_d)
        if not trace.array_shapes:
            return found
        from .shapes import infer_shapes
        trace.known_shapes = infer_shapes(trace, trace.array_shapes, found)
        more = {n for n, dims in trace.known_shapes.items() if dims == ()} - found
        if more <= zero_d:
            return found
        zero_d |= more


def _scalar_fixpoint(trace, scalar_params, zero_d):
    stmts = list(walk(trace.body))
    candidates = set(scalar_params)
    for s in stmts:
        for d in defs(s):
            candidates.add(d)
        if isinstance(s, While):
            candidates.add(s.count_name)
    candidates -= set(trace.params) - set(scalar_params)
    changed = True
    while changed:
        changed = False
        for s in stmts:
            if isinstance(s, (SetItem, Append, Pop)):
                bad = s.container in candidates
                candidates.discard(s.container)
                changed |= bad
            elif isinstance(s, Assign) and s.target in candidates \
                    and s.target not in zero_d and not _scalar_output(s, candidates):
                candidates.discard(s.target)
                changed = True
    return candidates


def resolve_callee(obj):
    return parse_function(obj)


def render(trace):
    """The trace as readable source: the SSA statements, with the analysis facts."""
    from ..syntax import emit

    def lines(body, indent):
        out = []
        pad = "    " * indent
        for s in body:
            if isinstance(s, If):
                out.append(f"{pad}if {s.test}:")
                out += lines(s.body, indent + 1) or [pad + "    pass"]
                if s.orelse:
                    out.append(f"{pad}else:")
                    out += lines(s.orelse, indent + 1)
            elif isinstance(s, For):
                args = ", ".join(a if isinstance(a, str) else repr(a.value) for a in s.range_args)
                out.append(f"{pad}for {s.target} in range({args}):")
                out += lines(s.body, indent + 1) or [pad + "    pass"]
            elif isinstance(s, While):
                out.append(f"{pad}while {s.test}:    # trip count kept in {s.count_name}")
                out += lines(s.body, indent + 1) or [pad + "    pass"]
            elif isinstance(s, Return):
                v = s.value if isinstance(s.value, str) else repr(s.value.value)
                out.append(f"{pad}return {v}")
            else:
                text = emit.expression_source(getattr(s, "fwd_node", None) or s.node)
                tags = []
                if isinstance(s, Assign):
                    if s.target in trace.active:
                        tags.append("active")
                    if s.target in trace.overwritten:
                        tags.append("overwritten")
                    if s.kind == "op":
                        tags.append(f"rule {s.rule.name}")
                    elif s.kind != "copy":
                        tags.append(s.kind)
                line = getattr(s.node, "lineno", None)
                if line:
                    tags.append(f"line {line}")
                out.append(f"{pad}{text}" + (f"    # {', '.join(tags)}" if tags else ""))
        return out

    wrt = ", ".join(trace.params[i] for i in trace.wrt)
    head = f"def {trace.name}({', '.join(trace.params)}):    # wrt {wrt}"
    return "\n".join([head] + lines(trace.body, 1)) + "\n"
