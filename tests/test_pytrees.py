"""Parameter containers (pytrees), JAX's conventions: the gradient with respect to nested
dicts, lists, tuples, NamedTuples and dataclass instances has their type and structure;
float leaves are differentiated, other leaves (ints, strings, None, bools) carried over
unchanged; attribute reads (`params.W`, `layer.b`) are differentiable in the function,
in the helpers it calls and in loops; `tree_map`/`tree_leaves`.

The oracle is centered finite differences over the float leaves, flattened by the
walk below (written here, independent of s2sgrad's own tree functions)."""
import copy
import dataclasses
from typing import NamedTuple

import numpy as np
import pytest

import s2sgrad
from s2sgrad import grad, tree_leaves, tree_map, value_and_grad
from s2sgrad.errors import GradientError, TransformError

from support.numeric import numerical_grad


# ---------------------------------------------------------------- the oracle

def _float_leaf(x):
    if isinstance(x, bool):
        return False
    if isinstance(x, np.ndarray):
        return x.dtype.kind == "f"
    return isinstance(x, float)


def _children(x):
    """(kind, [(key, child)]) of a container, or None for a leaf."""
    if isinstance(x, dict):
        return list(x.items())
    if isinstance(x, (list, tuple)):
        return list(enumerate(x))
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return [(f.name, getattr(x, f.name)) for f in dataclasses.fields(x)]
    return None


def flat(x):
    """The float leaves of `x`, raveled into one float64 vector."""
    kids = _children(x)
    if kids is not None:
        parts = [flat(v) for _, v in kids]
        return np.concatenate(parts) if parts else np.zeros(0)
    if _float_leaf(x):
        return np.ravel(np.asarray(x, dtype=np.float64))
    return np.zeros(0)


def unflat(template, vec, pos=0):
    """A copy of `template` whose float leaves are read from `vec`; (copy, new pos)."""
    kids = _children(template)
    if kids is not None:
        values = []
        for _, v in kids:
            item, pos = unflat(v, vec, pos)
            values.append(item)
        if isinstance(template, dict):
            return dict(zip(template, values)), pos
        if isinstance(template, tuple) and hasattr(template, "_fields"):
            return type(template)(*values), pos
        if isinstance(template, (list, tuple)):
            return type(template)(values), pos
        return dataclasses.replace(template, **{k: v for (k, _), v in zip(kids, values)}), pos
    if _float_leaf(template):
        if isinstance(template, np.ndarray):
            n = template.size
            return vec[pos:pos + n].reshape(template.shape), pos + n
        return float(vec[pos]), pos + 1
    return template, pos


def tree_fd(f, args, i):
    """Centered differences of scalar f in the float leaves of argument i, shaped like
    the argument (non-float leaves carried over)."""
    x = args[i]

    def wrapped(v):
        a = list(args)
        a[i] = unflat(x, v)[0]
        return f(*a)
    g = numerical_grad(wrapped, [flat(x)], 0)
    return unflat(x, g)[0]


def assert_same_tree(got, expected, where="grad"):
    """Same types and structure all the way down; float leaves close; others equal."""
    assert type(got) is type(expected), f"{where}: {type(got).__name__}, expected " \
                                        f"{type(expected).__name__}"
    kids = _children(expected)
    if kids is not None:
        got_kids = _children(got)
        assert [k for k, _ in got_kids] == [k for k, _ in kids], where
        for (k, e), (_, g) in zip(kids, got_kids):
            assert_same_tree(g, e, f"{where}[{k!r}]")
    elif _float_leaf(expected):
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8, err_msg=where)
        assert np.shape(got) == np.shape(expected), where
    else:
        assert got is expected or got == expected, f"{where}: {got!r} is not carried over"


def check_tree_grad(f, *args, wrt=0, optimize=True):
    """grad(f) against finite differences, argument(s) unchanged afterwards."""
    before = copy.deepcopy(args)
    got = grad(f, wrt=wrt, optimize=optimize)(*args)
    idx = wrt if isinstance(wrt, tuple) else (wrt,)
    gots = got if isinstance(wrt, tuple) else (got,)
    for i, g in zip(idx, gots):
        assert_same_tree(g, tree_fd(f, args, i), f"d/darg{i}")
    for b, a in zip(before, args):
        np.testing.assert_array_equal(flat(a), flat(b))      # nothing mutated
        assert_same_tree(a, b, "argument")
    return got


# ---------------------------------------------------------------- containers

class Layer(NamedTuple):
    W: np.ndarray
    b: np.ndarray


class Linear(NamedTuple):
    W: np.ndarray
    b: float
    fan_in: int                         # an int leaf: carried over


@dataclasses.dataclass
class MLP:
    layers: list
    scale: float
    name: str = "mlp"
    frozen_steps: int = 0
    note: object = None


@dataclasses.dataclass(frozen=True)
class Frozen:
    w: np.ndarray
    c: float
    tag: str = "f"


