# Found by tests/test_fuzz.py (S2SGRAD_FUZZ_EXAMPLES long mode).
# Checked by tests/test_regressions.py: gradient of main at ARGS vs finite
# differences.  Failure when found:
# d/dx: s2sgrad [0. 0. 0.] vs finite differences [1.9 1.9 1.9]
import math
import numpy as np

# Hand note (status: passes since the compiler fixes that followed its discovery): same
# family as self_update_after_loop.py -- the self-assignment `x = x`
# of a name that is loop-carried drops its adjoint.  Expected d/dx = [1.9, 1.9, 1.9].


def main(x, y):
    x = x
    for i0 in range(1):
        v0 = y
        v1 = y
        x = x * 0.9 + np.sin(x)
    return np.sum(x)


ARGS = (np.array([0.0, 0.0, 0.0]), 0.0, )
