"""An LSTM that learns to tell whether a sequence of +1/-1 steps ends above or below where it started; the gates are sigmoids of one matrix product per step, the parameters a dict."""
import numpy as np

from s2sgrad import value_and_grad


def sigmoid(x):
    return 0.5 * (np.tanh(x / 2.0) + 1.0)  # the same function as 1 / (1 + exp(-x)), without overflow


def init_lstm_params(input_size, state_size, rs, scale=0.1):
    def rp(*shape):
        return scale * rs.randn(*shape)
    rows = input_size + state_size + 1  # inputs, previous hiddens and a bias column
    return {"init cells": rp(1, state_size),
            "init hiddens": rp(1, state_size),
            "gates": rp(rows, 4 * state_size),  # change, forget, input and output gates side by side
            "readout": rp(state_size + 1, 1)}


def with_bias(x):
    return np.concatenate((x, np.ones((x.shape[0], 1))), axis=1)


def lstm_step(params, x, hiddens, cells):
    """One step: the four gates from one product, split by column blocks."""
    n = hiddens.shape[1]
    z = np.dot(with_bias(np.concatenate((x, hiddens), axis=1)), params["gates"])
    change = np.tanh(z[:, :n])
    forget = sigmoid(z[:, n:2 * n])
    ingate = sigmoid(z[:, 2 * n:3 * n])
    outgate = sigmoid(z[:, 3 * n:])
    cells = cells * forget + ingate * change
    hiddens = outgate * np.tanh(cells)
    return hiddens, cells


def lstm_logits(params, inputs):
    """Read the whole sequence (time, batch, features); one logit per sequence from the last state."""
    batch = inputs.shape[1]
    hiddens = np.repeat(params["init hiddens"], batch, axis=0)
    cells = np.repeat(params["init cells"], batch, axis=0)
    for x in inputs:
        hiddens, cells = lstm_step(params, x, hiddens, cells)
    return np.dot(with_bias(hiddens), params["readout"])[:, 0]


def logistic_loss(params, inputs, labels):
    """Mean binary cross-entropy, labels in {0, 1}; log(1 + e^z) - y z in a stable form."""
    z = lstm_logits(params, inputs)
    return np.mean(np.logaddexp(0.0, z) - labels * z)


def make_walks(rs, num_sequences, length):
    steps = rs.choice([-1.0, 1.0], size=(length, num_sequences))
    labels = (np.sum(steps, axis=0) > 0).astype(float)
    return steps[:, :, None], labels


def setup(seed=0, num_sequences=64, length=9, state_size=8):
    rs = np.random.RandomState(seed)
    inputs, labels = make_walks(rs, num_sequences, length)
    params = init_lstm_params(1, state_size, rs)
    return params, inputs, labels


def main(num_iters=121):
    params, inputs, labels = setup()
    step = value_and_grad(logistic_loss)
    losses = []
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v = {k: np.zeros_like(p) for k, p in params.items()}
    for t in range(num_iters):
        value, g = step(params, inputs, labels)
        losses.append(value)
        if t % 40 == 0:
            print(f"step {t:3d}  loss {value:.4f}")
        for k in params:  # Adam
            m[k] = 0.9 * m[k] + 0.1 * g[k]
            v[k] = 0.999 * v[k] + 0.001 * g[k] ** 2
            mhat, vhat = m[k] / (1 - 0.9 ** (t + 1)), v[k] / (1 - 0.999 ** (t + 1))
            params[k] = params[k] - 0.05 * mhat / (np.sqrt(vhat) + 1e-8)
    test_inputs, test_labels = make_walks(np.random.RandomState(1), 200, 9)
    acc = np.mean((lstm_logits(params, test_inputs) > 0) == (test_labels > 0))
    print("✓" if losses[-1] < 0.5 * losses[0] else "✗",
          f"loss fell from {losses[0]:.3f} to {losses[-1]:.3f}")
    print("✓" if acc > 0.8 else "✗", f"accuracy on 200 new walks {acc:.0%} (chance: about 50%)")
    return losses


if __name__ == "__main__":
    main()