rs = np.random.RandomState(0)
X = rs.randn(5, 3)
Y = rs.randn(5, 2)


def make_mlp():
    return MLP(layers=[Layer(rs.randn(3, 4) * 0.5, rs.randn(4) * 0.1),
                       Layer(rs.randn(4, 2) * 0.5, rs.randn(2) * 0.1)], scale=0.7)


def linear_loss(p, x):
    return np.sum(np.tanh(x @ p.W + p.b) ** 2) / p.fan_in


def test_namedtuple_attributes_and_int_leaf():
    p = Linear(rs.randn(3, 2), 0.3, 3)
    g = check_tree_grad(linear_loss, p, X)
    assert type(g) is Linear and g.fan_in == 3


@pytest.mark.parametrize("optimize", [True, False])
def test_dataclass_with_a_list_of_namedtuples_iterated(optimize):
    def loss(params, x, y):
        h = x
        for layer in params.layers:
            h = np.tanh(h @ layer.W + layer.b)
        return params.scale * np.mean((h - y) ** 2)
    m = make_mlp()
    g = check_tree_grad(loss, m, X, Y, optimize=optimize)
    assert type(g) is MLP and type(g.layers) is list and type(g.layers[0]) is Layer
    assert g.name == "mlp" and g.frozen_steps == 0 and g.note is None


def affine(layer, h):
    """A helper reading the fields of the container it is given."""
    return h @ layer.W + layer.b


def predict(params, x):
    h = x
    for i in range(len(params.layers) - 1):
        h = np.tanh(affine(params.layers[i], h))
    return affine(params.layers[-1], h)


def helper_loss(params, x, y):
    return np.sum((predict(params, x) - y) ** 2) * params.scale


def test_attribute_reads_in_called_helpers():
    check_tree_grad(helper_loss, make_mlp(), X, Y)


def test_frozen_dataclass_and_wrt_tuple():
    def loss(p, q):
        return np.sum(np.sin(p.w) * p.c) + q["a"] * np.sum(p.w ** 2) + q["k"]
    p = Frozen(rs.randn(3), 1.5)
    q = {"a": 0.25, "k": 4, "label": "q", "none": None, "flag": True}
    gp, gq = check_tree_grad(loss, p, q, wrt=(0, 1))
    assert type(gp) is Frozen and gp.tag == "f"
    assert gq["k"] == 4 and gq["label"] == "q" and gq["none"] is None and gq["flag"] is True


def test_namedtuple_unpacked_indexed_and_read_by_attribute():
    def loss(layer, x):
        W, b = layer                    # unpacking, indexing and attributes all add up
        return np.sum(np.tanh(x @ W + layer.b)) + np.sum(layer[0] ** 2) * b[0]
    g = check_tree_grad(loss, Layer(rs.randn(3, 2), rs.randn(2)), X)
    assert type(g) is Layer


def test_nested_dicts_lists_tuples():
    def loss(params, x):
        enc, dec = params["enc"]
        h = np.tanh(x @ enc["W"] + params["bias"][0])
        out = h @ dec.W + dec.b
        return np.sum(out ** 2) + params["bias"][1] * params["meta"]["lr"]
    params = {"enc": ({"W": rs.randn(3, 4)}, Layer(rs.randn(4, 2), rs.randn(2))),
              "bias": [0.1, -0.4], "meta": {"lr": 0.5, "epochs": 3, "name": "n"}}
    g = check_tree_grad(loss, params, X)
    assert type(g["enc"]) is tuple and type(g["enc"][1]) is Layer
    assert g["meta"]["epochs"] == 3 and g["meta"]["name"] == "n"


def test_value_and_grad_of_a_pytree():
    m = make_mlp()
    value, g = value_and_grad(helper_loss)(m, X, Y)
    assert value == pytest.approx(helper_loss(m, X, Y))
    assert_same_tree(g, tree_fd(helper_loss, (m, X, Y), 0))


def test_a_gradient_through_a_property_is_refused():
    @dataclasses.dataclass
    class P:
        w: np.ndarray

        @property
        def w2(self):
            return self.w * 2.0

    def loss(p):
        return np.sum(p.w2 ** 2)
    with pytest.raises(GradientError) as info:
        grad(loss)(P(np.ones(3)))
    assert "w2" in str(info.value) and "dataclass" in str(info.value)


class PlainModel:
    """A class whose method carries the gradient through `self`."""

    def __init__(self, W):
        self.W = W

    def loss(self, x):
        return np.sum(np.tanh(self.W @ x))


@dataclasses.dataclass
class Net:
    W: np.ndarray

    def predict(self, x):
        return np.tanh(self.W @ x)


def calls_a_method(net, x):
    return np.sum(net.predict(x))


def sets_an_attribute(net, x):
    net.h = net.W @ x
    return np.sum(net.h)


