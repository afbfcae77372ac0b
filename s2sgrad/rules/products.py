"""More products: kron, vdot, cross.

Each adjoint rule is followed by its tangent rule (`<name>_dot`); the tangent rules of the
runtime helpers the adjoints call (for forward-over-reverse) close the module.
"""
import numpy as np

from .registry import FRESH, defadjoint, deftangent
from .. import runtime
from ..runtime import kron_grad_a, kron_grad_b, vdot_grad, cross_grad_a, cross_grad_b  # noqa: F401


@defadjoint(np.kron, props=FRESH)
def kron(y, a, b):
    """y[block i, j] = aᵢ·bⱼ  →  āᵢ += Σⱼ ȳ[block i, j]·bⱼ ;  b̄ⱼ += Σᵢ ȳ[block i, j]·aᵢ"""
    a_bar += kron_grad_a(y_bar, b, a)
    b_bar += kron_grad_b(y_bar, a, b)


@deftangent(np.kron)
def kron_dot(y, a, b):
    """y = kron(a, b)  →  ẏ = kron(ȧ, b) + kron(a, ḃ)"""
    y_dot += np.kron(a_dot, b)
    y_dot += np.kron(a, b_dot)


@defadjoint(np.vdot, props=FRESH)
def vdot(y, a, b):
    """y = Σ ravel(a)·ravel(b)  →  ā += ȳ·b ;  b̄ += ȳ·a   (each in its own shape)"""
    a_bar += vdot_grad(y_bar, b, a)
    b_bar += vdot_grad(y_bar, a, b)


@deftangent(np.vdot)
def vdot_dot(y, a, b):
    """y = vdot(a, b)  →  ẏ = vdot(ȧ, b) + vdot(a, ḃ)"""
    y_dot += np.vdot(a_dot, b)
    y_dot += np.vdot(a, b_dot)


@defadjoint(np.cross, props=FRESH)
def cross(y, a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """y = a × b (3-vectors, broadcast)  →  ā += b × ȳ ;  b̄ += ȳ × a"""
    a_bar += cross_grad_a(y_bar, b, a, axisa, axisb, axisc, axis)
    b_bar += cross_grad_b(y_bar, a, b, axisa, axisb, axisc, axis)


@deftangent(np.cross)
def cross_dot(y, a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """y = a × b  →  ẏ = ȧ × b + a × ḃ"""
    y_dot += np.cross(a_dot, b, axisa, axisb, axisc, axis)
    y_dot += np.cross(a, b_dot, axisa, axisb, axisc, axis)


# ---------------------------------------------------------------- helpers (forward-over-reverse)
# Each helper is bilinear in the adjoint and the other operand: one term for each.
@deftangent(runtime.kron_grad_a)
def kron_grad_a_(out, g, b, a):
    """out = kron_grad_a(g, b, a)  →  ȯut = kron_grad_a(ġ, b, a) + kron_grad_a(g, ḃ, a)"""
    out_dot += kron_grad_a(g_dot, b, a)
    out_dot += kron_grad_a(g, b_dot, a)


@deftangent(runtime.kron_grad_b)
def kron_grad_b_(out, g, a, b):
    """out = kron_grad_b(g, a, b)  →  ȯut = kron_grad_b(ġ, a, b) + kron_grad_b(g, ȧ, b)"""
    out_dot += kron_grad_b(g_dot, a, b)
    out_dot += kron_grad_b(g, a_dot, b)


@deftangent(runtime.vdot_grad)
def vdot_grad_(out, g, other, x):
    """out = vdot_grad(g, b, a)  →  ȯut = vdot_grad(ġ, b, a) + vdot_grad(g, ḃ, a)"""
    out_dot += vdot_grad(g_dot, other, x)
    out_dot += vdot_grad(g, other_dot, x)


@deftangent(runtime.cross_grad_a)
def cross_grad_a_(out, g, b, a, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """out = b × g  →  ȯut = b × ġ + ḃ × g"""
    out_dot += cross_grad_a(g_dot, b, a, axisa, axisb, axisc, axis)
    out_dot += cross_grad_a(g, b_dot, a, axisa, axisb, axisc, axis)


@deftangent(runtime.cross_grad_b)
def cross_grad_b_(out, g, a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """out = g × a  →  ȯut = ġ × a + g × ȧ"""
    out_dot += cross_grad_b(g_dot, a, b, axisa, axisb, axisc, axis)
    out_dot += cross_grad_b(g, a_dot, b, axisa, axisb, axisc, axis)
