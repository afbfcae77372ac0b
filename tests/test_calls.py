"""Calls to the user's own functions: keyword arguments, defaults, recursion,
several call sites, closures and module constants, user-registered adjoint
rules, and the lecture-notes `dot`/`f` example.

Gradients are compared with the independent finite-difference oracle in
``tests/support/numeric.py`` or with a hand derivation.
"""
import math

import numpy as np
import pytest

import s2sgrad

from support.numeric import assert_grad_matches, assert_value_and_grad_matches, numerical_grad


CALLEE_DEFAULTS = ("compiler bug: compile_gradient sets __defaults__ of every generated "
                   "function, including the callees' `<name>_fwd`, to the root function's "
                   "defaults + (1.0,), so a called function's own default arguments are "
                   "replaced (mean_of(x) runs with weights=1.0; scaled_sin(x, shift=y) "
                   "raises TypeError: missing 'scale')")

X3 = np.array([0.3, -0.7, 1.2])
SCALE = 1.7                     # module-level constant read inside functions
OFFSETS = np.array([0.1, -0.2, 0.3])


# ----------------------------------------------------------------------------
# plain calls, keyword arguments and defaults


def square_plus(a, b):
    return a * a + b


def calls_simple(x, y):
    return square_plus(x, y) * square_plus(y, x)


def test_simple_call():
    assert_value_and_grad_matches(calls_simple, 0.7, -1.3, wrt=(0, 1))


def scaled_sin(x, scale=2.0, shift=0.5):
    return math.sin(x * scale) + shift * x


def calls_keywords(x, y):
    a = scaled_sin(x, shift=y)                  # default scale, keyword shift
    b = scaled_sin(y, scale=x)                  # keyword carrying a gradient
    c = scaled_sin(shift=x * y, x=y, scale=3.0)  # all keywords, out of order
    d = scaled_sin(x)                           # all defaults
    return a + b * c + d


def test_keyword_arguments_and_defaults():
    assert_value_and_grad_matches(calls_keywords, 0.4, 0.9, wrt=(0, 1))


def mean_of(x, weights=None):
    if weights is None:
        return np.mean(x)
    return np.sum(x * weights) / np.sum(weights)


def calls_explicit_defaults(x, y):
    # every parameter passed explicitly (no callee default is used)
    return scaled_sin(x, 2.0, y) + scaled_sin(y, x, 0.5) * mean_of(x * y, None)


def test_keyword_free_call_with_all_arguments():
    assert_value_and_grad_matches(calls_explicit_defaults, 0.4, 0.9, wrt=(0, 1))


def calls_default_none(x, w):
    return mean_of(x) * mean_of(x * x, weights=w)


def test_default_none_branch():
    assert_grad_matches(calls_default_none, X3, np.array([1.0, 2.0, 0.5]), wrt=(0, 1))


def _gradient_default_user(x, p=3.0):
    return x ** p


def test_grad_of_function_with_default_argument():
    # calling the gradient without the defaulted argument uses the default
    g = s2sgrad.grad(_gradient_default_user)(1.5)
    assert g == pytest.approx(3.0 * 1.5 ** 2, rel=1e-12)
    assert_grad_matches(_gradient_default_user, 1.5, 2.5, wrt=(0, 1))


def inner_array(x, w):
    return np.tanh(x @ w)


def calls_arrays(x, W, v):
    h = inner_array(x, W)
    return np.sum(inner_array(h, v))


def test_call_with_arrays():
    W = np.array([[0.2, -0.5], [0.7, 0.1], [-0.3, 0.9]])
    v = np.array([0.6, -1.1])
    assert_grad_matches(calls_arrays, X3, W, v, wrt=(0, 1, 2))


def two_outputs(x, y):
    return x * y, x + y


def calls_tuple_return(x, y):
    p, s = two_outputs(x, y)
    q = two_outputs(p, s)[0]
    return q + math.sin(s)


def test_call_returning_tuple():
    assert_grad_matches(calls_tuple_return, 0.6, -0.4, wrt=(0, 1))


def level3(x):
    return math.exp(x) * x


def level2(x, y):
    return level3(x * y) + level3(y)


def level1(x, y):
    return level2(x, y) * level2(y, x)


