"""Scalar code with `math`, builtins (max, min, abs) and Python floats, the way textbook
examples and Tangent's tests write it."""
import math

import numpy as np

from ._registry import entry, V, P, AWAY, U, ZD


@entry(V(), V())
def griewank_notes(x1, x2):
    return (np.sin(x1 / x2) + x1 / x2 - np.exp(x2)) * (x1 / x2 - np.exp(x2))


@entry(V())
def math_sin_cos(x):
    return math.sin(x) * math.cos(2 * x)


@entry(P())
def math_log_sqrt(x):
    return math.log(x) + math.sqrt(x) * math.exp(-x)


@entry(V())
def math_tanh_pow(x):
    return math.tanh(x) ** 2 + math.pow(abs(x) + 1.0, 1.5)


@entry(U(lo=-0.9, hi=0.9))
def math_inverse_trig(x):
    return math.asin(x) + math.acos(x * 0.5) + math.atan(x)


@entry(V(), P())
def math_atan2_hypot(y, x):
    return math.atan2(y, x) + math.hypot(x, y)


@entry(V())
def math_constants(x):
    return math.pi * x ** 2 + math.e * x


@entry(P())
def math_log_bases(x):
    return math.log10(x) + math.log2(x) + math.log(x, 3.0) + math.log1p(x)


@entry(V())
def math_hyperbolic(x):
    return math.sinh(x) + math.cosh(x) * 0.5


@entry(V())
def math_erf(x):
    return math.erf(x) + math.erfc(x * 0.5)


@entry(V(), V())
def builtin_max_min(x, y):
    return max(x, y) ** 2 + min(x, y) * 3.0


@entry(AWAY())
def builtin_abs(x):
    return abs(x) ** 1.5 + abs(x * 2.0)


@entry(V(), V(), V())
def builtin_max_three(a, b, c):
    return max(a, b, c) * min(a, b, c)


@entry(P())
def float_pow_and_division(x):
    return x ** 0.5 / (1.0 + x) ** 2 + 1.0 / x


@entry(V())
def integer_power(x):
    return x ** 3 - 2 * x ** 2 + x


@entry(V())
def horner(x):
    c = [1.0, -0.5, 0.25, 2.0]
    y = 0.0
    for a in c:
        y = y * x + a
    return y


@entry(P())
def stirling(n):
    return n * math.log(n) - n + 0.5 * math.log(2 * math.pi * n)


@entry(U(lo=0.1, hi=2.0))
def taylor_exp(x):
    s = 1.0
    term = 1.0
    for k in range(1, 15):
        term = term * x / k
        s = s + term
    return s


@entry(P(), P())
def float_floor_div_constant(x, y):
    n = 7 // 2
    return x ** n / y + float(n) * y


@entry(V())
def float_conversion(x):
    return float(x) * 2.0 + np.float64(x) ** 2


@entry(V(), V())
def numpy_on_floats(x, y):
    return np.sin(x) * np.exp(y) + np.arctan2(x, 1.5) + np.hypot(x, y)


@entry(P())
def numpy_special_scalars(x):
    return np.log1p(x) + np.expm1(x) + np.sqrt(x) + np.cbrt(x) + np.square(x)


@entry(V())
def sigmoid_scalar(x):
    return 1.0 / (1.0 + math.exp(-x))


@entry(V())
def softplus_stable(x):
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


@entry(V(), V())
def logaddexp_by_hand(a, b):
    m = max(a, b)
    return m + math.log(math.exp(a - m) + math.exp(b - m))


@entry(V(), V())
def numpy_logaddexp(a, b):
    return np.logaddexp(a, b) + np.logaddexp2(a, b)


@entry(P(), P())
def gamma_like(a, b):
    return math.lgamma(a) + math.gamma(b)


@entry(ZD(V()))
def zero_d_array(x):
    return np.sin(x) * x ** 2


@entry(ZD(V()), V())
def zero_d_with_float(x, y):
    return x * y + np.exp(x - y)


@entry(V())
def python_sum_of_floats(x):
    return sum([x, 2 * x, x ** 2])


@entry(V(), P())
def gaussian_logpdf(x, sigma):
    return -0.5 * ((x - 1.0) / sigma) ** 2 - math.log(sigma) - 0.5 * math.log(2 * math.pi)


@entry(P(), P())
def beta_logpdf_like(a, b):
    x = 0.3
    return (a - 1) * math.log(x) + (b - 1) * math.log(1 - x) + math.lgamma(a + b) \
        - math.lgamma(a) - math.lgamma(b)


@entry(U(lo=0.2, hi=1.0))
def bisection_free_newton(c):
    x = 1.0
    for _ in range(40):
        x = x - (x ** 3 - c) / (3 * x ** 2)
    return x


@entry(V(), V())
def rosenbrock_2d(x, y):
    return (1 - x) ** 2 + 100 * (y - x ** 2) ** 2


@entry(V(), V())
def beale(x, y):
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y ** 2) ** 2 + (2.625 - x + x * y ** 3) ** 2


@entry(U(lo=-1, hi=1), U(lo=-1, hi=1))
def himmelblau(x, y):
    return (x ** 2 + y - 11) ** 2 + (x + y ** 2 - 7) ** 2


@entry(V(), V())
def complex_free_polar(r, t):
    x = r * math.cos(t)
    y = r * math.sin(t)
    return x * y + x ** 2


@entry(P())
def math_fabs_copysign(x):
    return math.fabs(x - 3.0) + math.copysign(x, -1.0)


@entry(V())
def clip_scalar_inside(x):
    return float(np.clip(x * 0.1, -1.0, 1.0)) ** 2


@entry(V(), V())
def round_trip_int(x, y):
    k = int(3.7)
    return x * k + y ** k
