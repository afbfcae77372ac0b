"""SciPy's rules (optional): scipy.special, scipy.stats and scipy.linalg.

Loaded by the registry the first time a call is looked up while SciPy is imported
(`registry.OPTIONAL`); s2sgrad itself never requires SciPy. Each adjoint rule is followed
by its tangent rule (`<name>_dot`). Options a rule does not handle are refused at transform
time like everywhere else (`return_sign=True`, `overwrite_a=True`, `allow_singular=True`);
`check_finite` only decides whether SciPy checks its input, so it is accepted.

    y = logsumexp(a, axis, b)      ā += ȳ·b·e^(a-y) ;  b̄ += ȳ·e^(a-y)
    y = norm.logpdf(x, μ, σ)       x̄ += -ȳ·z/σ ;  μ̄ += ȳ·z/σ ;  σ̄ += ȳ·(z² - 1)/σ,  z = (x-μ)/σ
    L = cholesky(a, lower)         the Cholesky rule of NumPy, on the triangle SciPy reads
    y = expm(a)                    ā += L(aᵀ, ȳ)   (L: the Fréchet derivative of expm)
"""
import numpy as np
import scipy.linalg
import scipy.special
import scipy.stats

from .registry import (CALLABLES, ELEMENTWISE, FRESH, FULL_REDUCTION, PURE, READS_CONTAINER,
                       SCALAR_PRESERVING, T_CALLABLES, bound, defadjoint, deftangent)

from ..runtime import (unbroadcast, match_shape, cholesky_grad, cholesky_tangent,  # noqa: F401
                       logsumexp_grad_a, logsumexp_grad_b, logsumexp_tangent, softmax_grad,
                       log_softmax_grad, log_softmax_tangent, mvn_grad_x, mvn_grad_mean,
                       mvn_grad_cov, mvn_tangent_x, mvn_tangent_mean, mvn_tangent_cov,
                       cho_solve_grad_b, cho_solve_grad_c, cho_solve_tangent_c,
                       solve_triangular_grad_a, solve_triangular_grad_b,
                       solve_triangular_tangent, expm_grad, expm_tangent, polygamma,
                       normal_density)

norm = scipy.stats.norm
student_t = scipy.stats.t
multivariate_normal = scipy.stats.multivariate_normal

elementwise = dict(props=(ELEMENTWISE, SCALAR_PRESERVING, FRESH, PURE))
_CHECK = ("check_finite",)            # never changes a derivative


# ================================================================ scipy.special
@defadjoint(scipy.special.logsumexp, props=(FULL_REDUCTION, FRESH, PURE))
def logsumexp(y, a, axis=None, b=None, keepdims=False, return_sign=False):
    """y = log Σ b·eᵃ (over axis)  →  ā += ȳ·b·e^(a-y) ;  b̄ += ȳ·e^(a-y)"""
    a_bar += logsumexp_grad_a(y_bar, y, a, axis, b, keepdims)
    b_bar += logsumexp_grad_b(y_bar, y, a, axis, b, keepdims)


@deftangent(scipy.special.logsumexp)
def logsumexp_dot(y, a, axis=None, b=None, keepdims=False, return_sign=False):
    """y = log Σ b·eᵃ  →  ẏ = Σ (b·ȧ + ḃ)·e^(a-y)"""
    y_dot += logsumexp_tangent(a_dot, 0.0, y, a, axis, b, keepdims)
    y_dot += logsumexp_tangent(0.0, b_dot, y, a, axis, b, keepdims)


@defadjoint(scipy.special.gammaln, **elementwise)
def gammaln(y, x):
    """y = ln|Γ(x)|  →  x̄ += ȳ·ψ(x)"""
    x_bar += y_bar * polygamma(0, x)


@deftangent(scipy.special.gammaln)
def gammaln_dot(y, x):
    """y = ln|Γ(x)|  →  ẏ = ẋ·ψ(x)"""
    y_dot += x_dot * polygamma(0, x)


@defadjoint(scipy.special.digamma, scipy.special.psi, **elementwise)
def digamma(y, x):
    """y = ψ(x)  →  x̄ += ȳ·ψ'(x)   (ψ' = polygamma(1, ·))"""
    x_bar += y_bar * polygamma(1, x)


@deftangent(scipy.special.digamma, scipy.special.psi)
def digamma_dot(y, x):
    """y = ψ(x)  →  ẏ = ẋ·ψ'(x)"""
    y_dot += x_dot * polygamma(1, x)


@defadjoint(scipy.special.polygamma, polygamma, **elementwise)
def polygamma_order(y, n, x):
    """y = ψ⁽ⁿ⁾(x)  →  x̄ += ȳ·ψ⁽ⁿ⁺¹⁾(x)   (n, the order, is an integer: no adjoint);
    also the rule of the runtime's `polygamma`, so gammaln and digamma have second
    derivatives (hvp) and more"""
    x_bar += y_bar * polygamma(n + 1, x)


