"""The fifth hunt: short programs written the way other people write differentiable code.

Factories returning closures, flat parameter vectors cut into matrices, dicts, lists,
NamedTuples and dataclasses of parameters, methods, scipy.special, piecewise NumPy,
np.linalg, einsum, label indexing, masks, in-place updates in loops, while loops with
data-dependent stopping, ODE integrators, has_aux, keywords, float32, broadcasting
corners, sorting-based selections. Each program's gradient is checked against centered
finite differences in float64 over every float leaf of the argument differentiated
(containers flattened here, not by s2sgrad), and value_and_grad's value against the
function's own value; a few second-order products against differences of the gradient.
"""
import copy
import dataclasses
import functools
import math
from typing import NamedTuple

import numpy as np
import pytest

import s2sgrad

try:
    import scipy.special as sps
    from scipy.special import logsumexp, expit, gammaln, erf
    import scipy.linalg as sla
except ImportError:  # pragma: no cover
    sps = None


# ----------------------------------------------------------------------------
# the oracle: centered differences over the float leaves of one argument

def _leaf_paths(x, path=()):
    if isinstance(x, dict):
        for k, v in x.items():
            yield from _leaf_paths(v, path + (k,))
    elif isinstance(x, (list, tuple)):
        for i, v in enumerate(x):
            yield from _leaf_paths(v, path + (i,))
    elif dataclasses.is_dataclass(x):
        for fld in dataclasses.fields(x):
            yield from _leaf_paths(getattr(x, fld.name), path + (fld.name,))
    elif isinstance(x, float) or (isinstance(x, np.ndarray) and x.dtype.kind == "f"):
        yield path


def _get(x, path):
    for p in path:
        x = getattr(x, p) if isinstance(p, str) and not isinstance(x, dict) else x[p]
    return x


def _replace(x, path, value):
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(x, dict):
        out = dict(x)
        out[head] = _replace(x[head], rest, value)
        return out
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        return x._replace(**{x._fields[head]: _replace(x[head], rest, value)})
    if isinstance(x, (list, tuple)):
        items = list(x)
        items[head] = _replace(x[head], rest, value)
        return type(x)(items)
    return dataclasses.replace(x, **{head: _replace(getattr(x, head), rest, value)})


def _f64(a):
    if isinstance(a, np.ndarray) and a.dtype.kind == "f":
        return a.astype(np.float64)
    if isinstance(a, (np.floating,)):
        return float(a)
    return a


def _tree64(x):
    paths = list(_leaf_paths(x))
    for p in paths:
        x = _replace(x, p, _f64(_get(x, p)))
    return x


def _scalar(v):
    return float(np.asarray(v).reshape(()))


def fd_grad(f, args, i, h=1e-6):
    """d f / d args[i], a list of (path, gradient of that leaf) in float64."""
    args = [_tree64(copy.deepcopy(a)) for a in args]
    out = []
    for path in _leaf_paths(args[i]):
        leaf = _get(args[i], path)
        if isinstance(leaf, float):
            step = h * max(1.0, abs(leaf))
            hi = list(args); lo = list(args)
            hi[i] = _replace(args[i], path, leaf + step)
            lo[i] = _replace(args[i], path, leaf - step)
            out.append((path, (_scalar(f(*copy.deepcopy(hi))) - _scalar(f(*copy.deepcopy(lo))))
                        / (2 * step)))
            continue
        g = np.zeros(leaf.shape)
        for k in np.ndindex(*leaf.shape):
            step = h * max(1.0, abs(leaf[k]))
            up = leaf.copy(); up[k] += step
            dn = leaf.copy(); dn[k] -= step
            hi = list(args); lo = list(args)
            hi[i] = _replace(args[i], path, up)
            lo[i] = _replace(args[i], path, dn)
            g[k] = (_scalar(f(*copy.deepcopy(hi))) - _scalar(f(*copy.deepcopy(lo)))) \
                / (up[k] - dn[k])
        out.append((path, g))
    return out


def _same_kind(got, arg, where):
    if isinstance(arg, np.ndarray):
        assert isinstance(got, np.ndarray), where
        assert got.shape == arg.shape and got.dtype == arg.dtype, \
            "%s: %s %s vs argument %s %s" % (where, got.shape, got.dtype, arg.shape, arg.dtype)
    else:
        assert isinstance(got, float), "%s: %r" % (where, got)


def check_against_fd(f, args, wrt, got, rtol, atol):
    wrts = wrt if isinstance(wrt, tuple) else (wrt,)
    gots = got if isinstance(wrt, tuple) else (got,)
    for i, g in zip(wrts, gots):
        for path, expected in fd_grad(f, args, i):
            leaf = _get(g, path)
            _same_kind(leaf, _get(args[i], path), "arg %d %s" % (i, path))
            np.testing.assert_allclose(np.asarray(leaf, dtype=np.float64), expected,
                                       rtol=rtol, atol=atol,
                                       err_msg="d/d arg %d %s" % (i, path))


