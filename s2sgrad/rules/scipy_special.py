"""SciPy's rules (optional), those of `scipy.special`.

Loaded by the registry the first time a call is looked up while `scipy.special` is imported
(`registry.OPTIONAL`: each SciPy module's rules load with that module alone, so a program
that imports scipy.linalg does not pay for importing scipy.stats); s2sgrad itself never
requires SciPy. Each adjoint rule is followed by its tangent rule (`<name>_dot`). Options
a rule does not handle are refused at transform time like everywhere else;
`check_finite` only decides whether SciPy checks its input, so it is accepted.

    y = logsumexp(a, axis, b)      ā += ȳ·b·e^(a-y) ;  b̄ += ȳ·e^(a-y)
    y = gammaln(x)                 x̄ += ȳ·ψ(x)
"""
import numpy as np  # noqa: F401  (the templates below read np)
import scipy.special

from .registry import (ELEMENTWISE, FRESH, FULL_REDUCTION, PURE, SCALAR_PRESERVING,
                       defadjoint, deftangent, mark_optional)
from ..runtime import (unbroadcast, logsumexp_grad_a, logsumexp_grad_b, logsumexp_tangent,
                       softmax_grad, log_softmax_grad, log_softmax_tangent, polygamma)  # noqa: F401

elementwise = dict(props=(ELEMENTWISE, SCALAR_PRESERVING, FRESH, PURE))


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


@defadjoint(scipy.special.betaln, **elementwise)
def betaln(y, a, b):
    """y = ln|B(a, b)|  →  ā += ȳ·(ψ(a) - ψ(a + b)) ;  b̄ += ȳ·(ψ(b) - ψ(a + b))"""
    a_bar += unbroadcast(y_bar * (polygamma(0, a) - polygamma(0, a + b)), a)
    b_bar += unbroadcast(y_bar * (polygamma(0, b) - polygamma(0, a + b)), b)


@deftangent(scipy.special.betaln)
def betaln_dot(y, a, b):
    """y = ln|B(a, b)|  →  ẏ = ȧ·(ψ(a) - ψ(a + b)) + ḃ·(ψ(b) - ψ(a + b))"""
    y_dot += a_dot * (polygamma(0, a) - polygamma(0, a + b))
    y_dot += b_dot * (polygamma(0, b) - polygamma(0, a + b))


@defadjoint(scipy.special.gamma, **elementwise)
def gamma(y, x):
    """y = Γ(x)  →  x̄ += ȳ·Γ(x)·ψ(x)"""
    x_bar += y_bar * y * polygamma(0, x)


@deftangent(scipy.special.gamma)
def gamma_dot(y, x):
    """y = Γ(x)  →  ẏ = ẋ·Γ(x)·ψ(x)"""
    y_dot += x_dot * y * polygamma(0, x)


@defadjoint(scipy.special.ndtr, **elementwise)
def ndtr(y, x):
    """y = Φ(x), the standard normal CDF  →  x̄ += ȳ·φ(x) = ȳ·e^(-x²/2)/√(2π)"""
    x_bar += y_bar * 0.3989422804014327 * np.exp(-0.5 * x * x)


@deftangent(scipy.special.ndtr)
def ndtr_dot(y, x):
    """y = Φ(x)  →  ẏ = ẋ·φ(x)"""
    y_dot += x_dot * 0.3989422804014327 * np.exp(-0.5 * x * x)


@defadjoint(scipy.special.log_ndtr, **elementwise)
def log_ndtr(y, x):
    """y = ln Φ(x)  →  x̄ += ȳ·φ(x)/Φ(x) = ȳ·e^(-x²/2 - y)/√(2π)   (no Φ(x) to underflow)"""
    x_bar += y_bar * 0.3989422804014327 * np.exp(-0.5 * x * x - y)


@deftangent(scipy.special.log_ndtr)
def log_ndtr_dot(y, x):
    """y = ln Φ(x)  →  ẏ = ẋ·e^(-x²/2 - y)/√(2π)"""
    y_dot += x_dot * 0.3989422804014327 * np.exp(-0.5 * x * x - y)


@defadjoint(scipy.special.ndtri, **elementwise)
def ndtri(y, p):
    """y = Φ⁻¹(p)  →  p̄ += ȳ/φ(y) = ȳ·√(2π)·e^(y²/2)"""
    p_bar += y_bar * 2.5066282746310002 * np.exp(0.5 * y * y)


@deftangent(scipy.special.ndtri)
def ndtri_dot(y, p):
    """y = Φ⁻¹(p)  →  ẏ = ṗ·√(2π)·e^(y²/2)"""
    y_dot += p_dot * 2.5066282746310002 * np.exp(0.5 * y * y)


@defadjoint(scipy.special.erfinv, **elementwise)
def erfinv(y, x):
    """y = erf⁻¹(x)  →  x̄ += ȳ·(√π/2)·e^(y²)"""
    x_bar += y_bar * 0.886226925452758 * np.exp(y * y)


@deftangent(scipy.special.erfinv)
def erfinv_dot(y, x):
    """y = erf⁻¹(x)  →  ẏ = ẋ·(√π/2)·e^(y²)"""
    y_dot += x_dot * 0.886226925452758 * np.exp(y * y)


@defadjoint(scipy.special.log_expit, **elementwise)
def log_expit(y, x):
    """y = ln σ(x)  →  x̄ += ȳ·(1 - σ(x)) = -ȳ·expm1(y)"""
    x_bar += -y_bar * np.expm1(y)


@deftangent(scipy.special.log_expit)
def log_expit_dot(y, x):
    """y = ln σ(x)  →  ẏ = -ẋ·expm1(y)"""
    y_dot += -x_dot * np.expm1(y)


@defadjoint(scipy.special.entr, **elementwise)
def entr(y, x):
    """y = -x·ln x  →  x̄ += -ȳ·(ln x + 1)"""
    x_bar += -y_bar * (np.log(x) + 1.0)


@deftangent(scipy.special.entr)
def entr_dot(y, x):
    """y = -x·ln x  →  ẏ = -ẋ·(ln x + 1)"""
    y_dot += -x_dot * (np.log(x) + 1.0)


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


mark_optional(globals(), "scipy")     # (their tests: tests/test_scipy_rules.py)
