"""`runtime.extremum_grad`, the adjoint of max/min reductions: one extreme per
reduction takes the whole adjoint (the fast path, no counts along the axis); ties share
it equally; a NaN (which matches nothing) gives NaN, as before. Closed forms, and a
k-means loss against centred finite differences."""
import numpy as np
import pytest

import s2sgrad
from s2sgrad.runtime import extremum_grad

from support.numeric import assert_grad_matches


def test_one_extreme_per_row_takes_the_whole_adjoint():
    x = np.array([[3.0, 1.0, 2.0], [0.5, 4.0, 4.5]])
    got = extremum_grad(np.array([2.0, 3.0]), x.min(axis=1), x, 1, False)
    np.testing.assert_array_equal(got, [[0.0, 2.0, 0.0], [3.0, 0.0, 0.0]])


def test_ties_share_equally():
    x = np.array([[1.0, 1.0, 3.0], [2.0, 5.0, 5.0]])
    got = extremum_grad(np.array([1.0, 4.0]), x.max(axis=1), x, 1, False)
    np.testing.assert_array_equal(got, [[0.0, 0.0, 1.0], [0.0, 2.0, 2.0]])


def test_a_tie_beside_a_nan_row_is_still_shared():
    # counts 2 and 0 add up to the number of rows: the fast path must not be taken
    x = np.array([[1.0, 1.0, 3.0], [np.nan, 2.0, 0.5]])
    with np.errstate(invalid="ignore"):
        got = extremum_grad(np.array([1.0, 1.0]), np.min(x, axis=1), x, 1, False)
    np.testing.assert_array_equal(got[0], [0.5, 0.5, 0.0])
    assert np.all(np.isnan(got[1]))


@pytest.mark.parametrize("keepdims", [False, True])
def test_keepdims_and_whole_reductions(keepdims):
    x = np.array([[3.0, 7.0], [7.0, 1.0]])
    y = np.max(x, axis=0, keepdims=keepdims)
    g = np.array([[1.0, 2.0]]) if keepdims else np.array([1.0, 2.0])
    np.testing.assert_array_equal(extremum_grad(g, y, x, 0, keepdims), [[0, 0], [1, 0]] +
                                  np.array([[0, 2], [0, 0]]))
    np.testing.assert_array_equal(extremum_grad(5.0, np.max(x), x), [[0, 2.5], [2.5, 0]])


def test_float32_stays_float32():
    x = np.array([[1.0, 2.0]], dtype=np.float32)
    g = np.array([1.5], dtype=np.float32)
    assert extremum_grad(g, x.max(axis=1), x, 1, False).dtype == np.float32


def kmeans(C, X):
    D2 = np.sum((X[:, None, :] - C[None, :, :]) ** 2, axis=2)
    return np.mean(np.min(D2, axis=1))


def test_kmeans_against_finite_differences():
    rng = np.random.default_rng(3)
    assert_grad_matches(kmeans, rng.standard_normal((4, 2)), rng.standard_normal((30, 2)))
