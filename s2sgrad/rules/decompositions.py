"""Matrix decompositions and powers: cholesky, eigh, eigvalsh, svd, pinv, matrix_power, qr, eig;
least squares (lstsq).

Batched over leading axes. LAPACK reads a symmetric input from one triangle (the lower by
default), so the gradient lives on that triangle: it is the gradient finite differences
of the NumPy function see, and it agrees with the symmetric gradient on every symmetric
direction. The formulas need distinct eigenvalues (eigh), real distinct eigenvalues (eig),
distinct nonzero singular values (svd) and full rank (pinv, qr, full column rank for
lstsq); cases they do not cover
are refused when the gradient is computed. Each adjoint rule is followed by its tangent
rule (`<name>_dot`).
"""
import numpy as np

from .registry import CONTAINER, FRESH, PURE, defadjoint, deftangent
from ..runtime import (cholesky_grad, cholesky_tangent, eigh_grad, eigh_tangent,  # noqa: F401
                       eigvalsh_grad, eigvalsh_tangent, svd_grad, svd_tangent, pinv_grad,
                       pinv_tangent, matrix_power_grad, matrix_power_tangent, qr_grad,
                       qr_tangent, eig_grad, eig_tangent, lstsq_grad_a, lstsq_grad_b,
                       lstsq_tangent_a, lstsq_tangent_b)


@defadjoint(np.linalg.cholesky, props=FRESH)
def cholesky(y, a, upper=False):
    """L = cholesky(a)  →  ā += L⁻ᵀ·Φ(Lᵀ·L̄)·L⁻¹ folded onto a's lower triangle
    (Φ: lower triangle with half the diagonal; upper=True: U = Lᵀ, the upper triangle)"""
    a_bar += cholesky_grad(y_bar, y, upper)


@deftangent(np.linalg.cholesky)
def cholesky_dot(y, a, upper=False):
    """L = cholesky(a)  →  L̇ = L·Φ(L⁻¹·ȧ·L⁻ᵀ)   (ȧ read like a, from one triangle)"""
    y_dot += cholesky_tangent(a_dot, y, upper)


@defadjoint(np.linalg.eigh)
def eigh(y, a, UPLO="L"):
    """(w, V) = eigh(a)  →  ā += V·(diag(w̄) + F∘(Vᵀ·V̄))·Vᵀ folded onto the triangle UPLO,
    F[i, j] = 1/(wⱼ - wᵢ)   (distinct eigenvalues)"""
    a_bar += eigh_grad(y_bar, y, UPLO)


@deftangent(np.linalg.eigh)
def eigh_dot(y, a, UPLO="L"):
    """(w, V) = eigh(a)  →  X = Vᵀ·ȧ·V, ẇ = diag(X), V̇ = V·(F∘X)"""
    y_dot += eigh_tangent(a_dot, y, UPLO)


@defadjoint(np.linalg.eigvalsh, props=FRESH)
def eigvalsh(y, a, UPLO="L"):
    """w = eigvalsh(a)  →  ā += V·diag(w̄)·Vᵀ folded onto the triangle UPLO"""
    a_bar += eigvalsh_grad(y_bar, a, UPLO)


@deftangent(np.linalg.eigvalsh)
def eigvalsh_dot(y, a, UPLO="L"):
    """w = eigvalsh(a)  →  ẇᵢ = vᵢᵀ·ȧ·vᵢ"""
    y_dot += eigvalsh_tangent(a_dot, a, UPLO)


@defadjoint(np.linalg.svd)
def svd(y, a, full_matrices=True, compute_uv=True, hermitian=False):
    """(U, s, Vh) = svd(a)  →  ā += U·[(F∘(UᵀŪ - ŪᵀU))·S + diag(s̄) + S·(F∘(VᵀV̄ - V̄ᵀV))]·Vᵀ
    + (I - UUᵀ)·Ū·S⁻¹·Vᵀ + U·S⁻¹·V̄ᵀ·(I - VVᵀ),  F[i, j] = 1/(sⱼ² - sᵢ²)
    (distinct nonzero s; compute_uv=False: ā += U·diag(s̄)·Vᵀ)"""
    a_bar += svd_grad(y_bar, y, a, full_matrices, compute_uv, hermitian)


@deftangent(np.linalg.svd)
def svd_dot(y, a, full_matrices=True, compute_uv=True, hermitian=False):
    """(U, s, Vh) = svd(a)  →  P = Uᵀ·ȧ·V, ṡ = diag(P), U̇ = U·(F∘(PS + SPᵀ)) + (I - UUᵀ)·ȧ·V·S⁻¹,
    V̇ = V·(F∘(SP + PᵀS)) + (I - VVᵀ)·ȧᵀ·U·S⁻¹"""
    y_dot += svd_tangent(a_dot, y, a, full_matrices, compute_uv, hermitian)


