"""`s2sgrad transform` refuses a function taking *args or **kwargs: the written
grad_f(x, rest, out_bar=1.0) took f's second and third arguments for the tuple and the
output's seed (grad_f(x, a, b) gave b·∂f/∂x at rest=a: a silently wrong gradient); the
other functions of the file are still written."""
import numpy as np
import pytest

import s2sgrad
from s2sgrad.tools.cli import main

MODEL = '''import numpy as np


def spread(x, *rest):
    return np.sum(x) * sum(rest)


def named(x, **options):
    return np.sum(x * x)


def plain(x, a, b):
    return np.sum(x) * (a + b)
'''


@pytest.mark.parametrize("name, what", [("spread", "*rest"), ("named", "**options")])
def test_variadic_function_is_refused(tmp_path, capsys, name, what):
    (tmp_path / "model.py").write_text(MODEL)
    code = main(["transform", str(tmp_path / "model.py"), "-f", name,
                 "-o", str(tmp_path / "g.py")])
    _, err = capsys.readouterr()
    assert code == 1 and not (tmp_path / "g.py").exists()
    assert f"takes `{what}`" in err and "model.py:" in err and "^" in err
    assert "Traceback" not in err and "hint:" in err


def test_the_other_functions_are_written(tmp_path, capsys):
    (tmp_path / "model.py").write_text(MODEL)
    code = main(["transform", str(tmp_path / "model.py"), "-o", str(tmp_path / "g.py")])
    _, err = capsys.readouterr()
    assert code == 0, err
    ns = {}
    exec(compile((tmp_path / "g.py").read_text(), "g.py", "exec"), ns)
    assert "grad_spread" not in ns and "grad_named" not in ns
    x = np.ones(2)
    ref = {}
    exec(compile(MODEL, str(tmp_path / "model.py"), "exec"), ref)
    np.testing.assert_allclose(ns["grad_plain"](x, 2.0, 3.0),
                               s2sgrad.grad(ref["plain"])(x, 2.0, 3.0), rtol=1e-12)