# ----------------------------------------------------------------------------
# the programs

RNG = np.random.default_rng(5)
X_DATA = RNG.normal(size=(6, 3))
Y_DATA = RNG.normal(size=6)
LABELS = np.array([0, 2, 1, 1, 0, 2])
EYE3 = np.eye(3)


def _spd(rng, n):
    a = rng.normal(size=(n, n))
    return a @ a.T + n * np.eye(n)


# factories returning closures

def make_ridge(X, y, lam=0.1):
    def loss(w):
        r = X @ w - y
        return 0.5 * np.mean(r ** 2) + lam * np.sum(w ** 2)
    return loss


def make_softmax_xent(X, labels):
    n = X.shape[0]

    def loss(W):
        logits = X @ W
        logits = logits - logits.max(axis=1, keepdims=True)
        logp = logits - np.log(np.sum(np.exp(logits), axis=1, keepdims=True))
        return -np.mean(logp[np.arange(n), labels])
    return loss


def make_counter_loss(scale):
    calls = [0]

    def loss(x):
        calls[0] += 1
        return scale * np.sum(np.sin(x) * x)
    return loss


def make_two_level(a):
    def inner(x):
        return np.tanh(a * x)

    def outer(x):
        return np.sum(inner(x) ** 2 + inner(2 * x))
    return outer


# flat parameter vectors

def mlp_flat(theta, X):
    W1 = theta[:6].reshape(3, 2)
    b1 = theta[6:8]
    W2 = theta[8:10].reshape(2, 1)
    b2 = theta[10]
    h = np.tanh(X @ W1 + b1)
    out = (h @ W2).ravel() + b2
    return np.sum(out ** 2)


def flat_offsets(theta, X):
    shapes = [(3, 2), (2,), (2, 1)]
    params = []
    i = 0
    for s in shapes:
        k = int(np.prod(s))
        params.append(theta[i:i + k].reshape(s))
        i += k
    W1, b1, W2 = params
    return np.sum(np.tanh(X @ W1 + b1) @ W2)


def split_unpack(theta):
    a, b, c = np.split(theta, 3)
    return np.sum(a * b) + np.sum(np.exp(c))


def unpack_scalars(theta):
    mu, log_sigma = theta
    return 0.5 * (mu ** 2 + np.exp(2 * log_sigma)) - log_sigma


# dicts, lists, NamedTuples, dataclasses

def dict_mlp(params, X):
    h = np.tanh(X @ params["W1"] + params["b1"])
    return np.sum((h @ params["W2"]) ** 2)


def dict_l2(params):
    return sum(np.sum(v ** 2) for v in params.values())


def dict_items_loop(params):
    total = 0.0
    for name, p in params.items():
        if name.startswith("w"):
            total = total + np.sum(p ** 2)
        else:
            total = total + np.sum(np.abs(p))
    return total


def list_layers(layers, X):
    h = X
    for W, b in layers:
        h = np.tanh(h @ W + b)
    return np.sum(h)


class Linear(NamedTuple):
    w: np.ndarray
    b: float


def namedtuple_loss(p, X, y):
    pred = X @ p.w + p.b
    return np.mean((pred - y) ** 2)


@dataclasses.dataclass
class Gauss:
    mu: np.ndarray
    log_s: np.ndarray


def dataclass_nll(p, x):
    s = np.exp(p.log_s)
    return np.sum(0.5 * ((x - p.mu) / s) ** 2 + p.log_s)


# lambdas, partial, methods

def lambda_names(x):
    sq = lambda z: z * z
    act = lambda z: np.log1p(np.exp(z))
    return np.sum(act(sq(x) - 1.0))


def _weighted(x, w, p=2.0):
    return np.sum(w * np.abs(x) ** p)


partial_loss = functools.partial(_weighted, w=np.array([1.0, 2.0, 3.0]), p=3.0)


class Regressor:
    def __init__(self, X, y):
        self.X = X
        self.y = y
        self.params = {"w": np.zeros(3)}

    def loss(self, w):
        return np.mean((self.X @ w - self.y) ** 2) + self._penalty(w)

    def _penalty(self, w):
        return 0.01 * np.dot(w, w)


REG = Regressor(X_DATA, Y_DATA)


class Scaled:
    factor = 3.0

    def __call__(self, x):
        return self.factor * np.sum(x ** 3)


SCALED = Scaled()


# scipy.special

def sp_logsumexp_nll(W, X, labels):
    logits = X @ W
    return -np.sum(logits[np.arange(len(labels)), labels] - logsumexp(logits, axis=1))


def sp_expit_logistic(w, X, y):
    p = expit(X @ w)
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))


def sp_gammaln(a):
    return np.sum(gammaln(a) - gammaln(a + 0.5))


def sp_erf_cdf(x, mu):
    return np.sum(0.5 * (1 + erf((x - mu) / np.sqrt(2.0))))


