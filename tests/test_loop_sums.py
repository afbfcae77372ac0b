"""A loop step's full sum (`loss = loss + np.sum(r * r)`): its adjoint is the number s̄
(`optimize.dead.uniform_seeds` inside loop steps), and the shape the step saved for
`unreduce` is no longer saved (`optimize.saves.dead_saves`). Gradients against centred
finite differences; the generated code read for what it no longer does."""
import numpy as np
import pytest

import s2sgrad

from support.numeric import numerical_grad


def path_loss(k, c, x0, obs):
    x, v, loss = x0, 0.0 * x0, 0.0
    for t in range(obs.shape[0]):
        v = v + 0.1 * (-k * x - c * v)
        x = x + 0.1 * v
        r = x - obs[t]
        loss = loss + np.sum(r * r)
    return loss / obs.shape[0]


def broadcast_in_the_step(w, b, X):
    total = 0.0
    for t in range(3):
        h = np.tanh(X * w[t] + b)          # (4, 2) from (4, 2), a number and (2,)
        total = total + np.sum(h * h)
    return total


def sum_of_a_row_in_the_step(W, X):
    total = 0.0
    for t in range(X.shape[0]):
        total = total + np.sum(np.sin(W @ X[t]))
    return total


def value_read_after_the_loop(x, n):
    for i in range(n):
        y = np.cos(x * (i + 1.0))
        x = x + 0.1 * np.sum(y)
    return np.sum(x) + np.sum(y)


def swap_in_a_loop(x, y):
    for i in range(3):
        x, y = y, x * 1.5 + np.sin(y)          # every right side read before the stores
    return np.sum(x * y)


rng = np.random.default_rng(2)
CASES = [
    (path_loss, (rng.normal(size=4), rng.uniform(size=4), rng.normal(size=4),
                 rng.normal(size=(6, 4))), (0, 1, 2)),
    (broadcast_in_the_step, (rng.normal(size=3), rng.normal(size=2), rng.normal(size=(4, 2))),
     (0, 1)),
    (sum_of_a_row_in_the_step, (rng.normal(size=(3, 2)), rng.normal(size=(5, 2))), (0, 1)),
    (value_read_after_the_loop, (rng.normal(size=3), 3), (0,)),
    (swap_in_a_loop, (rng.normal(size=3), rng.normal(size=3)), (0, 1)),
]


@pytest.mark.parametrize("f, args, wrt", CASES, ids=[c[0].__name__ for c in CASES])
@pytest.mark.parametrize("which", ["grad", "value_and_grad", "unoptimized"])
def test_gradient_matches_finite_differences(f, args, wrt, which):
    if which == "value_and_grad":
        value, got = s2sgrad.value_and_grad(f, wrt=wrt)(*args)
        assert value == pytest.approx(f(*args), rel=1e-12)
    else:
        got = s2sgrad.grad(f, wrt=wrt, optimize=which == "grad")(*args)
    for i, g in zip(wrt, got):
        np.testing.assert_allclose(g, numerical_grad(f, args, i), rtol=1e-6, atol=1e-9)


def test_the_step_sum_passes_its_number_and_saves_no_shape():
    g = s2sgrad.grad(path_loss, wrt=(0, 1))
    g(*CASES[0][1])
    assert "unreduce" not in g.source and "ShapeOf" not in g.source
    u = s2sgrad.grad(path_loss, wrt=(0, 1), optimize=False)
    assert "unreduce" in u.source
