"""Complex numbers: s2sgrad's rules are those of real-valued code, and a gradient
through complex values differs by convention (autograd and JAX conjugate where these
rules would not). So a complex number meeting the differentiated input is refused: at
transform time where the code shows it (a `1j` literal, `complex(...)`, a complex
global), at call time where only the values do (a complex argument, a complex leaf, a
gradient that came out complex). Complex values that only make constants are fine; those
gradients are checked against centered finite differences.
"""
import inspect

import numpy as np
import pytest

import s2sgrad
from s2sgrad import GradientError, TransformError

from support.numeric import assert_grad_matches

X = np.array([0.3, -0.7, 1.2])
PHASE = np.exp(0.3j)


def marker_line(func, marker="# <- HERE"):
    lines, first = inspect.getsourcelines(func)
    return next(first + k for k, text in enumerate(lines) if marker in text)


def literal_meets_input(x):
    z = x * (1 + 2j)  # <- HERE
    return np.real(np.sum(z * np.conj(z)))


def complex_global_meets_input(x):
    return np.sum(np.real(x * PHASE))  # <- HERE


def complex_call_meets_input(x):
    z = complex(1.0, 2.0)
    y = x * z  # <- HERE
    return np.sum(np.real(y))


def through_a_name_and_a_loop(x):
    w = 2j
    acc = np.zeros(3)
    for k in range(2):
        acc = acc + x * w  # <- HERE
    return np.sum(np.real(acc))


@pytest.mark.parametrize("f", [literal_meets_input, complex_global_meets_input,
                               complex_call_meets_input, through_a_name_and_a_loop])
def test_a_complex_value_meeting_the_input_is_refused_at_its_line(f):
    with pytest.raises(TransformError) as info:
        s2sgrad.grad(f)(X)
    assert info.value.lineno == marker_line(f)
    assert "real-valued code" in str(info.value)
    assert "real and imaginary parts" in str(info.value)


def constant_phases(x):
    c = np.exp(1j * np.arange(3))          # complex, but only a constant
    w = np.abs(c + 0.5) ** 2               # real again
    r = PHASE.real * np.cos(x)
    return np.sum(x * w) + np.sum(r)


def test_complex_constants_that_end_real_are_differentiated():
    assert_grad_matches(constant_phases, X)


def square_norm(z):
    return np.sum(np.abs(z) ** 2)


def test_a_complex_argument_is_refused_at_the_call():
    for z in (np.array([1 + 2j, 3 - 1j]), 1 + 2j, np.complex64(1j)):
        with pytest.raises(GradientError, match="complex"):
            s2sgrad.grad(square_norm)(z)


def real_part_of_product(x, data):
    return np.sum(np.real(data * x))


def test_complex_data_meeting_the_input_is_refused_not_cast():
    data = np.array([1 + 1j, 2j, -1.0 + 0.5j])
    with pytest.raises(GradientError, match="came out complex"):
        s2sgrad.grad(real_part_of_product)(X, data)


def modulus_of_data(x, data):
    return np.sum(np.abs(data) * x ** 2)


def test_complex_data_read_only_through_its_modulus_is_fine():
    data = np.array([1 + 1j, 2j, -1.0 + 0.5j])
    assert_grad_matches(modulus_of_data, X, data)


def container_loss(p):
    return np.sum(np.abs(p["a"]) ** 2) + np.sum(p["b"] ** 2)


def test_a_complex_leaf_of_a_container_is_refused():
    with pytest.raises(GradientError, match="complex leaf"):
        s2sgrad.grad(container_loss)({"a": np.array([1j, 2.0]), "b": X})
