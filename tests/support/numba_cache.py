"""The cache directory of the Numba back end's tests: generated modules go to a
directory of this test run, not the user's cache. A module imports the fixture
(`from support.numba_cache import numba_cache_dir  # noqa: F401`)."""
import os

import pytest


@pytest.fixture(autouse=True, scope="module")
def numba_cache_dir(tmp_path_factory):
    old = os.environ.get("S2SGRAD_CACHE_DIR")
    os.environ["S2SGRAD_CACHE_DIR"] = str(tmp_path_factory.mktemp("numba-cache"))
    yield
    if old is None:
        del os.environ["S2SGRAD_CACHE_DIR"]
    else:
        os.environ["S2SGRAD_CACHE_DIR"] = old
