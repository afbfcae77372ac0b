"""The tangent (forward-mode, JVP) table: one rule per adjoint rule, same keys.

A tangent rule has the same parameters as the adjoint rule it mirrors (output
first, then the inputs in call order, options with defaults). Its body only adds
to the output tangent, one term per input tangent:

    @deftangent(np.sin)
    def sin(y, x):
        \"\"\"y = sin(x)  →  ẏ = ẋ·cos(x)\"\"\"
        y_dot += x_dot * np.cos(x)

so that the forward transformer drops the term of an input without a tangent, and
turns the first remaining term into a definition. Every term is shaped like the
output (`match_shape` where a tangent would otherwise keep a broadcast operand's
shape); container outputs get full-length terms padded with zeros, added with
`add_grads`. `<vararg>_dot` in a term means the k-th variadic input's tangent, `k`
its index (and `key` its key in a dict display).

The last section gives tangent rules to the runtime helpers that generated
*reverse* code calls, so that gradient code can itself be differentiated in forward
mode (Hessian-vector products by forward-over-reverse).

Template names never shadow a name a body uses (the bodies run in this module's
namespace), hence `math_sin` beside `sin`, and `unbroadcast_` for the rule of
`unbroadcast`.
"""
import builtins
import math
import operator

import numpy as np

from .registry import deftangent, nondifferentiable
from . import indexing
from .. import runtime
from ..runtime import (  # noqa: F401  (used by the templates)
    accumulated_grad, add_at, add_attr, add_grads, attr_tangent, axis_sum, choose_grad,
    clip_high, clip_low,
    clip_mask, clip_pass, concat_grads,
    concat_tangent_left,
    concat_tangent_right, copy_item, copy_tangent, count_reduced, dict_item_tangent, digamma,
    div_or_zero,
    dot_left, dot_right, einsum_grad, einsum_grad_tangent, einsum_tangent, extremum_grad,
    extremum_tangent, getitem_grad, grad_like, hstack_grads, index_concat_grad,
    index_concat_tangent, item_tangent, log_or_zero, match_grad, pow_base_deriv,
    pow_base_deriv2,
    match_shape, matmul_left, matmul_right, prod_grad, prod_grad_dx, prod_tangent,
    prod_list_grad, prod_list_grad_dxs, prod_list_tangent,
    reshape_like, set_zero, sinc_deriv, slot_tangent, stored_grad, stored_cast_grad, sum_product, split_concat, split_grad,
    stack_grads, sum_list_grad,
    tangents_like, tensordot_grads, transpose_grad, transpose_tangent, unappend, unbroadcast,
    unreduce, vstack_grads, zero_grad)


# ================================================================ arithmetic operators
@deftangent(operator.add, np.add, ops=["add"])
def add(y, a, b):
    """y = a + b  →  ẏ = ȧ + ḃ"""
    y_dot += match_shape(a_dot, y)
    y_dot += match_shape(b_dot, y)


@deftangent(operator.sub, np.subtract, ops=["sub"])
def subtract(y, a, b):
    """y = a - b  →  ẏ = ȧ - ḃ"""
    y_dot += match_shape(a_dot, y)
    y_dot += match_shape(-b_dot, y)


@deftangent(operator.mul, np.multiply, ops=["mul"])
def multiply(y, a, b):
    """y = a * b  →  ẏ = ȧ·b + a·ḃ"""
    y_dot += a_dot * b
    y_dot += a * b_dot


@deftangent(operator.truediv, np.divide, np.true_divide, ops=["truediv"])
def divide(y, a, b):
    """y = a / b  →  ẏ = ȧ / b - ḃ·y / b"""
    y_dot += a_dot / b
    y_dot += -b_dot * y / b


@deftangent(operator.pow, np.power, np.float_power, builtins.pow, ops=["pow"])
def power(y, a, b):
    """y = a ** b (float_power: in float64)  →  ẏ = ȧ·b·a^(b-1) + ḃ·y·ln a"""
    y_dot += a_dot * b * a ** (b - 1)
    y_dot += b_dot * y * np.log(a)


@deftangent(ops=["pow_var"])
def power_variable(y, a, b):
    """y = a ** b, b not a constant  →  ẏ = ȧ·b·a^(b-1) + ḃ·y·ln a  (0 terms at b = 0, a = 0)"""
    y_dot += a_dot * pow_base_deriv(a, b)
    y_dot += b_dot * y * log_or_zero(a)


@deftangent(operator.neg, np.negative, ops=["neg"])
def negative(y, x):
    """y = -x  →  ẏ = -ẋ"""
    y_dot += -x_dot


@deftangent(operator.pos, np.positive, ops=["pos"])
def positive(y, x):
    """y = +x  →  ẏ = ẋ"""
    y_dot += x_dot


@deftangent(operator.mod, np.mod, np.remainder, ops=["mod"])
def mod(y, a, b):
    """y = a % b = a - b·floor(a/b)  →  ẏ = ȧ - ḃ·floor(a/b)   (away from jumps)"""
    y_dot += match_shape(a_dot, y)
    y_dot += -b_dot * np.floor_divide(a, b)


# ================================================================ math module (scalars)
@deftangent(math.sin)
def math_sin(y, x):
    """y = sin(x)  →  ẏ = ẋ·cos(x)"""
    y_dot += x_dot * math.cos(x)


@deftangent(math.cos)
def math_cos(y, x):
    """y = cos(x)  →  ẏ = -ẋ·sin(x)"""
    y_dot += -x_dot * math.sin(x)


@deftangent(math.tan)
def math_tan(y, x):
    """y = tan(x)  →  ẏ = ẋ·(1 + y²)"""
    y_dot += x_dot * (1.0 + y * y)


@deftangent(math.asin)
def math_asin(y, x):
    """y = asin(x)  →  ẏ = ẋ / √(1 - x²)"""
    y_dot += x_dot / math.sqrt(1.0 - x * x)


@deftangent(math.acos)
def math_acos(y, x):
    """y = acos(x)  →  ẏ = -ẋ / √(1 - x²)"""
    y_dot += -x_dot / math.sqrt(1.0 - x * x)


@deftangent(math.atan)
def math_atan(y, x):
    """y = atan(x)  →  ẏ = ẋ / (1 + x²)"""
    y_dot += x_dot / (1.0 + x * x)


@deftangent(math.atan2)
def math_atan2(y, a, b):
    """y = atan2(a, b)  →  ẏ = (ȧ·b - ḃ·a) / (a² + b²)"""
    y_dot += a_dot * b / (a * a + b * b)
    y_dot += -b_dot * a / (a * a + b * b)


@deftangent(math.exp)
def math_exp(y, x):
    """y = exp(x)  →  ẏ = ẋ·y"""
    y_dot += x_dot * y


@deftangent(math.expm1)
def math_expm1(y, x):
    """y = exp(x) - 1  →  ẏ = ẋ·(y + 1)"""
    y_dot += x_dot * (y + 1.0)


@deftangent(math.log)
def math_log(y, x, base=None):
    """y = log(x) or log(x, base)  →  ẏ = ẋ / (x·ln base) - ḃase·y / (base·ln base)"""
    y_dot += x_dot / x if base is None else x_dot / (x * math.log(base))
    y_dot += -base_dot * y / (base * math.log(base))


