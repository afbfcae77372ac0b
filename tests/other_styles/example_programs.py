"""The functions the example programs in samples/ differentiate, written again with array
arguments (the corpus perturbs arrays): a GP's marginal likelihood through a Cholesky
factor, a black-box variational objective with a fixed draw, a mixture's log-likelihood
with logsumexp, an LSTM and a character RNN, a VAE's ELBO, a GAN's discriminator (one
local helper on a list of layers, applied twice) and a semi-Lagrangian fluid step."""
import numpy as np

from ._registry import entry, register, V, P, BITS


# ---------------------------------------------------------------- Gaussian process

def rbf_covariance(kernel_params, x, xp):
    output_scale = np.exp(kernel_params[0])
    lengthscales = np.exp(kernel_params[1:])
    diffs = np.expand_dims(x / lengthscales, 1) - np.expand_dims(xp / lengthscales, 0)
    return output_scale * np.exp(-0.5 * np.sum(diffs ** 2, axis=2))


def make_gp_funs(cov_func, num_cov_params):
    def unpack_kernel_params(params):
        return params[0], params[2:], np.exp(params[1]) + 0.0001

    def log_marginal_likelihood(params, x, y):
        mean, cov_params, noise_scale = unpack_kernel_params(params)
        cov_y_y = cov_func(cov_params, x, x) + noise_scale * np.eye(len(y))
        L = np.linalg.cholesky(cov_y_y)
        alpha = np.linalg.solve(L, y - mean)
        return (-0.5 * np.dot(alpha, alpha) - np.sum(np.log(np.diag(L)))
                - 0.5 * len(y) * np.log(2 * np.pi))

    return num_cov_params + 2, log_marginal_likelihood


_n, _lml = make_gp_funs(rbf_covariance, 2)
register(_lml, lambda rng: 0.3 * rng.normal(size=_n), V(6, 1), V(6), name="gp_log_marginal_1d",
         wrt=(0,))
_n, _lml = make_gp_funs(rbf_covariance, 3)
register(_lml, lambda rng: 0.3 * rng.normal(size=_n), V(5, 2), V(5), name="gp_log_marginal_2d",
         wrt=(0, 1))


# ---------------------------------------------------------------- black-box VI

def log_joint(weights, X, y):
    log_prior = -0.5 * np.sum(weights ** 2, axis=1)
    return log_prior - 0.5 * np.sum((np.dot(weights, X.T) - y) ** 2, axis=1) / 0.09


def black_box_variational_inference(logprob, D):
    def variational_objective(params, eps, X, y):
        mean, log_std = params[:D], params[D:]
        samples = eps * np.exp(log_std) + mean
        entropy = 0.5 * D * (1.0 + np.log(2 * np.pi)) + np.sum(log_std)
        return -(entropy + np.mean(logprob(samples, X, y)))
    return variational_objective


register(black_box_variational_inference(log_joint, 3), lambda rng: 0.5 * rng.normal(size=6),
         V(7, 3), V(8, 3), V(8), name="bbvi_linear_regression", wrt=(0,))


# ---------------------------------------------------------------- mixture model

def logsumexp(a, axis):
    m = np.max(a, axis=axis, keepdims=True)
    return np.log(np.sum(np.exp(a - m), axis=axis)) + np.squeeze(m, axis=axis)


@entry(V(3), V(3, 2), lambda rng: np.eye(2) + 0.2 * np.tril(rng.normal(size=(3, 2, 2))), V(7, 2),
       wrt=(0, 1, 2))
def gmm_log_likelihood(log_proportions, means, lower_triangles, data):
    log_proportions = log_proportions - logsumexp(log_proportions, axis=0)
    cluster_lls = []
    for log_proportion, mean, L in zip(log_proportions, means, lower_triangles):
        L = np.tril(L)
        z = np.linalg.solve(L, (data - mean).T)
        log_det = 2.0 * np.sum(np.log(np.abs(np.diag(L))))
        cluster_lls.append(log_proportion - 0.5 * np.sum(z ** 2, axis=0) - 0.5 * log_det)
    return np.sum(logsumexp(np.vstack(cluster_lls), axis=0))


# ---------------------------------------------------------------- recurrent nets

def with_bias(x):
    return np.concatenate((x, np.ones((x.shape[0], 1))), axis=1)


def sigmoid(x):
    return 0.5 * (np.tanh(x / 2.0) + 1.0)


@entry(lambda rng: 0.3 * rng.normal(size=(1 + 3 + 1, 12)), V(3 + 1, 1), V(1, 3), V(1, 3),
       lambda rng: rng.choice([-1.0, 1.0], size=(4, 5, 1)), BITS(5), wrt=(0, 1, 2, 3))
