"""Printing, f-strings and dict idioms in differentiated code.

An f-string or a print that does not touch the gradient is no reason to refuse a function:
the text carries no gradient, a print of an active value prints the value, once per call.
`d.get(k, default)`, `dict(zip(keys, values))`, `dict([(k, v), ...])`, dict comprehensions
and `sorted(d.items(), key=...)` (a module-level function or a lambda, reverse or not) are
differentiated through the values. Gradients against centered finite differences in float64;
forward mode (jvp) against the directional difference.
"""
import operator

import numpy as np
import pytest

import s2sgrad
from s2sgrad.errors import TransformError

from support.numeric import assert_grad_matches, numerical_grad

X = np.array([0.3, -1.2, 0.8])


def logged(x):
    loss = np.sum(np.tanh(x) ** 2)
    print(f"loss {loss:.4f} at {x!r}", "sum", np.sum(x))
    note = f"{{literal}} {x[0]:>8.3f}"
    print(note)
    return loss * 2.0


def logged_in_loop(x):
    h = x
    for i in range(3):
        h = np.sin(h) * x
        print(f"step {i}: {np.sum(h)}")
    return np.sum(h * h)


def test_print_and_fstrings_do_not_block_the_gradient(capsys):
    assert_grad_matches(logged, X.copy())
    capsys.readouterr()
    s2sgrad.grad(logged)(X.copy())
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2, out                                     # printed once per call
    assert out[0] == f"loss {np.sum(np.tanh(X) ** 2):.4f} at {X!r} sum {np.sum(X)}"
    assert out[1] == f"{{literal}} {X[0]:>8.3f}"


def test_print_in_a_loop_prints_each_step_once(capsys):
    assert_grad_matches(logged_in_loop, X.copy())
    capsys.readouterr()
    s2sgrad.value_and_grad(logged_in_loop)(X.copy())
    out = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in out] == ["step 0", "step 1", "step 2"]
    s2sgrad.jvp(logged_in_loop)((X.copy(),), (np.ones(3),))
    assert len(capsys.readouterr().out.splitlines()) == 3


def fstring_computed_spec(x):
    width = 8
    print(f"{np.sum(x):{width}}")
    return np.sum(x)


def test_a_computed_format_spec_is_refused():
    with pytest.raises(TransformError, match="computed format spec"):
        s2sgrad.grad(fstring_computed_spec)(X.copy())


# ------------------------------------------------------------------ dicts
def get(x):
    d = {"w": x, "b": x[0] * 2.0}
    scale = d.get("scale", 1.5)
    return np.sum(d.get("w") ** 2) * scale + d.get("b", 0.0) * d.get("missing", x[1])


def dict_zip(x):
    names = ["a", "b", "c"]
    d = dict(zip(names, [x, x * x, np.sin(x)]))
    return np.sum(d["a"] * d["b"]) + np.sum(d["c"])


def dict_pairs(x):
    d = dict([("a", x[0]), ("b", x[1:] * 3.0)])
    return d["a"] * np.sum(d["b"] ** 2)


def dict_comprehension(x):
    d = {k: x * w for k, w in zip(["u", "v"], [2.0, -1.0])}
    return np.sum(d["u"] * np.exp(d["v"]))


def key_name(item):
    return item[0]


def sorted_by_name(x):
    d = {"b": x, "a": 2.0 * x, "c": -x}
    t = 0.0
    for k, v in sorted(d.items(), key=key_name):
        t = t * 3.0 + np.sum(v)
    return t


def sorted_by_lambda(x):
    d = {"b": x, "a": 2.0 * x, "c": -x}
    t = 0.0
    for k, v in sorted(d.items(), key=lambda kv: kv[0]):
        t = t * 3.0 + np.sum(v * v)
    return t


def sorted_by_value_reversed(x):
    d = {"b": x, "a": 2.0 * x, "c": x[::-1] * 0.5}
    t = 0.0
    for k, v in sorted(d.items(), key=lambda kv: np.sum(kv[1]), reverse=True):
        t = t * 3.0 + np.sum(np.sin(v))
    return t