@deftangent(math.log1p)
def math_log1p(y, x):
    """y = ln(1 + x)  →  ẏ = ẋ / (1 + x)"""
    y_dot += x_dot / (1.0 + x)


@deftangent(math.log2)
def math_log2(y, x):
    """y = log2(x)  →  ẏ = ẋ / (x·ln 2)"""
    y_dot += x_dot / (x * math.log(2.0))


@deftangent(math.log10)
def math_log10(y, x):
    """y = log10(x)  →  ẏ = ẋ / (x·ln 10)"""
    y_dot += x_dot / (x * math.log(10.0))


@deftangent(math.sqrt)
def math_sqrt(y, x):
    """y = √x  →  ẏ = ẋ / (2y)"""
    y_dot += x_dot / (2.0 * y)


@deftangent(math.pow)
def math_pow(y, a, b):
    """y = a ** b  →  ẏ = ȧ·b·a^(b-1) + ḃ·y·ln a"""
    y_dot += a_dot * b * math.pow(a, b - 1.0)
    y_dot += b_dot * y * math.log(a)


@deftangent(math.tanh)
def math_tanh(y, x):
    """y = tanh(x)  →  ẏ = ẋ·(1 - y²)"""
    y_dot += x_dot * (1.0 - y * y)


@deftangent(math.sinh)
def math_sinh(y, x):
    """y = sinh(x)  →  ẏ = ẋ·cosh(x)"""
    y_dot += x_dot * math.cosh(x)


@deftangent(math.cosh)
def math_cosh(y, x):
    """y = cosh(x)  →  ẏ = ẋ·sinh(x)"""
    y_dot += x_dot * math.sinh(x)


@deftangent(math.hypot)
def math_hypot(y, a, b):
    """y = √(a² + b²)  →  ẏ = (ȧ·a + ḃ·b) / y"""
    y_dot += a_dot * a / y
    y_dot += b_dot * b / y


@deftangent(math.erf)
def math_erf(y, x):
    """y = erf(x)  →  ẏ = ẋ·2/√π·exp(-x²)"""
    y_dot += x_dot * 1.1283791670955126 * math.exp(-x * x)


@deftangent(math.erfc)
def math_erfc(y, x):
    """y = erfc(x)  →  ẏ = -ẋ·2/√π·exp(-x²)"""
    y_dot += -x_dot * 1.1283791670955126 * math.exp(-x * x)


@deftangent(math.gamma)
def math_gamma(y, x):
    """y = Γ(x)  →  ẏ = ẋ·Γ(x)·ψ(x)"""
    y_dot += x_dot * y * digamma(x)


@deftangent(math.lgamma)
def math_lgamma(y, x):
    """y = ln|Γ(x)|  →  ẏ = ẋ·ψ(x)"""
    y_dot += x_dot * digamma(x)


@deftangent(math.asinh)
def math_asinh(y, x):
    """y = asinh(x)  →  ẏ = ẋ / √(x² + 1)"""
    y_dot += x_dot / math.sqrt(x * x + 1.0)


@deftangent(math.acosh)
def math_acosh(y, x):
    """y = acosh(x)  →  ẏ = ẋ / √(x² - 1)"""
    y_dot += x_dot / math.sqrt(x * x - 1.0)


@deftangent(math.atanh)
def math_atanh(y, x):
    """y = atanh(x)  →  ẏ = ẋ / (1 - x²)"""
    y_dot += x_dot / (1.0 - x * x)


@deftangent(math.degrees)
def math_degrees(y, x):
    """y = x·180/π  →  ẏ = ẋ·180/π"""
    y_dot += x_dot * 57.29577951308232


@deftangent(math.radians)
def math_radians(y, x):
    """y = x·π/180  →  ẏ = ẋ·π/180"""
    y_dot += x_dot * 0.017453292519943295


@deftangent(math.copysign)
def math_copysign(y, a, b):
    """y = |a| with the sign of b  →  ẏ = ȧ·sign(a)·copysign(1, b)"""
    y_dot += a_dot * np.sign(a) * math.copysign(1.0, b)


# ---------------------------------------------------------------- builtins
@deftangent(math.fabs, builtins.abs, np.abs, np.absolute, np.fabs)
def abs_(y, x):
    """y = |x|  →  ẏ = ẋ·sign(x)"""
    y_dot += x_dot * np.sign(x)


@deftangent(builtins.max)
def max_(y, a, b):
    """y = max(a, b)  →  ẏ = the tangent of the larger input (ties: the first)"""
    y_dot += choose_grad(a_dot, a >= b)
    y_dot += choose_grad(b_dot, a < b)


@deftangent(builtins.min)
def min_(y, a, b):
    """y = min(a, b)  →  ẏ = the tangent of the smaller input (ties: the first)"""
    y_dot += choose_grad(a_dot, a <= b)
    y_dot += choose_grad(b_dot, a > b)


@deftangent(builtins.float)
def float_(y, x):
    """y = float(x)  →  ẏ = ẋ"""
    y_dot += float(np.sum(x_dot))


# ================================================================ NumPy elementwise
# ---------------------------------------------------------------- exp and log
@deftangent(np.exp)
def exp(y, x):
    """y = exp(x)  →  ẏ = ẋ·y"""
    y_dot += x_dot * y


@deftangent(np.exp2)
def exp2(y, x):
    """y = 2^x  →  ẏ = ẋ·y·ln 2"""
    y_dot += x_dot * y * np.log(2.0)


@deftangent(np.expm1)
def expm1(y, x):
    """y = exp(x) - 1  →  ẏ = ẋ·(y + 1)"""
    y_dot += x_dot * (y + 1.0)


@deftangent(np.log)
def log(y, x):
    """y = ln x  →  ẏ = ẋ / x"""
    y_dot += x_dot / x


@deftangent(np.log2)
def log2(y, x):
    """y = log2(x)  →  ẏ = ẋ / (x·ln 2)"""
    y_dot += x_dot / (x * np.log(2.0))


@deftangent(np.log10)
def log10(y, x):
    """y = log10(x)  →  ẏ = ẋ / (x·ln 10)"""
    y_dot += x_dot / (x * np.log(10.0))


@deftangent(np.log1p)
def log1p(y, x):
    """y = ln(1 + x)  →  ẏ = ẋ / (1 + x)"""
    y_dot += x_dot / (1.0 + x)


@deftangent(np.logaddexp)
def logaddexp(y, a, b):
    """y = ln(eᵃ + eᵇ)  →  ẏ = ȧ·e^(a-y) + ḃ·e^(b-y)"""
    y_dot += a_dot * np.exp(a - y)
    y_dot += b_dot * np.exp(b - y)


@deftangent(np.logaddexp2)
def logaddexp2(y, a, b):
    """y = log₂(2ᵃ + 2ᵇ)  →  ẏ = ȧ·2^(a-y) + ḃ·2^(b-y)"""
    y_dot += a_dot * np.exp2(a - y)
    y_dot += b_dot * np.exp2(b - y)


