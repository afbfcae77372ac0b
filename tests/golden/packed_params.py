"""Parameters packed in one vector, unpacked by slices and a reshape: the vector's
adjoint is assembled in place, each weight's product writing into its place (`out=`),
the bias's adjoint stored; the slices cover the vector, so it starts uninitialised."""
import numpy as np


def loss(w, x, y):
    W1 = np.reshape(w[:12], (4, 3))
    b1 = w[12:15]
    W2 = w[15:]
    h = np.tanh(x @ W1 + b1)
    return np.sum((h @ W2 - y) ** 2)


_RNG = np.random.default_rng(0)
FUNCTION = loss
WRT = 0
CASES = {"arrays": (_RNG.normal(size=18) * 0.5, _RNG.normal(size=(5, 4)),
                    _RNG.normal(size=5))}
