"""Tests for noisy_helpers/n_step.py: n-step returns and the queue that builds them."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from noisy_helpers.n_step import NStepQueue, n_step_return


def test_n_step_return_by_hand():
    # 1 + 0.5 * 2 + 0.25 * 4 = 3
    assert n_step_return([1.0, 2.0, 4.0], 0.5) == 3.0
    assert n_step_return([7], 0.9) == 7.0
    assert n_step_return([], 0.9) == 0.0


def play(queue, rewards, end):
    """Push one episode of ``rewards`` (observation t is the int t) ending with ``end``
    ('terminated', 'truncated' or None); all transitions emitted, in order."""
    out = []
    for t, reward in enumerate(rewards):
        last = t == len(rewards) - 1
        out += queue.push(t, t % 2, reward, t + 1, last and end == "terminated",
                          last and end == "truncated")
    return out


def test_three_step_queue_by_hand_on_a_terminated_episode():
    """γ = 0.5, five rewards of 1, terminated after the fifth.

    t = 0, 1: full 3-step returns 1 + 0.5 + 0.25 = 1.75, bootstrapped from s_{t+3};
    t = 2: 1.75 too, but s_5 is terminal: done (no bootstrap);
    t = 3: 1 + 0.5 = 1.5 and t = 4: 1, both up to the end, done."""
    out = play(NStepQueue(3, 0.5), [1.0] * 5, "terminated")
    assert out == [(0, 0, 1.75, 3, False), (1, 1, 1.75, 4, False), (2, 0, 1.75, 5, True),
                   (3, 1, 1.5, 5, True), (4, 0, 1.0, 5, True)]


def test_three_step_queue_drops_the_transitions_a_time_limit_cuts_short():
    # Truncated after the fifth step: t = 2 still has its 3 rewards and bootstraps from s_5
    # (a truncation is not terminal); t = 3 and 4 have fewer than 3 and are not stored.
    queue = NStepQueue(3, 0.5)
    out = play(queue, [1.0, 2.0, 4.0, 8.0, 16.0], "truncated")
    assert out == [(0, 0, 3.0, 3, False), (1, 1, 6.0, 4, False), (2, 0, 12.0, 5, False)]
    assert len(queue) == 0  # nothing carried into the next episode


def test_one_step_queue_passes_every_transition_through_unchanged():
    queue = NStepQueue(1, 0.99)
    assert queue.push("s", 1, 2.5, "s2", False, False) == [("s", 1, 2.5, "s2", False)]
    assert queue.push("s2", 0, -1, "s3", True, False) == [("s2", 0, -1.0, "s3", True)]
    assert queue.push("s3", 0, 0.0, "s4", False, True) == [("s3", 0, 0.0, "s4", False)]
    assert len(queue) == 0


def reference_n_step(rewards, end, n, gamma):
    """Straight from the definition: for each t, sum up to n rewards of the episode; keep
    (t, G, index of the next observation, done) unless a time limit cut it short."""
    length, out = len(rewards), []
    for t in range(length):
        k = min(n, length - t)
        done = end == "terminated" and t + k == length
        if k < n and not done:
            continue  # fewer than n rewards left, no terminal state: not stored
        g = sum(gamma ** i * rewards[t + i] for i in range(k))
        out.append((t, g, t + k, done))
    return out


@settings(max_examples=200, deadline=None)
@given(rewards=st.lists(st.floats(-10, 10), min_size=1, max_size=30),
       end=st.sampled_from(["terminated", "truncated", None]),
       n=st.integers(1, 8), gamma=st.floats(0.0, 1.0))
def test_queue_agrees_with_the_definition(rewards, end, n, gamma):
    out = play(NStepQueue(n, gamma), rewards, end)
    expected = reference_n_step(rewards, end, n, gamma)
    if end is None:  # the episode goes on: only the transitions with n rewards known
        expected = [e for e in expected if e[2] - e[0] == n]
    assert [(o[0], o[3], o[4]) for o in out] == [(t, nxt, done) for t, _, nxt, done in expected]
    np.testing.assert_allclose([o[2] for o in out], [g for _, g, _, _ in expected],
                               rtol=1e-9, atol=1e-9)
    assert all(o[1] == o[0] % 2 for o in out)  # each keeps its own action


def test_episodes_do_not_mix():
    queue = NStepQueue(3, 0.5)
    play(queue, [1.0, 1.0], "terminated")
    out = play(queue, [2.0, 2.0, 2.0], None)
    assert out == [(0, 0, 3.5, 3, False)]  # the new episode's rewards only


BAD_QUEUES = [
    (dict(n=0, gamma=0.9), ValueError, r"^n must be an int >= 1, got 0$"),
    (dict(n=-2, gamma=0.9), ValueError, r"^n must be"),
    (dict(n=2.0, gamma=0.9), TypeError, r"^n must be an int >= 1, got 2\.0$"),
    (dict(n=True, gamma=0.9), TypeError, r"^n must be"),
    (dict(n="3", gamma=0.9), TypeError, r"^n must be"),
    (dict(n=3, gamma=1.5), ValueError, r"^gamma must be in \[0, 1\], got 1\.5$"),
    (dict(n=3, gamma=math.nan), ValueError, r"^gamma must be in"),
    (dict(n=3, gamma=-0.1), ValueError, r"^gamma must be in"),
    (dict(n=3, gamma=True), TypeError, r"^gamma must be a number"),
    (dict(n=3, gamma="0.9"), TypeError, r"^gamma must be a number"),
]


@pytest.mark.parametrize("kwargs, error, message", BAD_QUEUES,
                         ids=[repr(k) for k, _, _ in BAD_QUEUES])
def test_bad_input_to_the_queue_raises_one_line_naming_the_argument(kwargs, error, message):
    with pytest.raises(error, match=message):
        NStepQueue(**kwargs)


@pytest.mark.parametrize("reward", [math.nan, math.inf, "1", None, True, [1.0]],
                         ids=repr)
def test_bad_input_reward_raises_and_leaves_the_queue_as_it_was(reward):
    queue = NStepQueue(3, 0.5)
    queue.push(0, 0, 1.0, 1, False, False)
    before = list(queue._waiting)
    with pytest.raises(ValueError, match=r"^reward must be a finite number, got "):
        queue.push(1, 1, reward, 2, False, False)
    assert list(queue._waiting) == before
    assert queue.push(1, 1, 1.0, 2, False, False) == []  # still one step short of 3


@pytest.mark.parametrize("rewards, gamma, error", [
    ([1.0, math.nan], 0.9, ValueError), ([[1.0]], 0.9, ValueError), (["a"], 0.9, ValueError),
    ([1.0], 2.0, ValueError), ([1.0], None, TypeError)])
def test_bad_input_to_n_step_return_raises(rewards, gamma, error):
    with pytest.raises(error):
        n_step_return(rewards, gamma)
