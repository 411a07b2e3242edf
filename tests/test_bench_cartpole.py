"""Tests for benchmarks/bench_cartpole.py: its seed sets (a held-out set is only held out if
no other set, tuning or held-out, shares a seed with it), its arguments, its stop (no worker
outlives the script) and its cache (a finished seed is read, an unfinished one trained again
from step 0)."""

import os
import signal
import subprocess
import sys
import time
from itertools import combinations
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_cartpole  # noqa: E402
from processes import children, left_after  # noqa: E402


def test_no_two_seed_sets_share_a_seed_and_each_held_out_set_has_20():
    sets = bench_cartpole.SEED_SETS
    for (name_a, a), (name_b, b) in combinations(sets.items(), 2):
        assert not set(a) & set(b), (name_a, name_b)
    for name, seeds in sets.items():
        assert len(set(seeds)) == len(seeds), name
        if name.startswith("held-out"):
            assert len(seeds) >= 20, name


@pytest.mark.parametrize("name, seeds", [
    ("held-out", list(range(2000, 2020))), ("held-out-2", list(range(3000, 3020))),
    ("held-out-3", list(range(4000, 4020))), ("held-out-4", list(range(5000, 5020))),
    ("held-out-5", list(range(6000, 6020))), ("held-out-6", list(range(7000, 7020))),
    ("held-out-7", list(range(8000, 8020))),
    ("tuning", [100, 101, 102, 103, *range(1000, 1010)]), ("7:3", [7, 8, 9]), ("0:1", [0]),
    ("4001,4005,101", [4001, 4005, 101]), ("5", [5]), ("0,1", [0, 1]),
])
def test_seed_set_by_hand(name, seeds):
    assert bench_cartpole.seed_set(name) == seeds


def test_the_help_names_every_seed_set_with_its_ranges():
    text = bench_cartpole.describe_seed_sets()
    assert text.startswith("'held-out' (2000-2019), 'held-out-2' (3000-3019), ")
    assert "'held-out-6' (7000-7019), 'held-out-7' (8000-8019)" in text
    assert text.endswith("'tuning' (100-103, 1000-1009)")
    assert all(f"'{name}' (" in text for name in bench_cartpole.SEED_SETS)


def test_seed_set_returns_a_copy_that_leaves_the_set_as_it_was():
    seeds = bench_cartpole.seed_set("held-out")
    seeds.append(-1)
    assert bench_cartpole.HELD_OUT_SEEDS == list(range(2000, 2020))


@pytest.mark.parametrize("name", ["", "held-out-8", "HELD-OUT", "5000:", ":20", "5000:0",
                                  "5000:-1", "-1:3", "a:b", "1.5:2", "1:2:3", "1,1", "1,,2", "1,",
                                  ",1", "1, 2", "-1,2", "1,2:3", "1.0,2"])
def test_bad_seed_set_name_is_one_clear_error(name):
    with pytest.raises(ValueError, match=r"--seeds must be one of held-out, .* got "):
        bench_cartpole.seed_set(name)


def test_the_cli_refuses_a_bad_seed_set_before_running_anything(tmp_path, capsys):
    with pytest.raises(SystemExit):
        bench_cartpole.main(["--seeds", "held-out-9", "--out", str(tmp_path / "out")])
    assert "--seeds must be one of" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_set_reads_literals_and_keeps_a_bare_word_as_a_string():
    fields = {"noise_resample", "learning_rate_end", "hidden_sizes", "noisy_hidden"}
    changes = bench_cartpole.parse_changes(
        ["noise_resample=episode", "learning_rate_end=1e-6", "hidden_sizes=(64, 64)",
         "noisy_hidden=True"], fields)
    assert changes == {"noise_resample": "episode", "learning_rate_end": 1e-6,
                       "hidden_sizes": (64, 64), "noisy_hidden": True}
    assert bench_cartpole.parse_changes(["noise_resample='episode'"], fields) == {
        "noise_resample": "episode"}


@pytest.mark.parametrize("item, message", [
    ("learning_rate", "--set must be FIELD=VALUE, got 'learning_rate'"),
    ("=1e-3", "--set must be FIELD=VALUE, got '=1e-3'"),
    ("learning_rate=", "--set must be FIELD=VALUE, got 'learning_rate='"),
    ("no_such_field=1", "--set: Config has no field 'no_such_field'"),
    ("noise_resample=sometimes", "noise_resample"),
    ("learning_rate=fast", "learning_rate"),
])
def test_a_bad_set_is_one_clear_line_before_anything_runs(item, message, tmp_path, capsys):
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_info:
        bench_cartpole.main(["--agents", "ours", "--seeds", "0", "--out", str(out),
                             "--set", item])
    assert exit_info.value.code == 2
    printed = capsys.readouterr().err
    assert "Traceback" not in printed
    error = printed.strip().splitlines()[-1]
    assert ": error: " in error and message in error, error
    assert not out.exists()


@pytest.mark.parametrize("workers", ["0", "-1"])
def test_a_worker_count_below_one_is_one_clear_line_before_anything_runs(workers, tmp_path,
                                                                         capsys):
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_info:
        bench_cartpole.main(["--agents", "ours", "--seeds", "0", "--out", str(out),
                             "--workers", workers])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert f"--workers must be at least 1, got {workers}" in error
    assert not out.exists()


