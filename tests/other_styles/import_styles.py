"""The ways people import NumPy (`from numpy import sin`, `import numpy.linalg as la`,
`from numpy.linalg import solve`, a second alias) and functions that change their
arguments in place, as plain NumPy allows."""
import numpy as np
import numpy.linalg as la
import numpy as onp
from numpy import sin, cos, exp, log, sqrt, tanh, dot, sum as npsum
from numpy.linalg import solve, inv, det, norm

from ._registry import entry, V, P, WELL, SPD


@entry(V(4))
def from_numpy_import(x):
    return npsum(sin(x) * cos(x) + exp(-x ** 2))


@entry(P(4))
def from_numpy_import_log_sqrt(x):
    return npsum(log(x) * sqrt(x)) + dot(x, x)


@entry(V(3, 3), V(3))
def from_numpy_import_tanh_dot(W, x):
    return npsum(tanh(dot(W, x)) ** 2)


@entry(WELL(3), V(3))
def from_linalg_import(A, b):
    return npsum(solve(A, b) ** 2) + npsum(inv(A)) + log(abs(det(A))) + norm(b)


@entry(WELL(3), V(3))
def linalg_module_alias(A, b):
    return np.sum(la.solve(A, b)) + la.norm(A @ b) + la.slogdet(A @ A.T)[1]


@entry(V(4))
def second_numpy_alias(x):
    return onp.sum(onp.sin(x) ** 2) + np.sum(onp.exp(x))


@entry(V(4))
def builtin_sum_and_numpy_sum(x):
    return npsum(x ** 2) + sum([x[0], x[1]])


@entry(V(4))
def setitem_on_argument(x):
    x[0] = 0.0
    return np.sum(x ** 2)


@entry(V(4))
def iadd_on_argument(x):
    x += 1.0
    return np.sum(x ** 2)


@entry(V(4))
def imul_slice_of_argument(x):
    x[1:3] *= 2.0
    return np.sum(x ** 2)


@entry(V(2, 3))
def inplace_row_of_argument(A):
    A[0] = A[0] * 3.0
    return np.sum(A ** 2)
