"""Batched pullbacks (`pullback(cts, batched=True)`, reverse-mode `jacobian`) through a
call with no batching rule that reads a tuple's adjoint — `eigh_grad` of `w, V =
np.linalg.eigh(a)` — ran the call once per example as `g[k]`: of the adjoint list
[w̄ (batched), 0.0] that took its k-th item, not example k. Example 0 got every w̄,
example 1 a zero: a silently wrong gradient (for batches no longer than the tuple; a
longer one raised IndexError and fell back to a loop over the whole function)."""
import numpy as np

import s2sgrad

M = np.random.RandomState(7).randn(3, 3)
CT = np.array([1.0, -0.5, 2.0])


def eigenvalues(m):
    return np.linalg.eigh(m + m.T)[0]


def first_vector(m):
    w, V = np.linalg.eigh(m @ m.T + np.eye(3))
    return V[:, 0] * np.sign(V[0, 0]) + w


def _fd_vjp(f, x, ct, h=1e-6):
    out = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[idx] = h
        out[idx] = (np.sum(f(x + e) * ct) - np.sum(f(x - e) * ct)) / (2 * h)
    return out


def test_batched_pullback_is_the_stack_of_pullbacks():
    for f in (eigenvalues, first_vector):
        _, pull = s2sgrad.vjp(f)(M)
        cts = np.stack([CT, 2 * CT])
        batched = pull(cts, batched=True)
        for k in range(2):
            np.testing.assert_allclose(batched[k], pull(cts[k]), rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(batched[k], _fd_vjp(f, M, cts[k]), rtol=1e-5,
                                       atol=1e-7)


def test_reverse_mode_jacobian():
    def vector_of_2x2(m):
        w, V = np.linalg.eigh(m @ m.T + np.eye(2))
        return V[:, 0] * np.sign(V[0, 0]) * 3.0
    m = M[:2, :2]
    J = s2sgrad.jacobian(vector_of_2x2, mode="reverse")(m)
    for i in range(2):
        e = np.zeros(2)
        e[i] = 1.0
        np.testing.assert_allclose(J[i], _fd_vjp(vector_of_2x2, m, e), rtol=1e-5, atol=1e-7)
