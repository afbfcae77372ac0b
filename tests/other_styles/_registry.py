"""How a corpus module declares its entries: the function, how to build its arguments.

Nothing here knows about s2sgrad. ``entry(*builders, **options)`` records a function
in the calling module's ``ENTRIES`` list; each builder is a function of a NumPy random
Generator (seeded from the entry's name, so arguments are reproducible) or a constant.
Builders keep inputs away from kinks (|x| bounded below where abs/max/where matter).

Options:
  refused="fragment"   s2sgrad refuses the function with a TransformError whose
                       message contains the fragment (an honest refusal).
  xfail="category: why"  s2sgrad gives a wrong number or crashes: a known defect.
  no_autograd="why"    autograd itself cannot run the function.
  wrt=(i, ...)         the arguments to differentiate (default: every float argument).
  name="..."           the entry's name (default: the function's qualified name).
"""
import sys
import zlib

import numpy as np


class Entry:
    """One corpus function and how to call it."""

    def __init__(self, func, builders, name, module, refused=None, xfail=None,
                 no_autograd=None, wrt=None):
        self.func = func
        self.builders = builders
        self.name = name
        self.module = module
        self.refused = refused
        self.xfail = xfail
        self.no_autograd = no_autograd
        self.wrt = wrt

    @property
    def id(self):
        return "%s.%s" % (self.module.rsplit(".", 1)[-1], self.name)

    def args(self):
        """Fresh arguments (a new Generator each time: every call gives the same values)."""
        rng = np.random.default_rng(zlib.crc32(self.id.encode()))
        return tuple(b(rng) if callable(b) else b for b in self.builders)

    def float_args(self, args):
        """The indices to differentiate: the given wrt, or every floating argument."""
        if self.wrt is not None:
            return tuple(self.wrt)
        return tuple(i for i, a in enumerate(args)
                     if isinstance(a, float) and not isinstance(a, bool)
                     or isinstance(a, np.floating)
                     or isinstance(a, np.ndarray) and a.dtype.kind == "f")

    def is_float32(self, args):
        return any(getattr(a, "dtype", None) == np.float32 for a in args)


def _module_entries(depth=2):
    g = sys._getframe(depth).f_globals
    return g.setdefault("ENTRIES", []), g["__name__"]


def entry(*builders, name=None, **options):
    """Decorator: ``@entry(V(3), M(2, 3))`` above ``def f(x, W): ...``."""
    entries, module = _module_entries()

    def record(func):
        entries.append(Entry(func, builders, name or func.__qualname__, module, **options))
        return func
    return record


def register(func, *builders, name, **options):
    """For closures returned by factories: ``register(make(3)[1], V(3), name="...")``."""
    entries, module = _module_entries()
    entries.append(Entry(func, builders, name, module, **options))
    return func


# ------------------------------------------------------------------ argument builders

def V(*shape):
    """Standard normal array (or a Python float with no shape)."""
    def build(rng):
        return float(rng.normal()) if not shape else rng.normal(size=shape)
    return build


M = V


def P(*shape, lo=0.5, hi=2.0):
    """Positive values in [lo, hi] (logs, roots, divisions)."""
    def build(rng):
        return float(rng.uniform(lo, hi)) if not shape else rng.uniform(lo, hi, size=shape)
    return build


def U(*shape, lo=-1.0, hi=1.0):
    def build(rng):
        return float(rng.uniform(lo, hi)) if not shape else rng.uniform(lo, hi, size=shape)
    return build


def AWAY(*shape, gap=0.2):
    """Normal values with |x| >= gap (abs, sign, max, where at 0 are kinks)."""
    def build(rng):
        x = rng.normal(size=shape or (1,))
        x = np.where(np.abs(x) < gap, np.sign(x + 1e-300) * (gap + np.abs(x)), x)
        return float(x[0]) if not shape else x
    return build


def DISTINCT(*shape):
    """Values at least 0.1 apart (max, sort, argmax are smooth there)."""
    def build(rng):
        n = int(np.prod(shape))
        x = rng.permutation(n) * 0.37 + rng.uniform(-0.05, 0.05, size=n) - 0.2 * n
        return x.reshape(shape)
    return build


def SPD(n):
    """A well-conditioned symmetric positive-definite matrix."""
    def build(rng):
        a = rng.normal(size=(n, n))
        return a @ a.T / n + np.eye(n)
    return build


def WELL(n):
    """A well-conditioned (diagonally dominant) square matrix."""
    def build(rng):
        return rng.normal(size=(n, n)) * 0.3 + 2.0 * np.eye(n)
    return build


def F32(builder):
    """The builder's array as float32."""
    def build(rng):
        return np.asarray(builder(rng), dtype=np.float32)
    return build


def ZD(builder):
    """The builder's scalar as a 0-d float64 array."""
    def build(rng):
        return np.array(builder(rng), dtype=np.float64)
    return build


def LABELS(n, k):
    """n integer class labels in range(k) (not differentiated)."""
    def build(rng):
        return rng.integers(0, k, size=n)
    return build


def ONEHOT(n, k):
    def build(rng):
        return np.eye(k)[rng.integers(0, k, size=n)]
    return build


def BITS(n):
    def build(rng):
        return (rng.random(n) > 0.5).astype(float)
    return build
