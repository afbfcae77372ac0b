"""A call to the user's own function: it gets a generated forward/backward pair."""
import numpy as np


def neuron(w, x):
    return np.tanh(w * x + 0.5)


def f(w, x):
    return np.sum(neuron(w, x) * neuron(x, w) + w * x)


FUNCTION = f
WRT = (0, 1)
CASES = {"floats": (0.3, -1.2), "arrays": (np.array([0.3, -0.6]), np.array([-1.2, 0.8]))}
