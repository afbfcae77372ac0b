"""SciPy's rules (optional), those of `scipy.stats`.

Loaded by the registry the first time a call is looked up while `scipy.stats` is imported
(`registry.OPTIONAL`: each SciPy module's rules load with that module alone, so a program
that imports scipy.linalg does not pay for importing scipy.stats); s2sgrad itself never
requires SciPy. Each adjoint rule is followed by its tangent rule (`<name>_dot`). Options
a rule does not handle are refused at transform time like everywhere else;
`check_finite` only decides whether SciPy checks its input, so it is accepted.

    y = norm.logpdf(x, μ, σ)       x̄ += -ȳ·z/σ ;  μ̄ += ȳ·z/σ ;  σ̄ += ȳ·(z² - 1)/σ,  z = (x-μ)/σ
"""
import numpy as np  # noqa: F401  (the templates below read np)
import scipy.stats

from .registry import (ELEMENTWISE, FRESH, PURE, SCALAR_PRESERVING, bound, defadjoint,
                       deftangent, mark_optional)
from ..runtime import (unbroadcast, match_shape, mvn_grad_x, mvn_grad_mean, mvn_grad_cov,
                       mvn_tangent_x, mvn_tangent_mean, mvn_tangent_cov, polygamma,
                       normal_density)  # noqa: F401

norm = scipy.stats.norm
student_t = scipy.stats.t
multivariate_normal = scipy.stats.multivariate_normal

elementwise = dict(props=(ELEMENTWISE, SCALAR_PRESERVING, FRESH, PURE))


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


mark_optional(globals(), "scipy")     # (their tests: tests/test_scipy_rules.py)
