"""A random draw inside a loop (dropout masks, reparametrisation noise, a minibatch's
index) reads nothing the loop changes, yet gives other numbers in every step: it is not
loop-invariant, so the backward step must use the numbers its own forward step drew.
The analysis took it for invariant and left it unsaved: every backward step read the
last step's draw, a silently wrong gradient. Checked against centred finite differences
of the function run from the same seed."""
import numpy as np
from numpy.random import rand, randn
import pytest

import s2sgrad
from s2sgrad.errors import TransformError

from support.numeric import numerical_grad

RNG = np.random.default_rng(0)
RS = np.random.RandomState(0)


def dropout_steps(x):
    s = 0.0
    for i in range(3):
        m = np.random.rand(4)
        s = s + np.sum(np.tanh(x * m))
    return s


def minibatch_index(x):
    s = 0.0
    for i in range(3):
        j = np.random.randint(0, 4)
        s = s + x[j] ** 3
    return s


def scalar_noise(x):
    s = 0.0
    for i in range(3):
        n = np.random.normal(0.0, 1.0)
        s = s + np.sum(np.cos(x * n))
    return s


def generator_draws(x):
    s = 0.0
    for i in range(3):
        m = RNG.random(4)
        s = s + np.sum(np.tanh(x * m))
    return s


def random_state_draws(x):
    s = 0.0
    for i in range(3):
        m = RS.rand(4)
        s = s + np.sum(np.tanh(x * m))
    return s


def nested_draws(x):
    s = 0.0
    for i in range(2):
        if i >= 0:
            for j in range(2):
                e = np.random.randn(4)
                s = s + np.sum(np.sin(x * e))
    return s


def imported_draws(x):
    s = 0.0
    for i in range(3):
        m = rand(4)                  # a bound method of NumPy's global RandomState
        s = s + np.sum(np.tanh(x * m))
    return s


DRAW = np.random.default_rng(0).normal


def draws_by_a_global_alias(x):
    s = 0.0
    for i in range(3):
        s = s + np.sum(np.sin(x * DRAW(size=4)))
    return s


def draws_in_a_generator_expression(x):
    return sum(np.sum(np.sin(x * np.random.randn(4))) for _ in range(3))


def _seed():
    global RNG, DRAW
    np.random.seed(7)
    RS.seed(7)
    RNG = np.random.default_rng(7)
    DRAW = np.random.default_rng(7).normal


def _seeded(f):
    def run(x):
        _seed()
        return f(x)
    return run


CASES = [dropout_steps, minibatch_index, scalar_noise, generator_draws,
         random_state_draws, nested_draws, imported_draws, draws_by_a_global_alias,
         draws_in_a_generator_expression]
X = np.array([0.3, -0.7, 1.1, 0.4])


@pytest.mark.parametrize("optimize", [True, False])
@pytest.mark.parametrize("f", CASES, ids=lambda f: f.__name__)
def test_each_backward_step_uses_its_own_draw(f, optimize):
    _seed()
    got = s2sgrad.grad(f, optimize=optimize)(X.copy())
    want = numerical_grad(_seeded(f), (X.copy(),), 0)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("f", CASES, ids=lambda f: f.__name__)
def test_pullback_and_tangent_agree_with_the_draws(f):
    want = numerical_grad(_seeded(f), (X.copy(),), 0)
    _seed()
    _, pullback = s2sgrad.vjp(f)(X.copy())
    np.testing.assert_allclose(pullback(1.0), want, rtol=1e-6, atol=1e-8)
    _seed()
    _, tangent = s2sgrad.jvp(f)((X.copy(),), (np.ones(4),))
    np.testing.assert_allclose(tangent, np.sum(want), rtol=1e-6, atol=1e-8)


def test_the_draw_is_saved_per_step():
    text = s2sgrad.grad(dropout_steps).source
    assert "saved_m" in text


@s2sgrad.checkpoint
def _noisy_block(x):
    e = randn(3)
    return np.tanh(x * e)


def checkpointed_imported_draw(x):
    return np.sum(_noisy_block(x) ** 2)


def test_an_imported_draw_in_a_checkpointed_function_is_refused():
    # `from numpy.random import randn`: a bound method called by a bare name (it
    # crashed with AttributeError); the checkpoint would draw again in the backward pass
    with pytest.raises(TransformError, match="checkpointed"):
        s2sgrad.grad(checkpointed_imported_draw)(X[:3].copy())
