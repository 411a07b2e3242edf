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


# --------------------------------------------------------------- bad-input table
NAN, INF = float("nan"), float("inf")


def double(**changes):
    arguments = dict(rewards=np.zeros(2), dones=np.zeros(2), next_q_online=np.zeros((2, 2)),
                     next_q_target=np.zeros((2, 2)), gamma=0.9)
    arguments.update(changes)
    return lambda: double_dqn_targets(**arguments)


def plain(**changes):
    arguments = dict(rewards=np.zeros(2), dones=np.zeros(2), next_q_target=np.zeros((2, 2)),
                     gamma=0.9)
    arguments.update(changes)
    return lambda: dqn_targets(**arguments)


BAD_TARGETS = [
    ("gamma-nan", double(gamma=NAN), ValueError, r"gamma.*nan"),
    ("gamma-inf", double(gamma=INF), ValueError, r"gamma.*inf"),
    ("gamma-negative", double(gamma=-0.1), ValueError, r"gamma.*-0\.1"),
    ("gamma-just-above-1", double(gamma=1.0000001), ValueError, r"gamma"),
    ("gamma-bool", double(gamma=True), TypeError, r"gamma.*True"),
    ("gamma-string", double(gamma="0.9"), TypeError, r"gamma"),
    ("gamma-none", double(gamma=None), TypeError, r"gamma.*None"),
    ("rewards-nan", double(rewards=np.array([0.0, NAN])), ValueError, r"rewards.*nan"),
    ("rewards-inf", double(rewards=np.array([INF, 0.0])), ValueError, r"rewards.*inf"),
    ("rewards-strings", double(rewards=np.array(["a", "b"])), TypeError, r"rewards"),
    ("rewards-none", double(rewards=None), TypeError, r"rewards"),
    ("rewards-ragged", double(rewards=[[1.0], [1.0, 2.0]]), TypeError, r"rewards"),
    ("dones-half", double(dones=np.array([0.5, 0.0])), ValueError, r"dones.*0\.5"),
    ("dones-two", double(dones=np.array([0.0, 2.0])), ValueError, r"dones.*2"),
    ("dones-nan", double(dones=np.array([NAN, 0.0])), ValueError, r"dones.*nan"),
    ("dones-2d", double(dones=np.zeros((2, 1))), ValueError, r"dones.*1-D"),
    ("next-q-online-nan", double(next_q_online=np.array([[0.0, NAN], [0.0, 0.0]])), ValueError,
     r"next_q_online.*nan"),
    ("next-q-online-3d", double(next_q_online=np.zeros((2, 2, 1))), ValueError,
     r"next_q_online.*2-D"),
    ("next-q-online-no-actions", double(next_q_online=np.zeros((2, 0)),
                                        next_q_target=np.zeros((2, 0))), ValueError,
     r"next_q_online.*at least one action"),
    ("next-q-online-strings", double(next_q_online=np.full((2, 2), "q")), TypeError,
     r"next_q_online"),
    ("next-q-target-inf", double(next_q_target=np.full((2, 2), -INF)), ValueError,
     r"next_q_target.*inf"),
    ("next-q-target-1d", double(next_q_target=np.zeros(2)), ValueError, r"next_q_target"),
    ("dqn-gamma-nan", plain(gamma=NAN), ValueError, r"gamma"),
    ("dqn-gamma-above-1", plain(gamma=2), ValueError, r"gamma.*2"),
    ("dqn-next-q-target-nan", plain(next_q_target=np.full((2, 2), NAN)), ValueError,
     r"next_q_target"),
    ("dqn-rewards-longer", plain(rewards=np.zeros(3)), ValueError, r"batch sizes.*rewards 3"),
    ("dqn-dones-minus-one", plain(dones=np.array([-1.0, 0.0])), ValueError, r"dones.*-1"),
    ("dqn-next-q-target-objects", plain(next_q_target=np.full((2, 2), None)), TypeError,
     r"next_q_target"),
]


@pytest.mark.parametrize("call, error, match", [c[1:] for c in BAD_TARGETS],
                         ids=[c[0] for c in BAD_TARGETS])
def test_bad_input_table_raises_naming_the_argument(call, error, match):
    with pytest.raises(error, match=match) as info:
        call()
    assert "\n" not in str(info.value)


def test_integer_gamma_and_numpy_gamma_are_accepted():
    for gamma in (1, 0, np.float32(0.5), np.float64(0.5)):
        y = np.asarray(dqn_targets([1.0], [0.0], [[2.0, 4.0]], gamma))
        np.testing.assert_allclose(y, [1.0 + float(gamma) * 4.0])
