#!/usr/bin/env python
"""Benchmark s2sgrad against hand-written NumPy gradients and peer AD tools.

    python benchmarks/run.py                 # full run, Markdown table on stdout
    python benchmarks/run.py --quick         # a few samples: smoke test
    python benchmarks/run.py --only mlp,rnn  # some workloads
    python benchmarks/run.py --json out.json # also write every number as JSON
    python benchmarks/run.py --plot          # also draw benchmarks/results.png (matplotlib)
    python benchmarks/run.py --readme        # also rewrite the tables in the top-level README.md

Everything runs in one process.  For each workload the implementations are
timed round-robin (one sample of each, then the next round, with the starting
point rotated every round), so slow drifts of the machine hit all of them
alike.  A sample repeats the call enough times to last at least ~2 ms; the
figure reported is the median over the samples (30 or more).  Every gradient
is checked against the hand-written one before it is timed: a wrong gradient
is reported, not timed.
"""
# BLAS and OpenMP thread pools are sized when NumPy is first imported: pin them first.
import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "BLIS_NUM_THREADS"):
    os.environ[_var] = "1"
os.environ.setdefault("JAX_PLATFORMS", "cpu")        # peers: CPU only, float64 like NumPy
os.environ.setdefault("JAX_ENABLE_X64", "1")

import argparse  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import shlex  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from contextlib import contextmanager  # noqa: E402

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
if ROOT not in sys.path:
    sys.path.insert(1, ROOT)          # use the checkout's s2sgrad when not installed

import peers  # noqa: E402
import workloads  # noqa: E402

GRAD_TOL = 1e-6            # max |g - g_hand| / max |g_hand|
TRANSFORM_TIMEOUT_S = 120

# column order of the reports; "forward" is the NumPy loss itself
IMPLS = ("forward", "hand", "s2sgrad", "s2sgrad.direct") + peers.PEERS
LABELS = {
    "forward": "forward (NumPy)",
    "hand": "hand-written grad",
    "s2sgrad": "s2sgrad",
    "s2sgrad.direct": "s2sgrad generated fn",
    "autograd": "autograd",
    "jax": "jax.grad",
    "jax.jit": "jax.jit(jax.grad)",
    "torch": "PyTorch eager",
}


class Unavailable(Exception):
    """An implementation that cannot be timed; the message is the short reason."""


def short_reason(exc, limit=200):
    if isinstance(exc, (Unavailable, peers.PeerUnavailable)):
        text = str(exc)
    else:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        text = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


@contextmanager
def time_limit(seconds):
    """Raise TimeoutError after `seconds` (POSIX main thread only; otherwise no limit)."""
    if not hasattr(signal, "SIGALRM"):
        yield
        return

    def handler(signum, frame):
        raise TimeoutError(f"took longer than {seconds} s")
    try:
        old = signal.signal(signal.SIGALRM, handler)
    except ValueError:          # not the main thread
        yield
        return
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


# ---------------------------------------------------------------------------
# machine description
# ---------------------------------------------------------------------------

def cpu_model():
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def blas_name():
    try:
        cfg = np.show_config(mode="dicts")
        blas = cfg["Build Dependencies"]["blas"]
        return f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except Exception:
        return "unknown BLAS"


def blas_threads():
    try:
        from threadpoolctl import threadpool_info
        return sorted({i["num_threads"] for i in threadpool_info()})
    except Exception:
        return None


def machine_info(pinned_cpu):
    info = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "platform": f"{platform.system()} {platform.machine()}",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": blas_name(),
        "blas_threads_env": os.environ.get("OPENBLAS_NUM_THREADS"),
        "blas_threads_runtime": blas_threads(),
        "pinned_cpu": pinned_cpu,
    }
    return info


