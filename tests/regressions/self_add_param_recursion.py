# Found by the differential fuzzer (tests/test_fuzz.py), minimized by hand.
# Status: passes since the compiler fixes that followed its discovery
# (kept as a permanent regression test).
# Observed when found: s2sgrad.grad raises RecursionError at transform time
#   (trace._is_display follows the definitions of `y`, and `y`'s only definition is
#   `y + x`, which it follows back to `y` forever; `x = x` triggers the same loop).
# Expected: (d/dx, d/dy) = (1.0, 1.0).
import numpy as np



def main(x, y):
    y = y + x
    return y


ARGS = (0.3, 0.7)
