"""Derivatives of det at singular matrices: ∂det/∂a is the cofactor matrix, which
exists where a⁻¹ does not. Checked against centered finite differences (det is a
polynomial in the entries, so the differences are exact up to rounding)."""
import numpy as np
import pytest

import s2sgrad
from support.numeric import numerical_grad


def det(a):
    return np.linalg.det(a)


def det_terms(a):
    d = np.linalg.det(a)
    return np.sum(d ** 2 + 3.0 * d)


SINGULAR = [
    np.array([[1.0, 2.0], [2.0, 4.0]]),                        # rank 1
    np.arange(1.0, 10.0).reshape(3, 3),                          # rank 2
    np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.5, 1.0, 7.0]]),
    np.zeros((3, 3)),                                            # rank 0
]


@pytest.mark.parametrize("a", SINGULAR, ids=["rank1", "arange", "rows", "zero"])
def test_det_gradient_at_a_singular_matrix(a):
    g = s2sgrad.grad(det)(a.copy())
    np.testing.assert_allclose(g, numerical_grad(det, (a.copy(),)), atol=1e-7)


def test_det_gradient_of_a_batch_with_a_singular_member():
    a = np.stack([SINGULAR[0], 3.0 * np.eye(2), np.array([[2.0, 1.0], [0.5, 1.0]])])
    g = s2sgrad.grad(det_terms)(a.copy())
    np.testing.assert_allclose(g, numerical_grad(det_terms, (a.copy(),)), atol=1e-6)


@pytest.mark.parametrize("a", SINGULAR[:3], ids=["rank1", "arange", "rows"])
def test_det_tangent_at_a_singular_matrix(a):
    t = np.linspace(-1.0, 1.0, a.size).reshape(a.shape)
    _, d = s2sgrad.jvp(det)((a.copy(),), (t,))
    assert d == pytest.approx(np.sum(numerical_grad(det, (a.copy(),)) * t), abs=1e-7)


def test_det_hessian_vector_product_at_a_singular_matrix_is_a_clean_error():
    with pytest.raises(s2sgrad.GradientError, match="singular matrix"):
        s2sgrad.hvp(det)(SINGULAR[0].copy(), np.ones((2, 2)))
