"""A generative adversarial net in one dimension: a generator and a discriminator (lists of (W, b) pairs, one local helper applies either), trained in turns until the generated samples have the mean of the data."""
import numpy as np

from s2sgrad import grad


def init_net_params(scale, layer_sizes, rs):
    return [(scale * rs.randn(m, n), scale * rs.randn(n))
            for m, n in zip(layer_sizes[:-1], layer_sizes[1:])]


def gan_objectives(gen_params, dsc_params, real_data, noise):
    """(discriminator loss, generator loss): logistic losses of the discriminator's logits
    on real and on generated data; the generator uses the non-saturating -log D(G(z))."""
    def net(params, x):
        for W, b in params[:-1]:
            x = np.tanh(np.dot(x, W) + b)
        W, b = params[-1]
        return np.dot(x, W) + b

    fake_data = net(gen_params, noise)
    logits_real = net(dsc_params, real_data)
    logits_fake = net(dsc_params, fake_data)
    dsc_loss = np.mean(np.logaddexp(0.0, -logits_real)) + np.mean(np.logaddexp(0.0, logits_fake))
    gen_loss = np.mean(np.logaddexp(0.0, -logits_fake))
    return dsc_loss, gen_loss


def discriminator_loss(gen_params, dsc_params, real_data, noise):
    return gan_objectives(gen_params, dsc_params, real_data, noise)[0]


def generator_loss(gen_params, dsc_params, real_data, noise):
    return gan_objectives(gen_params, dsc_params, real_data, noise)[1]


def generate(gen_params, noise):
    x = noise
    for W, b in gen_params[:-1]:
        x = np.tanh(np.dot(x, W) + b)
    W, b = gen_params[-1]
    return np.dot(x, W) + b


TARGET_MEAN, TARGET_STD = 3.0, 0.5


def setup(seed=0):
    rs = np.random.RandomState(seed)
    gen_params = init_net_params(0.5, [1, 8, 1], rs)
    dsc_params = init_net_params(0.5, [1, 16, 1], rs)
    return gen_params, dsc_params, rs


def sgd(params, grads, step_size):
    return [(W - step_size * gW, b - step_size * gb) for (W, b), (gW, gb) in zip(params, grads)]


def train(num_iters, batch=64, report=None):
    """Alternate one discriminator step and one generator step on fresh data and noise."""
    gen_params, dsc_params, rs = setup()
    dsc_grad = grad(discriminator_loss, wrt=1)
    gen_grad = grad(generator_loss, wrt=0)
    for t in range(num_iters):
        real = TARGET_MEAN + TARGET_STD * rs.randn(batch, 1)
        noise = rs.randn(batch, 1)  # drawn outside the objectives, fixed while differentiating
        dsc_params = sgd(dsc_params, dsc_grad(gen_params, dsc_params, real, noise), 0.05)
        gen_params = sgd(gen_params, gen_grad(gen_params, dsc_params, real, noise), 0.05)
        if report:
            report(t, gen_params)
    return gen_params, dsc_params


def main(num_iters=501):
    probe = np.random.RandomState(1).randn(4000, 1)
    start = generate(setup()[0], probe)

    def report(t, gen_params):
        if t % 100 == 0:
            samples = generate(gen_params, probe)
            print(f"step {t:4d}  generated mean {np.mean(samples):6.3f}  std {np.std(samples):.3f}"
                  f"  (data: {TARGET_MEAN}, {TARGET_STD})")

    gen_params, dsc_params = train(num_iters, report=report)
    samples = generate(gen_params, probe)
    moved = abs(np.mean(samples) - TARGET_MEAN) < 0.3 * abs(np.mean(start) - TARGET_MEAN)
    print("✓" if moved else "✗", f"the generated mean moved from {np.mean(start):.3f} to "
          f"{np.mean(samples):.3f} (data: {TARGET_MEAN})")
    print(f"  and its spread is {np.std(samples):.3f} (data: {TARGET_STD}; a GAN this small "
          "often narrows it)")


if __name__ == "__main__":
    main()
