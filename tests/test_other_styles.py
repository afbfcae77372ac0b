"""Other people's differentiable NumPy code (tests/other_styles) against independent oracles.

Every corpus entry is differentiated with respect to each of its floating arguments and
compared with centered finite differences in float64 (tests/numeric.py); the unoptimized
generated code must give the same numbers as the optimized code; and, when autograd is
importable, the same source run with ``autograd.numpy`` is a second oracle.

An entry s2sgrad refuses must be refused with a located TransformError containing the
declared fragment (so a refusal that turns into a number is noticed); an entry on which
s2sgrad is known to give a wrong number or to crash is a strict xfail naming the defect.
"""
import copy
import functools

import numpy as np
import pytest

import s2sgrad
from s2sgrad.errors import TransformError

try:  # tests/ as a package or as a rootdir-inserted directory
    from . import other_styles
    from .numeric import check_grads, numerical_grad
except ImportError:
    import other_styles
    from numeric import check_grads, numerical_grad

ENTRIES = other_styles.load()


def _tolerances(entry, args):
    """Float64 centered differences agree to ~1e-8; float32 arithmetic to ~1e-4."""
    if entry.is_float32(args):
        return 5e-3, 5e-4
    return 1e-5, 1e-6


def _params(entries, crashes_only=False):
    """One parameter per entry; a known defect is a strict xfail (with ``crashes_only``,
    only an exception fails: a wrong number is the same wrong number without the
    optimizer)."""
    out = []
    for e in entries:
        marks = []
        if e.xfail and (e.xfail.startswith("crash") or not crashes_only):
            marks.append(pytest.mark.xfail(strict=True, reason=e.xfail))
        out.append(pytest.param(e, id=e.id, marks=marks))
    return out


def _wrt(entry, args):
    idx = entry.float_args(args)
    assert idx, "%s has no floating argument to differentiate" % entry.id
    return idx


def _on_copies(func):
    """``func`` called on copies of its arguments: finite differences read the perturbed
    point after the call, and a function that updates its arguments in place (as plain
    NumPy code may) must not move it."""
    @functools.wraps(func)
    def called(*args):
        return func(*copy.deepcopy(args))
    return called


def _oracle_args(args):
    """float32 arguments as float64 for the oracle (finite differences need float64)."""
    return tuple(np.asarray(a, dtype=np.float64) if getattr(a, "dtype", None) == np.float32
                 else a for a in args)


@pytest.mark.parametrize("entry", _params(ENTRIES))
def test_gradient_matches_finite_differences(entry):
    args = entry.args()
    wrt = _wrt(entry, args)
    if entry.refused:
        with pytest.raises(TransformError, match=entry.refused) as info:
            s2sgrad.grad(entry.func, wrt=wrt)(*args)
        assert info.value.filename and info.value.lineno, "refusal must be located"
        return
    got = s2sgrad.grad(entry.func, wrt=wrt)(*args)
    for i, (a, b) in enumerate(zip(args, entry.args())):
        if isinstance(a, np.ndarray):
            assert a.dtype == b.dtype and np.array_equal(a, b), \
                "s2sgrad mutated argument %d" % i
    expected = numerical_grad(_on_copies(entry.func), _oracle_args(args), wrt)
    rtol, atol = _tolerances(entry, args)
    check_grads(entry.func, args, got, wrt=wrt, rtol=rtol, atol=atol, expected=expected)


def _as_tuple(g):
    return g if isinstance(g, tuple) else (g,)


@pytest.mark.parametrize("entry", _params([e for e in ENTRIES if not e.refused],
                                          crashes_only=True))
def test_unoptimized_code_gives_the_same_numbers(entry):
    args = entry.args()
    wrt = _wrt(entry, args)
    fast = _as_tuple(s2sgrad.grad(entry.func, wrt=wrt)(*args))
    slow = _as_tuple(s2sgrad.grad(entry.func, wrt=wrt, optimize=False)(*args))
    rtol = 1e-4 if entry.is_float32(args) else 1e-9
    for a, b in zip(fast, slow):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * 1e-3)


def _autograd_params():
    try:
        import autograd  # noqa: F401
    except ImportError:
        return [pytest.param(None, None, id="autograd",
                             marks=pytest.mark.skip(reason="autograd is not installed"))]
    twins = {}
    for name in other_styles.MODULES:
        twins.update({(name, k): v for k, v in
                      other_styles.load_with("autograd.numpy", name).items()})
    out = []
    for e in ENTRIES:
        if e.refused:
            continue
        twin = twins[(e.id.split(".", 1)[0], e.id.split(".", 1)[1])]
        marks = []
        if e.no_autograd:
            marks.append(pytest.mark.skip(reason="autograd cannot run it: " + e.no_autograd))
        elif e.xfail:
            marks.append(pytest.mark.xfail(strict=True, reason=e.xfail))
        out.append(pytest.param(e, twin, id=e.id, marks=marks))
    return out


@pytest.mark.parametrize("entry, twin", _autograd_params())
def test_gradient_matches_autograd(entry, twin):
    import autograd

    args = entry.args()
    wrt = _wrt(entry, args)
    got = _as_tuple(s2sgrad.grad(entry.func, wrt=wrt)(*args))
    want = autograd.grad(twin.func, wrt if len(wrt) > 1 else wrt[0])(*_oracle_args(args))
    want = _as_tuple(want)
    rtol, atol = _tolerances(entry, args)
    for i, g, w in zip(wrt, got, want):
        np.testing.assert_allclose(np.asarray(g, dtype=np.float64), w, rtol=rtol, atol=atol,
                                   err_msg="d/d arg %d" % i)


# ------------------------------------------------------------ state that changes between calls

def _make_counter_scaled():
    """A closure whose cell is rebound after the function is made (a setter, as in
    optimizers that anneal a temperature)."""
    c = 1.0

    def f(v):
        return np.sum(v * c)

    def set_c(value):
        nonlocal c
        c = value
    return f, set_c


def test_closure_cell_rebound_between_calls():
    f, set_c = _make_counter_scaled()
    df = s2sgrad.grad(f)
    v = np.array([0.5, -1.5])
    check_grads(f, (v,), df(v), expected=numerical_grad(f, (v,)))
    set_c(6.0)
    check_grads(f, (v,), df(v), expected=numerical_grad(f, (v,)))


def test_module_global_rebound_between_calls():
    """The same for a module global read by the function's helper (the cache notices)."""
    f = other_styles.shadowing.uses_global_scale
    df = s2sgrad.grad(f)
    v = np.array([0.5, -1.5, 2.0])
    old = other_styles.shadowing.scale
    try:
        check_grads(f, (v,), df(v), expected=numerical_grad(f, (v,)))
        other_styles.shadowing.scale = 3.0
        check_grads(f, (v,), df(v), expected=numerical_grad(f, (v,)))
    finally:
        other_styles.shadowing.scale = old
