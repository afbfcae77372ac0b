"""Dicts of arrays as parameters (`params = {"W1": ..., "b1": ...}`): the code is
specialized on the items' shapes (`pipeline.DictKind`), so that `params["W1"]` has known
dims where the function only reads items at constant keys (`ir.shapes.read_only_dicts`),
an inlined helper's reads included: the layers' adjoints are written as NumPy. Every
gradient is checked against centred finite differences over each item; dicts copied or
iterated keep the generic code, and other item shapes compile anew."""
import numpy as np
import pytest

import s2sgrad

RNG = np.random.default_rng(29)


def dict_fd(f, params, *rest, h=1e-6):
    """Centred finite differences of f(params, *rest) over every item of params."""
    out = {}
    for k, v in params.items():
        if isinstance(v, np.ndarray):
            g = np.zeros_like(v)
            for i in np.ndindex(v.shape):
                up, down = dict(params), dict(params)
                up[k], down[k] = v.copy(), v.copy()
                up[k][i] += h
                down[k][i] -= h
                g[i] = (f(up, *rest) - f(down, *rest)) / (2 * h)
            out[k] = g
        else:
            out[k] = (f({**params, k: v + h}, *rest) - f({**params, k: v - h}, *rest)) / (2 * h)
    return out


def mlp(params, X, Y):
    h = np.tanh(X @ params["W1"] + params["b1"])
    out = h @ params["W2"] + params["b2"]
    return np.mean((out - Y) ** 2)


def scaled(params, x):
    return params["scale"] * np.sum(np.sin(x * params["w"])) + params["shift"] ** 2


def stored_into(params, x):
    p = params.copy()
    p["w"] = p["w"] * 2.0                  # (a copy changed: its item is another array)
    return np.sum(p["w"] * x)


def layer(p, x):
    return np.tanh(x @ p["W"] + p["b"])


def passed_on(params, x):
    return np.sum(layer(params, x) ** 2)


def iterated(params, x):
    total = 0.0
    for k in params:
        total = total + np.sum(params[k] * x[: params[k].shape[0]])
    return total


def make_mlp(n=5, d=4, hdim=3, k=2):
    params = {"W1": RNG.standard_normal((d, hdim)), "b1": RNG.standard_normal(hdim),
              "W2": RNG.standard_normal((hdim, k)), "b2": RNG.standard_normal(k)}
    return params, RNG.standard_normal((n, d)), RNG.standard_normal((n, k))


CASES = [
    (mlp, make_mlp),
    (scaled, lambda: ({"scale": 1.3, "w": RNG.standard_normal(4), "shift": -0.4},
                      RNG.standard_normal(4))),
    (stored_into, lambda: ({"w": RNG.standard_normal(3)}, RNG.standard_normal(3))),
    (passed_on, lambda: ({"W": RNG.standard_normal((3, 2)), "b": RNG.standard_normal(2)},
                         RNG.standard_normal((4, 3)))),
    (iterated, lambda: ({"a": RNG.standard_normal(2), "b": RNG.standard_normal(3)},
                        RNG.standard_normal(3))),
]


@pytest.mark.parametrize("f, make", CASES, ids=[c[0].__name__ for c in CASES])
def test_gradients_match_finite_differences(f, make):
    args = make()
    before = {k: np.copy(v) for k, v in args[0].items()}
    got = s2sgrad.grad(f)(*args)
    want = dict_fd(f, *args)
    assert set(got) == set(want)
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-6, atol=1e-8)
        assert np.array_equal(args[0][k], before[k])          # not changed


@pytest.mark.parametrize("f, make", [CASES[0], CASES[3]], ids=["mlp", "passed_on"])
def test_items_read_at_their_keys_have_known_shapes(f, make):
    """(A small helper given the dict is inlined: its reads are the function's.)"""
    g = s2sgrad.grad(f)
    g(*make())
    for helper in ("unbroadcast(", "matmul_left(", "matmul_right(", "count_reduced("):
        assert helper not in g.source, g.source
    assert ".T @ " in g.source


GENERIC = [CASES[2], CASES[4]]


@pytest.mark.parametrize("f, make", GENERIC, ids=[c[0].__name__ for c in GENERIC])
def test_dicts_copied_or_iterated_keep_the_generic_code(f, make):
    from s2sgrad import pipeline
    g = s2sgrad.grad(f)
    g(*make())
    (compiled,) = [c for per in pipeline._CACHE.values() for c in per.values()
                   if c.trace is not None and c.trace.name == f.__name__]
    assert compiled.trace.dict_items == {}


def test_other_item_shapes_compile_anew():
    g = s2sgrad.grad(mlp)
    for sizes in ((5, 4, 3, 2), (7, 4, 3, 2), (5, 6, 2, 3), (1, 1, 1, 1)):
        args = make_mlp(*sizes)
        got, want = g(*args), dict_fd(mlp, *args)
        for k in want:
            np.testing.assert_allclose(got[k], want[k], rtol=1e-6, atol=1e-8)


def test_a_dict_with_other_values_is_an_ordinary_dict():
    def with_list(params, x):
        return np.sum(params["w"] * x) * params["n"][0]
    params = {"w": RNG.standard_normal(3), "n": [2.0]}
    got = s2sgrad.grad(with_list)(params, RNG.standard_normal(3))
    assert got["n"] == [0.0] or np.shape(got["n"]) in ((1,), ())


def copied_by_dict(params, x):
    p = dict(params)                       # (a new dict: storing into it is allowed)
    p["w"] = p["w"] * 2.0
    q = dict(p)
    q["w"] = q["w"] + params["w"]
    return np.sum(q["w"] * x) + np.sum(p["w"])


def test_a_dict_copied_by_dict_takes_stores():
    """`dict(params)` of a dict is its copy (it was refused as a value that may share
    memory): d/dw [sum(3w * x) + sum(2w)] = 3x + 2, the caller's dict unchanged."""
    params, x = {"w": RNG.standard_normal(3)}, RNG.standard_normal(3)
    before = params["w"].copy()
    got = s2sgrad.grad(copied_by_dict)(params, x)
    np.testing.assert_allclose(got["w"], 3 * x + 2, rtol=1e-12)
    np.testing.assert_allclose(got["w"], dict_fd(copied_by_dict, params, x)["w"], rtol=1e-6)
    assert np.array_equal(params["w"], before)
