"""Idioms of autograd and JAX users: lambdas, functools.partial, has_aux.

Every gradient is checked against centered finite differences (support.numeric) and,
where autograd has the feature and is importable, against autograd."""
import pickle
from functools import partial

import numpy as np
import pytest

import s2sgrad
from s2sgrad import grad, value_and_grad
from s2sgrad.errors import S2SGradError, SourceUnavailableError, TransformError
from support.numeric import numerical_grad

try:
    import autograd
    import autograd.numpy as anp
except ImportError:                              # the peer oracle is optional
    autograd = anp = None

needs_autograd = pytest.mark.skipif(autograd is None, reason="autograd not importable")

W = np.array([0.3, -0.7, 1.1])


# ---------------------------------------------------------------------- lambdas

loss = lambda w: np.sum(np.tanh(w) ** 2)          # noqa: E731


def make_loss(scale):
    """A lambda assigned in a factory: reads the factory's cell, has a default."""
    inner = lambda w, p=2.0: scale * np.sum(np.sin(w) ** p)   # noqa: E731
    return inner


def grad_of(fn, x):
    """A helper given a lambda."""
    return grad(fn)(x)


def test_module_level_lambda_bound_to_a_name():
    g = grad(loss)
    np.testing.assert_allclose(g(W), numerical_grad(loss, (W,)), rtol=1e-6)
    assert "grad_loss(w" in g.source
    assert g.__name__ == "grad_loss"


def test_lambda_in_the_call():
    assert grad(lambda x: x ** 3)(2.0) == pytest.approx(12.0)


def test_lambda_in_a_function_body_named_by_its_line():
    def run():
        h = 0.5
        return grad(lambda x: np.exp(h * x) * x), h
    g, h = run()
    x = 1.3
    assert g(x) == pytest.approx(numerical_grad(lambda x: np.exp(h * x) * x, (x,)),
                                 rel=1e-6)
    import inspect
    line = inspect.getsourcelines(run)[1] + 2
    assert f"grad_lambda_L{line}(x" in g.source      # (value_and_ when it checks the value)


def test_lambda_from_a_factory_with_closure_and_default():
    f = make_loss(3.0)
    g = grad(f)
    np.testing.assert_allclose(g(W), numerical_grad(f, (W,)), rtol=1e-6)
    assert "grad_inner(w" in g.source
    # a second factory's lambda: its own cell, never mixed up
    f2 = make_loss(-1.5)
    np.testing.assert_allclose(grad(f2)(W), numerical_grad(f2, (W,)), rtol=1e-6)


def test_lambda_passed_to_a_helper():
    assert grad_of(lambda x: np.sin(x) * x, 0.7) == pytest.approx(
        np.cos(0.7) * 0.7 + np.sin(0.7))


def test_two_different_lambdas_on_one_line():
    a, b = grad(lambda x: x * x * 2.0), grad(lambda x: x * x * 3.0)
    assert (a(1.5), b(1.5)) == pytest.approx((6.0, 9.0))


def test_identical_lambdas_on_one_line_are_refused():
    f, h = (lambda x: x * x), (lambda x: x * x)
    with pytest.raises(SourceUnavailableError) as info:
        grad(f)(1.0)
    msg = str(info.value)
    assert "which lambda" in msg and "def" in msg
    assert info.value.lineno is not None


@needs_autograd
def test_lambda_against_autograd():
    ours = grad(lambda w: np.sum(np.tanh(w) ** 2) + np.prod(w))(W)
    theirs = autograd.grad(lambda w: anp.sum(anp.tanh(w) ** 2) + anp.prod(w))(W)
    np.testing.assert_allclose(ours, theirs, rtol=1e-10)


# ---------------------------------------------------------------------- partial

def f3(x, y, z=1.0):
    return x ** 2 * y + np.sin(z) * x * y


def test_partial_keyword():
    g = grad(partial(f3, y=2.0))
    assert g(1.5) == pytest.approx(numerical_grad(lambda x: f3(x, y=2.0), (1.5,)), rel=1e-6)


