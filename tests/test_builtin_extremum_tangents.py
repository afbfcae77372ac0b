"""Forward mode of the builtins max/min of one iterable (`max([a, b, c])`, `min(xs)`,
`max(v * 2 for v in y)`): they were matched to the two-argument rule and refused with
"missing argument `b`"; they take np.max's rule, as reverse mode does."""
import numpy as np

import s2sgrad

Y = np.array([0.5, 2.0, 0.1])
T = np.array([0.3, -1.0, 2.0])


def of_list(y):
    return max([y[0] ** 2, y[1], y[2] * 3])


def of_generator(y):
    return max(v * 2 for v in y) + min(y)


def of_array(y):
    return min(y * y) * max(list(y))


def _fd(f, x, t, h=1e-6):
    return (f(x + h * t) - f(x - h * t)) / (2 * h)


def test_jvp_matches_finite_differences():
    for f in (of_list, of_generator, of_array):
        value, tangent = s2sgrad.jvp(f)((Y,), (T,))
        assert value == f(Y)
        assert abs(tangent - _fd(f, Y, T)) < 1e-6, f.__name__


def test_hvp_of_a_max_of_a_list():
    def f(y):
        return max([y[0] ** 3, y[1] ** 2]) + min([np.sum(y ** 2), 10.0])
    hv = s2sgrad.hvp(f)(Y, T)
    g = s2sgrad.grad(f)
    np.testing.assert_allclose(hv, (g(Y + 1e-6 * T) - g(Y - 1e-6 * T)) / 2e-6, atol=1e-6)