def pin_to_one_cpu():
    """Pin the process to one CPU so that no library (XLA's thread pool,
    a BLAS that ignores the variables) can use more than one core."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpus[0]})
        return cpus[0]
    except (AttributeError, OSError):
        return None


# ---------------------------------------------------------------------------
# timing
# ---------------------------------------------------------------------------

def _run_n(fn, n):
    gc_was = gc.isenabled()
    gc.disable()
    try:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        return time.perf_counter() - t0
    finally:
        if gc_was:
            gc.enable()


def calibrate(fn, target_s):
    """Inner repetitions so that one sample lasts at least target_s."""
    n = 1
    for _ in range(20):
        t = _run_n(fn, n)
        if t >= target_s:
            return n
        per_call = max(t / n, 1e-8)
        n = max(n + 1, int(math.ceil(1.2 * target_s / per_call)))
        n = min(n, 10_000_000)
    return n


def time_round_robin(impls, samples, target_s):
    """impls: dict name -> callable.  Returns dict name -> stats."""
    names = list(impls)
    inner = {k: calibrate(impls[k], target_s) for k in names}
    times = {k: [] for k in names}
    for r in range(samples):
        order = names[r % len(names):] + names[: r % len(names)]
        for k in order:
            times[k].append(_run_n(impls[k], inner[k]) / inner[k])
        if r % 10 == 9:
            gc.collect()
    out = {}
    for k in names:
        ts = sorted(times[k])
        q = statistics.quantiles(ts, n=4) if len(ts) >= 2 else [ts[0]] * 3
        out[k] = dict(median_s=statistics.median(ts), min_s=ts[0], q1_s=q[0], q3_s=q[2],
                      samples=len(ts), inner=inner[k])
    return out


# ---------------------------------------------------------------------------
# building the implementations of one workload
# ---------------------------------------------------------------------------

def as_grad_tuple(result, nwrt):
    if nwrt == 1:
        if isinstance(result, (tuple, list)) and len(result) == 1:
            return (result[0],)
        return (result,)
    if isinstance(result, (tuple, list)):
        return tuple(result)
    raise Unavailable(f"returned {type(result).__name__}, expected a tuple of {nwrt}")


def check(grads, reference):
    """Max relative error against the hand-written gradient; raises when wrong."""
    if len(grads) != len(reference):
        raise Unavailable(f"wrong gradient: {len(grads)} values for {len(reference)} arguments")
    errs = []
    tol = GRAD_TOL
    for g, h in zip(grads, reference):
        if np.asarray(g).dtype == np.float32:       # a peer running in single precision
            tol = max(tol, 1e-3)
        if np.shape(g) != np.shape(h):
            raise Unavailable(f"wrong gradient shape {np.shape(g)} (expected {np.shape(h)})")
        errs.append(workloads.rel_error(g, h))
    err = max(errs)
    if not err < tol:
        raise Unavailable(f"WRONG gradient (rel err {err:.1e})")
    return err


def load_s2sgrad():
    try:
        import s2sgrad
    except Exception as e:
        return None, f"import s2sgrad failed ({type(e).__name__})"
    if not callable(getattr(s2sgrad, "grad", None)):
        return None, "s2sgrad has no grad() yet"
    return s2sgrad, None


def _s2s_warmup_fn(x):
    return x * x + 1.0


def warm_up_s2sgrad(s2sgrad):
    """Pay one-time costs (lazy imports inside s2sgrad) before any workload is measured."""
    try:
        with time_limit(TRANSFORM_TIMEOUT_S):
            s2sgrad.grad(_s2s_warmup_fn)(2.0)
    except Exception:
        pass


def snapshot(args):
    return [np.array(a, copy=True) if isinstance(a, np.ndarray) else a for a in args]


def unchanged(args, snap):
    return all((not isinstance(a, np.ndarray)) or np.array_equal(a, s) for a, s in zip(args, snap))


def build_s2sgrad(s2sgrad, w, args, reference, rec):
    """Set up s2sgrad's gradient; record its transform time.  Returns (call, direct_call)."""
    snap = snapshot(args)
    with time_limit(TRANSFORM_TIMEOUT_S):
        t0 = time.perf_counter()
        g = s2sgrad.grad(w.loss, wrt=w.wrt_arg)
        first = g(*args)
        t1 = time.perf_counter()
    rec["s2sgrad"]["first_call_s"] = t1 - t0
    src = getattr(g, "source", None)
    if isinstance(src, str):
        rec["s2sgrad"]["source_lines"] = src.count("\n") + 1
    if not unchanged(args, snap):
        raise Unavailable("mutated its input arrays")
    rec["s2sgrad"]["max_rel_err"] = check(as_grad_tuple(first, len(w.wrt)), reference)

    def call():
        return g(*args)

    def direct():
        return fn(*args)

    fn = getattr(g, "function", None)
    if callable(fn) and fn is not w.loss and fn is not g:
        try:
            r = fn(*args)
            rec["s2sgrad.direct"]["max_rel_err"] = check(as_grad_tuple(r, len(w.wrt)), reference)
            return call, direct
        except Exception as e:
            rec["s2sgrad.direct"].update(status="n/a", reason=short_reason(e))
    else:
        rec["s2sgrad.direct"].update(status="n/a", reason="no .function attribute")
    return call, None


