"""np.linalg, einsum and dot products in losses: regression, Gaussians, kernels."""
import numpy as np

from ._registry import entry, V, P, SPD, WELL, AWAY


@entry(V(3), V(6, 3), V(6))
def least_squares(w, X, y):
    r = X @ w - y
    return r @ r


@entry(V(3), V(6, 3), V(6))
def least_squares_norm(w, X, y):
    return np.linalg.norm(X.dot(w) - y) ** 2


@entry(V(3), V(6, 3), V(6))
def least_squares_norm_unsquared(w, X, y):
    return np.linalg.norm(X.dot(w) - y)


@entry(WELL(3), V(3))
def solve_loss(A, b):
    x = np.linalg.solve(A, b)
    return np.sum(x ** 2)


@entry(WELL(3), V(3, 2))
def solve_matrix_rhs(A, B):
    return np.sum(np.linalg.solve(A, B))


@entry(WELL(3))
def inv_trace(A):
    return np.trace(np.linalg.inv(A))


@entry(WELL(3))
def inv_sum(A):
    return np.sum(np.linalg.inv(A) @ A.T)


@entry(WELL(3))
def det_log(A):
    return np.log(np.abs(np.linalg.det(A)))


@entry(WELL(3))
def det_plain(A):
    return np.linalg.det(A)


@entry(SPD(3))
def slogdet_logdet(S):
    sign, logdet = np.linalg.slogdet(S)
    return logdet


@entry(SPD(3))
def slogdet_index(S):
    return np.linalg.slogdet(S)[1] * 2.0


@entry(SPD(3), V(3))
def gaussian_nll(S, x):
    sign, logdet = np.linalg.slogdet(S)
    return 0.5 * x @ np.linalg.solve(S, x) + 0.5 * logdet + 1.5 * np.log(2 * np.pi)


@entry(SPD(3), V(3))
def gaussian_nll_inv(S, x):
    Si = np.linalg.inv(S)
    return 0.5 * np.dot(x, np.dot(Si, x)) + 0.5 * np.log(np.linalg.det(S))


@entry(SPD(3))
def cholesky_logdet(S):
    L = np.linalg.cholesky(S)
    return 2.0 * np.sum(np.log(np.diag(L)))


@entry(SPD(3), V(3))
def cholesky_solve_twice(S, b):
    L = np.linalg.cholesky(S)
    z = np.linalg.solve(L, b)
    x = np.linalg.solve(L.T, z)
    return b @ x


@entry(V(3, 3))
def cholesky_of_gram(A):
    S = A @ A.T + 2.0 * np.eye(3)
    L = np.linalg.cholesky(S)
    return np.sum(L)


@entry(V(4))
def norm_vector(x):
    return np.linalg.norm(x)


@entry(V(4))
def norm_ord1(x):
    return np.linalg.norm(x, ord=1) if np.all(np.abs(x) > 0.1) else 0.0


@entry(V(4))
def norm_inf(x):
    return np.linalg.norm(x, np.inf)


@entry(V(3, 3))
def norm_fro(A):
    return np.linalg.norm(A, 'fro') ** 2 + np.linalg.norm(A)


@entry(V(3, 4))
def norm_axis(A):
    return np.sum(np.linalg.norm(A, axis=1))


@entry(V(3, 4))
def norm_axis_keepdims(A):
    return np.sum(A / np.linalg.norm(A, axis=0, keepdims=True))


@entry(V(3), V(3))
def cosine_similarity(a, b):
    return np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b))


@entry(V(3, 4), V(4, 2))
def einsum_matmul(A, B):
    return np.sum(np.einsum('ij,jk->ik', A, B) ** 2)


@entry(V(3, 3))
def einsum_trace(A):
    return np.einsum('ii', A) + np.einsum('ii->', A @ A)


@entry(V(4), V(4))
def einsum_dot(a, b):
    return np.einsum('i,i->', a, b) * np.einsum('i,i', a, a)


@entry(V(2, 3, 4), V(2, 4, 5))
def einsum_batched(A, B):
    return np.sum(np.tanh(np.einsum('bij,bjk->bik', A, B)))


@entry(V(3), V(4))
def einsum_outer(a, b):
    return np.sum(np.einsum('i,j->ij', a, b) ** 2)


