# Found by the differential fuzzer (tests/test_fuzz.py), minimized by hand.
# Status: passes since the compiler fixes that followed its discovery
# (kept as a permanent regression test).
# Observed when found: IndexError: pop from empty list in the generated backward pass
#   (a name reassigned in an if/else inside a for loop is restored from its save
#   stack more often than it was pushed; same as DOUBLE_POP in test_control_flow.py).
# Expected: (d/dx, d/dy) = (3.0, 0.0).
import numpy as np



def main(x, y):
    v = y
    for i in range(1):
        if x > 0.0:
            v = x * 2.0
        else:
            v = x * 3.0
    return v


ARGS = (-1.5, 0.35)
