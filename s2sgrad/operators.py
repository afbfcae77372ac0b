"""Forward mode and the compositions built from the two modes:

- `jvp(f)(primals, tangents)` → (value, directional derivative): generated tangent code;
- `vjp(f, wrt)(*args)` → (value, pullback): the generated forward/backward pair, the
  pullback runs only the backward half;
- `jacobian(f, wrt)`: columns by JVP when the inputs are few, rows by VJP otherwise;
- `hvp(f)(x, v)` and `hessian(f)`: forward over reverse — the generated gradient code is
  fed back into the compiler and differentiated in forward mode;
- `grad(grad(f))` for scalar inputs goes the same way.
"""
import threading

import numpy as np

from .ad.tangent import dot
from .errors import GradientError, S2SGradError
from .frontend.parse import CellView, Parsed, parse_function, unwrap
from .gradient import GradientFunction, resolve_wrt, _param_names
from .pipeline import (cached_compile, compile_jvp, compile_pair, compile_tangent_chain,
                       deep_expressions, gradient_parsed)
from .syntax import nodes

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
    return False


def _unchanged(deps):
    """Do the closure cells and other modules' globals the code took values from still
    hold them (`nonlocal` or an assignment may have rebound one)?"""
    return all(ns.get(name) is value for ns, name, value in deps)


class JVPFunction:
    """What `jvp(f)` returns: call with (primals, tangents); `.source` shows the code."""

    def __init__(self, func):
        self.func = func
        if isinstance(func, GradientFunction):          # jvp(grad(f)): forward over reverse
            compiled = cached_compile(func.func, func.wrt, func.is_tuple, func.optimize)
            self._parsed = gradient_parsed(compiled)
            self.params = [a.id for a in self._parsed.node.args.args]
        elif isinstance(func, HVPFunction):             # jvp(hvp(f)): third order
            self._parsed = None
            self.params = _param_names(func.func) + ["v"]
        elif isinstance(func, (SecondDerivative, JVPFunction)):
            raise S2SGradError("jvp composes with f, grad(f) and hvp(f); for higher "
                               "derivatives of a scalar function nest grad: "
                               "grad(grad(grad(f)))")
        else:
            self._parsed = None
            self.params = _param_names(func)
        self._cache = {}

    def _get(self, active):
        with _LOCK, deep_expressions(self.func):
            hit, deps = self._cache.get(active, (None, ()))
            if hit is None or not _unchanged(deps):
                parsed = self._parsed or parse_function(self.func)
                name = getattr(unwrap(self.func), "__name__", "f") if self._parsed is None \
                    else parsed.node.name
                deps = [(CellView(cell), n, parsed.closure[n])
                        for n, cell in parsed.cells.items()]
                deps += getattr(parsed, "name_deps", [])   # globals bound under a new name
                hit = compile_jvp(parsed, active, f"jvp_{name}", deps=deps)
                self._cache[active] = hit, deps
            return hit

    @property
    def source(self):
        return self._get(tuple(range(len(self.params))))[1]

    def show(self):
        print(self.source, end="")

    def __call__(self, primals, tangents):
        primals, tangents = tuple(primals), tuple(tangents)
        if len(primals) != len(tangents):
            raise S2SGradError("jvp needs one tangent per primal argument "
                               f"({len(primals)} primals, {len(tangents)} tangents)")
        active = tuple(i for i, (p, t) in enumerate(zip(primals, tangents))
                       if t is not None and _is_float_like(p)
                       and not isinstance(p, (int, np.integer)))
        if isinstance(self.func, HVPFunction):
            return self._hvp_tangent(primals, tangents, active)
        fn, _ = self._get(active)
        # the tangent parameters follow f's, named as generated (syntax/reserved.py may
        # have renamed a parameter)
        code = fn.__code__
        names = code.co_varnames[code.co_argcount - len(active):code.co_argcount]
        kwargs = {k: _as_tangent(tangents[i], primals[i]) for k, i in zip(names, active)}
        return fn(*primals, **kwargs)


