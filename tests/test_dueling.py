"""Tests for noisy_helpers/dueling.py and the dueling head of build_q_network (Config.dueling)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import noisy_helpers as nh
from noisy_helpers.config import Config
from noisy_helpers.dueling import dueling_q_values
from noisy_helpers.networks import layer_seeds, parameter_bytes
from architecture import (
    assert_a_file_without_the_key_loads, assert_the_other_setting_is_refused)


def test_dueling_q_values_by_hand():
    # V = 10; A = (1, 3): mean 2, so Q = 10 + (1 - 2, 3 - 2) = (9, 11).
    q = np.asarray(dueling_q_values(np.array([[10.0]]), np.array([[1.0, 3.0]])))
    np.testing.assert_allclose(q, [[9.0, 11.0]])


finite = st.floats(-1e3, 1e3, allow_nan=False, width=32)


@settings(max_examples=50, deadline=None)
@given(value=arrays(np.float32, (3, 1), elements=finite),
       advantages=arrays(np.float32, (3, 4), elements=finite),
       shift=st.floats(-100, 100, width=32))
def test_dueling_q_values_match_eq9_and_ignore_a_shift_between_the_streams(value, advantages,
                                                                           shift):
    q = np.asarray(dueling_q_values(value, advantages))
    reference = value + advantages - advantages.mean(axis=1, keepdims=True)  # Eq. 9 in numpy
    np.testing.assert_allclose(q, reference, rtol=1e-5, atol=1e-3)
    # The mean of Q over the actions is V, and adding c to every advantage changes no Q-value
    # (the mean takes it out): why V and A are identifiable.
    np.testing.assert_allclose(q.mean(axis=1, keepdims=True), value, rtol=1e-5, atol=1e-3)
    shifted = np.asarray(dueling_q_values(value, advantages + np.float32(shift)))
    np.testing.assert_allclose(shifted, q, rtol=1e-5, atol=2e-3)


def test_a_dueling_network_has_noisy_value_and_advantage_heads():
    model = nh.build_q_network((4,), 3, hidden_sizes=(8,), dueling=True, seed=0)
    assert sorted(layer.name for layer in nh.noisy_layers(model)) == ["advantages", "value"]
    assert model.get_layer("value").units == 1 and model.get_layer("advantages").units == 3
    assert model(np.zeros((5, 4), np.float32)).shape == (5, 3)
    plain = nh.build_q_network((4,), 3, hidden_sizes=(8,), dueling=True, noisy=False, seed=0)
    assert nh.noisy_layers(plain) == []


def test_a_dueling_networks_q_values_are_its_heads_combined():
    model = nh.build_q_network((4,), 2, hidden_sizes=(8,), dueling=True, seed=1)
    x = np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32)
    import keras

    heads = keras.Model(model.input, [model.get_layer("value").output,
                                      model.get_layer("advantages").output])
    value, advantages = (np.asarray(t) for t in heads(x))
    np.testing.assert_allclose(np.asarray(model(x)),
                               value + advantages - advantages.mean(axis=1, keepdims=True),
                               rtol=1e-6, atol=1e-6)


def test_without_dueling_the_network_is_the_one_built_before_the_option_existed():
    # The value head's seed is drawn after all the others, so the other layers keep theirs:
    # a prefix of layer_seeds does not depend on how many are drawn.
    for seed in (0, 1, 123, 2**32 - 1):
        for count in (3, 5, 6, 8):
            assert layer_seeds(seed, count + 1)[:count] == layer_seeds(seed, count)
    x = np.ones((2, 4), np.float32)
    plain = nh.build_q_network((4,), 2, hidden_sizes=(8,), seed=5)
    dueling = nh.build_q_network((4,), 2, hidden_sizes=(8,), seed=5, dueling=True)
    np.testing.assert_array_equal(plain.get_layer("hidden_1").kernel.numpy(),
                                  dueling.get_layer("hidden_1").kernel.numpy())
    np.testing.assert_array_equal(plain.get_layer("q_values").kernel_mu.numpy(),
                                  dueling.get_layer("advantages").kernel_mu.numpy())
    assert plain(x).shape == dueling(x).shape


def test_parameter_bytes_count_the_value_head_as_one_more_output():
    # The memory guard's estimate (3 floats per noisy weight: an upper bound for factorised
    # noise) counts the value head as one more output unit on the same input.
    assert parameter_bytes((4,), 2, (8,), dueling=True) == parameter_bytes((4,), 3, (8,))
    model = nh.build_q_network((4,), 2, hidden_sizes=(8,), dueling=True, seed=0)
    assert parameter_bytes((4,), 2, (8,), dueling=True) >= 4 * sum(
        int(np.prod(v.shape)) for v in model.variables if "seed_generator" not in v.path)


@pytest.mark.parametrize("value", [1, "yes", None, np.int64(1)], ids=repr)
def test_bad_input_dueling_flag_that_is_not_a_bool_is_refused_in_one_line(value):
    with pytest.raises(TypeError, match=r"^dueling must be a bool, got ") as info:
        nh.build_q_network((4,), 2, hidden_sizes=(8,), dueling=value)
    assert "\n" not in str(info.value)


def test_a_dueling_agent_trains_saves_and_loads(tmp_path):
    agent = nh.Agent(Config.small(dueling=True), (4,), 2)
    rng = np.random.default_rng(0)
    batch = nh.Batch(obs=rng.normal(size=(16, 4)).astype(np.float32),
                     actions=rng.integers(0, 2, 16), rewards=np.ones(16, np.float32),
                     next_obs=rng.normal(size=(16, 4)).astype(np.float32),
                     dones=np.zeros(16, np.float32), weights=np.ones(16, np.float32),
                     indices=np.arange(16))
    before = agent.online.get_layer("value").kernel_mu.numpy().copy()
    loss, abs_td = agent.train_step(batch)
    assert np.isfinite(float(loss)) and abs_td.shape == (16,)
    assert not np.array_equal(before, agent.online.get_layer("value").kernel_mu.numpy())
    agent.save(tmp_path / "dueling")
    other = nh.Agent(Config.small(dueling=True, seed=1), (4,), 2)
    other.load(tmp_path / "dueling")
    x = rng.normal(size=(3, 4)).astype(np.float32)
    np.testing.assert_array_equal(np.asarray(other.online(x)), np.asarray(agent.online(x)))


def test_bad_input_checkpoint_of_the_other_head_is_refused_in_one_line_and_changes_nothing(
        tmp_path):
    assert_the_other_setting_is_refused(tmp_path, Config.small(), Config.small(dueling=True),
                                        "dueling")


def test_a_checkpoint_saved_before_the_dueling_option_existed_still_loads(tmp_path):
    assert_a_file_without_the_key_loads(tmp_path, Config.small(), Config.small(dueling=True),
                                        "dueling")


def test_a_dueling_nature_agent_acts_on_frames_without_the_cached_weights():
    config = Config.atari(dueling=True, buffer_size=1_000, batch_size=4, learning_starts=10)
    agent = nh.Agent(config, (4, 84, 84), 6, np.uint8)
    assert agent._acting_weights == {}  # two heads: not a chain of layers to cache
    frames = np.random.default_rng(0).integers(0, 256, (4, 84, 84), dtype=np.uint8)
    with agent.cached_acting():
        action = agent.act(frames, 0)
    assert 0 <= int(action) < 6
    names = sorted(layer.name for layer in nh.noisy_layers(agent.online))
    assert names == ["advantages", "hidden_1", "value"]
