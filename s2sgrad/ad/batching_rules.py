"""The batching rules of calls: NumPy functions and methods, `math`, builtins, the
runtime helpers of generated code, and calls of functions whose code is at hand; and the
flags that say what is batched (shared with `batching`, which holds the statements).

A flag is False (the same for every example), True (an array with a leading batch axis),
ANY (batched: an array, or a tuple of them as a loop over the examples gives),
("tup", (flags...)) for a tuple built here, ("seq", flag) for a list whose items share
one flag.
"""
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


def _text(node):
    try:
        return emit.expression_source(node)
    except Exception:            # (a node astor cannot print: describe it by its kind)
        return type(node).__name__


# ------------------------------------------------------------------ what calls are

_ELEMENTWISE = {np.where, np.clip, np.real, np.imag, np.conj, np.round, np.around,
                np.nan_to_num, np.sinc, np.heaviside, np.fix, runtime.stop_gradient,
                runtime.div_or_zero, runtime.pow_base_deriv, runtime.pow_base_deriv2,
                runtime.log_or_zero,
                runtime.choose_grad, np.zeros_like, np.ones_like, np.empty_like,
                np.copy, np.array, np.asarray, np.ascontiguousarray, np.asanyarray}
_LIKE_ONLY = {np.zeros_like, np.ones_like, np.empty_like}
_REDUCTIONS = {np.sum, np.mean, np.prod, np.max, np.min, np.amax, np.amin, np.std,
               np.var, np.all, np.any, np.nansum, np.nanmean, np.nanmax, np.nanmin}
_AXIS_ONLY = {np.cumsum, np.cumprod, np.argmax, np.argmin, np.sort, np.argsort, np.flip,
              np.diff}                                     # axis=None flattens: loop


def _numpy_has(*names):
    """The objects among `names` ("linalg.vector_norm") the installed NumPy has."""
    out = set()
    for name in names:
        obj = np
        for part in name.split("."):
            obj = getattr(obj, part, None)
        if obj is not None:
            out.add(obj)
    return out


# NumPy 2's array-API names: np.astype casts elementwise; vector_norm reduces `axis=`
# (every axis by default); cumulative_sum/_prod are cumsum/cumprod along `axis=`;
# matrix_transpose and matrix_norm read only the last two axes of an example
_CASTS = _numpy_has("astype")
_ELEMENTWISE |= _CASTS
_REDUCTIONS |= _numpy_has("linalg.vector_norm")
_AXIS_ONLY |= _numpy_has("cumulative_sum", "cumulative_prod")
_TRAILING = _numpy_has("matrix_transpose", "linalg.matrix_transpose", "linalg.matrix_norm")
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
    "stored_grad": ((0,), (1, 3), "batched_stored_grad"),
    "stored_cast_grad": ((0,), (1,), "batched_stored_cast_grad"),
    "check_in_place_cast": ((), (0, 1), None),
    "copy_grad": ((0,), (1,), "batched_copy_grad"),
    "tangents_like": ((0,), (1,), None),
    "copy_tangent": ((0,), (1,), None),
    "slot_tangent": ((0,), (1,), None),
    "unshared_tangent": ((0, 2), (1, 3), "batched_unshared_tangent"),
    "extremum_grad": ((0, 1, 2), (), "batched_extremum_grad"),
    "unreshape": ((0,), (1,), "batched_unreshape"),
    "unreshape_order": ((0,), (1,), "batched_unreshape_order"),
    "piece_place": ((0,), (3,), "batched_piece_place"),
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


def _core_ranks(gufunc):
    """The number of core axes of each input of a generalized ufunc ("(m,n),(n)->(m)":
    [2, 1]); None where a core axis is optional ("n?", matmul's) or the signature is
    not understood."""
    sig = gufunc.signature or ""
    if "?" in sig or "->" not in sig:
        return None
    inputs = sig.split("->")[0]
    groups = inputs[1:-1].split("),(") if inputs else []
    return [len([d for d in g.split(",") if d.strip()]) for g in groups]