@deftangent(scipy.special.polygamma, polygamma)
def polygamma_order_dot(y, n, x):
    """y = ψ⁽ⁿ⁾(x)  →  ẏ = ẋ·ψ⁽ⁿ⁺¹⁾(x)"""
    y_dot += x_dot * polygamma(n + 1, x)


@defadjoint(scipy.special.expit, **elementwise)
def expit(y, x):
    """y = 1 / (1 + e⁻ˣ)  →  x̄ += ȳ·y·(1 - y)"""
    x_bar += y_bar * y * (1.0 - y)


@deftangent(scipy.special.expit)
def expit_dot(y, x):
    """y = 1 / (1 + e⁻ˣ)  →  ẏ = ẋ·y·(1 - y)"""
    y_dot += x_dot * y * (1.0 - y)


@defadjoint(scipy.special.logit, **elementwise)
def logit(y, x):
    """y = ln(x / (1 - x))  →  x̄ += ȳ / (x·(1 - x))"""
    x_bar += y_bar / (x * (1.0 - x))


@deftangent(scipy.special.logit)
def logit_dot(y, x):
    """y = ln(x / (1 - x))  →  ẏ = ẋ / (x·(1 - x))"""
    y_dot += x_dot / (x * (1.0 - x))


@defadjoint(scipy.special.erf, **elementwise)
def erf(y, x):
    """y = erf(x)  →  x̄ += ȳ·2/√π·exp(-x²)"""
    x_bar += y_bar * 1.1283791670955126 * np.exp(-x * x)


@deftangent(scipy.special.erf)
def erf_dot(y, x):
    """y = erf(x)  →  ẏ = ẋ·2/√π·exp(-x²)"""
    y_dot += x_dot * 1.1283791670955126 * np.exp(-x * x)


@defadjoint(scipy.special.erfc, **elementwise)
def erfc(y, x):
    """y = 1 - erf(x)  →  x̄ += -ȳ·2/√π·exp(-x²)"""
    x_bar += -y_bar * 1.1283791670955126 * np.exp(-x * x)


@deftangent(scipy.special.erfc)
def erfc_dot(y, x):
    """y = 1 - erf(x)  →  ẏ = -ẋ·2/√π·exp(-x²)"""
    y_dot += -x_dot * 1.1283791670955126 * np.exp(-x * x)


@defadjoint(scipy.special.xlogy, **elementwise)
def xlogy(z, x, y):
    """z = x·ln y  →  x̄ += z̄·ln y ;  ȳ += z̄·x / y"""
    x_bar += unbroadcast(z_bar * np.log(y), x)
    y_bar += unbroadcast(z_bar * x / y, y)


@deftangent(scipy.special.xlogy)
def xlogy_dot(z, x, y):
    """z = x·ln y  →  ż = ẋ·ln y + ẏ·x / y"""
    z_dot += x_dot * np.log(y)
    z_dot += y_dot * x / y


@defadjoint(scipy.special.xlog1py, **elementwise)
def xlog1py(z, x, y):
    """z = x·ln(1 + y)  →  x̄ += z̄·ln(1 + y) ;  ȳ += z̄·x / (1 + y)"""
    x_bar += unbroadcast(z_bar * np.log1p(y), x)
    y_bar += unbroadcast(z_bar * x / (1.0 + y), y)


@deftangent(scipy.special.xlog1py)
def xlog1py_dot(z, x, y):
    """z = x·ln(1 + y)  →  ż = ẋ·ln(1 + y) + ẏ·x / (1 + y)"""
    z_dot += x_dot * np.log1p(y)
    z_dot += y_dot * x / (1.0 + y)


@defadjoint(scipy.special.softmax, props=(FRESH, PURE))
def softmax(y, x, axis=None):
    """y = eˣ / Σ eˣ (over axis)  →  x̄ += y·(ȳ - Σ ȳ·y)"""
    x_bar += softmax_grad(y_bar, y, axis)


@deftangent(scipy.special.softmax)
def softmax_dot(y, x, axis=None):
    """y = softmax(x)  →  ẏ = y·(ẋ - Σ ẋ·y)"""
    y_dot += softmax_grad(x_dot, y, axis)


@defadjoint(scipy.special.log_softmax, props=(FRESH, PURE))
def log_softmax(y, x, axis=None):
    """y = x - log Σ eˣ (over axis)  →  x̄ += ȳ - e^y·Σ ȳ"""
    x_bar += log_softmax_grad(y_bar, y, axis)


