"""Worked examples from the lecture notes in shared/seeds/, with their published numbers.

Seed files (in /work/shared/seeds/):
  000_d08ec812661f2fd8.txt  "Backpropagation" notes: gates, (x+y)z, sigmoid neuron, x/(x+y), max gate
  001_2b457a1a6145db7d.txt  R. P. Adams, "Computing Gradients with Backpropagation" (Griewank example)
  002_0dab2d641889d583.txt  "Gradients by hand (matrix calculus) and algorithmically" slides
  003_249f0978f9dabdf9.txt  M. Tomassoli, "Calculus and Backpropagation"
  004_4c9ae2ef797dca4a.txt  discussion worksheet: ln(x1) + x1 x2 - sin(x2), two-layer network

Where the notes print numbers they are checked to the printed precision; where
they give only a formula, the gradient is checked against the formula (computed
here by hand in NumPy) and against finite differences.
"""
import math

import numpy as np
import pytest

import s2sgrad

from support.numeric import assert_grad_matches, numerical_grad


# ----------------------------------------------------------------------------
# seed 000, section 2.1: the multiply, add and max gates


def mul_gate(x, y):
    return x * y


def add_gate(x, y):
    return x + y


def max_gate2(x, y):
    return max(x, y)


def test_multiply_gate():
    # seed 000 §2.1: f = xy at (-3, 2); f(-2, 2) = f(-3, 2) + 2 and f(-3, 3) = f(-3, 2) - 3
    gx, gy = assert_grad_matches(mul_gate, -3.0, 2.0, wrt=(0, 1))
    assert (gx, gy) == (2.0, -3.0)


def test_add_gate():
    # seed 000 §2.1, (7)-(8): df/dx = df/dy = 1, whatever x0, y0
    assert s2sgrad.grad(add_gate, wrt=(0, 1))(-3.0, 2.0) == (1.0, 1.0)


def test_max_gate_two_inputs():
    # seed 000 §2.1, (9)-(10): x0 = 10, y0 = 1, f only sensitive to x
    assert s2sgrad.grad(max_gate2, wrt=(0, 1))(10.0, 1.0) == (1.0, 0.0)
    assert s2sgrad.grad(max_gate2, wrt=(0, 1))(1.0, 10.0) == (0.0, 1.0)


# ----------------------------------------------------------------------------
# seed 000, sections 2.2 and 3: f(x, y, z) = (x + y) z at (-2, 5, -4)


def xyz(x, y, z):
    return (x + y) * z


def test_x_plus_y_times_z():
    # seed 000 §3 (PyTorch listing): x0.grad == -4.0, y0.grad == -4.0, z0.grad == 3.0;
    # and "resulting in f(-2, 5, -4) = -12"
    value, grads = s2sgrad.value_and_grad(xyz, wrt=(0, 1, 2))(-2.0, 5.0, -4.0)
    assert value == -12.0
    assert grads == (-4.0, -4.0, 3.0)
    for g in grads:
        assert isinstance(g, float)


Y0, Z0 = 5.0, -4.0


def xyz_globals(x):
    return (x + Y0) * Z0


def test_x_plus_y_times_z_with_module_constants():
    # seed 000 §2.2.2 listing: y0, z0 fixed module globals, symbolic_df(x) = z0
    assert s2sgrad.grad(xyz_globals)(-2.0) == -4.0


# ----------------------------------------------------------------------------
# seed 001: Griewank & Walther example (Adams' notes, eq. 17 and the adjoint table)


def griewank(x1, x2):
    return (math.sin(x1 / x2) + x1 / x2 - math.exp(x2)) * (x1 / x2 - math.exp(x2))


def griewank_np(x1, x2):
    a = x1 / x2
    b = np.exp(x2)
    return (np.sin(a) + a - b) * (a - b)


@pytest.mark.parametrize("fn", [griewank, griewank_np])
def test_griewank(fn):
    # seed 001: y = 2.0167, x1_bar = 3.0118, x2_bar = -13.7239 (printed to 4 decimals;
    # the exact x2_bar is -13.72396..., the notes truncate, hence abs=1e-4)
    value, (g1, g2) = s2sgrad.value_and_grad(fn, wrt=(0, 1))(1.5, 0.5)
    assert value == pytest.approx(2.0167, abs=1e-4)
    assert g1 == pytest.approx(3.0118, abs=1e-4)
    assert g2 == pytest.approx(-13.7239, abs=1e-4)
    assert_grad_matches(fn, 1.5, 0.5, wrt=(0, 1))


