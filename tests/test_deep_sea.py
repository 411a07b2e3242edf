"""Tests for noisy_helpers/deep_sea.py: the DeepSea rules by hand, the random map, the
2^-N chance of random play, gymnasium registration, and bad input."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import given, settings, strategies as st

import noisy_helpers as nh
from noisy_helpers.deep_sea import GOAL_REWARD, DeepSeaEnv


def play(env, actions):
    """Reset, play ``actions``; return (cells visited as (row, column), rewards, terminated flags)."""
    obs, _ = env.reset()
    cells, rewards, ends = [divmod(int(np.argmax(obs)), env.size)], [], []
    for action in actions:
        obs, reward, terminated, truncated, _ = env.step(action)
        assert truncated is False
        rewards.append(reward)
        ends.append(terminated)
        if obs.any():
            cells.append(divmod(int(np.argmax(obs)), env.size))
    return cells, rewards, ends


def test_size_3_by_hand_right_right_right_reaches_the_goal():
    """Fixed map (action 1 = right), size 3; the agent's cells and rewards:

        row 0:  S . .      S = start (0, 0)
        row 1:  . R .      R R R: three moves right, each costing 0.01/3,
        row 2:  . . R      the last one from the goal cell (2, 2) earns +1
    """
    env = DeepSeaEnv(size=3, randomize_actions=False)
    cells, rewards, ends = play(env, [1, 1, 1])
    assert cells == [(0, 0), (1, 1), (2, 2)]
    assert rewards == pytest.approx([-0.01 / 3, -0.01 / 3, 1 - 0.01 / 3])
    assert ends == [False, False, True]
    assert sum(rewards) == pytest.approx(0.99)


def test_size_3_left_at_the_wall_stays_in_column_0_and_costs_nothing():
    env = DeepSeaEnv(size=3, randomize_actions=False)
    cells, rewards, ends = play(env, [0, 1, 1])
    assert cells == [(0, 0), (1, 0), (2, 1)]  # left at the wall: down only
    assert rewards == pytest.approx([0.0, -0.01 / 3, -0.01 / 3])  # right from (2, 1): no goal
    assert ends == [False, False, True]


def test_observation_is_one_hot_then_all_zero_after_the_last_step():
    env = DeepSeaEnv(size=4, randomize_actions=False)
    obs, _ = env.reset()
    assert obs.dtype == np.float32 and obs.shape == (16,) and obs.sum() == 1 and obs[0] == 1
    for _ in range(4):
        obs, *_ = env.step(0)
    assert not obs.any()


def test_randomized_map_is_fixed_by_mapping_seed_and_its_right_actions_reach_the_goal():
    a = DeepSeaEnv(size=6, randomize_actions=True, mapping_seed=3)
    b = DeepSeaEnv(size=6, randomize_actions=True, mapping_seed=3)
    c = DeepSeaEnv(size=6, randomize_actions=True, mapping_seed=4)
    assert np.array_equal(a.right_action, b.right_action)
    assert not np.array_equal(a.right_action, c.right_action)
    assert set(np.unique(a.right_action)) == {0, 1}
    # Following the map's right action in each cell on the diagonal reaches the goal.
    _, rewards, _ = play(a, [a.right_action[i, i] for i in range(6)])
    assert sum(rewards) == pytest.approx(0.99)
    # Pressing 1 everywhere does not (on this map).
    _, rewards, _ = play(a, [1] * 6)
    assert sum(rewards) < 0.5


@settings(max_examples=60, deadline=None)
@given(size=st.integers(1, 8), randomize=st.booleans(), data=st.data())
def test_any_episode_lasts_size_steps_and_finds_the_goal_iff_it_moved_right_every_step(
        size, randomize, data):
    env = DeepSeaEnv(size=size, randomize_actions=randomize, mapping_seed=1)
    actions = data.draw(st.lists(st.integers(0, 1), min_size=size, max_size=size))
    cells, rewards, ends = play(env, actions)
    assert ends == [False] * (size - 1) + [True]
    rights = [a == env.right_action[r, c] for a, (r, c) in zip(actions, cells)]
    expected = -0.01 / size * sum(rights) + (GOAL_REWARD if all(rights) else 0.0)
    assert sum(rewards) == pytest.approx(expected)
    columns = [c for _, c in cells]
    assert all(abs(b - a) == 1 or (a == b and a in (0, size - 1))
               for a, b in zip(columns, columns[1:]))


def test_uniformly_random_play_finds_the_goal_once_in_2_to_the_size_episodes():
    size, episodes = 4, 8000
    env = DeepSeaEnv(size=size, randomize_actions=True)
    rng = np.random.default_rng(0)
    found = 0
    for _ in range(episodes):
        _, rewards, _ = play(env, rng.integers(0, 2, size))
        found += sum(rewards) > 0.5
    p = 2.0 ** -size
    # Binomial: within 4 standard deviations of episodes * 2^-N = 500.
    assert abs(found - episodes * p) < 4 * np.sqrt(episodes * p * (1 - p))


def test_registered_with_gymnasium_and_passes_its_env_checker():
    env = gym.make(nh.DEEP_SEA_ID, size=5, randomize_actions=False)
    assert env.unwrapped.size == 5 and not env.unwrapped.randomize_actions
    check_env(env.unwrapped)
    env = nh.make_env(nh.DEEP_SEA_ID, env_kwargs=dict(size=7))
    assert env.observation_space.shape == (49,)
    assert env.unwrapped.randomize_actions  # the bsuite's default


def test_render_draws_the_agent_and_the_goal():
    env = DeepSeaEnv(size=5, render_mode="rgb_array")
    env.reset()
    image = env.render()
    assert image.shape == (80, 80, 3) and image.dtype == np.uint8
    assert (image[0, 0] == 255).all()  # the agent, top-left
    assert tuple(image[-1, -1]) == (230, 180, 40)  # the goal, bottom-right


@pytest.mark.parametrize("kwargs, error", [
    (dict(size=0), ValueError), (dict(size=2.0), TypeError), (dict(size=True), TypeError),
    (dict(randomize_actions=1), TypeError), (dict(render_mode="human"), ValueError),
])
def test_bad_arguments_raise_naming_them(kwargs, error):
    name = next(iter(kwargs))
    with pytest.raises(error, match=name):
        DeepSeaEnv(**kwargs)


def test_bad_action_and_step_after_the_end_raise_and_change_nothing():
    env = DeepSeaEnv(size=2, randomize_actions=False)
    env.reset()
    with pytest.raises(ValueError, match="action"):
        env.step(2)
    obs, *_ = env.step(1)  # still at the start before it: now (1, 1)
    assert obs[3] == 1
    env.step(1)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)


def test_make_env_names_bad_env_kwargs():
    with pytest.raises(ValueError, match="env_kwargs"):
        nh.make_env(nh.DEEP_SEA_ID, env_kwargs=dict(depth=3))
    with pytest.raises(TypeError, match="env_kwargs"):
        nh.make_env(nh.DEEP_SEA_ID, env_kwargs=[("size", 3)])


# --------------------------------------------------------------- bad-input tables
from state import assert_refused_unchanged  # noqa: E402

BAD_CONSTRUCTIONS = [
    ("size-zero", dict(size=0), ValueError, r"size.*0"),
    ("size-negative", dict(size=-3), ValueError, r"size.*-3"),
    ("size-float", dict(size=2.0), TypeError, r"size.*2\.0"),
    ("size-numpy-float", dict(size=np.float64(3)), TypeError, r"size"),
    ("size-bool", dict(size=True), TypeError, r"size.*True"),
    ("size-string", dict(size="10"), TypeError, r"size"),
    ("size-none", dict(size=None), TypeError, r"size.*None"),
    ("size-nan", dict(size=float("nan")), TypeError, r"size.*nan"),
    # 10^10 cells: far more bytes than memory; a ValueError that says how many, not MemoryError.
    ("size-100000-too-big", dict(size=100_000), ValueError, r"size 100000 needs \d+ bytes"),
    ("size-10-to-the-9", dict(size=10**9), ValueError, r"size .*bytes"),
    ("randomize-int", dict(randomize_actions=1), TypeError, r"randomize_actions"),
    ("randomize-string", dict(randomize_actions="yes"), TypeError, r"randomize_actions"),
    ("randomize-none", dict(randomize_actions=None), TypeError, r"randomize_actions"),
    ("mapping-seed-negative", dict(mapping_seed=-1), ValueError, r"mapping_seed.*-1"),
    ("mapping-seed-float", dict(mapping_seed=1.5), TypeError, r"mapping_seed.*1\.5"),
    ("mapping-seed-bool", dict(mapping_seed=True), TypeError, r"mapping_seed"),
    ("mapping-seed-none", dict(mapping_seed=None), TypeError, r"mapping_seed"),
    ("mapping-seed-string", dict(mapping_seed="0"), TypeError, r"mapping_seed"),
    ("render-mode-human", dict(render_mode="human"), ValueError, r"render_mode.*human"),
    ("render-mode-int", dict(render_mode=1), ValueError, r"render_mode"),
    ("render-mode-list", dict(render_mode=["rgb_array"]), ValueError, r"render_mode"),
    ("render-mode-array", dict(render_mode=np.array(["rgb_array", "x"])), ValueError,
     r"render_mode"),
]


@pytest.mark.parametrize("kwargs, error, match", [c[1:] for c in BAD_CONSTRUCTIONS],
                         ids=[c[0] for c in BAD_CONSTRUCTIONS])
def test_bad_input_to_the_constructor_raises_naming_the_argument(kwargs, error, match):
    with pytest.raises(error, match=match):
        DeepSeaEnv(**kwargs)


BAD_CALLS = [
    ("step-two", lambda env: env.step(2), ValueError, r"action.*2"),
    ("step-minus-one", lambda env: env.step(-1), ValueError, r"action.*-1"),
    ("step-numpy-two", lambda env: env.step(np.int64(2)), ValueError, r"action"),
    ("step-true", lambda env: env.step(True), TypeError, r"action.*True"),
    ("step-numpy-bool", lambda env: env.step(np.bool_(False)), TypeError, r"action"),
    ("step-float", lambda env: env.step(1.0), TypeError, r"action.*1\.0"),
    ("step-numpy-float", lambda env: env.step(np.float32(0)), TypeError, r"action"),
    ("step-nan", lambda env: env.step(float("nan")), TypeError, r"action.*nan"),
    ("step-none", lambda env: env.step(None), TypeError, r"action.*None"),
    ("step-string", lambda env: env.step("1"), TypeError, r"action"),
    ("step-list", lambda env: env.step([1]), TypeError, r"action"),
    ("step-array", lambda env: env.step(np.array([1])), TypeError, r"action"),
    ("reset-seed-negative", lambda env: env.reset(seed=-1), ValueError, r"seed.*-1"),
    ("reset-seed-float", lambda env: env.reset(seed=1.5), TypeError, r"seed.*1\.5"),
    ("reset-seed-bool", lambda env: env.reset(seed=True), TypeError, r"seed.*True"),
    ("reset-seed-string", lambda env: env.reset(seed="3"), TypeError, r"seed"),
    ("reset-options-list", lambda env: env.reset(options=[1]), TypeError, r"options"),
    ("reset-options-string", lambda env: env.reset(options="fast"), TypeError, r"options"),
]


@pytest.mark.parametrize("call, error, match", [c[1:] for c in BAD_CALLS],
                         ids=[c[0] for c in BAD_CALLS])
def test_bad_input_to_step_and_reset_raises_naming_it_and_changes_nothing(call, error, match):
    env = DeepSeaEnv(size=4, randomize_actions=True, mapping_seed=2)
    env.reset(seed=5)
    env.step(1)  # mid-episode: row 1
    assert_refused_unchanged(env, lambda _: call(env), error, match)


def test_bad_input_step_after_the_end_changes_nothing_and_numpy_actions_still_work():
    env = DeepSeaEnv(size=2, randomize_actions=False)
    env.reset()
    env.step(np.int64(1))
    env.step(np.uint8(0))
    assert_refused_unchanged(env, lambda _: env.step(0), RuntimeError, "reset")
