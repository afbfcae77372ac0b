"""NumPy's elementwise functions (ufuncs and friends)."""
from functools import partial
import numpy as np

from .registry import (ELEMENTWISE, FRESH, PURE, SCALAR_PRESERVING, VIEW, constant_arguments,
                       defadjoint, nondifferentiable)

from ..runtime import (unbroadcast, choose_grad, clip_pass, clip_low, clip_high,  # noqa: F401
                       sinc_deriv, masked_sum,
                       zero_grad)      # (used by the templates)


# the result has the broadcast shape of the operands (a number of numbers), new each call
elementwise = partial(defadjoint, props=(ELEMENTWISE, SCALAR_PRESERVING, FRESH, PURE))


# ---------------------------------------------------------------- exp and log
@elementwise(np.exp)
def exp(y, x):
    """y = exp(x)  →  x̄ += ȳ·y"""
    x_bar += y_bar * y


@elementwise(np.exp2)
def exp2(y, x):
    """y = 2^x  →  x̄ += ȳ·y·ln 2"""
    x_bar += y_bar * y * np.log(2.0)


@elementwise(np.expm1)
def expm1(y, x):
    """y = exp(x) - 1  →  x̄ += ȳ·(y + 1)"""
    x_bar += y_bar * (y + 1.0)


@elementwise(np.log)
def log(y, x):
    """y = ln x  →  x̄ += ȳ / x"""
    x_bar += y_bar / x


@elementwise(np.log2)
def log2(y, x):
    """y = log2(x)  →  x̄ += ȳ / (x·ln 2)"""
    x_bar += y_bar / (x * np.log(2.0))


@elementwise(np.log10)
def log10(y, x):
    """y = log10(x)  →  x̄ += ȳ / (x·ln 10)"""
    x_bar += y_bar / (x * np.log(10.0))


@elementwise(np.log1p)
def log1p(y, x):
    """y = ln(1 + x)  →  x̄ += ȳ / (1 + x)"""
    x_bar += y_bar / (1.0 + x)


@elementwise(np.logaddexp)
def logaddexp(y, a, b):
    """y = ln(eᵃ + eᵇ)  →  ā += ȳ·e^(a-y) ;  b̄ += ȳ·e^(b-y)"""
    a_bar += unbroadcast(y_bar * np.exp(a - y), a)
    b_bar += unbroadcast(y_bar * np.exp(b - y), b)


@elementwise(np.logaddexp2)
def logaddexp2(y, a, b):
    """y = log₂(2ᵃ + 2ᵇ)  →  ā += ȳ·2^(a-y) ;  b̄ += ȳ·2^(b-y)"""
    a_bar += unbroadcast(y_bar * np.exp2(a - y), a)
    b_bar += unbroadcast(y_bar * np.exp2(b - y), b)


@elementwise(np.sqrt)
def sqrt(y, x):
    """y = √x  →  x̄ += ȳ / (2y)"""
    x_bar += y_bar / (2.0 * y)


@elementwise(np.cbrt)
def cbrt(y, x):
    """y = ∛x  →  x̄ += ȳ / (3y²)"""
    x_bar += y_bar / (3.0 * y * y)


@elementwise(np.square)
def square(y, x):
    """y = x²  →  x̄ += 2·ȳ·x"""
    x_bar += 2.0 * y_bar * x


@elementwise(np.reciprocal)
def reciprocal(y, x):
    """y = 1/x  →  x̄ += -ȳ·y²"""
    x_bar += -y_bar * y * y


# ---------------------------------------------------------------- trigonometry
@elementwise(np.sin)
def sin(y, x):
    """y = sin(x)  →  x̄ += ȳ·cos(x)"""
    x_bar += y_bar * np.cos(x)


@elementwise(np.cos)
def cos(y, x):
    """y = cos(x)  →  x̄ += -ȳ·sin(x)"""
    x_bar += -y_bar * np.sin(x)


@elementwise(np.tan)
def tan(y, x):
    """y = tan(x)  →  x̄ += ȳ·(1 + y²)"""
    x_bar += y_bar * (1.0 + y * y)


@elementwise(np.arcsin)
def arcsin(y, x):
    """y = asin(x)  →  x̄ += ȳ / √(1 - x²)"""
    x_bar += y_bar / np.sqrt(1.0 - x * x)


@elementwise(np.arccos)
def arccos(y, x):
    """y = acos(x)  →  x̄ += -ȳ / √(1 - x²)"""
    x_bar += -y_bar / np.sqrt(1.0 - x * x)


@elementwise(np.arctan)
def arctan(y, x):
    """y = atan(x)  →  x̄ += ȳ / (1 + x²)"""
    x_bar += y_bar / (1.0 + x * x)


