"""Tests for noisy_helpers/replay.py.

Hand-checked buffer used below (alpha = 1, eps = 0 in the limit): four
transitions with |δ| = 1, 1, 2, 4 get priorities 1, 1, 2, 4, total 8::

                 8
              /     \\
             2       6
            / \\     / \\
           1   1   2   4        P = 1/8, 1/8, 2/8, 4/8

and with N = 4, beta = 1 the IS weights are (N P)^-1 = 2, 2, 1, 0.5, divided
by their max: 1, 1, 0.5, 0.25.
"""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from noisy_helpers import (
    Batch,
    PrioritizedReplayBuffer,
    ReplayBuffer,
    importance_weights,
    linear_schedule,
)


def fill(buffer, count, start=0):
    for t in range(start, start + count):
        buffer.add(np.full(buffer.obs_shape, t), t % 3, float(t), np.full(buffer.obs_shape, t + 1), t % 5 == 4)
    return buffer


def snapshot(buffer):
    state = {
        name: getattr(buffer, name).copy()
        for name in ["obs", "next_obs", "actions", "rewards", "dones"]
    }
    state["size"], state["cursor"] = len(buffer), buffer._cursor
    if isinstance(buffer, PrioritizedReplayBuffer):
        state["tree"] = buffer.tree.nodes.copy()
        state["max_priority"] = buffer.max_priority
    return state


def assert_same_state(buffer, state):
    for name, value in snapshot(buffer).items():
        assert np.array_equal(value, state[name]), name


# ------------------------------------------------------ pure functions
def test_importance_weights_match_the_hand_computed_example():
    weights = importance_weights([1 / 8, 1 / 8, 2 / 8, 4 / 8], buffer_size=4, beta=1.0)
    assert weights.tolist() == [1.0, 1.0, 0.5, 0.25]


def test_importance_weights_are_all_one_at_beta_zero_and_max_is_always_one():
    probabilities = np.array([0.1, 0.2, 0.3, 0.4])
    assert np.all(importance_weights(probabilities, 10, 0.0) == 1.0)
    for beta in [0.2, 0.4, 0.7, 1.0]:
        assert importance_weights(probabilities, 10, beta).max() == 1.0


def test_importance_weights_do_not_depend_on_buffer_size_after_normalising():
    probabilities = np.array([0.05, 0.15, 0.3])
    assert np.allclose(
        importance_weights(probabilities, 7, 0.6), importance_weights(probabilities, 70_000, 0.6)
    )


def test_linear_schedule_anneals_beta_from_0_4_to_1_and_stays():
    beta = linear_schedule(0.4, 1.0, 100)
    assert [round(beta(s), 6) for s in [0, 25, 50, 100, 1000]] == [0.4, 0.55, 0.7, 1.0, 1.0]


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda: importance_weights([0.5, 0.0], 4, 0.5), ValueError),
        (lambda: importance_weights([0.5, 1.5], 4, 0.5), ValueError),
        (lambda: importance_weights([0.5], 4, 1.5), ValueError),
        (lambda: importance_weights([0.5], 0, 0.5), ValueError),
        (lambda: importance_weights([], 4, 0.5), ValueError),
        (lambda: linear_schedule(0.4, 1.0, 0), ValueError),
        (lambda: linear_schedule(0.4, 1.0, 10.0), TypeError),
        (lambda: linear_schedule(0.4, 1.0, 10)(-1), ValueError),
    ],
)
def test_pure_functions_refuse_bad_input(call, error):
    with pytest.raises(error):
        call()


# --------------------------------------------------- prioritized buffer
def test_hand_checked_priorities_probabilities_and_weights():
    buffer = fill(PrioritizedReplayBuffer(4, obs_shape=(2,), alpha=1.0, eps=1e-12, seed=0), 4)
    batch = buffer.sample(4, beta=1.0)  # equal priorities: each segment is one slot
    assert batch.indices.tolist() == [0, 1, 2, 3]
    buffer.update_priorities(batch.indices, [1.0, 1.0, 2.0, 4.0])
    assert np.allclose(buffer.tree.priorities, [1, 1, 2, 4])
    assert buffer.tree.total == pytest.approx(8.0)
    counts = np.bincount(
        np.concatenate([buffer.sample(4, beta=1.0).indices for _ in range(4000)]), minlength=4
    )
    assert np.allclose(counts / counts.sum(), [1 / 8, 1 / 8, 2 / 8, 4 / 8], atol=0.01)
    batch = buffer.sample(4, beta=1.0)
    expected = {0: 1.0, 1: 1.0, 2: 0.5, 3: 0.25}
    # The weights are normalised by the batch's max: compare ratios to the rarest sampled slot.
    rarest = min(batch.indices, key=lambda i: [1, 1, 2, 4][i])
    for index, weight in zip(batch.indices, batch.weights):
        assert weight == pytest.approx(expected[index] / expected[rarest])


def test_new_transitions_get_the_largest_priority_seen_so_far():
    buffer = fill(PrioritizedReplayBuffer(8, obs_shape=(1,), alpha=0.6, seed=0), 4)
    assert np.array_equal(buffer.tree.priorities[:4], np.ones(4))  # 1.0 at first
    batch = buffer.sample(2, beta=0.4)
    buffer.update_priorities(batch.indices, [10.0, 0.1])
    biggest = (10.0 + buffer.eps) ** 0.6
    assert buffer.max_priority == pytest.approx(biggest)
    slot = buffer.add(np.zeros(1), 0, 0.0, np.zeros(1), False)
    assert buffer.tree[slot] == pytest.approx(biggest)


def test_update_priorities_stores_abs_td_error_plus_eps_to_the_alpha():
    buffer = fill(PrioritizedReplayBuffer(16, obs_shape=(1,), alpha=0.6, eps=0.01, seed=3), 16)
    batch = buffer.sample(4, beta=0.4)
    errors = np.array([-2.0, 0.0, 0.5, 3.0])
    buffer.update_priorities(batch.indices, errors)
    last = {i: e for i, e in zip(batch.indices, errors)}  # a repeated index keeps its last error
    for index, error in last.items():
        assert buffer.tree[index] == pytest.approx((abs(error) + 0.01) ** 0.6)


def test_stratified_sampling_with_equal_priorities_takes_each_transition_once():
    buffer = fill(PrioritizedReplayBuffer(32, obs_shape=(1,), seed=5), 32)
    for _ in range(10):
        assert np.array_equal(np.sort(buffer.sample(32, beta=0.4).indices), np.arange(32))