def test_partial_positional_wrt_counts_remaining_arguments():
    g0 = grad(partial(f3, 1.5))
    g1 = grad(partial(f3, 1.5), wrt=1)
    assert g0(2.0, 0.3) == pytest.approx(
        numerical_grad(lambda y: f3(1.5, y, 0.3), (2.0,)), rel=1e-6)
    assert g1(2.0, 0.3) == pytest.approx(
        numerical_grad(lambda z: f3(1.5, 2.0, z), (0.3,)), rel=1e-6)
    both = grad(partial(f3, 1.5), wrt=("y", "z"))(2.0, 0.3)
    assert both == pytest.approx((g0(2.0, 0.3), g1(2.0, 0.3)))


def test_nested_partials_and_arrays():
    def h(a, w, b):
        return np.sum(np.tanh(a * w) * b)
    p = partial(partial(h, 0.7), b=np.array([1.0, 2.0, -1.0]))
    np.testing.assert_allclose(
        grad(p)(W), numerical_grad(lambda w: h(0.7, w, np.array([1.0, 2.0, -1.0])), (W,)),
        rtol=1e-6)
    value, g = value_and_grad(p)(W)
    assert value == pytest.approx(h(0.7, W, np.array([1.0, 2.0, -1.0])))


@pytest.mark.parametrize("wrt", [0, "y", "x", -3, 5])
def test_partial_wrt_of_a_fixed_argument_is_refused(wrt):
    p = partial(f3, 1.0, y=2.0) if wrt in (0, "y") else partial(f3, 1.0)
    with pytest.raises(S2SGradError):
        grad(p, wrt=wrt)


@needs_autograd
def test_partial_against_autograd():
    y = np.array([1.0, 2.0, 3.0])

    def h(x, y):
        return np.sum(np.sin(x) * y ** 2)

    def h_autograd(x, y):
        return anp.sum(anp.sin(x) * y ** 2)
    ours = grad(partial(h, y=y))(W)
    theirs = autograd.grad(partial(h_autograd, y=y))(W)
    np.testing.assert_allclose(ours, theirs, rtol=1e-10)


def test_partial_pickles():
    g = pickle.loads(pickle.dumps(grad(partial(f3, y=2.0))))
    assert g(1.5) == pytest.approx(2 * 1.5 * 2.0 + np.sin(1.0) * 2.0)


# ---------------------------------------------------------------------- has_aux

def with_aux(w, x):
    h = np.tanh(x @ w)
    out = np.sum(h ** 2)
    return out, {"h": h, "count": len(w)}


def loop_aux(x):
    s = 0.0
    for i in range(3):
        s = s + x * i
        t = s * 2.0                 # overwritten in the loop: aux is the last value
    return s ** 2, t


X = np.array([[1.0, 2.0, 0.5], [3.0, -4.0, 1.0]])


@pytest.mark.parametrize("optimize", [True, False])
def test_grad_has_aux(optimize):
    g, aux = grad(with_aux, has_aux=True, optimize=optimize)(W, X)
    np.testing.assert_allclose(g, numerical_grad(lambda w: with_aux(w, X)[0], (W,)),
                               rtol=1e-6)
    np.testing.assert_allclose(aux["h"], np.tanh(X @ W))
    assert aux["count"] == 3


@pytest.mark.parametrize("optimize", [True, False])
def test_value_and_grad_has_aux(optimize):
    (value, aux), g = value_and_grad(with_aux, has_aux=True, optimize=optimize)(W, X)
    assert value == pytest.approx(np.sum(np.tanh(X @ W) ** 2))
    np.testing.assert_allclose(aux["h"], np.tanh(X @ W))
    np.testing.assert_allclose(g, numerical_grad(lambda w: with_aux(w, X)[0], (W,)),
                               rtol=1e-6)


