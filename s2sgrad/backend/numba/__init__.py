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
from .settings import COMPILED, MARKER, cache_dir  # noqa: F401

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
    """The back end's name, checked (and, for Numba, its installation); None means
    $S2SGRAD_BACKEND, else "numpy"."""
    if backend is None:
        backend = os.environ.get("S2SGRAD_BACKEND") or "numpy"
    if backend not in BACKENDS:
        raise S2SGradError(f"backend must be one of {', '.join(map(repr, BACKENDS))}, "
                           f"not {backend!r}")
    if backend == "numba":
        require()
    return backend


def jit(fn, strict=False):
    """`fn` (a loaded generated function) compiled by Numba, falling back to `fn`."""
    from .compile import jit as _jit
    from . import helpers_more  # noqa: F401  (registers the other helpers' versions)
    return _jit(fn, strict)


# ------------------------------------------------------- modules s2sgrad transform writes

def numba_source(source):
    """Generated source as the written module holds it for Numba (`rewrite.py`)."""
    from .rewrite import for_numba
    return for_numba(source)


def written_helpers(defined_text):
    """The Numba versions of the helpers a written module copies (after the NumPy
    helpers, which `defined_text` holds): the parts of `helpers.py` and
    `helpers_more.py` below their marker lines, without the overloads of helpers the
    module does not define."""
    import ast
    body = _below_marker("helpers.py") + \
        _below_marker("helpers_more.py").split("\n", 1)[1]
    lines = body.splitlines(True)
    kept = []
    for node in ast.parse(body).body:
        target = [d.args[0].id for d in getattr(node, "decorator_list", ())
                  if isinstance(d, ast.Call) and getattr(d.func, "id", "") == "overload"
                  and isinstance(d.args[0], ast.Name)]
        if target and not target[0].startswith("_") and \
                f"def {target[0]}(" not in defined_text + body:
            continue
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", ())])
        kept.append("".join(lines[start - 1:node.end_lineno]))
    head = lines[0]
    return head + "".join(k if k.startswith(("from", "import")) else "\n\n" + k
                          for k in kept).lstrip("\n") + "\n"


def _below_marker(name):
    """The part of the file `name` of this package below its marker line."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), name)
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    return text[text.index(MARKER):].replace("  # noqa: E402", "")


FALLBACK = '''def _numba_or_numpy(fn):
    """`fn` compiled by Numba; if Numba cannot compile it, it runs as NumPy code (one
    warning says why)."""
    import functools
    import warnings
    compiled = numba.njit(cache=True)(fn)
    refused = []

    @functools.wraps(fn)
    def call(*args, **kwargs):
        if not refused:
            try:
                return compiled(*args, **kwargs)
            except numba.core.errors.NumbaError as exc:
                first = [ln for ln in str(exc).splitlines() if ln.strip()][1:2]
                refused.append(exc)
                warnings.warn(f"Numba cannot compile {fn.__name__} ({' '.join(first)}); "
                              "it runs as NumPy code", stacklevel=2)
            except Exception as exc:
                # as NumPy would (NumPy's code raises it again), or where Numba's version
                # of a NumPy function takes fewer arguments (np.linalg.norm(a, 'fro'))
                out = fn(*args, **kwargs)
                refused.append(exc)
                warnings.warn(f"Numba's {fn.__name__} raised {type(exc).__name__} ({exc}) "
                              "where NumPy's does not; it runs as NumPy code", stacklevel=2)
                return out
        return fn(*args, **kwargs)
    call.compiled = compiled
    return call
'''


def written_trailer(pieces, public, bindings):
    """The end of a written module: each def compiled with `numba.njit(cache=True)`, the
    public ones through a fallback to the NumPy code; a def calling a helper without a
    Numba version, or drawing random numbers (`compile.random_draws`), stays NumPy code,
    with a comment saying why."""
    import re
    from ... import runtime
    from .compile import random_draws
    lines = [FALLBACK, ""]
    names = [re.match(r"def (\w+)\(", p).group(1) for p in pieces]
    for name, piece in zip(names, pieces):
        helper = next((n for n in re.findall(r"(?<![\w.])([A-Za-z_]\w*)\s*\(", piece)
                       if n in bindings and runtime.owns(bindings[n]) and n not in COMPILED),
                      None)
        draw = random_draws(piece, bindings)
        if helper:
            lines.append(f"# {name} stays NumPy code: Numba has no version of the runtime "
                         f"helper {helper}()")
        elif draw:
            lines.append(f"# {name} stays NumPy code: {draw[0]}")
        elif name in public:
            lines.append(f"{name} = _numba_or_numpy({name})")
        else:
            lines.append(f"{name} = numba.njit(cache=True)({name})")
    return "\n".join(lines) + "\n"
