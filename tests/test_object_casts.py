"""A cast to `dtype=object` (`np.array([a, b], dtype=object)`, `x.astype(object)`, a
store into an object array) holds the numbers as they are, but was taken for a cast to
integers: no gradient, silently. It passes the gradient now; a cast to a complex dtype
is refused (GradientError), as every complex value meeting the input is."""
import numpy as np
import pytest

import s2sgrad

X = np.array([0.3, -1.2, 0.8, 1.7])


def display_of_objects(v):
    return float(np.array([v[0], 1.0], dtype=object).sum()) * v[1]


def object_array_math(v):
    return np.sum(np.array([v[0], v[1] ** 2], dtype=object) * 2.0)


def astype_object(v):
    return np.sum(v.astype(object) ** 2)


def asarray_object(v):
    return np.sum(np.asarray(v, dtype="O") * v)


def store_into_object_array(v):
    y = np.empty(2, dtype=object)
    y[0] = v[0] * 2
    y[1] = v[1]
    return float(np.sum(y * y))


def into_complex(v):
    y = np.zeros(2, dtype=complex)
    y[0] = v[0]
    return float(np.sum(y.real))


@pytest.mark.parametrize("f", [display_of_objects, object_array_math, astype_object,
                               asarray_object, store_into_object_array])
def test_matches_finite_differences(f):
    np.testing.assert_allclose(s2sgrad.grad(f)(X), s2sgrad.numerical_grad(f, (X,), 0),
                               rtol=1e-6, atol=1e-9)
    t = np.array([0.5, -1.0, 2.0, 0.25])
    _, d = s2sgrad.jvp(f)((X,), (t,))
    assert d == pytest.approx((f(X + 1e-6 * t) - f(X - 1e-6 * t)) / 2e-6, rel=1e-6)


def test_complex_casts_are_refused():
    def cast(v):
        return np.sum(np.array([v[0], v[1]], dtype=complex).real)
    for f in (into_complex, cast):
        with pytest.raises(s2sgrad.GradientError, match="real-valued"):
            s2sgrad.grad(f)(X)
