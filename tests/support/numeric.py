"""Independent numerical oracle for the gradient tests.

Nothing in this module uses s2sgrad to compute a derivative: ``numerical_grad``
is plain centered finite differences in float64, so a wrong rule in the
compiler cannot hide behind the same wrong rule here.  ``assert_grad_matches``
is the one place that calls ``s2sgrad.grad`` and compares its answer (value,
type, shape, dtype) with the oracle.
"""
import copy
import inspect
import numbers

import numpy as np

#: Relative finite-difference step; the step for an input ``x`` is
#: ``REL_STEP * max(1, |x|)``.  Centered differences have truncation error
#: O(h**2) ~ 1e-12 and round-off ~ 1e-16 / h ~ 1e-10, far below the test
#: tolerances.
REL_STEP = 1e-6


# ----------------------------------------------------------------------------
# argument handling


def _param_names(f):
    try:
        return list(inspect.signature(f).parameters)
    except (TypeError, ValueError):  # pragma: no cover - builtins etc.
        return []


def _resolve_wrt(f, args, wrt):
    """Return (list of positional indices, whether the caller asked for a tuple)."""
    as_tuple = isinstance(wrt, (tuple, list))
    items = list(wrt) if as_tuple else [wrt]
    names = _param_names(f)
    idx = []
    for w in items:
        if isinstance(w, str):
            if w not in names:
                raise ValueError("%r is not a parameter of %s%s"
                                 % (w, f.__name__, inspect.signature(f)))
            i = names.index(w)
        elif isinstance(w, numbers.Integral) and not isinstance(w, bool):
            i = int(w)
        else:
            raise TypeError("wrt must be an int, a name or a tuple of them, got %r" % (w,))
        if not 0 <= i < len(args):
            raise IndexError("wrt=%r: only %d positional arguments given" % (w, len(args)))
        idx.append(i)
    return idx, as_tuple


def _is_scalar(x):
    return isinstance(x, (float, np.floating)) and not isinstance(x, np.ndarray)


def _to_f64(a):
    """A float64 *copy* of a floating array; other arguments unchanged."""
    if isinstance(a, np.ndarray) and np.issubdtype(a.dtype, np.floating):
        return np.array(a, dtype=np.float64, copy=True)
    if isinstance(a, np.floating):
        return float(a)
    return a


def _as_float(y, f):
    """The function's scalar output as a Python float (refuses arrays of size > 1)."""
    if isinstance(y, np.ndarray):
        if y.size != 1:
            raise ValueError("%s must return a scalar, returned an array of shape %s"
                             % (getattr(f, "__name__", f), y.shape))
        return float(y.reshape(()))
    return float(y)


def _snapshot(args):
    return [copy.deepcopy(a) for a in args]


