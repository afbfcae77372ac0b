"""The NumPy idioms of loss functions: logsumexp by hand, softmax and cross-entropy,
np.where and masks, integer-array indexing, methods (x.sum(axis=1), x.T), keepdims."""
import numpy as np

from ._registry import entry, V, P, AWAY, DISTINCT, LABELS, ONEHOT, BITS, U


@entry(V(5))
def logsumexp_by_hand(x):
    m = np.max(x)
    return m + np.log(np.sum(np.exp(x - m)))


@entry(V(3, 4))
def logsumexp_rows(a):
    m = a.max(axis=1, keepdims=True)
    return np.sum(m + np.log(np.exp(a - m).sum(axis=1, keepdims=True)))


@entry(V(3, 4))
def logsumexp_no_keepdims(a):
    m = np.max(a, axis=1)
    return np.sum(m + np.log(np.sum(np.exp(a - m[:, None]), axis=1)))


@entry(V(4, 3))
def logsumexp_axis0(a):
    m = np.amax(a, axis=0)
    return np.sum(np.log(np.sum(np.exp(a - m), axis=0)) + m)


@entry(V(5))
def softmax_vector(z):
    e = np.exp(z - np.max(z))
    p = e / e.sum()
    return np.sum(p * np.arange(5.0))


@entry(V(4, 3), LABELS(4, 3))
def cross_entropy_int_labels(logits, y):
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return -np.mean(logp[np.arange(len(y)), y])


@entry(V(4, 3), ONEHOT(4, 3))
def cross_entropy_onehot(logits, T):
    p = np.exp(logits) / np.sum(np.exp(logits), axis=1, keepdims=True)
    return -np.sum(T * np.log(p))


@entry(V(3, 2), V(5, 3), LABELS(5, 2))
def softmax_classifier(W, X, y):
    scores = X.dot(W)
    scores -= np.max(scores, axis=1, keepdims=True)
    probs = np.exp(scores) / np.sum(np.exp(scores), axis=1, keepdims=True)
    correct = -np.log(probs[range(X.shape[0]), y])
    return np.sum(correct) / X.shape[0] + 0.5 * 1e-3 * np.sum(W * W)


@entry(V(6), BITS(6))
def binary_cross_entropy(z, y):
    p = 1.0 / (1.0 + np.exp(-z))
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))


@entry(V(6), BITS(6))
def bce_with_logits_stable(z, y):
    return np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))))


@entry(AWAY(6))
def where_relu(x):
    return np.sum(np.where(x > 0, x, 0.01 * x) ** 2)


@entry(AWAY(6))
def where_two_branches(x):
    return np.sum(np.where(x > 0, np.sqrt(np.abs(x)), np.exp(x)))


@entry(AWAY(5), V(5))
def where_select_between_args(a, b):
    return np.sum(np.where(a > 0, a * b, b ** 2))


@entry(AWAY(6))
def boolean_mask_sum(x):
    mask = x > 0
    return np.sum(x[mask] ** 2) - np.sum(x[~mask])


@entry(AWAY(6))
def boolean_mask_multiply(x):
    mask = (x > 0).astype(float)
    return np.sum(mask * x ** 2)


@entry(AWAY(3, 4))
def boolean_mask_2d(A):
    return np.sum(A[A > 0.5]) + np.mean(A[A < 0] ** 2)


@entry(V(6))
def integer_index_array(x):
    idx = np.array([0, 2, 2, 5])
    return np.sum(x[idx] ** 2)


@entry(V(4, 3))
def fancy_index_rows(A):
    rows = [0, 2, 3]
    return np.sum(A[rows] ** 2) + np.sum(A[[1, 3], [0, 2]])


@entry(V(4, 3))
def take_along(A):
    idx = np.array([[0], [2], [1], [0]])
    return np.sum(np.take_along_axis(A, idx, axis=1) ** 2) + np.sum(np.take(A, [1, 5, 7]))


