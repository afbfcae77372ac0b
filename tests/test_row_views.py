"""A row of a matrix taken by integer indexing (`row = y[0]`) is a view: a later store
into the matrix changes it. s2sgrad's backward pass would use the row as it was when
taken, so a store into the matrix while the row is still read is refused; a number
taken from a vector (`t = y[0]`, the swap idiom) is a copy and stays allowed.
Gradients are checked against centered finite differences (support.numeric)."""
import numpy as np
import pytest

import s2sgrad
from s2sgrad import TransformError
from support.numeric import numerical_grad

M = np.array([[1.0, 2.0], [3.0, 4.0]])


def row_then_store(x):
    y = x * 1.0
    row = y[0]
    y[0, 1] = 10.0
    return np.sum(row * x[0])


def row_by_index_in_loop(x):
    y = x * 1.0
    for i in range(2):
        r = y[i]
        y[i, 1] = 0.0
        x = x + r[0]
    return np.sum(x * y)


def test_row_read_after_a_store_into_its_matrix_is_refused():
    with pytest.raises(TransformError, match="a view of it"):
        s2sgrad.grad(row_then_store)(M.copy())


def test_row_read_after_a_store_in_a_loop_is_refused():
    with pytest.raises(TransformError, match="a view of it"):
        s2sgrad.grad(row_by_index_in_loop)(M.copy())


def vector_swap(x):
    y = x.copy()
    t = y[0]
    y[0] = y[2]
    y[2] = t
    return np.sum(y * np.arange(3.0))


def vector_swap_unknown_shape(x):
    y = np.concatenate([x, x ** 2])
    t = y[0]
    y[0] = y[2]
    y[2] = t
    return np.sum(y * np.arange(6.0))


def matrix_element_swap(x):
    y = x * 1.0
    t = y[0, 1]
    y[0, 1] = y[1, 0]
    y[1, 0] = t
    return np.sum(y * np.arange(4.0).reshape(2, 2))


def row_read_before_the_store(x):
    y = x * 1.0
    for i in range(2):
        r = y[i]
        y[i, 0] = r[1] * 2
    return np.sum(y ** 2)


def list_slot_swap(x):
    ys = [x[0] * 1.0, x[1] * 2.0]
    t = ys[0]
    ys[0] = ys[1]
    ys[1] = t
    return np.sum(ys[0] * np.array([1.0, 5.0]))


@pytest.mark.parametrize("f, x", [
    (vector_swap, np.array([1.0, 2.0, 3.0])),
    (vector_swap_unknown_shape, np.array([1.0, 2.0, 3.0])),
    (matrix_element_swap, M),
    (row_read_before_the_store, M),
    (list_slot_swap, M),
])
def test_numbers_and_list_slots_are_copies(f, x):
    g = s2sgrad.grad(f)(x.copy())
    np.testing.assert_allclose(g, numerical_grad(f, (x.copy(),)), rtol=1e-6, atol=1e-8)
