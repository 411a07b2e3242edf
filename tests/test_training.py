"""Tests for noisy_helpers/training.py: tiny-budget smoke runs of `train`, metrics,
reproducibility, checkpoints and resume, evaluation, and bad input."""

import csv
import json
import sys

import gymnasium as gym
import keras
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import noisy_helpers as nh
from noisy_helpers import Config
from noisy_helpers.training import DIAGNOSTIC_FIELDS, METRIC_FIELDS, load_run_state
from folder_lock import held_by_another_process
from state import tree_hashes


class NeverEnds(gym.Env):
    """An environment that never terminates: its episodes only end by the time limit."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (4,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, render_mode=None):
        self.render_mode = render_mode

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        return self.np_random.uniform(-1, 1, 4).astype(np.float32), {}

    def step(self, action):
        return self.np_random.uniform(-1, 1, 4).astype(np.float32), 1.0, False, False, {}


TRUNCATED_ENV = "NeverEndsTruncated-v0"  # truncated after 8 steps, never terminated
if TRUNCATED_ENV not in gym.registry:
    gym.register(TRUNCATED_ENV, entry_point=NeverEnds, max_episode_steps=8)


def small(**changes):
    return Config.small(**changes)


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    return nh.train(small(), "CartPole-v1", out=out, progress=False)


def test_smoke_run_writes_metrics_tensorboard_and_checkpoint(small_run):
    names = {p.name for p in small_run.directory.iterdir()}
    assert {"metrics.csv", "tensorboard", "checkpoint"} <= names
    metrics = small_run.metrics()
    assert list(metrics)[: len(METRIC_FIELDS)] == METRIC_FIELDS
    assert {"sigma/q_values", "mu/q_values"} <= set(metrics)
    evals = ~np.isnan(metrics["eval_return"])
    assert list(metrics["step"][evals]) == [300, 600]  # eval_period 300 of 600 steps
    assert np.all(np.diff(metrics["step"]) >= 0)
    assert (metrics["episode_return"][~np.isnan(metrics["episode_return"])] > 0).all()
    assert load_run_state(small_run.directory)["step"] == 600


def test_beta_is_annealed_from_start_to_end(small_run):
    metrics = small_run.metrics()
    assert metrics["beta"][0] < 0.45 and metrics["beta"][-1] == pytest.approx(1.0)
    assert np.all(np.diff(metrics["beta"]) >= 0)


def test_losses_are_logged_once_learning_starts(small_run):
    metrics = small_run.metrics()
    late = metrics["step"] > 150
    assert np.isfinite(metrics["loss"][late]).all()


def test_same_seed_gives_the_same_metrics_file(small_run, tmp_path):
    again = nh.train(small(), "CartPole-v1", out=tmp_path, progress=False, tensorboard=False)
    assert again.metrics_path.read_text() == small_run.metrics_path.read_text()


def test_other_seed_gives_another_run(small_run, tmp_path):
    other = nh.train(small(seed=1), "CartPole-v1", out=tmp_path, progress=False,
                     tensorboard=False)
    assert other.metrics_path.read_text() != small_run.metrics_path.read_text()


def test_truncation_is_stored_as_not_done():
    # Every episode ends by truncation after 8 steps: the last transitions must keep
    # bootstrapping (done = 0), while a terminated CartPole episode stores done = 1.
    run = nh.train(small(total_steps=200), TRUNCATED_ENV, progress=False, tensorboard=False)
    metrics = run.metrics()
    lengths = metrics["episode_length"][~np.isnan(metrics["episode_length"])]
    assert len(lengths) == 25 and (lengths == 8).all()
    assert run.buffer.dones[: len(run.buffer)].sum() == 0
    cartpole = nh.train(small(total_steps=200), "CartPole-v1", progress=False, tensorboard=False)
    episodes = (~np.isnan(cartpole.metrics()["episode_return"])).sum()
    assert cartpole.buffer.dones[: len(cartpole.buffer)].sum() == episodes


def test_three_step_run_stores_three_step_returns_and_drops_what_a_time_limit_cuts():
    # Rewards of 1, γ = 0.5: a full 3-step return is 1 + 0.5 + 0.25 = 1.75.  Episodes of 8
    # steps cut by the time limit keep their first 6 transitions (the last 2 have fewer than 3
    # rewards left and no terminal state); a terminated CartPole episode keeps all of its own.
    run = nh.train(small(total_steps=200, gamma=0.5, n_step=3), TRUNCATED_ENV, progress=False,
                   tensorboard=False)
    stored = slice(0, len(run.buffer))
    assert len(run.buffer) == 25 * 6
    assert (run.buffer.rewards[stored] == 1.75).all() and run.buffer.dones[stored].sum() == 0
    cartpole = nh.train(small(total_steps=200, gamma=0.5, n_step=3), "CartPole-v1",
                        progress=False, tensorboard=False)
    lengths = cartpole.metrics()["episode_length"]
    finished = lengths[~np.isnan(lengths)]
    rewards, dones = cartpole.buffer.rewards[: len(cartpole.buffer)], cartpole.buffer.dones
    # every step of a finished episode is stored, and its last 3 are done with 1.75, 1.5, 1
    assert len(cartpole.buffer) >= finished.sum() and dones[: len(cartpole.buffer)].sum() == (
        3 * len(finished))
    np.testing.assert_array_equal(np.sort(np.unique(rewards)), [1.0, 1.5, 1.75])


def test_resume_continues_to_the_new_total(tmp_path):
    first = nh.train(small(total_steps=300), "CartPole-v1", out=tmp_path, progress=False)
    assert first.agent.train_steps == 200
    resumed = nh.train(small(total_steps=600), "CartPole-v1", out=tmp_path, resume=True,
                       progress=False)
    assert load_run_state(tmp_path)["step"] == 600
    assert resumed.agent.train_steps == 500  # 200 before, 300 after
    steps = resumed.metrics()["step"]
    assert np.all(np.diff(steps) >= 0) and steps[-1] == 600
    assert len(resumed.buffer) == 600  # the replay came back with the checkpoint


@pytest.mark.skipif(sys.platform == "win32", reason="no flock on Windows: no lock is taken")
def test_a_run_being_trained_by_another_process_is_not_resumed_or_overwritten(tmp_path):
    nh.train(small(total_steps=300), "CartPole-v1", out=tmp_path, progress=False)
    with held_by_another_process(tmp_path):
        before = tree_hashes(tmp_path)
        for kwargs in (dict(resume=True), dict(overwrite=True)):
            with pytest.raises(ValueError, match="in use by another training run"):
                nh.train(small(total_steps=600), "CartPole-v1", out=tmp_path, progress=False,
                         **kwargs)
            assert tree_hashes(tmp_path) == before
    resumed = nh.train(small(total_steps=600), "CartPole-v1", out=tmp_path, resume=True,
                       progress=False)  # free again once the other process has ended
    assert load_run_state(tmp_path)["step"] == 600 and resumed.agent.train_steps == 500


def test_interrupt_saves_a_checkpoint_that_resume_continues(tmp_path, monkeypatch):
    calls = {"n": 0}
    original = nh.Agent.train_step

    def interrupted(self, batch):
        calls["n"] += 1
        if calls["n"] == 50:
            raise KeyboardInterrupt
        return original(self, batch)

    monkeypatch.setattr(nh.Agent, "train_step", interrupted)
    with pytest.raises(KeyboardInterrupt):
        nh.train(small(), "CartPole-v1", out=tmp_path, progress=False)
    state = load_run_state(tmp_path)
    assert state["step"] == 150  # 100 warm-up steps, then the 50th update was interrupted
    monkeypatch.setattr(nh.Agent, "train_step", original)
    nh.train(small(), "CartPole-v1", out=tmp_path, resume=True, progress=False)
    assert load_run_state(tmp_path)["step"] == 600
    with open(tmp_path / "metrics.csv") as file:
        steps = [int(row["step"]) for row in csv.DictReader(file)]
    assert steps == sorted(steps)


def test_resume_with_another_config_is_refused(tmp_path):
    nh.train(small(total_steps=300), "CartPole-v1", out=tmp_path, progress=False,
             tensorboard=False)
    with pytest.raises(ValueError, match="learning_rate"):
        nh.train(small(learning_rate=0.1), "CartPole-v1", out=tmp_path, resume=True)


def test_resume_without_a_checkpoint_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="no run to resume"):
        nh.train(small(), "CartPole-v1", out=tmp_path, resume=True)


def test_unknown_env_id_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(ValueError, match="CartPole-v99"):
        nh.train(small(), "CartPole-v99", out=tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_continuous_action_env_is_refused():
    with pytest.raises(ValueError, match="Discrete"):
        nh.make_env("Pendulum-v1")


def test_train_needs_a_config():
    with pytest.raises(TypeError, match="config"):
        nh.train({"total_steps": 10})


def test_evaluate_without_noise_is_deterministic_and_restores_the_noise(small_run):
    agent = small_run.agent
    envs = [nh.make_env("CartPole-v1") for _ in range(3)]
    before = [v.numpy().copy() for v in agent.online.non_trainable_variables]
    a = nh.evaluate(agent, envs, seeds=[1, 2, 3])
    b = nh.evaluate(agent, envs, seeds=[1, 2, 3])
    np.testing.assert_array_equal(a, b)
    nh.evaluate(agent, envs, seeds=[1, 2, 3], noise=True)
    for value, variable in zip(before, agent.online.non_trainable_variables):
        np.testing.assert_array_equal(value, variable.numpy())


def test_evaluate_needs_one_seed_per_env(small_run):
    with pytest.raises(ValueError, match="seed"):
        nh.evaluate(small_run.agent, [nh.make_env("CartPole-v1")], seeds=[1, 2])


def test_read_metrics_turns_empty_cells_into_nan(tmp_path):
    path = tmp_path / "metrics.csv"
    path.write_text("step,eval_return\n1,\n2,3.5\n")
    metrics = nh.read_metrics(path)
    assert np.isnan(metrics["eval_return"][0]) and metrics["eval_return"][1] == 3.5


# ------------------------------------------------------------------ Atari
def tiny_atari(**changes):
    settings = dict(total_steps=300, buffer_size=400, learning_starts=100,
                    target_update_period=100, eval_period=300, eval_episodes=1,
                    checkpoint_period=300, batch_size=8)
    settings.update(changes)
    return Config.atari(**settings)


def test_tiny_atari_run_stores_frames_once_and_reports_true_game_scores(tmp_path):
    run = nh.train(tiny_atari(), "ALE/UpNDown-v5", out=tmp_path / "atari", progress=False)
    assert isinstance(run.buffer, nh.PrioritizedFrameReplayBuffer)
    assert run.buffer.frames.dtype == np.uint8 and run.buffer.frames.shape[1:] == (84, 84)
    metrics = run.metrics()
    lives = ~np.isnan(metrics["episode_return"])
    assert lives.any()
    # Clipped rewards for training; game scores (multiples of 10 in UpNDown) when a game ends.
    games = metrics["game_score"][~np.isnan(metrics["game_score"])]
    assert (games % 10 == 0).all()
    assert metrics["eval_return"][~np.isnan(metrics["eval_return"])] % 10 == pytest.approx(0)
    assert {"sigma/hidden_1", "sigma/q_values"} <= set(metrics)
    assert not np.isnan(metrics["loss"]).all()
    resumed = nh.train(tiny_atari(total_steps=350), "ALE/UpNDown-v5", out=tmp_path / "atari",
                       resume=True, progress=False)
    assert load_run_state(resumed.directory)["step"] == 350


def test_an_mlp_config_on_an_atari_env_is_refused_with_a_hint(tmp_path):
    with pytest.raises(ValueError, match="Config.atari"):
        nh.train(small(), "ALE/UpNDown-v5", out=tmp_path / "r", progress=False)
    assert not (tmp_path / "r").exists()


def test_tiny_vectorised_atari_run_keeps_one_ring_per_game(tmp_path):
    config = tiny_atari(num_envs=2, total_steps=300)
    run = nh.train(config, "ALE/UpNDown-v5", out=tmp_path / "vector", progress=False)
    assert run.buffer.streams == 2
    slots = run.buffer.complete_slots()
    half = config.buffer_size // 2
    assert (slots < half).any() and (slots >= half).any()  # both games stored transitions
    assert load_run_state(run.directory)["step"] == 300
    assert not np.isnan(run.metrics()["loss"]).all()


def test_vectorised_runs_need_atari_and_a_buffer_split_evenly(tmp_path):
    with pytest.raises(ValueError, match="num_envs"):
        nh.train(small(num_envs=2), "CartPole-v1", out=tmp_path / "a", progress=False)
    with pytest.raises(ValueError, match="multiple of"):
        nh.train(tiny_atari(num_envs=3, buffer_size=400), "ALE/UpNDown-v5",
                 out=tmp_path / "b", progress=False)


def test_sigterm_saves_a_checkpoint_like_ctrl_c(tmp_path):
    """A run in the background ignores SIGINT; `kill PID` (SIGTERM) must still save."""
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "run"
    script = (
        "import noisy_helpers as nh\n"
        "nh.train(nh.Config.small(total_steps=10**6, checkpoint_period=10**6), 'CartPole-v1',\n"
        f"         out={str(out)!r}, progress=False, tensorboard=False)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while not (out / "metrics.csv").exists() or (out / "metrics.csv").stat().st_size < 500:
        assert time.time() < deadline and process.poll() is None
        time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=120)
    saved = load_run_state(out)
    assert 0 < saved["step"] < 10**6  # saved where it stopped, not at the end
    assert process.returncode != 0


def test_metrics_are_on_disk_when_a_checkpoint_is(tmp_path, monkeypatch):
    """A run killed right after a checkpoint must not lose the rows before it."""
    from noisy_helpers import training

    seen = []
    original = training._save_checkpoint

    def save_and_read(directory, agent, state, buffer=None, selection=None):
        if buffer is not None:  # a training checkpoint, not best/
            rows = (directory.parent / "metrics.csv").read_text().strip().splitlines()
            seen.append((state["step"], int(rows[-1].split(",")[0])))
        original(directory, agent, state, buffer=buffer, selection=selection)

    monkeypatch.setattr(training, "_save_checkpoint", save_and_read)
    nh.train(small(), "CartPole-v1", out=tmp_path / "run", progress=False, tensorboard=False)
    assert seen[0] == (300, 300)  # the evaluation row of step 300 is written before its checkpoint


# --------------------------------------------------------- exploration-study features
def deep_sea_small(**changes):
    """Size-3 DeepSea with action 1 right everywhere: 12 steps of warm-up, then learning."""
    settings = dict(total_steps=90, hidden_sizes=(16,), batch_size=8, buffer_size=200,
                    learning_starts=12, target_update_period=12, eval_period=90,
                    eval_episodes=1, checkpoint_period=90)
    settings.update(changes)
    return Config(**settings)


DEEP_SEA_FIXED = dict(size=3, randomize_actions=False)


def test_stop_at_return_ends_the_run_after_the_first_episode_that_reaches_it(tmp_path):
    config = deep_sea_small(noisy=False, epsilon_start=1.0, epsilon_end=1.0, total_steps=900,
                            stop_at_return=0.5)
    run = nh.train(config, nh.DEEP_SEA_ID, out=tmp_path, progress=False, env_kwargs=DEEP_SEA_FIXED)
    metrics = run.metrics()
    returns = metrics["episode_return"][~np.isnan(metrics["episode_return"])]
    assert returns[-1] >= 0.5 and (returns[:-1] < 0.5).all()  # the goal, once, at the end
    assert metrics["step"][-1] == 3 * returns.size < 900
    assert load_run_state(tmp_path)["step"] == 3 * returns.size  # checkpointed where it stopped


def record_noise_at_each_act(monkeypatch):
    """Patch Agent.act to record (step, the online output layer's kernel noise) at each call."""
    from noisy_helpers.agent import Agent

    seen = []
    act = Agent.act

    def recording_act(self, observation, step=0):
        layer = self.noisy_online[-1]
        seen.append((step, np.array(layer.epsilon_out.numpy()).copy()))
        return act(self, observation, step)

    monkeypatch.setattr(Agent, "act", recording_act)
    return seen


def noise_changes(seen) -> list:
    """The steps at whose act the noise differs from the previous act's."""
    return [step for (_, before), (step, after) in zip(seen, seen[1:])
            if not np.array_equal(before, after)]


def test_noise_held_per_episode_changes_only_when_an_episode_starts(tmp_path, monkeypatch):
    seen = record_noise_at_each_act(monkeypatch)
    nh.train(deep_sea_small(noise_resample="episode"), nh.DEEP_SEA_ID, out=tmp_path,
             progress=False, env_kwargs=DEEP_SEA_FIXED)
    assert noise_changes(seen) == list(range(3, 90, 3))  # every episode start (3 steps each)


def test_noise_redrawn_every_step_by_default(tmp_path, monkeypatch):
    seen = record_noise_at_each_act(monkeypatch)
    nh.train(deep_sea_small(), nh.DEEP_SEA_ID, out=tmp_path, progress=False,
             env_kwargs=DEEP_SEA_FIXED)
    assert noise_changes(seen) == list(range(1, 90))  # warm-up and training alike


def test_noise_held_for_k_steps_changes_after_every_kth_agent_step_only(tmp_path, monkeypatch):
    seen = record_noise_at_each_act(monkeypatch)
    nh.train(deep_sea_small(noise_resample=4), nh.DEEP_SEA_ID, out=tmp_path, progress=False,
             env_kwargs=DEEP_SEA_FIXED)
    assert noise_changes(seen) == list(range(4, 90, 4))  # warm-up and training alike


def test_noise_held_for_k_steps_ignores_episode_boundaries_and_gradient_steps(tmp_path, monkeypatch):
    seen = record_noise_at_each_act(monkeypatch)
    nh.train(deep_sea_small(noise_resample=5, train_frequency=2), nh.DEEP_SEA_ID, out=tmp_path,
             progress=False, env_kwargs=DEEP_SEA_FIXED)  # episodes of 3 steps, updates every 2
    assert noise_changes(seen) == list(range(5, 90, 5))


def test_noise_held_for_train_frequency_steps_is_the_papers_schedule_byte_for_byte(tmp_path):
    runs = {}
    for schedule in ("step", 2):
        out = tmp_path / str(schedule)
        nh.train(deep_sea_small(noise_resample=schedule, train_frequency=2), nh.DEEP_SEA_ID,
                 out=out, progress=False, env_kwargs=DEEP_SEA_FIXED)
        runs[schedule] = (out / "metrics.csv").read_bytes()
    assert runs["step"] == runs[2]


def test_resample_every_follows_the_schedule_in_evaluations_and_videos():
    from noisy_helpers.training import resample_every

    assert resample_every(Config()) == Config().train_frequency
    assert resample_every(Config.atari()) == 4
    assert resample_every(Config(noise_resample=16)) == 16
    assert resample_every(Config(noise_resample="episode")) == float("inf")


def test_env_kwargs_are_saved_and_resume_refuses_other_ones(tmp_path):
    nh.train(deep_sea_small(), nh.DEEP_SEA_ID, out=tmp_path, progress=False,
             env_kwargs=DEEP_SEA_FIXED)
    assert load_run_state(tmp_path)["env_kwargs"] == DEEP_SEA_FIXED
    with pytest.raises(ValueError, match="env_kwargs"):
        nh.train(deep_sea_small(total_steps=120), nh.DEEP_SEA_ID, out=tmp_path, resume=True,
                 progress=False, env_kwargs=dict(size=4, randomize_actions=False))
    run = nh.train(deep_sea_small(total_steps=120), nh.DEEP_SEA_ID, out=tmp_path, resume=True,
                   progress=False, env_kwargs=DEEP_SEA_FIXED)
    assert run.metrics()["step"][-1] == 120


def test_noise_held_per_episode_needs_one_env(tmp_path):
    config = Config.atari(num_envs=2, noise_resample="episode", buffer_size=1_000,
                          batch_size=8)
    with pytest.raises(ValueError, match="noise_resample"):
        nh.train(config, "ALE/Pong-v5", out=tmp_path, progress=False)
    assert not any(tmp_path.iterdir())


def test_env_kwargs_need_one_env(tmp_path):
    config = Config.atari(num_envs=2, buffer_size=1_000, batch_size=8)
    with pytest.raises(ValueError, match="env_kwargs"):
        nh.train(config, "ALE/Pong-v5", out=tmp_path, progress=False,
                 env_kwargs=dict(sticky_actions=0.25))
    assert not any(tmp_path.iterdir())


# --------------------------------------------------------- the run folder, through train()
@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("finished") / "run"
    nh.train(small(total_steps=300), "CartPole-v1", out=out, progress=False)
    return out


def user_folder(root):
    folder = root / "mine"
    (folder / "tensorboard").mkdir(parents=True)
    (folder / "tensorboard" / "events.out").write_text("the user's own curves")
    (folder / "checkpoint").mkdir()
    (folder / "checkpoint" / "model.h5").write_text("the user's model")
    (folder / "metrics.csv").write_text("step,x\n1,2\n")
    return folder


TRAIN_BAD_INPUTS = [
    # (id, folder: "run" (a finished run's copy) or "mine" (the user's files), keyword
    #  arguments of train, error, message)
    ("a user's folder", "mine", {}, ValueError, "did not write"),
    ("a user's folder, overwrite", "mine", dict(overwrite=True), ValueError, "did not write"),
    ("a user's folder, resume", "mine", dict(resume=True), FileNotFoundError, "no run"),
    ("a run, no overwrite", "run", {}, ValueError, "overwrite"),
    ("a run, overwrite, unknown env", "run", dict(overwrite=True, env_id="NoSuchEnv-v0"),
     ValueError, "NoSuchEnv-v0"),
    ("a run, overwrite, module env id", "run", dict(overwrite=True, env_id="os:CartPole-v1"),
     ValueError, "module"),
    ("a run, overwrite, bad env kwargs", "run", dict(overwrite=True, env_kwargs={"size": 3}),
     ValueError, "size"),
    ("a run, overwrite, env kwargs not a dict", "run",
     dict(overwrite=True, env_kwargs=[("size", 3)]), TypeError, "env_kwargs"),
    ("a run, overwrite, Atari config on CartPole", "run",
     dict(overwrite=True, config=nh.Config.atari()), ValueError, "network"),
    ("a run, overwrite, observation scale of another length", "run",
     dict(overwrite=True, config=small(observation_scale=(2.4, 0.2095))), ValueError,
     r"observation_scale must have one number per observation component \(4\)"),
    ("a run, overwrite and resume", "run", dict(overwrite=True, resume=True), ValueError,
     "exclude"),
    ("a run, resume to the same total", "run",
     dict(resume=True, config=small(total_steps=300)), ValueError, "step 300"),
    ("a run, resume to fewer steps", "run",
     dict(resume=True, config=small(total_steps=100)), ValueError, "step 300"),
    ("a run, resume another config", "run",
     dict(resume=True, config=small(total_steps=400, gamma=0.5)), ValueError, "gamma"),
    ("a run, resume another env", "run",
     dict(resume=True, config=small(total_steps=400), env_id="Acrobot-v1"), ValueError,
     "env_id"),
    ("a run, config not a Config", "run", dict(overwrite=True, config={"gamma": 0.9}),
     TypeError, "Config"),
    ("a run, out not a path", None, dict(out=3), TypeError, "out"),
    ("a run, overwrite, snapshot step past the end", "run",
     dict(overwrite=True, snapshot_steps=(0, 601)), ValueError, "snapshot_steps"),
    ("a run, overwrite, snapshot step negative", "run",
     dict(overwrite=True, snapshot_steps=(-1,)), ValueError, "snapshot_steps"),
    ("a run, overwrite, snapshot step a float", "run",
     dict(overwrite=True, snapshot_steps=(300.0,)), TypeError, "snapshot_steps"),
    ("a run, overwrite, snapshot step a bool", "run",
     dict(overwrite=True, snapshot_steps=(True,)), TypeError, "snapshot_steps"),
    ("a run, overwrite, snapshot steps an int", "run",
     dict(overwrite=True, snapshot_steps=300), TypeError, "snapshot_steps"),
    ("a run whose run.json is another run's", "other marker",
     dict(resume=True, config=small(total_steps=400)), ValueError, "another run"),
]


@pytest.mark.parametrize("folder, kwargs, error, match", [c[1:] for c in TRAIN_BAD_INPUTS],
                         ids=[c[0] for c in TRAIN_BAD_INPUTS])
def test_bad_input_to_train_is_refused_before_any_byte_is_written_or_deleted(
        finished_run, tmp_path, folder, kwargs, error, match):
    import shutil

    root = tmp_path / "root"
    root.mkdir()
    out = shutil.copytree(finished_run, root / "run") if folder != "mine" else user_folder(root)
    if folder == "other marker":  # a checkpoint copied under another run's marker
        (out / "run.json").write_text((out / "run.json").read_text().replace(
            json.loads((out / "run.json").read_text())["run_id"], "f" * 32))
    arguments = dict(config=small(), env_id="CartPole-v1", out=out, progress=False)
    arguments.update(kwargs)
    before = tree_hashes(root)
    with pytest.raises(error, match=match):
        nh.train(**arguments)
    assert tree_hashes(root) == before


def test_overwrite_starts_a_new_run_and_keeps_the_users_other_files(finished_run, tmp_path):
    import shutil

    out = shutil.copytree(finished_run, tmp_path / "run")
    (out / "notes.txt").write_text("mine")
    old_run_id = json.loads((out / "run.json").read_text())["run_id"]
    nh.train(small(total_steps=200, eval_period=100), "CartPole-v1", out=out, progress=False,
             overwrite=True)
    assert (out / "notes.txt").read_text() == "mine"
    assert json.loads((out / "run.json").read_text())["run_id"] != old_run_id
    assert load_run_state(out)["step"] == 200
    assert nh.read_metrics(out / "metrics.csv")["step"].max() <= 200


def test_a_stop_during_an_evaluation_is_replayed_on_resume(tmp_path, monkeypatch):
    from noisy_helpers import training

    original = training.evaluate
    calls = {"n": 0}

    def interrupted(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:  # the noisy half of the first evaluation (step 300)
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(training, "evaluate", interrupted)
    with pytest.raises(KeyboardInterrupt):
        nh.train(small(), "CartPole-v1", out=tmp_path, progress=False)
    state = load_run_state(tmp_path)
    assert (state["step"], state["evaluation"]) == (300, 0)  # the evaluation is still to do
    monkeypatch.setattr(training, "evaluate", original)
    nh.train(small(), "CartPole-v1", out=tmp_path, resume=True, progress=False)
    metrics = nh.read_metrics(tmp_path / "metrics.csv")
    eval_steps = metrics["step"][~np.isnan(metrics["eval_return"])]
    assert eval_steps.tolist() == [300, 600]  # step 300's evaluation is there, once


@pytest.mark.parametrize("atari", [False, True])
@pytest.mark.parametrize("normalise", ["batch", "buffer"])
def test_the_replay_divides_is_weights_as_config_importance_normalise_says(atari, normalise):
    from noisy_helpers.training import _make_buffer

    shape, dtype = ((4, 84, 84), np.uint8) if atari else ((4,), np.float32)
    space = gym.spaces.Box(0, 255, shape, dtype)
    config = Config.small(importance_normalise=normalise)
    buffer = _make_buffer(config, space, 2, atari)
    assert buffer.normalise == normalise and buffer.alpha == config.alpha


# ------------------------------------------------- replay and noise diagnostics, snapshots
def test_diagnostics_are_logged_in_range(small_run):
    metrics = small_run.metrics()
    assert list(metrics)[len(METRIC_FIELDS):len(METRIC_FIELDS) + len(DIAGNOSTIC_FIELDS)] == \
        DIAGNOSTIC_FIELDS
    trained = np.isfinite(metrics["loss"])
    assert trained.any()
    mean, low = metrics["is_weight_mean"][trained], metrics["is_weight_min"][trained]
    assert np.all((0 < low) & (low <= mean) & (mean <= 1))
    stored = np.isfinite(metrics["priority_mean"])
    assert np.all(metrics["priority_min"][stored] <= metrics["priority_mean"][stored])
    assert np.all(metrics["priority_mean"][stored] <= metrics["priority_max"][stored])
    assert np.all(np.diff(metrics["priority_max"][stored]) >= 0)  # the max given never falls
    evals = np.isfinite(metrics["eval_return"])
    flips = metrics["noise_flip_share"][evals]
    assert np.all((0 <= flips) & (flips <= 1))
    assert np.isnan(metrics["noise_flip_share"][~evals]).all()


def test_uniform_replay_logs_unit_weights_and_no_priorities(tmp_path):
    metrics = nh.train(small(prioritized=False, total_steps=300), "CartPole-v1", out=tmp_path,
                       progress=False, tensorboard=False).metrics()
    trained = np.isfinite(metrics["loss"])
    assert (metrics["is_weight_mean"][trained] == 1).all()
    assert (metrics["is_weight_min"][trained] == 1).all()
    assert np.isnan(metrics["priority_mean"]).all()


def test_snapshots_keep_the_agent_of_each_step_and_change_nothing_in_the_run(small_run,
                                                                             tmp_path):
    run = nh.train(small(), "CartPole-v1", out=tmp_path / "run", progress=False,
                   tensorboard=False, snapshot_steps=(0, 150, 600))
    assert run.metrics_path.read_text() == small_run.metrics_path.read_text()
    snapshots = tmp_path / "run" / "snapshots"
    assert sorted(p.name for p in snapshots.iterdir()) == ["step_0", "step_150", "step_600"]
    last, _, _ = nh.load_agent(tmp_path / "run", which="last")
    at_end, state = nh.load_snapshot(tmp_path / "run", 600)
    assert state["step"] == 600
    for a, b in zip(last.online.weights, at_end.online.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    at_start, _ = nh.load_snapshot(tmp_path / "run", 0)  # as train() builds it: seed 0's
    keras.utils.set_random_seed(0)
    fresh = nh.Agent(small(), (4,), 2)
    for a, b in zip(fresh.online.trainable_weights, at_start.online.trainable_weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_a_snapshot_that_is_missing_or_damaged_is_refused_naming_it(tmp_path):
    out = tmp_path / "run"
    nh.train(small(total_steps=300), "CartPole-v1", out=out, progress=False, tensorboard=False,
             snapshot_steps=(100,))
    with pytest.raises(FileNotFoundError, match=r"step 200.*step_100"):
        nh.load_snapshot(out, 200)
    with pytest.raises(ValueError, match="step"):
        nh.load_snapshot(out, -3)
    weights = out / "snapshots" / "step_100" / "online.weights.h5"
    weights.write_bytes(weights.read_bytes()[:-10])
    with pytest.raises(ValueError, match="online.weights.h5"):
        nh.load_snapshot(out, 100)


def test_overwrite_removes_the_runs_snapshots(tmp_path):
    out = tmp_path / "run"
    nh.train(small(total_steps=300), "CartPole-v1", out=out, progress=False, tensorboard=False,
             snapshot_steps=(100,))
    nh.train(small(total_steps=300), "CartPole-v1", out=out, progress=False, tensorboard=False,
             overwrite=True)
    assert not (out / "snapshots").exists()


def test_a_run_from_before_the_diagnostics_resumes_with_its_own_columns(tmp_path):
    """A metrics.csv without DIAGNOSTIC_FIELDS (written by an earlier version) keeps its
    columns when the run is resumed: nothing is refused, no row is lost."""
    out = tmp_path / "run"
    nh.train(small(total_steps=300), "CartPole-v1", out=out, progress=False, tensorboard=False)
    path = out / "metrics.csv"
    rows = list(csv.reader(path.read_text().splitlines()))
    keep = [i for i, name in enumerate(rows[0]) if name not in DIAGNOSTIC_FIELDS]
    old = "".join(",".join(row[i] for i in keep) + "\r\n" for row in rows)
    path.write_text(old)
    nh.train(small(total_steps=600), "CartPole-v1", out=out, progress=False, tensorboard=False,
             resume=True)
    lines, old_lines = path.read_text().splitlines(), old.splitlines()
    assert lines[:len(old_lines)] == old_lines and len(lines) > len(old_lines)
    assert nh.read_metrics(path)["step"][-1] == 600


# -------------------------------------------------------- the best agent's check episodes
@given(seed=st.integers(0, 2**32 - 1), evaluation=st.integers(1, 10_000),
       eval_episodes=st.integers(1, 50), check=st.integers(1, 200))
def test_check_episodes_play_start_states_no_evaluation_plays(seed, evaluation, eval_episodes,
                                                              check):
    """A check's seeds follow its evaluation's, and no seed of one evaluation (episodes or
    check) is a seed of the next one or a fresh episode's (12345.., bench_cartpole's check)."""
    config = Config(seed=seed, eval_episodes=eval_episodes, best_check_episodes=check)
    episodes = eval_episodes + check
    own = [nh.training._eval_seed(config, evaluation, i) for i in range(eval_episodes)]
    checked = nh.training._check_seeds(config, evaluation)
    this = set(own + checked)
    following = {nh.training._eval_seed(config, evaluation + 1, i) for i in range(episodes)}
    assert len(checked) == check and len(this) == episodes and not this & following
    assert min(this) > 12_345 + 1_000


def test_bad_input_a_check_that_would_reach_the_next_evaluations_seeds_is_refused():
    Config(eval_episodes=10, best_check_episodes=999)  # the largest that fits the block
    with pytest.raises(ValueError, match=r"^Config\.best_check_episodes must be an int in "):
        Config(eval_episodes=10, best_check_episodes=1_000)


def test_the_atari_loop_acts_with_cached_effective_weights(tmp_path, monkeypatch):
    # Every action of a training run, evaluations included, is taken inside cached_acting,
    # from weights that match the online network (the agent refreshes them on each change).
    depths, original = [], nh.Agent._act_on

    def spy(agent, observations):
        depths.append(agent._acting_depth)
        actions = original(agent, observations)
        q_values = agent.online(observations, training=False).numpy()
        assert (actions.numpy() == q_values.argmax(axis=1)).all()
        return actions

    monkeypatch.setattr(nh.Agent, "_act_on", spy)
    nh.train(tiny_atari(total_steps=150, eval_period=150, checkpoint_period=150),
             "ALE/UpNDown-v5", out=tmp_path / "atari", progress=False)
    assert len(depths) >= 150 and set(depths) == {1}