@pytest.mark.parametrize("optimize", [True, False])
def test_has_aux_of_a_value_overwritten_in_a_loop(optimize):
    g, aux = grad(loop_aux, has_aux=True, optimize=optimize)(1.5)
    assert g == pytest.approx(numerical_grad(lambda x: loop_aux(x)[0], (1.5,)), rel=1e-6)
    assert aux == pytest.approx(9.0)
    (v, aux), g = value_and_grad(loop_aux, has_aux=True, optimize=optimize)(1.5)
    assert (v, aux) == pytest.approx((20.25, 9.0))


def test_has_aux_wrt_tuple_and_lambda():
    gs, aux = grad(with_aux, wrt=(0, 1), has_aux=True)(W, X)
    np.testing.assert_allclose(gs[1], numerical_grad(lambda x: with_aux(W, x)[0], (X,)),
                               rtol=1e-6)
    g, aux = grad(lambda x: (x ** 3, x * 2.0), has_aux=True)(2.0)
    assert (g, aux) == pytest.approx((12.0, 4.0))


def test_has_aux_without_a_pair_is_refused():
    def single(x):
        return x ** 2
    with pytest.raises(TransformError) as info:
        grad(single, has_aux=True)(1.0)
    assert "(value, aux)" in str(info.value)
    assert info.value.lineno is not None

    def triple(x):
        return x ** 2, x, x
    with pytest.raises(TransformError):
        grad(triple, has_aux=True)(1.0)

    def early(x):
        if x > 0:
            return x ** 2, 1.0
        return -x ** 3
    with pytest.raises(TransformError) as info:
        grad(early, has_aux=True)(1.5)
    assert info.value.lineno == early.__code__.co_firstlineno + 3


def test_plain_grad_of_a_pair_is_still_refused():
    with pytest.raises(TransformError):
        grad(with_aux)(W, X)


def test_has_aux_pickles():
    g = pickle.loads(pickle.dumps(grad(loop_aux, has_aux=True)))
    assert g(1.5) == pytest.approx((27.0, 9.0))
    from s2sgrad.api import _rebuild
    assert _rebuild(f3, 0, True, False)(1.5, 2.0) == pytest.approx(
        2 * 1.5 * 2.0 + np.sin(1.0) * 2.0)          # (the arguments pickles held before)
    v = pickle.loads(pickle.dumps(value_and_grad(loop_aux, has_aux=True)))
    (value, aux), g = v(1.5)
    assert (value, aux, g) == pytest.approx((20.25, 9.0, 27.0))


@needs_autograd
def test_has_aux_against_autograd():
    def f(w):
        h = np.tanh(w)
        return np.sum(h ** 2), h
    from autograd.differential_operators import grad_and_aux
    theirs, their_aux = grad_and_aux(lambda w: (anp.sum(anp.tanh(w) ** 2), anp.tanh(w)))(W)
    ours, aux = grad(f, has_aux=True)(W)
    np.testing.assert_allclose(ours, theirs, rtol=1e-10)
    np.testing.assert_allclose(aux, their_aux, rtol=1e-12)


softplus = lambda z: np.log1p(np.exp(z))           # noqa: E731


def calls_a_lambda(w):
    return np.sum(softplus(w * 2.0))


def test_a_lambda_called_by_the_differentiated_function():
    g = grad(calls_a_lambda)
    np.testing.assert_allclose(g(W), numerical_grad(calls_a_lambda, (W,)), rtol=1e-6)
    assert "<lambda>" not in g.source


# ---------------------------------------------------------------- functions as arguments

def act_loss(w, act):
    return np.sum(act(w) ** 2)


def my_softplus(z):
    return np.log1p(np.exp(z))


def scaled_sin(z, s, shift=0.0):
    return np.sin(z + shift) * s


def apply_twice(f, x):
    return f(f(x))


def twice_both(w):
    return np.sum(apply_twice(np.tanh, w) * apply_twice(my_softplus, w))


def passes_it_on(w, act, c):
    return np.sum(apply_twice(act, w * c)) + act_loss(w, act)