@entry(DISTINCT(6))
def argmax_index(x):
    i = np.argmax(x)
    return x[i] ** 2 + x[np.argmin(x)]


@entry(DISTINCT(5))
def sort_values(x):
    s = np.sort(x)
    return np.sum(s * np.arange(5.0))


@entry(V(3, 4))
def method_calls(A):
    return A.sum(axis=1).dot(A.mean(axis=1)) + A.T.sum() + A.var() + A.std(axis=0).sum()


@entry(V(3, 4))
def method_prod_cumsum(A):
    return A.prod() + np.sum(A.cumsum(axis=1) ** 2) + np.sum(np.cumprod(A[0]))


@entry(V(3, 4))
def keepdims_normalize(A):
    mu = A.mean(axis=0, keepdims=True)
    sd = A.std(axis=0, keepdims=True)
    Z = (A - mu) / sd
    return np.sum(Z ** 3)


@entry(V(4, 3), P(3), V(3))
def batchnorm(X, gamma, beta):
    mu = np.mean(X, axis=0)
    var = np.var(X, axis=0)
    Xh = (X - mu) / np.sqrt(var + 1e-5)
    return np.sum((gamma * Xh + beta) ** 2 * np.arange(12.0).reshape(4, 3))


@entry(V(3, 4))
def layernorm(X):
    mu = X.mean(-1, keepdims=True)
    var = ((X - mu) ** 2).mean(-1, keepdims=True)
    return np.sum(np.tanh((X - mu) / np.sqrt(var + 1e-5)))


@entry(V(3), V(4))
def broadcasting_outer(a, b):
    return np.sum(np.sin(a[:, None] * b[None, :]))


@entry(V(3, 1), V(1, 4))
def broadcasting_shapes(a, b):
    return np.sum((a + b) ** 2 * (a - b))


@entry(V(2, 3))
def newaxis_and_expand(A):
    return np.sum(A[:, np.newaxis, :] * A[np.newaxis, :, :]) + np.sum(np.expand_dims(A, 0) ** 2)


@entry(V(2, 3))
def squeeze_transpose(A):
    B = A.reshape(1, 2, 3)
    return np.sum(np.squeeze(B, 0).T @ A) + np.sum(np.transpose(B, (2, 1, 0)) ** 2)


@entry(V(2, 3, 4))
def swapaxes_moveaxis(A):
    return np.sum(np.swapaxes(A, 0, 2) * np.moveaxis(A, 0, -1).transpose(1, 0, 2))


@entry(U(5, lo=-2, hi=2))
def clip_values(x):
    return np.sum(np.clip(x, -1.5, 1.5) ** 2) if np.all(np.abs(np.abs(x) - 1.5) > 0.05) else 0.0


@entry(AWAY(5))
def maximum_minimum(x):
    return np.sum(np.maximum(x, 0.0) - np.minimum(x, 0.0) * 2.0)


@entry(DISTINCT(5), V(5))
def maximum_two_arrays(a, b):
    return np.sum(np.maximum(a, b + 100.0) + np.minimum(a, b - 100.0))


@entry(AWAY(5))
def abs_sign(x):
    return np.sum(np.abs(x) * np.sign(x) ** 2) + np.sum(np.fabs(x))


@entry(P(5))
def power_family(x):
    return np.sum(np.power(x, 2.5) + x ** -1 + np.sqrt(x) ** 3 + np.reciprocal(x))


@entry(V(5))
def trig_family(x):
    return np.sum(np.sin(x) * np.cos(x) + np.tan(x * 0.3) + np.arctan(x) + np.sinh(x) / np.cosh(x))


@entry(U(5, lo=-0.8, hi=0.8))
def inverse_trig_family(x):
    return np.sum(np.arcsin(x) + np.arccos(x) * x + np.arctanh(x))


@entry(V(5))
def exp_log_family(x):
    return np.sum(np.exp2(x) + np.log(np.exp(x) + 1.0) + np.log2(x ** 2 + 1) + np.log10(x ** 2 + 2))


