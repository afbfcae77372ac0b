"""A store into an array is seen by every other name of its memory: a row taken by
integer indexing (`row = y[0]`, a view), and a list, tuple or dict holding the array
(`hist.append(state)`, `t = (y, 2.0)`). s2sgrad's backward pass would use those as they
were when made, so a store while one is still read afterwards is refused; a number taken
from a vector (`t = y[0]`, the swap idiom), a slot of a list, and a copy put in a list
stay allowed. Gradients are checked against centered finite differences
(support.numeric)."""
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


# ------------------------------------------------------------- containers holding arrays

def append_the_same_array_each_step(x):
    state = x * 1.0
    hist = []
    for t in range(3):
        state[0] = state[0] * 2.0 + state[1]
        hist.append(state)
    return np.sum(np.stack(hist) * np.arange(3.0)[:, None])


def tuple_holding_a_stored_array(x):
    y = x * 1.0
    t = (y, 2.0)
    y[0] = 5.0
    return np.sum(t[0] * x)


def dict_holding_a_stored_array(x):
    y = x * 1.0
    d = {"a": y}
    y[1] = 5.0
    return np.sum(d["a"] * x)


@pytest.mark.parametrize("f", [append_the_same_array_each_step, tuple_holding_a_stored_array,
                               dict_holding_a_stored_array])
def test_a_store_into_an_array_a_container_holds_and_is_read_is_refused(f):
    with pytest.raises(TransformError, match="which holds it"):
        s2sgrad.grad(f)(np.array([0.5, -0.3, 0.8]))


def append_a_copy_each_step(x):
    state = x * 1.0
    hist = []
    for t in range(3):
        state[0] = state[0] * 2.0 + state[1]
        hist.append(state.copy())
    return np.sum(np.stack(hist) * np.arange(3.0)[:, None])


def append_a_new_array_each_step(x):
    rows = []
    for i in range(3):
        row = np.zeros(2)
        row[0] = x[i] ** 2
        row[1] = x[i] * x[0]
        rows.append(row)
    return np.sum(np.stack(rows) ** 2)


def hold_read_before_the_store(x):
    y = x * 1.0
    t = [y, x]
    s = np.sum(t[0] * t[1])
    y[0] = 5.0
    return s + np.sum(y * x)


@pytest.mark.parametrize("f", [append_a_copy_each_step, append_a_new_array_each_step,
                               hold_read_before_the_store])
def test_copies_new_arrays_and_earlier_reads_are_allowed(f):
    x = np.array([0.5, -0.3, 0.8])
    np.testing.assert_allclose(s2sgrad.grad(f)(x.copy()), numerical_grad(f, (x.copy(),)),
                               rtol=1e-6, atol=1e-8)
    if f is append_a_new_array_each_step:
        return          # (hvp refuses the store into the array its forward pass restores)
    v = np.array([0.3, 1.0, -0.5])
    h = 1e-5
    g = s2sgrad.grad(f)
    np.testing.assert_allclose(s2sgrad.hvp(f)(x.copy(), v),
                               (g(x + h * v) - g(x - h * v)) / (2 * h), rtol=1e-5, atol=1e-7)


# ------------------------------------------------ `c[i] op= e` on an array held by a list

def list_repeating_one_array(x):
    acc = [np.zeros(3)] * 2
    acc[0] += x
    return np.sum(acc[1] * x)


def list_holding_an_array_twice(x):
    y = x * 1.0
    ys = [y, y]
    ys[0] += 1.0
    return np.sum(ys[1] * x)


def list_item_updated_then_its_name_read(x):
    y = x * 1.0
    ys = [y]
    ys[0] *= 2.0
    return np.sum(y * x)


def list_appended_the_same_array_in_a_loop(x):
    base = x * 1.0
    acc = []
    for i in range(2):
        acc.append(base)
    acc[0] += 1.0
    return np.sum(acc[1] * x)


def dict_holding_an_array_twice(x):
    y = x * 2.0
    d = {"a": y, "b": y}
    d["a"] -= 1.0
    return np.sum(d["b"] * x)


@pytest.mark.parametrize("f", [list_repeating_one_array, list_holding_an_array_twice,
                               list_item_updated_then_its_name_read,
                               list_appended_the_same_array_in_a_loop,
                               dict_holding_an_array_twice])
