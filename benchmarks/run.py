#!/usr/bin/env python
"""Benchmark s2sgrad against hand-written NumPy gradients and peer AD tools.

    python benchmarks/run.py                 # full run, Markdown table on stdout
    python benchmarks/run.py --quick         # a few samples: smoke test
    python benchmarks/run.py --only mlp,rnn  # some workloads
    python benchmarks/run.py --json out.json # also write every number as JSON
    python benchmarks/run.py --plot          # also draw benchmarks/results.png (matplotlib)
    python benchmarks/run.py --readme        # also rewrite the tables in the top-level README.md

Each workload runs in processes of its own (`--one-process`: all in this one): s2sgrad
with the hand-written gradient, the forward pass and autograd in one, JAX and PyTorch
each in another beside the forward pass and the hand-written gradient again
(`run_worker`).  In a process the implementations are timed round-robin: one sample of
each, in a fresh random order every round.  A sample repeats the call enough times to
last at least ~2 ms; the figure reported is the median over the samples (36: 12 rounds
in each of 3 processes with layouts of their own, see `run_worker`).
Before each round a few blocks of random size are allocated and kept for the round, so
that the arrays land elsewhere each time (`layout_padding`; `--fixed-layout` turns it
off).  Every gradient is checked against the hand-written one before it is timed: a
wrong gradient is reported, not timed.
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
IMPLS = ("forward", "hand", "s2sgrad", "s2sgrad.direct", "s2sgrad.numba") + peers.PEERS + (
    "hand.vg", "s2sgrad.vg")
LABELS = {
    "forward": "forward (NumPy)",
    "hand": "hand-written grad",
    "s2sgrad": "s2sgrad",
    "s2sgrad.direct": "s2sgrad generated fn",
    "s2sgrad.numba": "s2sgrad, Numba back end",
    "hand.vg": "hand-written value & grad",
    "s2sgrad.vg": "s2sgrad value_and_grad",
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


def steady_malloc():
    """Keep glibc's malloc from returning freed memory to the system between calls.
    By default it trims the top of the heap when more than a few MB there are free,
    and the next call faults those pages in again (about 2 µs a page). Whether an
    implementation hits that depends on the order of its large allocations, not on
    its work: in one process the hand-written MLP gradient took 0 page faults per
    call and the same operations in another order 872, which was 40% of its time.
    Both limits are set for every implementation alike (like the BLAS threads).
    Returns a description, or None where there is no glibc."""
    import ctypes
    try:
        libc = ctypes.CDLL("libc.so.6")
        M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
        ok = libc.mallopt(M_TRIM_THRESHOLD, 1 << 30) and libc.mallopt(M_MMAP_THRESHOLD, 32 << 20)
    except (OSError, AttributeError):
        return None
    return "glibc malloc: heap trimming off, mmap threshold 32 MiB" if ok else None


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


LAYOUT_SEED = 20261202


def layout_padding(rng):
    """A few live blocks of random sizes on the heap, so that the arrays the calls of
    the next round allocate land at other addresses than in the round before.

    Where an array lands relative to the others (cache sets, 4 KiB aliasing between
    an operation's inputs and output) changes the time of memory-bound NumPy code by
    up to 30% here, and within one process the placement stays fixed: the Rosenbrock
    gradient (n = 10,000) measured 1.17x the hand-written one in one process and
    0.89x in another, with no change to either. Moving the layout every round gives
    each implementation a spread of placements, and the median is over all of them
    (the idea of Curtsinger and Berger's Stabilizer, done by hand)."""
    return [np.empty(rng.randrange(1, 20_000)) for _ in range(rng.randrange(1, 5))]


SLOW_BUDGET_S = 3.0        # per implementation and process, once it has MIN_SAMPLES
MIN_SAMPLES = 3            # (one, when a single call takes more than a second)


def time_round_robin(impls, samples, target_s, layout_seed=LAYOUT_SEED):
    """impls: dict name -> callable.  Returns dict name -> stats.  Each round runs
    one sample of every implementation in a fresh random order (each comes first,
    last and after each other one alike: what ran just before can matter, as for
    the CPU's clock). `layout_seed`: move the heap layout before every round
    (`layout_padding`); None keeps it. An implementation that has spent
    `SLOW_BUDGET_S` on `MIN_SAMPLES` samples or more (on one, if it took more than a
    second) sits out the later rounds (JAX without jit takes seconds a call on the
    scalar loops; its median needs no 36 samples to be far from the others), so that
    the whole run stays within minutes."""
    import random
    names = list(impls)
    inner = {k: calibrate(impls[k], target_s) for k in names}
    times = {k: [] for k in names}
    rng = random.Random(LAYOUT_SEED if layout_seed is None else layout_seed)
    for r in range(samples):
        order = list(names)
        rng.shuffle(order)
        padding = layout_padding(rng) if layout_seed is not None else None
        for k in order:
            done = times[k]
            floor = 1 if done and done[0] * inner[k] > 1.0 else MIN_SAMPLES
            if len(done) >= floor and sum(done) * inner[k] > SLOW_BUDGET_S:
                continue
            times[k].append(_run_n(impls[k], inner[k]) / inner[k])
        del padding
        if r % 10 == 9:
            gc.collect()
    return {k: dict(summary(times[k]), inner=inner[k]) for k in names}


def summary(times):
    """Median, min, quartiles and the samples themselves (kept, so that samples from
    several processes can be pooled)."""
    ts = sorted(times)
    q = statistics.quantiles(ts, n=4) if len(ts) >= 2 else [ts[0]] * 3
    return dict(median_s=statistics.median(ts), min_s=ts[0], q1_s=q[0], q3_s=q[2],
                samples=len(ts), times_s=list(times))


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


def _s2s_warmup_linalg(a, b):
    L = np.linalg.cholesky(a * np.eye(2) + np.ones((2, 2)))
    return np.sum(np.linalg.solve(L.T, np.linalg.solve(L, b)))


def warm_up_s2sgrad(s2sgrad):
    """Pay one-time costs (lazy imports inside s2sgrad) before any workload is measured:
    s2sgrad's own modules, and SciPy, whose BLAS the runtime's triangular solves import
    on their first call (about 0.2 s once per process; without the warm-up it would land
    in the transform column of the first workload with a Cholesky factor). That call
    imports scipy.linalg after the warm-up's transforms: s2sgrad's rules for it load
    then, as a program that imports SciPy pays once, at its first transform (without it,
    in the transform column of the first workload whose transform looks a name up)."""
    try:
        with time_limit(TRANSFORM_TIMEOUT_S):
            s2sgrad.grad(_s2s_warmup_fn)(2.0)
            s2sgrad.grad(_s2s_warmup_linalg)(3.0, np.ones(2))
            from s2sgrad.rules.registry import load_optional
            load_optional()
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


def build_s2sgrad_numba(s2sgrad, w, args, reference, rec):
    """s2sgrad's gradient on the Numba back end (`backend="numba", strict=True`: code
    Numba cannot compile is reported, not timed as NumPy code); records the first call
    (s2sgrad's transform + Numba's compile, or a load from Numba's disk cache). Returns
    the call to time."""
    import importlib.util
    if importlib.util.find_spec("numba") is None:
        raise Unavailable("Numba not installed (pip install s2sgrad[numba])")
    snap = snapshot(args)
    with time_limit(TRANSFORM_TIMEOUT_S):
        t0 = time.perf_counter()
        g = s2sgrad.grad(w.loss, wrt=w.wrt_arg, backend="numba", strict=True)
        first = g(*args)
        rec["s2sgrad.numba"]["first_call_s"] = time.perf_counter() - t0
    if not unchanged(args, snap):
        raise Unavailable("mutated its input arrays")
    rec["s2sgrad.numba"]["max_rel_err"] = check(as_grad_tuple(first, len(w.wrt)), reference)

    def call():
        return g(*args)
    return call


VALUE_TOL = 1e-9           # |value - hand value| / |hand value|


def build_s2sgrad_vg(s2sgrad, w, args, reference, hand_value, rec):
    """`s2sgrad.value_and_grad`, checked against the hand-written value and gradient.
    Returns the call to time."""
    snap = snapshot(args)
    with time_limit(TRANSFORM_TIMEOUT_S):
        t0 = time.perf_counter()
        vg = s2sgrad.value_and_grad(w.loss, wrt=w.wrt_arg)
        value, grads = vg(*args)
        rec["s2sgrad.vg"]["first_call_s"] = time.perf_counter() - t0
    if not unchanged(args, snap):
        raise Unavailable("mutated its input arrays")
    if not abs(value - hand_value) <= VALUE_TOL * max(abs(hand_value), 1e-300):
        raise Unavailable(f"WRONG value ({value!r}, expected {hand_value!r})")
    rec["s2sgrad.vg"]["max_rel_err"] = check(as_grad_tuple(grads, len(w.wrt)), reference)

    def call():
        return vg(*args)
    return call


def bench_workload(w, s2sgrad, s2s_reason, use_peers, samples, target_s, log,
                   layout_seed=LAYOUT_SEED, use_numba=True):
    args = w.make_data()
    reference = w.hand_grad(*args)
    rec = {k: {"status": "ok"} for k in IMPLS}
    impls = {}

    impls["forward"] = lambda: w.loss(*args)
    impls["hand"] = lambda: w.hand_grad(*args)
    hand_vg = w.hand_value_and_grad
    if hand_vg is None:
        rec["hand.vg"].update(status="n/a", reason="no hand-written value and gradient")
    elif s2sgrad is not None:     # (timed in s2sgrad's process only)
        hand_value, hand_vg_grads = hand_vg(*args)
        rec["hand.vg"]["max_rel_err"] = check(hand_vg_grads, reference)
        impls["hand.vg"] = lambda: hand_vg(*args)

    # s2sgrad: transform first, before anything else touches this function
    if s2sgrad is None:
        rec["s2sgrad"].update(status="n/a", reason=s2s_reason)
        rec["s2sgrad.direct"].update(status="n/a", reason=s2s_reason)
        rec["s2sgrad.numba"].update(status="n/a", reason=s2s_reason)
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
        if use_numba:
            try:
                impls["s2sgrad.numba"] = build_s2sgrad_numba(s2sgrad, w, args, reference, rec)
            except Exception as e:
                rec["s2sgrad.numba"].update(status="n/a", reason=short_reason(e))
                args = w.make_data()
        else:
            rec["s2sgrad.numba"].update(status="n/a", reason="skipped (--no-numba)")
        if "hand.vg" in impls:
            try:
                impls["s2sgrad.vg"] = build_s2sgrad_vg(s2sgrad, w, args, reference,
                                                       hand_value, rec)
            except Exception as e:
                rec["s2sgrad.vg"].update(status="n/a", reason=short_reason(e))
                args = w.make_data()
        else:
            rec["s2sgrad.vg"].update(status="n/a", reason=rec["hand.vg"].get("reason", "n/a"))
    if s2sgrad is None:
        for k in ("hand.vg", "s2sgrad.vg"):
            rec[k].setdefault("reason", s2s_reason)
            rec[k]["status"] = "n/a"

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
    stats = time_round_robin(impls, samples, target_s, layout_seed)
    for k, s in stats.items():
        rec[k].update(s)

    return {"title": w.title, "description": w.description, "impls": rec,
            "derived": derived_figures(rec)}


def derived_figures(rec):
    """Ratios of medians, the transform time and the wrapper's overhead."""
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
    if med["s2sgrad.vg"] and med["hand.vg"]:
        derived["s2sgrad.vg/hand.vg"] = med["s2sgrad.vg"] / med["hand.vg"]
    if med["s2sgrad.vg"] and med["s2sgrad"]:
        derived["s2sgrad.vg/s2sgrad"] = med["s2sgrad.vg"] / med["s2sgrad"]
    if med["s2sgrad"] and med["s2sgrad.direct"]:
        derived["s2sgrad_call_overhead_s"] = med["s2sgrad"] - med["s2sgrad.direct"]
    if med["s2sgrad.numba"] and "first_call_s" in rec["s2sgrad.numba"]:
        derived["s2sgrad_numba_compile_s"] = rec["s2sgrad.numba"]["first_call_s"] \
            - med["s2sgrad.numba"]
    if med["s2sgrad.numba"] and "warm_first_call_s" in rec["s2sgrad.numba"]:
        derived["s2sgrad_numba_warm_s"] = rec["s2sgrad.numba"]["warm_first_call_s"] \
            - med["s2sgrad.numba"]
    if med["jax.jit"] and "first_call_s" in rec["jax.jit"]:
        derived["jax_jit_compile_s"] = rec["jax.jit"]["first_call_s"] - med["jax.jit"]
    return derived


# ---------------------------------------------------------------------------
# peak memory of one gradient call
# ---------------------------------------------------------------------------

MEMORY_WORKLOAD = "rnn"
MEMORY_IMPLS = ("forward", "hand", "s2sgrad", "autograd", "torch", "jax.jit")


def traced_peak(call, repeats=3):
    """Peak bytes allocated during one call, as seen by tracemalloc.

    NumPy reports its data buffers to tracemalloc, so this counts array
    memory as well as Python objects (tapes, boxes, stacks, lists).  Tracing
    starts right before the call, so memory that exists before it (inputs,
    parameters) is not counted: the figure is the call's own extra memory.
    Returns (peak, retained) in bytes; retained is what the result holds."""
    call()                                  # warm: caches, lazy imports, compiled code
    best = None
    for _ in range(repeats):
        gc.collect()
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            r = call()
            cur, peak = tracemalloc.get_traced_memory()
            del r
        finally:
            tracemalloc.stop()
        got = (peak - base, cur - base)
        best = got if best is None or got[0] < best[0] else best
    return best


def torch_tensor_peak(call):
    """Peak bytes of tensor storage allocated during one call (torch.profiler memory
    events, replayed in time order): PyTorch's CPU allocator bypasses tracemalloc."""
    torch = peers.torch
    from torch.profiler import ProfilerActivity, profile
    call()
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        r = call()
        del r
    events = [e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"]
    events.sort(key=lambda e: e.start_ns())
    cur = peak = 0
    for e in events:
        if getattr(e, "device_type", None) is not None and "cpu" not in str(e.device_type()).lower():
            continue
        cur += e.nbytes()
        peak = max(peak, cur)
    del torch
    return peak


def measure_memory(s2sgrad, s2s_reason, use_peers, log):
    """Peak extra memory of one gradient call on the RNN workload, per implementation."""
    w = workloads.BY_NAME[MEMORY_WORKLOAD]
    args = w.make_data()
    reference = w.hand_grad(*args)
    xs = args[4]
    T, B = xs.shape[0], xs.shape[1]
    H = args[1].shape[0]
    out = {"workload": w.name, "description": w.description,
           "hidden_states_bytes": int(T * B * H * 8),
           "inputs_bytes": int(sum(np.asarray(a).nbytes for a in args)),
           "impls": {}}
    calls = {"forward": lambda: w.loss(*args), "hand": lambda: w.hand_grad(*args)}
    reasons = {}
    if s2sgrad is None:
        reasons["s2sgrad"] = s2s_reason
    else:
        try:
            g = s2sgrad.grad(w.loss, wrt=w.wrt_arg)
            check(as_grad_tuple(g(*args), len(w.wrt)), reference)
            calls["s2sgrad"] = lambda: g(*args)
        except Exception as e:
            reasons["s2sgrad"] = short_reason(e)
    for p in ("autograd", "torch"):
        if p not in use_peers:
            reasons[p] = "skipped"
            continue
        try:
            call, to_numpy = peers.make_peer(p, w, args)
            check(to_numpy(call()), reference)
            calls[p] = call
        except Exception as e:
            reasons[p] = short_reason(e)
    reasons["jax.jit"] = "XLA allocates outside tracemalloc; no CPU memory stats"
    for k in MEMORY_IMPLS:
        rec = {"status": "ok"}
        if k in calls:
            try:
                log(f"  memory: {k}")
                rec["traced_peak_bytes"], rec["traced_retained_bytes"] = traced_peak(calls[k])
                if k == "torch":
                    rec["tensor_peak_bytes"] = torch_tensor_peak(calls[k])
            except Exception as e:
                rec = {"status": "n/a", "reason": short_reason(e)}
        else:
            rec = {"status": "n/a", "reason": reasons.get(k, "not available")}
        out["impls"][k] = rec
    return out


def fmt_bytes(n):
    if n is None:
        return "–"
    for unit, scale in (("MiB", 2 ** 20), ("KiB", 2 ** 10)):
        if abs(n) >= scale:
            v = n / scale
            return f"{v:.3g} {unit}" if v < 100 else f"{v:.0f} {unit}"
    return f"{n} B"


def memory_report(mem):
    if not mem:
        return ""
    hand = mem["impls"].get("hand", {})
    hand_total = hand.get("traced_peak_bytes")
    rows = []
    for k in MEMORY_IMPLS:
        r = mem["impls"].get(k)
        if r is None or (r["status"] != "ok" and r.get("reason") in ("skipped", "not installed")):
            continue
        if r["status"] != "ok":
            rows.append([LABELS[k], f"n/a: {r.get('reason', '')}", "–", "–", "–"])
            continue
        traced = r["traced_peak_bytes"]
        tensor = r.get("tensor_peak_bytes")
        total = traced + (tensor or 0)
        ratio = fmt_ratio(total / hand_total) if hand_total and k != "hand" else (
            "1.00×" if k == "hand" else "–")
        rows.append([LABELS[k], fmt_bytes(traced), fmt_bytes(tensor) if tensor is not None else "–",
                     ("≤ " if tensor is not None else "") + fmt_bytes(total), ratio])
    lines = [f"### Peak memory of one gradient call (`{mem['workload']}`: {mem['description']})\n",
             table(["implementation", "tracemalloc peak (NumPy buffers + Python objects)",
                    "tensor storage peak (torch.profiler)", "total", "× hand"], rows),
             "",
             f"Extra memory allocated during one call, above the inputs "
             f"({fmt_bytes(mem['inputs_bytes'])}), lowest of 3 calls after a warm-up. "
             f"The T·B·H hidden states a reverse pass must keep are "
             f"{fmt_bytes(mem['hidden_states_bytes'])}. PyTorch's tensors bypass tracemalloc, so "
             f"its total adds the peak of its tensor storage (from torch.profiler memory events) "
             f"to its Python-side peak (an upper bound). JAX is not measured: XLA's CPU buffers "
             f"are invisible to tracemalloc and its CPU device reports no memory statistics."]
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# plot
# ---------------------------------------------------------------------------

PLOT_IMPLS = ("s2sgrad",) + peers.PEERS


def plot(results, path, machine, log):
    """Grouped bars: time / hand-written gradient time, per workload and library (log scale)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except Exception as e:
        log(f"plot skipped: matplotlib not available ({type(e).__name__})")
        return False
    names = list(results)
    impls = [k for k in PLOT_IMPLS
             if any(results[n]["derived"].get(f"{k}/hand") for n in names)]
    if not impls:
        log("plot skipped: no ratios to plot")
        return False
    colors = {"s2sgrad": "#d62728", "autograd": "#7f7f7f", "jax": "#9ecae1",
              "jax.jit": "#3182bd", "torch": "#ff7f0e"}
    fig, ax = plt.subplots(figsize=(max(7.0, 1.4 * len(names) + 2), 4.6))
    width = 0.8 / len(impls)
    for j, k in enumerate(impls):
        xs, ys = [], []
        for i, n in enumerate(names):
            v = results[n]["derived"].get(f"{k}/hand")
            if v:
                xs.append(i - 0.4 + width * (j + 0.5))
                ys.append(v)
        bars = ax.bar(xs, ys, width, label=LABELS[k], color=colors.get(k), edgecolor="black",
                      linewidth=0.4)
        if k == "s2sgrad":
            for b_, v in zip(bars, ys):
                ax.annotate(f"{v:.2f}×", (b_.get_x() + b_.get_width() / 2, v),
                            ha="center", va="bottom", fontsize=7, xytext=(0, 1),
                            textcoords="offset points")
    ax.axhline(1.0, color="black", linewidth=0.8, linestyle="--")
    ax.set_yscale("log")
    allv = [results[n]["derived"][f"{k}/hand"] for n in names for k in impls
            if results[n]["derived"].get(f"{k}/hand")]
    ax.set_ylim(min(0.5, min(allv) * 0.7), max(allv) * 40)     # headroom for the legend
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names)
    ax.set_ylabel("gradient time / hand-written NumPy gradient")
    ax.set_title("Gradient time relative to a hand-written NumPy gradient (lower is better; 1 = hand)",
                 fontsize=10)
    ax.legend(fontsize=8, ncol=min(len(impls), 5), loc="upper left")
    ax.grid(axis="y", which="both", alpha=0.3)
    fig.text(0.01, 0.01, f"{machine['cpu']}, single-thread BLAS; medians", fontsize=7, alpha=0.7)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    fig.savefig(path, dpi=120)
    plt.close(fig)
    log(f"wrote {path}")
    return True


# ---------------------------------------------------------------------------
# modes.py (optional, written separately): forward vs reverse mode etc.
# ---------------------------------------------------------------------------

def run_modes(quick, log):
    """Call benchmarks/modes.py's run(quick) when it exists; return (markdown, data)."""
    if not os.path.exists(os.path.join(HERE, "modes.py")):
        return None, None
    try:
        import importlib
        modes = importlib.import_module("modes")
        run = getattr(modes, "run", None)
        if not callable(run):
            log("modes.py has no run(); skipped")
            return None, None
        log("[modes] modes.run(quick=%s)" % quick)
        res = run(quick)
    except Exception as e:
        log(f"modes.py failed: {short_reason(e)}")
        return f"_modes.py failed: {short_reason(e)}_", None
    if isinstance(res, str):
        return res, None
    if isinstance(res, list):                   # rows; modes.markdown(rows) formats them
        fmt = getattr(modes, "markdown", None)
        md = fmt(res) if callable(fmt) else None
        if isinstance(md, str):
            md = "### Forward mode and higher order (`benchmarks/modes.py`)\n\n" + md.rstrip()
        return md, res
    if isinstance(res, tuple) and res and isinstance(res[0], str):
        return res[0], (res[1] if len(res) > 1 else None)
    if isinstance(res, dict):
        md = res.get("markdown") or res.get("table")
        return (md if isinstance(md, str) else None), res
    return None, res


# ---------------------------------------------------------------------------
# README block
# ---------------------------------------------------------------------------

README_START = "<!-- bench:start -->"
README_END = "<!-- bench:end -->"
README_PLACEHOLDER = "BENCHMARK-TABLE"


def command_line(argv):
    args = [a for a in argv]
    return ("OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 python benchmarks/run.py"
            + (" " + shlex.join(args) if args else ""))


def readme_block(body, argv, plotted, plot_path, readme_path):
    parts = [README_START,
             "<!-- written by benchmarks/run.py --readme; edits between these markers are overwritten -->",
             "",
             f"Command: `{command_line(argv)}` (what `make bench` runs, plus `--readme`), "
             f"{time.strftime('%Y-%m-%d')}.",
             ""]
    if plotted:
        rel = os.path.relpath(plot_path, os.path.dirname(os.path.abspath(readme_path)))
        parts += [f"![gradient time relative to the hand-written gradient]({rel})", ""]
    parts += [body.strip(), "", README_END]
    return "\n".join(parts)


def write_readme(path, block):
    with open(path) as fh:
        text = fh.read()
    if README_START in text and README_END in text:
        i = text.index(README_START)
        j = text.index(README_END, i) + len(README_END)
        text = text[:i] + block + text[j:]
    elif re.search(rf"^{README_PLACEHOLDER}$", text, flags=re.M):
        text = re.sub(rf"^{README_PLACEHOLDER}$", lambda m: block, text, count=1, flags=re.M)
    else:
        raise SystemExit(f"{path}: no {README_START} ... {README_END} block and no "
                         f"{README_PLACEHOLDER} line to replace")
    with open(path, "w") as fh:
        fh.write(text)


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


def geomean(ratios):
    """The geometric mean, or None unless every workload has the ratio."""
    if not ratios or any(not r for r in ratios):
        return None
    return math.exp(sum(math.log(r) for r in ratios) / len(ratios))


def report(results, machine, settings, peer_versions):
    lines = []
    names = list(results)
    shown_peers = [p for p in peers.PEERS
                   if any(results[n]["impls"][p]["status"] == "ok" for n in names)]
    with_numba = any(results[n]["impls"]["s2sgrad.numba"]["status"] == "ok" for n in names)
    time_cols = ["forward", "hand", "s2sgrad"] + (["s2sgrad.numba"] if with_numba else []) \
        + shown_peers
    with_vg = any(results[n]["impls"]["s2sgrad.vg"]["status"] == "ok" for n in names)
    if with_vg:
        time_cols += ["hand.vg", "s2sgrad.vg"]

    lines.append("### Gradient time per call (median; lower is better)\n")
    rows = [[f"{results[n]['title']} (`{n}`)"] + [cell(results[n]["impls"][k]) for k in time_cols]
            for n in names]
    lines.append(table(["workload"] + [LABELS[k] for k in time_cols], rows))

    lines.append("\n### Ratios\n")
    ratio_cols = [("hand/forward", "hand / forward"), ("s2sgrad/forward", "s2sgrad / forward"),
                  ("s2sgrad/hand", "**s2sgrad / hand**")]
    if with_numba:
        ratio_cols.append(("s2sgrad.numba/hand", "**Numba back end / hand**"))
    ratio_cols += [(f"{p}/hand", f"{LABELS[p]} / hand") for p in shown_peers]
    if with_vg:
        ratio_cols += [("s2sgrad.vg/hand.vg", "**value_and_grad / hand value & grad**"),
                       ("s2sgrad.vg/s2sgrad", "value_and_grad / grad")]
    rows = [[n] + [fmt_ratio(results[n]["derived"].get(k)) for k, _ in ratio_cols] for n in names]
    if len(names) > 1:
        rows.append(["**geometric mean**"] + [fmt_ratio(geomean(
            [results[n]["derived"].get(k) for n in names])) for k, _ in ratio_cols])
    lines.append(table(["workload"] + [h for _, h in ratio_cols], rows))

    s2s_loaded = any("first_call_s" in results[n]["impls"]["s2sgrad"] for n in names)
    if s2s_loaded:
        lines.append("\n### s2sgrad: one-time transform and per-call overhead\n")
        hdr = ["workload", "transform (grad() + 1st call − cached call)", "cached call",
               "generated fn called directly", "wrapper overhead per call"]
        warm = with_numba and any("s2sgrad_numba_warm_s" in results[n]["derived"]
                                  for n in names)
        if with_numba:
            hdr.append("Numba back end: 1st call − cached (transform + compile)")
        if warm:
            hdr.append("Numba, warm disk cache: 1st call in a new process − cached")
        if "jax.jit" in shown_peers:
            hdr.append("jax.jit compile (1st call − cached)")
        rows = []
        for n in names:
            r = results[n]
            d = r["derived"]
            row = [n, fmt_time(d.get("s2sgrad_transform_s")), cell(r["impls"]["s2sgrad"]),
                   cell(r["impls"]["s2sgrad.direct"]), fmt_time(d.get("s2sgrad_call_overhead_s"))]
            if with_numba:
                row.append(fmt_time(d.get("s2sgrad_numba_compile_s")))
            if warm:
                row.append(fmt_time(d.get("s2sgrad_numba_warm_s")))
            if "jax.jit" in shown_peers:
                row.append(fmt_time(d.get("jax_jit_compile_s")))
            rows.append(row)
        lines.append(table(hdr, rows))
        lines.append(
            "\nA first call is timed once in each of the workload's processes, each a new "
            "process: the transform column is their median. The Numba columns: the first "
            "process compiles into a cache directory of the workload's own, empty (the "
            "runtime helpers too, which a user's later gradients load from the cache), "
            "the others load from it (their median); both include `import numba` and "
            "Numba's one-time set-up in that process.")

    # full reasons for anything unavailable (cells are truncated), grouped by reason
    notes = {}
    for n in names:
        for k in ("s2sgrad", "s2sgrad.vg") + (("s2sgrad.numba",) if with_numba else ()) \
                + tuple(shown_peers):
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
        f"{'; process pinned to CPU ' + str(machine['pinned_cpu']) if machine['pinned_cpu'] is not None else ''}"
        f"{'; ' + machine['malloc'] + ' (see `steady_malloc` in benchmarks/run.py)' if machine.get('malloc') else ''}."
        + (f" Peers: {vers}." if vers else "")
        + (f" Not installed or not run: {', '.join(absent)}." if absent else ""))
    lines.append(
        (f"Each figure is the median of {settings['samples']} samples"
         if settings.get("processes", 1) == 1 else
         f"Each figure is the median of {settings['samples'] * settings['processes']} samples "
         f"({settings['samples']} rounds in each of {settings['processes']} processes, "
         f"each process with its own layout seed; JAX and PyTorch in "
         f"{settings.get('peer_processes', settings['processes'])} process(es) each)")
        + " taken round-robin across implementations, in a random order each round"
        + (", the heap layout moved before each round (`layout_padding`)"
           if settings.get("layout_seed") is not None else "")
        + f"; a sample repeats the call for ≥ {settings['target_ms']:g} ms; an "
        f"implementation that has spent {SLOW_BUDGET_S:g} s in a process on {MIN_SAMPLES} "
        "samples (on one, when a call takes over a second) sits out the later rounds. "
        + ("All workloads ran in this one process. " if settings.get("one_process") else
           "Each workload ran in processes of its own: s2sgrad with the forward pass, the "
           "hand-written gradient and autograd; JAX and PyTorch each in another, beside the "
           "forward pass and the hand-written gradient timed again, their ratios taken "
           "to that (the time columns show each figure from its own process). ")
        + "All gradients are float64 and were checked against the hand-written gradient "
        f"(max rel. error < {GRAD_TOL:g}) before timing.")
    return "\n".join(lines)


# ---------------------------------------------------------------------------

# Which implementations share a process: s2sgrad with the NumPy-based ones; JAX and
# PyTorch each in a process of their own, beside the forward pass and the hand-written
# gradient again, so that every ratio is still measured side by side in one process.
PROCESS_GROUPS = (("autograd",), ("jax", "jax.jit"), ("torch",))


def run_worker(name, opts, samples, target_ms, use_peers):
    """One workload timed in processes of its own (`--worker`): what the workloads
    before it allocated, compiled or imported does not shape its heap or its caches,
    and neither does a peer's runtime. In one process with PyTorch's calls in the
    rounds, the hand-written Rosenbrock gradient ran 15% faster and s2sgrad's 10%
    (ratio 1.10 against 1.04 beside autograd alone), with the code unchanged; JAX
    and PyTorch keep thread pools and allocators of their own. The first process has
    s2sgrad and the NumPy-based peers; each other group of `PROCESS_GROUPS` gets one
    with the forward pass and the hand-written gradient, and its ratios are to the
    hand-written gradient timed there. Each group runs in `opts.processes` processes,
    each with an environment of another size and its own layout seed (see
    benchmarks/README.md, *Heap layout*), and its figures come from their samples
    pooled. Progress goes to stderr; results come back as JSON."""
    import shutil
    import subprocess
    import tempfile
    # Numba's compiled code (the helpers' too) in a directory of this workload's own:
    # its first process compiles from nothing, the others load (`pooled`), whatever
    # earlier workloads or runs left ($S2SGRAD_CACHE_DIR, when set, is used as it is)
    cache = None if "S2SGRAD_CACHE_DIR" in os.environ else \
        tempfile.mkdtemp(prefix=f"s2sgrad-bench-{name}-")

    def worker(peer_list, with_s2sgrad, seed, timeout=None):
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", name,
               "--samples", str(samples), "--target-ms", str(target_ms),
               "--layout-seed", str(seed)]
        cmd += ["--peers", ",".join(peer_list)] if peer_list else ["--no-peers"]
        if not with_s2sgrad:
            cmd.append("--without-s2sgrad")
        for flag in ("no_pin", "default_malloc", "fixed_layout", "no_numba"):
            if getattr(opts, flag):
                cmd.append("--" + flag.replace("_", "-"))
        # the size of the environment shifts where the process's memory starts, and
        # with it every array's placement: another random size for every process
        import random
        env = dict(os.environ, S2SGRAD_BENCH_LAYOUT="x" * random.Random(seed).randrange(4096))
        if cache is not None:
            env["S2SGRAD_CACHE_DIR"] = cache
        try:
            done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, env=env,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            return None                 # (a peer's compiler, not the workload, took it)
        if done.returncode != 0:
            raise SystemExit(f"the worker for {name} failed (exit status {done.returncode})")
        return json.loads(done.stdout)

    def pooled(peer_list, with_s2sgrad):
        """The group timed in `opts.processes` processes, each with its own layout
        seed; every figure from the samples of all of them together."""
        count = opts.processes if with_s2sgrad else opts.peer_processes
        timeout = None if with_s2sgrad else opts.peer_timeout
        runs = [worker(peer_list, with_s2sgrad, LAYOUT_SEED + k, timeout)
                for k in range(count)]
        if any(r is None for r in runs):
            return None
        result = runs[0]
        for impl, rec in result["impls"].items():
            if "times_s" in rec:
                times = [t for r in runs for t in r["impls"][impl].get("times_s", ())]
                rec.update(summary(times), processes=len(runs))
            firsts = [r["impls"][impl]["first_call_s"] for r in runs
                      if "first_call_s" in r["impls"].get(impl, {})]
            if not firsts:
                continue
            if impl == "s2sgrad.numba":
                # the first process compiles (its cache directory is new); the others
                # load the compiled code from it: a warm cache's first call
                if len(firsts) > 1:
                    rec["warm_first_call_s"] = statistics.median(firsts[1:])
            else:               # each process's first call is a transform: their median
                rec.update(first_call_s=statistics.median(firsts), first_calls_s=firsts)
        result["derived"] = derived_figures(result["impls"])
        return result

    groups = [[p for p in g if p in use_peers] for g in PROCESS_GROUPS]
    try:
        result = pooled(groups[0], True)
    finally:
        if cache is not None:
            shutil.rmtree(cache, ignore_errors=True)
    for group in groups[1:]:
        if not group:
            continue
        other = pooled(group, False)
        if other is None:
            for p in group:
                result["impls"][p] = {"status": "n/a", "reason": (
                    f"no result within {opts.peer_timeout:.0f} s (its compile and first "
                    "calls)")}
                for key in (f"{p}/hand", f"{p}/forward"):
                    result["derived"].pop(key, None)
            continue
        hand_there = other["impls"]["hand"].get("median_s")
        for p in group:
            result["impls"][p] = dict(other["impls"][p], hand_in_its_process_s=hand_there)
            for key in (f"{p}/hand", f"{p}/forward"):
                if key in other["derived"]:
                    result["derived"][key] = other["derived"][key]
                else:
                    result["derived"].pop(key, None)
        if "jax_jit_compile_s" in other["derived"]:
            result["derived"]["jax_jit_compile_s"] = other["derived"]["jax_jit_compile_s"]
    return result


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="few samples, short samples (smoke test)")
    ap.add_argument("--only", action="append", default=[], metavar="NAME",
                    help="run only these workloads (repeatable or comma-separated): "
                         + ", ".join(workloads.BY_NAME))
    ap.add_argument("--json", metavar="PATH", nargs="?", const=os.path.join(HERE, "results.json"),
                    help="write all results as JSON (default path benchmarks/results.json)")
    ap.add_argument("--plot", metavar="PATH", nargs="?", const=os.path.join(HERE, "results.png"),
                    help="draw the ratios to the hand-written gradient (matplotlib; default "
                         "path benchmarks/results.png)")
    ap.add_argument("--readme", metavar="PATH", nargs="?", const=os.path.join(ROOT, "README.md"),
                    help="rewrite the block between <!-- bench:start --> and <!-- bench:end --> "
                         "in README.md (default: the top-level README.md) with the tables")
    ap.add_argument("--no-memory", action="store_true", help="skip the peak-memory measurement")
    ap.add_argument("--no-modes", action="store_true", help="skip benchmarks/modes.py")
    ap.add_argument("--samples", type=int, help="rounds per process (default 12, quick 5)")
    ap.add_argument("--target-ms", type=float, help="minimum duration of one sample (default 2, quick 0.5)")
    ap.add_argument("--no-peers", action="store_true", help="skip autograd, JAX and PyTorch")
    ap.add_argument("--no-numba", action="store_true",
                    help="skip s2sgrad's Numba back end (timed when Numba is installed)")
    ap.add_argument("--peers", default=",".join(peers.PEERS),
                    help="comma-separated peers to run (default: all installed)")
    ap.add_argument("--no-pin", action="store_true", help="do not pin the process to one CPU")
    ap.add_argument("--default-malloc", action="store_true",
                    help="keep glibc's heap trimming (page faults depend on allocation order)")
    ap.add_argument("--fixed-layout", action="store_true",
                    help="do not move the heap layout between rounds (see layout_padding)")
    ap.add_argument("--one-process", action="store_true",
                    help="time every workload in this process instead of one process each")
    ap.add_argument("--processes", type=int, default=3,
                    help="processes per workload and group, their samples pooled (default 3)")
    ap.add_argument("--peer-processes", type=int, default=1,
                    help="processes per workload for JAX and for PyTorch (default 1: their "
                         "first calls compile or trace for tens of seconds)")
    ap.add_argument("--peer-timeout", type=float, default=300.0,
                    help="seconds a JAX or PyTorch process may take per workload before "
                         "its columns read n/a (XLA compiled the 200-step oscillator for "
                         "over 12 minutes; default 300)")
    ap.add_argument("--layout-seed", type=int, default=LAYOUT_SEED, help=argparse.SUPPRESS)
    ap.add_argument("--worker", metavar="NAME", help=argparse.SUPPRESS)
    ap.add_argument("--without-s2sgrad", action="store_true", help=argparse.SUPPRESS)
    opts = ap.parse_args(argv)

    samples = opts.samples or (5 if opts.quick else 12)
    if opts.quick:
        opts.processes = 1
    target_ms = opts.target_ms or (0.5 if opts.quick else 2.0)
    only = [n.strip() for item in opts.only for n in item.split(",") if n.strip()]
    unknown = [n for n in only if n not in workloads.BY_NAME]
    if unknown:
        ap.error(f"unknown workload(s) {', '.join(unknown)}; choose from {', '.join(workloads.BY_NAME)}")
    chosen = [w for w in workloads.WORKLOADS if not only or w.name in only]
    use_peers = set() if opts.no_peers else {p.strip() for p in opts.peers.split(",") if p.strip()}

    pinned = None if opts.no_pin else pin_to_one_cpu()
    machine = machine_info(pinned)
    machine["malloc"] = None if opts.default_malloc else steady_malloc()

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

    layout_seed = None if opts.fixed_layout else opts.layout_seed
    if opts.worker:
        w = workloads.BY_NAME[opts.worker]
        if opts.without_s2sgrad:
            s2sgrad, s2s_reason = None, "timed in its own process"
        result = bench_workload(w, s2sgrad, s2s_reason, use_peers, samples,
                                target_ms * 1e-3, log, layout_seed, not opts.no_numba)
        json.dump(result, sys.stdout, default=str)
        return 0

    results = {}
    for w in chosen:
        log(f"[{w.name}] {w.description}")
        t0 = time.perf_counter()
        if opts.one_process:
            results[w.name] = bench_workload(w, s2sgrad, s2s_reason, use_peers, samples,
                                             target_ms * 1e-3, log, layout_seed,
                                             not opts.no_numba)
        else:
            results[w.name] = run_worker(w.name, opts, samples, target_ms, use_peers)
        log(f"  done in {time.perf_counter() - t0:.1f} s")

    settings = {"samples": samples, "target_ms": target_ms, "quick": opts.quick,
                "grad_tol": GRAD_TOL, "one_process": opts.one_process,
                "layout_seed": layout_seed,
                "processes": 1 if opts.one_process else opts.processes,
                "peer_processes": 1 if opts.one_process else opts.peer_processes}
    body = report(results, machine, settings, peer_versions)
    print(body)

    mem = None
    if not opts.no_memory and (not only or MEMORY_WORKLOAD in only):
        log(f"[memory] {MEMORY_WORKLOAD}")
        mem = measure_memory(s2sgrad, s2s_reason, use_peers, log)
        mem_md = memory_report(mem)
        print("\n" + mem_md)
        body += "\n\n" + mem_md

    modes_md, modes_data = (None, None) if opts.no_modes else run_modes(opts.quick, log)
    if modes_md:
        # printed and kept in the JSON; not put into the README block, which holds this
        # script's own tables (the README has a section of its own for modes.py)
        print("\n" + modes_md)

    plotted = False
    if opts.plot:
        try:
            plotted = plot(results, opts.plot, machine, log)
        except Exception as e:
            log(f"plot failed: {short_reason(e)}")

    if opts.readme:
        argv_shown = sys.argv[1:] if argv is None else list(argv)
        write_readme(opts.readme, readme_block(body, argv_shown, plotted, opts.plot, opts.readme))
        log(f"rewrote the benchmark block in {opts.readme}")

    if opts.json:
        with open(opts.json, "w") as fh:
            json.dump({"machine": machine, "settings": settings, "peers": peer_versions,
                       "workloads": results, "memory": mem, "modes": modes_data},
                      fh, indent=2, default=str)
        log(f"wrote {opts.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
