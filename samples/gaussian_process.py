"""Gaussian-process regression: the kernel's hyperparameters (output scale, length scale, noise, mean) fitted by maximising the log marginal likelihood, written with a Cholesky factor and triangular solves."""
import numpy as np

from s2sgrad import value_and_grad


def rbf_covariance(kernel_params, x, xp):
    """Squared-exponential kernel; kernel_params = log(output scale), log(length scales)."""
    output_scale = np.exp(kernel_params[0])
    lengthscales = np.exp(kernel_params[1:])
    diffs = np.expand_dims(x / lengthscales, 1) - np.expand_dims(xp / lengthscales, 0)
    return output_scale * np.exp(-0.5 * np.sum(diffs ** 2, axis=2))


def make_gp_funs(cov_func, num_cov_params):
    """Parameters in one flat vector: [mean, log noise variance, covariance parameters...]."""

    def unpack_kernel_params(params):
        mean = params[0]
        noise_scale = np.exp(params[1]) + 0.0001
        cov_params = params[2:]
        return mean, cov_params, noise_scale

    def predict(params, x, y, xstar):
        """Mean and covariance of the latent function at xstar given data (x, y)."""
        mean, cov_params, noise_scale = unpack_kernel_params(params)
        cov_f_f = cov_func(cov_params, xstar, xstar)
        cov_y_f = cov_func(cov_params, x, xstar)
        cov_y_y = cov_func(cov_params, x, x) + noise_scale * np.eye(len(y))
        pred_mean = mean + np.dot(np.linalg.solve(cov_y_y, cov_y_f).T, y - mean)
        pred_cov = cov_f_f - np.dot(np.linalg.solve(cov_y_y, cov_y_f).T, cov_y_f)
        return pred_mean, pred_cov

    def log_marginal_likelihood(params, x, y):
        """log N(y | mean, K + noise I) through the Cholesky factor L of the covariance:
        -1/2 |L^-1 (y - mean)|^2 - sum(log diag L) - n/2 log 2 pi."""
        mean, cov_params, noise_scale = unpack_kernel_params(params)
        cov_y_y = cov_func(cov_params, x, x) + noise_scale * np.eye(len(y))
        L = np.linalg.cholesky(cov_y_y)
        alpha = np.linalg.solve(L, y - mean)
        return (-0.5 * np.dot(alpha, alpha) - np.sum(np.log(np.diag(L)))
                - 0.5 * len(y) * np.log(2 * np.pi))

    return num_cov_params + 2, predict, log_marginal_likelihood


def build_toy_dataset(rs, n_data=20, noise_std=0.1):
    inputs = np.concatenate([np.linspace(0, 3, num=n_data // 2),
                             np.linspace(6, 8, num=n_data // 2)])
    targets = (np.cos(inputs) + rs.randn(n_data) * noise_std) / 2.0
    inputs = (inputs - 4.0) / 2.0
    return inputs.reshape((len(inputs), 1)), targets


def setup(seed=0):
    rs = np.random.RandomState(seed)
    X, y = build_toy_dataset(rs)
    num_params, predict, log_marginal_likelihood = make_gp_funs(rbf_covariance, num_cov_params=2)
    objective = lambda params: -log_marginal_likelihood(params, X, y)
    init_params = 0.1 * rs.randn(num_params)
    return objective, init_params, predict, X, y


def main(num_iters=201):
    objective, params, predict, X, y = setup()
    step = value_and_grad(objective)
    losses = []
    for t in range(num_iters):  # plain gradient descent
        value, g = step(params)
        losses.append(value)
        if t % 40 == 0:
            print(f"step {t:3d}  -log marginal likelihood {value:8.4f}")
        params = params - 0.05 * g
    mean, cov_params, noise = params[0], np.exp(params[2:]), np.exp(params[1])
    print(f"fitted: mean {mean:.3f}, output scale {cov_params[0]:.3f}, "
          f"length scale {cov_params[1]:.3f}, noise variance {noise:.4f}")
    xs = np.linspace(-2.5, 2.5, 5).reshape(-1, 1)
    pred_mean, pred_cov = predict(params, X, y, xs)
    truth = np.cos(2.0 * xs[:, 0] + 4.0) / 2.0
    print("x       " + " ".join(f"{v:7.2f}" for v in xs[:, 0]))
    print("cos/2   " + " ".join(f"{v:7.3f}" for v in truth))
    print("GP mean " + " ".join(f"{v:7.3f}" for v in pred_mean))
    print("GP std  " + " ".join(f"{v:7.3f}" for v in np.sqrt(np.diag(pred_cov))))
    print("✓" if losses[-1] < losses[0] - 5.0 else "✗",
          f"-log marginal likelihood fell from {losses[0]:.3f} to {losses[-1]:.3f}")
    return losses


if __name__ == "__main__":
    main()
