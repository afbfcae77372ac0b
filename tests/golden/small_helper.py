"""Small helpers of the same file called per data point are inlined: the loop reads
like one written by hand, with no forward/backward pair per call."""
import math


def residual(a, b, x, y):
    return a * x + b - y


def softplus(z):
    return math.log1p(math.exp(z))


def loss(a, b, xs, ys):
    total = 0.0
    for x, y in zip(xs, ys):
        r = residual(a, b, x, y)
        total = total + softplus(r) + softplus(-r)
    return total / len(xs)


FUNCTION = loss
WRT = (0, 1)
CASES = {"lists": (1.3, 0.2, [0.5, -1.0, 2.0], [0.9, -2.5, 3.0])}
