# Found by tests/test_fuzz.py (the CI slice); a smaller program of the same kind.
# Checked by tests/test_regressions.py: gradient of main at ARGS vs finite
# differences.  Failure when found:
# AttributeError: 'ShapeOf' object has no attribute 'size' (a mean's count read from
# a value the loop saved only for its shape)
import math
import numpy as np


def main(x, y):
    v0 = y * 1.0
    s = 0.0
    for i in range(2):
        s = s + math.tanh(np.mean(v0))
        v0 = v0 + x
    return s + np.sum(v0)


ARGS = (np.array([[0.572, 1.457, 1.079]]), np.array([[-0.332, -0.037, 0.093]]), )
