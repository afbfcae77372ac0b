"""Linear algebra, shape and selection helpers (norms, inverses, determinants, solves,
diagonals, tile/repeat/diff, sort and take)."""

import numpy as np

from ..errors import GradientError
from .core import getitem_grad, is_zero, unbroadcast, unreduce, zero_grad


# ---- linear algebra, shape and selection helpers
# Called by the adjoint and tangent templates of rules/linalg.py, rules/indexing.py and
# the matching rules of rules/tangents.py (norms, inverses, determinants, solves,
# diagonals, tile/repeat/diff, sort and take, `.item()`). Like the helpers above they
# use only NumPy and accept the zero adjoint 0.0 where one may still be zero.

def _as_like(y, items):
    """A tuple with the type of the tuple `y` (namedtuples such as SlogdetResult too)."""
    if hasattr(type(y), "_fields"):
        return type(y)(*items)
    return type(y)(items)


def _norm_axes(x, ord=None, axis=None):
    """The axes np.linalg.norm(x, ord, axis) reduces (None: all of them, flattened)."""
    nd = np.ndim(x)
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    return tuple(a % nd for a in axes)


def _is_two_norm(x, ord, axis):
    """The vector 2-norm or the Frobenius norm: ∂y/∂x = x / y."""
    nd = np.ndim(x)
    count = nd if axis is None else 1 if isinstance(axis, int) else len(axis)
    if ord is None:
        return True
    if isinstance(ord, str):
        return ord == "fro"
    return ord == 2 and (count == 1 or (axis is None and nd == 1))


def _norm_partials(y, x, ord, axis, keepdims):
    """∂y/∂x of y = np.linalg.norm(x, ord, axis, keepdims), with the shape of x: the
    p-norm's sign(x)·(|x|/y)^(p-1); for ±inf the entries at the extreme (shared by
    ties); for matrix norms the extreme column or row sums (ord ±1, ±inf), U·Vᵀ of the
    SVD ('nuc') and u₁v₁ᵀ of the largest or smallest singular value (ord ±2)."""
    x = np.asarray(x, dtype=np.result_type(x, float))
    nd = x.ndim
    axes = _norm_axes(x, ord, axis)
    full = tuple(range(nd)) if axes is None else axes
    n = unreduce(y, x, axes, keepdims)
    with np.errstate(divide="ignore", invalid="ignore"):
        if _is_two_norm(x, ord, axis):
            return x / np.where(n == 0.0, 1.0, n)
        if len(full) == 1:
            return _vector_norm_partials(x, n, ord, full)
        return _matrix_norm_partials(x, ord, full)


def _vector_norm_partials(x, n, ord, axes):
    ax = np.abs(x)
    if ord == 0:
        return np.zeros_like(x)
    if ord in (np.inf, -np.inf):
        hit = (ax == n).astype(x.dtype)
        return np.sign(x) * hit / np.sum(hit, axis=axes, keepdims=True)
    p = float(ord)
    ratio = np.where((n == 0.0) | (x == 0.0), 0.0, ax / np.where(n == 0.0, 1.0, n))
    part = np.sign(x) * np.where(ratio == 0.0, 0.0, ratio ** (p - 1.0))
    return np.where(n == 0.0, 0.0, part)


def _matrix_norm_partials(x, ord, axes):
    r, c = axes
    if isinstance(ord, str) and ord == "nuc" or ord in (2, -2):
        xm = np.moveaxis(x, (r, c), (-2, -1))
        u, s, vt = np.linalg.svd(xm, full_matrices=False)
        if isinstance(ord, str):
            d = u @ vt
        else:
            i = 0 if ord == 2 else -1
            d = u[..., :, i:i + 1 if i == 0 else None] @ vt[..., i:i + 1 if i == 0 else None, :]
        return np.moveaxis(d, (-2, -1), (r, c))
    if ord in (1, -1, np.inf, -np.inf):
        summed = r if ord in (1, -1) else c      # column sums (ord ±1), row sums (±inf)
        sums = np.sum(np.abs(x), axis=summed, keepdims=True)
        pick = np.max if ord in (1, np.inf) else np.min
        hit = (sums == pick(sums, axis=axes, keepdims=True)).astype(x.dtype)
        return np.sign(x) * hit / np.sum(hit, axis=axes, keepdims=True)
    raise ValueError(f"invalid norm order {ord!r} for matrices")


