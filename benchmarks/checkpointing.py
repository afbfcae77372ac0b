#!/usr/bin/env python
"""Memory and time of checkpointed loops: an RNN-like loop of 2,000 steps, 64-wide state.

    python benchmarks/checkpointing.py            # full run, Markdown table on stdout
    python benchmarks/checkpointing.py --quick    # fewer timing samples

Each row is one gradient call of the same loss, measured after a warm-up call (so the
compilation is not counted):

- peak extra memory: `tracemalloc`'s peak during the call, less what was allocated when
  it started (the inputs); everything the call allocates counts, the saved values and
  the gradients it returns alike;
- time: the median of several calls.

Rows: s2sgrad without checkpointing, with `checkpoint="auto"` (about sqrt(steps)
snapshots) and with `checkpoint=8` (at most 8 snapshots per level, a multi-level
schedule), and autograd (installed here) without checkpointing and with
`autograd.checkpoint` around segments of about sqrt(steps) steps written by hand
(autograd has no loop schedule of its own). JAX is not installed here, so it has no row.
Every gradient is checked against s2sgrad's unchecked one to 1e-10 before it is measured.
"""
import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import gc  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import s2sgrad  # noqa: E402

STEPS, WIDTH = 2000, 64


def rnn_loss(W, U, h0, xs, n):
    """An Elman RNN's state after n steps, squared and summed."""
    h = h0
    for t in range(n):
        h = np.tanh(W @ h + U @ xs[t])
    return np.sum(h * h)


def inputs(seed=0):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(WIDTH, WIDTH)) / math.sqrt(WIDTH)
    U = rng.normal(size=(WIDTH, WIDTH)) / math.sqrt(WIDTH)
    h0 = rng.normal(size=WIDTH)
    xs = rng.normal(size=(STEPS, WIDTH))
    return W, U, h0, xs, STEPS


def autograd_rows(wrt):
    """autograd's gradient, plain and with autograd.checkpoint on hand-written segments;
    None when autograd is not installed."""
    try:
        import autograd
        import autograd.numpy as anp
    except ImportError:
        return None

    def plain(W, U, h0, xs, n):
        h = h0
        for t in range(n):
            h = anp.tanh(anp.dot(W, h) + anp.dot(U, xs[t]))
        return anp.sum(h * h)

    def segment(h, W, U, xs, lo, hi):
        for t in range(lo, hi):
            h = anp.tanh(anp.dot(W, h) + anp.dot(U, xs[t]))
        return h
    checkpointed_segment = autograd.checkpoint(segment)

    def checkpointed(W, U, h0, xs, n):
        stride = math.isqrt(n - 1) + 1
        h = h0
        for lo in range(0, n, stride):
            h = checkpointed_segment(h, W, U, xs, lo, min(lo + stride, n))
        return anp.sum(h * h)
    return [("autograd", autograd.grad(plain, wrt)),
            ("autograd, `autograd.checkpoint` on sqrt(T)-step segments",
             autograd.grad(checkpointed, wrt))]


def peak_extra(call):
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    call()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak - base


def seconds(call, samples):
    out = []
    for _ in range(samples):
        t0 = time.perf_counter()
        call()
        out.append(time.perf_counter() - t0)
    return statistics.median(out)


def run(quick=False, wrt=(0, 1, 2)):
    args = inputs()
    rows = [("s2sgrad", s2sgrad.grad(rnn_loss, wrt)),
            ('s2sgrad, `checkpoint="auto"`', s2sgrad.grad(rnn_loss, wrt, checkpoint="auto")),
            ("s2sgrad, `checkpoint=8`", s2sgrad.grad(rnn_loss, wrt, checkpoint=8))]
    rows += autograd_rows(wrt) or []
    reference = rows[0][1](*args)
    samples = 3 if quick else 9
    out = []
    for label, fn in rows:
        got = fn(*args)
        pairs = zip(got, reference)
        err = max(float(np.max(np.abs(g - r))) for g, r in pairs)
        if err > 1e-10:
            raise AssertionError(f"{label}: gradient differs from the unchecked one by {err}")
        memory = peak_extra(lambda: fn(*args))
        out.append({"label": label, "memory": memory, "time": seconds(lambda: fn(*args), samples),
                     "error": err})
    return out


def table(rows, what):
    by_family = {}
    for r in rows:
        by_family.setdefault(r["label"].split(",")[0], r)
    lines = [f"Gradient with respect to {what}:", "",
             "| implementation | peak extra memory | vs. unchecked | time | vs. unchecked "
             "| max. difference from unchecked gradient |",
             "|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        own = by_family[r["label"].split(",")[0]]
        lines.append(f"| {r['label']} | {r['memory'] / 1e6:.2f} MB | "
                     f"{100 * r['memory'] / own['memory']:.0f}% | {r['time'] * 1e3:.1f} ms | "
                     f"{r['time'] / own['time']:.2f}× | {r['error']:.1e} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    opts = parser.parse_args(argv)
    print(f"RNN-like loop `h = tanh(W @ h + U @ xs[t])`, {STEPS} steps, {WIDTH}-wide "
          "state, loss sum(h * h); one gradient call, peak extra memory by tracemalloc, "
          "after a warm-up call; percentages against the same library unchecked. "
          "JAX is not installed here: no row.\n")
    print(table(run(opts.quick, (0, 1, 2)), "the weights and the initial state (W, U, h0)"))
    print()
    print(table(run(opts.quick, (2,)), "the initial state h0"))


if __name__ == "__main__":
    main()
