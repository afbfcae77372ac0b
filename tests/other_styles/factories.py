"""Factories returning closures, as in autograd's examples (neural_net.py, gaussian_process.py,
rnn.py, bayesian_neural_net.py) and the functions people build from them."""
import numpy as np

from ._registry import entry, register, V, P, SPD, ONEHOT, LABELS, BITS, AWAY


# ---------------------------------------------------------------- make_nn_funs (autograd)

def make_nn_funs(layer_sizes, L2_reg=0.1, noise_variance=0.01, nonlinearity=np.tanh):
    """The autograd neural_net example: weights as one flat vector."""
    shapes = list(zip(layer_sizes[:-1], layer_sizes[1:]))
    num_weights = sum((m + 1) * n for m, n in shapes)

    def unpack_layers(weights):
        num_weight_sets = len(weights)
        for m, n in shapes:
            yield weights[:m * n].reshape((m, n)), weights[m * n:m * n + n]
            weights = weights[(m + 1) * n:]

    def predictions(weights, inputs):
        for W, b in unpack_layers(weights):
            outputs = np.dot(inputs, W) + b
            inputs = nonlinearity(outputs)
        return outputs

    def logprob(weights, inputs, targets):
        log_prior = -L2_reg * np.sum(weights ** 2)
        preds = predictions(weights, inputs)
        log_lik = -np.sum((preds - targets) ** 2) / noise_variance
        return log_prior + log_lik

    return num_weights, predictions, logprob


def make_nn_funs_list(layer_sizes, L2_reg=0.1):
    """The same network without a generator: a list of (W, b) built in a loop."""
    shapes = list(zip(layer_sizes[:-1], layer_sizes[1:]))
    num_weights = sum((m + 1) * n for m, n in shapes)

    def unpack_layers(weights):
        layers = []
        for m, n in shapes:
            layers.append((weights[:m * n].reshape((m, n)), weights[m * n:m * n + n]))
            weights = weights[(m + 1) * n:]
        return layers

    def predictions(weights, inputs):
        for W, b in unpack_layers(weights):
            outputs = np.dot(inputs, W) + b
            inputs = np.tanh(outputs)
        return outputs

    def logprob(weights, inputs, targets):
        log_prior = -L2_reg * np.sum(weights ** 2)
        preds = predictions(weights, inputs)
        return log_prior - np.sum((preds - targets) ** 2)

    return num_weights, predictions, logprob


for _sizes in ([3, 4, 1], [2, 5, 3, 1], [4, 2]):
    _n, _pred, _logprob = make_nn_funs_list(_sizes)
    register(_logprob, V(_n), V(6, _sizes[0]), V(6, _sizes[-1]),
             name="nn_list_logprob_%s" % "_".join(map(str, _sizes)), wrt=(0,))

for _sizes in ([3, 4, 1], [2, 3, 2]):
    _n, _pred, _logprob = make_nn_funs(_sizes)
    register(_logprob, V(_n), V(5, _sizes[0]), V(5, _sizes[-1]),
             name="nn_gen_logprob_%s" % "_".join(map(str, _sizes)), wrt=(0,))


def make_nn_funs_relu(layer_sizes):
    shapes = list(zip(layer_sizes[:-1], layer_sizes[1:]))
    N = sum((m + 1) * n for m, n in shapes)

    def relu(x):
        return np.maximum(0.0, x)

    def predict(params, inputs):
        idx = 0
        for i, (m, n) in enumerate(shapes):
            W = params[idx:idx + m * n].reshape(m, n)
            idx += m * n
            b = params[idx:idx + n]
            idx += n
            inputs = np.dot(inputs, W) + b
            if i < len(shapes) - 1:
                inputs = relu(inputs)
        return inputs

    def loss(params, X, y):
        return np.mean((predict(params, X) - y) ** 2)

    return N, predict, loss


_N, _, _loss = make_nn_funs_relu([3, 5, 1])
register(_loss, V(_N), V(7, 3), V(7, 1), name="nn_relu_loss", wrt=(0,))


# ---------------------------------------------------------------- classification nets

def make_classifier(D, K, reg=1e-2):
    def unpack(params):
        W = params[:D * K].reshape(D, K)
        b = params[D * K:]
        return W, b

    def logsumexp(a):
        m = np.max(a, axis=1, keepdims=True)
        return m + np.log(np.sum(np.exp(a - m), axis=1, keepdims=True))

    def log_softmax(params, X):
        W, b = unpack(params)
        z = X @ W + b
        return z - logsumexp(z)

    def loss(params, X, T):
        return -np.sum(log_softmax(params, X) * T) / X.shape[0] + reg * np.sum(params ** 2)

    return D * K + K, loss