@pytest.mark.parametrize("act", [np.tanh, np.sin, my_softplus, lambda z: z ** 3 * 0.5,
                                 partial(scaled_sin, s=2.0), partial(scaled_sin, 0.3),
                                 partial(scaled_sin, s=-1.0, shift=0.2)],
                         ids=["tanh", "sin", "user", "lambda", "partial_kw", "partial_pos",
                              "partial_two"])
def test_a_function_passed_as_an_argument(act):
    g = grad(act_loss)
    np.testing.assert_allclose(g(W, act), numerical_grad(lambda w: act_loss(w, act), (W,)),
                               rtol=1e-6)


def test_each_function_argument_compiles_anew_and_is_never_mixed_up():
    g = grad(act_loss)
    expected = {f: numerical_grad(lambda w: act_loss(w, f), (W,))
                for f in (np.tanh, np.sin, my_softplus)}
    for f in (np.tanh, np.sin, my_softplus, np.tanh, my_softplus, np.sin):
        np.testing.assert_allclose(g(W, f), expected[f], rtol=1e-6)
        assert g(W, f) is not None
    g(W, np.sin)
    assert "np.cos(w)" in g.source             # the code of the last call: sin's rule
    # two lambdas of one code and different closures: two functions
    lams = [(lambda c: (lambda z: c * z ** 2))(c) for c in (1.0, -3.0)]
    for f in lams + lams[::-1]:
        np.testing.assert_allclose(g(W, f), numerical_grad(lambda w: act_loss(w, f), (W,)),
                                   rtol=1e-6)


def test_helpers_specialized_on_the_functions_they_are_given():
    np.testing.assert_allclose(grad(twice_both)(W), numerical_grad(twice_both, (W,)),
                               rtol=1e-6)
    for act in (np.tanh, my_softplus, partial(scaled_sin, s=0.5)):
        got = grad(passes_it_on, wrt=(0, 2))(W, act, 0.7)
        np.testing.assert_allclose(
            got[0], numerical_grad(lambda w: passes_it_on(w, act, 0.7), (W,)), rtol=1e-6)
        assert got[1] == pytest.approx(
            numerical_grad(lambda c: passes_it_on(W, act, c), (0.7,)), rel=1e-6)


def test_a_global_partial_called_in_the_function():
    double_sin = partial(scaled_sin, s=2.0, shift=0.1)

    def f(w):
        return np.sum(double_sin(w) * w)
    np.testing.assert_allclose(grad(f)(W), numerical_grad(f, (W,)), rtol=1e-6)


def apply_n(f, x, n):
    if n == 0:
        return x
    return apply_n(f, f(x), n - 1)


def recursive_through_argument(w):
    return np.sum(apply_n(np.sin, w, 3))


def test_recursion_through_a_function_argument_is_refused():
    with pytest.raises(TransformError) as info:
        grad(recursive_through_argument)(W)
    assert info.value.lineno is not None and "recursi" in str(info.value)
    assert "apply_n(f, f(x), n - 1)" in str(info.value)


def test_differentiating_with_respect_to_a_function_is_refused():
    from s2sgrad.errors import GradientError
    with pytest.raises(GradientError, match="function"):
        grad(act_loss, wrt=1)(W, np.tanh)


# ---------------------------------------------------------------- *args and **kwargs

def sum_of_squares(*xs):
    s = 0.0
    for x in xs:
        s = s + np.sum(x ** 2) * 0.5
    return s


def regularized(w, *data, lam=None):
    return mean_sq(w, *data) + 0.3 * np.sum(w ** 2)


def mean_sq(w, X, y):
    return np.mean((X @ w - y) ** 2)


def total_loss(w, *data):
    return mean_sq(w, *data) + 0.3 * np.sum(w ** 2)


def with_defaults(a, b=2.0, *rest):
    out = a * b
    for r in rest:
        out = out + np.sum(np.sin(r) * a)
    return out


