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

import math

import numpy as np

__all__ = ["double_dqn_targets", "dqn_targets"]

def _check_gamma(gamma) -> float:
    """γ must be a real number in [0, 1] (not a bool, not NaN); returns it as a float."""
    if isinstance(gamma, (bool, np.bool_)) or not isinstance(gamma, (int, float, np.integer,
                                                                   np.floating)):
        raise TypeError(f"gamma must be a number in [0, 1], got {gamma!r}")
    if not (math.isfinite(float(gamma)) and 0.0 <= float(gamma) <= 1.0):
        raise ValueError(f"gamma must be in [0, 1], got {gamma!r}")
    return float(gamma)


def _to_tensor(value, name: str):
    """``value`` as a float32 tensor; a value that is not numeric raises naming ``name``.

    Concrete values (numpy arrays, lists, eager tensors) are also checked for NaN and inf;
    symbolic tensors inside ``tf.function`` cannot be, and pass as they are."""
    from keras import ops

    if _is_symbolic(value):
        return ops.cast(value, "float32")
    try:
        array = np.asarray(value)
        if array.dtype.kind not in "biuf":
            raise TypeError(f"dtype {array.dtype}")
        array = array.astype(np.float32)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be a numeric array, got {_short(value)} ({error})") from None
    if array.size and not np.isfinite(array).all():
        bad = int(np.flatnonzero(~np.isfinite(array))[0])
        raise ValueError(f"{name} must be finite, got {array.ravel()[bad]} at flat index {bad}")
    return ops.convert_to_tensor(array)


def _is_symbolic(value) -> bool:
    """A graph tensor (inside ``tf.function``), whose values are not known yet."""
    import tensorflow as tf

    return tf.is_tensor(value) and not tf.executing_eagerly()


def _short(value, limit: int = 80) -> str:
    """``repr(value)`` on one line, at most ``limit`` characters."""
    text = " ".join(repr(value).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _check_dones(dones) -> None:
    """Concrete dones must be 0 or 1 (a terminal flag), never 0.5 or 2."""
    if _is_symbolic(dones):
        return
    values = np.asarray(dones)
    bad = (values != 0) & (values != 1)
    if bad.any():
        index = int(np.flatnonzero(bad.ravel())[0])
        raise ValueError(f"dones must be 0 or 1, got {values.ravel()[index]} at index {index}")


def _check_shapes(rewards, dones, next_q, name):
    """rewards and dones (batch,), ``name`` (batch, n_actions >= 1), one batch size."""
    for label, value in (("rewards", rewards), ("dones", dones)):
        if len(value.shape) != 1:
            raise ValueError(f"{label} must be 1-D (batch,), got shape {tuple(value.shape)}")
    if len(next_q.shape) != 2:
        raise ValueError(f"{name} must be 2-D (batch, n_actions), got shape {tuple(next_q.shape)}")
    if next_q.shape[1] is not None and next_q.shape[1] < 1:
        raise ValueError(f"{name} must have at least one action, got shape {tuple(next_q.shape)}")
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

    gamma = _check_gamma(gamma)
    rewards = _to_tensor(rewards, "rewards")
    dones = _to_tensor(dones, "dones")
    next_q_online = _to_tensor(next_q_online, "next_q_online")
    next_q_target = _to_tensor(next_q_target, "next_q_target")
    _check_shapes(rewards, dones, next_q_online, "next_q_online")
    _check_shapes(rewards, dones, next_q_target, "next_q_target")
    _check_dones(dones)
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

    gamma = _check_gamma(gamma)
    rewards = _to_tensor(rewards, "rewards")
    dones = _to_tensor(dones, "dones")
    next_q_target = _to_tensor(next_q_target, "next_q_target")
    _check_shapes(rewards, dones, next_q_target, "next_q_target")
    _check_dones(dones)
    return rewards + gamma * (1.0 - dones) * ops.max(next_q_target, axis=1)
