"""Tests for noisy_helpers/run_folder.py: what may be written where, verified checkpoints,
untrusted files, and the metrics file."""

import hashlib
import json
import shutil
import sys

import numpy as np
import pytest

import noisy_helpers as nh
from noisy_helpers import run_folder
from noisy_helpers.run_folder import (
    CHECKPOINT_FILES,
    MANIFEST,
    MetricsFile,
    check_out_folder,
    find_checkpoint,
    load_checkpoint,
    read_metrics,
    read_state,
    start_run_folder,
    verify_checkpoint,
)
import folder_lock
from state import assert_refused_unchanged, assert_unchanged, snapshot, tree_hashes


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A finished small CartPole run (300 steps, a checkpoint at the end)."""
    out = tmp_path_factory.mktemp("trained") / "run"
    nh.train(nh.Config.small(total_steps=300, eval_period=300, checkpoint_period=300),
             "CartPole-v1", out=out, progress=False, tensorboard=False)
    return out


@pytest.fixture
def run_copy(trained, tmp_path):
    """A copy of the trained run that a test may damage."""
    return shutil.copytree(trained, tmp_path / "run")


# ----------------------------------------------------------------------- the folder rules
def test_an_absent_or_empty_folder_takes_a_new_run(tmp_path):
    assert check_out_folder(tmp_path / "absent") == "new"
    assert check_out_folder(tmp_path) == "new"


def test_a_new_run_writes_its_marker_first(tmp_path):
    marker = start_run_folder(tmp_path / "run", "new")
    assert json.loads((tmp_path / "run" / "run.json").read_text()) == marker
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["run.json"]


def test_overwrite_replaces_the_runs_own_entries_and_nothing_else(run_copy):
    (run_copy / "notes.txt").write_text("mine")
    old_id = json.loads((run_copy / "run.json").read_text())["run_id"]
    assert check_out_folder(run_copy, overwrite=True) == "overwrite"
    marker = start_run_folder(run_copy, "overwrite")
    assert marker["run_id"] != old_id
    assert sorted(p.name for p in run_copy.iterdir()) == ["notes.txt", "run.json"]
    assert (run_copy / "notes.txt").read_text() == "mine"


BAD_FOLDERS = [
    # (id, how to make the folder, keyword arguments, error, message)
    ("foreign files", lambda p: (p / "thesis.tex").write_text("x"), {}, ValueError,
     "did not write"),
    ("foreign files, overwrite", lambda p: (p / "thesis.tex").write_text("x"),
     dict(overwrite=True), ValueError, "did not write"),
    ("a user's checkpoint folder", lambda p: (p / "checkpoint").mkdir(), dict(overwrite=True),
     ValueError, "did not write"),
    ("a user's metrics.csv", lambda p: (p / "metrics.csv").write_text("a,b\n"), {},
     ValueError, "did not write"),
    ("a run without overwrite", lambda p: start_run_folder(p, "new"), {}, ValueError,
     "overwrite"),
    ("resume in an empty folder", lambda p: None, dict(resume=True), FileNotFoundError,
     "no run to resume"),
    ("resume in foreign files", lambda p: (p / "a.txt").write_text("x"), dict(resume=True),
     FileNotFoundError, "no run to resume"),
    ("overwrite and resume", lambda p: start_run_folder(p, "new"),
     dict(overwrite=True, resume=True), ValueError, "overwrite and resume"),
    ("overwrite not a bool", lambda p: None, dict(overwrite="yes"), TypeError, "overwrite"),
    ("garbled marker", lambda p: (p / "run.json").write_text("{not json"), {}, ValueError,
     "run.json"),
    ("marker of something else", lambda p: (p / "run.json").write_text(json.dumps(
        dict(format="other", kind="run", run_id="0" * 32, package_version="1"))), {},
     ValueError, "not a noisy_helpers run marker"),
    ("marker with an unknown key", lambda p: (p / "run.json").write_text(json.dumps(
        dict(format="noisy_helpers run folder", kind="run", run_id="0" * 32,
             package_version="1", extra=1))), dict(overwrite=True), ValueError,
     "unknown keys"),
    ("marker with a bad run id", lambda p: (p / "run.json").write_text(json.dumps(
        dict(format="noisy_helpers run folder", kind="run", run_id="../x",
             package_version="1"))), dict(overwrite=True), ValueError, "run_id"),
    ("marker is a list", lambda p: (p / "run.json").write_text("[]"), {}, ValueError,
     "JSON object"),
]


@pytest.mark.parametrize("make, kwargs, error, match",
                         [case[1:] for case in BAD_FOLDERS], ids=[c[0] for c in BAD_FOLDERS])
def test_bad_input_folder_is_refused_and_left_as_it_was(tmp_path, make, kwargs, error, match):
    folder = tmp_path / "out"
    folder.mkdir()
    make(folder)
    before = tree_hashes(folder)
    with pytest.raises(error, match=match):
        check_out_folder(folder, **kwargs)
    assert tree_hashes(folder) == before


def test_bad_input_out_that_is_a_file_or_not_a_path_is_refused(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="not a folder"):
        check_out_folder(tmp_path / "file")
    for bad in (3, None, True, ""):
        with pytest.raises((TypeError, ValueError), match="out"):
            check_out_folder(bad)
    assert (tmp_path / "file").read_text() == "x"


# ----------------------------------------------------------------------- one writer at a time
@pytest.fixture
def held_by_another_process(run_copy):
    """``run_copy``, held by a second Python process until the test ends."""
    with folder_lock.held_by_another_process(run_copy):
        yield run_copy


@pytest.mark.skipif(sys.platform == "win32", reason="no flock on Windows: no lock is taken")
@pytest.mark.parametrize("mode, kwargs", [("resume", dict(resume=True)),
                                          ("overwrite", dict(overwrite=True))])
def test_a_run_folder_held_by_another_process_is_refused_and_left_as_it_was(
        held_by_another_process, mode, kwargs):
    before = tree_hashes(held_by_another_process)
    with pytest.raises(ValueError, match="out .* is in use by another training run"):
        with run_folder.claim_run_folder(held_by_another_process, mode, **kwargs):
            pytest.fail("the block ran while another process held the folder")
    assert tree_hashes(held_by_another_process) == before


@pytest.mark.skipif(sys.platform == "win32", reason="no flock on Windows: no lock is taken")
def test_a_folder_is_claimed_once_in_one_process_too_and_free_again_after_the_block(run_copy):
    with run_folder.claim_run_folder(run_copy, "resume", resume=True):
        with pytest.raises(ValueError, match="in use"):
            with run_folder.claim_run_folder(run_copy, "resume", resume=True):
                pass
    with run_folder.claim_run_folder(run_copy, "resume", resume=True) as claimed:
        assert claimed == run_copy


@pytest.mark.skipif(sys.platform == "win32", reason="no fcntl on Windows")
def test_a_filesystem_that_cannot_lock_a_folder_runs_without_the_lock(run_copy, monkeypatch):
    import errno
    import fcntl

    def refuse(descriptor, operation):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", refuse)
    with run_folder.claim_run_folder(run_copy, "resume", resume=True) as claimed:
        assert claimed == run_copy  # the run goes on, unlocked, as on Windows


def test_a_folder_released_by_an_error_in_the_block_can_be_claimed_again(run_copy):
    with pytest.raises(KeyError):
        with run_folder.claim_run_folder(run_copy, "resume", resume=True):
            raise KeyError("stop")
    with run_folder.claim_run_folder(run_copy, "resume", resume=True):
        pass


def test_a_new_folder_is_created_by_the_claim_and_removed_if_the_claim_fails(tmp_path):
    with run_folder.claim_run_folder(tmp_path / "new", "new") as claimed:
        assert claimed.is_dir() and not any(claimed.iterdir())
    with pytest.raises(ValueError, match="changed while this run was being prepared"):
        with run_folder.claim_run_folder(tmp_path / "absent", "resume", resume=False):
            pass  # "new" now, where the caller had decided "resume"
    assert not (tmp_path / "absent").exists()


def test_folders_the_claim_created_are_removed_if_the_block_writes_nothing(tmp_path):
    with pytest.raises(RuntimeError):
        with run_folder.claim_run_folder(tmp_path / "a" / "b" / "run", "new"):
            raise RuntimeError("a check failed before the first write")
    assert not (tmp_path / "a").exists()
    with run_folder.claim_run_folder(tmp_path / "a" / "run", "new") as claimed:
        start_run_folder(claimed, "new")
    assert (tmp_path / "a" / "run" / "run.json").is_file()  # written: kept


def test_a_folder_another_run_wrote_into_after_the_check_is_not_written_over(run_copy, tmp_path):
    """The race the re-check closes: decided "new" while empty, then another run started."""
    folder = tmp_path / "out"
    assert check_out_folder(folder) == "new"
    shutil.copytree(run_copy, folder)  # the other run, written in between
    before = tree_hashes(folder)
    with pytest.raises(ValueError, match="changed while this run was being prepared"):
        with run_folder.claim_run_folder(folder, "new"):
            pytest.fail("the block ran over another run")
    assert tree_hashes(folder) == before


# ----------------------------------------------------------------------- checkpoints
def test_a_checkpoint_has_a_manifest_of_every_file(trained):
    manifest = verify_checkpoint(trained / "checkpoint")
    assert sorted(manifest["files"]) == sorted(CHECKPOINT_FILES)
    for name, entry in manifest["files"].items():
        data = (trained / "checkpoint" / name).read_bytes()
        assert entry == dict(bytes=len(data), sha256=hashlib.sha256(data).hexdigest())


def flip_bytes(path):
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    for i in range(middle, min(middle + 256, len(data))):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


DAMAGES = {"flipped": flip_bytes, "truncated": truncate, "missing": lambda p: p.unlink(),
           "garbage": lambda p: p.write_bytes(b"\x00garbage" * 10)}


@pytest.mark.parametrize("name", CHECKPOINT_FILES)
@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_bad_input_damaged_checkpoint_is_one_line_naming_the_file_and_loads_nothing(
        run_copy, name, damage):
    DAMAGES[damage](run_copy / "checkpoint" / name)
    agent, buffer = fresh_agent_and_buffer_of(run_copy)
    before = snapshot((agent, buffer))
    with pytest.raises(ValueError, match=name.replace(".", r"\.")) as raised:
        load_checkpoint(run_copy / "checkpoint", agent, buffer)
    assert "\n" not in str(raised.value)
    assert_unchanged(before, (agent, buffer))


def fresh_agent_and_buffer_of(run):
    """An agent and buffer for the run's config, built without reading its checkpoint."""
    config = nh.Config.small(total_steps=300, eval_period=300, checkpoint_period=300)
    agent = nh.Agent(config, (4,), 2)
    buffer = nh.PrioritizedReplayBuffer(config.buffer_size, (4,), seed=config.seed,
                                        n_actions=2)
    return agent, buffer


