"""NumPy calls written with the functions they stand for before they are traced
(`normalize._library_spelling`): `np.sum(x, initial=c)` is `np.sum(x) + c` (np.prod's
`* c`), `np.linalg.multi_dot([A, B, C])` is `A @ B @ C`, `np.diagflat(v, k)` is
`np.diag(np.ravel(v), k)`. Gradients against centred finite differences."""
import numpy as np
import pytest
from numpy.linalg import multi_dot

import s2sgrad

from support.numeric import numerical_grad

RNG = np.random.default_rng(31)


def sum_with_initial(x):
    return np.sum(np.sum(x ** 2, axis=0, initial=1.5)) + np.prod(x[0], initial=2.0)


def initial_from_the_input(x):
    return np.sum(np.exp(x), initial=x[0] ** 2)


def chained_products(A, B, v):
    return np.sum(np.linalg.multi_dot([A, B, v]) ** 2) + np.sum(multi_dot((A, B)))


def diagonal_matrices(v):
    return np.sum(np.diagflat(v) @ np.ones((3, 3))) + np.sum(np.diagflat(v, k=1) ** 2)


CASES = [
    (sum_with_initial, lambda: (RNG.standard_normal((3, 2)),), 0),
    (initial_from_the_input, lambda: (RNG.standard_normal(4),), 0),
    (chained_products, lambda: (RNG.standard_normal((2, 3)), RNG.standard_normal((3, 4)),
                                RNG.standard_normal(4)), (0, 1, 2)),
    (diagonal_matrices, lambda: (RNG.standard_normal(3),), 0),
]


@pytest.mark.parametrize("f, make, wrt", CASES, ids=[c[0].__name__ for c in CASES])
def test_gradients_match_finite_differences(f, make, wrt):
    args = make()
    got = s2sgrad.grad(f, wrt=wrt)(*args)
    want = numerical_grad(f, args, wrt)
    for g, e in zip(got if isinstance(wrt, tuple) else (got,),
                    want if isinstance(wrt, tuple) else (want,)):
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-8)


def test_values_are_numpy_s():
    x = RNG.standard_normal((3, 2))
    vg = s2sgrad.value_and_grad(sum_with_initial)
    np.testing.assert_allclose(vg(x)[0], sum_with_initial(x), rtol=1e-14)


def test_a_where_mask_beside_initial_is_still_refused():
    def masked(x):
        return np.sum(x, initial=1.0, where=x > 0)
    with pytest.raises(s2sgrad.TransformError):
        s2sgrad.grad(masked)(RNG.standard_normal(3))
