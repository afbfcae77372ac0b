"""Everyday Python lowered to the core: an assignment expression in a test, a loop over
functions (unrolled into their calls), `del`, and max(..., key=) (the item Python's
scan picks: the gradient goes to it)."""
import numpy as np


def f(x, w):
    if (n := len(x)) > 2:
        x = x[:n - 1]
    y = np.sin(x) * w
    for act in (np.tanh, np.exp):
        y = act(y)
    scores = list(y)
    del y
    best = max(scores, key=abs)
    return best * n + np.sum(x)


FUNCTION = f
WRT = (0, 1)
CASES = {"array": (np.array([0.3, -1.2, 0.8, 0.5]), 1.5)}
