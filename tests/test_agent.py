"""Tests for noisy_helpers/agent.py: acting, the noise schedule, the training step, target sync
and checkpoints."""

import keras
import numpy as np
import pytest

import noisy_helpers as nh
from noisy_helpers import Batch, Config

OBS = np.array([0.01, -0.02, 0.03, 0.04], np.float32)


def make_agent(**changes):
    return nh.Agent(Config.small(**changes), (4,), 2)


def random_batch(size=16, seed=0):
    rng = np.random.default_rng(seed)
    return Batch(
        obs=rng.normal(size=(size, 4)).astype(np.float32),
        actions=rng.integers(0, 2, size),
        rewards=rng.normal(size=size).astype(np.float32),
        next_obs=rng.normal(size=(size, 4)).astype(np.float32),
        dones=(rng.random(size) < 0.2).astype(np.float32),
        weights=rng.uniform(0.1, 1, size).astype(np.float32),
        indices=np.arange(size),
    )


def noise_of(model):
    return [layer.epsilon_out.numpy().copy() for layer in nh.noisy_layers(model)]


def test_noisy_agent_acts_greedily_on_a_fixed_noise_sample():
    # No ε: with the noise held fixed, the same observation gives the same action every time,
    # and the action is the argmax of the noisy Q-values.
    agent = make_agent()
    actions = {agent.act(OBS, step=0) for _ in range(20)}
    assert len(actions) == 1
    q = np.asarray(agent.online(OBS[None]))
    assert actions == {int(np.argmax(q))}


def test_epsilon_greedy_agent_explores_at_epsilon_one():
    agent = make_agent(noisy=False, epsilon_start=1.0)
    actions = [agent.act(OBS, step=0) for _ in range(100)]
    assert 20 < sum(actions) < 80  # uniformly random at ε = 1


def test_noise_is_fixed_between_steps_and_redrawn_by_each_train_step():
    agent = make_agent()
    online, target = noise_of(agent.online), noise_of(agent.target)
    agent.act(OBS)
    agent.greedy_actions(np.stack([OBS, OBS]))
    assert all(np.array_equal(a, b) for a, b in zip(online, noise_of(agent.online)))
    agent.train_step(random_batch())
    assert not any(np.array_equal(a, b) for a, b in zip(online, noise_of(agent.online)))
    assert not any(np.array_equal(a, b) for a, b in zip(target, noise_of(agent.target)))


def test_online_and_target_noise_are_independent():
    agent = make_agent()
    for _ in range(3):
        assert not np.allclose(noise_of(agent.online)[0], noise_of(agent.target)[0])
        agent.train_step(random_batch())


def test_target_sync_copies_weights_but_not_noise():
    agent = make_agent()
    for _ in range(5):
        agent.train_step(random_batch())
    target_noise = noise_of(agent.target)
    target_state = [v.numpy().copy() for v in agent.target.non_trainable_variables]
    agent.sync_target()
    for t, o in zip(agent.target.trainable_variables, agent.online.trainable_variables):
        np.testing.assert_array_equal(t.numpy(), o.numpy())
    for before, variable in zip(target_state, agent.target.non_trainable_variables):
        np.testing.assert_array_equal(before, variable.numpy())  # noise and generator state
    assert not np.allclose(noise_of(agent.online)[0], target_noise[0])


def test_train_step_returns_abs_td_errors_of_the_double_dqn_target():
    agent = make_agent(gamma=0.9)
    batch = random_batch()
    q = np.asarray(agent.online(batch.obs))
    next_online = np.asarray(agent.online(batch.next_obs))
    next_target = np.asarray(agent.target(batch.next_obs))
    y = np.asarray(nh.double_dqn_targets(batch.rewards, batch.dones, next_online, next_target, 0.9))
    expected = np.abs(y - q[np.arange(len(q)), batch.actions])
    loss, abs_td = agent.train_step(batch)
    np.testing.assert_allclose(abs_td, expected, rtol=1e-4, atol=1e-5)
    huber = np.where(expected <= 1, 0.5 * expected**2, expected - 0.5)
    np.testing.assert_allclose(loss, np.mean(batch.weights * huber), rtol=1e-4)


