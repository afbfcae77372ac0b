"""A loop that overwrites its variable: the backward pass is a reversed loop fed by a stack."""
import numpy as np


def f(x, n):
    y = x
    for i in range(n):
        y = np.sin(y) * x
    return np.sum(y)


FUNCTION = f
WRT = 0
CASES = {"floats": (0.7, 3), "arrays": (np.array([0.7, -0.4, 1.3]), 3)}
