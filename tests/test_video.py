"""Tests for noisy_helpers/video.py: recording an episode to mp4 and showing it inline."""

import pytest

import noisy_helpers as nh
from noisy_helpers import Config


@pytest.fixture(scope="module")
def agent():
    return nh.Agent(Config.small(), (4,), 2)


def test_recorded_episode_is_an_mp4_with_the_same_return_as_evaluate(agent, tmp_path):
    path = tmp_path / "sub" / "episode.mp4"
    episode_return = nh.record_episode(agent, "CartPole-v1", path, seed=7)
    assert path.exists() and path.stat().st_size > 1_000
    assert path.read_bytes()[4:8] == b"ftyp"  # an MP4 container
    expected = nh.evaluate(agent, [nh.make_env("CartPole-v1")], seeds=[7])
    assert episode_return == expected[0]


def test_recording_restores_the_agents_noise(agent, tmp_path):
    before = [v.numpy().copy() for v in agent.online.non_trainable_variables]
    nh.record_episode(agent, "CartPole-v1", tmp_path / "noisy.mp4", seed=1, noise=True)
    for value, variable in zip(before, agent.online.non_trainable_variables):
        assert (value == variable.numpy()).all()


def test_a_path_that_is_not_mp4_is_refused(agent, tmp_path):
    with pytest.raises(ValueError, match="mp4"):
        nh.record_episode(agent, "CartPole-v1", tmp_path / "episode.gif")


def test_show_video_embeds_the_file(agent, tmp_path):
    path = tmp_path / "episode.mp4"
    nh.record_episode(agent, "CartPole-v1", path, seed=0)
    html = nh.show_video(path)._repr_html_()
    assert "data:video/mp4;base64," in html and "loop" in html


def test_show_videos_embeds_each_file_under_its_label(agent, tmp_path):
    import base64

    paths = [tmp_path / "a.mp4", tmp_path / "b.mp4"]
    nh.record_episode(agent, "CartPole-v1", paths[0], seed=0)
    nh.record_episode(agent, "CartPole-v1", paths[1], seed=0, noise=True)
    html = nh.show_videos(paths, ["noise removed", "noise <on>"]).data
    assert html.count("<video") == 2 and "noise removed" in html and "noise &lt;on&gt;" in html
    for path in paths:
        assert base64.b64encode(path.read_bytes()).decode() in html


@pytest.mark.parametrize("paths, labels, width, error", [
    ("a.mp4", ["x"], 320, TypeError),
    (["a.mp4"], "x", 320, TypeError),
    (["a.mp4"], ["x", "y"], 320, ValueError),
    ([], [], 320, ValueError),
    (["missing.mp4"], ["x"], 320, ValueError),
    (["a.gif"], ["x"], 320, ValueError),
    (["a.mp4"], ["x"], 0, ValueError),
    (["a.mp4"], ["x"], True, ValueError),
])
def test_bad_input_to_show_videos_is_one_error_naming_it(tmp_path, paths, labels, width, error):
    (tmp_path / "a.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42")
    (tmp_path / "a.gif").write_bytes(b"GIF89a")
    paths = str(tmp_path / paths) if isinstance(paths, str) else [tmp_path / p for p in paths]
    with pytest.raises(error, match="paths|labels|width"):
        nh.show_videos(paths, labels, width=width)
