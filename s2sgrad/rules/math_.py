"""The `math` module and the scalar builtins (abs, max, min, float)."""
from functools import partial
import builtins
import math

import numpy as np  # noqa: F401

from .registry import (FRESH, PURE, RETURNS_NUMBER, SCALAR_PRESERVING, defadjoint,
                       nondifferentiable)

from ..runtime import digamma, zero_grad  # noqa: F401  (used by the templates)
from .. import runtime


# numbers in, a number out (arrays for abs), new each call
scalar = partial(defadjoint, props=(SCALAR_PRESERVING, FRESH, PURE))


# ---------------------------------------------------------------- trigonometry
@scalar(math.sin)
def sin(y, x):
    """y = sin(x)  →  x̄ += ȳ·cos(x)"""
    x_bar += y_bar * math.cos(x)


@scalar(math.cos)
def cos(y, x):
    """y = cos(x)  →  x̄ += -ȳ·sin(x)"""
    x_bar += -y_bar * math.sin(x)


@scalar(math.tan)
def tan(y, x):
    """y = tan(x)  →  x̄ += ȳ·(1 + y²)"""
    x_bar += y_bar * (1.0 + y * y)


@scalar(math.asin)
def asin(y, x):
    """y = asin(x)  →  x̄ += ȳ / √(1 - x²)"""
    x_bar += y_bar / math.sqrt(1.0 - x * x)


@scalar(math.acos)
def acos(y, x):
    """y = acos(x)  →  x̄ += -ȳ / √(1 - x²)"""
    x_bar += -y_bar / math.sqrt(1.0 - x * x)


@scalar(math.atan)
def atan(y, x):
    """y = atan(x)  →  x̄ += ȳ / (1 + x²)"""
    x_bar += y_bar / (1.0 + x * x)


@scalar(math.atan2)
def atan2(y, a, b):
    """y = atan2(a, b)  →  ā += ȳ·b / (a² + b²) ;  b̄ += -ȳ·a / (a² + b²)"""
    a_bar += y_bar * b / (a * a + b * b)
    b_bar += -y_bar * a / (a * a + b * b)


# ---------------------------------------------------------------- exp and log
@scalar(math.exp)
def exp(y, x):
    """y = exp(x)  →  x̄ += ȳ·y"""
    x_bar += y_bar * y


@scalar(math.expm1)
def expm1(y, x):
    """y = exp(x) - 1  →  x̄ += ȳ·(y + 1)"""
    x_bar += y_bar * (y + 1.0)


@scalar(math.log)
def log(y, x, base=None):
    """y = log(x) or log(x, base)  →  x̄ += ȳ / (x·ln base) ;  base̅ += -ȳ·y / (base·ln base)"""
    x_bar += y_bar / x if base is None else y_bar / (x * math.log(base))
    base_bar += -y_bar * y / (base * math.log(base))


@scalar(math.log1p)
def log1p(y, x):
    """y = log(1 + x)  →  x̄ += ȳ / (1 + x)"""
    x_bar += y_bar / (1.0 + x)


@scalar(math.log2)
def log2(y, x):
    """y = log2(x)  →  x̄ += ȳ / (x·ln 2)"""
    x_bar += y_bar / (x * math.log(2.0))


@scalar(math.log10)
def log10(y, x):
    """y = log10(x)  →  x̄ += ȳ / (x·ln 10)"""
    x_bar += y_bar / (x * math.log(10.0))


@scalar(math.sqrt)
def sqrt(y, x):
    """y = √x  →  x̄ += ȳ / (2y)"""
    x_bar += y_bar / (2.0 * y)


@scalar(math.pow)
def pow_(y, a, b):
    """y = a ** b  →  ā += ȳ·b·a^(b-1) ;  b̄ += ȳ·y·ln a"""
    a_bar += y_bar * b * math.pow(a, b - 1.0)
    b_bar += y_bar * y * math.log(a)


# ---------------------------------------------------------------- hyperbolic
@scalar(math.tanh)
def tanh(y, x):
    """y = tanh(x)  →  x̄ += ȳ·(1 - y²)"""
    x_bar += y_bar * (1.0 - y * y)


@scalar(math.sinh)
def sinh(y, x):
    """y = sinh(x)  →  x̄ += ȳ·cosh(x)"""
    x_bar += y_bar * math.cosh(x)


