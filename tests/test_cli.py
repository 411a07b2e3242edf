"""Tests for noisy_helpers/cli.py: `python -m noisy_helpers train|evaluate|plot`."""

import dataclasses
import json
import subprocess
import sys

import pytest

import noisy_helpers as nh
from noisy_helpers import Config
from noisy_helpers.cli import build_parser, main
from folder_lock import held_by_another_process
from state import tree_hashes


def run_main(argv, capsys):
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_help_documents_every_config_field():
    text = build_parser()._subparsers._group_actions[0].choices["train"].format_help()
    for field in dataclasses.fields(Config):
        assert "--" + field.name.replace("_", "-") in text, field.name
    assert "--resume" in text and "--env" in text and "--out" in text


def test_bad_flag_is_one_line_and_exit_code_2(capsys):
    code, out, err = run_main(["train", "--out", "x", "--learning-rat", "1"], capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "--learning-rat" in err


def test_bad_flag_value_is_one_line_and_exit_code_2(capsys):
    code, _, err = run_main(["train", "--out", "x", "--gamma", "1.5"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "gamma" in err


def test_bad_env_id_is_one_line_and_exit_code_2(capsys, tmp_path):
    code, _, err = run_main(["train", "--out", str(tmp_path / "r"), "--env", "NoSuchEnv-v0"],
                            capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "NoSuchEnv-v0" in err


def test_evaluate_a_run_without_checkpoint_is_exit_code_2(capsys, tmp_path):
    from noisy_helpers.run_folder import start_run_folder

    start_run_folder(tmp_path, "new")  # a run stopped before its first checkpoint
    code, _, err = run_main(["evaluate", "--run", str(tmp_path)], capsys)
    assert code == 2 and "no best agent" in err and "--which last" in err
    code, _, err = run_main(["evaluate", "--run", str(tmp_path), "--which", "last"], capsys)
    assert code == 2 and "no checkpoint" in err


def test_train_evaluate_video_and_plot_smoke(capsys, tmp_path):
    run = tmp_path / "run"
    code, out, _ = run_main(["train", "--small", "--out", str(run), "--no-progress",
                             "--total-steps", "300", "--eval-period", "300"], capsys)
    assert code == 0 and "metrics" in out
    video = run / "video.mp4"
    code, out, _ = run_main(["evaluate", "--run", str(run), "--episodes", "2", "--video",
                             str(video)], capsys)
    assert code == 0 and "mean return" in out
    assert video.exists() and video.stat().st_size > 1_000
    assert "agent: the best of" in out  # evaluate says which agent it plays
    code, out, _ = run_main(["evaluate", "--run", str(run), "--episodes", "1", "--which", "last"],
                            capsys)
    assert code == 0 and "agent: the last of" in out and "(step 300)" in out
    code, out, _ = run_main(["summary", "--run", str(run)], capsys)
    assert code == 0 and "best evaluation:" in out and "last evaluation:" in out
    code, _, err = run_main(["summary", "--run", str(run), "--threshold", "nan"], capsys)
    assert code == 2 and "threshold" in err
    code, out, _ = run_main(["plot", "--run", str(run)], capsys)
    assert code == 0
    assert (run / "learning_curve.png").stat().st_size > 1_000
    assert (run / "sigma.png").stat().st_size > 1_000
    # --resume takes the saved config; only --total-steps changes.
    code, _, _ = run_main(["train", "--out", str(run), "--resume", "--total-steps", "400",
                           "--no-progress"], capsys)
    assert code == 0
    code, _, err = run_main(["train", "--out", str(run), "--resume", "--gamma", "0.5",
                             "--no-progress"], capsys)
    assert code == 2 and "gamma" in err


def test_learning_rate_end_none_switches_the_decay_off():
    from noisy_helpers.cli import _config_from

    parser = build_parser()
    args = parser.parse_args(["train", "--out", "x", "--learning-rate-end", "none"])
    assert _config_from(args, Config()).learning_rate_end is None
    args = parser.parse_args(["train", "--out", "x", "--learning-rate-end", "1e-5"])
    assert _config_from(args, Config()).learning_rate_end == 1e-5


def test_learning_rate_decay_steps_takes_an_int_or_none():
    from noisy_helpers.cli import _config_from

    parser = build_parser()
    args = parser.parse_args(["train", "--out", "x", "--learning-rate-decay-steps", "30000"])
    assert _config_from(args, Config()).learning_rate_decay_steps == 30_000
    args = parser.parse_args(["train", "--out", "x", "--learning-rate-decay-steps", "none"])
    assert _config_from(args, Config()).learning_rate_decay_steps is None


def test_observation_scale_takes_one_divisor_per_component_on_train_and_sweep():
    import dataclasses

    from noisy_helpers.cli import _config_from, _field_value

    args = build_parser().parse_args(["train", "--out", "x", "--observation-scale", "2.4", "1",
                                      "0.2095", "1"])
    assert _config_from(args, Config()).observation_scale == (2.4, 1.0, 0.2095, 1.0)
    field = {f.name: f for f in dataclasses.fields(Config)}["observation_scale"]
    assert _field_value(field, "2.4,1,0.2095,1") == (2.4, 1.0, 0.2095, 1.0)
    assert _field_value(field, "none") is None


@pytest.mark.parametrize("values", [["0"], ["2.4", "-1"], ["nan"], ["inf", "1"]])
def test_bad_input_observation_scale_flag_is_one_clear_error(values, tmp_path, capsys):
    before = tree_hashes(tmp_path)
    code, _, err = run_main(["train", "--out", str(tmp_path / "run"), "--no-progress",
                             "--observation-scale", *values], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "observation_scale must be" in err and "Traceback" not in err
    assert tree_hashes(tmp_path) == before


def test_module_entry_point_runs():
    result = subprocess.run([sys.executable, "-m", "noisy_helpers", "--help"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "train" in result.stdout


def test_atari_run_exports_evaluates_against_random_and_records_a_video(capsys, tmp_path):
    run, shipped = tmp_path / "run", tmp_path / "shipped"
    code, _, _ = run_main(["train", "--env", "ALE/UpNDown-v5", "--small", "--out", str(run),
                           "--no-progress", "--total-steps", "250", "--batch-size", "8"],
                          capsys)
    assert code == 0
    code, _, err = run_main(["export", "--run", str(run), "--out", str(shipped)], capsys)
    assert code == 2 and "no best agent" in err  # 250 steps: no evaluation yet
    code, out, _ = run_main(["export", "--run", str(run), "--out", str(shipped), "--which",
                             "last"], capsys)
    assert code == 0 and "exported" in out and "the last of" in out
    assert sorted(p.name for p in (shipped / "checkpoint").iterdir()) == [
        "MANIFEST.json", "agent.json", "online.weights.h5", "selection.json", "state.json"]
    assert (shipped / "metrics.csv").exists()
    video = shipped / "video.mp4"
    code, out, _ = run_main(["evaluate", "--run", str(shipped), "--episodes", "1", "--random",
                             "--random-episodes", "2", "--video", str(video)], capsys)
    assert code == 0 and "agent / random" in out
    assert "2 episodes, uniformly random actions (seeds 12345..12346" in out
    assert "noise removed (μ only), up to 30 no-ops, no sticky actions" in out
    assert "distinct returns: 1 of 1" in out
    assert video.stat().st_size > 10_000
    code, out, _ = run_main(["evaluate", "--run", str(shipped), "--episodes", "2", "--noise",
                             "--sticky-actions", "0.25"], capsys)
    assert code == 0 and "2 episodes, noise on, sticky actions 0.25" in out
    assert "distinct returns: " in out


def test_sticky_actions_reach_the_emulator_and_are_refused_outside_atari():
    from noisy_helpers.training import make_env

    env = make_env("ALE/UpNDown-v5", sticky_actions=0.25)
    assert env.unwrapped.ale.getFloat("repeat_action_probability") == 0.25
    env.close()
    for value, error in ((1.5, ValueError), (-0.1, ValueError), ("0.25", TypeError),
                         (True, TypeError)):
        with pytest.raises(error, match="sticky_actions"):
            make_env("ALE/UpNDown-v5", sticky_actions=value)
    with pytest.raises(ValueError, match="sticky_actions is for Atari"):
        make_env("CartPole-v1", sticky_actions=0.25)


def test_atari_defaults_come_from_the_env_id():
    from noisy_helpers.cli import default_config

    assert default_config("ALE/UpNDown-v5") == Config.atari()
    assert default_config("CartPole-v1") == Config()
    small_atari = default_config("ALE/UpNDown-v5", small=True)
    assert small_atari.network == "nature" and small_atari.total_steps < 1_000


def test_text_fields_are_text_flags():
    from noisy_helpers.cli import _config_from

    args = build_parser().parse_args(["train", "--out", "x", "--network", "nature",
                                      "--num-envs", "4"])
    config = _config_from(args, Config.atari())
    assert (config.network, config.num_envs) == ("nature", 4)
    with pytest.raises(ValueError, match="Config.network"):
        _config_from(build_parser().parse_args(["train", "--out", "x", "--network", "cnn"]),
                     Config())


def test_env_kwargs_flag_reaches_the_environment_and_evaluate_reuses_it(capsys, tmp_path):
    run = tmp_path / "run"
    code, out, _ = run_main(["train", "--env", "noisy_helpers/DeepSea-v0", "--env-kwargs",
                             '{"size": 4, "randomize_actions": false}', "--small", "--out",
                             str(run), "--no-progress", "--total-steps", "120",
                             "--eval-period", "120", "--noise-resample", "episode"], capsys)
    assert code == 0
    state = json.loads((run / "checkpoint" / "state.json").read_text())
    assert state["env_kwargs"] == {"size": 4, "randomize_actions": False}
    assert state["config"]["noise_resample"] == "episode"
    code, out, _ = run_main(["evaluate", "--run", str(run), "--episodes", "2"], capsys)
    assert code == 0 and "DeepSea" in out


@pytest.mark.parametrize("text, schedule", [("step", "step"), ("episode", "episode"), ("4", 4),
                                             ("1", 1)])
def test_noise_resample_flag_takes_a_name_or_a_number_of_steps(text, schedule):
    from noisy_helpers.cli import _config_from

    args = build_parser().parse_args(["train", "--out", "x", "--noise-resample", text])
    assert _config_from(args, Config()).noise_resample == schedule


@pytest.mark.parametrize("text", ["0", "-4", "four", "2.5", "never"])
def test_bad_input_noise_resample_flag_is_one_clear_error(text, tmp_path, capsys):
    before = tree_hashes(tmp_path)
    code, _, err = run_main(["train", "--out", str(tmp_path / "run"), "--no-progress",
                             "--noise-resample", text], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "noise_resample" in err and "Traceback" not in err
    assert tree_hashes(tmp_path) == before


def test_env_kwargs_must_be_a_json_object(capsys, tmp_path):
    code, _, err = run_main(["train", "--out", str(tmp_path), "--env-kwargs", "[1, 2]"], capsys)
    assert code == 2 and "--env-kwargs" in err and "JSON object" in err


# ----------------------------------------------------------------- bad input, as a table
@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    """A finished 300-step CartPole run made by the CLI, and an export of it."""
    root = tmp_path_factory.mktemp("cli_run")
    assert main(["train", "--small", "--out", str(root / "run"), "--no-progress",
                 "--total-steps", "300", "--eval-period", "300"]) == 0
    assert main(["export", "--run", str(root / "run"), "--out", str(root / "export")]) == 0
    return root


@pytest.mark.skipif(sys.platform == "win32", reason="no flock on Windows: no lock is taken")
def test_train_into_a_run_another_process_is_training_is_one_line_exit_2(cli_run, capsys):
    run = cli_run / "run"
    with held_by_another_process(run):
        before = tree_hashes(run)
        code, _, err = run_main(["train", "--small", "--out", str(run), "--no-progress",
                                 "--total-steps", "600", "--eval-period", "300", "--resume"],
                                capsys)
        assert code == 2 and len(err.strip().splitlines()) == 1
        assert "is in use by another training run" in err and "Traceback" not in err
        assert tree_hashes(run) == before


def flip(path):
    data = bytearray(path.read_bytes())
    for i in range(len(data) // 2, min(len(data) // 2 + 256, len(data))):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def edit_state(key, value):
    """A hostile state.json, with a manifest that matches it (so the state's own checks
    must catch it)."""
    import hashlib

    def change(root):
        folder = root / "run" / "checkpoint"
        state = json.loads((folder / "state.json").read_text())
        state[key] = value
        data = json.dumps(state).encode()
        (folder / "state.json").write_bytes(data)
        manifest = json.loads((folder / "MANIFEST.json").read_text())
        manifest["files"]["state.json"] = dict(bytes=len(data),
                                               sha256=hashlib.sha256(data).hexdigest())
        (folder / "MANIFEST.json").write_text(json.dumps(manifest))
    return change


def foreign(root):
    (root / "mine").mkdir()
    (root / "mine" / "thesis.tex").write_text("my thesis")
    (root / "mine" / "metrics.csv").write_text("step,x\n1,2\n")
    (root / "mine" / "tensorboard").mkdir()
    (root / "mine" / "tensorboard" / "events").write_text("mine")


def foreign_trial(study):
    folder = study / "noisy=True" / "CartPole-v1" / "seed0"
    folder.mkdir(parents=True)
    (folder / "thesis.tex").write_text("my thesis")


def nothing(root):
    pass


R, E, M = "{run}", "{export}", "{mine}"
TRAIN = ["train", "--small", "--no-progress", "--total-steps", "300"]
SWEEP = ["sweep", "--small", "--no-progress", "--seeds", "0", "--out", "{tmp}/new"]
NOISY = ["--field", "noisy", "--values", "true"]
CLI_BAD_INPUTS = [
    # (id, set-up, argv with {run}/{export}/{mine}, a word the one line must contain)
    ("train into a foreign folder", foreign, TRAIN + ["--out", M], "did not write"),
    ("train into a foreign folder, overwrite", foreign, TRAIN + ["--out", M, "--overwrite"],
     "did not write"),
    ("train over a run", nothing, TRAIN + ["--out", R], "--overwrite"),
    ("train over an export", nothing, TRAIN + ["--out", E], "--overwrite"),
    ("train over a run, bad env, overwrite", nothing,
     TRAIN + ["--out", R, "--overwrite", "--env", "NoSuchEnv-v0"], "NoSuchEnv-v0"),
    ("train over a run, module env id, overwrite", nothing,
     TRAIN + ["--out", R, "--overwrite", "--env", "os:CartPole-v1"], "module"),
    ("train over a run, bad env kwargs, overwrite", nothing,
     TRAIN + ["--out", R, "--overwrite", "--env-kwargs", '{"size": 3}'], "size"),
    ("train, nested env kwargs", nothing, TRAIN + ["--out", "{tmp}/new", "--env-kwargs",
                                                   '{"size": {"a": 1}}'], "env_kwargs"),
    ("train, env kwargs key a path", nothing, TRAIN + ["--out", "{tmp}/new", "--env-kwargs",
                                                       '{"../x": 1}'], "env_kwargs"),
    ("train, env kwargs not JSON", nothing, TRAIN + ["--out", "{tmp}/new", "--env-kwargs",
                                                     "{size: 3}"], "JSON"),
    ("train, NaN gamma", nothing, TRAIN + ["--out", "{tmp}/new", "--gamma", "nan"], "gamma"),
    ("train, negative total steps", nothing, TRAIN[:-1] + ["-5", "--out", "{tmp}/new"],
     "total_steps"),
    ("train, a file as --out", lambda root: (root / "file").write_text("x"),
     TRAIN + ["--out", "{tmp}/file"], "not a folder"),
    ("train, overwrite and resume", nothing, TRAIN + ["--out", R, "--overwrite", "--resume"],
     "exclude"),
    ("resume an empty folder", lambda root: (root / "empty").mkdir(),
     ["train", "--out", "{tmp}/empty", "--resume"], "run folder"),
    ("resume to fewer steps", nothing, ["train", "--out", R, "--resume", "--total-steps",
                                        "100"], "step 300"),
    ("resume to the same steps", nothing, ["train", "--out", R, "--resume"], "step 300"),
    ("resume with another gamma", nothing, ["train", "--out", R, "--resume", "--gamma", "0.5",
                                            "--total-steps", "400"], "gamma"),
    ("resume an export", nothing, ["train", "--out", E, "--resume", "--total-steps", "400"],
     "no run to resume"),
    ("resume, state.json edited without its manifest", lambda root: (
        root / "run/checkpoint/state.json").write_text((root / "run/checkpoint/state.json")
                                                       .read_text().replace("300", "30")),
     ["train", "--out", R, "--resume", "--total-steps", "400"], "manifest"),
    ("resume flipped weights", lambda root: flip(root / "run/checkpoint/online.weights.h5"),
     ["train", "--out", R, "--resume", "--total-steps", "400"], "online.weights.h5"),
    ("resume flipped replay", lambda root: flip(root / "run/checkpoint/replay.npz"),
     ["train", "--out", R, "--resume", "--total-steps", "400"], "replay.npz"),
    ("resume truncated optimizer", lambda root: (root / "run/checkpoint/optimizer.npz")
     .write_bytes(b"PK"), ["train", "--out", R, "--resume", "--total-steps", "400"],
     "optimizer.npz"),
    ("resume, module env id in state.json", edit_state("env_id", "os:CartPole-v1"),
     ["train", "--out", R, "--resume", "--total-steps", "400"], "state.json"),
    ("resume, garbled run.json", lambda root: (root / "run/run.json").write_text("{"),
     ["train", "--out", R, "--resume", "--total-steps", "400"], "run.json"),
    ("evaluate a foreign folder", foreign, ["evaluate", "--run", M], "run folder"),
    ("evaluate a missing folder", nothing, ["evaluate", "--run", "{tmp}/absent"],
     "not a folder"),
    ("evaluate flipped weights", lambda root: flip(root / "export/checkpoint/online.weights.h5"),
     ["evaluate", "--run", E], "online.weights.h5"),
    ("evaluate truncated agent.json", lambda root: (root / "export/checkpoint/agent.json")
     .write_text("{"), ["evaluate", "--run", E], "agent.json"),
    ("evaluate, missing manifest", lambda root: (root / "export/checkpoint/MANIFEST.json")
     .unlink(), ["evaluate", "--run", E], "MANIFEST.json"),
    ("evaluate, module env id", edit_state("env_id", "os:CartPole-v1"),
     ["evaluate", "--run", R, "--which", "last"], "state.json"),
    ("evaluate, negative step", edit_state("step", -1),
     ["evaluate", "--run", R, "--which", "last"], "step"),
    ("evaluate, damaged best agent", lambda root: flip(root / "run/best/online.weights.h5"),
     ["evaluate", "--run", R], "online.weights.h5"),
    ("evaluate, last of an export of the best", nothing,
     ["evaluate", "--run", E, "--which", "last"], "which"),
    ("evaluate, zero episodes", nothing, ["evaluate", "--run", R, "--episodes", "0"],
     "--episodes"),
    ("evaluate, zero random episodes", nothing,
     ["evaluate", "--run", R, "--random", "--random-episodes", "0"], "--random-episodes"),
    ("evaluate, negative seed", nothing, ["evaluate", "--run", R, "--seed", "-1"], "--seed"),
    ("evaluate, sticky actions above 1", nothing,
     ["evaluate", "--run", R, "--sticky-actions", "1.5"], "--sticky-actions"),
    ("evaluate, sticky actions on CartPole", nothing,
     ["evaluate", "--run", R, "--sticky-actions", "0.25"], "for Atari"),
    ("evaluate, video not mp4", nothing, ["evaluate", "--run", R, "--video", "{tmp}/v.avi"],
     "mp4"),
    ("evaluate, video over a file", lambda root: (root / "v.mp4").write_text("mine"),
     ["evaluate", "--run", R, "--video", "{tmp}/v.mp4"], "--overwrite"),
    ("evaluate, video in a missing folder", nothing,
     ["evaluate", "--run", R, "--video", "{tmp}/no/v.mp4"], "does not exist"),
    ("export into a foreign folder", foreign, ["export", "--run", R, "--out", M],
     "did not write"),
    ("export into a foreign folder, overwrite", foreign,
     ["export", "--run", R, "--out", M, "--overwrite"], "did not write"),
    ("export over an export", nothing, ["export", "--run", R, "--out", E], "--overwrite"),
    ("export onto its run", nothing, ["export", "--run", R, "--out", R], "differ"),
    ("export a damaged run", lambda root: flip(root / "run/checkpoint/agent.json"),
     ["export", "--run", R, "--out", "{tmp}/new", "--which", "last"], "agent.json"),
    ("export a damaged best agent", lambda root: flip(root / "run/best/agent.json"),
     ["export", "--run", R, "--out", "{tmp}/new"], "agent.json"),
    ("export, which of neither", nothing,
     ["export", "--run", R, "--out", "{tmp}/new", "--which", "median"], "--which"),
    ("export a foreign folder", foreign, ["export", "--run", M, "--out", "{tmp}/new"],
     "run folder"),
    ("plot a foreign folder", foreign, ["plot", "--run", M], "run folder"),
    ("plot junk metrics", lambda root: (root / "run/metrics.csv").write_text(
        (root / "run/metrics.csv").read_text() + "junk\n1,2\n"), ["plot", "--run", R],
     "metrics.csv"),
    ("plot a missing folder", nothing, ["plot", "--run", "{tmp}/absent"], "not a folder"),
    ("train, decay steps a word", nothing,
     TRAIN + ["--out", "{tmp}/new", "--learning-rate-decay-steps", "abc"],
     "invalid integer or 'none' value: 'abc'"),
    ("train, decay steps a fraction", nothing,
     TRAIN + ["--out", "{tmp}/new", "--learning-rate-decay-steps", "2.5"],
     "invalid integer or 'none' value: '2.5'"),
    ("train, decay steps zero", nothing,
     TRAIN + ["--out", "{tmp}/new", "--learning-rate-decay-steps", "0"],
     "learning_rate_decay_steps must be None or an int >= 1, got 0"),
    ("train, learning rate end a word", nothing,
     TRAIN + ["--out", "{tmp}/new", "--learning-rate-end", "abc"],
     "invalid number or 'none' value: 'abc'"),
    ("sweep the seed", nothing, SWEEP + ["--field", "seed", "--values", "1"], "--field"),
    ("sweep an unknown field", nothing, SWEEP + ["--field", "wings", "--values", "1"],
     "'wings'"),
    ("sweep a switch to maybe", nothing, SWEEP + ["--field", "noisy", "--values", "maybe"],
     "'maybe' is not a value of noisy"),
    ("sweep a number to a word", nothing, SWEEP + ["--field", "gamma", "--values", "high"],
     "'high' is not a value of gamma"),
    ("sweep an int to a fraction", nothing,
     SWEEP + ["--field", "batch_size", "--values", "2.5"], "'2.5' is not a value"),
    ("sweep a value Config refuses", nothing, SWEEP + ["--field", "sigma0", "--values", "-1"],
     "sigma0"),
    ("sweep a value twice", nothing, SWEEP + ["--field", "noisy", "--values", "true", "true"],
     "distinct"),
    ("sweep a field also given as a flag", nothing,
     SWEEP + ["--field", "noisy", "--values", "true", "--no-noisy"], "drop its flag --noisy"),
    ("sweep with --seed", nothing, SWEEP + NOISY + ["--seed", "3"],
     "unrecognized arguments: --seed"),
    ("sweep, seeds a superscript digit", nothing,
     ["sweep", "--seeds", "\u00b2", "--out", "{tmp}/new"] + NOISY, "--seeds"),
    ("sweep, seeds a huge range", nothing,
     ["sweep", "--seeds", "0-99999999999", "--out", "{tmp}/new"] + NOISY, "2**31"),
    ("sweep, seeds a range of a billion", nothing,
     ["sweep", "--seeds", "0-999999999", "--out", "{tmp}/new"] + NOISY, "at most 100,000"),
    ("sweep, seeds a reversed range", nothing,
     ["sweep", "--seeds", "3-1", "--out", "{tmp}/new"] + NOISY, "low <= high"),
    ("sweep, an unknown env", nothing, SWEEP + NOISY + ["--env", "Nope-v0"], "Nope-v0"),
    ("sweep over a results.csv of someone else's", lambda root: (
        (root / "study").mkdir(), (root / "study" / "results.csv").write_text("a,b\n1,2\n")),
     ["sweep", "--small", "--no-progress", "--seeds", "0", "--out", "{tmp}/study"] + NOISY,
     "not written by run_trials"),
    ("sweep, seeds an open range", nothing, ["sweep", "--seeds", "5-", "--out", "{tmp}/new"] + NOISY,
     "--seeds"),
    ("sweep, seeds a word", nothing, ["sweep", "--seeds", "all", "--out", "{tmp}/new"] + NOISY,
     "--seeds"),
    ("sweep, a seed twice", nothing, ["sweep", "--seeds", "0-3,2", "--out", "{tmp}/new"] + NOISY,
     "distinct"),
    ("sweep, zero workers", nothing, SWEEP + NOISY + ["--workers", "0"], "--workers"),
    ("sweep, unknown backend", nothing, SWEEP + NOISY + ["--backend", "dask"], "--backend"),
    ("sweep, address without ray", nothing, SWEEP + NOISY + ["--address", "127.0.0.1:1"],
     "--address is for --backend ray"),
    ("sweep on Ray, an address where nothing answers", nothing,
     SWEEP + NOISY + ["--backend", "ray", "--address", "127.0.0.1:1"],
     "no Ray cluster answers there"),
    ("sweep into a foreign trial folder", lambda root: foreign_trial(root / "study"),
     ["sweep", "--small", "--no-progress", "--seeds", "0", "--out", "{tmp}/study"] + NOISY,
     "did not write"),
    ("sweep into a file", lambda root: (root / "file").write_text("x"),
     ["sweep", "--small", "--no-progress", "--seeds", "0", "--out", "{tmp}/file"] + NOISY,
     "not a folder"),
]


@pytest.mark.parametrize("setup, argv, word", [c[1:] for c in CLI_BAD_INPUTS],
                         ids=[c[0] for c in CLI_BAD_INPUTS])
def test_bad_input_cli_is_one_line_exit_2_and_changes_no_file(cli_run, tmp_path, capsys,
                                                               setup, argv, word):
    import shutil

    root = tmp_path / "root"
    shutil.copytree(cli_run, root)
    setup(root)
    names = dict(run=root / "run", export=root / "export", mine=root / "mine", tmp=root)
    for key, path in names.items():
        argv = [a.replace("{" + key + "}", str(path)) for a in argv]
    before = tree_hashes(root)
    code, _, err = run_main(argv, capsys)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert word in lines[0], lines[0]
    assert tree_hashes(root) == before


def test_sweep_trains_each_value_on_each_seed_and_reads_finished_ones_back(tmp_path, capsys):
    out = tmp_path / "study"
    argv = ["sweep", "--small", "--no-progress", "--field", "sigma0", "--values", "0.1",
            "0.5", "--seeds", "3-4", "--workers", "2", "--out", str(out)]
    code, printed, _ = run_main(argv, capsys)
    assert code == 0
    rows = nh.read_results(out / "results.csv")
    assert [(row["value"], row["seed"]) for row in rows] == [(0.1, 3), (0.1, 4), (0.5, 3),
                                                            (0.5, 4)]
    assert "sigma0=0.1: 2 runs; last evaluation median" in printed
    stamps = [(out / row["name"] / "result.json").stat().st_mtime_ns for row in rows]
    code, _, _ = run_main(argv, capsys)
    assert code == 0 and stamps == [(out / row["name"] / "result.json").stat().st_mtime_ns
                                    for row in rows]


def test_sweep_help_documents_every_config_field_but_seed_and_the_backends():
    text = build_parser()._subparsers._group_actions[0].choices["sweep"].format_help()
    for field in dataclasses.fields(Config):
        assert field.name == "seed" or "--" + field.name.replace("_", "-") in text
    assert "{processes,ray}" in text and "noisy_helpers[cluster]" in text
    assert "--seed " not in text and "--seed," not in text  # a sweep's seeds are --seeds


def test_train_over_a_run_with_overwrite_replaces_only_its_own_files(cli_run, tmp_path,
                                                                     capsys):
    import shutil

    run = shutil.copytree(cli_run / "run", tmp_path / "run")
    (run / "notes.txt").write_text("mine")
    code, _, _ = run_main(TRAIN + ["--out", str(run), "--overwrite", "--total-steps", "200",
                                   "--eval-period", "100"], capsys)
    assert code == 0
    assert (run / "notes.txt").read_text() == "mine"
    assert json.loads((run / "checkpoint" / "state.json").read_text())["step"] == 200


def test_the_cli_prints_no_tensorflow_start_up_block():
    result = subprocess.run([sys.executable, "-m", "noisy_helpers", "evaluate", "--run",
                             "/nonexistent/run"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "python -m noisy_helpers evaluate: error: --run '/nonexistent/run' is not a folder"]


def test_only_tensorflows_start_up_notices_are_filtered_out():
    from noisy_helpers._tensorflow import without_startup_notices

    text = (
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
        "I0000 00:00:17.75 3373 port.cc:153] oneDNN custom operations are on. You may see\n"
        "I0000 00:00:17.75 3373 cudart_stub.cc:31] Could not find cuda drivers on your machine\n"
        "E0000 00:00:17.75 3373 some_op.cc:12] Out of memory while allocating 4 GiB\n"
        "\n"
        "ImportError: libfoo.so: cannot open shared object file\n"
    )
    assert without_startup_notices(text) == [
        "E0000 00:00:17.75 3373 some_op.cc:12] Out of memory while allocating 4 GiB",
        "ImportError: libfoo.so: cannot open shared object file",
    ]


@pytest.mark.parametrize("text", ["batch", "buffer"])
def test_importance_normalise_flag_reaches_the_config(text):
    from noisy_helpers.cli import _config_from

    args = build_parser().parse_args(["train", "--out", "x", "--importance-normalise", text])
    assert _config_from(args, Config()).importance_normalise == text


def test_a_bad_importance_normalise_flag_is_one_line_naming_it(capsys):
    code, _, err = run_main(["train", "--out", "x", "--importance-normalise", "max"], capsys)
    assert code != 0 and "importance_normalise" in err and "'max'" in err


def test_snapshot_steps_flag_keeps_those_agents(capsys, tmp_path):
    run = tmp_path / "run"
    code, _, _ = run_main(["train", "--small", "--out", str(run), "--no-progress",
                           "--total-steps", "200", "--eval-period", "200",
                           "--snapshot-steps", "0", "100"], capsys)
    assert code == 0
    assert sorted(p.name for p in (run / "snapshots").iterdir()) == ["step_0", "step_100"]


def test_a_snapshot_step_past_the_end_is_one_line_naming_the_flag(capsys, tmp_path):
    code, _, err = run_main(["train", "--small", "--out", str(tmp_path / "run"),
                             "--no-progress", "--total-steps", "200",
                             "--snapshot-steps", "300"], capsys)
    assert code != 0 and "snapshot_steps" in err and not (tmp_path / "run").exists()
