"""Generated NumPy source → Numba-compiled functions, with a fallback that says why.

The defs one `load` compiled (a gradient and its value twin, with the forward/backward
pairs of the functions they call) are written as one module: NumPy, math, the Numba
versions of the runtime helpers (`helpers.py`) and the defs, each wrapped in
`numba.njit(cache=True)`. The values the defs read by name (the user's constants,
closure values) are bound in that module before anything compiles; Numba freezes them
into the compiled code, so they are part of the module's cache key (`cache.py`).

Numba compiles on the first call with each set of argument types. When it refuses
(an object it cannot type, a helper it has no version of, a variable that is a number
on one path and an array on another), the function runs as the NumPy code from then on,
after one warning naming the construct and the line; `strict=True` raises instead.
"""
import os
import re
import sys
import threading
import warnings

import numba
import numpy as np
from numba.core.errors import NumbaError

from ... import runtime
from ...errors import S2SGradError
from . import cache, helpers, helpers_more, locator  # noqa: F401
from .settings import COMPILED, INTRODUCED
from .rewrite import for_numba, read_only_sequences, source_line

_LOCK = threading.RLock()
_MODULES = {}          # cache key → loaded module (one per process)


class NumbaFallbackWarning(UserWarning):
    """A generated function runs as NumPy code because Numba could not compile it."""


def jit(fn, strict=False):
    """A callable running `fn`'s source compiled by Numba (see the module's doc)."""
    loaded = getattr(fn, "__s2sgrad_loaded__", None)
    if loaded is None:
        raise S2SGradError(f"{fn!r} is not generated code s2sgrad loaded")
    with _LOCK:
        jitted = getattr(fn, "__s2sgrad_numba__", None)
        if jitted is None or jitted.strict != strict:
            jitted = fn.__s2sgrad_numba__ = _build(fn, loaded, strict)
        return jitted


def _build(fn, loaded, strict):
    name = fn.__name__
    refused = unsupported_helpers(loaded.source, loaded.bindings) or \
        random_draws(loaded.source, loaded.bindings)
    if refused:
        return Compiled(fn, None, strict, refused, None)
    text = module_text(loaded.source, loaded.bindings, loaded.shapes)
    mutable = frozen_mutables(loaded, fn.__globals__, text)
    if mutable:
        return Compiled(fn, None, strict, mutable, None)
    try:
        module, path = _module(loaded, fn.__globals__, {name: fn.__defaults__}, text)
    except OSError as exc:               # the cache directory cannot be written
        reason = (f"the cache directory cannot hold the module ({exc}; set "
                  "S2SGRAD_CACHE_DIR to a writable directory)", None, "")
        return Compiled(fn, None, strict, reason, None)
    compiled = Compiled(fn, getattr(module, name), strict, None, path)
    compiled.as_arrays = read_only_sequences(loaded.source, name)
    return compiled


def frozen_mutables(loaded, user_globals, text=None):
    """A reason not to compile: the defs read a global array that can change in place.
    Numba copies a global array's values into the compiled code; the NumPy code reads
    the array as it is at each call, so after `W[0] = 5` the two would differ."""
    text = text if text is not None else module_text(loaded.source, loaded.bindings,
                                                     loaded.shapes)
    values = _bound_values(text, loaded.bindings, user_globals, loaded.source)
    for n, v in sorted(values.items()):
        if isinstance(v, np.ndarray) and v.flags.writeable:
            where = next(((k, ln.strip()) for k, ln in
                          enumerate(loaded.source.splitlines(), 1)
                          if re.search(rf"(?<![\w.]){n}\b", ln.split("#")[0])), (None, ""))
            return (f"the global array {n}, whose values Numba would freeze when it "
                    f"compiles (pass {n} as an argument, or make it read-only: "
                    f"{n}.flags.writeable = False)", *where)
    return None


def unsupported_helpers(source, bindings):
    """The first runtime helper the source calls that has no Numba version, as a
    reason `(construct, line in the source)`, or None."""
    numba_names = set(COMPILED)
    for lineno, line in enumerate(source.splitlines(), 1):
        code = line.split("#", 1)[0]
        for n in re.findall(r"(?<![\w.])([A-Za-z_]\w*)\s*\(", code):
            if n in bindings and runtime.owns(bindings[n]) and n not in numba_names:
                return f"the runtime helper {n}()", lineno, line.strip()
    return None


def random_draws(source, bindings):
    """A reason not to compile: the source draws random numbers (`np.random.rand`,
    `random.gauss`, `randn` imported from numpy.random). Numba's generators are its own:
    a seed the program sets with np.random.seed or random.seed does not reach them, so
    the compiled code would draw other numbers than the NumPy code."""
    for lineno, line in enumerate(source.splitlines(), 1):
        code = line.split("#", 1)[0]
        for m in re.finditer(r"(?<![\w.])((?:np\.)?random\.\w+|[A-Za-z_]\w*)\s*\(", code):
            name = m.group(1)
            if "." not in name and not _draws(bindings.get(name)):
                continue
            return (f"the random draw {name}() (Numba's generator is not NumPy's: a seed "
                    f"set with np.random.seed would not reach it)", lineno, line.strip())
    return None


