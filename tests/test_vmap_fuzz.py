"""vmap over random well-typed programs (the generator of tests/test_fuzz.py): the
batched function against the program's own `main` run on each example (plain Python, no
s2sgrad), and the per-example gradients against the gradient of each example, itself
checked against finite differences by tests/test_fuzz.py on the same generator.
Branches on data, loops, lists, closures and helper calls exercise the batching rules
and every fallback (a loop over the examples is fine here; a wrong number is not)."""
import itertools
import os
import tempfile
import warnings

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings

import s2sgrad
from s2sgrad.errors import BatchingWarning
from support.fuzz_programs import copy_args, load_module, programs

_TMP = tempfile.mkdtemp(prefix="s2sgrad_vmap_fuzz_")
_SERIAL = itertools.count()


def examples_of(x, n=3):
    """n examples near x (the first is x itself), stacked along a new leading axis."""
    rng = np.random.default_rng(0)
    return np.stack([np.asarray(x, dtype=float) + 0.05 * k * rng.normal(size=np.shape(x))
                     for k in range(n)])


def one(X, k, scalar):
    return float(X[k]) if scalar else X[k].copy()


@settings(max_examples=150, derandomize=True, deadline=None, phases=(Phase.generate,),
          suppress_health_check=list(HealthCheck), database=None)
@given(programs())
def test_vmap_of_random_programs_matches_each_example(program):
    name = "vmapfuzz_%d" % next(_SERIAL)
    path = os.path.join(_TMP, name + ".py")
    with open(path, "w") as fh:
        fh.write(program.source)
    main = load_module(path, name).main
    x, y = program.args
    X = examples_of(x)
    scalar = np.ndim(x) == 0
    with np.errstate(all="ignore"):
        values = [main(*copy_args((one(X, k, scalar), y))) for k in range(len(X))]
        grads = [s2sgrad.grad(main, wrt=(0, 1))(*copy_args((one(X, k, scalar), y)))
                 for k in range(len(X))]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", BatchingWarning)
            got = s2sgrad.vmap(main, in_axes=(0, None))(X, y)
            gx, gy = s2sgrad.vmap(s2sgrad.grad(main, wrt=(0, 1)), in_axes=(0, None))(X, y)
    np.testing.assert_allclose(got, np.stack(values), rtol=1e-9, atol=1e-12,
                               err_msg=program.source)
    np.testing.assert_allclose(gx, np.stack([np.asarray(g[0]) for g in grads]), rtol=1e-9,
                               atol=1e-12, err_msg=program.source)
    np.testing.assert_allclose(gy, np.stack([np.asarray(g[1]) for g in grads]), rtol=1e-9,
                               atol=1e-12, err_msg=program.source)
