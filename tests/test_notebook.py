"""A notebook, executed by a real Jupyter kernel: a user's first cells work and the
gradient objects and explanations display as HTML (optional: needs nbclient, nbformat and
ipykernel, which `make test` installs)."""
import json
import math

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

CELLS = [
    "import numpy as np\nimport s2sgrad",
    "def f(x):\n    return np.sum(np.sin(x) * x)\n\ndf = s2sgrad.grad(f)\n"
    "print(df(np.array([0.5, 1.0])).tolist())",
    "df",
    "s2sgrad.explain(f, np.array([0.5, 1.0]))",
    "s2sgrad.grad(lambda w: w ** 3)(2.0)",
]


def _run(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in CELLS]
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    return nb


def test_a_notebook_runs_and_shows_code_and_tables(tmp_path):
    nb = _run(tmp_path)
    printed = "".join(o.get("text", "") for o in nb.cells[1].outputs)
    got = json.loads(printed.strip())
    want = [math.sin(x) + x * math.cos(x) for x in (0.5, 1.0)]
    assert got == pytest.approx(want, rel=1e-12)
    shown = nb.cells[2].outputs[0]["data"]
    html = shown["text/html"]            # highlighted or plain: the code's words are there
    assert "grad_f" in html and "cos" in html and "<pre" in html or "highlight" in html
    assert "text/plain" in shown and "grad" in shown["text/plain"]
    table = nb.cells[3].outputs[0]["data"]
    assert "<table" in table["text/html"]
    assert "text/markdown" in table
    value = nb.cells[4].outputs[0]["data"]["text/plain"]
    assert float(value) == pytest.approx(12.0, rel=1e-12)
