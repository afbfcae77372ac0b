"""A local name bound once to a module or a function (`xp = np`, `sp = scipy.special`,
`sin = np.sin`, `step = helper`) reads as what it denotes (`normalize.aliases`): array-API
style code and local shorthands. Checked against finite differences; a name bound more
than once, or in a branch, keeps its old treatment (refused with a TransformError)."""
import numpy as np
import pytest

import s2sgrad
from s2sgrad.errors import TransformError

from support.numeric import assert_grad_matches

RNG = np.random.default_rng(8)
X = RNG.normal(size=5)


def helper(x, a):
    return np.tanh(a * x)


def module_alias(x):
    xp = np
    return xp.sum(xp.sin(x) * x) + xp.linalg.norm(x)


def submodule_alias(x):
    la = np.linalg
    return la.norm(x) ** 2 + np.sum(x)


def function_alias(x):
    s = np.sin
    total = np.sum
    return total(s(x) ** 2) + float(total(s(x) > 2.0))


def helper_alias(x):
    step = helper
    return np.sum(step(x, 0.5) * step(x, 2.0))


def alias_in_a_lambda(x):
    xp = np
    f = lambda v: xp.exp(-v * v)        # noqa: E731
    return xp.sum(f(x))


def alias_in_a_loop(x):
    xp = np
    total = 0.0
    for k in range(3):
        total = total + xp.sum(xp.cos(x * k))
    return total


@pytest.mark.parametrize("f", [module_alias, submodule_alias, function_alias, helper_alias,
                               alias_in_a_lambda, alias_in_a_loop])
def test_aliases_read_as_what_they_denote(f):
    assert_grad_matches(f, X.copy(), rtol=1e-6, atol=1e-8)


def test_scipy_special_alias():
    scipy_special = pytest.importorskip("scipy.special")

    def f(x):
        sp = scipy_special
        return np.sum(sp.expit(x) * sp.gammaln(x * x + 1.0))
    g = s2sgrad.grad(f)(X)
    h = 1e-6
    fd = np.array([(f(X + h * e) - f(X - h * e)) / (2 * h) for e in np.eye(5)])
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-8)


def rebound(x):
    xp = np
    xp = x
    return np.sum(xp.sum() * x)


def in_a_branch(x):
    if x[0] > 0:
        xp = np
    else:
        xp = np
    return xp.sum(x * x)


def unpacked(x):
    sin, total = np.sin, np.sum          # (unpacked: the names stay local values)
    return total(sin(x))


def test_a_name_bound_twice_or_unpacked_is_not_an_alias():
    assert_grad_matches(rebound, X.copy(), rtol=1e-6, atol=1e-8)
    for f in (in_a_branch, unpacked):
        with pytest.raises(TransformError):
            s2sgrad.grad(f)(X)


def test_the_users_function_is_unchanged():
    import inspect
    before = inspect.getsource(module_alias)
    s2sgrad.grad(module_alias)(X)
    assert inspect.getsource(module_alias) == before and module_alias(X) == module_alias(X)
