"""Helpers of the SciPy rules (rules/scipy_special.py, scipy_stats.py, scipy_linalg.py):
logsumexp, softmax, the multivariate normal log-density, Cholesky and triangular solves,
and expm.

NumPy only, like every family, except expm's Fréchet derivative, which imports
scipy.linalg when it is called (only code that called scipy.linalg.expm calls it).
"""
import numpy as np

from .core import getitem_grad, is_zero, unbroadcast


def _mT(x):
    return np.swapaxes(x, -1, -2)


def _expand(v, ndim, axis=None, keepdims=False):
    """A reduction's result (or its adjoint) with the reduced axes put back as size 1, so
    that it broadcasts against the operand (dtypes kept)."""
    if axis is None or keepdims:
        return v
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    return np.expand_dims(v, tuple(a % ndim for a in axes))


# ---- logsumexp, softmax, log_softmax

def _logsumexp_weights(y, a, axis=None, b=None, keepdims=False):
    """exp(a - y): ∂y/∂(b·eᵃ) for each element, over the broadcast shape of a and b."""
    ndim = max(np.ndim(a), np.ndim(b)) if b is not None else np.ndim(a)
    return np.exp(a - _expand(y, ndim, axis, keepdims))


def logsumexp_grad_a(g, y, a, axis=None, b=None, keepdims=False):
    """Adjoint of a in y = log Σ b·eᵃ (over axis): ā = ȳ·b·e^(a-y)."""
    if is_zero(g):
        return 0.0
    ndim = max(np.ndim(a), np.ndim(b)) if b is not None else np.ndim(a)
    out = _expand(g, ndim, axis, keepdims) * _logsumexp_weights(y, a, axis, b, keepdims)
    return unbroadcast(out if b is None else out * b, a)


def logsumexp_grad_b(g, y, a, axis=None, b=None, keepdims=False):
    """Adjoint of b in y = log Σ b·eᵃ (over axis): b̄ = ȳ·e^(a-y)."""
    if is_zero(g):
        return 0.0
    ndim = max(np.ndim(a), np.ndim(b))
    return unbroadcast(_expand(g, ndim, axis, keepdims)
                       * _logsumexp_weights(y, a, axis, b, keepdims), b)


def logsumexp_tangent(ta, tb, y, a, axis=None, b=None, keepdims=False):
    """Tangent of y = log Σ b·eᵃ: ẏ = Σ (b·ȧ + ḃ)·e^(a-y) over axis (ȧ, ḃ may be 0)."""
    w = _logsumexp_weights(y, a, axis, b, keepdims)
    inner = (0.0 if is_zero(ta) and not isinstance(ta, np.ndarray) else
             ta * (1.0 if b is None else b)) + (0.0 if b is None else tb)
    return np.sum(np.broadcast_to(inner * w, np.shape(w)), axis=axis, keepdims=keepdims)


def softmax_grad(g, y, axis=None):
    """Adjoint of y = softmax(x, axis): x̄ = y·(ȳ - Σ ȳ·y) (the Jacobian is symmetric, so
    this is the tangent too)."""
    if is_zero(g):
        return 0.0
    return y * (g - np.sum(g * y, axis=axis, keepdims=True))


def log_softmax_grad(g, y, axis=None):
    """Adjoint of y = log_softmax(x, axis): x̄ = ȳ - e^y·Σ ȳ."""
    if is_zero(g):
        return 0.0
    return g - np.exp(y) * np.sum(g, axis=axis, keepdims=True)


def log_softmax_tangent(t, y, axis=None):
    """Tangent of y = log_softmax(x, axis): ẏ = ẋ - Σ e^y·ẋ."""
    return t - np.sum(np.exp(y) * t, axis=axis, keepdims=True)


# ---- multivariate normal log-density (scipy.stats.multivariate_normal.logpdf)
# SciPy reads the covariance from its lower triangle (an eigendecomposition with
# lower=True), a 1-D covariance as a diagonal and a number as a multiple of I: its
# adjoint lives where it is read.

