# Found by hand.  The optimizer's algebra turned the user's `b = a * 1.0` (a new array)
# into `b = a`, so `b[0] = ...` changed `a`, and `x` behind it, in the generated code.
# value: s2sgrad 16.555, main returns 13.555
# d/dx: s2sgrad [4.5 8.07 18.92 4.23] vs finite differences [1.5 8.07 18.92 4.23]
# d/dy: s2sgrad 2.65 vs finite differences 0.65
import numpy as np


def main(x, y):
    a = np.asarray(x)
    b = a * 1.0
    b[0] = y
    c = -(-b)
    c[1] = 2.0 * y
    return np.sum(b * x ** 2) + np.sum(c * b)


ARGS = (np.array([0.5, -1.3, 2.2, 0.9]), 1.5, )
