"""The logistic neuron of the Wengert-list presentation, in plain Python: lists, a zip loop,
math.exp and a call to dot(w, x). Lists of numbers: items read again in the backward loop,
the adjoints lists updated by index."""
import math


def dot(w, x):
    w_dot_x = 0.0
    x = [1] + x
    for (wi, xi) in zip(w, x):
        w_dot_x = w_dot_x + (wi * xi)
    return w_dot_x


def f(w, x):
    return 1 / (1 + math.exp(-1 * dot(w, x)))


def expected(w, x):
    """The closed form: with out = sigmoid(w . [1, *x]), d/dw = [1, *x] · out(1 - out)
    and d/dx = w[1:] · out(1 - out)."""
    out = f(w, x)
    d = out * (1 - out)
    return [d * v for v in [1.0] + list(x)], [d * v for v in w[1:]]


FUNCTION = f
WRT = (0, 1)
CASES = {"lists": ([-3.0, 2.0, -3.0], [-1.0, -2.0])}
EXPECTED = expected
