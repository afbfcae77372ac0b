"""Matrix decompositions: cholesky, eigh, eigvalsh, svd, pinv, matrix_power, qr."""
import numpy as np

from .core import getitem_grad, is_zero
from .linalg import _as_like, inv_grad
from ..errors import GradientError


# ---- matrix decompositions: cholesky, eigh, eigvalsh, svd, pinv, matrix_power, qr
# Batched over leading axes. LAPACK reads a symmetric matrix from one triangle, so the
# adjoint S̄ of the symmetric matrix is folded onto that triangle (`_sym_pullback`): the
# gradient is the one finite differences of the NumPy function see.

def _mT(x):
    return np.swapaxes(x, -1, -2)


def _sym_from(t, lower=True):
    """The symmetric matrix LAPACK reads from the lower (upper) triangle of t."""
    if lower:
        return np.tril(t) + _mT(np.tril(t, -1))
    return np.triu(t) + _mT(np.triu(t, 1))


def _sym_pullback(s, lower=True):
    """Adjoint of t ↦ _sym_from(t): S̄ + S̄ᵀ below (above) the diagonal, S̄ on it."""
    if lower:
        return np.tril(s) + np.tril(_mT(s), -1)
    return np.triu(s) + np.triu(_mT(s), 1)


def _phi(x):
    """The lower triangle of x with its diagonal halved."""
    return np.tril(x) - 0.5 * x * np.eye(x.shape[-1])


def cholesky_grad(g, y, upper=False):
    """Adjoint of L = cholesky(a): S̄ = L⁻ᵀ·Φ(Lᵀ·L̄)·L⁻¹ (Φ: lower triangle, half diagonal),
    folded onto the triangle of a that is read (U = Lᵀ for upper=True)."""
    if is_zero(g):
        return 0.0
    lo = _mT(y) if upper else y
    glo = _mT(g) if upper else g
    folded = phi_sandwich(lo, lower_t_product(lo, glo))
    return _mT(folded) if upper else folded


def lower_t_product(lo, g):
    """Lᵀ·g for lower-triangular L (its lower triangle read): BLAS trmm for 2-D real
    matrices when SciPy is installed (half a general product's work: 123 to 100 us for
    n = 100), a C-ordered L read as its Fortran-ordered transpose; else Lᵀ @ g."""
    trmm = _matrix_blas("trmm", lo, g)
    if trmm is not None:
        a, up = (lo.T, 1) if lo.flags.c_contiguous else (lo, 0)
        return trmm(1.0, a, g, lower=1 - up, trans_a=1 - up)
    return _mT(lo) @ g


def _matrix_blas(name, a, b):
    """SciPy's BLAS routine `name` for two real float matrices a and b; None for other
    arguments (batches, other dtypes) or without SciPy."""
    if not (np.ndim(a) == 2 and np.ndim(b) == 2
            and np.result_type(a, b) in (np.float64, np.float32)):
        return None
    try:
        from scipy.linalg import get_blas_funcs
    except ImportError:
        return None
    return get_blas_funcs((name,), (a, b))[0]


def phi_sandwich(lo, m):
    """Φ(L⁻ᵀ·C·L⁻¹) for lower-triangular L, C the symmetric matrix of m's lower triangle:
    the Cholesky adjoint folded onto the lower triangle, since folding S = L⁻ᵀ·Φ(m)·L⁻¹
    (S̄ below the diagonal plus its transpose above) is Φ(S + Sᵀ). Reads m's lower
    triangle only. For a 2-D L with SciPy: two BLAS triangular solves and masks built
    once (trsm; 40 % less time than inverting for n = 100), else through np.linalg.inv."""
    trsm = _matrix_blas("trsm", lo, m)
    if trsm is not None:
        return _phi_sandwich_blas(lo, m, trsm)
    inv = np.linalg.inv(lo)
    return _sym_pullback(_mT(inv) @ _phi(m) @ inv)