def _assert_not_mutated(before, after, who):
    for i, (b, a) in enumerate(zip(before, after)):
        if isinstance(b, np.ndarray):
            assert isinstance(a, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape \
                and np.array_equal(a, b, equal_nan=True), \
                "%s mutated argument %d in place" % (who, i)
        elif isinstance(b, (list, tuple, dict)):
            # element-wise equality, tolerant of arrays inside containers
            assert type(a) is type(b) and len(a) == len(b), \
                "%s mutated argument %d in place" % (who, i)
            if isinstance(b, dict):
                continue
            _assert_not_mutated(list(b), list(a), "%s (argument %d)" % (who, i))


# ----------------------------------------------------------------------------
# the oracle


def numerical_grad(f, args, wrt=0, rel_step=REL_STEP):
    """Centered finite-difference gradient of the scalar function ``f(*args)``.

    ``wrt`` is an int, a parameter name, or a tuple/list of these (then a tuple
    is returned).  Arguments are evaluated in float64 (floating arrays are
    converted; the caller's objects are never touched).  The gradient is a
    Python float for a float argument and a float64 array of the argument's
    shape for an array argument.
    """
    args = tuple(args)
    idx, as_tuple = _resolve_wrt(f, args, wrt)
    base = [_to_f64(a) for a in args]
    out = []
    for i in idx:
        x = base[i]
        if _is_scalar(x):
            x = float(x)
            h = rel_step * max(1.0, abs(x))
            a_plus = list(base)
            a_minus = list(base)
            a_plus[i] = x + h
            a_minus[i] = x - h
            # (x + h) - (x - h) is not exactly 2h in floating point: use the real step
            denom = (x + h) - (x - h)
            out.append((_as_float(f(*a_plus), f) - _as_float(f(*a_minus), f)) / denom)
        elif isinstance(x, np.ndarray) and np.issubdtype(x.dtype, np.floating):
            g = np.zeros(x.shape, dtype=np.float64)
            for k in np.ndindex(*x.shape):
                xk = float(x[k])
                h = rel_step * max(1.0, abs(xk))
                xp = x.copy()
                xm = x.copy()
                xp[k] = xk + h
                xm[k] = xk - h
                a_plus = list(base)
                a_minus = list(base)
                a_plus[i] = xp
                a_minus[i] = xm
                g[k] = (_as_float(f(*a_plus), f) - _as_float(f(*a_minus), f)) \
                    / (xp[k] - xm[k])
            out.append(g)
        else:
            raise TypeError("numerical_grad: argument %d has type %s; only float and "
                            "floating ndarray arguments can be differentiated"
                            % (i, type(x).__name__))
    return tuple(out) if as_tuple else out[0]


# ----------------------------------------------------------------------------
# comparison


def numerical_jacobian(f, x, h=1e-6):
    """d f(x) / d x by centered differences in float64, of shape f(x).shape + x.shape
    (f's value an array, a number or a list of numbers)."""
    cols = []
    for k in range(x.size):
        e = np.zeros(x.size)
        e[k] = h
        e = e.reshape(x.shape)
        cols.append(np.ravel((np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * h)))
    return np.stack(cols, axis=1).reshape(np.shape(f(x)) + x.shape)


def _check_kind(name, got, arg):
    """The gradient must have the type/shape/dtype of its argument."""
    if isinstance(arg, np.ndarray):
        assert isinstance(got, np.ndarray), \
            "%s: argument is an ndarray %s but gradient is %s" \
            % (name, arg.shape, type(got).__name__)
        assert got.shape == arg.shape, \
            "%s: gradient shape %s != argument shape %s" % (name, got.shape, arg.shape)
        assert got.dtype == arg.dtype, \
            "%s: gradient dtype %s != argument dtype %s" % (name, got.dtype, arg.dtype)
    else:
        # Python float -> float.  np.float64 is a subclass of float and is accepted;
        # 0-d arrays, np.float32 scalars, ints and 1-element arrays are not.
        assert isinstance(got, float) and not isinstance(got, np.ndarray), \
            "%s: argument is a %s but gradient is %s %r" \
            % (name, type(arg).__name__, type(got).__name__, got)


def _compare(name, got, expected, rtol, atol):
    g = np.asarray(got, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    assert g.shape == e.shape, "%s: shape %s, expected %s" % (name, g.shape, e.shape)
    if g.size == 0:
        return
    assert np.all(np.isfinite(g)), "%s: non-finite gradient %r" % (name, got)
    err = np.abs(g - e)
    excess = err - (atol + rtol * np.abs(e))
    worst = tuple(int(i) for i in np.unravel_index(int(np.argmax(excess)), g.shape)) \
        if g.ndim else ()
    if excess[worst] > 0:
        msg = ["%s: gradient mismatch (rtol=%g, atol=%g)" % (name, rtol, atol),
               "  worst element %s: s2sgrad %.10g, numerical %.10g, abs err %.3g"
               % (worst if g.ndim else "(scalar)", g[worst], e[worst], err[worst]),
               "  %d of %d elements out of tolerance" % (int(np.sum(excess > 0)), g.size)]
        if g.size <= 40:
            msg.append("  s2sgrad:\n%s\n  numerical:\n%s" % (g, e))
        raise AssertionError("\n".join(msg))


def _names_for(f, idx):
    names = _param_names(f)
    return ["d/d%s" % (names[i] if i < len(names) else "arg%d" % i) for i in idx]


def check_grads(f, args, got, wrt=0, rtol=1e-5, atol=1e-6, expected=None):
    """Compare gradients ``got`` (as returned for ``wrt``) with the oracle."""
    idx, as_tuple = _resolve_wrt(f, args, wrt)
    if as_tuple:
        assert isinstance(got, tuple), \
            "wrt=%r is a tuple, so a tuple of gradients is expected, got %s" \
            % (wrt, type(got).__name__)
        assert len(got) == len(idx), \
            "wrt=%r: expected %d gradients, got %d" % (wrt, len(idx), len(got))
        gots = list(got)
    else:
        gots = [got]
    if expected is None:
        expected = numerical_grad(f, args, wrt)
    exps = list(expected) if as_tuple else [expected]
    for name, i, g, e in zip(_names_for(f, idx), idx, gots, exps):
        _check_kind(name, g, args[i])
        _compare(name, g, e, rtol, atol)


def assert_grad_matches(f, *args, wrt=0, rtol=1e-5, atol=1e-6):
    """``s2sgrad.grad(f, wrt=wrt)(*args)`` must match finite differences.

    Checks: the gradient type/shape/dtype equals the argument's; values agree
    with ``numerical_grad`` within ``rtol``/``atol`` (the worst element is
    reported on failure); neither s2sgrad nor the oracle mutated the inputs.
    Returns the s2sgrad gradient(s).
    """
    import s2sgrad

    before = _snapshot(args)
    got = s2sgrad.grad(f, wrt=wrt)(*args)
    _assert_not_mutated(before, args, "s2sgrad.grad(%s)" % f.__name__)
    expected = numerical_grad(f, args, wrt)
    _assert_not_mutated(before, args, "numerical_grad(%s)" % f.__name__)
    check_grads(f, args, got, wrt=wrt, rtol=rtol, atol=atol, expected=expected)
    return got


def assert_value_and_grad_matches(f, *args, wrt=0, rtol=1e-5, atol=1e-6):
    """Like ``assert_grad_matches`` for ``s2sgrad.value_and_grad``; also checks the value."""
    import s2sgrad

    before = _snapshot(args)
    out = s2sgrad.value_and_grad(f, wrt=wrt)(*args)
    _assert_not_mutated(before, args, "s2sgrad.value_and_grad(%s)" % f.__name__)
    assert isinstance(out, tuple) and len(out) == 2, \
        "value_and_grad must return (value, grad), got %r" % (out,)
    value, got = out
    expected_value = f(*copy.deepcopy(before))
    _compare("value", value, expected_value, 1e-12, 1e-12)
    check_grads(f, args, got, wrt=wrt, rtol=rtol, atol=atol)
    return value, got
