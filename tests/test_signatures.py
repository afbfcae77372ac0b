"""Signatures of modern Python: keyword-only parameters (`def loss(w, *, X, y, lam=0.1)`)
and positional-only ones (`def f(w, X, /, y)`), in the differentiated function and in
the helpers it calls; `wrt` names a keyword-only parameter. Gradients are checked
against centered finite differences; the combinations s2sgrad does not compile (a
keyword-only parameter without a default after defaulted positional ones, keyword-only
parameters beside `*args`) are refused at the definition.
"""
import functools

import numpy as np
import pytest

import s2sgrad
from s2sgrad import TransformError

from support.numeric import numerical_grad

RNG = np.random.default_rng(5)
X = RNG.normal(size=(6, 3))
Y = RNG.normal(size=6)
W = RNG.normal(size=3)


def keyword_only(w, *, X, y, lam=0.1):
    return np.sum((X @ w - y) ** 2) + lam * np.sum(w ** 2)


def keyword_only_reordered(w, *, lam=0.3, X, y):     # a required one after a defaulted one
    return np.sum(np.tanh(X @ w) * y) + lam * np.sum(w ** 4)


def positional_only(w, X, /, y, scale=2.0):
    return scale * np.sum((X @ w - y) ** 2)


def _penalty(w, *, power=2, scale=1.0):
    return scale * np.sum(np.abs(w) ** power)


def calls_a_keyword_only_helper(w, X):
    return np.sum(np.sin(X @ w)) + _penalty(w, power=3, scale=0.5) + _penalty(w)


def _fd(f, w, **kwargs):
    return numerical_grad(lambda v: f(v, **kwargs), (w,), 0)


def test_keyword_only_parameters():
    got = s2sgrad.grad(keyword_only)(W.copy(), X=X, y=Y)
    np.testing.assert_allclose(got, _fd(keyword_only, W, X=X, y=Y), rtol=1e-6)
    got = s2sgrad.grad(keyword_only)(W.copy(), X=X, y=Y, lam=2.5)
    np.testing.assert_allclose(got, _fd(keyword_only, W, X=X, y=Y, lam=2.5), rtol=1e-6)
    got = s2sgrad.grad(keyword_only_reordered)(W.copy(), y=Y, X=X)
    np.testing.assert_allclose(got, _fd(keyword_only_reordered, W, X=X, y=Y), rtol=1e-6)


def test_wrt_names_a_keyword_only_parameter():
    got = s2sgrad.grad(keyword_only, wrt="lam")(W.copy(), X=X, y=Y, lam=0.7)
    assert got == pytest.approx(np.sum(W ** 2))
    dw, dy = s2sgrad.grad(keyword_only, wrt=("w", "y"))(W.copy(), X=X, y=Y.copy())
    np.testing.assert_allclose(dw, _fd(keyword_only, W, X=X, y=Y), rtol=1e-6)
    np.testing.assert_allclose(dy, -2.0 * (X @ W - Y), rtol=1e-6)


def test_value_and_grad_and_a_partial_fixing_the_data():
    value, got = s2sgrad.value_and_grad(keyword_only)(W.copy(), X=X, y=Y)
    assert value == keyword_only(W, X=X, y=Y)
    np.testing.assert_allclose(got, _fd(keyword_only, W, X=X, y=Y), rtol=1e-6)
    fixed = functools.partial(keyword_only, X=X, y=Y, lam=0.2)
    np.testing.assert_allclose(s2sgrad.grad(fixed)(W.copy()),
                               _fd(keyword_only, W, X=X, y=Y, lam=0.2), rtol=1e-6)


def test_positional_only_parameters():
    got = s2sgrad.grad(positional_only)(W.copy(), X, Y)
    np.testing.assert_allclose(got, numerical_grad(positional_only, (W.copy(), X, Y), 0),
                               rtol=1e-6)
    got = s2sgrad.grad(positional_only, wrt=3)(W.copy(), X, Y, 1.5)
    assert got == pytest.approx(np.sum((X @ W - Y) ** 2))


def test_a_helper_with_keyword_only_parameters():
    got = s2sgrad.grad(calls_a_keyword_only_helper)(W.copy(), X)
    np.testing.assert_allclose(
        got, numerical_grad(calls_a_keyword_only_helper, (W.copy(), X), 0), rtol=1e-6)


def required_after_defaults(w, lam=0.1, *, X):
    return lam * np.sum(X @ w)


def keyword_only_beside_star_args(w, *extra, scale=1.0):
    return scale * np.sum(w) + sum(extra)


@pytest.mark.parametrize("f, what", [(required_after_defaults, "positional parameters "
                                      "with defaults"),
                                     (keyword_only_beside_star_args, r"`\*args`")])
def test_combinations_not_compiled_are_refused_at_the_definition(f, what):
    with pytest.raises(TransformError, match=what) as info:
        s2sgrad.grad(f)(W.copy(), X=X) if f is required_after_defaults \
            else s2sgrad.grad(f)(W.copy(), 1.0)
    assert info.value.lineno == f.__code__.co_firstlineno
