"""Tests for benchmarks/diagnose_action_gap.py: a perturbation that moves nothing flips
nothing, a large one flips some actions, and the agent's weights are put back either way."""

import sys
from pathlib import Path

import numpy as np
import pytest

import noisy_helpers as nh
from noisy_helpers import Config

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import diagnose_action_gap  # noqa: E402


@pytest.fixture
def agent_and_states():
    agent = nh.Agent(Config.small(seed=3), (4,), 2)
    agent.remove_noise()
    states = np.random.default_rng(0).normal(size=(256, 4)).astype(np.float32)
    return agent, states


def _weights(agent):
    return [v.numpy().copy() for v in agent.online.trainable_variables]


def test_no_move_flips_no_action_and_a_large_move_flips_some(agent_and_states):
    agent, states = agent_and_states
    rng = np.random.default_rng(1)
    assert diagnose_action_gap.flip_share(agent, states, 0.0, rng) == 0.0
    assert 0.0 < diagnose_action_gap.flip_share(agent, states, 10.0, rng) <= 1.0


def test_the_weights_are_put_back_after_the_perturbations(agent_and_states):
    agent, states = agent_and_states
    before = _weights(agent)
    q_before = agent.online(states, training=False).numpy()
    diagnose_action_gap.flip_share(agent, states, 1e-3, np.random.default_rng(2))
    assert all(np.array_equal(a, b) for a, b in zip(before, _weights(agent)))
    assert np.array_equal(q_before, agent.online(states, training=False).numpy())


def test_the_weights_are_put_back_when_a_perturbation_fails(agent_and_states, monkeypatch):
    agent, states = agent_and_states
    before = _weights(agent)

    class Broken:
        def uniform(self, low, high, shape):
            if len(shape) == 1:  # fails after the first (kernel) variable has moved
                raise RuntimeError("broken generator")
            return np.full(shape, high)

    with pytest.raises(RuntimeError, match="broken generator"):
        diagnose_action_gap.flip_share(agent, states, 1.0, Broken())
    assert all(np.array_equal(a, b) for a, b in zip(before, _weights(agent)))


def test_bad_arguments_are_one_clear_line_before_anything_plays(tmp_path, capsys):
    for argv, message in [([str(tmp_path / "missing")], "is not a folder"),
                          ([str(tmp_path), "--episodes", "0"], "--episodes must be >= 1")]:
        with pytest.raises(SystemExit):
            diagnose_action_gap.main(argv)
        assert message in capsys.readouterr().err
