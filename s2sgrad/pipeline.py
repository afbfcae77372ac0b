"""The pipeline: the one place the stages are chained.

    parse → normalize → trace → reverse → optimize → emit → load

`build_trace` runs the front end and the IR (parse → normalize → trace) for the
reverse pass, the forward (tangent) pass and the pairs of called functions alike (they
receive it as `build`); `compile_gradient` runs the whole chain for a gradient,
`compile_tangent` for forward mode, `stage_sources` stops after each stage for
`s2sgrad show --stage`; `cached_compile` keeps one result per (function, wrt, options,
argument kinds) while the function, what it calls and the names it reads are unchanged.
"""
import contextlib
import functools
import gc
import inspect
import threading
import types
import weakref

import gast
import numpy as np

from . import ir
from .ad import callees
from .ad.reverse import reverse, gradient_function, value_twin
from .ad.tangent import JvpGraph, jvp_definition
from .backend import load as load_mod
from .errors import S2SGradError, TransformError
from .frontend.normalize import normalize, check_returns_value
from .frontend.checkpoint import checkpoint_loops
from .frontend.parse import Parsed, parse_function, unwrap, CellView, readable_name
from .ir import shapes as shapes_mod
from .ir.instances import InstanceKind, has_methods
from .optimize import optimize_function, optimize_gradient, optimize_trace, uniform_seeds
from .optimize.kinds import code_shapes
from .runtime.core import record_fields
from .syntax import emit, nodes, reserved

PIPELINE = ("parse", "normalize", "trace", "reverse", "optimize", "emit", "load")


class Compiled:
    """One generated module: the gradient function, its value-returning twin, and
    the source the user reads. The twin (`value_and_grad_f`) is optimized, emitted and
    loaded on first use (`value_grad_fn`, `value_source`): a `grad` never pays for it."""
    code_deps = ()
    name_deps = ()

    def __init__(self, source, grad_fn, value_grad_fn, full_text, filename, trace,
                 value_source=None, make_value=None):
        self.source = source
        self.grad_fn = grad_fn
        self._value = (value_grad_fn, value_source) if make_value is None else None
        self._make_value = make_value
        self.full_text = full_text
        self.filename = filename
        self.trace = trace

    @property
    def value_grad_fn(self):
        return self._value_pair()[0]

    @property
    def value_source(self):
        """The source of value_and_grad_f (and the pairs it calls)."""
        return self._value_pair()[1]

    def _value_pair(self):
        value = self._value
        if value is None:
            with _LOCK:
                if self._value is None:
                    self._value = self._make_value()
                    self._make_value = None
                value = self._value
        return value

    def is_current(self):
        return _is_current(self)

    @property
    def assumptions(self):
        """What the code relies on of the sizes of its shape pattern (`ir.shapes`)."""
        return self.trace.shape_assumptions if self.trace is not None else ()


def build_trace(parsed: Parsed, wrt: tuple, scalar_params=(), array_params=(),
                entry: bool = False, functions=None) -> ir.Trace:
    parsed.functions = dict(functions or {})     # (normalize reads their signatures)
    if not hasattr(parsed, "packed_defaults"):
        pack_variadic(parsed)        # a callee's *args/**kwargs: its calls pass them packed
    fn = normalize(parsed)
    option = getattr(parsed, "checkpoint", None)
    if option is not None:
        # the function as written passes every check first (in-place updates, aliases),
        # then its loops are rewritten into checkpointed segments
        ir.build(parsed, nodes.clone(fn), wrt, scalar_params, array_params, entry,
                 functions)
        fn = checkpoint_loops(parsed, fn, option)
    tr = ir.build(parsed, fn, wrt, scalar_params, array_params, entry, functions)
    if option is not None:
        refuse_while(tr)
    return tr


def refuse_while(trace):
    """Under `checkpoint=`, a `while` loop a gradient flows through is refused where it
    is written: its trip count is not known before it ends, so no schedule of snapshots
    can be fixed when it starts."""
    for s in ir.walk(trace.body):
        if isinstance(s, ir.While) and any(n in trace.active for st in ir.walk(s.body)
                                           for n in ir.defs(st)):
            raise trace.parsed.error(
                "checkpoint= cannot schedule this while loop: its number of steps is not "
                "known before it ends", s.node,
                "loop over a bound instead (`for step in range(max_steps):` with `if "
                "done: break`), or put the loop's body in a function decorated with "
                "@s2sgrad.checkpoint, or leave out checkpoint=")


_NUMBER_TYPES = (float, int, np.float64, np.float32, np.float16, np.int64, np.int32)


# NUMBERS: a list of numbers, NUMBER_TUPLE: a tuple of them (`params = (a, b)`)
NUMBER, ARRAY, OTHER, DICT, FUNCTION, NUMBERS, NUMBER_TUPLE = 1, 2, 0, 3, 4, 5, 6


class FunctionKind:
    """The kind of an argument that is a function (`loss(w, np.tanh)`): the code is
    specialized on the function object itself, so the key holds it and compares by
    identity (another function, even an equal-looking lambda, compiles anew)."""
    __slots__ = ("obj",)

    def __init__(self, obj):
        self.obj = obj

    def __eq__(self, other):
        return type(other) is FunctionKind and other.obj is self.obj

    def __hash__(self):
        return id(self.obj)

    def __repr__(self):
        return f"FunctionKind({getattr(self.obj, '__name__', self.obj)!r})"