def test_griewank_intermediate_adjoint():
    # seed 001 adjoint table: v1_bar = 1.5059 is dy/d(x1/x2); with x2 fixed, dy/dx1 = v1_bar / x2
    g1 = s2sgrad.grad(griewank, wrt="x1")(1.5, 0.5)
    assert g1 * 0.5 == pytest.approx(1.5059, abs=1e-4)


# ----------------------------------------------------------------------------
# seed 004, problem 1: y = ln(x1) + x1 x2 - sin(x2) at (2, 5)


def ln_example(x1, x2):
    return math.log(x1) + x1 * x2 - math.sin(x2)


def ln_example_np(x1, x2):
    v3 = np.log(x1)
    v4 = x1 * x2
    v5 = np.sin(x2)
    v6 = v3 + v4
    return v6 - v5


@pytest.mark.parametrize("fn", [ln_example, ln_example_np])
def test_ln_x1_plus_x1x2_minus_sin_x2(fn):
    # seed 004 (c)-(d): y = 11.652, v1_bar = 5.5 (= dy/dx1), v2_bar ~ -0.284 + 2 = 1.716
    value, (g1, g2) = s2sgrad.value_and_grad(fn, wrt=(0, 1))(2.0, 5.0)
    assert value == pytest.approx(11.652, abs=1e-3)
    assert g1 == pytest.approx(5.5, abs=1e-12)
    assert g2 == pytest.approx(1.716, abs=1e-3)
    assert_grad_matches(fn, 2.0, 5.0, wrt=(0, 1))


# ----------------------------------------------------------------------------
# seed 000 §3.3 (branching): f(x, y) = x / (x + y) at (-1, 2)


def x_over_x_plus_y(x, y):
    return x / (x + y)


def test_x_over_x_plus_y():
    # seed 000 §3.3: df/dx = 1/v1 + (-x0)/v1^2 = 1 + 1 = 2 (gradients add at the branch);
    # df/dy = -x/(x + y)^2 = 1 (not printed; from the same quotient rule)
    value, (gx, gy) = s2sgrad.value_and_grad(x_over_x_plus_y, wrt=(0, 1))(-1.0, 2.0)
    assert value == -1.0
    assert gx == pytest.approx(2.0, abs=1e-12)
    assert gy == pytest.approx(1.0, abs=1e-12)


# ----------------------------------------------------------------------------
# seed 000 §3.4 (max gate): f(x, y, z, w) = 3 (xy + max(z, w)) at (3, -4, 2, -1)


def max_gate(x, y, z, w):
    return 3 * (x * y + max(z, w))


def max_gate_np(x, y, z, w):
    return 3.0 * (x * y + np.maximum(z, w))


@pytest.mark.parametrize("fn", [max_gate, max_gate_np])
def test_max_gate(fn):
    # seed 000 §3.4: the add gate passes df/dv3 = 3 on; the max gate routes df/dv2 = 3
    # entirely to z (z > w); the multiply gate switches: df/dx = 3y, df/dy = 3x
    gx, gy, gz, gw = s2sgrad.grad(fn, wrt=(0, 1, 2, 3))(3.0, -4.0, 2.0, -1.0)
    assert (gx, gy, gz, gw) == (-12.0, 9.0, 3.0, 0.0)


# seed 002 slides: f(x, y, z) = (x + y) max(y, z) at x = 1, y = 2, z = 0


def plus_times_max(x, y, z):
    a = x + y
    b = max(y, z)
    f = a * b
    return f


def test_gradients_sum_at_outward_branches():
    # seed 002: df/da = b = 2, df/db = a = 3, db/dy = 1(y > z) = 1, db/dz = 0;
    # "gradients sum at outward branches": df/dy = df/da da/dy + df/db db/dy = 2 + 3
    value, grads = s2sgrad.value_and_grad(plus_times_max, wrt=("x", "y", "z"))(1.0, 2.0, 0.0)
    assert value == 6.0
    assert grads == (2.0, 5.0, 0.0)