def _jvp_of_hvp(self, primals, tangents, active):
    """jvp(hvp(f))((*args, v), (*ṫ, v̇)) → (H·v, D(H·v)[ṫ, v̇]): the tangent code of the
    forward-over-reverse code, along f's arguments and v at once (third order in f)."""
    hvp_ = self.func
    n = len(primals) - 1
    # the hvp code's parameters: f's, the output's adjoint, then v (as x_dot)
    along = tuple(i if i < n else n + 1 for i in active)
    with _LOCK:
        compiled = cached_compile(hvp_.func, (hvp_.i,), False)
        key = ("hvp", along)
        hit = self._cache.get(key)
        if hit is None or hit[0] is not compiled:
            fn, source = compile_tangent_chain(
                compiled, [(hvp_.i,), along],
                "jvp_hvp_" + compiled.fdef.name.removeprefix("grad_"))
            hit = self._cache[key] = compiled, fn, source
    _, fn, _ = hit
    *args, v = primals
    x = args[hvp_.i]
    dots = [_as_tangent(tangents[i], primals[i]) for i in active]
    (_, hv), (_, hv_dot) = fn(*args, 1.0, _as_tangent(v, x), *dots)
    from .runtime import grad_like
    return grad_like(hv, x), grad_like(hv_dot, x)


JVPFunction._hvp_tangent = _jvp_of_hvp


def _as_tangent(t, x):
    if isinstance(x, np.ndarray):       # a fresh array: results never alias the caller's
        return np.array(np.broadcast_to(t, x.shape), dtype=np.result_type(x.dtype, float))
    if isinstance(x, (float, np.floating)):
        return float(t)
    return t


def jvp(func):
    """Forward mode: `jvp(f)(primals, tangents)` → (f(*primals), J·tangents)."""
    return JVPFunction(func)


# ----------------------------------------------------------------------- vjp

class VJPFunction:
    def __init__(self, func, wrt=0):
        self.func = func
        self.wrt, self.is_tuple = resolve_wrt(func, wrt)
        self._pair = None
        self._deps = ()

    def _get(self):
        with _LOCK, deep_expressions(self.func):
            if self._pair is None or not _unchanged(self._deps):
                fwd, bwd, self.source, self._copy_arrays, self._deps = compile_pair(
                    self.func, self.wrt)           # (deps: the function's own cells too)
                self._pair = (fwd, bwd)
            return self._pair

    def __call__(self, *args, **kwargs):
        fwd, bwd = self._get()
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
                    raw = self._batched_backward()(_fresh(saved, copy_arrays, keep), cts)
                except RaggedExamples:      # (a value inside differs in shape: one by one)
                    raw = stack_examples([bwd(_fresh(saved, True, keep), c) for c in cts])
                outs = tuple(batched_grad_like(g, bound[i], (True, False))
                             for g, i in zip(raw, wrt))
            else:
                raw = bwd(_fresh(saved, copy_arrays, keep), cotangent)
                outs = tuple(grad_like(g, bound[i]) for g, i in zip(raw, wrt))
            return outs if is_tuple else outs[0]
        return value, pullback

    def _batched_backward(self):
        """The backward half batched over its output's adjoint (generated once); a loop
        over the cotangents where it has no batched form."""
        with _LOCK, deep_expressions(self.func):
            if getattr(self, "_bbwd", None) is None or self._bbwd[1] is not self._pair:
                self._bbwd = (_batch_backward(self.func, self.wrt, self._pair[1]),
                              self._pair)
            return self._bbwd[0][0]

    @property
    def batched_source(self):
        """The batched backward half `pullback(cts, batched=True)` runs."""
        self._get()
        self._batched_backward()
        return self._bbwd[0][1]


def _fresh(value, copy_arrays, keep):
    """A copy of saved forward state deep enough for the backward pass to consume."""
    if isinstance(value, list):
        return [_fresh(v, copy_arrays, keep) for v in value]
    if isinstance(value, tuple):
        return tuple(_fresh(v, copy_arrays, keep) for v in value)
    if isinstance(value, dict):
        return {k: _fresh(v, copy_arrays, keep) for k, v in value.items()}
    if copy_arrays and isinstance(value, np.ndarray) and id(value) not in keep:
        return value.copy()
    return value


def vjp(func, wrt=0):
    """Reverse mode for any output: `vjp(f, wrt)(*args)` → (value, pullback)."""
    return VJPFunction(func, wrt)


# ------------------------------------------------------------ forward over reverse

