"""Tests for noisy_helpers/targets.py: the Double DQN and DQN targets."""

import numpy as np
import pytest

from noisy_helpers import double_dqn_targets, dqn_targets


def test_double_dqn_target_by_hand_when_the_two_argmaxes_differ():
    """Two transitions, two actions, γ = 0.9.

        transition 0: Q_online(s') = [1, 3] -> a* = 1;  Q_target(s') = [5, 2]
                      y = 1 + 0.9 * Q_target(s', 1) = 1 + 0.9 * 2 = 2.8
                      (DQN would use max Q_target = 5: y = 5.5, an overestimate)
        transition 1: terminated, r = -1  ->  y = -1 (no bootstrap)
    """
    rewards = np.array([1.0, -1.0])
    dones = np.array([0.0, 1.0])
    next_q_online = np.array([[1.0, 3.0], [0.0, 9.0]])
    next_q_target = np.array([[5.0, 2.0], [7.0, 4.0]])
    y = np.asarray(double_dqn_targets(rewards, dones, next_q_online, next_q_target, 0.9))
    np.testing.assert_allclose(y, [2.8, -1.0], rtol=1e-6)
    y_dqn = np.asarray(dqn_targets(rewards, dones, next_q_target, 0.9))
    np.testing.assert_allclose(y_dqn, [5.5, -1.0], rtol=1e-6)


def test_truncated_transition_still_bootstraps():
    # A time-limit truncation is stored with done = 0: the target keeps γ Q(s', a*).
    y = np.asarray(double_dqn_targets([1.0], [0.0], [[0.0, 1.0]], [[10.0, 20.0]], 0.5))
    np.testing.assert_allclose(y, [11.0])


def test_double_equals_dqn_when_online_and_target_agree():
    rng = np.random.default_rng(0)
    q = rng.normal(size=(32, 4))
    rewards, dones = rng.normal(size=32), (rng.random(32) < 0.3).astype(float)
    np.testing.assert_allclose(double_dqn_targets(rewards, dones, q, q, 0.99),
                               dqn_targets(rewards, dones, q, 0.99), rtol=1e-6)


def test_double_agrees_with_a_plain_loop():
    rng = np.random.default_rng(1)
    online, target = rng.normal(size=(16, 3)), rng.normal(size=(16, 3))
    rewards, dones = rng.normal(size=16), (rng.random(16) < 0.5).astype(float)
    expected = [r + 0.97 * (1 - d) * target[i, np.argmax(online[i])]
                for i, (r, d) in enumerate(zip(rewards, dones))]
    np.testing.assert_allclose(double_dqn_targets(rewards, dones, online, target, 0.97),
                               expected, rtol=1e-5)


def test_works_inside_tf_function():
    import tensorflow as tf

    fn = tf.function(lambda r, d, a, b: double_dqn_targets(r, d, a, b, 0.9))
    y = fn(tf.constant([1.0]), tf.constant([0.0]), tf.constant([[1.0, 3.0]]),
           tf.constant([[5.0, 2.0]]))
    np.testing.assert_allclose(y.numpy(), [2.8], rtol=1e-6)


@pytest.mark.parametrize("kwargs, match", [
    (dict(gamma=1.5), "gamma"),
    (dict(rewards=np.zeros((2, 1))), "1-D"),
    (dict(next_q_online=np.zeros(2)), "next_q_online"),
    (dict(next_q_target=np.zeros((3, 2))), "batch sizes"),
    (dict(next_q_target=np.zeros((2, 3))), "number of actions"),
])
def test_bad_input_raises_value_error(kwargs, match):
    args = dict(rewards=np.zeros(2), dones=np.zeros(2), next_q_online=np.zeros((2, 2)),
                next_q_target=np.zeros((2, 2)), gamma=0.9)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        double_dqn_targets(**args)