def lstm_logistic_loss(gates, readout, init_hiddens, init_cells, inputs, labels):
    hiddens = np.repeat(init_hiddens, inputs.shape[1], axis=0)
    cells = np.repeat(init_cells, inputs.shape[1], axis=0)
    n = hiddens.shape[1]
    for x in inputs:
        z = np.dot(with_bias(np.concatenate((x, hiddens), axis=1)), gates)
        cells = cells * sigmoid(z[:, n:2 * n]) + sigmoid(z[:, 2 * n:3 * n]) * np.tanh(z[:, :n])
        hiddens = sigmoid(z[:, 3 * n:]) * np.tanh(cells)
    logits = np.dot(with_bias(hiddens), readout)[:, 0]
    return np.mean(np.logaddexp(0.0, logits) - labels * logits)


@entry(lambda rng: 0.3 * rng.normal(size=(4 + 3 + 1, 3)), V(3 + 1, 4), V(1, 3),
       lambda rng: np.eye(4)[rng.integers(0, 4, size=(5, 2))], wrt=(0, 1, 2))
def char_rnn_loss(change, predict, init_hiddens, inputs):
    def log_softmax(z):
        return z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))
    hiddens = np.repeat(init_hiddens, inputs.shape[1], axis=0)
    logprobs = [log_softmax(np.dot(with_bias(hiddens), predict))]
    for x in inputs:
        hiddens = np.tanh(np.dot(with_bias(np.concatenate((x, hiddens), axis=1)), change))
        logprobs.append(log_softmax(np.dot(with_bias(hiddens), predict)))
    loglik = 0.0
    for t in range(inputs.shape[0]):
        loglik += np.sum(logprobs[t] * inputs[t])
    return -loglik


# ---------------------------------------------------------------- VAE and GAN

@entry(V(6, 4), V(4), V(2, 6), V(6), BITS(6), V(1, 2), wrt=(0, 1, 2, 3))
def vae_elbo(enc_W, enc_b, dec_W, dec_b, x, eps):
    data = np.tile(x, (3, 1))
    out = np.dot(data, enc_W) + enc_b
    mean, log_std = out[:, :2], out[:, 2:]
    z = mean + np.exp(log_std) * eps
    logits = np.dot(z, dec_W) + dec_b
    log_lik = np.sum(data * logits - np.logaddexp(0.0, logits), axis=-1)
    kl = 0.5 * np.sum(mean ** 2 + np.exp(2 * log_std) - 1.0 - 2 * log_std, axis=-1)
    return np.mean(log_lik - kl)


@entry(V(1, 5), V(5), V(5, 1), V(1), V(6, 1), V(6, 1), wrt=(0, 1, 2, 3))
def gan_discriminator_loss(W1, b1, W2, b2, real, fake):
    def net(params, x):
        for W, b in params[:-1]:
            x = np.tanh(np.dot(x, W) + b)
        W, b = params[-1]
        return np.dot(x, W) + b
    params = [(W1, b1), (W2, b2)]
    logits_real = net(params, real)
    logits_fake = net(params, fake)
    return np.mean(np.logaddexp(0.0, -logits_real)) + np.mean(np.logaddexp(0.0, logits_fake))


# ---------------------------------------------------------------- fluid

def advect(f, vx, vy):
    rows, cols = f.shape
    cell_ys, cell_xs = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    center_xs = (cell_xs - vx).ravel()
    center_ys = (cell_ys - vy).ravel()
    left = np.floor(center_xs).astype(int)
    top = np.floor(center_ys).astype(int)
    rw = center_xs - left
    bw = center_ys - top
    left, right = np.mod(left, cols), np.mod(left + 1, cols)
    top, bottom = np.mod(top, rows), np.mod(top + 1, rows)
    flat = ((1 - rw) * ((1 - bw) * f[top, left] + bw * f[bottom, left])
            + rw * ((1 - bw) * f[top, right] + bw * f[bottom, right]))
    return np.reshape(flat, (rows, cols))


@entry(lambda rng: 0.4 * rng.normal(size=2 * 16), P(4, 4), P(4, 4), wrt=(0, 1))
def fluid_distance(velocity, smoke, target):
    vx = np.reshape(velocity[:16], (4, 4))
    vy = np.reshape(velocity[16:], (4, 4))
    for t in range(2):
        vx, vy = advect(vx, vx, vy), advect(vy, vx, vy)
        p = np.zeros(vx.shape)
        div = -0.5 * (np.roll(vx, -1, axis=1) - np.roll(vx, 1, axis=1)
                      + np.roll(vy, -1, axis=0) - np.roll(vy, 1, axis=0))
        for k in range(4):
            p = (div + np.roll(p, 1, axis=0) + np.roll(p, -1, axis=0)
                 + np.roll(p, 1, axis=1) + np.roll(p, -1, axis=1)) / 4.0
        vx = vx - 0.5 * (np.roll(p, -1, axis=1) - np.roll(p, 1, axis=1))
        vy = vy - 0.5 * (np.roll(p, -1, axis=0) - np.roll(p, 1, axis=0))
        smoke = advect(smoke, vx, vy)
    return np.mean((smoke - target) ** 2)
