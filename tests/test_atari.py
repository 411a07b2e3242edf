"""Tests for noisy_helpers/atari.py, each wrapper on a real ALE game (UpNDown, ROM from ale-py)."""

import cv2
import gymnasium as gym
import numpy as np
import pytest

import noisy_helpers as nh
from noisy_helpers.atari import ClipReward, EpisodicLife, FireOnReset, GameScore, make_atari_env

GAME = "ALE/UpNDown-v5"


class ActionSpy(gym.Wrapper):
    """Records every action that reaches the wrapped env."""

    def __init__(self, env):
        super().__init__(env)
        self.actions = []

    def step(self, action):
        self.actions.append(int(action))
        return self.env.step(action)


def raw_env(**kwargs):
    import ale_py

    gym.register_envs(ale_py)
    ale_py.ALEInterface.setLoggerMode(ale_py.LoggerMode.Error)
    return gym.make(GAME, frameskip=1, repeat_action_probability=0.0, **kwargs)


def play_until(env, condition, seed=0, max_steps=5_000):
    """Random actions until condition(info, terminated, truncated); returns the last step."""
    env.reset(seed=seed)
    env.action_space.seed(seed)
    for _ in range(max_steps):
        result = env.step(env.action_space.sample())
        if condition(*result):
            return result
    raise AssertionError("condition never met")


def test_observations_are_4_stacked_84x84_uint8_frames_zero_padded_at_reset():
    env = make_atari_env(GAME)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (4, 84, 84) and obs.dtype == np.uint8
    assert env.observation_space.shape == (4, 84, 84)
    assert not obs[:3].any() and obs[3].any()  # zeros before the first frame
    next_obs, *_ = env.step(0)
    assert np.array_equal(next_obs[:3], obs[1:])  # the stack slides by one frame


def test_fire_on_reset_presses_fire_then_the_next_action():
    spy = ActionSpy(gym.wrappers.AtariPreprocessing(raw_env(), noop_max=0))
    env = FireOnReset(spy)
    env.reset(seed=0)
    assert spy.actions == [1, 2]
    assert env.unwrapped.get_action_meanings()[1] == "FIRE"


def test_fire_on_reset_refuses_a_game_without_fire():
    class NoFire(gym.Wrapper):
        def get_action_meanings(self):
            return ["NOOP", "UP", "DOWN"]

    env = NoFire(raw_env())
    env.unwrapped.get_action_meanings = lambda: ["NOOP", "UP", "DOWN"]
    with pytest.raises(ValueError, match="FIRE"):
        FireOnReset(env)


def test_losing_a_life_is_terminal_for_training_but_the_game_goes_on():
    env = EpisodicLife(GameScore(gym.wrappers.AtariPreprocessing(raw_env(), noop_max=0)))
    ale = env.unwrapped.ale
    _, _, terminated, truncated, info = play_until(env, lambda *r: r[2] or r[3])
    assert terminated and info.get("life_lost") and "game_score" not in info
    lives, frame = ale.lives(), ale.getEpisodeFrameNumber()
    assert 0 < lives < 5
    env.reset()
    assert ale.lives() == lives  # the same game, not a new one
    assert ale.getEpisodeFrameNumber() > frame


def test_a_seeded_reset_starts_a_new_game_even_in_the_middle_of_one():
    env = EpisodicLife(GameScore(gym.wrappers.AtariPreprocessing(raw_env(), noop_max=0)))
    first, _ = env.reset(seed=0)
    for _ in range(60):
        env.step(0)
    again, _ = env.reset(seed=0)
    assert np.array_equal(first, again)


def test_a_real_game_over_resets_the_game_and_reports_its_true_score():
    env = EpisodicLife(GameScore(gym.wrappers.AtariPreprocessing(raw_env(), noop_max=0)))
    env.reset(seed=1)
    env.action_space.seed(1)
    raw_total, games_over = 0.0, None
    for _ in range(20_000):
        _, reward, terminated, truncated, info = env.step(env.action_space.sample())
        raw_total += reward
        if "game_score" in info:
            games_over = info
            break
        if terminated or truncated:
            env.reset()
    assert games_over is not None and games_over["game_score"] == raw_total > 0
    env.reset()
    assert env.unwrapped.ale.lives() == 5


def test_training_rewards_are_clipped_to_their_sign_while_the_game_score_stays_true():
    env = make_atari_env(GAME, training=True)
    env.reset(seed=0)
    env.action_space.seed(0)
    rewards = []
    for _ in range(600):
        _, reward, terminated, truncated, info = env.step(env.action_space.sample())
        rewards.append(reward)
        if terminated or truncated:
            env.reset()
    assert set(rewards) <= {-1.0, 0.0, 1.0} and 1.0 in rewards
    assert ClipReward(raw_env()).reward(250.0) == 1.0


def test_evaluation_env_plays_whole_games_with_unclipped_rewards():
    env = make_atari_env(GAME, training=False)
    _, _, _, _, info = play_until(env, lambda *r: r[2] or r[3], seed=2, max_steps=30_000)
    assert info["game_score"] % 10 == 0 and info["game_score"] >= 0
    assert env.unwrapped.ale.lives() == 0  # one episode is the whole game


def test_no_op_starts_begin_games_at_seeded_random_frames():
    # UpNDown's screen is frozen for its first frames, so the no-ops show in the emulator's
    # frame counter, not in the first observation.
    env = make_atari_env(GAME, training=False, noop_max=30)
    starts = [env.reset(seed=seed)[1]["episode_frame_number"] for seed in range(8)]
    assert len(set(starts)) > 1
    assert env.reset(seed=3)[1]["episode_frame_number"] == starts[3]  # the seed picks the no-ops
    no_noops = make_atari_env(GAME, training=False, noop_max=0)
    assert len({no_noops.reset(seed=s)[1]["episode_frame_number"] for s in range(3)}) == 1


