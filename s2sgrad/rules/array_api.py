"""NumPy 2's array-API names: vecdot, matvec, vecmat, matrix_transpose, cumulative_sum,
cumulative_prod, unstack, astype, and np.linalg's vector_norm, matrix_norm, matmul,
outer, tensordot, cross, diagonal and trace (np.concat and np.permute_dims are
np.concatenate and np.transpose themselves, ruled with them).

Each name is registered only where the installed NumPy has it (`_have`). Where a name
is an older function under another spelling, its rule is that function's, through the
same runtime helpers (matrix_transpose is swapaxes(x, -1, -2), matrix_norm is
linalg.norm over the last two axes, cumulative_sum is cumsum with an optional leading
zero). Real operands only: a complex value meeting the differentiated input is refused
before these rules run, so vecdot's conjugation of its first operand never applies.

Each adjoint rule is followed by its tangent rule (`<name>_dot`); the tangent rules of the
runtime helpers the adjoints call (for forward-over-reverse) close the module.
"""
from functools import partial

import numpy as np

from .registry import CONTAINER, FRESH, PURE, VIEW, defadjoint, deftangent
from . import linalg as linalg_rules, products, tangents
from .. import runtime
from ..runtime import (vecdot_grad, matvec_grad_matrix, matvec_grad_vector,  # noqa: F401
                       vecmat_grad_vector, vecmat_grad_matrix, swapaxes_grad, cumsum_grad,
                       cumprod_grad, cumprod_tangent, drop_initial, with_initial,
                       unstack_grad, norm_grad, norm_tangent, vector_norm_grad,
                       vector_norm_tangent, vector_norm_grad_dy, diagonal_grad, trace_grad)


def _have(*names):
    """The objects the installed NumPy has among `names` ("linalg.vecdot"), so that a rule
    registers for whichever exist (np.matvec is NumPy ≥ 2.2, np.unstack ≥ 2.1, ...)."""
    out = []
    for name in names:
        obj = np
        for part in name.split("."):
            obj = getattr(obj, part, None)
        if obj is not None and all(obj is not o for o in out):
            out.append(obj)
    return tuple(out)


computed = partial(defadjoint, props=(FRESH, PURE))


# ---------------------------------------------------------------- products
@computed(*_have("vecdot", "linalg.vecdot"))
def vecdot(y, x1, x2, *, axis=-1):
    """y = Σₖ x1ₖ·x2ₖ along axis (broadcast)  →  x̄1 += ȳ·x2 ;  x̄2 += ȳ·x1"""
    x1_bar += vecdot_grad(y_bar, x2, x1, axis)
    x2_bar += vecdot_grad(y_bar, x1, x2, axis)


@deftangent(*_have("vecdot", "linalg.vecdot"))
def vecdot_dot(y, x1, x2, *, axis=-1):
    """y = vecdot(x1, x2)  →  ẏ = vecdot(ẋ1, x2) + vecdot(x1, ẋ2)"""
    y_dot += match_shape(np.vecdot(x1_dot, x2, axis=axis), y)
    y_dot += match_shape(np.vecdot(x1, x2_dot, axis=axis), y)


@computed(*_have("matvec"))
def matvec(y, x1, x2):
    """yᵢ = Σⱼ x1ᵢⱼ·x2ⱼ (batched, broadcast)  →  x̄1ᵢⱼ += ȳᵢ·x2ⱼ ;  x̄2ⱼ += Σᵢ ȳᵢ·x1ᵢⱼ"""
    x1_bar += matvec_grad_matrix(y_bar, x2, x1)
    x2_bar += matvec_grad_vector(y_bar, x1, x2)


@deftangent(*_have("matvec"))
def matvec_dot(y, x1, x2):
    """y = matvec(x1, x2)  →  ẏ = matvec(ẋ1, x2) + matvec(x1, ẋ2)"""
    y_dot += match_shape((x1_dot @ np.asarray(x2)[..., None])[..., 0], y)
    y_dot += match_shape((x1 @ np.asarray(x2_dot)[..., None])[..., 0], y)


@computed(*_have("vecmat"))
def vecmat(y, x1, x2):
    """yⱼ = Σᵢ x1ᵢ·x2ᵢⱼ (batched, broadcast)  →  x̄1ᵢ += Σⱼ x2ᵢⱼ·ȳⱼ ;  x̄2ᵢⱼ += x1ᵢ·ȳⱼ"""
    x1_bar += vecmat_grad_vector(y_bar, x2, x1)
    x2_bar += vecmat_grad_matrix(y_bar, x1, x2)


@deftangent(*_have("vecmat"))
def vecmat_dot(y, x1, x2):
    """y = vecmat(x1, x2)  →  ẏ = vecmat(ẋ1, x2) + vecmat(x1, ẋ2)"""
    y_dot += match_shape((np.asarray(x1_dot)[..., None, :] @ x2)[..., 0, :], y)
    y_dot += match_shape((np.asarray(x1)[..., None, :] @ x2_dot)[..., 0, :], y)