class DictKind:
    """The kind of a dict argument whose keys are strings and whose values are arrays or
    plain numbers (`params = {"W1": ..., "b1": ...}`): its items' shapes (`()` for a
    number), in its order. The code is specialized on them as on an array's shape (its
    symbols shared with the other arguments'), so that `params["W1"]` has known dims."""
    __slots__ = ("items",)

    def __init__(self, items):
        self.items = items

    def __eq__(self, other):
        return type(other) is DictKind and other.items == self.items

    def __hash__(self):
        return hash(self.items)

    def __repr__(self):
        return f"DictKind({self.items!r})"

    def shapes(self):
        return [dims for _, dims in self.items if dims != ()]

    def with_shapes(self, shapes):
        """This kind with its array items' shapes replaced, in order, from `shapes`."""
        return DictKind(tuple((k, next(shapes) if dims != () else ()) for k, dims in self.items))


class RecordKind(DictKind):
    """The kind of a NamedTuple or @dataclass argument whose fields are arrays or plain
    numbers (`params.W`, `params.b`), given to `grad` and `value_and_grad`: the class's
    `InstanceKind` (its methods resolve as before) and, as a DictKind's items, the
    fields' shapes (`()` for a number), in order. The code is specialized on them as on
    a dict's items, so that `params.W` has known dims."""
    __slots__ = ("instance",)

    def __init__(self, instance, items):
        super().__init__(items)
        self.instance = instance

    def __eq__(self, other):
        return type(other) is RecordKind and other.instance is self.instance \
            and other.items == self.items

    __hash__ = DictKind.__hash__

    def __repr__(self):
        return f"RecordKind({self.instance.cls.__qualname__}, {self.items!r})"

    def with_shapes(self, shapes):
        return RecordKind(self.instance, super().with_shapes(shapes).items)


def record_kinds(kinds, args):
    """`kinds` (of `args`, `kinds_of`) with the InstanceKind of each NamedTuple or
    @dataclass argument whose fields are arrays and plain numbers made a RecordKind."""
    if not any(k.__class__ is InstanceKind for k in kinds):
        return kinds
    return tuple(_record_kind(k, a) if k.__class__ is InstanceKind else k
                 for k, a in zip(kinds, args)) + kinds[len(args):]


def _record_kind(kind, obj, _ndarray=np.ndarray, _plain=frozenset((float, int, np.float64))):
    fields = record_fields(obj)
    if not fields:
        return kind
    items = []
    for name in fields:
        v = getattr(obj, name, None)
        t = type(v)
        if t is _ndarray and v.shape != ():
            items.append((name, v.shape))
        elif t in _plain:
            items.append((name, ()))
        else:
            return kind
    return RecordKind(kind, tuple(items))


def _dict_kind(d, _ndarray=np.ndarray, _plain=frozenset((float, int, np.float64))):
    """DictKind of a dict of strings to arrays and plain numbers, else DICT."""
    items = []
    for k, v in d.items():
        t = type(v)
        if type(k) is not str:
            return DICT
        if t is _ndarray:
            if v.shape == ():
                return DICT
            items.append((k, v.shape))
        elif t in _plain:
            items.append((k, ()))
        else:
            return DICT
    return DictKind(tuple(items)) if items else DICT


_KIND_OF_TYPE = dict.fromkeys(_NUMBER_TYPES, NUMBER)
_KIND_OF_TYPE[dict] = DICT          # `for k in d` iterates keys: compiled knowing d is a dict
_KIND_OF_TYPE.update(dict.fromkeys(
    (types.FunctionType, types.BuiltinFunctionType, np.ufunc, functools.partial,
     type(np.sum)), FUNCTION))


_PLAIN_NUMBERS = frozenset((float, int, np.float64))


def kinds_of(args, _get=_KIND_OF_TYPE.get, _ndarray=np.ndarray, _plain=_PLAIN_NUMBERS):
    """What each positional argument is: a plain number, a NumPy array (its shape
    tuple), a list or a tuple of plain numbers, a function (`FunctionKind`), an object of the
    user's class with methods (`InstanceKind`), or anything else. Runs on every call: a
    plain loop with the lookups bound as defaults (faster here than a comprehension,
    which is a call of its own); a type is classified once (`_kind_of_type`)."""
    out = []
    for a in args:
        t = type(a)
        if t is _ndarray:
            out.append(a.shape)
        elif t is list:
            out.append(NUMBERS if a and _plain.issuperset(map(type, a)) else OTHER)
        elif t is tuple and a and _plain.issuperset(map(type, a)):
            out.append(NUMBER_TUPLE)
        elif t is dict:
            out.append(_dict_kind(a))
        else:
            k = _get(t)
            if k is None:
                k = _kind_of_type(t)
            if k.__class__ is InstanceKind:
                out.append(OTHER if k.shadowed(a) else k)
            else:
                out.append(k if k != FUNCTION else FunctionKind(a))
    return tuple(out)


def instance_kinds(args):
    """The kinds a generic compilation is given where some of `args` are objects of the
    user's classes (their methods then resolve: `hvp(model.loss)`, `hvp(f)(w, model,
    v)`) or plain numbers (`b = a; b += 1` then changes nothing in place): InstanceKind
    or NUMBER there, OTHER elsewhere; () when there are none."""
    kinds = tuple(k if k.__class__ in (InstanceKind, FunctionKind) or k == NUMBER else OTHER
                  for k in kinds_of(args))
    return kinds if any(k is not OTHER for k in kinds) else ()


