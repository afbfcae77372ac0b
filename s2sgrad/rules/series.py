"""Sequences along an axis: cumprod, average, trapezoid (trapz), polyval, interp,
convolve and correlate.

Each adjoint rule is followed by its tangent rule (`<name>_dot`).
"""
import numpy as np

from .registry import FRESH, defadjoint, deftangent
from .. import runtime
from ..runtime import (cumprod_grad, cumprod_tangent, average_grad_a,  # noqa: F401
                       average_grad_weights, average_tangent_a, average_tangent_weights,
                       trapezoid_sum, trapezoid_grad_y, trapezoid_grad_x, trapezoid_grad_dx,
                       polyval_deriv, polyval_grad_p, polyval_grad_x, match_shape,
                       interp_grad_x, interp_grad_xp, interp_grad_fp, interp_grad_left,
                       interp_grad_right, interp_tangent_x, interp_tangent_xp,
                       interp_tangent_fp, interp_tangent_end, convolve_grad,
                       correlate_grad_a, correlate_grad_v)

#: np.trapezoid (NumPy ≥ 2) and np.trapz (NumPy < 2.4), whichever exist
TRAPEZOID = tuple(f for f in (getattr(np, "trapezoid", None), getattr(np, "trapz", None))
                  if f is not None)


# ---------------------------------------------------------------- cumulative product
@defadjoint(np.cumprod, methods=["cumprod"], props=FRESH)
def cumprod(y, a, axis=None, dtype=None, out=None):
    """yⱼ = Π_{k≤j} aₖ  →  āᵢ += Π_{k<i} aₖ · Σ_{j≥i} ȳⱼ·Π_{i<k≤j} aₖ   (exact with zeros)"""
    a_bar += cumprod_grad(y_bar, a, axis)


@deftangent(np.cumprod, methods=["cumprod"])
def cumprod_dot(y, a, axis=None, dtype=None, out=None):
    """yⱼ = Π_{k≤j} aₖ  →  ẏⱼ = ẏⱼ₋₁·aⱼ + yⱼ₋₁·ȧⱼ"""
    y_dot += cumprod_tangent(a_dot, a, axis)


# ---------------------------------------------------------------- weighted average
@defadjoint(np.average, props=FRESH)
def average(y, a, axis=None, weights=None, returned=False, keepdims=False):
    """y = Σ w·a / Σ w  →  ā += ȳ·w / Σw ;  w̄ += ȳ·(a - y) / Σw   (w = 1 without weights;
    with returned=True the sum of weights passes its adjoint to w too)"""
    a_bar += average_grad_a(y_bar, a, axis, weights, returned, keepdims)
    weights_bar += average_grad_weights(y_bar, y, a, axis, weights, returned, keepdims)


@deftangent(np.average)
def average_dot(y, a, axis=None, weights=None, returned=False, keepdims=False):
    """y = Σ w·a / Σ w  →  ẏ = Σ w·ȧ / Σw + Σ ẇ·(a - y) / Σw"""
    y_dot += average_tangent_a(a_dot, y, a, axis, weights, returned, keepdims)
    y_dot += average_tangent_weights(weights_dot, y, a, axis, weights, returned, keepdims)


# ---------------------------------------------------------------- trapezoidal rule
@defadjoint(*TRAPEZOID, props=FRESH)
def trapezoid(out, y, x=None, dx=1.0, axis=-1):
    """I = Σ dᵢ·(yᵢ + yᵢ₊₁)/2, d = diff(x) or dx  →  ȳᵢ += Ī·(dᵢ₋₁ + dᵢ)/2 ;
    x̄ᵢ += Ī·(sᵢ₋₁ - sᵢ) with sᵢ = (yᵢ + yᵢ₊₁)/2 ;  d̄x += Ī·Σ sᵢ"""
    y_bar += trapezoid_grad_y(out_bar, y, x, dx, axis)
    x_bar += trapezoid_grad_x(out_bar, y, x, dx, axis)
    dx_bar += trapezoid_grad_dx(out_bar, y, x, dx, axis)


