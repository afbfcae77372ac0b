"""Benchmark workloads for s2sgrad.

Each workload has three parts:

* a loss function written the way a user would write it (module-level ``def``,
  ``import numpy as np`` / ``import math``, plain loops) -- this is what s2sgrad
  reads with ``inspect.getsource`` and differentiates;
* a data generator with a fixed seed (``tiny=True`` gives a small instance for
  the finite-difference self-check);
* a HAND-WRITTEN NumPy gradient: the expert reference that s2sgrad is measured
  against.  It returns a tuple with one gradient per ``wrt`` argument.

Run ``python benchmarks/workloads.py`` to check every hand-written gradient
against centred finite differences.
"""
import math
from dataclasses import dataclass, field
from typing import Callable, Tuple

import numpy as np


# ---------------------------------------------------------------------------
# (a) logistic regression: X 1000x100, labels in {-1, +1}, wrt (w, b)
# ---------------------------------------------------------------------------

def logreg_loss(w, b, X, y):
    z = X @ w + b
    return np.mean(np.logaddexp(0.0, -y * z))


def logreg_data(tiny=False):
    rng = np.random.default_rng(0)
    n, d = (7, 3) if tiny else (1000, 100)
    X = rng.standard_normal((n, d))
    w_true = rng.standard_normal(d)
    y = np.where(X @ w_true + 0.5 * rng.standard_normal(n) > 0, 1.0, -1.0)
    w = 0.1 * rng.standard_normal(d)
    b = 0.1
    return (w, b, X, y)


def logreg_hand(w, b, X, y):
    z = X @ w + b
    m = -y * z
    # d/dm logaddexp(0, m) = sigmoid(m), computed stably
    s = np.exp(-np.logaddexp(0.0, -m))
    gz = -y * s / X.shape[0]
    return (X.T @ gz, float(np.sum(gz)))


# ---------------------------------------------------------------------------
# (b) 2-layer MLP: batch 256, 784 -> 256 (tanh) -> 10, softmax cross-entropy
# ---------------------------------------------------------------------------

def mlp_loss(W1, b1, W2, b2, X, Y):
    h = np.tanh(X @ W1 + b1)
    z = h @ W2 + b2
    zmax = np.max(z, axis=1, keepdims=True)
    s = z - zmax
    logp = s - np.log(np.sum(np.exp(s), axis=1, keepdims=True))
    return -np.sum(Y * logp) / X.shape[0]


def mlp_data(tiny=False):
    rng = np.random.default_rng(1)
    n, d, hdim, k = (5, 4, 3, 3) if tiny else (256, 784, 256, 10)
    X = rng.standard_normal((n, d))
    labels = rng.integers(0, k, size=n)
    Y = np.zeros((n, k))
    Y[np.arange(n), labels] = 1.0
    W1 = rng.standard_normal((d, hdim)) / np.sqrt(d)
    b1 = 0.1 * rng.standard_normal(hdim)
    W2 = rng.standard_normal((hdim, k)) / np.sqrt(hdim)
    b2 = 0.1 * rng.standard_normal(k)
    return (W1, b1, W2, b2, X, Y)


def mlp_hand(W1, b1, W2, b2, X, Y):
    n = X.shape[0]
    h = np.tanh(X @ W1 + b1)
    z = h @ W2 + b2
    e = np.exp(z - np.max(z, axis=1, keepdims=True))
    p = e / np.sum(e, axis=1, keepdims=True)
    gz = (p - Y) / n
    gW2 = h.T @ gz
    gb2 = gz.sum(axis=0)
    ga = (gz @ W2.T) * (1.0 - h * h)
    gW1 = X.T @ ga
    gb1 = ga.sum(axis=0)
    return (gW1, gb1, gW2, gb2)


# ---------------------------------------------------------------------------
# (c) Griewank's scalar example in a 200-iteration Python loop (math.*)
#     f(x1, x2) = (sin(x1/x2) + x1/x2 - exp(x2)) * (x1/x2 - exp(x2))
# ---------------------------------------------------------------------------

def griewank_loop(x1, x2):
    loss = 0.0
    for i in range(200):
        a = (x1 + 0.01 * i) / x2
        e = math.exp(x2)
        loss = loss + (math.sin(a) + a - e) * (a - e)
    return loss


def griewank_data(tiny=False):
    return (1.5, 0.5)


def griewank_hand(x1, x2):
    g1 = 0.0
    g2 = 0.0
    e = math.exp(x2)
    for i in range(200):
        a = (x1 + 0.01 * i) / x2
        p = math.sin(a) + a - e
        q = a - e
        ga = (math.cos(a) + 1.0) * q + p
        ge = -q - p
        g1 += ga / x2
        g2 += -ga * a / x2 + ge * e
    return (g1, g2)


# ---------------------------------------------------------------------------
# (d) tanh RNN: T=50, hidden 64, batch 32, input 32, Python loop over time
# ---------------------------------------------------------------------------

def rnn_loss(Wx, Wh, b, Wo, xs, target):
    h = np.zeros((xs.shape[1], Wh.shape[0]))
    for t in range(len(xs)):
        h = np.tanh(xs[t] @ Wx + h @ Wh + b)
    out = h @ Wo
    return np.mean((out - target) ** 2)