def keyword_loss(x, scale=2.0, **opts):
    return np.sum(np.tanh(x * scale) * opts["k"])


def concat_mul(weights, *parts):
    cat = np.hstack(parts + (np.ones((parts[0].shape[0], 1)),))
    return np.dot(cat, weights)


def scaled_sum(x, **opts):
    return np.sum(x * opts["a"]) + opts["b"]


def calls_variadic_helpers(W, x, h):
    return np.sum(np.tanh(concat_mul(W, x, h))) + scaled_sum(h, a=2.0, b=1.0)


RS = np.random.RandomState(5)
XD, YD = RS.randn(5, 3), RS.randn(5)


def test_star_args_of_the_differentiated_function_wrt_as_passed():
    a, b, c = 1.5, np.array([0.3, -2.0]), np.array([[1.0, 2.0]])
    ga, gc = grad(sum_of_squares, wrt=(0, 2))(a, b, c)
    assert ga == pytest.approx(1.5)
    np.testing.assert_allclose(gc, c)
    assert grad(sum_of_squares, wrt=1)(a, b, c) is not None
    np.testing.assert_allclose(grad(sum_of_squares, wrt=1)(a, b, c), b)
    g = grad(total_loss)
    np.testing.assert_allclose(g(W, XD, YD), numerical_grad(total_loss, (W, XD, YD)),
                               rtol=1e-6)
    gx, gy = grad(total_loss, wrt=(1, 2))(W, XD, YD)
    np.testing.assert_allclose(gx, numerical_grad(total_loss, (W, XD, YD), 1), rtol=1e-6)
    np.testing.assert_allclose(gy, numerical_grad(total_loss, (W, XD, YD), 2), rtol=1e-6)
    value, gw = value_and_grad(total_loss)(W, XD, YD)
    assert value == pytest.approx(total_loss(W, XD, YD))


def test_star_args_after_defaults():
    r = np.array([0.5, 1.0])
    assert grad(with_defaults)(1.5) == pytest.approx(2.0)
    assert grad(with_defaults, wrt=(0, 2))(1.5, 3.0, r)[0] == pytest.approx(
        numerical_grad(lambda a: with_defaults(a, 3.0, r), (1.5,)), rel=1e-6)
    np.testing.assert_allclose(grad(with_defaults, wrt=2)(1.5, 3.0, r),
                               numerical_grad(lambda q: with_defaults(1.5, 3.0, q), (r,)),
                               rtol=1e-6)


def test_wrt_beyond_the_arguments_passed_is_refused():
    from s2sgrad.errors import GradientError
    with pytest.raises(GradientError, match="given 2 positional"):
        grad(sum_of_squares, wrt=3)(1.0, 2.0)


def test_kwargs_of_the_differentiated_function_are_constants():
    x = np.array([0.2, -0.4])
    np.testing.assert_allclose(grad(keyword_loss)(x, k=3.0),
                               numerical_grad(lambda x: keyword_loss(x, k=3.0), (x,)),
                               rtol=1e-6)
    np.testing.assert_allclose(grad(keyword_loss)(x, 0.5, k=-1.0),
                               numerical_grad(lambda x: keyword_loss(x, 0.5, k=-1.0), (x,)),
                               rtol=1e-6)
    with pytest.raises(S2SGradError, match="positional"):
        grad(keyword_loss, wrt="k")


def test_helpers_with_star_args_and_kwargs():
    Wc, x, h = RS.randn(6, 2), RS.randn(4, 2), RS.randn(4, 3)
    for i, arg in enumerate((Wc, x, h)):
        np.testing.assert_allclose(
            grad(calls_variadic_helpers, wrt=i)(Wc, x, h),
            numerical_grad(calls_variadic_helpers, (Wc, x, h), i), rtol=1e-6)


def pair_loss(p, q):
    return np.sum(p * np.sin(q))


def star_call(a, b):
    args = (a, b)
    return pair_loss(*args) + pair_loss(*[b, a]) + pair_loss(a, *(b,))


