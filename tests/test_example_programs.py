"""The example programs in samples/ (a classifier, a character RNN, an LSTM, a GP, a VAE, a
mixture model, Bayesian linear regression, a fluid simulation, a GAN), checked numerically.

For each program: the gradient of the function it differentiates, at its initial point,
against centered finite differences in float64 (tests/support/numeric.py), with the
gradient of a parameter container (a list of (W, b) pairs, a dict, a tuple of lists)
compared leaf by leaf after flattening; and its training loop, run for a few steps, must
lower the loss. The programs are written the way autograd and JAX users write them; the most
natural spellings (generators, `*args`, SciPy imported in the function, functions passed as
arguments, NamedTuple parameters, a tree_map step) are checked here too, next to the form
the sample uses.
"""
import contextlib
import importlib.util
import io
import os

import numpy as np
import pytest

import s2sgrad
from s2sgrad.errors import TransformError

from support.numeric import check_grads
from support.trees import assert_tree_grad, flatten, same_structure, unflatten

SAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "samples")


def load_sample(name):
    """The sample module, imported from its file (its main() does not run)."""
    spec = importlib.util.spec_from_file_location("sample_" + name, os.path.join(SAMPLES, name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def losses_of(module, num_iters):
    """The sample's own training loop for a few steps (its printing swallowed)."""
    with contextlib.redirect_stdout(io.StringIO()):
        return module.main(num_iters=num_iters)


def assert_decreasing_overall(losses):
    assert losses[-1] < losses[0], "the loss went from %g to %g" % (losses[0], losses[-1])


# ----------------------------------------------------------------------------
# 1. a softmax classifier on blobs, parameters a list of (W, b) pairs


def test_neural_net_minibatch_objective_gradient():
    nn = load_sample("neural_net")
    params, inputs, targets = nn.setup()
    objective = nn.make_objective(inputs, targets)
    for t in (0, 3):  # two different minibatches through the same compiled lambda
        assert_tree_grad(objective, (params, t))


def test_neural_net_full_log_posterior_gradient():
    nn = load_sample("neural_net")
    params, inputs, targets = nn.setup()
    assert_tree_grad(nn.log_posterior, (params, inputs, targets, nn.L2_REG))


def test_neural_net_training_lowers_the_loss():
    losses = losses_of(load_sample("neural_net"), 20)
    assert losses[-1] < 0.5 * losses[0]


# ----------------------------------------------------------------------------
# 2. a character RNN, parameters a dict, outputs collected in a list


def test_rnn_gradient():
    rnn = load_sample("sequence_rnn")
    params, sequences = rnn.setup(num_sequences=4, length=6, state_size=5)
    assert_tree_grad(rnn.training_loss, (params, sequences))


def test_rnn_training_lowers_the_loss():
    losses = losses_of(load_sample("sequence_rnn"), 15)
    assert losses[-1] < 0.8 * losses[0]


# ----------------------------------------------------------------------------
# 3. an LSTM


def test_lstm_gradient():
    lstm = load_sample("lstm")
    params, inputs, labels = lstm.setup(num_sequences=6, length=5, state_size=3)
    assert_tree_grad(lstm.logistic_loss, (params, inputs, labels))


def test_lstm_gradient_wrt_the_inputs():
    lstm = load_sample("lstm")
    params, inputs, labels = lstm.setup(num_sequences=3, length=4, state_size=3)
    assert_tree_grad(lstm.logistic_loss, (params, inputs, labels), wrt=1)


def test_lstm_training_lowers_the_loss():
    losses = losses_of(load_sample("lstm"), 15)
    assert losses[-1] < 0.8 * losses[0]


# ----------------------------------------------------------------------------
# 4. Gaussian-process regression (cholesky, solve, a factory of closures)


def test_gp_marginal_likelihood_gradient():
    gp = load_sample("gaussian_process")
    objective, params, predict, X, y = gp.setup()
    got = s2sgrad.grad(objective)(params)
    check_grads(objective, (params,), got)


def test_gp_marginal_likelihood_value_is_the_gaussian_density():
    """The sample's Cholesky form agrees with the density computed another way."""
    gp = load_sample("gaussian_process")
    objective, params, predict, X, y = gp.setup()
    K = gp.rbf_covariance(params[2:], X, X) + (np.exp(params[1]) + 0.0001) * np.eye(len(y))
    r = y - params[0]
    sign, logdet = np.linalg.slogdet(K)
    expected = -0.5 * r @ np.linalg.inv(K) @ r - 0.5 * logdet - 0.5 * len(y) * np.log(2 * np.pi)
    assert sign > 0
    assert -objective(params) == pytest.approx(expected, rel=1e-10)


def test_gp_training_lowers_the_loss():
    losses = losses_of(load_sample("gaussian_process"), 20)
    assert losses[-1] < losses[0] - 5.0


# ----------------------------------------------------------------------------
# 5. a VAE objective with a fixed draw: a tuple of two lists of (W, b) pairs


def test_vae_lower_bound_gradient():
    vae = load_sample("vae")
    params, data, eps = vae.setup(num_images=6)
    assert_tree_grad(vae.vae_lower_bound, (params, data, eps))


def test_vae_gradient_through_the_lambda_wrt_the_draw():
    """d(-ELBO)/d eps, the reparameterisation path alone."""
    vae = load_sample("vae")
    params, data, eps = vae.setup(num_images=4)
    objective = lambda params, data, eps: -vae.vae_lower_bound(params, data, eps)
    got = s2sgrad.grad(objective, wrt=2)(params, data, eps)
    check_grads(objective, (params, data, eps), got, wrt=2)


def test_vae_training_lowers_the_loss():
    losses = losses_of(load_sample("vae"), 40)
    assert_decreasing_overall(losses)


# ----------------------------------------------------------------------------
# 6. a Gaussian mixture model with logsumexp


def test_gmm_log_likelihood_gradient():
    gmm = load_sample("mixture_model")
    params, data = gmm.setup()
    assert_tree_grad(gmm.gmm_log_likelihood, (params, data[::6]))


def test_gmm_gradient_ignores_the_upper_triangles():
    """np.tril in the density: the strict upper triangles get a zero gradient."""
    gmm = load_sample("mixture_model")
    params, data = gmm.setup()
    got = s2sgrad.grad(gmm.gmm_log_likelihood)(params, data[::6])
    L_bar = got["lower triangles"]
    assert np.all(L_bar[:, 0, 1] == 0.0) and np.all(L_bar[:, 1, 0] != 0.0)


def test_gmm_training_lowers_the_loss():
    losses = losses_of(load_sample("mixture_model"), 20)
    assert losses[-1] < losses[0] - 0.5


# ----------------------------------------------------------------------------
# 7. Bayesian linear regression by black-box variational inference


def test_blr_variational_objective_gradient():
    blr = load_sample("bayesian_linear_regression")
    objective, unpack_params, params, eps, X, y = blr.setup(num_samples=20)
    params = params + 0.1 * np.arange(len(params))
    got = s2sgrad.grad(objective)(params, eps, X, y)
    check_grads(objective, (params, eps, X, y), got)


def test_blr_gradient_vanishes_at_the_closed_form_for_a_symmetric_draw():
    """With draws ±eps (their mean is zero), d(-ELBO)/d mean = precision (mean - exact mean):
    zero at the exact posterior mean, whatever the standard deviations."""
    blr = load_sample("bayesian_linear_regression")
    objective, unpack_params, params, eps, X, y = blr.setup(num_samples=10)
    eps = np.concatenate([eps, -eps])
    exact_mean, precision = blr.exact_posterior(X, y)
    params = np.concatenate([exact_mean, np.log([0.05, 0.1, 0.2])])
    g = s2sgrad.grad(objective)(params, eps, X, y)
    assert np.allclose(g[:3], 0.0, atol=1e-8)
    moved = params + np.array([0.01, -0.02, 0.03, 0.0, 0.0, 0.0])
    g = s2sgrad.grad(objective)(moved, eps, X, y)
    assert np.allclose(g[:3], precision @ np.array([0.01, -0.02, 0.03]), rtol=1e-8)


def test_blr_training_lowers_the_loss():
    losses = losses_of(load_sample("bayesian_linear_regression"), 30)
    assert_decreasing_overall(losses)


# ----------------------------------------------------------------------------
# 8. a fluid simulation: np.roll, floor, integer indices, a loop of loops


def test_fluid_gradient_wrt_the_initial_velocity():
    fluid = load_sample("fluid_sim")
    rs = np.random.RandomState(0)
    size, steps = 8, 3
    smoke = fluid.blob(size, 2.0, 2.0, width=1.5)
    target = fluid.blob(size, 4.0, 5.0, width=1.5)
    velocity = 0.3 + 0.2 * rs.randn(2 * size * size)
    got = s2sgrad.grad(fluid.distance_from_target)(velocity, smoke, target, steps)
    check_grads(fluid.distance_from_target, (velocity, smoke, target, steps), got)


def test_fluid_gradient_wrt_the_initial_smoke():
    fluid = load_sample("fluid_sim")
    rs = np.random.RandomState(1)
    size = 6
    smoke = rs.rand(size, size)
    target = rs.rand(size, size)
    velocity = 0.5 * rs.randn(2 * size * size)
    got = s2sgrad.grad(fluid.distance_from_target, wrt=1)(velocity, smoke, target, 2)
    check_grads(fluid.distance_from_target, (velocity, smoke, target, 2), got, wrt=1)


def test_fluid_training_lowers_the_loss():
    losses = losses_of(load_sample("fluid_sim"), 6)
    assert_decreasing_overall(losses)


# ----------------------------------------------------------------------------
# 9. a GAN: one local helper applies the generator and (twice) the discriminator


def _gan_args(seed=0):
    gan = load_sample("gan")
    gen_params, dsc_params, rs = gan.setup(seed)
    return gan, (gen_params, dsc_params, gan.TARGET_MEAN + rs.randn(6, 1), rs.randn(6, 1))


def test_gan_discriminator_gradient():
    gan, args = _gan_args()
    assert_tree_grad(gan.discriminator_loss, args, wrt=1)


def test_gan_generator_gradient():
    gan, args = _gan_args()
    assert_tree_grad(gan.generator_loss, args, wrt=0)


def test_gan_training_moves_the_generated_mean_to_the_data():
    gan = load_sample("gan")
    probe = np.random.RandomState(1).randn(500, 1)
    before = np.mean(gan.generate(gan.setup()[0], probe))
    gen_params, _ = gan.train(60)
    after = np.mean(gan.generate(gen_params, probe))
    assert abs(after - gan.TARGET_MEAN) < 0.5 * abs(before - gan.TARGET_MEAN)


# ----------------------------------------------------------------------------
# every program against autograd (the same source run with autograd.numpy), and with
# sizes of one in every place a shape pattern could confuse


def load_sample_with_autograd(name):
    """The sample's source executed again with `np` bound to autograd.numpy."""
    import types
    path = os.path.join(SAMPLES, name + ".py")
    with open(path, encoding="utf-8") as fh:
        text = fh.read().replace("import numpy as np\n", "import autograd.numpy as np\n")
    module = types.ModuleType("autograd_sample_" + name)
    module.__file__ = path
    exec(compile(text, path, "exec"), module.__dict__)
    return module


def _gp_case(m):
    objective, params, predict, X, y = m.setup()
    return objective, (params,)


def _blr_case(m):
    objective, unpack_params, params, eps, X, y = m.setup(num_samples=20)
    return objective, (params + 0.1, eps, X, y)


CASES = {   # sample → (the function it differentiates, arguments at its initial point)
    "neural_net": lambda m: (m.log_posterior, m.setup() + (m.L2_REG,)),
    "sequence_rnn": lambda m: (m.training_loss, m.setup(num_sequences=4, length=6, state_size=5)),
    "lstm": lambda m: (m.logistic_loss, m.setup(num_sequences=6, length=5, state_size=3)),
    "gaussian_process": _gp_case,
    "vae": lambda m: (m.vae_lower_bound, m.setup(num_images=6)),
    "mixture_model": lambda m: (m.gmm_log_likelihood, m.setup()),
    "bayesian_linear_regression": _blr_case,
    "fluid_sim": lambda m: (m.distance_from_target, m.setup() + (3,)),
    "gan": lambda m: (m.discriminator_loss, (lambda g, d, rs: (g, d, rs.randn(6, 1) + 3.0,
                                                               rs.randn(6, 1)))(*m.setup())),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradient_matches_autograd(name):
    autograd = pytest.importorskip("autograd")
    f, args = CASES[name](load_sample(name))
    f_ag, args_ag = CASES[name](load_sample_with_autograd(name))
    got = s2sgrad.grad(f)(*args)
    expected = autograd.grad(f_ag)(*args_ag)
    assert same_structure(args[0], got)
    assert np.allclose(flatten(got), flatten(expected), rtol=1e-9, atol=1e-12)


SIZES_OF_ONE = [
    ("neural_net", lambda m, rs: (m.log_posterior, (m.init_random_params(0.5, [1, 4, 1], rs),
                                                    rs.randn(1, 1), np.ones((1, 1)), 0.1))),
    ("neural_net", lambda m, rs: (m.log_posterior, (m.init_random_params(0.5, [3, 3, 3], rs),
                                                    rs.randn(3, 3), np.eye(3), 0.1))),
    ("sequence_rnn", lambda m, rs: (m.training_loss, m.setup(num_sequences=1, length=1, state_size=1))),
    ("lstm", lambda m, rs: (m.logistic_loss, m.setup(num_sequences=1, length=3, state_size=1))),
    ("gaussian_process", lambda m, rs: (m.make_gp_funs(m.rbf_covariance, 2)[2],
                                        (0.1 * rs.randn(4), rs.randn(1, 1), rs.randn(1)))),
    ("vae", lambda m, rs: (m.vae_lower_bound, m.setup(num_images=1))),
    ("mixture_model", lambda m, rs: (m.gmm_log_likelihood, (m.init_gmm_params(1, 1, 1.0, rs),
                                                            rs.randn(1, 1)))),
    ("fluid_sim", lambda m, rs: (m.distance_from_target, (0.4 * rs.randn(2), rs.rand(1, 1),
                                                          rs.rand(1, 1), 2))),
]


@pytest.mark.parametrize("name, case", SIZES_OF_ONE,
                         ids=["%s-%d" % (n, i) for i, (n, _) in enumerate(SIZES_OF_ONE)])
def test_gradient_with_sizes_of_one(name, case):
    """Batches, states, layers and grids of size one (broadcasting shapes) and square
    ones (sizes that coincide): the code specialised on the shape pattern stays right."""
    f, args = case(load_sample(name), np.random.RandomState(0))
    assert_tree_grad(f, args)


# ----------------------------------------------------------------------------
# The natural spellings of the same programs, as autograd's examples write them: a generator
# unpacking flat weights, zip(*triple), SciPy's densities, a draw made inside the objective,
# an activation passed as an argument, NamedTuple parameters and a tree_map SGD step.

NN = load_sample("neural_net")
GMM = load_sample("mixture_model")
VAE = load_sample("vae")
LSTM = load_sample("lstm")

LAYER_SHAPES = [(2, 5), (5, 3)]


def unpack_layers(weights):
    """autograd's neural_net example: (W, b) per layer sliced off a flat vector, by a generator."""
    for m, n in LAYER_SHAPES:
        yield weights[:m * n].reshape((m, n)), weights[m * n:m * n + n]
        weights = weights[(m + 1) * n:]


def flat_net_log_posterior(weights, inputs, targets):
    for W, b in unpack_layers(weights):
        outputs = np.dot(inputs, W) + b
        inputs = np.tanh(outputs)
    return -0.1 * np.sum(weights ** 2) + np.sum(NN.log_softmax(outputs) * targets)


def test_natural_flat_weights_unpacked_by_a_generator():
    rs = np.random.RandomState(0)
    weights = 0.5 * rs.randn(sum((m + 1) * n for m, n in LAYER_SHAPES))
    inputs, targets = rs.randn(7, 2), np.eye(3)[rs.randint(3, size=7)]
    got = s2sgrad.grad(flat_net_log_posterior)(weights, inputs, targets)
    check_grads(flat_net_log_posterior, (weights, inputs, targets), got)


def gmm_zip_star(params, data):
    cluster_lls = []
    for log_proportion, mean, L in zip(*GMM.unpack_gmm_params(params)):
        cluster_lls.append(log_proportion + GMM.mvn_logpdf(data, mean, L))
    return np.sum(GMM.logsumexp(np.vstack(cluster_lls), axis=0))


def test_natural_gmm_zip_of_a_starred_triple():
    params, data = GMM.setup()
    assert_tree_grad(gmm_zip_star, (params, data[::6]))


def gmm_scipy(params, data):
    from scipy.special import logsumexp
    from scipy.stats import multivariate_normal as mvn
    log_proportions, means, lower_triangles = GMM.unpack_gmm_params(params)
    cluster_lls = []
    for log_proportion, mean, L in zip(log_proportions, means, lower_triangles):
        cov = np.dot(np.tril(L), np.tril(L).T)
        cluster_lls.append(log_proportion + mvn.logpdf(data, mean, cov))
    return np.sum(logsumexp(np.vstack(cluster_lls), axis=0))


def test_natural_gmm_with_scipy():
    pytest.importorskip("scipy")
    params, data = GMM.setup()
    assert gmm_scipy(params, data) == pytest.approx(GMM.gmm_log_likelihood(params, data))
    assert_tree_grad(gmm_scipy, (params, data[::6]))


def vae_draw_inside(combined_params, data, rs):
    """autograd's vae example: the draw made inside the objective from a RandomState argument."""
    gen_params, rec_params = combined_params
    q_means, q_log_stds = VAE.nn_predict_gaussian(rec_params, data)
    latents = q_means + np.exp(q_log_stds) * rs.randn(*q_means.shape)
    logits = VAE.neural_net_predict(gen_params, latents)
    return np.mean(VAE.bernoulli_log_density(data, logits)
                   - VAE.diag_gaussian_kl(q_means, q_log_stds))


def test_natural_vae_with_the_draw_inside_the_objective():
    params, data, eps = VAE.setup(num_images=4)
    got = s2sgrad.grad(vae_draw_inside)(params, data, np.random.RandomState(3))
    # the same draw made outside: the sample's objective with that eps
    fixed = np.random.RandomState(3).randn(*eps.shape)
    assert_tree_grad(VAE.vae_lower_bound, (params, data, fixed))
    expected = s2sgrad.grad(VAE.vae_lower_bound)(params, data, fixed)
    assert np.allclose(flatten(got), flatten(expected))


def net_with_activation(params, inputs, nonlinearity):
    for W, b in params:
        outputs = np.dot(inputs, W) + b
        inputs = nonlinearity(outputs)
    return np.sum(NN.log_softmax(outputs))


def test_natural_nonlinearity_passed_as_an_argument():
    params, inputs, targets = NN.setup()
    assert_tree_grad(net_with_activation, (params, inputs[:5], np.tanh))


try:
    from typing import NamedTuple

    class LSTMParams(NamedTuple):
        init_cells: np.ndarray
        init_hiddens: np.ndarray
        gates: np.ndarray
        readout: np.ndarray
except ImportError:  # pragma: no cover
    LSTMParams = None


def lstm_namedtuple_loss(params, inputs, labels):
    batch = inputs.shape[1]
    hiddens = np.repeat(params.init_hiddens, batch, axis=0)
    cells = np.repeat(params.init_cells, batch, axis=0)
    weights = {"gates": params.gates}
    for x in inputs:
        hiddens, cells = LSTM.lstm_step(weights, x, hiddens, cells)
    z = np.dot(LSTM.with_bias(hiddens), params.readout)[:, 0]
    return np.mean(np.logaddexp(0.0, z) - labels * z)


def test_natural_lstm_with_namedtuple_parameters():
    params, inputs, labels = LSTM.setup(num_sequences=4, length=4, state_size=3)
    nt = LSTMParams(params["init cells"], params["init hiddens"], params["gates"],
                    params["readout"])
    assert lstm_namedtuple_loss(nt, inputs, labels) == pytest.approx(
        LSTM.logistic_loss(params, inputs, labels))

    assert_tree_grad(lstm_namedtuple_loss, (nt, inputs, labels))


def test_natural_sgd_step_with_tree_map():
    params, inputs, targets = NN.setup()
    g = s2sgrad.grad(NN.log_posterior)(params, inputs, targets, NN.L2_REG)
    stepped = s2sgrad.tree_map(lambda p, d: p + 0.001 * d, params, g)
    assert same_structure(params, stepped)
    before = NN.log_posterior(params, inputs, targets, NN.L2_REG)
    assert NN.log_posterior(stepped, inputs, targets, NN.L2_REG) > before
