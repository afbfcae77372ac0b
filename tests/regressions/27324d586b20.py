# Found by tests/test_fuzz.py (S2SGRAD_FUZZ_EXAMPLES long mode).
# Checked by tests/test_regressions.py: gradient of main at ARGS vs finite
# differences.  Failure when found:
# d/dx: s2sgrad 2. vs finite differences 4.
import math
import numpy as np


def main(x, y):
    v0 = (x + y) + y
    v1 = x
    return v1 + np.sum(v0)


ARGS = (0.0, np.array([0.0, 0.0, 0.0]), )
