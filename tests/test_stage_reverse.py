"""Stage 4 alone: the unoptimized adjoint code the reverse pass writes for a trace — one
`# grad of:` block per active statement, in reverse order, each the rule's template with
the statement's names — run and checked against finite differences."""
import textwrap

import gast
import numpy as np

from s2sgrad import pipeline
from s2sgrad.ad.reverse import gradient_function, reverse
from s2sgrad.backend import load
from s2sgrad.frontend.parse import Parsed
from s2sgrad.syntax import emit
from support.numeric import numerical_grad

SRC = """
def f(x, y):
    b = x * y
    a = b + 0.0
    a += 1.0
    return np.sin(a) if a > 0 else b
"""


def adjoint_code(src, wrt):
    src = textwrap.dedent(src)
    parsed = Parsed(None, gast.parse(src).body[0], "<stage test>", src.splitlines(True),
                    {"np": np})
    tr = pipeline.build_trace(parsed, wrt)
    adj = reverse(tr, call_hook=pipeline.call_graph(parsed).hook)
    fdef = gradient_function(adj, "grad_f")
    return emit.source(fdef), adj.env


def test_one_block_per_active_statement_in_reverse_order():
    text, _ = adjoint_code(SRC, (0,))
    comments = [ln.strip() for ln in text.splitlines() if ln.strip().startswith("# grad of:")]
    assert [c.split("  (")[0] for c in comments] == [
        "# grad of: v1 = np.sin(a_1)", "# grad of: v1 = b", "# grad of: a_1 = a + 1.0",
        "# grad of: a = b + 0.0", "# grad of: b = x * y"]
    assert "a_1_bar = a_1_bar + v1_bar * np.cos(a_1)" in text      # the sin rule, inlined


def test_the_adjoint_code_runs_and_matches_finite_differences():
    text, env = adjoint_code(SRC, (0, 1))
    ns = {"np": np}
    ns.update(load.runtime_bindings(text, ns, env))
    exec(compile(text, "<stage test>", "exec"), ns)
    f_ns = {"np": np}
    exec(SRC, f_ns)
    for point in ((0.3, 0.5), (-2.0, 0.7)):          # both branches
        got = ns["grad_f"](*point)
        for i in (0, 1):
            np.testing.assert_allclose(got[i], numerical_grad(f_ns["f"], point, i),
                                       rtol=1e-6)
