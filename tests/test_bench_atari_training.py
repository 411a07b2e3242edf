"""Tests for benchmarks/bench_atari_training.py: the baseline's package comes out of git
history (only a commit id reaches git), each measurement imports the package it is meant for,
and bad arguments are refused before anything runs."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import bench_atari_training as bench  # noqa: E402


def head_commit():
    if shutil.which("git") is None:
        return None
    result = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True,
                            text=True, check=False)
    return result.stdout.strip() if result.returncode == 0 else None


HEAD = head_commit()
needs_git = pytest.mark.skipif(HEAD is None, reason="needs git and a clone of the repository")


@pytest.mark.parametrize("baseline", ["HEAD", "--output=x", "g" * 7, "a" * 41, ""])
def test_only_a_commit_id_reaches_git(baseline, capsys):
    assert bench.main([f"--baseline={baseline}", "--num-envs", "1"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [f"error: commit must be 7 to 40 hex digits, got {baseline!r}"]


@needs_git
def test_a_commit_git_does_not_have_is_one_line_and_exit_2(capsys):
    assert bench.main(["--baseline", "0000000", "--num-envs", "1"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: baseline commit 0000000 has no")


@pytest.mark.parametrize("argv, match", [
    (["--steps", "4"], "--steps must be an int >= 8"),
    (["--rounds", "0"], "--rounds must be an int >= 1"),
    (["--num-envs", "0"], "--num-envs must be ints >= 1"),
    (["--learning-starts", "8"], "--learning-starts must be an int >= 32"),
])
def test_bad_numbers_are_refused_before_anything_runs(argv, match, capsys):
    with pytest.raises(SystemExit) as exit_info:
        bench.main(argv)
    assert exit_info.value.code == 2 and match in capsys.readouterr().err


def test_an_existing_out_file_is_refused_and_kept(tmp_path, capsys):
    out = tmp_path / "results.json"
    out.write_text("mine")
    with pytest.raises(SystemExit):
        bench.main(["--out", str(out)])
    assert out.read_text() == "mine" and "refusing to write over it" in capsys.readouterr().err


@needs_git
def test_the_baseline_package_is_the_committed_one(tmp_path):
    folder = bench.extract_package(HEAD[:7], tmp_path)
    committed = subprocess.run(["git", "-C", str(ROOT), "show", f"{HEAD}:noisy_helpers/agent.py"],
                               capture_output=True, check=True).stdout
    assert (folder / "noisy_helpers" / "agent.py").read_bytes() == committed


@needs_git
def test_a_tiny_comparison_runs_each_code_in_its_own_process(tmp_path):
    # 16 timed agent steps against HEAD's package: three fresh processes (the warm-up, then
    # one round of both), each importing the package it was meant for.
    out = tmp_path / "runs.json"
    assert bench.main(["--steps", "16", "--learning-starts", "64", "--rounds", "1",
                       "--num-envs", "1", "--baseline", HEAD[:7], "--out", str(out)]) == 0
    runs = json.loads(out.read_text())["runs"]
    assert [run["code"] for run in runs] == [f"baseline {HEAD[:7]}", "this checkout"]
    assert not Path(runs[0]["package"]).is_relative_to(ROOT)
    assert Path(runs[1]["package"]) == ROOT / "noisy_helpers"
    for run in runs:
        assert run["updates"] >= 2 and run["agent_steps"] >= 8 and 0 < run["rest_share"] < 1