def rnn_data(tiny=False):
    rng = np.random.default_rng(3)
    T, B, D, H, O = (4, 3, 2, 3, 2) if tiny else (50, 32, 32, 64, 8)
    xs = rng.standard_normal((T, B, D))
    target = rng.standard_normal((B, O))
    Wx = rng.standard_normal((D, H)) / np.sqrt(D)
    Wh = 0.9 * rng.standard_normal((H, H)) / np.sqrt(H)
    b = 0.1 * rng.standard_normal(H)
    Wo = rng.standard_normal((H, O)) / np.sqrt(H)
    return (Wx, Wh, b, Wo, xs, target)


def rnn_hand(Wx, Wh, b, Wo, xs, target):
    T, B = xs.shape[0], xs.shape[1]
    hs = [np.zeros((B, Wh.shape[0]))]
    for t in range(T):
        hs.append(np.tanh(xs[t] @ Wx + hs[-1] @ Wh + b))
    out = hs[-1] @ Wo
    gout = 2.0 * (out - target) / out.size
    gWo = hs[-1].T @ gout
    gh = gout @ Wo.T
    gWx = np.zeros_like(Wx)
    gWh = np.zeros_like(Wh)
    gb = np.zeros_like(b)
    for t in range(T - 1, -1, -1):
        h = hs[t + 1]
        ga = gh * (1.0 - h * h)
        gWx += xs[t].T @ ga
        gWh += hs[t].T @ ga
        gb += ga.sum(axis=0)
        gh = ga @ Wh.T
    return (gWx, gWh, gb, gWo)


# ---------------------------------------------------------------------------
# (e) 40 elementwise ops on size-10 arrays (straight-line code): per-op overhead
#     block A: y <- y + tanh(sin(y) * x)       block B: y <- y * cos(log1p(y*y))
# ---------------------------------------------------------------------------

def elementwise40(x):
    a1 = np.sin(x)
    b1 = a1 * x
    c1 = np.tanh(b1)
    y1 = x + c1
    a2 = y1 * y1
    b2 = np.log1p(a2)
    c2 = np.cos(b2)
    y2 = y1 * c2
    a3 = np.sin(y2)
    b3 = a3 * x
    c3 = np.tanh(b3)
    y3 = y2 + c3
    a4 = y3 * y3
    b4 = np.log1p(a4)
    c4 = np.cos(b4)
    y4 = y3 * c4
    a5 = np.sin(y4)
    b5 = a5 * x
    c5 = np.tanh(b5)
    y5 = y4 + c5
    a6 = y5 * y5
    b6 = np.log1p(a6)
    c6 = np.cos(b6)
    y6 = y5 * c6
    a7 = np.sin(y6)
    b7 = a7 * x
    c7 = np.tanh(b7)
    y7 = y6 + c7
    a8 = y7 * y7
    b8 = np.log1p(a8)
    c8 = np.cos(b8)
    y8 = y7 * c8
    a9 = np.sin(y8)
    b9 = a9 * x
    c9 = np.tanh(b9)
    y9 = y8 + c9
    a10 = y9 * y9
    b10 = np.log1p(a10)
    c10 = np.cos(b10)
    y10 = y9 * c10
    return np.sum(y10)


def elementwise40_data(tiny=False):
    rng = np.random.default_rng(5)
    return (rng.uniform(-1.0, 1.0, 10),)


def elementwise40_hand(x):
    # forward, keeping the intermediates each adjoint needs
    y0 = x
    y1 = y0 + np.tanh(np.sin(y0) * x)
    a2 = y1 * y1
    b2 = np.log1p(a2)
    c2 = np.cos(b2)
    y2 = y1 * c2
    c3 = np.tanh(np.sin(y2) * x)
    y3 = y2 + c3
    a4 = y3 * y3
    b4 = np.log1p(a4)
    c4 = np.cos(b4)
    y4 = y3 * c4
    c5 = np.tanh(np.sin(y4) * x)
    y5 = y4 + c5
    a6 = y5 * y5
    b6 = np.log1p(a6)
    c6 = np.cos(b6)
    y6 = y5 * c6
    c7 = np.tanh(np.sin(y6) * x)
    y7 = y6 + c7
    a8 = y7 * y7
    b8 = np.log1p(a8)
    c8 = np.cos(b8)
    y8 = y7 * c8
    c9 = np.tanh(np.sin(y8) * x)
    y9 = y8 + c9
    a10 = y9 * y9
    b10 = np.log1p(a10)
    c10 = np.cos(b10)
    # backward
    g = np.ones_like(x)                                   # d sum / d y10
    # block B: y = u * cos(log1p(u*u)) ; dy/du = c - sin(b) * 2u^2/(1+u^2)
    g = g * (c10 - np.sin(b10) * 2.0 * a10 / (1.0 + a10))  # -> g_y9
    # block A: y = u + tanh(sin(u) * x)
    t = g * (1.0 - c9 * c9)
    gx = t * np.sin(y8)
    g = g + t * x * np.cos(y8)                             # -> g_y8
    g = g * (c8 - np.sin(b8) * 2.0 * a8 / (1.0 + a8))      # -> g_y7
    t = g * (1.0 - c7 * c7)
    gx = gx + t * np.sin(y6)
    g = g + t * x * np.cos(y6)                             # -> g_y6
    g = g * (c6 - np.sin(b6) * 2.0 * a6 / (1.0 + a6))      # -> g_y5
    t = g * (1.0 - c5 * c5)
    gx = gx + t * np.sin(y4)
    g = g + t * x * np.cos(y4)                             # -> g_y4
    g = g * (c4 - np.sin(b4) * 2.0 * a4 / (1.0 + a4))      # -> g_y3
    t = g * (1.0 - c3 * c3)
    gx = gx + t * np.sin(y2)
    g = g + t * x * np.cos(y2)                             # -> g_y2
    g = g * (c2 - np.sin(b2) * 2.0 * a2 / (1.0 + a2))      # -> g_y1
    c1 = y1 - y0
    t = g * (1.0 - c1 * c1)
    gx = gx + t * np.sin(y0)
    g = g + t * x * np.cos(y0)                             # -> g_y0 (= x)
    return (g + gx,)