def rewrite_manifest(run, change):
    path = run / "checkpoint" / MANIFEST
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))


BAD_MANIFESTS = [
    ("a file outside the checkpoint", lambda m: m["files"].update(
        {"../run.json": dict(bytes=1, sha256="0" * 64)}), "bad file name"),
    ("an absolute path", lambda m: m["files"].update(
        {"/etc/passwd": dict(bytes=1, sha256="0" * 64)}), "bad file name"),
    ("a required file unlisted", lambda m: m["files"].pop("replay.npz"), "lacks"),
    ("a wrong size", lambda m: m["files"]["agent.json"].update(bytes=1), "bytes"),
    ("a wrong hash", lambda m: m["files"]["agent.json"].update(sha256="0" * 64), "SHA-256"),
    ("a bool size", lambda m: m["files"]["agent.json"].update(bytes=True), "bad entry"),
    ("an extra key", lambda m: m.update(extra=1), "unknown keys"),
    ("files not an object", lambda m: m.update(files=[]), "must be an object"),
]


@pytest.mark.parametrize("change, match", [c[1:] for c in BAD_MANIFESTS],
                         ids=[c[0] for c in BAD_MANIFESTS])
def test_bad_input_manifest_is_refused_before_anything_is_read(run_copy, change, match):
    rewrite_manifest(run_copy, change)
    agent, buffer = fresh_agent_and_buffer_of(run_copy)
    before = snapshot((agent, buffer))
    with pytest.raises(ValueError, match=match):
        load_checkpoint(run_copy / "checkpoint", agent, buffer)
    assert_unchanged(before, (agent, buffer))


