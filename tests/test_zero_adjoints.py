"""Every rule receives the zero adjoint `0.0` without crashing and gives a zero contribution.

A value whose use is skipped at run time (a branch not taken, or a loop that overwrites it
before its first use) reaches its rule with the adjoint still `0.0`, the float the
generated code uses for "no gradient yet".  Shape-changing rules (matmul, reshape,
reductions over an axis, stacking, ...) must not try to reshape that float.  For each
operation the test builds three programs and checks the gradient against finite
differences (tests/fuzz_programs.fd_grad; s2sgrad is not the oracle):

* ``live``  -- the value is used (the rule gets a real adjoint);
* ``dead``  -- the use sits in the branch not taken (the adjoint is zero-initialised);
* ``reset`` -- a loop overwrites the value before anything reads it (the adjoint is
  reset to zero inside the backward loop, then flows to the rule after the loop).
"""
import textwrap

import numpy as np
import pytest

import s2sgrad

from support.fuzz_programs import compare, copy_args, fd_grad, load_module

# (id, expression over x of shape (3, 4), expression reducing `v` to a float)
OPS = [
    ("matmul", "x @ W", None),
    ("matmul_left_const", "W.T @ x.T", None),
    ("dot", "np.dot(x, W)", None),
    ("dot_method", "x.dot(W)", None),
    ("inner", "np.inner(x, x[0])", None),
    ("outer", "np.outer(x[0], x[1])", None),
    ("tensordot", "np.tensordot(x, W, axes=1)", None),
    ("einsum", "np.einsum('ij,jk->ik', x, W)", None),
    ("reshape", "np.reshape(x, (4, 3))", None),
    ("reshape_method", "x.reshape(12)", None),
    ("ravel", "np.ravel(x)", None),
    ("transpose", "np.transpose(x)", None),
    ("T", "x.T", None),
    ("expand_dims", "np.expand_dims(x, 0)", None),
    ("squeeze", "np.squeeze(x[None])", None),
    ("broadcast_to", "np.broadcast_to(x[0], (3, 4))", None),
    ("sum_axis", "np.sum(x, axis=0)", None),
    ("sum_keepdims", "x.sum(axis=1, keepdims=True)", None),
    ("mean_axis", "np.mean(x, axis=1)", None),
    ("prod_axis", "np.prod(x, axis=0)", None),
    ("max_axis", "np.max(x, axis=1)", None),
    ("min_axis", "np.min(x, axis=0)", None),
    ("var_axis", "np.var(x, axis=0)", None),
    ("std_axis", "np.std(x, axis=1)", None),
    ("cumsum_axis", "np.cumsum(x, axis=1)", None),
    ("cumsum_flat", "np.cumsum(x)", None),
    ("row", "x[1]", None),
    ("slice", "x[:, 1:3]", None),
    ("fancy", "x[[0, 2, 0]]", None),
    ("flip", "np.flip(x, 0)", None),
    ("roll", "np.roll(x, 1, axis=1)", None),
    ("sort", "np.sort(x, axis=1)", None),
    ("take", "np.take(x, [0, 2], axis=1)", None),
    ("tile", "np.tile(x, (2, 1))", None),
    ("repeat", "np.repeat(x, 2, axis=0)", None),
    ("diff", "np.diff(x, axis=1)", None),
    ("concatenate", "np.concatenate([x, 2.0 * x], axis=0)", None),
    ("stack", "np.stack([x, 2.0 * x])", None),
    ("hstack", "np.hstack([x, 2.0 * x])", None),
    ("vstack", "np.vstack([x, 2.0 * x])", None),
    ("split", "np.split(x, 2, axis=1)", "np.sum(v[0]) + 2.0 * np.sum(v[1])"),
    ("list_display", "[x[0], 2.0 * x[1]]", "np.sum(v[0]) + np.sum(v[1])"),
    ("tuple_display", "(x[0], x[1] * x[2])", "np.sum(v[1]) - np.sum(v[0])"),
    ("norm_axis", "np.linalg.norm(x, axis=1)", None),
    ("norm", "np.linalg.norm(x)", None),
    ("inv", "np.linalg.inv(x[:, :3] + 3.0 * np.eye(3))", None),
    ("det", "np.linalg.det(x[:, :3] + 3.0 * np.eye(3))", None),
    ("slogdet", "np.linalg.slogdet(x[:, :3] + 3.0 * np.eye(3))", "v[1]"),
    ("solve", "np.linalg.solve(x[:, :3] + 3.0 * np.eye(3), x[:, 3])", None),
    ("trace", "np.trace(x)", None),
    ("diagonal", "np.diagonal(x)", None),
    ("diag_vector", "np.diag(x[0])", None),
    ("diag_matrix", "np.diag(x)", None),
    ("where", "np.where(x > 0.0, x, 0.5 * x)", None),
    ("maximum", "np.maximum(x, 0.1)", None),
    ("clip", "np.clip(x, -0.5, 0.5)", None),
    ("item", "x.item(5)", None),
    ("tril", "np.tril(x)", None),
    ("triu_k", "np.triu(x, 1)", None),
    ("pad", "np.pad(x, 1)", None),
    ("pad_value", "np.pad(x, 1, constant_values=c)", None),
    ("swapaxes", "np.swapaxes(x, 0, 1)", None),
    ("swapaxes_method", "x.swapaxes(1, 0)", None),
    ("moveaxis", "np.moveaxis(x[None], 0, -1)", None),
    ("fliplr", "np.fliplr(x)", None),
    ("flipud", "np.flipud(x)", None),
    ("rot90", "np.rot90(x)", None),
    ("take_along_axis", "np.take_along_axis(x, np.argsort(x, axis=1), axis=1)", None),
    ("cumprod", "np.cumprod(x, axis=1)", None),
    ("cumprod_flat", "x.cumprod()", None),
    ("average", "np.average(x, axis=0)", None),
    ("average_weights", "np.average(x, axis=1, weights=x[0] * x[0] + 1.0)", None),
    ("average_returned", "np.average(x, axis=0, weights=x * x + 1.0, returned=True)",
     "np.sum(v[0]) + np.sum(v[1] ** 2)"),
    ("trapezoid", "trapezoid(x, x[0] * x[0], axis=1)", None),
    ("polyval", "np.polyval(x[0], x[1:])", None),
    ("interp", "np.interp(x[1], np.linspace(-1.0, 1.0, 4), x[0])", None),
    ("convolve", "np.convolve(x[0], x[1])", None),
    ("correlate_same", "np.correlate(x[0], x[2, :3], 'same')", None),
    ("kron", "np.kron(x[:2, :2], x[2:, 2:])", None),
    ("vdot", "np.vdot(x, x[::-1])", None),
    ("cross", "np.cross(x[:, :3], x[::-1, 1:])", None),
    ("cholesky", "np.linalg.cholesky(x[:, :3] @ x[:, :3].T + 3.0 * np.eye(3))", None),
    ("eigh", "np.linalg.eigh(x[:, :3] + x[:, :3].T + np.diag([0.0, 2.0, 4.0]))",
     "np.sum(v[0]) + np.sum(v[1][:, 0] ** 2 * np.array([1.0, 2.0, 3.0]))"),
    ("eigvalsh", "np.linalg.eigvalsh(x[:, :3] + x[:, :3].T + np.diag([0.0, 2.0, 4.0]))", None),
    ("svd", "np.linalg.svd(x, full_matrices=False)",
     "np.sum(v[1] ** 2) + np.sum(np.outer(v[0][:, 0], v[2][0]))"),
    ("svd_values", "np.linalg.svd(x, compute_uv=False)", None),
    ("pinv", "np.linalg.pinv(x)", None),
    ("matrix_power", "np.linalg.matrix_power(x[:, :3], 3)", None),
    ("qr", "np.linalg.qr(x.T)", "np.sum(v[0] * v[0][:, :1]) + np.sum(v[1])"),
    ("user_function", "helper(x)", None),
]