@elementwise(np.arctan2)
def arctan2(y, a, b):
    """y = atan2(a, b)  →  ā += ȳ·b / (a² + b²) ;  b̄ += -ȳ·a / (a² + b²)"""
    a_bar += unbroadcast(y_bar * b / (a * a + b * b), a)
    b_bar += unbroadcast(-y_bar * a / (a * a + b * b), b)


@elementwise(np.hypot)
def hypot(y, a, b):
    """y = √(a² + b²)  →  ā += ȳ·a / y ;  b̄ += ȳ·b / y"""
    a_bar += unbroadcast(y_bar * a / y, a)
    b_bar += unbroadcast(y_bar * b / y, b)


# ---------------------------------------------------------------- hyperbolic
@elementwise(np.sinh)
def sinh(y, x):
    """y = sinh(x)  →  x̄ += ȳ·cosh(x)"""
    x_bar += y_bar * np.cosh(x)


@elementwise(np.cosh)
def cosh(y, x):
    """y = cosh(x)  →  x̄ += ȳ·sinh(x)"""
    x_bar += y_bar * np.sinh(x)


@elementwise(np.tanh)
def tanh(y, x):
    """y = tanh(x)  →  x̄ += ȳ·(1 - y²)"""
    x_bar += y_bar * (1.0 - y * y)


@elementwise(np.arcsinh)
def arcsinh(y, x):
    """y = asinh(x)  →  x̄ += ȳ / √(x² + 1)"""
    x_bar += y_bar / np.sqrt(x * x + 1.0)


@elementwise(np.arctanh)
def arctanh(y, x):
    """y = atanh(x)  →  x̄ += ȳ / (1 - x²)"""
    x_bar += y_bar / (1.0 - x * x)


@elementwise(np.arccosh)
def arccosh(y, x):
    """y = acosh(x)  →  x̄ += ȳ / √(x² - 1)"""
    x_bar += y_bar / np.sqrt(x * x - 1.0)


# ---------------------------------------------------------------- angles and sinc
@elementwise(np.deg2rad, np.radians)
def deg2rad(y, x):
    """y = x·π/180  →  x̄ += ȳ·π/180"""
    x_bar += y_bar * (np.pi / 180.0)


@elementwise(np.rad2deg, np.degrees)
def rad2deg(y, x):
    """y = x·180/π  →  x̄ += ȳ·180/π"""
    x_bar += y_bar * (180.0 / np.pi)


@elementwise(np.sinc)
def sinc(y, x):
    """y = sin(πx)/(πx)  →  x̄ += ȳ·(cos(πx) - y)/x   (0 at x = 0)"""
    x_bar += y_bar * sinc_deriv(x)


# ---------------------------------------------------------------- piecewise
@elementwise(np.maximum, np.fmax)
def maximum(y, a, b):
    """y = max(a, b) elementwise  →  ȳ goes to the larger input (ties: to a)"""
    a_bar += unbroadcast(choose_grad(y_bar, a >= b), a)
    b_bar += unbroadcast(choose_grad(y_bar, a < b), b)


@elementwise(np.minimum, np.fmin)
def minimum(y, a, b):
    """y = min(a, b) elementwise  →  ȳ goes to the smaller input (ties: to a)"""
    a_bar += unbroadcast(choose_grad(y_bar, a <= b), a)
    b_bar += unbroadcast(choose_grad(y_bar, a > b), b)


@elementwise(np.where)
def where(y, condition, a, b):
    """y = where(c, a, b)  →  ā += ȳ where c ;  b̄ += ȳ where not c"""
    a_bar += unbroadcast(choose_grad(y_bar, condition), a)
    b_bar += unbroadcast(choose_grad(y_bar, np.logical_not(condition)), b)


@elementwise(np.clip, methods=["clip"])
def clip(y, x, a_min=None, a_max=None, min=None, max=None):
    """y = clip(x, lo, hi) (the bounds also as `min=`, `max=`)  →  x̄ += ȳ where
    lo ≤ x ≤ hi ;  l̄o += ȳ where x < lo ≤ hi ;  h̄i += ȳ where max(x, lo) > hi"""
    x_bar += unbroadcast(
        (choose_grad(y_bar, (x >= a_min) & (x <= a_max))
         if a_min is not None and a_max is not None else
         choose_grad(y_bar, x >= a_min) if a_min is not None else
         choose_grad(y_bar, x <= a_max)) if min is None and max is None else
        clip_pass(y_bar, x, a_min if min is None else min, a_max if max is None else max), x)
    a_min_bar += unbroadcast(choose_grad(y_bar, clip_low(
        x, a_min, a_max if max is None else max)), a_min)
    a_max_bar += unbroadcast(choose_grad(y_bar, clip_high(
        x, a_min if min is None else min, a_max)), a_max)
    min_bar += unbroadcast(choose_grad(y_bar, clip_low(
        x, min, a_max if max is None else max)), min)
    max_bar += unbroadcast(choose_grad(y_bar, clip_high(
        x, a_min if min is None else min, max)), max)


