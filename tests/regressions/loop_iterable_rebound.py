# Found by hand.  A loop over a sequence, or over the bounds of range(), that its body
# rebinds (`for v in xs: xs = ...`, `for i in range(n): n = ...`): Python iterates over
# the first value, the normalized index loop read the rebound name at every step (the
# value itself was wrong, and the backward loop ran over the new bound).
# value: s2sgrad 90.2, main returns 16.0
# d/dx: s2sgrad [178.7 4. 16. 64.] vs finite differences [30.3 3.5 5.5 8.]
# d/dy: s2sgrad 2.2 vs finite differences 1.4
import numpy as np


def main(x, y):
    s = 0.0
    n = 3
    for i in range(n):
        n = 1
        s = s + x[i] * n * y
    for v in x:
        x = x * 2.0
        s = s + v * x[0]
    return s


ARGS = (np.array([0.5, -1.3, 2.2, 0.9]), 1.5, )
