"""Derivatives of order three and more: `grad(grad(grad(f)))`, mixed partials, `jvp` of
`hvp`, and `hessian` of functions with loops and branches. Checked against closed forms,
and against centered finite differences of closed-form lower derivatives (or of s2sgrad's
own lower order, itself checked against its closed form in the same test)."""
import math

import numpy as np
import pytest

import s2sgrad
from s2sgrad import grad, hessian, hvp, jvp


def quartic(x):
    return x ** 4 + np.sin(x)


def test_third_and_fourth_derivatives_of_a_scalar_function():
    d3 = grad(grad(grad(quartic)))
    d4 = grad(d3)
    for x in (0.7, -1.3, 2.0):
        assert d3(x) == pytest.approx(24 * x - math.cos(x), rel=1e-12)
        assert d4(x) == pytest.approx(24 + math.sin(x), rel=1e-12)


def powers(x):
    """x² + x³ + x⁴ for x > 0 (a branch in a loop), -3x otherwise."""
    y = 0.0
    for i in range(3):
        if x > 0:
            y = y + x ** (i + 2)
        else:
            y = y - x
    return y


def squarings(x):
    y = x
    k = 0
    while k < 3:          # y = x⁸
        y = y * y
        k += 1
    return y


@pytest.mark.parametrize("x", [0.7, 1.4])
def test_third_derivative_through_loops_and_branches(x):
    assert grad(grad(grad(powers)))(x) == pytest.approx(6 + 24 * x, rel=1e-12)
    assert grad(grad(grad(powers)))(-x) == 0.0
    assert grad(grad(grad(squarings)))(x) == pytest.approx(336 * x ** 5, rel=1e-12)
    assert grad(grad(grad(grad(squarings))))(x) == pytest.approx(1680 * x ** 4, rel=1e-12)


def test_third_derivative_against_finite_differences_of_the_second():
    """Finite differences of the closed-form second derivative, and of s2sgrad's."""
    def smooth(x):
        return np.exp(np.sin(x)) * np.log(1.0 + x * x)

    def second(x):
        s, c = math.sin(x), math.cos(x)
        e, l = math.exp(s), math.log(1 + x * x)
        dl, ddl = 2 * x / (1 + x * x), (2 - 2 * x * x) / (1 + x * x) ** 2
        de, dde = e * c, e * (c * c - s)
        return dde * l + 2 * de * dl + e * ddl

    d2, d3 = grad(grad(smooth)), grad(grad(grad(smooth)))
    h = 1e-4
    for x in (0.3, 1.1, -0.8):
        assert d2(x) == pytest.approx(second(x), rel=1e-10)
        fd = (second(x + h) - second(x - h)) / (2 * h)
        assert d3(x) == pytest.approx(fd, rel=1e-6)
        assert d3(x) == pytest.approx((d2(x + h) - d2(x - h)) / (2 * h), rel=1e-6)


def mixed(x, y):
    return x ** 3 * np.sin(y) + np.exp(x * y)


def test_mixed_third_partials():
    """∂³f/∂x∂y∂x of x³ sin y + e^{xy}: 6x cos y + 2y e^{xy} + x y² e^{xy}."""
    fxyx = grad(grad(grad(mixed, 0), 1), 0)
    fxyy = grad(grad(grad(mixed, 0), 1), 1)
    for x, y in ((0.4, 1.3), (-0.9, 0.2)):
        e = math.exp(x * y)
        assert fxyx(x, y) == pytest.approx(6 * x * math.cos(y) + 2 * y * e + x * y * y * e,
                                           rel=1e-12)
        # ∂/∂y of f_xy = 3x² cos y + e^{xy}(1 + xy): -3x² sin y + e^{xy}(2x + x²y)
        assert fxyy(x, y) == pytest.approx(-3 * x * x * math.sin(y) + e * (2 * x + x * x * y),
                                           rel=1e-12)


def test_outermost_argument_may_be_an_array():
    def f(x, w):
        return x ** 3 * np.sum(w ** 2) + x * np.sum(np.cos(w))

    w = np.array([0.5, -1.0, 2.0])
    d = grad(grad(grad(f, 0), 0), 1)          # ∂/∂w of f_xx = 6x·Σw² → 12 x w
    np.testing.assert_allclose(d(0.8, w), 12 * 0.8 * w, rtol=1e-12)
    assert d(0.8, w).shape == w.shape


def test_an_inner_array_argument_is_refused_at_the_call():
    def f(x):
        return np.sum(x ** 4)

    with pytest.raises(s2sgrad.GradientError, match="scalar"):
        grad(grad(grad(f)))(np.array([1.0, 2.0]))


def test_jvp_of_hvp_is_the_third_derivative_along_two_directions():
    def f(x):
        return np.sum(np.sin(x) * x ** 2)

    def f2(x):
        return 2 * np.sin(x) + 4 * x * np.cos(x) - x ** 2 * np.sin(x)

    def f3(x):
        return 6 * np.cos(x) - 6 * x * np.sin(x) - x ** 2 * np.cos(x)

    x, v = np.array([0.3, -0.7, 1.1]), np.array([1.0, 2.0, -0.5])
    xd, vd = np.array([0.2, 0.1, 0.4]), np.array([-1.0, 0.3, 0.7])
    hv, dhv = jvp(hvp(f))((x, v), (xd, vd))
    np.testing.assert_allclose(hv, f2(x) * v, rtol=1e-12)
    np.testing.assert_allclose(dhv, f3(x) * xd * v + f2(x) * vd, rtol=1e-12)
    # only the point moves: the third-derivative tensor contracted with v and ẋ
    _, dhv = jvp(hvp(f))((x, v), (xd, None))
    np.testing.assert_allclose(dhv, f3(x) * xd * v, rtol=1e-12)


def test_hessian_of_functions_with_control_flow():
    def energy(x):
        total = 0.0
        for i in range(x.shape[0] - 1):
            d = x[i + 1] - x[i]
            if d > 0:
                total = total + d ** 3
            else:
                total = total + np.cos(d)
        return total

    def closed_form(x):
        n = x.shape[0]
        H = np.zeros((n, n))
        for i in range(n - 1):
            d = x[i + 1] - x[i]
            c = 6 * d if d > 0 else -math.cos(d)
            H[i, i] += c
            H[i + 1, i + 1] += c
            H[i, i + 1] -= c
            H[i + 1, i] -= c
        return H

    x = np.array([0.1, 0.9, 0.4, 1.6])
    np.testing.assert_allclose(hessian(energy)(x), closed_form(x), rtol=1e-12, atol=1e-14)


def power_by_int(x, n):
    return np.sum(x ** n * 3.0) + np.sum(x ** (n + 1))


def test_hvp_of_small_integer_powers_at_zero():
    # x ** 0 is constant and x ** 1 linear: their second derivative is 0 at x = 0 too
    # (it was b·(b-1)·0^(b-2) computed as 0·∞ = NaN)
    x = np.array([0.0, -1.3, 2.2])
    v = np.array([0.4, -0.2, 1.0])
    for n in (0, 1, 2):
        got = s2sgrad.hvp(power_by_int)(x, n, v)
        assert np.all(np.isfinite(got)), (n, got)
        h = 1e-5
        g = s2sgrad.grad(power_by_int)
        fd = (g(x + h * v, n) - g(x - h * v, n)) / (2 * h)
        np.testing.assert_allclose(got, fd, rtol=1e-6, atol=1e-8)
