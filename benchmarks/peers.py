"""Peer implementations of the benchmark losses: autograd, JAX, PyTorch.

Every peer is optional.  Nothing is imported until ``make_peer`` asks for it,
and a missing or broken install is reported as a reason string, never raised.

Each loss below is the same computation as its NumPy original in
``workloads.py``, written in the peer's own array API (PyTorch's with its own
``softmax``/``log_softmax``/``logsumexp``/``sigmoid`` where the NumPy version writes them
out, as a PyTorch user would).  ``elementwise40`` is
written as a loop over its ten blocks here: tape- and trace-based tools record
exactly the same 40 operations either way (s2sgrad sees the straight-line
version).
"""
import importlib

import numpy as np

PEERS = ("autograd", "jax", "jax.jit", "torch")

# Filled in by _load(); the loss functions look these names up at call time.
anp = None
jax = None
jnp = None
torch = None

_loaded = {}


def _load(lib):
    """Import a peer library once; return None on success, else a short reason."""
    global anp, jax, jnp, torch
    if lib in _loaded:
        return _loaded[lib]
    reason = None
    try:
        if lib == "autograd":
            importlib.import_module("autograd")
            anp = importlib.import_module("autograd.numpy")
        elif lib == "jax":
            jax = importlib.import_module("jax")
            try:
                jax.config.update("jax_enable_x64", True)   # float64, like NumPy
            except Exception:
                pass                                        # JAX_ENABLE_X64=1 is set too
            jnp = importlib.import_module("jax.numpy")
        elif lib == "torch":
            torch = importlib.import_module("torch")
            torch.set_num_threads(1)
        else:
            reason = f"unknown peer {lib}"
    except ImportError:
        reason = "not installed"
    except Exception as e:  # a broken install must not stop the benchmark
        reason = f"import failed: {type(e).__name__}: {str(e).splitlines()[0][:60] if str(e) else ''}"
    _loaded[lib] = reason
    return reason


def version(lib):
    if _load(lib) is not None:
        return None
    mod = {"autograd": "autograd", "jax": "jax", "torch": "torch"}[lib]
    try:
        from importlib.metadata import version as v
        return v(mod)
    except Exception:
        return getattr(importlib.import_module(mod), "__version__", "?")


# ---------------------------------------------------------------------------
# autograd and JAX: both follow the NumPy API, so one set of definitions is
# written against a module ``xp`` (autograd.numpy or jax.numpy).
# ---------------------------------------------------------------------------

