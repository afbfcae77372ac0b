"""The disk cache of generated modules for Numba.

A module is written once, under a name made from the hash of its text and of the
values bound in it, to the cache directory ($S2SGRAD_CACHE_DIR, else the user's cache
directory): Numba's `cache=True` keeps the machine code beside it (`__pycache__`), keyed
by the file, so a second process finds both. Writes are atomic (a temporary file, then
`os.replace`), so processes and threads sharing the directory only ever read whole
files; two writing the same module write the same bytes.
"""
import hashlib
import importlib.util
import os
import sys
import tempfile

import numpy as np

from .settings import cache_dir


def fingerprint(value):
    """A text that changes when a bound value compiled code freezes changes."""
    if isinstance(value, np.ndarray):
        data = np.ascontiguousarray(value)
        digest = hashlib.sha256(data.view(np.uint8).reshape(-1)).hexdigest() \
            if data.dtype != object else f"object-{id(value)}"
        return f"array {value.dtype} {value.shape} {digest}"
    if isinstance(value, (bool, int, float, complex, str, bytes, np.generic, type(None))):
        return f"{type(value).__name__} {value!r}"
    if isinstance(value, tuple):
        return "(" + ", ".join(fingerprint(v) for v in value) + ")"
    if type(value).__name__ == "module":
        return f"module {value.__name__}"
    module = getattr(value, "__module__", None)
    name = getattr(value, "__qualname__", None)
    if module and name and getattr(sys.modules.get(module), name.split(".")[0], None) \
            is not None and "<locals>" not in name:
        return f"{type(value).__name__} {module}.{name}"
    return f"{type(value).__name__} at {id(value)} in process {os.getpid()}"


def key(text, values, versions):
    """The module's name: a hash of its text, its bound values and the versions."""
    h = hashlib.sha256()
    h.update(versions.encode())
    h.update(text.encode())
    for n in sorted(values):
        h.update(f"\n{n} = {fingerprint(values[n])}".encode())
    return "s2sgrad_" + h.hexdigest()[:24]


def write_atomic(path, text):
    """Write `text` to `path` whole or not at all (a temporary file, then os.replace)."""
    folder = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".py")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def module_path(name):
    folder = cache_dir()
    os.makedirs(folder, exist_ok=True)
    return os.path.join(folder, name + ".py")


def import_module(name, text, values):
    """The module `name` with `text`, its `values` bound before its code runs: written
    to the cache directory unless a file with that text is already there."""
    path = module_path(name)
    try:
        with open(path, encoding="utf-8") as fh:
            current = fh.read()
    except OSError:
        current = None
    if current != text:
        write_atomic(path, text)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    module.__dict__.update(values)
    sys.modules[name] = module     # (Numba's cached code finds its globals by module name)
    spec.loader.exec_module(module)
    return module
