"""SciPy's rules (optional: skipped without SciPy): scipy.special, scipy.stats and
scipy.linalg, each checked in reverse mode against centered finite differences in float64
(with respect to every differentiable argument, in the axis/keepdims/option variants real
code uses), in forward mode against the directional finite difference, float32 kept where
SciPy keeps it; options a rule does not handle refused at transform time; and the core
importing and differentiating NumPy code with SciPy impossible to import.
"""
import subprocess
import sys
import textwrap

import numpy as np
import pytest

scipy = pytest.importorskip("scipy")
import scipy.linalg  # noqa: E402
import scipy.special  # noqa: E402
import scipy.stats  # noqa: E402
from scipy.special import expit, logsumexp  # noqa: E402
from scipy.stats import multivariate_normal, norm, t as student_t  # noqa: E402

import s2sgrad  # noqa: E402
from s2sgrad import rules  # noqa: E402
from s2sgrad.errors import TransformError  # noqa: E402

from support.numeric import assert_grad_matches  # noqa: E402

RNG = np.random.default_rng(11)
X = RNG.normal(size=(3, 4))
W = RNG.uniform(0.5, 2.0, size=(3, 4))
P = RNG.uniform(0.1, 0.9, size=(3, 4))
SPD = np.array([[2.0, 0.3, 0.1], [0.3, 1.5, -0.2], [0.1, -0.2, 1.0]])
NONSYM = SPD + np.triu(RNG.normal(size=(3, 3)), 1)      # garbage in the unread triangle
B = RNG.normal(size=(3, 2))


# ------------------------------------------------------------------ scipy.special
def lse(x):
    return logsumexp(x)


def lse_axis(x):
    return np.sum(np.sin(logsumexp(x, axis=1)))


def lse_keepdims(x):
    return np.sum(logsumexp(x, axis=0, keepdims=True) * x)


def lse_axes(x):
    return np.sum(logsumexp(np.reshape(x, (2, 3, 2)), axis=(0, 2)) ** 2)


def lse_b(x, b):
    return np.sum(logsumexp(x, axis=-1, b=b) ** 2)


def lse_b_row(x, b):
    return logsumexp(x, b=b[0])


def gammaln(x):
    return np.sum(scipy.special.gammaln(x) * x)


def digamma(x):
    return np.sum(scipy.special.digamma(x) ** 2) + np.sum(scipy.special.psi(x[0]))


def polygamma(x):
    return np.sum(scipy.special.polygamma(1, x) * x) + np.sum(scipy.special.polygamma(0, x))


def gammaln_hessian(x):
    return np.sum(scipy.special.gammaln(x) * x + scipy.special.digamma(x) ** 2)


def expit_logit(p):
    return np.sum(expit(p * 3.0) * scipy.special.logit(p))


def erfs(x):
    return np.sum(scipy.special.erf(x) * x) + np.sum(scipy.special.erfc(x * 0.5) ** 2)


def softmax(x):
    return np.sum(scipy.special.softmax(x) * np.arange(12.0).reshape(3, 4))


def softmax_axis(x):
    return np.sum(scipy.special.softmax(x, axis=1) ** 2 * np.arange(12.0).reshape(3, 4))


def log_softmax(x):
    return np.sum(scipy.special.log_softmax(x, axis=0) * np.arange(12.0).reshape(3, 4)) \
        + np.sum(scipy.special.log_softmax(x[0]) ** 2)


def xlogy(x, y):
    return np.sum(scipy.special.xlogy(x, y) * x) + np.sum(scipy.special.xlogy(2.0, y[0]))


def xlog1py(x, y):
    return np.sum(scipy.special.xlog1py(x, y) ** 2) + np.sum(scipy.special.xlog1py(x[0], y))


def betaln_gamma(a, b):
    return np.sum(scipy.special.betaln(a, b) * a) + np.sum(scipy.special.betaln(a[0], 1.5)) \
        + np.sum(scipy.special.gamma(a * 0.5) * b)


def normal_cdfs(x):
    return np.sum(scipy.special.ndtr(x) ** 2) + np.sum(scipy.special.log_ndtr(3.0 * x)) \
        + np.sum(scipy.special.log_ndtr(x - 12.0))            # (Φ underflows; ln Φ does not)


def inverse_cdfs(p):
    return np.sum(scipy.special.ndtri(p) ** 2) + np.sum(scipy.special.erfinv(p - 0.5) ** 3)


