"""Differentiable NumPy code written the way other people write it.

Each module groups one style: factories returning closures (``make_nn_funs``,
``make_gp_funs``), flat parameter vectors unpacked by slicing, linear algebra in
losses, loops and control flow, containers, scalar ``math`` code, shadowed names,
dtypes. The functions are plain Python/NumPy (nothing imports s2sgrad); each is
declared with the arguments to call it with (``_registry.entry``).
tests/test_other_styles.py checks every one against finite differences and autograd.
"""
import importlib
import os
import types

MODULES = ("factories", "flat_params", "linalg_losses", "control_flow", "containers",
           "scalar_math", "shadowing", "numpy_idioms", "dtypes", "everyday",
           "views_keywords", "import_styles", "example_programs")


def load():
    """Every entry of every corpus module, in declaration order, with what is known
    about it (``known.py``)."""
    from . import known

    out = []
    for name in MODULES:
        out.extend(importlib.import_module("." + name, __name__).ENTRIES)
    ids = {e.id for e in out}
    for table in (known.REFUSED, known.DEFECTS, known.NO_AUTOGRAD):
        stale = set(table) - ids
        assert not stale, "known.py names entries that do not exist: %s" % sorted(stale)
    for e in out:
        e.refused = known.REFUSED.get(e.id, e.refused)
        e.xfail = known.DEFECTS.get(e.id, e.xfail)
        e.no_autograd = known.NO_AUTOGRAD.get(e.id, e.no_autograd)
    return out


def load_with(np_module_name, name):
    """The entries of corpus module ``name`` executed again with ``np`` bound to another
    NumPy-like module (``autograd.numpy``): the same source, a fresh namespace."""
    mod = importlib.import_module("." + name, __name__)
    path = mod.__file__
    with open(path) as fh:
        text = fh.read()
    for plain in ("import numpy as np\n", "import numpy.linalg as la\n",
                  "from numpy import ", "from numpy.linalg import "):
        text = text.replace(plain, plain.replace("numpy", np_module_name))
    copy = types.ModuleType(mod.__name__ + "_" + np_module_name.replace(".", "_"))
    copy.__file__ = path
    copy.__package__ = __name__
    exec(compile(text, os.path.abspath(path), "exec"), copy.__dict__)
    return {e.id.rsplit(".", 1)[-1]: e for e in copy.ENTRIES}
