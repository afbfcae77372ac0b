"""Forward mode and the compositions built from the two modes:

- `jvp(f)(primals, tangents)` → (value, directional derivative): generated tangent code;
- `vjp(f, wrt)(*args)` → (value, pullback): the generated forward/backward pair, the
  pullback runs only the backward half;
- `jacobian(f, wrt)`: columns by JVP when the inputs are few, rows by VJP otherwise;
- `hvp(f)(x, v)` and `hessian(f)`: forward over reverse — the generated gradient code is
  fed back into the compiler and differentiated in forward mode;
- `grad(grad(f))` for scalar inputs goes the same way;
- `vmap` and the batched passes behind `pullback(cts, batched=True)` and `jacobian` are
  in `batch`.
"""
import dataclasses
import inspect
import threading
from typing import Any, Callable, Optional

import numpy as np

from .ad.tangent import dot
from .batch import BatchedTangent, _batch_backward, _fresh, _rows, _warn_loop, vmap  # noqa: F401
from .errors import GradientError, S2SGradError, TransformError
from .backend.numba import check_backend
from .frontend.parse import CellView, parse_function, readable_name, unwrap
from .gradient import GradientFunction, jit, partial_parts, resolve_wrt, _param_names, _variadic
from .pipeline import (cached_compile, compile_jvp, compile_pair, compile_tangent_chain,
                       instance_kinds, call_kinds,
                       deep_expressions, gradient_parsed)

_LOCK = threading.RLock()


def _is_float_like(x):
    if isinstance(x, (bool, np.bool_)):
        return False
    if isinstance(x, (float, np.floating)):
        return True
    if isinstance(x, (int, np.integer)):
        return True                           # Python ints get float tangents
    if isinstance(x, np.ndarray):
        return x.dtype.kind in "fc"
    if isinstance(x, (list, tuple, dict)):
        return True
    # a @dataclass of parameters is a container too (its tangent: one like it, or a dict)
    return dataclasses.is_dataclass(x) and not isinstance(x, type)


def _refuse_variadic(func, label):
    """`*args`/`**kwargs` are packed into a tuple and a dict by `grad` only: the other
    operators would bind the arguments to the wrong parameters (hvp differentiated the
    first item as if it were the tuple, and took the second for the output's seed)."""
    star, keywords = _variadic(func)
    if star or keywords:
        what = f"*{star}" if star else f"**{keywords}"
        name = getattr(unwrap(func), "__name__", "f")
        raise S2SGradError(
            f"{label} of {name} cannot take `{what}`: only grad and value_and_grad pack "
            f"variadic arguments; give {name} named parameters (`def {name}(a, b)`), or "
            f"take the values as one tuple or dict argument (`def {name}(ws)`)")


def _nonzero(t):
    """Does the tangent `t` (a number, an array, a container of them) hold anything but
    zeros? Anything else (an object) counts as nonzero."""
    if t is None:
        return False
    if isinstance(t, dict):
        return any(_nonzero(v) for v in t.values())
    if isinstance(t, (list, tuple)):
        return any(_nonzero(v) for v in t)
    if dataclasses.is_dataclass(t) and not isinstance(t, type):
        return any(_nonzero(getattr(t, f.name)) for f in dataclasses.fields(t))
    try:
        return bool(np.any(np.asarray(t) != 0))
    except (TypeError, ValueError):
        return True


def _refuse_tangent(p, i):
    """A nonzero tangent given for an argument jvp does not differentiate: it would be
    dropped (a zero derivative along it, silently)."""
    if isinstance(p, (bool, np.bool_)) or (isinstance(p, np.ndarray) and p.dtype.kind == "b"):
        what, fix = "a boolean", "booleans have no derivative: pass None as its tangent"
    elif isinstance(p, (int, np.integer)) or (isinstance(p, np.ndarray) and p.dtype.kind in "iu"):
        what, fix = "an integer", "pass it as a float (`2.0`, `x.astype(float)`), or None " \
                                  "as its tangent"
    else:
        what, fix = f"a {type(p).__name__} object", "differentiate the arrays it holds: " \
            "pass them as arguments, or keep them in a dict, list, tuple, NamedTuple or " \
            "@dataclass; or pass None as its tangent"
    raise GradientError(f"jvp got a nonzero tangent for argument {i}, {what}, which s2sgrad "
                        f"does not differentiate; {fix}")


def _unchanged(deps):
    """Do the closure cells and other modules' globals the code took values from still
    hold them (`nonlocal` or an assignment may have rebound one)?"""
    return all(ns.get(name) is value for ns, name, value in deps)


