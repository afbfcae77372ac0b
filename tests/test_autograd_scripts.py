"""Scripts written for autograd (`import autograd.numpy as np`, `autograd.scipy`) run
unchanged: a primitive of autograd stands for the NumPy or SciPy function it wraps
(`autograd.numpy.sum.fun is numpy.sum`), and the few functions autograd writes in
Python (`np.array`, `np.concatenate`, `np.stack`, `np.where`, `np.mean`, `np.var`) for
NumPy's of the same name. The programs are in the style of autograd's own examples
(a neural network, logistic regression, a Gaussian process, black-box variational
inference, an RNN); each gradient is checked against centered finite differences and
against autograd itself.
"""
import numpy as onp
import pytest

autograd = pytest.importorskip("autograd")
pytest.importorskip("scipy")

import autograd.numpy as np  # noqa: E402
import autograd.scipy.stats.multivariate_normal as mvn  # noqa: E402
import autograd.scipy.stats.norm as norm  # noqa: E402
from autograd.scipy.special import logsumexp  # noqa: E402

import s2sgrad  # noqa: E402

from support.numeric import numerical_grad  # noqa: E402

RNG = onp.random.default_rng(9)


def neural_net_predict(params, inputs):
    for W, b in params:
        outputs = np.dot(inputs, W) + b
        inputs = np.tanh(outputs)
    return outputs - logsumexp(outputs, axis=1, keepdims=True)


def log_posterior(params, inputs, targets, L2_reg=0.1):
    log_prior = -L2_reg * sum(np.sum(W ** 2) + np.sum(b ** 2) for W, b in params)
    return -(log_prior + np.sum(neural_net_predict(params, inputs) * targets))


def training_loss(weights, inputs, targets):
    preds = 0.5 * (np.tanh(np.dot(inputs, weights)) + 1.0)
    label_probabilities = preds * targets + (1 - preds) * (1 - targets)
    return -np.sum(np.log(label_probabilities))


def gp_nll(params, x, y):
    mean, log_amp, log_ls, log_noise = params[0], params[1], params[2], params[3]
    diffs = np.expand_dims(x / np.exp(log_ls), 1) - np.expand_dims(x / np.exp(log_ls), 0)
    cov = np.exp(2 * log_amp) * np.exp(-0.5 * np.sum(diffs ** 2, axis=2)) \
        + np.exp(log_noise) * np.eye(len(y))
    return -mvn.logpdf(y, mean * np.ones(len(y)), cov)


def black_box_vi(params, eps):
    mean, log_std = params[:2], params[2:]
    samples = eps * np.exp(log_std) + mean
    lp = np.sum(norm.logpdf(samples, 0.5, 1.3), axis=1)
    entropy = 0.5 * 2 * (1.0 + np.log(2 * np.pi)) + np.sum(log_std)
    return -(np.mean(lp) + entropy)


def rnn_loss(params, inputs):
    hiddens = np.zeros((inputs.shape[1], params["init"].shape[0])) + params["init"]
    outputs = []
    for t in range(inputs.shape[0]):
        cat = np.concatenate((inputs[t], hiddens), axis=1)
        hiddens = np.tanh(np.dot(cat, params["change"]))
        outputs.append(np.dot(hiddens, params["out"]))
    return np.sum(np.array(outputs) ** 2)


def wrappers(x):
    a = np.stack([x, x ** 2])
    b = np.where(x > 0, x, 0.1 * x)
    v = np.array([x[0] * x[1], np.sin(x[2]), 3.0])
    return np.mean(a) + np.var(b) + np.std(x) + np.sum(np.hstack([x, b])) \
        + np.sum(np.vstack([x, b]) ** 2) + np.sum(v ** 2) + np.sum(np.concatenate([x, v]))


CASES = [
    (log_posterior, lambda: ([(0.3 * RNG.normal(size=(3, 4)), 0.3 * RNG.normal(size=4)),
                              (0.3 * RNG.normal(size=(4, 2)), 0.3 * RNG.normal(size=2))],
                             RNG.normal(size=(5, 3)), onp.eye(2)[RNG.integers(0, 2, 5)])),
    (training_loss, lambda: (RNG.normal(size=3), RNG.normal(size=(6, 3)),
                             (RNG.random(6) > 0.5) * 1.0)),
    (gp_nll, lambda: (onp.array([0.1, 0.2, -0.3, -1.0]), RNG.normal(size=(5, 2)),
                      RNG.normal(size=5))),
    (black_box_vi, lambda: (0.3 * RNG.normal(size=4), RNG.normal(size=(7, 2)))),
    (rnn_loss, lambda: ({"init": 0.3 * RNG.normal(size=3), "change": 0.3 * RNG.normal(size=(5, 3)),
                         "out": RNG.normal(size=(3, 1))}, RNG.normal(size=(4, 2, 2)))),
    (wrappers, lambda: (RNG.normal(size=5),)),
]


@pytest.mark.parametrize("f, make", CASES, ids=[f.__name__ for f, _ in CASES])
def test_an_autograd_script_runs_unchanged(f, make):
    args = make()
    got = s2sgrad.grad(f)(*args)
    flat, unflatten = autograd.misc.flatten(args[0])
    expected = numerical_grad(lambda v: f(unflatten(v), *args[1:]), (onp.array(flat),), 0)
    flat_got = autograd.misc.flatten(got)[0]
    onp.testing.assert_allclose(flat_got, expected, rtol=1e-5, atol=1e-6)
    flat_ag = autograd.misc.flatten(autograd.grad(f)(*args))[0]
    onp.testing.assert_allclose(flat_got, flat_ag, rtol=1e-8, atol=1e-10)
