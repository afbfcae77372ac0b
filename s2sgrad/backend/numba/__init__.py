"""The Numba back end: the generated code compiled with `numba.njit`.

`jit(fn)` takes a function the NumPy back end loaded (a gradient, its value twin, a
tangent or a pullback) and returns a callable running the same source compiled by
Numba. The source is written to a file in a cache directory named by its hash
(`cache.py`), so that Numba's own disk cache (`cache=True`) makes a second process's
first call fast. What Numba cannot compile runs as the NumPy code, with a warning that
says why (or, with `strict=True`, an error).

Numba is optional: this package imports it only when `jit` is first called.
"""
import os

from ...errors import S2SGradError

INSTALL = "pip install s2sgrad[numba]"


def available():
    """Is Numba installed (without importing it)?"""
    import importlib.util
    return importlib.util.find_spec("numba") is not None


def require():
    """Raise an error saying how to install Numba, when it is not installed."""
    if not available():
        raise S2SGradError(
            'backend="numba" needs Numba, which is not installed: ' + INSTALL +
            " (or pip install numba); backend=\"numpy\" (the default) needs NumPy only")


BACKENDS = ("numpy", "numba")


def check_backend(backend):
    """The back end's name, checked (and, for Numba, its installation)."""
    if backend not in BACKENDS:
        raise S2SGradError(f"backend must be one of {', '.join(map(repr, BACKENDS))}, "
                           f"not {backend!r}")
    if backend == "numba":
        require()
    return backend


def jit(fn, strict=False):
    """`fn` (a loaded generated function) compiled by Numba, falling back to `fn`."""
    from .compile import jit as _jit
    return _jit(fn, strict)


def cache_dir():
    """Where generated modules and Numba's compiled code are kept: $S2SGRAD_CACHE_DIR,
    else the user's cache directory."""
    env = os.environ.get("S2SGRAD_CACHE_DIR")
    if env:
        return env
    if os.name == "nt":
        base = os.environ.get("LOCALAPPDATA") or os.path.expanduser("~")
    else:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"),
                                                                 ".cache")
    return os.path.join(base, "s2sgrad", "numba")
