"""A gradient with respect to a parameter container: a NamedTuple read by attribute, in a
loop over a list of them. The gradient is a list of the same NamedTuples."""
from typing import NamedTuple

import numpy as np

from support.numeric import numerical_grad


class Layer(NamedTuple):
    W: np.ndarray
    b: np.ndarray


def loss(layers, x):
    h = x
    for layer in layers:
        h = np.tanh(h @ layer.W + layer.b)
    return np.sum(h ** 2)


FUNCTION = loss
WRT = 0
_rs = np.random.RandomState(3)
CASES = {"two layers": ([Layer(_rs.randn(3, 4), _rs.randn(4)), Layer(_rs.randn(4, 2),
                                                                    _rs.randn(2))],
                        _rs.randn(5, 3))}


def CHECK(args, got):
    """The gradient's structure, and each field against finite differences."""
    layers, x = args
    assert type(got) is list and all(type(g) is Layer for g in got)
    for i, layer in enumerate(layers):
        for field in Layer._fields:
            def f(v):
                changed = list(layers)
                changed[i] = layer._replace(**{field: v})
                return loss(changed, x)
            np.testing.assert_allclose(getattr(got[i], field),
                                       numerical_grad(f, (getattr(layer, field),)),
                                       rtol=1e-6, atol=1e-8)
