# Found by tests/test_fuzz.py (S2SGRAD_FUZZ_EXAMPLES long mode).
# Checked by tests/test_regressions.py: gradient of main at ARGS vs finite
# differences.  Failure when found:
# s2sgrad raised:
# Traceback (most recent call last):
#   File "/work/main/s2sgrad/api.py", line 333, in __call__
#     value, grads = fn(*args, **kwargs)
#                    ^^^^^^^^^^^^^^^^^^^
#   File "<s2sgrad fuzzprog_3406_caefee91a715.py:10 main d85be72052>", line 110, in value_and_grad_main
#     x_bar = unbroadcast(x_bar_h0 * v0, x)
#             ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
#   File "/work/main/s2sgrad/runtime.py", line 43, in unbroadcast
#     axes = tuple(i for i, n in enumerate(xs) if n == 1 and np.shape(g)[i] != 1)
#            ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
#   File "/work/main/s2sgrad/runtime.py", line 43, in <genexpr>
#     axes = tuple(i for i, n in enumerate(xs) if n == 1 and np.shape(g)[i] != 1)
#                                                            ~~~~~~~~~~~^^^
# IndexError: tuple index out of range
import math
import numpy as np


def h0(p, q):
    t0 = q
    return p


def main(x, y):
    if 0.1 > 0.3:
        x = x
        v0 = 0.1
    else:
        v1 = 0.1
        x = x
        v0 = v1
    v0 = y @ y
    x = v0 * x
    v2 = h0(y, x)
    return np.sum(v2) + v0


ARGS = (np.array([[0.0, 0.0, 0.0]]), np.array([0.0, 0.0, 0.0]), )