def test_an_item_updated_in_place_that_is_held_elsewhere_is_refused(f):
    with pytest.raises(TransformError, match="changes that array in place"):
        s2sgrad.grad(f)(np.array([0.5, -0.3, 0.8]))


def list_of_separate_arrays_updated(x):
    acc = [np.zeros(3), np.zeros(3)]
    acc[0] += x
    acc[1] += x ** 2
    return np.sum(acc[0] * acc[1])


def list_of_new_arrays_appended_and_updated(x):
    acc = []
    for i in range(2):
        acc.append(x * (i + 1.0))
    for i in range(2):
        acc[i] *= x
    return np.sum(acc[0] * acc[1])


def list_of_numbers_updated(x):
    s = [x[0], x[0], x[1] * 2.0]
    s[0] += 1.0
    s[2] *= s[1]
    return s[0] * s[1] + s[2]


@pytest.mark.parametrize("f", [list_of_separate_arrays_updated,
                               list_of_new_arrays_appended_and_updated,
                               list_of_numbers_updated])
def test_items_held_once_or_numbers_are_updated(f):
    x = np.array([0.5, -0.3, 0.8])
    np.testing.assert_allclose(s2sgrad.grad(f)(x.copy()), numerical_grad(f, (x.copy(),)),
                               rtol=1e-6, atol=1e-8)
    value, _ = s2sgrad.value_and_grad(f)(x.copy())
    assert value == f(x.copy())


# ------------------------------------------- vjp: saved views of an array stored into

def shifted_product(x):
    y = x.copy()
    y[1:] = y[1:] * y[:-1]
    return np.cumsum(y)


def column_scaled(x):
    y = x * 2.0
    y[:, 0] *= x[:, 1]
    return y.T @ x


def _jacobian_fd(f, x, h=1e-6):
    cols = []
    for k in range(x.size):
        e = np.zeros_like(x)
        e.flat[k] = h
        cols.append(((f(x + e) - f(x - e)) / (2 * h)).ravel())
    return np.array(cols).T


@pytest.mark.parametrize("f, shape", [(shifted_product, (4,)), (column_scaled, (3, 2))])
def test_vjp_pullback_of_views_of_a_stored_array(f, shape):
    """The pullback runs on a copy of what the forward pass saved; a saved view
    (`y[1:]`) must stay a view of the copy of `y`, which the backward pass restores."""
    rng = np.random.default_rng(9)
    x = rng.normal(size=shape)
    value, pullback = s2sgrad.vjp(f)(x.copy())
    np.testing.assert_array_equal(value, f(x.copy()))
    ct = rng.normal(size=np.shape(value))
    want = (ct.ravel() @ _jacobian_fd(f, x)).reshape(shape)
    for _ in range(2):                         # (the pullback can be called again)
        np.testing.assert_allclose(pullback(ct), want, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(s2sgrad.jacobian(f)(x.copy()).reshape(-1, x.size),
                               _jacobian_fd(f, x), rtol=1e-6, atol=1e-8)


# ------------------------------- `v op= e` on a value made anew earlier in the same step

_X = np.random.default_rng(15).normal(size=(5, 4))
_Y = np.array([0, 2, 1, 2, 0])


def softmax_loss_naive(W):
    """cs231n's loop: `f` is made anew each step, so what an earlier step made from it
    (`f[_Y[i]]`) holds another object than the one `f -= ...` changes."""
    loss = 0.0
    for i in range(5):
        f = _X[i].dot(W)
        f -= np.max(f)
        loss += -f[_Y[i]] + np.log(np.sum(np.exp(f)))
    return loss / 5


def test_an_update_of_a_value_made_anew_in_the_step():
    W = np.random.default_rng(16).normal(size=(4, 3)) * 0.1
    np.testing.assert_allclose(s2sgrad.grad(softmax_loss_naive)(W.copy()),
                               numerical_grad(softmax_loss_naive, (W.copy(),)),
                               rtol=1e-6, atol=1e-8)


def alias_kept_for_the_next_step(w):
    keep = w * 0.0
    tot = 0.0
    for i in range(3):
        f = w * (i + 1.0)
        tot = tot + np.sum(keep * f)
        keep = f
        f *= 2.0
    return tot


def test_an_alias_made_in_the_step_and_read_in_the_next_is_still_refused():
    with pytest.raises(TransformError, match="changes `f` in place"):
        s2sgrad.grad(alias_kept_for_the_next_step)(np.ones(4))
