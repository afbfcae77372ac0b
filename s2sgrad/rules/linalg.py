"""Products: @, dot, inner, outer, tensordot, einsum (incl. batched, broadcast);
norms, inverses, determinants, solves, traces and diagonals."""
from functools import partial
import operator

import numpy as np

from .registry import FRESH, PURE, VIEW, defadjoint

from ..runtime import (matmul_left, matmul_right, dot_left, dot_right,  # noqa: F401
                       tensordot_grads, einsum_grad, inner_grads, outer_grads,
                       unbroadcast, norm_grad, inv_grad,
                       det_grad, slogdet_grad, solve_grad_a, solve_grad_b, trace_grad,
                       solve_triangle,
                       diagonal_grad, diag_grad)


# a new array each call
computed = partial(defadjoint, props=(FRESH, PURE))


@computed(operator.matmul, np.matmul, ops=["matmul"])
def matmul(y, a, b):
    """y = a @ b  →  ā += ȳ @ bᵀ ;  b̄ += aᵀ @ ȳ   (summed over broadcast batches)"""
    a_bar += matmul_left(y_bar, b, a)
    b_bar += matmul_right(y_bar, a, b)


@computed(np.dot, methods=["dot"])
def dot(y, a, b):
    """y = dot(a, b)  →  ā += ȳ·bᵀ ;  b̄ += aᵀ·ȳ"""
    a_bar += dot_left(y_bar, b, a)
    b_bar += dot_right(y_bar, a, b)


@computed(np.inner)
def inner(y, a, b):
    """y = Σₖ a[..., k] b[..., k]  →  ā += ȳ·b ;  b̄ += ȳ·a   (1-D and 2-D)"""
    a_bar += inner_grads(y_bar, a, b)[0]
    b_bar += inner_grads(y_bar, a, b)[1]


@computed(np.outer)
def outer(y, a, b):
    """y = a ⊗ b  →  ā += ȳ·b ;  b̄ += ȳᵀ·a"""
    a_bar += outer_grads(y_bar, a, b)[0]
    b_bar += outer_grads(y_bar, a, b)[1]


@computed(np.tensordot)
def tensordot(y, a, b, axes=2):
    """y = tensordot(a, b, axes)  →  ā, b̄ contract ȳ with the other operand"""
    a_bar += tensordot_grads(y_bar, a, b, axes)[0]
    b_bar += tensordot_grads(y_bar, a, b, axes)[1]


@computed(np.einsum, keywords=("optimize",))     # (the contraction order, not the value)
def einsum(y, subscripts, *operands, **options):
    """y = einsum(spec, x₁, x₂, …)  →  x̄ₖ += einsum of ȳ with the other operands"""
    operands_bar += einsum_grad(y_bar, subscripts, operands, k)


# ---------------------------------------------------------------- np.linalg
@computed(np.linalg.norm)
def norm(y, x, ord=None, axis=None, keepdims=False):
    """y = ‖x‖₂ (vector 2-norm or Frobenius, over axis)  →  x̄ += ȳ·x / y
    (other norms are refused when the gradient is computed)"""
    x_bar += norm_grad(y_bar, y, x, ord, axis, keepdims)


@computed(np.linalg.inv)
def inv(y, a):
    """y = a⁻¹ (batched)  →  ā += -yᵀ·ȳ·yᵀ"""
    a_bar += inv_grad(y_bar, y)


@computed(np.linalg.det)
def det(y, a):
    """y = det(a) (batched)  →  ā += ȳ·y·a⁻ᵀ"""
    a_bar += det_grad(y_bar, y, a)


@computed(np.linalg.slogdet)
def slogdet(y, a):
    """(s, l) = slogdet(a), l = ln|det a|  →  ā += l̄·a⁻ᵀ   (the sign carries no gradient)"""
    a_bar += slogdet_grad(y_bar, a)


@computed(np.linalg.solve)
def solve(y, a, b):
    """y = a⁻¹b (b a vector or matrices, batched)  →  b̄ += a⁻ᵀȳ ;  ā += -b̄·yᵀ"""
    a_bar += solve_grad_a(y_bar, y, a, b)
    b_bar += solve_grad_b(y_bar, a, b)


@computed(solve_triangle)
def solve_triangle_(y, a, b, lower):
    """y = a⁻¹b for a known lower (upper) triangular a: as np.linalg.solve, with
    back-substitution for b̄ = a⁻ᵀȳ  (`optimize.trace_passes.triangular_solves`)"""
    a_bar += solve_grad_a(y_bar, y, a, b, lower)
    b_bar += solve_grad_b(y_bar, a, b, lower)


@computed(np.trace, methods=["trace"])
def trace(y, a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    """y = Σᵢ a[i, i + offset]  →  ā += ȳ on that diagonal"""
    a_bar += trace_grad(y_bar, a, offset, axis1, axis2)


@defadjoint(np.diagonal, methods=["diagonal"], props=(VIEW, PURE))   # read-only view
def diagonal(y, a, offset=0, axis1=0, axis2=1):
    """yᵢ = a[i, i + offset]  →  ā[i, i + offset] += ȳᵢ"""
    a_bar += diagonal_grad(y_bar, a, offset, axis1, axis2)


@defadjoint(np.diag, props=(VIEW, PURE))   # a view of a matrix (a new one of a vector)
def diag(y, v, k=0):
    """y = diag(v, k): 1-D v → v̄ += diag(ȳ, k) ;  2-D v → v̄ += ȳ on the k-th diagonal"""
    v_bar += diag_grad(y_bar, v, k)
