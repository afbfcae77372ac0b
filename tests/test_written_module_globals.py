"""Modules `s2sgrad transform` writes define every global their code reads: the
runtime's module-level constants its copied helpers use (einsum's plan cache, the
number types of `grad_like`), and, with --import, no top-level line computed from a
name the copy lacks (such a line failed at import) or updated from a value a skipped
statement changed (`N += 1` after a loop: the copy computed another N)."""
import json
import subprocess
import sys
import textwrap

import numpy as np

import s2sgrad
from s2sgrad.tools.cli import main

MODEL = textwrap.dedent('''
    import numpy as np
    N = 2
    for _ in range(3):
        N += 1
    N += 1
    A = np.random.RandomState(0).randn(3)
    B = A * 2.0

    def contract(x, w):
        return np.einsum("ij,j->", np.sin(x), w) * 1.5

    def pair(xs):
        return xs[0] * xs[1] + xs[1] ** 2

    def scaled(x):
        return x * x * N
''')

RUN = textwrap.dedent('''
    import json, sys
    sys.modules["s2sgrad"] = None
    import numpy as np
    import model_grad as m
    x = np.arange(6.0).reshape(2, 3) / 7
    w = np.array([0.5, -1.0, 2.0])
    out = {"contract": [np.asarray(g).tolist() for g in m.grad_contract(x, w)]}
    if hasattr(m, "grad_pair"):
        out["pair"] = m.grad_pair([1.5, -0.5])
    if hasattr(m, "grad_scaled"):
        out["scaled"] = m.grad_scaled(1.0)
    print(json.dumps(out))
''')


def written(tmp_path, capsys, *options, functions=("contract:0,1", "pair", "scaled")):
    (tmp_path / "model.py").write_text(MODEL)
    argv = ["transform", str(tmp_path / "model.py"), *options,
            "-o", str(tmp_path / "model_grad.py")]
    for f in functions:
        argv += ["-f", f]
    code = main(argv)
    _, err = capsys.readouterr()
    assert code == 0, err
    done = subprocess.run([sys.executable, "-c", RUN], capture_output=True, text=True,
                          cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def module_ns(tmp_path):
    ns = {"__name__": "model_ref"}
    exec(compile(MODEL, str(tmp_path / "model.py"), "exec"), ns)
    return ns


def test_runtime_constants_are_copied(tmp_path, capsys):
    got = written(tmp_path, capsys, functions=("contract:0,1", "pair"))
    ns = module_ns(tmp_path)
    x = np.arange(6.0).reshape(2, 3) / 7
    w = np.array([0.5, -1.0, 2.0])
    want = s2sgrad.grad(ns["contract"], wrt=(0, 1))(x, w)
    for g, ref in zip(got["contract"], want):
        np.testing.assert_allclose(g, ref, rtol=1e-12)
    assert got["pair"] == s2sgrad.grad(ns["pair"])([1.5, -0.5])


def test_import_copies_no_constant_of_a_stale_name(tmp_path, capsys):
    got = written(tmp_path, capsys, "--import")
    ns = module_ns(tmp_path)
    assert ns["N"] == 6
    assert got["scaled"] == s2sgrad.grad(ns["scaled"])(1.0) == 12.0
    text = (tmp_path / "model_grad.py").read_text()
    assert "B = A * 2.0" not in text and "N += 1" not in text


def test_copied_helpers_import_nothing_relative_and_run_alone():
    from s2sgrad import runtime
    from s2sgrad.tools.files import runtime_sources
    names = [n for family in runtime.FAMILIES for n, v in vars(family).items()
             if callable(v) and runtime.owns(v)]
    _, text = runtime_sources(names)
    import ast
    assert not [n for n in ast.walk(ast.parse(text))
                if isinstance(n, ast.ImportFrom) and n.level]
    ns = {"__name__": "written"}
    exec(compile("import math\nimport numpy as np\nclass GradientError(ValueError):\n"
                 "    pass\n" + text, "<written>", "exec"), ns)
    names_read = {n.id for n in ast.walk(ast.parse(text)) if isinstance(n, ast.Name)}
    import builtins
    missing = {n for n in names_read if n not in ns and not hasattr(builtins, n)}
    # (names bound inside the helpers themselves: parameters, locals, local imports)
    tree = ast.parse(text)
    local = {n.arg for n in ast.walk(tree) if isinstance(n, ast.arg)}
    local |= {n.id for n in ast.walk(tree)
              if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    local |= {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    local |= {(a.asname or a.name).split(".")[0] for n in ast.walk(tree)
              if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
    assert missing <= local, sorted(missing - local)


CHOLESKY = textwrap.dedent('''
    import numpy as np
    import scipy.linalg as sla

    def solved(m):
        c = sla.cho_factor(m @ m.T + np.eye(3))
        return np.sum(sla.cho_solve(c, np.ones(3)))
''')


def test_helpers_importing_helpers_run_in_the_written_module(tmp_path, capsys):
    (tmp_path / "chol.py").write_text(CHOLESKY)
    code = main(["transform", str(tmp_path / "chol.py"), "-o", str(tmp_path / "chol_grad.py")])
    _, err = capsys.readouterr()
    assert code == 0, err
    m = np.arange(9.0).reshape(3, 3) / 10 + np.eye(3)
    done = subprocess.run(
        [sys.executable, "-c", "import sys; sys.modules['s2sgrad'] = None\n"
         "import json, numpy as np, chol_grad\n"
         "m = np.arange(9.0).reshape(3, 3) / 10 + np.eye(3)\n"
         "print(json.dumps(chol_grad.grad_solved(m).tolist()))"],
        capture_output=True, text=True, cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr
    ns = {}
    exec(compile(CHOLESKY, str(tmp_path / "chol.py"), "exec"), ns)
    np.testing.assert_allclose(json.loads(done.stdout), s2sgrad.grad(ns["solved"])(m),
                               rtol=1e-12)
