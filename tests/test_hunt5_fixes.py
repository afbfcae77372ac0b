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
