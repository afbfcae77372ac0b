"""hvp is forward mode over the gradient's generated code; where that refuses (a store
into an array the backward pass restores, a runtime adjoint s2sgrad has no tangent
for), the refusal is located in the user's code (the def, or the line
whose adjoint it is), not in generated or runtime code, and says how to get the product
anyway. The hint's recipe is checked against the closed form of a case hvp does take."""
import inspect

import numpy as np
import pytest

try:
    import scipy.linalg
except ImportError:       # pragma: no cover
    scipy = None

import s2sgrad
from s2sgrad.errors import TransformError


def stores_in_a_loop(x):
    x = x.copy()
    for i in range(1, x.shape[0]):
        x[i] = x[i] * x[i - 1]
    return np.sum(x ** 2)


def exponentiated(x):
    return np.sum(scipy.linalg.expm(np.outer(x[:2], x[:2])))


def interpolated(x):
    z = np.interp(np.linspace(0.0, 1.0, 7), np.linspace(0.0, 1.0, 5), x)
    return np.sum(z ** 2)


def test_interpolation_is_taken_now():
    """np.interp's adjoint scatters with the segment indices, an integer selector like
    an index: no longer refused; the product is 2·WᵀW·v for the linear map W."""
    x, v = np.linspace(0.5, 1.0, 5), np.linspace(-1.0, 1.0, 5)
    W = np.stack([np.interp(np.linspace(0.0, 1.0, 7), np.linspace(0.0, 1.0, 5), e)
                  for e in np.eye(5)], axis=1)
    np.testing.assert_allclose(s2sgrad.hvp(interpolated)(x, v), 2 * W.T @ W @ v,
                               rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("f", [stores_in_a_loop, pytest.param(
    exponentiated, marks=pytest.mark.skipif(scipy is None, reason="needs SciPy"))])
def test_the_refusal_is_located_in_the_users_code(f):
    x = np.linspace(0.5, 1.0, 5)
    with pytest.raises(TransformError) as info:
        s2sgrad.hvp(f)(x, np.ones(5))
    exc = info.value
    assert exc.filename == __file__
    first = f.__code__.co_firstlineno
    assert first <= exc.lineno < first + len(inspect.getsourcelines(f)[0])
    assert f"hvp of {f.__name__}" in str(exc) and "grad" in exc.hint


def test_the_hints_recipe():
    def f(x):
        return np.sum(x ** 4)
    x, v, h = np.array([0.5, -1.0, 2.0]), np.array([1.0, 2.0, -1.0]), 1e-6
    g = s2sgrad.grad(f)
    np.testing.assert_allclose((g(x + h * v) - g(x - h * v)) / (2 * h), 12 * x ** 2 * v,
                               rtol=1e-6)
