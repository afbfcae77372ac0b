"""A Gaussian mixture model (full covariances) fitted by gradient ascent on its log-likelihood: mixing weights as unnormalised logs, covariances through Cholesky-like factors, the mixture summed with logsumexp."""
import numpy as np

from s2sgrad import value_and_grad


def logsumexp(a, axis):
    """log(sum(exp(a), axis)) shifted by the max; the shift cancels, so its gradient is exact."""
    m = np.max(a, axis=axis, keepdims=True)
    return np.log(np.sum(np.exp(a - m), axis=axis)) + np.squeeze(m, axis=axis)


def log_normalize(x):
    return x - logsumexp(x, axis=0)


def init_gmm_params(num_components, D, scale, rs):
    return {"log proportions": rs.randn(num_components) * scale,
            "means": rs.randn(num_components, D) * scale,
            "lower triangles": np.zeros((num_components, D, D)) + np.eye(D)}


def unpack_gmm_params(params):
    """Normalised log proportions, means, and the factors L of the covariances L L^T
    (only the lower triangle counts; the density reads |diag L|, so its sign is free)."""
    normalized_log_proportions = log_normalize(params["log proportions"])
    return normalized_log_proportions, params["means"], params["lower triangles"]


def mvn_logpdf(X, mean, L):
    """log N(x | mean, L L^T) for each row of X, L lower triangular."""
    D = X.shape[1]
    L = np.tril(L)
    z = np.linalg.solve(L, (X - mean).T)  # (D, N)
    log_det = 2.0 * np.sum(np.log(np.abs(np.diag(L))))
    return -0.5 * np.sum(z ** 2, axis=0) - 0.5 * log_det - 0.5 * D * np.log(2 * np.pi)


def gmm_log_likelihood(params, data):
    log_proportions, means, lower_triangles = unpack_gmm_params(params)
    cluster_lls = []
    for log_proportion, mean, L in zip(log_proportions, means, lower_triangles):
        cluster_lls.append(log_proportion + mvn_logpdf(data, mean, L))
    return np.sum(logsumexp(np.vstack(cluster_lls), axis=0))


CENTRES = np.array([[-2.0, 0.0], [2.0, 1.0], [0.0, -2.5]])


def make_clusters(rs, num_per_cluster=60):
    """Three 2-D clusters with different orientations."""
    centres = CENTRES
    shapes = [np.array([[0.6, 0.0], [0.4, 0.3]]), np.array([[0.3, 0.0], [-0.2, 0.7]]),
              np.array([[0.5, 0.0], [0.0, 0.2]])]
    return np.concatenate([c + rs.randn(num_per_cluster, 2) @ S.T
                           for c, S in zip(centres, shapes)])


def setup(seed=1):
    rs = np.random.RandomState(seed)
    data = make_clusters(rs)
    params = init_gmm_params(3, 2, 1.0, rs)
    return params, data


def main(num_iters=201):
    params, data = setup()
    objective = lambda params: -gmm_log_likelihood(params, data) / len(data)
    step = value_and_grad(objective)
    losses = []
    m = {k: np.zeros_like(p) for k, p in params.items()}
    v = {k: np.zeros_like(p) for k, p in params.items()}
    for t in range(num_iters):
        value, g = step(params)
        losses.append(value)
        if t % 40 == 0:
            print(f"step {t:3d}  -log likelihood per point {value:.4f}")
        for k in params:  # Adam
            m[k] = 0.9 * m[k] + 0.1 * g[k]
            v[k] = 0.999 * v[k] + 0.001 * g[k] ** 2
            mhat, vhat = m[k] / (1 - 0.9 ** (t + 1)), v[k] / (1 - 0.999 ** (t + 1))
            params[k] = params[k] - 0.05 * mhat / (np.sqrt(vhat) + 1e-8)
    proportions = np.exp(log_normalize(params["log proportions"]))
    order = np.argsort(params["means"][:, 0])
    print("fitted means      ", np.round(params["means"][order], 2).tolist())
    print("fitted proportions", np.round(proportions[order], 2).tolist())
    found = all(np.min(np.linalg.norm(params["means"] - c, axis=1)) < 0.3 for c in CENTRES)
    print("✓" if found else "✗", "each cluster centre", CENTRES.tolist(), "has a fitted mean within 0.3")
    print("✓" if losses[-1] < losses[0] - 0.5 else "✗",
          f"-log likelihood per point fell from {losses[0]:.3f} to {losses[-1]:.3f}")
    return losses


if __name__ == "__main__":
    main()
