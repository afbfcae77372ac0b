"""Data-parallel gradient over shards with dask.distributed: each worker process computes the gradient of its shard, the sum equals the single-process gradient.

    python samples/dask_shards.py          # needs: pip install "dask[distributed]"

The gradient object `grad(shard_loss)` is shipped to the workers by pickle: it pickles
by reference to `shard_loss` (module and name) plus the options, and each worker
compiles the gradient itself from the source file. The cluster is a LocalCluster of
two worker processes listening on the loopback interface only.

Without dask the sample prints why it did nothing and exits with status 0.
"""
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import s2sgrad  # noqa: E402


def shard_loss(w, X, y):
    """Sum over one shard of the logistic loss of the linear model X @ w (labels ±1)."""
    z = X @ w
    return np.sum(np.log(1.0 + np.exp(-y * z)))


def make_data(n_shards=4, rows=50, features=5, seed=0):
    rng = np.random.RandomState(seed)
    w_true = rng.randn(features)
    shards = []
    for _ in range(n_shards):
        X = rng.randn(rows, features)
        y = np.sign(X @ w_true + 0.3 * rng.randn(rows))
        shards.append((X, y))
    return rng.randn(features) * 0.1, shards


def main():
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:
        print(f"skipping: dask.distributed is not installed ({exc}); "
              "install it with: pip install \"dask[distributed]\"")
        return 0
    # `shard_loss` must be importable by name in the workers, so that the gradient
    # object pickles by reference: take it from this file imported as a module,
    # not from __main__.
    import dask_shards
    grad_fn = s2sgrad.grad(dask_shards.shard_loss)
    w, shards = make_data()

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      host="127.0.0.1", dashboard_address=None) as cluster, \
            Client(cluster) as client:
        futures = client.map(grad_fn, [w] * len(shards), [X for X, _ in shards],
                             [y for _, y in shards], pure=False)
        parts = client.gather(futures)
        workers = len(client.scheduler_info()["workers"])

    distributed = np.sum(parts, axis=0)
    X_all = np.vstack([X for X, _ in shards])
    y_all = np.concatenate([y for _, y in shards])
    single = grad_fn(w, X_all, y_all)
    print(f"{len(shards)} shards of {shards[0][0].shape[0]} rows on {workers} worker processes")
    print("gradient from the workers (sum over shards):", np.round(distributed, 6))
    print("gradient in this process (all rows at once):", np.round(single, 6))
    err = float(np.max(np.abs(distributed - single)))
    if not np.allclose(distributed, single, rtol=1e-10, atol=1e-12):
        print(f"MISMATCH: max abs difference {err:.3g}")
        return 1
    print(f"the distributed gradient matches the single-process gradient "
          f"(max abs difference {err:.1e})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