def call_kinds(params, args):
    """What a generic compilation (vjp, jvp) is told of a call's arguments: (the names
    among `params` given plain numbers — `b = a; b += 1` is then no change in place —,
    ((name, FunctionKind or InstanceKind) of those given functions or objects of the
    user's classes: calls through them resolve, `euler(dynamics, y0)`)). Hashable."""
    kinds = kinds_of(args)
    return (tuple(p for p, k in zip(params, kinds) if k == NUMBER),
            tuple((p, k) for p, k in zip(params, kinds)
                  if k.__class__ in (FunctionKind, InstanceKind)))


def _given_functions(functions):
    """{name: function or InstanceKind} from call_kinds' pairs (as compile_gradient)."""
    return {p: k.obj if type(k) is FunctionKind else k for p, k in functions}


def _kind_of_type(t):
    """The kind of the arguments of a type not seen before: `InstanceKind` for a class
    of the user's with methods, else OTHER; remembered (for a bounded number of types)."""
    kind = InstanceKind(t) if has_methods(t) else OTHER
    if len(_KIND_OF_TYPE) < 4096:
        _KIND_OF_TYPE[t] = kind
    return kind


def _shapes_of(kinds):
    """The array shapes among `kinds`, a DictKind's items' included, in order."""
    out = []
    for k in kinds:
        if type(k) is tuple:
            out.append(k)
        elif type(k) in (DictKind, RecordKind):
            out.extend(k.shapes())
    return out


def symbol_sizes(kinds):
    """{symbol: size} of the arrays' shapes among `kinds`, as `compile_kinds` names them."""
    shapes = _shapes_of(kinds)
    sizes = {}
    for concrete, symbolic in zip(shapes, shapes_mod.pattern(shapes)):
        for n, d in zip(concrete, symbolic):
            if isinstance(d, str):
                sizes[d] = n
    return sizes


def compile_kinds(kinds):
    """The kinds the code is compiled for: each array's shape as its pattern (1 stays,
    other sizes become symbols, equal sizes one symbol; see `shapes.pattern`), so that
    calls whose sizes differ but follow one pattern share the code."""
    shapes = _shapes_of(kinds)
    if not shapes:
        return kinds
    symbolic = iter(shapes_mod.pattern(shapes))
    return tuple(next(symbolic) if type(k) is tuple else
                 k.with_shapes(symbolic) if type(k) in (DictKind, RecordKind) else k
                 for k in kinds)


def call_graph(parsed, optimize=True):
    """The forward/backward pairs of the functions `parsed` calls, built with this
    pipeline (`callees.CallGraph`)."""
    return callees.CallGraph(build_trace, optimize=optimize, root_globals=parsed.namespace,
                             root_closure=parsed.closure)


def stage_sources(func, indices, is_tuple=False, parsed=None):
    """The code after each stage of the pipeline, for `s2sgrad show --stage`:
    {"parse", "anf", "ssa", "reverse", "optimized"} → source text."""
    parsed = parsed or parse_function(func)
    out = {"parse": emit.source(parsed.node)}
    fn = normalize(parsed)
    check_returns_value(parsed)
    out["anf"] = emit.source(fn)
    tr = ir.build(parsed, fn, indices)
    tr.tuple_wrt = is_tuple
    out["ssa"] = ir.render(tr)
    generator = call_graph(parsed)
    adj = reverse(tr, call_hook=generator.hook)
    fdef = gradient_function(adj, f"grad_{tr.name}", doc=_docstring(tr, parsed))
    pairs = "".join(emit.source(d) + "\n\n" for d in generator.definitions())
    out["reverse"] = pairs + emit.source(fdef)
    out["optimized"] = pairs + emit.source(optimize_function(fdef))
    return out


def pack_variadic(parsed):
    """The differentiated function's `*args` and `**kwargs` become plain parameters (a
    tuple and a dict, after the named ones): the gradient's caller packs them
    (`GradientFunction`), and a gradient with respect to the tuple gives one per item.
    Positional-only parameters become plain ones, and keyword-only ones follow the
    positional ones (those without a default first: only their names address them),
    their defaults' values in `parsed.kw_default_values`."""
    a = parsed.node.args
    if a.posonlyargs:                   # `def f(w, X, /, y)`
        a.args = list(a.posonlyargs) + list(a.args)
        a.posonlyargs = []
    parsed.kw_default_values = ()
    if a.kwonlyargs:
        _merge_keyword_only(parsed, a)
    extra = []
    for p in (a.vararg, a.kwarg):
        if p is not None:
            a.args.append(gast.Name(id=p.id, ctx=gast.Param(), annotation=None,
                                    type_comment=None))
            extra.append(gast.Tuple(elts=[], ctx=gast.Load()) if p is a.vararg
                         else gast.Dict(keys=[], values=[]))
    if a.defaults:
        a.defaults.extend(extra)       # (parameters after defaulted ones need defaults)
    parsed.packed_defaults = tuple(() if isinstance(d, gast.Tuple) else {} for d in extra) \
        if a.defaults else ()
    a.vararg = a.kwarg = None


