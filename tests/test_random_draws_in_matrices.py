"""hessian and jacobian of a function that draws random numbers: every column is a
derivative of the same realisation of f, the one a plain call would draw (the random
states are saved before the first column and put back before each), and afterwards
the states stand as after that one call. Checked against closed forms: for
f(x) = Σ x²·noise with a seed set, H = diag(2·noise) with noise drawn from the same
seed. A generator seeded from the operating system inside f cannot be replayed and is
refused."""
import numpy as np
import pytest

import s2sgrad
from s2sgrad import TransformError

X = np.array([1.0, 2.0, 3.0, 0.5])
GLOBAL_RNG = np.random.default_rng(11)


def global_draw(x):
    return np.sum(x ** 2 * np.random.normal(size=x.shape))


def generator_argument(x, rng):
    return np.sum(x ** 2 * rng.normal(size=x.shape))


def global_generator(x):
    return np.sum(x ** 2 * GLOBAL_RNG.normal(size=x.shape))


def noisy(x):
    return np.random.normal(size=x.shape)


def helper_draws(x):
    return np.sum(x ** 2 * noisy(x))


def random_vector(x):
    """4 outputs of 4 inputs: y = x²·noise (forward or reverse mode alike)."""
    return x ** 2 * np.random.normal(size=x.shape)


def unseeded_inside(x):
    rng = np.random.default_rng()
    return np.sum(x ** 2 * rng.normal(size=x.shape))


def reseeded_inside(x):
    np.random.seed()
    return np.sum(x ** 2 * np.random.normal(size=x.shape))


def python_reseeded_inside(x):
    import random
    random.seed()
    return np.sum(x ** 2 * np.random.normal(size=x.shape))


def seeded_inside(x):
    rng = np.random.default_rng(5)
    return np.sum(x ** 2 * rng.normal(size=x.shape))


def state_after(seed, n):
    """NumPy's global state after `n` normal draws from `seed` (its next draw)."""
    np.random.seed(seed)
    np.random.normal(size=n)
    return np.random.normal()


@pytest.mark.parametrize("f", [global_draw, helper_draws], ids=lambda f: f.__name__)
def test_hessian_uses_one_realisation_of_the_global_draws(f):
    np.random.seed(0)
    hess = s2sgrad.hessian(f)(X)
    after = np.random.normal()
    np.random.seed(0)
    noise = np.random.normal(size=X.shape)
    np.testing.assert_allclose(hess, np.diag(2.0 * noise), rtol=1e-12, atol=1e-15)
    assert after == state_after(0, X.size)           # advanced as by one call of f


def test_hessian_replays_a_generator_passed_as_an_argument():
    rng = np.random.default_rng(42)
    hess = s2sgrad.hessian(generator_argument)(X, rng)
    after = rng.normal()
    ref = np.random.default_rng(42)
    noise = ref.normal(size=X.shape)
    np.testing.assert_allclose(hess, np.diag(2.0 * noise), rtol=1e-12, atol=1e-15)
    assert after == ref.normal()


def test_hessian_replays_a_global_generator():
    state = GLOBAL_RNG.bit_generator.state
    hess = s2sgrad.hessian(global_generator)(X)
    ref = np.random.default_rng()
    ref.bit_generator.state = state
    noise = ref.normal(size=X.shape)
    np.testing.assert_allclose(hess, np.diag(2.0 * noise), rtol=1e-12, atol=1e-15)
    assert GLOBAL_RNG.normal() == ref.normal()


class Model:
    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)

    def loss(self, x):
        return np.sum(x ** 2 * self.rng.normal(size=x.shape))


def test_hessian_of_a_method_replays_its_objects_generator():
    model = Model(8)
    hess = s2sgrad.hessian(model.loss)(X)
    noise = np.random.default_rng(8).normal(size=X.shape)
    np.testing.assert_allclose(hess, np.diag(2.0 * noise), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("mode", ["forward", "reverse", "auto"])
def test_jacobian_uses_one_realisation(mode):
    np.random.seed(3)
    jac = s2sgrad.jacobian(random_vector, mode=mode)(X)
    after = np.random.normal()
    np.random.seed(3)
    noise = np.random.normal(size=X.shape)
    np.testing.assert_allclose(jac, np.diag(2.0 * X * noise), rtol=1e-12, atol=1e-15)
    assert after == state_after(3, X.size)


def test_a_seeded_generator_made_inside_is_consistent():
    noise = np.random.default_rng(5).normal(size=X.shape)
    np.testing.assert_allclose(s2sgrad.hessian(seeded_inside)(X), np.diag(2.0 * noise),
                               rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("f, says", [(reseeded_inside, "np.random.seed()"),
                                     (python_reseeded_inside, "random.seed()")],
                         ids=["numpy", "python"])
def test_reseeding_from_the_operating_system_inside_is_refused(f, says):
    with pytest.raises(TransformError, match="same random numbers") as info:
        s2sgrad.hessian(f)(X)
    assert says in str(info.value)


@pytest.mark.parametrize("operator", [s2sgrad.hessian, s2sgrad.jacobian],
                         ids=["hessian", "jacobian"])
def test_an_unseeded_generator_made_inside_is_refused(operator):
    with pytest.raises(TransformError, match="same random numbers") as info:
        operator(unseeded_inside)(X)
    assert "np.random.default_rng()" in str(info.value)
    assert info.value.lineno == unseeded_inside.__code__.co_firstlineno + 1


def scaled_draws(x, w):
    return x ** 2 * np.sum(w * np.random.normal(size=w.shape))


def test_grad_of_grad_over_an_array_uses_one_realisation():
    """d/dw of d/dx (x²·Σ w·noise) = 2x·noise, every entry from the same draws."""
    w = np.array([0.5, 1.5, -1.0])
    np.random.seed(4)
    got = s2sgrad.grad(s2sgrad.grad(scaled_draws), wrt=1)(0.7, w)
    np.random.seed(4)
    np.testing.assert_allclose(got, 2 * 0.7 * np.random.normal(size=3), rtol=1e-12)


class Config:
    rng = None


CONFIG = Config()
CONFIG.rng = np.random.default_rng(21)


def config_generator(x):
    return np.sum(x ** 2 * CONFIG.rng.normal(size=x.shape))


def test_hessian_replays_a_generator_held_by_a_global_object():
    state = CONFIG.rng.bit_generator.state
    hess = s2sgrad.hessian(config_generator)(X)
    ref = np.random.default_rng()
    ref.bit_generator.state = state
    np.testing.assert_allclose(hess, np.diag(2.0 * ref.normal(size=X.shape)), rtol=1e-12,
                               atol=1e-15)
