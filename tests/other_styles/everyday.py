"""Everyday habits of people's scripts: prints and asserts left in a loss, docstrings,
models as classes, helpers from another module, array methods, stacking along axes,
ellipsis indexing, ddof, decompositions, local lambdas and argument unpacking."""
import functools

import numpy as np

from ._registry import entry, register, V, P, AWAY, DISTINCT, SPD, WELL, U
from .factories import rbf_covariance


@entry(V(3), V(5, 3), V(5))
def loss_with_print(w, X, y):
    """Mean squared error, with the debugging print people leave in."""
    loss = np.mean((X @ w - y) ** 2)
    print("loss", loss)
    return loss


@entry(V(3))
def loss_with_assert(w):
    assert w.shape == (3,), "bad shape"
    assert np.all(np.isfinite(w))
    return np.sum(np.exp(w))


@entry(V(3))
def loss_with_isinstance(w):
    if isinstance(w, np.ndarray):
        w = w * 2.0
    return np.sum(w ** 2)


@entry(U(lo=0.1, hi=0.9))
def chained_comparison(x):
    if 0.0 < x < 1.0:
        return x * (1 - x)
    return x


@entry(V(3))
def local_lambda(w):
    sq = lambda t: t * t
    return np.sum(sq(w) + sq(w[0]))


@entry(V(3), V(3))
def star_unpacking_call(a, b):
    def f(p, q):
        return np.sum(p * np.sin(q))
    args = (a, b)
    return f(*args)


@entry(V(3))
def partial_helper(w):
    def scaled(x, s):
        return x * s
    g = functools.partial(scaled, s=3.0)
    return np.sum(g(w) ** 2)


@entry(V(1, 2), V(6, 2))
def helper_from_other_module(log_params, X):
    K = rbf_covariance(np.array([0.1, 0.2, -0.3]), X, X)
    return np.sum(K * np.exp(log_params).sum())


@entry(V(3), V(4, 1))
def helper_from_other_module_active(kp, X):
    K = rbf_covariance(kp[:2], X, X) + np.eye(4)
    return np.linalg.slogdet(K)[1]


class LinearModel:
    """A model object holding data; the loss is a method."""

    def __init__(self, X, y, reg):
        self.X = X
        self.y = y
        self.reg = reg

    def predict(self, w):
        return self.X @ w

    def loss(self, w):
        r = self.predict(w) - self.y
        return np.sum(r ** 2) + self.reg * np.sum(w ** 2)


_rng = np.random.default_rng(7)
register(LinearModel(_rng.normal(size=(5, 3)), _rng.normal(size=5), 0.1).loss, V(3),
         name="bound_method_loss")


class Network:
    def __init__(self, sizes):
        self.sizes = sizes

    @staticmethod
    def act(z):
        return np.tanh(z)

    def forward(self, params, x):
        for W in params:
            x = self.act(x @ W)
        return x

    def loss(self, W1, W2, X):
        return np.sum(self.forward([W1, W2], X) ** 2)


register(Network([3, 4, 2]).loss, V(3, 4), V(4, 2), V(5, 3), name="method_calls_method",
         wrt=(0, 1))


@entry(V(2, 3, 4))
def ellipsis_index(A):
    return np.sum(A[..., 0] ** 2) + np.sum(A[0, ...] * A[1, ...])


@entry(V(6))
def middle_slices(x):
    return np.sum(x[1:-1] * x[2:] [::-1][:4]) + np.sum(x[-2::-2])


@entry(V(3, 4))
def negative_axes(A):
    return np.sum(np.sum(A, axis=-1) ** 2) + np.sum(np.mean(A, axis=-2) ** 3)


@entry(V(2, 3, 2))
def mean_tuple_axes(A):
    return np.sum(np.mean(A, axis=(0, 2)) ** 2)


@entry(V(3, 4))
def reshape_from_shape(A):
    B = A.reshape(A.shape[0], -1)
    C = A.reshape(-1)
    return np.sum(B[:, 1:] * B[:, :-1]) + C @ C


@entry(P(4), V(4))
def array_power_array(x, y):
    return np.sum(x ** y)


@entry(P(4), V(4))
def np_power_arrays(x, y):
    return np.sum(np.power(x, y) + np.power(2.0, y))


@entry(V(5))
def var_std_ddof(x):
    return np.var(x, ddof=1) + np.std(x, ddof=1)


@entry(V(3, 4))
def keepdims_sum_then_index(A):
    s = np.sum(A ** 2, keepdims=True)
    return s[0, 0] + A.sum(axis=0, keepdims=True)[0, 1]


@entry(V(3, 3))
def array_methods_many(A):
    return (A.max() + A.min(axis=0).sum() + A.prod(axis=1).sum() + A.cumsum().sum()
            + A.trace() + A.diagonal().sum() + A.clip(-10, 10).sum() + A.mean(axis=0).sum())


@entry(V(1, 3, 1))
def squeeze_method(A):
    return np.sum(A.squeeze() ** 2) + np.sum(A.swapaxes(0, 1) ** 3)


@entry(V(4), V(4))
def stack_axis_one(a, b):
    M = np.stack([a, b], axis=1)
    return np.sum(M @ np.array([1.0, -2.0]) ** 2) + np.sum(M[:, 0] * M[:, 1])


