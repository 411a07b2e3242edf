"""Tests for noisy_helpers/_ray_backend.py: the address check and the files a Ray task returns.
(Runs on Ray, byte-identical to the process backend, are in test_experiments.py.)"""

import pytest

from noisy_helpers import _ray_backend
from state import tree_hashes


@pytest.mark.parametrize("address", ["auto"])
def test_auto_is_left_to_ray(address):
    assert _ray_backend.check_address(address) == address


def test_an_address_that_answers_is_accepted():
    import socket

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert _ray_backend.check_address(f"127.0.0.1:{port}") == f"127.0.0.1:{port}"
        assert _ray_backend.check_address(f"ray://127.0.0.1:{port}") == f"ray://127.0.0.1:{port}"


@pytest.mark.parametrize("address", ["", "host", "host:", ":6379", "host:port", "host:0",
                                     "host:70000", "ray://"])
def test_bad_input_address_of_another_form_is_refused_naming_it(address):
    with pytest.raises(ValueError, match=f"address must be 'host:port'.*got {address!r}"):
        _ray_backend.check_address(address)


def test_trial_files_replace_the_runs_own_files_only(tmp_path):
    folder = tmp_path / "trial"
    folder.mkdir()
    (folder / "run.json").write_text("old")
    (folder / "best").mkdir()
    (folder / "best" / "stale.json").write_text("old")
    (folder / "result.json").write_text("the runner's, written after")
    _ray_backend.write_trial_files(folder, {"run.json": b"new", "metrics.csv": b"a,b\n",
                                            "best/agent.json": b"{}"})
    assert tree_hashes(folder) == tree_hashes(_expected(tmp_path / "expected", {
        "run.json": b"new", "metrics.csv": b"a,b\n", "best/agent.json": b"{}",
        "result.json": b"the runner's, written after"}))


def _expected(folder, files):
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return folder


BAD_FILES = [
    ("climbing out", {"../escape.txt": b"x"}),
    ("absolute", {"/tmp/escape.txt": b"x"}),
    ("not a run entry", {"notes.txt": b"x"}),
    ("dot dot inside", {"best/../../escape": b"x"}),
    ("not bytes", {"metrics.csv": "text"}),
    ("one bad among good", {"metrics.csv": b"a\n", "../x": b"x"}),
]


@pytest.mark.parametrize("files", [c[1] for c in BAD_FILES], ids=[c[0] for c in BAD_FILES])
def test_bad_input_trial_files_are_refused_before_any_write(tmp_path, files):
    folder = tmp_path / "study" / "trial"
    folder.mkdir(parents=True)
    (folder / "run.json").write_text("kept")
    before = tree_hashes(tmp_path)
    with pytest.raises(ValueError, match="not one of a run's own files"):
        _ray_backend.write_trial_files(folder, files)
    assert tree_hashes(tmp_path) == before
