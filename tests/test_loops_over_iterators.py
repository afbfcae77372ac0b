"""`for` loops (and comprehensions) over iterators without len() or indexing —
`np.ndindex(shape)`, `itertools.product(...)`, `itertools.combinations(...)` — crashed
with "object of type 'ndindex' has no len()": they iterate over the list of what the
iterator yields. An iterator of values that carry a gradient stays refused."""
import itertools

import numpy as np
import pytest

import s2sgrad

A = np.arange(6.0).reshape(2, 3) / 5


def over_ndindex(a):
    s = 0.0
    for i, j in np.ndindex(a.shape):
        s += a[i, j] ** 2 * (i + j)
    return s


def comprehension_over_ndindex(a):
    return sum(a[i, j] ** 3 for i, j in np.ndindex(a.shape))


def over_product(a):
    s = 0.0
    for i, j in itertools.product(range(2), range(3)):
        s += np.sin(a[i, j]) * (i + 1)
    return s


def over_combinations(a):
    s = 0.0
    for i, j in itertools.combinations(range(3), 2):
        s += a[0, i] * a[1, j]
    return s


@pytest.mark.parametrize("f", [over_ndindex, comprehension_over_ndindex, over_product,
                               over_combinations])
def test_matches_finite_differences(f):
    np.testing.assert_allclose(s2sgrad.grad(f)(A), s2sgrad.numerical_grad(f, (A,), 0),
                               rtol=1e-6, atol=1e-9)
    t = np.ones_like(A)
    _, d = s2sgrad.jvp(f)((A,), (t,))
    assert abs(d - (f(A + 1e-6 * t) - f(A - 1e-6 * t)) / 2e-6) < 1e-5


def test_an_iterator_of_active_values_is_refused():
    def f(a):
        s = 0.0
        for p, q in itertools.product(a[0], a[1]):
            s += p * q
        return s
    with pytest.raises(s2sgrad.TransformError, match="itertools.product"):
        s2sgrad.grad(f)(A)