def _mvn_full(cov, d):
    """The covariance matrix SciPy uses for `cov`."""
    if np.ndim(cov) == 0:
        return cov * np.eye(d)
    if np.ndim(cov) == 1:
        return np.diag(cov)
    return np.tril(cov) + _mT(np.tril(cov, -1))


def _mvn_parts(x, mean, cov):
    """(rows of x as SciPy reads them (n, d), Σ⁻¹, (x - mean)·Σ⁻¹ per row)."""
    # (the dimension, from shapes alone: written here, not in a helper of its own, so
    # that forward-over-reverse sees an integer, not the result of a call)
    d = int(np.size(mean)) if mean is not None else \
        int(np.shape(cov)[0]) if np.ndim(cov) > 0 else 1
    x = np.asarray(x)
    rows = x.reshape(1, 1) if x.ndim == 0 else x[:, None] if x.ndim == 1 and d == 1 else \
        x[None, :] if x.ndim == 1 else x
    r = rows - (0.0 if mean is None else np.reshape(mean, (d,)))
    inv = np.linalg.inv(_mvn_full(cov, d))
    return rows, inv, r @ inv


def _mvn_g(g, n):
    return np.broadcast_to(np.reshape(g, (-1,)), (n,))


def mvn_grad_x(g, x, mean, cov):
    """Adjoint of x in y = log N(x; mean, Σ): x̄ = -ȳ·Σ⁻¹(x - mean) per row."""
    if is_zero(g):
        return 0.0
    rows, inv, sol = _mvn_parts(x, mean, cov)
    return np.reshape(-_mvn_g(g, len(rows))[:, None] * sol, np.shape(x))


def mvn_grad_mean(g, x, mean, cov):
    """Adjoint of the mean: Σ over the rows of ȳ·Σ⁻¹(x - mean)."""
    if is_zero(g):
        return 0.0
    rows, inv, sol = _mvn_parts(x, mean, cov)
    return np.reshape(_mvn_g(g, len(rows)) @ sol, np.shape(mean))


def _mvn_pullback(big, cov):
    """The adjoint of `cov` from the adjoint of the symmetric matrix SciPy reads."""
    if np.ndim(cov) == 0:
        return np.trace(big)
    if np.ndim(cov) == 1:
        return np.diagonal(big).copy()
    return np.tril(big) + np.tril(_mT(big), -1)


def mvn_grad_cov(g, x, mean, cov):
    """Adjoint of the covariance: Σ̄ = ½ Σ over the rows of ȳ·(Σ⁻¹rrᵀΣ⁻¹ - Σ⁻¹), folded onto
    what SciPy reads (the lower triangle, the diagonal or the multiple of I)."""
    if is_zero(g):
        return 0.0
    rows, inv, sol = _mvn_parts(x, mean, cov)
    gv = _mvn_g(g, len(rows))
    big = 0.5 * ((_mT(sol) * gv) @ sol - np.sum(gv) * inv)
    return _mvn_pullback(big, cov)


def mvn_tangent_x(t, y, x, mean, cov):
    """Tangent along ẋ: ẏ = -Σ⁻¹(x - mean)·ẋ per row."""
    rows, inv, sol = _mvn_parts(x, mean, cov)
    tr = np.reshape(np.broadcast_to(t, np.shape(x)), rows.shape)
    return np.reshape(-np.sum(sol * tr, axis=1), np.shape(y))


def mvn_tangent_mean(t, y, x, mean, cov):
    """Tangent along the mean's: ẏ = Σ⁻¹(x - mean)·ṁean per row."""
    rows, inv, sol = _mvn_parts(x, mean, cov)
    return np.reshape(sol @ np.reshape(t, (-1,)), np.shape(y))


def mvn_tangent_cov(t, y, x, mean, cov):
    """Tangent along the covariance's (read like SciPy reads it): ẏ = ½(rᵀΣ⁻¹Σ̇Σ⁻¹r - tr Σ⁻¹Σ̇)."""
    rows, inv, sol = _mvn_parts(x, mean, cov)
    dot = _mvn_full(np.broadcast_to(t, np.shape(cov)), rows.shape[1])
    return np.reshape(0.5 * (np.sum((sol @ dot) * sol, axis=1) - np.trace(inv @ dot)),
                      np.shape(y))


