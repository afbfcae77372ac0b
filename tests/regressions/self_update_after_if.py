# Found by the differential fuzzer (tests/test_fuzz.py), minimized by hand.
# Status: passes since the compiler fixes that followed its discovery
# (kept as a permanent regression test).
# Observed when found: gradient (0.0, 1.0) -- silently wrong.  x is reassigned in an if/else, so
#   it is saved/restored rather than renamed; the backward pass of the later
#   top-level `x = x * 1.0` becomes `x_bar = 0.0` (the adjoint of `x * x` is dropped).
#   Probably the same root cause as self_update_after_loop.py.
# Expected: (d/dx, d/dy) = (5.4, 1.0)  (x -> 3x, result 9x^2 + y at x = 0.3).
import numpy as np



def main(x, y):
    if x > 10.0:
        x = x * 2.0
    else:
        x = x * 3.0
    x = x * 1.0
    return x * x + y


ARGS = (0.3, 0.7)
