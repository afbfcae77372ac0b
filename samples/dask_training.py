"""Training with gradients computed on Dask workers, two ways, checked against one process.

    python samples/dask_training.py        # needs: pip install "s2sgrad[dask]"

A small two-layer network is trained for a few steps of gradient descent on data split
into shards. Each step, every shard's gradient is computed on a worker and the parts
are summed in this process:

1. **shipping gradient objects**: `grad(shard_loss, wrt=(0, 1, 2, 3))` pickles by
   reference (module and name), and each worker compiles the gradient from the source;
2. **shipping a generated module**: `s2sgrad transform` writes `grad_shard_loss` as a
   plain NumPy module; its text is sent to the workers, which run it with s2sgrad made
   unimportable — the situation of a cluster where only NumPy is installed.

Both must end at the parameters that training in this process reaches (to 1e-10).
The cluster here is a LocalCluster of two worker processes on the loopback interface;
on several machines, start `dask scheduler` on one and `dask worker tcp://HOST:8786` on
each of the others, and pass the scheduler's address to `Client("tcp://HOST:8786")`
instead of a LocalCluster (the README says more).

Without dask the sample prints why it did nothing and exits with status 0.
"""
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import s2sgrad  # noqa: E402

STEPS = 5
LEARNING_RATE = 0.002


def shard_loss(W1, b1, W2, b2, X, y):
    """Sum over one shard of the squared error of a tanh network with one hidden layer."""
    hidden = np.tanh(X @ W1 + b1)
    prediction = hidden @ W2 + b2
    return 0.5 * np.sum((prediction - y) ** 2)


def make_data(n_shards=4, rows=40, features=3, hidden=8, seed=0):
    rng = np.random.RandomState(seed)
    shards = []
    for _ in range(n_shards):
        X = rng.randn(rows, features)
        y = np.sin(X @ np.array([1.0, -0.5, 0.25]))
        shards.append((X, y))
    params = [0.3 * rng.randn(features, hidden), np.zeros(hidden),
              0.3 * rng.randn(hidden), 0.0]
    return params, shards


def sgd(gradient_of_shards, params, steps=STEPS, lr=LEARNING_RATE):
    """Gradient descent where `gradient_of_shards(params)` returns one gradient per shard."""
    for _ in range(steps):
        parts = gradient_of_shards(params)
        total = [sum(part[k] for part in parts) for k in range(len(params))]
        params = [p - lr * g for p, g in zip(params, total)]
    return params


def run_generated(module_text, params, X, y):
    """On a worker: run the generated module's gradient with s2sgrad unimportable."""
    blocked = {name: sys.modules.get(name) for name in list(sys.modules)
               if name == "s2sgrad" or name.startswith("s2sgrad.")}
    for name in blocked:
        sys.modules[name] = None        # `import s2sgrad` now raises ImportError
    sys.modules.setdefault("s2sgrad", None)
    try:
        try:
            __import__("s2sgrad")
        except ImportError:
            pass
        else:
            raise RuntimeError("s2sgrad is still importable on the worker")
        namespace = {"__name__": "generated_shard_loss"}
        exec(compile(module_text, "grad_shard_loss.py", "exec"), namespace)
        return namespace["grad_shard_loss"](*params, X, y)
    finally:
        for name, module in blocked.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
        if "s2sgrad" not in blocked:
            sys.modules.pop("s2sgrad", None)


def generated_module_text():
    """`s2sgrad transform` of this file, as a newcomer would run it on the command line."""
    proc = subprocess.run(
        [sys.executable, "-m", "s2sgrad.tools.cli", "transform", os.path.join(HERE, "dask_training.py"),
         "-f", "shard_loss:0,1,2,3", "-o", "-"],
        capture_output=True, text=True, check=True)
    return proc.stdout


def main():
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:
        print(f"skipping: dask.distributed is not installed ({exc}); "
              "install it with: pip install \"s2sgrad[dask]\"")
        return 0
    # The gradient object pickles by reference to `shard_loss`, which the workers must be
    # able to import by name: take it from this file imported as a module, not __main__.
    import dask_training
    grad_fn = s2sgrad.grad(dask_training.shard_loss, wrt=(0, 1, 2, 3))
    module_text = generated_module_text()
    params, shards = make_data()

    def local(params):
        return [grad_fn(*params, X, y) for X, y in shards]

    expected = sgd(local, params)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      host="127.0.0.1", dashboard_address=None) as cluster, \
            Client(cluster) as client:
        shard_futures = [client.scatter(shard, broadcast=True) for shard in shards]

        def shipped_objects(params):
            futures = [client.submit(_call, grad_fn, params, shard, pure=False)
                       for shard in shard_futures]
            return client.gather(futures)

        def shipped_module(params):
            futures = [client.submit(_call_generated, module_text, params, shard, pure=False)
                       for shard in shard_futures]
            return client.gather(futures)

        by_objects = sgd(shipped_objects, params)
        by_module = sgd(shipped_module, params)
        workers = len(client.scheduler_info()["workers"])

    print(f"{STEPS} steps of gradient descent, {len(shards)} shards on {workers} worker processes")
    worst = 0.0
    for label, trained in (("gradient objects", by_objects), ("generated module", by_module)):
        err = max(float(np.max(np.abs(np.subtract(a, b)))) for a, b in zip(trained, expected))
        worst = max(worst, err)
        print(f"  shipping {label:16s}: max difference to one-process training {err:.1e}")
    start = sum(shard_loss(*params, X, y) for X, y in shards)
    end = sum(shard_loss(*expected, X, y) for X, y in shards)
    print(f"  loss {start:.4f} -> {end:.4f}")
    if worst > 1e-10 or not end < start:
        print("MISMATCH")
        return 1
    print("both ways of training on the workers match training in this process")
    return 0


def _call(gradient, params, shard):
    X, y = shard
    return gradient(*params, X, y)


def _call_generated(module_text, params, shard):
    X, y = shard
    return run_generated(module_text, params, X, y)


if __name__ == "__main__":
    sys.exit(main())
