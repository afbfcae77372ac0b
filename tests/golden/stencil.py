"""A 1-D diffusion stencil with np.roll: psi keeps one shape throughout, so the backward
loop has no unbroadcast and saves no shapes."""
import numpy as np


def f(psi, D, steps):
    for t in range(steps):
        lap = np.roll(psi, 1) - 2.0 * psi + np.roll(psi, -1)
        psi = psi + D * lap
    return np.sum(psi * psi)


FUNCTION = f
WRT = (0, 1)
CASES = {"arrays": (np.linspace(0.0, 1.0, 8) ** 2, 0.1, 5)}
