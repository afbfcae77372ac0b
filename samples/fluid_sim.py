"""A small 2-D fluid simulation (semi-Lagrangian advection with bilinear interpolation, pressure projection by Jacobi sweeps with np.roll, periodic boundaries): the initial velocity field is optimised so that a blob of smoke ends up at a target."""
import numpy as np

from s2sgrad import value_and_grad


def project(vx, vy, iterations=12):
    """Remove the divergent part of the velocity: solve the pressure Poisson equation by Jacobi sweeps."""
    div = -0.5 * (np.roll(vx, -1, axis=1) - np.roll(vx, 1, axis=1)
                  + np.roll(vy, -1, axis=0) - np.roll(vy, 1, axis=0))
    p = np.zeros(vx.shape)
    for k in range(iterations):
        p = (div + np.roll(p, 1, axis=0) + np.roll(p, -1, axis=0)
             + np.roll(p, 1, axis=1) + np.roll(p, -1, axis=1)) / 4.0
    vx = vx - 0.5 * (np.roll(p, -1, axis=1) - np.roll(p, 1, axis=1))
    vy = vy - 0.5 * (np.roll(p, -1, axis=0) - np.roll(p, 1, axis=0))
    return vx, vy


def advect(f, vx, vy):
    """Move the field f along the velocity: each cell reads f where its content came from,
    interpolated between the four surrounding cells (the indices carry no gradient, the
    interpolation weights do)."""
    rows, cols = f.shape
    cell_ys, cell_xs = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    center_xs = (cell_xs - vx).ravel()
    center_ys = (cell_ys - vy).ravel()
    left = np.floor(center_xs).astype(int)
    top = np.floor(center_ys).astype(int)
    right_weight = center_xs - left
    bottom_weight = center_ys - top
    left, right = np.mod(left, cols), np.mod(left + 1, cols)
    top, bottom = np.mod(top, rows), np.mod(top + 1, rows)
    flat = ((1 - right_weight) * ((1 - bottom_weight) * f[top, left] + bottom_weight * f[bottom, left])
            + right_weight * ((1 - bottom_weight) * f[top, right] + bottom_weight * f[bottom, right]))
    return np.reshape(flat, (rows, cols))


def simulate(vx, vy, smoke, num_steps):
    for t in range(num_steps):
        vx_advected = advect(vx, vx, vy)
        vy_advected = advect(vy, vx, vy)
        vx, vy = project(vx_advected, vy_advected)
        smoke = advect(smoke, vx, vy)
    return smoke


def distance_from_target(init_velocity, smoke, target, num_steps):
    """Mean squared difference between the smoke after the simulation and the target picture;
    the initial velocity is one flat vector (both components), as an optimizer wants it."""
    rows, cols = smoke.shape
    vx = np.reshape(init_velocity[:rows * cols], (rows, cols))
    vy = np.reshape(init_velocity[rows * cols:], (rows, cols))
    final = simulate(vx, vy, smoke, num_steps)
    return np.mean((final - target) ** 2)


def blob(size, centre_row, centre_col, width=2.0):
    ys, xs = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    return np.exp(-((ys - centre_row) ** 2 + (xs - centre_col) ** 2) / (2 * width ** 2))


SIZE, NUM_STEPS = 16, 6


def setup(seed=0):
    rs = np.random.RandomState(seed)
    smoke = blob(SIZE, 5.0, 5.0)
    target = blob(SIZE, 9.0, 10.0)
    init_velocity = 0.3 + 0.1 * rs.randn(2 * SIZE * SIZE)  # drifting right and down, with noise
    return init_velocity, smoke, target


def main(num_iters=41):
    velocity, smoke, target = setup()
    step = value_and_grad(distance_from_target)
    losses = []
    for t in range(num_iters):
        value, g = step(velocity, smoke, target, NUM_STEPS)
        losses.append(value)
        if t % 10 == 0:
            print(f"step {t:3d}  distance from target {value:.5f}")
        velocity = velocity - 20.0 * g
    final = simulate(velocity[:SIZE * SIZE].reshape(SIZE, SIZE), velocity[SIZE * SIZE:].reshape(SIZE, SIZE),
                     smoke, NUM_STEPS)
    peak = np.unravel_index(np.argmax(final), final.shape)
    print(f"the smoke started at (5, 5); after optimising it peaks at {tuple(int(i) for i in peak)}"
          f" (target: (9, 10))")
    print("✓" if losses[-1] < 0.5 * losses[0] else "✗",
          f"distance from target fell from {losses[0]:.5f} to {losses[-1]:.5f}")
    return losses


if __name__ == "__main__":
    main()
