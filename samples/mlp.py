"""A two-layer MLP (tanh hidden layer, softmax cross-entropy) trained with SGD on three 2-D spirals; gradients w.r.t. a dict of parameters."""
import numpy as np

from s2sgrad import value_and_grad, check_grad, stop_gradient


def loss(params, X, labels):
    """Mean softmax cross-entropy of a tanh MLP; labels are one-hot rows."""
    h = np.tanh(X @ params["W1"] + params["b1"])
    logits = h @ params["W2"] + params["b2"]
    m = stop_gradient(np.max(logits, axis=1, keepdims=True))  # shift for stability; the loss
    shifted = logits - m                                       # does not depend on it
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -np.mean(np.sum(labels * log_probs, axis=1))


def spirals(n_per_class, classes, rng):
    X, y = [], []
    for c in range(classes):
        r = np.linspace(0.05, 1.0, n_per_class)
        t = np.linspace(c * 4.0, (c + 1) * 4.0, n_per_class) + rng.normal(0, 0.2, n_per_class)
        X.append(np.column_stack([r * np.sin(t), r * np.cos(t)]))
        y.append(np.full(n_per_class, c))
    return np.concatenate(X), np.concatenate(y)


rng = np.random.default_rng(0)
classes, hidden = 3, 64
X, y = spirals(100, classes, rng)
Y = np.eye(classes)[y]
params = {
    "W1": rng.normal(0, 1.0, (2, hidden)),
    "b1": np.zeros(hidden),
    "W2": rng.normal(0, 0.1, (hidden, classes)),
    "b2": np.zeros(classes),
}

# The gradient is a dict with the same keys. Spot-check it against finite differences on a
# tiny network: check_grad perturbs array arguments, so the check goes through the arrays
# one by one (and differentiates through building the dict, too).
def loss_of_arrays(W1, b1, W2, b2, X, labels):
    return loss({"W1": W1, "b1": b1, "W2": W2, "b2": b2}, X, labels)


tiny = (params["W1"][:, :4], params["b1"][:4] + 0.1, params["W2"][:4], params["b2"] + 0.1, X[:8], Y[:8])
check_grad(loss_of_arrays, *tiny, wrt=(0, 1, 2, 3))
g_dict = value_and_grad(loss)({"W1": tiny[0], "b1": tiny[1], "W2": tiny[2], "b2": tiny[3]}, X[:8], Y[:8])[1]
g_tuple = value_and_grad(loss_of_arrays, wrt=(0, 1, 2, 3))(*tiny)[1]
same = sorted(g_dict) == ["W1", "W2", "b1", "b2"] and all(
    np.allclose(g_dict[k], gt) for k, gt in zip(["W1", "b1", "W2", "b2"], g_tuple))
print("✓" if same else "✗", "gradient w.r.t. the params dict agrees with finite differences")

step = value_and_grad(loss)  # wrt=0: the params dict
lr, batch = 0.5, 32
for it in range(601):
    idx = rng.integers(0, len(X), batch)
    if it % 100 == 0:
        print(f"step {it:3d}  loss on all data {loss(params, X, Y):.4f}")
    value, g = step(params, X[idx], Y[idx])
    params = {k: params[k] - lr * g[k] for k in params}

h = np.tanh(X @ params["W1"] + params["b1"])
accuracy = np.mean(np.argmax(h @ params["W2"] + params["b2"], axis=1) == y)
print(f"training accuracy {accuracy:.1%} (chance: 33%)")
print("✓" if accuracy > 0.8 else "✗", "the spirals are learned")
