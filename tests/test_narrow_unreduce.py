"""`optimize.kinds._narrow_unreduces`: the adjoint of a sum over an axis, read once as
a factor of a product with a factor of the summed array's full shape, is the reduced
adjoint with an axis added (`np.expand_dims`): the product broadcasts it. Gradients
against centred finite differences (optimized and not), and where it applies."""
import numpy as np
import pytest

import s2sgrad

from support.numeric import numerical_grad


def squared_distances(C, X):
    D2 = np.sum((X[:, None, :] - C[None, :, :]) ** 2, axis=2)
    return np.mean(np.min(D2, axis=1))


def mixture(mu, X):
    D2 = np.sum((X[:, None, :] - mu[None, :, :]) ** 2, axis=2)
    m = np.max(-D2, axis=1, keepdims=True)
    return -np.sum(m[:, 0] + np.log(np.sum(np.exp(-D2 - m), axis=1)))


def sum_then_scaled(A, w):
    s = np.sum(np.sin(A), axis=1)          # the adjoint of sin(A): s_bar broadcast * cos
    return np.sum(s * w)


def read_twice(A, w):
    s = np.sum(A * A, axis=0)
    return np.sum(s * w) + np.sum(np.sum(A, axis=0) * w)


def softmax_xent(W, X):
    z = X @ W
    z = z - np.max(z, axis=1, keepdims=True)
    logp = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))
    return -np.sum(logp[:, 0])


def attention_rows(Wq, X):
    S = (X @ Wq) @ X.T
    E = np.exp(S - np.max(S, axis=1, keepdims=True))
    P = E / np.sum(E, axis=1, keepdims=True)
    return np.sum(P * np.cos(S))


def normaliser_beside_a_row(A, v):
    s = np.sum(A, axis=1, keepdims=True)          # (n, 1) beside a (1, m) row: no
    return np.sum(np.log(s + v[None, :]))          # operand has A's full shape


def pair_potential(x, w):
    d = x[:, None, :] - x[None, :, :]
    r2 = np.sum(d ** 2, axis=-1) + np.eye(x.shape[0])   # (a negative axis)
    return np.sum(w / np.sqrt(r2))


CASES = [
    (pair_potential, lambda r: (r.standard_normal((6, 3)), r.standard_normal((6, 6)))),
    (squared_distances, lambda r: (r.standard_normal((3, 2)), r.standard_normal((20, 2)))),
    (mixture, lambda r: (r.standard_normal((3, 2)), r.standard_normal((15, 2)))),
    (sum_then_scaled, lambda r: (r.standard_normal((4, 5)), r.standard_normal(4))),
    (read_twice, lambda r: (r.standard_normal((4, 5)), r.standard_normal(5))),
    (softmax_xent, lambda r: (r.standard_normal((3, 4)), r.standard_normal((6, 3)))),
    (attention_rows, lambda r: (0.3 * r.standard_normal((3, 3)), r.standard_normal((5, 3)))),
    (normaliser_beside_a_row, lambda r: (r.uniform(1, 2, (4, 5)), r.uniform(1, 2, 5))),
]


@pytest.mark.parametrize("optimize", [True, False])
@pytest.mark.parametrize("f, make", CASES, ids=[c[0].__name__ for c in CASES])
def test_against_finite_differences(f, make, optimize):
    args = make(np.random.default_rng(5))
    got = s2sgrad.grad(f, wrt=(0, 1), optimize=optimize)(*args)
    for g, e in zip(got, numerical_grad(f, args, (0, 1))):
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-8)


def test_squared_distances_use_the_reduced_adjoint():
    g = s2sgrad.grad(squared_distances, wrt=(0, 1))
    g(*CASES[1][1](np.random.default_rng(5)))
    assert "np.expand_dims(D2_bar, 2)" in g.source and "unreduce(D2_bar" not in g.source


def test_a_negative_axis_is_an_axis():
    g = s2sgrad.grad(pair_potential, wrt=(0, 1))
    g(*CASES[0][1](np.random.default_rng(5)))
    assert "np.expand_dims(r2_bar, -1)" in g.source and "unreduce(" not in g.source


def test_kept_dims_are_read_as_they_are():
    """With keepdims the reduced adjoint broadcasts as it is: no unreduce left, in a
    statement of its own (softmax) or inside an addition (the normaliser of a softmax
    added to the adjoint of its numerator)."""
    make = dict((c[0], c[1]) for c in CASES)
    for f in (softmax_xent, attention_rows):
        g = s2sgrad.grad(f, wrt=(0, 1))
        g(*make[f](np.random.default_rng(5)))
        assert "unreduce(" not in g.source, g.source


def test_kept_dims_beside_no_full_operand_stay():
    g = s2sgrad.grad(normaliser_beside_a_row, wrt=(0, 1))
    g(*CASES[-1][1](np.random.default_rng(5)))
    assert "unreduce(" in g.source
