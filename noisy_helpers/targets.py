"""TD targets: Double DQN and, for comparison, the DQN target.

Taught in ``notebooks/04_noisy_double_dqn.ipynb``.

DQN (Mnih et al. 2015) bootstraps from the target network's own maximum,

    y = r + γ (1 − done) max_a Q_target(s', a),

which overestimates: the max of noisy estimates is biased upwards.  Double DQN
(van Hasselt et al. 2016, Eq. 4) lets the *online* network choose the action
and the *target* network value it:

    a* = argmax_a Q_online(s', a),     y = r + γ (1 − done) Q_target(s', a*).

``done`` is 1 only when the episode *terminated* (the MDP ended).  A time-limit
truncation is not a terminal state, so it keeps bootstrapping (done = 0).

Both functions take numpy arrays or tensors and work inside ``tf.function``;
they return a tensor of shape ``(batch,)`` (``np.asarray`` makes it numpy).
"""

from __future__ import annotations

__all__ = ["double_dqn_targets", "dqn_targets"]


def _check_shapes(rewards, dones, next_q, name, gamma):
    if not (0.0 <= float(gamma) <= 1.0):
        raise ValueError(f"gamma must be in [0, 1], got {gamma!r}")
    if len(rewards.shape) != 1 or len(dones.shape) != 1:
        raise ValueError(
            f"rewards and dones must be 1-D (batch,), got shapes {tuple(rewards.shape)} "
            f"and {tuple(dones.shape)}"
        )
    if len(next_q.shape) != 2:
        raise ValueError(f"{name} must be 2-D (batch, n_actions), got shape {tuple(next_q.shape)}")
    sizes = {rewards.shape[0], dones.shape[0], next_q.shape[0]} - {None}
    if len(sizes) > 1:
        raise ValueError(
            f"batch sizes differ: rewards {rewards.shape[0]}, dones {dones.shape[0]}, "
            f"{name} {next_q.shape[0]}"
        )


def double_dqn_targets(rewards, dones, next_q_online, next_q_target, gamma):
    """y = r + γ (1 − done) Q_target(s', argmax_a Q_online(s', a))   (van Hasselt et al., Eq. 4).

    Args:
        rewards: (batch,) rewards r.
        dones: (batch,) 1.0 where the episode terminated at s' (not truncated), else 0.0.
        next_q_online: (batch, n_actions) Q_online(s', ·): chooses the action.
        next_q_target: (batch, n_actions) Q_target(s', ·): values it.
        gamma: discount γ in [0, 1].
    """
    from keras import ops

    rewards = ops.convert_to_tensor(rewards, dtype="float32")
    dones = ops.convert_to_tensor(dones, dtype="float32")
    next_q_online = ops.convert_to_tensor(next_q_online, dtype="float32")
    next_q_target = ops.convert_to_tensor(next_q_target, dtype="float32")
    _check_shapes(rewards, dones, next_q_online, "next_q_online", gamma)
    _check_shapes(rewards, dones, next_q_target, "next_q_target", gamma)
    if next_q_online.shape[1] != next_q_target.shape[1]:
        raise ValueError(
            f"next_q_online and next_q_target must have the same number of actions, got "
            f"{next_q_online.shape[1]} and {next_q_target.shape[1]}"
        )
    best_actions = ops.argmax(next_q_online, axis=1)  # a* from the online network, (batch,)
    chosen = ops.take_along_axis(next_q_target, best_actions[:, None], axis=1)[:, 0]  # (batch,)
    return rewards + gamma * (1.0 - dones) * chosen


def dqn_targets(rewards, dones, next_q_target, gamma):
    """y = r + γ (1 − done) max_a Q_target(s', a)   (Mnih et al. 2015): the overestimating one."""
    from keras import ops

    rewards = ops.convert_to_tensor(rewards, dtype="float32")
    dones = ops.convert_to_tensor(dones, dtype="float32")
    next_q_target = ops.convert_to_tensor(next_q_target, dtype="float32")
    _check_shapes(rewards, dones, next_q_target, "next_q_target", gamma)
    return rewards + gamma * (1.0 - dones) * ops.max(next_q_target, axis=1)
