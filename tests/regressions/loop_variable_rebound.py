# Found by hand.  The body of `for i in range(n)` rebinds `i`: the backward loop, which
# rebinds `i` at the top of each step, read the loop's value where the step ended with
# the body's (`x[i]` after `i = 2` took its adjoint at x[loop i]).
# d/dx: s2sgrad [2.8 -3.4 19.7 8.6] vs finite differences [3.6 -3.9 19.2 10.1]
# d/dy: s2sgrad 16.1 vs finite differences 22.6
import numpy as np


def main(x, y):
    loss = 0.0
    for i in range(4):
        loss = loss + x[i] ** 2 * i * y
        i = 2
        loss = loss + x[i] * y
        i += 1
        loss = loss + x[i] * x[0]
    return loss


ARGS = (np.array([0.5, -1.3, 2.2, 0.9]), 1.5, )