def sp_logsumexp_b(x, w):
    return logsumexp(x, b=w)


# piecewise

def huber(r, delta=1.0):
    a = np.abs(r)
    return np.sum(np.where(a <= delta, 0.5 * r ** 2, delta * (a - 0.5 * delta)))


def leaky_relu_net(x, W):
    h = W @ x
    h = np.where(h > 0, h, 0.01 * h)
    return np.sum(np.clip(h, -1.5, 1.5) ** 2) + np.sum(np.maximum(x, 0.0))


# linalg

def gp_nll(K, y):
    L = np.linalg.cholesky(K)
    alpha = np.linalg.solve(L.T, np.linalg.solve(L, y))
    return 0.5 * y @ alpha + np.sum(np.log(np.diag(L)))


def inv_det(A):
    return np.sum(np.linalg.inv(A)) + np.log(np.abs(np.linalg.det(A)))


def slogdet_loss(A):
    sign, logdet = np.linalg.slogdet(A)
    return sign * logdet


def eigh_top(A):
    S = A + A.T
    w, v = np.linalg.eigh(S)
    return w[-1] + np.sum(v[:, -1] ** 4)


def norm_normalize(X):
    Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
    return np.sum(Xn @ Xn.T)


# einsum, cumsum, diff, convolve

def einsum_bilinear(A, x, y):
    return np.einsum("i,ij,j->", x, A, y) + np.einsum("ij,ij", A, A)


def einsum_batch(A, B):
    return np.sum(np.einsum("bij,bjk->bik", A, B) ** 2)


def cumsum_diff(x):
    c = np.cumsum(x)
    d = np.diff(x, n=2)
    return np.sum(c ** 2) + np.sum(d ** 2)


def convolve_smooth(x, k):
    return np.sum(np.convolve(x, k, mode="valid") ** 2) + np.sum(np.convolve(x, k, mode="same"))


# indexing

def label_nll(logits, y):
    n = logits.shape[0]
    logp = logits - np.log(np.sum(np.exp(logits), axis=1))[:, None]
    return -np.sum(logp[np.arange(n), y])


def mask_positive(x):
    return np.sum(x[x > 0] ** 2) - np.sum(x[x < 0])


def mask_assign(x):
    y = x.copy()
    y[y < 0] = 0.0
    return np.sum(y * x)


# in-place updates in loops

def inplace_loop(x):
    a = np.zeros_like(x)
    for i in range(len(x)):
        a[i] += x[i] ** 2
        if i > 0:
            a[i] += a[i - 1] * 0.5
    return np.sum(a)


def copy_then_store(x):
    x = x.copy()
    x[0] = x[0] * x[1]
    x[-1] = np.sin(x[0])
    return np.sum(x ** 2)


def overlap_inplace(x):
    y = x.copy()
    y[1:] -= y[:-1]
    return np.sum(y ** 2)


def overlap_inplace_add(x):
    y = x.copy()
    y[1:] += 0.5 * y[:-1]
    y[:-1] *= y[1:]
    return np.sum(y)


# while loops with data-dependent stopping

def newton_sqrt(a):
    y = a
    while abs(y * y - a) > 1e-13 * a:
        y = 0.5 * (y + a / y)
    return y


def fixed_point(x):
    z = np.zeros_like(x)
    it = 0
    while True:
        z_new = np.tanh(0.5 * z + x)
        it += 1
        if np.max(np.abs(z_new - z)) < 1e-14 or it > 200:
            z = z_new
            break
        z = z_new
    return np.sum(z)


# ODE integrators

def euler(y0, k):
    ys = [y0]
    dt = 0.01
    for _ in range(50):
        y = ys[-1]
        ys.append(y + dt * (-k * y + np.sin(y)))
    return np.sum(np.stack(ys) ** 2)


def _rk4_f(y, t, k):
    return -k * y + np.cos(t)


def rk4(y0, k):
    y, t, dt = y0, 0.0, 0.05
    traj = []
    for _ in range(20):
        k1 = _rk4_f(y, t, k)
        k2 = _rk4_f(y + dt / 2 * k1, t + dt / 2, k)
        k3 = _rk4_f(y + dt / 2 * k2, t + dt / 2, k)
        k4 = _rk4_f(y + dt * k3, t + dt, k)
        y = y + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        t = t + dt
        traj.append(y)
    return np.sum(np.array(traj)[-1] ** 2) + np.mean(np.stack(traj))


# has_aux, keywords, *args

def loss_with_aux(w, X, y):
    pred = X @ w
    loss = np.mean((pred - y) ** 2)
    return loss, {"pred": pred, "n": len(y)}


def kw_defaults(x, scale=2.0, *, power=3, kind="l2"):
    if kind == "l2":
        return scale * np.sum(x ** 2)
    return scale * np.sum(np.abs(x) ** power)


def kw_caller(x):
    return kw_defaults(x, kind="lp") + kw_defaults(x, scale=0.5)


