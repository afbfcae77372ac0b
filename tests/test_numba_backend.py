"""The Numba back end (`backend="numba"`): the same numbers as the NumPy back end, a
fallback that says why, and a disk cache that a second process reads.

The oracle is centered finite differences in float64 for the workloads, and the NumPy
back end (itself checked against finite differences by the other test files) for the
corpus slice, the fuzz slice and the samples: the two back ends run the same source, so
they must agree to 1e-12 (float32 arguments: to float32 precision, in float32).

Numba compiles slowly (seconds per function), so these tests run slices, chosen to
cover what the back end does differently: scalar loops (`scalar_math` and
every third of `control_flow`, from tests/other_styles), 5 fuzz programs, 2 samples, 3
workloads: about 2 minutes of CPU. Skipped without Numba, except the test of the message that
says how to install it.
"""
import os
import subprocess
import sys
import textwrap
import threading
import warnings

import numpy as np
import pytest

import s2sgrad
from s2sgrad.backend import numba as numba_backend
from s2sgrad.errors import S2SGradError

from support.numba_cache import numba_cache_dir  # noqa: F401
from support.numba_check import run_written
from support.numeric import numerical_grad

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
needs_numba = pytest.mark.skipif(not numba_backend.available(), reason="Numba not installed")


def test_without_numba_the_error_says_how_to_install(monkeypatch):
    monkeypatch.setattr(numba_backend, "available", lambda: False)
    with pytest.raises(S2SGradError, match=r"pip install s2sgrad\[numba\]"):
        s2sgrad.grad(lambda x: x * x, backend="numba")
    with pytest.raises(S2SGradError, match="backend must be one of"):
        s2sgrad.grad(lambda x: x * x, backend="cuda")


# ---------------------------------------------------------------- the workloads

def chain(x):
    y = x
    for _ in range(3):
        a = np.sin(y) * x
        y = y + np.tanh(a)
        y = y * np.cos(np.log1p(y * y))
    return np.sum(y)


def scalar_loop(x1, x2):
    loss = 0.0
    for i in range(60):
        a = (x1 + 0.01 * i) / x2
        e = np.exp(x2)
        loss = loss + (np.sin(a) + a - e) * (a - e)
    return loss


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def _compiled_entry(g):
    """The Numba callable the last call of `g` ran."""
    (entry,) = [e for e in g._by_kinds.values()]
    return entry[1]


WORKLOADS = [
    (chain, (np.linspace(0.1, 0.9, 9),), 0),
    (scalar_loop, (1.5, 0.5), (0, 1)),
    (rosenbrock, (np.linspace(-1.2, 1.3, 11),), 0),
]


@needs_numba
@pytest.mark.parametrize("func,args,wrt", WORKLOADS, ids=lambda v: getattr(v, "__name__", ""))
def test_workloads_compile_and_match_finite_differences(func, args, wrt):
    g = s2sgrad.grad(func, wrt=wrt, backend="numba", strict=True)
    got = g(*args)
    assert _compiled_entry(g).compiled
    indices = wrt if isinstance(wrt, tuple) else (wrt,)
    expected = numerical_grad(func, args, wrt)
    expected = expected if isinstance(wrt, tuple) else (expected,)
    got_t = got if isinstance(wrt, tuple) else (got,)
    for i, a, b in zip(indices, got_t, expected):
        assert type(a) is type(np.asarray(args[i]) if isinstance(args[i], np.ndarray)
                               else args[i])
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-8)
    same = s2sgrad.grad(func, wrt=wrt)(*args)
    same = same if isinstance(wrt, tuple) else (same,)
    for a, b in zip(got_t, same):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=0)


@needs_numba
def test_float32_stays_float32():
    x = np.linspace(-1.2, 1.3, 11).astype(np.float32)
    got = s2sgrad.grad(rosenbrock, backend="numba", strict=True)(x)
    want = s2sgrad.grad(rosenbrock)(x)
    assert got.dtype == np.float32 == want.dtype
    # float32 rounding: Numba may keep float64 intermediates where NumPy rounds to float32
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6 * np.max(np.abs(want)))
    np.testing.assert_allclose(got, numerical_grad(rosenbrock, (x.astype(float),)),
                               rtol=1e-4)