# ---------------------------------------------------------------------------
# (f) vectorised Rosenbrock, n = 10,000
# ---------------------------------------------------------------------------

def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_data(tiny=False):
    rng = np.random.default_rng(6)
    n = 6 if tiny else 10_000
    return (rng.uniform(-1.5, 1.5, n),)


def rosenbrock_hand(x):
    xm = x[:-1]
    d = x[1:] - xm * xm
    g = np.zeros_like(x)
    g[:-1] = -400.0 * d * xm - 2.0 * (1.0 - xm)
    g[1:] += 200.0 * d
    return (g,)


# ---------------------------------------------------------------------------
# hand-written value-and-gradient of the six above: the value reuses what the
# gradient computes (what an expert writes when an optimizer wants both)
# ---------------------------------------------------------------------------

def logreg_hand_vg(w, b, X, y):
    z = X @ w + b
    m = -y * z
    lae = np.logaddexp(0.0, m)
    s = np.exp(m - lae)                       # sigmoid(m), reusing logaddexp(0, m)
    gz = -y * s / X.shape[0]
    return float(np.mean(lae)), (X.T @ gz, float(np.sum(gz)))


def mlp_hand_vg(W1, b1, W2, b2, X, Y):
    n = X.shape[0]
    h = np.tanh(X @ W1 + b1)
    z = h @ W2 + b2
    s = z - np.max(z, axis=1, keepdims=True)
    e = np.exp(s)
    se = np.sum(e, axis=1, keepdims=True)
    value = -np.sum(Y * (s - np.log(se))) / n
    gz = (e / se - Y) / n
    gW2 = h.T @ gz
    gb2 = gz.sum(axis=0)
    ga = (gz @ W2.T) * (1.0 - h * h)
    return value, (X.T @ ga, ga.sum(axis=0), gW2, gb2)


def griewank_hand_vg(x1, x2):
    f = g1 = g2 = 0.0
    e = math.exp(x2)
    for i in range(200):
        a = (x1 + 0.01 * i) / x2
        p = math.sin(a) + a - e
        q = a - e
        f += p * q
        ga = (math.cos(a) + 1.0) * q + p
        g1 += ga / x2
        g2 += -ga * a / x2 - (q + p) * e
    return f, (g1, g2)


def rnn_hand_vg(Wx, Wh, b, Wo, xs, target):
    T, B = xs.shape[0], xs.shape[1]
    hs = [np.zeros((B, Wh.shape[0]))]
    for t in range(T):
        hs.append(np.tanh(xs[t] @ Wx + hs[-1] @ Wh + b))
    r = hs[-1] @ Wo - target
    value = np.mean(r * r)
    gout = 2.0 * r / r.size
    gWo = hs[-1].T @ gout
    gh = gout @ Wo.T
    gWx = np.zeros_like(Wx)
    gWh = np.zeros_like(Wh)
    gb = np.zeros_like(b)
    for t in range(T - 1, -1, -1):
        h = hs[t + 1]
        ga = gh * (1.0 - h * h)
        gWx += xs[t].T @ ga
        gWh += hs[t].T @ ga
        gb += ga.sum(axis=0)
        gh = ga @ Wh.T
    return value, (gWx, gWh, gb, gWo)


def elementwise40_hand_vg(x):
    # the forward pass of elementwise40_hand, then y10 and its sum: the gradient is the
    # same code (the last block's c10 is all the value needs beyond it)
    (g,) = elementwise40_hand(x)
    return float(np.sum(_elementwise40_y10(x))), (g,)


def _elementwise40_y10(x):
    y = x
    for _ in range(5):
        y = y + np.tanh(np.sin(y) * x)
        y = y * np.cos(np.log1p(y * y))
    return y


def rosenbrock_hand_vg(x):
    xm = x[:-1]
    d = x[1:] - xm * xm
    t = 1.0 - xm
    value = 100.0 * np.dot(d, d) + np.dot(t, t)
    g = np.zeros_like(x)
    g[:-1] = -400.0 * d * xm - 2.0 * t
    g[1:] += 200.0 * d
    return value, (g,)


