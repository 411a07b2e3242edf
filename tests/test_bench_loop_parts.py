"""Tests for benchmarks/bench_loop_parts.py: the "old" sides it times are the code they stand
for (the numpy noise statistics agree with the agent's; the RGB emulator plays the same
stream), a tiny run prints and writes every figure, and bad arguments are refused."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

import noisy_helpers as nh

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import bench_loop_parts as bench  # noqa: E402


def test_the_numpy_noise_statistics_agree_with_the_agents_within_1e_6():
    agent = nh.Agent(nh.Config(noisy_hidden=True, seed=0), (4,), 2)
    rng = np.random.default_rng(0)
    for variable in agent.online.trainable_variables:
        variable.assign(variable.numpy() + rng.normal(0, 0.05, variable.shape).astype(np.float32))
    new, old = agent.noise_statistics(), bench.numpy_noise_statistics(agent)
    assert list(new) == list(old)
    for key in old:
        assert new[key] == pytest.approx(old[key], rel=1e-6), key


def test_the_rgb_emulator_plays_the_same_steps_as_make_atari_env():
    ours = nh.make_atari_env("ALE/UpNDown-v5")
    theirs = bench.rgb_atari_env("ALE/UpNDown-v5")
    assert theirs.unwrapped._obs_type == "rgb" and ours.unwrapped._obs_type == "grayscale"
    observations = []
    for env in (ours, theirs):
        step = bench.stepper(env, seed=5)
        for _ in range(200):
            step()
        observations.append(env.step(0)[0])
    assert np.array_equal(*observations)


def test_a_tiny_run_prints_both_pieces_and_writes_their_figures(tmp_path, capsys):
    out = tmp_path / "parts.json"
    assert bench.main(["--rounds", "2", "--calls", "2", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "noise statistics" in printed and "env step" in printed
    figures = json.loads(out.read_text())
    assert figures["machine"]["cpu"] and figures["machine"]["cores"] >= 1  # which machine
    for piece in ("noise statistics", "env step"):
        assert len(figures[piece]["ratios"]) == 2
        assert all(ratio > 0 for ratio in figures[piece]["ratios"])
    # Two float32 sums, each within about 1e-6 of the exact mean (tests/test_agent.py).
    assert figures["noise statistics"]["largest_relative_difference"] < 3e-6


@pytest.mark.parametrize("argv, message", [
    (["--rounds", "0"], "--rounds must be an int >= 1, got 0"),
    (["--calls", "-1"], "--calls must be an int >= 1, got -1"),
])
def test_bad_counts_are_refused(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        bench.main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_an_existing_out_file_is_never_written_over(tmp_path, capsys):
    out = tmp_path / "parts.json"
    out.write_text("precious")
    with pytest.raises(SystemExit):
        bench.main(["--out", str(out)])
    assert out.read_text() == "precious"
    assert "refusing to write over it" in capsys.readouterr().err
