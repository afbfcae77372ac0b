"""Methods of a NamedTuple or @dataclass of parameters (`params.predict(x)`, a
`__call__`, a method calling another), the JAX/flax style of a model that is its
parameters: refused before ("no adjoint for the method `.predict()`"). A method is a
function of the record's fields, specialized on the record's class like the methods of
any class of the user's. And `jvp` dropped the tangent of a @dataclass argument (a zero
derivative, silently); a tangent for an argument jvp does not differentiate (an
integer, an object of another class) is refused instead of dropped."""
import dataclasses
from typing import NamedTuple

import numpy as np
import pytest

import s2sgrad

X = np.array([0.5, -1.0, 2.0])


@dataclasses.dataclass
class Linear:
    w: np.ndarray
    b: float

    def __call__(self, x):
        return np.tanh(self.w * x + self.b)

    def predict(self, x):
        return self.w * x + self.b

    def loss(self, x):
        return np.sum(self(x) ** 2) + np.sum(self.predict(x) ** 2)


class Affine(NamedTuple):
    w: np.ndarray
    b: float

    def predict(self, x):
        return self.w @ x + self.b


def affine_loss(p, x):
    return p.predict(x) ** 2 + np.sin(p.b)


M = Linear(np.array([0.1, 0.2, 0.3]), 0.5)
A = Affine(np.array([1.0, -0.5, 0.25]), 0.5)


def _fd(f, rec, x, h=1e-6):
    gw = np.zeros(3)
    for i in range(3):
        e = np.zeros(3)
        e[i] = h
        gw[i] = (f(rec._replace(w=rec.w + e) if isinstance(rec, tuple) else
                   dataclasses.replace(rec, w=rec.w + e), x)
                 - f(rec._replace(w=rec.w - e) if isinstance(rec, tuple) else
                     dataclasses.replace(rec, w=rec.w - e), x)) / (2 * h)
    shift = (lambda r, d: r._replace(b=r.b + d)) if isinstance(rec, tuple) else \
        (lambda r, d: dataclasses.replace(r, b=r.b + d))
    gb = (f(shift(rec, h), x) - f(shift(rec, -h), x)) / (2 * h)
    return gw, gb


@pytest.mark.parametrize("f, rec", [(Linear.loss, M), (affine_loss, A)])
def test_grad_and_vjp(f, rec):
    gw, gb = _fd(f, rec, X)
    g = s2sgrad.grad(f)(rec, X)
    assert type(g) is type(rec)
    np.testing.assert_allclose(g.w, gw, rtol=1e-6)
    assert g.b == pytest.approx(gb, rel=1e-6)
    _, pull = s2sgrad.vjp(f)(rec, X)
    np.testing.assert_allclose(pull(1.0).w, gw, rtol=1e-6)


@pytest.mark.parametrize("f, rec", [(Linear.loss, M), (affine_loss, A)])
def test_jvp_along_the_record(f, rec):
    gw, gb = _fd(f, rec, X)
    t = type(rec)(np.array([1.0, 0.5, -2.0]), 0.75)
    _, d = s2sgrad.jvp(f)((rec, X), (t, np.zeros(3)))
    assert d == pytest.approx(np.dot(gw, t.w) + gb * t.b, rel=1e-6)


def test_jvp_of_a_dataclass_without_methods():
    def f(p, x):
        return np.sum(np.tanh(p.w * x + p.b) ** 2)
    gw, gb = _fd(f, M, X)
    _, d = s2sgrad.jvp(f)((M, X), (Linear(np.ones(3), 0.0), np.zeros(3)))
    assert d == pytest.approx(np.sum(gw), rel=1e-6)
    _, d = s2sgrad.jvp(f)((M, X), ({"w": np.zeros(3), "b": 1.0}, np.zeros(3)))
    assert d == pytest.approx(gb, rel=1e-6)


def test_a_tangent_jvp_would_drop_is_refused():
    with pytest.raises(s2sgrad.GradientError, match="integer"):
        s2sgrad.jvp(lambda x: x ** 2)((2,), (1.0,))

    class Plain:
        def __init__(self, w):
            self.w = w

    with pytest.raises(s2sgrad.GradientError, match="Plain object"):
        s2sgrad.jvp(lambda o, x: np.sum(o.w * x))((Plain(np.ones(3)), X),
                                                  (Plain(np.ones(3)), np.zeros(3)))
    # a zero tangent (or None) for such an argument is fine
    _, d = s2sgrad.jvp(lambda n, x: np.sum(x ** n))((2, X), (0.0, np.ones(3)))
    assert d == pytest.approx(np.sum(2 * X))


@dataclasses.dataclass
class Plain2:
    w: np.ndarray
    b: float


def plain_loss(p, x):
    return np.sum(np.tanh(p.w * x + p.b) ** 2)


@pytest.mark.parametrize("f, rec", [(Linear.loss, M), (affine_loss, A),
                                    (plain_loss, Plain2(M.w, M.b))])
def test_hvp_along_the_record(f, rec):
    # the dataclass's product came back zero (its gradient's grad_like applied twice),
    # the NamedTuple's crashed (zero_grad rebuilt it from one generator)
    v = type(rec)(np.array([1.0, 0.5, -2.0]), 0.75)
    hv = s2sgrad.hvp(f)(rec, X, v)
    g, h = s2sgrad.grad(f), 1e-6
    plus = g(type(rec)(rec.w + h * v.w, rec.b + h * v.b), X)
    minus = g(type(rec)(rec.w - h * v.w, rec.b - h * v.b), X)
    assert type(hv) is type(rec)
    np.testing.assert_allclose(hv.w, (plus.w - minus.w) / (2 * h), atol=1e-5)
    assert hv.b == pytest.approx((plus.b - minus.b) / (2 * h), abs=1e-5)