@needs_numba
def test_value_and_grad_vjp_jvp_hvp():
    def f(x, w):
        return np.sum(np.sin(x * w) * x)
    x, w = np.linspace(0.2, 1.0, 5), np.linspace(1.0, 2.0, 5)
    v = np.linspace(-1.0, 1.0, 5)
    val, (gx, gw) = s2sgrad.value_and_grad(f, wrt=(0, 1), backend="numba", strict=True)(x, w)
    assert val == pytest.approx(f(x, w), rel=1e-12)
    np.testing.assert_allclose(gx, numerical_grad(f, (x, w), 0), rtol=1e-6)
    np.testing.assert_allclose(gw, numerical_grad(f, (x, w), 1), rtol=1e-6)

    def g(x):
        return np.sin(x) * x
    value, pull = s2sgrad.vjp(g, backend="numba", strict=True)(x)
    np.testing.assert_allclose(value, g(x), rtol=1e-12)
    np.testing.assert_allclose(pull(v), v * (np.cos(x) * x + np.sin(x)), rtol=1e-12)
    value, tangent = s2sgrad.jvp(g, backend="numba", strict=True)((x,), (v,))
    np.testing.assert_allclose(tangent, v * (np.cos(x) * x + np.sin(x)), rtol=1e-12)
    def h(x):
        return np.sum(np.sin(x) * x)
    hv = s2sgrad.hvp(h, backend="numba", strict=True)(x, v)
    np.testing.assert_allclose(hv, v * (2 * np.cos(x) - x * np.sin(x)), rtol=1e-12)


@needs_numba
def test_show_says_what_is_compiled(capsys):
    g = s2sgrad.grad(rosenbrock, backend="numba")
    g(np.linspace(-1.0, 1.0, 5))
    g.show()
    out = capsys.readouterr().out
    assert out.startswith("# backend numba: compiled with numba.njit(cache=True)")
    assert "def grad_rosenbrock(x" in out


# ---------------------------------------------------------------- the fallback

def uses_einsum(A):
    B = A * 2.0
    return np.einsum("ij,ij->", B, A)


@needs_numba
def test_fallback_warns_once_naming_the_construct_and_line():
    A = np.arange(6.0).reshape(2, 3) / 7.0
    g = s2sgrad.grad(uses_einsum, backend="numba")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = g(A)
        second = g(A)
    msgs = [str(w.message) for w in caught
            if w.category.__name__ == "NumbaFallbackWarning"]
    assert len(msgs) == 1, msgs
    line = uses_einsum.__code__.co_firstlineno + 2
    # (the adjoint is an einsum, `optimize.kinds` spells `einsum_grad` out)
    assert "einsum" in msgs[0] and f"line {line} of your code" in msgs[0], msgs[0]
    expected = numerical_grad(uses_einsum, (A,))
    np.testing.assert_allclose(first, expected, rtol=1e-6)
    np.testing.assert_allclose(second, expected, rtol=1e-6)
    strict = s2sgrad.grad(uses_einsum, backend="numba", strict=True)
    for _ in range(2):                   # every call raises, not only the first
        with pytest.raises(S2SGradError, match=r"einsum.*strict=True"):
            strict(A)


def branch_types(x, n):
    y = 0.0
    for i in range(n):
        y = y + np.sin(x) if i % 2 else y + 1.0
    return np.sum(y)


@needs_numba
def test_what_numba_rejects_while_compiling_falls_back_with_its_reason():
    x = np.linspace(0.1, 0.5, 4)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = s2sgrad.grad(branch_types, backend="numba")(x, 3)
    msgs = [str(w.message) for w in caught
            if w.category.__name__ == "NumbaFallbackWarning"]
    assert all("runs as NumPy code" in m for m in msgs)
    np.testing.assert_allclose(got, numerical_grad(branch_types, (x, 3), 0), rtol=1e-6)


# ---------------------------------------------------------------- the disk cache

PROGRAM = textwrap.dedent("""
    import numpy as np, s2sgrad

    def loss(x):
        return np.sum(np.tanh(x * 1.5) * x + x ** 3)

    x = np.linspace(-1.0, 1.0, 6)
    g = s2sgrad.grad(loss, backend="numba", strict=True)
    got = g(x)
    fn = list(g._by_kinds.values())[0][1].dispatcher
    print("hits", sum(fn.stats.cache_hits.values()), "misses",
          sum(fn.stats.cache_misses.values()))
    print(repr(got.tolist()))
""")


