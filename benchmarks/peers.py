"""Peer implementations of the benchmark losses: autograd, JAX, PyTorch.

Every peer is optional.  Nothing is imported until ``make_peer`` asks for it,
and a missing or broken install is reported as a reason string, never raised.

Each loss below is the same computation as its NumPy original in
``workloads.py``, written in the peer's own array API.  ``elementwise40`` is
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

    return dict(logreg=logreg, mlp=mlp, griewank=griewank, rnn=rnn,
                elementwise40=elementwise40, rosenbrock=rosenbrock)


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


TORCH_LOSSES = dict(logreg=torch_logreg, mlp=torch_mlp, griewank=torch_griewank,
                    rnn=torch_rnn, elementwise40=torch_elementwise40,
                    rosenbrock=torch_rosenbrock)


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