def bench_workload(w, s2sgrad, s2s_reason, use_peers, samples, target_s, log):
    args = w.make_data()
    reference = w.hand_grad(*args)
    rec = {k: {"status": "ok"} for k in IMPLS}
    impls = {}

    impls["forward"] = lambda: w.loss(*args)
    impls["hand"] = lambda: w.hand_grad(*args)

    # s2sgrad: transform first, before anything else touches this function
    if s2sgrad is None:
        rec["s2sgrad"].update(status="n/a", reason=s2s_reason)
        rec["s2sgrad.direct"].update(status="n/a", reason=s2s_reason)
    else:
        try:
            call, direct = build_s2sgrad(s2sgrad, w, args, reference, rec)
            impls["s2sgrad"] = call
            if direct is not None:
                impls["s2sgrad.direct"] = direct
        except Exception as e:
            rec["s2sgrad"].update(status="n/a", reason=short_reason(e))
            rec["s2sgrad.direct"].update(status="n/a", reason="s2sgrad n/a")
            args = w.make_data()          # in case a failed attempt touched them

    for p in peers.PEERS:
        if p not in use_peers:
            rec[p].update(status="n/a", reason="skipped")
            continue
        try:
            t0 = time.perf_counter()
            call, to_numpy = peers.make_peer(p, w, args)
            first = call()
            rec[p]["first_call_s"] = time.perf_counter() - t0
            rec[p]["max_rel_err"] = check(to_numpy(first), reference)
            impls[p] = call
        except Exception as e:
            rec[p].update(status="n/a", reason=short_reason(e))

    log(f"  timing {', '.join(impls)} ...")
    stats = time_round_robin(impls, samples, target_s)
    for k, s in stats.items():
        rec[k].update(s)

    # derived figures
    med = {k: rec[k].get("median_s") for k in IMPLS}
    derived = {}
    if med["forward"]:
        for k in IMPLS[1:]:
            if med[k]:
                derived[f"{k}/forward"] = med[k] / med["forward"]
    if med["hand"]:
        for k in IMPLS[2:]:
            if med[k]:
                derived[f"{k}/hand"] = med[k] / med["hand"]
    if med["s2sgrad"] and "first_call_s" in rec["s2sgrad"]:
        derived["s2sgrad_transform_s"] = rec["s2sgrad"]["first_call_s"] - med["s2sgrad"]
    if med["s2sgrad"] and med["s2sgrad.direct"]:
        derived["s2sgrad_call_overhead_s"] = med["s2sgrad"] - med["s2sgrad.direct"]
    if med["jax.jit"] and "first_call_s" in rec["jax.jit"]:
        derived["jax_jit_compile_s"] = rec["jax.jit"]["first_call_s"] - med["jax.jit"]
    return {"title": w.title, "description": w.description, "impls": rec, "derived": derived}


# ---------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------