@entry(V(4, 3))
def mean_var_std_axes(A):
    return np.sum(np.mean(A, axis=1) ** 2) + np.sum(np.var(A, axis=0)) + np.std(A)


@entry(V(4, 3))
def sum_over_tuple_axes(A):
    B = A.reshape(2, 2, 3)
    return np.sum(np.sum(B, axis=(0, 2)) ** 2) + np.sum(B.sum((1,)) ** 3)


@entry(V(6))
def diff_and_cumsum(x):
    return np.sum(np.diff(x) ** 2) + np.sum(np.cumsum(x) * 0.1)


@entry(V(3, 3))
def flip_roll(A):
    return np.sum(np.flip(A, 0) * A) + np.sum(np.roll(A, 1, axis=1) * A) + np.sum(np.fliplr(A) ** 2)


@entry(V(3), V(3))
def dot_vs_sum_product(a, b):
    return (a * b).sum() ** 2 + np.dot(a, b)


@entry(V(5))
def nan_free_std(x):
    return np.std(x) / (np.mean(np.abs(x)) + 1.0)


@entry(V(4))
def linspace_weights(x):
    w = np.linspace(0.0, 1.0, len(x))
    return np.sum(w * x ** 2) + np.sum(np.arange(len(x)) * x)


@entry(V(4), V(4))
def ones_zeros_full(a, b):
    return np.sum(np.ones_like(a) * a + np.full(4, 2.0) * b + np.zeros(4))


@entry(V(3, 3))
def eye_identity(A):
    return np.sum((A - np.eye(3)) ** 2) + np.sum(np.identity(3) @ A)


@entry(V(6))
def mean_weighted_average(x):
    w = np.array([1.0, 2.0, 3.0, 1.0, 2.0, 3.0])
    return np.average(x ** 2, weights=w) + np.mean(x)


@entry(V(3, 4))
def max_with_keepdims_method(A):
    return np.sum(A - A.max(1, keepdims=True)) + np.sum(A.min(axis=0))


@entry(V(5))
def x_negative_and_pos(x):
    return np.sum(np.negative(x) * np.positive(x)) + np.sum(-x + +x * 2)


@entry(V(5), V(5))
def ufunc_calls(a, b):
    return np.sum(np.add(a, b) * np.subtract(a, b) + np.multiply(a, b) / np.add(np.square(b), 1.0))


@entry(V(5))
def augmented_assign_array(x):
    y = x.copy()
    y *= 2.0
    y += x ** 2
    y -= 1.0
    y /= 3.0
    return np.sum(y ** 2)


@entry(V(4))
def array_setitem_scale(x):
    y = np.array(x)
    y[0] = y[0] * 3.0
    y[1:3] *= 2.0
    return np.sum(y ** 2)


@entry(V(3, 3))
def triu_indices(A):
    iu = np.triu_indices(3, 1)
    return np.sum(A[iu] ** 2)


@entry(V(4))
def concatenate_axis(x):
    M = np.concatenate([x[None, :], x[None, ::-1]], axis=0)
    return np.sum(M @ M.T)


@entry(V(4))
def hstack_single(x):
    return np.sum(np.hstack([x]) ** 2)


@entry(V(7))
def array_split_unequal(x):
    parts = np.array_split(x, 3)
    return sum(np.sum(p ** 2) * (i + 1) for i, p in enumerate(parts))


@entry(V(4))
def power_zero_exponent(x):
    return np.sum(np.power(x, 0.0) * x)


@entry(V(3, 1))
def std_over_length_one_axis(A):
    return np.sum(A ** 2) + np.sum(np.std(A, axis=1))


@entry(V(5))
def prod_loop_vs_prod(x):
    return np.prod(x) + np.prod(x[:3] + 2.0)


@entry(V(6))
def reshape_order_F(x):
    A = x.reshape((2, 3), order='F')
    return np.sum(A[0] * A[1] ** 2)
