"""NamedTuple and @dataclass parameters whose fields are arrays and plain numbers are
compiled knowing the fields' shapes (`pipeline.RecordKind`), as dicts of arrays are:
`params.W` has known dims and the adjoints are NumPy, not the generic helpers. Methods
of the record still resolve. Checked against centred finite differences; a record
with other fields (a 0-d array, a dict) or passed on whole keeps the generic code and
the right gradient."""
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pytest

import s2sgrad

R = np.random.default_rng(47)


@dataclass
class Dense:
    W: np.ndarray
    b: np.ndarray
    scale: float = 1.0

    def predict(self, X):
        return np.tanh(X @ self.W + self.b) * self.scale


class Pair(NamedTuple):
    W: np.ndarray
    v: np.ndarray


def logistic(p, X, y):
    z = X @ p.W + p.b
    return np.mean(np.logaddexp(0.0, -y * z)) * p.scale


def two_layers(p, X):
    return np.sum((np.tanh(X @ p.W) @ p.v) ** 2)


def with_method(p, X):
    return np.sum(p.predict(X) ** 2)


def passed_on(p, X):
    return _helper(p, X)


def _helper(p, X):
    return np.sum(np.sin(X @ p.W + p.b))


def record_differences(f, rec, *rest, eps=1e-6):
    """Centred differences of f with respect to each float field of `rec`."""
    out = {}
    for name in (rec._fields if isinstance(rec, tuple) else rec.__dataclass_fields__):
        value = getattr(rec, name)
        if isinstance(value, float):
            up, down = _replace(rec, name, value + eps), _replace(rec, name, value - eps)
            out[name] = (f(up, *rest) - f(down, *rest)) / (2 * eps)
            continue
        g = np.zeros_like(value, dtype=float)
        for k in range(value.size):
            a, b = value.copy(), value.copy()
            a.flat[k] += eps
            b.flat[k] -= eps
            g.flat[k] = (f(_replace(rec, name, a), *rest)
                         - f(_replace(rec, name, b), *rest)) / (2 * eps)
        out[name] = g
    return out


def _replace(rec, name, value):
    if isinstance(rec, tuple):
        return rec._replace(**{name: value})
    import dataclasses
    return dataclasses.replace(rec, **{name: value})


def check(f, rec, *rest):
    got = s2sgrad.grad(f)(rec, *rest)
    want = record_differences(f, rec, *rest)
    for name, w in want.items():
        np.testing.assert_allclose(getattr(got, name), w, rtol=1e-6, atol=1e-8)
    return got


X = R.standard_normal((6, 4))
Y = np.sign(R.standard_normal(6))


@pytest.mark.parametrize("f, rec, rest", [
    (logistic, Dense(R.standard_normal(4), 0.3, 1.5), (X, Y)),
    (two_layers, Pair(R.standard_normal((4, 3)), R.standard_normal(3)), (X,)),
    (with_method, Dense(R.standard_normal((4, 2)), R.standard_normal(2), 0.7), (X,)),
    (passed_on, Dense(R.standard_normal(4), 0.2), (X,)),
    (logistic, Dense(R.standard_normal(4), np.array(0.3), 1.5), (X, Y)),   # (a 0-d field)
], ids=["dataclass", "namedtuple", "method", "passed_on", "zero_d_field"])
def test_gradients(f, rec, rest):
    check(f, rec, *rest)


@pytest.mark.parametrize("f, rec, rest", [
    (logistic, Dense(R.standard_normal(4), 0.3, 1.5), (X, Y)),
    (two_layers, Pair(R.standard_normal((4, 3)), R.standard_normal(3)), (X,)),
], ids=["dataclass", "namedtuple"])
def test_fields_have_known_shapes(f, rec, rest):
    g = s2sgrad.grad(f)
    g(rec, *rest)
    for helper in ("unbroadcast(", "matmul_left(", "matmul_right(", "count_reduced("):
        assert helper not in g.source, g.source


def test_other_shapes_compile_anew():
    g = s2sgrad.grad(two_layers)
    for n in (3, 5):
        rec = Pair(R.standard_normal((4, n)), R.standard_normal(n))
        got = g(rec, X)
        assert got.W.shape == (4, n)
        np.testing.assert_allclose(got.v, record_differences(two_layers, rec, X)["v"],
                                   rtol=1e-6, atol=1e-8)