def norm_grad(g, y, x, ord=None, axis=None, keepdims=False):
    """Adjoint of y = np.linalg.norm(x, ord, axis, keepdims): x̄ = ȳ·∂y/∂x (for the
    2-norm ȳ·x / y, 0 at y = 0)."""
    if is_zero(g):
        return 0.0
    axes = _norm_axes(x, ord, axis)
    if _is_two_norm(x, ord, axis):
        x = np.asarray(x)
        n = unreduce(y, x, axes, keepdims)
        safe = np.where(n == 0.0, 1.0, n)
        return unreduce(g, x, axes, keepdims) * x / safe
    return unreduce(g, np.asarray(x), axes, keepdims) * _norm_partials(y, x, ord, axis,
                                                                       keepdims)


def norm_tangent(t, y, x, ord=None, axis=None, keepdims=False):
    """Tangent of y = ‖x‖ along ẋ = t: Σ ∂y/∂x·ẋ over the reduced axes (0 at y = 0 for
    the 2-norm)."""
    axes = _norm_axes(x, ord, axis)
    if _is_two_norm(x, ord, axis):
        s = np.sum(np.asarray(x) * t, axis=axes, keepdims=keepdims)
        return np.where(y == 0.0, 0.0, s / np.where(y == 0.0, 1.0, y))[()]
    return np.sum(_norm_partials(y, x, ord, axis, keepdims) * t, axis=axes,
                  keepdims=keepdims)[()]


def inv_grad(g, y):
    """Adjoint of y = inv(a) (batched): ā = -yᵀ·ȳ·yᵀ."""
    if is_zero(g):
        return 0.0
    yt = np.swapaxes(y, -1, -2)
    return -(yt @ g @ yt)


def det_grad(g, y, a):
    """Adjoint of y = det(a) (batched): ā = ȳ·y·a⁻ᵀ, the cofactor matrix (also where
    a is singular and a⁻¹ does not exist)."""
    if is_zero(g):
        return 0.0
    if np.ndim(g):                       # (a number keeps float32 cofactors float32)
        g = np.asarray(g)[..., None, None]
    return g * _det_cofactors(y, a)


def det_tangent(t, y, a):
    """Tangent of y = det(a) along ȧ = t: y·tr(a⁻¹ȧ) = Σ cof(a)·ȧ."""
    return np.sum(_det_cofactors(y, a) * t, axis=(-2, -1))[()]


def _det_cofactors(y, a):
    """∂det(a)/∂a = y·a⁻ᵀ, the matrix of cofactors. Where a is singular (det 0, a⁻¹
    fails), from a = U·diag(s)·Vᵀ: adj(a) = det(U)·det(Vᵀ)·V·diag(Π_{j≠i} s_j)·Uᵀ."""
    a = np.asarray(a)
    if not np.any(np.asarray(y) == 0.0):
        try:
            return np.asarray(y)[..., None, None] * np.swapaxes(np.linalg.inv(a), -1, -2)
        except np.linalg.LinAlgError:
            pass
    u, s, vt = np.linalg.svd(a)
    n = s.shape[-1]
    others = np.stack([np.prod(np.delete(s, i, axis=-1), axis=-1) for i in range(n)], -1)
    sign = np.linalg.det(u) * np.linalg.det(vt)
    adj = sign[..., None, None] * (np.swapaxes(vt, -1, -2) * others[..., None, :]) \
        @ np.swapaxes(u, -1, -2)
    return np.swapaxes(adj, -1, -2)


def slogdet_grad(g, a):
    """Adjoint of (sign, logabsdet) = slogdet(a) from the pair's adjoint `g`: only
    logabsdet carries a gradient, ā = ḡ₁·a⁻ᵀ."""
    g1 = getitem_grad(g, 1)
    if is_zero(g1):
        return zero_grad(np.asarray(a, dtype=float))
    return np.asarray(g1)[..., None, None] * np.swapaxes(np.linalg.inv(a), -1, -2)


def slogdet_tangent(t, y, a):
    """Tangent of (sign, logabsdet) = slogdet(a) along ȧ = t: (0, tr(a⁻¹ȧ))."""
    d = np.trace(np.linalg.solve(a, t), axis1=-2, axis2=-1)
    return _as_like(y, (zero_grad(y[0]) if np.ndim(y[0]) else 0.0 * y[0], d))