def _draws(value):
    """Is `value` a function of numpy.random or random, or a method of a generator?"""
    import random
    owner = getattr(value, "__self__", None)
    if isinstance(owner, (np.random.RandomState, np.random.Generator, random.Random)):
        return True
    return callable(value) and (getattr(value, "__module__", None) or "").split(".")[
        :2] in (["numpy", "random"], ["random"])


# ------------------------------------------------------------------ the module

HEADER = """\
# Generated by s2sgrad for its Numba back end: the NumPy source, compiled with numba.njit.
import math

import numba
import numpy as np

"""


def module_text(source, bindings, shapes=None):
    """The module's text: the header, then the defs as generated (what Numba lacks
    rewritten line for line, and elementwise runs of known shapes written as loops,
    see `rewrite.py`; `rewrite.source_line` maps a line back to the NumPy code)."""
    source = for_numba(source, shapes)
    return HEADER + source


def _module(loaded, user_globals, defaults, text):
    """The module of these defs (`text`) compiled by Numba (from this process's cache,
    else written to / read from the disk cache) and its path."""
    values = _bound_values(text, loaded.bindings, user_globals, loaded.source)
    key = cache.key(text, values, _versions())
    with _LOCK:
        module = _MODULES.get(key)
        if module is None:
            module = cache.import_module(key, text, values)
            _wrap(module, loaded.source)
            _MODULES[key] = module
    for name, d in defaults.items():
        fn = getattr(module, name)
        if d is not None and fn.py_func.__defaults__ != d:
            fn.py_func.__defaults__ = d
    return module, module.__file__


def _bound_values(source, bindings, user_globals, numpy_source=None):
    """The names the defs read as globals that the module must bind: the load's
    bindings, else the user's globals (the NumPy code runs in them), except the runtime
    helpers (the module imports their Numba versions), np, math and the defs. A helper
    the rewriting introduced (`INTRODUCED`) that the NumPy code (`numpy_source`) does
    not read is the helper, whatever the user's globals call by that name."""
    code = compile(source, "<numba>", "exec")
    original = _names_in(numpy_source) if numpy_source is not None else set()
    defined = set(re.findall(r"^def (\w+)\(", source, re.M))   # (defaults: read at the def)
    read, todo = set(), [code]
    while todo:
        c = todo.pop()
        read.update(c.co_names)
        todo.extend(k for k in c.co_consts if hasattr(k, "co_names"))
    out, pool = {}, runtime.helpers()
    for n in sorted(read - defined):
        if n in ("np", "math", "numba"):
            continue
        if n in INTRODUCED and numpy_source is not None and n not in original:
            v = getattr(helpers, n)
        elif n in bindings:
            v = bindings[n]
        elif n in user_globals:
            v = user_globals[n]
        elif n in pool and n in COMPILED:
            v = pool[n]                  # a helper the rewriting for Numba introduced
        elif n in INTRODUCED:
            v = getattr(helpers, n)      # (written by the rewriting: helpers.py)
        else:
            continue                     # a builtin, or an attribute name
        out[n] = v
    return out


def _names_in(source):
    """Every name the code `source` reads as a global or a local."""
    code, out = [compile(source, "<numba>", "exec")], set()
    while code:
        c = code.pop()
        out.update(c.co_names + c.co_varnames)
        code.extend(k for k in c.co_consts if hasattr(k, "co_names"))
    return out


def _wrap(module, source):
    """Each def of the module replaced by its `numba.njit(cache=True)` dispatcher
    (before anything compiles, so that calls between them are compiled calls)."""
    names = re.findall(r"^def (\w+)\(", source, re.M)
    for n in names:
        py = getattr(module, n)
        setattr(module, n, numba.njit(cache=True)(py))


_VERSIONS = None


def _versions():
    """What else compiled code depends on: Python's, NumPy's and Numba's versions and
    the helpers' source."""
    global _VERSIONS
    if _VERSIONS is None:               # (both helper files' text: locator.stamp)
        _VERSIONS = f"{sys.version_info[:3]} numpy {np.__version__} numba " \
                    f"{numba.__version__} helpers {locator.stamp()[:16]}"
    return _VERSIONS


# ------------------------------------------------------------------ running it

_WARNED = set()