# ---------------------------------------------------------------------------
# (g) damped oscillators, semi-implicit Euler (leapfrog-style), 200 steps:
#     loop-carried state (x, v) read by every step, a loss summed over the path
# ---------------------------------------------------------------------------

def oscillator_loss(k, c, x0, v0, obs):
    dt = 0.05
    x = x0
    v = v0
    loss = 0.0
    for t in range(obs.shape[0]):
        a = -k * x - c * v
        v = v + dt * a
        x = x + dt * v
        r = x - obs[t]
        loss = loss + np.sum(r * r)
    return loss / obs.shape[0]


def oscillator_data(tiny=False):
    rng = np.random.default_rng(7)
    T, n = (5, 3) if tiny else (200, 64)
    k = rng.uniform(1.0, 4.0, n)
    c = rng.uniform(0.05, 0.3, n)
    x0 = rng.standard_normal(n)
    v0 = rng.standard_normal(n)
    obs = 0.5 * rng.standard_normal((T, n))
    return (k, c, x0, v0, obs)


def oscillator_hand_vg(k, c, x0, v0, obs, want_value=True):
    dt = 0.05
    T = obs.shape[0]
    xs, vs = [x0], [v0]
    x, v = x0, v0
    for t in range(T):
        v = v + dt * (-k * x - c * v)
        x = x + dt * v
        xs.append(x)
        vs.append(v)
    gk = np.zeros_like(k)
    gc = np.zeros_like(c)
    gx = np.zeros_like(x0)
    gv = np.zeros_like(v0)
    value = 0.0
    for t in range(T - 1, -1, -1):
        r = xs[t + 1] - obs[t]
        if want_value:
            value += np.dot(r, r)
        gx = gx + (2.0 / T) * r          # the loss term of step t
        gv = gv + dt * gx                # x' = x + dt v'
        ga = dt * gv                     # v' = v + dt a
        gk -= ga * xs[t]                 # a = -k x - c v
        gc -= ga * vs[t]
        gx = gx - k * ga
        gv = gv - c * ga
    return (value / T if want_value else None), (gk, gc)


# ---------------------------------------------------------------------------
# (h) LSTM over 30 steps: one stacked matmul per step, its four gates as slices
# ---------------------------------------------------------------------------

def lstm_loss(Wx, Wh, b, Wo, xs, target):
    H = Wh.shape[0]
    h = np.zeros((xs.shape[1], H))
    c = np.zeros((xs.shape[1], H))
    for t in range(xs.shape[0]):
        z = xs[t] @ Wx + h @ Wh + b
        i = 1.0 / (1.0 + np.exp(-z[:, :H]))
        f = 1.0 / (1.0 + np.exp(-z[:, H:2 * H]))
        o = 1.0 / (1.0 + np.exp(-z[:, 2 * H:3 * H]))
        g = np.tanh(z[:, 3 * H:])
        c = f * c + i * g
        h = o * np.tanh(c)
    out = h @ Wo
    return np.mean((out - target) ** 2)


def lstm_data(tiny=False):
    rng = np.random.default_rng(8)
    T, B, D, H, O = (3, 2, 2, 2, 2) if tiny else (30, 16, 16, 32, 4)
    xs = rng.standard_normal((T, B, D))
    target = rng.standard_normal((B, O))
    Wx = rng.standard_normal((D, 4 * H)) / np.sqrt(D)
    Wh = rng.standard_normal((H, 4 * H)) / np.sqrt(H)
    b = 0.1 * rng.standard_normal(4 * H)
    Wo = rng.standard_normal((H, O)) / np.sqrt(H)
    return (Wx, Wh, b, Wo, xs, target)


def lstm_hand_vg(Wx, Wh, b, Wo, xs, target, want_value=True):
    T, B = xs.shape[0], xs.shape[1]
    H = Wh.shape[0]
    h = np.zeros((B, H))
    c = np.zeros((B, H))
    hs, cs, gates = [h], [c], []
    for t in range(T):
        z = xs[t] @ Wx + h @ Wh + b
        s = 1.0 / (1.0 + np.exp(-z[:, :3 * H]))      # i, f, o in one call
        g = np.tanh(z[:, 3 * H:])
        c = s[:, H:2 * H] * c + s[:, :H] * g
        tc = np.tanh(c)
        h = s[:, 2 * H:] * tc
        gates.append((s, g, tc))
        hs.append(h)
        cs.append(c)
    r = h @ Wo - target
    value = np.mean(r * r) if want_value else None
    gout = 2.0 * r / r.size
    gWo = h.T @ gout
    gh = gout @ Wo.T
    gc = np.zeros((B, H))
    gWx = np.zeros_like(Wx)
    gWh = np.zeros_like(Wh)
    gz = np.empty((B, 4 * H))
    for t in range(T - 1, -1, -1):
        s, g, tc = gates[t]
        i, f, o = s[:, :H], s[:, H:2 * H], s[:, 2 * H:]
        gc = gc + gh * o * (1.0 - tc * tc)
        gz[:, 2 * H:3 * H] = gh * tc * o * (1.0 - o)
        gz[:, :H] = gc * g * i * (1.0 - i)
        gz[:, H:2 * H] = gc * cs[t] * f * (1.0 - f)
        gz[:, 3 * H:] = gc * i * (1.0 - g * g)
        gc = gc * f
        gWx += xs[t].T @ gz
        gWh += hs[t].T @ gz
        if t == T - 1:
            gb = gz.sum(axis=0)
        else:
            gb += gz.sum(axis=0)
        gh = gz @ Wh.T
    return value, (gWx, gWh, gb, gWo)