@elementwise(np.nan_to_num)
def nan_to_num(y, x, copy=True, nan=0.0, posinf=None, neginf=None):
    """y = x where finite, else nan / posinf / neginf  →  x̄ += ȳ where x is finite ;
    the replacement values get ȳ where they were written"""
    x_bar += np.where(np.isfinite(x), y_bar, 0.0)
    nan_bar += masked_sum(y_bar, np.isnan(x), nan)
    posinf_bar += masked_sum(y_bar, np.isposinf(x), posinf)
    neginf_bar += masked_sum(y_bar, np.isneginf(x), neginf)


@elementwise(np.fmod)
def fmod(y, a, b):
    """y = fmod(a, b) = a - b·trunc(a/b)  →  ā += ȳ ;  b̄ += -ȳ·trunc(a/b)   (away from jumps)"""
    a_bar += unbroadcast(y_bar, a)
    b_bar += unbroadcast(-y_bar * np.trunc(a / b), b)


@elementwise(np.copysign)
def copysign(y, x1, x2):
    """y = |x₁| with the sign of x₂  →  x̄₁ += ȳ·sign(x₁)·copysign(1, x₂) ;  x̄₂ += 0
    (the sign is piecewise constant in x₂)"""
    x1_bar += unbroadcast(y_bar * np.sign(x1) * np.copysign(1.0, x2), x1)
    x2_bar += zero_grad(x2)


@defadjoint(np.real, attributes=["real"], props=(ELEMENTWISE, SCALAR_PRESERVING, VIEW, PURE))
def real(y, val):
    """y = real(x), x.real of a real x (x itself)  →  x̄ += ȳ"""
    val_bar += y_bar


@defadjoint(np.imag, attributes=["imag"], props=(ELEMENTWISE, SCALAR_PRESERVING, FRESH, PURE))
def imag(y, val):
    """y = imag(x), x.imag of a real x (zeros)  →  x̄ += 0"""
    val_bar += zero_grad(val)


@elementwise(np.conjugate, methods=["conj", "conjugate"])
def conjugate(y, x):
    """y = conj(x) of a real x (x's values)  →  x̄ += ȳ"""
    x_bar += y_bar


nondifferentiable(np.sign, np.heaviside, np.floor, np.ceil, np.round, np.rint, np.trunc, np.fix,
                  np.greater, np.less, np.equal, np.not_equal, np.greater_equal, np.less_equal,
                  np.logical_and, np.logical_or, np.logical_not, np.isnan, np.isinf,
                  np.isfinite, np.argmax, np.argmin, np.argsort, np.shape, np.ndim, np.size,
                  np.zeros, np.ones, np.empty, np.zeros_like, np.ones_like, np.empty_like,
                  np.eye, np.identity,
                  np.nonzero, np.count_nonzero, np.allclose, np.isclose, np.any, np.all,
                  np.searchsorted, np.tri, np.triu_indices, np.tril_indices,
                  # dtypes, shapes, predicates and integer results
                  np.result_type, np.promote_types, np.can_cast, np.min_scalar_type,
                  np.common_type, np.iscomplexobj, np.isrealobj, np.isscalar, np.issubdtype,
                  np.iscomplex, np.isreal, np.signbit, np.isposinf, np.isneginf,
                  np.broadcast_shapes, np.array_equal, np.array_equiv, np.isin,
                  np.argwhere, np.flatnonzero, np.argpartition, np.lexsort, np.digitize,
                  np.unravel_index, np.ravel_multi_index, np.indices, np.diag_indices,
                  np.diag_indices_from, np.tril_indices_from, np.triu_indices_from,
                  methods=["argmax", "argmin", "argsort", "nonzero", "any", "all", "astype_int",
                           "keys",       # a dict's keys: `for k, v in d.items()` loops over them
                           "format"])    # a string's (an f-string's text)

# Constants made from constants: their values follow their arguments' (np.full(3, v) is v,
# np.arange(a, b) starts at a), so no value that depends on the input may reach them.
constant_arguments(np.full, np.arange, np.logspace, np.geomspace)
# np.ix_ of index arrays: an index object (its float arrays, reshaped views of its
# arguments, would carry a gradient: a value that depends on the input is refused)
constant_arguments(np.ix_)
constant_arguments(np.full_like, first=1)

# Random numbers are constants for the gradient, their parameters are not (a draw's
# location or scale reached by the input is refused). Bound methods of a Generator
# are recognised by the tracer.
constant_arguments(np.random.rand, np.random.randn, np.random.normal, np.random.uniform,
                   np.random.random, np.random.randint, np.random.choice,
                   np.random.permutation, np.random.standard_normal, np.random.binomial,
                   np.random.seed)