def _sum_all(*xs):
    total = 0.0
    for v in xs:
        total = total + np.sum(v)
    return total


def star_args(x, y):
    return _sum_all(x ** 2, x * y, np.sin(y))


def _stats(*args, **kwargs):
    return np.sum(args[0] * kwargs["w"]) + len(args)


def star_kwargs(x):
    return _stats(x, x, w=x ** 2)


# dtypes, 0-d arrays, broadcasting

def f32_loss(w, X):
    return np.sum(np.tanh(X @ w) ** 2)


def zero_d_mix(x, s):
    t = np.array(2.0) * s + 1.5
    return np.sum(x * t) + float(s) * 0 + np.exp(s)


def outer_broadcast(a, b):
    return np.sum(np.exp(-(a[:, None] - b[None, :]) ** 2))


def keepdims_softmax(X):
    e = np.exp(X - X.max(axis=-1, keepdims=True))
    p = e / e.sum(axis=-1, keepdims=True)
    return np.sum(p * X)


def col_row(c, r):
    return np.sum(np.log1p((c * r) ** 2))


def var_std(X):
    return np.sum(np.var(X, axis=0, ddof=1)) + np.std(X, axis=1).sum() + X.std(ddof=1)


def standardize(X):
    Z = (X - X.mean(axis=0)) / X.std(axis=0)
    return np.sum(Z[:, 0] * Z[:, 1])


# sorting/argmax selections

def topk_sum(x, k=3):
    idx = np.argsort(x)[-k:]
    return np.sum(x[idx] ** 2)


def sort_trimmed(x):
    s = np.sort(x)
    return np.mean(s[1:-1])


def argmax_pick(X):
    j = np.argmax(X, axis=1)
    return np.sum(X[np.arange(X.shape[0]), j]) + np.max(X)


def median_loss(x):
    return np.median(x) * np.sum(x)


# global constants, nested module-level helpers

def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _layer(x, W):
    return _sigmoid(W @ x)


def _net(x, W):
    return _layer(_layer(x, W), W)


def global_const(x):
    return np.sum(_net(x, EYE3 + 0.1 * x[:, None])) + np.sum(X_DATA @ x)


def string_mode(x, mode):
    if mode == "sum":
        return np.sum(x ** 2)
    elif mode == "max":
        return np.max(x ** 2)
    return np.prod(x)


def int_arg(x, n):
    acc = 0.0
    for i in range(n):
        acc = acc + x[i % len(x)] * (i + 1)
    return acc ** 2


# textbook numerics

def trapezoid(a):
    t = np.linspace(0.0, 1.0, 21)
    y = np.exp(-a * t ** 2)
    return np.sum((y[1:] + y[:-1]) * np.diff(t)) / 2


def horner(c, x):
    acc = 0.0
    for ci in c:
        acc = acc * x + ci
    return acc


def polyval_loss(c, x):
    return np.sum(np.polyval(c, x) ** 2)


def power_iteration(A):
    S = A @ A.T
    v = np.ones(S.shape[0])
    for _ in range(30):
        v = S @ v
        v = v / np.linalg.norm(v)
    return v @ S @ v


def gauss_seidel_like(A, b):
    x = np.zeros_like(b)
    for _ in range(3):
        for i in range(len(b)):
            x[i] = (b[i] - A[i] @ x + A[i, i] * x[i]) / A[i, i]
    return np.sum(x ** 2)


def stack_loop_rows(x):
    rows = []
    for i in range(3):
        rows.append(x * (i + 1))
    M = np.stack(rows, axis=1)
    return np.sum(M @ M.T)


def vstack_hstack(a, b):
    M = np.vstack([a, b, a * b])
    N = np.hstack([a, b])
    return np.sum(M ** 2) + np.sum(np.sin(N))


def python_sum_rows(X):
    return sum(X) @ sum(X.T)


def builtin_max_of_array(x):
    return max(x) + min(x) * 2


def triu_entries(A):
    iu = np.triu_indices(3, k=1)
    return np.sum(A[iu] ** 2) + np.trace(A @ A)


def tile_repeat(x):
    return np.sum(np.tile(x, 2) * np.arange(6.0)) + np.sum(np.repeat(x, 2) ** 2)


def rnn_over_rows(W, X):
    h = np.zeros(3)
    for x in X:
        h = np.tanh(W @ h + x)
    return np.sum(h)


def enumerate_rows(W):
    total = 0.0
    for i, row in enumerate(W):
        total = total + (i + 1) * np.dot(row, row)
    return total


def zip_pairs(x, y):
    return sum(a * b for a, b in zip(x, y)) + sum(np.cos(x))


# more: textbook models, fancy indexing, scipy.linalg, string keys

def attention(Wq, X):
    Q = X @ Wq
    K = X @ Wq.T
    s = Q @ K.T / np.sqrt(Q.shape[-1])
    s = s + np.triu(np.ones((4, 4)), k=1) * -1e9
    s = s - s.max(axis=-1, keepdims=True)
    a = np.exp(s)
    a = a / a.sum(-1, keepdims=True)
    return np.sum((a @ X) ** 2)