def test_sampled_frequencies_match_p_alpha_over_sum_p_alpha():
    """A chi-square goodness-of-fit test, seeded so that it cannot flake."""
    rng = np.random.default_rng(7)
    buffer = fill(PrioritizedReplayBuffer(10, obs_shape=(1,), alpha=0.6, eps=1e-6, seed=7), 10)
    buffer.tree.update(np.arange(10), 1.0)
    batch = buffer.sample(10, beta=0.4)
    errors = rng.uniform(0.1, 5.0, size=10)
    buffer.update_priorities(batch.indices, errors[batch.indices])
    expected = (errors + 1e-6) ** 0.6
    expected /= expected.sum()
    draws = 20_000
    counts = np.bincount(
        np.concatenate([buffer.sample(10, beta=0.4).indices for _ in range(draws // 10)]),
        minlength=10,
    )
    chi_square = np.sum((counts - draws * expected) ** 2 / (draws * expected))
    assert chi_square < 27.88  # the 99.9 % quantile of chi-square with 9 degrees of freedom


def test_weights_are_importance_weights_of_the_sampled_probabilities():
    buffer = fill(PrioritizedReplayBuffer(64, obs_shape=(3,), seed=1), 50)
    batch = buffer.sample(16, beta=1.0)
    buffer.update_priorities(batch.indices, np.linspace(0.1, 3, 16))
    batch = buffer.sample(16, beta=0.7)
    probabilities = buffer.tree[batch.indices] / buffer.tree.total
    assert np.allclose(batch.weights, importance_weights(probabilities, 50, 0.7))
    assert batch.weights.max() == 1.0


def test_sample_returns_the_stored_transitions_with_their_dtypes():
    buffer = fill(PrioritizedReplayBuffer(16, obs_shape=(2, 3), obs_dtype=np.uint8, seed=2), 10)
    batch = buffer.sample(5, beta=0.5)
    assert isinstance(batch, Batch)
    assert batch.obs.shape == (5, 2, 3) and batch.obs.dtype == np.uint8
    assert batch.actions.dtype == np.int64 and batch.rewards.dtype == np.float32
    assert batch.dones.dtype == np.float32 and batch.weights.dtype == np.float32
    for i, slot in enumerate(batch.indices):  # fill() wrote t everywhere for slot t
        assert np.all(batch.obs[i] == slot) and np.all(batch.next_obs[i] == slot + 1)
        assert batch.rewards[i] == slot and batch.actions[i] == slot % 3
        assert batch.dones[i] == float(slot % 5 == 4)


def test_buffer_wraps_around_and_overwrites_the_oldest():
    buffer = fill(PrioritizedReplayBuffer(3, obs_shape=(1,), seed=0), 5)
    assert len(buffer) == 3
    assert buffer.rewards.tolist() == [3.0, 4.0, 2.0]
    assert buffer.tree.total == 3.0  # every slot at the max priority 1


def test_changing_the_indices_array_after_update_priorities_changes_nothing():
    buffer = fill(PrioritizedReplayBuffer(16, obs_shape=(1,), seed=0), 16)
    batch = buffer.sample(4, beta=0.4)
    sampled = batch.indices.copy()
    buffer.update_priorities(batch.indices, [5.0, 5.0, 5.0, 5.0])
    batch.indices[:] = np.setdiff1d(np.arange(16), sampled)[:4]  # the caller reuses its array
    changed = np.flatnonzero(buffer.tree.priorities != 1.0)
    assert set(changed.tolist()) == set(sampled.tolist())


def test_more_adds_than_capacity_between_samples_are_all_in_the_tree():
    buffer = fill(PrioritizedReplayBuffer(5, obs_shape=(1,), seed=0), 2)
    batch = buffer.sample(2, beta=0.4)
    buffer.update_priorities(batch.indices, [3.0, 3.0])
    fill(buffer, 12, start=2)
    assert np.allclose(buffer.tree.priorities, buffer.max_priority)


def test_same_seed_same_samples():
    first, second = (fill(PrioritizedReplayBuffer(100, (2,), seed=11), 80) for _ in range(2))
    for _ in range(5):
        a, b = first.sample(8, 0.5), second.sample(8, 0.5)
        assert np.array_equal(a.indices, b.indices) and np.array_equal(a.weights, b.weights)
        first.update_priorities(a.indices, np.arange(8.0))
        second.update_priorities(b.indices, np.arange(8.0))


@settings(max_examples=60, deadline=None)
@given(
    capacity=st.integers(1, 40),
    steps=st.lists(
        st.tuples(st.integers(0, 6), st.integers(1, 8), st.floats(-10, 10)),
        min_size=1,
        max_size=40,
    ),
)
def test_property_tree_holds_exactly_the_stored_slots(capacity, steps):
    buffer = PrioritizedReplayBuffer(capacity, obs_shape=(1,), seed=0)
    for adds, batch_size, error in steps:
        fill(buffer, adds)
        if len(buffer) >= batch_size:
            batch = buffer.sample(batch_size, beta=0.5)
            assert batch.weights.max() == 1.0 and np.all(batch.weights > 0)
            assert np.all(batch.indices < len(buffer))
            buffer.update_priorities(batch.indices, np.full(batch_size, error))
        priorities = buffer.tree.priorities
        assert np.all(priorities[: len(buffer)] > 0)
        assert np.all(priorities[len(buffer) :] == 0)
        assert buffer.max_priority >= priorities.max() - 1e-12
        assert buffer.tree.total == pytest.approx(priorities.sum())


# --------------------------------------------------------- uniform buffer
def test_uniform_buffer_has_the_same_interface_and_unit_weights():
    buffer = fill(ReplayBuffer(50, obs_shape=(2,), seed=0), 50)
    batch = buffer.sample(10, beta=0.4)
    assert isinstance(batch, Batch) and np.all(batch.weights == 1.0)
    buffer.update_priorities(batch.indices, np.ones(10))  # accepted, changes nothing
    counts = np.bincount(
        np.concatenate([buffer.sample(50).indices for _ in range(400)]), minlength=50
    )
    chi_square = np.sum((counts - 400) ** 2 / 400)
    assert chi_square < 85.35  # 99.9 % quantile, 49 degrees of freedom


# -------------------------------------------------------------- bad input
@pytest.mark.parametrize("buffer_class", [PrioritizedReplayBuffer, ReplayBuffer])
@pytest.mark.parametrize(
    "batch_size, error, match",
    [(11, ValueError, "holding 10"), (0, ValueError, ">= 1"), (2.0, TypeError, "int"), (True, TypeError, "int")],
)
def test_bad_batch_size_raises_and_changes_nothing(buffer_class, batch_size, error, match):
    buffer = fill(buffer_class(16, obs_shape=(2,), seed=0), 10)
    state = snapshot(buffer)
    with pytest.raises(error, match=match):
        buffer.sample(batch_size)
    assert_same_state(buffer, state)


def test_sampling_an_empty_buffer_is_refused():
    with pytest.raises(ValueError, match="holding 0"):
        PrioritizedReplayBuffer(8, obs_shape=(2,)).sample(1)


@pytest.mark.parametrize(
    "transition, error, match",
    [
        ((np.zeros(3), 0, 0.0, np.zeros(2), False), ValueError, "obs must have shape"),
        ((np.zeros(2), 0, 0.0, np.zeros((2, 1)), False), ValueError, "next_obs must have shape"),
        ((np.zeros(2), 1.5, 0.0, np.zeros(2), False), TypeError, "action"),
        ((np.zeros(2), -1, 0.0, np.zeros(2), False), ValueError, "action"),
        ((np.zeros(2), 0, np.nan, np.zeros(2), False), ValueError, "reward"),
        ((np.zeros(2), 0, 0.0, np.zeros(2), 2), ValueError, "done"),
    ],
)
def test_bad_transition_raises_and_changes_nothing(transition, error, match):
    buffer = fill(PrioritizedReplayBuffer(8, obs_shape=(2,), seed=0), 3)
    state = snapshot(buffer)
    with pytest.raises(error, match=match):
        buffer.add(*transition)
    assert_same_state(buffer, state)


def test_bad_priority_updates_raise_and_change_nothing():
    buffer = fill(PrioritizedReplayBuffer(32, obs_shape=(2,), seed=0), 32)
    batch = buffer.sample(4, beta=0.4)
    state = snapshot(buffer)
    not_sampled = np.setdiff1d(np.arange(32), batch.indices)[:4]
    for indices, errors, match in [
        (batch.indices, [1.0, np.nan, 1.0, 1.0], "finite"),
        (batch.indices, [1.0, 1.0, np.inf, 1.0], "finite"),
        (batch.indices, [1.0, 1.0], "differ in length"),
        (not_sampled, np.ones(4), "last sample"),
        ([0, 1, 2, 40], np.ones(4), "out of range"),
    ]:
        with pytest.raises(ValueError, match=match):
            buffer.update_priorities(indices, errors)
        assert_same_state(buffer, state)


def test_indices_of_an_older_sample_or_of_overwritten_slots_are_refused():
    buffer = fill(PrioritizedReplayBuffer(8, obs_shape=(1,), seed=0), 8)
    old = buffer.sample(8, beta=0.4)
    buffer.sample(1, beta=0.4)
    with pytest.raises(ValueError, match="last sample"):
        buffer.update_priorities(old.indices, np.ones(8))
    batch = buffer.sample(8, beta=0.4)
    fill(buffer, 1)  # overwrites slot 0, which the batch holds
    with pytest.raises(ValueError, match="last sample"):
        buffer.update_priorities(batch.indices, np.ones(8))


@pytest.mark.parametrize(
    "kwargs, error",
    [
        (dict(capacity=0, obs_shape=(2,)), ValueError),
        (dict(capacity=4.0, obs_shape=(2,)), TypeError),
        (dict(capacity=4, obs_shape=(0,)), ValueError),
        (dict(capacity=4, obs_shape=(2,), alpha=-0.1), ValueError),
        (dict(capacity=4, obs_shape=(2,), eps=0.0), ValueError),
    ],
)
def test_bad_constructor_arguments_are_refused(kwargs, error):
    with pytest.raises(error):
        PrioritizedReplayBuffer(**kwargs)


def test_bad_beta_is_refused():
    buffer = fill(PrioritizedReplayBuffer(8, obs_shape=(1,), seed=0), 8)
    with pytest.raises(ValueError, match="beta"):
        buffer.sample(2, beta=1.5)


# ------------------------------------------------ normalised by the batch or the buffer
def test_buffer_normalised_weights_of_the_hand_checked_batch():
    """P = 1/8, 1/8, 2/8, 4/8 (the module docstring), beta = 1: a batch of the two likely
    transitions gets 1, 0.5 divided by its own max, but (P / P_min)^-1 = 0.5, 0.25 divided
    by the buffer's largest weight, that of P_min = 1/8."""
    batch = [2 / 8, 4 / 8]
    assert importance_weights(batch, 4, 1.0).tolist() == [1.0, 0.5]
    assert importance_weights(batch, 4, 1.0, "buffer", 1 / 8).tolist() == [0.5, 0.25]


@settings(max_examples=100, deadline=None)
@given(probabilities=st.lists(st.floats(1e-4, 1.0), min_size=2, max_size=30),
       beta=st.floats(0.0, 1.0))
def test_property_buffer_normalised_update_is_proportional_to_the_uniform_one_at_beta_1(
        probabilities, beta):
    """E_{i~P}[w_i g_i] with w = (P_i / P_min)^-beta: at beta = 1 it is N P_min times the
    uniform mean for every g (the normaliser is one number); the batch-max weights of a whole
    buffer equal the buffer-max ones."""
    P = np.array(probabilities) / np.sum(probabilities)
    N, smallest = P.size, P.min()
    weights = importance_weights(P, N, beta, "buffer", smallest).astype(float)
    assert np.allclose(weights, importance_weights(P, N, beta), rtol=1e-6)
    g = np.random.default_rng(0).normal(size=(5, N))
    if beta == 1.0:
        expected_update = (P * importance_weights(P, N, 1.0, "buffer", smallest) * g).sum(axis=1)
        assert np.allclose(expected_update, N * smallest * g.mean(axis=1), rtol=1e-5, atol=1e-9)


def test_batch_max_biases_the_expected_update_where_the_buffer_max_does_not():
    """Every batch of two independent draws from three transitions, enumerated: at beta = 1
    E[mean(w g)] / E[mean(w)] is the uniform mean of g with the buffer max, not with the
    batch max (which scales a batch holding the rare transition down by more)."""
    P = np.array([0.5, 0.25, 0.25])
    g = np.array([0.0, 0.0, 1.0])  # the uniform mean is 1/3
    sums = {"batch": np.zeros(2), "buffer": np.zeros(2)}  # E[Σ w g], E[Σ w]
    for i in range(3):
        for j in range(3):
            pair, chance = np.array([i, j]), P[i] * P[j]
            for normalise, smallest in (("batch", None), ("buffer", P.min())):
                w = importance_weights(P[pair], 3, 1.0, normalise, smallest).astype(float)
                sums[normalise] += chance * np.array([(w * g[pair]).sum(), w.sum()])
    # By hand, buffer max: w = P_min / P = 1/2, 1, 1, so E[Σwg] = 2 (1/4) = 1/2 and
    # E[Σw] = 2 (1/4 + 1/4 + 1/4) = 3/2: the ratio is 1/3, the uniform mean.
    assert sums["buffer"] == pytest.approx([1 / 2, 3 / 2])
    # Batch max: w = 1 for both members of every pair except (0, 1), (1, 0), (0, 2), (2, 0)
    # (chance 1/8 each), where transition 0 gets 1/2.  E[Σwg] = 2/8 + 2/16 + 2/16 = 1/2,
    # E[Σw] = 2 - 4 (1/8)(1/2) = 7/4: the ratio is 2/7, not 1/3.
    assert sums["batch"] == pytest.approx([1 / 2, 7 / 4])


@pytest.mark.parametrize("beta", [0.0, 0.4, 1.0])
def test_buffer_normalised_sample_divides_by_the_smallest_priority_stored(beta):
    """Reference (a scan of the stored priorities) against the buffer's cached minimum, while
    priorities change, transitions are overwritten and the smallest is replaced."""
    rng = np.random.default_rng(4)
    buffer = fill(PrioritizedReplayBuffer(64, obs_shape=(1,), seed=4, normalise="buffer"), 40)
    for step in range(300):
        if step % 3 == 0:
            fill(buffer, 1, start=step)
        batch = buffer.sample(16, beta=beta)
        stored = buffer.tree.priorities[: len(buffer)]
        P = buffer.tree[batch.indices] / buffer.tree.total
        reference = importance_weights(P, len(buffer), beta, "buffer",
                                       stored.min() / buffer.tree.total)
        assert np.allclose(batch.weights, reference, rtol=1e-5)
        assert batch.weights.max() <= 1.0
        errors = rng.exponential(size=16) * (step % 7 != 0)  # now and then all near zero
        buffer.update_priorities(batch.indices, errors)


def test_both_normalisers_draw_the_same_batches_and_differ_by_one_factor_per_batch():
    rng = np.random.default_rng(6)
    batch_max = fill(PrioritizedReplayBuffer(64, obs_shape=(1,), seed=6), 50)
    buffer_max = fill(PrioritizedReplayBuffer(64, obs_shape=(1,), seed=6, normalise="buffer"), 50)
    for _ in range(20):
        a, b = batch_max.sample(8, beta=0.8), buffer_max.sample(8, beta=0.8)
        assert np.array_equal(a.indices, b.indices)
        factor = a.weights / b.weights
        assert np.allclose(factor, factor[0], rtol=1e-5) and factor[0] >= 1.0
        errors = rng.uniform(0, 3, 8)
        batch_max.update_priorities(a.indices, errors)
        buffer_max.update_priorities(b.indices, errors)


@pytest.mark.parametrize("normalise", ["batch", "buffer"])
def test_state_dict_round_trip_keeps_buffer_normalised_weights(normalise):
    rng = np.random.default_rng(8)
    source = fill(PrioritizedReplayBuffer(32, obs_shape=(1,), seed=8, normalise=normalise), 30)
    for _ in range(5):
        batch = source.sample(8, beta=0.6)
        source.update_priorities(batch.indices, rng.uniform(0, 2, 8))
    copy = PrioritizedReplayBuffer(32, obs_shape=(1,), seed=0, normalise=normalise)
    copy.load_state_dict(source.state_dict())
    a, b = source.sample(8, beta=0.6), copy.sample(8, beta=0.6)
    assert np.array_equal(a.indices, b.indices) and np.array_equal(a.weights, b.weights)


# ------------------------------------------- the buffer's fast IS weights
@settings(max_examples=100, deadline=None)
@given(
    priorities=st.lists(st.floats(1e-6, 1e3), min_size=1, max_size=64),
    beta=st.floats(0.0, 1.0),
    size=st.integers(1, 10**6),
)
def test_property_weights_from_priorities_equal_importance_weights(priorities, beta, size):
    """sample() computes (min p / p_i) ** beta; it is importance_weights of P = p / sum(p)."""
    from noisy_helpers.replay import _importance_weights_of_priorities

    p = np.array(priorities)
    fast = _importance_weights_of_priorities(p, beta)
    assert fast.dtype == np.float32 and fast.max() == 1.0
    assert np.allclose(fast, importance_weights(p / p.sum(), size, beta), rtol=1e-6, atol=0)


def test_weights_of_a_large_buffer_match_importance_weights():
    buffer = fill(PrioritizedReplayBuffer(4096, obs_shape=(1,), seed=3), 3000)
    rng = np.random.default_rng(0)
    for _ in range(5):
        batch = buffer.sample(64, beta=0.6)
        probabilities = buffer.tree[batch.indices] / buffer.tree.total
        assert np.allclose(batch.weights, importance_weights(probabilities, 3000, 0.6), rtol=1e-6)
        assert batch.weights.max() == 1.0
        buffer.update_priorities(batch.indices, rng.uniform(0, 2, 64))


def test_update_priorities_with_no_indices_is_accepted_after_a_sample():
    buffer = fill(PrioritizedReplayBuffer(8, obs_shape=(1,), seed=0), 8)
    buffer.sample(4, beta=0.4)
    before = buffer.tree.priorities.copy()
    buffer.update_priorities(np.array([], dtype=np.int64), np.array([]))
    assert np.array_equal(buffer.tree.priorities, before)
    assert buffer.sample(4, beta=0.4).indices.size == 4


def test_any_of_the_last_sampled_indices_in_any_order_or_form_are_accepted():
    """Not only the batch's own array: a reversed list of some of its indices works too."""
    buffer = fill(PrioritizedReplayBuffer(16, obs_shape=(1,), seed=0), 16)
    batch = buffer.sample(4, beta=0.4)
    some = [int(i) for i in batch.indices[:3]][::-1]
    buffer.update_priorities(some, [2.0, 3.0, 4.0])
    for slot, error in zip(some, [2.0, 3.0, 4.0]):
        assert np.isclose(buffer.tree[slot], (error + buffer.eps) ** buffer.alpha)


def test_batch_indices_changed_by_the_caller_before_the_update_are_checked_again():
    buffer = fill(PrioritizedReplayBuffer(16, obs_shape=(1,), seed=0), 16)
    batch = buffer.sample(4, beta=0.4)
    batch.indices[0] = np.setdiff1d(np.arange(16), batch.indices)[0]  # not sampled
    state = snapshot(buffer)
    with pytest.raises(ValueError, match="last sample"):
        buffer.update_priorities(batch.indices, np.ones(4))
    assert_same_state(buffer, state)


def test_an_add_after_the_sample_refuses_only_indices_of_the_slot_it_overwrote():
    """Capacity 8, full: the next add overwrites slot 0.  A batch without slot 0 is still
    accepted after that add; a batch with slot 0 is not."""
    for with_slot_0 in (False, True):
        buffer = fill(PrioritizedReplayBuffer(8, obs_shape=(1,), seed=0), 8)
        buffer.tree.update(0, 1.0 if with_slot_0 else 0.0)  # slot 0 sampled or never
        batch = buffer.sample(8 if with_slot_0 else 7, beta=0.4)
        assert (0 in batch.indices) == with_slot_0
        fill(buffer, 1, start=8)  # overwrites slot 0
        if with_slot_0:
            with pytest.raises(ValueError, match="last sample"):
                buffer.update_priorities(batch.indices, np.ones(batch.indices.size))
        else:
            buffer.update_priorities(batch.indices, np.full(batch.indices.size, 3.0))
            assert np.isclose(buffer.tree[int(batch.indices[0])], (3.0 + buffer.eps) ** 0.6)


def test_stale_index_among_fresh_ones_is_refused_and_changes_nothing():
    buffer = fill(PrioritizedReplayBuffer(16, obs_shape=(1,), seed=0), 16)
    buffer.sample(8, beta=0.4)
    new = buffer.sample(4, beta=0.4)
    mixed = new.indices.copy()
    mixed[-1] = np.setdiff1d(np.arange(16), new.indices)[0]  # not in the last sample
    state = snapshot(buffer)
    with pytest.raises(ValueError, match="last sample"):
        buffer.update_priorities(mixed, np.ones(4))
    assert_same_state(buffer, state)
    buffer.update_priorities(new.indices, np.ones(4))  # the fresh ones are fine


def test_update_priorities_refuses_a_negative_index_array():
    buffer = fill(PrioritizedReplayBuffer(16, obs_shape=(1,), seed=0), 16)
    batch = buffer.sample(4, beta=0.4)
    bad = batch.indices.copy()
    bad[0] = -1
    state = snapshot(buffer)
    with pytest.raises(ValueError, match="out of range"):
        buffer.update_priorities(bad, np.ones(4))
    assert_same_state(buffer, state)


# ----------------------------------------------------------------- checkpoints
def _filled(buffer_type, seed=0, n=50, **kwargs):
    buffer = buffer_type(100, (4,), seed=seed, **kwargs)
    for i in range(n):
        buffer.add(np.full(4, i, np.float32), i % 2, float(i), np.full(4, i + 1, np.float32),
                   i % 7 == 0)
    return buffer


@pytest.mark.parametrize("buffer_type", [ReplayBuffer, PrioritizedReplayBuffer])
def test_state_dict_round_trip_continues_identically(buffer_type, tmp_path):
    buffer = _filled(buffer_type)
    batch = buffer.sample(8, 0.5)
    buffer.update_priorities(batch.indices, np.arange(8.0))
    np.savez(tmp_path / "replay.npz", **buffer.state_dict())
    restored = buffer_type(100, (4,), seed=123)
    with np.load(tmp_path / "replay.npz", allow_pickle=False) as arrays:
        restored.load_state_dict(dict(arrays))
    assert len(restored) == len(buffer)
    a, b = buffer.sample(16, 0.7), restored.sample(16, 0.7)
    for field in Batch._fields:
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    slot_a = buffer.add(np.zeros(4), 1, 0.0, np.zeros(4), False)
    slot_b = restored.add(np.zeros(4), 1, 0.0, np.zeros(4), False)
    assert slot_a == slot_b


def test_loaded_prioritized_buffer_needs_a_fresh_sample_before_updates():
    buffer = _filled(PrioritizedReplayBuffer)
    batch = buffer.sample(4, 0.4)
    restored = PrioritizedReplayBuffer(100, (4,), seed=0)
    restored.load_state_dict(buffer.state_dict())
    with pytest.raises(ValueError, match="last sample"):
        restored.update_priorities(batch.indices, np.ones(4))


@pytest.mark.parametrize("change, match", [
    (dict(obs=np.zeros((100, 3), np.float32)), "obs"),
    (dict(actions=np.zeros(100, np.float32)), "actions"),
    (dict(size=np.int64(500)), "size"),
    (dict(priorities=np.full(100, np.nan)), "priorities"),
])
def test_load_state_dict_refuses_a_mismatched_state_and_changes_nothing(change, match):
    source = _filled(PrioritizedReplayBuffer).state_dict()
    source.update(change)
    target = _filled(PrioritizedReplayBuffer, seed=5, n=10)
    before = target.state_dict()
    before = {k: np.array(v, copy=True) for k, v in before.items()}
    with pytest.raises(ValueError, match=match):
        target.load_state_dict(source)
    for key, value in target.state_dict().items():
        np.testing.assert_array_equal(value, before[key])


# ------------------------------------------------ bad input: the whole table
# Every public entry point, fed a bad argument, raises TypeError or ValueError naming that
# argument, and the object's whole state (storage, counters, queue, tree, RNG) is exactly
# as before.  The buffers are full (an add overwrites a live slot) and just sampled from.
from state import assert_unchanged as assert_deep_unchanged  # noqa: E402
from state import assert_refused_unchanged  # noqa: E402
from state import snapshot as deep_snapshot  # noqa: E402

from noisy_helpers.replay import _check_transition  # noqa: E402


def full_prioritized(**kwargs):
    """Capacity 8, wrapped around (11 adds), n_actions 3, then sampled from."""
    buffer = fill(PrioritizedReplayBuffer(8, obs_shape=(2,), seed=0, n_actions=3, **kwargs), 11)
    buffer.sample(4, beta=0.4)
    return buffer


def full_uniform():
    buffer = fill(ReplayBuffer(8, obs_shape=(2,), seed=0, n_actions=3), 11)
    buffer.sample(4)
    return buffer


def full_uint8():
    return fill(PrioritizedReplayBuffer(8, obs_shape=(2,), obs_dtype=np.uint8, seed=0), 11)


def unbounded():
    """No n_actions: actions must still fit the int64 array."""
    return fill(PrioritizedReplayBuffer(8, obs_shape=(2,), seed=0), 11)


def half_full():
    return fill(PrioritizedReplayBuffer(8, obs_shape=(2,), seed=0, n_actions=3), 5)


Z = np.zeros(2, np.float32)


def adding(obs=Z, action=0, reward=0.0, next_obs=Z, done=False, truncated=False):
    return lambda buffer: buffer.add(obs, action, reward, next_obs, done, truncated)


def last_sample_indices(buffer):
    return buffer._last_indices.copy()


def updating(td_errors=None, indices=None):
    def call(buffer):
        slots = last_sample_indices(buffer) if indices is None else indices
        errors = np.ones(len(slots)) if td_errors is None else td_errors
        buffer.update_priorities(slots, errors)
    return call


def state_of(make=full_prioritized):
    return {key: np.array(value, copy=True) for key, value in make().state_dict().items()}


def corrupted(change, make=full_prioritized, drop=()):
    """A copy of ``make()``'s state with ``change`` applied (a dict of new entries) and the
    keys ``drop`` removed."""
    state = state_of(make)
    for key in drop:
        del state[key]
    state.update(change)
    return state


def loading(state):
    return lambda buffer: buffer.load_state_dict(state)


def checking(state):
    return lambda buffer: buffer.check_state_dict(state)


STATE_KEYS = ["obs", "next_obs", "actions", "rewards", "dones", "cursor", "size", "rng_state",
              "priorities", "max_priority"]
rng_state = json.loads(str(state_of()["rng_state"]))
BAD_STATES = [(f"missing-{key}", corrupted({}, drop=[key]), ValueError, f"missing.*{key}")
              for key in STATE_KEYS] + [
    ("obs-wrong-shape", corrupted(dict(obs=np.zeros((8, 3), np.float32))), ValueError, "'obs'"),
    ("obs-wrong-dtype", corrupted(dict(obs=np.zeros((8, 2), np.float64))), ValueError, "'obs'"),
    ("obs-nan", corrupted(dict(obs=np.full((8, 2), np.nan, np.float32))), ValueError,
     "'obs' must be finite"),
    ("next-obs-inf", corrupted(dict(next_obs=np.full((8, 2), np.inf, np.float32))), ValueError,
     "'next_obs' must be finite"),
    ("actions-float", corrupted(dict(actions=np.zeros(8, np.float32))), ValueError, "'actions'"),
    ("actions-negative", corrupted(dict(actions=np.full(8, -1))), ValueError, "'actions'"),
    ("actions-beyond-n-actions", corrupted(dict(actions=np.full(8, 3))), ValueError,
     r"'actions' must be in \[0, 3\)"),
    ("rewards-nan", corrupted(dict(rewards=np.full(8, np.nan, np.float32))), ValueError,
     "'rewards' must be finite"),
    ("rewards-inf", corrupted(dict(rewards=np.full(8, -np.inf, np.float32))), ValueError,
     "'rewards' must be finite"),
    ("dones-2", corrupted(dict(dones=np.full(8, 2.0, np.float32))), ValueError, "'dones'"),
    ("dones-nan", corrupted(dict(dones=np.full(8, np.nan, np.float32))), ValueError, "'dones'"),
    ("size-beyond-capacity", corrupted(dict(size=np.int64(500))), ValueError, "size 500"),
    ("size-negative", corrupted(dict(size=np.int64(-1))), ValueError, "size -1"),
    ("size-float", corrupted(dict(size=np.float64(8))), ValueError, "'size'"),
    ("cursor-beyond-capacity", corrupted(dict(cursor=np.int64(8))), ValueError, "cursor 8"),
    ("cursor-not-size-before-wrap", corrupted(dict(cursor=np.int64(2)), half_full), ValueError,
     "cursor 2 and size 5"),
    ("priorities-nan", corrupted(dict(priorities=np.full(8, np.nan))), ValueError,
     "'priorities' must be finite"),
    ("priorities-inf", corrupted(dict(priorities=np.full(8, np.inf))), ValueError,
     "'priorities' must be finite"),
    ("priorities-negative", corrupted(dict(priorities=-np.ones(8))), ValueError,
     "'priorities' must be finite and >= 0"),
    ("priorities-all-zero", corrupted(dict(priorities=np.zeros(8))), ValueError,
     "'priorities' are all 0 while size=8"),
    ("priorities-overflow", corrupted(dict(priorities=np.full(8, 1e308))), ValueError,
     "'priorities' sum to inf"),
    ("priorities-beyond-size", corrupted(dict(priorities=np.ones(8)), half_full), ValueError,
     "'priorities' must be 0 from slot size=5"),
    ("priorities-wrong-shape", corrupted(dict(priorities=np.ones(9))), ValueError,
     "'priorities'"),
    ("max-priority-inf", corrupted(dict(max_priority=np.float64(np.inf))), ValueError,
     "'max_priority'"),
    ("max-priority-nan", corrupted(dict(max_priority=np.float64(np.nan))), ValueError,
     "'max_priority'"),
    ("max-priority-zero", corrupted(dict(max_priority=np.float64(0.0))), ValueError,
     "'max_priority'"),
    ("rng-state-empty-json", corrupted(dict(rng_state=np.array("{}"))), ValueError,
     "'rng_state'"),
    ("rng-state-not-json", corrupted(dict(rng_state=np.array("not json"))), ValueError,
     "'rng_state'"),
    ("rng-state-other-generator", corrupted(dict(rng_state=np.array(json.dumps(
        dict(rng_state, bit_generator="MT19937"))))), ValueError, "'rng_state'"),
    ("rng-state-bad-number", corrupted(dict(rng_state=np.array(json.dumps(
        dict(rng_state, state=dict(state="x", inc=1)))))), ValueError, "'rng_state'"),
    ("rng-state-not-a-string", corrupted(dict(rng_state=np.zeros(3))), ValueError,
     "'rng_state'"),
]

BAD_REPLAY_INPUTS = [
    # the IS weights' normaliser
    ("init-normalise-capitalised", full_prioritized,
     lambda b: PrioritizedReplayBuffer(4, (2,), normalise="Buffer"), ValueError, "normalise"),
    ("init-normalise-none", full_prioritized,
     lambda b: PrioritizedReplayBuffer(4, (2,), normalise=None), TypeError, "normalise"),
    ("init-normalise-bool", full_prioritized,
     lambda b: PrioritizedReplayBuffer(4, (2,), normalise=True), TypeError, "normalise"),
    ("weights-normalise-max", lambda: np.array([0.5]),
     lambda p: importance_weights(p, 4, 0.5, normalise="max"), ValueError, "normalise"),
    ("weights-buffer-without-smallest", lambda: np.array([0.5]),
     lambda p: importance_weights(p, 4, 0.5, normalise="buffer"), ValueError,
     "smallest_probability"),
    ("weights-batch-with-smallest", lambda: np.array([0.5]),
     lambda p: importance_weights(p, 4, 0.5, smallest_probability=0.1), ValueError,
     "smallest_probability"),
    ("weights-smallest-above-the-batch-min", lambda: np.array([0.5, 0.2]),
     lambda p: importance_weights(p, 4, 0.5, "buffer", 0.3), ValueError,
     "smallest_probability"),
    ("weights-smallest-zero", lambda: np.array([0.5]),
     lambda p: importance_weights(p, 4, 0.5, "buffer", 0.0), ValueError, "smallest_probability"),
    ("weights-smallest-nan", lambda: np.array([0.5]),
     lambda p: importance_weights(p, 4, 0.5, "buffer", np.nan), ValueError,
     "smallest_probability"),
    ("weights-smallest-str", lambda: np.array([0.5]),
     lambda p: importance_weights(p, 4, 0.5, "buffer", "0.1"), TypeError,
     "smallest_probability"),
    # constructors
    ("init-capacity-0", full_prioritized, lambda b: PrioritizedReplayBuffer(0, (2,)), ValueError,
     "capacity"),
    ("init-capacity-float", full_prioritized, lambda b: PrioritizedReplayBuffer(4.0, (2,)),
     TypeError, "capacity"),
    ("init-capacity-bool", full_uniform, lambda b: ReplayBuffer(True, (2,)), TypeError,
     "capacity"),
    ("init-capacity-str", full_uniform, lambda b: ReplayBuffer("4", (2,)), TypeError, "capacity"),
    ("init-capacity-too-big", full_prioritized, lambda b: PrioritizedReplayBuffer(2**33, (4,)),
     ValueError, r"capacity=8589934592 needs [\d,]+ bytes"),
    ("init-capacity-too-big-uniform", full_uniform,
     lambda b: ReplayBuffer(2**40, (84, 84), np.uint8), ValueError, "capacity=.* bytes"),
    ("init-obs-shape-0", full_uniform, lambda b: ReplayBuffer(4, (0,)), ValueError, "obs_shape"),
    ("init-obs-shape-float", full_uniform, lambda b: ReplayBuffer(4, (2.5,)), TypeError,
     "obs_shape"),
    ("init-obs-shape-str", full_uniform, lambda b: ReplayBuffer(4, "ab"), TypeError, "obs_shape"),
    ("init-obs-shape-none", full_uniform, lambda b: ReplayBuffer(4, None), TypeError,
     "obs_shape"),
    ("init-obs-shape-bool", full_uniform, lambda b: ReplayBuffer(4, (True,)), TypeError,
     "obs_shape"),
    ("init-obs-dtype-object", full_uniform, lambda b: ReplayBuffer(4, (2,), object), TypeError,
     "obs_dtype"),
    ("init-obs-dtype-str", full_uniform, lambda b: ReplayBuffer(4, (2,), str), TypeError,
     "obs_dtype"),
    ("init-obs-dtype-complex", full_uniform, lambda b: ReplayBuffer(4, (2,), np.complex64),
     TypeError, "obs_dtype"),
    ("init-obs-dtype-garbage", full_uniform, lambda b: ReplayBuffer(4, (2,), "foo"), TypeError,
     "obs_dtype"),
    ("init-alpha-nan", full_prioritized,
     lambda b: PrioritizedReplayBuffer(4, (2,), alpha=np.nan), ValueError, "alpha"),
    ("init-alpha-inf", full_prioritized,
     lambda b: PrioritizedReplayBuffer(4, (2,), alpha=np.inf), ValueError, "alpha"),
    ("init-alpha-negative", full_prioritized,
     lambda b: PrioritizedReplayBuffer(4, (2,), alpha=-0.1), ValueError, "alpha"),
    ("init-alpha-bool", full_prioritized,
     lambda b: PrioritizedReplayBuffer(4, (2,), alpha=True), TypeError, "alpha"),
    ("init-alpha-str", full_prioritized,
     lambda b: PrioritizedReplayBuffer(4, (2,), alpha="0.6"), TypeError, "alpha"),
    ("init-eps-zero", full_prioritized, lambda b: PrioritizedReplayBuffer(4, (2,), eps=0.0),
     ValueError, "eps"),
    ("init-eps-nan", full_prioritized, lambda b: PrioritizedReplayBuffer(4, (2,), eps=np.nan),
     ValueError, "eps"),
    ("init-eps-negative", full_prioritized, lambda b: PrioritizedReplayBuffer(4, (2,), eps=-1),
     ValueError, "eps"),
    ("init-eps-none", full_prioritized, lambda b: PrioritizedReplayBuffer(4, (2,), eps=None),
     TypeError, "eps"),
    ("init-seed-negative", full_prioritized, lambda b: PrioritizedReplayBuffer(4, (2,), seed=-1),
     ValueError, "seed"),
    ("init-seed-float", full_uniform, lambda b: ReplayBuffer(4, (2,), seed=1.5), TypeError,
     "seed"),
    ("init-seed-str", full_uniform, lambda b: ReplayBuffer(4, (2,), seed="x"), TypeError, "seed"),
    ("init-seed-bool", full_uniform, lambda b: ReplayBuffer(4, (2,), seed=True), TypeError,
     "seed"),
    ("init-n-actions-0", full_uniform, lambda b: ReplayBuffer(4, (2,), n_actions=0), ValueError,
     "n_actions"),
    ("init-n-actions-float", full_prioritized,
     lambda b: PrioritizedReplayBuffer(4, (2,), n_actions=1.5), TypeError, "n_actions"),
    ("init-n-actions-bool", full_uniform, lambda b: ReplayBuffer(4, (2,), n_actions=True),
     TypeError, "n_actions"),
    ("init-n-actions-2**70", full_uniform, lambda b: ReplayBuffer(4, (2,), n_actions=2**70),
     ValueError, "n_actions"),
    # add, on full buffers (an add overwrites a live slot)
    ("add-obs-nan", full_prioritized, adding(obs=np.array([np.nan, 0], np.float32)), ValueError,
     "obs must be finite"),
    ("add-obs-inf", full_prioritized, adding(obs=np.array([0, np.inf], np.float32)), ValueError,
     "obs must be finite"),
    ("add-obs-minus-inf-2d", lambda: fill(ReplayBuffer(4, (2, 2), seed=0), 5),
     adding(obs=np.full((2, 2), -np.inf, np.float32), next_obs=np.zeros((2, 2), np.float32)),
     ValueError, "obs must be finite"),
    ("add-obs-1e300-float64", full_prioritized, adding(obs=np.array([1e300, 0.0])), ValueError,
     "obs must be finite and fit float32, got 1e\\+300"),
    ("add-obs-list-nan", full_uniform, adding(obs=[0.0, float("nan")]), ValueError, "obs"),
    ("add-next-obs-nan", full_prioritized, adding(next_obs=np.array([np.nan, 0], np.float32)),
     ValueError, "next_obs must be finite"),
    ("add-next-obs-inf-float64", full_uniform, adding(next_obs=np.array([np.inf, 0])),
     ValueError, "next_obs must be finite"),
    ("add-next-obs-wrong-shape", full_prioritized, adding(next_obs=np.zeros(3, np.float32)),
     ValueError, "next_obs must have shape"),
    ("add-obs-wrong-shape", full_prioritized, adding(obs=np.zeros((2, 1), np.float32)),
     ValueError, "obs must have shape"),
    ("add-obs-str", full_prioritized, adding(obs=np.array(["a", "b"])), TypeError, "obs"),
    ("add-next-obs-str", full_prioritized, adding(next_obs=["a", "b"]), TypeError, "next_obs"),
    ("add-obs-object", full_uniform, adding(obs=np.array([None, 1], dtype=object)), TypeError,
     "obs"),
    ("add-obs-none", full_uniform, adding(obs=None), ValueError, "obs must have shape"),
    ("add-obs-ragged", full_prioritized, adding(obs=[[1, 2], [3]]), TypeError, "obs"),
    ("add-obs-complex", full_prioritized, adding(obs=np.zeros(2, np.complex64)), TypeError,
     "obs"),
    ("add-uint8-obs-300", full_uint8, adding(obs=np.array([300, 0]), next_obs=np.zeros(2, np.uint8)),
     ValueError, "obs must hold values that fit uint8, got 300"),
    ("add-uint8-next-obs-negative", full_uint8,
     adding(obs=np.zeros(2, np.uint8), next_obs=np.array([-1, 0])), ValueError, "next_obs"),
    ("add-uint8-obs-fraction", full_uint8,
     adding(obs=np.array([1.5, 0.0]), next_obs=np.zeros(2, np.uint8)), ValueError,
     "obs must hold values that fit uint8, got 1.5"),
    ("add-uint8-obs-nan", full_uint8,
     adding(obs=np.array([np.nan, 0.0]), next_obs=np.zeros(2, np.uint8)), ValueError, "obs"),
    ("add-action-n-actions", full_prioritized, adding(action=3), ValueError, "action must be < 3"),
    ("add-action-10**6", full_uniform, adding(action=10**6), ValueError, "action must be < 3"),
    ("add-action-2**70", unbounded, adding(action=2**70), ValueError, "action must be <"),
    ("add-action-2**63", unbounded, adding(action=2**63), ValueError, "action must be <"),
    ("add-action-uint64-max", unbounded, adding(action=np.uint64(2**64 - 1)), ValueError,
     "action"),
    ("add-action-negative", full_prioritized, adding(action=-1), ValueError, "action must be >= 0"),
    ("add-action-float", full_prioritized, adding(action=1.5), TypeError, "action must be an int"),
    ("add-action-float-integral", full_uniform, adding(action=1.0), TypeError, "action"),
    ("add-action-bool", full_prioritized, adding(action=True), TypeError, "action"),
    ("add-action-str", full_uniform, adding(action="0"), TypeError, "action"),
    ("add-action-none", full_uniform, adding(action=None), TypeError, "action"),
    ("add-reward-nan", full_prioritized, adding(reward=np.nan), ValueError, "reward"),
    ("add-reward-inf", full_prioritized, adding(reward=np.inf), ValueError, "reward"),
    ("add-reward-minus-inf", full_uniform, adding(reward=-np.inf), ValueError, "reward"),
    ("add-reward-1e300", full_prioritized, adding(reward=1e300), ValueError,
     "reward must be finite and fit float32"),
    ("add-reward-huge-int", full_uniform, adding(reward=10**400), ValueError, "reward"),
    ("add-reward-str", full_prioritized, adding(reward="1"), TypeError, "reward"),
    ("add-reward-none", full_uniform, adding(reward=None), TypeError, "reward"),
    ("add-reward-bool", full_prioritized, adding(reward=True), TypeError, "reward"),
    ("add-reward-array", full_prioritized, adding(reward=np.ones(2)), TypeError, "reward"),
    ("add-done-2", full_prioritized, adding(done=2), ValueError, "done"),
    ("add-done-str", full_uniform, adding(done="yes"), ValueError, "done"),
    ("add-done-none", full_uniform, adding(done=None), ValueError, "done"),
    ("add-truncated-2", full_prioritized, adding(truncated=2), ValueError, "truncated"),
    # sample
    ("sample-too-many", full_prioritized, lambda b: b.sample(9, 0.4), ValueError, "batch_size=9"),
    ("sample-zero", full_prioritized, lambda b: b.sample(0, 0.4), ValueError, "batch_size"),
    ("sample-float", full_uniform, lambda b: b.sample(2.0), TypeError, "batch_size"),
    ("sample-bool", full_prioritized, lambda b: b.sample(True, 0.4), TypeError, "batch_size"),
    ("sample-str", full_uniform, lambda b: b.sample("2"), TypeError, "batch_size"),
    ("sample-none", full_prioritized, lambda b: b.sample(None, 0.4), TypeError, "batch_size"),
    ("sample-empty", lambda: PrioritizedReplayBuffer(8, (2,), seed=0), lambda b: b.sample(1),
     ValueError, "batch_size=1 from a buffer holding 0"),
    ("sample-beta-nan", full_prioritized, lambda b: b.sample(2, np.nan), ValueError, "beta"),
    ("sample-beta-inf", full_prioritized, lambda b: b.sample(2, np.inf), ValueError, "beta"),
    ("sample-beta-above-1", full_prioritized, lambda b: b.sample(2, 1.5), ValueError, "beta"),
    ("sample-beta-negative", full_prioritized, lambda b: b.sample(2, -0.1), ValueError, "beta"),
    ("sample-beta-str", full_prioritized, lambda b: b.sample(2, "0.4"), TypeError, "beta"),
    ("sample-beta-bool", full_prioritized, lambda b: b.sample(2, True), TypeError, "beta"),
    ("sample-beta-none", full_prioritized, lambda b: b.sample(2, None), TypeError, "beta"),
    ("sample-uniform-beta-above-1", full_uniform, lambda b: b.sample(2, 1.5), ValueError, "beta"),
    ("sample-uniform-beta-str", full_uniform, lambda b: b.sample(2, "x"), TypeError, "beta"),
    # update_priorities, right after a sample
    ("update-nan", full_prioritized, updating([1.0, np.nan, 1.0, 1.0]), ValueError,
     "td_errors must be finite"),
    ("update-inf", full_prioritized, updating([1.0, 1.0, np.inf, 1.0]), ValueError, "td_errors"),
    ("update-minus-inf", full_prioritized, updating([-np.inf, 1.0, 1.0, 1.0]), ValueError,
     "td_errors"),
    ("update-overflowing-priority", lambda: full_prioritized(alpha=1.0),
     updating([1e308, 1.0, 1.0, 1.0]), ValueError, "td_errors give priorities up to 1e\\+308"),
    ("update-str", full_prioritized, updating(["1", "1", "1", "1"]), TypeError, "td_errors"),
    ("update-errors-none", full_prioritized,
     lambda b: b.update_priorities(b._last_indices.copy(), None), TypeError, "td_errors"),
    ("update-bool-errors", full_prioritized, updating([True, True, True, True]), TypeError,
     "td_errors"),
    ("update-length", full_prioritized, updating([1.0, 1.0]), ValueError,
     "indices and td_errors differ"),
    ("update-index-out-of-range", full_prioritized, updating(np.ones(4), [0, 1, 2, 40]),
     ValueError, "indices out of range"),
    ("update-index-negative", full_prioritized, updating(np.ones(1), [-1]), ValueError,
     "indices out of range"),
    ("update-index-float", full_prioritized, updating(np.ones(2), [0.5, 1.0]), TypeError,
     "indices"),
    ("update-index-bool", full_prioritized, updating(np.ones(1), [True]), TypeError, "indices"),
    ("update-index-str", full_prioritized, updating(np.ones(1), "0"), TypeError, "indices"),
    ("update-index-stale", full_prioritized, lambda b: b.update_priorities(
        np.setdiff1d(np.arange(8), b._last_indices)[:1], [1.0]), ValueError, "last sample"),
    ("update-uniform-nan", full_uniform, lambda b: b.update_priorities([0, 1], [1.0, np.nan]),
     ValueError, "td_errors"),
    ("update-uniform-str", full_uniform, lambda b: b.update_priorities([0, 1], ["a", "b"]),
     TypeError, "td_errors"),
    ("update-uniform-index-float", full_uniform, lambda b: b.update_priorities([0.5], [1.0]),
     TypeError, "indices"),
    # checkpoints
    ("load-not-a-dict", full_prioritized, lambda b: b.load_state_dict([1, 2]), TypeError,
     "state"),
    ("check-not-a-dict", full_uniform, lambda b: b.check_state_dict(None), TypeError, "state"),
    ("load-uniform-missing-rng", full_uniform,
     loading(corrupted({}, full_uniform, drop=["rng_state"])), ValueError, "rng_state"),
    ("load-uniform-actions-negative", full_uniform,
     loading(corrupted(dict(actions=np.full(8, -5)), full_uniform)), ValueError, "'actions'"),
    ("load-uniform-obs-nan", full_uniform,
     loading(corrupted(dict(obs=np.full((8, 2), np.nan, np.float32)), full_uniform)), ValueError,
     "'obs'"),
] + [(f"load-{name}", full_prioritized, loading(state), error, regex)
     for name, state, error, regex in BAD_STATES] + [
    (f"check-{name}", full_prioritized, checking(state), error, regex)
    for name, state, error, regex in BAD_STATES] + [
    # the pure functions (the object: the probabilities array, which must stay as it was)
    ("weights-probabilities-nan", lambda: np.array([0.5, np.nan]),
     lambda p: importance_weights(p, 4, 0.5), ValueError, "probabilities"),
    ("weights-probabilities-zero", lambda: np.array([0.5, 0.0]),
     lambda p: importance_weights(p, 4, 0.5), ValueError, "probabilities"),
    ("weights-probabilities-above-1", lambda: np.array([0.5, 1.5]),
     lambda p: importance_weights(p, 4, 0.5), ValueError, "probabilities"),
    ("weights-probabilities-str", lambda: np.array([0.5]),
     lambda p: importance_weights(["0.5"], 4, 0.5), TypeError, "probabilities"),
    ("weights-probabilities-none", lambda: np.array([0.5]),
     lambda p: importance_weights(None, 4, 0.5), TypeError, "probabilities"),
    ("weights-probabilities-empty", lambda: np.array([0.5]),
     lambda p: importance_weights([], 4, 0.5), ValueError, "probabilities"),
    ("weights-buffer-size-bool", lambda: np.array([0.5]),
     lambda p: importance_weights(p, True, 0.5), TypeError, "buffer_size"),
    ("weights-buffer-size-0", lambda: np.array([0.5]),
     lambda p: importance_weights(p, 0, 0.5), ValueError, "buffer_size"),
    ("weights-buffer-size-float", lambda: np.array([0.5]),
     lambda p: importance_weights(p, 4.0, 0.5), TypeError, "buffer_size"),
    ("weights-beta-nan", lambda: np.array([0.5]),
     lambda p: importance_weights(p, 4, np.nan), ValueError, "beta"),
    ("weights-beta-bool", lambda: np.array([0.5]),
     lambda p: importance_weights(p, 4, True), TypeError, "beta"),
    ("weights-beta-str", lambda: np.array([0.5]),
     lambda p: importance_weights(p, 4, "0.5"), TypeError, "beta"),
    ("weights-beta-above-1", lambda: np.array([0.5]),
     lambda p: importance_weights(p, 4, 1.5), ValueError, "beta"),
    ("schedule-start-nan", lambda: np.array([0.5]), lambda p: linear_schedule(np.nan, 1.0, 10),
     ValueError, "start"),
    ("schedule-start-str", lambda: np.array([0.5]), lambda p: linear_schedule("0.4", 1.0, 10),
     TypeError, "start"),
    ("schedule-start-bool", lambda: np.array([0.5]), lambda p: linear_schedule(True, 1.0, 10),
     TypeError, "start"),
    ("schedule-end-inf", lambda: np.array([0.5]), lambda p: linear_schedule(0.4, np.inf, 10),
     ValueError, "end"),
    ("schedule-end-none", lambda: np.array([0.5]), lambda p: linear_schedule(0.4, None, 10),
     TypeError, "end"),
    ("schedule-duration-0", lambda: np.array([0.5]), lambda p: linear_schedule(0.4, 1.0, 0),
     ValueError, "duration"),
    ("schedule-duration-float", lambda: np.array([0.5]),
     lambda p: linear_schedule(0.4, 1.0, 10.0), TypeError, "duration"),
    ("schedule-duration-bool", lambda: np.array([0.5]),
     lambda p: linear_schedule(0.4, 1.0, True), TypeError, "duration"),
    ("schedule-step-negative", lambda: np.array([0.5]),
     lambda p: linear_schedule(0.4, 1.0, 10)(-1), ValueError, "step"),
    ("schedule-step-nan", lambda: np.array([0.5]),
     lambda p: linear_schedule(0.4, 1.0, 10)(np.nan), ValueError, "step"),
    ("schedule-step-str", lambda: np.array([0.5]),
     lambda p: linear_schedule(0.4, 1.0, 10)("3"), TypeError, "step"),
    ("schedule-step-bool", lambda: np.array([0.5]),
     lambda p: linear_schedule(0.4, 1.0, 10)(True), TypeError, "step"),
    ("check-transition-action-2**70", lambda: np.array([0.5]),
     lambda p: _check_transition(2**70, 0.0, False), ValueError, "action"),
]


@pytest.mark.parametrize("make, call, error, regex",
                         [pytest.param(*case[1:], id=case[0]) for case in BAD_REPLAY_INPUTS])
def test_bad_input_to_the_replay_buffers_raises_naming_the_argument_and_changes_nothing(
        make, call, error, regex):
    assert_refused_unchanged(make(), call, error, regex)


# ------------------------------------------- good input the checks must not refuse
def test_valid_inputs_of_other_dtypes_are_converted_not_refused():
    buffer = PrioritizedReplayBuffer(8, obs_shape=(2,), seed=0, n_actions=4)
    slot = buffer.add(np.array([0.1, -2.5]), np.int64(3), np.float32(1.5), [1, 2],
                      np.bool_(True), truncated=np.bool_(False))
    assert buffer.obs[slot].tolist() == [np.float32(0.1), -2.5] and buffer.actions[slot] == 3
    buffer.add(np.full(2, 3e38), np.uint8(2), 7, np.zeros(2, np.float16), 0)  # near float32 max
    assert np.isfinite(buffer.obs[1]).all()
    frames = ReplayBuffer(4, obs_shape=(2, 2), obs_dtype=np.uint8, seed=0)
    frame = np.array([[0, 255], [7, 8]], np.uint8)
    slot = frames.add(frame, 0, 0.0, np.array([[1, 2], [255, 0]]), False)  # int64 in range
    assert frames.obs.dtype == np.uint8 and np.array_equal(frames.obs[slot], frame)
    assert frames.next_obs[slot].tolist() == [[1, 2], [255, 0]]
    frames.add(np.array([[1.0, 2.0], [3.0, 4.0]]), 0, 0.0, frame, False)  # integral floats
    assert frames.obs[1].tolist() == [[1, 2], [3, 4]]


def test_a_huge_but_finite_dot_product_does_not_refuse_finite_observations():
    buffer = ReplayBuffer(4, obs_shape=(2,), seed=0)
    big = np.full(2, 3e38, np.float32)  # big · big overflows float32; every value is finite
    buffer.add(big, 0, 0.0, big, False)
    assert np.array_equal(buffer.obs[0], big)


@pytest.mark.parametrize("buffer_type", [ReplayBuffer, PrioritizedReplayBuffer])
def test_checkpoint_round_trip_onto_a_fresh_buffer_gives_an_equal_state(buffer_type):
    buffer = fill(buffer_type(8, obs_shape=(2,), seed=0, n_actions=3), 11)
    batch = buffer.sample(4, beta=0.4)
    buffer.update_priorities(batch.indices, np.arange(4.0))
    state = buffer.state_dict()
    fresh = buffer_type(8, obs_shape=(2,), seed=7, n_actions=3)
    before = deep_snapshot(fresh)
    fresh.check_state_dict(state)  # a valid state passes, and checking changes nothing
    assert_deep_unchanged(before, fresh)
    fresh.load_state_dict(state)
    for key, value in fresh.state_dict().items():
        np.testing.assert_array_equal(value, state[key], err_msg=key)


def test_a_half_full_prioritized_checkpoint_loads():
    buffer = fill(PrioritizedReplayBuffer(8, obs_shape=(2,), seed=0), 5)
    fresh = PrioritizedReplayBuffer(8, obs_shape=(2,), seed=1)
    fresh.load_state_dict(buffer.state_dict())
    assert len(fresh) == 5 and fresh.sample(5, 0.4).indices.max() < 5
