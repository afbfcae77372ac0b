# Found by hand (an autograd-style scatter).  `z[IDX] += v` with a position repeated in
# IDX keeps one write per position (NumPy's buffered assignment, not np.add.at); the
# adjoint gave every write the position's adjoint.
# d/dx: s2sgrad [-0.45 9.9 9.9 4.05 -0.45] vs finite differences [0. 0. 9.9 4.05 -0.45]
# d/dy: s2sgrad 8.25 vs finite differences 16.98
import numpy as np

IDX = np.array([0, 2, 2, 4, 0])


def main(x, y):
    z = np.zeros(5)
    z[IDX] += x * y
    return np.sum(z ** 2)


ARGS = (np.array([0.5, -1.3, 2.2, 0.9, -0.1]), 1.5, )