@defadjoint(np.linalg.pinv, props=FRESH)
def pinv(y, a, rcond=None, hermitian=False, rtol=None):
    """Y = pinv(a) (full rank)  →  ā += -Yᵀ·Ȳ·Yᵀ + (I - aY)·Ȳᵀ·Y·Yᵀ + Yᵀ·Y·Ȳᵀ·(I - Ya)"""
    a_bar += pinv_grad(y_bar, y, a, rcond, hermitian, rtol)


@deftangent(np.linalg.pinv)
def pinv_dot(y, a, rcond=None, hermitian=False, rtol=None):
    """Y = pinv(a)  →  Ẏ = -Y·ȧ·Y + Y·Yᵀ·ȧᵀ·(I - aY) + (I - Ya)·ȧᵀ·Yᵀ·Y"""
    y_dot += pinv_tangent(a_dot, y, a, rcond, hermitian, rtol)


@defadjoint(np.linalg.matrix_power)
def matrix_power(y, a, n):
    """y = aⁿ  →  ā += Σₖ (aᵀ)ᵏ·ȳ·(aᵀ)ⁿ⁻¹⁻ᵏ   (n < 0: through a⁻¹)"""
    a_bar += matrix_power_grad(y_bar, a, n)


@deftangent(np.linalg.matrix_power)
def matrix_power_dot(y, a, n):
    """y = aⁿ  →  ẏ = Σₖ aᵏ·ȧ·aⁿ⁻¹⁻ᵏ"""
    y_dot += matrix_power_tangent(a_dot, a, n)


@defadjoint(np.linalg.qr)
def qr(y, a, mode="reduced"):
    """(Q, R) = qr(a) (rows ≥ columns)  →  ā += (Q̄ + Q·copyltu(M))·R⁻ᵀ, M = R·R̄ᵀ - Q̄ᵀ·Q
    (copyltu: the symmetric matrix with M's lower triangle)"""
    a_bar += qr_grad(y_bar, y, a, mode)


@deftangent(np.linalg.qr)
def qr_dot(y, a, mode="reduced"):
    """(Q, R) = qr(a)  →  X = Qᵀ·ȧ·R⁻¹, Ω = tril(X, -1) - tril(X, -1)ᵀ, Ṙ = (X - Ω)·R,
    Q̇ = Q·Ω + ȧ·R⁻¹ - Q·X"""
    y_dot += qr_tangent(a_dot, y, a, mode)


@defadjoint(np.linalg.eig)
def eig(y, a):
    """(w, V) = eig(a), w real and distinct, unit columns  →
    ā += V⁻ᵀ·(diag(w̄) + F∘(Vᵀ·V̄ - Vᵀ·V·diag(diag(Vᵀ·V̄))))·Vᵀ   (complex w: refused)"""
    a_bar += eig_grad(y_bar, y)


@deftangent(np.linalg.eig)
def eig_dot(y, a):
    """(w, V) = eig(a)  →  X = V⁻¹·ȧ·V, ẇ = diag(X), V̇ = V·(F∘X) kept orthogonal to V's columns"""
    y_dot += eig_tangent(a_dot, y)


@defadjoint(np.linalg.lstsq, props=(CONTAINER, FRESH, PURE))
def lstsq(y, a, b, rcond=None):
    """(x, res, rank, s) = lstsq(a, b), a of full column rank  →  with z = (aᵀa)⁻¹·x̄ and
    r = b - a·x: ā += r·zᵀ - a·z·xᵀ - 2·(r·r̄es)·xᵀ + U·diag(s̄)·Vᵀ ;  b̄ += a·z + 2·r·r̄es
    (rank is a constant; a rank-deficient a is refused)"""
    a_bar += lstsq_grad_a(y_bar, y, a, b)
    b_bar += lstsq_grad_b(y_bar, y, a, b)


@deftangent(np.linalg.lstsq)
def lstsq_dot(y, a, b, rcond=None):
    """(x, res, rank, s) = lstsq(a, b)  →  ẋ = (aᵀa)⁻¹·(ȧᵀ·r - aᵀ·ȧ·x + aᵀ·ḃ),
    ṙes = 2·Σ r∘(ḃ - ȧ·x), ṡᵢ = uᵢᵀ·ȧ·vᵢ"""
    y_dot += lstsq_tangent_a(a_dot, y, a, b)
    y_dot += lstsq_tangent_b(b_dot, y, a, b)