# ---- Cholesky and triangular solves (scipy.linalg.cho_solve, solve_triangular)

def _outer(u, v):
    """u·vᵀ for the vectors or matrices of a solve's right-hand side and solution."""
    return np.outer(u, v) if np.ndim(u) == 1 else u @ _mT(v)


def _cho_matrix(c, lower):
    """(the triangle of c that cho_solve reads, the matrix it stands for)."""
    t = np.tril(c) if lower else np.triu(c)
    return t, (t @ _mT(t) if lower else _mT(t) @ t)


def cho_factor_grad(g, y, lower=False):
    """Adjoint of a in (c, lower) = cho_factor(a): the factor's triangle of c by the
    Cholesky rule (on the triangle of a it reads); SciPy leaves a's own entries in c's
    other triangle, so their adjoint passes to a unchanged. `g`: the pair's adjoint."""
    gc = getitem_grad(g, 0)
    if is_zero(gc):
        return 0.0
    from .decompositions import cholesky_grad
    c = y[0]
    gc = np.asarray(gc)
    if lower:
        return cholesky_grad(np.tril(gc), np.tril(c)) + np.triu(gc, 1)
    return cholesky_grad(np.triu(gc), np.triu(c), True) + np.tril(gc, -1)


def cho_factor_tangent(t, y, lower=False):
    """Tangent of (c, lower) = cho_factor(a) along ȧ = t: the Cholesky tangent on the
    factor's triangle, ȧ's own entries on the other; none for `lower`."""
    from .decompositions import cholesky_tangent
    c = y[0]
    if lower:
        dc = cholesky_tangent(t, np.tril(c)) + np.triu(t, 1)
    else:
        dc = cholesky_tangent(t, np.triu(c), True) + np.tril(t, -1)
    return (dc, 0.0)


def cho_solve_grad_b(g, c_and_lower):
    """Adjoint of b in y = cho_solve((c, lower), b) = A⁻¹b: b̄ = A⁻¹·ȳ."""
    if is_zero(g):
        return 0.0
    return np.linalg.solve(_cho_matrix(*c_and_lower)[1], g)


def cho_solve_grad_c(g, y, c_and_lower):
    """Adjoint of (c, lower) in y = cho_solve((c, lower), b): with Ā = -A⁻¹ȳ·yᵀ,
    c̄ = tril((Ā + Āᵀ)·L) (lower) or triu(U·(Ā + Āᵀ)) (upper); `lower` gets none."""
    if is_zero(g):
        return 0.0
    c, lower = c_and_lower
    t, a = _cho_matrix(c, lower)
    big = -_outer(np.linalg.solve(a, g), y)
    sym = big + _mT(big)
    return (np.tril(sym @ t) if lower else np.triu(t @ sym), 0.0)


def cho_solve_tangent_c(t, y, c_and_lower):
    """Tangent of y = cho_solve((c, lower), b) along ċ: ẏ = -A⁻¹·Ȧ·y, Ȧ = ṫtᵀ + tṫᵀ."""
    c, lower = c_and_lower
    dc = t[0] if isinstance(t, (tuple, list)) else t
    tri, a = _cho_matrix(c, lower)
    dt = np.tril(dc) if lower else np.triu(dc)
    da = dt @ _mT(tri) + tri @ _mT(dt) if lower else _mT(dt) @ tri + _mT(tri) @ dt
    return -np.linalg.solve(a, da @ y)


def _tri(a, lower=False, unit_diagonal=False):
    t = np.tril(a) if lower else np.triu(a)
    return t - np.diag(np.diagonal(t)) + np.eye(len(t)) if unit_diagonal else t


