"""What a gradient object shows is the code that runs: `.source`, `.show()`, the repr
and the notebook views."""
import inspect
import sys
import textwrap

import numpy as np

import s2sgrad


def loss(w, x):
    return np.sum(np.tanh(x * w) ** 2)


def runs(g, *args):
    """The generated function a call with these arguments runs."""
    g(*args)
    entry = next(iter(g._by_kinds.values()))
    return textwrap.dedent(inspect.getsource(entry[1]))


def test_source_is_the_function_that_runs():
    for make, name in ((s2sgrad.grad, "grad_loss"),
                       (s2sgrad.value_and_grad, "value_and_grad_loss")):
        for args in ((0.5, 1.5), (np.array([0.5, -0.2]), np.array([1.5, 2.0]))):
            g = make(loss)
            text = runs(g, *args)
            assert text.startswith(f"def {name}(")
            assert text.strip() in g.source


def test_repr_says_what_the_object_is():
    assert repr(s2sgrad.grad(loss)).startswith("<s2sgrad gradient of loss wrt 0")
    assert repr(s2sgrad.value_and_grad(loss)).startswith("<s2sgrad value and gradient of loss")


def test_html_view_with_and_without_pygments(monkeypatch):
    g = s2sgrad.value_and_grad(loss)
    g(0.5, 1.5)
    assert "value_and_grad_loss" in g._repr_html_()
    monkeypatch.setitem(sys.modules, "pygments", None)      # as if not installed
    page = g._repr_html_()
    assert page.startswith("<pre>") and "def value_and_grad_loss(" in page
