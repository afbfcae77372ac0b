"""A softmax classifier (two tanh layers) on synthetic blobs: parameters as a list of (W, b) pairs, an L2 prior, minibatches picked by the step number, trained by Adam."""
import numpy as np

from s2sgrad import grad


def init_random_params(scale, layer_sizes, rs):
    """One (weights, biases) pair per layer, drawn from a scaled normal."""
    return [(scale * rs.randn(m, n), scale * rs.randn(n))
            for m, n in zip(layer_sizes[:-1], layer_sizes[1:])]


def log_softmax(z):
    """Rows of z normalised in log space; the max shift keeps exp from overflowing."""
    shifted = z - np.max(z, axis=1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))


def neural_net_predict(params, inputs):
    """Class log-probabilities: tanh hidden layers, a linear last layer, log-softmax."""
    for W, b in params:
        outputs = np.dot(inputs, W) + b
        inputs = np.tanh(outputs)
    return log_softmax(outputs)


def l2_norm(params):
    """Sum of squares of every weight and bias."""
    total = 0.0
    for W, b in params:
        total = total + np.sum(W ** 2) + np.sum(b ** 2)
    return total


def log_posterior(params, inputs, targets, L2_reg):
    log_prior = -L2_reg * l2_norm(params)
    log_lik = np.sum(neural_net_predict(params, inputs) * targets)
    return log_prior + log_lik


def accuracy(params, inputs, targets):
    predicted = np.argmax(neural_net_predict(params, inputs), axis=1)
    return np.mean(predicted == np.argmax(targets, axis=1))


def make_blobs(rs, num_per_class=60, num_classes=3, dim=2):
    """Gaussian blobs around the vertices of a polygon, with one-hot labels."""
    angles = 2 * np.pi * np.arange(num_classes) / num_classes
    centres = 2.0 * np.column_stack([np.cos(angles), np.sin(angles)])
    inputs = np.concatenate([c + 0.8 * rs.randn(num_per_class, dim) for c in centres])
    labels = np.repeat(np.arange(num_classes), num_per_class)
    return inputs, np.eye(num_classes)[labels]


def adam(gradient, params, num_iters, step_size=0.01, b1=0.9, b2=0.999, eps=1e-8,
         callback=None):
    """Adam on a list of (W, b) pairs; `gradient(params, t)` returns pairs of the same shapes."""
    m = [(np.zeros_like(W), np.zeros_like(b)) for W, b in params]
    v = [(np.zeros_like(W), np.zeros_like(b)) for W, b in params]
    for t in range(num_iters):
        g = gradient(params, t)
        if callback:
            callback(params, t, g)
        new_params, new_m, new_v = [], [], []
        for (W, b), (gW, gb), (mW, mb), (vW, vb) in zip(params, g, m, v):
            layer, layer_m, layer_v = [], [], []
            for x, gx, mx, vx in ((W, gW, mW, vW), (b, gb, mb, vb)):
                mx = b1 * mx + (1 - b1) * gx
                vx = b2 * vx + (1 - b2) * gx ** 2
                mhat = mx / (1 - b1 ** (t + 1))
                vhat = vx / (1 - b2 ** (t + 1))
                layer.append(x - step_size * mhat / (np.sqrt(vhat) + eps))
                layer_m.append(mx)
                layer_v.append(vx)
            new_params.append(tuple(layer))
            new_m.append(tuple(layer_m))
            new_v.append(tuple(layer_v))
        params, m, v = new_params, new_m, new_v
    return params


LAYER_SIZES = [2, 16, 16, 3]
L2_REG = 0.01
BATCH_SIZE = 30


def setup(seed=0):
    rs = np.random.RandomState(seed)
    inputs, targets = make_blobs(rs)
    params = init_random_params(0.3, LAYER_SIZES, rs)
    return params, inputs, targets


def make_objective(inputs, targets):
    """The minibatch objective of step t, as a lambda closing over the data (autograd style)."""
    num_batches = int(np.ceil(len(inputs) / BATCH_SIZE))
    order = np.random.RandomState(1).permutation(len(inputs))

    def batch_indices(t):
        idx = t % num_batches
        return order[idx * BATCH_SIZE:(idx + 1) * BATCH_SIZE]

    # The data of step t is picked by integer arithmetic on t: no gradient flows through it.
    objective = lambda params, t: -log_posterior(
        params, inputs[batch_indices(t)], targets[batch_indices(t)], L2_REG)
    return objective


def main(num_iters=201):
    params, inputs, targets = setup()
    objective = make_objective(inputs, targets)
    objective_grad = grad(objective)
    losses = []

    def report(params, t, g):
        losses.append(-log_posterior(params, inputs, targets, L2_REG))
        if t % 50 == 0:
            print(f"step {t:3d}  loss on all data {losses[-1]:8.3f}  "
                  f"accuracy {accuracy(params, inputs, targets):.0%}")

    params = adam(objective_grad, params, num_iters=num_iters, step_size=0.02, callback=report)
    final = accuracy(params, inputs, targets)
    print("✓" if losses[-1] < 0.3 * losses[0] else "✗",
          f"loss fell from {losses[0]:.2f} to {losses[-1]:.2f}")
    print("✓" if final > 0.9 else "✗", f"training accuracy {final:.0%} (chance: 33%)")
    return losses


if __name__ == "__main__":
    main()
