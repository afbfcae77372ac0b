"""`@grad(wrt=1)` (or `@value_and_grad`) on a method in a class body: read from an
instance, the gradient function was not bound to it (`model.dloss(w)` raised "missing 1
required positional argument: 'w'"). It binds the instance as a function does; `wrt`
counts `self`, as for the plain function."""
import numpy as np

from s2sgrad import grad, value_and_grad

X = np.array([0.5, -1.0, 2.0])


class Cubic:
    def __init__(self, scale):
        self.scale = scale

    @grad(wrt=1)
    def dloss(self, w):
        return self.scale * np.sum(w ** 3)

    @value_and_grad(wrt="w")
    def loss_and_grad(self, w, shift=0.0):
        return self.scale * np.sum(np.sin(w + shift))


def test_bound_to_the_instance():
    np.testing.assert_allclose(Cubic(2.0).dloss(X), 6 * X ** 2)
    np.testing.assert_allclose(Cubic(0.5).dloss(X), 1.5 * X ** 2)
    value, g = Cubic(3.0).loss_and_grad(X, shift=0.25)
    assert value == 3.0 * np.sum(np.sin(X + 0.25))
    np.testing.assert_allclose(g, 3.0 * np.cos(X + 0.25))


def test_read_from_the_class_it_is_the_plain_gradient():
    np.testing.assert_allclose(Cubic.dloss(Cubic(2.0), X), 6 * X ** 2)