class _GradJvp:
    """jvp of the gradient function of f w.r.t. argument i, along argument j."""

    def __init__(self, func, i, j):
        self.func, self.i, self.j = func, i, j
        self._fn = None

    def get(self):
        with _LOCK:
            # (the gradient's code holds some values, e.g. a renamed global: rebuilt
            # when they change)
            if self._fn is None or not self._compiled.is_current():
                compiled = self._compiled = cached_compile(self.func, (self.i,), False)
                parsed = gradient_parsed(compiled)
                self._fn, self.source = compile_jvp(
                    parsed, (self.j,), f"hvp_{unwrap(self.func).__name__}")
                self.param = compiled.trace.params[self.j]
            return self._fn

    def __call__(self, args, v):
        fn = self.get()
        g, gdot = fn(*args, **{dot(self.param): _as_tangent(v, args[self.j])})
        return g, gdot


class HVPFunction:
    def __init__(self, func, wrt=0):
        self.func = func
        (self.i,), _ = resolve_wrt(func, wrt) if not isinstance(wrt, tuple) else \
            (None, None)
        if self.i is None:
            raise S2SGradError("hvp takes one argument index or name as wrt")
        self._impl = _GradJvp(func, self.i, self.i)

    @property
    def source(self):
        self._impl.get()
        return self._impl.source

    def __call__(self, *args_and_v):
        *args, v = args_and_v
        from .runtime import grad_like
        _, hv = self._impl(args, v)
        return grad_like(hv, args[self.i])


def hvp(func, wrt=0):
    """Hessian-vector product by forward-over-reverse: `hvp(f)(x, v)` → H(x)·v
    (for f of several arguments: `hvp(f, wrt)(*args, v)`)."""
    return HVPFunction(func, wrt)


def _basis(x):
    x = np.asarray(x, dtype=float)
    for k in range(x.size):
        e = np.zeros(x.size)
        e[k] = 1.0
        yield k, e.reshape(x.shape) if x.shape else float(e[0])


def hessian(func, wrt=0):
    """The Hessian of scalar f w.r.t. one argument (columns by forward-over-reverse)."""
    h = HVPFunction(func, wrt)

    def hess(*args):
        x = args[h.i]
        shape = np.shape(x)
        cols = [np.ravel(np.asarray(h(*args, e), dtype=float)) for _, e in _basis(x)]
        size = int(np.prod(shape)) if shape else 1
        mat = np.stack(cols, axis=1) if cols else np.zeros((size, size))
        return mat.reshape(shape + shape) if shape else float(mat[0, 0])
    hess.__name__ = f"hessian_{getattr(func, '__name__', 'f')}"
    return hess


def jacobian(func, wrt=0, mode="auto"):
    """The Jacobian of f w.r.t. `wrt`, shaped out.shape + in.shape. mode 'auto' builds
    it by columns (forward mode) when the inputs are fewer than the outputs, else by
    rows (reverse mode). Either way in one batched pass (or a few, for memory): the
    basis tangents pushed through one batched forward pass, or the basis cotangents
    pulled back by one batched backward pass."""
    if mode not in ("auto", "forward", "reverse"):
        raise S2SGradError(f"jacobian mode must be 'auto', 'forward' or 'reverse', not {mode!r}")
    indices, is_tuple = resolve_wrt(func, wrt)
    forward = {}
    backward = {}

    def jac(*args):
        results = []
        value = None
        for i in indices:
            x = args[i]
            in_shape = np.shape(x)
            n_in = int(np.prod(in_shape)) if in_shape else 1
            if mode != "reverse":
                if value is None:
                    value = func(*args)
                n_out = int(np.prod(np.shape(value))) if np.shape(value) else 1
            use_forward = mode == "forward" or (mode == "auto" and n_in < n_out)
            if use_forward:
                if i not in forward:
                    forward[i] = BatchedTangent(func, i)
                tangent = forward[i]
                mat, out_shape = tangent.columns(args, n_in)
            else:
                if i not in backward:
                    backward[i] = vjp(func, wrt=i)
                pull_fn = backward[i]
                value_i, pull = pull_fn(*args)
                out_shape = np.shape(value_i)
                mat = _rows(pull, out_shape, n_in)
            results.append(mat.reshape(out_shape + in_shape))
        return tuple(results) if is_tuple else results[0]
    jac.__name__ = f"jacobian_{getattr(func, '__name__', 'f')}"
    return jac


#: elements of a chunk of stacked basis vectors and of what they give
_CHUNK = 1 << 22


