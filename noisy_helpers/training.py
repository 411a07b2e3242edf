"""The training loop: step-based, with evaluation, metrics, TensorBoard and checkpoints.

Taught in ``notebooks/04_noisy_double_dqn.ipynb``.

``train(config, env_id, out)`` runs ``config.total_steps`` environment steps:

1. act (greedy on the noisy Q-values; ε-greedy only when ``config.noisy`` is False),
2. store the transition; ``done`` is *terminated* only, a time-limit truncation
   still bootstraps,
3. every ``train_frequency`` steps after ``learning_starts``: sample a batch
   (β annealed linearly from ``beta_start`` to ``beta_end`` over the run), one
   compiled gradient step, new priorities from |δ|; the agent then redraws the
   noise of both networks.  Before learning starts the noise is redrawn on the
   same rhythm, so that the replay is filled by many noisy policies, not one.
   (With ``noise_resample="episode"`` the noise is redrawn only when an episode
   starts, and ``stop_at_return`` ends the run at the first episode reaching it.)
4. every ``target_update_period`` steps: copy the online weights to the target,
5. every ``eval_period`` steps: evaluate over ``eval_episodes`` episodes with the
   noise removed (μ only) and, reported alongside, with the noise on as in
   training; the online network's noise and generator are restored afterwards
   (the noisy evaluation does redraw the target network's noise),
6. every ``checkpoint_period`` steps, at the end and on Ctrl-C or SIGTERM (``kill PID``):
   a checkpoint that :func:`train` with ``resume=True`` continues from.

On Atari (``ALE/...`` ids, :func:`~noisy_helpers.make_atari_env`) the same loop
trains on lives with clipped rewards, stores frames once
(:class:`~noisy_helpers.PrioritizedFrameReplayBuffer`), evaluates whole games with
their true scores, and writes each game's true score in the ``game_score`` column.
TensorFlow runs the networks on a GPU when it sees one.

Everything it writes lives in ``out``: ``metrics.csv`` (one row per finished
training episode and one per evaluation; no wall-clock values, so that the
same seed gives the same file), ``tensorboard/`` and ``checkpoint/``.
Nothing grows with the number of steps in memory.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .atari import VectorAtari, is_atari, make_atari_env
from .config import Config
from .frame_replay import FrameReplayBuffer, PrioritizedFrameReplayBuffer
from .replay import PrioritizedReplayBuffer, ReplayBuffer, linear_schedule

__all__ = ["train", "evaluate", "random_policy_returns", "make_env", "read_metrics",
           "export_agent", "load_run_state", "Run", "METRIC_FIELDS"]

#: The columns of ``metrics.csv`` that every run has; ``sigma/<layer>`` and
#: ``mu/<layer>`` (mean σ and mean |μ| of each noisy layer) follow them.
METRIC_FIELDS = [
    "step", "episode", "episode_return", "episode_length", "game_score", "eval_return",
    "eval_return_std", "eval_return_noisy", "loss", "beta", "epsilon",
]


def make_env(env_id: str, render_mode=None, training: bool = False, env_kwargs=None):
    """``gym.make(env_id, **env_kwargs)``, or :func:`~noisy_helpers.make_atari_env` for
    ``ALE/...`` ids (``training=True``: lives as episodes and clipped rewards; False: whole
    games with their true scores).  An unknown id raises ``ValueError`` naming it.
    ``env_kwargs``: the environment's own arguments, e.g. ``{"size": 10}`` for
    ``noisy_helpers/DeepSea-v0``."""
    import gymnasium as gym

    if not isinstance(env_id, str):
        raise TypeError(f"env_id must be a string, got {env_id!r}")
    env_kwargs = _check_env_kwargs(env_kwargs)
    if is_atari(env_id):
        return make_atari_env(env_id, training=training, render_mode=render_mode, **env_kwargs)
    try:
        env = gym.make(env_id, render_mode=render_mode, **env_kwargs)
    except gym.error.Error as error:
        raise ValueError(f"unknown environment id {env_id!r} ({error})") from None
    except TypeError as error:
        raise ValueError(f"bad env_kwargs {env_kwargs!r} for {env_id!r} ({error})") from None
    if not isinstance(env.action_space, gym.spaces.Discrete):
        env.close()
        raise ValueError(f"env {env_id!r} must have a Discrete action space, got {env.action_space}")
    return env


def _check_env_kwargs(env_kwargs) -> dict:
    """``env_kwargs`` as a dict with str keys (None: empty); saved in ``state.json``, so JSON."""
    if env_kwargs is None:
        return {}
    if not isinstance(env_kwargs, dict) or not all(isinstance(k, str) for k in env_kwargs):
        raise TypeError(f"env_kwargs must be a dict with str keys, got {env_kwargs!r}")
    try:
        json.dumps(env_kwargs)
    except TypeError:
        raise TypeError(f"env_kwargs must be JSON-serialisable, got {env_kwargs!r}") from None
    return dict(env_kwargs)


@dataclass
class Run:
    """What :func:`train` returns: the trained agent, its replay buffer and the run's directory."""

    agent: object
    buffer: object
    directory: Path
    env_id: str
    env_kwargs: dict = dataclasses.field(default_factory=dict)

    @property
    def metrics_path(self) -> Path:
        return self.directory / "metrics.csv"

    def metrics(self) -> dict:
        """``metrics.csv`` as a dict of float arrays (NaN where a row has no value)."""
        return read_metrics(self.metrics_path)


