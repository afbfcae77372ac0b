"""The benchmark's workloads (benchmarks/workloads.py), for correctness only (no timing):
each hand-written gradient and value-and-gradient against centred finite differences of
the loss and the loss itself, and s2sgrad's `grad` and `value_and_grad` against the same
oracle, on the tiny instances; the peers' losses (benchmarks/peers.py) are not tested here
(they are optional).
"""
import importlib.util
import os

import numpy as np
import pytest

import s2sgrad

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _load_workloads():
    spec = importlib.util.spec_from_file_location(
        "bench_workloads", os.path.join(ROOT, "benchmarks", "workloads.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


W = _load_workloads()
NAMES = [w.name for w in W.WORKLOADS]


def finite_differences(w, args):
    return [W.finite_difference(w.loss, args, i) for i in w.wrt]


def close(got, expected, tol=1e-6):
    assert np.shape(got) == np.shape(expected)
    assert W.rel_error(got, expected) < tol, (got, expected)


def test_at_least_fourteen_workloads_each_with_both_references():
    assert len(W.WORKLOADS) >= 14
    assert len(set(NAMES)) == len(NAMES)
    assert all(w.hand_value_and_grad is not None for w in W.WORKLOADS)


@pytest.mark.parametrize("name", NAMES)
def test_hand_written_gradient_and_value(name):
    w = W.BY_NAME[name]
    args = w.make_data(tiny=True)
    fd = finite_differences(w, args)
    hand = w.hand_grad(*args)
    assert len(hand) == len(w.wrt)
    for g, e in zip(hand, fd):
        close(g, e)
    value, grads = w.hand_value_and_grad(*args)
    close(value, w.loss(*args), 1e-12)
    for g, e in zip(grads, fd):
        close(g, e)


@pytest.mark.parametrize("name", NAMES)
def test_s2sgrad_grad_and_value_and_grad(name):
    w = W.BY_NAME[name]
    args = w.make_data(tiny=True)
    fd = finite_differences(w, args)
    got = s2sgrad.grad(w.loss, wrt=w.wrt_arg)(*args)
    got = got if len(w.wrt) > 1 else (got,)
    for g, e in zip(got, fd):
        close(g, e)
    value, grads = s2sgrad.value_and_grad(w.loss, wrt=w.wrt_arg)(*args)
    grads = grads if len(w.wrt) > 1 else (grads,)
    close(value, w.loss(*args), 1e-12)
    for g, e in zip(grads, fd):
        close(g, e)