@deftangent(scipy.special.log_softmax)
def log_softmax_dot(y, x, axis=None):
    """y = log_softmax(x)  →  ẏ = ẋ - Σ e^y·ẋ"""
    y_dot += log_softmax_tangent(x_dot, y, axis)


# ================================================================ scipy.stats
@defadjoint(bound(norm, "logpdf"), props=(ELEMENTWISE, SCALAR_PRESERVING, FRESH, PURE))
def norm_logpdf(y, x, loc=0.0, scale=1.0):
    """y = -z²/2 - ln σ - ln √(2π), z = (x - μ)/σ  →  x̄ += -ȳ·z/σ ;  μ̄ += ȳ·z/σ ;
    σ̄ += ȳ·(z² - 1)/σ"""
    z = (x - loc) / scale
    x_bar += unbroadcast(-y_bar * z / scale, x)
    loc_bar += unbroadcast(y_bar * z / scale, loc)
    scale_bar += unbroadcast(y_bar * (z * z - 1.0) / scale, scale)


@deftangent(bound(norm, "logpdf"))
def norm_logpdf_dot(y, x, loc=0.0, scale=1.0):
    """y = log N(x; μ, σ)  →  ẏ = (-ẋ + μ̇)·z/σ + σ̇·(z² - 1)/σ"""
    y_dot += match_shape(-x_dot * (x - loc) / (scale * scale), y)
    y_dot += match_shape(loc_dot * (x - loc) / (scale * scale), y)
    y_dot += match_shape(scale_dot * (((x - loc) / scale) ** 2 - 1.0) / scale, y)


@defadjoint(bound(norm, "pdf"), props=(ELEMENTWISE, SCALAR_PRESERVING, FRESH, PURE))
def norm_pdf(y, x, loc=0.0, scale=1.0):
    """y = φ(z)/σ, z = (x - μ)/σ  →  x̄ += -ȳ·y·z/σ ;  μ̄ += ȳ·y·z/σ ;  σ̄ += ȳ·y·(z² - 1)/σ"""
    z = (x - loc) / scale
    x_bar += unbroadcast(-y_bar * y * z / scale, x)
    loc_bar += unbroadcast(y_bar * y * z / scale, loc)
    scale_bar += unbroadcast(y_bar * y * (z * z - 1.0) / scale, scale)


@deftangent(bound(norm, "pdf"))
def norm_pdf_dot(y, x, loc=0.0, scale=1.0):
    """y = φ(z)/σ  →  ẏ = y·((-ẋ + μ̇)·z/σ + σ̇·(z² - 1)/σ)"""
    y_dot += match_shape(-x_dot * y * (x - loc) / (scale * scale), y)
    y_dot += match_shape(loc_dot * y * (x - loc) / (scale * scale), y)
    y_dot += match_shape(scale_dot * y * (((x - loc) / scale) ** 2 - 1.0) / scale, y)


@defadjoint(bound(norm, "cdf"), props=(ELEMENTWISE, SCALAR_PRESERVING, FRESH, PURE))
def norm_cdf(y, x, loc=0.0, scale=1.0):
    """y = Φ(z), z = (x - μ)/σ  →  x̄ += ȳ·φ(z)/σ ;  μ̄ += -ȳ·φ(z)/σ ;  σ̄ += -ȳ·φ(z)·z/σ"""
    x_bar += unbroadcast(y_bar * normal_density(x, loc, scale), x)
    loc_bar += unbroadcast(-y_bar * normal_density(x, loc, scale), loc)
    scale_bar += unbroadcast(-y_bar * normal_density(x, loc, scale) * (x - loc) / scale, scale)


@deftangent(bound(norm, "cdf"))
def norm_cdf_dot(y, x, loc=0.0, scale=1.0):
    """y = Φ(z)  →  ẏ = φ(z)·(ẋ - μ̇ - σ̇·z)/σ"""
    y_dot += match_shape(x_dot * normal_density(x, loc, scale), y)
    y_dot += match_shape(-loc_dot * normal_density(x, loc, scale), y)
    y_dot += match_shape(-scale_dot * normal_density(x, loc, scale) * (x - loc) / scale, y)


