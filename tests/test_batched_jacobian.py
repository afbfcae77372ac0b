"""Stacked cotangents and tangents: `pullback(cts, batched=True)` runs one backward pass
for a stack of cotangents, `jacobian` builds its rows (reverse) or columns (forward) by
one batched pass. Checked against closed forms and centered finite differences."""
import warnings

import numpy as np
import pytest

import s2sgrad
from s2sgrad import jacobian, vjp
from s2sgrad import batch
from s2sgrad.errors import BatchingWarning, S2SGradError

RNG = np.random.default_rng(11)
A = RNG.normal(size=(7, 30)) / 5


def wide(x):
    return np.tanh(A @ x) * np.sum(x ** 2) + np.sin(x[:7])


def fd_jacobian(f, x, h=1e-6):
    x = np.asarray(x, dtype=float)
    cols = []
    for k in range(x.size):
        e = np.zeros(x.size)
        e[k] = h
        e = e.reshape(x.shape)
        cols.append(np.ravel((f(x + e) - f(x - e)) / (2 * h)))
    out = np.stack(cols, axis=1)
    return out.reshape(np.shape(f(x)) + x.shape)


@pytest.fixture
def strict():
    """A loop fallback fails the test: the batched form must exist."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", BatchingWarning)
        yield


@pytest.mark.parametrize("mode", ["reverse", "forward", "auto"])
def test_jacobian_by_one_batched_pass_matches_finite_differences(mode, strict):
    x = RNG.normal(size=30)
    J = jacobian(wide, mode=mode)(x)
    assert J.shape == (7, 30)
    np.testing.assert_allclose(J, fd_jacobian(wide, x), rtol=1e-6, atol=1e-8)


def test_a_stack_of_cotangents_is_pulled_back_in_one_pass(strict):
    M = RNG.normal(size=(4, 6))

    def lin(x):
        return M @ x + 3.0
    value, pull = vjp(lin)(RNG.normal(size=6))
    cts = RNG.normal(size=(5, 4))
    G = pull(cts, batched=True)
    assert G.shape == (5, 6)
    np.testing.assert_allclose(G, cts @ M, rtol=1e-13)          # rows of Mᵀ·ct
    np.testing.assert_allclose(pull(cts[2]), M.T @ cts[2], rtol=1e-13)
    assert pull(cts, batched=True) is not G                        # callable again


def test_the_batched_pullback_is_readable_generated_code(strict):
    f = vjp(wide)
    f(np.ones(30))
    src = f.batched_source
    assert src.startswith("def batched_wide_bwd(saved, ")
    assert "a stack of cotangents" in src and "# grad of:" in src


def test_a_stack_of_the_wrong_shape_is_refused():
    _, pull = vjp(wide)(np.ones(30))
    with pytest.raises(S2SGradError, match=r"shape \(n,\) \+ \(7,\)"):
        pull(np.ones(7), batched=True)


def looped(x, w):
    """A loop and a branch on an unbatched value, a reduction along an axis."""
    y = x
    for i in range(3):
        if i % 2 == 0:
            y = np.sin(y) * w
        else:
            y = y * y
    m = y.reshape(2, 3)
    return np.concatenate([m.sum(axis=0), m.max(axis=1)])


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_jacobian_through_loops_and_branches(mode, strict):
    x = RNG.normal(size=6)
    w = RNG.normal(size=6)
    J = jacobian(looped, wrt=(0, 1), mode=mode)(x, w)
    np.testing.assert_allclose(J[0], fd_jacobian(lambda v: looped(v, w), x), rtol=1e-6,
                               atol=1e-8)
    np.testing.assert_allclose(J[1], fd_jacobian(lambda v: looped(x, v), w), rtol=1e-6,
                               atol=1e-8)


def matrix_map(X):
    return X @ X.T + np.exp(X[:, :1])


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_jacobian_of_matrices_keeps_the_shapes(mode, strict):
    X = RNG.normal(size=(3, 2))
    J = jacobian(matrix_map, mode=mode)(X)
    assert J.shape == (3, 3, 3, 2)
    np.testing.assert_allclose(J, fd_jacobian(matrix_map, X), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_jacobian_in_chunks_when_memory_demands(mode, monkeypatch, strict):
    monkeypatch.setattr(batch, "_CHUNK", 64)      # rows of 30: two per chunk
    x = RNG.normal(size=30)
    J = jacobian(wide, mode=mode)(x)
    np.testing.assert_allclose(J, fd_jacobian(wide, x), rtol=1e-6, atol=1e-8)


def solver(x):
    M = np.array([[3.0, 1.0, 0.0], [1.0, 4.0, 1.0], [0.0, 1.0, 5.0]])
    return np.linalg.solve(M, x) * 2.0


def test_an_operation_without_a_batched_rule_still_gives_the_jacobian():
    M = np.array([[3.0, 1.0, 0.0], [1.0, 4.0, 1.0], [0.0, 1.0, 5.0]])
    x = RNG.normal(size=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BatchingWarning)
        for mode in ("reverse", "forward"):
            J = jacobian(solver, mode=mode)(x)
            np.testing.assert_allclose(J, 2.0 * np.linalg.inv(M), rtol=1e-12)


def test_scalar_output_and_scalar_input(strict):
    def f(x):
        return np.sum(np.sin(x) * x)
    x = RNG.normal(size=4)
    np.testing.assert_allclose(jacobian(f, mode="reverse")(x), np.sin(x) + x * np.cos(x),
                               rtol=1e-12)

    def g(t):
        return np.array([t, t * t, np.sin(t)])
    np.testing.assert_allclose(jacobian(g, mode="forward")(0.5),
                               [1.0, 1.0, np.cos(0.5)], rtol=1e-12)
    assert s2sgrad.jacobian is jacobian
