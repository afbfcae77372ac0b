"""hvp (forward over reverse) where a tuple result's adjoint has a slot whose tangent is
zero: the slot's tangent is zeros of the slot's shape, not the scalar 0.0 that the
helper differentiating the tuple's function could not multiply by a matrix."""
import numpy as np

import s2sgrad

M = np.random.default_rng(3).standard_normal((3, 3))


def _fd_hvp(f, x, v, h=1e-5):
    g = s2sgrad.grad(f)
    return (g(x + h * v) - g(x - h * v)) / (2 * h)


def test_eigh_vectors_read_with_a_constant_adjoint():
    # V's adjoint is an array whose tangent is zero (abs(...) * 0): eigh_grad's own
    # tangent code multiplied a matrix by the 0.0 of V's slot
    def f(a):
        w, V = np.linalg.eigh(a + a.T)
        return np.sum(w ** 3) + np.sum(np.abs(V[:, 0]) * 0)

    v = np.arange(9.0).reshape(3, 3) / 9
    hv = s2sgrad.hvp(f)(M, v)
    assert np.allclose(hv, _fd_hvp(f, M, v), atol=1e-6)


def test_eigh_vectors_through_sign():
    def f(a):
        w, V = np.linalg.eigh(a @ a.T)
        return np.sum(np.sin(w)) + np.sum(np.sign(V[0]) * 2.0)

    v = np.ones((3, 3))
    hv = s2sgrad.hvp(f)(M, v)
    assert np.allclose(hv, _fd_hvp(f, M, v), atol=1e-6)
