"""Defects found by running other people's code: each either gets the right gradient
(checked against finite differences or a closed form) or a located refusal, never a
wrong number or an exception from inside s2sgrad."""
import importlib.util
import sys

import numpy as np
import pytest

from s2sgrad.tools.cli import main
from support.numeric import assert_grad_matches, numerical_grad


def _load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------- s2sgrad transform: top-level statements

TOP_LEVEL = '''\
"""Top-level statements of several kinds."""
import math; import numpy as np  # a comment; with a semicolon
k = 2.0
k = k * 3; m = 1.0
k *= 2
s = "a;b"; t = 'x = 1; y = 2'
big = (1.0 +
       2.0)
if k > 1:
    scale = 2.0
else:
    scale = 3.0
w = np.array([1.0,
              2.0])


def _marked(f):
    f.marked = True
    return f


@_marked
def f(x):
    return k * x * m * scale + big * x + math.sqrt(2.0) * np.sum(w) * x
'''


@pytest.mark.parametrize("imported", [False, True])
def test_transform_keeps_top_level_values(tmp_path, capsys, imported):
    src = tmp_path / "toplevel.py"
    src.write_text(TOP_LEVEL)
    out = tmp_path / "toplevel_grad.py"
    argv = ["transform", str(src), "-o", str(out)] + (["--import"] if imported else [])
    assert main(argv) == 0, capsys.readouterr().err
    given = _load(src, "toplevel_in_" + str(imported))
    written = _load(out, "toplevel_out_" + str(imported))
    for name in ("k", "m", "s", "t", "big", "scale", "w", "math", "np"):
        assert np.all(getattr(written, name) == getattr(given, name)), name
    assert getattr(written.f, "marked", False)          # the decorator was applied
    closed = given.k * given.m * given.scale + given.big + np.sqrt(2.0) * 3.0
    assert written.grad_f(0.5) == pytest.approx(closed, rel=1e-12)
    assert closed == pytest.approx(numerical_grad(given.f, (0.5,)), rel=1e-7)


LOOPED = '''\
k = 2.0
for i in range(2):
    k = k * 3
m = k * 2.0
table = {"a": 1.0}


def f(x):
    return k * x * m


def g(x):
    return x * table["a"]
'''


def test_transform_refuses_a_value_it_cannot_copy(tmp_path, capsys):
    src = tmp_path / "looped.py"
    src.write_text(LOOPED)
    code = main(["transform", str(src), "-o", str(tmp_path / "g.py")])
    err = capsys.readouterr().err
    assert code != 0 and "looped.py:2" in err and "`k`" in err, err


def test_transform_with_import_writes_the_values_the_module_computed(tmp_path, capsys):
    src = tmp_path / "looped.py"
    src.write_text(LOOPED)
    out = tmp_path / "looped_grad.py"
    assert main(["transform", str(src), "--import", "-o", str(out), "-f", "f"]) == 0
    capsys.readouterr()
    given, written = _load(src, "looped_in"), _load(out, "looped_out")
    assert (written.k, written.m) == (given.k, given.m) == (18.0, 36.0)
    assert written.grad_f(1.0) == 18.0 * 36.0


# ------------------------------------------------------------ a value that can be None

from s2sgrad import grad, value_and_grad, GradientError, TransformError, S2SGradError  # noqa: E402


def no_return(w):
    x = np.sum(w)  # <- END


def returns_on_one_path(w):
    if w > 0:
        return w * 2.0  # <- END


def bare_return(w):
    y = w * 2.0
    return  # <- RETURN


def returns_none(w):
    return None  # <- RETURN


def _helper_without_return(x):
    y = x * 2.0


def returns_a_callees_none(x):
    return _helper_without_return(x)


def returns_in_every_branch(w):
    if w > 0:
        return w * 2.0
    else:
        return w * 3.0


def _marked_line(func, marker):
    import inspect
    lines, first = inspect.getsourcelines(func)
    return first + next(i for i, line in enumerate(lines) if f"# <- {marker}" in line)


@pytest.mark.parametrize("func,arg", [(no_return, np.ones(3)), (returns_on_one_path, -1.0)])
def test_falling_off_the_end_is_refused_at_the_def(func, arg):
    with pytest.raises(TransformError) as info:
        grad(func)(arg)
    err = info.value
    assert err.lineno == func.__code__.co_firstlineno and err.filename == __file__
    assert "without a `return`" in str(err) and f"line {_marked_line(func, 'END')}" in str(err)