# ---------------------------------------------------------------------------
# (i) single-head attention: softmax(Q Kᵀ / √d) V, squared error to a target
# ---------------------------------------------------------------------------

def attention_loss(Wq, Wk, Wv, X, target):
    Q = X @ Wq
    K = X @ Wk
    V = X @ Wv
    S = Q @ K.T / np.sqrt(X.shape[1])
    S = S - np.max(S, axis=1, keepdims=True)
    E = np.exp(S)
    P = E / np.sum(E, axis=1, keepdims=True)
    out = P @ V
    return np.sum((out - target) ** 2) / X.shape[0]


def attention_data(tiny=False):
    rng = np.random.default_rng(9)
    n, d = (4, 3) if tiny else (128, 32)
    X = rng.standard_normal((n, d))
    target = rng.standard_normal((n, d))
    Wq, Wk, Wv = (rng.standard_normal((d, d)) / np.sqrt(d) for _ in range(3))
    return (Wq, Wk, Wv, X, target)


def attention_hand_vg(Wq, Wk, Wv, X, target, want_value=True):
    n, d = X.shape
    scale = 1.0 / np.sqrt(d)
    Q = X @ Wq
    K = X @ Wk
    V = X @ Wv
    S = (Q @ K.T) * scale
    E = np.exp(S - np.max(S, axis=1, keepdims=True))
    P = E / np.sum(E, axis=1, keepdims=True)
    r = P @ V - target
    value = np.sum(r * r) / n if want_value else None
    gO = (2.0 / n) * r
    gV = P.T @ gO
    gP = gO @ V.T
    gS = P * (gP - np.sum(gP * P, axis=1, keepdims=True)) * scale
    gQ = gS @ K
    gK = gS.T @ Q
    return value, (X.T @ gQ, X.T @ gK, X.T @ gV)


# ---------------------------------------------------------------------------
# (j) Gaussian-process negative log marginal likelihood, squared-exponential kernel
#     (cholesky, solve, log(diag(L))), wrt the log hyperparameters
# ---------------------------------------------------------------------------

def gp_nll(log_ell, log_sf, log_sn, D2, y):
    n = y.shape[0]
    K = np.exp(2.0 * log_sf) * np.exp(-0.5 * D2 / np.exp(2.0 * log_ell)) \
        + np.exp(2.0 * log_sn) * np.eye(n)
    L = np.linalg.cholesky(K)
    alpha = np.linalg.solve(L.T, np.linalg.solve(L, y))
    return 0.5 * np.dot(y, alpha) + np.sum(np.log(np.diag(L))) + 0.5 * n * np.log(2.0 * np.pi)


def gp_data(tiny=False):
    rng = np.random.default_rng(10)
    n = 5 if tiny else 100
    x = rng.uniform(-3.0, 3.0, (n, 2))
    D2 = np.sum((x[:, None, :] - x[None, :, :]) ** 2, axis=2)
    y = np.sin(x[:, 0]) + 0.3 * np.cos(2.0 * x[:, 1]) + 0.1 * rng.standard_normal(n)
    return (0.1, -0.2, -1.5, D2, y)


def gp_hand_vg(log_ell, log_sf, log_sn, D2, y, want_value=True):
    n = y.shape[0]
    sf2, sn2 = np.exp(2.0 * log_sf), np.exp(2.0 * log_sn)
    E = sf2 * np.exp(-0.5 * D2 / np.exp(2.0 * log_ell))
    K = E.copy()
    K.flat[::n + 1] += sn2
    L = np.linalg.cholesky(K)
    Linv = np.linalg.solve(L, np.eye(n))            # one factorisation, reused
    Kinv = Linv.T @ Linv
    alpha = Kinv @ y
    value = (0.5 * np.dot(y, alpha) + np.sum(np.log(np.diag(L)))
             + 0.5 * n * np.log(2.0 * np.pi)) if want_value else None
    W = 0.5 * (Kinv - np.outer(alpha, alpha))       # d nll / d K
    g_ell = float(np.sum(W * E * D2) / np.exp(2.0 * log_ell))
    g_sf = float(2.0 * np.sum(W * E))
    g_sn = float(2.0 * sn2 * np.trace(W))
    return value, (g_ell, g_sf, g_sn)


# ---------------------------------------------------------------------------
# (k) softmax cross-entropy with integer labels: logp[np.arange(n), y]
# ---------------------------------------------------------------------------

def xent_loss(W, b, X, labels):
    z = X @ W + b
    z = z - np.max(z, axis=1, keepdims=True)
    logp = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))
    return -np.mean(logp[np.arange(X.shape[0]), labels])


def xent_data(tiny=False):
    rng = np.random.default_rng(11)
    n, d, k = (6, 3, 4) if tiny else (1000, 64, 10)
    X = rng.standard_normal((n, d))
    labels = rng.integers(0, k, size=n)
    W = 0.1 * rng.standard_normal((d, k))
    b = 0.1 * rng.standard_normal(k)
    return (W, b, X, labels)


