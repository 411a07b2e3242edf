"""Checks shared by the tests of each network option that ``agent.json``'s architecture
records (``Config.dueling``, ``Config.observation_scale``): a checkpoint of the other setting
is refused with the loading agent unchanged, and a file saved before the option existed
loads as the setting it was saved with."""

import json

import numpy as np
import pytest

import noisy_helpers as nh
from state import assert_refused_unchanged


def assert_the_other_setting_is_refused(tmp_path, plain, changed, key):
    """Agents of ``plain`` and ``changed`` (two Configs differing in ``key``) refuse each
    other's checkpoints in one line naming ``key``, and are left as they were."""
    nh.Agent(plain, (4,), 2).save(tmp_path / "plain")
    nh.Agent(changed, (4,), 2).save(tmp_path / "changed")
    for directory, config in (("plain", changed.replace(seed=3)),
                              ("changed", plain.replace(seed=3))):
        agent = nh.Agent(config, (4,), 2)
        # The whole state (weights, noise and its generators, Adam, RNG) as it was.
        assert_refused_unchanged(agent, lambda a: a.load(tmp_path / directory), ValueError,
                                 rf"^[^\n]*another network \({key}: checkpoint [^\n]*$")


def assert_a_file_without_the_key_loads(tmp_path, plain, changed, key):
    """An ``agent.json`` of ``plain`` without ``key`` (as written before the option existed)
    loads into another ``plain`` agent, and is refused by a ``changed`` one."""
    agent = nh.Agent(plain, (4,), 2)
    agent.save(tmp_path / "old")
    path = tmp_path / "old" / "agent.json"
    state = json.loads(path.read_text())
    del state["architecture"][key]
    path.write_text(json.dumps(state))
    other = nh.Agent(plain.replace(seed=plain.seed + 4), (4,), 2)
    other.load(tmp_path / "old")
    x = np.ones((1, 4), np.float32)
    np.testing.assert_array_equal(np.asarray(other.online(x)), np.asarray(agent.online(x)))
    with pytest.raises(ValueError, match=rf"{key}: checkpoint \S+ vs this agent "):
        nh.Agent(changed, (4,), 2).load(tmp_path / "old")