def _merge_keyword_only(parsed, a):
    """`def loss(w, *, X, y, lam=0.1)` compiled as `loss(w, X, y, lam=0.1)`: calls name
    keyword-only arguments, so their place among the parameters is free."""
    required = [p for p, d in zip(a.kwonlyargs, a.kw_defaults) if d is None]
    defaulted = [(p, d) for p, d in zip(a.kwonlyargs, a.kw_defaults) if d is not None]
    if a.vararg or a.kwarg or (required and a.defaults):
        what = "`*args` or `**kwargs`" if a.vararg or a.kwarg else \
            "positional parameters with defaults"
        raise parsed.error(
            f"s2sgrad cannot differentiate keyword-only parameters together with {what}",
            a.kwonlyargs[0], "make the keyword-only parameters ordinary ones, or give "
            "them defaults")
    a.args = list(a.args) + required + [p for p, _ in defaulted]
    a.defaults = list(a.defaults) + [d for _, d in defaulted]
    func = unwrap(parsed.func) if parsed.func is not None else None
    values = getattr(func, "__kwdefaults__", None) or {}
    parsed.kw_default_values = tuple(values.get(p.id) for p, _ in defaulted)
    a.kwonlyargs, a.kw_defaults = [], []


def _refuse_generator(parsed):
    """The function differentiated is a generator: its value is no number (a generator
    it calls is consumed whole, see `normalize`); refused at its first `yield`."""
    found = [n for n in nodes.walk(parsed.node) if isinstance(n, (gast.Yield, gast.YieldFrom))
             and not _nested_in(parsed.node, n)]
    if found:
        raise parsed.error(
            f"s2sgrad cannot differentiate the generator {parsed.node.name} (its value is a "
            "generator, not a number: it uses `yield`)", found[0],
            "differentiate a function that consumes it and returns a number, e.g. "
            "`def loss(x): return sum(gen(x))`")


def _nested_in(fdef, target):
    """Is `target` inside a def or lambda nested in the function `fdef`?"""
    for node in nodes.walk(fdef):
        if node is not fdef and isinstance(node, (gast.FunctionDef, gast.Lambda)) \
                and any(n is target for n in nodes.walk(node)):
            return True
    return False


def compile_gradient(func, wrt: tuple, is_tuple: bool, optimize: bool = True,
                     kinds: tuple = (), has_aux: bool = False,
                     checkpoint=None, sizes=None) -> "Compiled":
    parsed = parse_function(func)
    parsed.symbol_sizes = sizes          # the sizes the shapes may rely on (ir/shapes.py)
    parsed.inline_helpers = optimize     # small helpers inlined (frontend/normalize.py)
    _refuse_generator(parsed)
    pack_variadic(parsed)
    parsed.checkpoint = checkpoint       # loops checkpointed (frontend/checkpoint.py)
    params = [a.id for a in parsed.node.args.args]
    numbers = {p for p, k in zip(params, kinds) if k == NUMBER}
    arrays = {p: k for p, k in zip(params, kinds) if type(k) is tuple}
    parsed.dict_params = {p for p, k in zip(params, kinds) if k == DICT or
                          type(k) is DictKind}
    parsed.dict_items = {p: dict(k.items) for p, k in zip(params, kinds)
                         if type(k) in (DictKind, RecordKind)}
    functions = {p: k.obj if type(k) is FunctionKind else k.instance if type(k) is RecordKind
                 else k for p, k in zip(params, kinds)
                 if type(k) in (FunctionKind, InstanceKind, RecordKind)}
    parsed.number_lists = {p for p, k in zip(params, kinds) if k in (NUMBERS, NUMBER_TUPLE)}
    aux_name = _aux_returns(parsed) if has_aux else None
    tr = build_trace(parsed, wrt, numbers, arrays, entry=True, functions=functions)
    check_returns_value(parsed)
    if aux_name is not None:
        tr.aux = ir.Assign(aux_name, None, ir.Kind.COPY, args=[None, aux_name])
    elif has_aux:
        _split_aux(tr, parsed, numbers)
    _refuse_container_output(tr, parsed)
    if optimize and optimize_trace(tr):
        ir.analyse(tr)                   # the facts follow the rewritten trace
        tr.scalars = ir.infer_scalars(tr, numbers)
        tr.maybe_container -= tr.scalars
    if optimize:
        tr.shape_class = ir.shape_classes(tr, arrays)
    tr.tuple_wrt = is_tuple
    generator = callees.CallGraph(build_trace, optimize=optimize, root_globals=parsed.namespace,
                                root_closure=parsed.closure)
    adj = reverse(tr, call_hook=generator.hook)
    name = f"grad_{tr.name}"
    doc = _docstring(tr, parsed)
    fdef = gradient_function(adj, name, doc=doc)
    if optimize:
        uniform_seeds(fdef.body, lambda v: ir.uniform_adjoint_ok(tr, v))
        arrays = set(tr.array_params) | {n for n, dims in tr.known_shapes.items() if dims}
        shapes = {n: d for n, d in tr.known_shapes.items() if n not in tr.maybe_container}
        fdef = optimize_function(fdef, arrays - tr.maybe_container, tr.scalars | {adj.seed},
                                 shapes, tr.list_items)
    vdef = value_twin(fdef, adj, f"value_and_{name}")
    scalar_output = _returns_number(tr)
    if optimize:
        representatives = ir.shape_representatives(tr)
        if scalar_output:
            # grad_f need not compute the value, nor what only gives shapes known otherwise
            fdef.body = optimize_gradient(fdef.body, tr.scalars, representatives,
                                          arrays=arrays - tr.maybe_container, shapes=shapes,
                                          adjoints=getattr(fdef, "s2s_adjoints", ()))
    callee_defs = generator.definitions()
    if optimize:
        callee_defs = [optimize_function(d) for d in callee_defs]
    printed = {}
    texts = emit.sources(callee_defs + [fdef], printed)
    env = adj.env | generator.env
    made, full, filename, bindings = load_definitions(
        parsed, callee_defs + [fdef], [name], env, tr.name, texts)
    user_defaults = tuple(unwrap(func).__defaults__ or ()) + parsed.kw_default_values + \
        parsed.packed_defaults + (1.0,)
    made[name].__defaults__ = user_defaults
    numbers = tr.scalars | {adj.seed}
    if optimize and shapes:          # (for the Numba back end, computed when it asks)
        made[name].__s2sgrad_loaded__.shapes_of = lambda: {
            fdef.name: code_shapes(fdef, shapes, numbers)}

    def make_value():
        """value_and_grad_f: the same passes as grad_f, its return keeping the value
        live; loaded with the pairs it calls, as grad_f was."""
        with _collector_paused(), deep_expressions(func):
            if optimize:
                vdef.body = optimize_gradient(vdef.body, tr.scalars, representatives,
                                              with_value=True,
                                              arrays=arrays - tr.maybe_container,
                                              shapes=shapes)
            text = emit.sources([vdef], printed)[0]
            value_made = load_definitions(parsed, callee_defs + [vdef], [vdef.name], env,
                                          tr.name, texts[:-1] + [text])[0]
        fn = value_made[vdef.name]
        fn.__defaults__ = user_defaults
        if optimize and shapes:
            fn.__s2sgrad_loaded__.shapes_of = lambda: {
                vdef.name: code_shapes(vdef, shapes, numbers)}
        return fn, "\n\n".join(texts[:-1] + [text])

    compiled = Compiled("\n\n".join(texts), made[name], None, full, filename, tr,
                        make_value=make_value)
    compiled.fdef, compiled.parsed, compiled.bindings = fdef, parsed, bindings
    compiled.callee_defs = callee_defs
    compiled.scalar_output = scalar_output
    compiled.functions = made
    _record_dependencies(compiled, unwrap(func), tr, generator)
    return compiled