def numpy_like_losses(xp):
    def logreg(w, b, X, y):
        z = X @ w + b
        return xp.mean(xp.logaddexp(0.0, -y * z))

    def mlp(W1, b1, W2, b2, X, Y):
        h = xp.tanh(X @ W1 + b1)
        z = h @ W2 + b2
        zmax = xp.max(z, axis=1, keepdims=True)
        s = z - zmax
        logp = s - xp.log(xp.sum(xp.exp(s), axis=1, keepdims=True))
        return -xp.sum(Y * logp) / X.shape[0]

    def griewank(x1, x2):
        loss = 0.0
        for i in range(200):
            a = (x1 + 0.01 * i) / x2
            e = xp.exp(x2)
            loss = loss + (xp.sin(a) + a - e) * (a - e)
        return loss

    def rnn(Wx, Wh, b, Wo, xs, target):
        h = xp.zeros((xs.shape[1], Wh.shape[0]))
        for t in range(len(xs)):
            h = xp.tanh(xs[t] @ Wx + h @ Wh + b)
        out = h @ Wo
        return xp.mean((out - target) ** 2)

    def elementwise40(x):
        y = x
        for _ in range(5):
            a = xp.sin(y)
            b = a * x
            c = xp.tanh(b)
            y = y + c
            a = y * y
            b = xp.log1p(a)
            c = xp.cos(b)
            y = y * c
        return xp.sum(y)

    def rosenbrock(x):
        return xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

    def oscillator(k, c, x0, v0, obs):
        dt = 0.05
        x, v, loss = x0, v0, 0.0
        for t in range(obs.shape[0]):
            a = -k * x - c * v
            v = v + dt * a
            x = x + dt * v
            r = x - obs[t]
            loss = loss + xp.sum(r * r)
        return loss / obs.shape[0]

    def lstm(Wx, Wh, b, Wo, xs, target):
        H = Wh.shape[0]
        h = xp.zeros((xs.shape[1], H))
        c = xp.zeros((xs.shape[1], H))
        for t in range(xs.shape[0]):
            z = xs[t] @ Wx + h @ Wh + b
            i = 1.0 / (1.0 + xp.exp(-z[:, :H]))
            f = 1.0 / (1.0 + xp.exp(-z[:, H:2 * H]))
            o = 1.0 / (1.0 + xp.exp(-z[:, 2 * H:3 * H]))
            g = xp.tanh(z[:, 3 * H:])
            c = f * c + i * g
            h = o * xp.tanh(c)
        return xp.mean((h @ Wo - target) ** 2)

    def attention(Wq, Wk, Wv, X, target):
        Q, K, V = X @ Wq, X @ Wk, X @ Wv
        S = Q @ K.T / np.sqrt(X.shape[1])
        S = S - xp.max(S, axis=1, keepdims=True)
        E = xp.exp(S)
        P = E / xp.sum(E, axis=1, keepdims=True)
        return xp.sum((P @ V - target) ** 2) / X.shape[0]

    def gp(log_ell, log_sf, log_sn, D2, y):
        n = y.shape[0]
        K = xp.exp(2.0 * log_sf) * xp.exp(-0.5 * D2 / xp.exp(2.0 * log_ell)) \
            + xp.exp(2.0 * log_sn) * xp.eye(n)
        L = xp.linalg.cholesky(K)
        alpha = xp.linalg.solve(L.T, xp.linalg.solve(L, y))
        return 0.5 * xp.dot(y, alpha) + xp.sum(xp.log(xp.diag(L))) + 0.5 * n * np.log(2.0 * np.pi)

    def xent(W, b, X, labels):
        z = X @ W + b
        z = z - xp.max(z, axis=1, keepdims=True)
        logp = z - xp.log(xp.sum(xp.exp(z), axis=1, keepdims=True))
        return -xp.mean(logp[np.arange(X.shape[0]), labels])

    def diffusion(u0, D, target):
        u = u0
        for t in range(100):
            u = u + D * (xp.roll(u, 1) - 2.0 * u + xp.roll(u, -1))
        return xp.sum((u - target) ** 2)

    def gmm(mu, log_s, logits, X):
        d = X.shape[1]
        lw = logits - xp.max(logits)
        lw = lw - xp.log(xp.sum(xp.exp(lw)))
        s2 = xp.exp(2.0 * log_s)
        D2 = xp.sum((X[:, None, :] - mu[None, :, :]) ** 2, axis=2)
        a = lw - 0.5 * D2 / s2 - d * log_s - 0.5 * d * np.log(2.0 * np.pi)
        m = xp.max(a, axis=1, keepdims=True)
        return -xp.mean(m[:, 0] + xp.log(xp.sum(xp.exp(a - m), axis=1)))

    def conv(w, x, target):
        m = x.shape[1] - w.shape[0] + 1
        y = w[0] * x[:, 0:m]
        for j in range(1, w.shape[0]):
            y = y + w[j] * x[:, j:j + m]
        return xp.sum((xp.tanh(y) - target) ** 2)

    def kmeans(C, X):
        D2 = xp.sum((X[:, None, :] - C[None, :, :]) ** 2, axis=2)
        return xp.mean(xp.min(D2, axis=1))

    def scalar_calls(a, b, xs, ys):
        def residual(a, b, x, y):
            return a * x + b - y

        def softplus(z):
            return xp.log1p(xp.exp(z))

        def sigmoid(z):
            return 1.0 / (1.0 + xp.exp(-z))

        loss = 0.0
        for i in range(len(xs)):
            r = residual(a, b, xs[i], ys[i])
            loss = loss + softplus(r) + softplus(-r) + 0.1 * sigmoid(r) * r
        return loss / len(xs)

    return dict(logreg=logreg, mlp=mlp, griewank=griewank, rnn=rnn,
                elementwise40=elementwise40, rosenbrock=rosenbrock, oscillator=oscillator,
                lstm=lstm, attention=attention, gp=gp, xent=xent, diffusion=diffusion,
                gmm=gmm, conv=conv, kmeans=kmeans, scalar_calls=scalar_calls)