def test_call_chain_three_levels():
    assert_grad_matches(level1, 0.3, -0.5, wrt=(0, 1))


# ----------------------------------------------------------------------------
# recursion


def rpow(x, n):
    if n == 0:
        return 1.0
    return x * rpow(x, n - 1)


@pytest.mark.parametrize("n", [0, 1, 5])
def test_recursive_power(n):
    g = assert_grad_matches(rpow, 1.3, n)
    assert g == pytest.approx(n * 1.3 ** (n - 1) if n else 0.0, rel=1e-12)


def rsum(xs, i):
    if i == len(xs):
        return 0.0
    return xs[i] * xs[i] + rsum(xs, i + 1)


def recursive_sum_list(x, y, z):
    return rsum([x, y, z], 0)


def test_recursive_sum_over_list():
    g = assert_grad_matches(recursive_sum_list, 0.5, -1.5, 2.0, wrt=(0, 1, 2))
    assert g == pytest.approx((1.0, -3.0, 4.0), rel=1e-12)


def rsum_array(x, i):
    if i < 0:
        return 0.0
    return math.sin(x[i]) * (i + 1) + rsum_array(x, i - 1)


def recursive_sum_array(x):
    return rsum_array(x, len(x) - 1)


def test_recursive_sum_over_array():
    assert_grad_matches(recursive_sum_array, X3)


def fib_like(x, n):
    if n < 2:
        return x
    return fib_like(x, n - 1) * 0.5 + math.sin(fib_like(x, n - 2))


def test_tree_recursion():
    assert_grad_matches(fib_like, 0.8, 6)


def is_even_poly(x, n):
    if n == 0:
        return x
    return is_odd_poly(x * 1.1, n - 1) + x


def is_odd_poly(x, n):
    if n == 0:
        return x * x
    return is_even_poly(math.sin(x), n - 1)


def test_mutual_recursion():
    assert_grad_matches(is_even_poly, 0.6, 5)


# ----------------------------------------------------------------------------
# the same function from several places, closures, module constants


def helper(x):
    return x * x * SCALE + math.sin(x)


def called_from_several_places(x, y):
    a = helper(x)
    b = helper(y)
    c = helper(a * b)
    for i in range(3):
        c = c + helper(c * 0.1)
    return c


def test_function_called_from_several_places():
    assert_grad_matches(called_from_several_places, 0.4, -0.3, wrt=(0, 1))


def module_constant_array(x):
    return np.sum((x + OFFSETS) ** 2) * SCALE


def test_module_level_constants():
    g = assert_grad_matches(module_constant_array, X3)
    np.testing.assert_allclose(g, 2 * (X3 + OFFSETS) * SCALE, rtol=1e-12)


def make_closure(k, arr):
    def f(x):
        return np.sum(np.sin(x * k) * arr)
    return f


def test_closure_variable():
    f = make_closure(0.7, np.array([1.0, -2.0, 0.5]))
    g = assert_grad_matches(f, X3)
    np.testing.assert_allclose(g, 0.7 * np.cos(X3 * 0.7) * np.array([1.0, -2.0, 0.5]),
                               rtol=1e-12)


def make_closure_calling_helper(k):
    def f(x, y):
        return helper(x * k) * y
    return f


def test_closure_calls_module_function():
    assert_grad_matches(make_closure_calling_helper(1.3), 0.4, 0.9, wrt=(0, 1))


def call_with_stop_gradient(x):
    return x * s2sgrad.stop_gradient(x * x)


def test_stop_gradient():
    g = s2sgrad.grad(call_with_stop_gradient)(1.5)
    assert g == pytest.approx(1.5 ** 2, rel=1e-12)


# ----------------------------------------------------------------------------
# user-registered adjoint rules


def softplus(x):
    """log(1 + e^x), rounded down to a multiple of 2**-40 through np.floor.

    The value is exact to ~1e-12, but the body's derivative is 0 almost
    everywhere (np.floor), so differentiating the body gives 0: only the
    registered rule gives the right gradient.
    """
    v = np.log1p(np.exp(x))
    return np.floor(v * 2.0 ** 40) / 2.0 ** 40


@s2sgrad.adjoint(softplus)
def _softplus_adjoint(y, x):
    x_bar += y_bar / (1 + np.exp(-x))  # noqa: F821  (template, never run)