@scalar(math.cosh)
def cosh(y, x):
    """y = cosh(x)  →  x̄ += ȳ·sinh(x)"""
    x_bar += y_bar * math.sinh(x)


@scalar(math.hypot)
def hypot(y, a, b):
    """y = √(a² + b²)  →  ā += ȳ·a / y ;  b̄ += ȳ·b / y"""
    a_bar += y_bar * a / y
    b_bar += y_bar * b / y


@scalar(math.erf)
def erf(y, x):
    """y = erf(x)  →  x̄ += ȳ·2/√π·exp(-x²)"""
    x_bar += y_bar * 1.1283791670955126 * math.exp(-x * x)


@scalar(math.erfc)
def erfc(y, x):
    """y = erfc(x) = 1 - erf(x)  →  x̄ += -ȳ·2/√π·exp(-x²)"""
    x_bar += -y_bar * 1.1283791670955126 * math.exp(-x * x)


@scalar(math.gamma)
def gamma(y, x):
    """y = Γ(x)  →  x̄ += ȳ·Γ(x)·ψ(x)   (ψ the digamma function)"""
    x_bar += y_bar * y * digamma(x)


@scalar(math.lgamma)
def lgamma(y, x):
    """y = ln|Γ(x)|  →  x̄ += ȳ·ψ(x)"""
    x_bar += y_bar * digamma(x)


@scalar(math.asinh)
def asinh(y, x):
    """y = asinh(x)  →  x̄ += ȳ / √(x² + 1)"""
    x_bar += y_bar / math.sqrt(x * x + 1.0)


@scalar(math.acosh)
def acosh(y, x):
    """y = acosh(x)  →  x̄ += ȳ / √(x² - 1)"""
    x_bar += y_bar / math.sqrt(x * x - 1.0)


@scalar(math.atanh)
def atanh(y, x):
    """y = atanh(x)  →  x̄ += ȳ / (1 - x²)"""
    x_bar += y_bar / (1.0 - x * x)


@scalar(math.degrees)
def degrees(y, x):
    """y = x·180/π  →  x̄ += ȳ·180/π"""
    x_bar += y_bar * 57.29577951308232


@scalar(math.radians)
def radians(y, x):
    """y = x·π/180  →  x̄ += ȳ·π/180"""
    x_bar += y_bar * 0.017453292519943295


@scalar(math.copysign)
def copysign(y, a, b):
    """y = |a| with the sign of b  →  ā += ȳ·sign(a)·copysign(1, b) ;  b̄ += 0
    (the sign is piecewise constant in b)"""
    a_bar += y_bar * np.sign(a) * math.copysign(1.0, b)
    b_bar += zero_grad(b)


# ---------------------------------------------------------------- builtins
@scalar(math.fabs, builtins.abs, np.abs, np.absolute, np.fabs)
def abs_(y, x):
    """y = |x|  →  x̄ += ȳ·sign(x)"""
    x_bar += y_bar * np.sign(x)


@scalar(builtins.max)
def max_(y, a, b):
    """y = max(a, b)  →  route ȳ to the larger input (ties: to the first)"""
    a_bar += y_bar if a >= b else 0.0 * y_bar
    b_bar += 0.0 * y_bar if a >= b else y_bar


@scalar(builtins.min)
def min_(y, a, b):
    """y = min(a, b)  →  route ȳ to the smaller input (ties: to the first)"""
    a_bar += y_bar if a <= b else 0.0 * y_bar
    b_bar += 0.0 * y_bar if a <= b else y_bar


@defadjoint(builtins.float, props=(RETURNS_NUMBER, SCALAR_PRESERVING, FRESH, PURE))
def float_(y, x):
    """y = float(x)  →  x̄ += ȳ"""
    x_bar += y_bar


nondifferentiable(builtins.int, builtins.round, builtins.len, builtins.range, builtins.bool,
                  builtins.isinstance, builtins.print, builtins.type, builtins.str,
                  math.floor, math.ceil, math.trunc, math.isnan, math.isinf, math.isfinite,
                  math.isclose)
# the schedule of checkpointed loops: trip counts and loop bounds
nondifferentiable(*(getattr(runtime.checkpoint, n) for n in (
    "checkpoint_steps", "checkpoint_wanted", "checkpoint_stride", "checkpoint_segments",
    "checkpoint_first", "checkpoint_stop")))