PRELUDE = '''\
import numpy as np

W = np.linspace(-1.0, 1.0, 8).reshape(4, 2)
trapezoid = getattr(np, "trapezoid", None) or np.trapz


def helper(a):
    return np.tanh(a @ W)

'''

TEMPLATES = {
    "live": '''
def main(x, c):
    v = {op}
    if c > 0.0:
        out = {use}
    else:
        out = np.sum(x * x)
    return out
''',
    "reset": '''
def main(x, c):
    v = {op}
    for i in range(2):
        x = c * x
        v = {op}
    return {use}
''',
}
TEMPLATES["dead"] = TEMPLATES["live"]
COND = {"live": 1.5, "dead": -1.5, "reset": 1.5}


def _x():
    # distinct entries away from ties and zeros (max/min/sort/clip/where are smooth here)
    return np.array([[0.31, -0.72, 0.93, 0.14],
                     [-0.45, 0.27, -0.88, 0.61],
                     [0.77, -0.19, 0.42, -0.36]])


@pytest.mark.parametrize("kind", ["live", "dead", "reset"])
@pytest.mark.parametrize("name, op, use", [pytest.param(*o, id=o[0]) for o in OPS])
def test_zero_adjoint_reaches_rule(tmp_path, name, op, use, kind):
    use = use or "np.sum(v * v)"
    source = PRELUDE + textwrap.dedent(TEMPLATES[kind].format(op=op, use=use))
    path = tmp_path / f"zero_{name}_{kind}.py"
    path.write_text(source)
    mod = load_module(str(path), f"zero_{name}_{kind}")
    args = (_x(), COND[kind])
    expected = fd_grad(mod.main, args)
    given = copy_args(args)
    value, got = s2sgrad.value_and_grad(mod.main, wrt=(0, 1))(*given)
    assert np.allclose(value, mod.main(*copy_args(args)))
    problem = compare(tuple(got), expected, args)
    assert problem is None, problem + "\n" + source
    assert np.array_equal(given[0], args[0])              # inputs not mutated