def _transposed(trans):
    """Does solve_triangular's `trans` solve with the transpose (1, 'T'; 'C' is the same
    for real matrices)?"""
    if trans in (0, "N", "n"):
        return False
    if trans in (1, 2, "T", "C", "t", "c"):
        return True
    raise ValueError(f"solve_triangular: unknown trans={trans!r}")


def _tri_op(a, trans=0, lower=False, unit_diagonal=False):
    t = _tri(a, lower, unit_diagonal)
    return _mT(t) if _transposed(trans) else t


def solve_triangular_grad_b(g, a, trans=0, lower=False, unit_diagonal=False):
    """Adjoint of b in y = op(T)⁻¹b (T the triangle of a): b̄ = op(T)⁻ᵀ·ȳ."""
    if is_zero(g):
        return 0.0
    return np.linalg.solve(_mT(_tri_op(a, trans, lower, unit_diagonal)), g)


def solve_triangular_grad_a(g, y, a, trans=0, lower=False, unit_diagonal=False):
    """Adjoint of a in y = op(T)⁻¹b: ōp = -b̄·yᵀ, on T's triangle (without the diagonal
    when it is taken to be 1)."""
    if is_zero(g):
        return 0.0
    big = -_outer(solve_triangular_grad_b(g, a, trans, lower, unit_diagonal), y)
    big = _mT(big) if _transposed(trans) else big
    big = np.tril(big, -1 if unit_diagonal else 0) if lower else \
        np.triu(big, 1 if unit_diagonal else 0)
    return big


def solve_triangular_tangent(ta, tb, y, a, trans=0, lower=False, unit_diagonal=False):
    """Tangent of y = op(T)⁻¹b: ẏ = op(T)⁻¹·(ḃ - op(Ṫ)·y) (ȧ, ḃ may be 0)."""
    rhs = tb if not is_zero(tb) or isinstance(tb, np.ndarray) else 0.0 * y
    if not (is_zero(ta) and not isinstance(ta, np.ndarray)):
        dt = np.tril(ta, -1 if unit_diagonal else 0) if lower else \
            np.triu(ta, 1 if unit_diagonal else 0)
        rhs = rhs - (_mT(dt) if _transposed(trans) else dt) @ y
    return np.linalg.solve(_tri_op(a, trans, lower, unit_diagonal), rhs)


# ---- matrix exponential (scipy.linalg.expm)

def _frechet(a, e):
    """The Fréchet derivative of expm at a along e (batched over leading axes)."""
    from scipy.linalg import expm_frechet
    a, e = np.asarray(a), np.broadcast_to(e, np.shape(a))
    if a.ndim == 2:
        return expm_frechet(a, e, compute_expm=False)
    out = np.empty(np.broadcast_shapes(a.shape, e.shape), np.result_type(a, e, 0.0))
    for i in np.ndindex(a.shape[:-2]):
        out[i] = expm_frechet(a[i], e[i], compute_expm=False)
    return out


def expm_grad(g, a):
    """Adjoint of y = expm(a): ā = L(aᵀ, ȳ), L the Fréchet derivative of expm."""
    if is_zero(g):
        return 0.0
    return _frechet(_mT(np.asarray(a)), g)


def expm_tangent(t, a):
    """Tangent of y = expm(a): ẏ = L(a, ȧ)."""
    return _frechet(a, t)


# ---- polygamma (the derivatives of ln Γ)

def polygamma(n, x):
    """ψ⁽ⁿ⁾(x), the (n+1)-th derivative of ln Γ, by scipy.special (imported when called: only
    the rules of SciPy's gammaln, digamma and t.logpdf call it), in x's precision."""
    from scipy import special
    out = special.digamma(x) if n == 0 else special.polygamma(n, x)
    return out.astype(np.result_type(x, np.float16)) if isinstance(out, np.ndarray) \
        and isinstance(x, np.ndarray) else out


def normal_density(x, loc=0.0, scale=1.0):
    """φ((x - μ)/σ)/σ, the normal density: the derivative of Φ((x - μ)/σ) in x."""
    z = (x - loc) / scale
    return np.exp(-0.5 * z * z) * 0.3989422804014327 / scale
