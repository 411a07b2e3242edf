"""Tests for benchmarks/diagnose_failure_priority.py: the shares of a hand-made replay, the
time order of a circular buffer, and a real run's checkpoint read without changing it."""

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import noisy_helpers as nh
from noisy_helpers import Config

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import diagnose_failure_priority as diagnose  # noqa: E402
from state import tree_hashes  # noqa: E402


def two_episodes():
    """A failed episode 0→1→2→3 (done), then 10→11→12 cut short (not done)."""
    obs = np.array([[0.0], [1.0], [2.0], [10.0], [11.0]])
    next_obs = np.array([[1.0], [2.0], [3.0], [11.0], [12.0]])
    dones = np.array([0, 0, 1, 0, 0], dtype=np.float32)
    priorities = np.array([1.0, 1.0, 2.0, 1.0, 5.0])
    return priorities, dones, obs, next_obs


def test_shares_of_a_hand_made_replay():
    shares = diagnose.failure_shares(*two_episodes(), before=2)
    assert shares["transitions"] == 5 and shares["failures"] == 1
    assert shares["failure_buffer_share"] == pytest.approx(1 / 5)
    assert shares["failure_draw_share"] == pytest.approx(2 / 10)
    assert shares["leading_buffer_share"] == pytest.approx(2 / 5)  # slots 1 and 2
    assert shares["leading_draw_share"] == pytest.approx(3 / 10)
    assert shares["since_latest_failure"] == 2


def test_the_steps_before_a_failure_stop_at_the_start_of_its_episode():
    shares = diagnose.failure_shares(*two_episodes(), before=50)
    assert shares["leading_buffer_share"] == pytest.approx(3 / 5)  # not the next episode's


def test_a_replay_without_failures_has_none():
    priorities, _, obs, next_obs = two_episodes()
    shares = diagnose.failure_shares(priorities, np.zeros(5), obs, next_obs, before=3)
    assert shares["failures"] == 0 and shares["failure_draw_share"] == 0.0
    assert shares["since_latest_failure"] is None


def test_time_order_starts_at_the_cursor_once_the_buffer_is_full():
    np.testing.assert_array_equal(diagnose.time_order(3, 3, 5), [0, 1, 2])
    np.testing.assert_array_equal(diagnose.time_order(2, 5, 5), [2, 3, 4, 0, 1])


@settings(max_examples=50, deadline=None)
@given(st.lists(st.booleans(), min_size=1, max_size=60), st.integers(1, 10))
def test_with_equal_priorities_draw_shares_are_buffer_shares(failed, before):
    n = len(failed)
    obs = np.arange(n, dtype=np.float64)[:, None]  # one long chain of transitions
    shares = diagnose.failure_shares(np.ones(n), np.array(failed, float), obs, obs + 1, before)
    assert shares["failure_draw_share"] == pytest.approx(shares["failure_buffer_share"])
    assert shares["leading_draw_share"] == pytest.approx(shares["leading_buffer_share"])
    assert shares["failure_buffer_share"] <= shares["leading_buffer_share"] <= 1.0


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "run"
    nh.train(Config.small(), "CartPole-v1", out=out, progress=False, tensorboard=False)
    return out


def test_a_real_run_is_read_and_left_as_it_was(run, capsys):
    before = tree_hashes(run)
    diagnose.main([str(run)])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{run} (step 600): 600 transitions, ")
    assert "of the draws" in lines[1] and "last 20 steps of failed episodes" in lines[2]
    assert tree_hashes(run) == before


def test_bad_arguments_are_one_clear_line_and_nothing_is_printed(run, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    damaged = tmp_path / "damaged"
    shutil.copytree(run, damaged)
    with open(damaged / "checkpoint" / "replay.npz", "r+b") as file:
        file.seek(100)
        file.write(b"\x00\x01")  # same size, another SHA-256
    for argv, message in [([str(tmp_path / "missing")], "is not a folder"),
                          ([str(run), str(tmp_path / "empty")], "empty"),
                          ([str(run), str(damaged)], "replay.npz"),
                          ([str(run), "--before", "0"], "--before must be >= 1")]:
        with pytest.raises(SystemExit) as exit_:
            diagnose.main(argv)
        captured = capsys.readouterr()
        assert exit_.value.code == 2 and captured.out == ""
        assert message in captured.err and len(captured.err.strip().splitlines()) == 2
