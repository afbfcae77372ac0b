# Found by the differential fuzzer (tests/test_fuzz.py), minimized by hand.
# Status: passes since the compiler fixes that followed its discovery
# (kept as a permanent regression test).
# Observed when found: UnboundLocalError: cannot access local variable 'v0_bar' in the generated
#   code when the else branch runs: that branch's backward pass of the dead
#   assignment `y = v0` reads `v0_bar = v0_bar + y_bar` before any write of v0_bar
#   (the first-write optimisation treats the branches inconsistently).
# Expected: (d/dx, d/dy) = (0.0, 1.0) at x = -0.3.
import numpy as np



def main(x, y):
    v0 = x * y
    if x > 0.0:
        v2 = y * 2.0
    else:
        v2 = y
        y = v0
    return v2


ARGS = (-0.3, 0.7)