def _solve_vector(a, b):
    """np.linalg.solve treats b as a vector exactly when it is 1-D (NumPy ≥ 2)."""
    return np.ndim(b) == 1


def _triangle(a):
    """True (False) when the real 2-D matrix a is lower (upper) triangular, its other
    triangle exactly zero (a Cholesky or QR factor, or its transpose), else None."""
    if type(a) is not np.ndarray or a.ndim != 2 or a.shape[0] < 2 \
            or a.dtype not in (np.float64, np.float32):
        return None
    if a[0, -1] == 0 and not np.triu(a, 1).any():
        return True
    if a[-1, 0] == 0 and not np.tril(a, -1).any():
        return False
    return None


def _triangular_solver():
    """scipy.linalg.solve_triangular, or None without SciPy."""
    try:
        from scipy.linalg import solve_triangular
    except ImportError:
        return None
    return solve_triangular


def _blas_triangular_solve(a, b, lower, trans):
    """a⁻¹·b (a⁻ᵀ·b with `trans`) for a real 2-D triangular a with a nonzero diagonal and b
    a vector or matrix, by BLAS trsv/trsm (a third of solve_triangular's time for a vector
    of 100: no argument checks, and a C-ordered a is read as its Fortran-ordered
    transpose, not copied); None without SciPy or for anything else."""
    if not (type(a) is np.ndarray and a.ndim == 2 and a.dtype in (np.float64, np.float32)
            and type(b) is np.ndarray and b.ndim in (1, 2) and b.dtype.kind in "fiub"
            and a.shape[0] == a.shape[1] == b.shape[0] > 0
            and np.count_nonzero(a.diagonal()) == a.shape[0]):
        return None
    try:
        from scipy.linalg import get_blas_funcs
    except ImportError:
        return None
    if a.flags.c_contiguous:                     # BLAS reads it as aᵀ, Fortran-ordered
        a, lower, trans = a.T, not lower, not trans
    if b.ndim == 1:
        trsv, = get_blas_funcs(("trsv",), (a, b))
        return trsv(a, b, lower=int(lower), trans=int(trans))
    trsm, = get_blas_funcs(("trsm",), (a, b))
    return trsm(1.0, a, b, lower=int(lower), trans_a=int(trans))


def solve_triangle(a, b, lower):
    """np.linalg.solve(a, b) for an a the compilation knows is lower (upper) triangular,
    a Cholesky factor or its transpose: back-substitution for one matrix when SciPy is
    installed (a third of LU's work), else np.linalg.solve."""
    y = _blas_triangular_solve(a, b, lower, False)
    if y is not None:
        return y
    solver = _triangular_solver() if np.ndim(a) == 2 and np.ndim(b) in (1, 2) else None
    if solver is None:
        return np.linalg.solve(a, b)
    return solver(a, b, lower=lower, check_finite=False)


def solve_transposed(a, g, lower=None):
    """solve(aᵀ, g) for a square 2-D a and g a vector or matrix: by back-substitution when
    a is lower (`lower=True`) or upper (False) triangular, known or found (None), and
    SciPy is installed; else np.linalg.solve."""
    if lower is None:
        lower = _triangle(a)
    y = None if lower is None else _blas_triangular_solve(a, np.asarray(g), lower, True)
    if y is not None:
        return y
    solver = _triangular_solver() if lower is not None else None
    if solver is None:
        return np.linalg.solve(np.swapaxes(a, -1, -2), g)
    g = np.asarray(g, dtype=np.result_type(a, g, 1.0))
    return solver(a, g, trans="T", lower=lower, check_finite=False)


def _solve_adjoint(g, a, b, lower=None):
    """solve(aᵀ, ȳ) with ȳ shaped like y = solve(a, b) (a vector ȳ per matrix for 1-D b)."""
    if _solve_vector(a, b):
        if np.ndim(a) == 2:
            return solve_transposed(a, g, lower)
        return np.linalg.solve(np.swapaxes(a, -1, -2), np.asarray(g)[..., None])[..., 0]
    if np.ndim(a) == 2 and np.ndim(g) == 2:
        return solve_transposed(a, g, lower)
    return np.linalg.solve(np.swapaxes(a, -1, -2), g)


def solve_grad_b(g, a, b, lower=None):
    """Adjoint of b in y = solve(a, b): b̄ = solve(aᵀ, ȳ) (summed over broadcast batches;
    `lower`: a is known lower or upper triangular)."""
    if is_zero(g):
        return 0.0
    return unbroadcast(_solve_adjoint(g, a, b, lower), b)


