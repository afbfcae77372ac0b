"""Operations s2sgrad does not know the derivative of are refused, never constants.

np.r_ / np.c_ and einsum's sublist form are differentiated (checked against finite
differences); an option parameter of a rule, an index, a random draw's parameters or
`and`/`or` reached by a value that depends on the differentiated input is a located
TransformError at transform time (before any call of the function).
"""
import numpy as np
import pytest
from numpy import r_

import s2sgrad
from s2sgrad.errors import TransformError

from support.numeric import assert_grad_matches, numerical_grad

W4 = np.arange(4.0).reshape(2, 2) + 1.0
rng = np.random.default_rng(0)


# ------------------------------------------------------------------ np.r_ and np.c_

def r_twice(x):
    return np.sum(np.r_[x, x] ** 2)


def c_columns(x):
    return np.sum(np.c_[x, x] ** 2 * W4)


def r_mixed(x):
    return np.sum(np.r_[0:3, x, 2.0, x[0]] ** 3 * np.arange(1.0, 8.0))


def r_imported(x):
    return np.sum(r_[x, 1.0] ** 2)


def r_matrices(x):
    return np.sum(np.r_[x, 2 * x] * np.arange(8.0).reshape(4, 2))


def c_matrix_and_vector(x, v):
    return np.sum(np.sin(np.c_[x, v]) * np.arange(6.0).reshape(2, 3))


def r_unpack(theta):
    """A flat parameter vector reassembled with np.r_ (as optimizers' callers do)."""
    a, b = theta[:2], theta[2:]
    return np.sum(np.r_[b, a, b] ** 2 * np.arange(1.0, 5.0))


@pytest.mark.parametrize("f, x", [
    (r_twice, np.array([1.0, -2.0])),
    (r_imported, np.array([1.0, -2.0])),
    (c_columns, np.array([0.5, 1.5])),
    (r_mixed, np.array([1.0, 2.0])),
    (r_matrices, W4),
    (r_unpack, np.array([0.3, -0.7, 1.1])),
])
def test_r_c_gradients(f, x):
    assert_grad_matches(f, x)


def test_r_c_two_inputs():
    assert_grad_matches(c_matrix_and_vector, W4, np.array([0.2, 0.4]), wrt=(0, 1))