def read_metrics(path) -> dict:
    """Read a ``metrics.csv`` into ``{column: float array}``; empty cells become NaN."""
    with open(path, newline="") as file:
        rows = list(csv.DictReader(file))
        fields = rows[0].keys() if rows else []
    return {
        field: np.array([float(row[field]) if row[field] != "" else math.nan for row in rows])
        for field in fields
    }


# ----------------------------------------------------------------------------- evaluation
def _eval_seed(config: Config, evaluation: int, episode: int) -> int:
    # Each evaluation plays other start states, the same for every run of this seed.
    return 1_000_003 * (config.seed + 1) + 1_009 * evaluation + episode


def resample_every(config: Config) -> float:
    """Steps between noise draws when acting as in training: one gradient step
    (``train_frequency``) with ``noise_resample="step"``; never within an episode with
    ``"episode"`` (``math.inf``)."""
    return config.train_frequency if config.noise_resample == "step" else math.inf


def evaluate(agent, envs, seeds, noise: bool = False, resample_every: int = 1) -> np.ndarray:
    """Play one episode in each of ``envs`` (in lockstep, acting on the whole batch at once)
    and return their undiscounted returns.

    Args:
        agent: an :class:`~noisy_helpers.Agent`.
        envs: a list of environments, one episode each.
        seeds: a seed for each environment's reset.
        noise: False: the noise is removed (μ only, a deterministic greedy policy).
            True: acting as in training, the noise redrawn every ``resample_every`` steps.
            Either way, the online network's noise and generator are restored afterwards
            (with ``noise=True`` the target network's noise is redrawn, not restored).
    """
    if len(envs) != len(seeds):
        raise ValueError(f"need one seed per env, got {len(seeds)} seeds for {len(envs)} envs")
    returns = np.zeros(len(envs))
    observations = [env.reset(seed=int(seed))[0] for env, seed in zip(envs, seeds)]
    active = list(range(len(envs)))
    with agent.keep_noise():
        if noise:
            agent.reset_noise()
        else:
            agent.remove_noise()
        step = 0
        while active:
            actions = agent.greedy_actions(np.stack([observations[i] for i in active]))
            still_active = []
            for i, action in zip(active, actions):
                observations[i], reward, terminated, truncated, _ = envs[i].step(int(action))
                returns[i] += reward
                if not (terminated or truncated):
                    still_active.append(i)
            active = still_active
            step += 1
            if noise and step % resample_every == 0:
                agent.reset_noise()
    return returns


