"""Methods of the user's own classes: `self.predict(w)` inside `model.loss`, a model held
in a global or a closure, a model object passed as an argument, static methods, and
subclasses that override a hook. A call of a method is a call of the function the
object's class defines (the code is specialized on the class); every gradient is checked
against centered finite differences, and code compiled for one class is never run for
another (a subclass, a global rebound, a method replaced on the class).
"""
import numpy as np
import pytest

import s2sgrad
from s2sgrad import GradientError, TransformError

from support.numeric import assert_grad_matches, numerical_grad

RNG = np.random.default_rng(21)
X = RNG.normal(size=(6, 3))
Y = RNG.normal(size=6)
W = RNG.normal(size=3)


class Regression:
    def __init__(self, X, y, reg=0.1):
        self.X, self.y, self.reg = X, y, reg

    def activation(self, z):
        return z

    def predict(self, w):
        return self.activation(self.X @ w)

    def penalty(self, w):
        return self.reg * np.sum(w ** 2)

    def loss(self, w):
        r = self.predict(w) - self.y
        return np.mean(r ** 2) + self.penalty(w)


class Logistic(Regression):
    def activation(self, z):
        return 1.0 / (1.0 + np.exp(-z))


class Smooth(Regression):
    @staticmethod
    def squash(z):
        return np.tanh(z)

    def activation(self, z):
        return self.squash(z) * 2.0


class Layered:
    def __init__(self, widths):
        self.widths = widths

    def forward(self, weights, x):
        for W_ in weights:
            x = np.tanh(x @ W_)
        return x

    def loss(self, W1, W2, x):
        return np.sum(self.forward([W1, W2], x) ** 2)


MODEL = Regression(X, Y)


def loss_of_the_global_model(w):
    return MODEL.loss(w) + 0.5 * np.sum(w)


def loss_of_a_model_argument(w, model):
    return model.loss(w) * 2.0


def make_loss(model):
    def loss(w):
        return model.loss(w) - model.penalty(w) * 0.5
    return loss


@pytest.mark.parametrize("model", [Regression(X, Y), Logistic(X, Y), Smooth(X, Y)],
                         ids=["base", "override", "static"])
def test_a_bound_method_that_calls_methods(model):
    assert_grad_matches(model.loss, W.copy())


def test_the_class_of_each_call_decides_the_methods_it_runs():
    """One function, objects of three classes: three specializations, each right."""
    for model in (Regression(X, Y), Logistic(X, Y), Smooth(X, Y), Regression(X, Y, 2.0)):
        got = s2sgrad.grad(loss_of_a_model_argument)(W.copy(), model)
        expected = numerical_grad(loss_of_a_model_argument, (W.copy(), model), 0)
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)


def test_a_global_model_and_a_rebound_global():
    global MODEL
    assert_grad_matches(loss_of_the_global_model, W.copy())
    g = s2sgrad.grad(loss_of_the_global_model)
    before = g(W.copy())
    saved = MODEL
    try:
        MODEL = Logistic(X, Y)
        after = g(W.copy())
        np.testing.assert_allclose(
            after, numerical_grad(loss_of_the_global_model, (W.copy(),), 0), rtol=1e-6)
        assert not np.allclose(before, after)
    finally:
        MODEL = saved


def test_a_method_replaced_on_the_class_is_not_run_stale():
    class Local(Regression):
        def activation(self, z):
            return z ** 3

    model = Local(X, Y)
    g = s2sgrad.grad(model.loss)
    first = g(W.copy())
    np.testing.assert_allclose(first, numerical_grad(model.loss, (W.copy(),), 0), rtol=1e-6)
    Local.activation = lambda self, z: np.sin(z)
    np.testing.assert_allclose(g(W.copy()), numerical_grad(model.loss, (W.copy(),), 0),
                               rtol=1e-6)


def test_a_model_in_a_closure():
    loss = make_loss(Logistic(X, Y, 0.3))
    assert_grad_matches(loss, W.copy())


def test_methods_with_loops_and_lists_of_weights():
    net = Layered([3, 4, 2])
    W1, W2 = RNG.normal(size=(3, 4)) * 0.5, RNG.normal(size=(4, 2)) * 0.5
    assert_grad_matches(net.loss, W1, W2, X.copy(), wrt=(0, 1))


def test_value_and_grad_of_a_method():
    model = Smooth(X, Y)
    value, got = s2sgrad.value_and_grad(model.loss)(W.copy())
    assert value == model.loss(W.copy())
    np.testing.assert_allclose(got, numerical_grad(model.loss, (W.copy(),), 0), rtol=1e-6)


def test_the_object_itself_is_not_differentiated():
    with pytest.raises((GradientError, TransformError)):
        s2sgrad.grad(loss_of_a_model_argument, wrt=1)(W.copy(), Regression(X, Y))