class JVPFunction:
    """What `jvp(f)` returns: call with (primals, tangents); `.source` shows the code."""

    def __init__(self, func, backend=None, strict=False):
        # a functools.partial: its function, with the fixed arguments passed first
        func, self.fixed, self.keywords = partial_parts(func)
        self.func = func
        self.backend, self.strict = check_backend(backend), strict
        if isinstance(func, GradientFunction):
            _refuse_variadic(func.func, "jvp of grad")
        elif not isinstance(func, (HVPFunction, SecondDerivative, JVPFunction)):
            _refuse_variadic(func, "jvp")
        if isinstance(func, GradientFunction):          # jvp(grad(f)): forward over reverse
            # grad of a partial, a bound method or a callable object: what its call
            # passes before the arguments (and its fixed keywords) are passed here too
            self.fixed = func.bound_to + self.fixed
            self.keywords = {**func.keywords, **self.keywords}
            compiled = cached_compile(func.func, func.wrt, func.is_tuple, func.optimize)
            self._parsed = gradient_parsed(compiled)
            self.params = [a.id for a in self._parsed.node.args.args]
        elif isinstance(func, HVPFunction):             # jvp(hvp(f)): third order
            self._parsed = None
            self.params = _param_names(func._impl.func)[len(func.fixed):] + ["v"]
        elif isinstance(func, (SecondDerivative, JVPFunction)):
            raise S2SGradError("jvp composes with f, grad(f) and hvp(f); for higher "
                               "derivatives of a scalar function nest grad: "
                               "grad(grad(grad(f)))")
        else:
            self._parsed = None
            self.params = _param_names(func)
        self._cache = {}

    def _get(self, active, kinds=((), ())):
        key = (active, kinds) if kinds != ((), ()) else active
        with _LOCK, deep_expressions(self.func):
            hit, deps = self._cache.get(key, (None, ()))
            if hit is None or not _unchanged(deps):
                parsed = self._parsed or parse_function(self.func)
                name = readable_name(unwrap(self.func)) if self._parsed is None \
                    else parsed.node.name
                deps = [(CellView(cell), n, parsed.closure[n])
                        for n, cell in parsed.cells.items()]
                deps += getattr(parsed, "name_deps", [])   # globals bound under a new name
                hit = compile_jvp(parsed, active, f"jvp_{name}", deps=deps,
                                  kinds=kinds)
                self._cache[key] = hit, deps
            return hit

    @property
    def source(self):
        return self._get(tuple(range(len(self.params))))[1]

    def show(self):
        print(self.source, end="")

    def __call__(self, primals, tangents):
        if not all(isinstance(a, (tuple, list)) for a in (primals, tangents)):
            raise S2SGradError(
                "jvp(f) takes a tuple of the arguments and a tuple of their tangents: "
                "jvp(f)((x,), (v,)) for one argument, jvp(f)((x, y), (vx, vy)) for two")
        primals, tangents = tuple(primals), tuple(tangents)
        if len(primals) != len(tangents):
            raise S2SGradError("jvp needs one tangent per primal argument "
                               f"({len(primals)} primals, {len(tangents)} tangents)")
        if self.fixed:
            primals = self.fixed + primals
            tangents = (None,) * len(self.fixed) + tangents
        active = tuple(i for i, (p, t) in enumerate(zip(primals, tangents))
                       if t is not None and _is_float_like(p)
                       and not isinstance(p, (int, np.integer)))
        for i, (p, t) in enumerate(zip(primals, tangents)):
            if t is not None and i not in active and _nonzero(t):
                _refuse_tangent(p, i - len(self.fixed))
        if isinstance(self.func, HVPFunction):
            return self._hvp_tangent(primals, tangents, active)
        kinds = call_kinds(self.params, primals) if self._parsed is None else ((), ())
        fn, _ = self._get(active, kinds)
        # the tangent parameters follow f's, named as generated (syntax/reserved.py may
        # have renamed a parameter)
        code = fn.__code__
        names = code.co_varnames[code.co_argcount - len(active):code.co_argcount]
        kwargs = {k: _as_tangent(tangents[i], primals[i]) for k, i in zip(names, active)}
        if self.backend == "numba":
            fn = jit(fn, self.strict)
        return fn(*primals, **kwargs, **self.keywords)


