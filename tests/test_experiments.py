"""Tests for noisy_helpers/experiments.py: sweeps change exactly one field, trials run in
parallel processes, results are reproducible and cached, and bad input is refused."""

import dataclasses
import json
import sys

import pytest

import noisy_helpers as nh
from noisy_helpers import Config
from noisy_helpers.exploration import deep_sea_config
from noisy_helpers.experiments import RESULT_FIELDS, _load_result
from processes import alive, children, left_after, proc, stat_fields


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


def failing_after_it_trains(study_folder):
    """A trial that passes every check and fails once trained: its folder is a run of ours
    whose ``result.json.partial`` is a folder, so its result cannot be saved."""
    from noisy_helpers import run_folder

    trial = tiny_trials(seeds=(1,), values=(False,))[0]
    folder = study_folder / trial.name
    run_folder.start_run_folder(folder, "new")
    (folder / "result.json.partial").mkdir()
    return trial


def test_a_failing_trial_raises_its_error_and_keeps_the_finished_ones(tmp_path):
    good = tiny_trials(seeds=(0,), values=(True,))[0]
    bad = failing_after_it_trains(tmp_path)
    with pytest.raises(IsADirectoryError):
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


def _start_driver(script: str, study, **popen_kwargs):
    """``script`` in a child Python with SIGINT at its default action, so that Python turns it
    into KeyboardInterrupt even when these tests run from a shell's background job (which
    starts every command with SIGINT ignored, and a child inherits that)."""
    import signal
    import subprocess

    return subprocess.Popen([sys.executable, "-c", script, str(study)], **popen_kwargs,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _kill_all(driver, pids) -> None:
    """Never leave a process behind, whatever a test's outcome."""
    import os
    import signal

    if driver.poll() is None:
        driver.kill()
    for pid in pids:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("signal_name", ["SIGINT", "SIGTERM", "SIGKILL"])
def test_no_worker_outlives_a_driver_killed_by(tmp_path, signal_name):
    import signal
    import time

    workers = []
    driver = _start_driver(_DRIVER, tmp_path / "study")
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and driver.poll() is None:  # two workers training
            workers = [pid for pid in children(driver.pid) if alive(pid)
                       and "resource_tracker" not in proc(pid, "cmdline")]
            started = list((tmp_path / "study").rglob("run.json"))  # train() has begun
            if len(workers) == 2 and len(started) == 2:
                break
            time.sleep(0.2)
        assert len(workers) == 2, "the sweep never started its two workers"
        driver.send_signal(getattr(signal, signal_name))
        driver.wait(timeout=10)
        left = left_after(workers, seconds=5)
        assert not left, f"workers outlived their driver: {left}"
    finally:
        _kill_all(driver, workers)


# ------------------------------------------------------------------- the Ray backend
def _require_ray():
    """Ray (the cluster extra); CI installs it, so there a missing Ray is a failure."""
    import os

    if os.environ.get("CI") == "true":
        import ray  # noqa: F401  (CI must run the Ray tests, never skip them)
    return pytest.importorskip("ray")


def test_ray_and_process_backends_write_byte_identical_results(tmp_path):
    _require_ray()
    trials = nh.sweep(Config.small(), "noisy", [True, False], seeds=[0, 1])
    on_processes = nh.run_trials(trials, tmp_path / "processes", workers=2, progress=False)
    on_ray = nh.run_trials(trials, tmp_path / "ray", workers=2, progress=False, backend="ray")
    assert on_ray == on_processes
    assert (tmp_path / "ray" / "results.csv").read_bytes() == \
        (tmp_path / "processes" / "results.csv").read_bytes()
    for trial in trials:  # the trial's files came back from its task: the same run
        for name in ("metrics.csv", "best/online.weights.h5"):
            assert (tmp_path / "ray" / trial.name / name).read_bytes() == \
                (tmp_path / "processes" / trial.name / name).read_bytes()
    import ray

    assert not ray.is_initialized()  # the local Ray it started is shut down


def test_ray_backend_raises_a_failing_trials_error_and_keeps_the_finished_ones(tmp_path):
    _require_ray()
    good = tiny_trials(seeds=(0,), values=(True,))[0]
    bad = failing_after_it_trains(tmp_path)
    with pytest.raises(IsADirectoryError):
        nh.run_trials([good, bad], tmp_path, workers=1, progress=False, backend="ray")
    assert _load_result(good, tmp_path / good.name) is not None
    assert not (tmp_path / bad.name / "result.json").exists()


def test_ray_backend_joins_a_cluster_at_an_address_with_token_authentication(study, tmp_path):
    """A one-machine cluster (``ray start --head``, token authentication on, its own temporary
    folder): a driver without the token is refused with one error before anything is written;
    one with it joins by address and writes the same results.csv as the processes."""
    import os
    import signal
    import subprocess
    import time
    from pathlib import Path

    from noisy_helpers import _ray_backend

    import shutil
    import tempfile

    _require_ray()
    port = _free_port()
    ray_temp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # short: Ray's sockets live there
    env = dict(os.environ, RAY_AUTH_MODE="token", RAY_AUTH_TOKEN="0123456789abcdef" * 2)
    head = subprocess.Popen(
        [str(Path(sys.executable).with_name("ray")), "start", "--head", "--block",
         "--num-cpus", "2", "--port", str(port), "--include-dashboard=false",
         "--temp-dir", ray_temp],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                _ray_backend.check_address(f"127.0.0.1:{port}")
                break
            except ValueError:
                assert time.monotonic() < deadline and head.poll() is None, "no head started"
                time.sleep(0.5)
        code = ("import sys, noisy_helpers as nh\n"
                "from noisy_helpers.exploration import deep_sea_config\n"
                "trials = nh.sweep(deep_sea_config(3, episodes=12), 'noisy', [True, False], "
                "[0, 1], env_id=nh.DEEP_SEA_ID, "
                "env_kwargs=[dict(size=3, randomize_actions=False)])\n"
                "nh.run_trials(trials, sys.argv[1], progress=False, backend='ray', "
                "address=sys.argv[2])\n")
        without_token = {k: v for k, v in env.items() if not k.startswith("RAY_AUTH")}
        refused = subprocess.run([sys.executable, "-c", code, str(tmp_path / "study"),
                                  f"127.0.0.1:{port}"], env=without_token, timeout=180,
                                 capture_output=True, text=True)
        assert refused.returncode == 1
        assert "ValueError: address '127.0.0.1:" in refused.stderr
        assert "Ray did not accept this driver" in refused.stderr
        assert not (tmp_path / "study").exists()  # refused before anything was written
        subprocess.run([sys.executable, "-c", code, str(tmp_path / "study"),
                        f"127.0.0.1:{port}"], env=env, check=True, timeout=180)
    finally:
        # The head's processes share its process group (its workers end with its raylet);
        # SIGTERM would first try to drain the node for 30 s.
        os.killpg(head.pid, signal.SIGKILL)
        head.wait(timeout=30)
        shutil.rmtree(ray_temp, ignore_errors=True)
    assert (tmp_path / "study" / "results.csv").read_bytes() == \
        (study[0] / "results.csv").read_bytes()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


BAD_BACKENDS = [
    ("unknown backend", dict(backend="dask"), ValueError, "backend must be one of"),
    ("backend not a str", dict(backend=None), ValueError, "backend must be one of"),
    ("address without ray", dict(address="127.0.0.1:6379"), ValueError, "address is for"),
    ("address of another form", dict(backend="ray", address="nowhere"), ValueError,
     "host:port"),
    ("address not a str", dict(backend="ray", address=6379), TypeError, "address must be"),
    ("address where nothing answers", dict(backend="ray", address="unreachable"), ValueError,
     "no Ray cluster answers there"),
]


@pytest.mark.parametrize("kwargs, error, match", [c[1:] for c in BAD_BACKENDS],
                         ids=[c[0] for c in BAD_BACKENDS])
def test_bad_input_backend_or_address_is_refused_leaving_out_as_it_was(
        study, kwargs, error, match, tmp_path):
    import shutil
    import time

    from state import tree_hashes

    if kwargs.get("backend") == "ray":
        _require_ray()
    if kwargs.get("address") == "unreachable":
        kwargs = dict(kwargs, address=f"127.0.0.1:{_free_port()}")
    out = tmp_path / "study"
    shutil.copytree(study[0], out)
    changed = [dataclasses.replace(t, config=t.config.replace(learning_rate=2e-3))
               for t in tiny_trials()]  # all would train again
    before = tree_hashes(out)
    start = time.monotonic()
    with pytest.raises(error, match=match):
        nh.run_trials(changed, out, progress=False, **kwargs)
    assert time.monotonic() - start < 30  # Ray itself would retry an address for minutes
    assert tree_hashes(out) == before


def test_ray_address_defaults_to_ray_address_in_the_environment(monkeypatch):
    from noisy_helpers import _ray_backend

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert _ray_backend.check_address(None) is None  # a local Ray
    monkeypatch.setenv("RAY_ADDRESS", "auto")
    assert _ray_backend.check_address(None) == "auto"
    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{_free_port()}")
    with pytest.raises(ValueError, match="RAY_ADDRESS '127.0.0.1:"):
        _ray_backend.check_address(None)


def test_backend_ray_without_ray_names_the_extra_and_leaves_out_as_it_was(
        monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # "import ray" raises ImportError
    with pytest.raises(ImportError, match=r'pip install "noisy_helpers\[cluster\]"'):
        nh.run_trials(tiny_trials(), tmp_path / "study", progress=False, backend="ray")
    assert list(tmp_path.iterdir()) == []


def test_the_process_backend_never_imports_ray(study):
    import subprocess

    code = ("import sys, noisy_helpers as nh\n"
            "from noisy_helpers.exploration import deep_sea_config\n"
            "trials = nh.sweep(deep_sea_config(3, episodes=12), 'noisy', [True, False], "
            "[0, 1], env_id=nh.DEEP_SEA_ID, env_kwargs=[dict(size=3, randomize_actions=False)])\n"
            "nh.run_trials(trials, sys.argv[1], progress=False)\n"
            "import noisy_helpers.cli\n"
            "assert 'ray' not in sys.modules, 'ray was imported'\n")
    subprocess.run([sys.executable, "-c", code, str(study[0])], check=True, timeout=120)


def test_a_folder_of_another_kind_is_refused_before_any_trial_runs(tmp_path, study):
    from state import tree_hashes

    trials = tiny_trials()
    foreign = tmp_path / "study" / trials[1].name
    foreign.mkdir(parents=True)
    (foreign / "notes.txt").write_text("mine")
    before = tree_hashes(tmp_path)
    with pytest.raises(ValueError, match="trial folder .* noisy_helpers did not write"):
        nh.run_trials(trials, tmp_path / "study", workers=1, progress=False)
    assert tree_hashes(tmp_path) == before  # not even the first trial ran


def _foreign_results_csv(out):
    out.mkdir(parents=True)
    (out / "results.csv").write_text("my,own,table\n1,2,3\n")


def _results_csv_folder(out):
    (out / "results.csv").mkdir(parents=True)


def _lone_user_metrics(out):
    folder = out / tiny_trials()[0].name
    folder.mkdir(parents=True)
    (folder / "metrics.csv").write_text("step,x\n1,2\n")  # the user's, no result.json


BAD_STUDIES = [
    ("a results.csv the runner did not write", _foreign_results_csv, {}, "not written by"),
    ("results.csv a folder", _results_csv_folder, {}, "is not a file"),
    ("a trial folder holding only a user's metrics.csv", _lone_user_metrics, {},
     "did not write"),
    ("an env id gymnasium does not know", lambda out: None, dict(env_id="NoSuchEnv-v0"),
     "NoSuchEnv"),
    ("env arguments the env refuses", lambda out: None, dict(env_kwargs=[{"size": "x"}]),
     "size"),
    ("a config the env cannot take", lambda out: None, dict(base=Config.small(num_envs=2)),
     "num_envs"),
]


@pytest.mark.parametrize("setup, changes, match", [c[1:] for c in BAD_STUDIES],
                         ids=[c[0] for c in BAD_STUDIES])
def test_bad_input_study_is_refused_before_anything_is_written(tmp_path, setup, changes, match):
    from state import tree_hashes

    out = tmp_path / "study"
    setup(out)
    kwargs = dict(env_id=nh.DEEP_SEA_ID, env_kwargs=[dict(size=3, randomize_actions=False)])
    base = changes.pop("base", deep_sea_config(3, episodes=12))
    kwargs.update(changes)
    trials = nh.sweep(base, "noisy", [True, False], [0, 1], **kwargs)
    before = tree_hashes(tmp_path), sorted(str(p) for p in tmp_path.rglob("*"))
    with pytest.raises(ValueError, match=match):
        nh.run_trials(trials, out, workers=1, progress=False)
    assert (tree_hashes(tmp_path), sorted(str(p) for p in tmp_path.rglob("*"))) == before


@pytest.mark.parametrize("damage", [b"[]", b"{}", b'{"trial": 1, "result": 2}', b"\xff\xfe",
                                    b"{"])
def test_a_damaged_result_json_means_the_trial_trains_again(study, tmp_path, damage):
    import shutil

    out = shutil.copytree(study[0], tmp_path / "study")
    trial = tiny_trials()[0]
    (out / trial.name / "result.json").write_bytes(damage)
    rows = nh.run_trials(tiny_trials(), out, workers=1, progress=False)
    assert rows == study[1]  # the same run, trained again
    assert _load_result(trial, out / trial.name) is not None


def test_a_copied_compact_run_is_the_runners_and_trains_again_when_changed(study, tmp_path):
    import shutil

    trial = tiny_trials()[0]
    compact = tmp_path / "study" / trial.name  # what a committed study keeps of a run
    compact.mkdir(parents=True)
    for name in ("metrics.csv", "result.json"):
        shutil.copyfile(study[0] / trial.name / name, compact / name)
    changed = dataclasses.replace(trial, config=trial.config.replace(learning_rate=2e-3))
    nh.run_trials([changed], tmp_path / "study", workers=1, progress=False)
    assert _load_result(changed, compact) is not None
    assert (compact / "run.json").exists()


# --------------------------------------------- no Ray process outlives its driver
#: Ray's dashboard and runtime-env agents, as their command lines read when they start.
_RAY_AGENTS = ("dashboard/agent.py", "runtime_env/agent/main.py", "ray::DashboardAgent",
               "ray::RuntimeEnvAgent")
_RAY_DRIVER = _DRIVER.replace("progress=False)", "progress=False, backend='ray')")


def _descendants(pid: int, known: dict) -> dict:
    """``known`` with every running descendant of ``pid`` (or of a known process) added:
    ``{pid: start time}``.  Ray's agents are re-parented to PID 1 when the raylet dies, so the
    test keeps following what it has seen."""
    import pathlib

    known = dict(known)
    table = {}
    for entry in pathlib.Path("/proc").glob("[0-9]*"):
        fields = stat_fields(entry.name)
        if fields:
            table[int(entry.name)] = (fields[1], fields[19])
    grew = True
    while grew:
        grew = False
        for child, (parent, start) in table.items():
            if child not in known and (int(parent) == pid or int(parent) in known):
                known[child] = start
                grew = True
    return known


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("signal_name, moment", [
    ("SIGINT", "running"), ("SIGTERM", "running"), ("SIGKILL", "running"),
    ("SIGINT", "starting"), ("SIGKILL", "starting")])
def test_no_ray_process_outlives_a_driver_stopped_by(tmp_path, signal_name, moment):
    """Stopped while its two trials run as Ray tasks, or while Ray itself is starting (its
    agents, which outlive a killed driver unless the watchdog ends them, up; no task yet)."""
    import signal
    import subprocess
    import time

    _require_ray()
    seen = {}
    driver = _start_driver(_RAY_DRIVER, tmp_path / "study", stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and driver.poll() is None:
            seen = _descendants(driver.pid, seen)
            tasks = [pid for pid in seen if alive(pid)
                     and "_train_trial" in proc(pid, "cmdline")]
            if moment == "running" and len(tasks) == 2:  # both trials run as Ray tasks
                break
            if moment == "starting" and any(agent in proc(pid, "cmdline")
                                            for pid in seen if alive(pid)
                                            for agent in _RAY_AGENTS):
                break
            time.sleep(0.05 if moment == "starting" else 0.2)
        if moment == "running":
            assert len(tasks) == 2, "the sweep never started its two Ray tasks"
            time.sleep(2.0)
        else:
            assert not tasks, "Ray started too fast for this test"
        seen = _descendants(driver.pid, seen)
        driver.send_signal(getattr(signal, signal_name))
        driver.wait(timeout=30)
        left = left_after(seen, seconds=5)
        assert not left, f"processes outlived their driver: {left}"
    finally:
        _kill_all(driver, seen)


def test_a_result_saved_before_importance_normalise_existed_is_still_the_trials(study,
                                                                               tmp_path):
    """The committed study was run before Config.importance_normalise: its result.json lacks
    the field and must still count as the result of today's trial (whose value is 'batch')."""
    import json
    import shutil

    out, _ = study
    trial = tiny_trials()[0]
    folder = shutil.copytree(out / trial.name, tmp_path / "trial")
    saved = json.loads((folder / "result.json").read_text())
    del saved["trial"]["config"]["importance_normalise"]
    (folder / "result.json").write_text(json.dumps(saved))
    assert _load_result(trial, folder) == saved["result"]
    other = dataclasses.replace(trial, config=trial.config.replace(importance_normalise="buffer"))
    assert _load_result(other, folder) is None
