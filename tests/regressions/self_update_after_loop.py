# Found by the differential fuzzer (tests/test_fuzz.py), minimized by hand.
# Status: passes since the compiler fixes that followed its discovery
# (kept as a permanent regression test).
# Observed when found: gradient (0.0, 0.0) -- silently wrong.  The generated backward pass for
#   the top-level `v = v * 3.0` (v is also assigned inside the loop, so it is not
#   renamed) reads `v_bar = v_bar + v_bar * 3.0; v_bar = 0.0`, which throws the
#   adjoint away.  The same happens when the self-update comes *before* the loop
#   (`a = a * 3.0; v = a; for ...: a = a * 0.5; return v` gives 0 instead of 6).
# Expected: (d/dx, d/dy) = (1.5, 0.0).
import numpy as np



def main(x, y):
    v = x
    for i in range(1):
        v = v * 0.5
    v = v * 3.0
    return v


ARGS = (0.3, 0.7)