def test_frame_skip_4_takes_the_max_of_the_last_two_frames_then_resizes_to_84():
    actions = np.random.default_rng(0).integers(6, size=60).tolist()
    wrapped = gym.wrappers.AtariPreprocessing(raw_env(), noop_max=0, frame_skip=4)
    wrapped.reset(seed=0)
    raw = raw_env()
    raw.reset(seed=0)
    pooling_mattered = False
    for action in actions:
        obs, *_ = wrapped.step(action)
        screens = []
        for _ in range(4):
            raw.step(action)
            screens.append(raw.unwrapped.ale.getScreenGrayscale())
        pooled = np.maximum(screens[-2], screens[-1])
        expected = cv2.resize(pooled, (84, 84), interpolation=cv2.INTER_AREA)
        assert np.array_equal(obs, expected)
        pooling_mattered |= not np.array_equal(pooled, screens[-1])
    assert pooling_mattered  # the last frame alone would have given another picture


def test_the_grayscale_emulator_gives_the_same_training_stream_as_an_rgb_one():
    # make_atari_env asks the emulator for grayscale observations (cheaper, and thrown away:
    # AtariPreprocessing reads the screen itself).  The same wrappers on an RGB emulator give
    # the same stacks, rewards and ends, lost lives and game overs included.
    def rgb_env():
        env = gym.wrappers.AtariPreprocessing(raw_env(), noop_max=30, frame_skip=4,
                                              terminal_on_life_loss=False)
        env = FireOnReset(EpisodicLife(GameScore(env)))
        return gym.wrappers.FrameStackObservation(ClipReward(env), 4, padding_type="zero")

    package = make_atari_env(GAME)
    assert package.unwrapped._obs_type == "grayscale"
    streams = []
    for env in (package, rgb_env()):
        actions = np.random.default_rng(1).integers(6, size=1_500)
        obs, _ = env.reset(seed=3)
        stream, ends = [obs], 0
        for action in actions:
            obs, reward, terminated, truncated, _ = env.step(int(action))
            stream.append((obs, reward, terminated, truncated))
            if terminated or truncated:
                ends += 1
                stream.append(env.reset()[0])
        streams.append((stream, ends))
    (ours, ends), (theirs, _) = streams
    assert ends >= 2  # lives were lost: the stream crossed episode ends
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        if isinstance(a, tuple):
            assert np.array_equal(a[0], b[0]) and a[1:] == b[1:]
        else:
            assert np.array_equal(a, b)


def test_sticky_actions_are_an_option_off_by_default():
    assert make_atari_env(GAME).unwrapped.ale.getFloat("repeat_action_probability") == 0.0
    sticky = make_atari_env(GAME, sticky_actions=0.25)
    assert sticky.unwrapped.ale.getFloat("repeat_action_probability") == pytest.approx(0.25)


@pytest.mark.parametrize("kwargs, match", [
    (dict(env_id="CartPole-v1"), "ALE id"),
    (dict(env_id="ALE/NoSuchGame-v5"), "unknown environment"),
    (dict(noop_max=-1), "noop_max"),
    (dict(sticky_actions=1.5), "sticky_actions"),
])
def test_bad_arguments_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_atari_env(**kwargs)


def test_make_env_builds_atari_envs_for_ale_ids():
    training = nh.make_env(GAME, training=True)
    evaluation = nh.make_env(GAME)
    assert training.observation_space.shape == (4, 84, 84)
    assert isinstance(training.env.env, ClipReward) or "ClipReward" in str(training)
    assert "ClipReward" not in str(evaluation) and "EpisodicLife" not in str(evaluation)


# ------------------------------------------------------- vectorised games
def test_vector_games_restart_stacks_after_a_lost_life_and_skip_reset_steps():
    from noisy_helpers.atari import VectorAtari

    games = VectorAtari(GAME, 2)
    obs = games.reset(seed=0)
    assert obs.shape == (2, 4, 84, 84) and obs.dtype == np.uint8 and not obs[:, :3].any()
    rng = np.random.default_rng(0)
    seen_life_lost = seen_game_over = False
    for _ in range(6_000):
        before = games.observations.copy()
        result = games.step(rng.integers(6, size=2))
        # The transition's next_obs slides the stack by one frame.
        slid = result["valid"]
        assert np.array_equal(result["next_obs"][slid, :3], before[slid, 1:])
        assert set(np.unique(result["rewards"])) <= {-1.0, 0.0, 1.0}
        for i in np.flatnonzero(result["life_lost"]):
            seen_life_lost = True
            assert result["dones"][i] and np.isnan(result["game_scores"][i])
            assert not games.observations[i, :3].any()  # a new stack for the new life
        for i in np.flatnonzero(~np.isnan(result["game_scores"])):
            seen_game_over = True
            assert result["game_scores"][i] % 10 == 0
            following = games.step(rng.integers(6, size=2))
            assert not following["valid"][i]  # the reset step gives no transition
            assert not games.observations[i, :3].any()
        if seen_game_over:
            break
    assert seen_life_lost and seen_game_over


def test_vector_games_refuse_bad_arguments():
    from noisy_helpers.atari import VectorAtari

    with pytest.raises(ValueError, match="num_envs"):
        VectorAtari(GAME, 0)
    with pytest.raises(ValueError, match="ALE id"):
        VectorAtari("CartPole-v1", 2)