def xent_hand_vg(W, b, X, labels, want_value=True):
    n = X.shape[0]
    rows = np.arange(n)
    z = X @ W + b
    z -= np.max(z, axis=1, keepdims=True)
    e = np.exp(z)
    se = np.sum(e, axis=1, keepdims=True)
    value = -np.mean(z[rows, labels] - np.log(se[:, 0])) if want_value else None
    gz = e / se
    gz[rows, labels] -= 1.0                        # the rows are distinct: no add.at
    gz /= n
    return value, (X.T @ gz, gz.sum(axis=0))


# ---------------------------------------------------------------------------
# (l) 1-D diffusion with np.roll (periodic), 100 explicit steps, wrt u0 and D
# ---------------------------------------------------------------------------

def diffusion_loss(u0, D, target):
    u = u0
    for t in range(100):
        u = u + D * (np.roll(u, 1) - 2.0 * u + np.roll(u, -1))
    return np.sum((u - target) ** 2)


def diffusion_data(tiny=False):
    rng = np.random.default_rng(12)
    n = 24 if tiny else 512
    u0 = rng.standard_normal(n)
    target = rng.standard_normal(n)
    return (u0, 0.05 if tiny else 0.2, target)


def diffusion_hand_vg(u0, D, target, want_value=True):
    us = [u0]
    u = u0
    for t in range(100):
        u = u + D * (np.roll(u, 1) - 2.0 * u + np.roll(u, -1))
        us.append(u)
    r = u - target
    value = np.dot(r, r) if want_value else None
    g = 2.0 * r
    gD = 0.0
    for t in range(99, -1, -1):
        v = us[t]
        gD += np.dot(g, np.roll(v, 1) - 2.0 * v + np.roll(v, -1))
        g = g + D * (np.roll(g, 1) - 2.0 * g + np.roll(g, -1))   # the stencil is symmetric
    return value, (g, gD)


# ---------------------------------------------------------------------------
# (m) Gaussian mixture, isotropic components, log-likelihood with a logsumexp
# ---------------------------------------------------------------------------

def gmm_nll(mu, log_s, logits, X):
    d = X.shape[1]
    lw = logits - np.max(logits)
    lw = lw - np.log(np.sum(np.exp(lw)))
    s2 = np.exp(2.0 * log_s)
    D2 = np.sum((X[:, None, :] - mu[None, :, :]) ** 2, axis=2)
    a = lw - 0.5 * D2 / s2 - d * log_s - 0.5 * d * np.log(2.0 * np.pi)
    m = np.max(a, axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.sum(np.exp(a - m), axis=1))
    return -np.mean(lse)


def gmm_data(tiny=False):
    rng = np.random.default_rng(13)
    n, k, d = (6, 3, 2) if tiny else (1000, 8, 2)
    X = rng.standard_normal((n, d)) * 2.0
    mu = rng.standard_normal((k, d)) * 2.0
    log_s = 0.2 * rng.standard_normal(k)
    logits = 0.3 * rng.standard_normal(k)
    return (mu, log_s, logits, X)


def gmm_hand_vg(mu, log_s, logits, X, want_value=True):
    n, d = X.shape
    lw = logits - np.max(logits)
    ew = np.exp(lw)
    w = ew / np.sum(ew)
    lw = lw - np.log(np.sum(ew))
    s2 = np.exp(2.0 * log_s)
    diff = X[:, None, :] - mu[None, :, :]
    D2 = np.einsum("nkd,nkd->nk", diff, diff)
    a = lw - 0.5 * D2 / s2 - d * log_s - 0.5 * d * np.log(2.0 * np.pi)
    m = np.max(a, axis=1, keepdims=True)
    e = np.exp(a - m)
    se = np.sum(e, axis=1, keepdims=True)
    value = -np.mean(m[:, 0] + np.log(se[:, 0])) if want_value else None
    R = e / se                                          # responsibilities
    ga = -R / n
    gD2 = -0.5 * ga / s2
    gmu = -2.0 * np.einsum("nk,nkd->kd", gD2, diff)
    glog_s = np.sum(ga * (D2 / s2 - d), axis=0)
    gl = ga.sum(axis=0)
    glogits = gl - w * np.sum(gl)
    return value, (gmu, glog_s, glogits)


# ---------------------------------------------------------------------------
# (n) 1-D convolution written with slices (a loop over the taps), tanh, squared sum
# ---------------------------------------------------------------------------

def conv_loss(w, x, target):
    m = x.shape[1] - w.shape[0] + 1
    y = w[0] * x[:, 0:m]
    for j in range(1, w.shape[0]):
        y = y + w[j] * x[:, j:j + m]
    return np.sum((np.tanh(y) - target) ** 2)


def conv_data(tiny=False):
    rng = np.random.default_rng(14)
    B, n, K = (2, 6, 3) if tiny else (32, 256, 9)
    x = rng.standard_normal((B, n))
    w = rng.standard_normal(K) / np.sqrt(K)
    target = 0.5 * rng.standard_normal((B, n - K + 1))
    return (w, x, target)


