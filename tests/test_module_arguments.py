"""A module given as an argument or left as a parameter's default (`def f(x, xp=np)`,
array-API style): calls through it are not followed (s2sgrad resolves modules by name
when it compiles), so it is refused at the def with the parameter's name and what to
write, instead of a misleading refusal inside the body. A module parameter whose
attributes the function never reads is left alone; a local alias (`xp = np`) works."""
import numpy as np
import pytest

import s2sgrad
from s2sgrad.errors import TransformError

X = np.array([0.3, -1.2, 2.0])


def default_module(x, xp=np):
    return xp.sum(xp.exp(x))


def passed_module(x, xp):
    return xp.sum(x * x)


def in_a_lambda(x, xp=np):
    f = lambda v: xp.tanh(v)        # noqa: E731
    return np.sum(f(x))


def unused_module(x, xp=np):
    return np.sum(x * x)


def aliased(x):
    xp = np
    return xp.sum(xp.exp(x))


@pytest.mark.parametrize("f, args", [(default_module, (X,)), (passed_module, (X, np)),
                                     (in_a_lambda, (X,))])
def test_a_module_parameter_is_refused_at_the_def(f, args):
    with pytest.raises(TransformError) as info:
        s2sgrad.grad(f)(*args)
    text = str(info.value)
    assert "parameter 'xp'" in text and "module numpy" in text
    assert "`np.sum(...)`" in text and "`xp = np`" in text
    assert info.value.filename == __file__ and info.value.lineno is not None


def test_an_unused_module_parameter_and_an_alias_are_fine():
    np.testing.assert_allclose(s2sgrad.grad(unused_module)(X), 2 * X, rtol=1e-14)
    np.testing.assert_allclose(s2sgrad.grad(aliased)(X), np.exp(X), rtol=1e-14)