def test_r_hessian():
    x = np.array([1.0, 2.0])
    h = s2sgrad.hessian(r_mixed)(x)
    g = s2sgrad.grad(r_mixed)
    expected = np.array([numerical_grad(lambda t: g(t)[i], [x]) for i in range(2)])
    np.testing.assert_allclose(h, expected, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------ einsum sublists

def einsum_transpose(x):
    return np.sum(np.einsum(x, (0, 1), (1, 0)) * np.arange(4.0).reshape(2, 2))


def einsum_list_sublists(x):
    return np.sum(np.einsum(x, [0, 1], [1, 0]) ** 2 * np.arange(4.0).reshape(2, 2))


def einsum_implicit(x):
    return np.sum(np.einsum(x, (0, 1)) * np.arange(4.0).reshape(2, 2))


def einsum_two(x, y):
    return np.sum(np.einsum(x, (0, 1), y, (1, 2), (0, 2)) ** 2)


def einsum_two_implicit(x, y):
    return np.sum(np.sin(np.einsum(x, [0, 1], y, [1, 2])))


@pytest.mark.parametrize("f", [einsum_transpose, einsum_list_sublists, einsum_implicit])
def test_einsum_sublist_one_operand(f):
    assert_grad_matches(f, W4)


@pytest.mark.parametrize("f", [einsum_two, einsum_two_implicit])
def test_einsum_sublist_two_operands(f):
    assert_grad_matches(f, W4, rng.normal(size=(2, 3)), wrt=(0, 1))


# ------------------------------------------------------------------ refusals

def _refused(f, *args, wrt=0, where=None):
    """grad(f) must be refused when it is transformed (the first call), with the
    user's line and a caret, before f itself runs."""
    g = s2sgrad.grad(f, wrt=wrt)
    with pytest.raises(TransformError) as info:
        g(*args)
    text = str(info.value)
    assert "test_unknown_operations.py" in text and "^" in text
    if where:
        assert where in text
    return text


def option_gets_active(x):
    return np.sum(np.full(3, x[0]))        # np.full's fill value: no rule for it


def s_index(x):
    sl = np.s_[x[0]:3]
    return np.sum(x[sl])


def ogrid_of_active(x):
    g = np.ogrid[0:x[0]]
    return np.sum(g * x[0])


def random_location(mu):
    return np.sum(np.random.normal(mu, 1.0) ** 2)


def generator_location(mu):
    r = np.random.default_rng(0)
    return np.sum(r.normal(mu, 1.0) ** 2)


def or_of_active(x):
    y = x or 1.0
    return y * y


def einsum_sublist_not_literal(x, sub):
    return np.sum(np.einsum(x, sub))


def norm_order_active(x):
    return np.linalg.norm(x, ord=x[0] + 2.0)


def clip_bound_active(x):
    return np.sum(np.clip(x, x[0], 2.0))


def arange_start_active(x):
    return np.sum(np.arange(x[0], x[0] + 3.0) * x)


def full_like_value_active(x):
    return np.sum(np.full_like(x, x[0]) * x)


def full_like_shape_only(x):
    return np.sum(np.full_like(x, 2.0) * x)


def test_constant_of_an_active_argument_refused():
    _refused(option_gets_active, np.array([1.0, 2.0]), where="np.full")
    _refused(arange_start_active, np.array([1.0, 2.0, 3.0]), where="np.arange")
    _refused(full_like_value_active, np.array([1.0, 2.0]), where="np.full_like")


def test_option_of_a_rule_refused():
    _refused(norm_order_active, np.array([1.0, 3.0, 1.5]), where="ord=")


def test_a_clip_bound_is_differentiated():
    assert_grad_matches(clip_bound_active, np.array([1.0, 3.0, 1.5]))


def test_full_like_takes_only_the_shape():
    assert_grad_matches(full_like_shape_only, np.array([1.0, 2.0]))


def test_index_objects_refused():
    _refused(s_index, np.array([1.0, 2.0, 3.0]), where="np.s_")
    _refused(ogrid_of_active, np.array([2.0, 3.0]), where="np.ogrid")


def test_random_parameters_refused():
    _refused(random_location, np.array([0.5]), where="random")
    _refused(generator_location, np.array([0.5]))


def test_bool_op_is_a_branch():
    """`x or 1.0` is one of its operands (a branch), not a comparison: its gradient."""
    assert_grad_matches(or_of_active, 2.0)


def test_einsum_sublist_must_be_literal():
    _refused(einsum_sublist_not_literal, W4, [0, 1])


def stopped_option(x):
    return np.sum(np.full(3, s2sgrad.stop_gradient(x[0])) * x)


def test_stop_gradient_is_the_way_out():
    """The hint's escape hatch works: the value is a constant for the gradient."""
    x = np.array([1.5, 2.0, 3.0])
    np.testing.assert_allclose(s2sgrad.grad(stopped_option)(x), np.full(3, 1.5))


def int_index_from_active(x):
    i = int(np.argmax(x))
    return x[i] ** 2


def test_integers_from_active_values_still_index():
    """Integers derived from the input (argmax, int()) carry no gradient: not refused."""
    assert_grad_matches(int_index_from_active, np.array([1.0, 3.0, 2.0]))


def statistics_mean(x):
    import statistics
    return statistics.mean([x[0], x[1] ** 2])


def test_a_standard_library_function_is_a_library_not_user_code():
    """statistics.mean is Python source, but the standard library's: it has no rule, so
    the call is refused where the user wrote it (not inside statistics.py)."""
    with pytest.raises(s2sgrad.TransformError) as info:
        s2sgrad.grad(statistics_mean)(np.array([0.5, 1.5]))
    assert "statistics.mean" in str(info.value)
    assert info.value.filename == __file__


def reshape_by_dims_of_a_helper(X):
    from support.shape_helpers import dims
    n, d = dims(X)
    return np.sum(np.reshape(X, (d, n)) ** 3) + np.sum(np.zeros((n, d)) + X)


def reshape_by_a_varied_helper(X, s):
    from support.shape_helpers import scaled_rows
    k = scaled_rows(X, s)
    return np.sum(np.full(2, k) * X)


def test_a_shape_from_a_helper_of_another_module_is_a_constant():
    """The helper returns X's shape: its own trace shows the result carries no
    gradient, so the reshape it feeds is not refused."""
    X = np.array([[0.5, 1.5], [2.5, 3.5]])
    assert_grad_matches(reshape_by_dims_of_a_helper, X)


def test_a_value_from_a_helper_that_depends_on_the_input_still_reaches_a_cut():
    with pytest.raises(TransformError, match="np.full"):
        s2sgrad.grad(reshape_by_a_varied_helper, wrt=1)(np.ones((2, 2)), 1.0)
