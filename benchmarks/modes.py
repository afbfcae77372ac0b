#!/usr/bin/env python
"""Benchmark the compositions of the two modes: forward-over-reverse and Jacobians.

    python benchmarks/modes.py            # full run, Markdown table on stdout
    python benchmarks/modes.py --quick    # a few short samples: smoke test

Also importable: `run(quick=False)` returns the rows (one dict per implementation).

(a) Hessian-vector product of the 1000-dimensional Rosenbrock function:
    `s2sgrad.hvp` (forward mode over the generated gradient code) against the
    closed-form H·v written by hand in NumPy.
(b) Jacobian of y = tanh(A @ x), A 1000×10 (10 inputs → 1000 outputs):
    `s2sgrad.jacobian(mode='forward')` (10 JVPs) against `mode='reverse'`
    (1000 VJPs), with the hand-written Jacobian (1 - y²)[:, None] * A as a
    reference. The design notes predict forward mode wins when inputs are few.

Each result is checked against the hand-written answer before it is timed. The
implementations of a workload are timed round-robin (one sample of each per round,
the starting point rotated every round) so slow drifts hit all of them alike; a
sample repeats the call until it lasts at least ~2 ms; the figure is the median
per-call time over the samples.
"""
# BLAS/OpenMP thread pools are sized when NumPy is first imported: pin them first.
import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "BLIS_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import gc  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)          # use the checkout's s2sgrad when not installed

import s2sgrad  # noqa: E402

TOL = 1e-8                 # max |got - hand| / max |hand|


# ----------------------------------------------------------------------------
# workload (a): Hessian-vector product of Rosenbrock


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_hvp_hand(x, v):
    """Closed-form H(x)·v of the Rosenbrock function, written by hand."""
    a, b = x[:-1], x[1:]
    hv = np.zeros_like(x)
    hv[:-1] = (1200.0 * a * a - 400.0 * b + 2.0) * v[:-1] - 400.0 * a * v[1:]
    hv[1:] += 200.0 * v[1:] - 400.0 * a * v[:-1]
    return hv


def rosenbrock_hessian_dense(x):
    """The dense closed-form Hessian, only to check the two above on a small x."""
    n = x.size
    H = np.zeros((n, n))
    for i in range(n - 1):
        H[i, i] += 1200.0 * x[i] ** 2 - 400.0 * x[i + 1] + 2.0
        H[i + 1, i + 1] += 200.0
        H[i, i + 1] = H[i + 1, i] = -400.0 * x[i]
    return H


# ----------------------------------------------------------------------------
# workload (b): Jacobian of a 10 → 1000 map


def tanh_layer(x, A):
    return np.tanh(A @ x)


def tanh_layer_jacobian_hand(x, A):
    y = np.tanh(A @ x)
    return (1.0 - y * y)[:, None] * A


# ----------------------------------------------------------------------------
# timing


def _per_call(fn, target_s):
    """Seconds per call of fn(), repeated until one sample lasts >= target_s."""
    reps = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        dt = time.perf_counter() - t0
        if dt >= target_s or reps >= 1 << 20:
            return dt / reps, reps
        reps = max(reps * 2, int(reps * target_s / max(dt, 1e-9) * 1.2))


def time_round_robin(impls, samples, target_s):
    """impls: {label: zero-arg callable} → {label: [seconds per call, ...]}."""
    labels = list(impls)
    reps = {}
    for lab in labels:                       # warm up (compiles, caches) and size samples
        impls[lab]()
        _, reps[lab] = _per_call(impls[lab], target_s)
    out = {lab: [] for lab in labels}
    gc_was = gc.isenabled()
    gc.disable()
    try:
        for k in range(samples):
            order = labels[k % len(labels):] + labels[:k % len(labels)]
            for lab in order:
                fn, n = impls[lab], reps[lab]
                t0 = time.perf_counter()
                for _ in range(n):
                    fn()
                out[lab].append((time.perf_counter() - t0) / n)
    finally:
        if gc_was:
            gc.enable()
    return out


def _rel_err(got, ref):
    got, ref = np.asarray(got, dtype=float), np.asarray(ref, dtype=float)
    return float(np.max(np.abs(got - ref)) / max(np.max(np.abs(ref)), 1e-300))


def _check_closed_forms():
    rng = np.random.default_rng(0)
    x, v = rng.uniform(-1, 1, 6), rng.uniform(-1, 1, 6)
    assert _rel_err(rosenbrock_hvp_hand(x, v), rosenbrock_hessian_dense(x) @ v) < 1e-12
    # the dense Hessian against second differences of rosenbrock itself
    h, n = 1e-4, x.size
    fd = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            ei, ej = np.eye(n)[i] * h, np.eye(n)[j] * h
            fd[i, j] = (rosenbrock(x + ei + ej) - rosenbrock(x + ei - ej)
                        - rosenbrock(x - ei + ej) + rosenbrock(x - ei - ej)) / (4 * h * h)
    assert _rel_err(rosenbrock_hessian_dense(x), fd) < 1e-6
    A = rng.normal(size=(7, 3))
    xs = rng.normal(size=3)
    J = tanh_layer_jacobian_hand(xs, A)
    fdj = np.stack([(tanh_layer(xs + 1e-6 * e, A) - tanh_layer(xs - 1e-6 * e, A)) / 2e-6
                    for e in np.eye(3)], axis=1)
    assert _rel_err(J, fdj) < 1e-7


