"""nh.assets.path: the shipped agent and the study's results, from a checkout or fetched once."""

import subprocess
from pathlib import Path

import pytest

import noisy_helpers as nh
from noisy_helpers import assets

ROOT = Path(__file__).resolve().parents[1]


def _files(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def elsewhere(tmp_path, monkeypatch):
    """The package as if installed from a wheel: no checkout, an empty cache in tmp_path."""
    monkeypatch.setattr(assets, "checkout_root", lambda: None)
    monkeypatch.setenv("NOISY_NETS_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("NOISY_NETS_REPO", raising=False)
    source = tmp_path / "clone"
    (source / "agents" / "upndown").mkdir(parents=True)
    (source / "agents" / "upndown" / "state.json").write_text('{"step": 1}')
    (source / "benchmarks" / "results" / "exploration").mkdir(parents=True)
    (source / "benchmarks" / "results" / "exploration" / "cartpole.csv").write_text("a,b\n1,2\n")
    return source


def test_in_a_checkout_an_asset_is_the_checkouts_own_folder():
    assert assets.checkout_root() == ROOT
    assert nh.assets.path("agents/upndown") == ROOT / "agents" / "upndown"


def test_the_repository_url_comes_from_the_package_metadata():
    assert assets.repository_url().startswith("https://github.com/")


@pytest.mark.parametrize("form", ["plain", "file", "git+file"])
def test_outside_a_checkout_an_asset_is_copied_once_into_the_cache(elsewhere, tmp_path, form):
    if form == "git+file":
        for args in (["init", "-q"], ["add", "-A"],
                     ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"]):
            subprocess.run(["git", "-C", str(elsewhere), *args], check=True)
    source = {"plain": str(elsewhere), "file": elsewhere.as_uri(),
              "git+file": "git+" + elsewhere.as_uri()}[form]
    got = assets.path("agents/upndown", source=source)
    assert got == tmp_path / "cache" / "agents" / "upndown"
    assert _files(got) == {"state.json": b'{"step": 1}'}
    (elsewhere / "agents" / "upndown" / "state.json").write_text("changed")
    assert _files(assets.path("agents/upndown", source=source)) == {"state.json": b'{"step": 1}'}
    assert sorted(p.name for p in got.parent.iterdir()) == ["upndown"]  # no partial folder left


def test_the_source_defaults_to_NOISY_NETS_REPO(elsewhere, monkeypatch, tmp_path):
    monkeypatch.setenv("NOISY_NETS_REPO", elsewhere.as_uri())
    got = assets.path("benchmarks/results/exploration")
    assert _files(got) == {"cartpole.csv": b"a,b\n1,2\n"}


@pytest.mark.parametrize("name, error, match", [
    ("../etc", ValueError, "name must be one of"),
    ("agents", ValueError, "name must be one of"),
    ("agents/upndown/", ValueError, "name must be one of"),
    ("/agents/upndown", ValueError, "name must be one of"),
    ("", ValueError, "name must be one of"),
    (3, TypeError, "name must be a str, got int 3"),
    (None, TypeError, "name must be a str, got NoneType None"),
    (Path("agents/upndown"), TypeError, "name must be a str, got PosixPath"),
])
def test_bad_input_name_is_refused_and_the_cache_is_unchanged(elsewhere, tmp_path, name, error, match):
    with pytest.raises(error, match=match):
        assets.path(name, source=str(elsewhere))
    assert not (tmp_path / "cache").exists()


@pytest.mark.parametrize("source, error, match", [
    (3, TypeError, "source must be a str or None, got int 3"),
    ("", ValueError, "source must name a path or URL, got ''"),
    ("  ", ValueError, "source must name a path or URL"),
])
def test_bad_input_source_is_refused_and_the_cache_is_unchanged(elsewhere, tmp_path, source, error, match):
    with pytest.raises(error, match=match):
        assets.path("agents/upndown", source=source)
    assert not (tmp_path / "cache").exists()


def test_a_source_without_the_asset_leaves_no_partial_copy(elsewhere, tmp_path):
    empty = tmp_path / "empty_clone"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="has no folder agents/upndown"):
        assets.path("agents/upndown", source=str(empty))
    assert list((tmp_path / "cache" / "agents").iterdir()) == []


def test_a_repository_that_cannot_be_cloned_is_one_error_and_leaves_no_partial_copy(elsewhere, tmp_path):
    with pytest.raises(OSError, match="could not fetch agents/upndown from .*git clone failed"):
        assets.path("agents/upndown", source="https://127.0.0.1:9/no/such/repo")  # nothing listens
    assert list((tmp_path / "cache" / "agents").iterdir()) == []


def test_a_git_source_is_cloned_at_its_ref(elsewhere, tmp_path):
    git = ["git", "-C", str(elsewhere), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", str(elsewhere)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "v1"], check=True)
    subprocess.run([*git, "tag", "v1"], check=True)
    (elsewhere / "agents" / "upndown" / "state.json").write_text('{"step": 2}')
    subprocess.run([*git, "commit", "-qam", "v2"], check=True)
    got = assets.path("agents/upndown", source=f"git+{elsewhere.as_uri()}@v1")
    assert _files(got) == {"state.json": b'{"step": 1}'}


@pytest.mark.parametrize("archive", ["https://example.org/noisy_helpers-0.1.0.tar.gz",
                                     "https://example.org/noisy_helpers-0.1.0-py3-none-any.whl",
                                     "https://example.org/main.zip"])
def test_an_archive_source_is_refused_with_one_line_and_the_cache_is_unchanged(elsewhere, tmp_path,
                                                                                archive):
    with pytest.raises(ValueError, match="an archive holds the package only"):
        assets.path("agents/upndown", source=archive)
    assert list((tmp_path / "cache" / "agents").iterdir()) == []
