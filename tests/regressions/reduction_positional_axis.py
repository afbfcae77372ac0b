# Found by the CI run of tests/test_other_styles.py (views_keywords.methods_positional_axis).
# Checked by tests/test_regressions.py: gradient of main at ARGS vs finite differences.
# Failure when found: AxisError, and before that a silently wrong gradient: a reduction
# whose axis is given by position (`A.min(1)`, `np.sum(A, 0)`) was taken for a full
# reduction, so its result was known as a number and the adjoint of the `np.sum` after
# it passed through unchanged.
import numpy as np


def main(x, y):
    a = np.sum(x.min(1)) + np.sum(np.sum(x, 0) * y)
    b = np.sum(x.max(0) ** 2) + np.sum(np.mean(x * y, 1))
    return a + b


ARGS = (np.array([[0.5, -1.2, 2.0], [1.5, 0.3, -0.7]]),
        np.array([[0.2, 0.4, -0.1], [1.1, -0.6, 0.8]]), )