# ---------------------------------------------------------------------------
# PyTorch (eager): torch ops on float64 tensors.
# ---------------------------------------------------------------------------

def torch_logreg(w, b, X, y):
    z = X @ w + b
    return torch.mean(torch.nn.functional.softplus(-y * z))   # = logaddexp(0, .)


def torch_mlp(W1, b1, W2, b2, X, Y):
    h = torch.tanh(X @ W1 + b1)
    z = h @ W2 + b2
    zmax = torch.amax(z, dim=1, keepdim=True)
    s = z - zmax
    logp = s - torch.log(torch.sum(torch.exp(s), dim=1, keepdim=True))
    return -torch.sum(Y * logp) / X.shape[0]


def torch_griewank(x1, x2):
    loss = 0.0
    for i in range(200):
        a = (x1 + 0.01 * i) / x2
        e = torch.exp(x2)
        loss = loss + (torch.sin(a) + a - e) * (a - e)
    return loss


def torch_rnn(Wx, Wh, b, Wo, xs, target):
    h = torch.zeros((xs.shape[1], Wh.shape[0]), dtype=xs.dtype)
    for t in range(len(xs)):
        h = torch.tanh(xs[t] @ Wx + h @ Wh + b)
    out = h @ Wo
    return torch.mean((out - target) ** 2)


def torch_elementwise40(x):
    y = x
    for _ in range(5):
        a = torch.sin(y)
        b = a * x
        c = torch.tanh(b)
        y = y + c
        a = y * y
        b = torch.log1p(a)
        c = torch.cos(b)
        y = y * c
    return torch.sum(y)


def torch_rosenbrock(x):
    return torch.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def torch_oscillator(k, c, x0, v0, obs):
    dt = 0.05
    x, v, loss = x0, v0, 0.0
    for t in range(obs.shape[0]):
        a = -k * x - c * v
        v = v + dt * a
        x = x + dt * v
        r = x - obs[t]
        loss = loss + torch.sum(r * r)
    return loss / obs.shape[0]


def torch_lstm(Wx, Wh, b, Wo, xs, target):
    H = Wh.shape[0]
    h = torch.zeros((xs.shape[1], H), dtype=xs.dtype)
    c = torch.zeros((xs.shape[1], H), dtype=xs.dtype)
    for t in range(xs.shape[0]):
        z = xs[t] @ Wx + h @ Wh + b
        i = torch.sigmoid(z[:, :H])
        f = torch.sigmoid(z[:, H:2 * H])
        o = torch.sigmoid(z[:, 2 * H:3 * H])
        g = torch.tanh(z[:, 3 * H:])
        c = f * c + i * g
        h = o * torch.tanh(c)
    return torch.mean((h @ Wo - target) ** 2)


def torch_attention(Wq, Wk, Wv, X, target):
    Q, K, V = X @ Wq, X @ Wk, X @ Wv
    P = torch.softmax(Q @ K.T / np.sqrt(X.shape[1]), dim=1)
    return torch.sum((P @ V - target) ** 2) / X.shape[0]


def torch_gp(log_ell, log_sf, log_sn, D2, y):
    n = y.shape[0]
    K = torch.exp(2.0 * log_sf) * torch.exp(-0.5 * D2 / torch.exp(2.0 * log_ell)) \
        + torch.exp(2.0 * log_sn) * torch.eye(n, dtype=D2.dtype)
    L = torch.linalg.cholesky(K)
    alpha = torch.cholesky_solve(y[:, None], L)[:, 0]
    return 0.5 * torch.dot(y, alpha) + torch.sum(torch.log(torch.diagonal(L))) \
        + 0.5 * n * np.log(2.0 * np.pi)


def torch_xent(W, b, X, labels):
    logp = torch.log_softmax(X @ W + b, dim=1)
    return -torch.mean(logp[torch.arange(X.shape[0]), labels])


def torch_diffusion(u0, D, target):
    u = u0
    for t in range(100):
        u = u + D * (torch.roll(u, 1) - 2.0 * u + torch.roll(u, -1))
    return torch.sum((u - target) ** 2)