def _phi_sandwich_blas(lo, m, trsm):
    n = lo.shape[0]
    lower = np.tri(n, dtype=bool)
    p = np.where(lower, m, 0)                   # Φ(m), a fresh C-ordered array
    p.flat[::n + 1] *= 0.5
    # BLAS reads a C-ordered L as the upper-triangular Lᵀ in Fortran order: no copy
    a, up = (lo.T, 1) if lo.flags.c_contiguous else (lo, 0)
    s = trsm(1.0, a, p, lower=1 - up, trans_a=1 - up)                      # L⁻ᵀ·Φ(m)
    s = trsm(1.0, a, s, side=1, lower=1 - up, trans_a=up, overwrite_b=1)   # ·L⁻¹
    out = np.where(lower, s + s.T, 0)
    out.flat[::n + 1] *= 0.5
    return out


def phi_sandwich_tangent(s, lo, t):
    """Tangent of s = phi_sandwich(lo, m) along L̇ = t: with X = s + sᵀ = L⁻ᵀ·C·L⁻¹ and
    Q = Lᵀ·X·L̇, ṡ = -Φ(L⁻ᵀ·(Q + Qᵀ)·L⁻¹) = -phi_sandwich(lo, Q + Qᵀ)."""
    q = _mT(lo) @ (s + _mT(s)) @ t
    return -phi_sandwich(lo, q + _mT(q))


def cholesky_tangent(t, y, upper=False):
    """Tangent of L = cholesky(a) along ȧ = t: L̇ = L·Φ(L⁻¹·Ṡ·L⁻ᵀ), Ṡ the symmetric ȧ."""
    lo = _mT(y) if upper else y
    inv = np.linalg.inv(lo)
    d = lo @ _phi(inv @ _sym_from(t, not upper) @ _mT(inv))
    return _mT(d) if upper else d


def _inv_gaps(w):
    """F[i, j] = 1 / (w[j] - w[i]) off the diagonal, 0 on it (w distinct)."""
    eye = np.eye(np.shape(w)[-1], dtype=bool)
    gaps = w[..., None, :] - w[..., :, None]
    return np.where(eye, 0.0, 1.0 / np.where(eye, 1.0, gaps))


def _lower_uplo(UPLO):
    return str(UPLO).upper() == "L"


def eigh_grad(g, y, UPLO="L"):
    """Adjoint of (w, V) = eigh(a): S̄ = V·(diag(w̄) + F∘(Vᵀ·V̄))·Vᵀ, F[i, j] = 1/(wⱼ - wᵢ)
    (distinct eigenvalues), folded onto the triangle `UPLO` of a."""
    if is_zero(g):
        return 0.0
    w, v = y[0], y[1]
    gw, gv = getitem_grad(g, 0), getitem_grad(g, 1)
    inner = np.zeros(np.shape(v), np.result_type(v, 0.0))
    if not is_zero(gw):
        inner = inner + np.asarray(gw)[..., None] * np.eye(np.shape(w)[-1])
    if not is_zero(gv):
        inner = inner + _inv_gaps(w) * (_mT(v) @ gv)
    return _sym_pullback(v @ inner @ _mT(v), _lower_uplo(UPLO))


def eigh_tangent(t, y, UPLO="L"):
    """Tangent of (w, V) = eigh(a) along ȧ = t: with X = Vᵀ·Ṡ·V, ẇ = diag(X) and
    V̇ = V·(F∘X)."""
    w, v = y[0], y[1]
    x = _mT(v) @ _sym_from(t, _lower_uplo(UPLO)) @ v
    return _as_like(y, (np.diagonal(x, axis1=-2, axis2=-1).copy(), v @ (_inv_gaps(w) * x)))


def eigvalsh_grad(g, a, UPLO="L"):
    """Adjoint of w = eigvalsh(a): S̄ = V·diag(w̄)·Vᵀ, folded onto the triangle `UPLO`."""
    if is_zero(g):
        return 0.0
    v = np.linalg.eigh(a, UPLO)[1]
    return _sym_pullback((v * np.asarray(g)[..., None, :]) @ _mT(v), _lower_uplo(UPLO))


def eigvalsh_tangent(t, a, UPLO="L"):
    """Tangent of w = eigvalsh(a) along ȧ = t: ẇᵢ = vᵢᵀ·Ṡ·vᵢ."""
    v = np.linalg.eigh(a, UPLO)[1]
    return np.sum(v * (_sym_from(t, _lower_uplo(UPLO)) @ v), axis=-2)


def _svd_check(hermitian):
    if hermitian:
        raise NotImplementedError("gradient of np.linalg.svd/pinv with hermitian=True is "
                                  "not supported: leave hermitian=False")