def _chunks(n, width):
    step = max(1, _CHUNK // max(1, width))
    for start in range(0, n, step):
        yield start, min(n, start + step)


def _rows(pull, out_shape, n_in):
    """The Jacobian's rows: the basis cotangents stacked, pulled back in chunks."""
    n_out = int(np.prod(out_shape)) if out_shape else 1
    if n_out == 0:
        return np.zeros((0, n_in))
    parts = []
    for lo, hi in _chunks(n_out, max(n_in, n_out)):
        cts = np.zeros((hi - lo, n_out))
        cts[np.arange(hi - lo), np.arange(lo, hi)] = 1.0
        g = pull(cts.reshape((hi - lo,) + out_shape), batched=True)
        parts.append(np.reshape(np.asarray(g, dtype=float), (hi - lo, n_in)))
    return np.concatenate(parts, axis=0)


class BatchedTangent:
    """The tangent code of f along argument i, batched over the tangent: a stack of
    tangents pushed through one forward pass (what `jacobian(mode="forward")` runs)."""

    def __init__(self, func, i):
        self.func, self.i = func, i
        self._hit = None

    def get(self):
        with _LOCK, deep_expressions(self.func):
            if self._hit is None:
                self._hit = self._build()
            return self._hit

    @property
    def source(self):
        return self.get()[1]

    def _build(self):
        from .ad.batching import NoBatchingRule
        from .pipeline import compile_batched, tangent_definition
        name = f"jvp_{getattr(unwrap(self.func), '__name__', 'f')}"
        fdef, parsed, bindings, callee_defs = tangent_definition(self.func, (self.i,), name)
        params = [a.id for a in fdef.args.args]
        t = params[-1]
        try:
            fn, source, notes = compile_batched(
                fdef, [t], parsed, bindings, f"batched_{name}",
                f"Batched: {t} is a stack of tangents along a new leading axis.", callee_defs)
        except NoBatchingRule as exc:
            _warn_loop(name, exc.what, _in_generated(parsed))
            single = bindings[name]

            def looped(*args, **kw):
                (ts,) = kw.values()
                outs = [single(*args, **{t: tk}) for tk in ts]
                from .runtime import stack_examples
                return stack_examples(outs)
            return looped, _loop_source(f"batched_{name}", name, params, [len(params) - 1],
                                        exc.what), t
        for line, what in notes:
            _warn_loop(name, what, _in_generated(parsed))
        return fn, source, t

    def columns(self, args, n_in):
        """(the Jacobian's columns as an (n_out, n_in) matrix, out.shape)."""
        fn, _, t = self.get()
        x = args[self.i]
        in_shape = np.shape(x)
        dtype = np.result_type(np.asarray(x).dtype, float)
        parts, out_shape = [], None
        for lo, hi in _chunks(n_in, n_in):
            ts = np.zeros((hi - lo, n_in), dtype)
            ts[np.arange(hi - lo), np.arange(lo, hi)] = 1.0
            ts = ts.reshape((hi - lo,) + in_shape)
            _, tangent = fn(*args, **{t: ts})
            if isinstance(tangent, (list, tuple)):      # a list output: items as columns
                tangent = np.stack([np.broadcast_to(np.asarray(v, float), (hi - lo,)
                                                    + np.shape(v)[1:]) for v in tangent],
                                   axis=1)
            tangent = np.asarray(tangent, dtype=float)
            out_shape = tangent.shape[1:]
            parts.append(tangent.reshape(hi - lo, -1))
        if not parts:
            value = self.func(*args)
            out_shape = np.shape(value)
            return np.zeros((int(np.prod(out_shape)), 0)), out_shape
        return np.concatenate(parts, axis=0).T, out_shape


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
        (self.j,), _ = resolve_wrt(inner.func, wrt)
        self.is_tuple = False
        self._impl = _GradJvp(inner.func, inner.wrt[0], self.j)

    @property
    def source(self):
        self._impl.get()
        return self._impl.source

    def __call__(self, *args):
        from .runtime import grad_like
        if np.ndim(args[self.inner.wrt[0]]) != 0:
            raise GradientError("grad(grad(f)) needs the inner gradient to be a scalar; "
                                "use s2sgrad.hessian or s2sgrad.hvp for arrays")
        x = args[self.j]
        out = np.zeros(np.shape(x))
        for k, e in _basis(x):
            _, d = self._impl(args, e)
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
        else:
            self.func, inner_wrts = inner.inner.func, (inner.inner.wrt[0], inner.j)
        if isinstance(wrt, (tuple, list)):
            raise S2SGradError("a derivative of order three or more takes one argument "
                               "index or name as wrt")
        (j,), _ = resolve_wrt(self.func, wrt)
        self.wrts = inner_wrts + (j,)
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
        bound = inspect.signature(self.func).bind(*args, **kwargs)
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


# ------------------------------------------------------------------ vmap

def _loop_source(name, label, params, batched, what):
    """The source of the loop over the examples that runs when the code has no batched
    form (shown by `.source`, like generated code)."""
    first = params[batched[0]]
    call = ", ".join(f"{p}[k]" if i in batched else p for i, p in enumerate(params))
    return (f"def {name}({', '.join(params)}):\n"
            f"    # no batching rule for {what}: {label} runs once per example\n"
            f"    return stack_examples([{label}({call}) for k in range(np.shape({first})[0])])\n")


def _warn_loop(label, what, where):
    import warnings
    from .errors import BatchingWarning
    at = f" ({where})" if where else ""
    warnings.warn(f"batching {label}: no batching rule for {what}{at}; that part runs in "
                  "a Python loop over the examples", BatchingWarning, stacklevel=4)


def _where(parsed, line):
    return f"{parsed.filename}:{line}" if parsed is not None and line else ""


def _in_generated(parsed):
    """Where a note about generated code points: the user's function it came from."""
    if parsed is None:
        return ""
    return f"in the code generated from {parsed.filename}:{getattr(parsed.node, 'lineno', '?')}"


def _stack_results(results, parsed, label):
    """The examples' results stacked along a new leading axis; results that cannot be
    stacked (of different shapes, or not numbers and arrays) are refused where the
    function returns them."""
    from .runtime import stack_examples, RaggedExamples
    try:
        return stack_examples(results)
    except (RaggedExamples, ValueError, TypeError) as exc:
        node = None
        if parsed is not None:
            import gast
            found = [n for n in gast.walk(parsed.node) if isinstance(n, gast.Return)
                     and getattr(n, "lineno", None)]
            node = max(found, key=lambda n: n.lineno) if found else parsed.node
        msg = (f"vmap of {label} needs every example's result to be a number, an array "
               f"or a tuple of them, all examples alike, to stack them along axis 0 "
               f"({exc})")
        hint = "return arrays of one shape for every example"
        if parsed is None:
            raise S2SGradError(msg + "; " + hint) from None
        raise parsed.error(msg, node, hint) from None


class VMapFunction:
    """What `vmap(f, in_axes)` returns: f mapped over a leading batch axis of some of
    its arguments, by batched code generated from f's (or f's gradient's) code, or a loop
    over the examples where there is no batching rule. `.source` shows the code."""

    def __init__(self, func, in_axes=0, out_axes=0):
        if out_axes != 0:
            raise S2SGradError(f"vmap supports out_axes=0 (results stacked along a new "
                               f"leading axis), not out_axes={out_axes!r}; move the axis "
                               "afterwards with np.moveaxis")
        if not (in_axes is None or isinstance(in_axes, (int, tuple, list))) or \
                isinstance(in_axes, bool):
            raise S2SGradError(f"vmap's in_axes is an int, None or a tuple of them (one "
                               f"per argument), not {in_axes!r}")
        self.func, self.in_axes, self.out_axes = func, in_axes, out_axes
        self._cache = {}
        self._last = self._origin = self._key = None
        self.notes = []
        self.__name__ = "vmap_" + getattr(func, "__name__", "f")

    @property
    def source(self):
        if self._last is None:
            raise S2SGradError("vmap compiles for the arguments of a call (which of them "
                               "are batched, their shapes): call it once, then read .source")
        return self._last[1]

    def show(self):
        print(self.source, end="")

    def _axes(self, args):
        axes = self.in_axes
        if isinstance(axes, (tuple, list)):
            if len(axes) != len(args):
                raise S2SGradError(f"vmap's in_axes has {len(axes)} entries for "
                                   f"{len(args)} arguments: give one per argument")
            return tuple(axes)
        return (axes,) * len(args)

    def __call__(self, *args):
        axes = self._axes(args)
        moved, size = [], None
        for i, (a, ax) in enumerate(zip(args, axes)):
            if ax is None:
                moved.append(a)
                continue
            if isinstance(ax, bool) or not isinstance(ax, int):
                raise S2SGradError(f"vmap's in_axes entry for argument {i} is {ax!r}: an "
                                   "int or None")
            if isinstance(a, (int, float, complex, np.number)) or np.ndim(a) == 0:
                raise S2SGradError(f"vmap maps argument {i} over axis {ax}, but it is a "
                                   "number (no axis to map over): give it in_axes None")
            arr = np.asarray(a)
            if arr.dtype == object:
                raise S2SGradError(f"vmap maps argument {i} over axis {ax}, but it is not "
                                   "an array of numbers")
            if not -arr.ndim <= ax < arr.ndim:
                raise S2SGradError(f"vmap maps argument {i} over axis {ax}, but it has "
                                   f"{arr.ndim} axes")
            arr = np.moveaxis(arr, ax, 0) if ax % arr.ndim else arr
            if size is not None and arr.shape[0] != size:
                raise S2SGradError(f"vmap: argument {i} has {arr.shape[0]} examples along "
                                   f"its mapped axis, an earlier one {size}")
            size = arr.shape[0]
            moved.append(arr)
        batched = tuple(i for i, ax in enumerate(axes) if ax is not None)
        if not batched:
            raise S2SGradError("vmap needs at least one argument with an axis to map over "
                               "(every in_axes entry is None)")
        if size == 0:
            raise S2SGradError("vmap needs at least one example along the mapped axis")
        fn = self._get(moved, batched)
        from .runtime import RaggedExamples
        try:
            return fn(*moved)
        except RaggedExamples as exc:
            if getattr(fn, "is_loop", False):
                raise
            # a value inside that differs in shape between examples: the whole function
            # once per example (where only the results must stack)
            hit = self._loop(self.func, getattr(self.func, "__name__", "f"),
                             [a[0] if i in batched else a for i, a in enumerate(moved)],
                             batched, f"a value whose shape differs between examples "
                             f"({exc})", self._origin)
            with _LOCK:
                self._cache[self._key] = self._last = hit
            return hit[0](*moved)

    def _get(self, moved, batched):
        from .pipeline import kinds_of
        examples = [a[0] if i in batched else a for i, a in enumerate(moved)]
        key = self._key = (batched, kinds_of(examples))
        with _LOCK:
            hit = self._cache.get(key)
            if hit is None:
                hit = self._cache[key] = self._build(examples, batched)
            self._last = hit
        return hit[0]

    def _build(self, examples, batched):
        """(function, source) for calls batched at `batched` with such examples."""
        func = self.func
        label = getattr(func, "__name__", "f")
        parsed = self._origin = None
        self._checks_value = False
        callee_defs = self._callee_defs = ()
        reason = "a function without Python source s2sgrad can batch"
        try:
            if isinstance(func, GradientFunction):
                reason = "a gradient with bound arguments, keywords, its value or aux"
                fdef, parsed, bindings = self._gradient_code(examples)
                callee_defs = self._callee_defs
            elif callable(func) and not isinstance(func, (JVPFunction, VJPFunction,
                                                          HVPFunction, VMapFunction)):
                from .pipeline import normalized_function
                fdef, parsed = normalized_function(func)
                self._origin = parsed
                bindings = dict(parsed.closure)
            else:
                fdef = None
        except S2SGradError as exc:
            fdef, reason = None, f"a function s2sgrad cannot read ({str(exc).splitlines()[0]})"
        if fdef is None:
            return self._loop(func, label, examples, batched, reason, parsed)
        params = [a.id for a in fdef.args.args]
        names = [params[i] for i in batched if i < len(params)]
        from .ad.batching import NoBatchingRule
        from .pipeline import compile_batched
        try:
            with deep_expressions(func):
                fn, source, notes = compile_batched(
                    fdef, names, parsed, bindings, f"vmap_{fdef.name}",
                    f"Batched by vmap: {', '.join(names)} carry one example per entry of "
                    f"their leading axis.", callee_defs)
        except NoBatchingRule as exc:
            line = getattr(exc.node, "lineno", None)
            return self._loop(func, label, examples, batched, exc.what,
                              self._origin or parsed, line)
        for line, what in notes:
            _warn_loop(label, what, self._location(line))
        self.notes = list(notes)
        if self._checks_value:
            fn = _grads_of_scalar_values(fn, label)
        return fn, source

    def _gradient_code(self, examples):
        """The generated gradient of a `grad(f)` for such examples, as a definition."""
        gf = self.func
        if gf.bound_to or gf.keywords or gf.with_value or gf.has_aux:
            return None, None, None
        from .pipeline import compile_kinds, kinds_of
        compiled = cached_compile(gf.func, gf.wrt, gf.is_tuple, gf.optimize,
                                  compile_kinds(kinds_of(examples)))
        parsed = gradient_parsed(compiled)
        self._callee_defs = compiled.callee_defs
        if not compiled.scalar_output:
            # the value must be checked to be a number, example by example: batch
            # value_and_grad_f, whose definition is the last of its source
            import gast
            defs = [d for d in gast.parse(compiled.value_source).body
                    if isinstance(d, gast.FunctionDef)]
            parsed.node = defs[-1]
            self._checks_value = True
        self._origin = compiled.parsed            # (where notes point: the user's file)
        return parsed.node, parsed, dict(parsed.closure)

    def _location(self, line):
        if isinstance(self.func, GradientFunction):
            return _in_generated(self._origin)
        return _where(self._origin, line)

    def _loop(self, func, label, examples, batched, what, parsed, line=None):
        _warn_loop(label, what, self._location(line))
        self.notes = [(line, what)]
        n = len(examples)
        params = list(_safe_params(func, n))

        def looped(*args):
            size = np.shape(args[batched[0]])[0]
            results = [func(*[a[k] if i in batched else a for i, a in enumerate(args)])
                       for k in range(size)]
            return _stack_results(results, parsed if not isinstance(func, GradientFunction)
                                  else None, label)
        looped.is_loop = True
        return looped, _loop_source(f"vmap_{label}", label, params, batched, what)


def _grads_of_scalar_values(fn, label):
    """The batched value_and_grad_f → the gradients, once every example's value is
    known to be a number (what grad checks of one call)."""
    def grads(*args):
        value, g = fn(*args)
        if np.ndim(value) != 1:
            raise GradientError(f"grad needs a scalar output, but each example of {label} "
                                f"gave shape {np.shape(value)[1:]}; reduce it (np.sum, "
                                "np.mean) or use s2sgrad.vjp with an output cotangent")
        return g
    return grads


def _safe_params(func, n):
    try:
        names = _param_names(func.func if isinstance(func, GradientFunction) else func)
    except Exception:
        names = []
    names = list(names)[:n]
    return names + [f"arg{i}" for i in range(len(names), n)]


def vmap(func, in_axes=0, out_axes=0):
    """`vmap(f, in_axes)(*args)`: f applied to each example of a batch, the results
    stacked along a new leading axis (JAX's form). `in_axes` is an int, None or a tuple
    of them (one per argument): the axis of each argument that holds the examples (None:
    the same value for every example). Works on a plain function and on a gradient:
    `vmap(grad(loss), in_axes=(None, 0, 0))(w, X, y)` gives per-example gradients."""
    return VMapFunction(func, in_axes, out_axes)


def _batch_backward(func, wrt, bwd):
    """(function, source) of the backward half of `func`'s pair batched over its output's
    adjoint (the saved forward values are shared by every cotangent)."""
    from .ad.batching import NoBatchingRule
    from .pipeline import compile_batched, pair_backward
    fdef, parsed, bindings, defs = pair_backward(func, wrt)
    saved, ct = [a.id for a in fdef.args.args][:2]
    label = fdef.name
    try:
        fn, source, notes = compile_batched(
            fdef, [ct], parsed, bindings, f"batched_{fdef.name}",
            f"Batched: {ct} is a stack of cotangents along a new leading axis.",
            [d for d in defs if d is not fdef])
    except NoBatchingRule as exc:
        what = exc.what
        _warn_loop(label, what, _in_generated(parsed))

        def looped(saved_values, cts):
            from .runtime import stack_examples
            return stack_examples([bwd(_fresh(saved_values, True, ()), c) for c in cts])
        return looped, _loop_source(f"batched_{label}", label, [saved, ct], [1], what)
    for line, what in notes:
        _warn_loop(label, what, _in_generated(parsed))
    return fn, source