def uses_softplus(x):
    return np.sum(softplus(x) * np.array([1.0, 2.0, -0.5]))


def test_user_adjoint_rule_used_for_arrays():
    x = np.array([0.3, 1.7, -2.2])
    g = assert_grad_matches(uses_softplus, x)
    np.testing.assert_allclose(g, np.array([1.0, 2.0, -0.5]) / (1 + np.exp(-x)), rtol=1e-12)


def softplus_scalar(x):
    """Scalar softplus truncated by int() to a multiple of 2**-40 (softplus > 0, so
    int() rounds down): the body's derivative is 0, the rule's is the sigmoid."""
    y = math.log(1.0 + math.exp(x))
    return int(y * 2.0 ** 40) / 2.0 ** 40


@s2sgrad.adjoint(softplus_scalar)
def _softplus_scalar_adjoint(y, x):
    x_bar += y_bar / (1.0 + math.exp(-x))  # noqa: F821


def uses_softplus_scalar(x, w):
    return softplus_scalar(x * w) * w


@pytest.mark.parametrize("x", [0.3, 2.5, -1.0])
def test_user_adjoint_rule_is_used_instead_of_body(x):
    w = 1.4
    value, (gx, gw) = s2sgrad.value_and_grad(uses_softplus_scalar, wrt=(0, 1))(x, w)
    assert value == pytest.approx(math.log1p(math.exp(x * w)) * w, rel=1e-9)
    sig = 1.0 / (1.0 + math.exp(-x * w))
    assert gx == pytest.approx(w * sig * w, rel=1e-12)
    assert gw == pytest.approx(x * sig * w + math.log1p(math.exp(x * w)), rel=1e-12)
    # and against finite differences
    assert_grad_matches(uses_softplus_scalar, x, w, wrt=(0, 1))


def test_rule_name_appears_in_source():
    src = s2sgrad.grad(uses_softplus_scalar).source
    # the rule is inlined: its exp(-x) appears; the body's int() is not differentiated
    assert "math.exp(-" in src, src
    assert "int(" not in src.split("# backward pass")[-1], src


def clipped_identity(x):
    return x


@s2sgrad.adjoint(clipped_identity)
def _clipped_identity_adjoint(y, x):
    x_bar += np.clip(y_bar, -1.0, 1.0)  # noqa: F821


def uses_gradient_clip(x):
    return np.sum(clipped_identity(x) * np.array([5.0, 0.5, -3.0]))


def test_user_rule_can_differ_from_true_derivative():
    # a gradient-clipping rule: s2sgrad must use the rule, not the body
    g = s2sgrad.grad(uses_gradient_clip)(X3)
    np.testing.assert_allclose(g, [1.0, 0.5, -1.0], rtol=0, atol=0)


# ----------------------------------------------------------------------------
# the lecture-notes example (must pass exactly)


def dot(w, x):
    w_dot_x = 0.0
    x = [1] + x
    for (wi, xi) in zip(w, x):
        w_dot_x = w_dot_x + (wi * xi)
    return w_dot_x


def f(w, x):
    return 1 / (1 + math.exp(-1 * dot(w, x)))


W = [0.5, -1.2, 0.8]
XS = [0.7, 1.5]


def _sigma(z):
    return 1.0 / (1.0 + math.exp(-z))


def _z(w, x):
    return w[0] + sum(wi * xi for wi, xi in zip(w[1:], x))


def test_lecture_dot_gradient_wrt_w():
    gw = s2sgrad.grad(f, wrt=0)(list(W), list(XS))
    s = _sigma(_z(W, XS))
    expected = [s * (1 - s) * xi for xi in [1.0] + XS]
    assert isinstance(gw, list) and len(gw) == 3
    assert all(isinstance(g, float) for g in gw)
    np.testing.assert_allclose(gw, expected, rtol=1e-12)
    # finite differences, independently
    fd = numerical_grad(lambda a: f(list(a), list(XS)), [np.array(W)], 0)
    np.testing.assert_allclose(gw, fd, rtol=1e-6)