def star_in_a_loop(rows):
    s = 0.0
    for a, b, c in zip(*rows):
        s = s + a * b * c
    return s


def star_constant_arguments(w):
    shape = (3,)
    return np.sum(w * np.ones(shape)) + np.sum(w * np.zeros(*shape))


def test_starred_calls():
    a, b = np.array([0.1, 0.2, 0.3]), np.array([1.0, -2.0, 0.5])
    for i, arg in enumerate((a, b)):
        np.testing.assert_allclose(grad(star_call, wrt=i)(a, b),
                                   numerical_grad(star_call, (a, b), i), rtol=1e-6)
    rows = np.array([[1.0, 2.0], [0.5, -1.0], [3.0, 0.25]])
    np.testing.assert_allclose(grad(star_in_a_loop)(rows),
                               numerical_grad(star_in_a_loop, (rows,)), rtol=1e-6)
    np.testing.assert_allclose(grad(star_constant_arguments)(a), np.ones(3))


def test_starred_call_of_the_wrong_length_is_an_error_not_a_subset():
    from s2sgrad.errors import GradientError

    def three(a, b):
        args = (a, b, a)
        return pair_loss(*args)
    with pytest.raises(GradientError, match="must give 2, but it has 3"):
        grad(three)(np.ones(2), np.ones(2))
    with pytest.raises(GradientError, match="must give 3, but it has 2"):
        grad(star_in_a_loop)(np.ones((2, 4)))


def test_starred_calls_that_cannot_be_spread_are_refused():
    def spread_ufunc(w):            # (a display's length is known: that is spread)
        xs = tuple(w[:2])
        return np.sum(np.maximum(*xs))

    def double_star(w):             # (a dict display's keys are known: that is spread)
        opts = dict(q=w)
        return pair_loss(w, **opts)
    import inspect
    for f, what in ((spread_ufunc, "*xs"), (double_star, "opts)")):
        with pytest.raises(TransformError) as info:
            grad(f)(W)
        line = inspect.getsourcelines(f)[0][2]
        assert info.value.lineno == f.__code__.co_firstlineno + 2
        assert info.value.col == line.index(what)


# ---------------------------------------------------------------- has_aux, early returns

def early_aux(x, w):
    if x > 1.0:
        return np.sum(np.sin(w * x)), {"branch": "big", "x": x}
    for i in range(3):
        w = w * x
        if np.sum(w) > 10.0:
            return np.sum(w ** 2), {"branch": "loop", "i": i}
    return np.sum(np.tanh(w)) * x, {"branch": "end", "w": w}


@pytest.mark.parametrize("optimize", [True, False])
@pytest.mark.parametrize("x, w, branch", [
    (1.5, np.array([0.2, -0.4]), "big"),
    (0.9, np.array([8.0, 9.0]), "loop"),
    (0.5, np.array([0.3, 0.1]), "end")])
def test_has_aux_with_early_returns(optimize, x, w, branch):
    g, aux = grad(early_aux, wrt=(0, 1), has_aux=True, optimize=optimize)(x, w)
    assert aux["branch"] == branch
    assert g[0] == pytest.approx(numerical_grad(lambda x: early_aux(x, w)[0], (x,)),
                                 rel=1e-6)
    np.testing.assert_allclose(g[1], numerical_grad(lambda w: early_aux(x, w)[0], (w,)),
                               rtol=1e-6)
    (value, aux2), g2 = value_and_grad(early_aux, has_aux=True, optimize=optimize)(x, w)
    assert value == pytest.approx(early_aux(x, w)[0]) and aux2["branch"] == branch
    if branch == "end":
        np.testing.assert_allclose(aux2["w"], early_aux(x, w)[1]["w"])


# ---------------------------------------------------------------- partials under the operators

def op_f(x, y, z=1.0):
    return np.sum(np.sin(x) * y ** 2) * z


def op_vec(x, y):
    return np.tanh(x * y) + x ** 2


