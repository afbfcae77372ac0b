"""The Numba versions of the runtime helpers are compiled once and kept in s2sgrad's
cache directory, stamped with both helper files (`backend/numba/locator.py`): a second
gradient loads them instead of compiling them again."""
import os
import subprocess
import sys
import textwrap

import pytest

numba = pytest.importorskip("numba")

from s2sgrad.backend.numba import locator  # noqa: E402
from s2sgrad.backend.numba import helpers  # noqa: E402


def _an_implementation():
    return helpers.exp_number                # (a function of helpers.py)


def test_the_helpers_are_located_in_the_cache_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("S2SGRAD_CACHE_DIR", str(tmp_path))
    here = locator.HelperLocator.from_function(helpers.exp_number, helpers.__file__)
    assert here.get_cache_path() == os.path.join(str(tmp_path), "helpers")
    assert os.path.isdir(here.get_cache_path())
    assert here.get_source_stamp() == locator.stamp()
    # a function of another file: Numba's own locators
    assert locator.HelperLocator.from_function(_an_implementation, __file__) is None
    assert locator.HelperLocator in (getattr(numba.core.caching, "CacheImpl", None) or
                                     numba.core.caching._CacheImpl)._locator_classes


def test_an_unwritable_directory_gives_a_directory_of_the_process(tmp_path, monkeypatch):
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    monkeypatch.setenv("S2SGRAD_CACHE_DIR", str(blocked))
    here = locator.HelperLocator.from_function(helpers.exp_number, helpers.__file__)
    assert here.get_cache_path() == locator._private_dir()
    assert here.get_source_stamp() == locator.stamp()


def test_the_stamp_changes_with_either_helper_file(tmp_path, monkeypatch):
    a, b = tmp_path / "helpers.py", tmp_path / "helpers_more.py"
    a.write_text("one")
    b.write_text("two")
    monkeypatch.setattr(locator, "FILES", (str(a), str(b)))
    monkeypatch.setattr(locator, "_STAMP", None)
    first = locator.stamp()
    monkeypatch.setattr(locator, "_STAMP", None)
    b.write_text("two, changed")
    assert locator.stamp() != first
    monkeypatch.setattr(locator, "_STAMP", None)
    a.write_text("one, changed")
    b.write_text("two")
    assert locator.stamp() != first


SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    import s2sgrad

    def f(x):
        return np.sum(np.exp(x * {k}) * np.tanh(x) + x ** 2)

    x = np.linspace(-1.0, 1.0, 7)
    g = s2sgrad.grad(f, backend="numba", strict=True)(x)
    want = np.exp(x * {k}) * ({k} * np.tanh(x) + 1 - np.tanh(x) ** 2) + 2 * x
    assert np.allclose(g, want, rtol=1e-12, atol=0), (g, want)
""")


def test_a_second_gradient_loads_the_compiled_helpers(tmp_path):
    env = dict(os.environ, S2SGRAD_CACHE_DIR=str(tmp_path), NUMBA_DEBUG_CACHE="1")

    def run(k):
        script = tmp_path / f"grad_{int(k * 10)}.py"
        script.write_text(SCRIPT.format(k=k))
        done = subprocess.run([sys.executable, str(script)], env=env,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout + done.stderr

    first = run(0.5)
    helper_dir = os.path.join(str(tmp_path), "helpers")
    assert any(n.endswith(".nbi") for n in os.listdir(helper_dir))
    assert "data saved to '" + helper_dir in first
    second = run(1.5)                         # another function, another module
    loaded = [ln for ln in second.splitlines() if "data loaded from '" + helper_dir in ln]
    saved = [ln for ln in second.splitlines() if "data saved to '" + helper_dir in ln]
    assert loaded and not saved