def _solve_a_part(gb, y, a, b):
    gb = -gb                                  # (negated at b's size, not at a's)
    if _solve_vector(a, b):
        return unbroadcast(gb[..., :, None] * y[..., None, :], a)
    return unbroadcast(gb @ np.swapaxes(y, -1, -2), a)


def solve_grad_a(g, y, a, b, lower=None):
    """Adjoint of a in y = solve(a, b): ā = -b̄·yᵀ with b̄ = solve(aᵀ, ȳ)."""
    if is_zero(g):
        return 0.0
    return _solve_a_part(_solve_adjoint(g, a, b, lower), y, a, b)


def solve_grads(g, y, a, b, lower=None):
    """Adjoints (ā, b̄) of y = solve(a, b) when both are wanted: b̄ = solve(aᵀ, ȳ) is
    solved once and gives ā = -b̄·yᵀ."""
    if is_zero(g):
        return 0.0, 0.0
    gb = _solve_adjoint(g, a, b, lower)
    return _solve_a_part(gb, y, a, b), unbroadcast(gb, b)


def solve_tangent_a(t, y, a, b):
    """Tangent of y = solve(a, b) along ȧ = t: -solve(a, ȧ·y)."""
    if _solve_vector(a, b):
        return -np.linalg.solve(a, t @ y[..., None])[..., 0]
    return -np.linalg.solve(a, t @ y)


def solve_tangent_b(a, t, b):
    """Tangent of y = solve(a, b) along ḃ = t: solve(a, ḃ)."""
    if _solve_vector(a, b):
        return np.linalg.solve(a, np.asarray(t)[..., None])[..., 0]
    return np.linalg.solve(a, t)


def diagonal_grad(g, a, offset=0, axis1=0, axis2=1):
    """Adjoint of y = diagonal(a, offset, axis1, axis2): ȳ put back on that diagonal."""
    if is_zero(g):
        return 0.0
    shape = np.shape(a)
    out = np.zeros(shape, np.result_type(np.asarray(a).dtype, float)
                   if np.asarray(a).dtype.kind in "fc" else float)
    if len(shape) == 2 and offset == 0 and (axis1, axis2) in ((0, 1), (-2, -1)) \
            and np.ndim(g) <= 1:
        np.fill_diagonal(out, g)                 # a matrix's main diagonal: the common case
        return out
    moved = np.moveaxis(out, (axis1, axis2), (-2, -1))        # a view: writes go to out
    n = np.shape(np.diagonal(out, offset, axis1, axis2))[-1]
    i = np.arange(n)
    moved[..., i + max(-offset, 0), i + max(offset, 0)] = g if is_zero(g) else \
        np.broadcast_to(g, moved.shape[:-2] + (n,))
    return out


def trace_grad(g, a, offset=0, axis1=0, axis2=1):
    """Adjoint of y = trace(a, offset, axis1, axis2): ȳ on every element of the diagonal."""
    if is_zero(g):
        return 0.0
    return diagonal_grad(np.asarray(g)[..., None], a, offset, axis1, axis2)


def diag_grad(g, v, k=0):
    """Adjoint of y = diag(v, k): the k-th diagonal of ȳ for a 1-D v, ȳ placed on the
    k-th diagonal of zeros for a 2-D v."""
    if is_zero(g):
        return 0.0
    if np.ndim(v) == 1:
        return np.diag(g, k)
    return diagonal_grad(g, v, k, 0, 1)


def tile_grad(g, x, reps):
    """Adjoint of y = tile(x, reps): the sum of ȳ over the copies."""
    if is_zero(g):
        return 0.0
    xs = np.shape(x)
    reps = (reps,) if np.ndim(reps) == 0 else tuple(reps)
    d = max(len(reps), len(xs))
    xp = (1,) * (d - len(xs)) + tuple(xs)
    rp = (1,) * (d - len(reps)) + reps
    g = np.reshape(g, [n for pair in zip(rp, xp) for n in pair])
    return np.reshape(np.sum(g, axis=tuple(range(0, 2 * d, 2))), xs)


