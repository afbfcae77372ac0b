"""`acc += e` after `acc[0]` was read: the item of a vector at an integer position is a
NumPy scalar, a copy no change to `acc` reaches, so the update is differentiated (it was
refused as a possible alias). A row of a matrix (`acc[0]` of a 2-D array) is a view and
stays refused. Checked against centred finite differences."""
import numpy as np
import pytest

import s2sgrad
from s2sgrad.errors import TransformError

from support.numeric import assert_grad_matches

R = np.random.default_rng(41)


def halve_the_first(x):
    acc = np.zeros_like(x)
    for k in range(3):
        acc += x * (k + 1)
        acc[0] = acc[0] * 0.5
    return np.sum(acc * x)


def item_at_two_positions(M):
    acc = M * 1.0
    for k in range(2):
        acc += M
        acc[0, 1] = acc[1, 0] * acc[0, 1]
    return np.sum(acc ** 2)


def row_view(M):
    acc = M * 1.0
    for k in range(2):
        acc += M
        r = acc[0]
        acc[1] = r * 2.0
    return np.sum(acc)


@pytest.mark.parametrize("f, x", [(halve_the_first, R.standard_normal(4)),
                                  (item_at_two_positions, R.standard_normal((2, 3)))],
                         ids=["vector", "matrix"])
def test_differentiated(f, x):
    assert_grad_matches(f, x)


def test_a_row_view_read_afterwards_is_still_refused():
    with pytest.raises(TransformError, match="may share"):
        s2sgrad.grad(row_view)(R.standard_normal((2, 3)))