def _jvp_of_hvp(self, primals, tangents, active):
    """jvp(hvp(f))((*args, v), (*ṫ, v̇)) → (H·v, D(H·v)[ṫ, v̇]): the tangent code of the
    forward-over-reverse code, along f's arguments and v at once (third order in f)."""
    hvp_ = self.func
    base = hvp_._impl.func           # (of a partial or a bound method: its function)
    *args, v = primals
    # every parameter of f by position: what a partial or a method passes first, the
    # arguments, then the defaults of those left out (the code takes them all)
    bound = inspect.signature(base).bind(*hvp_.fixed, *args, **hvp_.keywords)
    bound.apply_defaults()
    full, keywords = list(bound.args), bound.kwargs
    n, shift = len(full), len(hvp_.fixed)
    # the hvp code's parameters: f's, the output's adjoint, then v (as x_dot)
    along = tuple(i + shift if i < len(args) else n + 1 for i in active)
    with _LOCK:
        compiled = cached_compile(base, (hvp_.i,), False)
        key = ("hvp", along)
        hit = self._cache.get(key)
        if hit is None or hit[0] is not compiled:
            fn, source = compile_tangent_chain(
                compiled, [(hvp_.i,), along],
                "jvp_hvp_" + compiled.fdef.name.removeprefix("grad_"))
            hit = self._cache[key] = compiled, fn, source
    _, fn, _ = hit
    x = full[hvp_.i]
    dots = [_as_tangent(tangents[i], primals[i]) for i in active]
    (_, hv), (_, hv_dot) = fn(*full, 1.0, _as_tangent(v, x), *dots, **keywords)
    from .runtime import grad_like
    return grad_like(hv, x), grad_like(hv_dot, x)


JVPFunction._hvp_tangent = _jvp_of_hvp


def _as_tangent(t, x):
    """The tangent `t` of argument `x` in x's precision: a float32 argument gets a
    float32 tangent (np.result_type(float32, float) would be float64, and the tangent
    code would then compute in float64), an integer one a float64 tangent."""
    if isinstance(x, np.ndarray):       # a fresh array: results never alias the caller's
        return np.array(np.broadcast_to(t, x.shape), dtype=_tangent_dtype(x.dtype))
    if isinstance(x, np.floating) and not isinstance(x, float):
        return x.dtype.type(t)          # (np.float32: np.float64 is a float)
    if isinstance(x, (float, np.floating)):
        return float(t)
    return t


def _tangent_dtype(dtype):
    return dtype if dtype.kind in "fc" else np.result_type(dtype, float)


def jvp(func: Callable[..., Any], backend: Optional[str] = None,
        strict: bool = False) -> "JVPFunction":
    """Forward mode: `jvp(f)(primals, tangents)` → (f(*primals), J·tangents)."""
    return JVPFunction(func, backend, strict)


# ----------------------------------------------------------------------- vjp

class VJPFunction:
    def __init__(self, func, wrt=0, backend=None, strict=False):
        self.backend, self.strict = check_backend(backend), strict
        self.wrt, self.is_tuple = resolve_wrt(func, wrt)
        func, self.fixed, self.keywords = partial_parts(func)
        _refuse_variadic(func, "vjp")
        self.wrt = tuple(i + len(self.fixed) for i in self.wrt)
        self.func = func
        self._pairs = {}         # call_kinds → (pair, source, ...)
        self._kinds = ((), ())

    def _get(self, kinds=None):
        kinds = self._kinds if kinds is None else kinds
        with _LOCK, deep_expressions(self.func):
            hit = self._pairs.get(kinds)
            if hit is None or not _unchanged(hit[4]):
                fwd, bwd, source, copy_arrays, deps = compile_pair(
                    self.func, self.wrt, kinds)    # (deps: the function's own cells too)
                if self.backend == "numba":
                    fwd, bwd = jit(fwd, self.strict), jit(bwd, self.strict)
                hit = self._pairs[kinds] = ((fwd, bwd), source, copy_arrays, None, deps)
            self._kinds = kinds
            self.source, self._copy_arrays, self._pair = hit[1], hit[2], hit[0]
            return hit[0]

    def __call__(self, *args, **kwargs):
        args, kwargs = self.fixed + args, {**self.keywords, **kwargs}
        pair = fwd, bwd = self._get(call_kinds(_param_names(self.func), args))
        # the pullback may run long after this call: keep our own copy of the arrays
        args = tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)
        value, saved = fwd(*args, **kwargs)
        wrt, is_tuple, bound = self.wrt, self.is_tuple, args
        copy_arrays, keep = self._copy_arrays, {id(a) for a in args}

        def pullback(cotangent, batched=False):
            """The vector-Jacobian product with `cotangent` (shaped like the value);
            with `batched=True`, `cotangent` is a stack of them along a new leading
            axis, pulled back by one batched backward pass, and each gradient gains the
            same leading axis."""
            from .runtime import grad_like, batched_grad_like
            # the backward pass pops its stacks: run it on a copy so pullback can be
            # called again
            if batched:
                cts = np.asarray(cotangent)
                if cts.shape[1:] != np.shape(value) or cts.shape[:1] == (0,):
                    raise S2SGradError(
                        f"pullback(..., batched=True) takes cotangents stacked along a new "
                        f"leading axis: shape (n,) + {np.shape(value)}, not {cts.shape}")
                from .runtime import RaggedExamples, stack_examples
                try:
                    raw = self._batched_backward(pair)(_fresh(saved, copy_arrays, keep),
                                                       cts)
                except S2SGradError as exc:
                    if not isinstance(exc, RaggedExamples):
                        raise
                    raw = None           # (a value inside differs in shape: one by one)
                except Exception as exc:
                    _warn_loop(getattr(self.func, "__name__", "f"),
                               f"a case the batched code does not handle "
                               f"({type(exc).__name__}: {exc})", "")
                    raw = None
                if raw is None:
                    raw = stack_examples([bwd(_fresh(saved, True, keep), c) for c in cts],
                                         items=True)
                outs = tuple(batched_grad_like(g, bound[i], (True, False))
                             for g, i in zip(raw, wrt))
            else:
                if not isinstance(value, (list, tuple, dict)) and not isinstance(
                        cotangent, (list, tuple, dict)) and \
                        np.shape(cotangent) != np.shape(value):
                    raise GradientError(          # (it would broadcast: a sum of products)
                        f"pullback takes a cotangent shaped like the value, "
                        f"{np.shape(value)}, not {np.shape(cotangent)} (for a stack of "
                        f"them: pullback(cotangents, batched=True))")
                raw = bwd(_fresh(saved, copy_arrays, keep), cotangent)
                outs = tuple(grad_like(g, bound[i]) for g, i in zip(raw, wrt))
            return outs if is_tuple else outs[0]
        return value, pullback

    def _batched_backward(self, pair=None):
        """The backward half of `pair` (the last call's) batched over its output's
        adjoint (generated once); a loop over the cotangents where it has no batched
        form."""
        pair = self._pair if pair is None else pair
        with _LOCK, deep_expressions(self.func):
            if getattr(self, "_bbwd", None) is None or self._bbwd[1] is not pair:
                self._bbwd = (_batch_backward(self.func, self.wrt, pair[1]), pair)
            return self._bbwd[0][0]

    @property
    def batched_source(self):
        """The batched backward half `pullback(cts, batched=True)` runs."""
        self._get()
        self._batched_backward()
        return self._bbwd[0][1]