def log_expit_entr(x, p):
    return np.sum(scipy.special.log_expit(x * 2.0)) + np.sum(scipy.special.log_expit(-40.0 * x)) \
        + np.sum(scipy.special.entr(p) * x)


# ------------------------------------------------------------------ scipy.stats
def norm_logpdf(x, loc, scale):
    return np.sum(norm.logpdf(x, loc, scale)) + np.sum(norm.logpdf(x))


def norm_keywords(x, loc, scale):
    return np.sum(norm.logpdf(x, loc=loc, scale=scale) ** 2) + np.sum(norm.logpdf(x, scale=scale))


def norm_pdf_cdf(x, loc, scale):
    return np.sum(norm.pdf(x, loc, scale) * x) + np.sum(norm.cdf(x, loc, scale) ** 2) \
        + np.sum(scipy.stats.norm.cdf(x))


def t_logpdf(x, df, loc, scale):
    return np.sum(student_t.logpdf(x, df, loc, scale)) + np.sum(student_t.logpdf(x, df))


def mvn_logpdf(x, mean, cov):
    return np.sum(multivariate_normal.logpdf(x, mean, cov) * np.arange(1.0, 5.0))


def mvn_one(x, mean, cov):
    return multivariate_normal.logpdf(x[0], mean=mean, cov=cov) ** 2


def mvn_diag(x, d):
    return np.sum(multivariate_normal.logpdf(x, np.zeros(3), d))


def mvn_scalar(x, s):
    return np.sum(multivariate_normal.logpdf(x, np.ones(3), s * s))


# ------------------------------------------------------------------ scipy.linalg
def cholesky_upper(a):
    return np.sum(scipy.linalg.cholesky(a) * np.arange(9.0).reshape(3, 3))


def cholesky_lower(a):
    return np.sum(np.sin(scipy.linalg.cholesky(a, lower=True, check_finite=False)))


def cho_factor_solve(a, b):
    c, low = scipy.linalg.cho_factor(a)
    return np.sum(scipy.linalg.cho_solve((c, low), b) ** 2) + np.sum(np.log(np.diag(c)))


def cho_factor_lower(a, b):
    factor = scipy.linalg.cho_factor(a, lower=True, check_finite=False)
    return np.sum(np.sin(scipy.linalg.cho_solve(factor, b)))


def cho_factor_whole(a):
    """Reads c whole: SciPy leaves a's own entries in the other triangle."""
    c, lower = scipy.linalg.cho_factor(a, lower=True)
    return np.sum(c * np.arange(9.0).reshape(3, 3))


def cho_solve(c, b):
    return np.sum(scipy.linalg.cho_solve((c, True), b) ** 2)


def cho_solve_upper(c, b):
    return np.sum(np.sin(scipy.linalg.cho_solve((c, False), b[:, 0])))


def cho_solve_factor(a, b):
    u = scipy.linalg.cholesky(a)
    return np.sum(scipy.linalg.cho_solve((u, False), b) * b)


def solve_lower(a, b):
    return np.sum(scipy.linalg.solve_triangular(a, b, lower=True) ** 2)


def solve_upper_trans(a, b):
    return np.sum(np.sin(scipy.linalg.solve_triangular(a, b[:, 1], trans="T")))


def solve_unit(a, b):
    x = scipy.linalg.solve_triangular(a, b, trans=1, lower=True, unit_diagonal=True)
    return np.sum(x * x * b)


def expm(a):
    return np.sum(scipy.linalg.expm(a * 0.5) * np.arange(9.0).reshape(3, 3))


