"""Module-level functions whose gradients the reliability tests ship to other
processes (pickle, multiprocessing with the spawn context).  A GradientFunction
pickles by reference to the function, so the function must live in an importable
module, not in the test file's locals."""
import numpy as np


def logistic_loss(w, X, y):
    """Sum of logistic losses of the linear model X @ w over one shard (labels ±1)."""
    z = X @ w
    return np.sum(np.log(1.0 + np.exp(-y * z)))


def scalar_poly(x, y):
    return x * x * y + np.sin(x * y)
