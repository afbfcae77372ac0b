"""`s2sgrad.explain`: the execution trace and adjoint table of the lecture notes."""
import re

import numpy as np
import pytest

import s2sgrad


def griewank(x1, x2):
    return (np.sin(x1 / x2) + x1 / x2 - np.exp(x2)) * (x1 / x2 - np.exp(x2))


def numbers(text):
    return [float(x) for x in re.findall(r"-?\d+\.\d{4}\b", text)]


def has(values, want, tol=1.01e-4):
    return any(abs(v - want) <= tol for v in values)


def test_griewank_tables_match_the_notes():
    # seed 001 (R. P. Adams): the notes round intermediates to 4 decimals, so y and
    # x̄2 differ from exact arithmetic in the last printed digit (2.01665, -13.72396).
    ex = s2sgrad.explain(griewank, 1.5, 0.5)
    fwd = [r.value for r in ex.forward]
    for want in (3.0, 0.1411, 1.6487, 1.3513, 1.4924, 2.0167):
        assert has(fwd, want), want
    bwd = [r.value for r in ex.backward]
    for want in (1.0, 1.3513, 1.4924, -2.8437, 1.5059, 3.0118, -13.7239):
        assert has(bwd, want), want
    (n1, g1), (n2, g2) = ex.gradient
    assert (n1, n2) == ("x\u03041", "x\u03042")
    assert g1 == pytest.approx(3.0118, abs=1e-4)
    assert g2 == pytest.approx(-13.7239, abs=1e-4)
    # x1 / x2 is computed three times in the source but is one v1, as in the notes
    assert ex.forward[0].text == "v1 = x1 / x2" and ex.forward[0].value == 3.0
    assert sum(r.text.endswith("x1 / x2") for r in ex.forward) == 1


def test_griewank_text_rendering():
    text = str(s2sgrad.explain(griewank, 1.5, 0.5))
    assert "v1 = x1 / x2" in text and "3.0000" in text
    assert "x\u03041 = 3.0118" in text
    assert "v\u03041" in text                       # v̄1, the notes' notation
    assert has(numbers(text), -13.7239) and has(numbers(text), 2.0167)
    assert "unbroadcast" not in text and "grad_like" not in text


def int_cut(x, y):
    n = int(y)
    s = 0.0
    for i in range(n):
        s = s + x
    return s


def compare_cut(x, y):
    if y > 0:
        return x * 2
    return x


def unused(x, y):
    return x * 2


def test_zero_gradient_names_the_cut():
    ex = s2sgrad.explain(int_cut, 1.5, 2.5)
    note = " ".join(ex.notes)
    assert "gradient of y is zero" in note and "n = int(y)" in note and "int() cast" in note
    note = " ".join(s2sgrad.explain(compare_cut, 1.5, 2.5).notes)
    assert "y > 0" in note and "comparison" in note
    note = " ".join(s2sgrad.explain(unused, 1.5, 2.5).notes)
    assert "y does not influence the output" in note


def loop(x, n):
    y = x
    for i in range(n):
        y = np.sin(y) * x
    return np.sum(y)


def test_loop_memory_per_iteration():
    ex = s2sgrad.explain(loop, np.linspace(0.1, 0.4, 4), 3)
    note = next(n for n in ex.notes if n.startswith("loop"))
    # y (32 bytes) each iteration, v1 (saved once made, 32 bytes): 96 + 96
    assert "ran 3 time(s)" in note and "192 bytes held" in note
    assert ex.gradient[0][1].shape == (4,)
    rows = [r for r in ex.forward if r.count == 3 and r.has_value]
    assert rows and all(r.value.shape == (4,) for r in rows)
    assert "array(4,) float64" in str(ex)


def inner(a, b):
    return a * np.sin(b)


def outer(x):
    return inner(x, 2.0) * 3


def test_calls_to_user_functions():
    ex = s2sgrad.explain(outer, 0.7)
    assert ex.gradient[0][1] == pytest.approx(3 * np.sin(2.0))
    assert any("inner(x, 2.0)" in r.text for r in ex.forward)


def test_notebook_views_show_the_same_tables():
    from html.parser import HTMLParser
    from s2sgrad.tools.explain import fmt
    ex = s2sgrad.explain(griewank, 1.5, 0.5)
    md, page = ex._repr_markdown_(), ex._repr_html_()
    rows = ex.forward + ex.backward
    for r in rows:
        if r.has_value:
            assert fmt(r.value) in md and fmt(r.value) in page
    for name, value in ex.gradient:
        assert fmt(value) in md and fmt(value) in page

    class Count(HTMLParser):
        opened, closed = 0, 0

        def handle_starttag(self, tag, attrs):
            Count.opened += tag == "tr"

        def handle_endtag(self, tag):
            Count.closed += tag == "tr"
    Count().feed(page)
    assert Count.opened == Count.closed == len(rows) + len(ex.gradient) + 3   # 3 headers
    assert md.count("|---|---:|---:|") == 3