def test_hessian_vector_products_of_methods():
    """Forward over reverse: hvp of a bound method, and of a function given a model."""
    model = Logistic(X, Y, 0.2)
    v = RNG.normal(size=3)
    h = 1e-5
    g = s2sgrad.grad(model.loss)
    expected = (g(W + h * v) - g(W - h * v)) / (2 * h)
    np.testing.assert_allclose(s2sgrad.hvp(model.loss)(W.copy(), v), expected, rtol=1e-5)
    hv = s2sgrad.hvp(loss_of_a_model_argument)
    np.testing.assert_allclose(hv(W.copy(), model, v), 2.0 * expected, rtol=1e-5)
    other = Smooth(X, Y)                   # another class: code of its own
    g2 = s2sgrad.grad(other.loss)
    expected2 = 2.0 * (g2(W + h * v) - g2(W - h * v)) / (2 * h)
    np.testing.assert_allclose(hv(W.copy(), other, v), expected2, rtol=1e-5)
    assert "def hvp_" in hv.source


def test_forward_mode_through_a_method():
    """jvp of a bound method (it was refused before methods were followed in forward
    mode): the tangent is the directional finite difference."""
    model = Logistic(X, Y)
    d = RNG.normal(size=3)
    out, tangent = s2sgrad.jvp(model.loss)((W.copy(),), (d,))
    h = 1e-6
    assert out == model.loss(W.copy())
    np.testing.assert_allclose(
        tangent, (model.loss(W + h * d) - model.loss(W - h * d)) / (2 * h), rtol=1e-6)


def test_a_global_models_method_shadowed_later_is_not_run_stale():
    global MODEL
    saved = MODEL
    try:
        MODEL = Regression(X, Y)
        g = s2sgrad.grad(loss_of_the_global_model)
        g(W.copy())
        MODEL.loss = lambda w: np.sum(w ** 4)      # the object's own, from now on
        np.testing.assert_allclose(
            g(W.copy()), numerical_grad(loss_of_the_global_model, (W.copy(),), 0),
            rtol=1e-6)
    finally:
        MODEL = saved


# ------------------------------------------------------------ objects called: __call__

class Dense:
    """A PyTorch-style layer: called as `layer(x)`."""
    def __init__(self, W, b):
        self.W, self.b = W, b

    def __call__(self, x):
        return self.forward(x)

    def forward(self, x):
        return np.tanh(x @ self.W + self.b)


class Scaled(Dense):
    def forward(self, x):
        return 3.0 * (x @ self.W)


LAYER = Dense(RNG.normal(size=(3, 2)), 0.1)


def loss_of_a_called_model(x, layer):
    return np.sum(layer(x) ** 2)


def loss_of_a_called_global(x):
    return np.sum(LAYER(x * 2.0))


@pytest.mark.parametrize("layer", [Dense(RNG.normal(size=(3, 2)), 0.5),
                                   Scaled(RNG.normal(size=(3, 2)), 0.0)],
                         ids=["dense", "subclass"])
def test_an_object_argument_called_runs_its_classs_call(layer):
    got = s2sgrad.grad(loss_of_a_called_model)(X.copy(), layer)
    expected = numerical_grad(loss_of_a_called_model, (X.copy(), layer), 0)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)
    value, _ = s2sgrad.value_and_grad(loss_of_a_called_model)(X.copy(), layer)
    assert value == loss_of_a_called_model(X.copy(), layer)


def test_a_global_object_called_and_rebound():
    global LAYER
    assert_grad_matches(loss_of_a_called_global, X.copy())
    g = s2sgrad.grad(loss_of_a_called_global)
    saved = LAYER
    try:
        LAYER = Scaled(RNG.normal(size=(3, 2)), 0.0)
        np.testing.assert_allclose(g(X.copy()), numerical_grad(loss_of_a_called_global,
                                                               (X.copy(),), 0), rtol=1e-6)
    finally:
        LAYER = saved


def test_hessian_vector_product_through_a_called_object():
    layer = Dense(RNG.normal(size=(3, 2)), 0.2)
    v = RNG.normal(size=X.shape)
    h = 1e-5
    g = s2sgrad.grad(loss_of_a_called_model)
    expected = (g(X + h * v, layer) - g(X - h * v, layer)) / (2 * h)
    got = s2sgrad.hvp(loss_of_a_called_model)(X.copy(), layer, v)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)


class Stack:
    def __init__(self, inner):
        self.inner = inner

    def __call__(self, x):
        return self.inner(x) * 2.0


STACK = Stack(LAYER)


def loss_of_a_global_objects_attribute_called(x):
    return np.sum(STACK.inner(x))


def test_an_object_held_in_an_attribute_and_called_is_refused_with_its_class():
    with pytest.raises(TransformError, match="an object of class `Dense`"):
        s2sgrad.grad(loss_of_a_global_objects_attribute_called)(X.copy())
