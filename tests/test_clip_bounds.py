"""np.clip's bounds carry gradients too (a learned floor or ceiling: `np.clip(x, lo,
hi)` with lo a parameter), and NumPy 2's `min=`/`max=` keywords name them (`x.clip(min=
0.0)`). Where the lower bound is above the upper, the upper wins, as in NumPy. Every
gradient, tangent and Hessian-vector product against centred finite differences."""
import numpy as np
import pytest

import s2sgrad

from support.numeric import assert_grad_matches, assert_value_and_grad_matches

X = np.array([0.1, 0.5, 2.0, -1.0, 0.35])


def learned_floor(x, lo):
    return np.sum(np.clip(x, lo, 1.0) ** 2)


def method_floor_only(x, lo):
    return np.sum(x.clip(lo * 0.5, None) ** 2)


def keywords(x, lo):
    return np.sum(x.clip(min=lo, max=0.9) * np.arange(1.0, 6.0))


def crossed_bounds(x, lo):
    return np.sum(np.clip(x, lo, lo - 0.1) ** 2)


def array_bounds(x, lo):
    return np.sum(np.clip(x, lo * np.linspace(-1.0, 1.0, 5), 0.7 + lo) ** 3)


def ceiling_keyword(x, hi):
    return np.sum(np.clip(x, min=-0.5, max=hi) * x)


@pytest.mark.parametrize("f", [learned_floor, method_floor_only, keywords, crossed_bounds,
                               array_bounds, ceiling_keyword])
def test_gradients_of_clip_and_its_bounds(f):
    assert_grad_matches(f, X, 0.3, wrt=(0, 1))
    assert_value_and_grad_matches(f, X, 0.3, wrt=(0, 1))


def test_tangent_and_hvp_through_the_bounds():
    v = np.array([0.2, -0.1, 0.3, 0.05, -0.4])
    value, tangent = s2sgrad.jvp(keywords)((X, 0.3), (v, 0.5))
    h = 1e-6
    expected = (keywords(X + h * v, 0.3 + 0.5 * h) - keywords(X - h * v, 0.3 - 0.5 * h)) / (2 * h)
    assert value == pytest.approx(keywords(X, 0.3), rel=1e-12)
    assert tangent == pytest.approx(expected, rel=1e-6)
    g = s2sgrad.grad(learned_floor)
    hv = s2sgrad.hvp(learned_floor)(X, 0.3, v)
    np.testing.assert_allclose(hv, (g(X + 1e-5 * v, 0.3) - g(X - 1e-5 * v, 0.3)) / 2e-5,
                               rtol=1e-5, atol=1e-8)


def test_the_usual_clip_reads_as_before():
    g = s2sgrad.grad(lambda_free_clip)
    g(X)
    assert "choose_grad(" in g.source and "(x >= 0.2) & (x <= 0.8)" in g.source


def lambda_free_clip(x):
    return np.sum(np.clip(x, 0.2, 0.8) ** 2)