def sorted_items_itemgetter(x):
    d = {"b": x[0], "a": x[1], "c": x[2]}
    order = sorted(d.items(), key=operator.itemgetter(1), reverse=True)
    return order[0][1] * 3.0 + order[1][1] ** 2 + order[2][1]


def sorted_plain(x):
    d = {"b": x[0], "a": x[1] * 2.0}
    pairs = sorted(d.items())
    return pairs[0][1] * 5.0 + pairs[1][1]


CASES = [get, dict_zip, dict_pairs, dict_comprehension, sorted_by_name, sorted_by_lambda,
         sorted_by_value_reversed, sorted_items_itemgetter, sorted_plain]


@pytest.mark.parametrize("f", CASES, ids=lambda f: f.__name__)
def test_dict_idioms_match_finite_differences(f):
    assert_grad_matches(f, X.copy())


@pytest.mark.parametrize("f", CASES, ids=lambda f: f.__name__)
def test_dict_idioms_forward_mode(f):
    v = np.array([0.4, -0.7, 1.1])
    out, tangent = s2sgrad.jvp(f)((X.copy(),), (v,))
    h = 1e-6
    np.testing.assert_allclose(out, f(X), rtol=1e-12)
    np.testing.assert_allclose(tangent, (f(X + h * v) - f(X - h * v)) / (2 * h),
                               rtol=1e-6, atol=1e-8)


def test_the_sort_order_follows_the_values():
    """Sorting by value picks a different order at another point: each order compiles to
    the same code and is recomputed per call."""
    y = np.array([-2.0, 0.5, 0.1])
    assert_grad_matches(sorted_by_value_reversed, y)


def sorted_computed_reverse(x, flag):
    d = {"a": x, "b": 2.0 * x}
    return np.sum(sorted(d.items(), key=lambda kv: kv[0], reverse=flag)[0][1])


def dict_of_a_dict(x):
    d = {"a": x}
    return np.sum(dict(d)["a"])


def sorted_two_parameter_lambda(x):
    d = {"a": x, "b": 2.0 * x}
    return np.sum(sorted(d.items(), key=lambda kv, extra=1: kv[0])[0][1])


@pytest.mark.parametrize("f, args, what", [
    (sorted_computed_reverse, (X, True), "computed `reverse=`"),
    (sorted_two_parameter_lambda, (X,), "lambda")], ids=lambda v: getattr(v, "__name__", ""))
def test_what_is_not_lowered_is_refused(f, args, what):
    with pytest.raises(TransformError, match=what) as info:
        s2sgrad.grad(f)(*args)
    assert "test_text_and_dicts.py" in str(info.value)


def test_dict_of_a_dict_is_its_copy():
    """`dict(d)` of a dict is `d.copy()` (it was refused as `builtins.dict`)."""
    np.testing.assert_allclose(s2sgrad.grad(dict_of_a_dict)(X),
                               numerical_grad(dict_of_a_dict, (X,), 0), rtol=1e-6)


# ---------------------------------------------- d.values() and d.items() read as values

def sum_of_dict_values(x):
    d = {k: x[k] * (k + 1) for k in range(3)}
    return sum(d.values()) + d[2] ** 2


def concatenated_dict_values(x):
    d = {"a": x[:2] ** 2, "b": np.sin(x[1:])}
    return np.sum(np.concatenate(list(d.values())) * np.arange(4.0))


def list_of_dict_items(x):
    d = {"a": x[0], "bb": x[1] * x[2]}
    return sum(v * len(k) for k, v in list(d.items()))


def l2_of_params(params):
    return sum(np.sum(p ** 2) for p in params.values())


def l2_of_a_dict_display(x):
    return l2_of_params({"w": x[:2], "b": x[2]})


@pytest.mark.parametrize("f", [sum_of_dict_values, concatenated_dict_values,
                               list_of_dict_items, l2_of_a_dict_display])
def test_dict_values_and_items_as_values(f):
    assert_grad_matches(f, X.copy())


def test_values_of_a_dict_argument():
    params = {"w": np.array([0.5, -1.0]), "b": 0.3}
    g = s2sgrad.grad(l2_of_params)(params)
    np.testing.assert_allclose(g["w"], 2 * params["w"])
    assert g["b"] == pytest.approx(0.6)
