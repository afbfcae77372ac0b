"""Ordinary user code (tests/ordinary_programs.py) against finite differences.

Each program is what a newcomer would write without s2sgrad in mind: softmax and
cross-entropy, Newton iterations, while loops with tolerances, list and generator
comprehensions, dicts of parameters (`.items()`), local helper functions and lambdas,
`math` and builtin functions, a random Generator made inside the function, a bound
method of a model object. The oracle is centered finite differences (tests/support/numeric.py).
"""
import numpy as np
import pytest

import s2sgrad

from support import ordinary_programs as P
from support.numeric import assert_value_and_grad_matches, numerical_grad

R = np.random.default_rng(0)
A = R.normal(size=(3, 3)) + 3.0 * np.eye(3)


def r(*shape):
    return R.normal(size=shape)


CASES = [
    (P.softmax_ce, (r(4, 3), r(5, 4), np.array([0, 2, 1, 1, 0])), 0),
    (P.logsumexp, (r(5),), 0),
    (P.poly, (0.7,), 0),
    (P.piecewise, (0.5,), 0),
    (P.piecewise, (1.5,), 0),
    (P.piecewise, (-0.5,), 0),
    (P.newton_sqrt, (2.0,), 0),
    (P.while_halve, (7.0,), 0),
    (P.listcomp, ([0.5, 1.5, -2.0],), 0),
    (P.genexp, (r(4),), 0),
    (P.zip_loop, (r(3), r(3)), (0, 1)),
    (P.builtin_minmax, (0.7, 1.3), (0, 1)),
    (P.math_misc, (0.7, 1.3), (0, 1)),
    (P.norm_stuff, (r(4),), 0),
    (P.inplace_array, (r(3),), 0),
    (P.aug_index, (r(5),), 0),
    (P.nested, (r(3),), 0),
    (P.lam, (0.7,), 0),
    (P.kwargs_call, (r(3),), 0),
    (P.dict_params, ({"W1": r(3, 4), "b1": r(4), "W2": r(4, 2)}, r(5, 3)), 0),
    (P.sigmoid_loss, (r(3), r(6, 3), (R.random(6) > 0.5).astype(float)), 0),
    (P.einsum_bilinear, (A, r(3)), (0, 1)),
    (P.conv1d, (r(8), r(3)), (0, 1)),
    (P.cumprod_like, (r(4),), 0),
    (P.matrix_power, (A * 0.3,), 0),
    (P.stack_concat, (r(3), r(3)), (0, 1)),
    (P.tuple_return_helper, (r(3),), 0),
    (P.attr_T, (r(3, 2),), 0),
    (P.where_relu, (r(5),), 0),
    (P.maximum_relu, (r(2, 3), r(3, 4)), (0, 1)),
    (P.std_var, (r(3, 4),), 0),
    (P.float_int_mix, (0.7,), 0),
    (P.early_return_loop, (0.7,), 0),
    (P.solve_det, (A, r(3)), (0, 1)),
    (P.outer_sum, (r(3), r(2)), (0, 1)),
    (P.clip_round, (np.array([-1.3, -0.2, 0.1, 0.4, 1.6]),), 0),
    (P.reshape_flatten, (r(3, 2),), 0),
    (P.slice_step, (r(6),), 0),
    (P.ternary, (0.7,), 0),
    (P.ternary, (-0.7,), 0),
    (P.arr_from_scalars, (r(3),), 0),
    (P.float_conv, (r(3),), 0),
    (P.astype, (r(3),), 0),
    (P.multi_axis, (r(2, 3, 4),), 0),
    (P.matvec_scalar, (r(3),), 0),
    (P.pow_builtin, (0.6,), 0),
    (P.sign_abs, (r(4),), 0),
    (P.rms, (r(4),), 0),
    (P.print_inside, (0.6,), 0),
    (P.shape_loop, (r(4),), 0),
    (P.zeros_fill, (np.array([0.5, -0.3, 1.2, -2.0]),), 0),
    (P.np_random, (r(4),), 0),
    (P.minimum_max, (np.array([0.1, 0.9, -0.4, 0.5]),), 0),
    (P.tuple_unpack_loop, ([(0.5, 1.5), (2.0, -1.0)],), 0),
    (P.while_tol, (1.3,), 0),
    (P.list_index_assign, (0.7,), 0),
    (P.dict_items, ({"a": r(2), "b": r(3)},), 0),
    (P.dict_values_keys, ({"a": r(2), "bb": r(3)},), 0),
    (P.linspace_mul, (0.7,), 0),
    (P.squeeze_newaxis, (r(3),), 0),
    (P.negative_index, (r(5),), 0),
    (P.trig_np, (r(3) * 0.5,), 0),
    (P.projectile, (10.0, 0.7), (0, 1)),
    (P.spring_chain, (2.0, [0.0, 1.3, 2.1, 3.5]), (0, 1)),
    (P.verlet, (1.0, 0.3, 2.0), (0, 1, 2)),
    (P.kmeans_loss, (r(3, 2), r(10, 2)), 0),
    (P.attention, (r(4, 3), r(5, 3), r(5, 2)), (0, 1, 2)),
    (P.layer_norm, (r(3, 5), r(5), r(5)), (0, 1, 2)),
    (P.huber, (np.array([0.1, -0.9, 0.3, 1.4, -0.2]), 0.5), 0),
    (P.poly_fit_loss, (r(4), r(8), r(8)), 0),
    (P.running_max, (np.array([0.3, -1.0, 0.8, 0.5, 1.7]),), 0),
    (P.nested_lists, ([[0.5, 1.5], [2.0, -1.0, 0.3]],), 0),
    (P.early_break, (0.7,), 0),
    (P.continue_loop, ([0.5, -1.0, 2.0],), 0),
    (P.matrix_build, (0.7, 1.3), (0, 1)),
    (P.softplus_sum, (r(5),), 0),
    (P.gaussian_nll, (0.3, -0.2, r(6)), (0, 1)),
]


