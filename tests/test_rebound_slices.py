"""`w = w[::-1]` / `weights = weights[:, n:]` in a loop: the adjoint of the slice reads
w's adjoint and writes a new one. The optimizer wrote it as `w_bar = np.zeros_like(w);
w_bar[::-1] = w_bar`, which read the new zeros: a silently wrong gradient (zero for the
later steps' terms) where the slice keeps the shape, a broadcast ValueError where it
does not (a flat parameter vector consumed layer by layer)."""
import numpy as np
import pytest

import s2sgrad

W = np.array([0.3, -1.0, 2.0, 0.5])
RS = np.random.RandomState(4)


def reversed_each_step(w):
    out = 0.0
    for k in range(3):
        out = out + np.sum(w * np.arange(4.0)) * (k + 1)
        w = w[::-1]
    return out


def rows_dropped(m):
    for k in range(2):
        m = m[:, ::-1] * 2.0
        m = m[1:]
    return np.sum(m * np.arange(3.0))


def layers_from_a_flat_matrix(weights):
    out = 0.0
    for n in (3, 2):
        w = weights[:, :n]
        weights = weights[:, n:]
        out = out + np.sum(np.tanh(w) ** 2) * n
    return out


@pytest.mark.parametrize("f, x", [
    (reversed_each_step, W),
    (rows_dropped, np.arange(9.0).reshape(3, 3) / 7),
    (layers_from_a_flat_matrix, RS.randn(2, 6)),
])
def test_matches_finite_differences(f, x):
    np.testing.assert_allclose(s2sgrad.grad(f)(x), s2sgrad.numerical_grad(f, (x,), 0),
                               rtol=1e-6, atol=1e-8)


def test_closed_form():
    # the terms see w, w[::-1], w: weights 1 + 3 on arange, 2 on its reverse
    np.testing.assert_allclose(s2sgrad.grad(reversed_each_step)(W),
                               4 * np.arange(4.0) + 2 * np.arange(4.0)[::-1])
