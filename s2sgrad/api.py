"""The public entry points and the pipeline that connects the stages.

    parse → normalize → trace → reverse → optimize → emit → load

`PIPELINE` lists the stages in order; `compile_gradient` runs them and caches the
result per (function, wrt, options).
"""
import contextlib
import gc
import inspect
import threading
import weakref

import numpy as np

from .syntax import emit
from .backend import load as load_mod
from .errors import GradientError, S2SGradError, CheckError, TransformError
from .frontend.normalize import normalize, check_returns_value
from .frontend.parse import parse_function, unwrap, CellView
from .ad.reverse import reverse, gradient_function, value_twin
from . import ir
from .ad import callees as calls
from .ir import shapes as shapes_mod
from .optimize import optimize_function, optimize_gradient, optimize_trace, uniform_seeds

PIPELINE = ("parse", "normalize", "trace", "reverse", "optimize", "emit", "load")


def stop_gradient(x):
    """Identity in the forward pass; no gradient flows through it."""
    return x


# ------------------------------------------------------------------ wrt handling

def _param_names(func):
    fn = unwrap(func)
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        raise S2SGradError(f"cannot read the signature of {func!r}") from None
    return [p.name for p in sig.parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def resolve_wrt(func, wrt):
    """(indices, is_tuple) for an int, a name, or a tuple of either."""
    names = _param_names(func)
    single = not isinstance(wrt, (tuple, list))
    items = [wrt] if single else list(wrt)
    if not items:
        raise S2SGradError("wrt must name at least one argument")
    out = []
    for w in items:
        if isinstance(w, bool) or not isinstance(w, (int, str)):
            raise S2SGradError(f"wrt entries must be argument indices or names, not {w!r}")
        if isinstance(w, str):
            if w not in names:
                _refuse_varargs(func, f"wrt={w!r}", names)
                raise S2SGradError(
                    f"{getattr(func, '__name__', func)} has no argument named {w!r} "
                    f"(its arguments: {', '.join(names)})")
            out.append(names.index(w))
        else:
            idx = w + len(names) if w < 0 else w
            if not 0 <= idx < len(names):
                _refuse_varargs(func, f"wrt={w}", names)
                raise S2SGradError(
                    f"wrt={w} is out of range: {getattr(func, '__name__', func)} takes "
                    f"{len(names)} argument(s)")
            out.append(idx)
    return tuple(out), not single


def _refuse_varargs(func, what, names):
    """A `wrt` beyond the named parameters of a function taking `*args`/`**kwargs`: say
    that these are what s2sgrad does not support."""
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return
    rest = [("*" if p.kind is p.VAR_POSITIONAL else "**") + p.name for p in params
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    if rest:
        name = getattr(func, "__name__", "f")
        raise S2SGradError(
            f"{what} names an argument that {name} takes through `{rest[0]}`: s2sgrad "
            f"cannot differentiate functions with `*args`/`**kwargs` parameters; name "
            f"each argument: def {name}({', '.join(names + ['x', 'y'])})")


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


def _call_error(func, label, args, kwargs):
    """The TypeError of calling `func` with these arguments, named after the user's
    function (`grad of f() missing 1 required positional argument: 'x'`), or None
    when they fit its signature."""
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        return None
    params = [p.replace(annotation=p.empty, default=None if p.default is not p.empty
                        else p.empty) for p in sig.parameters.values()]
    ns = {}
    exec(f"def {func.__name__}{sig.replace(parameters=params, return_annotation=sig.empty)}:"
         f" pass", ns)
    try:
        ns[func.__name__](*args, **kwargs)
    except TypeError as exc:
        return TypeError(f"{label} of {exc}")
    return None


# ------------------------------------------------------------------- compiling

class Compiled:
    """One generated module: the gradient function, its value-returning twin, and
    the source the user reads."""
    code_deps = ()
    name_deps = ()

    def __init__(self, source, grad_fn, value_grad_fn, full_text, filename, trace):
        self.source = source
        self.grad_fn = grad_fn
        self.value_grad_fn = value_grad_fn
        self.full_text = full_text
        self.filename = filename
        self.trace = trace

    def is_current(self):
        return _is_current(self)


def build_trace(parsed, wrt, scalar_params=(), array_params=(), entry=False):
    fn = normalize(parsed)
    return ir.build(parsed, fn, wrt, scalar_params, array_params, entry)


_NUMBER_TYPES = (float, int, np.float64, np.float32, np.float16, np.int64, np.int32)


NUMBER, ARRAY, OTHER, DICT = 1, 2, 0, 3


_KIND_OF_TYPE = dict.fromkeys(_NUMBER_TYPES, NUMBER)
_KIND_OF_TYPE[dict] = DICT          # `for k in d` iterates keys: compiled knowing d is a dict


def kinds_of(args, _get=_KIND_OF_TYPE.get, _ndarray=np.ndarray):
    """What each positional argument is: a plain number, a NumPy array (its shape
    tuple), or anything else. Runs on every call: a plain loop with the lookups bound
    as defaults (faster here than a comprehension, which is a call of its own)."""
    out = []
    for a in args:
        t = type(a)
        out.append(a.shape if t is _ndarray else _get(t, OTHER))
    return tuple(out)


def compile_kinds(kinds):
    """The kinds the code is compiled for: each array's shape as its pattern (1 stays,
    other sizes become symbols, equal sizes one symbol; see `shapes.pattern`), so that
    calls whose sizes differ but follow one pattern share the code."""
    shapes = [k for k in kinds if type(k) is tuple]
    if not shapes:
        return kinds
    symbolic = iter(shapes_mod.pattern(shapes))
    return tuple(next(symbolic) if type(k) is tuple else k for k in kinds)


def stage_sources(func, wrt=0, parsed=None):
    """The code after each stage of the pipeline, for `s2sgrad show --stage`:
    {"parse", "anf", "ssa", "reverse", "optimized"} → source text."""
    indices, is_tuple = resolve_wrt(func, wrt) if parsed is None else (wrt, False)
    parsed = parsed or parse_function(func)
    out = {"parse": emit.source(parsed.node)}
    fn = normalize(parsed)
    check_returns_value(parsed)
    out["anf"] = emit.source(fn)
    tr = ir.build(parsed, fn, indices)
    tr.tuple_wrt = is_tuple
    out["ssa"] = ir.render(tr)
    generator = calls.CallGraph(root_globals=parsed.namespace,
                                root_closure=parsed.closure)
    adj = reverse(tr, call_hook=generator.hook)
    fdef = gradient_function(adj, f"grad_{tr.name}", doc=_docstring(tr, parsed))
    callees = "".join(emit.source(d) + "\n\n" for d in generator.definitions())
    out["reverse"] = callees + emit.source(fdef)
    out["optimized"] = callees + emit.source(optimize_function(fdef))
    return out


def compile_gradient(func, wrt, is_tuple, optimize=True, kinds=()):
    parsed = parse_function(func)
    params = [a.id for a in parsed.node.args.args]
    numbers = {p for p, k in zip(params, kinds) if k == NUMBER}
    arrays = {p: k for p, k in zip(params, kinds) if type(k) is tuple}
    parsed.dict_params = {p for p, k in zip(params, kinds) if k == DICT}
    tr = build_trace(parsed, wrt, numbers, arrays, entry=True)
    check_returns_value(parsed)
    _refuse_container_output(tr, parsed)
    if optimize and optimize_trace(tr):
        ir.analyse(tr)                   # the facts follow the rewritten trace
        tr.scalars = ir.infer_scalars(tr, numbers)
        tr.maybe_container -= tr.scalars
    if optimize:
        tr.shape_class = ir.shape_classes(tr, arrays)
    tr.tuple_wrt = is_tuple
    generator = calls.CallGraph(optimize=optimize, root_globals=parsed.namespace,
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
                                 shapes)
    vdef = value_twin(fdef, adj, f"value_and_{name}")
    scalar_output = _returns_number(tr)
    if optimize and scalar_output:
        # grad_f need not compute the value, nor what only gives shapes known otherwise
        fdef.body = optimize_gradient(fdef.body, tr.scalars, ir.shape_representatives(tr))
    callee_defs = generator.definitions()
    if optimize:
        callee_defs = [optimize_function(d) for d in callee_defs]
    texts = emit.sources(callee_defs + [fdef, vdef])
    made, full, filename, bindings = load_definitions(
        parsed, callee_defs + [fdef, vdef], [name, f"value_and_{name}"],
        adj.env | generator.env, tr.name, texts)
    user_defaults = unwrap(func).__defaults__ or ()
    for n in (name, f"value_and_{name}"):
        made[n].__defaults__ = tuple(user_defaults) + (1.0,)
    shown = "\n\n".join(texts[:-1])
    compiled = Compiled(shown, made[name], made[f"value_and_{name}"], full, filename, tr)
    compiled.fdef, compiled.parsed, compiled.bindings = fdef, parsed, bindings
    compiled.callee_defs = callee_defs
    compiled.scalar_output = scalar_output
    compiled.functions = made
    _record_dependencies(compiled, unwrap(func), tr, generator)
    return compiled


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


def cached_compile(func, wrt, is_tuple, optimize=True, kinds=()):
    """The compiled gradient, from the cache while the function, the functions it calls
    and the names it calls them by are unchanged. One compilation per key even when
    many threads ask at once (compiling holds the lock)."""
    key = (wrt, is_tuple, optimize, kinds)
    _refuse_non_function(func)
    base = unwrap(func)
    with _LOCK:
        per_func = _CACHE.get(base)
        entry = per_func.get(key) if per_func is not None else None
        if entry is not None and entry.is_current():
            return entry
        with _collector_paused(), deep_expressions(func):
            compiled = compile_gradient(func, wrt, is_tuple, optimize, kinds)
        _CACHE.setdefault(base, {})[key] = compiled
        return compiled


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
    of the function and its callees, and the global names the calls go through. Held
    through weak references, so that the cache never keeps a function alive."""
    funcs = [base] + [unwrap(p.func) for p in generator.pairs.values()]
    compiled.code_deps = [(weakref.ref(f), f.__code__) for f in funcs]
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
    for ref, code in self.code_deps:
        f = ref()
        if f is None or f.__code__ is not code:
            return False
    for ns, name, ref in self.name_deps:
        if ns.get(name) is not ref():
            return False
    return True


# ------------------------------------------------------------- gradient objects

_KINDS_KEPT = 64         # argument kinds (shapes) remembered per gradient object

class GradientFunction:
    """What `grad(f)` returns: call it like f; read `.source`; `.show()` prints it."""

    def __init__(self, func, wrt=0, optimize=True, with_value=False):
        self.original = func
        self.bound_to = ()
        self.wrt_spec = wrt
        self.wrt, self.is_tuple = resolve_wrt(func, wrt)
        if inspect.ismethod(func):      # model.loss: differentiate the function, self given
            self.bound_to = (func.__self__,)
            func = func.__func__
            self.wrt = tuple(i + 1 for i in self.wrt)
        self.func = func
        self.n_params = len(_param_names(func))   # more positional arguments: an error
        self.optimize = optimize
        self.with_value = with_value
        self._compiled = None
        self._by_kinds = {}
        self.__name__ = ("value_and_grad_" if with_value else "grad_") + \
            getattr(func, "__name__", "f")
        self.__doc__ = f"Gradient of {getattr(func, '__name__', 'f')} (generated by s2sgrad)."
        self.__wrapped__ = None

    @property
    def compiled(self):
        if self._compiled is None:
            self._compiled = cached_compile(self.func, self.wrt, self.is_tuple, self.optimize)
        return self._compiled

    @property
    def source(self):
        """The generated code: for the argument kinds of the last call (numbers give
        simpler code than arrays), or the general code before any call."""
        return self.compiled.source

    @property
    def function(self):
        """The generated gradient function itself (no checks, no conversion)."""
        return self.compiled.grad_fn

    def show(self):
        print(self.source, end="")

    def _repr_markdown_(self):
        return "```python\n" + self.source + "```\n"

    def __repr__(self):
        return f"<s2sgrad gradient of {getattr(self.func, '__qualname__', self.func)} " \
               f"wrt {self.wrt_spec!r}>"

    def __call__(self, *args, **kwargs):
        if self.bound_to:
            args = self.bound_to + args
        if len(args) > self.n_params:     # (the generated code would take one as ȳ)
            exc = _call_error(self.func, "value_and_grad" if self.with_value else "grad",
                              args, kwargs)
            if exc is not None:
                raise exc
        kinds = kinds_of(args)
        entry = self._by_kinds.get(kinds)
        if entry is None or not _is_current(entry[0]):
            entry = self._entry(kinds)
        compiled, fn, plain, arrays, others = entry
        self._compiled = compiled
        if kwargs and getattr(compiled.parsed, "renamed", None):   # (syntax/reserved.py)
            kwargs = {compiled.parsed.renamed.get(k, k): v for k, v in kwargs.items()}
        for i in arrays:                    # arrays of a dtype but float
            if args[i].dtype.kind != "f":
                _check_wrt_arg(args[i], i - len(self.bound_to), self.original)
        for i in others:
            _check_wrt_arg(args[i], i - len(self.bound_to), self.original)
        try:
            if plain:
                grads = fn(*args, **kwargs)
                return _distinct(grads) if self.is_tuple else grads
            value, grads = fn(*args, **kwargs)
        except TypeError:
            label = "value_and_grad" if self.with_value else "grad"
            exc = _call_error(self.func, label, args, kwargs)
            if exc is None:
                raise
            raise exc from None
        if self.is_tuple:
            grads = _distinct(grads)
        if value is None:
            raise GradientError(
                f"grad needs a scalar output, but {self.func.__name__} returned None "
                "(a function it calls has no `return`?): there is nothing to differentiate")
        if type(value) is not float and type(value) is not np.float64 and np.ndim(value) != 0:
            raise GradientError(
                f"grad needs a scalar output, but {self.func.__name__} returned an "
                f"array of shape {np.shape(value)}; reduce it (np.sum, np.mean) or use "
                f"s2sgrad.vjp with an output cotangent")
        if self.with_value:
            return value, grads
        return grads

    def _entry(self, kinds):
        """What a call with arguments of these kinds runs: (compiled, the function,
        whether it returns the gradients alone, the wrt arguments to check: arrays
        (their dtype), other values). Numbers need no check."""
        compiled = cached_compile(self.func, self.wrt, self.is_tuple, self.optimize,
                                  compile_kinds(kinds))
        plain = compiled.scalar_output and not self.with_value
        fn = compiled.grad_fn if plain else compiled.value_grad_fn
        present = [i for i in self.wrt if i < len(kinds)]
        arrays = tuple(i for i in present if type(kinds[i]) is tuple)
        others = tuple(i for i in present if kinds[i] in (OTHER, DICT))
        entry = (compiled, fn, plain, arrays, others)
        if len(self._by_kinds) >= _KINDS_KEPT:
            self._by_kinds.clear()          # many sizes: the compile cache has them
        self._by_kinds[kinds] = entry
        return entry

    def __reduce__(self):
        return (_rebuild, (self.original, self.wrt_spec, self.optimize, self.with_value))


def _rebuild(func, wrt, optimize, with_value):
    return GradientFunction(func, wrt, optimize, with_value)


def _distinct(grads):
    """No two returned gradients may be one array (adjoints are shared freely inside
    the generated code)."""
    if len(grads) == 2:                      # (the common case, without a loop)
        a, b = grads
        if a is b and isinstance(b, np.ndarray):
            return a, b.copy()
        return a, b
    out = list(grads)
    for i in range(1, len(out)):
        g = out[i]
        if type(g) is np.ndarray or isinstance(g, np.ndarray):
            for j in range(i):
                if out[j] is g:
                    out[i] = g = g.copy()
                    break
    return tuple(out)


def _check_wrt_arg(x, i, func):
    t = type(x)
    if t is float or t is int:
        return
    if x is None or isinstance(x, (str, bytes)):
        raise GradientError(
            f"argument {i} of {func.__name__} is {type(x).__name__}, not a number, an "
            "array or a container of numbers: it cannot be differentiated")
    if isinstance(x, np.ndarray):
        if x.dtype.kind not in "fc":
            raise GradientError(
                f"argument {i} of {func.__name__} is an array of dtype {x.dtype}; "
                "gradients need floating-point inputs: pass x.astype(float)")
    elif isinstance(x, (bool, np.bool_)):
        raise GradientError(f"argument {i} of {func.__name__} is a boolean and cannot "
                            "be differentiated")
    elif isinstance(x, np.integer):
        return


def grad(func=None, wrt=0, optimize=True):
    """The gradient of a scalar function: `grad(f)`, `@grad`, `@grad(wrt=(0, 1))`."""
    if func is None:
        return lambda f: grad(f, wrt, optimize)
    from .operators import SecondDerivative
    if isinstance(func, (GradientFunction, SecondDerivative)):
        return SecondDerivative(func, wrt)
    return GradientFunction(func, wrt, optimize)


def value_and_grad(func=None, wrt=0, optimize=True):
    """Like `grad`, but the call returns `(value, gradient(s))`."""
    if func is None:
        return lambda f: GradientFunction(f, wrt, optimize, with_value=True)
    return GradientFunction(func, wrt, optimize, with_value=True)


def source(func, wrt=0, optimize=True):
    """The generated gradient code of `func` as a string."""
    return GradientFunction(func, wrt, optimize).source


# ------------------------------------------------------------------ check_grad

def numerical_grad(func, args, i, eps=1e-6):
    """Centered finite differences of scalar `func` in argument i (float64). Floats give
    a float, arrays an array, lists/tuples/dicts the same structure of derivatives."""
    args = list(args)

    def value_with(leaf_value):
        args[i] = leaf_value
        return float(np.sum(func(*args)))
    return _fd_of(args[i], value_with, eps)


def _fd_of(x, value_with, eps):
    """Derivatives of value_with(x') in every number of x (a number, array or container)."""
    if isinstance(x, (list, tuple)):
        out = []
        for k in range(len(x)):
            def inner(v, k=k):
                items = list(x)
                items[k] = v
                return value_with(type(x)(items) if isinstance(x, tuple) else items)
            out.append(_fd_of(x[k], inner, eps))
        return type(x)(out) if isinstance(x, tuple) else out
    if isinstance(x, dict):
        out = {}
        for key in x:
            def inner(v, key=key):
                new = dict(x)
                new[key] = v
                return value_with(new)
            out[key] = _fd_of(x[key], inner, eps)
        return out
    if isinstance(x, (float, int, np.floating, np.integer)) and not isinstance(x, bool):
        h = eps * max(1.0, abs(float(x)))
        return (value_with(float(x) + h) - value_with(float(x) - h)) / (2 * h)
    base = np.array(x, dtype=np.float64)
    out = np.zeros(base.shape)
    for idx in np.ndindex(base.shape):
        h = eps * max(1.0, abs(base[idx]))
        plus, minus = base.copy(), base.copy()
        plus[idx] += h
        minus[idx] -= h
        out[idx] = (value_with(plus) - value_with(minus)) / (2 * h)
    return out


def _leaves(x):
    if isinstance(x, (list, tuple)):
        return [leaf for v in x for leaf in _leaves(v)]
    if isinstance(x, dict):
        return [leaf for k in x for leaf in _leaves(x[k])]
    return [np.asarray(x, dtype=float)]


def check_grad(func, *args, wrt=0, rtol=1e-5, atol=1e-7):
    """Compare s2sgrad's gradient with centered finite differences; raise `CheckError`
    naming the worst element on mismatch. Returns the worst relative error."""
    indices, is_tuple = resolve_wrt(func, wrt)
    got = grad(func, wrt=wrt)(*args)
    got = got if is_tuple else (got,)
    worst = 0.0
    for i, g in zip(indices, got):
        num = numerical_grad(func, [np.array(a, dtype=float) if isinstance(a, np.ndarray)
                                    else a for a in args], i)
        if isinstance(num, (list, tuple, dict)):     # compare containers leaf by leaf
            g = np.concatenate([np.ravel(v) for v in _leaves(g)]) if _leaves(g) else np.zeros(0)
            num = np.concatenate([np.ravel(v) for v in _leaves(num)])
        g = np.asarray(g, dtype=float)
        num = np.asarray(num, dtype=float)
        if g.shape != num.shape:
            raise CheckError(f"gradient of argument {i} has shape {g.shape}, expected "
                             f"{num.shape}")
        err = np.abs(g - num)
        bound = atol + rtol * np.abs(num)
        rel = err / np.maximum(np.abs(num), 1e-12)
        worst = max(worst, float(np.max(rel)) if rel.size else 0.0)
        if np.any(err > bound):
            k = np.unravel_index(np.argmax(err - bound), err.shape) if err.ndim else ()
            raise CheckError(
                f"gradient of argument {i} ({_param_names(func)[i]}) disagrees with finite "
                f"differences at index {tuple(int(j) for j in k)}: s2sgrad {float(g[k])!r}, "
                f"numerical {float(num[k])!r} (abs error {err[k]:.3g})")
    return worst
