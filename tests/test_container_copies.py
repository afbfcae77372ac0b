"""A list, tuple or dict argument reached under a second name, and used more than once:
`p = ws; q = ws`, passed twice to a local helper (inlined, its parameter bound by a
copy), as a GAN's discriminator is applied to real and to generated data, or put twice
in a container (`[ws, ws]`, `.append(ws)`, `c[i] = ws`, `{"a": ws}`). The adjoints of
the uses are containers and must be added element by element (`add_grads`), never with
`+`, which concatenates lists and tuples (a silently wrong gradient) and fails on dicts.
Oracle: centered finite differences on the flattened container (support/trees.py)."""
import numpy as np
import pytest

import s2sgrad

from support.trees import assert_tree_grad

RS = np.random.RandomState(0)


def second_names(ws, x):
    p = ws
    q = ws
    a = x * p[0] * p[1]
    b = x * q[0] + q[1]
    return np.sum(a * b)


def helper_called_twice(ws, x, y):
    def net(params, z):
        for w in params:
            z = z * w
        return z
    return np.sum(net(ws, x)) + np.sum(net(ws, y))


def helper_indexing_by_position(ws, x, y):
    def net(params, z):
        for i in range(len(params)):
            z = np.sin(z * params[i])
        return z
    return np.sum(net(ws, x) * net(ws, y))


def dict_through_a_helper(params, x, y):
    def net(d, z):
        return np.tanh(z * d["w"] + d["b"])
    return np.sum(net(params, x) * net(params, y))


def pair_through_a_helper(wb, x, y):
    def net(p, z):
        w, b = p
        return np.tanh(z * w + b)
    return np.sum(net(wb, x) + net(wb, y) ** 2)


def helpers_calling_helpers(ws, x, y):
    def inner(p, z):
        for w in p:
            z = np.sin(z * w)
        return z

    def outer(p, z):
        return inner(p, z) + inner(p, z * 2.0)
    return np.sum(outer(ws, x)) + np.sum(outer(ws, y))


def lambda_called_twice(ws, x, y):
    f = lambda p, z: z * p[0] + p[1] * z ** 2     # noqa: E731
    return np.sum(f(ws, x) * f(ws, y))


def gan_discriminator_loss(gen_params, dsc_params, real, noise):
    def net(params, x):
        for W, b in params[:-1]:
            x = np.maximum(0.0, x @ W + b) + 0.01 * np.minimum(0.0, x @ W + b)
        W, b = params[-1]
        return x @ W + b
    fake = net(gen_params, noise)
    logits_real = net(dsc_params, real)
    logits_fake = net(dsc_params, fake)
    return np.mean(np.logaddexp(0, -logits_real)) + np.mean(np.logaddexp(0, logits_fake))


def held_in_a_list(ws, x):
    pairs = [ws, ws]
    total = 0.0
    for p in pairs:
        total = total + np.sum(p[0] * p[1] * x)
    return total


def appended_twice(ws, x):
    c = []
    c.append(ws)
    c.append(ws)
    return np.sum(c[0][0] * x) + np.sum(c[1][1] * c[1][0])


def stored_twice(ws, x):
    c = [None, None]
    c[0] = ws
    c[1] = ws
    return np.sum(c[0][0] * x) + np.sum(c[1][1] * c[1][0])


def dict_values(ws, x):
    d = {"a": ws, "b": ws}
    return np.sum(d["a"][0] * x) + np.sum(d["b"][1] * x)


def nested_lists(ws, x):
    t = [[ws], [ws]]
    return np.sum(t[0][0][0] * x * t[1][0][1])


def through_a_global_helper(ws, x):
    return second_names(ws, x) + held_in_a_list(ws, x)


def _vectors(n=2):
    return [RS.randn(3) for _ in range(n)]


