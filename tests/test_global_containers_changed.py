"""A method call that changes a global container the function also reads
(`HIST.append(x * 2)` then `HIST[-1]`, `STATE.update(last=v)` then `STATE["last"]`):
the call ran in the forward pass, but the trace read the global as a constant, not as
the value the call changed, a silently wrong gradient. Refused where written; a global
log that is only written (`LOSSES.append(loss)`) still differentiates."""
import numpy as np
import pytest

import s2sgrad
from s2sgrad.errors import TransformError

HISTORY = []
STATE = {"last": None}
LOSSES = []


def appended_then_read(x):
    HISTORY.append(x * 2)
    return np.sum(HISTORY[-1] * x)


def updated_then_read(x):
    STATE.update(last=x * 3)
    return np.sum(STATE["last"] * x)


def logged_only(x):
    loss = np.sum(x ** 2)
    LOSSES.append(loss)
    return loss




def log_it(v):
    HISTORY.append(v)


def remember(v):
    STATE["last"] = v


def log_loss(loss):
    LOSSES.append(loss)


def helper_appends_then_read(x):
    log_it(x * 2)
    return np.sum(HISTORY[-1] * x)


def helper_stores_then_read(x):
    remember(x * 3)
    return np.sum(STATE["last"] * x)


def helper_logs_only(x):
    loss = np.sum(x ** 2)
    log_loss(loss)
    return loss


@pytest.mark.parametrize("f, message, hint", [
    (appended_then_read, "which the function reads", "local name"),
    (updated_then_read, "which the function reads", "local name"),
    # the change made by a function of yours called for its effect (it gave half the
    # gradient: the read was taken for a constant)
    (helper_appends_then_read, "which this function reads", "return the value"),
    (helper_stores_then_read, "which this function reads", "return the value"),
], ids=lambda v: getattr(v, "__name__", ""))
def test_a_change_to_a_global_the_function_reads_is_refused(f, message, hint):
    with pytest.raises(TransformError, match=message) as info:
        s2sgrad.grad(f)(np.array([0.5, -1.0, 2.0]))
    assert hint in str(info.value)


@pytest.mark.parametrize("f", [logged_only, helper_logs_only], ids=lambda f: f.__name__)
def test_a_global_log_only_written_still_differentiates(f):
    x = np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(s2sgrad.grad(f)(x), 2 * x)