def _svd_check_extra(gu, gvh, k):
    """svd(full_matrices=True) of a non-square matrix: the singular vectors beyond the
    k-th are arbitrary, so nothing may depend on them (their adjoints must be zero)."""
    if (not is_zero(gu) and np.any(gu[..., :, k:] != 0.0)) or \
            (not is_zero(gvh) and np.any(gvh[..., k:, :] != 0.0)):
        raise NotImplementedError(
            "gradient of np.linalg.svd(full_matrices=True) of a non-square matrix through "
            "the extra singular vectors, which are not unique: use full_matrices=False")


def svd_grad(g, y, a, full_matrices=True, compute_uv=True, hermitian=False):
    """Adjoint of (U, s, Vh) = svd(a) (distinct nonzero s): ā = U·[(F∘(UᵀŪ - ŪᵀU))·S
    + diag(s̄) + S·(F∘(VᵀV̄ - V̄ᵀV))]·Vᵀ + (I - UUᵀ)·Ū·S⁻¹·Vᵀ + U·S⁻¹·V̄ᵀ·(I - VVᵀ),
    F[i, j] = 1/(sⱼ² - sᵢ²)."""
    if is_zero(g):
        return 0.0
    _svd_check(hermitian)
    if not compute_uv:
        u, s, vh = np.linalg.svd(a, full_matrices=False)
        return (u * np.asarray(g)[..., None, :]) @ vh
    u, s, vh = y[0], y[1], y[2]
    gu, gs, gvh = getitem_grad(g, 0), getitem_grad(g, 1), getitem_grad(g, 2)
    m, n = np.shape(a)[-2:]
    k = min(m, n)
    if full_matrices and m != n:
        _svd_check_extra(gu, gvh, k)
        u, vh = u[..., :, :k], vh[..., :k, :]
        gu = gu if is_zero(gu) else gu[..., :, :k]
        gvh = gvh if is_zero(gvh) else gvh[..., :k, :]
    v = _mT(vh)
    f = _inv_gaps(s * s)
    inner = np.zeros(np.shape(s)[:-1] + (k, k), np.result_type(u, 0.0))
    out = 0.0
    if not is_zero(gs):
        inner = inner + np.asarray(gs)[..., None] * np.eye(k)
    if not is_zero(gu):
        utgu = _mT(u) @ gu
        inner = inner + f * (utgu - _mT(utgu)) * s[..., None, :]
        out = out + ((gu - u @ utgu) / s[..., None, :]) @ vh
    if not is_zero(gvh):
        gv = _mT(gvh)
        vtgv = vh @ gv
        inner = inner + s[..., :, None] * (f * (vtgv - _mT(vtgv)))
        out = out + (u / s[..., None, :]) @ _mT(gv - v @ vtgv)
    return u @ inner @ vh + out


def svd_tangent(t, y, a, full_matrices=True, compute_uv=True, hermitian=False):
    """Tangent of (U, s, Vh) = svd(a) along ȧ = t: with P = Uᵀ·ȧ·V, ṡ = diag(P),
    U̇ = U·(F∘(PS + SPᵀ)) + (I - UUᵀ)·ȧ·V·S⁻¹, V̇ = V·(F∘(SP + PᵀS)) + (I - VVᵀ)·ȧᵀ·U·S⁻¹."""
    _svd_check(hermitian)
    if not compute_uv:
        u, s, vh = np.linalg.svd(a, full_matrices=False)
        return np.sum(u * (t @ _mT(vh)), axis=-2)
    m, n = np.shape(a)[-2:]
    if full_matrices and m != n:
        raise NotImplementedError(
            "tangent of np.linalg.svd(full_matrices=True) of a non-square matrix: the extra "
            "singular vectors are not unique; use full_matrices=False")
    u, s, vh = y[0], y[1], y[2]
    v = _mT(vh)
    tv = t @ v
    p = _mT(u) @ tv
    f = _inv_gaps(s * s)
    ps, sp = p * s[..., None, :], s[..., :, None] * p
    tu = _mT(t) @ u
    du = u @ (f * (ps + _mT(ps))) + (tv - u @ p) / s[..., None, :]
    dv = v @ (f * (sp + _mT(sp))) + (tu - v @ _mT(p)) / s[..., None, :]
    return _as_like(y, (du, np.diagonal(p, axis1=-2, axis2=-1).copy(), _mT(dv)))


