"""`reversed(xs)` read whole — `enumerate(reversed(xs))`, `zip(reversed(xs), ws)`,
`list(reversed(xs))` — was refused ("no adjoint for `builtins.reversed`"); only a `for`
loop directly over it was lowered. It reads the same items as `xs[::-1]`."""
import numpy as np
import pytest

import s2sgrad

X = np.array([0.3, -1.2, 0.8, 1.7])


def enumerate_reversed(v):
    return sum(i * t for i, t in enumerate(reversed(v)))


def list_of_reversed(v):
    return np.sum(np.array(list(reversed(list(v)))) * np.arange(4.0))


def reversed_history(v):
    hs = []
    for t in v:
        hs.append(t ** 2)
    out = 0.0
    for k, h in enumerate(reversed(hs)):
        out = out + h * (k + 1)
    return out


def zipped(v):
    return sum(t * w for t, w in zip(reversed(v), [1.0, 2.0, 3.0, 4.0]))


@pytest.mark.parametrize("f", [enumerate_reversed, list_of_reversed, reversed_history,
                               zipped])
def test_matches_finite_differences(f):
    np.testing.assert_allclose(s2sgrad.grad(f)(X), s2sgrad.numerical_grad(f, (X,), 0),
                               rtol=1e-6, atol=1e-9)
    t = np.array([1.0, -0.5, 2.0, 0.3])
    _, d = s2sgrad.jvp(f)((X,), (t,))
    assert d == pytest.approx((f(X + 1e-6 * t) - f(X - 1e-6 * t)) / 2e-6, rel=1e-6)