def random_policy_returns(envs, seeds, seed: int = 0) -> np.ndarray:
    """The returns of uniformly random actions, one episode in each of ``envs`` reset with
    ``seeds``: the baseline that Atari scores are compared with (same protocol as
    :func:`evaluate`)."""
    if len(envs) != len(seeds):
        raise ValueError(f"need one seed per env, got {len(seeds)} seeds for {len(envs)} envs")
    rng = np.random.default_rng(seed)
    returns = np.zeros(len(envs))
    for i, (env, env_seed) in enumerate(zip(envs, seeds)):
        env.reset(seed=int(env_seed))
        done = False
        while not done:
            _, reward, terminated, truncated, _ = env.step(int(rng.integers(env.action_space.n)))
            returns[i] += reward
            done = terminated or truncated
    return returns


# ----------------------------------------------------------------------------- checkpoints
def _save_checkpoint(directory: Path, agent, buffer, state: dict) -> None:
    """Write the checkpoint to a fresh folder, then swap it in: a crash mid-write never
    leaves a half-written checkpoint behind."""
    partial = directory.with_name(directory.name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)
    agent.save(partial)
    np.savez(partial / "replay.npz", **buffer.state_dict())
    (partial / "state.json").write_text(json.dumps(state, indent=1))
    old = directory.with_name(directory.name + ".old")
    if old.exists():  # left by a crash in the middle of an earlier swap
        shutil.rmtree(old)
    if directory.exists():
        directory.rename(old)
    partial.rename(directory)
    if old.exists():
        shutil.rmtree(old)


def load_run_state(run_directory) -> dict:
    """The ``state.json`` of a run's checkpoint (config, env id, counters)."""
    path = Path(run_directory) / "checkpoint" / "state.json"
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint in {str(run_directory)!r} ({path} missing)")
    return json.loads(path.read_text())


#: What :func:`export_agent` keeps of a run's checkpoint: enough to evaluate and watch it.
EXPORTED_FILES = ("online.weights.h5", "agent.json", "state.json")


def export_agent(run_directory, out) -> Path:
    """Copy what it takes to evaluate a trained agent, and nothing more, into ``out``:
    ``checkpoint/`` with the online network's weights, ``agent.json`` and ``state.json``
    (config and counters), plus the run's ``metrics.csv``.  Not the target network, the
    optimizer or the replay: an exported agent is for ``evaluate`` and videos, not
    for ``--resume``.  ``python -m noisy_helpers evaluate --run OUT`` reads it."""
    source = Path(run_directory) / "checkpoint"
    load_run_state(run_directory)  # a clear error when there is no checkpoint
    out = Path(out)
    if out.resolve() == Path(run_directory).resolve():
        raise ValueError(f"out must differ from run_directory, got {str(out)!r} for both")
    (out / "checkpoint").mkdir(parents=True, exist_ok=True)
    for name in EXPORTED_FILES:
        shutil.copyfile(source / name, out / "checkpoint" / name)
    if (Path(run_directory) / "metrics.csv").exists():
        shutil.copyfile(Path(run_directory) / "metrics.csv", out / "metrics.csv")
    return out


def _trim_metrics(path: Path, last_step: int) -> None:
    """Drop the rows written after the checkpoint that a resumed run continues from."""
    if not path.exists():
        return
    with open(path, newline="") as file:
        rows = list(csv.reader(file))
    kept = [rows[0]] + [row for row in rows[1:] if int(row[0]) <= last_step]
    with open(path, "w", newline="") as file:
        csv.writer(file).writerows(kept)