def _split_aux(tr, parsed, numbers):
    """has_aux: the function returns the pair `(value, aux)` it builds; the trace then
    returns `value` (what is differentiated) and keeps the pair's statement, from which
    `value_and_grad_f` returns `aux` as computed (`tr.aux`: that statement)."""
    made = [s for s in tr.body if isinstance(s, ir.Assign) and s.target == tr.result]
    rule = getattr(made[-1], "rule", None) if made else None
    pair = made[-1] if made and getattr(rule, "name", None) == "display" and \
        isinstance(made[-1].expr, (gast.Tuple, gast.List)) and \
        len(made[-1].args) == 2 else None
    if pair is None:
        where = made[-1].node if made and getattr(made[-1].node, "lineno", None) else \
            _last_return(parsed.node)
        raise parsed.error(
            f"has_aux=True needs {tr.name} to return a pair (value, aux), but it does "
            "not end by returning a pair it builds here", where,
            "end the function with one `return value, aux` (value: the number to "
            "differentiate; no early returns), or drop has_aux=True")
    tr.body[-1] = ir.Return(pair.args[0], tr.body[-1].node)
    tr.aux = pair
    ir.analyse(tr)                       # the facts follow the new result
    tr.scalars = ir.infer_scalars(tr, numbers)
    tr.maybe_container -= tr.scalars


def _aux_returns(parsed):
    """has_aux with several `return value, aux` (early returns): each becomes
    `value_ = value; aux_ = aux; return value_` (Python's order of evaluation), and
    `value_and_grad_f` returns the last `aux_` (its name is returned); None when the
    function ends with its only return (`_split_aux` reads the pair there). A return
    that is not a pair display is refused where it is."""
    fdef = parsed.node
    returns = list(_own_returns(fdef.body))
    if len(returns) <= 1 and (not returns or fdef.body[-1] is returns[0]):
        return None
    taken = {n.id for n in nodes.walk(fdef) if isinstance(n, gast.Name)}
    aux = nodes.fresh_name("aux", taken)
    value = nodes.fresh_name("value", taken | {aux})
    for r in returns:
        if not (isinstance(r.value, (gast.Tuple, gast.List)) and len(r.value.elts) == 2
                and not any(isinstance(e, gast.Starred) for e in r.value.elts)):
            raise parsed.error(
                "has_aux=True needs every `return` to give a pair (value, aux)", r,
                "write `return value, aux` at each return")
    _replace_returns(fdef.body, value, aux)
    return aux


def _own_returns(body):
    """The `return` statements of a function body (not of functions defined in it)."""
    for st in body:
        if isinstance(st, gast.Return):
            yield st
        elif not isinstance(st, (gast.FunctionDef, gast.ClassDef)):
            for field in ("body", "orelse", "finalbody"):
                block = getattr(st, field, None)
                if isinstance(block, list):
                    yield from _own_returns(block)


def _replace_returns(body, value, aux):
    """Every `return v, a` of `body` (nested blocks included, not nested functions)
    becomes `value = v; aux = a; return value`."""
    for i in range(len(body) - 1, -1, -1):
        st = body[i]
        if isinstance(st, gast.Return):
            v, a = st.value.elts
            body[i:i + 1] = [nodes.copy_location(nodes.assign(value, v), st),
                             nodes.copy_location(nodes.assign(aux, a), st),
                             nodes.copy_location(nodes.return_(nodes.name(value)), st)]
        elif isinstance(st, (gast.FunctionDef, gast.Lambda, gast.ClassDef)):
            continue
        else:
            for field in ("body", "orelse", "finalbody"):
                block = getattr(st, field, None)
                if isinstance(block, list):
                    _replace_returns(block, value, aux)