def _pinv_check(a, rcond=None, hermitian=False, rtol=None):
    """pinv has a gradient where a has full rank (no singular value is cut off)."""
    _svd_check(hermitian)
    s = np.linalg.svd(a, compute_uv=False)
    m, n = np.shape(a)[-2:]
    tol = rtol if rtol is not None else rcond if rcond is not None \
        else max(m, n) * np.finfo(np.result_type(a, 0.0)).eps
    if np.any(s <= np.asarray(tol)[..., None] * np.max(s, axis=-1, keepdims=True)):
        raise NotImplementedError("gradient of np.linalg.pinv of a rank-deficient matrix "
                                  "is not supported (it jumps where the rank changes)")


def pinv_grad(g, y, a, rcond=None, hermitian=False, rtol=None):
    """Adjoint of Y = pinv(a) (full rank): ā = -Yᵀ·Ȳ·Yᵀ + (I - aY)·Ȳᵀ·Y·Yᵀ + Yᵀ·Y·Ȳᵀ·(I - Ya)."""
    if is_zero(g):
        return 0.0
    _pinv_check(a, rcond, hermitian, rtol)
    m, n = np.shape(a)[-2:]
    yt, gt = _mT(y), _mT(g)
    return -(yt @ g @ yt) + (np.eye(m) - a @ y) @ gt @ y @ yt \
        + yt @ y @ gt @ (np.eye(n) - y @ a)


def pinv_tangent(t, y, a, rcond=None, hermitian=False, rtol=None):
    """Tangent of Y = pinv(a) along ȧ = t: -Y·ȧ·Y + Y·Yᵀ·ȧᵀ·(I - aY) + (I - Ya)·ȧᵀ·Yᵀ·Y."""
    _pinv_check(a, rcond, hermitian, rtol)
    m, n = np.shape(a)[-2:]
    yt, tt = _mT(y), _mT(t)
    return -(y @ t @ y) + y @ yt @ tt @ (np.eye(m) - a @ y) \
        + (np.eye(n) - y @ a) @ tt @ yt @ y


def _matrix_powers(b, p):
    """[I, b, b², …, b^(p-1)] (batched)."""
    out = [np.broadcast_to(np.eye(np.shape(b)[-1]), np.shape(b))]
    for _ in range(p - 1):
        out.append(out[-1] @ b)
    return out


def matrix_power_grad(g, a, n):
    """Adjoint of y = aⁿ: ā = Σₖ (aᵀ)ᵏ·ȳ·(aᵀ)ⁿ⁻¹⁻ᵏ (for n < 0 through b = a⁻¹, ā = -bᵀ·b̄·bᵀ)."""
    if is_zero(g):
        return 0.0
    a = np.asarray(a)
    if n == 0:
        return np.zeros(a.shape, np.result_type(a, 0.0))
    b = a if n > 0 else np.linalg.inv(a)
    p = abs(int(n))
    powers = _matrix_powers(_mT(b), p)
    gb = sum(powers[k] @ g @ powers[p - 1 - k] for k in range(p))
    return gb if n > 0 else inv_grad(gb, b)


def matrix_power_tangent(t, a, n):
    """Tangent of y = aⁿ along ȧ = t: Σₖ aᵏ·ȧ·aⁿ⁻¹⁻ᵏ (for n < 0 with a⁻¹ and its tangent)."""
    a = np.asarray(a)
    if n == 0:
        return np.zeros(a.shape, np.result_type(a, 0.0))
    b = a if n > 0 else np.linalg.inv(a)
    db = t if n > 0 else -(b @ t @ b)
    p = abs(int(n))
    powers = _matrix_powers(b, p)
    return sum(powers[k] @ db @ powers[p - 1 - k] for k in range(p))


def _qr_check(a, mode):
    m, n = np.shape(a)[-2:]
    if mode not in ("reduced", "complete", "r") or m < n or (mode == "complete" and m != n):
        raise NotImplementedError(
            f"gradient of np.linalg.qr with mode={mode!r} of a {m}x{n} matrix is not "
            "supported: only mode 'reduced' (or 'r') of a matrix with at least as many "
            "rows as columns is")