CASES = [
    (lse, (X,), 0), (lse_axis, (X,), 0), (lse_keepdims, (X,), 0), (lse_axes, (X,), 0),
    (lse_b, (X, W), (0, 1)), (lse_b_row, (X, W), (0, 1)),
    (gammaln, (W,), 0), (digamma, (W,), 0), (polygamma, (W,), 0),
    (expit_logit, (P,), 0), (erfs, (X,), 0),
    (betaln_gamma, (W, W[::-1] + 0.5), (0, 1)), (normal_cdfs, (X,), 0),
    (inverse_cdfs, (P,), 0), (log_expit_entr, (X, P), (0, 1)),
    (softmax, (X,), 0), (softmax_axis, (X,), 0), (log_softmax, (X,), 0),
    (xlogy, (X, W), (0, 1)), (xlog1py, (X, W), (0, 1)),
    (norm_logpdf, (X, 0.3, W), (0, 1, 2)), (norm_keywords, (X, X[0], 1.7), (0, 1, 2)),
    (norm_pdf_cdf, (X, 0.2, W), (0, 1, 2)), (t_logpdf, (X, 3.5, X[:, :1], 1.3), (0, 1, 2, 3)),
    (mvn_logpdf, (X.T[:, :3], X[0, :3], SPD), (0, 1, 2)),
    (mvn_logpdf, (X.T[:, :3], X[0, :3], NONSYM), (0, 1, 2)),
    (mvn_one, (X.T[:, :3], X[1, :3], SPD), (0, 1, 2)),
    (mvn_diag, (X.T[:, :3], W[0, :3]), (0, 1)), (mvn_scalar, (X.T[:, :3], 1.3), (0, 1)),
    (cholesky_upper, (NONSYM,), 0), (cholesky_lower, (NONSYM.T,), 0),
    (cho_solve, (np.linalg.cholesky(SPD) + np.triu(NONSYM, 1), B), (0, 1)),
    (cho_solve_upper, (np.linalg.cholesky(SPD).T + np.tril(NONSYM.T, -1), B), (0, 1)),
    (cho_solve_factor, (NONSYM, B), (0, 1)),
    (cho_factor_solve, (SPD, B), (0, 1)), (cho_factor_lower, (SPD, B), (0, 1)),
    (cho_factor_whole, (NONSYM.T,), 0),
    (solve_lower, (NONSYM.T, B), (0, 1)), (solve_upper_trans, (NONSYM, B), (0, 1)),
    (solve_unit, (NONSYM.T, B), (0, 1)),
    (expm, (X[:, :3],), 0),
]


def _id(case):
    return case[0].__name__


@pytest.mark.parametrize("f, args, wrt", CASES, ids=[_id(c) for c in CASES])
def test_gradient_matches_finite_differences(f, args, wrt):
    assert_grad_matches(f, *[np.copy(a) if isinstance(a, np.ndarray) else a for a in args],
                        wrt=wrt, rtol=1e-5, atol=1e-6)


def _direction(a):
    d = RNG.normal(size=np.shape(a))
    return float(d) if np.ndim(a) == 0 else d


@pytest.mark.parametrize("f, args, wrt", CASES, ids=[_id(c) for c in CASES])
def test_tangent_matches_finite_differences(f, args, wrt):
    """jvp along every differentiable argument at once."""
    wrt = wrt if isinstance(wrt, tuple) else (wrt,)
    primals = tuple(np.copy(a) if isinstance(a, np.ndarray) else a for a in args)
    dirs = tuple(_direction(a) if i in wrt else 0.0 * a for i, a in enumerate(primals))
    out, tangent = s2sgrad.jvp(f)(primals, dirs)
    h = 1e-6
    plus = f(*[a + h * d for a, d in zip(primals, dirs)])
    minus = f(*[a - h * d for a, d in zip(primals, dirs)])
    np.testing.assert_allclose(out, f(*primals), rtol=1e-12)
    np.testing.assert_allclose(tangent, (plus - minus) / (2 * h), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("f, x", [(lse_axis, X), (softmax_axis, X), (log_softmax, X),
                                  (erfs, X), (gammaln, W), (digamma, W), (expit_logit, P),
                                  (normal_cdfs, X), (inverse_cdfs, P)],
                         ids=lambda v: getattr(v, "__name__", ""))
def test_float32_stays_float32(f, x):
    g = s2sgrad.grad(f)(x.astype(np.float32))
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, s2sgrad.grad(f)(x), rtol=2e-3, atol=2e-4)


