"""A call to the user's own function with a loop: it gets a generated forward/backward
pair (small straight-line helpers are inlined instead: see small_helper.py)."""
import numpy as np


def neuron(w, x):
    z = w * x
    for _ in range(2):
        z = np.tanh(z + 0.5)
    return z


def f(w, x):
    return np.sum(neuron(w, x) * neuron(x, w) + w * x)


FUNCTION = f
WRT = (0, 1)
CASES = {"floats": (0.3, -1.2), "arrays": (np.array([0.3, -0.6]), np.array([-1.2, 0.8]))}
