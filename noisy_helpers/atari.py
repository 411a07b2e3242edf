"""Atari: the standard DQN preprocessing, with gymnasium + ale-py.

Taught in ``notebooks/05_atari_upndown.ipynb``.

``make_atari_env("ALE/UpNDown-v5")`` stacks these wrappers, innermost first
(Mnih et al. 2015, Methods; Machado et al. 2018 for sticky actions):

1. ``gym.make(env_id, frameskip=1, repeat_action_probability=sticky_actions,
   obs_type="grayscale")``: the raw 210×160 game; the frame skip is done by the
   next wrapper, so the emulator must not skip frames itself.
2. ``AtariPreprocessing``: up to ``noop_max`` no-op actions at reset (random start
   states), frame skip 4 with the max over the last two frames (Atari sprites
   flicker: some are drawn only every other frame), 84×84 grayscale, uint8.
3. :class:`GameScore`: adds up the *true* game reward, reported in
   ``info["game_score"]`` when the game ends (the clipped training return is
   not the score).
4. :class:`EpisodicLife` (training only): losing a life ends the *training*
   episode (``terminated=True``: no bootstrap past a death), but the game goes
   on; only a real game over resets the emulator.  gymnasium's
   ``terminal_on_life_loss=True`` is not this: it resets the whole game.
5. :class:`FireOnReset`: games that wait for FIRE before they start get it at
   every reset (otherwise a greedy agent that never fires waits forever).
6. :class:`ClipReward` (training only): rewards clipped to their sign, {−1, 0, +1}.
7. ``FrameStackObservation(4, padding_type="zero")``: the last 4 frames,
   ``(4, 84, 84)`` uint8, zeros before the first frame of an episode.  The frame
   replay buffer relies on the zero padding to rebuild stacks exactly.

Everything stays uint8: 7 KB a frame, never float64 stacks.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

__all__ = [
    "make_atari_env",
    "is_atari",
    "GameScore",
    "EpisodicLife",
    "FireOnReset",
    "ClipReward",
    "VectorAtari",
    "FRAME_STACK",
    "FRAME_SIZE",
]

FRAME_SIZE = 84  #: frames are FRAME_SIZE × FRAME_SIZE grayscale
FRAME_STACK = 4  #: frames per observation


def is_atari(env_id) -> bool:
    """True for ids of the ALE namespace, e.g. ``"ALE/UpNDown-v5"``."""
    return isinstance(env_id, str) and env_id.startswith("ALE/")


class GameScore(gym.Wrapper):
    """Sums the raw rewards of the whole game; when the game ends (terminated or
    truncated), ``info["game_score"]`` and ``info["game_length"]`` (agent steps) hold them."""

    def __init__(self, env):
        super().__init__(env)
        self._score, self._length = 0.0, 0

    def reset(self, **kwargs):
        self._score, self._length = 0.0, 0
        return self.env.reset(**kwargs)

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._score += float(reward)
        self._length += 1
        if terminated or truncated:
            info = dict(info, game_score=self._score, game_length=self._length)
        return obs, reward, terminated, truncated, info


class EpisodicLife(gym.Wrapper):
    """A lost life ends the training episode (``terminated=True``, ``info["life_lost"]``),
    but not the game: the next ``reset`` continues it with one no-op step.  Only after a
    real game over (or a truncation), or when ``reset`` is given a seed (a request for a
    new game), does ``reset`` restart the emulator."""

    def __init__(self, env):
        super().__init__(env)
        self._lives = 0
        self._game_over = True

    def _ale_lives(self) -> int:
        return int(self.env.unwrapped.ale.lives())

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._game_over = terminated or truncated
        lives = self._ale_lives()
        if 0 < lives < self._lives and not self._game_over:
            terminated = True
            info = dict(info, life_lost=True)
        self._lives = lives
        return obs, reward, terminated, truncated, info

    def reset(self, **kwargs):
        if self._game_over or kwargs.get("seed") is not None:
            obs, info = self.env.reset(**kwargs)
        else:  # a life was lost: continue the same game
            obs, _, terminated, truncated, info = self.env.step(0)
            if terminated or truncated:  # the no-op ended the game (rare)
                obs, info = self.env.reset(**kwargs)
        self._game_over = False
        self._lives = self._ale_lives()
        return obs, info


class FireOnReset(gym.Wrapper):
    """After every reset, press FIRE (then the next action, as many games need both)."""

    def __init__(self, env):
        super().__init__(env)
        meanings = env.unwrapped.get_action_meanings()
        if len(meanings) < 3 or meanings[1] != "FIRE":
            raise ValueError(f"FireOnReset needs action 1 to be FIRE, got {meanings}")

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        for action in (1, 2):
            obs, _, terminated, truncated, info = self.env.step(action)
            if terminated or truncated:  # the press ended the episode (rare): start again
                obs, info = self.env.reset(**kwargs)
        return obs, info


class ClipReward(gym.RewardWrapper):
    """Rewards clipped to their sign, {−1, 0, +1} (Mnih et al. 2015): one learning rate
    fits every game.  The true score is kept by :class:`GameScore`."""

    def reward(self, reward):
        return float(np.sign(reward))


def make_atari_env(
    env_id: str = "ALE/UpNDown-v5",
    training: bool = True,
    noop_max: int = 30,
    sticky_actions: float = 0.0,
    render_mode=None,
):
    """An Atari env with the standard DQN preprocessing (see the module docstring).

    Args:
        env_id: an ALE id, e.g. ``"ALE/UpNDown-v5"``.
        training: True: a lost life is terminal and rewards are clipped (for learning).
            False: the whole game is one episode with its true score (for evaluation).
        noop_max: at most this many no-op actions at reset (random start states; 30 in
            Mnih et al. 2015).
        sticky_actions: probability that the emulator repeats the previous action instead
            of the chosen one (Machado et al. 2018 recommend 0.25; ``-v5`` ids default to it).
            Default 0.0: the deterministic protocol of the DQN and NoisyNet papers.
        render_mode: e.g. ``"rgb_array"`` to record videos.

    Observations are ``(4, 84, 84)`` uint8.  When a game ends, ``info["game_score"]`` holds
    its true (unclipped) score.
    """
    import ale_py

    if not is_atari(env_id):
        raise ValueError(f"env_id must be an ALE id like 'ALE/UpNDown-v5', got {env_id!r}")
    if isinstance(noop_max, bool) or not isinstance(noop_max, (int, np.integer)) or noop_max < 0:
        raise ValueError(f"noop_max must be an int >= 0, got {noop_max!r}")
    if not (isinstance(sticky_actions, (int, float)) and 0.0 <= sticky_actions <= 1.0):
        raise ValueError(f"sticky_actions must be a probability in [0, 1], got {sticky_actions!r}")
    gym.register_envs(ale_py)
    ale_py.ALEInterface.setLoggerMode(ale_py.LoggerMode.Error)  # no banner on stderr
    try:
        # obs_type="grayscale": the emulator's own observation of each frame is thrown away
        # (AtariPreprocessing reads the screen itself), and a grayscale copy is a third the
        # size of an RGB one.  Videos render in colour either way.
        env = gym.make(env_id, frameskip=1, repeat_action_probability=float(sticky_actions),
                       obs_type="grayscale", render_mode=render_mode)
    except gym.error.Error as error:
        raise ValueError(f"unknown environment id {env_id!r} ({error})") from None
    env = gym.wrappers.AtariPreprocessing(
        env, noop_max=int(noop_max), frame_skip=4, screen_size=FRAME_SIZE,
        terminal_on_life_loss=False, grayscale_obs=True, scale_obs=False,
    )
    env = GameScore(env)
    if training:
        env = EpisodicLife(env)
    meanings = env.unwrapped.get_action_meanings()
    if len(meanings) >= 3 and meanings[1] == "FIRE":
        env = FireOnReset(env)
    if training:
        env = ClipReward(env)
    return gym.wrappers.FrameStackObservation(env, FRAME_STACK, padding_type="zero")


class VectorAtari:
    """``num_envs`` games of one Atari id stepped together by ale-py's ``AtariVectorEnv``
    (C++ threads), for throughput: the training loop acts on all of them in one batch.

    The same preprocessing as :func:`make_atari_env` (no-ops, frame skip 4 with max-pooling,
    84×84 grayscale, FIRE at the start of a game) and the same training semantics, done here
    because ``AtariVectorEnv``'s own ``episodic_life`` restarts the whole game:

    * a lost life is terminal for training (``dones``) and the next stack starts again from
      zeros, but the game goes on (unlike :class:`EpisodicLife`, no FIRE is pressed after a
      lost life: the agent chooses);
    * rewards are clipped to their sign; ``game_scores`` reports the true score of each game
      that ended;
    * after a game ends, ``AtariVectorEnv`` spends that environment's next step on its reset
      (the action is ignored): that step gives **no transition** (``valid`` is False).

    Frames are stacked here (zero-padded), ``(num_envs, 4, 84, 84)`` uint8.
    """

    def __init__(self, env_id: str, num_envs: int, noop_max: int = 30,
                 sticky_actions: float = 0.0):
        import ale_py
        from ale_py.vector_env import AtariVectorEnv

        if not is_atari(env_id):
            raise ValueError(f"env_id must be an ALE id like 'ALE/UpNDown-v5', got {env_id!r}")
        if isinstance(num_envs, bool) or not isinstance(num_envs, (int, np.integer)) or (
                num_envs < 1):
            raise ValueError(f"num_envs must be an int >= 1, got {num_envs!r}")
        gym.register_envs(ale_py)
        ale_py.ALEInterface.setLoggerMode(ale_py.LoggerMode.Error)
        try:
            game = gym.spec(env_id).kwargs["game"]
        except gym.error.Error as error:
            raise ValueError(f"unknown environment id {env_id!r} ({error})") from None
        self.num_envs = int(num_envs)
        self.env = AtariVectorEnv(
            game, self.num_envs, stack_num=1, img_height=FRAME_SIZE, img_width=FRAME_SIZE,
            grayscale=True, frameskip=4, maxpool=True, noop_max=int(noop_max),
            repeat_action_probability=float(sticky_actions), episodic_life=False,
            reward_clipping=False, use_fire_reset=True,
        )
        self.action_space = self.env.single_action_space
        self.observations = np.zeros((self.num_envs, FRAME_STACK, FRAME_SIZE, FRAME_SIZE),
                                     np.uint8)
        self._resetting = np.zeros(self.num_envs, dtype=bool)  # next step is a reset step
        self._lives = np.zeros(self.num_envs, dtype=np.int64)
        self._scores = np.zeros(self.num_envs)

    def _start_stacks(self, which: np.ndarray, frames: np.ndarray) -> None:
        self.observations[which] = 0
        self.observations[which, -1] = frames[which]

    def reset(self, seed: int) -> np.ndarray:
        """Start every game (seeds ``seed, seed + 1, ...``); returns the first stacks."""
        frames, info = self.env.reset(seed=int(seed))
        everyone = np.ones(self.num_envs, dtype=bool)
        self._start_stacks(everyone, frames[:, 0])
        self._resetting[:] = False
        self._lives[:] = info["lives"]
        self._scores[:] = 0.0
        return self.observations.copy()

    def step(self, actions: np.ndarray) -> dict:
        """Step every game; returns a dict of per-environment arrays: ``next_obs`` (the
        stacks after the step, for the transitions), ``rewards`` (clipped), ``dones`` (game
        over or life lost), ``truncated``, ``valid`` (False on reset steps: store nothing),
        and ``game_scores`` (true score where a game ended, NaN elsewhere).
        ``self.observations`` then holds the stacks to act on next (a new array each step,
        never changed afterwards: the caller may keep it)."""
        frames, rewards, terminated, truncated, info = self.env.step(
            np.asarray(actions, dtype=np.int64))
        frames = frames[:, 0]
        valid = ~self._resetting
        lives = np.asarray(info["lives"])
        game_over = valid & (terminated | truncated)
        life_lost = valid & ~game_over & (lives < self._lives)
        self._scores[valid] += rewards[valid]
        game_scores = np.where(game_over, self._scores, np.nan)

        next_obs = np.concatenate([self.observations[:, 1:], frames[:, None]], axis=1)
        self.observations = next_obs.copy()
        # A new stack (zeros, then the newest frame) after a lost life and on a reset step.
        self._start_stacks(life_lost | self._resetting, frames)
        self._scores[self._resetting] = 0.0
        self._lives = lives
        self._resetting = game_over.copy()
        return dict(next_obs=next_obs, rewards=np.sign(rewards).astype(np.float32),
                    dones=game_over & terminated | life_lost, truncated=game_over & truncated,
                    valid=valid, game_scores=game_scores, life_lost=life_lost)

    def close(self) -> None:
        self.env.close()