@entry(V(2, 3), V(2, 2))
def concatenate_axis_one(A, B):
    C = np.concatenate([A, B], axis=1)
    return np.sum(C ** 2 * np.arange(10.0).reshape(2, 5))


@entry(V(3), V(3))
def column_stack_dstack(a, b):
    return np.sum(np.column_stack([a, b]) ** 2) + np.sum(np.dstack([a, b]) ** 3)


@entry(V(3))
def one_d_matmul(x):
    A = np.arange(6.0).reshape(3, 2)
    return x @ A @ A.T @ x + x.T @ x + np.matmul(x, x)


@entry(V(4))
def builtin_sum_over_array(x):
    return sum(x ** 2) + sum(np.sin(x))


@entry(AWAY(4))
def builtin_abs_on_array(x):
    return np.sum(abs(x) * x)


@entry(V(3))
def len_times(x):
    return len(x) * np.sum(x ** 2)


@entry(V(4))
def diagonal_fancy_index(x):
    A = np.outer(x, x)
    i = np.arange(4)
    return np.sum(A[i, i]) + np.sum(A[i[:-1], i[1:]])


@entry(V(3))
def list_times_int(x):
    xs = [x] * 3
    return np.sum(sum(xs) ** 2)


@entry(V(3))
def tuple_of_array(x):
    t = tuple(x)
    return t[0] * t[1] + t[2]


@entry(V(3))
def diag_from_vector(v):
    D = np.diag(v)
    return np.sum(D @ D) + np.trace(np.diag(v ** 2), offset=0)


@entry(V(3, 3))
def trace_offset(A):
    return np.trace(A, offset=1) + np.trace(A, 1) * 2.0


@entry(V(3), V(3))
def einsum_implicit(A1, x):
    A = np.outer(A1, A1) + np.eye(3)
    return np.sum(np.einsum('ij,j', A, x) ** 2) + np.einsum('ij,ij->', A, A)


@entry(SPD(3))
def svd_singular_values(S):
    s = np.linalg.svd(S, compute_uv=False)
    return np.sum(s)


@entry(SPD(3))
def eigh_vectors(S):
    w, v = np.linalg.eigh(S)
    return np.sum(w * np.arange(3.0)) + np.sum(v[:, 0] ** 2)


@entry(WELL(3))
def qr_r_diag(A):
    Q, R = np.linalg.qr(A)
    return np.sum(np.log(np.abs(np.diag(R))))


@entry(V(3))
def random_state_inside(w):
    rs = np.random.RandomState(0)
    noise = rs.randn(3)
    return np.sum((w + noise) ** 2)


@entry(V(3))
def default_rng_inside(w):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(4, 3))
    return np.sum(np.tanh(X @ w))


@entry(V(3))
def matrix_2_norm(x):
    A = np.outer(x, x) + np.eye(3)
    return np.linalg.norm(A, 2)


@entry(V(4))
def vector_norm_ord3(x):
    return np.linalg.norm(x, 3)


@entry(V(2, 2, 2))
def dot_3d(A):
    return np.sum(np.dot(A, A))


@entry(P(3))
def power_zero_base(y):
    return np.sum(np.power(0.0, y) + y ** 2)


@entry(V(3))
def std_of_scalar(x):
    return np.sum(x ** 2) + np.std(np.sum(x))


@entry(V(3))
def nested_function_returning_tuple(w):
    def split(w):
        return w[0], w[1:]
    a, rest = split(w)
    return a * np.sum(rest ** 2)


@entry(V(3))
def global_constant_array_read(w):
    return np.sum(w * _CONST) + np.sum(_CONST ** 2)


_CONST = np.array([1.0, -2.0, 0.5])


@entry(V(3))
def try_except_inside(w):
    try:
        v = np.sum(w ** 2)
    except ValueError:
        v = 0.0
    return v


@entry(V(3))
def docstring_and_comments(w):
    """Sum of exponentials.

    Written with a long docstring, as people do.
    """
    # the loss
    total = np.sum(np.exp(w))  # comment at end of line
    return total


@entry(V(3))
def return_tuple_first(w):
    def loss_and_aux(w):
        return np.sum(w ** 2), {"norm": np.linalg.norm(w)}
    return loss_and_aux(w)[0]


@entry(V(3))
def conj_and_real(w):
    return np.sum(np.conj(w) * w) + np.sum(np.real(w) ** 3)


@entry(V(3))
def sinc_radians(w):
    return np.sum(np.sinc(w * 0.3)) + np.sum(np.radians(w) ** 2) + np.sum(np.deg2rad(w))


@entry(V(3, 2))
def meshgrid_free_pairwise(X):
    D = np.sum((X[:, None, :] - X[None, :, :]) ** 2, axis=-1)
    return np.sum(np.exp(-D))


@entry(V(4))
def nonlocal_accumulator(w):
    total = 0.0

    def add(v):
        nonlocal total
        total = total + v
    for i in range(4):
        add(w[i] ** 2)
    return total


@entry(V(3))
def with_errstate(w):
    with np.errstate(divide="ignore"):
        v = np.sum(w ** 2)
    return v