class Compiled:
    """The callable `jit` returns: the Numba function while it compiles, the NumPy
    function (`python`) once Numba has refused it (`reason`)."""

    as_arrays = ()         # positions of arguments read only by len and [i] (rewrite.py)

    def __init__(self, python, dispatcher, strict, reason, path):
        self.python = python
        self.dispatcher = dispatcher
        self.strict = strict
        self.reason = reason
        self.path = path
        self.__name__ = python.__name__
        self.__doc__ = python.__doc__
        if reason is not None:
            self._refuse()

    @property
    def compiled(self):
        """Is this running compiled code (or has Numba refused it)?"""
        return self.reason is None

    def signatures(self):
        """The argument types Numba has compiled the function for."""
        return list(self.dispatcher.signatures) if self.dispatcher is not None else []

    def __call__(self, *args, **kwargs):
        if self.strict and self.reason is not None:
            self._refuse()                      # (raises: every call, not only the first)
        if self.reason is None:
            try:
                if self.as_arrays:
                    return self.dispatcher(*_as_arrays(args, self.as_arrays), **kwargs)
                return self.dispatcher(*args, **kwargs)
            except (NumbaError, ImportError) as exc:   # (ImportError: no SciPy for BLAS)
                self.reason = _reason(exc, self.path)
                self._refuse()
            except Exception as exc:
                first = next((ln.strip() for ln in str(exc).splitlines() if ln.strip()), "")
                if not self._failed_compiling(args, kwargs):
                    # the compiled code raised: as NumPy would, or in a NumPy function
                    # Numba implements for fewer arguments (np.linalg.norm(a, 'fro'))
                    out = self.python(*args, **kwargs)       # (raises NumPy's error)
                    self.reason = (f"Numba's version raised {type(exc).__name__} "
                                   f"({first[:200]}) where NumPy's does not", None, "")
                    self._refuse()
                    return out
                self.reason = (f"Numba failed while compiling it ({type(exc).__name__}: "
                               f"{first[:200]})", None, "")
                self._refuse()
        return self.python(*args, **kwargs)

    def _failed_compiling(self, args, kwargs):
        """Did the call that raised fail to compile (no machine code for these argument
        types), rather than run compiled code that raised? (An error of Numba itself,
        such as LLVM refusing what it generated, is not a NumbaError.)"""
        if kwargs:
            return False
        try:
            sig = tuple(self.dispatcher.typeof_pyval(a) for a in args)
        except Exception:
            return False
        return not any(s[:len(sig)] == sig for s in self.dispatcher.overloads)

    def message(self):
        construct, line, text = self.reason
        where = f" at line {line} of the generated code: `{text}`" if line else ""
        user = _user_line(self.python, line)
        user = f" (from line {user} of your code)" if user else ""
        return (f"Numba cannot compile {self.__name__}: {construct}{where}{user}; "
                "it runs as NumPy code")

    def _refuse(self):
        msg = self.message()
        if self.strict:
            raise S2SGradError(msg + ' (backend="numba", strict=True)'.replace(
                "; it runs as NumPy code", ""))
        key = (self.python.__code__.co_filename, self.__name__)
        if key not in _WARNED:
            _WARNED.add(key)
            warnings.warn(msg, NumbaFallbackWarning, stacklevel=4)


def _as_arrays(args, positions):
    """The arguments with the lists and tuples of numbers at `positions` made arrays
    (the compiled code reads them only by len and [i]: the same values)."""
    args = list(args)
    for i in positions:
        if i < len(args) and type(args[i]) in (list, tuple) and args[i]:
            try:
                a = np.array(args[i])
            except ValueError:              # (ragged)
                continue
            if a.ndim == 1 and a.dtype.kind in "biuf":
                args[i] = a
    return args


def _reason(exc, path):
    """(construct, line, line's text) from a Numba error's message."""
    text = str(exc)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    skip = ("Failed in ", "During: ", "File ", "<source ", "^", "- ", "Raised from",
            "No implementation of function", "There are ")
    construct = next((ln for ln in lines if not ln.startswith(skip)),
                     lines[0] if lines else type(exc).__name__)
    m = re.search(r"No implementation of function Function\(<?(?:built-in )?"
                  r"(?:function )?([\w.]+)", text)
    if m:
        construct = f"no Numba version of {m.group(1)}() for these argument types"
    m = re.search(r"Untyped global name '(\w+)'", text)
    if m:
        construct = f"the name {m.group(1)} (Numba cannot use this value in compiled code)"
    m = re.search(r"Cannot unify (.+?) for '(\w+)", text)
    if m:
        construct = f"{m.group(2).split('.')[0]} is {m.group(1).replace(' and ', ' on one path and ', 1)} on another"
    found = re.findall(r'File "([^"]+)", line (\d+)', text)
    line, code = None, ""
    for file, num in reversed(found):
        if path and os.path.abspath(file) == os.path.abspath(path):
            line = int(num)
            with open(path, encoding="utf-8") as fh:
                all_lines = fh.read().splitlines()
            code = all_lines[line - 1].strip() if line <= len(all_lines) else ""
            skip = HEADER.count("\n")           # the line of the generated source:
            line = source_line(line - skip, "\n".join(all_lines[skip:]))
            break
    return construct[:300], line, code


def _user_line(fn, line):
    """The line of the user's code a generated line differentiates (the nearest
    `# grad of: ... (line N)` comment above it), or None."""
    loaded = getattr(fn, "__s2sgrad_loaded__", None)
    if not line or loaded is None:
        return None
    src = loaded.source.splitlines()[:line]
    for ln in reversed(src):
        m = re.search(r"\(line (\d+)\)\s*$", ln)
        if m:
            return int(m.group(1))
    return None