def vjp(func: Callable[..., Any], wrt: Any = 0, backend: Optional[str] = None,
        strict: bool = False) -> "VJPFunction":
    """Reverse mode for any output: `vjp(f, wrt)(*args)` → (value, pullback)."""
    return VJPFunction(func, wrt, backend, strict)


# ------------------------------------------------------------ forward over reverse

class _GradJvp:
    """jvp of the gradient function of f w.r.t. argument i, along argument j. Compiled
    generically, but for the objects of the user's classes among the arguments (their
    methods resolve on their class: one compilation per combination of classes)."""

    def __init__(self, func, i, j, backend=None, strict=False):
        self.func, self.i, self.j = func, i, j
        self.backend, self.strict = backend, strict
        self._by_kinds = {}         # kinds -> (function, source, compiled, tangent name)
        self._last = ()             # the kinds of the last call (what `source` shows)

    def get(self, kinds=None):
        kinds = self._last if kinds is None else kinds
        with _LOCK:
            # (the gradient's code holds some values, e.g. a renamed global: rebuilt
            # when they change)
            hit = self._by_kinds.get(kinds)
            if hit is None or not hit[2].is_current():
                compiled = cached_compile(self.func, (self.i,), False, kinds=kinds)
                parsed = gradient_parsed(compiled)
                try:
                    fn, source = compile_jvp(
                        parsed, (self.j,), f"hvp_{readable_name(unwrap(self.func))}")
                except TransformError as exc:
                    raise _in_users_code(exc, self.func) from None
                if self.backend == "numba":
                    fn = jit(fn, self.strict)
                hit = self._by_kinds[kinds] = (fn, source, compiled,
                                               compiled.trace.params[self.j])
            self.source = hit[1]
            return hit

    def __call__(self, args, v, keywords=None):
        kinds = self._last = instance_kinds(args)
        fn, _, _, param = self.get(kinds)
        g, gdot = fn(*args, **{dot(param): _as_tangent(v, args[self.j])},
                     **(keywords or {}))
        return g, gdot


def _in_users_code(exc, func):
    """A refusal met while differentiating the gradient's code (hvp's forward mode over
    it) or a runtime helper it calls, located there: the same refusal located in the
    user's code instead, at the line whose adjoint the refused statement is (the
    generated code's `# grad of: ... (line N)` comments) or else at the def."""
    import linecache
    import os
    import re
    where = str(exc.filename or "")
    package = os.path.dirname(os.path.abspath(__file__)) + os.sep
    if not (where.startswith("<s2sgrad") or os.path.abspath(where).startswith(package)):
        return exc
    target = unwrap(func)
    code = getattr(target, "__code__", None)
    filename = getattr(code, "co_filename", None)
    lineno = getattr(code, "co_firstlineno", None)
    mapped = "" if where.startswith("<s2sgrad") else \
        f" (in s2sgrad's {os.path.relpath(where, package)}, line {exc.lineno})"
    if where.startswith("<s2sgrad") and exc.lineno:
        for text in reversed(linecache.getlines(where)[:exc.lineno]):
            found = re.search(r"# grad of: .*\(line (\d+)", text)
            if found:
                lineno, mapped = int(found.group(1)), " for this line"
                break
    line = linecache.getline(filename, lineno).rstrip("\n") if filename and lineno else None
    name = readable_name(target)
    return TransformError(
        f"hvp of {name} cannot differentiate the code of its gradient{mapped}: "
        f"{exc.message}", filename, lineno, None, line or None,
        hint="take the product from two gradients instead: (g(x + h*v) - g(x - h*v)) / "
             "(2*h) with g = s2sgrad.grad(f), h about 1e-6 times the size of x")


