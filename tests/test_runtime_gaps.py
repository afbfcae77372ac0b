"""Gradients that used to stop at call time with NotImplementedError (or a NaN, or a
ZeroDivisionError), each against centered finite differences or a closed form:
np.linalg.norm of every order, einsum with `...` and with a letter repeated in one
operand, np.dot of arrays of three or more dimensions, and the power at 0 (the
convention autograd and JAX document: 0, not NaN)."""
import math

import numpy as np
import pytest

import s2sgrad

from support.numeric import assert_grad_matches

rng = np.random.default_rng(7)
V = rng.normal(size=5)
M = rng.normal(size=(3, 4))
B = rng.normal(size=(2, 3, 4))


# ------------------------------------------------------------------ np.linalg.norm

def norm_of(x, o):
    return np.linalg.norm(x, o) * 1.5


def norm_rows(x, o):
    return np.sum(np.linalg.norm(x, o, axis=1) * np.arange(1.0, 4.0))


def norm_batched(x, o):
    return np.sum(np.linalg.norm(x, o, axis=(1, 2), keepdims=True) ** 2)


def norm_swapped(x, o):
    return np.sum(np.linalg.norm(x, o, axis=(2, 0)) * np.arange(1.0, 4.0))


VECTOR_ORDS = [1, 3, 4, 0.5, -1, -2.5, np.inf, -np.inf, 2, None]
MATRIX_ORDS = ["nuc", "fro", 1, -1, 2, -2, np.inf, -np.inf, None]


@pytest.mark.parametrize("o", VECTOR_ORDS, ids=str)
def test_vector_norms(o):
    assert_grad_matches(norm_of, V, o)
    assert_grad_matches(norm_rows, M, o)


@pytest.mark.parametrize("o", MATRIX_ORDS, ids=str)
def test_matrix_norms(o):
    assert_grad_matches(norm_of, M, o)
    assert_grad_matches(norm_batched, B, o)
    assert_grad_matches(norm_swapped, B, o)


def test_nuclear_norm_closed_form():
    """‖X‖_* = Σσ: its gradient is U·Vᵀ of the thin SVD."""
    u, _, vt = np.linalg.svd(M, full_matrices=False)
    np.testing.assert_allclose(s2sgrad.grad(norm_of)(M, "nuc"), 1.5 * u @ vt, atol=1e-12)


def test_zero_order_norm_counts():
    """ord=0 counts the nonzero entries: piecewise constant, gradient 0."""
    np.testing.assert_array_equal(s2sgrad.grad(norm_of)(V, 0), np.zeros(5))


def norm_forward(x, o):
    return np.linalg.norm(x, o)


@pytest.mark.parametrize("o", [3, np.inf, "nuc"], ids=str)
def test_norm_directional_derivative(o):
    """The gradient's directional derivative matches finite differences along t."""
    x = M if o == "nuc" else V
    t = rng.normal(size=x.shape)
    g = s2sgrad.grad(norm_forward)(x, o)
    h = 1e-6
    fd = (np.linalg.norm(x + h * t, o) - np.linalg.norm(x - h * t, o)) / (2 * h)
    np.testing.assert_allclose(np.sum(g * t), fd, rtol=1e-6)


# ------------------------------------------------------------------ einsum

def einsum_trace(x):
    return np.einsum("ii->", x) ** 2


def einsum_trace_implicit(x):
    return np.einsum("ii", x) ** 2


def einsum_diagonal(x):
    return np.sum(np.einsum("ii->i", x) ** 3)


def einsum_repeated_with_other(x, y):
    return np.sum(np.einsum("iij,j->i", x, y) ** 2)


def einsum_batched_ellipsis(x, y):
    return np.sum(np.einsum("...ij,...jk->...ik", x, y) ** 2)


def einsum_ellipsis_implicit(x, y):
    return np.sum(np.sin(np.einsum("...i,i", x, y)))


def einsum_ellipsis_broadcast(x, y):
    return np.sum(np.einsum("...i,...i->...", x, y) ** 2)


def einsum_sublist_ellipsis(x):
    w = np.arange(6.0).reshape(3, 2)
    return np.sum(np.einsum(x, [Ellipsis, 0], [0, Ellipsis]) ** 2 * w)


def test_einsum_repeated_letters():
    a = rng.normal(size=(3, 3))
    assert_grad_matches(einsum_trace, a)
    assert_grad_matches(einsum_trace_implicit, a)
    assert_grad_matches(einsum_diagonal, a)
    assert_grad_matches(einsum_repeated_with_other, rng.normal(size=(3, 3, 2)),
                        rng.normal(size=2), wrt=(0, 1))