def _last_return(fdef):
    """The last located `return` of the user's function (else the def itself)."""
    found = [n for n in nodes.walk(fdef) if isinstance(n, gast.Return)
             and getattr(n, "lineno", None)]
    return max(found, key=lambda n: (n.lineno, n.col_offset)) if found else fdef


_CONTAINER_RULES = {"display": "a tuple or list", "dict_display": "a dict"}


def _refuse_container_output(tr, parsed):
    """grad of a function returning a tuple, list or dict it builds: refused where it
    is built (the output adjoint 1.0 would otherwise be indexed like a container)."""
    made = [s for s in tr.body if isinstance(s, ir.Assign) and s.target == tr.result]
    rule = getattr(made[-1], "rule", None) if made else None
    what = _CONTAINER_RULES.get(getattr(rule, "name", None))
    if what:
        raise parsed.error(
            f"grad needs a scalar output, but {tr.name} returns {what} built here",
            made[-1].node, "return one number (e.g. the sum of the parts), or use "
            "s2sgrad.vjp for several outputs")


def _returns_number(tr):
    """Is the function's value a number whatever the arrays it is given (a full
    reduction, arithmetic on numbers, a literal)? Then calls need not check it."""
    result = tr.body[-1].value
    if isinstance(result, ir.Const):
        return isinstance(result.value, (int, float)) and not isinstance(result.value, bool)
    return isinstance(result, str) and result in tr.scalars     # (inferred with the trace)


def load_definitions(parsed, defs, names, env, label_name, texts=None):
    """Emit (unless their `texts` are given), compile and load generated defs in the
    user's globals; returns ({name: function}, full text, file name, bindings)."""
    text = "\n\n".join(texts if texts is not None else emit.sources(defs))
    bindings = load_mod.runtime_bindings(text, parsed.namespace, env)
    bindings.update(parsed.closure)
    label = f"{_short(parsed.filename)}:{getattr(parsed.node, 'lineno', 0)} {label_name}"
    names = [d.name for d in defs]
    made, full, filename = load_mod.load(text, names, parsed.namespace, bindings, label)
    return made, full, filename, bindings


def _short(path):
    import os
    return os.path.basename(path) if path else "?"


def _docstring(tr, parsed):
    where = f"{_short(parsed.filename)}:{getattr(parsed.node, 'lineno', '?')}"
    names = ", ".join(tr.params[i] for i in tr.wrt)
    return f"Gradient of {tr.name} ({where}) with respect to {names}."


_CACHE = weakref.WeakKeyDictionary()
_LOCK = threading.RLock()


_GENERIC = ("no size assumptions",)


def cached_compile(func, wrt, is_tuple, optimize=True, kinds=(), has_aux=False,
                   checkpoint=None, sizes=None):
    """The compiled gradient, from the cache while the function, the functions it calls
    and the names it calls them by are unchanged. One compilation per key even when
    many threads ask at once (compiling holds the lock). `sizes`: {symbol: size} of the
    call (`symbol_sizes`): code compiled for a shape pattern may rely on relations of its
    sizes (`ir.shapes`); a call whose sizes break them gets code compiled without any."""
    key = (wrt, is_tuple, optimize, kinds) + ((True,) if has_aux else ()) + \
        ((("checkpoint", checkpoint),) if checkpoint is not None else ())
    _refuse_non_function(func)
    base = unwrap(func)
    with _LOCK:
        per_func = _CACHE.get(base) or {}
        for k in (key, key + _GENERIC):
            entry = per_func.get(k)
            if entry is not None and entry.is_current() and \
                    shapes_mod.holds(entry.assumptions, sizes):
                return entry
        entry = per_func.get(key)
        if entry is not None and entry.is_current():     # its assumptions fail here
            key, sizes = key + _GENERIC, None
        with _collector_paused(), deep_expressions(func):
            aux = {"has_aux": True} if has_aux else {}     # (the call is as before without)
            if checkpoint is not None:
                aux["checkpoint"] = checkpoint
            if sizes:
                aux["sizes"] = sizes
            compiled = compile_gradient(func, wrt, is_tuple, optimize, kinds, **aux)
        _CACHE.setdefault(base, {})[key] = compiled
        return compiled


def _refuse_non_function(func):
    """grad(np.sin): s2sgrad differentiates source code, so it needs a `def`."""
    base = unwrap(func.__func__ if inspect.ismethod(func) else func)
    if inspect.isfunction(base):
        return
    if isinstance(base, np.ufunc):
        what, name = "a NumPy ufunc", f"np.{base.__name__}"
    elif inspect.isbuiltin(base):
        what, name = "a built-in function", getattr(base, "__qualname__", repr(base))
    elif inspect.isclass(base):
        what, name = "a class", base.__qualname__
    else:
        what, name = f"a {type(base).__name__} object", repr(base)
    call = f"{name}(x)" if not inspect.isclass(base) and callable(base) else "..."
    raise S2SGradError(
        f"cannot differentiate {name}: it is {what}, not a Python function with source "
        f"code (s2sgrad reads the source of what it differentiates); write it as a "
        f"function in a file, e.g. `def f(x): return {call}`, and use grad(f)")


_DEEP = 30000     # frames: the compiler's walks recurse once or twice per nesting level


@contextlib.contextmanager
def deep_expressions(func):
    """Room for expressions nested thousands deep (`a + b + ... ` with 2,000 terms is a
    tree 2,000 deep); deeper still, a TransformError that says what to do, not a
    RecursionError from inside the compiler."""
    import sys
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, _DEEP))
    try:
        yield
    except RecursionError:
        code = getattr(unwrap(func), "__code__", None)
        raise TransformError(
            f"{getattr(func, '__name__', func)} has an expression nested too deeply for "
            "s2sgrad (thousands of levels, e.g. a sum of thousands of terms written out)",
            getattr(code, "co_filename", None), getattr(code, "co_firstlineno", None),
            hint="split it into several statements, or use np.sum or a loop") from None
    finally:
        sys.setrecursionlimit(old)


