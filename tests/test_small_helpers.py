"""Small straight-line helpers of the same file are inlined into their callers
(`Normalizer.small_helper`); everything else keeps its forward/backward pair. Each case:
the gradient against centred finite differences, and what the generated code shows."""
import math

import numpy as np
import pytest

import s2sgrad
from s2sgrad.errors import TransformError

from support.numeric import numerical_grad

SCALE = 0.5


def residual(a, b, x, y):
    return a * x + b - y


def softplus(z):
    return math.log1p(math.exp(z))


def scaled(z, k=2.0):                       # a loop: keeps its pair
    for _ in range(2):
        z = k * math.sin(z)
    return z


def shifted(z, shift=0.25):
    z = z + shift                           # rebinds its parameter
    z = z * SCALE                           # a global constant of this file
    return z * z


def chain(z):
    return softplus(shifted(z)) + residual(z, 1.0, 2.0, 0.5)


def ping(z, n):
    return z if n <= 0 else pong(z * 0.9, n - 1)


def pong(z, n):
    return ping(math.sin(z), n)


def bump_first(v):
    v[0] = v[0] + 1.0
    return np.sum(v)


def apply(f, z):
    return f(z)


def robust(a, b, xs, ys):
    total = 0.0
    for x, y in zip(xs, ys):
        r = residual(a, b, x, y)
        total = total + softplus(r) + softplus(-r) + shifted(r) + scaled(r, k=3.0)
    return total / len(xs)


def nested(x):
    return chain(x) * chain(-x) + shifted(x, shift=-1.0)


def recursive(x):
    return ping(x, 3)


def with_function_argument(x):
    return apply(math.tanh, x) + apply(softplus, x)


def arrays(w, X):
    return np.sum(shifted(X @ w) + residual(w[0], w[1], X[:, 0], X[:, 1]))


XS, YS = [0.5, -1.0, 2.0, 0.3], [0.9, -2.5, 3.0, 0.0]
CASES = [
    (robust, (1.3, 0.2, XS, YS), (0, 1)),
    (nested, (0.7,), (0,)),
    (recursive, (0.4,), (0,)),
    (with_function_argument, (0.3,), (0,)),
    (arrays, (np.array([0.3, -0.8]), np.arange(6.0).reshape(3, 2) / 5.0), (0, 1)),
]


@pytest.mark.parametrize("f, args, wrt", CASES, ids=[c[0].__name__ for c in CASES])
@pytest.mark.parametrize("optimize", [True, False])
def test_gradient_matches_finite_differences(f, args, wrt, optimize):
    got = s2sgrad.grad(f, wrt=wrt, optimize=optimize)(*args)
    for i, g in zip(wrt, got if len(wrt) > 1 else (got,)):
        np.testing.assert_allclose(g, numerical_grad(f, args, i), rtol=1e-6, atol=1e-9)


def test_forward_mode_and_hvp_through_inlined_helpers():
    x = 0.7
    _, dot = s2sgrad.jvp(nested)((x,), (1.0,))
    np.testing.assert_allclose(dot, numerical_grad(nested, (x,), 0), rtol=1e-6)
    d = 1e-4
    second = (numerical_grad(nested, (x + d,), 0) - numerical_grad(nested, (x - d,), 0)) / (2 * d)
    np.testing.assert_allclose(s2sgrad.hvp(nested)(x, 1.0), second, rtol=1e-4)


def test_mutual_recursion_compiles_quickly_and_keeps_its_pairs():
    """`ping` and `pong` call each other: the question whether a call gives a number is
    answered once per function (it took minutes, recursing to Python's limit)."""
    g = s2sgrad.grad(recursive)
    np.testing.assert_allclose(g(0.4), numerical_grad(recursive, (0.4,), 0), rtol=1e-6)
    assert "ping_fwd" in g.source


def test_small_helpers_are_inlined_and_the_rest_keep_their_pairs():
    g = s2sgrad.grad(robust, wrt=(0, 1))
    g(1.3, 0.2, XS, YS)
    src = g.source
    for name in ("residual", "softplus", "shifted"):
        assert f"{name}_fwd" not in src and f"{name}(" not in src
    assert "scaled_fwd" in src                   # a loop: a pair
    r = s2sgrad.grad(recursive)
    r(0.4)
    assert "ping_fwd" in r.source                # recursion: pairs
    u = s2sgrad.grad(robust, wrt=(0, 1), optimize=False)
    u(1.3, 0.2, XS, YS)
    assert "residual_fwd" in u.source            # optimize=False keeps the calls


def test_a_helper_that_changes_its_argument_is_still_refused():
    def caller(x):
        v = np.array([x, 2.0 * x])
        w = v
        return bump_first(v) + np.sum(w)
    with pytest.raises(TransformError):
        s2sgrad.grad(caller)(0.5)
