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
from .backend.numba import check_backend
from .gradient import GradientFunction, jit, resolve_wrt, _param_names
from .pipeline import cached_compile, compile_jvp, compile_pair, deep_expressions
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

    def __init__(self, func, backend=None, strict=False):
        self.func = func
        self.backend, self.strict = check_backend(backend), strict
        if isinstance(func, GradientFunction):          # jvp(grad(f)): forward over reverse
            compiled = cached_compile(func.func, func.wrt, func.is_tuple, func.optimize)
            self._parsed = gradient_parsed(compiled)
            self.params = [a.id for a in self._parsed.node.args.args]
        elif isinstance(func, (SecondDerivative, JVPFunction, HVPFunction)):
            raise S2SGradError("s2sgrad composes at most two derivatives: forward over "
                               "reverse (jvp(grad(f)), hvp, hessian)")
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
        fn, _ = self._get(active)
        # the tangent parameters follow f's, named as generated (syntax/reserved.py may
        # have renamed a parameter)
        code = fn.__code__
        names = code.co_varnames[code.co_argcount - len(active):code.co_argcount]
        kwargs = {k: _as_tangent(tangents[i], primals[i]) for k, i in zip(names, active)}
        if self.backend == "numba":
            fn = jit(fn, self.strict)
        return fn(*primals, **kwargs)


def _as_tangent(t, x):
    if isinstance(x, np.ndarray):       # a fresh array: results never alias the caller's
        return np.array(np.broadcast_to(t, x.shape), dtype=np.result_type(x.dtype, float))
    if isinstance(x, (float, np.floating)):
        return float(t)
    return t


def jvp(func, backend=None, strict=False):
    """Forward mode: `jvp(f)(primals, tangents)` → (f(*primals), J·tangents)."""
    return JVPFunction(func, backend, strict)


# ----------------------------------------------------------------------- vjp

class VJPFunction:
    def __init__(self, func, wrt=0, backend=None, strict=False):
        self.func = func
        self.backend, self.strict = check_backend(backend), strict
        self.wrt, self.is_tuple = resolve_wrt(func, wrt)
        self._pair = None
        self._deps = ()

    def _get(self):
        with _LOCK, deep_expressions(self.func):
            if self._pair is None or not _unchanged(self._deps):
                fwd, bwd, self.source, self._copy_arrays, self._deps = compile_pair(
                    self.func, self.wrt)           # (deps: the function's own cells too)
                if self.backend == "numba":
                    fwd, bwd = jit(fwd, self.strict), jit(bwd, self.strict)
                self._pair = (fwd, bwd)
            return self._pair

    def __call__(self, *args, **kwargs):
        fwd, bwd = self._get()
        # the pullback may run long after this call: keep our own copy of the arrays
        args = tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)
        value, saved = fwd(*args, **kwargs)
        wrt, is_tuple, bound = self.wrt, self.is_tuple, args
        copy_arrays, keep = self._copy_arrays, {id(a) for a in args}

        def pullback(cotangent):
            from .runtime import grad_like
            # the backward pass pops its stacks: run it on a copy so pullback can be
            # called again
            raw = bwd(_fresh(saved, copy_arrays, keep), cotangent)
            outs = tuple(grad_like(g, bound[i]) for g, i in zip(raw, wrt))
            return outs if is_tuple else outs[0]
        return value, pullback


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


def vjp(func, wrt=0, backend=None, strict=False):
    """Reverse mode for any output: `vjp(f, wrt)(*args)` → (value, pullback)."""
    return VJPFunction(func, wrt, backend, strict)


# ------------------------------------------------------------ forward over reverse

def gradient_parsed(compiled):
    """The generated gradient function as a `Parsed` record, ready to be compiled again."""
    fdef = nodes.clone(compiled.fdef)
    closure = dict(compiled.bindings)
    closure.update(compiled.functions)
    return Parsed(None, fdef, compiled.filename, compiled.full_text.splitlines(True),
                  compiled.parsed.namespace, closure)


class _GradJvp:
    """jvp of the gradient function of f w.r.t. argument i, along argument j."""

    def __init__(self, func, i, j, backend=None, strict=False):
        self.func, self.i, self.j = func, i, j
        self.backend, self.strict = backend, strict
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
                if self.backend == "numba":
                    self._fn = jit(self._fn, self.strict)
                self.param = compiled.trace.params[self.j]
            return self._fn

    def __call__(self, args, v):
        fn = self.get()
        g, gdot = fn(*args, **{dot(self.param): _as_tangent(v, args[self.j])})
        return g, gdot


class HVPFunction:
    def __init__(self, func, wrt=0, backend=None, strict=False):
        self.func = func
        backend = check_backend(backend)
        (self.i,), _ = resolve_wrt(func, wrt) if not isinstance(wrt, tuple) else \
            (None, None)
        if self.i is None:
            raise S2SGradError("hvp takes one argument index or name as wrt")
        self._impl = _GradJvp(func, self.i, self.i, backend, strict)

    @property
    def source(self):
        self._impl.get()
        return self._impl.source

    def __call__(self, *args_and_v):
        *args, v = args_and_v
        from .runtime import grad_like
        _, hv = self._impl(args, v)
        return grad_like(hv, args[self.i])


def hvp(func, wrt=0, backend=None, strict=False):
    """Hessian-vector product by forward-over-reverse: `hvp(f)(x, v)` → H(x)·v
    (for f of several arguments: `hvp(f, wrt)(*args, v)`)."""
    return HVPFunction(func, wrt, backend, strict)


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
    rows (reverse mode)."""
    if mode not in ("auto", "forward", "reverse"):
        raise S2SGradError(f"jacobian mode must be 'auto', 'forward' or 'reverse', not {mode!r}")
    indices, is_tuple = resolve_wrt(func, wrt)
    forward = JVPFunction(func)

    def jac(*args):
        value = func(*args)
        out_shape = np.shape(value)
        n_out = int(np.prod(out_shape)) if out_shape else 1
        results = []
        for i in indices:
            x = args[i]
            in_shape = np.shape(x)
            n_in = int(np.prod(in_shape)) if in_shape else 1
            use_forward = mode == "forward" or (mode == "auto" and n_in < n_out)
            if use_forward:
                cols = []
                for _, e in _basis(x):
                    tangents = [None] * len(args)
                    tangents[i] = e
                    _, t = forward(args, tangents)
                    cols.append(np.ravel(np.asarray(t, dtype=float)))
                mat = np.stack(cols, axis=1)
            else:
                _, pull = vjp(func, wrt=i)(*args)
                rows = []
                for _, e in _basis(np.zeros(out_shape)):
                    rows.append(np.ravel(np.asarray(pull(e), dtype=float)))
                mat = np.stack(rows, axis=0)
            results.append(mat.reshape(out_shape + in_shape))
        return tuple(results) if is_tuple else results[0]
    jac.__name__ = f"jacobian_{getattr(func, '__name__', 'f')}"
    return jac


class SecondDerivative:
    """`grad(grad(f))`: the derivative of a scalar-valued gradient, by forward mode
    applied to the generated gradient code."""

    def __init__(self, inner, wrt=0):
        if not isinstance(inner, GradientFunction):
            raise S2SGradError("s2sgrad composes at most two derivatives: grad(grad(f)) "
                               "works, a third needs more than forward over reverse")
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
