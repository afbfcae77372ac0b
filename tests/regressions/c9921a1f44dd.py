# Found by tests/test_fuzz.py (S2SGRAD_FUZZ_EXAMPLES long mode).
# Checked by tests/test_regressions.py: gradient of main at ARGS vs finite
# differences.  Failure when found:
# d/dx: s2sgrad [1. 1. 1.] vs finite differences [1.9 1.9 1.9]
import math
import numpy as np


def main(x, y):
    y = math.sin(np.sum(x) + y)
    for i0 in range(1):
        x = x * 0.9 + np.sin(x)
    return np.sum(x)


ARGS = (np.array([0.0, 0.0, 0.0]), 0.0, )