class CallRules:
    """The rules of calls, mixed into `batching.Batcher` (which provides `atom`,
    `flags`, `locals`, `_helper`, `_align`, `_axis`... )."""

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
        if obj is np.matmul or obj is np.dot:
            args = [self.atom(a, out) for a in node.args]
            if len(args) != 2 or node.keywords:
                return self.loop(node, out, f"the call `{_text(node)}`")
            name = "batched_matmul" if obj is np.matmul else "batched_dot"
            if not any(is_batched(f) for _, f in args):
                return nodes.call(node.func, [a for a, _ in args]), False
            return self._helper(name, [a for a, _ in args], [f for _, f in args]), True
        if _is_ufunc(obj) and obj.signature is not None:      # vecdot, matvec: core axes
            return self.gufunc(node, obj, out)
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
        if obj in _TRAILING:
            args, kws = self._args(node, out)
            if len(args) == 1 and args[0][1] is True and \
                    not any(is_batched(f) for _, f in kws.values()):
                return gast.Call(func=node.func, args=[args[0][0]],
                                 keywords=[gast.keyword(arg=k, value=v)
                                           for k, (v, _) in kws.items()]), True
            return self.loop(node, out, f"the call `{_text(node)}`")
        if obj in (np.concatenate, np.stack) and len(node.args) in (1, 2):
            joined = self.join_arrays(node, out)
            if joined is not None:
                return joined, True
        if obj is sum and len(node.args) == 1 and not node.keywords:
            x, fx = self.atom(node.args[0], out)
            if isinstance(fx, tuple) and fx[0] == "seq":        # a list of batched items
                return nodes.call("batched_sum_items", [x]), True
            if fx is not True:
                return self.loop(node, out, f"the call `{_text(node)}`")
            return nodes.call("np.sum", [x], {"axis": nodes.const(1)}), True
        if obj in (len, np.shape, np.ndim, np.size) and len(node.args) == 1:
            x, fx = self.atom(node.args[0], out)
            if obj is len and isinstance(fx, tuple):
                return nodes.call(node.func, [x]), False    # (a list's length)
            if fx is True:
                text = {len: "np.shape({})[1]", np.shape: "np.shape({})[1:]",
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
            sub = type(self)(fdef, {p.id: f for p, f in zip(fdef.args.args, flags)},
                          self.resolve, self.size)
            sub.callees, sub.made, sub.defs = self.callees, self.made, self.defs
            returns = [st for st in nodes.walk(fdef) if isinstance(st, gast.Return)]
            sub.keeps_returns = len(returns) == 1 and fdef.body[-1] is returns[0]
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
        args = [self.array(a, f) for a, f in args]
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
        if obj in _LIKE_ONLY or obj in _CASTS or obj in (np.array, np.asarray, np.copy,
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

    def gufunc(self, node, obj, out):
        """A generalized ufunc (np.vecdot, np.matvec, np.vecmat): its operands broadcast
        over the axes before their core axes only, so a batched operand gains axes of
        length one after its batch axis until its loop axes reach every other operand's
        (rank_up would count the other operands' core axes too: a batched vector against
        a matrix would gain an axis its result keeps)."""
        cores = _core_ranks(obj)
        args, kws = self._args(node, out)
        args = [self.array(a, f) for a, f in args]
        axis = kws.pop("axis", None)          # (counted from the end: the same per example)
        if axis is not None and not (
                isinstance(axis[0], gast.UnaryOp) and isinstance(axis[0].op, gast.USub)
                and isinstance(axis[0].operand, gast.Constant)
                and type(axis[0].operand.value) is int):
            return self.loop(node, out, f"the call `{_text(node)}`")
        if kws or cores is None or len(cores) != len(args) or \
                any(isinstance(f, tuple) for _, f in args):
            return self.loop(node, out, f"the call `{_text(node)}`")
        keywords = [] if axis is None else [gast.keyword(arg="axis", value=axis[0])]
        if not any(is_batched(f) for _, f in args):
            return gast.Call(func=node.func, args=[a for a, _ in args], keywords=keywords), False
        new = []
        for i, (a, f) in enumerate(args):
            others = [(b, g, c) for j, ((b, g), c) in enumerate(zip(args, cores)) if j != i]
            if not is_batched(f) or not others:
                new.append(a)
                continue
            new.append(nodes.call("rank_up_core", [
                a, nodes.tuple_([b for b, _, _ in others]),
                nodes.tuple_([nodes.const(int(is_batched(g))) for _, g, _ in others]),
                nodes.tuple_([nodes.const(c) for _, _, c in others]), nodes.const(cores[i])]))
        return gast.Call(func=node.func, args=new, keywords=keywords), True

    def _axis(self, axis_node, x):
        """An example's axis as an axis of batched x."""
        if axis_node is None or (isinstance(axis_node, gast.Constant) and axis_node.value is None):
            return nodes.call("example_axes", [x])
        if isinstance(axis_node, gast.UnaryOp) and isinstance(axis_node.op, gast.USub) and \
                isinstance(axis_node.operand, gast.Constant) and \
                type(axis_node.operand.value) is int:
            return axis_node                              # a negative axis counts from the end
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
        args = [self.array(a, f) for a, f in args]
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
        # (np.diff's prepend/append have the example's shape: joined per example)
        if axis is None or (isinstance(axis, gast.Constant) and axis.value is None) or \
                not args or args[0][1] is not True or len(args) > 2 or \
                "prepend" in kws or "append" in kws or \
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
            if fx == ANY:
                return self.loop(node, out, f"the call `{_text(node)}`")
            # (a method of a value shared by the examples may change it: once per
            # example in a comprehension would change it once per example)
            raise NoBatchingRule(node, f"the method call `{_text(node)}` with an argument "
                                       "that differs between examples")
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
        into = kws.pop("out", None) if name in runtime.WRITES_INTO else None
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
        result_batched = any(is_batched(args[i][1]) for i in values if i < len(args))
        if into is not None and is_batched(into[1]) == result_batched:
            keywords["out"] = into[0]         # (a place of the other kind: not used)
        if not result_batched:
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
            # a value made here may be a tuple or list of batched arrays (a container's
            # adjoint, a loop's results): example_at takes example k of each item
            mapping[n] = nodes.subscript(nodes.name(n), nodes.name(self.k)) \
                if n in self.array_params and self.flags.get(n) is True \
                else nodes.call("example_at", [nodes.name(n), nodes.name(self.k)])
        body = nodes.substitute(node, mapping)
        line = getattr(node, "lineno", None)
        self.notes.append((line, what))
        out.append(nodes.comment(f"no batching rule for {what}: a loop over the examples"))
        items = ", items=True" if self.items_ok else ""
        e = nodes.parse_expr(f"stack_examples([__each__ for {self.k} in range({self.size})]"
                             f"{items})")
        return nodes.substitute(e, {"__each__": body}), ANY if self.items_ok else True
