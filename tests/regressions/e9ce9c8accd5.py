# Found by tests/test_fuzz.py (S2SGRAD_FUZZ_EXAMPLES long mode).
# Checked by tests/test_regressions.py: gradient of main at ARGS vs finite
# differences.  Failure when found:
# d/dx: argument is a float, gradient is ndarray array(1.)
import math
import numpy as np


def main(x, y):
    k0 = 0
    while k0 < 2 and x < 1.0:
        x = x + 0.3 + 0.5 * math.tanh(y @ y)
        y = y * 0.9 + np.sin(y)
        k0 = k0 + 1
    y = y * 0.9 + np.sin(y)
    return np.sum(x)


ARGS = (0.0, np.array([0.0, 0.0, 0.0]), )