def conv_hand_vg(w, x, target, want_value=True):
    K = w.shape[0]
    m = x.shape[1] - K + 1
    y = w[0] * x[:, 0:m]
    for j in range(1, K):
        y += w[j] * x[:, j:j + m]
    t = np.tanh(y)
    r = t - target
    value = np.sum(r * r) if want_value else None
    gy = 2.0 * r * (1.0 - t * t)
    gw = np.empty_like(w)
    gx = np.zeros_like(x)
    for j in range(K):
        gw[j] = np.sum(gy * x[:, j:j + m])
        gx[:, j:j + m] += w[j] * gy
    return value, (gw, gx)


# ---------------------------------------------------------------------------
# (o) k-means: each point's squared distance to its nearest centre (hard assignment)
# ---------------------------------------------------------------------------

def kmeans_loss(C, X):
    D2 = np.sum((X[:, None, :] - C[None, :, :]) ** 2, axis=2)
    return np.mean(np.min(D2, axis=1))


def kmeans_data(tiny=False):
    rng = np.random.default_rng(15)
    n, k, d = (7, 3, 2) if tiny else (2000, 8, 4)
    X = rng.standard_normal((n, d))
    C = rng.standard_normal((k, d))
    return (C, X)


def kmeans_hand_vg(C, X, want_value=True):
    n, k = X.shape[0], C.shape[0]
    D2 = np.sum((X[:, None, :] - C[None, :, :]) ** 2, axis=2)
    a = np.argmin(D2, axis=1)
    value = np.mean(D2[np.arange(n), a]) if want_value else None
    counts = np.bincount(a, minlength=k).astype(float)
    sums = np.zeros_like(C)
    np.add.at(sums, a, X)
    return value, ((2.0 / n) * (counts[:, None] * C - sums),)


# ---------------------------------------------------------------------------
# (p) many tiny scalar functions called in a loop (robust regression on 100 points)
# ---------------------------------------------------------------------------

def _residual(a, b, x, y):
    return a * x + b - y


def _softplus(z):
    return math.log1p(math.exp(z))


def _sigmoid(z):
    return 1.0 / (1.0 + math.exp(-z))


def scalar_calls_loss(a, b, xs, ys):
    loss = 0.0
    for i in range(len(xs)):
        r = _residual(a, b, xs[i], ys[i])
        loss = loss + _softplus(r) + _softplus(-r) + 0.1 * _sigmoid(r) * r
    return loss / len(xs)


def scalar_calls_data(tiny=False):
    rng = np.random.default_rng(16)
    n = 5 if tiny else 100
    xs = [float(v) for v in rng.uniform(-2.0, 2.0, n)]
    ys = [float(2.0 * x - 0.5 + 0.3 * rng.standard_normal()) for x in xs]
    return (1.3, 0.2, xs, ys)


def scalar_calls_hand_vg(a, b, xs, ys, want_value=True):
    f = ga = gb = 0.0
    for x, y in zip(xs, ys):
        r = a * x + b - y
        s = 1.0 / (1.0 + math.exp(-r))
        if want_value:
            f += math.log1p(math.exp(r)) + math.log1p(math.exp(-r)) + 0.1 * s * r
        # d/dr softplus(r) + softplus(-r) = s - (1 - s); d/dr s r = s (1 - s) r + s
        gr = 2.0 * s - 1.0 + 0.1 * (s * (1.0 - s) * r + s)
        ga += gr * x
        gb += gr
    n = len(xs)
    return (f / n if want_value else None), (ga / n, gb / n)


def grad_only(vg):
    """The gradient alone from a value-and-gradient written with `want_value`: the
    expert's gradient skips what only the value needs."""
    def hand(*args):
        return vg(*args, want_value=False)[1]
    hand.__name__ = vg.__name__.replace("_vg", "")
    return hand


# ---------------------------------------------------------------------------
# registry
# ---------------------------------------------------------------------------

@dataclass
class Workload:
    name: str
    title: str
    loss: Callable
    make_data: Callable
    wrt: Tuple[int, ...]
    hand_grad: Callable
    description: str = ""
    hand_value_and_grad: Callable = None
    tags: tuple = field(default_factory=tuple)

    @property
    def wrt_arg(self):
        """The ``wrt`` to pass to ``s2sgrad.grad``: an int for one argument."""
        return self.wrt[0] if len(self.wrt) == 1 else self.wrt


def _w(name, title, loss, data, wrt, vg, description):
    """A workload whose hand-written gradient is its value-and-gradient without the value."""
    return Workload(name, title, loss, data, wrt, grad_only(vg), description, vg)


