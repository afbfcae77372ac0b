"""Audit of NumPy's public namespace: every callable of `numpy` and `numpy.linalg` is
exactly one of

- a rule (an adjoint registered for it),
- declared non-differentiable (a list in the rules registry: integer or boolean
  outputs, constructors from shapes, predicates), or
- refused at transform time when a value that depends on the differentiated input
  reaches it (checked here by differentiating a function that applies it).

There is no fourth category: a NumPy callable whose gradient would silently be zero
fails this test. The declared non-differentiable names are checked numerically too: their
outputs are integers or booleans, or do not move under a small change of a float input.
"""
import importlib.util
import warnings

import numpy as np
import numpy.linalg
import pytest

import s2sgrad
from s2sgrad import rules
from s2sgrad.errors import TransformError

MODULES = {"np": np, "np.linalg": np.linalg}


def _callables():
    """(dotted name, object) for each public callable, once per object."""
    seen, out = set(), []
    for prefix, module in MODULES.items():
        for name in sorted(dir(module)):
            if name.startswith("_"):
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    obj = getattr(module, name)
                except AttributeError:
                    continue
            if not callable(obj) or id(obj) in seen:
                continue
            seen.add(id(obj))
            out.append((f"{prefix}.{name}", obj))
    return out


CALLABLES = _callables()


def _category(obj):
    has_rule = rules.lookup(obj) is not None
    declared = rules.is_nondifferentiable(obj)
    assert not (has_rule and declared), "both a rule and declared non-differentiable"
    return "rule" if has_rule else "nondiff" if declared else "refused"


@pytest.fixture(scope="module")
def appliers(tmp_path_factory):
    """A module with one function per NumPy callable that is neither a rule nor declared
    non-differentiable: `def f_k(x): return np.sum(CALLABLE(x, x) * x)` (the transform refuses
    it before anything runs, so the arguments need not fit the signature)."""
    refused = [(n, o) for n, o in CALLABLES if _category(o) == "refused"]
    lines = ["import numpy as np", "import numpy.linalg", ""]
    for k, (name, _) in enumerate(refused):
        lines += [f"def f_{k}(x):", f"    y = {name}(x, x)", "    return np.sum(y * x)", ""]
    path = tmp_path_factory.mktemp("audit") / "numpy_appliers.py"
    path.write_text("\n".join(lines))
    spec = importlib.util.spec_from_file_location("numpy_appliers", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {name: getattr(module, f"f_{k}") for k, (name, _) in enumerate(refused)}


def test_the_namespace_is_walked():
    """The walk finds NumPy's callables (a guard against an empty audit)."""
    names = {n for n, _ in CALLABLES}
    assert len(CALLABLES) > 400
    assert {"np.sin", "np.einsum", "np.linalg.norm", "np.argmax", "np.busday_count"} <= names


def test_every_callable_is_a_rule_declared_or_refused(appliers):
    """No fourth category: each callable without a rule and not declared
    non-differentiable is refused at transform time when an active array reaches it."""
    x = np.array([0.3, 1.7])
    not_refused = []
    for name, f in appliers.items():
        try:
            s2sgrad.grad(f)(x)
        except TransformError as e:
            assert "numpy_appliers.py" in str(e) and "^" in str(e), (name, str(e))
            continue
        except Exception as e:                  # an internal error, not a refusal
            not_refused.append(f"{name}: {type(e).__name__}: {e}")
            continue
        not_refused.append(f"{name}: differentiated without a rule")
    assert not not_refused, "\n".join(not_refused)


def test_categories_are_exclusive_and_counted():
    counts = {}
    for _, obj in CALLABLES:
        cat = _category(obj)
        counts[cat] = counts.get(cat, 0) + 1
    assert set(counts) == {"rule", "nondiff", "refused"}
    assert counts["rule"] > 100


# ------------------------------------------------------- the declared list, checked

X = np.array([0.3, 1.7, -2.2, 0.45])
Y = np.array([0.25, 1.9, -2.0, 0.45])
UNINITIALIZED = {id(np.empty), id(np.empty_like)}     # values undefined by design


def _apply(f, x, y):
    """f applied to float inputs in the first signature it accepts."""
    for args in ((x,), (x, y), (np.sort(x), y), (x, np.sort(y)), (x, 1),
                 (np.reshape(np.r_[x, y], (2, 4)),), (np.shape(x), x), (x[0], x[1])):
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                return f(*args), args
        except Exception:
            continue
    # made from sizes, shapes or integer indices only: np.eye(3), np.indices((2, 2))
    for args in ((3,), ((2, 2),), (np.zeros((2, 2)),), (np.array([1, 2]), (2, 2)),
                 ((np.array([1, 0]), np.array([0, 1])), (2, 2))):
        try:
            return f(*args), None
        except Exception:
            continue
    raise AssertionError(f"no sample call for {f}")


def _flat(value):
    """The output's arrays (a dtype, type or shape is kept as an object array)."""
    values = value if isinstance(value, tuple) else (value,)
    out = []
    for v in values:
        try:
            out.append(np.asarray(v))
        except TypeError:
            out.append(np.array([repr(v)], dtype=object))
    return out


def _declared():
    return [(n, o) for n, o in CALLABLES if _category(o) == "nondiff"]


def _follows_input(f):
    """Does a float output of f move under a small change of its float inputs?"""
    out, args = _apply(f, X, Y)
    if args is None or id(f) in UNINITIALIZED:
        return False    # made from sizes only (or uninitialized): nothing flows in
    moved, _ = _apply(f, X + 1e-7 * np.arange(1.0, 5.0), Y + 1e-7)
    return any(a.dtype.kind not in "biuUO" and not np.array_equal(a, b)
               for a, b in zip(_flat(out), _flat(moved)))


@pytest.mark.parametrize("name, f", _declared(), ids=[n for n, _ in _declared()])
def test_declared_nondifferentiable_outputs_do_not_follow_the_input(name, f):
    assert not _follows_input(f), f"{name} follows its float input"


def test_the_check_catches_constructors_of_values():
    """The numerical check is not vacuous: np.full, np.full_like, np.linspace and
    np.arange follow their float arguments, so declaring them would fail it."""
    for f in (np.full, np.full_like, np.linspace, np.arange, np.sin):
        assert _follows_input(f), f


def test_constants_of_constant_arguments_follow_them():
    """The functions declared constants of constant arguments really do move with
    their arguments (which is why an active one is refused)."""
    assert not np.array_equal(np.full(2, 1.0), np.full(2, 1.0 + 1e-7))
    assert not np.array_equal(np.arange(0.5, 3.0), np.arange(0.5 + 1e-7, 3.0))
    for f in (np.full, np.arange, np.full_like, np.random.normal):
        assert id(f) in rules.CONSTANT_ARGS and not rules.is_nondifferentiable(f)
