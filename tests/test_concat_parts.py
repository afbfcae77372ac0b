"""`optimize.concat`: the adjoints of the arrays np.concatenate joined, written as slices
of the joined array's adjoint where the items' lengths are known. Checked against
centred finite differences (grad, value_and_grad); the source checks say which form
was written, and where the helpers must stay."""
import numpy as np
import pytest

import s2sgrad
from s2sgrad.optimize.concat import spell_concat_parts
from s2sgrad.optimize.kinds import parameter_sizes

from support.numeric import assert_grad_matches, assert_value_and_grad_matches
from support.source_passes import gradient_source, run_pass

R = np.random.default_rng(19)


def joined_state(W, h, x):                       # a cell on one sequence step
    hx = np.concatenate([h, x])
    return np.sum(np.tanh(hx @ W) ** 2)


def joined_features(W, A, B):                    # features joined along axis 1
    return np.sum(np.sin(np.concatenate([A, B], axis=-1) @ W))


def three_parts(a, b, c):                        # the middle part's adjoint unused
    v = np.concatenate([a, 2.0 * np.ones(3), c * b[0]])
    return np.sum(v * np.arange(v.size)) + np.sum(np.cos(v))


def loop_of_cells(W, xs):                        # a recurrence joining state and input
    h = np.zeros(W.shape[1])
    for t in range(len(xs)):
        h = np.tanh(np.concatenate([h, xs[t]]) @ W)
    return np.sum(h)


CASES = [
    (joined_state, (R.standard_normal((5, 3)), R.standard_normal(3), R.standard_normal(2)),
     (0, 1, 2)),
    (joined_features, (R.standard_normal((5, 2)), R.standard_normal((4, 3)),
                       R.standard_normal((4, 2))), (0, 1, 2)),
    (three_parts, (R.standard_normal(2), R.standard_normal(2), R.standard_normal(4)),
     (0, 1, 2)),
    (loop_of_cells, (0.5 * R.standard_normal((5, 3)), R.standard_normal((4, 2))), 0),
]
IDS = [f.__name__ for f, _, _ in CASES]


@pytest.mark.parametrize("f, args, wrt", CASES, ids=IDS)
def test_gradients_match_finite_differences(f, args, wrt):
    assert_grad_matches(f, *args, wrt=wrt)
    assert_value_and_grad_matches(f, *args, wrt=wrt)


@pytest.mark.parametrize("k, parts", [
    (0, ["h_bar = hx_bar[:W.shape[1]]", "x_bar = hx_bar[W.shape[1]:]"]),   # (h: W's columns)
    (1, ["[:, :A.shape[1]]", "[:, A.shape[1]:]"]),
    (3, ["[:W.shape[1]]"]),
])
def test_parts_are_slices(k, parts):
    src = gradient_source(*CASES[k])
    assert "concat_grads" not in src and "getitem_grad" not in src, src
    for p in parts:
        assert p in src, src


def _optimized(text, lists, shapes):
    return run_pass(text, lambda fdef, shapes_of: spell_concat_parts(
        fdef, lists, shapes_of, lambda found: parameter_sizes(fdef, found)), shapes)


LISTS = {"v": (("n",), (3,), ("m",))}
SHAPES = {"a": ("n",), "b": ("m",), "g": ("k",)}


def test_source_in_source_out():
    text = (
        "def f(a, b, g):\n"
        "    v_bar = concat_grads(g, v, 0)\n"
        "    a_bar = getitem_grad(v_bar, 0)\n"
        "    b_bar = getitem_grad(v_bar, -1)\n"
        "    return a_bar, b_bar\n")
    out = _optimized(text, LISTS, SHAPES)
    assert "a_bar = g[:a.shape[0]]" in out, out
    assert "b_bar = g[a.shape[0] + 3:]" in out, out
    assert "concat_grads" not in out, out


@pytest.mark.parametrize("reads", [
    "    a_bar = getitem_grad(v_bar, 0)\n    c_bar = v_bar\n",           # read whole
    "    g = g * 2.0\n    a_bar = getitem_grad(v_bar, 0)\n",              # g bound again
    "    a_bar = getitem_grad(v_bar, i)\n",                              # position unknown
])
def test_left_alone(reads):
    text = ("def f(a, b, g, i):\n"
            "    v_bar = concat_grads(g, v, 0)\n" + reads + "    return a_bar\n")
    out = _optimized(text, LISTS, SHAPES)
    assert "concat_grads" in out, out


def test_lengths_no_parameter_has_are_left_alone():
    text = ("def f(g):\n"
            "    v_bar = concat_grads(g, v, 0)\n"
            "    a_bar = getitem_grad(v_bar, 0)\n"
            "    return a_bar\n")
    out = _optimized(text, LISTS, {"g": ("k",)})
    assert "concat_grads" in out, out