def torch_gmm(mu, log_s, logits, X):
    d = X.shape[1]
    lw = torch.log_softmax(logits, dim=0)
    s2 = torch.exp(2.0 * log_s)
    D2 = torch.sum((X[:, None, :] - mu[None, :, :]) ** 2, dim=2)
    a = lw - 0.5 * D2 / s2 - d * log_s - 0.5 * d * np.log(2.0 * np.pi)
    return -torch.mean(torch.logsumexp(a, dim=1))


def torch_conv(w, x, target):
    m = x.shape[1] - w.shape[0] + 1
    y = w[0] * x[:, 0:m]
    for j in range(1, w.shape[0]):
        y = y + w[j] * x[:, j:j + m]
    return torch.sum((torch.tanh(y) - target) ** 2)


def torch_kmeans(C, X):
    D2 = torch.sum((X[:, None, :] - C[None, :, :]) ** 2, dim=2)
    return torch.mean(torch.amin(D2, dim=1))


def torch_scalar_calls(a, b, xs, ys):
    def residual(a, b, x, y):
        return a * x + b - y

    def softplus(z):
        return torch.log1p(torch.exp(z))

    def sigmoid(z):
        return 1.0 / (1.0 + torch.exp(-z))

    loss = 0.0
    for i in range(len(xs)):
        r = residual(a, b, xs[i], ys[i])
        loss = loss + softplus(r) + softplus(-r) + 0.1 * sigmoid(r) * r
    return loss / len(xs)


TORCH_LOSSES = dict(logreg=torch_logreg, mlp=torch_mlp, griewank=torch_griewank,
                    rnn=torch_rnn, elementwise40=torch_elementwise40,
                    rosenbrock=torch_rosenbrock, oscillator=torch_oscillator,
                    lstm=torch_lstm, attention=torch_attention, gp=torch_gp,
                    xent=torch_xent, diffusion=torch_diffusion, gmm=torch_gmm,
                    conv=torch_conv, kmeans=torch_kmeans, scalar_calls=torch_scalar_calls)


# ---------------------------------------------------------------------------
# building a timed gradient call
# ---------------------------------------------------------------------------

def _as_tuple(g):
    return tuple(g) if isinstance(g, (tuple, list)) else (g,)


def make_peer(peer, workload, args):
    """Return ``(call, to_numpy)`` or raise ``PeerUnavailable(reason)``.

    ``call()`` computes the gradient with the peer (synchronously: JAX results
    are blocked on); ``to_numpy(result)`` turns its result into a tuple of
    NumPy values, one per ``workload.wrt`` entry, for the correctness check.
    """
    lib = "jax" if peer.startswith("jax") else peer
    reason = _load(lib)
    if reason is not None:
        raise PeerUnavailable(reason)
    name = workload.name
    wrt = tuple(workload.wrt)

    if peer == "autograd":
        f = numpy_like_losses(anp)[name]
        g = importlib.import_module("autograd").grad(f, wrt if len(wrt) > 1 else wrt[0])

        def call():
            return g(*args)

        def to_numpy(r):
            return tuple(np.asarray(v) for v in _as_tuple(r))
        return call, to_numpy

    if peer in ("jax", "jax.jit"):
        f = numpy_like_losses(jnp)[name]
        g = jax.grad(f, argnums=wrt)
        if peer == "jax.jit":
            g = jax.jit(g)
        jargs = tuple(jnp.asarray(a) for a in args)

        def call():
            return jax.block_until_ready(g(*jargs))

        def to_numpy(r):
            return tuple(np.asarray(v) for v in _as_tuple(r))
        return call, to_numpy

    if peer == "torch":
        f = TORCH_LOSSES[name]
        targs = []
        params = []
        for i, a in enumerate(args):
            arr = np.asarray(a)
            if arr.dtype.kind in "iu":          # integer labels stay integers (indices)
                t = torch.tensor(arr, dtype=torch.int64)
            else:
                t = torch.tensor(np.asarray(a, dtype=np.float64), dtype=torch.float64)
            if i in wrt:
                t.requires_grad_(True)
                params.append(t)
            targs.append(t)
        targs = tuple(targs)
        params = tuple(params)

        def call():
            loss = f(*targs)
            return torch.autograd.grad(loss, params)

        def to_numpy(r):
            return tuple(v.detach().numpy() for v in r)
        return call, to_numpy

    raise PeerUnavailable(f"unknown peer {peer}")


class PeerUnavailable(Exception):
    pass