# ---------------------------------------------------------------- axes
@defadjoint(*_have("matrix_transpose", "linalg.matrix_transpose"), props=(VIEW, PURE))
def matrix_transpose(y, x):
    """y = swapaxes(x, -1, -2)  →  x̄ += swapaxes(ȳ, -1, -2)"""
    x_bar += swapaxes_grad(y_bar, -1, -2)


@deftangent(*_have("matrix_transpose", "linalg.matrix_transpose"))
def matrix_transpose_dot(y, x):
    """y = swapaxes(x, -1, -2)  →  ẏ = swapaxes(ẋ, -1, -2)"""
    y_dot += np.swapaxes(x_dot, -1, -2)


@defadjoint(*_have("unstack"), props=(CONTAINER, PURE))
def unstack(y, x, *, axis=0):
    """ys = (x[..., i, ...] for i along axis)  →  x̄ += stack(ȳs, axis)"""
    x_bar += unstack_grad(y_bar, x, axis)


@deftangent(*_have("unstack"))
def unstack_dot(y, x, *, axis=0):
    """ys = unstack(x, axis)  →  ẏs = unstack(ẋ, axis)"""
    y_dot += np.unstack(x_dot, axis=axis)


# ---------------------------------------------------------------- cumulative sum, product
@computed(*_have("cumulative_sum"))
def cumulative_sum(y, x, *, axis=None, dtype=None, out=None, include_initial=False):
    """y = cumsum(x, axis), after a 0 if include_initial  →  x̄ += reversed cumulative sum
    of ȳ (without its first entry if include_initial)"""
    x_bar += cumsum_grad(drop_initial(y_bar, axis, include_initial), x, axis)


@deftangent(*_have("cumulative_sum"))
def cumulative_sum_dot(y, x, *, axis=None, dtype=None, out=None, include_initial=False):
    """y = cumulative_sum(x)  →  ẏ = cumulative_sum(ẋ)"""
    y_dot += with_initial(np.cumsum(x_dot, axis), axis, include_initial)


@computed(*_have("cumulative_prod"))
def cumulative_prod(y, x, *, axis=None, dtype=None, out=None, include_initial=False):
    """y = cumprod(x, axis), after a 1 if include_initial  →  x̄ as for cumprod from ȳ
    (without its first entry if include_initial)"""
    x_bar += cumprod_grad(drop_initial(y_bar, axis, include_initial), x, axis)


@deftangent(*_have("cumulative_prod"))
def cumulative_prod_dot(y, x, *, axis=None, dtype=None, out=None, include_initial=False):
    """y = cumulative_prod(x)  →  ẏ = the tangent of cumprod, after a 0 if include_initial"""
    y_dot += with_initial(cumprod_tangent(x_dot, x, axis), axis, include_initial)


# ---------------------------------------------------------------- norms
@computed(*_have("linalg.vector_norm"))
def vector_norm(y, x, *, axis=None, keepdims=False, ord=2):
    """y = ‖x‖_ord over axis (all axes by default, as one vector)  →  x̄ += ȳ·∂y/∂x
    (for ord=2 ȳ·x / y)"""
    x_bar += vector_norm_grad(y_bar, y, x, axis, keepdims, ord)


@deftangent(*_have("linalg.vector_norm"))
def vector_norm_dot(y, x, *, axis=None, keepdims=False, ord=2):
    """y = ‖x‖_ord  →  ẏ = Σ ∂y/∂x·ẋ over axis"""
    y_dot += vector_norm_tangent(x_dot, y, x, axis, keepdims, ord)


@computed(*_have("linalg.matrix_norm"))
def matrix_norm(y, x, *, keepdims=False, ord="fro"):
    """y = linalg.norm(x, ord, axis=(-2, -1))  →  x̄ += ȳ·∂y/∂x (for 'fro' ȳ·x / y)"""
    x_bar += norm_grad(y_bar, y, x, ord, (-2, -1), keepdims)


@deftangent(*_have("linalg.matrix_norm"))
def matrix_norm_dot(y, x, *, keepdims=False, ord="fro"):
    """y = linalg.norm(x, ord, axis=(-2, -1))  →  ẏ = Σ ∂y/∂x·ẋ over the last two axes"""
    y_dot += norm_tangent(x_dot, y, x, ord, (-2, -1), keepdims)


# ---------------------------------------------------------------- np.linalg's spellings
# np.linalg.matmul, outer, tensordot and cross are np.matmul, np.outer (of vectors),
# np.tensordot and np.cross with keyword-only options: the same templates, registered
# for them too. np.linalg.diagonal and trace read the last two axes (np.diagonal and
# np.trace the first two).
for _adjoint, _tangent, _name in ((linalg_rules.matmul, tangents.matmul, "linalg.matmul"),
                                  (linalg_rules.outer, tangents.outer, "linalg.outer"),
                                  (linalg_rules.tensordot, tangents.tensordot,
                                   "linalg.tensordot"),
                                  (products.cross, products.cross_dot, "linalg.cross")):
    if _have(_name):
        computed(*_have(_name))(_adjoint)
        deftangent(*_have(_name))(_tangent)