@deftangent(np.nan_to_num)
def nan_to_num(y, x, copy=True, nan=0.0, posinf=None, neginf=None):
    """y = x where finite, else the replacement values  →  ẏ = ẋ where x is finite, the
    replacement's tangent where it was written"""
    y_dot += np.where(np.isfinite(x), x_dot, 0.0)
    y_dot += np.where(np.isnan(x), nan_dot, 0.0)
    y_dot += np.where(np.isposinf(x), posinf_dot, 0.0)
    y_dot += np.where(np.isneginf(x), neginf_dot, 0.0)


@deftangent(np.fmod)
def fmod(y, a, b):
    """y = fmod(a, b) = a - b·trunc(a/b)  →  ẏ = ȧ - ḃ·trunc(a/b)   (away from jumps)"""
    y_dot += match_shape(a_dot, y)
    y_dot += match_shape(-b_dot * np.trunc(a / b), y)


@deftangent(np.copysign)
def copysign(y, x1, x2):
    """y = |x₁| with the sign of x₂  →  ẏ = ẋ₁·sign(x₁)·copysign(1, x₂)"""
    y_dot += match_shape(x1_dot * np.sign(x1) * np.copysign(1.0, x2), y)


@deftangent(np.conjugate, methods=["conj", "conjugate"])
def conjugate(y, x):
    """y = conj(x) of a real x  →  ẏ = ẋ"""
    y_dot += x_dot


@deftangent(np.real, attributes=["real"])
def real(y, val):
    """y = real(x), x.real of a real x  →  ẏ = ẋ"""
    y_dot += val_dot


@deftangent(np.imag, attributes=["imag"])
def imag(y, val):
    """y = imag(x), x.imag of a real x  →  ẏ = 0"""
    y_dot += zero_grad(val_dot)


@deftangent(np.sqrt)
def sqrt(y, x):
    """y = √x  →  ẏ = ẋ / (2y)"""
    y_dot += x_dot / (2.0 * y)


@deftangent(np.cbrt)
def cbrt(y, x):
    """y = ∛x  →  ẏ = ẋ / (3y²)"""
    y_dot += x_dot / (3.0 * y * y)


@deftangent(np.square)
def square(y, x):
    """y = x²  →  ẏ = 2·x·ẋ"""
    y_dot += 2.0 * x * x_dot


@deftangent(np.reciprocal)
def reciprocal(y, x):
    """y = 1/x  →  ẏ = -ẋ·y²"""
    y_dot += -x_dot * y * y


# ---------------------------------------------------------------- trigonometry
@deftangent(np.sin)
def sin(y, x):
    """y = sin(x)  →  ẏ = ẋ·cos(x)"""
    y_dot += x_dot * np.cos(x)


@deftangent(np.cos)
def cos(y, x):
    """y = cos(x)  →  ẏ = -ẋ·sin(x)"""
    y_dot += -x_dot * np.sin(x)


@deftangent(np.tan)
def tan(y, x):
    """y = tan(x)  →  ẏ = ẋ·(1 + y²)"""
    y_dot += x_dot * (1.0 + y * y)


@deftangent(np.arcsin)
def arcsin(y, x):
    """y = asin(x)  →  ẏ = ẋ / √(1 - x²)"""
    y_dot += x_dot / np.sqrt(1.0 - x * x)


@deftangent(np.arccos)
def arccos(y, x):
    """y = acos(x)  →  ẏ = -ẋ / √(1 - x²)"""
    y_dot += -x_dot / np.sqrt(1.0 - x * x)


@deftangent(np.arctan)
def arctan(y, x):
    """y = atan(x)  →  ẏ = ẋ / (1 + x²)"""
    y_dot += x_dot / (1.0 + x * x)


@deftangent(np.arctan2)
def arctan2(y, a, b):
    """y = atan2(a, b)  →  ẏ = (ȧ·b - ḃ·a) / (a² + b²)"""
    y_dot += a_dot * b / (a * a + b * b)
    y_dot += -b_dot * a / (a * a + b * b)


@deftangent(np.hypot)
def hypot(y, a, b):
    """y = √(a² + b²)  →  ẏ = (ȧ·a + ḃ·b) / y"""
    y_dot += a_dot * a / y
    y_dot += b_dot * b / y


# ---------------------------------------------------------------- hyperbolic
@deftangent(np.sinh)
def sinh(y, x):
    """y = sinh(x)  →  ẏ = ẋ·cosh(x)"""
    y_dot += x_dot * np.cosh(x)


@deftangent(np.cosh)
def cosh(y, x):
    """y = cosh(x)  →  ẏ = ẋ·sinh(x)"""
    y_dot += x_dot * np.sinh(x)


@deftangent(np.tanh)
def tanh(y, x):
    """y = tanh(x)  →  ẏ = ẋ·(1 - y²)"""
    y_dot += x_dot * (1.0 - y * y)


@deftangent(np.arcsinh)
def arcsinh(y, x):
    """y = asinh(x)  →  ẏ = ẋ / √(x² + 1)"""
    y_dot += x_dot / np.sqrt(x * x + 1.0)


@deftangent(np.arctanh)
def arctanh(y, x):
    """y = atanh(x)  →  ẏ = ẋ / (1 - x²)"""
    y_dot += x_dot / (1.0 - x * x)


@deftangent(np.arccosh)
def arccosh(y, x):
    """y = acosh(x)  →  ẏ = ẋ / √(x² - 1)"""
    y_dot += x_dot / np.sqrt(x * x - 1.0)


# ---------------------------------------------------------------- angles and sinc
@deftangent(np.deg2rad, np.radians)
def deg2rad(y, x):
    """y = x·π/180  →  ẏ = ẋ·π/180"""
    y_dot += x_dot * (np.pi / 180.0)


@deftangent(np.rad2deg, np.degrees)
def rad2deg(y, x):
    """y = x·180/π  →  ẏ = ẋ·180/π"""
    y_dot += x_dot * (180.0 / np.pi)


@deftangent(np.sinc)
def sinc(y, x):
    """y = sin(πx)/(πx)  →  ẏ = ẋ·(cos(πx) - y)/x   (0 at x = 0)"""
    y_dot += x_dot * sinc_deriv(x)


# ---------------------------------------------------------------- piecewise
@deftangent(np.maximum, np.fmax)
def maximum(y, a, b):
    """y = max(a, b) elementwise  →  ẏ = the tangent of the larger input (ties: a)"""
    y_dot += match_shape(choose_grad(a_dot, a >= b), y)
    y_dot += match_shape(choose_grad(b_dot, a < b), y)


@deftangent(np.minimum, np.fmin)
def minimum(y, a, b):
    """y = min(a, b) elementwise  →  ẏ = the tangent of the smaller input (ties: a)"""
    y_dot += match_shape(choose_grad(a_dot, a <= b), y)
    y_dot += match_shape(choose_grad(b_dot, a > b), y)


@deftangent(np.where)
def where(y, condition, a, b):
    """y = where(c, a, b)  →  ẏ = ȧ where c, ḃ where not c"""
    y_dot += match_shape(choose_grad(a_dot, condition), y)
    y_dot += match_shape(choose_grad(b_dot, np.logical_not(condition)), y)