def repeat_grad(g, x, repeats, axis=None):
    """Adjoint of y = repeat(x, repeats, axis): the sum of ȳ over each element's copies."""
    if is_zero(g):
        return 0.0
    xs = np.shape(x)
    if axis is None:
        n, rest, gm = int(np.prod(xs, dtype=np.int64)), (), np.ravel(g)
    else:
        axis = axis % len(xs)
        n, gm = xs[axis], np.moveaxis(g, axis, 0)
        rest = gm.shape[1:]
    # (float64 for float32 too, as its Numba version: backend/numba/helpers_more.py)
    out = np.zeros((n,) + rest, np.result_type(g, float))
    np.add.at(out, np.repeat(np.arange(n), repeats), gm)
    return np.reshape(out, xs) if axis is None else np.moveaxis(out, 0, axis)


def diff_grad(g, x, n=1, axis=-1, prepend=None, append=None):
    """Adjoint of y = diff(x, n, axis): n times x̄ᵢ = ȳᵢ₋₁ - ȳᵢ (zero-padded ends). With
    `prepend`/`append`, y differences [prepend, x, append] and x̄ is x's part of its adjoint."""
    if is_zero(g):
        return 0.0
    if (prepend is None and append is None) or n == 0:   # (n=0: x itself, no ends)
        return _diff_grad(g, x, n, axis)
    before, after = _diff_end_lengths(x, axis, prepend, append)
    full = _diff_grad(g, x, n, axis)
    axis = axis % np.ndim(x)
    return full[(slice(None),) * axis + (slice(before, full.shape[axis] - after),)]


def diff_end_grad(g, end, x, n=1, axis=-1, prepend=None, append=None):
    """Adjoint of y = diff(x, n, axis, prepend=…, append=…) for the `end` ("prepend" or
    "append"): its part of the adjoint of [prepend, x, append], summed over the copies of
    a number (NumPy broadcasts one to a slice of x's shape)."""
    if is_zero(g) or n == 0:            # (n=0: x itself, the ends are not read)
        return 0.0
    value = prepend if end == "prepend" else append
    before, after = _diff_end_lengths(x, axis, prepend, append)
    full = _diff_grad(g, x, n, axis)
    axis = axis % np.ndim(x)
    part = slice(0, before) if end == "prepend" else slice(full.shape[axis] - after, None)
    g_end = full[(slice(None),) * axis + (part,)]
    if np.ndim(value) == 0:
        return np.sum(g_end)
    return np.reshape(g_end, np.shape(value))


def diff_tangent(t, part, x, n=1, axis=-1, prepend=None, append=None):
    """The tangent of y = diff(x, n, axis, prepend=…, append=…) from the tangent `t` of
    one `part` ("x", "prepend" or "append"): diff of [prepend, x, append] with `t` in its
    place and zeros in the others (diff is linear)."""
    if is_zero(t):
        return 0.0
    zeros = {k: np.zeros(np.shape(v), np.result_type(t, 0.0))
             for k, v in (("x", x), ("prepend", prepend), ("append", append))}
    zeros[part] = t
    ends = {k: zeros[k] for k, v in (("prepend", prepend), ("append", append))
            if v is not None}
    return np.diff(zeros["x"], n, axis, **ends)


def _diff_end_lengths(x, axis, prepend, append):
    """The lengths along `axis` of np.diff's prepend and append (0 when absent, 1 for a
    number)."""
    axis = axis % np.ndim(x)
    return tuple(0 if v is None else 1 if np.ndim(v) == 0 else np.shape(v)[axis]
                 for v in (prepend, append))


def _diff_grad(g, x, n=1, axis=-1):
    g = np.asarray(g)
    axis = axis % np.ndim(x)
    lead = (slice(None),) * axis
    for _ in range(n):                  # [0, g] - [g, 0], without np.pad's cost
        shape = list(g.shape)
        shape[axis] += 1
        out = np.zeros(shape, g.dtype)
        out[lead + (slice(1, None),)] = g
        out[lead + (slice(None, -1),)] -= g
        g = out
    return g


def sort_grad(g, x, axis=-1, kind=None):
    """Adjoint of y = sort(x, axis): ȳ scattered back to where each element came from."""
    if is_zero(g):
        return 0.0
    if axis is None:
        return np.reshape(sort_grad(g, np.ravel(x), -1, kind), np.shape(x))
    order = np.argsort(x, axis=axis, kind=kind)
    out = np.zeros(np.shape(x), np.result_type(g, 0.0))
    np.put_along_axis(out, order, g, axis)
    return out