class HVPFunction:
    def __init__(self, func, wrt=0, backend=None, strict=False):
        self.func = func
        backend = check_backend(backend)
        if isinstance(wrt, (tuple, list)):
            raise S2SGradError(f"hvp takes one argument index or name as wrt, not {wrt!r} "
                               "(for the Hessian of several arguments, pack them into one "
                               "array, or call hvp once per argument)")
        (self.i,), _ = resolve_wrt(func, wrt)
        self.user_i = self.i                 # (among the arguments a partial's calls pass)
        func, self.fixed, self.keywords = partial_parts(func)
        _refuse_variadic(func, "hvp")
        self.i += len(self.fixed)
        self._impl = _GradJvp(func, self.i, self.i, backend, strict)

    @property
    def source(self):
        self._impl.get()
        return self._impl.source

    def __call__(self, *args_and_v, **kwargs):
        *args, v = args_and_v
        from .runtime import grad_like
        args = self.fixed + tuple(args)
        _, hv = self._impl(args, v, {**self.keywords, **kwargs})
        return grad_like(hv, args[self.i])


def hvp(func: Callable[..., Any], wrt: Any = 0, backend: Optional[str] = None,
        strict: bool = False) -> "HVPFunction":
    """Hessian-vector product by forward-over-reverse: `hvp(f)(x, v)` → H(x)·v
    (for f of several arguments: `hvp(f, wrt)(*args, v)`)."""
    return HVPFunction(func, wrt, backend, strict)


# ------------------------------------------------------- random draws shared by columns

#: objects that hold a random state f's draws may read
_RANDOM_STATES = (np.random.Generator, np.random.RandomState, np.random.BitGenerator)


class _SameDraws:
    """The random states f's draws read, saved before the first column of a Hessian or
    a Jacobian and put back before each evaluation of f behind it (`rewind`), so that
    every column is a derivative of the same realisation of f (the one a plain call
    would draw), and afterwards the states stand as after that one call. The states:
    NumPy's global one (`np.random.normal`), Python's `random`, and every Generator,
    RandomState or bit generator among f's arguments (in lists, tuples, dicts, objects'
    attributes) and among the globals and closure cells of f and of the functions of
    the user's it calls. A generator seeded afresh from the operating system inside f
    (`np.random.default_rng()`) cannot be replayed: refused (`_refuse_unseeded`)."""

    def __init__(self, func, args, label, refuse=True):
        import random
        functions = _users_functions(func)
        if refuse:                            # (one evaluation only: nothing to refuse)
            _refuse_unseeded(functions, func, label)
        self.states = [(np.random.set_state, np.random.get_state()),
                       (random.setstate, random.getstate())]
        seen = set()
        _, fixed, keywords = partial_parts(func)       # (a method's object: `self.rng`)
        held = _held_values((fixed, tuple(args), keywords))
        free = [v for fn in functions for g in _free_values(fn) for v in _held_values(g, 2)]
        for obj in list(held) + free:               # (a global config's `cfg.rng` too)
            if isinstance(obj, _RANDOM_STATES) and id(obj) not in seen:
                seen.add(id(obj))
                self.states.append(_saved_state(obj))

    def rewind(self):
        for restore, state in self.states:
            restore(state)


def _saved_state(obj):
    """(restore, state) of a Generator, RandomState or bit generator."""
    if isinstance(obj, np.random.RandomState):
        return obj.set_state, obj.get_state()
    bits = obj.bit_generator if isinstance(obj, np.random.Generator) else obj

    def restore(state, bits=bits):
        bits.state = state
    return restore, bits.state


def _held_values(value, depth=4):
    """`value` and what it holds (items of lists, tuples, dicts; attributes of an
    object, `self.rng`), `depth` levels down."""
    import types
    yield value
    if depth == 0 or isinstance(value, (np.ndarray, str, bytes, int, float, complex,
                                        types.ModuleType, type, types.FunctionType,
                                        types.BuiltinFunctionType, types.MethodType)):
        return                     # (a module's namespace is not what f's draws read)
    if isinstance(value, dict):
        items = list(value.values())
    elif isinstance(value, (list, tuple)):
        items = list(value)
    elif isinstance(value, _RANDOM_STATES):
        return
    else:
        items = list(getattr(value, "__dict__", {}).values())
    for item in items:
        yield from _held_values(item, depth - 1)


