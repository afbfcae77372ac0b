"""Stage 2 alone, source in → source out: `normalize` desugars to the small core and puts
it in A-normal form (one operation per statement, every operand a name or a constant)."""
import textwrap

import gast

from s2sgrad.frontend.normalize import normalize
from s2sgrad.frontend.parse import Parsed
from s2sgrad.syntax import emit


def run(src):
    """Normalize the one function in `src` (read without importing it)."""
    src = textwrap.dedent(src)
    node = gast.parse(src).body[0]
    parsed = Parsed(None, node, "<stage test>", src.splitlines(True), {"np": __import__("numpy")})
    return emit.source(normalize(parsed)).strip()


def same(got, expected):
    assert got == textwrap.dedent(expected).strip(), got


def test_nested_expressions_become_one_operation_per_statement():
    same(run("""
        def f(x, y):
            return np.sin(x * y) + x / y
        """), """
        def f(x, y):
            v1 = x * y
            v2 = np.sin(v1)
            v3 = x / y
            v4 = v2 + v3
            return v4
        """)


def test_augmented_assignment_and_conditional_expression():
    same(run("""
        def f(x, y):
            b = x * y
            a = b + 0.0
            a += 1.0
            return np.sin(a) if a > 0 else b
        """), """
        def f(x, y):
            b = x * y
            a = b + 0.0
            a = a + 1.0
            cond = a > 0
            if cond:
                v1 = np.sin(a)
            else:
                v1 = b
            return v1
        """)


def test_a_loop_over_a_list_becomes_an_index_loop():
    same(run("""
        def f(x):
            s = 0.0
            for v in [x, 2.0 * x]:
                s += v * v
            return s
        """), """
        def f(x):
            s = 0.0
            v1 = 2.0 * x
            v2 = [x, v1]
            n = len(v2)
            for i in range(n):
                v = v2[i]
                v3 = v * v
                s_new = s + v3
                s = s_new
            return s
        """)


def test_tuple_unpacking_reads_the_elements():
    same(run("""
        def f(x, y):
            a, b = x, y * 2.0
            return a * b
        """), """
        def f(x, y):
            v1 = y * 2.0
            a = x
            b = v1
            v2 = a * b
            return v2
        """)


def test_tuple_swap_reads_the_old_values():
    same(run("""
        def f(x, y):
            x, y = y, x * 2.0
            return x - y
        """), """
        def f(x, y):
            v1 = x * 2.0
            v2 = y
            x = v2
            y = v1
            v3 = x - y
            return v3
        """)
