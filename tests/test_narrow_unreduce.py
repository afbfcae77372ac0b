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


CASES = [
    (squared_distances, lambda r: (r.standard_normal((3, 2)), r.standard_normal((20, 2)))),
    (mixture, lambda r: (r.standard_normal((3, 2)), r.standard_normal((15, 2)))),
    (sum_then_scaled, lambda r: (r.standard_normal((4, 5)), r.standard_normal(4))),
    (read_twice, lambda r: (r.standard_normal((4, 5)), r.standard_normal(5))),
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
    g(*CASES[0][1](np.random.default_rng(5)))
    assert "np.expand_dims(D2_bar, 2)" in g.source and "unreduce(D2_bar" not in g.source
