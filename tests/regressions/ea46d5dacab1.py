# Found by tests/test_fuzz.py (S2SGRAD_FUZZ_EXAMPLES long mode).
# Checked by tests/test_regressions.py: gradient of main at ARGS vs finite
# differences.  Failure when found:
# d/dy: s2sgrad [0.09966799 0.09966799 0.09966799] vs finite differences [-2.31296463e-12 -2.31296463e-12 -2.31296463e-12]
import math
import numpy as np


def h0(p):
    t0 = 0.1
    t1 = t0
    return t0


def main(x, y):
    y = y
    for i0 in range(1):
        y = np.tanh(x * y)
        x = math.tanh(0.1)
        y = np.tanh(y)
    v0 = x
    v1 = y
    return np.sum(v1) + v0


ARGS = (0.0, np.array([0.0, 0.0, 0.0]), )