def _workload(name, impls, reference, samples, target_s, baseline):
    rows = []
    errors = {}
    ok = {}
    for lab, fn in impls.items():
        try:
            errors[lab] = _rel_err(fn(), reference)
        except Exception as e:              # report, don't time, go on
            errors[lab] = f"n/a: {type(e).__name__}: {str(e).splitlines()[0][:80]}"
            continue
        if errors[lab] > TOL:
            errors[lab] = f"wrong: rel. error {errors[lab]:.1e}"
            continue
        ok[lab] = fn
    times = time_round_robin(ok, samples, target_s) if ok else {}
    base = statistics.median(times[baseline]) if baseline in times else None
    for lab in impls:
        row = {"workload": name, "impl": lab, "error": errors[lab]}
        if lab in times:
            ts = times[lab]
            q = statistics.quantiles(ts, n=4) if len(ts) >= 2 else [ts[0]] * 3
            row.update(median_s=statistics.median(ts), q1_s=q[0], q3_s=q[2],
                       samples=len(ts),
                       ratio=(statistics.median(ts) / base) if base else None)
        rows.append(row)
    return rows


def run(quick=False, samples=None, target_ms=None, n=1000, m=1000, k=10):
    """Run both workloads; returns one row (dict) per implementation."""
    samples = samples or (5 if quick else 31)
    target_s = (target_ms or (1.0 if quick else 2.0)) / 1000.0
    _check_closed_forms()
    rng = np.random.default_rng(20240601)

    # (a) hvp, n-dimensional Rosenbrock
    x = rng.uniform(-1.5, 1.5, n)
    v = rng.normal(size=n)
    hvp = s2sgrad.hvp(rosenbrock)
    rows = _workload(f"hvp Rosenbrock n={n}", {
        "hand-written H·v": lambda: rosenbrock_hvp_hand(x, v),
        "s2sgrad.hvp": lambda: hvp(x, v),
    }, rosenbrock_hvp_hand(x, v), samples, target_s, "hand-written H·v")

    # (b) Jacobian of a k → m map
    A = rng.normal(size=(m, k)) / np.sqrt(k)
    xs = rng.normal(size=k)
    jf = s2sgrad.jacobian(tanh_layer, wrt=0, mode="forward")
    jr = s2sgrad.jacobian(tanh_layer, wrt=0, mode="reverse")
    rows += _workload(f"jacobian tanh(A@x) {k}→{m}", {
        "hand-written J": lambda: tanh_layer_jacobian_hand(xs, A),
        "s2sgrad forward": lambda: jf(xs, A),
        "s2sgrad reverse": lambda: jr(xs, A),
    }, tanh_layer_jacobian_hand(xs, A), samples, target_s, "hand-written J")
    return rows


def _fmt_time(s):
    if s < 1e-3:
        return f"{s * 1e6:.1f} µs"
    if s < 1:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.2f} s"


def markdown(rows):
    lines = ["| workload | implementation | median | IQR | × hand-written |",
             "|---|---|---:|---:|---:|"]
    for r in rows:
        if "median_s" in r:
            iqr = f"{_fmt_time(r['q1_s'])} – {_fmt_time(r['q3_s'])}"
            ratio = f"{r['ratio']:.2f}" if r["ratio"] is not None else "–"
            lines.append(f"| {r['workload']} | {r['impl']} | {_fmt_time(r['median_s'])} | "
                         f"{iqr} | {ratio} |")
        else:
            lines.append(f"| {r['workload']} | {r['impl']} | {r['error']} | | |")
    by = {(r["workload"], r["impl"]): r for r in rows}
    notes = []
    for (w, lab), r in by.items():
        if lab == "s2sgrad forward" and "median_s" in r:
            rev = by.get((w, "s2sgrad reverse"))
            if rev and "median_s" in rev:
                notes.append(f"{w}: reverse / forward = {rev['median_s'] / r['median_s']:.1f}×"
                             f" ({'forward' if rev['median_s'] > r['median_s'] else 'reverse'}"
                             " mode wins)")
    return "\n".join(lines + ([""] + notes if notes else [])) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="5 short samples: smoke test")
    p.add_argument("--samples", type=int, default=None)
    p.add_argument("--target-ms", type=float, default=None)
    a = p.parse_args(argv)
    t0 = time.perf_counter()
    rows = run(quick=a.quick, samples=a.samples, target_ms=a.target_ms)
    sys.stdout.write(markdown(rows))
    print(f"({len(rows)} rows, {time.perf_counter() - t0:.1f} s; BLAS threads pinned to 1; "
          f"NumPy {np.__version__})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
