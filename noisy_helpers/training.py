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
   starts, and ``stop_at_return`` ends the run at the first episode reaching it;
   with ``noise_resample=k`` after every ``k``-th agent step instead.)
4. every ``target_update_period`` steps: copy the online weights to the target (or, with
   ``target_update_tau`` < 1, move the target a step τ toward them: Polyak averaging),
5. every ``eval_period`` steps: evaluate over ``eval_episodes`` episodes with the
   noise removed (μ only) and, reported alongside, with the noise on as in
   training; the online network's noise and generator are restored afterwards
   (the noisy evaluation does redraw the target network's noise),
6. every ``checkpoint_period`` steps, at the end and on Ctrl-C or SIGTERM (``kill PID``):
   a checkpoint that :func:`train` with ``resume=True`` continues from,
7. after an evaluation at least as good as the best agent so far: a check on
   ``best_check_episodes`` more greedy episodes; if the mean over the evaluation's and the
   check's episodes is at least the best's, the agent in ``best/`` (with
   ``selection.json``: its step, evaluation and check), so that a run whose policy later
   degrades still ends with its best agent.

On Atari (``ALE/...`` ids, :func:`~noisy_helpers.make_atari_env`) the same loop
trains on lives with clipped rewards, stores frames once
(:class:`~noisy_helpers.PrioritizedFrameReplayBuffer`), evaluates whole games with
their true scores, and writes each game's true score in the ``game_score`` column.
TensorFlow runs the networks on a GPU when it sees one.

Everything it writes lives in ``out``, a run folder (:mod:`noisy_helpers.run_folder`:
what may be written where, verified checkpoints, no row lost): ``run.json``,
``metrics.csv`` (one row per finished training episode and one per evaluation; no
wall-clock values, so that the same seed gives the same file), ``tensorboard/``,
``checkpoint/`` and ``best/``.  A stop lands between whole steps
(:mod:`noisy_helpers.interrupts`).
Nothing grows with the number of steps in memory.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import run_folder
from .atari import VectorAtari, is_atari, make_atari_env
from .config import EVALUATION_SEED_BLOCK, Config
from .frame_replay import FrameReplayBuffer, PrioritizedFrameReplayBuffer
from .n_step import NStepQueue
from .interrupts import StopRequests
from .replay import PrioritizedReplayBuffer, ReplayBuffer, linear_schedule
from .run_folder import export_agent, read_metrics

__all__ = ["train", "evaluate", "random_policy_returns", "make_env", "read_metrics",
           "export_agent", "load_run_state", "load_agent", "load_snapshot", "Run",
           "METRIC_FIELDS", "DIAGNOSTIC_FIELDS"]

#: The columns of ``metrics.csv`` that every run has; ``sigma/<layer>`` and
#: ``mu/<layer>`` (mean σ and mean |μ| of each noisy layer) follow them.
METRIC_FIELDS = [
    "step", "episode", "episode_return", "episode_length", "game_score", "eval_return",
    "eval_return_std", "eval_return_noisy", "loss", "beta", "epsilon",
]
#: What the replay and the noise do, logged after :data:`METRIC_FIELDS` (runs written before
#: these existed resume without them): the mean and the smallest IS weight of the batches
#: since the previous row; the stored priorities' mean and smallest, and the largest given so
#: far (what a new transition gets); and, at evaluations, the share of replayed states whose
#: greedy action the noise flips (:meth:`~noisy_helpers.Agent.noise_flip_share`).
DIAGNOSTIC_FIELDS = [
    "is_weight_mean", "is_weight_min", "priority_mean", "priority_min", "priority_max",
    "noise_flip_share",
]
#: States (spread evenly over the replay) on which ``noise_flip_share`` is measured, and the
#: noise draws per state.
FLIP_STATES, FLIP_DRAWS = 256, 16


def make_env(env_id: str, render_mode=None, training: bool = False, env_kwargs=None,
             sticky_actions: float = 0.0):
    """``gym.make(env_id, **env_kwargs)``, or :func:`~noisy_helpers.make_atari_env` for
    ``ALE/...`` ids (``training=True``: lives as episodes and clipped rewards; False: whole
    games with their true scores).  An unknown id raises ``ValueError`` naming it.
    ``env_kwargs``: the environment's own arguments, e.g. ``{"size": 10}`` for
    ``noisy_helpers/DeepSea-v0``.  ``sticky_actions`` (Atari only): the probability that the
    emulator repeats the previous action (0, the default: the papers' deterministic emulator
    with up to 30 no-op starts; 0.25: Machado et al. 2018, every game its own)."""
    import gymnasium as gym

    run_folder.check_env_id(env_id)
    env_kwargs = run_folder.check_env_kwargs(env_kwargs)
    if isinstance(sticky_actions, bool) or not isinstance(sticky_actions, (int, float)):
        raise TypeError(f"sticky_actions must be a number in [0, 1], got {sticky_actions!r}")
    if not 0.0 <= sticky_actions <= 1.0:
        raise ValueError(f"sticky_actions must be a probability in [0, 1], got {sticky_actions!r}")
    if sticky_actions and not is_atari(env_id):
        raise ValueError(f"sticky_actions is for Atari (ALE/...) ids, got {sticky_actions!r} "
                         f"with env_id {env_id!r}")
    if is_atari(env_id):
        if sticky_actions:
            if "sticky_actions" in env_kwargs:
                raise ValueError(f"sticky_actions is given twice: {sticky_actions!r} and "
                                 f"env_kwargs {env_kwargs!r}")
            env_kwargs = dict(env_kwargs, sticky_actions=float(sticky_actions))
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


# ----------------------------------------------------------------------------- evaluation
def _eval_seed(config: Config, evaluation: int, episode: int) -> int:
    # Each evaluation plays other start states, the same for every run of this seed: episodes
    # 0..eval_episodes-1, then its best-agent check's (Config keeps both inside one block).
    return 1_000_003 * (config.seed + 1) + EVALUATION_SEED_BLOCK * evaluation + episode


def resample_every(config: Config) -> float:
    """Steps between noise draws when acting as in training: one gradient step
    (``train_frequency``) with ``noise_resample="step"``; ``k`` with ``noise_resample=k``;
    never within an episode with ``"episode"`` (``math.inf``)."""
    if config.noise_resample == "step":
        return config.train_frequency
    return math.inf if config.noise_resample == "episode" else config.noise_resample


def _check_seeds(config: Config, evaluation: int) -> list:
    """The start-state seeds of an evaluation's best-agent check: the ``best_check_episodes``
    episodes that follow the evaluation's own in its block."""
    return [_eval_seed(config, evaluation, config.eval_episodes + i)
            for i in range(config.best_check_episodes)]


def _best_selection(step: int, greedy: np.ndarray, check: np.ndarray | None) -> dict:
    """The selection of an agent that may become the best: its evaluation's greedy returns
    and, when it played one, its check's; ranked by the mean over both together."""
    if check is None:
        return run_folder.selection_for("best", step, greedy.mean())
    return run_folder.selection_for("best", step, greedy.mean(), check_return=check.mean(),
                                    selection_return=np.concatenate([greedy, check]).mean())


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
def _save_checkpoint(directory: Path, agent, state: dict, buffer=None,
                     selection: dict | None = None) -> None:
    """The agent, ``state`` and the replay (a training checkpoint) or ``selection.json`` (the
    best agent, ``best/``) as a verified checkpoint (see
    :func:`~noisy_helpers.run_folder.save_checkpoint`: a crash mid-write never leaves a
    half-written checkpoint behind)."""

    def write(folder: Path) -> None:
        agent.save(folder)
        if buffer is not None:
            np.savez(folder / "replay.npz", **buffer.state_dict())
        if selection is not None:
            (folder / run_folder.SELECTION).write_text(json.dumps(selection, indent=1))

    run_folder.save_checkpoint(directory, write, state)


def _best_so_far(out: Path, run_id: str):
    """The verified checkpoint of the run's best agent when resuming and its selection, or
    ``(None, None)`` when there is none yet.  A damaged ``best/``, or one of another run, is
    refused, not overwritten."""
    try:
        best = run_folder.find_checkpoint(out, run_folder.BEST_FILES, name=run_folder.BEST)
        selection = run_folder.read_selection(best)
        other_run = run_folder.read_state(best)["run_id"] != run_id
    except FileNotFoundError:
        return None, None
    except ValueError as error:
        raise ValueError(f"resume: the best agent's checkpoint is damaged ({error}); move "
                         f"{str(out / run_folder.BEST)!r} away to resume") from None
    if other_run:
        raise ValueError(f"resume: {str(best)!r} holds the best agent of another run (run ids "
                         f"differ); move it away to resume")
    return best, selection


def load_run_state(run_directory) -> dict:
    """The ``state.json`` of a run's checkpoint (config as a dict, env id, env arguments,
    counters), verified against the checkpoint's manifest and validated."""
    run_directory = run_folder.require_run_folder(run_directory, "run_directory")
    checkpoint = run_folder.find_checkpoint(run_directory, run_folder.EXPORTED_FILES)
    state = run_folder.read_state(checkpoint)
    return dict(state, config=state["config"].to_dict())


def load_agent(run_directory, which=None):
    """The trained agent of a run (or an exported agent), ready to act: ``which="best"`` (the
    default in a run folder) is its best agent (``best/``), ``"last"`` its
    latest checkpoint.  Verified before loading.  Returns ``(agent, selection, state)``:
    ``selection`` says which agent it is (``which``, ``step``, ``eval_return``), ``state`` is
    the checkpoint's validated ``state.json`` (config, env id, env arguments, counters)."""
    checkpoint, selection = run_folder.find_agent(run_directory, which)
    agent, state = _agent_of(checkpoint)
    return agent, selection, state


def load_snapshot(run_directory, step):
    """The agent of a run as it was after ``step`` agent steps, from the run's
    ``snapshots/step_<step>/`` (written by ``train(..., snapshot_steps=...)``), verified before
    loading.  Returns ``(agent, state)`` like :func:`load_agent` (without a selection)."""
    run_directory = run_folder.require_run_folder(run_directory, "run_directory")
    if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step < 0:
        raise ValueError(f"step must be an int >= 0, got {step!r}")
    folder = run_directory / run_folder.SNAPSHOTS
    try:
        checkpoint = run_folder.find_checkpoint(folder, run_folder.EXPORTED_FILES,
                                                name=f"step_{int(step)}")
    except FileNotFoundError:
        taken = sorted(p.name for p in folder.glob("step_*")) if folder.is_dir() else []
        raise FileNotFoundError(f"no snapshot of step {int(step)} in {str(run_directory)!r} "
                                f"(it has {taken or 'none'}; train with snapshot_steps)") from None
    return _agent_of(checkpoint)


def _agent_of(checkpoint: Path):
    """The agent of a verified checkpoint folder, and its ``state.json``."""
    from .agent import Agent

    state = run_folder.read_state(checkpoint)
    env = make_env(state["env_id"], env_kwargs=state["env_kwargs"])
    try:
        space = env.observation_space
        agent = Agent(state["config"], space.shape, env.action_space.n, space.dtype)
    finally:
        env.close()
    run_folder.load_checkpoint(checkpoint, agent, verify=False)  # verified by find_checkpoint
    return agent, state


# ----------------------------------------------------------------------------- the loop
def _tensorboard_writer(directory: Path):
    import tensorflow as tf

    return tf.summary.create_file_writer(str(directory / "tensorboard"))


def _log_scalars(summary, row: dict) -> None:
    import tensorflow as tf

    with summary.as_default():
        for key, value in row.items():
            if key not in ("step", "episode") and value is not None and not (
                isinstance(value, float) and math.isnan(value)
            ):
                tf.summary.scalar(key, value, step=row["step"])


def _check_train_arguments(config, env_id, env_kwargs, resume, saved) -> dict:
    """Every check of :func:`train` that needs no environment; returns ``env_kwargs``."""
    if not isinstance(config, Config):
        raise TypeError(f"config must be a noisy_helpers.Config, got {type(config).__name__}")
    run_folder.check_env_id(env_id)
    env_kwargs = run_folder.check_env_kwargs(env_kwargs)
    if saved is not None:
        saved_config = saved["config"].to_dict()
        differing = sorted(k for k, v in config.to_dict().items()
                           if k != "total_steps" and saved_config[k] != v)
        if differing:
            raise ValueError(f"resume: config differs from the checkpoint's in {differing}; "
                             f"only total_steps may change")
        if saved["env_id"] != env_id:
            raise ValueError(f"resume: env_id {env_id!r} differs from the checkpoint's "
                             f"{saved['env_id']!r}")
        if saved["env_kwargs"] != env_kwargs:
            raise ValueError(f"resume: env_kwargs {env_kwargs!r} differ from the checkpoint's "
                             f"{saved['env_kwargs']!r}")
        pending = saved["evaluation"] < saved["step"] // config.eval_period
        if config.total_steps <= saved["step"] and not pending:
            raise ValueError(f"resume: the run is at step {saved['step']}; total_steps "
                             f"{config.total_steps} would train nothing (ask for more)")
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
    return env_kwargs


def _read_warm_start(warm_start, config: Config, env_id: str, env_kwargs: dict) -> dict:
    """The exported agent a new run starts from, checked before anything is built: an export
    (``python -m noisy_helpers export``) of the same environment and arguments, at a step
    below ``config.total_steps``.  Returns ``{"checkpoint": folder, "state": its state,
    "record": what the new run's ``state.json`` says of it}``."""
    if not isinstance(warm_start, (str, Path)):
        raise TypeError(f"warm_start must be a path to an exported agent, got "
                        f"{type(warm_start).__name__}")
    directory = run_folder.require_run_folder(warm_start, "warm_start")
    if run_folder.read_marker(directory)["kind"] != "export":
        raise ValueError(f"warm_start must be an exported agent (python -m noisy_helpers "
                         f"export), got the run folder {str(directory)!r}; continue a run "
                         f"with its replay by resume=True / --resume")
    checkpoint, selection = run_folder.find_agent(directory)
    state = run_folder.read_state(checkpoint)
    if state["env_id"] != env_id:
        raise ValueError(f"warm_start: the agent in {str(directory)!r} was trained on "
                         f"{state['env_id']!r}, not env_id {env_id!r}")
    if state["env_kwargs"] != env_kwargs:
        raise ValueError(f"warm_start: the agent's env_kwargs {state['env_kwargs']!r} differ "
                         f"from env_kwargs {env_kwargs!r}")
    if config.total_steps <= state["step"]:
        raise ValueError(f"warm_start: the agent is at step {state['step']}; total_steps "
                         f"{config.total_steps} would train nothing (ask for more)")
    metrics = directory / "metrics.csv"
    columns = read_metrics(metrics) if metrics.is_file() else {}  # refuses a malformed file
    whole = all((checkpoint / name).is_file() for name in run_folder.TRAINING_STATE_FILES)
    record = dict(source=str(directory), run_id=state["run_id"], step=state["step"],
                  which=selection["which"], optimizer="loaded" if whole else "fresh",
                  replay="refilled")
    return dict(checkpoint=checkpoint, state=state, record=record, metrics=columns)


def _write_warm_start_metrics(out: Path, columns: dict, fields: list, step: int) -> None:
    """``out/metrics.csv`` begins with the exported run's rows (``columns``, from
    :func:`read_metrics`) up to ``step``, in this run's columns (one the export lacks stays
    empty), so that the learning curve runs on."""
    metrics = run_folder.MetricsFile(out / "metrics.csv", fields)
    for i in range(len(columns.get("step", ()))):
        if columns["step"][i] <= step:
            metrics.write({f: float(columns[f][i]) for f in fields if f in columns})
    metrics.close()


def _check_snapshot_steps(snapshot_steps, total_steps: int) -> frozenset:
    """``snapshot_steps`` (a tuple or list of ints in [0, total_steps]) as a set."""
    if not isinstance(snapshot_steps, (tuple, list)):
        raise TypeError(f"snapshot_steps must be a tuple or list of ints, got "
                        f"{type(snapshot_steps).__name__} {snapshot_steps!r}"[:160])
    for step in snapshot_steps:
        if isinstance(step, bool) or not isinstance(step, (int, np.integer)):
            raise TypeError(f"snapshot_steps must hold ints, got {step!r}"[:160])
        if not 0 <= step <= total_steps:
            raise ValueError(f"snapshot_steps must be in [0, total_steps={total_steps}], "
                             f"got {step}")
    return frozenset(int(step) for step in snapshot_steps)


def _make_buffer(config: Config, obs_space, n_actions: int, atari: bool):
    """The replay of ``config``: frames stored once on Atari, whole observations elsewhere."""
    kwargs = (dict(alpha=config.alpha, eps=config.priority_eps,
                   normalise=config.importance_normalise) if config.prioritized else {})
    if atari:  # stacks of frames: each frame stored once
        buffer_type = PrioritizedFrameReplayBuffer if config.prioritized else FrameReplayBuffer
        return buffer_type(config.buffer_size, frame_shape=obs_space.shape[1:],
                           stack_size=obs_space.shape[0], frame_dtype=obs_space.dtype,
                           seed=config.seed, streams=config.num_envs, n_actions=n_actions,
                           **kwargs)
    buffer_type = PrioritizedReplayBuffer if config.prioritized else ReplayBuffer
    return buffer_type(config.buffer_size, obs_space.shape, obs_space.dtype, seed=config.seed,
                       n_actions=n_actions, **kwargs)


def train(
    config: Config,
    env_id: str = "CartPole-v1",
    out=None,
    resume: bool = False,
    progress: bool = True,
    tensorboard: bool = True,
    env_kwargs=None,
    overwrite: bool = False,
    snapshot_steps=(),
    warm_start=None,
) -> Run:
    """Train a (Noisy) (Double) DQN agent on ``env_id``; return a :class:`Run`.

    Args:
        config: the run's settings.
        env_id: a registered gymnasium id with a Discrete action space and vector
            observations, or an Atari id (``"ALE/UpNDown-v5"``, with ``Config.atari()``).
        out: the run's folder: absent or empty (a new run), or a run of this package
            (``resume`` or ``overwrite``); ``None`` makes a temporary one.  Any other
            non-empty folder is refused (see :mod:`noisy_helpers.run_folder`).
        resume: continue from ``out``'s checkpoint.  The config must equal the saved one,
            except ``total_steps``, which must be raised beyond the saved step.
        progress: show a tqdm progress bar.
        tensorboard: also write TensorBoard scalars to ``out/tensorboard``.
        env_kwargs: arguments of the environment (``gym.make(env_id, **env_kwargs)``), saved
            with the checkpoint, e.g. ``{"size": 10}`` for ``noisy_helpers/DeepSea-v0``.
        overwrite: replace the run already in ``out`` (its own files only).
        snapshot_steps: agent steps (0: before the first) after which the agent is also kept,
            in ``out/snapshots/step_<N>/`` (load it with :func:`load_snapshot`), e.g. to see
            how its Q-values and its noise change over training.  Saving reads the agent and
            changes nothing in the run.
        warm_start: an exported agent (``python -m noisy_helpers export``) that a new run
            starts from, when its run's checkpoint and replay are gone: its online weights
            go to both networks (each keeps noise of its own), the step, episode and
            evaluation counts (so the β schedule) go on from its step, Adam starts fresh
            (unless the export has the training state: ``export --with-optimizer``, whose
            target network, Adam state and noise are then loaded too; a learning-rate
            schedule counts Adam's updates, so with a fresh Adam it starts again), and learning
            waits until ``config.learning_starts`` new transitions have refilled the replay.
            ``metrics.csv`` begins with the export's rows; ``state.json`` records the start.

    Everything is checked, and the environment, agent and buffer are built, before the first
    byte is written to or deleted from ``out``.
    """
    if out is None:
        import tempfile

        out = tempfile.mkdtemp(prefix="noisy_run_")
    mode = run_folder.check_out_folder(out, overwrite=overwrite, resume=resume)
    out = Path(out)
    # One writer at a time: from here to the end of the run the folder is locked, and it is
    # checked again once locked (run_folder.claim_run_folder).
    with run_folder.claim_run_folder(out, mode, overwrite=overwrite, resume=resume):
        return _train_in(config, env_id, out, mode, progress, tensorboard, env_kwargs,
                         snapshot_steps, warm_start)


def _train_in(config, env_id, out, mode, progress, tensorboard, env_kwargs, snapshot_steps,
              warm_start) -> Run:
    """:func:`train`'s work, in a folder it holds (``mode``: :func:`run_folder.check_out_folder`'s
    answer): everything is checked, and the environment, agent and buffer are built, before the
    first write (``start_run_folder``)."""
    saved = checkpoint = None
    if mode == "resume":
        checkpoint = run_folder.find_checkpoint(out)
        saved = run_folder.read_state(checkpoint)
        if saved["run_id"] != run_folder.read_marker(out)["run_id"]:
            raise ValueError(f"resume: the checkpoint in {str(checkpoint)!r} belongs to another "
                             f"run than {str(out / run_folder.MARKER)!r} (run ids differ)")
    env_kwargs = _check_train_arguments(config, env_id, env_kwargs, mode == "resume", saved)
    warm = None
    if warm_start is not None:
        if mode == "resume":
            raise ValueError("warm_start and resume exclude each other: a resumed run already "
                             "has its agent")
        warm = _read_warm_start(warm_start, config, env_id, env_kwargs)
        if out.resolve() == Path(warm["record"]["source"]).resolve():
            raise ValueError(f"out must differ from warm_start, got {str(out)!r} for both")
    snapshot_steps = _check_snapshot_steps(snapshot_steps, config.total_steps)
    best_checkpoint, best = (None, None) if saved is None else _best_so_far(out, saved["run_id"])
    env = make_env(env_id, training=True, env_kwargs=env_kwargs)

    import keras

    from .agent import Agent

    keras.utils.set_random_seed(config.seed)
    obs_space = env.observation_space
    agent = Agent(config, obs_space.shape, env.action_space.n, obs_space.dtype)
    buffer = _make_buffer(config, obs_space, int(env.action_space.n), is_atari(env_id))
    if saved is not None:
        if checkpoint.name != "checkpoint":  # a crash mid-swap: move the copy back first
            checkpoint = run_folder.find_checkpoint(out, recover=True)
        run_folder.load_checkpoint(checkpoint, agent, buffer, verify=False)  # verified above
        if best_checkpoint is not None and best_checkpoint.name != run_folder.BEST:
            run_folder.find_checkpoint(out, run_folder.BEST_FILES, recover=True,
                                       name=run_folder.BEST)
    if warm is not None:  # all the agent (export --with-optimizer), or its online net only:
        # then the target as after a sync, and Adam fresh
        agent.load(warm["checkpoint"], weights_only=warm["record"]["optimizer"] == "fresh",
                   verify=False)  # verified above
        step = warm["state"]["step"]  # evaluations numbered as this config's eval_period allows
        evaluation = min(warm["state"]["evaluation"], step // config.eval_period)
        saved = dict(warm["state"], evaluation=evaluation, warm_start=warm["record"])
    eval_envs = [make_env(env_id, env_kwargs=env_kwargs) for _ in range(config.eval_episodes)]
    vector_env = VectorAtari(env_id, config.num_envs) if config.num_envs > 1 else None
    marker = run_folder.start_run_folder(out, mode)  # the first write
    if warm is not None:
        _write_warm_start_metrics(out, warm["metrics"], _metric_fields(agent), saved["step"])
    loop = _Loop(config, env_id, env_kwargs, out, agent, buffer, eval_envs, saved, best,
                 marker["run_id"], progress, tensorboard, snapshot_steps)
    try:
        if vector_env is None:
            loop.run_single(env)
        else:
            loop.run_vector(vector_env)
    finally:
        env.close()
        if vector_env is not None:
            vector_env.close()
        for eval_env in eval_envs:
            eval_env.close()
    return Run(agent=agent, buffer=buffer, directory=out, env_id=env_id, env_kwargs=env_kwargs)


def _priority_statistics(buffer) -> dict:
    """The mean and smallest stored priority, and the largest given so far (empty: none)."""
    if not len(buffer):
        return {}
    tree = buffer.tree  # applies the queued writes: the same tree, read earlier
    return dict(priority_mean=tree.total / len(buffer), priority_min=tree.smallest_positive(),
                priority_max=buffer.max_priority)


def _replay_states(buffer, count: int = FLIP_STATES) -> np.ndarray:
    """Up to ``count`` stored observations, spread evenly over the replay (no random draw:
    the buffer's generator, and so the run, is left exactly as it was)."""
    if isinstance(buffer, PrioritizedFrameReplayBuffer):
        slots = buffer.complete_slots()
        picked = slots[np.linspace(0, slots.size - 1, min(count, slots.size)).astype(np.int64)]
        return buffer._stacks(picked)
    picked = np.linspace(0, len(buffer) - 1, min(count, len(buffer))).astype(np.int64)
    return buffer.obs[picked]


def _noise_flip_share(agent, buffer) -> float:
    """``agent.noise_flip_share`` on replayed states (nan before any is stored)."""
    if not len(buffer) or not agent.noisy_online:
        return math.nan
    return agent.noise_flip_share(_replay_states(buffer), FLIP_DRAWS)


def _metric_fields(agent) -> list:
    """The columns of a new run's ``metrics.csv``."""
    return METRIC_FIELDS + DIAGNOSTIC_FIELDS + sorted(agent.noise_statistics())


class _Loop:
    """The training loop's state and its periodic work (see the module docstring)."""

    def __init__(self, config, env_id, env_kwargs, out, agent, buffer, eval_envs, saved,
                 best, run_id, progress, tensorboard, snapshot_steps=frozenset()):
        self.config, self.env_id, self.env_kwargs, self.out = config, env_id, env_kwargs, out
        self.agent, self.buffer, self.eval_envs, self.run_id = agent, buffer, eval_envs, run_id
        self.step = self.episode = self.evaluation = 0
        if saved is not None:
            self.step, self.episode = saved["step"], saved["episode"]
            self.evaluation = saved["evaluation"]
        # A run started from an exported agent records where; its empty replay learns again
        # only after learning_starts new transitions.
        self.warm_start = None if saved is None else saved.get("warm_start")
        self.learning_from = config.learning_starts + (
            0 if self.warm_start is None else self.warm_start["step"])
        self.beta = linear_schedule(config.beta_start, config.beta_end, config.total_steps)
        noise_fields = sorted(agent.noise_statistics())
        fields = _metric_fields(agent)
        if saved is not None and run_folder.metrics_header(out / "metrics.csv") == (
                METRIC_FIELDS + noise_fields):
            fields = METRIC_FIELDS + noise_fields  # a run from before DIAGNOSTIC_FIELDS
        self.metrics = run_folder.MetricsFile(
            out / "metrics.csv", fields, resume_step=None if saved is None else self.step)
        self.summary = _tensorboard_writer(out) if tensorboard else None
        self.loss_sum, self.loss_count = 0.0, 0
        self.weight_sum, self.weight_min = 0.0, math.inf  # IS weights since the last row
        self.per_episode_noise = config.noise_resample == "episode"
        # noise_resample=k: the loop redraws after every k-th agent step (None: it does not)
        self.hold_noise_for = None if isinstance(config.noise_resample, str) else config.noise_resample
        self.reached_stop = False
        from tqdm.auto import tqdm

        self.bar = tqdm(total=config.total_steps, initial=self.step, disable=not progress,
                        desc=f"{env_id} seed {config.seed}", unit="step", mininterval=1.0)
        self.stops = StopRequests()
        self.saved_state = None  # the state of the last checkpoint written
        self.best = best  # the selection of best/, the best agent so far (None: none yet)
        self.snapshot_steps = snapshot_steps

    # ------------------------------------------------------------------ rows
    def state(self) -> dict:
        return dict(config=self.config.to_dict(), env_id=self.env_id,
                    env_kwargs=self.env_kwargs, step=self.step, episode=self.episode,
                    evaluation=self.evaluation, run_id=self.run_id,
                    **({} if self.warm_start is None else dict(warm_start=self.warm_start)))

    def write_row(self, **values) -> None:
        config, step = self.config, self.step
        values = dict(step=step, episode=self.episode, beta=self.beta(step),
                      epsilon=math.nan if config.noisy else self.agent.epsilon(step),
                      loss=self.loss_sum / self.loss_count if self.loss_count else math.nan,
                      **values)
        if self.loss_count:
            values.update(is_weight_mean=self.weight_sum / self.loss_count,
                          is_weight_min=self.weight_min)
        self.loss_sum, self.loss_count = 0.0, 0
        self.weight_sum, self.weight_min = 0.0, math.inf
        values.update(_priority_statistics(self.buffer) if config.prioritized else {})
        values.update(self.agent.noise_statistics())
        self.metrics.write(values)
        if self.summary is not None:
            _log_scalars(self.summary, values)

    def end_episode(self, episode_return: float, episode_length: int, game_score: float):
        self.episode += 1
        self.write_row(episode_return=episode_return, episode_length=episode_length,
                       game_score=game_score)
        stop_at = self.config.stop_at_return
        if stop_at is not None and episode_return >= stop_at:
            self.reached_stop = True
        if self.per_episode_noise:
            self.agent.reset_noise()  # one noise sample, one perturbed policy, per episode

    # ------------------------------------------------------------ periodic work
    def run_evaluation(self) -> None:
        """Evaluate at this step.  A stop may cut it short: the checkpoint then says it is
        still to do (``evaluation`` not counted), and the resumed run plays it first."""
        config = self.config
        seeds = [_eval_seed(config, self.evaluation + 1, i) for i in range(len(self.eval_envs))]
        self.stops.allow()
        greedy = evaluate(self.agent, self.eval_envs, seeds, noise=False)
        noisy = evaluate(self.agent, self.eval_envs, seeds, noise=True,
                         resample_every=resample_every(config))
        # An agent whose evaluation alone reaches the best's score plays the check.
        candidate = run_folder.at_least_best(self.best, greedy.mean())
        check = self.best_check(self.evaluation + 1) if candidate else None
        self.stops.defer()
        self.write_row(eval_return=float(greedy.mean()), eval_return_std=float(greedy.std()),
                       eval_return_noisy=float(noisy.mean()),
                       noise_flip_share=_noise_flip_share(self.agent, self.buffer))
        self.evaluation += 1
        if candidate:
            selection = _best_selection(self.step, greedy, check)
            if run_folder.at_least_best(self.best, run_folder.selection_return(selection)):
                # The best agent so far is kept in best/ (ties: the later, longer-trained one).
                self.best = selection
                _save_checkpoint(self.out / run_folder.BEST, self.agent, self.state(),
                                 selection=self.best)
        self.bar.set_postfix(eval=f"{greedy.mean():.1f}", refresh=False)

    def best_check(self, evaluation: int) -> np.ndarray | None:
        """The greedy returns of ``best_check_episodes`` more episodes of this evaluation
        (start states of their own, played in batches of the evaluation's environments), or
        None when the config asks for no check."""
        seeds, width = _check_seeds(self.config, evaluation), len(self.eval_envs)
        if not seeds:
            return None
        return np.concatenate([evaluate(self.agent, self.eval_envs[:len(chunk)], chunk)
                               for chunk in (seeds[i:i + width]
                                             for i in range(0, len(seeds), width))])

    def save_checkpoint(self) -> None:
        self.metrics.sync()  # a checkpoint's rows are on disk before it
        if self.summary is not None:
            self.summary.flush()
        self.saved_state = self.state()
        _save_checkpoint(self.out / "checkpoint", self.agent, self.saved_state, buffer=self.buffer)

    def save_snapshot(self) -> None:
        """The agent as it is now, in ``snapshots/step_<step>/`` (no replay: for looking)."""
        _save_checkpoint(self.out / run_folder.SNAPSHOTS / f"step_{self.step}", self.agent,
                         self.state(), selection=run_folder.selection_for("last", self.step, None))

    def after_step(self) -> None:
        """The periodic work that follows every agent step (``step`` is already counted)."""
        config, agent, buffer, step = self.config, self.agent, self.buffer, self.step
        if step % config.train_frequency == 0:
            if step > self.learning_from and len(buffer) >= config.batch_size:
                batch = buffer.sample(config.batch_size, self.beta(step))
                loss, abs_td = agent.train_step(batch)  # also redraws the noise
                buffer.update_priorities(batch.indices, abs_td)
                self.loss_sum += loss
                self.loss_count += 1
                weights = batch.weights
                self.weight_sum += float(weights.mean())
                self.weight_min = min(self.weight_min, float(weights.min()))
            elif config.noise_resample == "step":
                agent.reset_noise()  # warm-up: same noise rhythm as training
        if self.hold_noise_for is not None and step % self.hold_noise_for == 0:
            agent.reset_noise()  # one draw held for k agent steps, whatever the gradient steps
        if step % config.target_update_period == 0:
            agent.sync_target(config.target_update_tau)
        if step % config.eval_period == 0:
            self.run_evaluation()
        if step % config.checkpoint_period == 0:
            self.save_checkpoint()
        if step in self.snapshot_steps:
            self.save_snapshot()
        self.bar.update(1)

    # ------------------------------------------------------------------ loops
    def _run(self, body) -> None:
        """Run ``body`` (the loop over steps) with stops deferred to step boundaries; save a
        checkpoint on a stop (then re-raise ``KeyboardInterrupt``) and at the end."""
        config = self.config
        # Acting with the noisy layers' effective weights, rebuilt whenever the agent changes
        # its online network (Agent.cached_acting; the Nature network with one game only).
        with self.stops, self.agent.cached_acting():
            try:
                self.stops.defer()
                if self.evaluation < self.step // config.eval_period:
                    self.run_evaluation()  # cut short by the stop that ended the last session
                if self.step == 0 and 0 in self.snapshot_steps:
                    self.save_snapshot()  # the agent before any step
                body()
            except KeyboardInterrupt:
                self.stops.defer()  # from here on a second stop waits: the checkpoint is whole
                self.metrics.close()
                self.save_checkpoint()
                self.bar.close()
                print(f"Interrupted at step {self.step}; checkpoint saved in "
                      f"{self.out / 'checkpoint'} (continue with resume=True / --resume).")
                raise
            # The run is complete; a stop that comes now waits for the last checkpoint.
            self.metrics.close()
            if self.summary is not None:
                self.summary.close()
            self.bar.close()
            if self.saved_state != self.state():
                self.save_checkpoint()

    def run_single(self, env) -> None:
        config, agent, buffer, stops = self.config, self.agent, self.buffer, self.stops

        def body():
            # Every (re)start begins fresh episodes, from a seed that depends on where it starts.
            obs, _ = env.reset(seed=config.seed * 1_000_003 + self.step)
            env.action_space.seed(config.seed)
            episode_return, episode_length = 0.0, 0
            # Config.n_step rewards per stored transition (1: each step as it comes).
            n_step_queue = NStepQueue(config.n_step, config.gamma)
            while self.step < config.total_steps and not self.reached_stop:
                action = agent.act(obs, self.step)
                next_obs, reward, terminated, truncated, info = env.step(action)
                # Only termination ends bootstrapping; a time-limit truncation does not.
                for transition in n_step_queue.push(obs, action, reward, next_obs, terminated,
                                                    truncated):
                    buffer.add(*transition, truncated=truncated)
                obs = next_obs
                episode_return += float(reward)
                episode_length += 1
                self.step += 1
                if terminated or truncated:
                    self.end_episode(episode_return, episode_length,
                                     info.get("game_score", math.nan))
                    obs, _ = env.reset()
                    episode_return, episode_length = 0.0, 0
                self.after_step()
                stops.allow()  # a stop lands here, between whole steps
                stops.defer()

        self._run(body)

    def run_vector(self, vector_env) -> None:
        """``num_envs`` games side by side: one batched action per step of all of them."""
        config, agent, buffer, stops = self.config, self.agent, self.buffer, self.stops

        def body():
            observations = vector_env.reset(seed=config.seed * 1_000_003 + self.step)
            returns = np.zeros(config.num_envs)
            lengths = np.zeros(config.num_envs, dtype=np.int64)
            while self.step < config.total_steps and not self.reached_stop:
                actions = agent.act_batch(observations, self.step)
                result = vector_env.step(actions)
                for i in range(config.num_envs):
                    if self.step >= config.total_steps:
                        break
                    self.step += 1  # a reset step spends frames too: it counts
                    if result["valid"][i]:  # never store a reset step
                        ended = bool(result["dones"][i] or result["truncated"][i])
                        buffer.add(observations[i], int(actions[i]), float(result["rewards"][i]),
                                   result["next_obs"][i], bool(result["dones"][i]),
                                   truncated=bool(result["truncated"][i]), stream=i)
                        returns[i] += result["rewards"][i]
                        lengths[i] += 1
                        if ended:
                            self.end_episode(float(returns[i]), int(lengths[i]),
                                             float(result["game_scores"][i]))
                            returns[i], lengths[i] = 0.0, 0
                    self.after_step()
                stops.allow()  # between whole steps of all the games
                stops.defer()
                observations = vector_env.observations  # a new array every step

        self._run(body)
