"""Multi-step (n-step) returns: one stored transition spans n environment steps.

A one-step target ``y = r + γ Q(s', a*)`` carries news of a failure back one step per target
sync.  The n-step target (Sutton & Barto 2018, §7.1; used in Rainbow, Hessel et al. 2018, and
in A3C, on which NoisyNet was also tried) sums n rewards first,

    G = r_t + γ r_{t+1} + … + γ^{n−1} r_{t+n−1},     y = G + γ^n (1 − done) Q_target(s_{t+n}, a*),

with Double DQN's choice of a* unchanged (the online argmax, the target's value).  It is
off-policy without correction, as in Rainbow: the n rewards come from the policy that acted
then.  ``n = 1`` is the one-step target.

:class:`NStepQueue` turns the one-step transitions of one stream of episodes into n-step ones:

* a transition is emitted once n more rewards are known: ``(s_t, a_t, G, s_{t+n}, done=False)``;
* when the episode *terminates*, every waiting transition is emitted with the rewards up to the
  end and ``done=True`` (no bootstrap, so how many steps it spans does not matter);
* when it is *truncated* (a time limit, not a terminal state), the transitions with fewer than n
  steps left are dropped: their return would be cut short, and bootstrapping it with γ^n would
  be wrong.  Our choice; it drops n − 1 of every 500 steps on CartPole.

The agent discounts the bootstrap by ``γ^n`` (``Config.n_step``).
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

__all__ = ["NStepQueue", "n_step_return"]


def _check_n(n) -> int:
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"n must be an int >= 1, got {n!r}"[:160])
    if n < 1:
        raise ValueError(f"n must be an int >= 1, got {n!r}")
    return int(n)


def _check_gamma(gamma) -> float:
    if isinstance(gamma, (bool, np.bool_)) or not isinstance(
            gamma, (int, float, np.integer, np.floating)):
        raise TypeError(f"gamma must be a number in [0, 1], got {gamma!r}"[:160])
    if not (math.isfinite(float(gamma)) and 0.0 <= float(gamma) <= 1.0):
        raise ValueError(f"gamma must be in [0, 1], got {gamma!r}")
    return float(gamma)


def n_step_return(rewards, gamma: float) -> float:
    """``Σ_i γ^i r_i`` over ``rewards`` (a 1-d sequence of finite numbers, oldest first)."""
    gamma = _check_gamma(gamma)
    array = np.asarray(rewards)
    if array.ndim != 1 or array.dtype.kind not in "iuf" or not np.isfinite(array).all():
        raise ValueError(f"rewards must be a 1-d sequence of finite numbers, got {rewards!r}"[:160])
    return _discounted_sum(array.tolist(), gamma)


def _discounted_sum(rewards: list, gamma: float) -> float:
    """``Σ_i γ^i r_i``, newest term first (Horner), in plain floats: called every env step."""
    total = 0.0
    for reward in reversed(rewards):
        total = reward + gamma * total
    return float(total)


class NStepQueue:
    """The one-step transitions of one stream of episodes in, n-step transitions out.

    ``push`` takes what the environment gave (``terminated`` and ``truncated`` as gymnasium
    returns them) and returns the transitions now complete, as tuples ``(obs, action, G,
    next_obs, done)`` to store, oldest first.  With ``n = 1`` it returns each transition as it
    came.  Nothing is kept between episodes: a terminated or truncated step empties it.
    """

    def __init__(self, n: int, gamma: float):
        self.n = _check_n(n)
        self.gamma = _check_gamma(gamma)
        self._waiting: deque = deque()  # (obs, action, reward), oldest first

    def __len__(self) -> int:
        return len(self._waiting)

    def push(self, obs, action, reward, next_obs, terminated: bool, truncated: bool) -> list:
        """Add one environment step; return the n-step transitions it completes."""
        if not (isinstance(reward, (int, float, np.integer, np.floating))
                and not isinstance(reward, (bool, np.bool_)) and math.isfinite(reward)):
            raise ValueError(f"reward must be a finite number, got {reward!r}"[:160])
        self._waiting.append((obs, action, float(reward)))
        out = []
        if terminated:  # the rest of each waiting transition's return is known: 0 after here
            while self._waiting:
                out.append(self._emit(next_obs, done=True))
        elif len(self._waiting) == self.n:
            out.append(self._emit(next_obs, done=False))
        if truncated and not terminated:
            self._waiting.clear()  # cut short by the time limit: not stored
        return out

    def _emit(self, next_obs, done: bool) -> tuple:
        rewards = [reward for _, _, reward in self._waiting]
        obs, action, _ = self._waiting.popleft()
        return obs, action, _discounted_sum(rewards, self.gamma), next_obs, done
