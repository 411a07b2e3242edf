"""DeepSea: a hard-exploration gridworld whose size sets how hard it is.

Taught in ``notebooks/06_exploration.ipynb``.

From Osband et al., "Deep Exploration via Randomized Value Functions" (2019) and
the bsuite (Osband et al. 2020).  An ``size × size`` grid; the agent starts in the
top-left cell and every step moves it one row down and one column left or right
(never off the grid), so an episode lasts exactly ``size`` steps.  Moving right
costs ``0.01 / size``; reaching the bottom-right cell by moving right gives +1.
That takes ``size`` right moves in a row: a policy that picks each move by a coin
flip finds the reward in one episode out of ``2 ** size``, while the small cost of
moving right teaches a greedy agent to stay left.  The best return is ``0.99``.

``randomize_actions``: which of the two actions moves right, in each cell.
    * ``False``: action 1 moves right everywhere.  One consistent preference, "press
      1", is a whole exploratory policy: the case where noise in the weights (which
      can shift the preference of every state at once) should shine.
    * ``True`` (the bsuite's setting): a fixed random map per cell, drawn from
      ``mapping_seed``.  No state-independent preference reaches the goal: exploring
      needs a *different*, consistent choice in each cell ("deep exploration").

Observations are the one-hot ``size * size`` vector of the agent's cell (float32),
all zeros after the last step.  The environment is deterministic: ``reset(seed)``
seeds nothing that matters, the map belongs to the instance.

Registered with gymnasium as ``noisy_helpers/DeepSea-v0``:
``gym.make("noisy_helpers/DeepSea-v0", size=10, randomize_actions=False)``.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from ._memory import check_memory

__all__ = ["DeepSeaEnv", "DEEP_SEA_ID", "GOAL_REWARD"]

#: The gymnasium id under which :class:`DeepSeaEnv` is registered.
DEEP_SEA_ID = "noisy_helpers/DeepSea-v0"
#: The reward for reaching the bottom-right cell; an episode's return is above 0.5 iff it did.
GOAL_REWARD = 1.0


class DeepSeaEnv(gym.Env):
    """The DeepSea gridworld (see the module docstring).

    >>> env = DeepSeaEnv(size=3, randomize_actions=False)
    >>> obs, _ = env.reset()
    >>> obs.reshape(3, 3).tolist()[0]
    [1.0, 0.0, 0.0]
    >>> total = 0.0
    >>> for _ in range(3):
    ...     obs, reward, terminated, truncated, _ = env.step(1)  # right, right, right
    ...     total += reward
    >>> terminated, round(total, 6)
    (True, 0.99)
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 4}

    def __init__(self, size: int = 10, randomize_actions: bool = True, mapping_seed: int = 0,
                 render_mode=None):
        _check_arguments(size, randomize_actions, mapping_seed, render_mode)
        self.size = int(size)
        self.randomize_actions = bool(randomize_actions)
        self.mapping_seed = int(mapping_seed)
        self.render_mode = render_mode
        #: ``right_action[row, column]``: the action that moves right in that cell.
        if self.randomize_actions:
            mapping_rng = np.random.default_rng(self.mapping_seed)
            self.right_action = mapping_rng.integers(0, 2, size=(self.size, self.size))
        else:
            self.right_action = np.ones((self.size, self.size), dtype=np.int64)
        self.move_cost = 0.01 / self.size
        self.observation_space = gym.spaces.Box(0.0, 1.0, (self.size * self.size,), np.float32)
        self.action_space = gym.spaces.Discrete(2)
        self._row, self._column = 0, 0

    def _observation(self) -> np.ndarray:
        obs = np.zeros(self.size * self.size, dtype=np.float32)
        if self._row < self.size:
            obs[self._row * self.size + self._column] = 1.0
        return obs

    def reset(self, *, seed=None, options=None):
        """Back to the top-left cell; ``seed`` (None or an int >= 0) seeds ``np_random``."""
        if seed is not None and (not _is_int(seed) or seed < 0):
            raise (ValueError if _is_int(seed) else TypeError)(
                f"seed must be None or an int >= 0, got {seed!r}")
        if options is not None and not isinstance(options, dict):
            raise TypeError(f"options must be None or a dict, got {options!r}")
        super().reset(seed=seed)
        self._row, self._column = 0, 0
        return self._observation(), {}

    def step(self, action):
        """Move one row down and one column left or right; ``action`` is 0 or 1 (an int)."""
        if not _is_int(action) or not 0 <= action <= 1:
            raise (ValueError if _is_int(action) else TypeError)(
                f"action must be 0 or 1 (an int), got {action!r}")
        if self._row >= self.size:
            raise RuntimeError("step() after the episode ended: call reset() first")
        moves_right = int(action) == self.right_action[self._row, self._column]
        reward = 0.0
        if moves_right:
            reward -= self.move_cost
            if self._row == self.size - 1 and self._column == self.size - 1:
                reward += GOAL_REWARD
            self._column = min(self._column + 1, self.size - 1)
        else:
            self._column = max(self._column - 1, 0)
        self._row += 1
        terminated = self._row == self.size
        return self._observation(), reward, terminated, False, {"column": self._column}

    def render(self):
        """The grid as an RGB image: the agent white, the goal cell gold."""
        cell = 16
        check_memory(f"render: size={self.size}", 3 * (self.size * cell) ** 2)
        image = np.full((self.size, self.size, 3), 30, dtype=np.uint8)
        image[self.size - 1, self.size - 1] = (230, 180, 40)
        if self._row < self.size:
            image[self._row, self._column] = (255, 255, 255)
        return np.kron(image, np.ones((cell, cell, 1), dtype=np.uint8))


#: Bytes per cell of the grid that an environment allocates: the map (int64), the
#: observation space's bounds (two float32 and two bool arrays) and one observation (float32).
BYTES_PER_CELL = 8 + 2 * 4 + 2 + 4
#: The largest grid accepted whatever the memory: 10^8 cells, 2.2 GB (bsuite's go up to 50).
MAX_SIZE = 10_000


def _is_int(value) -> bool:
    """An int or numpy integer, not a bool."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _check_arguments(size, randomize_actions, mapping_seed, render_mode) -> None:
    """DeepSeaEnv's constructor arguments; a size whose arrays do not fit in memory is refused."""
    if not _is_int(size):
        raise TypeError(f"size must be an int, got {size!r}")
    if size < 1:
        raise ValueError(f"size must be >= 1, got {size}")
    needed = BYTES_PER_CELL * int(size) ** 2
    if size > MAX_SIZE:
        raise ValueError(f"size {size} needs {needed} bytes for its {int(size) ** 2} cells; "
                         f"size must be <= {MAX_SIZE}")
    check_memory(f"size={size} ({int(size) ** 2} cells)", needed)
    if not isinstance(randomize_actions, (bool, np.bool_)):
        raise TypeError(f"randomize_actions must be a bool, got {randomize_actions!r}")
    if not _is_int(mapping_seed):
        raise TypeError(f"mapping_seed must be an int >= 0, got {mapping_seed!r}")
    if mapping_seed < 0:
        raise ValueError(f"mapping_seed must be an int >= 0, got {mapping_seed}")
    if render_mode is not None and not (isinstance(render_mode, str)
                                        and render_mode == "rgb_array"):
        raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")


def _register() -> None:
    if DEEP_SEA_ID not in gym.registry:
        gym.register(id=DEEP_SEA_ID, entry_point="noisy_helpers.deep_sea:DeepSeaEnv")


_register()
