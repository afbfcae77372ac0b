"""`@s2sgrad.grad` on a method: by default it would differentiate with respect to `self`
(position 0), a plain object; the refusal names the method, `self` and the `wrt=` to
write, located at the decorated def. With `wrt=1` or `wrt='x'` the gradient is taken
with respect to x and checked against the closed form."""
import numpy as np
import pytest

import s2sgrad
from s2sgrad.errors import TransformError


class Model:
    def __init__(self, s):
        self.s = s

    @s2sgrad.grad
    def by_default(self, x):
        return self.s * np.sum(x ** 2)

    @s2sgrad.grad(wrt=1)
    def by_position(self, x):
        return self.s * np.sum(x ** 2)

    @s2sgrad.grad(wrt="x")
    def by_name(self, x):
        return self.s * np.sum(x ** 2)


def test_the_default_names_self_and_the_wrt_to_write():
    with pytest.raises(TransformError) as info:
        Model(2.0).by_default(np.ones(3))
    text = str(info.value)
    assert "by_default is called as a method" in text and "'self'" in text
    assert "wrt=1" in text and "wrt='x'" in text
    assert info.value.filename == __file__ and info.value.lineno is not None
    assert "argument -1" not in text


@pytest.mark.parametrize("method", ["by_position", "by_name"])
def test_wrt_after_self(method):
    x = np.array([0.5, -1.0, 2.0])
    g = getattr(Model(3.0), method)(x)
    np.testing.assert_allclose(g, 6.0 * x, rtol=1e-14)
