"""A gradient that draws random numbers runs as NumPy code under the Numba back end
(one warning naming the draw; strict=True raises), and `s2sgrad transform --backend
numba` leaves it NumPy code: Numba's generators are its own, so a seed set with
np.random.seed did not reach the compiled code, which drew other numbers than the NumPy
code (a dropout mask, a minibatch index). Checked against the NumPy back end under the
same seed, and against the gradient of the sample that seed draws. Skipped without
Numba."""
import textwrap
import warnings

import numpy as np
import pytest

import s2sgrad
from s2sgrad.backend import numba as numba_backend
from s2sgrad.errors import S2SGradError

from support.numba_cache import numba_cache_dir  # noqa: F401
from support.numba_check import run_written

pytestmark = pytest.mark.skipif(not numba_backend.available(), reason="Numba not installed")

X = np.array([0.3, -0.7, 1.1])


def dropout(x):
    m = np.random.rand(3) > 0.5
    return np.sum(np.sin(x) * m)


def minibatch(w):
    j = np.random.randint(0, 3)
    return np.tanh(w[j]) * w[0]


@pytest.mark.parametrize("f", [dropout, minibatch])
def test_a_seeded_draw_draws_what_numpy_draws(f, numba_cache_dir):
    vg = s2sgrad.value_and_grad(f, backend="numba")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for seed in (0, 1, 2):
            np.random.seed(seed)
            value, g = vg(X)
            np.random.seed(seed)
            want_value, want = s2sgrad.value_and_grad(f)(X)
            np.random.seed(seed)
            assert value == want_value == f(X)
            np.testing.assert_array_equal(g, want)
    msgs = [str(w.message) for w in caught if w.category.__name__ == "NumbaFallbackWarning"]
    assert len(msgs) == 1 and "random draw np.random." in msgs[0], msgs
    with pytest.raises(S2SGradError, match="random draw"):
        s2sgrad.grad(f, backend="numba", strict=True)(X)


def test_the_written_module_leaves_a_drawing_gradient_numpy_code(tmp_path):
    src = tmp_path / "drop.py"
    src.write_text(textwrap.dedent("""
        import numpy as np

        def dropout(x):
            m = np.random.rand(3) > 0.5
            return np.sum(np.sin(x) * m)
    """))
    from s2sgrad.tools.cli import main
    assert main(["transform", str(src), "--backend", "numba", "-o",
                 str(tmp_path / "drop_grad.py")]) == 0
    assert "# grad_dropout stays NumPy code: the random draw np.random.rand()" in \
        (tmp_path / "drop_grad.py").read_text()
    lines = run_written(tmp_path, "drop_grad", """
        np.random.seed(3)
        print(repr(m.grad_dropout(np.array([0.3, -0.7, 1.1])).tolist()))
    """)
    np.random.seed(3)
    mask = np.random.rand(3) > 0.5
    np.testing.assert_allclose(eval(lines[0]), np.cos(X) * mask, rtol=1e-15)