@pytest.mark.parametrize("func", [bare_return, returns_none])
def test_returning_none_is_refused_at_the_return(func):
    with pytest.raises(TransformError) as info:
        grad(func)(1.0)
    assert info.value.lineno == _marked_line(func, "RETURN")
    assert "returns None" in str(info.value)


def test_none_from_a_callee_is_an_error_at_call_time():
    with pytest.raises(GradientError, match="returned None"):
        grad(returns_a_callees_none)(1.0)


def test_a_return_on_every_path_is_accepted():
    assert grad(returns_in_every_branch)(1.5) == 2.0
    assert grad(returns_in_every_branch)(-1.5) == 3.0


def test_lint_reports_a_missing_return(tmp_path, capsys):
    src = tmp_path / "noreturn.py"
    src.write_text("import numpy as np\n\n\ndef f(w):\n    x = np.sum(w)\n")
    main(["lint", str(src)])
    out = capsys.readouterr().out
    assert "noreturn.py:4" in out and "without a `return`" in out


# ------------------------------------------------------------- outputs that are not scalars

def returns_a_tuple(x):
    return x * 2.0, x  # <- BUILT


def returns_a_named_tuple(x):
    t = (x * 2.0, x)  # <- BUILT
    return t


def returns_a_list(x):
    return [x, x]  # <- BUILT


def returns_a_dict(x):
    return {"a": x}  # <- BUILT


def returns_an_array(x):
    return x * np.ones(3)


@pytest.mark.parametrize("func", [returns_a_tuple, returns_a_named_tuple, returns_a_list,
                                  returns_a_dict])
def test_a_container_output_is_refused_where_it_is_built(func):
    with pytest.raises(TransformError) as info:
        grad(func)(1.0)
    assert "needs a scalar output" in str(info.value)
    assert info.value.lineno == _marked_line(func, "BUILT")


def test_an_array_output_is_refused():
    with pytest.raises(GradientError, match=r"needs a scalar output.*shape \(3,\)"):
        grad(returns_an_array)(1.0)


# ------------------------------------------------------------------ call-time surprises

def two(x, y):
    return x * y


def takes_args(*args):
    return args[0] * args[1]


def test_a_ufunc_is_refused_with_what_to_write():
    with pytest.raises(S2SGradError, match=r"np\.sin.*NumPy ufunc.*def f\(x\): return np\.sin\(x\)"):
        grad(np.sin)(0.5)


def test_varargs_wrt_counts_positional_arguments_and_says_what_is_unsupported():
    assert grad(takes_args, wrt=1)(1.5, 2.0) == pytest.approx(1.5)
    with pytest.raises(S2SGradError, match=r"\*args"):
        grad(takes_args, wrt=-1)


def test_a_missing_argument_names_the_users_function():
    with pytest.raises(TypeError) as info:
        value_and_grad(two, wrt=(0, 1))(1.0)
    assert str(info.value) == "value_and_grad of two() missing 1 required positional " \
                              "argument: 'y'"
    with pytest.raises(TypeError, match=r"^grad of two\(\) takes 2 positional arguments "
                                        r"but 3 were given$"):
        grad(two)(1.0, 2.0, 3.0)


def _floor(x):
    return np.floor(x)


def test_numbers_in_messages_print_as_numbers():
    from s2sgrad import check_grad, CheckError
    from s2sgrad.tools.explain import fmt
    with pytest.raises(CheckError) as info:      # a step: finite differences see a jump
        check_grad(_floor, 1.0)
    assert "np.float64" not in str(info.value) and "s2sgrad 0.0," in str(info.value)
    assert fmt(np.True_) == "True" and fmt(np.float64(1.13)) == "1.1300"


# -------------------------------------------------------------- lists and dicts

def list_stats(v):
    return sum(v) / len(v) + max(v) * min(v)


def test_builtin_reductions_of_a_list_argument():
    v = [1.0, 2.5, 3.0, 0.5]
    got = grad(list_stats)(v)
    expected = [0.25] * 4
    expected[2] += min(v)          # d(max·min)/d max-element = min
    expected[3] += max(v)
    assert isinstance(got, list)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    as_array = numerical_grad(lambda a: list_stats(list(a)), (np.array(v),))
    np.testing.assert_allclose(got, as_array, rtol=1e-7)