for _D, _K in ((3, 2), (4, 3), (2, 5)):
    _n, _loss = make_classifier(_D, _K)
    register(_loss, V(_n), V(6, _D), ONEHOT(6, _K), name="classifier_%d_%d" % (_D, _K),
             wrt=(0,))


def make_logistic(reg):
    def sigmoid(x):
        return 0.5 * (np.tanh(x / 2.0) + 1.0)

    def logistic_predictions(weights, inputs):
        return sigmoid(np.dot(inputs, weights))

    def training_loss(weights, inputs, targets):
        preds = logistic_predictions(weights, inputs)
        label_probabilities = preds * targets + (1 - preds) * (1 - targets)
        return -np.sum(np.log(label_probabilities)) + reg * np.dot(weights, weights)

    return training_loss


register(make_logistic(0.0), V(3), V(8, 3), BITS(8), name="logistic_autograd_readme", wrt=(0,))
register(make_logistic(0.5), V(4), V(6, 4), BITS(6), name="logistic_reg", wrt=(0,))


# ---------------------------------------------------------------- make_gp_funs (autograd)

def make_gp_funs(cov_func, num_cov_params):
    """The autograd gaussian_process example."""
    def unpack_kernel_params(params):
        mean = params[0]
        cov_params = params[2:]
        noise_scale = np.exp(params[1]) + 0.0001
        return mean, cov_params, noise_scale

    def predict(params, x, y, xstar):
        mean, cov_params, noise_scale = unpack_kernel_params(params)
        cov_f_f = cov_func(cov_params, xstar, xstar)
        cov_y_f = cov_func(cov_params, x, xstar)
        cov_y_y = cov_func(cov_params, x, x) + noise_scale * np.eye(len(y))
        pred_mean = mean + np.dot(np.linalg.solve(cov_y_y, cov_y_f).T, y - mean)
        pred_cov = cov_f_f - np.dot(np.linalg.solve(cov_y_y, cov_y_f).T, cov_y_f)
        return pred_mean, pred_cov

    def log_marginal_likelihood(params, x, y):
        mean, cov_params, noise_scale = unpack_kernel_params(params)
        cov_y_y = cov_func(cov_params, x, x) + noise_scale * np.eye(len(y))
        prior_mean = mean * np.ones(len(y))
        d = y - prior_mean
        sign, logdet = np.linalg.slogdet(cov_y_y)
        return -0.5 * np.dot(d, np.linalg.solve(cov_y_y, d)) - 0.5 * logdet \
            - 0.5 * len(y) * np.log(2 * np.pi)

    return num_cov_params + 2, predict, log_marginal_likelihood


def rbf_covariance(kernel_params, x, xp):
    output_scale = np.exp(kernel_params[0])
    lengthscales = np.exp(kernel_params[1:])
    diffs = np.expand_dims(x / lengthscales, 1) - np.expand_dims(xp / lengthscales, 0)
    return output_scale * np.exp(-0.5 * np.sum(diffs ** 2, axis=2))


_np, _predict, _lml = make_gp_funs(rbf_covariance, num_cov_params=2)
register(_lml, V(_np), V(6, 1), V(6), name="gp_log_marginal_likelihood", wrt=(0,))


def _gp_pred_mean_sum(params, x, y, xstar):
    m, c = _predict(params, x, y, xstar)
    return np.sum(m) + np.trace(c)


register(_gp_pred_mean_sum, V(_np), V(5, 1), V(5), V(3, 1), name="gp_predict_sum",
         wrt=(0,))


def make_gp_cholesky(n_params=3):
    def kernel(params, X):
        amp, ls = np.exp(params[0]), np.exp(params[1])
        sq = np.sum(X ** 2, 1).reshape(-1, 1) + np.sum(X ** 2, 1) - 2 * X @ X.T
        return amp * np.exp(-0.5 * sq / ls ** 2)

    def nll(params, X, y):
        K = kernel(params, X) + (np.exp(params[2]) + 1e-3) * np.eye(X.shape[0])
        L = np.linalg.cholesky(K)
        alpha = np.linalg.solve(L.T, np.linalg.solve(L, y))
        return 0.5 * y @ alpha + np.sum(np.log(np.diag(L)))

    return nll


register(make_gp_cholesky(), V(3), V(5, 2), V(5), name="gp_cholesky_nll", wrt=(0,))


# ---------------------------------------------------------------- RNNs (autograd rnn.py)

