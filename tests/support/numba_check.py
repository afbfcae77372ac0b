"""The check the Numba back end's tests share: a gradient compiled with Numba (strict),
equal to the NumPy back end's to 1e-12 in type, shape and dtype, and to centred finite
differences in float64."""
import numpy as np

import s2sgrad

from support.numeric import numerical_grad


def compiled_entry(g):
    """The Numba back end's compiled code behind a gradient called with one kind."""
    (entry,) = g._by_kinds.values()
    return entry[1]


def check(func, args, wrt=0, rtol_fd=1e-6, atol_fd=1e-8):
    g = s2sgrad.grad(func, wrt=wrt, backend="numba", strict=True)
    got = g(*args)
    assert compiled_entry(g).compiled
    want = s2sgrad.grad(func, wrt=wrt)(*args)
    indices = wrt if isinstance(wrt, tuple) else (wrt,)
    got_t = got if isinstance(wrt, tuple) else (got,)
    want_t = want if isinstance(wrt, tuple) else (want,)
    for i, a, b in zip(indices, got_t, want_t):
        assert type(a) is type(b) and np.shape(a) == np.shape(b)
        assert np.asarray(a).dtype == np.asarray(b).dtype
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(a, numerical_grad(func, args, i), rtol=rtol_fd,
                                   atol=atol_fd)
    return g


def run_written(tmp_path, module, body):
    """The lines `body` prints, run in a fresh Python beside the module that
    `s2sgrad transform --backend numba` wrote (imported as `m`), with s2sgrad
    unimportable (the module needs NumPy and Numba only), warnings as errors and
    Numba's cache under `tmp_path`; the run must succeed."""
    import os
    import subprocess
    import sys
    import textwrap
    script = textwrap.dedent(f"""
        import sys
        sys.modules["s2sgrad"] = None
        import warnings
        warnings.simplefilter("error")
        import numpy as np
        import {module} as m
    """) + textwrap.dedent(body)
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600,
                          env=dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "nc")))
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()