def test_gammaln_and_digamma_have_second_derivatives():
    """The runtime's polygamma has a rule of its own (ψ⁽ⁿ⁾' = ψ⁽ⁿ⁺¹⁾): a Hessian-vector
    product through gammaln and digamma, against finite differences of the gradient."""
    x = np.abs(W) + 0.5
    t = RNG.normal(size=x.shape)
    h = 1e-6
    g = s2sgrad.grad(gammaln_hessian)
    expected = (g(x + h * t) - g(x - h * t)) / (2 * h)
    np.testing.assert_allclose(s2sgrad.hvp(gammaln_hessian)(x, t), expected,
                               rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------ refusals
def lse_sign(x):
    return logsumexp(x, return_sign=True)[0]


def mvn_singular(x):
    return multivariate_normal.logpdf(x, np.zeros(4), np.eye(4), allow_singular=True)


def cholesky_overwrite(a):
    return np.sum(scipy.linalg.cholesky(a, overwrite_a=True))


def norm_frozen(x):
    return np.sum(norm(0.0, 2.0).logpdf(x))


def norm_sf(x):
    return np.sum(norm.sf(x))


@pytest.mark.parametrize("f, x, what", [
    (lse_sign, X, "`return_sign=`"), (mvn_singular, X[0], "`allow_singular=`"),
    (cholesky_overwrite, SPD, "`overwrite_a=`"), (norm_frozen, X, "logpdf"),
    (norm_sf, X, "sf")], ids=lambda v: getattr(v, "__name__", ""))
def test_unhandled_options_and_methods_are_refused(f, x, what):
    with pytest.raises(TransformError, match=what) as info:
        s2sgrad.grad(f)(np.copy(x))
    assert "test_scipy_rules.py" in str(info.value) and "^" in str(info.value)


# ------------------------------------------------------------------ the audit
LISTED = {
    "scipy.special": ["logsumexp", "gammaln", "digamma", "polygamma", "expit", "logit", "erf", "erfc",
                      "softmax", "log_softmax", "xlogy", "xlog1py", "betaln", "gamma", "ndtr",
                      "log_ndtr", "ndtri", "erfinv", "log_expit", "entr"],
    "scipy.stats": ["norm.logpdf", "norm.cdf", "norm.pdf", "multivariate_normal.logpdf",
                    "t.logpdf"],
    "scipy.linalg": ["cholesky", "cho_factor", "cho_solve", "solve_triangular", "expm"],
}


def _listed():
    out = []
    for module, names in LISTED.items():
        obj = sys.modules[module]
        for name in names:
            target = obj
            for part in name.split("."):
                target = getattr(target, part)
            out.append((f"{module}.{name}", target))
    return out


@pytest.mark.parametrize("name, obj", _listed(), ids=[n for n, _ in _listed()])
def test_each_listed_function_has_an_adjoint_and_a_tangent_rule(name, obj):
    rule = rules.lookup(obj)
    assert rule is not None and rule.optional == "scipy", name
    assert rules.tangent_for(rule, obj) is not None, name
    assert rule.doc and "→" in rule.doc, name


def test_each_scipy_rule_is_checked_here():
    """Every registered SciPy rule is called by a case above (the core's coverage tests
    leave the optional rules to this module)."""
    import inspect
    source = inspect.getsource(sys.modules[__name__])
    listed = {n for n, _ in _listed()}
    for key, rule in rules.CALLABLES.items():
        if rule.optional == "scipy":
            obj = rules.registry._KEEP[key]
            name = getattr(obj, "__name__", "")
            assert name and name in source, (obj, listed)


# ------------------------------------------------------------------ SciPy is optional
def test_the_core_runs_without_scipy(tmp_path):
    """With `import scipy` made impossible, s2sgrad imports, differentiates NumPy code
    and refuses nothing it would otherwise accept."""
    program = tmp_path / "no_scipy.py"
    program.write_text(textwrap.dedent("""
        import sys
        sys.modules["scipy"] = None          # `import scipy` raises ImportError
        import numpy as np
        import s2sgrad
        from s2sgrad import rules

        def f(x):
            return np.sum(np.tanh(x) ** 2) + np.median(x)

        x = np.array([0.3, -1.2, 0.8])
        g = s2sgrad.grad(f)(x)
        expected = 2 * np.tanh(x) * (1 - np.tanh(x) ** 2) + np.array([1.0, 0.0, 0.0])
        assert np.allclose(g, expected), g
        assert len(rules.all_rules()) > 100
        assert not [m for m in sys.modules if m.startswith("s2sgrad.rules.scipy")]
        print("ok")
    """))
    env_path = str(__import__("pathlib").Path(s2sgrad.__file__).parent.parent)
    out = subprocess.run([sys.executable, str(program)], capture_output=True, text=True,
                         env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"}, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_the_rules_of_one_scipy_module_load_with_that_module_alone(tmp_path):
    """A program that imports scipy.linalg (or whose gradient's triangular solves import
    it) loads scipy.linalg's rules only: importing scipy.stats for its rules took most of
    a second of the first transform."""
    program = tmp_path / "linalg_only.py"
    program.write_text(textwrap.dedent("""
        import sys
        import numpy as np
        import scipy.linalg
        import s2sgrad

        def f(a, b):
            L = scipy.linalg.cholesky(a, lower=True)
            return np.sum(scipy.linalg.solve_triangular(L, b, lower=True) ** 2)

        a = np.array([[4.0, 1.0], [1.0, 3.0]])
        b = np.array([1.0, -2.0])
        g = s2sgrad.grad(f, wrt=1)(a, b)
        L = np.linalg.cholesky(a)
        expected = 2 * np.linalg.solve(L.T, np.linalg.solve(L, b))     # 2 L⁻ᵀ L⁻¹ b
        assert np.allclose(g, expected), g
        assert "s2sgrad.rules.scipy_linalg" in sys.modules
        assert "scipy.stats" not in sys.modules, "scipy.stats imported"
        assert "s2sgrad.rules.scipy_stats" not in sys.modules
        print("ok")
    """))
    env_path = str(__import__("pathlib").Path(s2sgrad.__file__).parent.parent)
    out = subprocess.run([sys.executable, str(program)], capture_output=True, text=True,
                         env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"}, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_importing_s2sgrad_does_not_import_scipy(tmp_path):
    env_path = str(__import__("pathlib").Path(s2sgrad.__file__).parent.parent)
    out = subprocess.run([sys.executable, "-c",
                          "import sys, s2sgrad; print('scipy' in sys.modules)"],
                         capture_output=True, text=True, env={"PYTHONPATH": env_path},
                         timeout=120)
    assert out.stdout.strip() == "False", out.stderr


# ------------------------------------------------------------------ s2sgrad transform
MODEL = '''\
import numpy as np
import scipy.special
from scipy.stats import norm, multivariate_normal
from scipy.linalg import cholesky, cho_solve, expm


def loss(x, s):
    a = np.outer(x, x) + 3.0 * np.eye(3)
    u = cholesky(a)
    z = cho_solve((u, False), x)
    return (np.sum(scipy.special.gammaln(s)) + scipy.special.logsumexp(x, b=s)
            + np.sum(norm.logpdf(x, 0.1, s)) + multivariate_normal.logpdf(x, np.zeros(3), a)
            + np.sum(z) + np.sum(expm(a * 0.1)))
'''


def test_transform_writes_a_module_that_runs_without_s2sgrad(tmp_path):
    """The file is read statically (SciPy's imports are made live like NumPy's); the module
    written says it needs SciPy, and its gradient matches finite differences in a process
    where s2sgrad cannot be imported."""
    from s2sgrad.tools.cli import main
    src, out = tmp_path / "model_sp.py", tmp_path / "model_sp_grad.py"
    src.write_text(MODEL)
    assert main(["transform", str(src), "--wrt", "0,1", "-o", str(out)]) == 0
    text = out.read_text()
    assert "# Needs NumPy, SciPy and the standard library only" in text
    check = tmp_path / "check.py"
    check.write_text(textwrap.dedent("""
        import sys
        sys.modules["s2sgrad"] = None
        sys.path.insert(0, sys.argv[1])
        import numpy as np
        import model_sp, model_sp_grad
        x, s = np.array([0.3, -0.5, 1.1]), np.array([0.7, 1.2, 2.0])
        gx, gs = model_sp_grad.grad_loss(x, s)
        h = 1e-6
        fx = [(model_sp.loss(x + h * e, s) - model_sp.loss(x - h * e, s)) / (2 * h)
              for e in np.eye(3)]
        fs = [(model_sp.loss(x, s + h * e) - model_sp.loss(x, s - h * e)) / (2 * h)
              for e in np.eye(3)]
        assert np.allclose(gx, fx, rtol=1e-6, atol=1e-8), (gx, fx)
        assert np.allclose(gs, fs, rtol=1e-6, atol=1e-8), (gs, fs)
        print("ok")
    """))
    run = subprocess.run([sys.executable, str(check), str(tmp_path)], capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr


def mvn_of_parameters(params, y):
    cov = np.exp(params[1]) * np.eye(3) + 0.2 * np.outer(params[2:], params[2:])
    return -multivariate_normal.logpdf(y, params[0] * np.ones(3), cov)


def test_multivariate_normal_has_second_derivatives():
    """hvp through multivariate_normal.logpdf, differentiated in its mean and covariance
    (the runtime's helpers, differentiated in forward mode), against finite differences
    of the gradient."""
    params = np.array([0.1, -0.3, 0.5, -0.4, 0.2])
    y = np.array([0.5, -0.2, 0.3])
    t = RNG.normal(size=5)
    h = 1e-6
    g = s2sgrad.grad(mvn_of_parameters)
    expected = (g(params + h * t, y) - g(params - h * t, y)) / (2 * h)
    np.testing.assert_allclose(s2sgrad.hvp(mvn_of_parameters)(params, y, t), expected,
                               rtol=1e-5, atol=1e-6)
