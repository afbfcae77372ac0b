# Found by the differential fuzzer (tests/test_fuzz.py), minimized by hand.
# Observed: UnboundLocalError: cannot access local variable 'v0_bar' in the generated
#   code when the else branch runs.  `y = np.sin(v0)` in the if branch is dead (y is
#   not read afterwards), but the backward pass still reads v0_bar, which only that
#   branch would have written.  A sibling of dead_branch_assign_unbound_adjoint.py
#   (fixed since); this shape still fails.
# Expected: (d/dx, d/dy) = (0.0, 1.0) at x = 0.1.
import numpy as np



def main(x, y):
    v0 = x * y
    if x < -0.5:
        y = np.sin(v0)
        v2 = x
    else:
        v2 = y
    return v2


ARGS = (0.1, 0.7)
