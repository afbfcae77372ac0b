"""The public entry points: `grad`, `value_and_grad`, `source`, `check_grad`,
`numerical_grad` and `stop_gradient` (forward mode and the compositions of the two modes
are in `operators`). Each is a thin layer over `gradient.GradientFunction` and the
pipeline."""
from __future__ import annotations

import inspect
from typing import Any, Callable, Literal, Optional, Sequence, Union

import numpy as np

from .errors import CheckError, S2SGradError
from .gradient import GradientFunction, resolve_wrt, _param_names, _rebuild  # noqa: F401
from .operators import HigherDerivative, SecondDerivative
from .pipeline import compile_gradient  # noqa: F401
from .runtime import stop_gradient  # noqa: F401


Wrt = Union[int, str, Sequence[Union[int, str]]]
Checkpoint = Union[int, Literal["auto"], None]
Backend = Optional[Literal["numpy", "numba"]]


def grad(func: Optional[Callable[..., Any]] = None, wrt: Wrt = 0, optimize: bool = True,
         has_aux: bool = False, checkpoint: Checkpoint = None, backend: Backend = None,
         strict: bool = False) -> Any:
    """The gradient of a scalar function: `grad(f)`, `@grad`, `@grad(wrt=(0, 1))`.
    With `has_aux=True`, f returns `(value, aux)` and the call `(gradient(s), aux)`:
    aux as computed, not differentiated (JAX's convention). With `checkpoint=N` (or
    "auto"), long loops keep at most N snapshots of their state and recompute their
    steps in the backward pass (frontend/checkpoint.py). `backend="numba"` runs the
    generated code compiled by Numba (what Numba cannot compile runs as NumPy code,
    with a warning; `strict=True` makes that an error)."""
    if func is None:
        return lambda f: grad(f, wrt, optimize, has_aux, checkpoint, backend, strict)
    if isinstance(func, (GradientFunction, SecondDerivative, HigherDerivative)):
        if has_aux:
            raise S2SGradError("has_aux=True is for a function returning (value, aux), "
                               "not for a gradient (higher derivatives)")
        if checkpoint is not None:
            raise S2SGradError("checkpoint= applies to the gradient of a function, not to "
                               "higher derivatives")
        if backend not in (None, "numpy"):
            raise S2SGradError("backend= applies to the gradient of a function, not to "
                               "higher derivatives")
        if isinstance(func, GradientFunction):
            return SecondDerivative(func, wrt)
        return HigherDerivative(func, wrt)
    return GradientFunction(func, wrt, optimize, has_aux=has_aux, checkpoint=checkpoint,
                            backend=backend, strict=strict)


def value_and_grad(func: Optional[Callable[..., Any]] = None, wrt: Wrt = 0,
                   optimize: bool = True, has_aux: bool = False,
                   checkpoint: Checkpoint = None, backend: Backend = None,
                   strict: bool = False) -> Any:
    """Like `grad`, but the call returns `(value, gradient(s))`; with `has_aux=True`,
    `((value, aux), gradient(s))`."""
    if func is None:
        return lambda f: GradientFunction(f, wrt, optimize, with_value=True,
                                          has_aux=has_aux, checkpoint=checkpoint,
                                          backend=backend, strict=strict)
    return GradientFunction(func, wrt, optimize, with_value=True, has_aux=has_aux,
                            checkpoint=checkpoint, backend=backend, strict=strict)


def source(func: Callable[..., Any], wrt: Wrt = 0, optimize: bool = True,
           checkpoint: Checkpoint = None) -> str:
    """The generated gradient code of `func` as a string."""
    return GradientFunction(func, wrt, optimize, checkpoint=checkpoint).source


def checkpoint(func: Callable[..., Any]) -> Callable[..., Any]:
    """`@s2sgrad.checkpoint`: a call of `func` inside a differentiated function keeps
    only its inputs in the forward pass and runs `func`'s forward pass again in the
    backward pass (less memory, one more forward pass of `func`). The function itself
    is returned, marked, so it stays callable as before."""
    if not inspect.isfunction(func):
        raise S2SGradError(
            f"s2sgrad.checkpoint applies to a function defined with `def`, not to "
            f"{type(func).__name__} {func!r}")
    func.__s2sgrad_checkpoint__ = True
    return func


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


def check_grad(func: Callable[..., Any], *args: Any, wrt: Wrt = 0, rtol: float = 1e-5,
               atol: float = 1e-7) -> float:
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
