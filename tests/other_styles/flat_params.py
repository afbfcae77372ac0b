"""Flat parameter vectors unpacked by slicing and reshape, the way optimizers want them
(scipy.optimize.minimize, autograd's flatten), and losses written on top of them."""
import numpy as np

from ._registry import entry, V, P, ONEHOT, BITS, LABELS


@entry(V(6 + 2), V(5, 3), V(5, 2))
def linear_flat(params, X, Y):
    W = params[:6].reshape(3, 2)
    b = params[6:]
    return np.sum((X @ W + b - Y) ** 2)


@entry(V(3 * 4 + 4 + 4 + 1), V(6, 3), V(6))
def mlp_flat_offsets(theta, X, y):
    k = 0
    W1 = theta[k:k + 12].reshape((3, 4)); k += 12
    b1 = theta[k:k + 4]; k += 4
    w2 = theta[k:k + 4]; k += 4
    b2 = theta[k]
    h = np.tanh(X.dot(W1) + b1)
    return np.mean((h.dot(w2) + b2 - y) ** 2)


@entry(V(2 * 3 + 3), V(4, 2))
def reshape_minus_one(p, X):
    W = p[:6].reshape(-1, 3)
    b = p[6:9]
    return np.sum(np.exp(-(X @ W + b) ** 2))


@entry(V(12), V(4))
def reshape_then_transpose(p, x):
    W = np.reshape(p, (3, 4))
    return np.sum(np.sin(W.T @ W @ x))


@entry(V(8))
def split_halves(params):
    mean, log_std = params[:4], params[4:]
    return np.sum(mean ** 2 * np.exp(-2 * log_std)) + np.sum(log_std)


@entry(V(9))
def split_np_split(params):
    a, b, c = np.split(params, 3)
    return np.sum(a * b) + np.sum(np.cos(c))


@entry(V(10))
def negative_slices(p):
    return np.sum(p[-3:] ** 2) + np.sum(p[:-3] * p[3:]) + p[-1] * p[0]


@entry(V(10))
def strided_slices(p):
    return np.sum(p[::2] * p[1::2]) + np.sum(p[::-1] * np.arange(10))


@entry(V(12))
def column_slices(p):
    A = p.reshape(4, 3)
    return np.sum(A[:, 0] * A[:, 1]) + np.sum(A[1:, 2] ** 2) + np.sum(A[::2, :] ** 3)


@entry(V(3 * 2), V(2 * 2))
def two_flat_vectors(u, v):
    U = u.reshape(3, 2)
    Vm = v.reshape(2, 2)
    return np.sum(np.tanh(U @ Vm) ** 2)


@entry(V(5), V(3))
def concat_then_unpack(a, b):
    p = np.concatenate([a, b])
    W = p[:6].reshape(2, 3)
    return np.sum(W ** 2) + p[6] * p[7]


@entry(V(6), V(4, 2))
def unpack_tuple_from_helper(p, X):
    def unpack(p):
        return p[:4].reshape(2, 2), p[4:]
    W, b = unpack(p)
    return np.sum(np.tanh(X @ W + b))


@entry(V(7), V(5, 2), BITS(5))
def logistic_bias_first(w, X, y):
    b, ws = w[0], w[1:3]
    z = X @ ws + b
    return np.sum(np.log1p(np.exp(-z)) * y + np.log1p(np.exp(z)) * (1 - y)) + np.sum(w[3:] ** 2)


@entry(V(2 * 3 + 3), V(4, 2), ONEHOT(4, 3))
def softmax_regression_flat(params, X, T):
    W = params[:6].reshape(2, 3)
    b = params[6:]
    z = X @ W + b
    z = z - z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return -(logp * T).sum() / len(X)


@entry(V(4 + 4), V(3, 2))
def pack_unpack_roundtrip(p, X):
    W = p[:4].reshape(2, 2)
    q = np.concatenate([W.ravel(), p[4:]])
    W2 = q[:4].reshape(2, 2)
    return np.sum((X @ W2) ** 2) + np.sum(q[4:] ** 2)


@entry(V(6))
def flatten_method(p):
    A = p.reshape(2, 3)
    return np.sum(A.flatten() * np.arange(6.0)) + np.sum(A.ravel() ** 2)


@entry(V(2, 3))
def matrix_to_flat(A):
    f = A.reshape(-1)
    return f @ f + f[0] * f[-1]


@entry(V(4, 3))
def unpack_rows(A):
    a, b, c, d = A
    return np.sum(a * b) + np.sum(c * d)


@entry(V(3))
def unpack_scalars(p):
    a, b, c = p
    return a * b + np.sin(c) * a


@entry(V(9), V(4, 2))
def scipy_style_objective(x, data):
    w = x[:2]
    b = x[2]
    log_sigma = x[3]
    resid = data[:, 1] - (data[:, 0] * w[0] + w[1] * data[:, 0] ** 2 + b)
    n = len(resid)
    return 0.5 * np.sum(resid ** 2) / np.exp(2 * log_sigma) + n * log_sigma + np.sum(x[4:] ** 2)


@entry(V(3 * 3 + 3 * 2), V(5, 3))
def index_offsets_from_shapes(p, X):
    shapes = [(3, 3), (3, 2)]
    start = 0
    mats = []
    for (m, n) in shapes:
        mats.append(p[start:start + m * n].reshape(m, n))
        start += m * n
    h = X
    for W in mats:
        h = np.tanh(h @ W)
    return np.sum(h)


@entry(V(4), V(3))
def kwargs_unpack(w, x):
    def layer(x, W=None, b=0.0):
        return np.tanh(W * x + b)
    return np.sum(layer(x, W=w[:3], b=w[3]))


@entry(V(6))
def reshape_3d(p):
    T = p.reshape(1, 2, 3)
    return np.sum(T[0] ** 2) + np.sum(T[:, 1, :] * T[:, 0, :])


@entry(V(6), V(6))
def dot_of_flats(p, q):
    return np.dot(p, q) ** 2 + np.inner(p, p)


@entry(V(4))
def slice_assign_copy(p):
    q = np.zeros(6)
    q[1:5] = p
    q[0] = p[3]
    return np.sum(q ** 2 * np.arange(1.0, 7.0))


@entry(V(5))
def zeros_like_fill(p):
    out = np.zeros_like(p)
    for i in range(len(p)):
        out[i] = p[i] * (i + 1)
    return np.sum(np.sin(out))


@entry(V(3), V(3))
def stack_params(a, b):
    P = np.stack([a, b], axis=0)
    return np.sum(P[0] * P[1]) + np.sum(P ** 2)


@entry(V(2), V(2))
def vstack_hstack(a, b):
    M = np.vstack([a, b])
    h = np.hstack([a, b])
    return np.sum(M @ M.T) + np.sum(h ** 3)


@entry(V(4))
def r_concat(p):
    q = np.r_[p, p[::-1]]
    return np.sum(q * np.arange(8.0))


@entry(V(3))
def c_columns(p):
    M = np.c_[p, 2 * p]
    return np.sum(M ** 2)


@entry(V(3), V(2))
def r_with_scalar(a, b):
    q = np.r_[a, 1.0, b]
    return np.sum(q ** 2 * np.linspace(1, 2, 6))


@entry(V(5))
def append_insert(p):
    q = np.append(p, p[0] * 2.0)
    return np.sum(q ** 2)


@entry(V(6))
def tile_repeat(p):
    return np.sum(np.tile(p[:2], 3) * p) + np.sum(np.repeat(p[:3], 2) * p)


@entry(V(6))
def pad_params(p):
    q = np.pad(p, 1)
    return np.sum(q[1:] * q[:-1])