CASES = [
    (second_names, lambda: (_vectors(), RS.randn(3)), 0),
    (helper_called_twice, lambda: (_vectors(), RS.randn(3), RS.randn(3)), 0),
    (helper_indexing_by_position, lambda: (_vectors(3), RS.randn(3), RS.randn(3)), 0),
    (dict_through_a_helper, lambda: ({"w": RS.randn(3), "b": RS.randn(3)}, RS.randn(3),
                                     RS.randn(3)), 0),
    (pair_through_a_helper, lambda: ((RS.randn(3), RS.randn(3)), RS.randn(3), RS.randn(3)), 0),
    (pair_through_a_helper, lambda: ((0.3, -0.4), RS.randn(3), RS.randn(3)), 0),
    (helpers_calling_helpers, lambda: (_vectors(), RS.randn(3), RS.randn(3)), 0),
    (lambda_called_twice, lambda: (_vectors(), RS.randn(3), RS.randn(3)), 0),
    (held_in_a_list, lambda: (_vectors(), RS.randn(3)), 0),
    (held_in_a_list, lambda: (tuple(_vectors()), RS.randn(3)), 0),
    (appended_twice, lambda: (_vectors(), RS.randn(3)), 0),
    (stored_twice, lambda: (_vectors(), RS.randn(3)), 0),
    (dict_values, lambda: (_vectors(), RS.randn(3)), 0),
    (nested_lists, lambda: (_vectors(), RS.randn(3)), 0),
    (through_a_global_helper, lambda: (_vectors(), RS.randn(3)), 0),
    (gan_discriminator_loss, lambda: ([(RS.randn(2, 4), RS.randn(4)), (RS.randn(4, 2), RS.randn(2))],
                                      [(RS.randn(2, 4), RS.randn(4)), (RS.randn(4, 1), RS.randn(1))],
                                      RS.randn(5, 2), RS.randn(5, 2)), 1),
    (gan_discriminator_loss, lambda: ([(RS.randn(2, 4), RS.randn(4)), (RS.randn(4, 2), RS.randn(2))],
                                      [(RS.randn(2, 4), RS.randn(4)), (RS.randn(4, 1), RS.randn(1))],
                                      RS.randn(5, 2), RS.randn(5, 2)), 0),
]


@pytest.mark.parametrize("f, build, wrt", CASES,
                         ids=["%s-%d" % (c[0].__name__, i) for i, c in enumerate(CASES)])
def test_container_used_under_two_names(f, build, wrt):
    assert_tree_grad(f, build(), wrt=wrt)


@pytest.mark.parametrize("optimize", [True, False])
def test_the_unoptimized_code_agrees(optimize):
    ws, x, y = _vectors(), RS.randn(3), RS.randn(3)
    got = s2sgrad.grad(helper_called_twice, optimize=optimize)(ws, x, y)
    # d/dw0 sum(z w0 w1) = w1 z for z = x and z = y
    assert np.allclose(got[0], ws[1] * (x + y)) and np.allclose(got[1], ws[0] * (x + y))


def test_forward_mode_through_the_helper_called_twice():
    ws, x, y = _vectors(), RS.randn(3), RS.randn(3)
    tangent = [RS.randn(3), RS.randn(3)]
    value, dot = s2sgrad.jvp(helper_called_twice)((ws, x, y), (tangent, np.zeros(3), np.zeros(3)))
    expected = np.sum((tangent[0] * ws[1] + ws[0] * tangent[1]) * (x + y))
    assert value == pytest.approx(helper_called_twice(ws, x, y))
    assert dot == pytest.approx(expected, rel=1e-12)


# `+` and `*` on list arguments: the trace cannot tell a list from a number, so the
# adjoint rule of a number runs on lists; its result has another length than the
# argument, which is refused with the error naming the fix, never truncated to a number
# (`ws * 2` gave a silently wrong gradient) nor an internal ValueError (`ws + vs`).


def lists_added(ws, vs, x):
    both = ws + vs
    return np.sum(both[0] * both[2] * x) + np.sum(both[1])


def list_repeated(ws, x):
    twice = ws * 2
    return np.sum(twice[0] * twice[2] * x) + np.sum(twice[3])


def lists_added_explicitly(ws, vs, x):
    both = list(ws) + list(vs)
    return np.sum(both[0] * both[2] * x) + np.sum(both[1])


def list_repeated_explicitly(ws, x):
    twice = [w for w in ws] + [w for w in ws]
    return np.sum(twice[0] * twice[2] * x) + np.sum(twice[3])


@pytest.mark.parametrize("f, args", [
    (lists_added, lambda: (_vectors(), _vectors(), RS.randn(3))),
    (list_repeated, lambda: (_vectors(), RS.randn(3))),
], ids=["plus", "times"])
def test_plus_and_times_on_list_arguments_are_refused(f, args):
    from s2sgrad.errors import GradientError
    with pytest.raises(GradientError, match=r"list\(a\) \+ list\(b\)"):
        s2sgrad.grad(f)(*args())


@pytest.mark.parametrize("f, args, wrt", [
    (lists_added_explicitly, lambda: (_vectors(), _vectors(), RS.randn(3)), 0),
    (lists_added_explicitly, lambda: (_vectors(), _vectors(), RS.randn(3)), 1),
    (list_repeated_explicitly, lambda: (_vectors(), RS.randn(3)), 0),
], ids=["plus-0", "plus-1", "times"])
def test_the_explicit_spellings_are_right(f, args, wrt):
    assert_tree_grad(f, args(), wrt=wrt)