def test_training_on_one_batch_lowers_its_loss():
    agent = make_agent(learning_rate=1e-2)
    batch = random_batch(seed=3)
    first, _ = agent.train_step(batch)
    for _ in range(200):
        last, _ = agent.train_step(batch)
    assert last < 0.5 * first


def test_remove_noise_acts_on_mu_and_keep_noise_restores_everything():
    agent = make_agent()
    before = [v.numpy().copy() for v in agent.online.non_trainable_variables]
    with agent.keep_noise():
        agent.remove_noise()
        layer = agent.online.get_layer("q_values")
        q = np.asarray(agent.online(OBS[None]))
        features = keras.Model(agent.online.input, agent.online.get_layer("hidden_2").output)
        h = np.asarray(features(OBS[None]))  # the last hidden layer's output
        np.testing.assert_allclose(q, h @ layer.kernel_mu.numpy() + layer.bias_mu.numpy(),
                                   rtol=1e-5, atol=1e-6)
        agent.reset_noise()
    for value, variable in zip(before, agent.online.non_trainable_variables):
        np.testing.assert_array_equal(value, variable.numpy())


def test_act_rejects_an_observation_of_the_wrong_shape():
    with pytest.raises(ValueError, match="shape"):
        make_agent().act(np.zeros(3))


def test_agent_needs_a_config():
    with pytest.raises(TypeError, match="config"):
        nh.Agent({"noisy": True}, (4,), 2)


def test_checkpoint_round_trip_restores_weights_optimizer_and_counters(tmp_path):
    agent = make_agent()
    for seed in range(3):
        agent.train_step(random_batch(seed=seed))
    agent.save(tmp_path)
    other = make_agent(seed=99)  # another initialisation, same architecture
    other.load(tmp_path)
    for a, b in zip(agent.online.variables, other.online.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    for a, b in zip(agent.optimizer.variables, other.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert other.train_steps == 3
    # Same state, same next step.
    loss_a, td_a = agent.train_step(random_batch(seed=9))
    loss_b, td_b = other.train_step(random_batch(seed=9))
    assert loss_a == loss_b and np.array_equal(td_a, td_b)


def test_checkpoint_of_another_network_shape_is_refused_before_any_change(tmp_path):
    make_agent(hidden_sizes=(16,)).save(tmp_path)
    agent = make_agent()
    before = [v.numpy().copy() for v in agent.online.variables]
    with pytest.raises(ValueError, match="hidden_sizes"):
        agent.load(tmp_path)
    for value, variable in zip(before, agent.online.variables):
        np.testing.assert_array_equal(value, variable.numpy())


def test_checkpoint_uses_no_pickle(tmp_path):
    make_agent().save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "agent.json", "noise.npz", "online.weights.h5", "optimizer.npz", "target.weights.h5"]
    for name in ("optimizer.npz", "noise.npz"):
        with np.load(tmp_path / name, allow_pickle=False) as arrays:
            assert all(arrays[key].dtype != object for key in arrays.files)


def test_learning_rate_falls_linearly_to_its_end_value_over_the_run():
    # Config.small: 600 steps, learning starts after 100, one update per step: 500 updates.
    agent = make_agent(learning_rate=1e-3, learning_rate_end=1e-4)
    assert float(agent.optimizer.learning_rate) == pytest.approx(1e-3)
    for _ in range(250):
        agent.train_step(random_batch())
    assert float(agent.optimizer.learning_rate) == pytest.approx(5.5e-4, rel=1e-3)
    constant = make_agent(learning_rate=1e-3, learning_rate_end=None)
    constant.train_step(random_batch())
    assert float(constant.optimizer.learning_rate) == pytest.approx(1e-3)


def test_act_batch_is_greedy_per_row_for_a_noisy_agent_and_epsilon_greedy_otherwise():
    observations = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)
    noisy = make_agent()
    assert np.array_equal(noisy.act_batch(observations), noisy.greedy_actions(observations))
    dithering = make_agent(noisy=False, epsilon_start=1.0, epsilon_end=1.0)
    greedy = dithering.greedy_actions(observations)
    actions = dithering.act_batch(observations, step=0)
    assert not np.array_equal(actions, greedy)  # ε = 1: one coin per row, random actions
    assert set(actions.tolist()) == {0, 1}
