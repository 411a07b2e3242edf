"""noisy_helpers: the tested pieces behind the notebook series "Noisy Nets, step by step".

Each module is one concept and names the notebook that teaches it:

* :mod:`noisy_helpers.sum_tree`    -- ``SumTree``                       (01_sum_tree.ipynb)
* :mod:`noisy_helpers.replay`      -- ``PrioritizedReplayBuffer`` & co.  (02_prioritized_replay.ipynb)
* :mod:`noisy_helpers.noisy_dense` -- ``NoisyDense``                     (03_noisy_dense.ipynb)
* :mod:`noisy_helpers.budget`      -- ``budget``: full runs for learners, small ones in CI

``NoisyDense`` needs TensorFlow/Keras, which takes seconds to import; it is
loaded on first use so that the replay pieces import instantly.
"""

from .budget import budget, in_ci
from .replay import (
    Batch,
    PrioritizedReplayBuffer,
    ReplayBuffer,
    importance_weights,
    linear_schedule,
)
from .sum_tree import SumTree

__version__ = "0.1.0"

_LAZY = {"NoisyDense", "reset_noise", "remove_noise", "noisy_layers"}

__all__ = [
    "budget",
    "in_ci",
    "SumTree",
    "Batch",
    "ReplayBuffer",
    "PrioritizedReplayBuffer",
    "importance_weights",
    "linear_schedule",
    *sorted(_LAZY),
]


def __getattr__(name):
    if name in _LAZY:
        from . import noisy_dense

        return getattr(noisy_dense, name)
    raise AttributeError(f"module 'noisy_helpers' has no attribute {name!r}")