def _sigterm_raises_keyboard_interrupt():
    """Make SIGTERM (``kill PID``) raise ``KeyboardInterrupt`` like Ctrl-C, so that it too
    saves a checkpoint: a run in the background ignores SIGINT.  Returns a function that
    puts the previous handler back.  Only the main thread can set handlers."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    return lambda: signal.signal(signal.SIGTERM, previous)


# ----------------------------------------------------------------------------- the loop
class _Metrics:
    """Appends rows to metrics.csv and the same scalars to TensorBoard."""

    def __init__(self, directory: Path, fields: list, resume: bool, tensorboard: bool):
        self.fields = fields
        path = directory / "metrics.csv"
        new_file = not (resume and path.exists())
        self.file = open(path, "w" if new_file else "a", newline="")
        self.writer = csv.DictWriter(self.file, fieldnames=fields)
        if new_file:
            self.writer.writeheader()
        self.summary = None
        if tensorboard:
            import tensorflow as tf

            self.tf = tf
            self.summary = tf.summary.create_file_writer(str(directory / "tensorboard"))

    def write(self, row: dict) -> None:
        self.writer.writerow({k: _format(v) for k, v in row.items()})
        if self.summary is not None:
            with self.summary.as_default():
                for key, value in row.items():
                    if key not in ("step", "episode") and value is not None and not (
                        isinstance(value, float) and math.isnan(value)
                    ):
                        self.tf.summary.scalar(key, value, step=row["step"])

    def flush(self) -> None:
        """Write out what is buffered: a checkpoint's metrics must be on disk with it."""
        self.file.flush()
        if self.summary is not None:
            self.summary.flush()

    def close(self) -> None:
        self.file.close()
        if self.summary is not None:
            self.summary.close()