def test_einsum_ellipsis():
    assert_grad_matches(einsum_batched_ellipsis, rng.normal(size=(2, 3, 4)),
                        rng.normal(size=(2, 4, 2)), wrt=(0, 1))
    assert_grad_matches(einsum_ellipsis_implicit, rng.normal(size=(2, 3)),
                        rng.normal(size=3), wrt=(0, 1))
    assert_grad_matches(einsum_ellipsis_broadcast, rng.normal(size=(2, 1, 3)),
                        rng.normal(size=(4, 3)), wrt=(0, 1))
    assert_grad_matches(einsum_sublist_ellipsis, rng.normal(size=(2, 3)))


def test_einsum_trace_hessian():
    """(tr X)² has the Hessian 2·vec(I)·vec(I)ᵀ."""
    a = rng.normal(size=(2, 2))
    eye = np.eye(2).ravel()
    h = np.reshape(s2sgrad.hessian(einsum_trace)(a), (4, 4))
    np.testing.assert_allclose(h, 2 * np.outer(eye, eye), atol=1e-10)


# ------------------------------------------------------------------ np.dot, N-D

def dot_nd(a, b):
    return np.sum(np.dot(a, b) ** 2)


@pytest.mark.parametrize("sa, sb", [((2, 3, 4), (5, 4, 2)), ((2, 3, 4), (4,)),
                                    ((4,), (2, 4, 3)), ((3, 4), (2, 4, 3)),
                                    ((2, 3, 4), (4, 2))])
def test_dot_of_arrays_of_three_or_more_dimensions(sa, sb):
    assert_grad_matches(dot_nd, rng.normal(size=sa), rng.normal(size=sb), wrt=(0, 1))


# ------------------------------------------------------------------ the power at 0

def power_zero_exponent(x):
    return np.power(x, 0.0) * 3.0 + x


def power_zero_exponent_op(x):
    return x ** 0 + 2.0 * x


def power_in_exponent(x, y):
    return np.sum(np.power(x, y))


def power_floats(x, y):
    return x ** y


def test_zero_exponent_is_a_constant():
    """x⁰ = 1 for every x, 0 included: d/dx (x⁰·3 + x) = 1, no ZeroDivisionError."""
    assert s2sgrad.grad(power_zero_exponent)(0.0) == 1.0
    assert s2sgrad.grad(power_zero_exponent_op)(0.0) == 2.0
    np.testing.assert_array_equal(
        s2sgrad.grad(lambda_free_sum)(np.zeros(3)), np.ones(3))


def lambda_free_sum(x):
    return np.sum(np.power(x, 0.0) + x)


def test_zero_base_gradient_in_the_exponent_is_zero():
    """d/dy 0^y = 0 for y > 0 (0^y is 0 there); autograd and JAX: 0, not NaN."""
    g = s2sgrad.grad(power_in_exponent, wrt=1)(np.zeros(2), np.array([1.5, 2.0]))
    np.testing.assert_array_equal(g, [0.0, 0.0])
    assert s2sgrad.grad(power_floats, wrt=1)(0.0, 2.0) == 0.0


def test_variable_zero_exponent_at_zero_base():
    """x^y at x = 0, y = 0: d/dx = y·x^(y-1) is 0 by the same convention (y·… with
    y = 0), d/dy = x^y·ln x is 0: no ZeroDivisionError, no NaN."""
    gx, gy = s2sgrad.grad(power_floats, wrt=(0, 1))(0.0, 0.0)
    assert (gx, gy) == (0.0, 0.0)


def test_variable_exponent_away_from_zero():
    assert_grad_matches(power_floats, 1.3, 2.5, wrt=(0, 1))
    assert_grad_matches(power_in_exponent, np.array([0.5, 1.5]), np.array([1.5, -2.0]),
                        wrt=(0, 1))


def power_hessian(x):
    return x[0] ** x[1]


def test_variable_exponent_hessian():
    """Closed form of the Hessian of a^b."""
    a, b = 1.3, 2.5
    h = s2sgrad.hessian(power_hessian)(np.array([a, b]))
    expected = [[b * (b - 1) * a ** (b - 2), a ** (b - 1) * (1 + b * np.log(a))],
                [a ** (b - 1) * (1 + b * np.log(a)), a ** b * np.log(a) ** 2]]
    np.testing.assert_allclose(h, expected, rtol=1e-10)


def math_power(x, y):
    return math.pow(x, y) + math.pow(x, 0.0)


def test_math_pow_at_zero():
    """math.pow follows the same convention: no ValueError from math.log(0)."""
    assert s2sgrad.grad(math_power, wrt=(0, 1))(0.0, 2.0) == (0.0, 0.0)
    assert s2sgrad.grad(math_power, wrt=(0, 1))(0.0, 0.0) == (0.0, 0.0)
    assert_grad_matches(math_power, 1.3, 2.5, wrt=(0, 1))
