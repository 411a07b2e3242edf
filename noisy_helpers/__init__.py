"""noisy_helpers: the tested pieces behind the notebook series "Noisy Nets, step by step".

Each module is one concept and names the notebook that teaches it:

* :mod:`noisy_helpers.sum_tree`    -- ``SumTree``                       (01_sum_tree.ipynb)
* :mod:`noisy_helpers.replay`      -- ``PrioritizedReplayBuffer`` & co.  (02_prioritized_replay.ipynb)
* :mod:`noisy_helpers.noisy_dense` -- ``NoisyDense``                     (03_noisy_dense.ipynb)
* :mod:`noisy_helpers.config`      -- ``Config``: every setting of a run    (04_noisy_double_dqn.ipynb)
* :mod:`noisy_helpers.networks`    -- ``build_q_network``                  (04)
* :mod:`noisy_helpers.dueling`     -- ``DuelingCombine``: Q = V + A − mean A (``Config.dueling``)
* :mod:`noisy_helpers.targets`     -- ``double_dqn_targets``, ``dqn_targets`` (04)
* :mod:`noisy_helpers.n_step`      -- ``NStepQueue``, ``n_step_return``: multi-step returns (``Config.n_step``)
* :mod:`noisy_helpers.agent`       -- ``Agent``: acting, training step, target sync (04)
* :mod:`noisy_helpers.training`    -- ``train``, ``evaluate``, ``read_metrics`` (04)
* :mod:`noisy_helpers.run_folder`  -- a run folder's rules: marker, verified checkpoints, metrics (04)
* :mod:`noisy_helpers.interrupts`  -- ``StopRequests``: Ctrl-C and SIGTERM land between steps (04)
* :mod:`noisy_helpers.plotting`    -- learning curves and σ over training   (04)
* :mod:`noisy_helpers.summary`     -- ``summarise_evaluations``: first solved, best, last (04)
* :mod:`noisy_helpers.video`       -- ``record_episode``, ``show_video(s)``  (04)
* :mod:`noisy_helpers.atari`       -- ``make_atari_env`` and its wrappers   (05_atari_upndown.ipynb)
* :mod:`noisy_helpers.frame_replay` -- ``PrioritizedFrameReplayBuffer``: each frame once (05)
* :mod:`noisy_helpers.deep_sea`    -- ``DeepSeaEnv``: a hard-exploration gridworld (06_exploration.ipynb)
* :mod:`noisy_helpers.experiments` -- ``sweep``, ``run_trials``: seeds in parallel (processes or Ray), results as CSV (06)
* :mod:`noisy_helpers.exploration` -- the exploration study's trials and figures (06)
* :mod:`noisy_helpers.cli`         -- ``python -m noisy_helpers train|evaluate|export|plot|summary|sweep``
* :mod:`noisy_helpers.budget`      -- ``budget``: full runs for learners, small ones in CI
* :mod:`noisy_helpers.assets`      -- ``assets.path``: the shipped agent and results, anywhere (05, 06)
* :mod:`noisy_helpers.exercises`   -- ``exercises.check``: the checker of every exercise (01-06)

``NoisyDense`` and ``Agent`` need TensorFlow/Keras, which takes seconds to
import; they are loaded on first use so that the other pieces import instantly.
"""

import os as _os

# Quiet TensorFlow's C++ info logs (set before TensorFlow is first imported; a
# value already in the environment wins).
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from .budget import budget, in_ci  # noqa: E402
from . import assets, exercises  # noqa: E402
from .replay import (
    Batch,
    PrioritizedReplayBuffer,
    ReplayBuffer,
    importance_weights,
    linear_schedule,
)
from .sum_tree import SumTree
from .frame_replay import FrameReplayBuffer, PrioritizedFrameReplayBuffer  # noqa: E402
from .atari import make_atari_env  # noqa: E402
from .config import Config  # noqa: E402
from .networks import build_q_network  # noqa: E402
from .targets import double_dqn_targets, dqn_targets  # noqa: E402
from .training import (  # noqa: E402
    Run,
    evaluate,
    export_agent,
    load_agent,
    load_snapshot,
    load_run_state,
    make_env,
    random_policy_returns,
    read_metrics,
    train,
)
from .deep_sea import DEEP_SEA_ID, DeepSeaEnv  # noqa: E402  (registers DeepSea with gymnasium)
from .experiments import BACKENDS, Trial, read_results, run_trials, sweep  # noqa: E402
from .plotting import (  # noqa: E402
    plot_learning_curve, plot_noise, read_best, read_warm_start, save_run_plots,
)
from .summary import format_summary, solved_threshold, summarise_evaluations  # noqa: E402
from .video import record_episode, show_video, show_videos  # noqa: E402

__version__ = "0.1.0"

_LAZY = {"NoisyDense", "reset_noise", "remove_noise", "noisy_layers", "Agent"}

__all__ = [
    "assets",
    "exercises",
    "budget",
    "in_ci",
    "SumTree",
    "Batch",
    "ReplayBuffer",
    "PrioritizedReplayBuffer",
    "importance_weights",
    "linear_schedule",
    "FrameReplayBuffer",
    "PrioritizedFrameReplayBuffer",
    "make_atari_env",
    "Config",
    "build_q_network",
    "double_dqn_targets",
    "dqn_targets",
    "train",
    "evaluate",
    "random_policy_returns",
    "export_agent",
    "load_agent",
    "load_snapshot",
    "load_run_state",
    "make_env",
    "read_metrics",
    "Run",
    "DEEP_SEA_ID",
    "DeepSeaEnv",
    "Trial",
    "sweep",
    "run_trials",
    "BACKENDS",
    "read_results",
    "plot_learning_curve",
    "plot_noise",
    "save_run_plots",
    "read_best",
    "read_warm_start",
    "summarise_evaluations",
    "format_summary",
    "solved_threshold",
    "record_episode",
    "show_video",
    "show_videos",
    *sorted(_LAZY),
]


def __getattr__(name):
    if name == "Agent":
        from .agent import Agent

        return Agent
    if name in _LAZY:
        from . import noisy_dense

        return getattr(noisy_dense, name)
    raise AttributeError(f"module 'noisy_helpers' has no attribute {name!r}")