def _run(program, cache, tmp_path):
    path = tmp_path / "program.py"     # (one file: its name is in the generated code)
    if not path.exists():
        path.write_text(program)
    env = dict(os.environ, S2SGRAD_CACHE_DIR=str(cache),
               PYTHONPATH=os.pathsep.join([ROOT, HERE]))
    return subprocess.Popen([sys.executable, str(path)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@needs_numba
def test_a_second_process_reads_compiled_code_from_the_cache(tmp_path):
    cache = tmp_path / "cache"
    cold = [_run(PROGRAM, cache, tmp_path) for _ in range(2)]   # two at once
    outs = [p.communicate(timeout=600) for p in cold]
    for p, (out, err) in zip(cold, outs):
        assert p.returncode == 0, err
    warm = _run(PROGRAM, cache, tmp_path)
    out, err = warm.communicate(timeout=600)
    assert warm.returncode == 0, err
    assert out.splitlines()[0] == "hits 1 misses 0", out
    x = np.linspace(-1.0, 1.0, 6)
    t = np.tanh(1.5 * x)
    expected = repr((t + 1.5 * x * (1 - t * t) + 3 * x ** 2).tolist())
    got = [eval(o.splitlines()[1]) for o, _ in outs] + [eval(out.splitlines()[1])]
    for g in got:
        np.testing.assert_allclose(g, eval(expected), rtol=1e-12)
    modules = [f for f in os.listdir(cache) if f.endswith(".py")]
    assert len(modules) == 1 and not [f for f in os.listdir(cache) if f.startswith(".tmp")]


def threaded(x):
    return np.sum(np.cos(x) * x * x)


@needs_numba
def test_threads_compiling_at_once_agree():
    x = np.linspace(-1.0, 1.0, 7)
    g = s2sgrad.grad(threaded, backend="numba", strict=True)
    results, errors = [None] * 4, []

    def work(k):
        try:
            results[k] = g(x)
        except Exception as exc:          # pragma: no cover - reported below
            errors.append(exc)
    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    want = -np.sin(x) * x * x + 2 * x * np.cos(x)
    for r in results:
        np.testing.assert_allclose(r, want, rtol=1e-12)


# ------------------------------------------------ the corpus, fuzz and sample slices

def _corpus_slice():
    import other_styles
    entries = [e for e in other_styles.load() if not e.refused and not e.xfail]
    scalar = [e for e in entries if e.module.endswith("scalar_math")]
    loops = [e for e in entries if e.module.endswith("control_flow")]
    return scalar + loops[::3]          # (every third: Numba compiles a loop in seconds)


def _as_tuple(g):
    return g if isinstance(g, tuple) else (g,)


def _same(a, b, rtol):
    if isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b)
        for p, q in zip(a, b):
            _same(p, q, rtol)
    elif isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            _same(a[k], b[k], rtol)
    else:
        assert type(a) is type(b), (type(a), type(b))
        if isinstance(a, np.ndarray):
            assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-300)


@needs_numba
@pytest.mark.parametrize("entry", [pytest.param(e, id=e.id) for e in _corpus_slice()]
                         if numba_backend.available() else [])