def qr_grad(g, y, a, mode="reduced"):
    """Adjoint of (Q, R) = qr(a) (rows ≥ columns, full rank): ā = (Q̄ + Q·copyltu(M))·R⁻ᵀ,
    M = R·R̄ᵀ - Q̄ᵀ·Q, copyltu(M) the symmetric matrix with M's lower triangle."""
    if is_zero(g):
        return 0.0
    _qr_check(a, mode)
    if mode == "r":
        (q, r), gq, gr = np.linalg.qr(a), 0.0, g
    else:
        q, r, gq, gr = y[0], y[1], getitem_grad(g, 0), getitem_grad(g, 1)
    m = np.zeros(np.shape(r), np.result_type(r, 0.0))
    if not is_zero(gr):
        m = m + r @ _mT(gr)
    if not is_zero(gq):
        m = m - _mT(gq) @ q
    lhs = q @ (np.tril(m) + _mT(np.tril(m, -1)))
    if not is_zero(gq):
        lhs = lhs + gq
    return _mT(np.linalg.solve(r, _mT(lhs)))


def qr_tangent(t, y, a, mode="reduced"):
    """Tangent of (Q, R) = qr(a) along ȧ = t: with X = Qᵀ·ȧ·R⁻¹ and Ω = X's strict lower
    triangle minus its transpose, Ṙ = (X - Ω)·R and Q̇ = Q·Ω + ȧ·R⁻¹ - Q·X."""
    _qr_check(a, mode)
    q, r = np.linalg.qr(a) if mode == "r" else (y[0], y[1])
    tr = _mT(np.linalg.solve(_mT(r), _mT(t)))
    x = _mT(q) @ tr
    low = np.tril(x, -1)
    omega = low - _mT(low)
    dr = (x - omega) @ r
    if mode == "r":
        return dr
    return _as_like(y, (q @ omega + tr - q @ x, dr))




# ---- eig of a general matrix with real distinct eigenvalues
def _eig_check(w):
    """eig's derivative is written for real eigenvalues (NumPy returns real arrays then);
    complex ones are refused rather than differentiated as if real."""
    if np.iscomplexobj(w):
        raise GradientError(
            "np.linalg.eig returned complex eigenvalues: s2sgrad differentiates eig of "
            "matrices whose eigenvalues are real and distinct only (use np.linalg.eigh for "
            "a symmetric matrix)")


def eig_grad(g, y):
    """Adjoint of (w, V) = eig(a), real distinct w, unit columns vⱼ:
    ā = V⁻ᵀ·(diag(w̄) + F∘(Vᵀ·V̄ - Vᵀ·V·diag(diag(Vᵀ·V̄))))·Vᵀ, F[i, j] = 1/(wⱼ - wᵢ)."""
    if is_zero(g):
        return 0.0
    w, v = y[0], y[1]
    _eig_check(w)
    gw, gv = getitem_grad(g, 0), getitem_grad(g, 1)
    inner = np.zeros(np.shape(v), np.result_type(v, 0.0))
    if not is_zero(gw):
        inner = inner + np.asarray(gw)[..., None] * np.eye(np.shape(w)[-1])
    if not is_zero(gv):
        vtg = _mT(v) @ gv
        diag = np.diagonal(vtg, axis1=-2, axis2=-1)
        inner = inner + _inv_gaps(w) * (vtg - (_mT(v) @ v) * diag[..., None, :])
    return np.linalg.solve(_mT(v), inner @ _mT(v))


def eig_tangent(t, y):
    """Tangent of (w, V) = eig(a) along ȧ = t: X = V⁻¹·ȧ·V, ẇ = diag(X),
    V̇ = V·(F∘X) less each column's component along itself (the columns stay unit)."""
    w, v = y[0], y[1]
    _eig_check(w)
    x = np.linalg.solve(v, t @ v)
    dv = v @ (_inv_gaps(w) * x)
    dv = dv - v * np.sum(v * dv, axis=-2, keepdims=True)
    return _as_like(y, (np.diagonal(x, axis1=-2, axis2=-1).copy(), dv))


# ---- least squares: (x, residuals, rank, s) = lstsq(a, b) of a full-column-rank a

