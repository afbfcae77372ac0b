"""A tanh RNN unrolled by a plain Python for loop over T=20 time steps; gradient w.r.t. the weight matrices, checked with check_grad, then a few training steps."""
import numpy as np

import s2sgrad


def rnn_loss(Wx, Wh, Wy, xs, targets):
    """Squared error of a one-layer tanh RNN that reads xs[t] and predicts targets[t] at every step."""
    T, batch, _ = xs.shape
    h = np.zeros((batch, Wh.shape[0]))
    total = 0.0
    for t in range(T):
        h = np.tanh(xs[t] @ Wx + h @ Wh)
        prediction = h @ Wy
        total = total + np.sum((prediction - targets[t]) ** 2)
    return total / (T * batch)


def make_data(rng, T, batch):
    """Noisy sine waves of random phase; the target at step t is the clean wave at step t + 1."""
    phase = rng.uniform(0, 2 * np.pi, batch)
    steps = np.arange(T + 1)[:, None] * 0.3 + phase
    clean = np.sin(steps)
    xs = (clean[:-1] + rng.normal(0, 0.05, (T, batch)))[:, :, None]
    targets = clean[1:][:, :, None]
    return xs, targets


rng = np.random.default_rng(0)
T, hidden = 20, 16

# 1. Check the gradient on a tiny instance (3 hidden units, 5 steps, batch of 2).
tiny = (rng.normal(0, 0.5, (1, 3)), rng.normal(0, 0.5, (3, 3)), rng.normal(0, 0.5, (3, 1)),
        *make_data(rng, 5, 2))
worst = s2sgrad.check_grad(rnn_loss, *tiny, wrt=("Wx", "Wh", "Wy"))
print(f"✓ check_grad on a tiny RNN: worst relative error {worst:.1e}")

# 2. Train with plain gradient descent (plus gradient-norm clipping) for a few steps.
Wx = rng.normal(0, 0.5, (1, hidden))
Wh = rng.normal(0, 1.0 / np.sqrt(hidden), (hidden, hidden))
Wy = rng.normal(0, 0.1, (hidden, 1))
xs, targets = make_data(rng, T, 64)
step = s2sgrad.value_and_grad(rnn_loss, wrt=(0, 1, 2))
lr = 0.1
first = None
for it in range(201):
    value, grads = step(Wx, Wh, Wy, xs, targets)
    first = value if first is None else first
    norm = np.sqrt(sum(np.sum(g * g) for g in grads))
    scale = min(1.0, 5.0 / norm)
    Wx, Wh, Wy = (W - lr * scale * g for W, g in zip((Wx, Wh, Wy), grads))
    if it % 40 == 0:
        print(f"step {it:3d}  loss {value:.4f}  |grad| {norm:.3f}")
print("✓" if value < 0.3 * first else "✗", f"loss fell from {first:.4f} to {value:.4f}")