@deftangent(np.clip, methods=["clip"])
def clip(y, x, a_min=None, a_max=None, min=None, max=None):
    """y = clip(x, lo, hi)  →  ẏ = ẋ where lo ≤ x ≤ hi, l̇o where x < lo ≤ hi, ḣi where
    max(x, lo) > hi"""
    y_dot += match_shape(choose_grad(x_dot, clip_mask(
        x, a_min if min is None else min, a_max if max is None else max)), y)
    y_dot += match_shape(choose_grad(a_min_dot, clip_low(
        x, a_min, a_max if max is None else max)), y)
    y_dot += match_shape(choose_grad(a_max_dot, clip_high(
        x, a_min if min is None else min, a_max)), y)
    y_dot += match_shape(choose_grad(min_dot, clip_low(
        x, min, a_max if max is None else max)), y)
    y_dot += match_shape(choose_grad(max_dot, clip_high(
        x, a_min if min is None else min, max)), y)


# ================================================================ reductions
@deftangent(np.sum, methods=["sum"])
def sum_(y, x, axis=None, dtype=None, out=None, keepdims=False):
    """y = Σ x  →  ẏ = Σ ẋ   (none with an integer dtype=)"""
    y_dot += np.sum(x_dot if dtype is None else accumulated_grad(x_dot, dtype), axis=axis,
                    keepdims=keepdims)


@deftangent(np.mean, methods=["mean"])
def mean(y, x, axis=None, dtype=None, out=None, keepdims=False):
    """y = mean(x)  →  ẏ = mean(ẋ)   (none with an integer dtype=)"""
    y_dot += np.mean(x_dot if dtype is None else accumulated_grad(x_dot, dtype), axis=axis,
                     keepdims=keepdims)


@deftangent(np.prod, methods=["prod"])
def prod(y, x, axis=None, dtype=None, out=None, keepdims=False):
    """y = Π x  →  ẏ = Σᵢ ẋᵢ·Π_{j≠i} xⱼ"""
    y_dot += prod_tangent(x_dot, y, x, axis, keepdims)


@deftangent(np.max, np.amax, methods=["max"])
def reduce_max(y, x, axis=None, out=None, keepdims=False):
    """y = max(x)  →  ẏ = ẋ at the maximal elements (averaged over ties)"""
    y_dot += extremum_tangent(x_dot, y, x, axis, keepdims)


@deftangent(np.min, np.amin, methods=["min"])
def reduce_min(y, x, axis=None, out=None, keepdims=False):
    """y = min(x)  →  ẏ = ẋ at the minimal elements (averaged over ties)"""
    y_dot += extremum_tangent(x_dot, y, x, axis, keepdims)


