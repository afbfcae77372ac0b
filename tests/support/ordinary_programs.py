"""Ordinary user code: the NumPy, `math` and list programs a newcomer writes first.

tests/test_ordinary_code.py differentiates every function here and compares with
centered finite differences. Nothing is written with s2sgrad in mind.
"""
import math

import numpy as np


def softmax_ce(W, x, y):
    z = x @ W
    z = z - np.max(z, axis=1, keepdims=True)
    p = np.exp(z) / np.sum(np.exp(z), axis=1, keepdims=True)
    return -np.mean(np.log(p[np.arange(len(y)), y]))


def logsumexp(x):
    m = np.max(x)
    return m + np.log(np.sum(np.exp(x - m)))


def poly(x):
    s = 0.0
    for k, c in enumerate([1.0, -2.0, 0.5, 3.0]):
        s += c * x ** k
    return s


def piecewise(x):
    if x > 1.0:
        return x * x
    elif x > 0.0:
        return math.sin(x)
    else:
        return -x


def newton_sqrt(a):
    x = a
    for _ in range(20):
        x = 0.5 * (x + a / x)
    return x


def while_halve(x):
    n = 0
    while x > 1.0:
        x = x / 2.0
        n += 1
    return x * n


def listcomp(xs):
    return sum([v * v for v in xs])


def genexp(x):
    return sum(np.sin(x[i]) * i for i in range(len(x)))


def zip_loop(a, b):
    t = 0.0
    for u, v in zip(a, b):
        t = t + u * v
    return t


def builtin_minmax(x, y):
    return max(x, y) ** 2 + min(x, y) + abs(x - 2 * y)


def math_misc(x, y):
    return (math.atan2(x, y) + math.hypot(x, y) + math.log(x, 2) + math.pow(x, 1.5)
            + math.sqrt(y))


def norm_stuff(x):
    return np.linalg.norm(x) + np.sum(np.abs(x)) + np.dot(x, x)


def inplace_array(x):
    y = np.zeros(3)
    y[0] = x[0] * 2
    y[1:] = x[1:] ** 2
    y += 1.0
    return np.sum(y * y)


def aug_index(x):
    h = x.copy()
    for i in range(1, len(h)):
        h[i] += h[i - 1] * 0.5
    return np.sum(h ** 2)


def nested(x):
    def inner(v):
        return np.tanh(v) * 2.0
    return np.sum(inner(x) + inner(x * 2))


def lam(x):
    f = lambda t: t * t + 1.0  # noqa: E731
    return f(x) * f(2.0 * x)


def kwargs_call(x):
    return helper_kw(x, scale=3.0)


def helper_kw(v, scale=1.0, shift=0.0):
    return np.sum((v * scale + shift) ** 2)


def dict_params(p, x):
    h = np.tanh(x @ p["W1"] + p["b1"])
    return np.sum((h @ p["W2"]) ** 2)


def sigmoid_loss(w, X, y):
    p = 1.0 / (1.0 + np.exp(-(X @ w)))
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))


def einsum_bilinear(A, x):
    return np.einsum("i,ij,j->", x, A, x)


def conv1d(x, k):
    n = len(x) - len(k) + 1
    out = np.zeros(n)
    for i in range(n):
        out[i] = np.sum(x[i:i + len(k)] * k)
    return np.sum(out ** 2)


def cumprod_like(x):
    p = 1.0
    out = []
    for v in x:
        p = p * v
        out.append(p)
    return sum(out)


def matrix_power(A):
    B = A
    for _ in range(3):
        B = B @ A
    return np.trace(B)


def stack_concat(a, b):
    s = np.stack([a, b], axis=1)
    c = np.concatenate([a, b * 2])
    return np.sum(s ** 2) + np.sum(np.sin(c))


def tuple_return_helper(x):
    a, b = split2(x)
    return a * b


def split2(x):
    return np.sum(x), np.prod(x)


def attr_T(A):
    return np.sum(A.T @ A) + A.sum() + A.mean(axis=0).sum()


def where_relu(x):
    return np.sum(np.where(x > 0, x, 0.01 * x) ** 2)


def maximum_relu(x, W):
    return np.sum(np.maximum(0, x @ W))


def std_var(x):
    return np.std(x) + np.var(x, axis=0).sum()


def float_int_mix(x):
    n = 3
    return x ** n / n + 2 ** x


def early_return_loop(x):
    for i in range(10):
        if x > 5.0:
            return x
        x = x * 1.5
    return -x


def solve_det(A, b):
    return np.sum(np.linalg.solve(A, b)) + np.log(np.linalg.det(A))


def outer_sum(a, b):
    return np.sum(np.outer(a, b) ** 2)


def clip_round(x):
    return np.sum(np.clip(x, -0.5, 0.5) * np.round(x))


def reshape_flatten(x):
    return np.sum(x.reshape(2, -1).T.flatten() * np.arange(6.0))


def slice_step(x):
    return np.sum(x[::2] * x[1::2]) + np.sum(x[::-1] * x)


def ternary(x):
    return x * x if x > 0 else -x



C = np.array([1.0, -2.0, 0.5])


class Quad:
    def __init__(self, a):
        self.a = a
    def loss(self, x):
        return np.sum(self.a * x ** 2)


def arr_from_scalars(x):
    v = np.array([x[0] ** 2, x[1] * x[2], 3.0])
    return np.sum(v * C)


def float_conv(x):
    return float(np.sum(x)) ** 2 + x[0].item() * 2


def astype(x):
    return np.sum(x.astype(float) ** 2)


def multi_axis(x):
    return np.sum(np.sum(x ** 2, axis=(0, 1))) + np.mean(x, axis=(1, 2)).sum()


