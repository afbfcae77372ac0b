"""Differential fuzz test: s2sgrad's gradient vs finite differences on random programs.

Each example is a random, well-typed module drawn by ``support.fuzz_programs.programs()``
(helper functions + ``main(x, y)`` with scalar/array arithmetic, NumPy reductions and
``@``, if/else on data, for loops with loop-carried values, while loops, lists, calls;
module constants, shadowing, defaults, closures from factories, local functions).
It is written to a real ``.py`` file in a temporary directory (s2sgrad reads source with
``inspect.getsource``), imported with importlib, and ``s2sgrad.value_and_grad(main,
wrt=(0, 1))`` is compared with centered finite differences in float64 (rtol 1e-5,
atol 1e-6): value, gradient values, gradient type/shape/dtype, and that the arguments
are not mutated.  Points where a data comparison is within 1e-3 of its threshold are
skipped (finite differences would straddle a jump); so are the rare overflowing draws.
A failure prints the whole program and its arguments.

Entry points (no Makefile needed):

    .venv/bin/python -m pytest tests/test_fuzz.py          # CI: 300 programs, fixed seed
    S2SGRAD_FUZZ_EXAMPLES=5000 .venv/bin/python -m pytest tests/test_fuzz.py   # long mode

``make fuzz`` runs the second line.  CI mode (no variable) draws 300 programs from a
fixed seed and does not shrink: about 40 s of CPU (`time pytest tests/test_fuzz.py`),
and it stops at the first failure.  Long mode uses a random seed, shrinks, and writes every failing program to
``tests/regressions/<hash>.py``; those files are checked on every run by
``tests/test_regressions.py``, so a bug found once stays a test (triage it: minimize it,
and add ``XFAIL = "reason"`` while the bug is open).
"""
import atexit
import itertools
import math
import os
import shutil
import tempfile
import traceback

import numpy as np
from hypothesis import HealthCheck, Phase, assume, given, note, settings
from hypothesis.control import current_build_context

import s2sgrad

from support.fuzz_programs import (branch_margins, compare, copy_args, fd_grad, load_module,
                           programs, write_regression)

_LONG = os.environ.get("S2SGRAD_FUZZ_EXAMPLES")
EXAMPLES = int(_LONG) if _LONG else 300
REGRESSIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "regressions")

#: Skip a point whose branch decisions are closer than this to their thresholds.
MARGIN = 1e-3
#: Skip draws whose value or gradient is this large (finite differences lose digits).
MAX_VALUE = 1e4
MAX_GRAD = 1e5

_TMP = tempfile.mkdtemp(prefix="s2sgrad_fuzz_")
atexit.register(shutil.rmtree, _TMP, True)
_SERIAL = itertools.count()


class Rejected(Exception):
    """The point is not a fair test (near a jump, or overflowing)."""


def run_program(program):
    """None if s2sgrad agrees with finite differences on `program`, else a message.

    Raises Rejected when the draw is not a fair test."""
    margins = branch_margins(program)
    if margins and min(margins) < MARGIN:
        raise Rejected("branch within %g of its threshold" % min(margins))
    name = "fuzzprog_%d_%s" % (next(_SERIAL), program.digest())
    path = os.path.join(_TMP, name + ".py")
    with open(path, "w") as fh:
        fh.write(program.source)
    main = load_module(path, name).main
    args = program.args
    with np.errstate(all="ignore"):
        value = float(main(*copy_args(args)))
    if not math.isfinite(value) or abs(value) > MAX_VALUE:
        raise Rejected("value %r" % value)
    expected = fd_grad(main, args)
    if not all(np.all(np.abs(e) < MAX_GRAD) for e in expected):
        raise Rejected("gradient too large for finite differences")
    given_args = copy_args(args)
    try:
        got_value, got = s2sgrad.value_and_grad(main, wrt=(0, 1))(*given_args)
    except Exception:
        return "s2sgrad raised:\n" + traceback.format_exc(limit=-4)
    problems = []
    for a, b, n in zip(args, given_args, "xy"):
        if isinstance(a, np.ndarray) and not np.array_equal(a, b):
            problems.append("argument %s was mutated: %r -> %r" % (n, a, b))
    if not np.isclose(float(got_value), value, rtol=1e-12, atol=1e-12):
        problems.append("value %r, but main returns %r" % (got_value, value))
    msg = compare(got, expected, args)
    if msg:
        problems.append(msg)
    # forward mode on the same program: <J v> must equal <grad, v> for a direction v
    rng = np.random.default_rng(len(program.source))
    direction = tuple(rng.normal(size=np.shape(a)) if isinstance(a, np.ndarray)
                      else float(rng.normal()) for a in args)
    try:
        _, jv = s2sgrad.jvp(main)(copy_args(args), direction)
    except Exception:
        problems.append("s2sgrad.jvp raised:\n" + traceback.format_exc(limit=-4))
    else:
        expected_jv = sum(float(np.sum(np.asarray(e) * np.asarray(d)))
                          for e, d in zip(expected, direction))
        if not np.isclose(float(np.sum(jv)), expected_jv, rtol=1e-5, atol=1e-6):
            problems.append("jvp %r, but finite differences give %r" % (float(np.sum(jv)),
                                                                       expected_jv))
    return "\n".join(problems) or None


#: CI mode does not shrink (a failure is reported at once, as drawn, so the run stays
#: well under a minute); long mode shrinks to a small program before saving it.
PHASES = (Phase.explicit, Phase.reuse, Phase.generate) + ((Phase.shrink,) if _LONG else ())


@settings(max_examples=EXAMPLES, derandomize=not _LONG, deadline=None, phases=PHASES,
          database=None if not _LONG else settings.default.database,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                 HealthCheck.data_too_large, HealthCheck.large_base_example])
@given(programs())
def test_gradient_matches_finite_differences(program):
    try:
        problem = run_program(program)
    except Rejected as why:
        note(str(why))
        assume(False)
        return
    if problem is None:
        return
    report = "%s\n\n--- program ---\n%s\n%s" % (problem, program.source,
                                                program.args_source())
    if _LONG and current_build_context().is_final:
        path = write_regression(REGRESSIONS, program, problem)
        report += "\nwritten to %s" % path
    raise AssertionError(report)