# ----------------------------------------------------------------------------
# seed 000 §3.2: the sigmoid neuron (logistic regressor), w = [-3, 2, -3], x = [-1, -2]


def neuron(w, x):
    # f(w, x) = 1 / (1 + exp(-(w0 + w1 x1 + w2 x2))), eq. (11)
    return 1.0 / (1.0 + np.exp(-(w[0] + w[1] * x[0] + w[2] * x[1])))


def _neuron_by_the_notes(w, x):
    # seed 000 listing lines 19-24, the hand-written backward pass
    out = 1.0 / (1.0 + math.exp(-(w[0] + w[1] * x[0] + w[2] * x[1])))
    df_dw_dot_x = out * (1 - out)
    df_dw = [1.0 * df_dw_dot_x, x[0] * df_dw_dot_x, x[1] * df_dw_dot_x]
    df_dx = [w[1] * df_dw_dot_x, w[2] * df_dw_dot_x]
    return out, df_dw, df_dx


def test_sigmoid_neuron():
    w = np.array([-3.0, 2.0, -3.0])
    x = np.array([-1.0, -2.0])
    out, df_dw, df_dx = _neuron_by_the_notes(w, x)
    value, (gw, gx) = s2sgrad.value_and_grad(neuron, wrt=(0, 1))(w, x)
    # w.x = -3 + 2 + 6 = 1, so out = sigma(1) and df/d(w.x) = sigma(1)(1 - sigma(1))
    assert value == pytest.approx(1 / (1 + math.exp(-1.0)), rel=1e-12)
    np.testing.assert_allclose(gw, df_dw, rtol=1e-12)
    np.testing.assert_allclose(gx, df_dx, rtol=1e-12)
    np.testing.assert_allclose(gw, [0.19661193, -0.19661193, -0.39322387], atol=1e-8)
    assert_grad_matches(neuron, w, x, wrt=(0, 1))


def dot(w, x):
    """Dot product of w, x."""
    w_dot_x = 0.0
    x = [1.0] + x  # append "1" to the start, complementing bias as w0 in w
    for (wi, xi) in zip(w, x):
        w_dot_x = w_dot_x + (wi * xi)
    return w_dot_x


def neuron_lists(w, x):
    """Logistic sigmoid function."""
    return 1 / (1 + math.exp(-1 * dot(w, x)))


def test_sigmoid_neuron_literal_code_from_the_notes():
    # seed 000 §3.2 listing, verbatim but with float literals: lists, zip loop, list
    # concatenation and a call to a user function.  Gradients of lists are lists.
    w = [-3.0, 2.0, -3.0]
    x = [-1.0, -2.0]
    out, df_dw, df_dx = _neuron_by_the_notes(w, x)
    value, (gw, gx) = s2sgrad.value_and_grad(neuron_lists, wrt=(0, 1))(w, x)
    assert w == [-3.0, 2.0, -3.0] and x == [-1.0, -2.0]  # not mutated
    assert value == pytest.approx(out, rel=1e-12)
    assert isinstance(gw, list) and len(gw) == 3
    assert isinstance(gx, list) and len(gx) == 2
    assert gw == pytest.approx(df_dw, rel=1e-12)
    assert gx == pytest.approx(df_dx, rel=1e-12)


def sigmoid_sum(x):
    return np.sum(1.0 / (1.0 + np.exp(-x)))


def test_sigmoid_derivative_identity():
    # seed 000 §3.2 and seed 003 §14: sigma'(x) = sigma(x) (1 - sigma(x))
    x = np.linspace(-3.0, 3.0, 7)
    s = 1.0 / (1.0 + np.exp(-x))
    g = assert_grad_matches(sigmoid_sum, x)
    np.testing.assert_allclose(g, s * (1 - s), rtol=1e-12)


# ----------------------------------------------------------------------------
# seed 002: the window classifier s = u^T h, h = f(W x + b) (f = sigmoid here)


def window_score(W, b, u, x):
    z = W @ x + b
    h = 1.0 / (1.0 + np.exp(-z))
    s = u @ h
    return s


