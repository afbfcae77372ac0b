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
    tags: tuple = field(default_factory=tuple)

    @property
    def wrt_arg(self):
        """The ``wrt`` to pass to ``s2sgrad.grad``: an int for one argument."""
        return self.wrt[0] if len(self.wrt) == 1 else self.wrt


WORKLOADS = [
    Workload("logreg", "logistic regression", logreg_loss, logreg_data, (0, 1), logreg_hand,
             "X 1000x100, mean(logaddexp(0, -y*(X@w+b))), wrt (w, b)"),
    Workload("mlp", "2-layer MLP", mlp_loss, mlp_data, (0, 1, 2, 3), mlp_hand,
             "batch 256, 784-256(tanh)-10, stable softmax cross-entropy, wrt (W1, b1, W2, b2)"),
    Workload("griewank", "Griewank scalar loop", griewank_loop, griewank_data, (0, 1), griewank_hand,
             "f(x1,x2) with math.*, 200-iteration Python loop, wrt (x1, x2)"),
    Workload("rnn", "tanh RNN", rnn_loss, rnn_data, (0, 1, 2, 3), rnn_hand,
             "T=50, hidden 64, batch 32, input 32, Python loop over time, wrt (Wx, Wh, b, Wo)"),
    Workload("elementwise40", "40 elementwise ops", elementwise40, elementwise40_data, (0,),
             elementwise40_hand, "straight-line sin/tanh/log1p/cos/*/+ on size-10 arrays, wrt x"),
    Workload("rosenbrock", "vectorised Rosenbrock", rosenbrock, rosenbrock_data, (0,), rosenbrock_hand,
             "n=10,000, slices x[1:], x[:-1], wrt x"),
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
        worst = max(errs)
        good = worst < tol
        ok &= good
        if verbose:
            print(f"{w.name:14s} max rel err vs finite differences = {worst:.2e}  {'ok' if good else 'FAIL'}")
    return ok


if __name__ == "__main__":
    import sys
    sys.exit(0 if selfcheck() else 1)