@deftangent(np.var, methods=["var"])
def var(y, x, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    """y = Σ(x - mean(x))² / (n - ddof)  →  ẏ = 2·Σ ẋ·(x - mean(x)) / (n - ddof)"""
    y_dot += 2.0 * np.sum(x_dot * (x - np.mean(x, axis=axis, keepdims=True)),
                          axis=axis, keepdims=keepdims) / (count_reduced(x, axis) - ddof)


@deftangent(np.std, methods=["std"])
def std(y, x, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    """y = √var(x)  →  ẏ = Σ ẋ·(x - mean(x)) / ((n - ddof)·y)   (0 where y = 0)"""
    y_dot += div_or_zero(np.sum(x_dot * (x - np.mean(x, axis=axis, keepdims=True)),
                                axis=axis, keepdims=keepdims), (count_reduced(x, axis) - ddof) * y)


@deftangent(builtins.sum, math.fsum)
def sum_list(y, xs, start=0):
    """y = sum(xs, start) or fsum(xs)  →  ẏ = Σ ẋᵢ + ṡtart"""
    y_dot += match_shape(sum(xs_dot), y)
    y_dot += match_shape(start_dot, y)


@deftangent(math.prod)
def prod_list(y, xs, *, start=1):
    """y = start·Π xs  →  ẏ = Σᵢ ẋᵢ·start·Π_{j≠i} xⱼ + ṡtart·Π xⱼ"""
    y_dot += match_shape(prod_list_tangent(xs_dot, xs, start), y)
    y_dot += match_shape(start_dot * math.prod(xs), y)


@deftangent(np.cumsum, methods=["cumsum"])
def cumsum(y, x, axis=None):
    """y = cumsum(x)  →  ẏ = cumsum(ẋ)"""
    y_dot += np.cumsum(x_dot, axis)


# ================================================================ products
@deftangent(operator.matmul, np.matmul, ops=["matmul"])
def matmul(y, a, b):
    """y = a @ b  →  ẏ = ȧ @ b + a @ ḃ"""
    y_dot += a_dot @ b
    y_dot += a @ b_dot


@deftangent(np.dot, methods=["dot"])
def dot(y, a, b):
    """y = dot(a, b)  →  ẏ = dot(ȧ, b) + dot(a, ḃ)"""
    y_dot += np.dot(a_dot, b)
    y_dot += np.dot(a, b_dot)


@deftangent(np.inner)
def inner(y, a, b):
    """y = inner(a, b)  →  ẏ = inner(ȧ, b) + inner(a, ḃ)"""
    y_dot += np.inner(a_dot, b)
    y_dot += np.inner(a, b_dot)


@deftangent(np.outer)
def outer(y, a, b):
    """y = a ⊗ b  →  ẏ = ȧ ⊗ b + a ⊗ ḃ"""
    y_dot += np.outer(a_dot, b)
    y_dot += np.outer(a, b_dot)


@deftangent(np.tensordot)
def tensordot(y, a, b, axes=2):
    """y = tensordot(a, b, axes)  →  ẏ = tensordot(ȧ, b) + tensordot(a, ḃ)"""
    y_dot += np.tensordot(a_dot, b, axes)
    y_dot += np.tensordot(a, b_dot, axes)


@deftangent(np.einsum)
def einsum(y, subscripts, *operands, **options):
    """y = einsum(spec, x₁, x₂, …)  →  ẏ = Σₖ einsum(spec, …, ẋₖ, …)"""
    y_dot += einsum_tangent(subscripts, operands, k, operands_dot)


# ================================================================ shapes and indexing
@deftangent(ops=["getitem"])
def getitem(y, x, index):
    """y = x[index]  →  ẏ = ẋ[index]"""
    y_dot += x_dot[index]


@deftangent(ops=["field"])
def field(y, x, name):
    """y = x.name (a NamedTuple's or dataclass's field)  →  ẏ = ẋ.name"""
    y_dot += attr_tangent(x_dot, name)


@deftangent(ops=["index_concat"])
def index_concat(y, maker, index, *items):
    """y = np.r_[a, b, …] / np.c_[…]  →  ẏ = Σₖ the same build of ẋₖ alone"""
    y_dot += index_concat_tangent(maker, index, k, items_dot)


@deftangent(np.transpose, methods=["transpose"])
def transpose(y, x, *order, axes=None):
    """y = transpose(x, axes)  →  ẏ = transpose(ẋ, axes)"""
    y_dot += transpose_tangent(x_dot, order if axes is None else (axes,))


@deftangent(attributes=["T"])
def T(y, x):
    """y = x.T  →  ẏ = ẋ.T"""
    y_dot += np.transpose(x_dot)


@deftangent(np.reshape, np.ravel, np.squeeze, np.expand_dims,
            methods=["reshape", "ravel", "flatten", "squeeze"])
def reshape(y, x, *shape, order=None, **options):
    """y = reshape(x, shape, order)  →  ẏ = reshape(ẋ, shape of y, order)"""
    y_dot += np.reshape(x_dot, np.shape(y)) if order is None else \
        reshape_like(x_dot, y, x, order)


@deftangent(np.atleast_1d, np.atleast_2d, np.atleast_3d)
def atleast(y, x):
    """y = atleast_nd(x)  →  ẏ = reshape(ẋ, shape of y)"""
    y_dot += np.reshape(x_dot, np.shape(y))


@deftangent(np.flip)
def flip(y, x, axis=None):
    """y = flip(x, axis)  →  ẏ = flip(ẋ, axis)"""
    y_dot += np.flip(x_dot, axis)


@deftangent(np.broadcast_to)
def broadcast_to(y, x, shape):
    """y = broadcast_to(x, shape)  →  ẏ = broadcast_to(ẋ, shape)"""
    y_dot += np.broadcast_to(x_dot, shape)


@deftangent(np.array, np.asarray, builtins.list, builtins.tuple, np.asanyarray, np.copy,
            np.float64, np.float32, *indexing.ASTYPE, methods=["copy", "astype"])
def copy(y, x, *options, dtype=None, **keywords):
    """y = array(x), list(x), x.astype(…)…  →  ẏ = ẋ converted like x was"""
    y_dot += copy_tangent(x_dot, y)


@deftangent(np.split, np.array_split)
def split(y, x, indices_or_sections, axis=0):
    """ys = split(x, …)  →  ẏs = split(ẋ, …)   (array_split cuts like split where both work)"""
    y_dot += np.array_split(x_dot, indices_or_sections, axis)


# ================================================================ linear algebra
from ..runtime import (det_tangent, norm_tangent, slogdet_tangent,  # noqa: E402,F401
                       solve_tangent_a, solve_tangent_b, sort_tangent, norm_grad,
                       norm_grad_dy, inv_grad, inv_grad_dy, det_grad, det_grad_da,
                       slogdet_grad, slogdet_grad_da, solve_grad_a, solve_grad_a_da,
                       solve_grad_b, solve_grad_b_da, solve_grads, solve_transposed,
                       lower_t_product, phi_sandwich, phi_sandwich_tangent, trace_grad, diagonal_grad, diag_grad,
                       tile_grad, repeat_grad, diff_grad, diff_end_grad, diff_tangent,
                       sort_grad, take_grad, item_grad)


@deftangent(np.linalg.norm)
def norm(y, x, ord=None, axis=None, keepdims=False):
    """y = ‖x‖₂ (vector 2-norm or Frobenius, over axis)  →  ẏ = Σ x·ẋ / y"""
    y_dot += norm_tangent(x_dot, y, x, ord, axis, keepdims)


@deftangent(np.linalg.inv)
def inv(y, a):
    """y = a⁻¹ (batched)  →  ẏ = -y·ȧ·y"""
    y_dot += -(y @ a_dot @ y)


@deftangent(np.linalg.det)
def det(y, a):
    """y = det(a) (batched)  →  ẏ = y·tr(a⁻¹ȧ)"""
    y_dot += det_tangent(a_dot, y, a)


@deftangent(np.linalg.slogdet)
def slogdet(y, a):
    """(s, l) = slogdet(a)  →  (ṡ, l̇) = (0, tr(a⁻¹ȧ))"""
    y_dot += slogdet_tangent(a_dot, y, a)


@deftangent(np.linalg.solve)
def solve(y, a, b):
    """y = a⁻¹b  →  ẏ = -a⁻¹·ȧ·y + a⁻¹·ḃ"""
    y_dot += solve_tangent_a(a_dot, y, a, b)
    y_dot += match_shape(solve_tangent_b(a, b_dot, b), y)


@deftangent(np.trace, methods=["trace"])
def trace(y, a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    """y = Σᵢ a[i, i + offset]  →  ẏ = trace(ȧ)"""
    y_dot += np.trace(a_dot, offset, axis1, axis2)


@deftangent(np.diagonal, methods=["diagonal"])
def diagonal(y, a, offset=0, axis1=0, axis2=1):
    """y = diagonal(a)  →  ẏ = diagonal(ȧ)"""
    y_dot += np.diagonal(a_dot, offset, axis1, axis2)


@deftangent(np.diag)
def diag(y, v, k=0):
    """y = diag(v, k)  →  ẏ = diag(v̇, k)"""
    y_dot += np.diag(v_dot, k)


# ================================================================ copies and selections
@deftangent(np.tile)
def tile(y, x, reps):
    """y = tile(x, reps)  →  ẏ = tile(ẋ, reps)"""
    y_dot += np.tile(x_dot, reps)


@deftangent(np.repeat, methods=["repeat"])
def repeat(y, x, repeats, axis=None):
    """y = repeat(x, repeats, axis)  →  ẏ = repeat(ẋ, repeats, axis)"""
    y_dot += np.repeat(x_dot, repeats, axis)


@deftangent(np.diff)
def diff(y, x, n=1, axis=-1, prepend=None, append=None):
    """y = diff(x, n, axis, prepend=p, append=a)  →  ẏ = diff([ṗ, ẋ, ȧ], n, axis)"""
    y_dot += diff_tangent(x_dot, "x", x, n, axis, prepend=prepend, append=append)
    y_dot += diff_tangent(prepend_dot, "prepend", x, n, axis, prepend=prepend, append=append)
    y_dot += diff_tangent(append_dot, "append", x, n, axis, prepend=prepend, append=append)


@deftangent(np.roll)
def roll(y, x, shift, axis=None):
    """y = roll(x, shift, axis)  →  ẏ = roll(ẋ, shift, axis)"""
    y_dot += np.roll(x_dot, shift, axis)


@deftangent(np.sort)
def sort(y, x, axis=-1, kind=None, order=None):
    """y = x[argsort(x)] along axis  →  ẏ = ẋ[argsort(x)]"""
    y_dot += sort_tangent(x_dot, x, axis, kind)


@deftangent(np.take, methods=["take"])
def take(y, x, indices, axis=None, out=None, mode="raise"):
    """y = take(x, indices, axis)  →  ẏ = take(ẋ, indices, axis)"""
    y_dot += np.take(x_dot, indices, axis, mode=mode)


@deftangent(methods=["item"])
def item(y, x, *index):
    """y = x.item(*index)  →  ẏ = ẋ.item(*index)"""
    y_dot += np.asarray(x_dot).item(*index)


# ================================================================ containers
@deftangent(ops=["list", "tuple"])
def display(y, *items):
    """y = [a, b, …]  →  ẏ = [ȧ, ḃ, …]   (one term per item, zeros elsewhere)"""
    y_dot += item_tangent(items_dot, k, y)


@deftangent(ops=["dict"])
def dict_display(y, *values):
    """y = {"k₁": a, …}  →  ẏ = {"k₁": ȧ, …}   (one term per value, zeros elsewhere)"""
    y_dot += dict_item_tangent(values_dot, key, y)


@deftangent(ops=["repeat"])
def repeat(y, a, b):
    """y = xs * n for a list xs  →  ẏ = ẋs * n   (the copies carry the same tangent)"""
    y_dot += a_dot * b
    y_dot += a * b_dot


@deftangent(ops=["concat"])
def concat(y, a, b):
    """y = a + b for lists  →  ẏ = ȧ + ḃ   (each padded with zeros for the other list)"""
    y_dot += concat_tangent_left(a_dot, b)
    y_dot += concat_tangent_right(a, b_dot)


@deftangent(np.concatenate)
def concatenate(y, xs, axis=0):
    """y = concatenate(xs, axis)  →  ẏ = concatenate(ẋs, axis)"""
    y_dot += np.concatenate(tangents_like(xs_dot, xs), axis)


@deftangent(np.stack)
def stack(y, xs, axis=0):
    """y = stack(xs, axis)  →  ẏ = stack(ẋs, axis)"""
    y_dot += np.stack(tangents_like(xs_dot, xs), axis)


@deftangent(np.hstack)
def hstack(y, xs):
    """y = hstack(xs)  →  ẏ = hstack(ẋs)"""
    y_dot += np.hstack(tangents_like(xs_dot, xs))


@deftangent(np.vstack)
def vstack(y, xs):
    """y = vstack(xs)  →  ẏ = vstack(ẋs)"""
    y_dot += np.vstack(tangents_like(xs_dot, xs))


# `xs.append(x)` is differentiated by the forward transformer itself (no rule).


# ================================================================ runtime helpers
# Tangents of the helpers that generated reverse code calls (forward-over-reverse).
# Most are linear in the adjoint they transform: the tangent applies the same helper
# to the adjoint's tangent. Shape-only arguments (the `x` of unbroadcast(g, x)) carry
# no tangent.
nondifferentiable(runtime.zero_grad, runtime.count_reduced, runtime.count_nonnan, runtime.clip_mask,
                  runtime.clip_low, runtime.clip_high,
                  runtime.ShapeOf)


@deftangent(runtime.unbroadcast)
def unbroadcast_(y, g, x):
    """y = unbroadcast(g, x)  →  ẏ = unbroadcast(ġ, x)"""
    y_dot += unbroadcast(g_dot, x)


@deftangent(runtime.unreduce)
def unreduce_(y, g, x, axis=None, keepdims=False):
    """y = unreduce(g, x, axis, keepdims)  →  ẏ = unreduce(ġ, x, axis, keepdims)"""
    y_dot += unreduce(g_dot, x, axis, keepdims)


@deftangent(runtime.axis_sum)
def axis_sum_(y, a, axis, keepdims=False):
    """y = axis_sum(a, axis, keepdims), np.sum over an axis  →  ẏ = axis_sum(ȧ, axis, …)"""
    y_dot += axis_sum(a_dot, axis, keepdims)


@deftangent(runtime.sum_product)
def sum_product_(y, a, b):
    """y = sum_product(a, b) = Σ a·b  →  ẏ = Σ ȧ·b + Σ a·ḃ"""
    y_dot += sum_product(a_dot, b)
    y_dot += sum_product(a, b_dot)


@deftangent(runtime.add_grads)
def add_grads_(y, a, b):
    """y = add_grads(a, b)  →  ẏ = ȧ + ḃ"""
    y_dot += match_grad(a_dot, y)
    y_dot += match_grad(b_dot, y)


@deftangent(runtime.grad_like)
def grad_like_(y, g, x):
    """y = grad_like(g, x)  →  ẏ = grad_like(ġ, x)"""
    y_dot += grad_like(g_dot, x)


@deftangent(runtime.getitem_grad)
def getitem_grad_(y, g, index):
    """y = getitem_grad(g, index)  →  ẏ = getitem_grad(ġ, index) (zeros shaped like y
    where ġ's slot is the zero 0.0)"""
    y_dot += slot_tangent(getitem_grad(g_dot, index), y)


@deftangent(runtime.stored_grad)
def stored_grad_(y, g, x, index, v=None):
    """y = stored_grad(g, x, index, v)  →  ẏ = stored_grad(ġ, x, index, v)"""
    y_dot += stored_grad(g_dot, x, index, v)


@deftangent(runtime.stored_cast_grad)
def stored_cast_grad_(y, piece, x):
    """y = stored_cast_grad(piece, x)  →  ẏ = stored_cast_grad(ṗiece, x)"""
    y_dot += stored_cast_grad(piece_dot, x)


@deftangent(runtime.add_attr)
def add_attr_(y, g, x, name, v):
    """y = add_attr(g, x, name, v)  →  ẏ = add_attr(ġ, x, name, 0) + add_attr(0, x, name, v̇)"""
    y_dot += add_attr(g_dot, x, name, zero_grad(v))
    y_dot += add_attr(0.0, x, name, v_dot)


@deftangent(runtime.add_at)
def add_at_(y, g, x, index, v, in_place=False):
    """y = add_at(g, x, index, v)  →  ẏ = add_at(ġ, x, index, 0) + add_at(0, x, index, v̇)"""
    y_dot += add_at(g_dot, x, index, zero_grad(v))
    y_dot += add_at(0.0, x, index, v_dot)


@deftangent(runtime.set_zero)
def set_zero_(y, g, x, index):
    """y = set_zero(g, x, index)  →  ẏ = set_zero(ġ, x, index)"""
    y_dot += set_zero(g_dot, x, index)


@deftangent(runtime.copy_item)
def copy_item_(y, x, index):
    """y = copy_item(x, index)  →  ẏ = copy_item(ẋ, index)"""
    y_dot += copy_item(x_dot, index)


@deftangent(runtime.unappend)
def unappend_(y, g):
    """(rest, last) = unappend(g)  →  (ṙest, l̇ast) = unappend(ġ)"""
    y_dot += unappend(g_dot)


@deftangent(runtime.split_concat)
def split_concat_(y, g, a, b):
    """(ā, b̄) = split_concat(g, a, b)  →  split_concat(ġ, a, b)"""
    y_dot += split_concat(g_dot, a, b)


@deftangent(runtime.sum_list_grad)
def sum_list_grad_(y, g, xs):
    """y = sum_list_grad(g, xs)  →  ẏ = sum_list_grad(ġ, xs)"""
    y_dot += sum_list_grad(g_dot, xs)


@deftangent(runtime.prod_list_grad)
def prod_list_grad_(out, g, xs, start=1):
    """out = prod_list_grad(g, xs, start), linear in g and in start  →
    ȯut = prod_list_grad(ġ, xs, start) + (the product rule over the others' ẋⱼ)
    + prod_list_grad(g·ṡtart, xs)"""
    out_dot += prod_list_grad(g_dot, xs, start)
    out_dot += prod_list_grad_dxs(g, xs, xs_dot, start)
    out_dot += prod_list_grad(g * start_dot, xs)


@deftangent(runtime.extremum_grad)
def extremum_grad_(out, g, y, x, axis=None, keepdims=False):
    """out = extremum_grad(g, y, x, …)  →  ȯut = extremum_grad(ġ, y, x, …)
    (the tie mask is piecewise constant in y and x)"""
    out_dot += extremum_grad(g_dot, y, x, axis, keepdims)


@deftangent(runtime.choose_grad)
def choose_grad_(y, g, mask):
    """y = choose_grad(g, mask)  →  ẏ = choose_grad(ġ, mask)"""
    y_dot += choose_grad(g_dot, mask)


@deftangent(runtime.prod_grad)
def prod_grad_(y, g, x, axis=None, keepdims=False):
    """yᵢ = g·Π_{j≠i} xⱼ  →  ẏᵢ = ġ·Π_{j≠i} xⱼ + g·Σ_{j≠i} ẋⱼ·Π_{l≠i,j} xₗ"""
    y_dot += prod_grad(g_dot, x, axis, keepdims)
    y_dot += prod_grad_dx(g, x, x_dot, axis, keepdims)


@deftangent(runtime.matmul_left)
def matmul_left_(y, g, b, a, out=None):
    """y = g @ bᵀ (adjoint of a in a @ b)  →  ẏ = ġ @ bᵀ + g @ ḃᵀ"""
    y_dot += matmul_left(g_dot, b, a)
    y_dot += matmul_left(g, b_dot, a)


@deftangent(runtime.matmul_right)
def matmul_right_(y, g, a, b, out=None):
    """y = aᵀ @ g (adjoint of b in a @ b)  →  ẏ = aᵀ @ ġ + ȧᵀ @ g"""
    y_dot += matmul_right(g_dot, a, b)
    y_dot += matmul_right(g, a_dot, b)


@deftangent(runtime.dot_left)
def dot_left_(y, g, b, a, out=None):
    """y = dot_left(g, b, a)  →  ẏ = dot_left(ġ, b, a) + dot_left(g, ḃ, a)"""
    y_dot += dot_left(g_dot, b, a)
    y_dot += dot_left(g, b_dot, a)


@deftangent(runtime.dot_right)
def dot_right_(y, g, a, b, out=None):
    """y = dot_right(g, a, b)  →  ẏ = dot_right(ġ, a, b) + dot_right(g, ȧ, b)"""
    y_dot += dot_right(g_dot, a, b)
    y_dot += dot_right(g, a_dot, b)


@deftangent(runtime.tensordot_grads)
def tensordot_grads_(y, g, a, b, axes=2):
    """(ā, b̄) = tensordot_grads(g, a, b)  →  ā is bilinear in (g, b), b̄ in (g, a)"""
    y_dot += tensordot_grads(g_dot, a, b, axes)
    y_dot += (zero_grad(a), tensordot_grads(g, a_dot, b, axes)[1])
    y_dot += (tensordot_grads(g, a, b_dot, axes)[0], zero_grad(b))


@deftangent(runtime.index_concat_grad)
def index_concat_grad_(y, g, maker, index, k):
    """y = index_concat_grad(g, …)  →  linear in g (the items give only their shapes)"""
    y_dot += index_concat_grad(g_dot, maker, index, k)


@deftangent(runtime.pow_base_deriv)
def pow_base_deriv_(y, a, b):
    """y = b·a^(b-1) (0 at b = 0)  →  ẏ = ȧ·b·(b-1)·a^(b-2) + ḃ·a^(b-1)·(1 + b·ln a)"""
    y_dot += a_dot * pow_base_deriv2(a, b)
    y_dot += b_dot * np.power(a, b - 1.0) * (1.0 + b * log_or_zero(a))


@deftangent(runtime.pow_base_deriv2)
def pow_base_deriv2_(y, a, b):
    """y = b·(b-1)·a^(b-2) (0 at b = 0, 1)  →  ẏ = ȧ·b·(b-1)·(b-2)·a^(b-3)
    + ḃ·a^(b-2)·(2b - 1 + b·(b-1)·ln a)"""
    y_dot += a_dot * b * pow_base_deriv2(a, b - 1)
    y_dot += b_dot * np.power(a, b - 2.0) * (2.0 * b - 1.0 + b * (b - 1.0) * log_or_zero(a))


@deftangent(runtime.log_or_zero)
def log_or_zero_(y, a):
    """y = ln a (0 at a = 0)  →  ẏ = ȧ / a (0 at a = 0)"""
    y_dot += a_dot / np.where(np.equal(a, 0), np.inf, a)


@deftangent(runtime.einsum_grad)
def einsum_grad_(y, g, spec, operands, k):
    """y = einsum_grad(g, spec, operands, k)  →  linear in g and in each other operand"""
    y_dot += einsum_grad(g_dot, spec, operands, k)
    y_dot += einsum_grad_tangent(g, spec, operands, k, operands_dot)


@deftangent(runtime.transpose_grad)
def transpose_grad_(y, g, axes=()):
    """y = transpose_grad(g, axes)  →  ẏ = transpose_grad(ġ, axes)"""
    y_dot += transpose_grad(g_dot, axes)


@deftangent(runtime.concat_grads)
def concat_grads_(y, g, xs, axis=0):
    """ys = concat_grads(g, xs, axis)  →  ẏs = concat_grads(ġ, xs, axis)"""
    y_dot += concat_grads(g_dot, xs, axis)


@deftangent(runtime.stack_grads)
def stack_grads_(y, g, xs, axis=0):
    """ys = stack_grads(g, xs, axis)  →  ẏs = stack_grads(ġ, xs, axis)"""
    y_dot += stack_grads(g_dot, xs, axis)


@deftangent(runtime.div_or_zero)
def div_or_zero_(y, a, b):
    """y = a / b (0 where b = 0)  →  ẏ = ȧ / b - ḃ·y / b   (0 where b = 0)"""
    y_dot += div_or_zero(a_dot, b)
    y_dot += -div_or_zero(b_dot * y, b)


@deftangent(runtime.hstack_grads)
def hstack_grads_(y, g, xs):
    """ys = hstack_grads(g, xs)  →  ẏs = hstack_grads(ġ, xs)"""
    y_dot += hstack_grads(g_dot, xs)


@deftangent(runtime.vstack_grads)
def vstack_grads_(y, g, xs):
    """ys = vstack_grads(g, xs)  →  ẏs = vstack_grads(ġ, xs)"""
    y_dot += vstack_grads(g_dot, xs)


@deftangent(runtime.split_grad)
def split_grad_(y, gs, x, indices_or_sections, axis=0):
    """y = split_grad(gs, x, …)  →  ẏ = split_grad(ġs, x, …)"""
    y_dot += split_grad(gs_dot, x, indices_or_sections, axis)


@deftangent(runtime.match_shape)
def match_shape_(out, t, y):
    """out = match_shape(t, y)  →  ȯut = match_shape(ṫ, y)"""
    out_dot += match_shape(t_dot, y)



# ---------------------------------------------------------------- helpers of linalg / selections
@deftangent(runtime.norm_grad)
def norm_grad_(out, g, y, x, ord=None, axis=None, keepdims=False):
    """out = ḡ·x / y  →  ȯut = ġ·x / y - ḡ·x·ẏ / y² + ḡ·ẋ / y"""
    out_dot += norm_grad(g_dot, y, x, ord, axis, keepdims)
    out_dot += norm_grad_dy(g, y, x, y_dot, ord, axis, keepdims)
    out_dot += norm_grad(g, y, x_dot, ord, axis, keepdims)


@deftangent(runtime.inv_grad)
def inv_grad_(out, g, y):
    """out = -yᵀ·g·yᵀ  →  ȯut = -yᵀ·ġ·yᵀ - ẏᵀ·g·yᵀ - yᵀ·g·ẏᵀ"""
    out_dot += inv_grad(g_dot, y)
    out_dot += inv_grad_dy(g, y, y_dot)


@deftangent(runtime.det_grad)
def det_grad_(out, g, y, a):
    """out = g·y·a⁻ᵀ  →  ȯut = ġ·y·a⁻ᵀ + g·ẏ·a⁻ᵀ - g·y·(a⁻¹ȧa⁻¹)ᵀ"""
    out_dot += det_grad(g_dot, y, a)
    out_dot += det_grad(g, y_dot, a)
    out_dot += det_grad_da(g, y, a, a_dot)


@deftangent(runtime.slogdet_grad)
def slogdet_grad_(out, g, a):
    """out = g₁·a⁻ᵀ  →  ȯut = ġ₁·a⁻ᵀ - g₁·(a⁻¹ȧa⁻¹)ᵀ"""
    out_dot += slogdet_grad(g_dot, a)
    out_dot += slogdet_grad_da(g, a, a_dot)


@deftangent(runtime.solve_grad_a)
def solve_grad_a_(out, g, y, a, b, lower=None):
    """out = -solve(aᵀ, g)·yᵀ  →  linear in g and in y, plus the change of solve(aᵀ, ·)
    (a known triangular changes within its triangle: a Cholesky factor's tangent)"""
    out_dot += solve_grad_a(g_dot, y, a, b, lower)
    out_dot += solve_grad_a(g, y_dot, a, b, lower)
    out_dot += solve_grad_a_da(g, y, a, b, a_dot)


@deftangent(runtime.solve_grad_b)
def solve_grad_b_(out, g, a, b, lower=None):
    """out = solve(aᵀ, g)  →  ȯut = solve(aᵀ, ġ) - solve(aᵀ, ȧᵀ·out)"""
    out_dot += solve_grad_b(g_dot, a, b, lower)
    out_dot += solve_grad_b_da(g, a, b, a_dot)


@deftangent(runtime.solve_grads)
def solve_grads_(out, g, y, a, b, lower=None):
    """(ā, b̄) = solve_grads(g, y, a, b)  →  linear in g; ā linear in y; both change
    with a as solve_grad_a and solve_grad_b do"""
    out_dot += solve_grads(g_dot, y, a, b, lower)
    out_dot += (solve_grad_a(g, y_dot, a, b, lower), zero_grad(b))
    out_dot += (solve_grad_a_da(g, y, a, b, a_dot), solve_grad_b_da(g, a, b, a_dot))


@deftangent(runtime.solve_triangle)
def solve_triangle_(y, a, b, lower):
    """y = a⁻¹b (a known triangular)  →  ẏ = a⁻¹·(ḃ - ȧ·y)"""
    y_dot += solve_tangent_a(a_dot, y, a, b)
    y_dot += solve_tangent_b(a, b_dot, b)


@deftangent(runtime.solve_transposed)
def solve_transposed_(y, a, g, lower=None):
    """y = solve(aᵀ, g) (2-D a)  →  ẏ = solve(aᵀ, ġ) - solve(aᵀ, ȧᵀ·y)"""
    y_dot += solve_transposed(a, g_dot, lower)
    y_dot += -solve_transposed(a, np.swapaxes(a_dot, -1, -2) @ y, lower)


@deftangent(runtime.lower_t_product)
def lower_t_product_(y, lo, g):
    """y = Lᵀ·g (L lower triangular)  →  ẏ = Lᵀ·ġ + L̇ᵀ·g"""
    y_dot += lower_t_product(lo, g_dot)
    y_dot += np.swapaxes(lo_dot, -1, -2) @ g


@deftangent(runtime.phi_sandwich)
def phi_sandwich_(s, lo, m):
    """s = Φ(L⁻ᵀ·C·L⁻¹) (L lower triangular, C symmetric from m's lower triangle)  →
    ṡ = Φ(L⁻ᵀ·Ċ·L⁻¹) - Φ(L⁻ᵀ·(Q + Qᵀ)·L⁻¹), Q = Lᵀ·(s + sᵀ)·L̇"""
    s_dot += phi_sandwich(lo, m_dot)
    s_dot += phi_sandwich_tangent(s, lo, lo_dot)


@deftangent(runtime.trace_grad)
def trace_grad_(out, g, a, offset=0, axis1=0, axis2=1):
    """out = trace_grad(g, a, …)  →  ȯut = trace_grad(ġ, a, …)"""
    out_dot += trace_grad(g_dot, a, offset, axis1, axis2)


@deftangent(runtime.diagonal_grad)
def diagonal_grad_(out, g, a, offset=0, axis1=0, axis2=1):
    """out = diagonal_grad(g, a, …)  →  ȯut = diagonal_grad(ġ, a, …)"""
    out_dot += diagonal_grad(g_dot, a, offset, axis1, axis2)


@deftangent(runtime.diag_grad)
def diag_grad_(out, g, v, k=0):
    """out = diag_grad(g, v, k)  →  ȯut = diag_grad(ġ, v, k)"""
    out_dot += diag_grad(g_dot, v, k)


@deftangent(runtime.tile_grad)
def tile_grad_(out, g, x, reps):
    """out = tile_grad(g, x, reps)  →  ȯut = tile_grad(ġ, x, reps)"""
    out_dot += tile_grad(g_dot, x, reps)


@deftangent(runtime.repeat_grad)
def repeat_grad_(out, g, x, repeats, axis=None):
    """out = repeat_grad(g, x, …)  →  ȯut = repeat_grad(ġ, x, …)"""
    out_dot += repeat_grad(g_dot, x, repeats, axis)


@deftangent(runtime.clip_pass)
def clip_pass_(out, g, x, a_min, a_max):
    """out = clip_pass(g, x, lo, hi)  →  ȯut = clip_pass(ġ, x, lo, hi)"""
    out_dot += clip_pass(g_dot, x, a_min, a_max)


@deftangent(runtime.diff_grad)
def diff_grad_(out, g, x, n=1, axis=-1, prepend=None, append=None):
    """out = diff_grad(g, x, …)  →  ȯut = diff_grad(ġ, x, …)   (x, prepend, append: shapes)"""
    out_dot += diff_grad(g_dot, x, n, axis, prepend=prepend, append=append)


@deftangent(runtime.diff_end_grad)
def diff_end_grad_(out, g, end, x, n=1, axis=-1, prepend=None, append=None):
    """out = diff_end_grad(g, …)  →  ȯut = diff_end_grad(ġ, …)   (linear in g)"""
    out_dot += diff_end_grad(g_dot, end, x, n, axis, prepend=prepend, append=append)


@deftangent(runtime.sort_grad)
def sort_grad_(out, g, x, axis=-1, kind=None):
    """out = sort_grad(g, x, …)  →  ȯut = sort_grad(ġ, x, …)   (the order is locally constant)"""
    out_dot += sort_grad(g_dot, x, axis, kind)


@deftangent(runtime.take_grad)
def take_grad_(out, g, x, indices, axis=None, mode="raise"):
    """out = take_grad(g, x, …)  →  ȯut = take_grad(ġ, x, …)"""
    out_dot += take_grad(g_dot, x, indices, axis, mode)


@deftangent(runtime.item_grad)
def item_grad_(out, g, x, index=()):
    """out = item_grad(g, x, index)  →  ȯut = item_grad(ġ, x, index)"""
    out_dot += item_grad(g_dot, x, index)