def test_window_classifier_score():
    # seed 002: delta = u^T o f'(z); ds/db = delta; ds/dW = delta^T x^T; ds/du = h;
    # ds/dx = W^T delta
    rng = np.random.default_rng(2)
    W = rng.normal(size=(3, 5))
    b = rng.normal(size=3)
    u = rng.normal(size=3)
    x = rng.normal(size=5)
    z = W @ x + b
    h = 1.0 / (1.0 + np.exp(-z))
    delta = u * h * (1 - h)
    gW, gb, gu, gx = assert_grad_matches(window_score, W, b, u, x, wrt=(0, 1, 2, 3))
    np.testing.assert_allclose(gb, delta, rtol=1e-10)
    np.testing.assert_allclose(gW, np.outer(delta, x), rtol=1e-10)
    np.testing.assert_allclose(gu, h, rtol=1e-10)
    np.testing.assert_allclose(gx, W.T @ delta, rtol=1e-10)


# ----------------------------------------------------------------------------
# seed 004, problem 3: two-layer network, loss = l_ce(sigma(x W1) W2, y)


def two_layer_loss(W1, W2, x, e_y):
    z0 = x @ W1
    z1 = 1.0 / (1.0 + np.exp(-z0))          # sigma(x W1)
    z2 = z1 @ W2
    lse = np.log(np.sum(np.exp(z2), axis=1))
    return np.sum(lse - np.sum(z2 * e_y, axis=1))   # cross-entropy, summed over rows


def two_layer_loss_stable(W1, W2, x, e_y):
    # the same loss with the usual max-shift inside log-softmax (shift-invariant)
    z1 = 1.0 / (1.0 + np.exp(-(x @ W1)))
    z2 = z1 @ W2
    m = np.max(z2, axis=1, keepdims=True)
    log_p = z2 - m - np.log(np.sum(np.exp(z2 - m), axis=1, keepdims=True))
    return -np.sum(log_p * e_y)


def _two_layer_by_the_notes(W1, W2, x, e_y):
    # seed 004 (c): dL/dW2 = sigma(x W1)^T (softmax(z2) - e_y),
    #               dL/dW1 = x^T ((softmax(z2) - e_y) W2^T o sigma'(x W1))
    s = 1.0 / (1.0 + np.exp(-(x @ W1)))
    z2 = s @ W2
    p = np.exp(z2) / np.sum(np.exp(z2), axis=1, keepdims=True)
    dz2 = p - e_y
    dW2 = s.T @ dz2
    dW1 = x.T @ ((dz2 @ W2.T) * s * (1 - s))
    return dW1, dW2


@pytest.mark.parametrize("fn", [two_layer_loss, two_layer_loss_stable])
@pytest.mark.parametrize("n", [pytest.param(1, id="one-example"),
                               pytest.param(4, id="batch-of-4")])
def test_two_layer_network(fn, n):
    rng = np.random.default_rng(4)
    x = rng.normal(size=(n, 3))
    W1 = rng.normal(size=(3, 4))
    W2 = rng.normal(size=(4, 5))
    e_y = np.eye(5)[rng.integers(0, 5, size=n)]       # one-hot labels
    gW1, gW2 = assert_grad_matches(fn, W1, W2, x, e_y, wrt=(0, 1))
    dW1, dW2 = _two_layer_by_the_notes(W1, W2, x, e_y)
    np.testing.assert_allclose(gW1, dW1, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(gW2, dW2, rtol=1e-9, atol=1e-12)


def test_two_layer_network_input_gradient():
    # seed 004 (e): reverse mode also provides dL/dx (usually ignored in training)
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 3))
    W1 = rng.normal(size=(3, 4))
    W2 = rng.normal(size=(4, 5))
    e_y = np.eye(5)[[1, 3]]
    assert_grad_matches(two_layer_loss, W1, W2, x, e_y, wrt="x")


def test_notes_oracle_agrees_with_finite_differences():
    # guards the hand-written formula above (pure NumPy, no s2sgrad)
    rng = np.random.default_rng(6)
    x = rng.normal(size=(3, 3))
    W1 = rng.normal(size=(3, 4))
    W2 = rng.normal(size=(4, 5))
    e_y = np.eye(5)[[0, 4, 2]]
    dW1, dW2 = _two_layer_by_the_notes(W1, W2, x, e_y)
    nW1, nW2 = numerical_grad(two_layer_loss, (W1, W2, x, e_y), wrt=(0, 1))
    np.testing.assert_allclose(dW1, nW1, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dW2, nW2, rtol=1e-6, atol=1e-8)