@entry(V(3, 4))
def einsum_transpose_sum(A):
    return np.sum(np.einsum('ij->ji', A) * np.arange(12.0).reshape(4, 3)) + np.sum(np.einsum('ij->i', A) ** 2)


@entry(V(3, 3))
def einsum_sublist(A):
    return np.sum(np.einsum(A, [0, 1], [1, 0]) * np.arange(9.0).reshape(3, 3))


@entry(V(3, 4), V(4))
def einsum_sublist_two(A, x):
    return np.sum(np.einsum(A, [0, 1], x, [1], [0]) ** 2)


@entry(V(2, 3, 3))
def einsum_ellipsis(A):
    return np.sum(np.einsum('...ii->...i', A) ** 2)


@entry(V(3, 4), V(3, 4))
def frobenius_inner(A, B):
    return np.sum(A * B) + np.trace(A.T @ B)


@entry(V(3, 3))
def matrix_power(A):
    return np.sum(np.linalg.matrix_power(A, 3))


@entry(V(3, 2), V(2, 3))
def matmul_chain(A, B):
    return np.trace(A @ B @ A @ B)


@entry(V(3, 3))
def dot_methods(A):
    return A.dot(A).dot(A.T).sum()


@entry(V(4), V(4, 4))
def quadratic_form(x, M):
    return x @ M @ x


@entry(V(3), V(3))
def outer_product(a, b):
    return np.sum(np.outer(a, b) * np.arange(9.0).reshape(3, 3))


@entry(V(3), V(3))
def cross_product(a, b):
    return np.sum(np.cross(a, b) ** 2)


@entry(V(5), V(5, 3))
def ridge_closed_form(y, X):
    A = X.T @ X + 0.5 * np.eye(3)
    w = np.linalg.solve(A, X.T @ y)
    return np.sum(w ** 2)


@entry(P(3), V(6, 3), V(6))
def weighted_least_squares(d, X, y):
    W = np.diag(d)
    A = X.T @ np.diag(np.ones(6)) @ X + W
    return y @ X @ np.linalg.solve(A, X.T @ y)


@entry(V(4, 3))
def gram_logdet(X):
    K = X @ X.T + np.eye(4)
    return np.linalg.slogdet(K)[1]


@entry(V(2), V(5, 2))
def rbf_kernel_matrix(log_ls, X):
    ls = np.exp(log_ls)
    D = (X[:, None, :] - X[None, :, :]) / ls
    K = np.exp(-0.5 * np.sum(D ** 2, axis=-1)) + 0.1 * np.eye(5)
    return np.linalg.slogdet(K)[1] + np.sum(np.linalg.inv(K))


@entry(V(3, 3))
def diag_extraction(A):
    return np.sum(np.diag(A) ** 2) + np.sum(np.diagonal(A)) + np.sum(np.triu(A)) - np.sum(np.tril(A, -1) ** 2)


@entry(V(4))
def mahalanobis_fixed(x):
    S = np.array([[2.0, 0.3, 0.0, 0.0], [0.3, 1.0, 0.1, 0.0],
                  [0.0, 0.1, 1.5, 0.2], [0.0, 0.0, 0.2, 1.0]])
    return np.sqrt(x @ np.linalg.solve(S, x))


@entry(V(3, 3), V(3))
def power_iteration(A, v):
    B = A @ A.T + np.eye(3)
    for _ in range(4):
        v = B @ v
        v = v / np.linalg.norm(v)
    return v @ B @ v


@entry(V(3))
def rotation_matrix(theta):
    c, s = np.cos(theta[0]), np.sin(theta[0])
    R = np.array([[c, -s], [s, c]])
    p = np.array([theta[1], theta[2]])
    return np.sum((R @ p) ** 3)


@entry(V(2, 2))
def tensordot_loss(A):
    return np.sum(np.tensordot(A, A, axes=1)) + np.tensordot(A, A, axes=2)


@entry(V(3), V(3))
def vdot_kron(a, b):
    return np.vdot(a, b) + np.sum(np.kron(a, b) ** 2)


@entry(V(3, 3))
def pinv_loss(A):
    return np.sum(np.linalg.pinv(A + 2 * np.eye(3)))


@entry(SPD(3))
def eigh_sum(S):
    w, v = np.linalg.eigh(S)
    return np.sum(w ** 2)
