"""Array views that alias (in-place updates through a slice or a second name, rows of a
loop), keyword arguments that change what an operation computes (order=, axis=,
offset=, shift tuples), and positional forms of the array methods."""
import numpy as np

from ._registry import entry, V, P, AWAY, DISTINCT, U


@entry(V(4))
def view_slice_inplace(x):
    z = x * 1.0
    v = z[:2]
    v *= 3.0
    return np.sum(z ** 2)


@entry(V(4))
def alias_second_name_inplace(x):
    z = x * 1.0
    w = z
    w += 1.0
    return np.sum(z * z)


@entry(V(3, 2))
def loop_rows_inplace(A):
    B = A * 1.0
    for row in B:
        row *= 2.0
    return np.sum(B ** 2)


@entry(V(4))
def reversed_slice_assign(x):
    z = np.zeros(4)
    z[::-1] = x
    return np.sum(z * np.arange(4.0))


@entry(V(4))
def setitem_duplicates_loop(x):
    z = np.zeros(3)
    for i, j in enumerate([0, 1, 1, 2]):
        z[j] += x[i] ** 2
    return np.sum(z * np.array([1.0, 2.0, 3.0]))


@entry(V(6))
def ravel_order_F(x):
    A = x.reshape(2, 3)
    return np.sum(A.ravel(order='F') * np.arange(6.0))


@entry(V(6))
def flatten_F(x):
    A = x.reshape(2, 3)
    return np.sum(A.flatten('F') * np.arange(6.0))


@entry(V(6))
def np_reshape_order_F(x):
    return np.sum(np.reshape(x, (3, 2), order='F')[:, 0] * np.array([1.0, 2.0, 3.0]))


@entry(V(3, 4))
def methods_positional_axis(A):
    return np.sum(A.sum(0) ** 2) + np.sum(A.mean(-1) ** 3) + np.sum(A.max(0)) + np.sum(A.min(1))


@entry(V(2, 3, 4))
def transpose_methods(A):
    return np.sum(A.transpose(2, 0, 1)[0] * np.arange(6.0).reshape(2, 3)) \
        + np.sum(A.transpose()[1] * np.arange(6.0).reshape(3, 2)) \
        + np.sum(A.T[0] * np.arange(6.0).reshape(3, 2))


@entry(V(3, 3))
def diagonal_offset(A):
    return np.sum(np.diagonal(A, 1) * np.array([1.0, 2.0])) + np.sum(A.diagonal(-1) * np.array([3.0, 5.0]))


@entry(V(3, 3))
def triu_tril_k(A):
    return np.sum(np.triu(A, 1) * np.arange(9.0).reshape(3, 3)) \
        + np.sum(np.tril(A, -1) * np.arange(9.0).reshape(3, 3) ** 2)


@entry(V(3, 4))
def roll_tuple_shift(A):
    return np.sum(np.roll(A, (1, 2), axis=(0, 1)) * np.arange(12.0).reshape(3, 4))


@entry(V(3, 4))
def roll_no_axis(A):
    return np.sum(np.roll(A, 5) * np.arange(12.0).reshape(3, 4))


@entry(V(3, 4))
def flip_no_axis(A):
    return np.sum(np.flip(A) * np.arange(12.0).reshape(3, 4))


@entry(V(3, 4))
def take_axis(A):
    return np.sum(np.take(A, [0, 2, 2], axis=1) * np.arange(9.0).reshape(3, 3))


@entry(V(2, 3))
def concatenate_axis_none(A):
    return np.sum(np.concatenate([A, A ** 2], axis=None) * np.arange(12.0))


@entry(V(3), V(3))
def stack_axis_minus_one(a, b):
    return np.sum(np.stack([a, b], axis=-1) * np.arange(6.0).reshape(3, 2))


@entry(V(2, 3))
def tile_tuple(A):
    return np.sum(np.tile(A, (2, 1)) * np.arange(12.0).reshape(4, 3))


@entry(V(3))
def repeat_array_counts(x):
    return np.sum(np.repeat(x, [1, 2, 3]) * np.arange(6.0))


@entry(V(2, 3))
def repeat_axis(A):
    return np.sum(np.repeat(A, 2, axis=0) * np.arange(12.0).reshape(4, 3))


@entry(V(6))
def diff_n2(x):
    return np.sum(np.diff(x, n=2) * np.arange(4.0))


@entry(V(3, 4))
def diff_axis0(A):
    return np.sum(np.diff(A, axis=0) * np.arange(8.0).reshape(2, 4))


@entry(V(3, 4))
def cumsum_axis0(A):
    return np.sum(np.cumsum(A, axis=0) * np.arange(12.0).reshape(3, 4))


@entry(V(3, 4))
def cumsum_flat(A):
    return np.sum(np.cumsum(A) * np.arange(12.0))


@entry(V(2, 3, 3))
def trace_axes(A):
    return np.sum(np.trace(A, axis1=1, axis2=2) * np.array([1.0, 2.0])) \
        + np.sum(np.trace(A, offset=1, axis1=1, axis2=2))


@entry(V(3, 4), V(4, 2))
def tensordot_axes_lists(A, B):
    return np.sum(np.tensordot(A, B, axes=([1], [0])) * np.arange(6.0).reshape(3, 2))


@entry(V(2, 3), V(3, 2))
def tensordot_axes_zero(a, b):
    return np.sum(np.tensordot(a[0], b[:, 0], axes=0) * np.arange(9.0).reshape(3, 3))


@entry(V(2, 3, 4), V(4, 2))
def matmul_broadcast(A, B):
    return np.sum((A @ B) * np.arange(12.0).reshape(2, 3, 2))