def fmt_time(s):
    if s is None:
        return "–"
    sign = "-" if s < 0 else ""
    s = abs(s)
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if s >= scale or unit == "ns":
            v = s / scale
            txt = f"{v:.3g}" if v < 100 else f"{v:.0f}"
            return f"{sign}{txt} {unit}"


def fmt_ratio(x):
    if x is None:
        return "–"
    return f"{x:.2f}×" if x < 10 else f"{x:.1f}×" if x < 100 else f"{x:.0f}×"


def cell(rec, short=36):
    if rec["status"] == "ok":
        return fmt_time(rec.get("median_s"))
    reason = rec.get("reason", "")
    reason = reason if len(reason) <= short else reason[: short - 1] + "…"
    return f"n/a: {reason}".replace("|", "\\|")


def table(header, rows):
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def report(results, machine, settings, peer_versions):
    lines = []
    names = list(results)
    shown_peers = [p for p in peers.PEERS
                   if any(results[n]["impls"][p]["status"] == "ok" for n in names)]
    time_cols = ["forward", "hand", "s2sgrad"] + shown_peers

    lines.append("### Gradient time per call (median; lower is better)\n")
    rows = [[f"{results[n]['title']} (`{n}`)"] + [cell(results[n]["impls"][k]) for k in time_cols]
            for n in names]
    lines.append(table(["workload"] + [LABELS[k] for k in time_cols], rows))

    lines.append("\n### Ratios\n")
    ratio_cols = [("hand/forward", "hand / forward"), ("s2sgrad/forward", "s2sgrad / forward"),
                  ("s2sgrad/hand", "**s2sgrad / hand**")]
    ratio_cols += [(f"{p}/hand", f"{LABELS[p]} / hand") for p in shown_peers]
    rows = [[n] + [fmt_ratio(results[n]["derived"].get(k)) for k, _ in ratio_cols] for n in names]
    lines.append(table(["workload"] + [h for _, h in ratio_cols], rows))

    s2s_loaded = any("first_call_s" in results[n]["impls"]["s2sgrad"] for n in names)
    if s2s_loaded:
        lines.append("\n### s2sgrad: one-time transform and per-call overhead\n")
        hdr = ["workload", "transform (grad() + 1st call − cached call)", "cached call",
               "generated fn called directly", "wrapper overhead per call"]
        if "jax.jit" in shown_peers:
            hdr.append("jax.jit compile (1st call − cached)")
        rows = []
        for n in names:
            r = results[n]
            d = r["derived"]
            row = [n, fmt_time(d.get("s2sgrad_transform_s")), cell(r["impls"]["s2sgrad"]),
                   cell(r["impls"]["s2sgrad.direct"]), fmt_time(d.get("s2sgrad_call_overhead_s"))]
            if "jax.jit" in shown_peers:
                row.append(fmt_time(d.get("jax_jit_compile_s")))
            rows.append(row)
        lines.append(table(hdr, rows))

    # full reasons for anything unavailable (cells are truncated), grouped by reason
    notes = {}
    for n in names:
        for k in ("s2sgrad",) + tuple(shown_peers):
            rec = results[n]["impls"][k]
            if rec["status"] != "ok":
                notes.setdefault((k, rec.get("reason", "")), []).append(n)
    if notes:
        lines.append("\nNot timed:\n")
        for (k, reason), ns in notes.items():
            where = "all workloads" if len(ns) == len(names) > 1 else ", ".join(f"`{n}`" for n in ns)
            reason = reason if len(reason) <= 120 else reason[:119] + "…"
            lines.append(f"- {LABELS[k]} on {where}: {reason}")

    absent = [lib for lib in ("autograd", "jax", "torch")
              if not any(p.split(".")[0] == lib for p in shown_peers)]
    vers = ", ".join(f"{lib} {v}" for lib, v in peer_versions.items() if v and not v.startswith("n/a"))
    bt = machine["blas_threads_runtime"]
    lines.append("")
    lines.append(
        f"Machine: {machine['cpu']}, {machine['cores']} cores ({machine['platform']}); "
        f"Python {machine['python']}, NumPy {machine['numpy']} ({machine['blas']}), "
        f"single-thread BLAS (OMP/OPENBLAS/MKL_NUM_THREADS=1"
        f"{', threadpoolctl reports ' + '/'.join(map(str, bt)) + ' thread(s)' if bt else ''})"
        f"{'; process pinned to CPU ' + str(machine['pinned_cpu']) if machine['pinned_cpu'] is not None else ''}."
        + (f" Peers: {vers}." if vers else "")
        + (f" Not installed or not run: {', '.join(absent)}." if absent else ""))
    lines.append(
        f"Each figure is the median of {settings['samples']} samples taken round-robin across "
        f"implementations; a sample repeats the call for ≥ {settings['target_ms']:g} ms. "
        f"All gradients are float64 and were checked against the hand-written gradient "
        f"(max rel. error < {GRAD_TOL:g}) before timing.")
    return "\n".join(lines)


