"""`optimize.seeds.fold_loop_seeds`: a backward loop whose only incoming adjoint is an
unchanging number runs with 1.0 for it, and the adjoints it leaves are multiplied by it
once. Gradients against centred finite differences (optimized and not), and what the
generated code does."""
import math

import numpy as np
import pytest

import s2sgrad

from support.numeric import numerical_grad


def scalar_sum(a, b, xs, ys):
    loss = 0.0
    for i in range(len(xs)):
        r = a * xs[i] + b - ys[i]
        loss = loss + math.log1p(math.exp(r)) + 0.1 * r * r
    return loss / len(xs)


def array_steps(w, X):
    total = 0.0
    for t in range(X.shape[0]):
        total = total + np.sum(np.tanh(X[t] * w) ** 2)
    return 3.0 * total


def carried_state(w, xs):
    h = 0.5
    loss = 0.0
    for x in xs:
        h = math.tanh(w * h + x)
        loss = loss + h * h
    return loss * 2.0


def carried_from_the_output(w, xs):
    h = 0.5
    loss = 0.0
    for x in xs:
        h = math.tanh(w * h + x)
        loss = loss + h * h
    return loss * 2.0 + 3.0 * h        # h_bar is not zero when the loop starts


def two_losses(a, xs):
    s = 0.0
    for x in xs:
        s = s + a * x
    return s * s + s                  # the loop's seed: 2s + 1, a number


def array_seed(w, X):
    acc = np.zeros(X.shape[1])
    for t in range(X.shape[0]):
        acc = acc + np.sin(X[t] * w)
    return np.sum(acc * np.arange(X.shape[1]))   # the loop's incoming adjoint: an array


def list_adjoint(ws, xs):
    loss = 0.0
    for i in range(len(xs)):
        loss = loss + ws[i] * xs[i] ** 2
    return 2.0 * loss


def _xs(n=7, seed=0):
    rng = np.random.default_rng(seed)
    return [float(v) for v in rng.uniform(-1.5, 1.5, n)]


CASES = [
    (scalar_sum, lambda: (1.3, 0.2, _xs(), _xs(seed=1)), (0, 1)),
    (array_steps, lambda: (np.linspace(0.2, 0.9, 4),
                           np.random.default_rng(2).standard_normal((5, 4))), 0),
    (carried_state, lambda: (0.7, _xs(5)), 0),
    (carried_from_the_output, lambda: (0.7, _xs(5)), 0),
    (two_losses, lambda: (0.4, _xs(6)), 0),
    (array_seed, lambda: (np.linspace(0.2, 0.9, 3),
                          np.random.default_rng(3).standard_normal((4, 3))), 0),
]


@pytest.mark.parametrize("optimize", [True, False])
@pytest.mark.parametrize("f, make, wrt", CASES, ids=[c[0].__name__ for c in CASES])
def test_against_finite_differences(f, make, wrt, optimize):
    args = make()
    for make_grad in (s2sgrad.grad, s2sgrad.value_and_grad):
        out = make_grad(f, wrt=wrt, optimize=optimize)(*args)
        got = out[1] if make_grad is s2sgrad.value_and_grad else out
        if make_grad is s2sgrad.value_and_grad:
            assert np.isclose(out[0], f(*args), rtol=1e-12)
        expected = numerical_grad(f, args, wrt)
        got = got if isinstance(wrt, tuple) else (got,)
        expected = expected if isinstance(wrt, tuple) else (expected,)
        for g, e in zip(got, expected):
            np.testing.assert_allclose(np.asarray(g, dtype=float), np.asarray(e, dtype=float),
                                       rtol=1e-6, atol=1e-8)


def _code(f, wrt):
    g = s2sgrad.grad(f, wrt=wrt)
    make = next(m for c, m, _ in CASES if c is f)
    g(*make())                          # the code for these kinds of arguments
    return "\n".join(line for line in g.source.splitlines()
                     if not line.strip().startswith("#"))


def test_scalar_loop_folds_its_seed():
    code = _code(scalar_sum, (0, 1))
    loop = code[code.index("for i in reversed"):]
    body, after = loop.split("\n    a_bar = ", 1)
    assert "loss_bar" not in body
    assert "loss_bar * a_bar" in "a_bar = " + after and "b_bar = loss_bar * b_bar" in after


def test_array_loop_folds_its_seed():
    code = _code(array_steps, 0)
    loop = code[code.index("for t in reversed"):code.index("return")]
    assert "total_bar" not in loop.split("w_bar = total_bar")[0]


def test_a_carried_adjoint_zero_at_the_start_is_folded_too():
    code = _code(carried_state, 0)
    assert "w_bar = loss_bar * w_bar" in code


def test_a_carried_adjoint_not_zero_at_the_start_is_not_folded():
    code = _code(carried_from_the_output, 0)
    assert "loss_bar * w_bar" not in code


def test_an_array_seed_is_not_folded():
    code = _code(array_seed, 0)
    assert "acc_bar * w_bar" not in code


def test_a_list_adjoint_is_not_scaled_as_a_list():
    ws, xs = _xs(5, 4), _xs(5, 5)
    got = s2sgrad.grad(list_adjoint)(ws, xs)
    assert isinstance(got, list) and len(got) == 5
    np.testing.assert_allclose(got, [2.0 * x * x for x in xs], rtol=1e-12)


def list_of_arrays(ws, x):
    loss = 0.0
    for i in range(len(ws)):
        loss = loss + np.sum(np.sin(ws[i] * x))
    return 2.0 * loss


def test_an_adjoint_list_of_arrays_is_left_unscaled():
    """The loop's adjoint of `ws` is a list: one product by the seed would repeat it."""
    rng = np.random.default_rng(9)
    ws = [rng.standard_normal(3) for _ in range(4)]
    x = rng.standard_normal(3)
    got = s2sgrad.grad(list_of_arrays)(ws, x)
    assert isinstance(got, list) and len(got) == 4
    for w, g in zip(ws, got):
        np.testing.assert_allclose(g, 2.0 * np.cos(w * x) * x, rtol=1e-12)