def loop_over_a_local_dict(x):
    d = {"a": x, "b": x * 2.0}
    s = 0.0
    for k in d:
        s = s + d[k] * d[k]
    return s


def loop_over_a_dict_argument(d):
    s = 0.0
    for k in d:
        s = s + d[k] * d[k] * d[k]
    return s


def loop_over_a_list_argument(xs):
    s = 0.0
    for x in xs:
        s = s + x * x * x
    return s


def test_for_over_a_dict_iterates_its_keys():
    assert grad(loop_over_a_local_dict)(1.5) == pytest.approx(2 * 1.5 + 8 * 1.5)
    d = {"a": 1.0, "b": -2.0}
    assert grad(loop_over_a_dict_argument)(d) == {"a": 3.0, "b": 12.0}
    ints = {0: 2.0, 1: 3.0}            # integer keys: a step must still read the key
    assert grad(loop_over_a_dict_argument)(ints) == {0: 12.0, 1: 27.0}
    # the same function compiled for a list argument stays a loop over the elements
    assert grad(loop_over_a_list_argument)([1.0, 2.0]) == [3.0, 12.0]


def test_lint_agrees_with_the_compiler_on_dict_loops(tmp_path, capsys):
    src = tmp_path / "dictloop.py"
    src.write_text("def f(x):\n    d = {'a': x, 'b': x * 2.0}\n    s = 0.0\n"
                   "    for k in d:\n        s = s + d[k]\n    return s\n")
    assert main(["lint", str(src)]) == 0
    out, err = capsys.readouterr()
    assert "no problems" in out + err
    assert main(["check", f"{src}:f", "--at", "1.5"]) == 0, capsys.readouterr()


# ------------------------------------------------------------------- NumPy rules

def split_unequal(x):
    a, b, c = np.array_split(x, 3)
    return np.sum(a ** 2) + np.sum(b * 3.0) + np.sum(c ** 3)


def split_unequal_rows(x):
    parts = np.array_split(x, 2, axis=1)
    return np.sum(parts[0] ** 2) + np.sum(np.sin(parts[1]))


def hstack_of_one_array(x):
    return np.sum(np.hstack(x) ** 2 * np.arange(3.0))


def hstack_of_a_matrix(x):
    return np.sum(np.hstack(x) ** 2 * np.arange(6.0))


def vstack_of_a_matrix(x):
    return np.sum(np.vstack(x) ** 3)


def std_over_length_one_axis(x):
    return np.sum(np.std(x, axis=1) * np.array([1.0, 2.0, 3.0])) + np.sum(np.std(x, axis=0))


def var_and_std_of_a_scalar(x):
    return np.std(x) + np.var(x) + x * 2.0


def std_of_a_column(x):
    return np.sum(np.std(x, axis=1, keepdims=True) + np.var(x, axis=1))


@pytest.mark.parametrize("func,x", [
    (split_unequal, np.arange(7.0) / 3.0),
    (split_unequal_rows, np.arange(15.0).reshape(3, 5) / 7.0),
    (hstack_of_one_array, np.array([1.0, 2.0, 3.0])),
    (hstack_of_a_matrix, np.arange(6.0).reshape(2, 3) / 5.0),
    (vstack_of_a_matrix, np.arange(6.0).reshape(2, 3) / 5.0),
    (std_over_length_one_axis, np.array([[1.0], [2.0], [4.0]])),
    (var_and_std_of_a_scalar, 1.5),
    (std_of_a_column, np.array([[1.0], [-2.0]])),
])
def test_numpy_rules_against_finite_differences(func, x):
    with np.errstate(all="raise"):             # no NaN, no division by zero on the way
        assert_grad_matches(func, x)


def test_std_of_one_element_has_zero_second_derivative():
    assert grad(grad(var_and_std_of_a_scalar))(1.5) == 0.0     # std, var of a scalar are 0


# ------------------------------------------------------------- s2sgrad graph labels

GRAPHED = '''\
import numpy as np


def branch(x):
    if x > 0:
        x = x * 2.0
    return x * x


def loop(x):
    for i in range(3):
        x = x * 2.0
    return x * x


def array_loop(x):
    y = x
    for i in range(3):
        y = np.sin(y) * x
    return np.sum(y)
'''