def test_a_verified_checkpoint_loads_the_agent_and_the_buffer(trained):
    agent, buffer = fresh_agent_and_buffer_of(trained)
    state = load_checkpoint(trained / "checkpoint", agent, buffer)
    assert state["step"] == 300 and len(buffer) == 300 and agent.train_steps == 200


def test_a_crash_between_the_renames_is_recovered_with_the_latest_copy(run_copy):
    checkpoint = run_copy / "checkpoint"
    newer = shutil.copytree(checkpoint, run_copy / "checkpoint.partial")
    state = json.loads((newer / "state.json").read_text())
    state["step"] = 250  # pretend: an older checkpoint moved aside as .old
    old = run_copy / "checkpoint.old"
    checkpoint.rename(old)
    # Give the .old copy a lower step with a matching manifest.
    (old / "state.json").write_text(json.dumps(state))
    manifest = json.loads((old / MANIFEST).read_text())
    data = (old / "state.json").read_bytes()
    manifest["files"]["state.json"] = dict(bytes=len(data),
                                           sha256=hashlib.sha256(data).hexdigest())
    (old / MANIFEST).write_text(json.dumps(manifest))
    assert find_checkpoint(run_copy) == newer  # the complete copy with the latest step
    assert find_checkpoint(run_copy, recover=True) == checkpoint
    assert read_state(checkpoint)["step"] == 300 and not newer.exists()


