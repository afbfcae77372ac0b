# Found by tests/test_fuzz.py (long mode); a crash, not a wrong number.
# Checked by tests/test_regressions.py: gradient of main at ARGS vs finite
# differences.  Failure when found: IndexError in optimize.saves.dead_saves, which
# removed the dead stacks of one loop by index while their indices moved.
import math
import numpy as np


c0 = 0.7
w0 = np.array([0.5, -0.2, 0.3])

def main(x, y):
    w0 = np.sum(x, axis=0)
    for i0 in range(1):
        v0 = (c0 / (1.0 + c0 * c0)) / (1.0 + c0 * c0)
        v1 = c0
        x = x * 0.9 + np.sin(x)
    if c0 > 0.3:
        v2 = c0
        y = y
    else:
        v3 = c0
        y = y
    for i1 in range(1):
        v4 = np.sum(x, axis=1)
        v5 = (c0 + x) + (x + x)
        x = x * 0.9 + np.sin(np.sum(w0) + x)
        y = y * 0.9 + np.sin(y + y)
    def l0(u, w=c0):
        c0 = u
        return w0 + (x + x)
    for i2 in range(1):
        v6 = c0
        if np.sum(y) > 0.3:
            v6 = c0
        else:
            v6 = c0
        w0 = w0 * 0.9 + np.sin(w0)
    return np.sum(x)


ARGS = (np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]), np.array([[0.0, 0.0, 0.0]]), )