def make_rnn(input_size, state_size, output_size):
    def sigmoid(x):
        return 0.5 * (np.tanh(x) + 1.0)

    def concat_and_multiply(weights, *args):
        cat_state = np.hstack(args + (np.ones((args[0].shape[0], 1)),))
        return np.dot(cat_state, weights)

    def rnn_predict(params, inputs):
        def update_rnn(input, hiddens):
            return np.tanh(concat_and_multiply(params['change'], input, hiddens))

        def hiddens_to_output_probs(hiddens):
            output = concat_and_multiply(params['predict'], hiddens)
            return output - np.log(np.sum(np.exp(output), axis=1, keepdims=True))

        num_sequences = inputs.shape[1]
        hiddens = np.repeat(params['init hiddens'], num_sequences, axis=0)
        output = [hiddens_to_output_probs(hiddens)]
        for input in inputs:
            hiddens = update_rnn(input, hiddens)
            output.append(hiddens_to_output_probs(hiddens))
        return output

    def rnn_log_likelihood(params, inputs, targets):
        logprobs = rnn_predict(params, inputs)
        loglik = 0.0
        num_time_steps, num_examples, _ = inputs.shape
        for t in range(num_time_steps):
            loglik += np.sum(logprobs[t] * targets[t])
        return loglik / (num_time_steps * num_examples)

    return rnn_log_likelihood


def _rnn_params(rng, i=2, s=3, o=2):
    return {'init hiddens': rng.normal(size=(1, s)) * 0.5,
            'change': rng.normal(size=(i + s + 1, s)) * 0.5,
            'predict': rng.normal(size=(s + 1, o)) * 0.5}


_rnn_ll = make_rnn(2, 3, 2)


def rnn_dict_loss(init, change, predict, inputs, targets):
    """The dict of parameters built by the caller of the factory's function."""
    params = {'init hiddens': init, 'change': change, 'predict': predict}
    return _rnn_ll(params, inputs, targets)


entry(V(1, 3), V(6, 3), V(4, 2), V(4, 3, 2), V(4, 3, 2), wrt=(0, 1, 2))(rnn_dict_loss)


def make_simple_rnn(H):
    def step(h, x, Wh, Wx, b):
        return np.tanh(h @ Wh + x * Wx + b)

    def loss(Wh, Wx, b, xs):
        h = np.zeros(H)
        hs = []
        for t in range(len(xs)):
            h = step(h, xs[t], Wh, Wx, b)
            hs.append(h)
        return np.sum(np.array(hs) ** 2)

    return loss


register(make_simple_rnn(3), V(3, 3), V(3), V(3), V(5), name="simple_rnn_stack")


def make_lstm(H, D):
    def sigmoid(x):
        return 1.0 / (1.0 + np.exp(-x))

    def lstm_loss(W, xs):
        h = np.zeros(H)
        c = np.zeros(H)
        for x in xs:
            z = W @ np.concatenate([x, h, np.ones(1)])
            i, f, o, g = z[:H], z[H:2 * H], z[2 * H:3 * H], z[3 * H:]
            c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
            h = sigmoid(o) * np.tanh(c)
        return np.sum(h ** 2)

    return lstm_loss


register(make_lstm(2, 3), V(8, 6), V(4, 3), name="lstm_loss")


# ---------------------------------------------------------------- other factories

def make_quadratic(A, b):
    def f(x):
        return 0.5 * x @ A @ x - b @ x
    return f


_rng = np.random.default_rng(1)
_A = _rng.normal(size=(3, 3))
register(make_quadratic(_A @ _A.T + np.eye(3), _rng.normal(size=3)), V(3), name="quadratic")


def make_scaled(scale):
    def head(v):
        return v * scale

    def f(v):
        return np.sum(head(v) ** 2)
    return f


register(make_scaled(2.0), V(3), name="scaled_head")
register(make_scaled(0.5), V(4), name="scaled_head_half")


def make_slicer(k):
    def first(v):
        return v[:k]

    def f(v):
        return np.sum(np.sin(first(v)))
    return f


register(make_slicer(2), V(5), name="slicer_factory_local")


def make_with_default_from_enclosing(num):
    def fun(x, n=num):
        return np.sum(x ** n)
    return fun


register(make_with_default_from_enclosing(3), V(4), name="default_reads_enclosing")


def make_counter_loss(steps):
    def loss(x):
        total = 0.0
        for i in range(steps):
            total = total + np.sum(np.cos(x * (i + 1)))
        return total
    return loss


register(make_counter_loss(3), V(3), name="loop_count_from_closure")


def make_mixture(K):
    def log_mix(params, x):
        logits = params[:K]
        mus = params[K:2 * K]
        log_sigmas = params[2 * K:]
        lw = logits - np.log(np.sum(np.exp(logits)))
        ll = lw - 0.5 * ((x[:, None] - mus) / np.exp(log_sigmas)) ** 2 - log_sigmas \
            - 0.5 * np.log(2 * np.pi)
        m = np.max(ll, axis=1, keepdims=True)
        return np.sum(m[:, 0] + np.log(np.sum(np.exp(ll - m), axis=1)))
    return log_mix