def test_partials_under_vjp_jvp_hvp_hessian_jacobian():
    from s2sgrad import hessian, hvp, jacobian, jvp, vjp
    x, y, v = np.array([0.3, -0.2]), np.array([1.0, 2.0]), np.array([0.5, -1.5])
    p = partial(op_f, y=y, z=0.5)
    f = lambda x: op_f(x, y, 0.5)                                    # noqa: E731
    g = numerical_grad(f, (x,))
    value, pull = vjp(p)(x)
    assert value == pytest.approx(f(x))
    np.testing.assert_allclose(pull(1.0), g, rtol=1e-6)
    value, t = jvp(p)((x,), (v,))
    assert t == pytest.approx(g @ v, rel=1e-6)
    H = np.array([numerical_grad(lambda x: grad(f)(x)[k], (x,)) for k in range(2)])
    np.testing.assert_allclose(hessian(p)(x), H, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(hvp(p)(x, v), H @ v, rtol=1e-5, atol=1e-8)
    # fixed positionally: the remaining argument is the one differentiated
    q = partial(op_f, x)
    Hy = np.diag(2 * np.sin(x))
    np.testing.assert_allclose(hessian(q)(y), Hy, rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(vjp(q, wrt=1)(y, 0.7)[1](1.0),
                               numerical_grad(lambda z: op_f(x, y, z), (0.7,)), rtol=1e-6)
    pv = partial(op_vec, y=y)
    J = np.array([numerical_grad(lambda x: op_vec(x, y)[k], (x,)) for k in range(2)])
    for mode in ("forward", "reverse"):
        np.testing.assert_allclose(jacobian(pv, mode=mode)(x), J, rtol=1e-6)


# ---------------------------------------------------------------- local generators

LAYER_SHAPES = [(3, 4), (4, 2)]


def unpack_layers(weights):
    """A module-level generator, consumed by a `for` loop with unpacking."""
    for m, n in LAYER_SHAPES:
        yield weights[:m * n].reshape((m, n)), weights[m * n:m * n + n]
        weights = weights[(m + 1) * n:]


def gen_net_loss(weights, inputs):
    for W, b in unpack_layers(weights):
        outputs = np.dot(inputs, W) + b
        inputs = np.tanh(outputs)
    return np.sum(outputs ** 2)


def local_generator_uses(w):
    def squares(v, k):
        for i in range(k):
            if i == 1:
                continue
            yield v[i] ** 2 * (i + 1)
        yield from [v[0], v[2]]
    a, b, c, d = squares(w, 3)
    return a * b + c * d + sum(squares(w, 3)) + np.sum(np.stack(list(squares(w * 2.0, 2)))) \
        + np.sum(np.array(tuple(squares(w, 1))))


def test_generators_inlined():
    rs = np.random.RandomState(2)
    w, X = rs.randn(3 * 4 + 4 + 4 * 2 + 2), rs.randn(5, 3)
    for i in (0, 1):
        np.testing.assert_allclose(grad(gen_net_loss, wrt=i)(w, X),
                                   numerical_grad(gen_net_loss, (w, X), i), rtol=1e-6)
    v = np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(grad(local_generator_uses)(v),
                               numerical_grad(local_generator_uses, (v,)), rtol=1e-6)


def test_generators_that_escape_or_stop_early_are_refused():
    def escapes(w):
        g = unpack_layers(w)
        return np.sum(next(g)[0])

    def stops(w):
        for W, b in unpack_layers(w):
            break
        return np.sum(W)

    def returns_one(w):
        return unpack_layers(w)
    for f, line, what in ((escapes, 1, "unpack_layers(w)"), (stops, 2, "break"),
                          (returns_one, 1, "unpack_layers(w)")):
        with pytest.raises(TransformError) as info:
            grad(f)(np.ones(22))
        import inspect
        src = inspect.getsourcelines(f)[0][line]
        assert info.value.lineno == f.__code__.co_firstlineno + line
        assert info.value.col == src.index(what)