def _free_values(fn):
    """The values of the globals and closure cells the code of `fn` names."""
    import types
    names, todo = set(), [fn.__code__]
    while todo:
        code = todo.pop()
        names.update(code.co_names)
        todo += [c for c in code.co_consts if isinstance(c, types.CodeType)]
    for name in sorted(names):
        if name in fn.__globals__:
            yield fn.__globals__[name]
    for cell in fn.__closure__ or ():
        try:
            yield cell.cell_contents
        except ValueError:            # (a cell not yet bound)
            pass


def _users_functions(func):
    """f and the functions of the user's it names, and those they name (not a library's,
    whose draws, if any, go through the states of its arguments)."""
    import types
    from .ir.trace import _library
    out, todo = [], [partial_parts(func)[0]]
    while todo:
        fn = todo.pop()
        try:
            fn = unwrap(fn)
        except S2SGradError:
            continue
        if isinstance(fn, types.MethodType):
            fn = fn.__func__
        if not isinstance(fn, types.FunctionType) or _library(fn) or \
                any(fn is seen for seen in out):
            continue
        out.append(fn)
        todo += [v for v in _free_values(fn) if callable(v)]
    return out


def _unseeded_makers():
    """Calls that seed a generator from the operating system when given no seed."""
    import random
    bits = [getattr(np.random, n, None) for n in
            ("default_rng", "RandomState", "PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64",
             "SeedSequence", "seed")]
    return [b for b in bits if b is not None] + [random.Random, random.seed]


def _refuse_unseeded(functions, func, label):
    """A generator made inside f without a seed draws other numbers at each call, so the
    columns of the matrix would be derivatives of different functions: refused."""
    for fn in functions:
        found = _unseeded_call(fn)
        if found is not None:
            parsed, node = found
            name = readable_name(unwrap(func))
            raise parsed.error(
                f"{label} of {name} cannot give every column the same random numbers: "
                f"`{_call_text(node)}` seeds a generator from the operating system at each "
                "call, so each column would be the derivative of another realisation", node,
                "seed it (`np.random.default_rng(0)`), or make the generator outside and "
                "pass it in as an argument (its state is then replayed for every column)")


_UNSEEDED = {}      # (code, globals' id) -> (parsed, call) or None: parsing costs ~1 ms


def _unseeded_call(fn):
    """(parsed, the call) of the first call in `fn` that makes a generator seeded from the
    operating system (`np.random.default_rng()`, `np.random.seed()`), or None."""
    import gast
    key = (fn.__code__, id(fn.__globals__))
    if key in _UNSEEDED:
        return _UNSEEDED[key]
    found = None
    try:
        parsed = parse_function(fn)
    except S2SGradError:
        parsed = None
    makers = _unseeded_makers()
    for node in gast.walk(parsed.node) if parsed is not None else ():
        if not isinstance(node, gast.Call) or \
                not any(_same_callable(_resolved(parsed, node.func), m) for m in makers):
            continue
        seeds = list(node.args) + [k.value for k in node.keywords
                                   if k.arg in ("seed", "entropy", "a", "x")]
        if not seeds or (isinstance(seeds[0], gast.Constant) and seeds[0].value is None):
            found = parsed, node
            break
    if len(_UNSEEDED) > 512:
        _UNSEEDED.clear()
    _UNSEEDED[key] = found
    return found


def _same_callable(a, b):
    """`a is b`, or the same method of the same object (`random.seed`: each attribute
    read makes a new bound method)."""
    import types
    if a is b:
        return True
    return isinstance(a, types.MethodType) and isinstance(b, types.MethodType) \
        and a.__func__ is b.__func__ and a.__self__ is b.__self__


def _resolved(parsed, expr):
    """The object a dotted name (`np.random.default_rng`) denotes, or None."""
    import gast
    if isinstance(expr, gast.Name):
        try:
            return parsed.resolve(expr.id)
        except KeyError:
            return None
    if isinstance(expr, gast.Attribute):
        owner = _resolved(parsed, expr.value)
        return None if owner is None else getattr(owner, expr.attr, None)
    return None


def _call_text(node):
    from .syntax import emit
    try:
        return emit.expression_source(node)
    except Exception:
        return "the call"


def _basis(x):
    x = np.asarray(x, dtype=float)
    for k in range(x.size):
        e = np.zeros(x.size)
        e[k] = 1.0
        yield k, e.reshape(x.shape) if x.shape else float(e[0])