def sort_tangent(t, x, axis=-1, kind=None):
    """Tangent of y = sort(x, axis) along ẋ = t: ẋ in the order of x's sort."""
    if axis is None:
        return sort_tangent(np.ravel(t), np.ravel(x), -1, kind)
    return np.take_along_axis(np.broadcast_to(t, np.shape(x)),
                              np.argsort(x, axis=axis, kind=kind), axis)


def _take_indices(indices, n, mode="raise"):
    indices = np.asarray(indices)
    if mode == "wrap":
        return indices % n
    if mode == "clip":
        return np.clip(indices, 0, n - 1)
    return indices


def take_grad(g, x, indices, axis=None, mode="raise"):
    """Adjoint of y = take(x, indices, axis): x̄[indices] += ȳ along axis (repeated
    indices accumulate)."""
    if is_zero(g):
        return 0.0
    xs = np.shape(x)
    # (float64 for float32 too, as its Numba version: backend/numba/helpers_more.py)
    out = np.zeros(xs, np.result_type(g, float))
    if axis is None:
        flat = out.reshape(-1)
        np.add.at(flat, _take_indices(indices, flat.size, mode), g)
        return out
    axis = axis % len(xs)
    ind = _take_indices(indices, xs[axis], mode)
    k = ind.ndim
    gm = np.moveaxis(g, tuple(range(axis, axis + k)), tuple(range(k)))
    np.add.at(np.moveaxis(out, axis, 0), ind, gm)
    return out


def item_grad(g, x, index=()):
    """Adjoint of y = x.item(*index): ȳ at that one element of x."""
    if is_zero(g):
        return 0.0
    out = np.zeros(np.shape(x), np.result_type(np.asarray(x).dtype, 0.0)
                   if np.asarray(x).dtype.kind in "fc" else float)
    if len(index) == 0:
        out[...] = g
    elif len(index) == 1 and not isinstance(index[0], tuple):
        out.reshape(-1)[index[0]] = g
    elif len(index) == 1:
        out[index[0]] = g
    else:
        out[tuple(index)] = g
    return out


# Tangents of the helpers above that are not linear in their every argument (used by
# the forward-mode rules of the helpers, for forward-over-reverse).

def _inv_tangent(a, t):
    """d(a⁻¹) along ȧ = t: -a⁻¹·ȧ·a⁻¹."""
    ai = np.linalg.inv(a)
    return -(ai @ t @ ai)


def inv_grad_dy(g, y, t):
    """Tangent of inv_grad(g, y) = -yᵀ·g·yᵀ along ẏ = t."""
    if is_zero(g):
        return 0.0
    yt, tt = np.swapaxes(y, -1, -2), np.swapaxes(t, -1, -2)
    return -(tt @ g @ yt + yt @ g @ tt)


def det_grad_da(g, y, a, t):
    """Tangent of det_grad(g, y, a) = g·y·a⁻ᵀ along ȧ = t (g, y held fixed)."""
    try:
        return np.asarray(g * y)[..., None, None] * np.swapaxes(_inv_tangent(a, t), -1, -2)
    except np.linalg.LinAlgError:
        raise GradientError(
            "the second derivative of np.linalg.det at a singular matrix is not "
            "supported (its first derivative, the cofactor matrix, is)") from None


def slogdet_grad_da(g, a, t):
    """Tangent of slogdet_grad(g, a) along ȧ = t (g held fixed)."""
    g1 = getitem_grad(g, 1)
    if is_zero(g1):
        return zero_grad(np.asarray(a, dtype=float))
    return np.asarray(g1)[..., None, None] * np.swapaxes(_inv_tangent(a, t), -1, -2)


def _solve_adjoint_da(g, a, b, t):
    """d solve(aᵀ, g) along ȧ = t: -solve(aᵀ, ȧᵀ·solve(aᵀ, g))."""
    if is_zero(g):
        return 0.0
    gb = _solve_adjoint(g, a, b)
    tt = np.swapaxes(t, -1, -2)
    if _solve_vector(a, b):
        return -_solve_adjoint((tt @ gb[..., None])[..., 0], a, b)
    return -_solve_adjoint(tt @ gb, a, b)


def solve_grad_b_da(g, a, b, t):
    """Tangent of solve_grad_b(g, a, b) along ȧ = t (g held fixed)."""
    if is_zero(g):
        return 0.0
    return unbroadcast(_solve_adjoint_da(g, a, b, t), b)