def test_after_a_stop_a_worker_starts_no_other_job(monkeypatch):
    def must_not_run(job):
        raise AssertionError("a job started after the stop")

    monkeypatch.setattr(bench_cartpole, "run_ours", must_not_run)
    monkeypatch.setitem(bench_cartpole._worker, "stopping", True)
    with pytest.raises(KeyboardInterrupt):
        bench_cartpole._run(dict(agent="ours", seed=0))
    assert bench_cartpole._worker == {"running": False, "stopping": True}


def test_a_stop_during_a_job_marks_the_worker_stopping(monkeypatch):
    def stopped(job):
        assert bench_cartpole._worker["running"]
        raise KeyboardInterrupt

    monkeypatch.setattr(bench_cartpole, "run_ours", stopped)
    monkeypatch.setitem(bench_cartpole._worker, "stopping", False)
    with pytest.raises(KeyboardInterrupt):
        bench_cartpole._run(dict(agent="ours", seed=0))
    assert bench_cartpole._worker == {"running": False, "stopping": True}


def _training_started(seed_dir: Path) -> bool:
    """Whether the run has logged an episode (so its training loop, and its stop, run)."""
    try:
        return len((seed_dir / "metrics.csv").read_text().splitlines()) >= 2
    except OSError:
        return False


@pytest.mark.skipif(sys.platform != "linux", reason="finds the workers in /proc")
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_a_stopped_benchmark_leaves_no_worker_and_each_started_seed_stops_at_a_whole_step(
        stop, tmp_path):
    """SIGTERM: the script stops its workers, then exits 130 with one line.  SIGKILL: the
    script is gone at once, and each worker, seeing it, stops its seed and exits."""
    from noisy_helpers.run_folder import find_checkpoint, read_state

    out = tmp_path / "out"
    script = Path(bench_cartpole.__file__)
    printed = tmp_path / "stdout.txt", tmp_path / "stderr.txt"  # files: a worker left running
    with open(printed[0], "w") as stdout, open(printed[1], "w") as stderr:  # holds no pipe
        bench = subprocess.Popen(
            [sys.executable, str(script), "--agents", "ours", "--seeds", "0:3", "--workers", "2",
             "--out", str(out)], stdout=stdout, stderr=stderr, start_new_session=True)
    started = [out / "ours" / f"seed_{seed}" for seed in (0, 1)]
    try:
        deadline = time.monotonic() + 240
        while not all(_training_started(seed_dir) for seed_dir in started):
            assert bench.poll() is None, printed[1].read_text()
            assert time.monotonic() < deadline, "the two seeds did not start training"
            time.sleep(0.2)
        workers = children(bench.pid)
        assert len(workers) >= 2, workers
        bench.send_signal(stop)
        bench.wait(timeout=120)
        left_running = left_after(workers, seconds=60)  # SIGKILL: the workers end on their own
    finally:
        try:  # the script and any worker still running: only if the test failed
            os.killpg(bench.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        bench.wait()
    stderr = printed[1].read_text()
    assert not left_running, f"workers outlived the benchmark: {left_running}"
    if stop == signal.SIGTERM:
        assert bench.returncode == 130, stderr
        assert "Traceback" not in stderr, stderr
        assert stderr.strip().splitlines()[-1].startswith(
            "bench_cartpole: stopped; every worker has ended."), stderr
    for seed, seed_dir in zip((0, 1), started):
        state = read_state(find_checkpoint(seed_dir))  # train's stop: a whole, verified checkpoint
        assert state["config"].seed == seed
        assert 0 < state["step"] < bench_cartpole.TOTAL_STEPS
    assert not (out / "ours" / "seed_2").exists()  # the third seed never started


@pytest.fixture(scope="module")
def finished_small_run(tmp_path_factory):
    """A finished 600-step CartPole run of ``Config.small`` and its config."""
    import noisy_helpers as nh

    config = nh.Config.small(seed=5, best_check_episodes=0)
    out = tmp_path_factory.mktemp("bench") / "seed_5"
    nh.train(config, "CartPole-v1", out=out, progress=False, tensorboard=False)
    return out, config


class _Trained(Exception):
    pass


def _recording_train(calls):
    def train(config, **kwargs):
        calls.append(dict(kwargs, config=config))
        raise _Trained
    return train


def test_an_unfinished_seed_is_trained_again_from_its_first_step_not_resumed(
        finished_small_run, tmp_path, monkeypatch):
    import shutil

    import noisy_helpers as nh

    out, config = finished_small_run
    copy = tmp_path / "seed_5"
    shutil.copytree(out, copy)
    calls = []
    monkeypatch.setattr(nh, "train", _recording_train(calls))
    longer = config.replace(total_steps=2 * config.total_steps)  # so this run is unfinished
    with pytest.raises(_Trained):
        bench_cartpole.run_ours(dict(config=longer.to_dict(), out=str(copy)))
    assert len(calls) == 1
    assert calls[0]["config"] == longer
    assert calls[0]["overwrite"] is True and not calls[0].get("resume", False)


def test_a_finished_seed_of_the_same_config_is_read_not_trained_again(finished_small_run,
                                                                       monkeypatch):
    import noisy_helpers as nh

    out, config = finished_small_run
    calls = []
    monkeypatch.setattr(nh, "train", _recording_train(calls))
    result = bench_cartpole.run_ours(dict(config=config.to_dict(), out=str(out)))
    assert calls == []
    assert result["evaluations"] == config.total_steps // config.eval_period
    assert 0 <= result["best_fresh"] <= 500
