"""Python's arithmetic operators (on floats and, elementwise, on arrays).

Broadcasting operators reduce each adjoint to its operand's shape with `unbroadcast`.
"""
from functools import partial
import builtins
import operator

import numpy as np

from .registry import (ELEMENTWISE, FRESH, PURE, SCALAR_PRESERVING, defadjoint,
                       nondifferentiable)

from ..runtime import unbroadcast, pow_base_deriv, log_or_zero  # noqa: F401  (templates)


# numbers in, a number out; arrays broadcast; a new result each call
numeric = partial(defadjoint, props=(SCALAR_PRESERVING, FRESH, PURE))
elementwise = partial(defadjoint, props=(ELEMENTWISE, SCALAR_PRESERVING, FRESH, PURE))


# ---------------------------------------------------------------- + - * / **
@elementwise(operator.add, np.add, ops=["add"])
def add(y, a, b):
    """y = a + b  →  ā += ȳ ;  b̄ += ȳ"""
    a_bar += unbroadcast(y_bar, a)
    b_bar += unbroadcast(y_bar, b)


@elementwise(operator.sub, np.subtract, ops=["sub"])
def subtract(y, a, b):
    """y = a - b  →  ā += ȳ ;  b̄ += -ȳ"""
    a_bar += unbroadcast(y_bar, a)
    b_bar += unbroadcast(-y_bar, b)


@elementwise(operator.mul, np.multiply, ops=["mul"])
def multiply(y, a, b):
    """y = a * b  →  ā += ȳ·b ;  b̄ += ȳ·a"""
    a_bar += unbroadcast(y_bar * b, a)
    b_bar += unbroadcast(y_bar * a, b)


@elementwise(operator.truediv, np.divide, np.true_divide, ops=["truediv"])
def divide(y, a, b):
    """y = a / b  →  ā += ȳ / b ;  b̄ += -ȳ·y / b"""
    a_bar += unbroadcast(y_bar / b, a)
    b_bar += unbroadcast(-y_bar * y / b, b)


@elementwise(operator.pow, np.power, np.float_power, builtins.pow, ops=["pow"])
def power(y, a, b):
    """y = a ** b (float_power: in float64)  →  ā += ȳ·b·a^(b-1) ;  b̄ += ȳ·y·log(a)"""
    a_bar += unbroadcast(y_bar * b * a ** (b - 1), a)
    b_bar += unbroadcast(y_bar * y * np.log(a), b)


@numeric(ops=["pow_var"])
def power_variable(y, a, b):
    """y = a ** b, b not a constant  →  ā += ȳ·b·a^(b-1) (0 where b = 0) ;
    b̄ += ȳ·y·log(a) (0 where a = 0)"""
    a_bar += unbroadcast(y_bar * pow_base_deriv(a, b), a)
    b_bar += unbroadcast(y_bar * y * log_or_zero(a), b)


@elementwise(operator.neg, np.negative, ops=["neg"])
def negative(y, x):
    """y = -x  →  x̄ += -ȳ"""
    x_bar += -y_bar


@elementwise(operator.pos, np.positive, ops=["pos"])
def positive(y, x):
    """y = +x  →  x̄ += ȳ"""
    x_bar += y_bar


@elementwise(operator.mod, np.mod, np.remainder, ops=["mod"])
def mod(y, a, b):
    """y = a % b = a - b·floor(a/b)  →  ā += ȳ ;  b̄ += -ȳ·floor(a/b)   (away from jumps)"""
    a_bar += unbroadcast(y_bar, a)
    b_bar += unbroadcast(-y_bar * np.floor_divide(a, b), b)


# `//` is piecewise constant: its gradient is zero wherever it exists.
nondifferentiable(operator.floordiv, np.floor_divide)
