"""Tests for benchmarks/diagnose_episode_ends.py: each way a CartPole episode ends, by hand; the
episodes of an agent counted once each; bad arguments one clear line."""

import sys
from pathlib import Path

import numpy as np
import pytest

import noisy_helpers as nh
from noisy_helpers import Config

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import diagnose_episode_ends as ends  # noqa: E402

X, ANGLE = 2.4, 12 * 2 * np.pi / 360  # CartPole-v1's limits


@pytest.mark.parametrize("obs, terminated, expected", [
    ((0.1, 0, 0.01, 0), False, "500 steps"),
    ((2.41, 0, 0.05, 0), True, "cart off the track"),
    ((-2.5, 0, -0.1, 0), True, "cart off the track"),
    ((1.7, 0, -0.22, 0), True, "pole down"),
    ((2.45, 0, 0.25, 0), True, "cart off and pole down"),
    ((2.5, 0, 0.3, 0), False, "500 steps"),  # truncated at the limit: not a failure
    ((0.5, 0, 0.1, 0), True, "terminated otherwise"),  # within both limits
])
def test_how_an_episode_ended_by_hand(obs, terminated, expected):
    assert ends.how_it_ended(np.array(obs), terminated, X, ANGLE) == expected


def test_an_agent_plays_each_episode_once_and_every_end_is_named():
    agent = nh.Agent(Config.small(seed=3), (4,), 2)
    agent.remove_noise()
    results = ends.play(agent, 3)
    assert len(results) == 3
    for end, length, widest in results:
        assert end in ends.ENDS and 1 <= length <= 500 and widest >= 0
        assert (end == "500 steps") == (length == 500)


def test_bad_arguments_are_one_clear_line_before_anything_plays(tmp_path, capsys):
    for argv, message in [([str(tmp_path / "missing")], "is not a folder"),
                          ([str(tmp_path), "--episodes", "0"], "--episodes must be >= 1")]:
        with pytest.raises(SystemExit):
            ends.main(argv)
        assert message in capsys.readouterr().err
