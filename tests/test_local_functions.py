"""Local functions (`def` and `name = lambda ...` inside the differentiated function) and
the scope of comprehension variables.

A local function that is only ever called is inlined at each call: its parameters and
locals are renamed apart from the caller's, and its free names are read where the call
happens (Python's late-binding closures). Every gradient is compared with centered
finite differences (tests/support/numeric.py); refusals are in tests/test_errors.py.
"""
import math

import numpy as np
import pytest

import s2sgrad

from support.numeric import assert_grad_matches, assert_value_and_grad_matches, numerical_grad


def lambda_activation(W, x):
    act = lambda z: np.tanh(z) * 0.5 + z  # noqa: E731
    return np.sum(act(x @ W) ** 2) + np.sum(act(W))


def def_with_local_named_like_caller(x):
    def sq(t):
        u = t * t          # `u` is sq's own: the caller's `u` is untouched
        return u
    u = x + 1.0
    return sq(x) * u + sq(u)


def closure_reads_caller_at_call_time(x):
    k = 2.0

    def scaled(t):
        return k * t       # reads k when called (late binding), like Python
    a = scaled(x)
    k = 3.0 * x
    return a * scaled(x)


def early_returns_and_loops(x, k):
    act = lambda z: np.tanh(z) * k  # noqa: E731

    def layer(w, a=0.5):
        if w > 0:
            return act(w) + a
        for i in range(3):
            w = w * a
            if w < -5.0:
                break
        return w
    return layer(x) + layer(-x, a=2.0) + sum(act(t) for t in [x, 2 * x])


def called_in_a_loop(xs):
    def cell(h, v):
        return np.tanh(0.5 * h + v)
    h = 0.0
    for v in xs:
        h = cell(h, v)
    return h * h


def local_calls_local_and_module_helper(x):
    def inner(t):
        return math.sin(t) + module_helper(t)

    def outer(t, scale=3.0):
        return inner(t * scale) * inner(t)
    return outer(x) + outer(x, scale=0.5)


def module_helper(t):
    return t ** 3


def keyword_arguments(x, y):
    def f(a, b, c=1.0):
        return a * b + c * a
    return f(b=y, a=x) + f(x, y, c=y)


def no_return_value_used(x):
    log = []

    def note(v):
        log.append(v)      # a call for its effect on the caller's list
    note(x * 2.0)
    note(x * x)
    return log[0] + log[1]


def comprehension_variable_does_not_leak(x):
    v = x * 2.0
    s = sum([v * v for v in [1.0, x]])
    return s * v                       # v is still x * 2 here, as in Python 3


def nested_comprehension_scopes(x):
    i = x
    rows = [[i * j for j in [1.0, 2.0]] for i in [x, 3.0 * x]]
    return rows[1][0] * i + sum(sum(r) for r in rows)


CASES = [
    pytest.param(lambda_activation, (np.linspace(-1, 1, 6).reshape(3, 2),
                                     np.linspace(0.2, 0.8, 3).reshape(1, 3)), (0, 1),
                 id="lambda_activation"),
    pytest.param(def_with_local_named_like_caller, (0.7,), 0, id="locals_renamed_apart"),
    pytest.param(closure_reads_caller_at_call_time, (0.7,), 0, id="late_binding"),
    pytest.param(early_returns_and_loops, (0.3, 1.7), (0, 1), id="early_return_positive"),
    pytest.param(early_returns_and_loops, (-0.3, 1.7), (0, 1), id="early_return_negative"),
    pytest.param(called_in_a_loop, (np.array([0.3, -0.2, 0.9]),), 0, id="in_a_loop"),
    pytest.param(local_calls_local_and_module_helper, (0.4,), 0, id="local_calls_local"),
    pytest.param(keyword_arguments, (0.4, -1.3), (0, 1), id="keywords_and_defaults"),
    pytest.param(no_return_value_used, (0.4,), 0, id="effect_only"),
    pytest.param(comprehension_variable_does_not_leak, (1.5,), 0, id="comprehension_scope"),
    pytest.param(nested_comprehension_scopes, (0.6,), 0, id="nested_comprehensions"),
]


@pytest.mark.parametrize("f, args, wrt", CASES)
def test_gradient_matches_finite_differences(f, args, wrt):
    assert_value_and_grad_matches(f, *args, wrt=wrt)


@pytest.mark.parametrize("f, args, wrt", CASES[:4])
def test_unoptimized_gradient_matches(f, args, wrt):
    got = s2sgrad.grad(f, wrt=wrt, optimize=False)(*args)
    want = assert_grad_matches(f, *args, wrt=wrt)
    for g, w in zip(got if isinstance(got, tuple) else (got,),
                    want if isinstance(want, tuple) else (want,)):
        np.testing.assert_allclose(g, w, rtol=1e-12)


def test_generated_code_shows_the_inlined_body():
    src = s2sgrad.grad(def_with_local_named_like_caller).source
    assert "def sq" not in src                 # inlined, not defined
    assert "u2 = x * x" in src                 # sq's `u` renamed apart, `t` reads x
    assert "u3 = u * u" in src                 # the second call reads the caller's u
    assert "u = x + 1.0" in src                # the caller's own `u`
    line = def_with_local_named_like_caller.__code__.co_firstlineno + 2
    assert f"# grad of: u2 = x * x  (line {line})" in src   # the comment points into sq


@pytest.mark.parametrize("f, args, wrt", CASES[1:4])
def test_forward_mode_matches_finite_differences(f, args, wrt):
    wrt = wrt if isinstance(wrt, tuple) else (wrt,)
    tangents = tuple(1.0 if i == wrt[0] else 0.0 for i in range(len(args)))
    _, derivative = s2sgrad.jvp(f)(args, tangents)
    expected = numerical_grad(f, args, wrt[0])
    assert abs(derivative - expected) <= 1e-6 + 1e-5 * abs(expected)
