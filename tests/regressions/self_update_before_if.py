# Found by the differential fuzzer (tests/test_fuzz.py), minimized by hand.
# Status: passes since the compiler fixes that followed its discovery
# (kept as a permanent regression test).
# Observed when found: gradient (1.0, 0.0) -- silently wrong.  y is updated in place
#   (`y = x - y`) and later reassigned under an if, so it is saved/restored rather
#   than renamed; the adjoint of the parameter y and of the new y share `y_bar`
#   and the contribution through v0 is lost.  (The fuzzer also hit the array
#   version of this with a helper call, where it fails with IndexError: pop from
#   empty list.)  Same family as self_update_after_if.py / self_update_after_loop.py.
# Expected: (d/dx, d/dy) = (1.0, -1.0).
import numpy as np



def main(x, y):
    y = x - y
    v0 = y
    if x < 0.3:
        y = v0
    else:
        y = v0 * v0
    return v0


ARGS = (0.1, 0.7)