WORKLOADS = [
    Workload("logreg", "logistic regression", logreg_loss, logreg_data, (0, 1), logreg_hand,
             "X 1000x100, mean(logaddexp(0, -y*(X@w+b))), wrt (w, b)", logreg_hand_vg),
    Workload("mlp", "2-layer MLP", mlp_loss, mlp_data, (0, 1, 2, 3), mlp_hand,
             "batch 256, 784-256(tanh)-10, stable softmax cross-entropy, wrt (W1, b1, W2, b2)",
             mlp_hand_vg),
    Workload("griewank", "Griewank scalar loop", griewank_loop, griewank_data, (0, 1), griewank_hand,
             "f(x1,x2) with math.*, 200-iteration Python loop, wrt (x1, x2)", griewank_hand_vg),
    Workload("rnn", "tanh RNN", rnn_loss, rnn_data, (0, 1, 2, 3), rnn_hand,
             "T=50, hidden 64, batch 32, input 32, Python loop over time, wrt (Wx, Wh, b, Wo)",
             rnn_hand_vg),
    Workload("elementwise40", "40 elementwise ops", elementwise40, elementwise40_data, (0,),
             elementwise40_hand, "straight-line sin/tanh/log1p/cos/*/+ on size-10 arrays, wrt x",
             elementwise40_hand_vg),
    Workload("rosenbrock", "vectorised Rosenbrock", rosenbrock, rosenbrock_data, (0,), rosenbrock_hand,
             "n=10,000, slices x[1:], x[:-1], wrt x", rosenbrock_hand_vg),
    _w("oscillator", "damped oscillators", oscillator_loss, oscillator_data, (0, 1),
       oscillator_hand_vg, "64 oscillators, semi-implicit Euler, 200 steps, loop-carried (x, v), "
       "path loss, wrt (k, c)"),
    _w("lstm", "LSTM", lstm_loss, lstm_data, (0, 1, 2, 3), lstm_hand_vg,
       "T=30, batch 16, input 16, hidden 32, gates as slices of one stacked matmul, "
       "wrt (Wx, Wh, b, Wo)"),
    _w("attention", "single-head attention", attention_loss, attention_data, (0, 1, 2),
       attention_hand_vg, "n=128, d=32, softmax(QKᵀ/√d)V, squared error, wrt (Wq, Wk, Wv)"),
    _w("gp", "GP marginal likelihood", gp_nll, gp_data, (0, 1, 2), gp_hand_vg,
       "n=100, squared-exponential kernel, cholesky, solve, log(diag(L)), "
       "wrt (log ℓ, log σf, log σn)"),
    _w("xent", "softmax cross-entropy, integer labels", xent_loss, xent_data, (0, 1),
       xent_hand_vg, "X 1000x64, 10 classes, logp[np.arange(n), labels], wrt (W, b)"),
    _w("diffusion", "1-D diffusion stencil", diffusion_loss, diffusion_data, (0, 1),
       diffusion_hand_vg, "n=512, 100 explicit steps with np.roll, wrt (u0, D)"),
    _w("gmm", "Gaussian mixture", gmm_nll, gmm_data, (0, 1, 2), gmm_hand_vg,
       "1000 points in 2-D, 8 isotropic components, logsumexp, wrt (mu, log σ, logits)"),
    _w("conv", "1-D convolution", conv_loss, conv_data, (0, 1), conv_hand_vg,
       "batch 32, length 256, 9 taps as slices in a loop, tanh, wrt (w, x)"),
    _w("kmeans", "k-means (hard assignment)", kmeans_loss, kmeans_data, (0,), kmeans_hand_vg,
       "2000 points in 4-D, 8 centres, mean of min over centres of squared distance, wrt C"),
    _w("scalar_calls", "tiny scalar functions in a loop", scalar_calls_loss, scalar_calls_data,
       (0, 1), scalar_calls_hand_vg, "100 points, 3 helper functions (math.*) called per "
       "point, wrt (a, b)"),
]

BY_NAME = {w.name: w for w in WORKLOADS}


# ---------------------------------------------------------------------------
# self-check: hand-written gradients against centred finite differences
# ---------------------------------------------------------------------------

def finite_difference(f, args, argnum, eps=1e-6):
    """Centred differences of scalar f with respect to args[argnum]."""
    x = args[argnum]

    def at(v):
        a = list(args)
        a[argnum] = v
        return float(f(*a))

    if isinstance(x, float):
        return (at(x + eps) - at(x - eps)) / (2 * eps)
    x = np.asarray(x, dtype=float)
    g = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        xp = x.copy()
        xm = x.copy()
        xp[idx] += eps
        xm[idx] -= eps
        g[idx] = (at(xp) - at(xm)) / (2 * eps)
    return g


def rel_error(a, b):
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.shape != b.shape:
        return float("inf")
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-12))


def selfcheck(verbose=True, tol=1e-6):
    ok = True
    for w in WORKLOADS:
        args = w.make_data(tiny=True)
        hand = w.hand_grad(*args)
        if len(hand) != len(w.wrt):
            raise AssertionError(f"{w.name}: hand gradient returns {len(hand)} values")
        errs = []
        for g, i in zip(hand, w.wrt):
            fd = finite_difference(w.loss, args, i)
            errs.append(rel_error(g, fd))
            if np.shape(g) != np.shape(args[i]):
                errs[-1] = float("inf")
        if w.hand_value_and_grad is not None:
            value, vg = w.hand_value_and_grad(*args)
            errs.append(rel_error(value, w.loss(*args)))
            errs += [rel_error(a, b) for a, b in zip(vg, hand)]
        worst = max(errs)
        good = worst < tol
        ok &= good
        if verbose:
            print(f"{w.name:14s} max rel err vs finite differences = {worst:.2e}  {'ok' if good else 'FAIL'}")
    return ok


if __name__ == "__main__":
    import sys
    sys.exit(0 if selfcheck() else 1)