# ---------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="few samples, short samples (smoke test)")
    ap.add_argument("--only", action="append", default=[], metavar="NAME",
                    help="run only these workloads (repeatable or comma-separated): "
                         + ", ".join(workloads.BY_NAME))
    ap.add_argument("--json", metavar="PATH", help="write all results as JSON")
    ap.add_argument("--samples", type=int, help="samples per implementation (default 30, quick 5)")
    ap.add_argument("--target-ms", type=float, help="minimum duration of one sample (default 2, quick 0.5)")
    ap.add_argument("--no-peers", action="store_true", help="skip autograd, JAX and PyTorch")
    ap.add_argument("--peers", default=",".join(peers.PEERS),
                    help="comma-separated peers to run (default: all installed)")
    ap.add_argument("--no-pin", action="store_true", help="do not pin the process to one CPU")
    opts = ap.parse_args(argv)

    samples = opts.samples or (5 if opts.quick else 30)
    target_ms = opts.target_ms or (0.5 if opts.quick else 2.0)
    only = [n.strip() for item in opts.only for n in item.split(",") if n.strip()]
    unknown = [n for n in only if n not in workloads.BY_NAME]
    if unknown:
        ap.error(f"unknown workload(s) {', '.join(unknown)}; choose from {', '.join(workloads.BY_NAME)}")
    chosen = [w for w in workloads.WORKLOADS if not only or w.name in only]
    use_peers = set() if opts.no_peers else {p.strip() for p in opts.peers.split(",") if p.strip()}

    pinned = None if opts.no_pin else pin_to_one_cpu()
    machine = machine_info(pinned)

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    s2sgrad, s2s_reason = load_s2sgrad()
    if s2sgrad is not None:
        warm_up_s2sgrad(s2sgrad)
    log(f"s2sgrad: {'loaded' if s2sgrad else 'n/a: ' + s2s_reason}")

    peer_versions = {}
    for lib in ("autograd", "jax", "torch"):
        if not any(p.startswith(lib) for p in use_peers):
            continue
        reason = peers._load(lib)
        peer_versions[lib] = peers.version(lib) if reason is None else f"n/a: {reason}"
        log(f"{lib}: {peer_versions[lib]}")

    results = {}
    for w in chosen:
        log(f"[{w.name}] {w.description}")
        t0 = time.perf_counter()
        results[w.name] = bench_workload(w, s2sgrad, s2s_reason, use_peers, samples,
                                         target_ms * 1e-3, log)
        log(f"  done in {time.perf_counter() - t0:.1f} s")

    settings = {"samples": samples, "target_ms": target_ms, "quick": opts.quick,
                "grad_tol": GRAD_TOL}
    print(report(results, machine, settings, peer_versions))

    if opts.json:
        with open(opts.json, "w") as fh:
            json.dump({"machine": machine, "settings": settings, "peers": peer_versions,
                       "workloads": results}, fh, indent=2, default=str)
        log(f"wrote {opts.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
