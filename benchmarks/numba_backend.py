"""The Numba back end against the NumPy back end and the hand-written gradients.

    python benchmarks/numba_backend.py [WORKLOAD ...]

For each workload of workloads.py (default: elementwise40, rosenbrock, griewank, logreg):
the warm gradient time of s2sgrad's NumPy back end, of its Numba back end and of the
hand-written NumPy gradient (best of several repeats), the Numba back end's first call
in this process (s2sgrad's compile + Numba's compile, or a load from the disk cache), and
its first call in a fresh process whose disk cache is warm. Needs Numba (pip install
s2sgrad[numba]). `numba_gradient(workload)` is what a benchmark table calls for a column.
"""
import os
import subprocess
import sys
import tempfile
import time
import timeit

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

import numpy as np  # noqa: E402

import s2sgrad  # noqa: E402
import workloads as W  # noqa: E402

DEFAULT = ["elementwise40", "rosenbrock", "griewank", "logreg"]


def numba_gradient(workload):
    """s2sgrad's gradient of the workload on the Numba back end (compiled on first call)."""
    return s2sgrad.grad(workload.loss, wrt=workload.wrt_arg, backend="numba")


def best(fn, args, seconds=0.5):
    """The best time of one call, in seconds, from repeats filling about `seconds`."""
    timer = timeit.Timer(lambda: fn(*args))
    n, t = timer.autorange()
    per = t / n
    number = max(1, int(0.1 / per))
    return min(timer.repeat(repeat=max(3, int(seconds / (per * number))), number=number)) / number


FRESH = """
import sys, time
sys.path[:0] = [{here!r}, {root!r}]
t0 = time.perf_counter()
import s2sgrad, workloads as W
w = W.BY_NAME[{name!r}]
args = w.make_data()
g = s2sgrad.grad(w.loss, wrt=w.wrt_arg, backend="numba")
t1 = time.perf_counter()
g(*args)
t2 = time.perf_counter()
print(f"{{t2 - t1:.4f}} {{t2 - t0:.4f}}")
"""


def fresh_process_first_call(name, cache):
    """(first call, imports + first call) in seconds, in a new process sharing `cache`."""
    code = FRESH.format(here=HERE, root=os.path.dirname(HERE), name=name)
    env = dict(os.environ, S2SGRAD_CACHE_DIR=cache)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True).stdout.split()
    return float(out[0]), float(out[1])


def measure(name, cache):
    w = W.BY_NAME[name]
    args = w.make_data()
    numpy_grad = s2sgrad.grad(w.loss, wrt=w.wrt_arg)
    numpy_grad(*args)
    compiled = numba_gradient(w)
    t = time.perf_counter()
    compiled(*args)
    first = time.perf_counter() - t
    entry = list(compiled._by_kinds.values())[0][1]
    row = {
        "workload": name,
        "compiled": entry.compiled,
        "numpy_us": best(numpy_grad, args) * 1e6,
        "numba_us": best(compiled, args) * 1e6,
        "hand_us": best(w.hand_grad, args) * 1e6,
        "first_call_s": first,
    }
    row["warm_first_call_s"], row["warm_process_s"] = fresh_process_first_call(name, cache)
    return row


def main(names):
    cache = os.environ.get("S2SGRAD_CACHE_DIR") or tempfile.mkdtemp(prefix="s2sgrad-numba-")
    os.environ["S2SGRAD_CACHE_DIR"] = cache
    print(f"{'workload':15} {'NumPy bk':>10} {'Numba bk':>10} {'hand':>10} {'Numba/hand':>10} "
          f"{'1st call':>9} {'warm 1st':>9} {'warm proc':>9}")
    ratios = []
    for name in names:
        r = measure(name, cache)
        ratio = r["numba_us"] / r["hand_us"]
        ratios.append(ratio)
        print(f"{name:15} {r['numpy_us']:8.1f}us {r['numba_us']:8.1f}us {r['hand_us']:8.1f}us "
              f"{ratio:9.2f}x {r['first_call_s']:8.2f}s {r['warm_first_call_s']:8.3f}s "
              f"{r['warm_process_s']:8.2f}s" + ("" if r["compiled"] else "  (NumPy fallback)"))
    print(f"geomean Numba back end / hand-written: {np.exp(np.mean(np.log(ratios))):.2f}x")


if __name__ == "__main__":
    main(sys.argv[1:] or DEFAULT)