def hessian(func: Callable[..., Any], wrt: Any = 0) -> Callable[..., Any]:
    """The Hessian of scalar f w.r.t. one argument (columns by forward-over-reverse)."""
    h = HVPFunction(func, wrt)

    def hess(*args, **kwargs):
        x = args[h.user_i]
        shape = np.shape(x)
        draws = _SameDraws(func, args, "hessian", refuse=np.size(x) > 1)
        # (a float32 argument: a float32 Hessian, like its gradient and its hvp)
        dtype = _tangent_dtype(x.dtype) if isinstance(x, np.ndarray) else np.dtype(float)
        cols = []
        for _, e in _basis(x):
            draws.rewind()                    # (each column: the draws of one call of f)
            cols.append(np.ravel(np.asarray(h(*args, e, **kwargs), dtype=dtype)))
        size = int(np.prod(shape)) if shape else 1
        mat = np.stack(cols, axis=1) if cols else np.zeros((size, size), dtype)
        return mat.reshape(shape + shape) if shape else float(mat[0, 0])
    hess.__name__ = f"hessian_{getattr(func, '__name__', 'f')}"
    return hess


def _jacobian_of_gradient(gradient, wrt):
    """jacobian(grad(f)) (the Hessian written as autograd's and JAX's users write it, and
    its mixed blocks for wrt other than grad's): by columns, jvp(grad(f)) along each basis
    tangent of the argument, shaped gradient.shape + argument.shape."""
    if gradient.is_tuple or gradient.with_value or gradient.has_aux:
        raise S2SGradError("jacobian of a gradient needs grad(f) with a single wrt (no "
                           "value_and_grad, no has_aux): jacobian(grad(f, wrt=i))")
    indices, is_tuple = resolve_wrt(gradient.original, wrt)
    tangent = JVPFunction(gradient)
    x_i = gradient.wrt[0] - len(gradient.bound_to)     # (among the arguments passed)

    def jac(*args):
        results = []
        for j in indices:
            x = args[j]
            cols = []
            for _, e in _basis(x):
                along = tuple(e if k == j else None for k in range(len(args)))
                cols.append(np.ravel(np.asarray(tangent(args, along)[1], dtype=float)))
            out_shape = np.shape(args[x_i])
            size = int(np.prod(out_shape)) if out_shape else 1
            mat = np.stack(cols, axis=1) if cols else np.zeros((size, 0))
            results.append(mat.reshape(out_shape + np.shape(x)) if np.shape(x) or out_shape
                           else float(mat[0, 0]))
        return tuple(results) if is_tuple else results[0]
    jac.__name__ = f"jacobian_{gradient.__name__}"
    return jac


def jacobian(func: Callable[..., Any], wrt: Any = 0,
             mode: str = "auto") -> Callable[..., Any]:
    """The Jacobian of f w.r.t. `wrt`, shaped out.shape + in.shape. mode 'auto' builds
    it by columns (forward mode) when the inputs are fewer than the outputs, else by
    rows (reverse mode). Either way in one batched pass (or a few, for memory): the
    basis tangents pushed through one batched forward pass, or the basis cotangents
    pulled back by one batched backward pass."""
    if mode not in ("auto", "forward", "reverse"):
        raise S2SGradError(f"jacobian mode must be 'auto', 'forward' or 'reverse', not {mode!r}")
    if isinstance(func, GradientFunction):
        return _jacobian_of_gradient(func, wrt)
    indices, is_tuple = resolve_wrt(func, wrt)
    _refuse_variadic(partial_parts(func)[0], "jacobian")
    forward = {}
    backward = {}

    def jac(*args):
        results = []
        value = None
        draws = _SameDraws(func, args, "jacobian")
        for i in indices:
            x = args[i]
            in_shape = np.shape(x)
            n_in = int(np.prod(in_shape)) if in_shape else 1
            if mode != "reverse":
                if value is None:       # (on copies: f may store into its arguments)
                    draws.rewind()
                    value = func(*_fresh(list(args), True, set()))
                n_out = int(np.prod(np.shape(value))) if np.shape(value) else 1
            use_forward = mode == "forward" or (mode == "auto" and n_in < n_out)
            if use_forward:
                base, fixed, keywords = partial_parts(func)
                if i not in forward:
                    forward[i] = BatchedTangent(base, i + len(fixed))
                tangent = forward[i]
                mat, out_shape = tangent.columns(fixed + tuple(args), n_in, keywords,
                                                 draws.rewind)
            else:
                if i not in backward:
                    backward[i] = vjp(func, wrt=i)
                pull_fn = backward[i]
                draws.rewind()
                value_i, pull = pull_fn(*args)
                out_shape = np.shape(value_i)
                mat = _rows(pull, out_shape, n_in)
            results.append(mat.reshape(out_shape + in_shape))
        return tuple(results) if is_tuple else results[0]
    jac.__name__ = f"jacobian_{getattr(func, '__name__', 'f')}"
    return jac