def _format(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return value


def train(
    config: Config,
    env_id: str = "CartPole-v1",
    out=None,
    resume: bool = False,
    progress: bool = True,
    tensorboard: bool = True,
    env_kwargs=None,
) -> Run:
    """Train a (Noisy) (Double) DQN agent on ``env_id``; return a :class:`Run`.

    Args:
        config: the run's settings.
        env_id: a gymnasium id with a Discrete action space and vector observations, or an
            Atari id (``"ALE/UpNDown-v5"``, with ``Config.atari()``).
        out: the run's directory (created); ``None`` makes a temporary one.  A new run (not
            ``resume``) into an existing directory replaces its metrics and TensorBoard logs.
        resume: continue from ``out/checkpoint``.  The config must equal the saved one,
            except ``total_steps``, which may be raised to train longer.
        progress: show a tqdm progress bar.
        tensorboard: also write TensorBoard scalars to ``out/tensorboard``.
        env_kwargs: arguments of the environment (``gym.make(env_id, **env_kwargs)``), saved
            with the checkpoint, e.g. ``{"size": 10}`` for ``noisy_helpers/DeepSea-v0``.
    """
    if not isinstance(config, Config):
        raise TypeError(f"config must be a noisy_helpers.Config, got {type(config).__name__}")
    if out is None:
        import tempfile

        out = tempfile.mkdtemp(prefix="noisy_run_")
    out = Path(out)
    env_kwargs = _check_env_kwargs(env_kwargs)
    saved = None
    if resume:
        saved = load_run_state(out)
        saved_config = Config.from_dict(saved["config"])
        differing = sorted(
            k for k, v in config.to_dict().items()
            if k != "total_steps" and saved_config.to_dict()[k] != v
        )
        if differing:
            raise ValueError(
                f"resume: config differs from the checkpoint's in {differing}; only "
                f"total_steps may change"
            )
        if saved["env_id"] != env_id:
            raise ValueError(f"resume: env_id {env_id!r} differs from the checkpoint's "
                             f"{saved['env_id']!r}")
        if saved.get("env_kwargs", {}) != env_kwargs:
            raise ValueError(f"resume: env_kwargs {env_kwargs!r} differ from the checkpoint's "
                             f"{saved.get('env_kwargs', {})!r}")
    atari = is_atari(env_id)
    if atari != (config.network == "nature"):
        raise ValueError(
            f"config.network is {config.network!r} but env {env_id!r} needs "
            f"{'nature' if atari else 'mlp'!r}"
            + (" (use Config.atari() for Atari)" if atari else "")
        )
    if config.num_envs > 1 and not atari:
        raise ValueError(f"config.num_envs > 1 (got {config.num_envs}) needs an Atari env, "
                         f"got {env_id!r}")
    if config.buffer_size % config.num_envs:
        raise ValueError(f"config.buffer_size ({config.buffer_size}) must be a multiple of "
                         f"config.num_envs ({config.num_envs}): each game has its own ring")
    if env_kwargs and config.num_envs > 1:
        raise ValueError(f"env_kwargs need one env (num_envs=1): ale-py's vector env takes "
                         f"none, got {env_kwargs!r} with num_envs={config.num_envs}")
    if config.noise_resample == "episode" and config.num_envs > 1:
        raise ValueError("config.noise_resample='episode' needs one env (num_envs=1): the "
                         f"games of a vector env start their episodes at different steps, "
                         f"got num_envs={config.num_envs}")
    # Validates env_id and env_kwargs before anything is written.
    env = make_env(env_id, training=True, env_kwargs=env_kwargs)
    out.mkdir(parents=True, exist_ok=True)
    if saved is None and (out / "tensorboard").exists():
        shutil.rmtree(out / "tensorboard")  # a new run: no curves of an old one underneath

    import keras

    from .agent import Agent

    keras.utils.set_random_seed(config.seed)
    obs_space = env.observation_space
    agent = Agent(config, obs_space.shape, env.action_space.n, obs_space.dtype)
    buffer_kwargs = dict(alpha=config.alpha, eps=config.priority_eps) if config.prioritized else {}
    if atari:  # each frame stored once, stacks rebuilt at sample time
        buffer_type = PrioritizedFrameReplayBuffer if config.prioritized else FrameReplayBuffer
        buffer = buffer_type(config.buffer_size, frame_shape=obs_space.shape[1:],
                             stack_size=obs_space.shape[0], frame_dtype=obs_space.dtype,
                             seed=config.seed, streams=config.num_envs, **buffer_kwargs)
    else:
        buffer_type = PrioritizedReplayBuffer if config.prioritized else ReplayBuffer
        buffer = buffer_type(config.buffer_size, obs_space.shape, obs_space.dtype,
                             seed=config.seed, **buffer_kwargs)
    beta = linear_schedule(config.beta_start, config.beta_end, config.total_steps)
    eval_envs = [make_env(env_id, env_kwargs=env_kwargs) for _ in range(config.eval_episodes)]
    vector_env = VectorAtari(env_id, config.num_envs) if config.num_envs > 1 else None

    step, episode, evaluation = 0, 0, 0
    if saved is not None:
        agent.load(out / "checkpoint")
        with np.load(out / "checkpoint" / "replay.npz", allow_pickle=False) as arrays:
            buffer.load_state_dict(dict(arrays))
        step, episode, evaluation = saved["step"], saved["episode"], saved["evaluation"]
        _trim_metrics(out / "metrics.csv", step)

    noise_fields = sorted(agent.noise_statistics())
    metrics = _Metrics(out, METRIC_FIELDS + noise_fields, resume=saved is not None,
                       tensorboard=tensorboard)
    loss_sum, loss_count = 0.0, 0

    def state() -> dict:
        return dict(config=config.to_dict(), env_id=env_id, env_kwargs=env_kwargs, step=step,
                    episode=episode, evaluation=evaluation)

    def epsilon() -> float:
        return math.nan if config.noisy else agent.epsilon(step)

    def row(**values) -> dict:
        nonlocal loss_sum, loss_count
        values = dict(step=step, episode=episode, beta=beta(step), epsilon=epsilon(),
                      loss=loss_sum / loss_count if loss_count else math.nan, **values)
        loss_sum, loss_count = 0.0, 0
        values.update(agent.noise_statistics())
        return values

    from tqdm.auto import tqdm

    bar = tqdm(total=config.total_steps, initial=step, disable=not progress,
               desc=f"{env_id} seed {config.seed}", unit="step", mininterval=1.0)

    per_episode_noise = config.noise_resample == "episode"
    reached_stop = False

    def end_episode(episode_return: float, episode_length: int, game_score: float) -> None:
        nonlocal episode, reached_stop
        episode += 1
        metrics.write(row(episode_return=episode_return, episode_length=episode_length,
                          game_score=game_score))
        if config.stop_at_return is not None and episode_return >= config.stop_at_return:
            reached_stop = True
        if per_episode_noise:
            agent.reset_noise()  # one noise sample, one perturbed policy, per episode

    def after_step() -> None:
        """The periodic work that follows every agent step (``step`` is already counted)."""
        nonlocal evaluation, loss_sum, loss_count
        if step % config.train_frequency == 0:
            if step > config.learning_starts and len(buffer) >= config.batch_size:
                batch = buffer.sample(config.batch_size, beta(step))
                loss, abs_td = agent.train_step(batch)  # also redraws the noise
                buffer.update_priorities(batch.indices, abs_td)
                loss_sum += loss
                loss_count += 1
            elif not per_episode_noise:
                agent.reset_noise()  # warm-up: same noise rhythm as training
        if step % config.target_update_period == 0:
            agent.sync_target()
        if step % config.eval_period == 0:
            evaluation += 1
            seeds = [_eval_seed(config, evaluation, i) for i in range(len(eval_envs))]
            greedy = evaluate(agent, eval_envs, seeds, noise=False)
            noisy = evaluate(agent, eval_envs, seeds, noise=True,
                             resample_every=resample_every(config))
            metrics.write(row(eval_return=float(greedy.mean()),
                              eval_return_std=float(greedy.std()),
                              eval_return_noisy=float(noisy.mean())))
            bar.set_postfix(eval=f"{greedy.mean():.1f}", refresh=False)
        if step % config.checkpoint_period == 0:
            metrics.flush()
            _save_checkpoint(out / "checkpoint", agent, buffer, state())
        bar.update(1)

    # Every (re)start begins fresh episodes, from a seed that depends on where it starts.
    start_seed = config.seed * 1_000_003 + step
    restore_sigterm = _sigterm_raises_keyboard_interrupt()
    try:
        if vector_env is None:
            obs, _ = env.reset(seed=start_seed)
            env.action_space.seed(config.seed)
            episode_return, episode_length = 0.0, 0
            while step < config.total_steps and not reached_stop:
                action = agent.act(obs, step)
                next_obs, reward, terminated, truncated, info = env.step(action)
                # Only termination ends bootstrapping; a time-limit truncation does not.
                buffer.add(obs, action, reward, next_obs, terminated, truncated=truncated)
                obs = next_obs
                episode_return += float(reward)
                episode_length += 1
                step += 1
                if terminated or truncated:
                    end_episode(episode_return, episode_length,
                                info.get("game_score", math.nan))
                    obs, _ = env.reset()
                    episode_return, episode_length = 0.0, 0
                after_step()
        else:  # num_envs games side by side: one batched action per step of all of them
            observations = vector_env.reset(seed=start_seed)
            returns = np.zeros(config.num_envs)
            lengths = np.zeros(config.num_envs, dtype=np.int64)
            while step < config.total_steps and not reached_stop:
                actions = agent.act_batch(observations, step)
                result = vector_env.step(actions)
                for i in range(config.num_envs):
                    if step >= config.total_steps:
                        break
                    step += 1  # a reset step spends frames too: it counts
                    if result["valid"][i]:  # never store a reset step
                        ended = bool(result["dones"][i] or result["truncated"][i])
                        buffer.add(observations[i], int(actions[i]), float(result["rewards"][i]),
                                   result["next_obs"][i], bool(result["dones"][i]),
                                   truncated=bool(result["truncated"][i]), stream=i)
                        returns[i] += result["rewards"][i]
                        lengths[i] += 1
                        if ended:
                            end_episode(float(returns[i]), int(lengths[i]),
                                        float(result["game_scores"][i]))
                            returns[i], lengths[i] = 0.0, 0
                    after_step()
                observations = vector_env.observations  # a new array every step
    except KeyboardInterrupt:
        metrics.close()
        _save_checkpoint(out / "checkpoint", agent, buffer, state())
        bar.close()
        print(f"Interrupted at step {step}; checkpoint saved in {out / 'checkpoint'} "
              f"(continue with resume=True / --resume).")
        raise
    finally:
        restore_sigterm()
    metrics.close()
    bar.close()
    if step % config.checkpoint_period != 0:
        _save_checkpoint(out / "checkpoint", agent, buffer, state())
    env.close()
    if vector_env is not None:
        vector_env.close()
    for eval_env in eval_envs:
        eval_env.close()
    return Run(agent=agent, buffer=buffer, directory=out, env_id=env_id, env_kwargs=env_kwargs)
