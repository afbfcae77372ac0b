"""Products: @, dot, inner, outer, tensordot, einsum (incl. batched, broadcast)."""
import operator

import numpy as np

from . import defadjoint
from ..runtime import (matmul_left, matmul_right, dot_left, dot_right,  # noqa: F401
                       tensordot_grads, einsum_grad, unbroadcast)


@defadjoint(operator.matmul, np.matmul, ops=["matmul"])
def matmul(y, a, b):
    """y = a @ b  →  ā += ȳ @ bᵀ ;  b̄ += aᵀ @ ȳ   (summed over broadcast batches)"""
    a_bar += matmul_left(y_bar, b, a)
    b_bar += matmul_right(y_bar, a, b)


@defadjoint(np.dot, methods=["dot"])
def dot(y, a, b):
    """y = dot(a, b)  →  ā += ȳ·bᵀ ;  b̄ += aᵀ·ȳ"""
    a_bar += dot_left(y_bar, b, a)
    b_bar += dot_right(y_bar, a, b)


@defadjoint(np.inner)
def inner(y, a, b):
    """y = Σₖ a[..., k] b[..., k]  →  ā += ȳ·b ;  b̄ += ȳ·a   (1-D and 2-D)"""
    a_bar += np.tensordot(y_bar, b, axes=(list(range(np.ndim(a) - 1, np.ndim(y_bar))),
                                         list(range(np.ndim(b) - 1)))) if np.ndim(a) > 1 \
        or np.ndim(b) > 1 else y_bar * b
    b_bar += np.tensordot(y_bar, a, axes=(list(range(np.ndim(a) - 1)),
                                         list(range(np.ndim(a) - 1)))) if np.ndim(a) > 1 \
        or np.ndim(b) > 1 else y_bar * a


@defadjoint(np.outer)
def outer(y, a, b):
    """y = a ⊗ b  →  ā += ȳ·b ;  b̄ += ȳᵀ·a"""
    a_bar += np.reshape(y_bar @ np.ravel(b), np.shape(a))
    b_bar += np.reshape(np.ravel(a) @ y_bar, np.shape(b))


@defadjoint(np.tensordot)
def tensordot(y, a, b, axes=2):
    """y = tensordot(a, b, axes)  →  ā, b̄ contract ȳ with the other operand"""
    a_bar += tensordot_grads(y_bar, a, b, axes)[0]
    b_bar += tensordot_grads(y_bar, a, b, axes)[1]


@defadjoint(np.einsum)
def einsum(y, subscripts, *operands):
    """y = einsum(spec, x₁, x₂, …)  →  x̄ₖ += einsum of ȳ with the other operands"""
    operands_bar += einsum_grad(y_bar, subscripts, operands, k)