def matvec_scalar(x):
    return x @ x + x.dot(C)


def pow_builtin(x):
    return (pow(x, 3) + math.fabs(x) + math.erf(x) + math.expm1(x) + math.log1p(x)
            + math.log10(x + 2))


def sign_abs(x):
    return np.sum(np.abs(x) * np.sign(x) ** 2)


def rms(x):
    return np.mean(x ** 2) ** 0.5


def print_inside(x):
    y = x * 2
    print("debug", y.shape if hasattr(y, "shape") else "scalar")
    return y * y


def shape_loop(x):
    n = x.shape[0]
    t = 0.0
    for i in range(n):
        t = t + x[i] * (i + 1)
    return t


def zeros_fill(x):
    out = np.zeros_like(x)
    for i in range(len(x)):
        out[i] = x[i] ** 2 if x[i] > 0 else -x[i]
    return out.sum()


def np_random(x):
    rng = np.random.default_rng(0)
    noise = rng.normal(size=x.shape)
    return np.sum((x + noise) ** 2)


def minimum_max(x):
    return np.max(np.minimum(x, 0.3)) + np.amax(x)


def tuple_unpack_loop(pts):
    s = 0.0
    for (a, b) in pts:
        s += a * b
    return s


def while_tol(x):
    y = x
    it = 0
    while abs(y * y - 2.0) > 1e-10 and it < 50:
        y = y - (y * y - 2.0) / (2 * y) * x / x
        it += 1
    return y * x


def list_index_assign(x):
    ws = [x, 2 * x, 3 * x]
    ws[1] = ws[0] * ws[2]
    return ws[1] + ws[0]


def dict_items(p):
    tot = 0.0
    for k, v in p.items():
        tot = tot + np.sum(v ** 3)
    return tot


def linspace_mul(x):
    t = np.linspace(0, 1, 5)
    return np.sum(np.sin(x * t))


def squeeze_newaxis(x):
    return np.sum(x[:, None] * x[None, :])


def negative_index(x):
    return x[-1] * x[-2] + np.sum(x[-3:])


def trig_np(x):
    return np.sum(np.arcsin(x * 0.5) + np.arccos(x * 0.3) + np.arctan(x) + np.sinh(x)
                  + np.cosh(x) + np.log2(x + 3) + np.exp2(x) + np.sqrt(x + 2)
                  + np.cbrt(x + 2) + np.square(x) + np.reciprocal(x + 3))


def dict_values_keys(p):
    t = 0.0
    for v in p.values():
        t = t + np.sum(np.sin(v))
    for k in p.keys():
        t = t + p[k][0] * len(k)
    return t


G = 9.81


def projectile(v0, angle):
    vx = v0 * math.cos(angle)
    vy = v0 * math.sin(angle)
    x = 0.0
    y = 0.0
    dt = 0.01
    steps = 0
    while y >= 0.0 and steps < 10000:
        x += vx * dt
        vy -= G * dt
        y += vy * dt
        steps += 1
    return x


def spring_chain(k, positions):
    energy = 0.0
    n = len(positions)
    for i in range(n - 1):
        stretch = positions[i + 1] - positions[i] - 1.0
        energy += 0.5 * k * stretch ** 2
    return energy


def verlet(x0, v0, k):
    x, v = x0, v0
    dt = 0.05
    a = -k * x
    for _ in range(40):
        x = x + v * dt + 0.5 * a * dt * dt
        a_new = -k * x
        v = v + 0.5 * (a + a_new) * dt
        a = a_new
    return x * x + v * v


def kmeans_loss(centers, X):
    d = np.sum((X[:, None, :] - centers[None, :, :]) ** 2, axis=2)
    return np.sum(np.min(d, axis=1))


def attention(Q, K, V):
    scores = Q @ K.T / np.sqrt(Q.shape[1])
    scores = scores - np.max(scores, axis=1, keepdims=True)
    w = np.exp(scores)
    w = w / np.sum(w, axis=1, keepdims=True)
    return np.sum((w @ V) ** 2)


def layer_norm(x, g, b):
    mu = np.mean(x, axis=-1, keepdims=True)
    var = np.var(x, axis=-1, keepdims=True)
    y = (x - mu) / np.sqrt(var + 1e-5)
    return np.sum((y * g + b) ** 3)


def huber(r, delta):
    total = 0.0
    for v in r:
        if abs(v) <= delta:
            total += 0.5 * v * v
        else:
            total += delta * (abs(v) - 0.5 * delta)
    return total


def poly_fit_loss(coef, xs, ys):
    pred = np.zeros_like(xs)
    for p, c in enumerate(coef):
        pred = pred + c * xs ** p
    return np.mean((pred - ys) ** 2)


def running_max(x):
    best = x[0]
    acc = 0.0
    for v in x[1:]:
        best = max(best, v)
        acc = acc + best
    return acc


def nested_lists(ws):
    total = 0.0
    for row in ws:
        for v in row:
            total = total + v * v
    return total


def early_break(x):
    s = 0.0
    for i in range(10):
        s = s + x * i
        if s > 5.0:
            break
    return s * x


def continue_loop(xs):
    s = 0.0
    for v in xs:
        if v < 0:
            continue
        s += math.sqrt(v)
    return s


def matrix_build(a, b):
    M = np.array([[a, b], [b * b, a * b]])
    return np.linalg.det(M) + np.trace(M @ M)


def softplus_sum(x):
    return np.sum(np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0.0))


def gaussian_nll(mu, log_sigma, x):
    sigma = np.exp(log_sigma)
    return np.sum(0.5 * ((x - mu) / sigma) ** 2 + log_sigma + 0.5 * math.log(2 * math.pi))