@defadjoint(bound(student_t, "logpdf"), props=(ELEMENTWISE, SCALAR_PRESERVING, FRESH, PURE))
def t_logpdf(y, x, df, loc=0.0, scale=1.0):
    """y = ln Γ((ν+1)/2) - ln Γ(ν/2) - ½ln(νπ) - ln σ - (ν+1)/2·ln(1 + z²/ν)  →
    x̄ += -ȳ·(ν+1)·z/((ν + z²)·σ) ;  μ̄ the opposite ;  σ̄ += ȳ·((ν+1)·z²/(ν + z²) - 1)/σ ;
    ν̄ += ȳ/2·(ψ((ν+1)/2) - ψ(ν/2) - 1/ν - ln(1 + z²/ν) + (ν+1)·z²/(ν·(ν + z²)))"""
    z = (x - loc) / scale
    w = df + z * z
    x_bar += unbroadcast(-y_bar * (df + 1.0) * z / (w * scale), x)
    loc_bar += unbroadcast(y_bar * (df + 1.0) * z / (w * scale), loc)
    scale_bar += unbroadcast(y_bar * ((df + 1.0) * z * z / w - 1.0) / scale, scale)
    df_bar += unbroadcast(y_bar * 0.5 * (polygamma(0, 0.5 * (df + 1.0))
                                         - polygamma(0, 0.5 * df) - 1.0 / df
                                         - np.log1p(z * z / df)
                                         + (df + 1.0) * z * z / (df * w)), df)


@deftangent(bound(student_t, "logpdf"))
def t_logpdf_dot(y, x, df, loc=0.0, scale=1.0):
    """y = log t(x; ν, μ, σ)  →  ẏ = (-ẋ + μ̇)·(ν+1)·z/((ν + z²)·σ) + σ̇·((ν+1)·z²/(ν + z²) - 1)/σ
    + ν̇/2·(ψ((ν+1)/2) - ψ(ν/2) - 1/ν - ln(1 + z²/ν) + (ν+1)·z²/(ν·(ν + z²)))"""
    y_dot += match_shape(-x_dot * (df + 1.0) * (x - loc)
                         / (df * scale * scale + (x - loc) ** 2), y)
    y_dot += match_shape(loc_dot * (df + 1.0) * (x - loc)
                         / (df * scale * scale + (x - loc) ** 2), y)
    y_dot += match_shape(scale_dot * ((df + 1.0) * (x - loc) ** 2
                                      / (df * scale * scale + (x - loc) ** 2) - 1.0) / scale, y)
    y_dot += match_shape(df_dot * 0.5 * (
        polygamma(0, 0.5 * (df + 1.0)) - polygamma(0, 0.5 * df) - 1.0 / df
        - np.log1p(((x - loc) / scale) ** 2 / df)
        + (df + 1.0) * (x - loc) ** 2 / (df * (df * scale * scale + (x - loc) ** 2))), y)


@defadjoint(bound(multivariate_normal, "logpdf"), props=(FRESH, PURE))
def mvn_logpdf(y, x, mean=None, cov=1, allow_singular=False):
    """y = -½(d·ln 2π + ln|Σ| + rᵀΣ⁻¹r), r = x - mean (per row)  →  x̄ += -ȳ·Σ⁻¹r ;
    m̄ean += Σ ȳ·Σ⁻¹r ;  Σ̄ += ½ Σ ȳ·(Σ⁻¹rrᵀΣ⁻¹ - Σ⁻¹) on the lower triangle SciPy reads"""
    x_bar += mvn_grad_x(y_bar, x, mean, cov)
    mean_bar += mvn_grad_mean(y_bar, x, mean, cov)
    cov_bar += mvn_grad_cov(y_bar, x, mean, cov)


@deftangent(bound(multivariate_normal, "logpdf"))
def mvn_logpdf_dot(y, x, mean=None, cov=1, allow_singular=False):
    """y = log N(x; mean, Σ)  →  ẏ = -rᵀΣ⁻¹ẋ + rᵀΣ⁻¹ṁean + ½(rᵀΣ⁻¹Σ̇Σ⁻¹r - tr Σ⁻¹Σ̇)"""
    y_dot += mvn_tangent_x(x_dot, y, x, mean, cov)
    y_dot += mvn_tangent_mean(mean_dot, y, x, mean, cov)
    y_dot += mvn_tangent_cov(cov_dot, y, x, mean, cov)


# ================================================================ scipy.linalg
@defadjoint(scipy.linalg.cholesky, keywords=_CHECK)
def cholesky(y, a, lower=False, overwrite_a=False, **options):
    """U = cholesky(a) (L with lower=True)  →  NumPy's cholesky rule on the triangle of a that
    is read (the upper one by default)"""
    a_bar += cholesky_grad(y_bar, y, not lower)


@deftangent(scipy.linalg.cholesky)
def cholesky_dot(y, a, lower=False, overwrite_a=False, **options):
    """U = cholesky(a)  →  U̇ = NumPy's cholesky tangent, ȧ read from the same triangle"""
    y_dot += cholesky_tangent(a_dot, y, not lower)


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


# every rule above is SciPy's: the core's coverage tests leave them to tests/test_scipy_rules.py
for _rule in list(CALLABLES.values()) + list(T_CALLABLES.values()):
    if _rule.namespace is globals():
        _rule.optional = "scipy"
