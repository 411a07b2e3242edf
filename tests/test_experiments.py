"""Tests for noisy_helpers/experiments.py: sweeps change exactly one field, trials run in
parallel processes, results are reproducible and cached, and bad input is refused."""

import dataclasses
import json
import sys

import pytest

import noisy_helpers as nh
from noisy_helpers import Config
from noisy_helpers.exploration import deep_sea_config
from noisy_helpers.experiments import RESULT_FIELDS


def tiny_trials(seeds=(0, 1), values=(True, False)):
    """DeepSea of size 3 (goal by luck within a few episodes), 12 episodes at most."""
    return nh.sweep(deep_sea_config(3, episodes=12), "noisy", list(values), seeds,
                    env_id=nh.DEEP_SEA_ID, env_kwargs=[dict(size=3, randomize_actions=False)])


def differing_fields(a: Config, b: Config) -> set:
    return {f.name for f in dataclasses.fields(Config) if getattr(a, f.name) != getattr(b, f.name)}


def test_sweep_changes_exactly_one_field_besides_the_seed():
    base = Config.small()
    trials = nh.sweep(base, "sigma0", [0.1, 0.5, 1.0], seeds=range(3))
    assert len(trials) == 9
    assert [t.config.sigma0 for t in trials] == [0.1] * 3 + [0.5] * 3 + [1.0] * 3
    assert [t.config.seed for t in trials] == [0, 1, 2] * 3
    for trial in trials:
        assert differing_fields(base, trial.config) <= {"sigma0", "seed"}
        assert trial.field == "sigma0" and trial.group == f"sigma0={trial.config.sigma0}"
    assert trials[4].name == "sigma0=0.5/CartPole-v1/seed1"


def test_sweep_names_trials_by_label_environment_settings_and_seed():
    trials = nh.sweep(Config.small(), "noisy", [False], [7], env_id=nh.DEEP_SEA_ID,
                      env_kwargs=[dict(size=4), dict(size=6)], labels=["epsilon-greedy"])
    assert [t.name for t in trials] == ["epsilon-greedy/DeepSea-v0-size4/seed7",
                                        "epsilon-greedy/DeepSea-v0-size6/seed7"]
    assert trials[1].env_kwargs == dict(size=6)


@pytest.mark.parametrize("kwargs, match", [
    (dict(field="wings", values=[1]), "field"),
    (dict(field="seed", values=[1]), "field"),
    (dict(field="noisy", values=[]), "values"),
    (dict(field="noisy", values=[True], seeds=[]), "seeds"),
    (dict(field="noisy", values=[True, False], labels=["a"]), "labels"),
    (dict(field="noisy", values=[True, False], labels=["a", "a"]), "labels"),
    (dict(field="noisy", values=[True], labels=["a/b"]), "labels"),
    (dict(field="noisy", values=[True], env_kwargs=[]), "env_kwargs"),
    (dict(field="sigma0", values=[-1.0]), "sigma0"),
])
def test_sweep_refuses_bad_input_naming_it(kwargs, match):
    kwargs.setdefault("seeds", [0])
    with pytest.raises(ValueError, match=match):
        nh.sweep(Config.small(), **kwargs)


def test_trial_round_trips_through_its_dict():
    trial = tiny_trials()[0]
    assert nh.Trial.from_dict(json.loads(json.dumps(trial.to_dict()))) == trial


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("study")
    rows = nh.run_trials(tiny_trials(), out, workers=2, progress=False)
    return out, rows


def test_run_trials_writes_one_result_per_trial_and_a_csv(study):
    out, rows = study
    trials = tiny_trials()
    assert [row["name"] for row in rows] == [t.name for t in trials]
    for trial, row in zip(trials, rows):
        assert (out / trial.name / "metrics.csv").exists()
        assert not (out / trial.name / "checkpoint").exists()  # the study keeps no checkpoints
        assert row["size"] == 3 and row["value"] == trial.config.noisy
        assert 1 <= row["episodes"] <= 12 and row["steps"] == 3 * row["episodes"]
        if row["first_goal_episode"] is not None:  # a run stops at its first goal
            assert row["first_goal_episode"] == row["episodes"]
            assert row["first_goal_step"] == row["steps"]
    read = nh.read_results(out / "results.csv")
    assert list(read[0])[: len(RESULT_FIELDS)] == RESULT_FIELDS
    assert [r["first_goal_episode"] for r in read] == [r["first_goal_episode"] for r in rows]


def test_finished_trials_are_not_run_again(study):
    out, rows = study
    stamps = {t.name: (out / t.name / "result.json").stat().st_mtime_ns for t in tiny_trials()}
    again = nh.run_trials(tiny_trials(), out, workers=2, progress=False)
    assert again == rows
    assert stamps == {t.name: (out / t.name / "result.json").stat().st_mtime_ns
                      for t in tiny_trials()}


def test_a_changed_trial_is_run_again_and_only_it(study, tmp_path):
    out, _ = study
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    trials = tiny_trials()
    changed = dataclasses.replace(trials[0], config=trials[0].config.replace(learning_rate=2e-3))
    stamps = {t.name: (copy / t.name / "result.json").stat().st_mtime_ns for t in trials}
    nh.run_trials([changed] + trials[1:], copy, workers=1, progress=False)
    after = {t.name: (copy / t.name / "result.json").stat().st_mtime_ns for t in trials}
    assert [name for name in stamps if stamps[name] != after[name]] == [trials[0].name]