def _leaves(x, path=()):
    """(path, value) of every float leaf of nested lists, tuples and dicts."""
    if isinstance(x, dict):
        for k in x:
            yield from _leaves(x[k], path + (k,))
    elif isinstance(x, (list, tuple)):
        for k, v in enumerate(x):
            yield from _leaves(v, path + (k,))
    else:
        yield path, x


def _replace(x, path, value):
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(x, dict):
        return {k: (_replace(v, rest, value) if k == head else v) for k, v in x.items()}
    items = [(_replace(v, rest, value) if k == head else v) for k, v in enumerate(x)]
    return type(x)(items)


def container_fd(f, args, i, h=1e-6):
    """Centered differences of f in every float leaf of the container args[i]."""
    out = {}
    for path, leaf in _leaves(args[i]):
        def at(v, path=path):
            a = list(args)
            a[i] = _replace(args[i], path, v)
            return f(*a)
        if isinstance(leaf, np.ndarray):
            g = np.zeros_like(leaf)
            for k in np.ndindex(leaf.shape):
                up, down = leaf.copy(), leaf.copy()
                up[k] += h
                down[k] -= h
                g[k] = (at(up) - at(down)) / (2 * h)
        else:
            g = (at(leaf + h) - at(leaf - h)) / (2 * h)
        out[path] = g
    return out


@pytest.mark.parametrize("f, args, wrt", [
    pytest.param(f, a, w, id=f"{f.__name__}-{i}") for i, (f, a, w) in enumerate(CASES)])
def test_matches_finite_differences(f, args, wrt):
    indices = (wrt,) if isinstance(wrt, int) else wrt
    if not any(isinstance(args[i], (list, tuple, dict)) for i in indices):
        assert_value_and_grad_matches(f, *args, wrt=wrt)
        return
    got = s2sgrad.grad(f, wrt=wrt)(*args)
    got = (got,) if isinstance(wrt, int) else got
    for i, g_i in zip(indices, got):
        expected = container_fd(f, args, i)
        assert {p for p, _ in _leaves(g_i)} == set(expected)
        for path, g in _leaves(g_i):
            np.testing.assert_allclose(g, expected[path], rtol=1e-5, atol=1e-6)


def test_every_program_is_checked():
    names = {f.__name__ for f, _, _ in CASES}
    defined = {n for n, v in vars(P).items()
               if callable(v) and getattr(v, "__module__", None) == P.__name__
               and not isinstance(v, type) and n not in ("helper_kw", "split2")}
    assert defined == names


def test_bound_method_of_a_model():
    model = P.Quad(np.array([1.0, 2.0, 3.0]))
    x = np.array([0.3, -0.2, 0.9])
    got = s2sgrad.grad(model.loss, wrt="x")(x)
    np.testing.assert_allclose(got, numerical_grad(model.loss, (x,), 0), rtol=1e-6)
    value, got2 = s2sgrad.value_and_grad(model.loss)(x)
    assert value == pytest.approx(model.loss(x))
    np.testing.assert_allclose(got2, got)


def test_method_of_an_object_argument_is_its_classs_function():
    x = np.array([0.5, 1.0])
    got = s2sgrad.grad(_uses_object_method)(x, _Config())
    np.testing.assert_allclose(got, numerical_grad(_uses_object_method, (x, _Config()), 0),
                               rtol=1e-6)
    got = s2sgrad.grad(_uses_object_method)(x, _Stronger())      # a subclass overrides it
    np.testing.assert_allclose(got, numerical_grad(_uses_object_method, (x, _Stronger()), 0),
                               rtol=1e-6)


def test_a_method_shadowed_by_the_objects_own_attribute_is_refused():
    cfg = _Config()
    cfg.bump = lambda v: v * 3.0           # the object's own, not its class's
    with pytest.raises(s2sgrad.TransformError, match="no adjoint for the method `.bump"):
        s2sgrad.grad(_uses_object_method)(np.array([0.5, 1.0]), cfg)


class _Config:
    def bump(self, v):
        return v + 1.0


class _Stronger(_Config):
    def bump(self, v):
        return 2.0 * v + np.sin(v)


def _uses_object_method(x, cfg):
    return np.sum(cfg.bump(x) ** 2)


def _same(u, v):
    if isinstance(u, dict):
        return all(_same(u[k], v[k]) for k in u)
    if isinstance(u, (list, tuple)):
        return all(_same(p, q) for p, q in zip(u, v))
    return np.allclose(u, v, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("f, args, wrt", [
    pytest.param(f, a, w, id=f"{f.__name__}-{i}") for i, (f, a, w) in enumerate(CASES)])
def test_unoptimized_code_agrees(f, args, wrt):
    import copy
    plain = s2sgrad.grad(f, wrt=wrt, optimize=False)(*copy.deepcopy(args))
    optimized = s2sgrad.grad(f, wrt=wrt)(*copy.deepcopy(args))
    assert _same(plain, optimized)
