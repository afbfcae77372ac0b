"""SciPy's rules (optional), those of `scipy.linalg`.

Loaded by the registry the first time a call is looked up while `scipy.linalg` is imported
(`registry.OPTIONAL`: each SciPy module's rules load with that module alone, so a program
that imports scipy.linalg does not pay for importing scipy.stats); s2sgrad itself never
requires SciPy. Each adjoint rule is followed by its tangent rule (`<name>_dot`). Options
a rule does not handle are refused at transform time like everywhere else;
`check_finite` only decides whether SciPy checks its input, so it is accepted.

    L = cholesky(a, lower)         the Cholesky rule of NumPy, on the triangle SciPy reads
    y = expm(a)                    ā += L(aᵀ, ȳ)   (L: the Fréchet derivative of expm)
"""
import numpy as np  # noqa: F401  (the templates below read np)
import scipy.linalg

from .registry import FRESH, PURE, READS_CONTAINER, defadjoint, deftangent, mark_optional
from ..runtime import (cholesky_grad, cholesky_tangent, cho_factor_grad, cho_factor_tangent,
                       cho_solve_grad_b, cho_solve_grad_c,
                       cho_solve_tangent_c, solve_triangular_grad_a,
                       solve_triangular_grad_b, solve_triangular_tangent, expm_grad,
                       expm_tangent)  # noqa: F401

_CHECK = ("check_finite",)            # never changes a derivative


@defadjoint(scipy.linalg.cholesky, keywords=_CHECK)
def cholesky(y, a, lower=False, overwrite_a=False, **options):
    """U = cholesky(a) (L with lower=True)  →  NumPy's cholesky rule on the triangle of a that
    is read (the upper one by default)"""
    a_bar += cholesky_grad(y_bar, y, not lower)


@deftangent(scipy.linalg.cholesky)
def cholesky_dot(y, a, lower=False, overwrite_a=False, **options):
    """U = cholesky(a)  →  U̇ = NumPy's cholesky tangent, ȧ read from the same triangle"""
    y_dot += cholesky_tangent(a_dot, y, not lower)


@defadjoint(scipy.linalg.cho_factor, keywords=_CHECK)
def cho_factor(y, a, lower=False, overwrite_a=False, **options):
    """(c, lower) = cho_factor(a): c holds U (L with lower=True) in one triangle and a's own
    entries in the other  →  ā += the Cholesky rule of c̄'s factor triangle, plus c̄'s
    other triangle as it is"""
    a_bar += cho_factor_grad(y_bar, y, lower)


@deftangent(scipy.linalg.cho_factor)
def cho_factor_dot(y, a, lower=False, overwrite_a=False, **options):
    """(c, lower) = cho_factor(a)  →  ċ = the Cholesky tangent on the factor's triangle,
    ȧ on the other"""
    y_dot += cho_factor_tangent(a_dot, y, lower)


@defadjoint(scipy.linalg.cho_solve, keywords=_CHECK, props=(FRESH, READS_CONTAINER))
def cho_solve(y, c_and_lower, b, overwrite_b=False, **options):
    """y = A⁻¹b, A = LLᵀ (or UᵀU) from c's triangle  →  b̄ += A⁻¹ȳ ;
    c̄ += tril((Ā + Āᵀ)·L) (or triu(U·(Ā + Āᵀ))), Ā = -A⁻¹ȳ·yᵀ"""
    c_and_lower_bar += cho_solve_grad_c(y_bar, y, c_and_lower)
    b_bar += cho_solve_grad_b(y_bar, c_and_lower)


@deftangent(scipy.linalg.cho_solve)
def cho_solve_dot(y, c_and_lower, b, overwrite_b=False, **options):
    """y = A⁻¹b  →  ẏ = A⁻¹·(ḃ - Ȧ·y), Ȧ = L̇Lᵀ + LL̇ᵀ"""
    y_dot += cho_solve_tangent_c(c_and_lower_dot, y, c_and_lower)
    y_dot += cho_solve_grad_b(b_dot, c_and_lower)


@defadjoint(scipy.linalg.solve_triangular, keywords=_CHECK, props=(FRESH, PURE))
def solve_triangular(y, a, b, trans=0, lower=False, unit_diagonal=False, overwrite_b=False,
                     **options):
    """y = op(T)⁻¹b, T a's triangle, op(T) = T or Tᵀ  →  b̄ += op(T)⁻ᵀȳ ;
    ā += -b̄·yᵀ (transposed for Tᵀ) on T's triangle"""
    a_bar += solve_triangular_grad_a(y_bar, y, a, trans, lower, unit_diagonal)
    b_bar += solve_triangular_grad_b(y_bar, a, trans, lower, unit_diagonal)


@deftangent(scipy.linalg.solve_triangular)
def solve_triangular_dot(y, a, b, trans=0, lower=False, unit_diagonal=False, overwrite_b=False,
                         **options):
    """y = op(T)⁻¹b  →  ẏ = op(T)⁻¹·(ḃ - op(Ṫ)·y)"""
    y_dot += solve_triangular_tangent(a_dot, 0.0, y, a, trans, lower, unit_diagonal)
    y_dot += solve_triangular_tangent(0.0, b_dot, y, a, trans, lower, unit_diagonal)


@defadjoint(scipy.linalg.expm, props=(FRESH, PURE))
def expm(y, A):
    """y = exp(A)  →  Ā += L(Aᵀ, ȳ)   (L: the Fréchet derivative of expm)"""
    A_bar += expm_grad(y_bar, A)


@deftangent(scipy.linalg.expm)
def expm_dot(y, A):
    """y = exp(A)  →  ẏ = L(A, Ȧ)"""
    y_dot += expm_tangent(A_dot, A)


mark_optional(globals(), "scipy")     # (their tests: tests/test_scipy_rules.py)