def test_a_partial_checkpoint_without_its_manifest_is_never_used(run_copy):
    partial = shutil.copytree(run_copy / "checkpoint", run_copy / "checkpoint.partial")
    (partial / MANIFEST).unlink()
    (partial / "state.json").write_text("{}")
    assert find_checkpoint(run_copy) == run_copy / "checkpoint"


def test_a_run_without_a_checkpoint_says_so(tmp_path):
    start_run_folder(tmp_path, "new")
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        find_checkpoint(tmp_path)


# ----------------------------------------------------------------------- state.json
def state_of(run):
    return json.loads((run / "checkpoint" / "state.json").read_text())


def write_state(run, state):
    (run / "checkpoint" / "state.json").write_text(json.dumps(state))


BAD_STATES = [
    ("module:Env id", dict(env_id="evil_module_for_test:CartPole-v1"), "names a module"),
    ("unregistered id", dict(env_id="NoSuchEnv-v0"), "unknown environment id"),
    ("id not a string", dict(env_id=7), "env_id"),
    ("negative step", dict(step=-1), "'step'"),
    ("bool step", dict(step=True), "'step'"),
    ("float episode", dict(episode=1.5), "'episode'"),
    ("huge evaluation", dict(evaluation=10**30), "'evaluation'"),
    ("evaluations beyond the step", dict(evaluation=5), "evaluation"),
    ("step beyond total", dict(step=10**6), "beyond total_steps"),
    ("unknown key", dict(extra=1), "unknown keys"),
    ("config not an object", dict(config=[1]), "config"),
    ("bad config value", dict(config="gamma"), "config"),
    ("env_kwargs nested", dict(env_kwargs={"size": {"a": 1}}), "env_kwargs"),
    ("env_kwargs key not an identifier", dict(env_kwargs={"../x": 1}), "env_kwargs"),
    ("env_kwargs infinite", dict(env_kwargs={"size": float("inf")}), "env_kwargs"),
    ("run_id not a string", dict(run_id=3), "run_id"),
]


@pytest.mark.parametrize("change, match", [c[1:] for c in BAD_STATES],
                         ids=[c[0] for c in BAD_STATES])
def test_bad_input_state_json_is_refused_naming_the_problem(run_copy, change, match):
    state = state_of(run_copy)
    if change.get("config") == "gamma":
        change = dict(config=dict(state["config"], gamma=2.0))
    state.update(change)
    write_state(run_copy, state)
    with pytest.raises(ValueError, match=match) as raised:
        read_state(run_copy / "checkpoint")
    assert "\n" not in str(raised.value)


def test_bad_input_missing_state_key_is_refused(run_copy):
    state = state_of(run_copy)
    del state["env_kwargs"]
    write_state(run_copy, state)
    with pytest.raises(ValueError, match="missing"):
        read_state(run_copy / "checkpoint")


