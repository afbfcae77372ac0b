"""Everyday idioms that used to be refused: np.diff's prepend=/append=, math.prod, divmod,
`**opts` of a dict literal, `zip(*pairs)` of a literal list.

Every gradient is checked against an independent oracle: centred finite differences in
float64 (support.numeric) or a closed form. Where the keys or the length are not known
at transform time, the call stays refused with a located TransformError."""
import math

import numpy as np
import pytest

import s2sgrad
from s2sgrad.errors import TransformError
from support.numeric import assert_grad_matches, numerical_grad

X = np.array([0.3, 1.2, -0.7, 2.0])
M = np.array([[0.4, -1.1, 0.9, 0.2], [1.3, 0.5, -0.6, 0.8], [-0.2, 0.7, 1.5, -0.9]])
V = np.array([0.5, -1.0, 0.25, 2.0])


def _fd_jvp(f, x, v, h=1e-6):
    return (f(x + h * v) - f(x - h * v)) / (2 * h)


def _fd_hvp(f, x, v, h=1e-4):
    g = lambda z: numerical_grad(f, (z,), 0)  # noqa: E731
    return (g(x + h * v) - g(x - h * v)) / (2 * h)


# ---------------------------------------------------------------- np.diff(prepend=, append=)

def diff_number_ends(x):
    return np.sum(np.diff(x, prepend=0.0) ** 2) + np.sum(np.diff(x, append=1.5) ** 3)


def diff_end_of_input(x):
    return np.sum(np.diff(x, prepend=x[0] * 2.0, append=x[-1]) ** 2)


def diff_array_ends(x):
    return np.sum(np.sin(np.diff(x, prepend=np.array([0.5, -0.25]), append=x[:2] * 3.0)))


def diff_list_end(x):
    return np.sum(np.diff(x, prepend=[x[1] * 2.0, 1.0]) ** 2)


def diff_twice(x):
    return np.sum(np.diff(x, n=2, prepend=x[:2] ** 2, append=0.5 * x[1]) ** 2)


def diff_rows(m):
    return np.sum(np.diff(m, axis=1, prepend=m[:, :1] ** 2, append=0.5) ** 3)


def diff_columns(m):
    return np.sum(np.tanh(np.diff(m, n=2, axis=0, prepend=np.ones((1, 4)), append=m[:1])))


def diff_positional(x):
    return np.sum(np.diff(x, 1, -1, x[0], x[-1] * x[0]) ** 2)


@pytest.mark.parametrize("f, x", [(diff_number_ends, X), (diff_end_of_input, X),
                                  (diff_array_ends, X), (diff_list_end, X),
                                  (diff_twice, X), (diff_rows, M), (diff_columns, M),
                                  (diff_positional, X)])
def test_diff_with_prepend_and_append(f, x):
    assert_grad_matches(f, x)


def test_diff_without_ends_keeps_its_adjoint():
    def f(m):
        return np.sum(np.diff(m, n=2, axis=0) ** 2)
    assert_grad_matches(f, M)
    assert "diff_grad(v1_bar, m, 2, 0)" in s2sgrad.source(f)


def test_diff_end_closed_form():
    # Σ diff([p, x0, …, x_last]) telescopes to x_last - p
    def f(x, p):
        return np.sum(np.diff(x, prepend=p))          # = x[-1] - p
    gx, gp = s2sgrad.grad(f, wrt=(0, 1))(X, 0.7)
    np.testing.assert_allclose(gx, [0.0, 0.0, 0.0, 1.0])
    assert gp == pytest.approx(-1.0)


@pytest.mark.parametrize("f, x", [(diff_end_of_input, X), (diff_twice, X), (diff_rows, M)])
def test_diff_with_ends_jvp_and_hvp(f, x):
    v = np.linspace(-1.0, 1.5, x.size).reshape(x.shape)
    value, t = s2sgrad.jvp(f)((x,), (v,))
    assert value == pytest.approx(f(x))
    assert t == pytest.approx(_fd_jvp(f, x, v), rel=1e-5, abs=1e-6)
    np.testing.assert_allclose(s2sgrad.hvp(f)(x, v), _fd_hvp(f, x, v), rtol=1e-4, atol=1e-4)


def test_diff_with_ends_vmap():
    xs = np.stack([X, 2 * X, -X + 0.3])
    per_example = np.stack([numerical_grad(diff_rows, (np.outer(r, [1.0, -0.5]).T,), 0)
                            for r in xs])
    got = s2sgrad.vmap(s2sgrad.grad(diff_rows))(np.stack([np.outer(r, [1.0, -0.5]).T
                                                          for r in xs]))
    np.testing.assert_allclose(got, per_example, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- math.prod

def prod_of_numbers(x):
    return math.prod([x[0], x[1], 2.0]) + x[2]


def prod_with_start(x):
    return math.prod([x[0], x[1], x[2]], start=-1.5)


def prod_start_of_input(x):
    return math.prod((x[0], x[2]), start=x[1] * 3.0)


def prod_of_generator(x):
    return math.prod((np.sin(v) for v in x), start=0.5)


def prod_of_arrays(x):
    return np.sum(math.prod([x, np.cos(x), x[1]]))


def prod_of_rows(m):
    return np.sum(math.prod(m, start=m[0]))


@pytest.mark.parametrize("f, x", [(prod_of_numbers, X), (prod_with_start, X),
                                  (prod_start_of_input, X), (prod_of_generator, X),
                                  (prod_of_arrays, X), (prod_of_rows, M)])
def test_math_prod(f, x):
    assert_grad_matches(f, x)


def test_math_prod_with_a_zero_closed_form():
    # d/dxᵢ Π x = Π_{j≠i} xⱼ, exact where another item (or the item itself) is zero
    def f(x):
        return math.prod([x[0], x[1], x[2]])
    x = np.array([0.0, 2.0, -3.0])
    np.testing.assert_allclose(s2sgrad.grad(f)(x), [-6.0, 0.0, 0.0])
    x = np.array([0.0, 0.0, -3.0])
    np.testing.assert_allclose(s2sgrad.grad(f)(x), [0.0, 0.0, 0.0])


def test_math_prod_of_nothing_is_its_start():
    def f(x):
        return math.prod([], start=x[0] * 2.0) + x[1]
    np.testing.assert_allclose(s2sgrad.grad(f)(X), [2.0, 1.0, 0.0, 0.0])


@pytest.mark.parametrize("f", [prod_of_numbers, prod_start_of_input, prod_of_generator,
                               prod_of_arrays])
def test_math_prod_jvp_and_hvp(f):
    value, t = s2sgrad.jvp(f)((X,), (V,))
    assert value == pytest.approx(f(X))
    assert t == pytest.approx(_fd_jvp(f, X, V), rel=1e-5, abs=1e-6)
    np.testing.assert_allclose(s2sgrad.hvp(f)(X, V), _fd_hvp(f, X, V), rtol=1e-4, atol=1e-4)
