"""1-D convolution and correlation, kron, vdot, cross."""
import numpy as np

from .core import is_zero, unbroadcast


# ---- 1-D convolution and correlation, kron, vdot, cross

def _conv_full(g, n, m, mode, correlate=False):
    """The adjoint ȳ of a 1-D convolution (correlation) of lengths n and m placed in the
    'full' output of length n + m - 1, where mode 'same' or 'valid' took it from."""
    if mode == "full":
        return np.asarray(g)
    big, small = max(n, m), min(n, m)
    if mode == "same":
        size, start = big, (small // 2 if correlate and n < m else (small - 1) // 2)
    elif mode == "valid":
        size, start = big - small + 1, small - 1
    else:
        raise NotImplementedError(f"gradient of np.convolve/np.correlate with mode={mode!r} "
                                  "is not supported: use 'full', 'same' or 'valid'")
    out = np.zeros(n + m - 1, np.result_type(g, 0.0))
    out[start:start + size] = g
    return out


def convolve_grad(g, other, x, mode="full"):
    """Adjoint of x in y = convolve(x, other, mode) (either operand: convolution is
    symmetric): x̄ = correlate(ȳ_full, other, 'valid')."""
    if is_zero(g):
        return 0.0
    full = _conv_full(g, np.size(x), np.size(other), mode)
    return np.correlate(full, np.ravel(other), "valid")


def correlate_grad_a(g, v, a, mode="valid"):
    """Adjoint of a in y = correlate(a, v, mode) = convolve(a, v[::-1]):
    ā = correlate(ȳ_full, v[::-1], 'valid')."""
    if is_zero(g):
        return 0.0
    full = _conv_full(g, np.size(a), np.size(v), mode, correlate=True)
    return np.correlate(full, np.ravel(v)[::-1], "valid")


def correlate_grad_v(g, a, v, mode="valid"):
    """Adjoint of v in y = correlate(a, v, mode): v̄ = correlate(ȳ_full, a, 'valid') reversed."""
    if is_zero(g):
        return 0.0
    full = _conv_full(g, np.size(a), np.size(v), mode, correlate=True)
    return np.correlate(full, np.ravel(a), "valid")[::-1]


def _kron_blocks(g, a, b):
    """ȳ of y = kron(a, b) with its axes split in alternating (a, b) pairs, and the shapes
    of a and b padded with ones to a common length."""
    sa, sb = np.shape(a), np.shape(b)
    nd = max(len(sa), len(sb))
    sa = (1,) * (nd - len(sa)) + tuple(sa)
    sb = (1,) * (nd - len(sb)) + tuple(sb)
    return np.reshape(g, [n for pair in zip(sa, sb) for n in pair]), sa, sb, nd


def kron_grad_a(g, b, a):
    """Adjoint of a in y = kron(a, b): āᵢ = Σⱼ ȳ[block i, j]·bⱼ."""
    if is_zero(g):
        return 0.0
    blocks, sa, sb, nd = _kron_blocks(g, a, b)
    bb = np.reshape(b, [n for s in sb for n in (1, s)])
    return np.reshape(np.sum(blocks * bb, axis=tuple(range(1, 2 * nd, 2))), np.shape(a))


def kron_grad_b(g, a, b):
    """Adjoint of b in y = kron(a, b): b̄ⱼ = Σᵢ ȳ[block i, j]·aᵢ."""
    if is_zero(g):
        return 0.0
    blocks, sa, sb, nd = _kron_blocks(g, a, b)
    aa = np.reshape(a, [n for s in sa for n in (s, 1)])
    return np.reshape(np.sum(blocks * aa, axis=tuple(range(0, 2 * nd, 2))), np.shape(b))


def vdot_grad(g, other, x):
    """Adjoint of x in y = vdot(x, other) = Σ ravel(x)·ravel(other): x̄ = ȳ·other, in x's shape."""
    if is_zero(g):
        return 0.0
    return np.reshape(g * np.ravel(other), np.shape(x))


def _cross_moved(a, b, axisa, axisb, axisc, axis):
    """a and b with their vector axes last, and the vector axis of the result (3-vectors)."""
    if axis is not None:
        axisa = axisb = axisc = axis
    am, bm = np.moveaxis(np.asarray(a), axisa, -1), np.moveaxis(np.asarray(b), axisb, -1)
    if am.shape[-1] != 3 or bm.shape[-1] != 3:
        raise NotImplementedError("gradient of np.cross is supported for 3-vectors only; "
                                  "for 2-vectors write a[0] * b[1] - a[1] * b[0]")
    return am, bm, axisa, axisb, axisc


def cross_grad_a(g, b, a, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """Adjoint of a in y = a × b: ā = b × ȳ (summed over broadcast dimensions)."""
    if is_zero(g):
        return 0.0
    am, bm, axisa, axisb, axisc = _cross_moved(a, b, axisa, axisb, axisc, axis)
    ga = np.cross(bm, np.moveaxis(g, axisc, -1))
    return np.moveaxis(unbroadcast(ga, am), -1, axisa)


def cross_grad_b(g, a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """Adjoint of b in y = a × b: b̄ = ȳ × a (summed over broadcast dimensions)."""
    if is_zero(g):
        return 0.0
    am, bm, axisa, axisb, axisc = _cross_moved(a, b, axisa, axisb, axisc, axis)
    gb = np.cross(np.moveaxis(g, axisc, -1), am)
    return np.moveaxis(unbroadcast(gb, bm), -1, axisb)




# ---- the array API's products: vecdot, matvec, vecmat (NumPy ≥ 2.0 / 2.2)
# Real operands only (complex ones are refused before these run): no conjugation.

def vecdot_grad(g, other, x, axis=-1):
    """Adjoint of x in y = vecdot(x, other, axis=axis) = Σₖ x[..k..]·other[..k..] (either
    operand's place: the product is symmetric for real operands): x̄ = ȳ·other along the
    axis, summed over the axes where x was broadcast."""
    if is_zero(g):
        return 0.0
    x, other = np.asarray(x), np.asarray(other)
    moved = np.moveaxis(x, axis, -1)
    d = unbroadcast(np.expand_dims(g, -1) * np.moveaxis(other, axis, -1), moved)
    return np.moveaxis(np.broadcast_to(d, moved.shape), -1, axis)


def matvec_grad_matrix(g, v, a):
    """Adjoint of the matrix in y = matvec(a, v), yᵢ = Σⱼ aᵢⱼ·vⱼ: āᵢⱼ = ȳᵢ·vⱼ (batched,
    summed over broadcast batches)."""
    if is_zero(g):
        return 0.0
    g, v = np.asarray(g), np.asarray(v)
    return unbroadcast(g[..., :, None] * v[..., None, :], a)


def matvec_grad_vector(g, a, v):
    """Adjoint of the vector in y = matvec(a, v): v̄ⱼ = Σᵢ ȳᵢ·aᵢⱼ."""
    if is_zero(g):
        return 0.0
    return unbroadcast((np.asarray(g)[..., None, :] @ np.asarray(a))[..., 0, :], v)


def vecmat_grad_vector(g, a, v):
    """Adjoint of the vector in y = vecmat(v, a), yⱼ = Σᵢ vᵢ·aᵢⱼ: v̄ᵢ = Σⱼ aᵢⱼ·ȳⱼ."""
    if is_zero(g):
        return 0.0
    return unbroadcast((np.asarray(a) @ np.asarray(g)[..., :, None])[..., 0], v)


def vecmat_grad_matrix(g, v, a):
    """Adjoint of the matrix in y = vecmat(v, a): āᵢⱼ = vᵢ·ȳⱼ."""
    if is_zero(g):
        return 0.0
    g, v = np.asarray(g), np.asarray(v)
    return unbroadcast(v[..., :, None] * g[..., None, :], a)