def test_a_module_named_by_a_state_json_is_never_imported(run_copy, tmp_path, monkeypatch):
    (tmp_path / "evil_module_for_test.py").write_text(
        f"open({str(tmp_path / 'ran')!r}, 'w').write('x')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    state = state_of(run_copy)
    state["env_id"] = "evil_module_for_test:CartPole-v1"
    write_state(run_copy, state)
    with pytest.raises(ValueError, match="module"):
        read_state(run_copy / "checkpoint")
    with pytest.raises(ValueError, match="module"):
        nh.make_env("evil_module_for_test:CartPole-v1")
    assert not (tmp_path / "ran").exists() and "evil_module_for_test" not in sys.modules


# ----------------------------------------------------------------------- metrics.csv
FIELDS = ["step", "episode", "value"]


def write_lines(path, text):
    path.write_bytes(text.encode())


def test_a_resumed_metrics_file_drops_rows_after_the_checkpoint_and_a_partial_line(tmp_path):
    path = tmp_path / "metrics.csv"
    write_lines(path, "step,episode,value\r\n10,1,1\r\n20,2,2\r\n30,3,3\r\n40,4")
    metrics = MetricsFile(path, FIELDS, resume_step=20)
    metrics.write(dict(step=25, episode=3, value=9.5))
    metrics.close()
    assert path.read_text().splitlines() == ["step,episode,value", "10,1,1", "20,2,2",
                                             "25,3,9.5"]


def test_a_new_metrics_file_has_the_header_only(tmp_path):
    MetricsFile(tmp_path / "m.csv", FIELDS).close()
    assert (tmp_path / "m.csv").read_text().splitlines() == ["step,episode,value"]


def test_read_metrics_skips_a_partial_last_line(tmp_path):
    path = tmp_path / "m.csv"
    write_lines(path, "step,episode,value\r\n10,1,1\r\n20,2,")
    metrics = read_metrics(path)
    assert metrics["step"].tolist() == [10.0]


BAD_METRICS = [
    ("a short row in the middle", "step,episode,value\r\n10,1\r\n20,2,2\r\n", "line 2"),
    ("junk text", "step,episode,value\r\n10,1,abc\r\n", "not a number"),
    ("binary", None, "not a text file"),
]


@pytest.mark.parametrize("text, match", [c[1:] for c in BAD_METRICS],
                         ids=[c[0] for c in BAD_METRICS])
def test_bad_input_metrics_file_is_one_clear_error(tmp_path, text, match):
    path = tmp_path / "m.csv"
    if text is None:
        path.write_bytes(b"\xff\xfe\x00garbage")
    else:
        write_lines(path, text)
    with pytest.raises(ValueError, match=match):
        read_metrics(path)


def test_bad_input_resumed_metrics_of_other_columns_are_refused(tmp_path):
    path = tmp_path / "m.csv"
    write_lines(path, "a,b\r\n1,2\r\n")
    with pytest.raises(ValueError, match="other columns"):
        MetricsFile(path, FIELDS, resume_step=5)
    assert path.read_bytes() == b"a,b\r\n1,2\r\n"


# ----------------------------------------------------------------------- export
def test_export_writes_a_verified_agent_with_its_marker(trained, tmp_path):
    out = run_folder.export_agent(trained, tmp_path / "agent")
    assert run_folder.read_marker(out)["kind"] == "export"
    verify_checkpoint(out / "checkpoint", run_folder.EXPORTED_FILES)
    agent, _ = fresh_agent_and_buffer_of(trained)
    load_checkpoint(out / "checkpoint", agent)  # the networks only


def test_bad_input_export_over_foreign_files_or_an_export_is_refused(trained, tmp_path):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("x")
    with pytest.raises(ValueError, match="did not write"):
        run_folder.export_agent(trained, foreign, overwrite=True)
    assert sorted(p.name for p in foreign.iterdir()) == ["keep.txt"]
    first = run_folder.export_agent(trained, tmp_path / "agent")
    before = tree_hashes(first)
    with pytest.raises(ValueError, match="already holds an exported agent"):
        run_folder.export_agent(trained, first)
    assert tree_hashes(first) == before
    run_folder.export_agent(trained, first, overwrite=True)  # allowed, and verified
    verify_checkpoint(first / "checkpoint", run_folder.EXPORTED_FILES)


@pytest.mark.parametrize("which, folder", [("last", "checkpoint"), ("best", "best")])
def test_bad_input_export_of_a_damaged_run_writes_nothing(run_copy, tmp_path, which, folder):
    flip_bytes(run_copy / folder / "online.weights.h5")
    with pytest.raises(ValueError, match="online.weights.h5"):
        run_folder.export_agent(run_copy, tmp_path / "agent", which=which)
    assert not (tmp_path / "agent").exists()


def test_check_env_kwargs_accepts_json_scalars():
    assert run_folder.check_env_kwargs({"size": 10, "randomize": True, "name": "x",
                                        "p": 0.5, "n": None}) == {
        "size": 10, "randomize": True, "name": "x", "p": 0.5, "n": None}


def test_bad_input_resumed_metrics_with_a_junk_step_name_the_file_and_line(tmp_path):
    path = tmp_path / "m.csv"
    write_lines(path, "step,episode,value\r\n10,1,1\r\njunk,2,2\r\n")
    with pytest.raises(ValueError, match=r"m\.csv' line 3"):
        MetricsFile(path, FIELDS, resume_step=20)
    assert path.read_bytes() == b"step,episode,value\r\n10,1,1\r\njunk,2,2\r\n"


def test_agent_load_alone_verifies_a_checkpoints_manifest(run_copy):
    """Flipped bytes in the weights' data load silently into HDF5; the manifest catches them,
    also when a notebook calls Agent.load directly."""
    flip_bytes(run_copy / "checkpoint" / "online.weights.h5")
    agent, _ = fresh_agent_and_buffer_of(run_copy)
    assert_refused_unchanged(agent, lambda a: a.load(run_copy / "checkpoint", weights_only=True),
                             ValueError, r"online\.weights\.h5.*SHA-256")


# ----------------------------------------------------------------------- the best agent
def test_training_keeps_the_best_evaluation_in_best_with_its_step_and_score(trained):
    metrics = read_metrics(trained / "metrics.csv")
    evals = ~np.isnan(metrics["eval_return"])
    steps, returns = metrics["step"][evals], metrics["eval_return"][evals]
    best = int(np.flatnonzero(returns == returns.max())[-1])
    checkpoint, selection = run_folder.find_agent(trained, "best")
    assert checkpoint == trained / "best"
    config = nh.Config.small()  # 2 evaluation episodes, then a check of 2 more
    check = selection["check_return"]
    assert selection == dict(which="best", step=int(steps[best]),
                             eval_return=pytest.approx(float(returns[best])), check_return=check,
                             selection_return=pytest.approx(
                                 (config.eval_episodes * float(returns[best])
                                  + config.best_check_episodes * check)
                                 / (config.eval_episodes + config.best_check_episodes)))
    verify_checkpoint(checkpoint, run_folder.EXPORTED_FILES + (run_folder.SELECTION,))


def test_without_a_check_the_best_agent_is_the_latest_highest_evaluation(tmp_path):
    """best_check_episodes=0, as runs saved before the check: picked on the evaluation alone."""
    out = tmp_path / "run"
    config = nh.Config.small(total_steps=900, eval_period=150, checkpoint_period=900,
                             best_check_episodes=0)
    nh.train(config, "CartPole-v1", out=out, progress=False, tensorboard=False)
    metrics = read_metrics(out / "metrics.csv")
    evals = ~np.isnan(metrics["eval_return"])
    steps, returns = metrics["step"][evals], metrics["eval_return"][evals]
    best = int(np.flatnonzero(returns == returns.max())[-1])
    assert run_folder.find_agent(out)[1] == dict(which="best", step=int(steps[best]),
                                                 eval_return=pytest.approx(returns[best]))


def test_the_best_agent_is_the_checked_one_with_the_highest_mean_over_both(tmp_path):
    """Re-play the run's rule from its metrics and each candidate's check: every evaluation
    that reached the best's score so far was checked, and best/ holds the latest agent whose
    mean over its evaluation and check was the highest."""
    out = tmp_path / "run"
    config = nh.Config.small(total_steps=900, eval_period=150, checkpoint_period=150,
                             best_check_episodes=3)
    steps = list(range(150, 901, 150))
    nh.train(config, "CartPole-v1", out=out, progress=False, tensorboard=False,
             snapshot_steps=tuple(steps))
    metrics = read_metrics(out / "metrics.csv")
    returns = metrics["eval_return"][~np.isnan(metrics["eval_return"])]
    envs = [nh.make_env("CartPole-v1") for _ in range(config.best_check_episodes)]
    best = None
    for evaluation, (step, eval_return) in enumerate(zip(steps, returns), start=1):
        if not run_folder.at_least_best(best, eval_return):
            continue
        agent, _ = nh.load_snapshot(out, step)
        check = nh.evaluate(agent, envs, nh.training._check_seeds(config, evaluation))
        total = (eval_return * config.eval_episodes + check.sum()) / (
            config.eval_episodes + config.best_check_episodes)
        if run_folder.at_least_best(best, total):
            best = dict(step=step, selection_return=total)
    selection = run_folder.find_agent(out)[1]
    assert (selection["step"], selection["selection_return"]) == (
        best["step"], pytest.approx(best["selection_return"]))


def test_which_last_is_the_latest_checkpoint(trained):
    checkpoint, selection = run_folder.find_agent(trained, "last")
    assert checkpoint == trained / "checkpoint"
    assert selection == dict(which="last", step=300, eval_return=None)


def test_the_best_agent_is_the_one_that_scored(tmp_path):
    """Evaluating best/ on the evaluation's own episodes gives back its recorded score."""
    out = tmp_path / "run"
    config = nh.Config.small(total_steps=600, eval_period=200, checkpoint_period=600)
    nh.train(config, "CartPole-v1", out=out, progress=False, tensorboard=False)
    checkpoint, selection = run_folder.find_agent(out)
    agent = nh.Agent(config, (4,), 2)
    load_checkpoint(checkpoint, agent)
    evaluation = selection["step"] // config.eval_period
    seeds = [nh.training._eval_seed(config, evaluation, i) for i in range(config.eval_episodes)]
    envs = [nh.make_env("CartPole-v1") for _ in seeds]
    assert nh.evaluate(agent, envs, seeds).mean() == pytest.approx(selection["eval_return"])
    check_seeds = nh.training._check_seeds(config, evaluation)
    assert nh.evaluate(agent, envs, check_seeds).mean() == pytest.approx(
        selection["check_return"])


def test_export_says_which_agent_it_holds(trained, tmp_path):
    best = run_folder.export_agent(trained, tmp_path / "best")
    assert run_folder.find_agent(best)[1]["which"] == "best"
    last = run_folder.export_agent(trained, tmp_path / "last", which="last")
    assert run_folder.find_agent(last)[1] == dict(which="last", step=300, eval_return=None)
    with pytest.raises(ValueError, match="is its run's last one"):
        run_folder.find_agent(last, "best")


@pytest.mark.parametrize("which, error", [("worst", ValueError), ("", ValueError),
                                          (1, TypeError), (None, TypeError)])
def test_bad_input_export_which_is_refused_before_writing(trained, tmp_path, which, error):
    with pytest.raises(error, match="which"):
        run_folder.export_agent(trained, tmp_path / "agent", which=which)
    assert not (tmp_path / "agent").exists()


def test_a_run_without_best_says_to_use_last(run_copy):
    shutil.rmtree(run_copy / "best")
    with pytest.raises(FileNotFoundError, match="--which last"):
        run_folder.find_agent(run_copy)


BAD_SELECTIONS = [
    (lambda s: s.update(which="median"), "'which'"),
    (lambda s: s.update(step=-1), "'step'"),
    (lambda s: s.update(eval_return="500"), "'eval_return'"),
    (lambda s: s.update(eval_return=float("nan")), "'eval_return'"),
    (lambda s: s.update(extra=1), "unknown keys"),
    (lambda s: s.pop("step"), "missing"),
    (lambda s: s.pop("selection_return"), "go together"),
    (lambda s: s.pop("check_return"), "go together"),
    (lambda s: s.update(check_return=float("inf")), "'check_return'"),
    (lambda s: s.update(selection_return=None), "'selection_return'"),
    (lambda s: s.update(selection_return=True), "'selection_return'"),
    (lambda s: s.update(eval_return=None), "needs its 'eval_return'"),
]


@pytest.mark.parametrize("change, match", BAD_SELECTIONS)
def test_bad_input_selection_json_is_refused_naming_the_problem(run_copy, change, match):
    path = run_copy / "best" / run_folder.SELECTION
    selection = json.loads(path.read_text())
    change(selection)
    path.write_text(json.dumps(selection))
    with pytest.raises(ValueError, match=match):
        run_folder.read_selection(run_copy / "best")


def resume_to_600_steps(run):
    """Continue the trained run (300 steps) to 600, with one more evaluation."""
    config = nh.Config.small(total_steps=600, eval_period=300, checkpoint_period=300)
    nh.train(config, "CartPole-v1", out=run, resume=True, progress=False, tensorboard=False)


def assert_resume_refused_unchanged(run, match):
    """Resuming ``run`` raises ``ValueError`` matching ``match``; no file under it changed."""
    before = tree_hashes(run)
    with pytest.raises(ValueError, match=match):
        resume_to_600_steps(run)
    assert tree_hashes(run) == before


def test_bad_input_damaged_best_is_refused_on_resume_and_nothing_changes(run_copy):
    flip_bytes(run_copy / "best" / "online.weights.h5")
    assert_resume_refused_unchanged(run_copy, "best agent's checkpoint is damaged")


def test_resume_keeps_the_best_so_far_unless_a_later_evaluation_ties_or_beats_it(run_copy):
    selection = json.loads((run_copy / "best" / run_folder.SELECTION).read_text())
    selection["selection_return"] = 1e9  # unbeatable: resumed training must not replace it
    rewrite_with_manifest(run_copy / "best", run_folder.SELECTION, json.dumps(selection))
    resume_to_600_steps(run_copy)
    assert run_folder.find_agent(run_copy)[1]["selection_return"] == 1e9


@pytest.mark.parametrize("best, score, expected", [
    (None, -1e9, True),  # no best yet: any agent
    (dict(eval_return=500.0), 500.0, True),  # a tie: the later agent
    (dict(eval_return=500.0), 499.9, False),
    (dict(eval_return=500.0, check_return=500.0, selection_return=500.0), 500.0, True),
    # the best's score is its mean over evaluation and check, not its evaluation alone
    (dict(eval_return=500.0, check_return=462.0, selection_return=471.5), 480.0, True),
])
def test_at_least_best_by_hand(best, score, expected):
    assert run_folder.at_least_best(best, score) is expected


def test_an_agent_that_fails_its_check_does_not_replace_a_best_that_passed():
    """Held-out seed 2014's last agent: 500 on its 10 evaluation episodes, 4 falls (170) in a
    check of 30 (mean 456.0): (10 * 500 + 26 * 500 + 4 * 170) / 40 = 467.0 < 500."""
    best = nh.training._best_selection(47_500, np.full(10, 500.0), np.full(30, 500.0))
    last = nh.training._best_selection(50_000, np.full(10, 500.0),
                                       np.array([500.0] * 26 + [170.0] * 4))
    assert last == dict(which="best", step=50_000, eval_return=500.0,
                        check_return=pytest.approx(456.0), selection_return=pytest.approx(467.0))
    assert run_folder.at_least_best(best, last["eval_return"])  # so it plays the check
    assert not run_folder.at_least_best(best, run_folder.selection_return(last))


def test_bad_input_selection_for_needs_check_and_selection_return_together():
    with pytest.raises(ValueError, match="go together"):
        run_folder.selection_for("best", 10, 1.0, check_return=1.0)


def rewrite_with_manifest(folder, name, text):
    """Replace one file of a checkpoint and its manifest entry (a consistent, foreign edit)."""
    path = folder / name
    path.write_text(text)
    manifest = json.loads((folder / MANIFEST).read_text())
    manifest["files"][name] = dict(bytes=path.stat().st_size,
                                   sha256=hashlib.sha256(path.read_bytes()).hexdigest())
    (folder / MANIFEST).write_text(json.dumps(manifest))


def test_bad_input_best_of_another_run_is_refused_on_resume_and_nothing_changes(run_copy):
    state = json.loads((run_copy / "best" / "state.json").read_text())
    state["run_id"] = "0" * 32
    rewrite_with_manifest(run_copy / "best", "state.json", json.dumps(state))
    assert_resume_refused_unchanged(run_copy, "another run")