def test_lecture_dot_gradient_wrt_x():
    gx = s2sgrad.grad(f, wrt=1)(list(W), list(XS))
    s = _sigma(_z(W, XS))
    expected = [s * (1 - s) * wi for wi in W[1:]]
    assert isinstance(gx, list) and len(gx) == 2
    assert all(isinstance(g, float) for g in gx)
    np.testing.assert_allclose(gx, expected, rtol=1e-12)
    fd = numerical_grad(lambda a: f(list(W), list(a)), [np.array(XS)], 0)
    np.testing.assert_allclose(gx, fd, rtol=1e-6)


def test_lecture_dot_both_and_value():
    w, x = list(W), list(XS)
    value, (gw, gx) = s2sgrad.value_and_grad(f, wrt=(0, 1))(w, x)
    assert value == pytest.approx(f(W, XS), rel=1e-15)
    s = _sigma(_z(W, XS))
    np.testing.assert_allclose(gw, [s * (1 - s) * xi for xi in [1.0] + XS], rtol=1e-12)
    np.testing.assert_allclose(gx, [s * (1 - s) * wi for wi in W[1:]], rtol=1e-12)
    # the caller's lists are untouched
    assert (w, x) == (W, XS)


def test_lecture_dot_by_name():
    gx = s2sgrad.grad(f, wrt="x")(list(W), list(XS))
    s = _sigma(_z(W, XS))
    np.testing.assert_allclose(gx, [s * (1 - s) * wi for wi in W[1:]], rtol=1e-12)


def test_lecture_dot_inner_function():
    # dot alone: d/dw = [1] + x, d/dx = w[1:]
    gw, gx = s2sgrad.grad(dot, wrt=(0, 1))(list(W), list(XS))
    assert gw == [1.0, 0.7, 1.5]
    assert gx == [-1.2, 0.8]


# ----------------------------------------------------------------------------
# a callee from another module, using that module's own private names


HELPER_MODULE = '''
import numpy as np
_SCALE = 3.0


def _private(v):
    return v * _SCALE


def g(x, k):
    return np.sin(x) * _private(k)
'''

MAIN_MODULE = '''
import numpy as np
import xmod_helper


def f(x):
    return np.sum(xmod_helper.g(x, 2.0)) + np.sum(xmod_helper._private(x) ** 2)
'''

CLASH_MODULE = '''
import numpy as np
import xmod_helper

_SCALE = 5.0


def f(x):
    return np.sum(xmod_helper._private(x))
'''


def _import_pair(tmp_path, monkeypatch, main_source, main_name):
    import importlib
    import sys
    (tmp_path / "xmod_helper.py").write_text(HELPER_MODULE)
    (tmp_path / f"{main_name}.py").write_text(main_source)
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("xmod_helper", main_name):
        sys.modules.pop(name, None)
    return importlib.import_module(main_name)


def test_callee_from_another_module_in_every_mode(tmp_path, monkeypatch):
    mod = _import_pair(tmp_path, monkeypatch, MAIN_MODULE, "xmod_main")
    x = np.array([0.1, 0.2, -0.4])
    np.testing.assert_allclose(s2sgrad.grad(mod.f)(x), numerical_grad(mod.f, (x,), 0),
                               rtol=1e-6)
    v = np.array([1.0, -2.0, 0.5])
    _, jv = s2sgrad.jvp(mod.f)((x,), (v,))
    assert jv == pytest.approx(float(numerical_grad(mod.f, (x,), 0) @ v), rel=1e-6)
    # d²f/dx² = diag(-6 sin x + 18): an independent closed form
    np.testing.assert_allclose(s2sgrad.hessian(mod.f)(x), np.diag(-6.0 * np.sin(x) + 18.0),
                               rtol=1e-6, atol=1e-9)


def test_a_name_that_means_different_things_in_two_modules_keeps_its_meaning(
        tmp_path, monkeypatch):
    # the helper reads its own module's _SCALE (3.0), not the caller's (5.0)
    mod = _import_pair(tmp_path, monkeypatch, CLASH_MODULE, "xmod_clash")
    x = np.array([0.1, 0.2])
    np.testing.assert_allclose(s2sgrad.grad(mod.f)(x), [3.0, 3.0], rtol=1e-12)
    _, jv = s2sgrad.jvp(mod.f)((x,), (np.array([1.0, 2.0]),))
    assert jv == pytest.approx(9.0, rel=1e-12)