def lstm(W, xs):
    H = 2
    h = np.zeros(H)
    c = np.zeros(H)
    for x in xs:
        z = W @ np.concatenate([x, h, [1.0]])
        i, f, o, g = z[:H], z[H:2 * H], z[2 * H:3 * H], z[3 * H:]
        i, f, o = expit(i), expit(f), expit(o)
        c = f * c + i * np.tanh(g)
        h = o * np.tanh(c)
    return np.sum(h ** 2)


def conv2d_loops(img, k):
    H, W = img.shape
    out = np.zeros((H - 1, W - 1))
    for i in range(H - 1):
        for j in range(W - 1):
            out[i, j] = np.sum(img[i:i + 2, j:j + 2] * k)
    return np.sum(np.tanh(out))


def gmm_nll(mu, log_s, x):
    logp = -0.5 * ((x[:, None] - mu[None, :]) / np.exp(log_s)) ** 2 - log_s \
        - 0.5 * np.log(2 * np.pi)
    return -np.sum(logsumexp(logp + np.log(1 / 3), axis=1))


def kalman_nll(q, ys):
    x = np.zeros(2)
    P = np.eye(2)
    F = np.array([[1.0, 1.0], [0.0, 1.0]])
    Hm = np.array([[1.0, 0.0]])
    ll = 0.0
    for y in ys:
        x = F @ x
        P = F @ P @ F.T + q * np.eye(2)
        S = Hm @ P @ Hm.T + 0.5
        K = P @ Hm.T @ np.linalg.inv(S)
        resid = y - Hm @ x
        x = x + K @ resid
        P = (np.eye(2) - K @ Hm) @ P
        ll = ll + 0.5 * (resid @ np.linalg.solve(S, resid) + np.log(np.linalg.det(S)))
    return ll


def label_smoothing(logits, y):
    n, k = logits.shape
    t = np.full((n, k), 0.1 / (k - 1))
    t[np.arange(n), y] = 0.9
    return -np.sum(t * (logits - logsumexp(logits, axis=1, keepdims=True)))


def embedding_lookup(E, idx):
    return np.sum(np.tanh(E[idx]) ** 2)


def fancy_views(X):
    return (np.sum(X[:, [0, 2]] ** 2) + np.sum(X[[0, 2], :] ** 3)
            + np.sum(X[np.ix_([0, 1], [1, 2])]) + np.sum(X[1:, ::2] * 2)
            + np.sum(X[::-2, -1:0:-1] ** 2) + np.sum(X[None, ..., 0]))


def mask_rows_cols(X):
    m = X[:, 0] > 0
    return np.sum(X[X > 0]) + np.sum(X[m, :] ** 2) + np.sum(X[:, m] ** 3)


def batch_linalg(A, b):
    S = A @ np.swapaxes(A, -1, -2) + 3 * np.eye(3)
    return np.sum(np.linalg.det(S)) + np.sum(np.linalg.inv(S) ** 2) \
        + np.sum(np.linalg.solve(S, b) ** 2)


def triangular_and_expm(A, b):
    L = np.tril(A) + 3 * np.eye(3)
    return np.sum(sla.solve_triangular(L, b, lower=True) ** 2) + np.sum(sla.expm(0.3 * A))


def string_keys(params, x):
    h = x
    for i in range(2):
        h = np.tanh(params[f"W{i}"] @ h + params["b%d" % i])
    return np.sum(h) + np.sum(params["W{}".format(0)])


class _Deep:
    def __init__(self):
        self.W0 = np.eye(3) * 0.5
        self.W1 = np.ones((3, 3)) * 0.2

    def loss(self, x):
        for i in range(2):
            x = np.tanh(getattr(self, f"W{i}") @ x)
        return np.sum(x)


DEEP = _Deep()


def taylor_sin(x):
    term = x
    total = x
    n = 1
    while abs(term) > 1e-16:
        term = -term * x * x / ((2 * n) * (2 * n + 1))
        total = total + term
        n += 1
    return total


def swap_and_slices(x):
    y = x.copy()
    y[0], y[1] = y[1] * 2, y[0]
    y[1:3] = y[0:2] * 2
    y[::2] += 1.0
    return np.sum(y * np.arange(1.0, 5.0))


def bool_index_store(x):
    y = x.copy()
    y[x > 0] *= 2
    y[np.abs(x) < 0.3] = x[np.abs(x) < 0.3] ** 2
    return np.sum(y ** 2)


def where_scalar_bound(x, a):
    return np.sum(np.where(x > 0, x, a) ** 2) + np.sum(np.maximum(x, a)) \
        + np.sum(np.clip(x, a, a + 1.0) ** 2)