@entry(V(2, 3, 3), V(2, 3))
def solve_batched(A, b):
    M = A + 3.0 * np.eye(3)
    return np.sum(np.linalg.solve(M, b[..., None]) ** 2)


@entry(V(2, 3, 3))
def det_batched(A):
    return np.sum(np.linalg.det(A + 2.0 * np.eye(3)))


@entry(V(3, 4))
def var_axis_ddof(A):
    return np.sum(np.var(A, axis=1, ddof=1) * np.array([1.0, 2.0, 3.0]))


@entry(U(3, 4, lo=-2, hi=2), V(3, 4))
def clip_array_bounds(A, B):
    lo = np.full((3, 4), -5.0)
    return np.sum(np.clip(A, lo, 5.0) * B)


@entry(V(3, 4))
def norm_ord_axis(A):
    return np.sum(np.linalg.norm(A, ord=2, axis=0) * np.arange(4.0))


@entry(V(3, 4))
def mean_dtype(A):
    return np.mean(A, dtype=np.float64) + np.sum(A, dtype=np.float64) * 0.5


@entry(V(3, 4))
def max_initial(A):
    return np.sum(np.max(A, axis=1, initial=-10.0) ** 2)


@entry(V(3, 4))
def sum_where(A):
    mask = np.arange(12).reshape(3, 4) % 2 == 0
    return np.sum(A ** 2, where=mask)


@entry(V(3, 4))
def mean_where(A):
    mask = np.arange(12).reshape(3, 4) % 3 == 0
    return np.mean(A ** 2, where=mask)


@entry(V(2, 3))
def expand_squeeze_axes(A):
    B = np.expand_dims(A, axis=(0, 2))
    return np.sum(np.squeeze(B, axis=(0, 2)) * np.arange(6.0).reshape(2, 3)) + B.shape[2]


@entry(V(2, 3, 4))
def swapaxes_negative(A):
    return np.sum(np.swapaxes(A, -1, 0) * np.arange(24.0).reshape(4, 3, 2))


@entry(V(4))
def none_index_and_ellipsis(x):
    return np.sum(x[None] * x[..., None] * np.arange(4.0))


@entry(V(3, 4))
def mixed_fancy_and_slice(A):
    return np.sum(A[:, [0, 2]] * np.arange(6.0).reshape(3, 2)) + np.sum(A[[0, 2], 1:] ** 2)


@entry(V(3, 4))
def negative_fancy_index(A):
    return np.sum(A[[-1, 0], [-2, 1]] * np.array([2.0, 3.0]))


@entry(AWAY(3, 4))
def mask_with_column(A):
    m = A[:, 0] > 0
    return np.sum(A[m, 1] ** 2) + np.sum(A[1, A[1] > 0])


@entry(V(3, 2))
def iterate_transpose(A):
    s = 0.0
    for col in A.T:
        s = s + np.sum(col) ** 2
    return s


@entry(V(3, 2))
def zip_star_rows(A):
    s = 0.0
    for a, b in zip(*A.T):
        s = s + a * b
    return s


@entry(V(4))
def enumerate_start(x):
    s = 0.0
    for i, v in enumerate(x, start=1):
        s = s + i * v ** 2
    return s


@entry(P(lo=0.5, hi=0.9))
def while_true_break(x):
    y = x
    k = 0
    while True:
        y = y * y + 0.1
        k += 1
        if k >= 4:
            break
    return y


@entry(U(4, lo=0.1, hi=0.9))
def floor_mod(x):
    return np.sum((x * 3.0) % 1.0 * x) + np.sum(np.floor(x * 10.0) * x)


@entry(AWAY(4))
def bool_times_array(x):
    return np.sum((x > 0) * x ** 2) + np.sum(x * (x < 0))


@entry(V(4))
def sort_descending(x):
    return np.sum(np.sort(x)[::-1] * np.arange(4.0))


@entry(V(3, 4))
def sort_axis0(A):
    return np.sum(np.sort(A, axis=0) * np.arange(12.0).reshape(3, 4))


@entry(V(3))
def copy_function(x):
    y = np.copy(x)
    y[0] = 5.0
    return np.sum(y * x)


@entry(V(3))
def dot_with_scalar(x):
    return np.sum(np.dot(2.0, x) ** 2) + np.dot(x[0], x[1])


@entry(V(4), V(4))
def maximum_ties_free(a, b):
    return np.sum(np.fmax(a, b + 5.0) + np.fmin(a, b - 5.0))


@entry(V(3, 4))
def split_axis1(A):
    a, b = np.split(A, 2, axis=1)
    return np.sum(a * b) + np.sum(a ** 2 * np.arange(6.0).reshape(3, 2))


@entry(V(3, 4))
def hsplit_vsplit(A):
    l, r = np.hsplit(A, [1])
    return np.sum(l) * 2.0 + np.sum(r ** 2 * np.arange(9.0).reshape(3, 3))


@entry(V(4))
def nested_list_to_array(x):
    M = np.array([[x[0], x[1]], [x[2], x[3]]]).T
    return np.sum(M * np.array([[1.0, 2.0], [3.0, 4.0]]))


@entry(V(2, 2))
def array_of_arrays(A):
    M = np.array([A[0], A[1] * 2.0, A[0] + A[1]])
    return np.sum(M * np.arange(6.0).reshape(3, 2))


@entry(V(3))
def atleast_2d(x):
    return np.sum(np.atleast_2d(x) * np.arange(3.0)) + np.atleast_1d(x[0])[0] ** 2
