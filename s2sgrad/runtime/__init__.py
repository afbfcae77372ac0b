"""Runtime helpers that generated code calls.

Each helper is self-contained (it uses only `numpy as np`, `math` and other helpers
of this package), so that `s2sgrad transform` can copy the ones a module needs into
the module it writes. A zero adjoint is represented by the float `0.0` until
something concrete arrives; helpers accept it wherever an adjoint may still be zero.
"""
from .core import *            # noqa: F401,F403
from .tangent import *         # noqa: F401,F403
from .linalg import *          # noqa: F401,F403
from .arrays import *          # noqa: F401,F403
from .series import *          # noqa: F401,F403
from .products import *        # noqa: F401,F403
from .decompositions import *  # noqa: F401,F403
from .special import *         # noqa: F401,F403
from .scipy_ import *          # noqa: F401,F403
from .checkpoint import *      # noqa: F401,F403
from .batched import *         # noqa: F401,F403
from . import core, tangent, linalg, arrays, series, products, decompositions, special
from . import scipy_, checkpoint, batched

#: The helper families, in the order `s2sgrad transform` copies their helpers.
FAMILIES = (core, tangent, linalg, arrays, series, products, decompositions, special,
            scipy_, checkpoint, batched)


def owns(obj):
    """Is `obj` one of the runtime's helpers (a function or class of a family)?"""
    return any(getattr(obj, "__module__", None) == f.__name__ for f in FAMILIES)


def helpers():
    """{name: object} that generated code may reference by a bare name: every public name
    of the families (the helpers, and the `np`, `math` and `GradientError` they use)."""
    return {n: v for family in FAMILIES for n, v in vars(family).items()
            if not n.startswith("_")}