def sort_axis_and_argsort(X):
    return np.sum(np.sort(X, axis=0) * np.arange(12.0).reshape(3, 4)) \
        + np.sum(X[0][np.argsort(-X[0])] * np.arange(4.0)) + np.quantile(X, 0.3)


def prod_with_zeros(X):
    return np.sum(np.prod(X, axis=0)) + np.prod(X[:, 0])


def order_F(X):
    return np.sum(X.ravel(order="F") * np.arange(6.0)) \
        + np.sum(np.reshape(X, (3, 2), order="F") * np.arange(6.0).reshape(3, 2))


def einsum_optimized(A, x):
    return np.einsum("ij,j->", A, x, optimize=True) + np.einsum("ii", A) \
        + np.sum(np.einsum("i,j->ij", x, x) ** 2)


# ----------------------------------------------------------------------------
# the cases: (name, function, arguments, wrt, second order checked)

def _r(*shape, seed=0):
    return np.random.default_rng(seed + 17).normal(size=shape)


CASES = [
    ("make_ridge", make_ridge(X_DATA, Y_DATA), lambda: (_r(3),), 0, True),
    ("make_softmax_xent", make_softmax_xent(X_DATA, LABELS), lambda: (_r(3, 3),), 0, True),
    ("make_counter_loss", make_counter_loss(1.5), lambda: (_r(4),), 0, False),
    ("make_two_level", make_two_level(0.7), lambda: (_r(4),), 0, True),
    ("mlp_flat", mlp_flat, lambda: (_r(11), X_DATA), 0, True),
    ("flat_offsets", flat_offsets, lambda: (_r(10), X_DATA), 0, False),
    ("split_unpack", split_unpack, lambda: (_r(6),), 0, True),
    ("unpack_scalars", unpack_scalars, lambda: (_r(2),), 0, True),
    ("dict_mlp", dict_mlp, lambda: ({"W1": _r(3, 2), "b1": _r(2), "W2": _r(2)}, X_DATA), 0,
     False),
    ("dict_l2", dict_l2, lambda: ({"a": _r(2), "b": _r(2, 2)},), 0, False),
    ("dict_items_loop", dict_items_loop,
     lambda: ({"w1": _r(3), "b1": _r(2) + 3.0, "w2": _r(2)},), 0, False),
    ("list_layers", list_layers,
     lambda: ([(_r(3, 4), _r(4)), (_r(4, 2, seed=1), _r(2, seed=1))], X_DATA), 0, False),
    ("namedtuple_loss", namedtuple_loss, lambda: (Linear(_r(3), 0.3), X_DATA, Y_DATA), 0,
     False),
    ("dataclass_nll", dataclass_nll, lambda: (Gauss(_r(3), 0.1 * _r(3, seed=2)), _r(3, seed=3)),
     0, False),
    ("lambda_names", lambda_names, lambda: (_r(4),), 0, True),
    ("partial_loss", partial_loss, lambda: (_r(3) + 2.0,), 0, False),
    ("method_loss", REG.loss, lambda: (_r(3),), 0, True),
    ("callable_object", SCALED, lambda: (_r(3),), 0, False),
    ("sp_logsumexp_nll", sp_logsumexp_nll, lambda: (_r(3, 3), X_DATA, LABELS), 0, True),
    ("sp_expit_logistic", sp_expit_logistic,
     lambda: (_r(3), X_DATA, (Y_DATA > 0).astype(float)), 0, True),
    ("sp_gammaln", sp_gammaln, lambda: (np.abs(_r(4)) + 0.5,), 0, True),
    ("sp_erf_cdf", sp_erf_cdf, lambda: (_r(4), 0.3), (0, 1), False),
    ("sp_logsumexp_b", sp_logsumexp_b, lambda: (_r(4), np.abs(_r(4, seed=4)) + 0.1), (0, 1),
     False),
    ("huber", huber, lambda: (np.array([-2.0, -0.3, 0.4, 1.7]),), 0, False),
    ("leaky_relu_net", leaky_relu_net, lambda: (_r(3), _r(4, 3)), (0, 1), False),
    ("gp_nll", gp_nll, lambda: (_spd(np.random.default_rng(1), 3), _r(3)), (0, 1), False),
    ("inv_det", inv_det, lambda: (_spd(np.random.default_rng(2), 3),), 0, True),
    ("slogdet_loss", slogdet_loss, lambda: (_spd(np.random.default_rng(3), 3),), 0, False),
    ("eigh_top", eigh_top, lambda: (_r(3, 3),), 0, False),
    ("norm_normalize", norm_normalize, lambda: (_r(3, 2),), 0, True),
    ("einsum_bilinear", einsum_bilinear, lambda: (_r(3, 3), _r(3, seed=1), _r(3, seed=2)),
     (0, 1, 2), False),
    ("einsum_batch", einsum_batch, lambda: (_r(2, 2, 3), _r(2, 3, 2, seed=1)), (0, 1), False),
    ("cumsum_diff", cumsum_diff, lambda: (_r(6),), 0, True),
    ("convolve_smooth", convolve_smooth, lambda: (_r(6), _r(3, seed=1)), (0, 1), False),
    ("label_nll", label_nll, lambda: (_r(6, 3), LABELS), 0, True),
    ("mask_positive", mask_positive, lambda: (np.array([1.5, -0.5, 0.7, -2.0]),), 0, False),
    ("mask_assign", mask_assign, lambda: (np.array([1.5, -0.5, 0.7, -2.0]),), 0, False),
    ("inplace_loop", inplace_loop, lambda: (_r(5),), 0, True),
    ("copy_then_store", copy_then_store, lambda: (_r(4),), 0, True),
    ("overlap_inplace", overlap_inplace, lambda: (_r(5),), 0, False),
    ("overlap_inplace_add", overlap_inplace_add, lambda: (_r(5),), 0, False),
    ("newton_sqrt", newton_sqrt, lambda: (2.7,), 0, False),
    ("fixed_point", fixed_point, lambda: (_r(3),), 0, False),
    ("euler", euler, lambda: (_r(3), 0.8), (0, 1), False),
    ("rk4", rk4, lambda: (_r(2), 0.8), (0, 1), False),
    ("kw_caller", kw_caller, lambda: (_r(3),), 0, True),
    ("star_args", star_args, lambda: (_r(3), _r(3, seed=1)), (0, 1), False),
    ("star_kwargs", star_kwargs, lambda: (_r(3),), 0, False),
    ("f32_loss", f32_loss, lambda: (_r(3).astype(np.float32), X_DATA.astype(np.float32)), 0,
     False),
    ("zero_d_mix", zero_d_mix, lambda: (_r(3), np.array(0.4)), (0, 1), False),
    ("outer_broadcast", outer_broadcast, lambda: (_r(3), _r(4, seed=1)), (0, 1), True),
    ("keepdims_softmax", keepdims_softmax, lambda: (_r(3, 4),), 0, True),
    ("col_row", col_row, lambda: (_r(3, 1), _r(1, 4, seed=1)), (0, 1), False),
    ("var_std", var_std, lambda: (_r(4, 3),), 0, True),
    ("standardize", standardize, lambda: (_r(5, 2),), 0, False),
    ("topk_sum", topk_sum, lambda: (_r(6),), 0, False),
    ("sort_trimmed", sort_trimmed, lambda: (_r(6),), 0, False),
    ("argmax_pick", argmax_pick, lambda: (_r(4, 3),), 0, False),
    ("median_loss", median_loss, lambda: (_r(5),), 0, False),
    ("global_const", global_const, lambda: (_r(3),), 0, True),
    ("string_mode_sum", lambda x: string_mode(x, "sum") + string_mode(x, "other"),
     lambda: (_r(3),), 0, False),
    ("string_mode_arg", string_mode, lambda: (_r(3), "max"), 0, False),
    ("int_arg", int_arg, lambda: (_r(3), 7), 0, True),
    ("trapezoid", trapezoid, lambda: (0.9,), 0, True),
    ("horner", horner, lambda: (_r(4), 0.7), (0, 1), True),
    ("polyval_loss", polyval_loss, lambda: (_r(4), _r(3, seed=1)), (0, 1), False),
    ("power_iteration", power_iteration, lambda: (_r(3, 3),), 0, False),
    ("gauss_seidel_like", gauss_seidel_like,
     lambda: (_spd(np.random.default_rng(4), 3), _r(3)), (0, 1), False),
    ("stack_loop_rows", stack_loop_rows, lambda: (_r(4),), 0, True),
    ("vstack_hstack", vstack_hstack, lambda: (_r(3), _r(3, seed=1)), (0, 1), False),
    ("python_sum_rows", python_sum_rows, lambda: (_r(3, 3),), 0, True),
    ("builtin_max_of_array", builtin_max_of_array, lambda: (_r(4),), 0, False),
    ("triu_entries", triu_entries, lambda: (_r(3, 3),), 0, True),
    ("tile_repeat", tile_repeat, lambda: (_r(3),), 0, False),
    ("rnn_over_rows", rnn_over_rows, lambda: (0.5 * _r(3, 3), _r(4, 3, seed=1)), 0, True),
    ("enumerate_rows", enumerate_rows, lambda: (_r(3, 2),), 0, True),
    ("zip_pairs", zip_pairs, lambda: (_r(3), _r(3, seed=1)), (0, 1), False),
    ("attention", attention, lambda: (_r(3, 3), _r(4, 3, seed=1)), 0, True),
    ("lstm", lstm, lambda: (0.5 * _r(8, 6), _r(3, 3, seed=1)), 0, False),
    ("conv2d_loops", conv2d_loops, lambda: (_r(4, 4), _r(2, 2, seed=1)), (0, 1), False),
    ("gmm_nll", gmm_nll, lambda: (_r(3), 0.1 * _r(3, seed=1), _r(10, seed=2)), (0, 1), True),
    ("kalman_nll", kalman_nll, lambda: (0.3, _r(5, 1, seed=1)), 0, True),
    ("label_smoothing", label_smoothing, lambda: (_r(4, 3), np.array([0, 2, 1, 2])), 0, True),
    ("embedding_lookup", embedding_lookup, lambda: (_r(4, 2), np.array([0, 2, 0, 3, 2])), 0,
     True),
    ("fancy_views", fancy_views, lambda: (_r(3, 3),), 0, True),
    ("mask_rows_cols", mask_rows_cols, lambda: (_r(3, 3),), 0, False),
    ("batch_linalg", batch_linalg, lambda: (_r(2, 3, 3), _r(2, 3, 1, seed=1)), (0, 1), False),
    ("triangular_and_expm", triangular_and_expm, lambda: (_r(3, 3), _r(3, seed=1)), (0, 1),
     False),
    ("string_keys", string_keys,
     lambda: ({"W0": _r(3, 3), "b0": _r(3, seed=1), "W1": _r(2, 3, seed=2), "b1": _r(2, seed=3)},
              _r(3, seed=4)), 0, False),
    ("getattr_fstring_method", DEEP.loss, lambda: (_r(3),), 0, True),
    ("taylor_sin", taylor_sin, lambda: (0.9,), 0, False),
    ("swap_and_slices", swap_and_slices, lambda: (_r(4),), 0, False),
    ("bool_index_store", bool_index_store, lambda: (np.array([0.1, -0.5, 0.7, -0.2]),), 0,
     False),
    ("where_scalar_bound", where_scalar_bound, lambda: (_r(5), -0.1), (0, 1), False),
    ("sort_axis_and_argsort", sort_axis_and_argsort, lambda: (_r(3, 4),), 0, False),
    ("prod_with_zeros", prod_with_zeros,
     lambda: (np.array([[0.0, 2.0], [3.0, 0.0], [1.5, 2.0]]),), 0, False),
    ("order_F", order_F, lambda: (_r(2, 3),), 0, False),
    ("einsum_optimized", einsum_optimized, lambda: (_r(3, 3), _r(3, seed=1)), (0, 1), True),
]


