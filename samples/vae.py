"""A variational autoencoder on 4x4 images of bars: encoder and decoder MLPs as lists of (W, b) pairs, the ELBO estimated with a fixed standard-normal draw pushed through the reparameterisation z = mean + std * eps."""
import numpy as np

from s2sgrad import value_and_grad


def init_net_params(scale, layer_sizes, rs):
    return [(scale * rs.randn(m, n), scale * rs.randn(n))
            for m, n in zip(layer_sizes[:-1], layer_sizes[1:])]


def relu(x):
    return np.maximum(0.0, x)


def neural_net_predict(params, inputs):
    """relu hidden layers, linear last layer."""
    for W, b in params[:-1]:
        inputs = relu(np.dot(inputs, W) + b)
    W, b = params[-1]
    return np.dot(inputs, W) + b


def nn_predict_gaussian(params, inputs):
    """The encoder's output split in halves: the mean and the log standard deviation of q(z | x)."""
    outputs = neural_net_predict(params, inputs)
    d = outputs.shape[-1] // 2
    return outputs[:, :d], outputs[:, d:]


def sample_diag_gaussian(mean, log_std, eps):
    """The reparameterisation trick: eps ~ N(0, I) drawn once, outside the objective."""
    return mean + np.exp(log_std) * eps


def bernoulli_log_density(targets, logits):
    """log p(targets | logits) summed over pixels; targets in {0, 1}."""
    return np.sum(targets * logits - np.logaddexp(0.0, logits), axis=-1)


def diag_gaussian_kl(mean, log_std):
    """KL(N(mean, diag(exp(2 log_std))) || N(0, I)) in closed form, per row."""
    return 0.5 * np.sum(mean ** 2 + np.exp(2 * log_std) - 1.0 - 2 * log_std, axis=-1)


def vae_lower_bound(combined_params, data, eps):
    """The mean ELBO over the batch: E_q[log p(x | z)] estimated with one draw, minus KL(q || p)."""
    gen_params, rec_params = combined_params
    q_means, q_log_stds = nn_predict_gaussian(rec_params, data)
    latents = sample_diag_gaussian(q_means, q_log_stds, eps)
    logits = neural_net_predict(gen_params, latents)
    return np.mean(bernoulli_log_density(data, logits) - diag_gaussian_kl(q_means, q_log_stds))


def make_bars(rs, num_images, size=4):
    """Each image: one random row or one random column lit, a pixel in 20 flipped."""
    images = np.zeros((num_images, size, size))
    for i in range(num_images):
        k = rs.randint(size)
        if rs.rand() < 0.5:
            images[i, k, :] = 1.0
        else:
            images[i, :, k] = 1.0
    flips = rs.rand(num_images, size, size) < 0.05
    return np.abs(images - flips).reshape(num_images, size * size)


LATENT_DIM, HIDDEN, PIXELS = 2, 24, 16


def setup(seed=0, num_images=64):
    rs = np.random.RandomState(seed)
    data = make_bars(rs, num_images)
    gen_params = init_net_params(0.3, [LATENT_DIM, HIDDEN, PIXELS], rs)
    rec_params = init_net_params(0.3, [PIXELS, HIDDEN, 2 * LATENT_DIM], rs)
    eps = rs.randn(num_images, LATENT_DIM)
    return (gen_params, rec_params), data, eps


def main(num_iters=301):
    params, data, eps = setup()
    rs = np.random.RandomState(1)
    objective = lambda params, data, eps: -vae_lower_bound(params, data, eps)
    step = value_and_grad(objective)
    fixed_draw = eps
    first = objective(params, data, fixed_draw)
    losses = [first]
    lr = 0.05
    for t in range(num_iters):
        eps = rs.randn(*fixed_draw.shape)  # a new draw each step, fixed while differentiating
        value, g = step(params, data, eps)
        if t % 60 == 0:
            print(f"step {t:3d}  -ELBO (this step's draw) {value:7.3f}")
        params = tuple([(W - lr * gW, b - lr * gb) for (W, b), (gW, gb) in zip(net, gnet)]
                       for net, gnet in zip(params, g))
    last = objective(params, data, fixed_draw)
    losses.append(last)
    print("✓" if last < 0.6 * first else "✗",
          f"-ELBO at a fixed draw fell from {first:.3f} to {last:.3f} (16 fair coins: {16 * np.log(2):.3f})")
    return losses


if __name__ == "__main__":
    main()
