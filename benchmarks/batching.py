#!/usr/bin/env python
"""Benchmark batched cotangents, tangents and per-example gradients.

    python benchmarks/batching.py            # Markdown table on stdout
    python benchmarks/batching.py --quick    # fewer samples: smoke test

(a) The 40×500 Jacobian of x ↦ tanh(A @ x) · Σx² + sin(x[:40]) (500 inputs, 40 outputs):
    `jacobian(mode="reverse")` (one backward pass over 40 stacked cotangents) against
    one pullback; target ≤ 8× (not 40×). Likewise forward mode where it is the mode of
    choice, a 500×40 Jacobian (40 inputs): one forward pass over 40 stacked tangents
    against one JVP, target ≤ 8×; and, for information, the 40×500 Jacobian by forward
    mode (500 tangents).
(b) Per-example gradients: `vmap(grad(loss), in_axes=(None, 0, 0))` over 256 examples
    of a logistic-regression loss (d=50) and of a small MLP (50-32-1; its weights as two
    matrices, and packed in one vector), against one full-batch gradient of the same
    loss. Target: ≤ 5×.

Each result is checked against an independent answer (finite differences or a Python
loop) before it is timed. The figure is the fastest sample of per-call CPU time
(`time.process_time`); a sample repeats the call for ~10 ms, the two sides of a ratio
sampled alternately.
"""
import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import s2sgrad  # noqa: E402

RNG = np.random.default_rng(0)
A = RNG.normal(size=(40, 500)) / 20


def f500(x):
    return np.tanh(A @ x) * np.sum(x ** 2) + np.sin(x[:40])


def g40(x):
    z = A.T @ x
    return np.tanh(z) * np.sum(x ** 2) + np.sin(z) ** 2


def logreg(w, x, y):
    z = x @ w
    p = 1.0 / (1.0 + np.exp(-z))
    return -np.sum(y * np.log(p) + (1 - y) * np.log(1 - p))


def mlp(W1, W2, x, y):
    h = np.tanh(x @ W1)
    o = h @ W2
    return np.sum((o - y) ** 2)


def mlp_packed(w, x, y):
    W1 = np.reshape(w[:1600], (50, 32))
    W2 = w[1600:]
    return mlp(W1, W2, x, y)


def _sample(fn):
    """CPU time per call of this process (threads pinned to one): on a machine shared
    with other work, wall-clock time measures the others as much as the code."""
    n, t0 = 0, time.process_time()
    while True:
        fn()
        n += 1
        t = time.process_time() - t0
        if t > 10e-3:
            return t / n


def pair(fn, base, samples):
    """Per-call times (the fastest sample: the least disturbed by other processes) of
    `fn` and `base`, sampled alternately so that drifts of the machine hit both."""
    fn(), base()
    a, b = [], []
    for _ in range(samples):
        a.append(_sample(fn))
        b.append(_sample(base))
    return min(a), min(b)


def run(quick=False):
    samples = 5 if quick else 25
    rows = []
    x = RNG.normal(size=500)
    _, pull = s2sgrad.vjp(f500)(x)
    ct = np.ones(40)
    jvp = s2sgrad.jvp(f500)
    jac_r = s2sgrad.jacobian(f500, mode="reverse")
    jac_f = s2sgrad.jacobian(f500, mode="forward")
    h = 1e-6
    num = np.stack([(f500(x + h * e) - f500(x - h * e)) / (2 * h) for e in np.eye(500)], 1)
    assert np.allclose(jac_r(x), num, atol=1e-6) and np.allclose(jac_f(x), num, atol=1e-6)
    t, t0 = pair(lambda: jac_r(x), lambda: pull(ct), samples)
    rows.append(("jacobian 40×500, reverse (40 cotangents, one pass)", t, "one pullback",
                 t0, 8))
    t, t0 = pair(lambda: jac_f(x), lambda: jvp((x,), (x,)), samples)
    rows.append(("jacobian 40×500, forward (500 tangents, one pass)", t, "one JVP", t0,
                 None))
    x40 = RNG.normal(size=40)
    jvp40 = s2sgrad.jvp(g40)
    jac40 = s2sgrad.jacobian(g40, mode="forward")
    num = np.stack([(g40(x40 + h * e) - g40(x40 - h * e)) / (2 * h) for e in np.eye(40)], 1)
    assert np.allclose(jac40(x40), num, atol=1e-6)
    t, t0 = pair(lambda: jac40(x40), lambda: jvp40((x40,), (x40,)), samples)
    rows.append(("jacobian 500×40, forward (40 tangents, one pass)", t, "one JVP", t0, 8))
    X = RNG.normal(size=(256, 50))
    y = (RNG.random(256) > 0.5).astype(float)
    W1, W2 = RNG.normal(size=(50, 32)) * 0.1, RNG.normal(size=32) * 0.1
    cases = (("logistic regression, d=50", logreg, (RNG.normal(size=50) * 0.1,), 0),
             ("MLP 50-32-1 (W1, W2)", mlp, (W1, W2), (0, 1)),
             ("MLP 50-32-1, weights packed in one vector", mlp_packed,
              (np.concatenate([W1.ravel(), W2]),), 0))
    for name, loss, params, wrt in cases:
        full = s2sgrad.grad(loss, wrt=wrt)
        each = s2sgrad.vmap(s2sgrad.grad(loss, wrt=wrt),
                            in_axes=(None,) * len(params) + (0, 0))
        got = each(*params, X, y)
        got = got if isinstance(got, tuple) else (got,)
        whole = full(*params, X, y)
        whole = whole if isinstance(whole, tuple) else (whole,)
        for k in range(3):                 # against the gradient of one example's loss
            one = full(*params, X[k], y[k])
            one = one if isinstance(one, tuple) else (one,)
            assert all(np.allclose(g[k], o) for g, o in zip(got, one))
        assert all(np.allclose(g.sum(0), o) for g, o in zip(got, whole))
        t, t0 = pair(lambda: each(*params, X, y), lambda: full(*params, X, y), samples)
        rows.append((f"256 per-example gradients, {name}", t, "one full-batch gradient",
                     t0, 5))
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    warnings.simplefilter("error", s2sgrad.errors.BatchingWarning)   # no loop fallback
    rows = run(args.quick)
    print("| workload | time | against | its time | ratio | target |")
    print("|---|---:|---|---:|---:|---:|")
    for what, t, against, t0, target in rows:
        print(f"| {what} | {t * 1e6:.0f} µs | {against} | {t0 * 1e6:.0f} µs | "
              f"{t / t0:.1f}× | {'≤ %d×' % target if target else '-'} |")


if __name__ == "__main__":
    main()