def test_classes_carrying_the_gradient_through_self_are_refused():
    m = PlainModel(np.eye(2))
    with pytest.raises(TransformError) as info:       # the gradient w.r.t. self
        grad(PlainModel.loss)(m, np.ones(2))
    err = info.value
    assert err.lineno == PlainModel.loss.__code__.co_firstlineno and err.filename
    assert "@dataclass" in err.hint and "def loss(params" in err.hint
    # a method of the container is a function of its fields: differentiated
    # (tests/test_record_methods.py)
    net = Net(np.array([[0.3, -0.2], [0.1, 0.4]]))
    check_tree_grad(calls_a_method, net, np.array([0.5, -1.0]))
    with pytest.raises(TransformError) as info:       # writing an attribute
        grad(sets_an_attribute)(Net(np.eye(2)), np.ones(2))
    assert info.value.lineno == sets_an_attribute.__code__.co_firstlineno + 1
    # what to write instead: a dataclass of parameters and a function
    x = np.array([0.5, -1.0])
    net = Net(np.array([[0.3, -0.2], [0.1, 0.4]]))
    g = check_tree_grad(lambda p, x: np.sum(np.tanh(p.W @ x)), net, x)
    assert type(g) is Net
    # a bound method with `self` a constant still works
    np.testing.assert_allclose(grad(m.loss)(x), numerical_grad(m.loss, (x,)), rtol=1e-6)


def test_a_config_object_is_still_a_constant():
    class Config:
        power = 3.0

    def loss(w, cfg):
        return np.sum(w ** cfg.power)
    w = np.array([0.5, 1.5])
    np.testing.assert_allclose(grad(loss)(w, Config()), 3.0 * w ** 2)


def test_different_container_types_share_nothing_wrong():
    """One compiled code serves every container type (OTHER kind): each call's gradient
    has its own argument's type."""
    def loss(p, x):
        return np.sum((x @ p.W + p.b) ** 2)
    a = Layer(rs.randn(3, 2), rs.randn(2))
    b = Frozen(rs.randn(3), 0.5)      # no W: different structure

    @dataclasses.dataclass
    class WB:
        W: np.ndarray
        b: np.ndarray
    c = WB(rs.randn(3, 2), rs.randn(2))
    assert type(check_tree_grad(loss, a, X)) is Layer
    assert type(check_tree_grad(loss, c, X)) is WB
    with pytest.raises(AttributeError):
        grad(loss)(b, X)


# ---------------------------------------------------------------- tree_map, tree_leaves

def test_tree_leaves_in_order_floats_only():
    m = make_mlp()
    leaves = tree_leaves(m)
    assert len(leaves) == 5
    assert leaves[0] is m.layers[0].W and leaves[3] is m.layers[1].b and leaves[4] == 0.7
    assert tree_leaves({"a": 1, "b": "s", "c": None, "d": np.arange(3)}) == []


def mse(params, x, y):
    return np.mean((predict(params, x) - y) ** 2) + 0.01 * params.scale ** 2


def test_sgd_step_is_one_line_and_descends():
    m = make_mlp()
    first, snapshot = copy.deepcopy(m), copy.deepcopy(m)
    lr = 0.1
    losses = []
    for _ in range(30):
        losses.append(mse(m, X, Y))
        g = grad(mse)(m, X, Y)
        m = tree_map(lambda p, g: p - lr * g, m, g)
    assert type(m) is MLP and m.name == "mlp" and type(m.layers[1]) is Layer
    assert losses[-1] < 0.8 * losses[0]
    # the first step, against the step from the finite-difference gradient
    start = first
    g0 = tree_fd(mse, (start, X, Y), 0)
    step = tree_map(lambda p, g: p - lr * g, start, g0)
    ours = tree_map(lambda p, g: p - lr * g, start, grad(mse)(start, X, Y))
    np.testing.assert_allclose(flat(step), flat(start) - lr * flat(g0))
    np.testing.assert_allclose(flat(ours), flat(step), rtol=1e-6, atol=1e-9)
    assert_same_tree(first, snapshot)              # grad, tree_map: new containers


def test_tree_map_carries_over_and_refuses_mismatches():
    t = {"w": np.ones(2), "n": 3, "s": "x", "l": [1.0, None]}
    out = tree_map(lambda a: a * 2, t)
    assert out["n"] == 3 and out["s"] == "x" and out["l"] == [2.0, None]
    np.testing.assert_array_equal(out["w"], [2.0, 2.0])
    assert t["w"][0] == 1.0                       # not mutated
    with pytest.raises(ValueError, match="differ"):
        tree_map(lambda a, b: a + b, t, {"w": np.ones(2)})
    with pytest.raises(ValueError, match="differ"):
        tree_map(lambda a, b: a + b, [1.0, 2.0], [1.0])


def test_tree_functions_are_exported():
    assert s2sgrad.tree_map is tree_map and "tree_leaves" in s2sgrad.__all__
