"""The adjoint of an operand of `np.einsum` with an explicit spec is written as the
einsum it is (`x_bar = np.einsum(',ij,j->i', g, A, y)`) where every operand has known
dims, no letter is broadcast, and the operand neither repeats a letter (a diagonal) nor
has one only it reads (an axis to broadcast back); the einsum's result has known dims.
Elsewhere `einsum_grad` stays. Checked against centred finite differences."""
import numpy as np
import pytest

import s2sgrad

from support.numeric import assert_grad_matches
from support.source_passes import gradient_source

R = np.random.default_rng(43)


def bilinear(A, x, y):
    return np.einsum('i,ij,j->', x, A, y) + np.einsum('ij,ij->', A, A)


def attention_scores(Q, K, V):
    S = np.einsum('bqd,bkd->bqk', Q, K)
    return np.sum(np.tanh(np.einsum('bqk,bkd->bqd', S, V)))


def trace_and_row_sums(A, x):                 # a diagonal, an axis only A reads
    return np.einsum('ii->', A) * np.sum(np.einsum('ij->i', A) * x)


def broadcast_letter(a, B):                   # a's 1 against B's rows
    return np.sum(np.einsum('ij,ij->j', a, B) ** 2)


CASES = [
    (bilinear, (R.standard_normal((3, 4)), R.standard_normal(3), R.standard_normal(4)),
     (0, 1, 2)),
    (attention_scores, (R.standard_normal((2, 3, 4)), R.standard_normal((2, 5, 4)),
                        R.standard_normal((2, 5, 4))), (0, 1, 2)),
    (trace_and_row_sums, (R.standard_normal((3, 3)), R.standard_normal(3)), (0, 1)),
    (broadcast_letter, (R.standard_normal((1, 3)), R.standard_normal((4, 3))), (0, 1)),
]


@pytest.mark.parametrize("f, args, wrt", CASES, ids=lambda v: getattr(v, "__name__", ""))
def test_gradients(f, args, wrt):
    assert_grad_matches(f, *args, wrt=wrt)


@pytest.mark.parametrize("k, spelled", [
    (0, ["np.einsum(',ij,j->i'", "np.einsum(',i,j->ij'", "np.einsum(',i,ij->j'"]),
    (1, ["np.einsum('bqk,bkd->bqd'", "np.einsum('bqk,bqd->bkd'"]),
])
def test_spelled(k, spelled):
    src = gradient_source(*CASES[k])
    assert "einsum_grad" not in src, src
    for s in spelled:
        assert s in src, src


@pytest.mark.parametrize("k", [2, 3])
def test_diagonals_reductions_and_broadcasts_keep_the_helper(k):
    assert "einsum_grad(" in gradient_source(*CASES[k])
