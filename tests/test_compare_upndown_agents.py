"""Tests for benchmarks/compare_upndown_agents.py: the old agent comes out of git history
whole (or not at all), only a commit id reaches git, and the ratio's interval is right by
hand."""

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import noisy_helpers as nh
from noisy_helpers import Config

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import compare_upndown_agents as compare  # noqa: E402

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def git(repository, *args):
    subprocess.run(["git", "-C", str(repository), "-c", "user.name=t", "-c", "user.email=t@t",
                    *args], check=True, capture_output=True)


@pytest.fixture(scope="module")
def repository(tmp_path_factory):
    """A git repository whose one commit holds a small CartPole export at agents/upndown."""
    root = tmp_path_factory.mktemp("repo")
    git(root, "init", "-q")
    nh.train(Config.small(total_steps=300), "CartPole-v1", out=root / "run", progress=False,
             tensorboard=False)
    nh.export_agent(root / "run", root / "agents" / "upndown", which="last")
    git(root, "add", "agents")
    git(root, "commit", "-q", "-m", "agent")
    commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], check=True,
                            capture_output=True, text=True).stdout.strip()
    return root, commit


def test_the_agent_from_git_loads_and_equals_the_committed_one(repository, tmp_path):
    root, commit = repository
    folder = compare.export_from_git(commit[:7], "agents/upndown", tmp_path / "old", root)
    old, _, _ = nh.load_agent(folder)
    committed, _, _ = nh.load_agent(root / "agents" / "upndown")
    for a, b in zip(old.online.trainable_variables, committed.online.trainable_variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize("commit", ["", "abc", "HEAD", "--output=x", "g" * 7, "a" * 41, None, 7])
def test_only_a_commit_id_reaches_git(commit, tmp_path):
    with pytest.raises(ValueError, match="commit must be 7 to 40 hex digits"):
        compare.export_from_git(commit, "agents/upndown", tmp_path / "old")
    assert not (tmp_path / "old").exists()


@pytest.mark.parametrize("path", ["/etc", "../x", "-p", "agents/../../x"])
def test_a_path_outside_the_repository_is_refused(path, repository, tmp_path):
    root, commit = repository
    with pytest.raises(ValueError, match="relative path"):
        compare.export_from_git(commit, path, tmp_path / "old", root)


def test_a_commit_without_the_export_is_refused(repository, tmp_path):
    root, commit = repository
    with pytest.raises(ValueError, match="has no exported agent"):
        compare.export_from_git(commit, "agents/other", tmp_path / "old", root)


def test_a_folder_with_files_is_not_written_to(repository, tmp_path):
    root, commit = repository
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "mine.txt").write_text("keep")
    with pytest.raises(ValueError, match="absent or empty"):
        compare.export_from_git(commit, "agents/upndown", tmp_path / "old", root)
    assert [p.name for p in (tmp_path / "old").iterdir()] == ["mine.txt"]


def test_the_ratio_interval_of_constant_scores_is_the_ratio():
    assert compare.ratio_interval(np.full(5, 300.0), np.full(7, 100.0)) == [3.0, 3.0]


def test_the_ratio_interval_holds_the_ratio_of_the_means():
    rng = np.random.default_rng(1)
    new, old = rng.uniform(1000, 9000, 30), rng.uniform(500, 5000, 30)
    low, high = compare.ratio_interval(new, old)
    assert low < new.mean() / old.mean() < high