def test_corpus_slice_same_numbers_as_numpy(entry):
    args = entry.args()
    wrt = entry.float_args(args)
    want = _as_tuple(s2sgrad.grad(entry.func, wrt=wrt)(*entry.args()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = _as_tuple(s2sgrad.grad(entry.func, wrt=wrt, backend="numba")(*args))
    _same(got, want, 1e-5 if entry.is_float32(args) else 1e-12)


@needs_numba
def test_fuzz_slice_same_numbers_as_numpy(tmp_path):
    from hypothesis import HealthCheck, Phase, given, settings
    from support.fuzz_programs import copy_args, load_module, programs
    counter = iter(range(10 ** 6))

    @settings(max_examples=5, derandomize=True, deadline=None, database=None,
              phases=(Phase.generate,), suppress_health_check=list(HealthCheck))
    @given(programs())
    def check(program):
        name = f"numba_fuzz_{next(counter)}_{program.digest()}"
        path = tmp_path / f"{name}.py"
        path.write_text(program.source)
        main = load_module(str(path), name).main
        with np.errstate(all="ignore"):
            want = s2sgrad.value_and_grad(main, wrt=(0, 1))(*copy_args(program.args))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                got = s2sgrad.value_and_grad(main, wrt=(0, 1), backend="numba")(
                    *copy_args(program.args))
        if not all(np.all(np.isfinite(v)) for v in (want[0], *want[1])):
            return
        _same(float(got[0]), float(want[0]), 1e-12)
        _same(tuple(got[1]), tuple(want[1]), 1e-12)
    check()


SAMPLES = ["griewank.py", "ratio.py"]


@needs_numba
@pytest.mark.parametrize("name", SAMPLES)
def test_sample_prints_the_same_under_numba(name):
    """The sample run with S2SGRAD_BACKEND=numba prints what it prints with NumPy (the
    generated code shown gains one line saying what is compiled)."""
    outs = []
    for backend in ("numpy", "numba"):
        env = dict(os.environ, S2SGRAD_BACKEND=backend, PYTHONPATH=ROOT,
                   PYTHONWARNINGS="ignore")
        done = subprocess.run([sys.executable, os.path.join(ROOT, "samples", name)],
                              env=env, capture_output=True, text=True, timeout=600,
                              cwd=os.path.join(ROOT, "samples"))
        assert done.returncode == 0, done.stderr
        outs.append([ln for ln in done.stdout.splitlines()
                     if not ln.startswith("# backend numba")])
    assert outs[0] == outs[1]


# ---------------------------------------------------------------- s2sgrad transform

@needs_numba
def test_transform_writes_a_module_compiled_with_numba(tmp_path):
    src = tmp_path / "model.py"
    src.write_text(textwrap.dedent("""
        import numpy as np

        def rosen(x):
            return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

        def loop(x1, x2):
            loss = 0.0
            for i in range(30):
                a = (x1 + 0.01 * i) / x2
                loss = loss + np.sin(a) * a
            return loss
    """))
    from s2sgrad.tools.cli import main
    assert main(["transform", str(src), "--backend", "numba", "-o",
                 str(tmp_path / "model_grad.py")]) == 0
    lines = run_written(tmp_path, "model_grad", """
        x = np.linspace(-1.0, 1.0, 7)
        print(repr(m.grad_rosen(x).tolist()))
        print(repr(m.grad_loop(1.5, 0.5)))
        print(len(m.grad_rosen.compiled.signatures), len(m.grad_loop.compiled.signatures))
    """)
    assert lines[2] == "1 1"
    ns = {}
    exec(compile(src.read_text(), str(src), "exec"), ns)
    x = np.linspace(-1.0, 1.0, 7)
    np.testing.assert_allclose(eval(lines[0]), numerical_grad(ns["rosen"], (x,)), rtol=1e-6)
    np.testing.assert_allclose(eval(lines[1]), numerical_grad(ns["loop"], (1.5, 0.5), 0),
                               rtol=1e-6)


WEIGHTS = np.array([1.0, 2.0, 3.0])


def weighted(x):
    return np.sum(WEIGHTS * np.sin(x))


@needs_numba
def test_a_global_array_that_can_change_is_not_frozen_into_compiled_code():
    x = np.array([0.1, 0.2, 0.3])
    g = s2sgrad.grad(weighted, backend="numba")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = g(x)
        WEIGHTS[0] = 5.0
        try:
            second = g(x)
        finally:
            WEIGHTS[0] = 1.0
    assert any("global array WEIGHTS" in str(w.message) for w in caught)
    np.testing.assert_allclose(first, np.array([1.0, 2.0, 3.0]) * np.cos(x), rtol=1e-12)
    np.testing.assert_allclose(second, np.array([5.0, 2.0, 3.0]) * np.cos(x), rtol=1e-12)


def test_reversed_ranges_are_rewritten_to_the_same_numbers():
    """Numba has no `reversed(range(...))`: the rewrite counts down over the same numbers
    (checked against Python's reversed, every sign of start, stop and step)."""
    import itertools
    from s2sgrad.backend.numba.rewrite import numba_source
    for a, b, s in itertools.product(range(-3, 4), range(-3, 4), (-3, -2, -1, 1, 2, 3)):
        for text, want in [(f"reversed(range({a}, {b}, {s}))", range(a, b, s)),
                           (f"reversed(range({a}, {b}))", range(a, b)),
                           (f"reversed(range({b}))", range(b))]:
            rewritten = numba_source(text)
            assert "reversed" not in rewritten
            assert list(eval(rewritten)) == list(reversed(want)), text


SCALE = 1.5


def scaled_sin(p, c=SCALE):
    return np.sum(np.sin(p) * c)


def calls_with_default(x):
    return scaled_sin(x) * 2.0


@needs_numba
def test_a_called_function_with_a_default_compiles():
    """The callee's generated pair reads its default by a name bound beside it."""
    x = np.linspace(0.1, 1.0, 4)
    got = s2sgrad.grad(calls_with_default, backend="numba", strict=True)(x)
    np.testing.assert_allclose(got, 3.0 * np.cos(x), rtol=1e-12)


def unwritable(x):
    return np.sum(np.cos(x) * x)


@needs_numba
def test_an_unwritable_cache_directory_falls_back_with_its_reason(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("S2SGRAD_CACHE_DIR", str(blocker / "cache"))
    x = np.linspace(0.1, 1.0, 4)
    with pytest.warns(UserWarning, match="cache directory cannot hold the module"):
        got = s2sgrad.grad(unwritable, backend="numba")(x)
    np.testing.assert_allclose(got, np.cos(x) - x * np.sin(x), rtol=1e-12)