@contextlib.contextmanager
def _collector_paused():
    """Compiling makes and drops hundreds of thousands of AST nodes, none in a cycle
    (reference counting frees them); the cyclic garbage collector's full passes over
    them took a third of the compile time of a long function."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _record_dependencies(compiled, base, tr, generator):
    """What must stay the same for this compiled code to stay right: the code objects
    and defaults of the function and its callees, and the global names the calls go
    through. Held through weak references, so that the cache never keeps a function
    alive."""
    funcs = [base] + [unwrap(p.func) for p in generator.pairs.values()]
    compiled.code_deps = [(weakref.ref(f), f.__code__, f.__defaults__, f.__kwdefaults__)
                          for f in funcs]
    # the loop segments s2sgrad wrote live as long as the code that calls them
    compiled.segments = [f for f in funcs if hasattr(f, "__s2sgrad_parsed__")]
    cells = [(CellView(cell), name, tr.parsed.closure[name])
             for name, cell in tr.parsed.cells.items()]
    compiled.name_deps = [(ns, name, _reference(obj)) for ns, name, obj in
                          list(tr.deps) + list(generator.deps) + cells]
    tr.parsed.func = None


def _reference(obj):
    """A weak reference when the object takes one (functions, modules, arrays); a
    callee's global number is held (it is small, and it owns nothing)."""
    try:
        return weakref.ref(obj)
    except TypeError:
        return lambda: obj


def _is_current(self):
    for ref, code, defaults, kwdefaults in self.code_deps:
        f = ref()
        if f is None or f.__code__ is not code or f.__defaults__ is not defaults \
                or f.__kwdefaults__ is not kwdefaults:      # (defaults set anew: stale)
            return False
    for ns, name, ref in self.name_deps:
        if ns.get(name) is not ref():
            return False
    return True


# ------------------------------------------------------------------ forward mode, pairs

def compile_jvp(parsed, active, name, full=False, deps=None, optional_tangents=False,
                kinds=((), ())):
    """`name(params..., <active>_dot...)` → (value, tangent): the tangent code of `parsed`
    and of the functions it calls, loaded; with `full`, also its file name. `kinds`:
    what `call_kinds` knows of the arguments."""
    numbers, functions = kinds

    def build(p, wrt, *args, **kwargs):
        if p is parsed and not args:
            if numbers and "scalar_params" not in kwargs:
                kwargs["scalar_params"] = numbers
            if functions and not kwargs.get("functions"):
                kwargs["functions"] = _given_functions(functions)
        return build_trace(p, wrt, *args, **kwargs)
    graph = JvpGraph(build, root_globals=parsed.namespace, root_closure=parsed.closure,
                     deps=deps)
    fdef, env = jvp_definition(parsed, active, name, graph,
                               optional_tangents=optional_tangents)
    defs = graph.definitions() + [fdef]
    made, text, filename, _ = load_definitions(parsed, defs, [name], env | graph.env, name)
    source = "\n\n".join(emit.source(d) for d in defs)
    if full:
        return made[name], source, filename
    return made[name], source


def gradient_parsed(compiled):
    """The generated gradient function as a `Parsed` record, ready to be compiled again."""
    fdef = nodes.clone(compiled.fdef)
    closure = dict(compiled.bindings)
    closure.update(compiled.functions)
    return Parsed(None, fdef, compiled.filename, compiled.full_text.splitlines(True),
                  compiled.parsed.namespace, closure)


def compile_tangent_chain(compiled, along, name):
    """Derivatives of any order by forward mode applied again and again to generated
    code: the gradient `compiled` (of f w.r.t. one argument), then its tangent code along
    argument `along[0]` (an index, or a tuple of them), then the tangent code of that
    along `along[1]`, ... Returns the last level, called with every parameter
    positionally: f's arguments, the output's adjoint, then each level's tangents; it
    returns nested (value, tangent) pairs whose
    innermost tangent, reached by taking `[1]` once per level, is the derivative of
    order len(along) + 1.

    Each level is re-parsed the way a user's function is (`reserved.protect` renames
    the previous level's `x_dot`, `v_bar`, ... so the new tangents cannot capture them),
    and its defaults are dropped (every argument is passed)."""
    parsed = gradient_parsed(compiled)
    fn = source = None
    for level, j in enumerate(along, start=2):
        active = tuple(j) if isinstance(j, (tuple, list)) else (j,)
        parsed.node.args.defaults = []
        reserved.protect(parsed)
        level_name = f"{name}_order{level}" if level < len(along) + 1 else name
        graph = JvpGraph(build_trace, root_globals=parsed.namespace,
                         root_closure=parsed.closure)
        fdef, env = jvp_definition(parsed, active, level_name, graph)
        defs = graph.definitions() + [fdef]
        made, text, filename, bindings = load_definitions(parsed, defs, [level_name],
                                                          env | graph.env, level_name)
        fn, source = made[level_name], "\n\n".join(emit.source(d) for d in defs)
        closure = dict(bindings)
        closure.update(made)
        parsed = Parsed(None, nodes.clone(fdef), filename, text.splitlines(True),
                        parsed.namespace, closure)
    return fn, source