def _edge_labels(tmp_path, capsys, name, at):
    import re
    src = tmp_path / "graphed.py"
    src.write_text(GRAPHED)
    out = tmp_path / f"{name}.dot"
    assert main(["graph", f"{src}:{name}", "--at", *at, "-o", str(out)]) == 0
    capsys.readouterr()
    return re.findall(r'-> \w+ \[label="([^"]*)"', out.read_text())


def _numbers(label):
    import re
    return [float(v) for v in re.findall(r"= (-?\d+\.\d+)", label)]


def test_graph_labels_after_a_reassignment_in_a_branch(tmp_path, capsys):
    labels = _edge_labels(tmp_path, capsys, "branch", ["3.0"])
    # x = 3 → x_new = 6 → x (6), output 36; adjoints: x_new̄ = 2·6, output 1
    truth = {"x": 3.0, "x_new": 6.0, "x_new_bar": 12.0, "v1": 36.0, "v̄1": 1.0}
    shown = 0
    for label in labels:
        for part in label.split("\\n"):
            name = part.split(" ")[0]
            for v in _numbers(part):
                assert name in truth and v == pytest.approx(truth[name]), label
                shown += 1
    assert shown >= 4
    assert not any("x̄ = 24" in label for label in labels)


def test_graph_labels_in_a_loop_are_the_last_iteration_or_nothing(tmp_path, capsys):
    labels = _edge_labels(tmp_path, capsys, "loop", ["3.0"])
    text = "\n".join(labels)
    assert "ShapeOf" not in text and "None" not in text
    assert "x_new = 24.0000 (last iteration)" in labels     # 3·2³, the third step's value
    assert not any("_bar" in label and "last iteration" in label for label in labels)
    labels = _edge_labels(tmp_path, capsys, "array_loop", ["[0.5, 1.5]"])
    text = "\n".join(labels)
    assert "ShapeOf" not in text and "None" not in text
    x = np.array([0.5, 1.5])
    y = x
    for _ in range(2):
        y = np.sin(y) * x
    last_sin = np.sin(y)                                   # v1 in the third step
    assert any(label.startswith("v1 = ") and "(last iteration)" in label
               and f"[{last_sin[0]:.4f}, {last_sin[1]:.4f}]" in label for label in labels)

    def array_loop(x):
        y = x
        for i in range(3):
            y = np.sin(y) * x
        return np.sum(y)
    fd = numerical_grad(array_loop, (x,))
    assert f"x̄ = array(2,) float64 [{fd[0]:.4f}, {fd[1]:.4f}]" in text


def test_explain_shows_an_adjoint_reset_so_rows_add_up(tmp_path, capsys):
    src = tmp_path / "graphed.py"
    src.write_text(GRAPHED)
    assert main(["explain", f"{src}:branch", "--at", "3.0"]) == 0
    rows = [r.strip() for r in capsys.readouterr().out.splitlines()]
    back = rows[rows.index(next(r for r in rows if r.startswith("backward pass"))):]
    values = [(r.split("=")[0].strip(), float(r.rsplit("=", 1)[1].split()[0]))
              for r in back if r.count("=") >= 2]
    # x̄ = 2·v̄1·x = 12 (x = 6); then the branch: x_new̄ = 12, x̄ restarts at 0 for the
    # argument, x̄ = 0 + 2·x_new̄ = 24: each row's value follows from the rows above it
    assert [v for _, v in values] == [1.0, 12.0, 12.0, 0.0, 24.0]


def _pair(x):
    return x * 2.0, x


def returns_a_callees_tuple(x):
    return _pair(x)


def test_a_callees_container_output_is_a_scalar_output_error():
    with pytest.raises(TransformError, match="needs a scalar output"):   # inlined
        grad(returns_a_callees_tuple)(1.0)
    with pytest.raises(GradientError, match="needs a scalar output"):    # a pair
        grad(returns_a_callees_tuple, optimize=False)(1.0)


def test_explain_of_a_dict_argument_loops_over_its_keys():
    import s2sgrad
    table = s2sgrad.explain(loop_over_a_dict_argument, {"a": 1.0, "b": -2.0})
    assert "{'a': 3.0, 'b': 12.0}" in str(table)
