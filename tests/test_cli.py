"""Tests for noisy_helpers/cli.py: `python -m noisy_helpers train|evaluate|plot`."""

import dataclasses
import json
import subprocess
import sys

import pytest

from noisy_helpers import Config
from noisy_helpers.cli import build_parser, main


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
    code, _, err = run_main(["evaluate", "--run", str(tmp_path)], capsys)
    assert code == 2 and "checkpoint" in err


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
    code, out, _ = run_main(["export", "--run", str(run), "--out", str(shipped)], capsys)
    assert code == 0 and "exported" in out
    assert sorted(p.name for p in (shipped / "checkpoint").iterdir()) == [
        "agent.json", "online.weights.h5", "state.json"]
    assert (shipped / "metrics.csv").exists()
    video = shipped / "video.mp4"
    code, out, _ = run_main(["evaluate", "--run", str(shipped), "--episodes", "1", "--random",
                             "--random-episodes", "2", "--video", str(video)], capsys)
    assert code == 0 and "agent / random" in out
    assert "2 episodes, uniformly random actions (seeds 12345..12346)" in out
    assert video.stat().st_size > 10_000


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


def test_env_kwargs_must_be_a_json_object(capsys, tmp_path):
    code, _, err = run_main(["train", "--out", str(tmp_path), "--env-kwargs", "[1, 2]"], capsys)
    assert code == 2 and "--env-kwargs" in err and "JSON object" in err