def test_the_same_trial_repeats_exactly_in_another_directory(study, tmp_path):
    out, _ = study
    trial = tiny_trials()[1]
    nh.run_trials([trial], tmp_path, workers=1, progress=False)
    assert (tmp_path / trial.name / "metrics.csv").read_bytes() == \
        (out / trial.name / "metrics.csv").read_bytes()


def test_run_trials_refuses_bad_input(tmp_path):
    trials = tiny_trials()
    with pytest.raises(ValueError, match="name"):
        nh.run_trials(trials + trials[:1], tmp_path, progress=False)
    with pytest.raises(ValueError, match="workers"):
        nh.run_trials(trials, tmp_path, workers=0, progress=False)
    with pytest.raises(TypeError, match="Trial"):
        nh.run_trials([Config.small()], tmp_path, progress=False)
    assert not any(tmp_path.iterdir())  # nothing was started


def test_a_failing_trial_raises_its_error_and_keeps_the_finished_ones(tmp_path):
    good = tiny_trials(seeds=(0,), values=(True,))[0]
    bad = nh.Trial(config=deep_sea_config(3, episodes=2), env_id="NoSuchEnv-v0",
                   field="noisy", group="broken")
    with pytest.raises(ValueError, match="NoSuchEnv"):
        nh.run_trials([good, bad], tmp_path, workers=1, progress=False)
    assert (tmp_path / good.name / "result.json").exists()
    assert not (tmp_path / bad.name / "result.json").exists()


TRAVERSING_TRIALS = [
    ("env kwargs value climbing out", dict(env_kwargs=[{"size": "/../../.."}])),
    ("env kwargs value with a separator", dict(env_kwargs=[{"size": "a/b"}])),
    ("env kwargs value '..'", dict(env_kwargs=[{"x": "."}], labels=[".."])),
    ("label '..'", dict(labels=[".."])),
    ("label with a backslash", dict(labels=["a\\b"])),
    ("label with a NUL", dict(labels=["a\0b"])),
]


@pytest.mark.parametrize("changes", [c[1] for c in TRAVERSING_TRIALS],
                         ids=[c[0] for c in TRAVERSING_TRIALS])
def test_bad_input_trial_that_would_write_outside_out_is_refused_before_any_write(
        tmp_path, changes):
    kwargs = dict(labels=["ok"], env_kwargs=[{}])
    kwargs.update(changes)
    try:
        trials = nh.sweep(Config.small(), "noisy", [True], [0], **kwargs)
    except ValueError as error:  # refused when the sweep is made: fine too
        assert "label" in str(error)
        return
    with pytest.raises(ValueError, match="folder name|outside"):
        nh.run_trials(trials, tmp_path / "study", progress=False)
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------- no worker outlives its driver
_DRIVER = """
import sys
import noisy_helpers as nh
config = nh.Config.small(total_steps=10**6, eval_period=10**6, checkpoint_period=10**6)
trials = nh.sweep(config, "noisy", [True], seeds=[0, 1])
nh.run_trials(trials, sys.argv[1], workers=2, progress=False)
"""


def _proc(pid, name: str) -> str:
    """``/proc/<pid>/<name>``, or "" once the process is gone."""
    import pathlib

    try:
        return pathlib.Path(f"/proc/{pid}/{name}").read_text()
    except OSError:
        return ""


def _stat_fields(pid) -> list:
    """The fields of ``/proc/<pid>/stat`` after the command name: state, parent id, ..."""
    text = _proc(pid, "stat")
    return text.rsplit(")", 1)[1].split() if text else []


def _children(pid: int) -> list:
    """Process ids whose parent is ``pid`` (Linux /proc)."""
    import pathlib

    return [int(p.name) for p in pathlib.Path("/proc").glob("[0-9]*")
            if _stat_fields(p.name)[1:2] == [str(pid)]]


def _alive(pid: int) -> bool:
    """Running: a zombie ("Z") has ended, only its entry waits to be reaped."""
    return _stat_fields(pid)[:1] not in ([], ["Z"], ["X"])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGKILL"])
def test_no_worker_outlives_a_driver_killed_by(tmp_path, signal_name):
    import os
    import signal
    import subprocess
    import time

    workers = []
    driver = subprocess.Popen([sys.executable, "-c", _DRIVER, str(tmp_path / "study")])
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and driver.poll() is None:  # two workers training
            workers = [pid for pid in _children(driver.pid) if _alive(pid)
                       and "resource_tracker" not in _proc(pid, "cmdline")]
            started = list((tmp_path / "study").rglob("run.json"))  # train() has begun
            if len(workers) == 2 and len(started) == 2:
                break
            time.sleep(0.2)
        assert len(workers) == 2, "the sweep never started its two workers"
        driver.send_signal(getattr(signal, signal_name))
        driver.wait(timeout=10)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(_alive(pid) for pid in workers):
            time.sleep(0.1)
        assert not [pid for pid in workers if _alive(pid)], "workers outlived their driver"
    finally:  # never leave a process behind, whatever the outcome
        if driver.poll() is None:
            driver.kill()
        for pid in workers:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
