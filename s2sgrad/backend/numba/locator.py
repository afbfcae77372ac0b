"""Where Numba keeps the compiled runtime helpers: one cache for every gradient.

Each generated module compiles the helpers it calls (`helpers.py`, `helpers_more.py`)
for its argument types; without a cache of their own they were compiled again for every
new gradient, most of Numba's compile time (an LSTM's gradient: about 120 helper
versions, each optimised by LLVM on its own). Their implementations are compiled with
`cache=True` (`helpers.overload`), and this locator puts that cache under s2sgrad's
cache directory (`settings.cache_dir()`, $S2SGRAD_CACHE_DIR), stamped with a hash of
both helper files, s2sgrad's, NumPy's and Python's versions. Numba's own stamp is the
hash of the one file a function is in, and the implementations of one file inline
helpers of the other: a change to either file must invalidate both.
"""
import hashlib
import os
import sys

import numpy as np
from numba.core import caching

from ...version import __version__
from .settings import cache_dir

_HERE = os.path.dirname(os.path.abspath(__file__))
FILES = tuple(os.path.join(_HERE, name) for name in ("helpers.py", "helpers_more.py"))
_STAMP = None


def stamp():
    """The helpers' freshness: both files' text and the versions they depend on."""
    global _STAMP
    if _STAMP is None:
        digest = hashlib.sha256(f"{sys.version_info[:3]} numpy {np.__version__} "
                                f"s2sgrad {__version__}".encode())
        for path in FILES:
            with open(path, "rb") as fh:
                digest.update(fh.read())
        _STAMP = digest.hexdigest()
    return _STAMP


class HelperLocator(caching._CacheLocator):
    """Numba's cache locator for the implementations in the two helper files."""

    def __init__(self, py_func, path):
        self._lineno = py_func.__code__.co_firstlineno
        self._cache_path = path

    def get_cache_path(self):
        return self._cache_path

    def get_source_stamp(self):
        return stamp()

    def get_disambiguator(self):
        return str(self._lineno)

    @classmethod
    def from_function(cls, py_func, py_file):
        """A locator for the helpers' implementations (None for other functions): in
        the cache directory, else (not writable) in a directory of this process, never
        with Numba's stamp of one file."""
        if os.path.abspath(py_file) not in FILES:
            return None
        self = cls(py_func, os.path.join(cache_dir(), "helpers"))
        try:
            self.ensure_cache_path()
        except OSError:
            self = cls(py_func, _private_dir())
        return self


_PRIVATE = None


def _private_dir():
    global _PRIVATE
    if _PRIVATE is None:
        import tempfile
        _PRIVATE = tempfile.mkdtemp(prefix="s2sgrad-helpers-")
    return _PRIVATE


def register():
    """Put `HelperLocator` first in Numba's list (once)."""
    impl = getattr(caching, "CacheImpl", None) or caching._CacheImpl   # (renamed in 0.60)
    classes = impl._locator_classes
    if HelperLocator not in classes:
        classes.insert(0, HelperLocator)
