"""Griewank & Walther's example (the lecture notes' worked execution trace)."""
import numpy as np


def f(x1, x2):
    return (np.sin(x1 / x2) + x1 / x2 - np.exp(x2)) * (x1 / x2 - np.exp(x2))


FUNCTION = f
WRT = (0, 1)
CASES = {"floats": (1.5, 0.5)}