def _lstsq_parts(y, a, b):
    """x, the residual vectors r = b - a·x, the residuals' array and a as floats; a
    matrix without full column rank (the minimum-norm solution) is refused."""
    x, res, rank, _ = y
    a = np.asarray(a, dtype=float)
    if rank < a.shape[1]:
        raise GradientError(
            f"gradient of np.linalg.lstsq of a {a.shape[0]}×{a.shape[1]} matrix of rank "
            f"{int(rank)}: only a matrix of full column rank (rank = number of columns) has "
            "a gradient here; regularize the problem or use np.linalg.pinv")
    return np.asarray(x), np.asarray(b, dtype=float) - a @ x, np.asarray(res), a


def _outer_or_matmul(u, v):
    """u·vᵀ for vectors (an outer product) or matrices of columns."""
    return np.outer(u, v) if np.ndim(u) == 1 else u @ _mT(v)


def lstsq_grad_a(g, y, a, b):
    """Adjoint of a in (x, res, rank, s) = lstsq(a, b), a of full column rank: with
    z = (aᵀa)⁻¹·x̄ and r = b - a·x, ā = r·zᵀ - a·z·xᵀ - 2·(r·r̄es)·xᵀ + U·diag(s̄)·Vᵀ."""
    if is_zero(g):
        return 0.0
    x, r, res, a = _lstsq_parts(y, a, b)
    gx, gres, gs = getitem_grad(g, 0), getitem_grad(g, 1), getitem_grad(g, 3)
    out = np.zeros(a.shape)
    if not is_zero(gx):
        z = np.linalg.solve(_mT(a) @ a, gx)
        out += _outer_or_matmul(r, z) - _outer_or_matmul(a @ z, x)
    if not is_zero(gres) and res.size:
        out += -2.0 * _outer_or_matmul(r * gres, x)
    if not is_zero(gs):
        u, _, vt = np.linalg.svd(a, full_matrices=False)
        out += (u * gs) @ vt
    return out


def lstsq_grad_b(g, y, a, b):
    """Adjoint of b in (x, res, rank, s) = lstsq(a, b), a of full column rank:
    b̄ = a·(aᵀa)⁻¹·x̄ + 2·r·r̄es."""
    if is_zero(g):
        return 0.0
    x, r, res, a = _lstsq_parts(y, a, b)
    gx, gres = getitem_grad(g, 0), getitem_grad(g, 1)
    out = np.zeros(np.shape(b))
    if not is_zero(gx):
        out += a @ np.linalg.solve(_mT(a) @ a, gx)
    if not is_zero(gres) and res.size:
        out += 2.0 * r * gres
    return out


def lstsq_tangent_a(t, y, a, b):
    """Tangent of (x, res, rank, s) = lstsq(a, b) along ȧ = t: ẋ = (aᵀa)⁻¹·(ȧᵀ·r - aᵀ·ȧ·x),
    ṙes = -2·Σ r∘(ȧ·x), ṡᵢ = uᵢᵀ·ȧ·vᵢ."""
    x, r, res, a = _lstsq_parts(y, a, b)
    t = np.broadcast_to(t, a.shape)
    dx = np.linalg.solve(_mT(a) @ a, _mT(t) @ r - _mT(a) @ (t @ x))
    dres = -2.0 * np.sum(r * (t @ x), axis=0) * np.ones(res.shape) if res.size else \
        np.zeros(res.shape)
    u, _, vt = np.linalg.svd(a, full_matrices=False)
    ds = np.einsum("ji,jk,ik->i", u, t, vt)
    return (dx, dres, 0.0, ds)


def lstsq_tangent_b(t, y, a, b):
    """Tangent of (x, res, rank, s) = lstsq(a, b) along ḃ = t: ẋ = (aᵀa)⁻¹·aᵀ·ḃ,
    ṙes = 2·Σ r∘ḃ."""
    x, r, res, a = _lstsq_parts(y, a, b)
    t = np.broadcast_to(t, np.shape(b))
    dx = np.linalg.solve(_mT(a) @ a, _mT(a) @ t)
    dres = 2.0 * np.sum(r * t, axis=0) * np.ones(res.shape) if res.size else \
        np.zeros(res.shape)
    return (dx, dres, 0.0, np.zeros(np.shape(y[3])))
