"""Uncaught exceptions in a plain script (Python's own excepthook, run in a subprocess):
a refusal shows the user's frames and the located message, not s2sgrad's internals
(unless S2SGRAD_DEBUG=1); an error inside generated code shows the generated line."""
import os
import subprocess
import sys
import textwrap

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(REPO, "s2sgrad") + os.sep


def run_script(tmp_path, text, **env):
    path = tmp_path / "model.py"
    path.write_text(textwrap.dedent(text))
    full = {k: v for k, v in os.environ.items() if k != "S2SGRAD_DEBUG"}
    full.update(PYTHONPATH=REPO, **env)
    return subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                          env=full, timeout=120)


REFUSED = """
    import numpy as np
    from s2sgrad import grad

    def loss(x):
        return np.sum(np.nextafter(x, 1.0))

    grad(loss)(np.array([1.0, 2.0]))
"""


def test_a_refusal_shows_the_users_frames_and_the_located_message(tmp_path):
    proc = run_script(tmp_path, REFUSED)
    assert proc.returncode == 1
    err = proc.stderr
    assert "model.py\", line 8, in <module>" in err          # the user's call
    assert "model.py:6:" in err and "^" in err and "hint:" in err
    assert PACKAGE not in err                                # no s2sgrad frames


def test_s2sgrad_debug_shows_every_frame(tmp_path):
    proc = run_script(tmp_path, REFUSED, S2SGRAD_DEBUG="1")
    assert PACKAGE in proc.stderr


def test_an_error_inside_generated_code_shows_the_generated_line(tmp_path):
    proc = run_script(tmp_path, """
        import numpy as np
        from s2sgrad import grad

        def loss(x):
            return np.sum(np.linalg.inv(x))

        grad(loss)(np.zeros((2, 2)))
    """)
    assert "LinAlgError" in proc.stderr
    lines = proc.stderr.splitlines()
    at = next(i for i, ln in enumerate(lines) if "<s2sgrad model.py:5 loss" in ln)
    assert "np.linalg.inv(x)" in lines[at + 1]                 # the source line is shown


def test_other_exceptions_print_as_python_prints_them(tmp_path):
    proc = run_script(tmp_path, """
        import s2sgrad

        raise ValueError("plain")
    """)
    assert proc.stderr.strip().splitlines() == [
        "Traceback (most recent call last):",
        f'  File "{tmp_path / "model.py"}", line 4, in <module>',
        '    raise ValueError("plain")', "ValueError: plain"]
