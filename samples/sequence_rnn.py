"""A character-level RNN predicting the next symbol of noisy repeating strings: a dict of parameters, inputs and hidden state concatenated, log-softmax outputs collected in a list."""
import numpy as np

from s2sgrad import value_and_grad

ALPHABET = "abcd_"


def string_to_one_hot(string, max_len):
    """(max_len, len(ALPHABET)) one-hot rows; short strings are padded with '_'."""
    codes = [ALPHABET.index(c) for c in string.ljust(max_len, "_")]
    return np.eye(len(ALPHABET))[codes]


def make_sequences(rs, num_sequences, length):
    """Strings that repeat 'abcd' from a random start, with one symbol in ten replaced."""
    strings = []
    for _ in range(num_sequences):
        start = rs.randint(4)
        chars = ["abcd"[(start + i) % 4] for i in range(length)]
        for i in range(length):
            if rs.rand() < 0.1:
                chars[i] = ALPHABET[rs.randint(len(ALPHABET))]
        strings.append("".join(chars))
    one_hot = np.array([string_to_one_hot(s, length) for s in strings])
    return np.swapaxes(one_hot, 0, 1)  # (time, sequence, symbol)


def init_rnn_params(input_size, state_size, output_size, rs, scale=0.1):
    return {"init hiddens": scale * rs.randn(1, state_size),
            "change": scale * rs.randn(input_size + state_size + 1, state_size),
            "predict": scale * rs.randn(state_size + 1, output_size)}


def log_softmax(z):
    return z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))


def with_bias(x):
    """x with a column of ones appended, so one matrix holds weights and biases."""
    return np.concatenate((x, np.ones((x.shape[0], 1))), axis=1)


def rnn_predict(params, inputs):
    """The list of log-probabilities over the next symbol, one (sequences, symbols) array per step."""
    num_sequences = inputs.shape[1]
    hiddens = np.repeat(params["init hiddens"], num_sequences, axis=0)
    outputs = [log_softmax(np.dot(with_bias(hiddens), params["predict"]))]
    for x in inputs:  # iterate over time steps
        cat = with_bias(np.concatenate((x, hiddens), axis=1))
        hiddens = np.tanh(np.dot(cat, params["change"]))
        outputs.append(log_softmax(np.dot(with_bias(hiddens), params["predict"])))
    return outputs


def rnn_log_likelihood(params, inputs, targets):
    logprobs = rnn_predict(params, inputs)
    loglik = 0.0
    num_steps, num_sequences, _ = inputs.shape
    for t in range(num_steps):
        loglik += np.sum(logprobs[t] * targets[t])
    return loglik / (num_steps * num_sequences)


def training_loss(params, sequences):
    """Negative mean log-likelihood of each symbol given the ones before it (the output
    before step t has read inputs[:t], so the targets are the inputs themselves)."""
    return -rnn_log_likelihood(params, sequences, sequences)


def setup(seed=0, num_sequences=40, length=12, state_size=12):
    rs = np.random.RandomState(seed)
    sequences = make_sequences(rs, num_sequences, length)
    params = init_rnn_params(len(ALPHABET), state_size, len(ALPHABET), rs)
    return params, sequences


def main(num_iters=101):
    params, sequences = setup()
    step = value_and_grad(training_loss)
    cache = {k: np.zeros_like(v) for k, v in params.items()}
    losses = []
    for it in range(num_iters):
        value, g = step(params, sequences)
        losses.append(value)
        if it % 30 == 0:
            print(f"step {it:3d}  loss per symbol {value:.4f}")
        for k in params:  # RMSprop
            cache[k] = 0.9 * cache[k] + 0.1 * g[k] ** 2
            params[k] = params[k] - 0.02 * g[k] / (np.sqrt(cache[k]) + 1e-8)
    print("✓" if losses[-1] < 0.6 * losses[0] else "✗",
          f"loss per symbol fell from {losses[0]:.3f} (uniform: {np.log(len(ALPHABET)):.3f})"
          f" to {losses[-1]:.3f}")
    probe = string_to_one_hot("abcdabcdab", 10)[:, None, :]
    last = rnn_predict(params, probe)[-1][0]
    guess = ALPHABET[int(np.argmax(last))]
    print("✓" if guess == "c" else "✗", f"after 'abcdabcdab' the net predicts {guess!r}")
    return losses


if __name__ == "__main__":
    main()
