# Found by tests/test_fuzz.py (S2SGRAD_FUZZ_EXAMPLES long mode).
# Checked by tests/test_regressions.py: gradient of main at ARGS vs finite
# differences.  Failure when found:
# s2sgrad raised:
# Traceback (most recent call last):
#   File "/work/main/s2sgrad/runtime.py", line 239, in unreduce
#     g = np.expand_dims(g, axes)
#         ^^^^^^^^^^^^^^^^^^^^^^^
#   File "/work/main/.venv/lib/python3.11/site-packages/numpy/lib/_shape_base_impl.py", line 597, in expand_dims
#     axis = normalize_axis_tuple(axis, out_ndim)
#            ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
#   File "/work/main/.venv/lib/python3.11/site-packages/numpy/_core/numeric.py", line 1480, in normalize_axis_tuple
#     axis = tuple(normalize_axis_index(ax, ndim, argname) for ax in axis)
#            ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
#   File "/work/main/.venv/lib/python3.11/site-packages/numpy/_core/numeric.py", line 1480, in <genexpr>
#     axis = tuple(normalize_axis_index(ax, ndim, argname) for ax in axis)
#                  ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
# numpy.exceptions.AxisError: axis 1 is out of bounds for array of dimension 1
import math
import numpy as np


def h0(p):
    if p > 0.3:
        t0 = p
    else:
        t0 = p
    return p + p


def h1(p):
    t0 = 0.1
    t1 = t0
    return t0


def main(x, y):
    v0 = np.sum(y, axis=1)
    for i0 in range(1):
        v1 = x
        if 0.1 > 0.3:
            v0 = v0
        else:
            v0 = np.sum(y, axis=1)
        v0 = v0 * 0.9 + np.sin(v0)
    return np.sum(v0)


ARGS = (np.array([0.0, 0.0, 0.0]), np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]), )
