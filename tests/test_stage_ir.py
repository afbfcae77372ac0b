"""Stage 3 alone: the trace a normalized function becomes — statements, SSA names for
straight-line reassignments, and the facts later stages read (active, overwritten,
numbers), checked on small functions whose facts are known by hand."""
import textwrap

import gast
import numpy as np
import pytest

from s2sgrad import ir, pipeline
from s2sgrad.errors import TransformError
from s2sgrad.frontend.parse import Parsed
from s2sgrad.ir import Kind


def trace(src, wrt=(0,), numbers=()):
    src = textwrap.dedent(src)
    node = gast.parse(src).body[0]
    parsed = Parsed(None, node, "<stage test>", src.splitlines(True),
                    {"np": np, "math": __import__("math")})
    return pipeline.build_trace(parsed, wrt, set(numbers))


def assigns(tr):
    return {s.target: s for s in ir.walk(tr.body) if isinstance(s, ir.Assign)}


def test_straight_line_reassignment_gets_its_own_name():
    tr = trace("""
        def f(x, y):
            b = x * y
            a = b + 0.0
            a += 1.0
            return a
        """)
    a = assigns(tr)
    assert set(a) >= {"b", "a", "a_1"}             # the second `a` is renamed (SSA)
    assert a["a_1"].args[0] == "a"                 # it reads the first `a`
    assert tr.result == "a_1"


def test_active_means_depends_on_wrt_and_reaches_the_output():
    tr = trace("""
        def f(x, y):
            u = x * 2.0
            w = y * 3.0
            unused = x * 5.0
            return u + w
        """)
    assert {"x", "u"} <= tr.active
    assert "w" not in tr.active                    # depends on y only
    assert "unused" not in tr.active               # never reaches the output


def test_kinds_of_statements():
    tr = trace("""
        def f(x, n):
            k = len(x)
            c = 2.0
            d = x
            return np.sum(x) * c + d[0] + k
        """)
    a = assigns(tr)
    assert a["k"].kind is Kind.NONDIFF
    assert a["c"].kind is Kind.CONST
    assert a["d"].kind is Kind.COPY
    assert any(s.kind is Kind.OP and s.rule.name == "sum_" for s in a.values())


def test_values_a_loop_overwrites_are_marked_and_numbers_inferred():
    tr = trace("""
        def f(x, n):
            s = 0.0
            for i in range(n):
                s = s + x * x
            return s
        """, numbers=("x",))
    assert "s" in tr.overwritten
    assert {"i", "s", "x"} <= tr.scalars           # x is a number: so is everything here


def test_an_unknown_call_is_opaque_and_carries_its_located_refusal():
    # the trace keeps it (a constant if no gradient flows through it); the reverse pass
    # raises the refusal it carries when one must
    tr = trace("""
        def f(x):
            return np.sum(np.nextafter(x, 1.0) ** 2)
        """)
    (s,) = [s for s in assigns(tr).values() if s.kind is Kind.OPAQUE]
    assert isinstance(s.error, TransformError)
    assert s.error.lineno == 3 and "nextafter" in str(s.error)