@defadjoint(*_have("linalg.diagonal"), props=(VIEW, PURE))     # (a read-only view)
def linalg_diagonal(y, x, *, offset=0):
    """yᵢ = x[..., i, i + offset]  →  x̄[..., i, i + offset] += ȳᵢ"""
    x_bar += diagonal_grad(y_bar, x, offset, -2, -1)


@deftangent(*_have("linalg.diagonal"))
def linalg_diagonal_dot(y, x, *, offset=0):
    """y = diagonal(x, offset, -2, -1)  →  ẏ = diagonal(ẋ, offset, -2, -1)"""
    y_dot += np.diagonal(x_dot, offset, -2, -1)


@computed(*_have("linalg.trace"))
def linalg_trace(y, x, *, offset=0, dtype=None):
    """y = Σᵢ x[..., i, i + offset]  →  x̄ += ȳ on that diagonal"""
    x_bar += trace_grad(y_bar, x, offset, -2, -1)


@deftangent(*_have("linalg.trace"))
def linalg_trace_dot(y, x, *, offset=0, dtype=None):
    """y = trace(x, offset, -2, -1)  →  ẏ = trace(ẋ, offset, -2, -1)"""
    y_dot += np.trace(x_dot, offset, -2, -1)


# ---------------------------------------------------------------- helpers (forward-over-reverse)
# Each product helper is bilinear in the adjoint and the other operand: one term for each.
@deftangent(runtime.vecdot_grad)
def vecdot_grad_(out, g, other, x, axis=-1):
    """out = vecdot_grad(g, b, a)  →  ȯut = vecdot_grad(ġ, b, a) + vecdot_grad(g, ḃ, a)"""
    out_dot += vecdot_grad(g_dot, other, x, axis)
    out_dot += vecdot_grad(g, other_dot, x, axis)


@deftangent(runtime.matvec_grad_matrix)
def matvec_grad_matrix_(out, g, v, a):
    """out = ȳ⊗v  →  ȯut = ġ⊗v + g⊗v̇"""
    out_dot += matvec_grad_matrix(g_dot, v, a)
    out_dot += matvec_grad_matrix(g, v_dot, a)


@deftangent(runtime.matvec_grad_vector)
def matvec_grad_vector_(out, g, a, v):
    """out = ȳ·a  →  ȯut = ġ·a + g·ȧ"""
    out_dot += matvec_grad_vector(g_dot, a, v)
    out_dot += matvec_grad_vector(g, a_dot, v)


@deftangent(runtime.vecmat_grad_vector)
def vecmat_grad_vector_(out, g, a, v):
    """out = a·ȳ  →  ȯut = a·ġ + ȧ·g"""
    out_dot += vecmat_grad_vector(g_dot, a, v)
    out_dot += vecmat_grad_vector(g, a_dot, v)


@deftangent(runtime.vecmat_grad_matrix)
def vecmat_grad_matrix_(out, g, v, a):
    """out = v⊗ȳ  →  ȯut = v⊗ġ + v̇⊗g"""
    out_dot += vecmat_grad_matrix(g_dot, v, a)
    out_dot += vecmat_grad_matrix(g, v_dot, a)


# Linear in the adjoint (the other arguments give only shapes and axes).
@deftangent(runtime.drop_initial)
def drop_initial_(out, g, axis=None, include_initial=False):
    """out = ȳ without its initial entry  →  ȯut = ġ without it"""
    out_dot += drop_initial(g_dot, axis, include_initial)


@deftangent(runtime.with_initial)
def with_initial_(out, t, axis=None, include_initial=False):
    """out = t after a zero entry  →  ȯut = ṫ after a zero entry"""
    out_dot += with_initial(t_dot, axis, include_initial)


@deftangent(runtime.unstack_grad)
def unstack_grad_(out, gs, x, axis=0):
    """out = stack(ȳs, axis)  →  ȯut = stack(ġs, axis)"""
    out_dot += unstack_grad(gs_dot, x, axis)


@deftangent(runtime.vector_norm_grad)
def vector_norm_grad_(out, g, y, x, axis=None, keepdims=False, ord=2):
    """out = ḡ·x / y (ord=2)  →  ȯut = ġ·x / y - ḡ·x·ẏ / y² + ḡ·ẋ / y"""
    out_dot += vector_norm_grad(g_dot, y, x, axis, keepdims, ord)
    out_dot += vector_norm_grad_dy(g, y, x, y_dot, axis, keepdims, ord)
    out_dot += vector_norm_grad(g, y, x_dot, axis, keepdims, ord)


from ..runtime import match_shape  # noqa: E402,F401