class SecondDerivative:
    """`grad(grad(f))`: the derivative of a scalar-valued gradient, by forward mode
    applied to the generated gradient code."""

    def __init__(self, inner, wrt=0):
        if not isinstance(inner, GradientFunction):
            raise S2SGradError("grad of a derivative needs grad(f) (or grad(grad(f)), ...) "
                               f"inside, not {type(inner).__name__}")
        if inner.is_tuple:
            raise S2SGradError("grad of a gradient needs the inner grad to have a single wrt")
        self.inner = inner
        _refuse_variadic(inner.func, "grad of grad")
        # (of a partial, a bound method or a callable object: the arguments its calls
        # pass first, and its fixed keywords, as the inner gradient's call passes them)
        self.fixed, self.keywords = inner.bound_to, inner.keywords
        (j,), _ = resolve_wrt(inner.original, wrt)
        self.j = j + len(self.fixed)
        self.is_tuple = False
        self._impl = _GradJvp(inner.func, inner.wrt[0], self.j)

    @property
    def source(self):
        self._impl.get()
        return self._impl.source

    def __call__(self, *args, **kwargs):
        from .runtime import grad_like
        args = self.fixed + args
        keywords = {**self.keywords, **kwargs}
        if np.ndim(args[self.inner.wrt[0]]) != 0:
            raise GradientError("grad(grad(f)) needs the inner gradient to be a scalar; "
                                "use s2sgrad.hessian or s2sgrad.hvp for arrays")
        x = args[self.j]
        out = np.zeros(np.shape(x))
        draws = _SameDraws(self.inner.func, args, "grad of grad", refuse=np.size(x) > 1)
        for k, e in _basis(x):
            draws.rewind()                    # (each entry: the draws of one call of f)
            _, d = self._impl(args, e, keywords)
            out.reshape(-1)[k] = float(np.sum(d))
        return grad_like(out if np.shape(x) else float(out), x)


class HigherDerivative:
    """`grad(grad(grad(f)))` and beyond: the derivative of a scalar-valued derivative of
    order two or more, by forward mode applied once per order to the generated gradient
    code (`pipeline.compile_tangent_chain`). Every argument differentiated by an inner
    level must be a scalar (its derivative is then the next level's scalar function);
    the outermost one may be an array."""

    def __init__(self, inner, wrt=0):
        if isinstance(inner, HigherDerivative):
            self.func, inner_wrts = inner.func, inner.wrts
            self.original = inner.original
        else:
            self.func, inner_wrts = inner.inner.func, (inner.inner.wrt[0], inner.j)
            self.original = inner.inner.original
        self.fixed, self.keywords = inner.fixed, inner.keywords     # (SecondDerivative's)
        if isinstance(wrt, (tuple, list)):
            raise S2SGradError("a derivative of order three or more takes one argument "
                               "index or name as wrt")
        (j,), _ = resolve_wrt(self.original, wrt)
        self.wrts = inner_wrts + (j + len(self.fixed),)
        self.is_tuple = False
        self._fn = self._compiled = None
        self.__name__ = f"grad{len(self.wrts)}_{getattr(unwrap(self.func), '__name__', 'f')}"

    def show(self):
        self.get()
        print(self.source, end="")

    def get(self):
        with _LOCK:
            if self._fn is None or not self._compiled.is_current():
                self._compiled = cached_compile(self.func, (self.wrts[0],), False)
                base = self._compiled.fdef.name.removeprefix("grad_")   # grad_lambda_L3
                self._fn, self.source = compile_tangent_chain(
                    self._compiled, self.wrts[1:], f"grad{len(self.wrts)}_{base}")
            return self._fn

    def __call__(self, *args, **kwargs):
        from .runtime import grad_like
        import inspect
        bound = inspect.signature(self.func).bind(*self.fixed, *args,
                                                  **{**self.keywords, **kwargs})
        bound.apply_defaults()
        args = bound.args
        for i in self.wrts[:-1]:
            if np.ndim(args[i]) != 0:
                raise GradientError(
                    f"a derivative of order {len(self.wrts)} needs every inner derivative "
                    f"to be a scalar, but argument {i} has shape {np.shape(args[i])}; use "
                    "s2sgrad.hessian or s2sgrad.hvp for arrays")
        fn = self.get()
        x = args[self.wrts[-1]]
        inner_seeds = [1.0] * (len(self.wrts) - 2)
        out = np.zeros(np.shape(x))
        for k, e in _basis(x):
            result = fn(*args, 1.0, *inner_seeds, e)
            for _ in range(len(self.wrts) - 1):
                result = result[1]
            out.reshape(-1)[k] = float(np.sum(result))
        return grad_like(out if np.shape(x) else float(out), x)