register(make_mixture(2), V(6), V(7), name="gmm_loglik", wrt=(0,))
register(make_mixture(3), V(9), V(5), name="gmm_loglik_3", wrt=(0,))


def make_bnn_elbo(logprob, D, num_samples, seed=0):
    """The black-box variational inference example: mean and log-std in one vector."""
    rs = np.random.RandomState(seed)
    eps = rs.randn(num_samples, D)

    def unpack_params(params):
        mean, log_std = params[:D], params[D:]
        return mean, log_std

    def gaussian_entropy(log_std):
        return 0.5 * D * (1.0 + np.log(2 * np.pi)) + np.sum(log_std)

    def variational_objective(params):
        mean, log_std = unpack_params(params)
        samples = eps * np.exp(log_std) + mean
        lower_bound = gaussian_entropy(log_std) + np.mean(logprob(samples))
        return -lower_bound

    return variational_objective


def _log_density(x):
    mu, log_sigma = x[:, 0], x[:, 1]
    return -0.5 * mu ** 2 - 0.5 * log_sigma ** 2 - np.exp(log_sigma)


register(make_bnn_elbo(_log_density, 2, 5), V(4), name="bbvi_objective")


def make_ode_euler(n_steps, dt=0.1):
    def dynamics(y, theta):
        return -theta[0] * y + theta[1] * np.sin(y)

    def simulate(theta, y0):
        y = y0
        for _ in range(n_steps):
            y = y + dt * dynamics(y, theta)
        return np.sum(y ** 2)

    return simulate


register(make_ode_euler(5), V(2), V(3), name="euler_ode")


def make_poly(coeffs):
    def p(x):
        out = 0.0
        for c in reversed(coeffs):
            out = out * x + c
        return out
    return p


register(make_poly([1.0, -2.0, 0.5, 0.25]), V(), name="horner_closure", no_autograd=None)


def make_tied_autoencoder(D, H):
    def loss(params, X):
        W = params[:D * H].reshape(D, H)
        b = params[D * H:D * H + H]
        c = params[D * H + H:]
        h = np.tanh(X @ W + b)
        R = h @ W.T + c
        return np.mean((R - X) ** 2)
    return D * H + H + D, loss


_n, _ae = make_tied_autoencoder(3, 2)
register(_ae, V(_n), V(5, 3), name="tied_autoencoder", wrt=(0,))


def make_attention(d):
    def attn(Wq, Wk, Wv, X):
        Q, K, Vv = X @ Wq, X @ Wk, X @ Wv
        s = Q @ K.T / np.sqrt(d)
        s = s - np.max(s, axis=-1, keepdims=True)
        A = np.exp(s) / np.sum(np.exp(s), axis=-1, keepdims=True)
        return np.sum((A @ Vv) ** 2)
    return attn


register(make_attention(2), V(3, 2), V(3, 2), V(3, 2), V(4, 3), name="self_attention")


def make_conv1d(width):
    def conv(w, x):
        n = len(x) - width + 1
        out = np.array([np.sum(w * x[i:i + width]) for i in range(n)])
        return np.sum(np.tanh(out))
    return conv


register(make_conv1d(3), V(3), V(7), name="conv1d_listcomp")


def make_hinge(margin=1.0):
    def hinge(w, X, y):
        m = margin - y * (X @ w)
        return np.sum(np.maximum(m, 0.0)) + 0.1 * np.sum(w * w)
    return hinge


def _pm1(n):
    def b(rng):
        return np.where(rng.random(n) > 0.5, 1.0, -1.0)
    return b


register(make_hinge(), AWAY(3), V(6, 3), _pm1(6), name="svm_hinge", wrt=(0,))


def make_nested_closure(a):
    def outer(x):
        def inner(y):
            return y * a + np.sin(y)
        return inner(x) * inner(2.0 * x)
    def f(x):
        return np.sum(outer(x))
    return f


register(make_nested_closure(1.5), V(3), name="nested_closure_two_levels")


def make_lambda_act(kind):
    act = {"tanh": np.tanh, "softplus": lambda z: np.log1p(np.exp(z))}[kind]

    def f(W, x):
        return np.sum(act(W @ x))
    return f


register(make_lambda_act("tanh"), V(2, 3), V(3), name="activation_from_dict_tanh")
register(make_lambda_act("softplus"), V(2, 3), V(3), name="activation_from_dict_softplus")


def make_regularized(loss_fn, lam):
    def total(w, *data):
        return loss_fn(w, *data) + lam * np.sum(w ** 2)
    return total


def _mse(w, X, y):
    return np.mean((X @ w - y) ** 2)


register(make_regularized(_mse, 0.3), V(3), V(5, 3), V(5), name="regularized_wrapper_varargs",
         wrt=(0,))