def solve_grad_a_da(g, y, a, b, t):
    """Tangent of solve_grad_a(g, y, a, b) along ȧ = t (g and y held fixed)."""
    if is_zero(g):
        return 0.0
    d = _solve_adjoint_da(g, a, b, t)
    if _solve_vector(a, b):
        return unbroadcast(-(d[..., :, None] * y[..., None, :]), a)
    return unbroadcast(-(d @ np.swapaxes(y, -1, -2)), a)


def norm_grad_dy(g, y, x, t, ord=None, axis=None, keepdims=False):
    """Tangent of norm_grad(g, y, x, …) = ḡ·x / y along ẏ = t (g, x held fixed)."""
    if not _is_two_norm(x, ord, axis):
        raise GradientError(f"second derivatives of np.linalg.norm with ord={ord!r} are "
                            "not supported (the 2-norm's and the Frobenius norm's are)")
    safe = np.where(y == 0.0, 1.0, y)
    return -norm_grad(g * t / safe, y, x, ord, axis, keepdims)




# ---- np.linalg.vector_norm (NumPy ≥ 2.0): the vector norm over `axis` (every axis by
# default, whatever x's rank), as np.linalg.norm's over one axis of x with those axes
# moved last and merged

def _vector_norm_axes(x, axis):
    nd = np.ndim(x)
    if axis is None:
        return tuple(range(nd))
    return tuple(a % nd for a in ((axis,) if isinstance(axis, int) else axis))


def _merged(x, axes):
    """x with `axes` moved last and merged into one axis."""
    x = np.asarray(x)
    k = len(axes)
    moved = np.moveaxis(x, axes, tuple(range(x.ndim - k, x.ndim)))
    return moved.reshape(moved.shape[:x.ndim - k] + (-1,))


def _unmerged(d, x, axes):
    """The inverse of `_merged` for an array `d` shaped like `_merged(x, axes)`."""
    shape, nd, k = np.shape(x), np.ndim(x), len(axes)
    rest = [i for i in range(nd) if i not in axes]
    moved = np.reshape(d, tuple(shape[i] for i in rest) + tuple(shape[i] for i in axes))
    return np.moveaxis(moved, tuple(range(nd - k, nd)), axes)


def _kept(v, x, axes, keepdims):
    """A value shaped like vector_norm's result (with or without the kept axes) in the
    shape of the axes it keeps."""
    shape = np.shape(x)
    rest = tuple(shape[i] for i in range(len(shape)) if i not in axes)
    if keepdims:
        v = np.broadcast_to(v, tuple(1 if i in axes else n for i, n in enumerate(shape)))
    return np.reshape(v, rest)


def vector_norm_grad(g, y, x, axis=None, keepdims=False, ord=2):
    """Adjoint of y = np.linalg.vector_norm(x, axis=axis, keepdims=keepdims, ord=ord):
    x̄ = ȳ·∂y/∂x (for ord=2 ȳ·x / y, 0 at y = 0)."""
    if is_zero(g):
        return 0.0
    axes = _vector_norm_axes(x, axis)
    d = norm_grad(_kept(g, x, axes, keepdims), _kept(y, x, axes, keepdims),
                  _merged(x, axes), ord, -1, False)
    return _unmerged(np.broadcast_to(d, _merged(x, axes).shape), x, axes)


def vector_norm_tangent(t, y, x, axis=None, keepdims=False, ord=2):
    """Tangent of y = np.linalg.vector_norm(x, ...) along ẋ = t: Σ ∂y/∂x·ẋ over the
    axes (0 at y = 0 for ord=2)."""
    axes = _vector_norm_axes(x, axis)
    s = norm_tangent(_merged(np.broadcast_to(t, np.shape(x)), axes),
                     _kept(y, x, axes, keepdims), _merged(x, axes), ord, -1, False)
    return np.reshape(s, np.shape(y))


def vector_norm_grad_dy(g, y, x, t, axis=None, keepdims=False, ord=2):
    """Tangent of vector_norm_grad(g, y, x, …) = ḡ·x / y along ẏ = t (g, x held fixed;
    the 2-norm's only)."""
    axes = _vector_norm_axes(x, axis)
    d = norm_grad_dy(_kept(g, x, axes, keepdims), _kept(y, x, axes, keepdims),
                     _merged(x, axes), _kept(t, x, axes, keepdims), ord, -1, False)
    return _unmerged(np.broadcast_to(d, _merged(x, axes).shape), x, axes)
