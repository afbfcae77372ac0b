"""Regressions of the fifth hunt in other people's styles, each against an independent
oracle (closed forms, or centered finite differences in float64)."""
import numpy as np
import pytest

import s2sgrad
from s2sgrad.errors import TransformError

from support.numeric import assert_grad_matches, numerical_grad


def _r(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape)


# ---------------------------------------------------------------- einsum(optimize=...)

def einsum_optimized(A, x):
    return np.einsum("ij,j->", A, x, optimize=True) \
        + np.sum(np.einsum("ij,jk->ik", A, A, optimize="greedy") ** 2)


def test_einsum_optimize_keyword_is_differentiated():
    """optimize= picks the contraction order, never the value (it was refused)."""
    A, x = _r(3, 3), _r(3, seed=1)
    gA, gx = assert_grad_matches(einsum_optimized, A, x, wrt=(0, 1))
    np.testing.assert_allclose(gx, A.sum(axis=0), rtol=1e-12)
    v = _r(3, seed=2)
    _, tangent = s2sgrad.jvp(einsum_optimized)((A, x), (np.zeros((3, 3)), v))
    np.testing.assert_allclose(tangent, A.sum(axis=0) @ v, rtol=1e-12)


def test_einsum_optimize_depending_on_the_input_is_refused():
    def f(A):
        return np.einsum("ij->", A, optimize=A)
    with pytest.raises(TransformError, match="optimize="):
        s2sgrad.grad(f)(_r(2, 2))


# ---------------------------------------------------------------- callable objects

class Quadratic:
    """A model object called like a function (PyTorch's style): its __call__ is the loss."""

    def __init__(self, A):
        self.A = A

    def __call__(self, x, scale=1.0):
        return scale * (x @ self.A @ x) + np.sum(np.sin(x))


def test_callable_object_is_differentiated_through_its_call():
    """grad(model) differentiates model.__call__ (it was refused as "not a function")."""
    A = _r(3, 3)
    model = Quadratic(A)
    x = _r(3, seed=1)
    expected = (A + A.T) @ x + np.cos(x)
    np.testing.assert_allclose(s2sgrad.grad(model)(x), expected, rtol=1e-12)
    value, g = s2sgrad.value_and_grad(model)(x, 2.0)
    assert value == pytest.approx(model(x, 2.0), rel=1e-14)
    np.testing.assert_allclose(g, numerical_grad(model, (x, 2.0), 0), rtol=1e-6)
    np.testing.assert_allclose(s2sgrad.grad(model, wrt=1)(x, 2.0), x @ A @ x, rtol=1e-12)
    v = _r(3, seed=2)
    _, tangent = s2sgrad.jvp(model)((x,), (v,))
    assert tangent == pytest.approx(expected @ v, rel=1e-12)
    _, pullback = s2sgrad.vjp(model)(x)
    np.testing.assert_allclose(pullback(3.0), 3.0 * expected, rtol=1e-12)
    np.testing.assert_allclose(s2sgrad.hessian(model)(x), A + A.T - np.diag(np.sin(x)),
                               rtol=1e-12, atol=1e-14)


def test_library_callable_objects_are_still_refused_with_a_hint():
    with pytest.raises(s2sgrad.S2SGradError, match="not a Python function"):
        s2sgrad.grad(np.vectorize(np.sin))(_r(3))