@deftangent(*TRAPEZOID)
def trapezoid_dot(out, y, x=None, dx=1.0, axis=-1):
    """I = Σ dᵢ·(yᵢ + yᵢ₊₁)/2 is linear in y, in x's spacings and in dx  →
    İ = trapezoid(ẏ, x, dx) + trapezoid(y, ẋ) + trapezoid(y, dx=ḋx)"""
    out_dot += trapezoid_sum(y_dot, x, dx, axis)
    out_dot += trapezoid_sum(y, x_dot, dx, axis)
    out_dot += trapezoid_sum(y, None, dx_dot, axis)


# ---------------------------------------------------------------- polynomials
@defadjoint(np.polyval, props=FRESH)
def polyval(y, p, x):
    """y = Σᵢ pᵢ·x^(n-1-i)  →  p̄ᵢ += Σ ȳ·x^(n-1-i) ;  x̄ += ȳ·p'(x)"""
    p_bar += polyval_grad_p(y_bar, p, x)
    x_bar += polyval_grad_x(y_bar, p, x)


@deftangent(np.polyval)
def polyval_dot(y, p, x):
    """y = Σᵢ pᵢ·x^(n-1-i)  →  ẏ = polyval(ṗ, x) + ẋ·p'(x)"""
    y_dot += match_shape(np.polyval(p_dot, x), y)
    y_dot += match_shape(x_dot * polyval_deriv(p, x), y)


# ---------------------------------------------------------------- interpolation
@defadjoint(np.interp, props=FRESH)
def interp(y, x, xp, fp, left=None, right=None, period=None):
    """y = fp[j] + t·(fp[j+1] - fp[j]), t = (x - xp[j]) / (xp[j+1] - xp[j])  →
    x̄ += ȳ·slope ;  fp̄[j] += ȳ·(1 - t), fp̄[j+1] += ȳ·t ;  xp̄ through t ;
    left/right (or the end values of fp) get ȳ beyond the ends   (period is refused)"""
    x_bar += interp_grad_x(y_bar, x, xp, fp, left, right, period)
    xp_bar += interp_grad_xp(y_bar, x, xp, fp, left, right, period)
    fp_bar += interp_grad_fp(y_bar, x, xp, fp, left, right, period)
    left_bar += interp_grad_left(y_bar, x, xp, period)
    right_bar += interp_grad_right(y_bar, x, xp, period)


@deftangent(np.interp)
def interp_dot(y, x, xp, fp, left=None, right=None, period=None):
    """y = fp[j] + t·(fp[j+1] - fp[j])  →  ẏ = ẋ·slope + (the change of t with ẋp)·s
    + interp(x, xp, ḟp) + l̇eft / ṙight beyond the ends"""
    y_dot += interp_tangent_x(x_dot, x, xp, fp, period)
    y_dot += interp_tangent_xp(xp_dot, x, xp, fp, period)
    y_dot += interp_tangent_fp(fp_dot, x, xp, left, right, period)
    y_dot += interp_tangent_end(left_dot, x, xp, -1, period)
    y_dot += interp_tangent_end(right_dot, x, xp, 1, period)


# ---------------------------------------------------------------- convolution (1-D)
@defadjoint(np.convolve, props=FRESH)
def convolve(y, a, v, mode="full"):
    """yₖ = Σᵢ aᵢ·vₖ₋ᵢ (the 'full' output, or its middle)  →
    ā += correlate(ȳ, v, 'valid') ;  v̄ += correlate(ȳ, a, 'valid')   (ȳ in the full length)"""
    a_bar += convolve_grad(y_bar, v, a, mode)
    v_bar += convolve_grad(y_bar, a, v, mode)


@deftangent(np.convolve)
def convolve_dot(y, a, v, mode="full"):
    """y = convolve(a, v)  →  ẏ = convolve(ȧ, v) + convolve(a, v̇)"""
    y_dot += np.convolve(a_dot, v, mode)
    y_dot += np.convolve(a, v_dot, mode)