def _tol(args):
    f32 = any(getattr(a, "dtype", None) == np.float32 for a in args)
    return (2e-3, 2e-4) if f32 else (1e-6, 1e-7)


@pytest.mark.parametrize("name,func,make,wrt,second", CASES, ids=[c[0] for c in CASES])
def test_gradient(name, func, make, wrt, second):
    args = make()
    before = copy.deepcopy(args)
    got = s2sgrad.grad(func, wrt=wrt)(*args)
    for a, b in zip(args, before):
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b)
    rtol, atol = _tol(args)
    check_against_fd(func, args, wrt, got, rtol, atol)


@pytest.mark.parametrize("name,func,make,wrt,second", CASES, ids=[c[0] for c in CASES])
def test_value_and_grad(name, func, make, wrt, second):
    args = make()
    value, got = s2sgrad.value_and_grad(func, wrt=wrt)(*args)
    expected = func(*copy.deepcopy(args))
    np.testing.assert_allclose(np.asarray(value, dtype=float), np.asarray(expected, dtype=float),
                               rtol=1e-12, atol=1e-12)
    rtol, atol = _tol(args)
    check_against_fd(func, args, wrt, got, rtol, atol)


SECOND = [c for c in CASES if c[4]]


@pytest.mark.parametrize("name,func,make,wrt,second", SECOND, ids=[c[0] for c in SECOND])
def test_hvp(name, func, make, wrt, second):
    """hvp against centered differences of an independent gradient (finite differences
    of f along v, differenced again)."""
    args = make()
    i = wrt if not isinstance(wrt, tuple) else wrt[0]
    x = np.asarray(args[i], dtype=float)
    v = np.random.default_rng(9).normal(size=x.shape)
    if isinstance(args[i], float):
        v = float(v)
    hvp = s2sgrad.hvp(func, wrt=i)

    def g(point):
        a = list(args)
        a[i] = point
        return np.asarray([gv for _, gv in fd_grad(func, a, i, h=1e-4)][0], dtype=float)

    eps = 1e-4
    expected = (g(args[i] + eps * v) - g(args[i] - eps * v)) / (2 * eps)
    np.testing.assert_allclose(np.asarray(hvp(*args, v), dtype=float), expected,
                               rtol=1e-4, atol=1e-5)


def test_hvp_of_an_overlapping_in_place_update_is_refused_where_written():
    """`y[1:] -= y[:-1]` (NumPy buffers the overlap): grad takes it, hvp refuses it
    honestly, located in the user's code, with the recipe from two gradients."""
    from s2sgrad.errors import TransformError
    x = _r(5)
    with pytest.raises(TransformError) as info:
        s2sgrad.hvp(overlap_inplace)(x, np.ones(5))
    assert info.value.filename == __file__ and "grad" in info.value.hint