class CompiledTangent:
    """Forward-mode code of one function, shaped like `Compiled` for the CLI."""

    def __init__(self, fn, source, filename):
        self.grad_fn = fn
        self.source = source
        self.filename = filename


def compile_tangent(func, active):
    """`jvp_f(params..., <active>_dot...)` → (value, tangent), for `s2sgrad transform
    --mode forward`."""
    parsed = parse_function(func)
    fn, source, filename = compile_jvp(parsed, tuple(active),
                                       f"jvp_{readable_name(unwrap(func))}",
                                       full=True, optional_tangents=True)
    return CompiledTangent(fn, source, filename)


def compile_pair(func, wrt, kinds=((), ())):
    """The forward/backward pair of `func` (what `vjp` runs): (fwd, bwd, source, whether
    the pair stores into arrays, the names and cells it took values from). `kinds`: what
    `call_kinds` knows of the arguments."""
    parsed = parse_function(func)
    graph = call_graph(parsed)
    numbers, functions = kinds
    pair = graph.pair(unwrap(func), wrt, parsed, _given_functions(functions),
                      kinds=(tuple(numbers), ()))
    defs = graph.definitions()
    made, full, filename, _ = load_definitions(parsed, defs, [pair.fwd, pair.bwd], graph.env,
                                               pair.fwd)
    source = "\n\n".join(emit.source(d) for d in defs)
    return made[pair.fwd], made[pair.bwd], source, graph.has_stores, graph.deps


# ------------------------------------------------------------------ batching

def compile_batched(fdef, batched, parsed, bindings, name, doc_extra="", callee_defs=(),
                    read_callee=None):
    """The batched version of the A-normal-form function `fdef` (a user's function
    normalized, or generated code), loaded: (function, source, notes). `parsed` gives
    the globals and the file; `bindings` the names the code was loaded with (helpers,
    closure values, the pairs it calls). Raises `batching.NoBatchingRule` when the whole
    function must run once per example. `read_callee(obj)`: the definition of another
    called function to batch along, or None."""
    from . import runtime
    from .ad.batching import batch_function, NoBatchingRule
    pool = dict(runtime.helpers())
    pool.update(parsed.namespace)
    pool.update(bindings)
    by_object = {id(bindings[d.name]): d for d in callee_defs if d.name in bindings}
    try:
        defs, notes = batch_function(nodes.clone(fdef), batched, pool, name, doc_extra,
                                     callees=lambda obj: by_object.get(id(obj)) or (
                                         read_callee(obj) if read_callee else None))
    except (NoBatchingRule, S2SGradError, RecursionError):
        raise
    except Exception as exc:        # (code the transform does not know: loop instead)
        raise NoBatchingRule(None, f"code the batching transform does not handle "
                                   f"({type(exc).__name__}: {exc})") from None
    text = "\n\n".join(emit.sources(defs))
    env = load_mod.runtime_bindings(text, parsed.namespace, bindings)
    label = f"{_short(parsed.filename)}:{getattr(parsed.node, 'lineno', 0)} {name}"
    try:
        made, _, _ = load_mod.load(text, [name], parsed.namespace, env, label)
    except SyntaxError as exc:     # (a rule wrote something Python refuses: loop instead)
        raise NoBatchingRule(None, f"a statement whose batched form does not compile "
                                   f"({exc.msg})") from None
    return made[name], text, notes


def normalized_function(func):
    """The user's function in A-normal form, with its `Parsed` record (for batching)."""
    parsed = parse_function(func)
    parsed.inline_helpers = False        # calls batch along as calls (`same_module_reader`)
    return normalize(parsed), parsed


def same_module_reader(namespace):
    """read(obj) → a called function in A-normal form, when batched code can call its
    batched version in `namespace`: a plain function of that module (no closure, no
    defaults, no *args), else None."""
    seen = {}

    def read(obj):
        if not inspect.isfunction(obj) or obj.__closure__ or obj.__defaults__ or \
                obj.__kwdefaults__ or obj.__globals__ is not namespace or \
                obj.__code__.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS):
            return None
        if id(obj) not in seen:
            try:
                parsed = parse_function(obj)
                parsed.inline_helpers = False
                seen[id(obj)] = normalize(parsed), obj
            except S2SGradError:
                seen[id(obj)] = None, obj
        return seen[id(obj)][0]
    return read


def pair_backward(func, wrt):
    """The backward half of `func`'s pair as a definition, for batching it: (the def,
    the `Parsed` record, the names it runs with: helpers and the pairs it calls)."""
    parsed = parse_function(func)
    graph = call_graph(parsed)
    pair = graph.pair(unwrap(func), wrt, parsed)
    defs = graph.definitions()
    made, _, _, bindings = load_definitions(parsed, defs, [pair.fwd, pair.bwd], graph.env,
                                            pair.fwd)
    bindings = dict(bindings)
    bindings.update(made)
    bwd = next(d for d in defs if d.name == pair.bwd)
    return bwd, parsed, bindings, defs


def tangent_definition(func, active, name):
    """The tangent code of `func` as a definition, for batching it: (the def, the
    `Parsed` record, the names it runs with)."""
    parsed = parse_function(func)
    graph = JvpGraph(build_trace, root_globals=parsed.namespace, root_closure=parsed.closure)
    fdef, env = jvp_definition(parsed, active, name, graph)
    defs = graph.definitions() + [fdef]
    made, _, _, bindings = load_definitions(parsed, defs, [name], env | graph.env, name)
    bindings = dict(bindings)
    bindings.update(made)
    return fdef, parsed, bindings, defs[:-1]