@defadjoint(np.correlate, props=FRESH)
def correlate(y, a, v, mode="valid"):
    """yₖ = Σₙ aₙ₊ₖ·vₙ = convolve(a, v[::-1])  →  ā += correlate(ȳ, v[::-1], 'valid') ;
    v̄ += correlate(ȳ, a, 'valid')[::-1]   (ȳ in the full length)"""
    a_bar += correlate_grad_a(y_bar, v, a, mode)
    v_bar += correlate_grad_v(y_bar, a, v, mode)


@deftangent(np.correlate)
def correlate_dot(y, a, v, mode="valid"):
    """y = correlate(a, v)  →  ẏ = correlate(ȧ, v) + correlate(a, v̇)"""
    y_dot += np.correlate(a_dot, v, mode)
    y_dot += np.correlate(a, v_dot, mode)


# ---------------------------------------------------------------- helpers (forward-over-reverse)
# Bilinear in the adjoint and the other operand: one term for each.
@deftangent(runtime.convolve_grad)
def convolve_grad_(out, g, other, x, mode="full"):
    """out = convolve_grad(g, v, a)  →  ȯut = convolve_grad(ġ, v, a) + convolve_grad(g, v̇, a)"""
    out_dot += convolve_grad(g_dot, other, x, mode)
    out_dot += convolve_grad(g, other_dot, x, mode)


@deftangent(runtime.correlate_grad_a)
def correlate_grad_a_(out, g, v, a, mode="valid"):
    """out = correlate_grad_a(g, v, a)  →  ȯut = correlate_grad_a(ġ, v, a)
    + correlate_grad_a(g, v̇, a)"""
    out_dot += correlate_grad_a(g_dot, v, a, mode)
    out_dot += correlate_grad_a(g, v_dot, a, mode)


@deftangent(runtime.correlate_grad_v)
def correlate_grad_v_(out, g, a, v, mode="valid"):
    """out = correlate_grad_v(g, a, v)  →  ȯut = correlate_grad_v(ġ, a, v)
    + correlate_grad_v(g, ȧ, v)"""
    out_dot += correlate_grad_v(g_dot, a, v, mode)
    out_dot += correlate_grad_v(g, a_dot, v, mode)


# The trapezoid adjoints are bilinear: in the adjoint and the spacings (x or dx) for ȳ,
# in the adjoint and y for x̄ and d̄x (the other arguments give only shapes).
@deftangent(runtime.trapezoid_grad_y)
def trapezoid_grad_y_(out, g, y, x=None, dx=1.0, axis=-1):
    """out = trapezoid_grad_y(g, y, x, dx)  →  ȯut = trapezoid_grad_y(ġ, y, x, dx)
    + trapezoid_grad_y(g, y, ẋ, dx) + trapezoid_grad_y(g, y, None, ḋx)"""
    out_dot += trapezoid_grad_y(g_dot, y, x, dx, axis)
    out_dot += trapezoid_grad_y(g, y, x_dot, dx, axis)
    out_dot += trapezoid_grad_y(g, y, None, dx_dot, axis) if x is None else 0.0


@deftangent(runtime.trapezoid_grad_x)
def trapezoid_grad_x_(out, g, y, x=None, dx=1.0, axis=-1):
    """out = trapezoid_grad_x(g, y, x)  →  ȯut = trapezoid_grad_x(ġ, y, x)
    + trapezoid_grad_x(g, ẏ, x)"""
    out_dot += trapezoid_grad_x(g_dot, y, x, dx, axis)
    out_dot += trapezoid_grad_x(g, y_dot, x, dx, axis)


@deftangent(runtime.trapezoid_grad_dx)
def trapezoid_grad_dx_(out, g, y, x=None, dx=1.0, axis=-1):
    """out = trapezoid_grad_dx(g, y, dx)  →  ȯut = trapezoid_grad_dx(ġ, y, dx)
    + trapezoid_grad_dx(g, ẏ, dx)"""
    out_dot += trapezoid_grad_dx(g_dot, y, x, dx, axis)
    out_dot += trapezoid_grad_dx(g, y_dot, x, dx, axis)
