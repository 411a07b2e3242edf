"""Tests for noisy_helpers/_reaper.py: it finds a local Ray's processes by the token in their
environment, whoever their parent is, and ends them when the driver is gone or asks.  (The
end-to-end tests, a driver killed mid-sweep or while Ray starts, are in test_experiments.py.)"""

import os
import signal
import subprocess
import sys
import time

import pytest

from noisy_helpers import _reaper

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]

# A driver that starts two children, one with the token in its environment (as Ray's processes
# get it) and one without, prints their pids; then, once a file appears (the reaper is
# watching), a third child without the token, started by the driver after the reaper.
_DRIVER = """
import os, subprocess, sys, time
sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
marked = subprocess.Popen(sleeper, env=dict(os.environ, {var}=sys.argv[1]))
plain = subprocess.Popen(sleeper)
print(marked.pid, plain.pid, flush=True)
while not os.path.exists(sys.argv[2]):
    time.sleep(0.05)
late = subprocess.Popen(sleeper)
print(late.pid, flush=True)
time.sleep(60)
""".format(var=_reaper.ENV_VAR)


def _alive(pid: int) -> bool:
    return _reaper._start_time(pid) is not None


def _wait_for_end(pid: int, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)


def _start(token: str, tmp_path):
    """The driver, its marked, plain (both started before the reaper) and late children's
    pids, and a reaper watching the driver."""
    go = tmp_path / "go"
    driver = subprocess.Popen([sys.executable, "-c", _DRIVER, token, str(go)],
                              stdout=subprocess.PIPE, text=True)
    marked, plain = map(int, driver.stdout.readline().split())
    reaper = subprocess.Popen([sys.executable, _reaper.__file__, str(driver.pid), token])
    time.sleep(0.5)
    go.write_text("")
    late = int(driver.stdout.readline())
    time.sleep(0.5)  # the reaper has seen the late child
    return driver, (marked, plain, late), reaper


def _clean_up(driver, pids, reaper) -> None:
    """Never leave a process behind, whatever the outcome."""
    for pid in pids:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
    for process in (driver, reaper):
        if process.poll() is None:
            process.kill()


def test_marked_finds_exactly_the_processes_started_with_the_token():
    token = "a1" * 16
    with_token = subprocess.Popen(SLEEPER, env=dict(os.environ, **{_reaper.ENV_VAR: token}))
    other_token = subprocess.Popen(SLEEPER, env=dict(os.environ, **{_reaper.ENV_VAR: "b2"}))
    without = subprocess.Popen(SLEEPER)
    try:
        time.sleep(0.3)
        assert _reaper.marked(token) == [with_token.pid]
    finally:
        for process in (with_token, other_token, without):
            process.kill()
            process.wait()
    assert _reaper.marked(token) == []  # ended processes are not found


def test_the_reaper_kills_what_it_follows_once_the_driver_is_gone(tmp_path):
    driver, (marked, plain, late), reaper = _start("c3" * 16, tmp_path)
    try:
        assert _alive(marked) and _alive(late) and reaper.poll() is None  # nothing done yet
        driver.kill()
        driver.wait()
        assert reaper.wait(timeout=5) == 0
        _wait_for_end(marked)
        _wait_for_end(late)
        assert not _alive(marked)  # found by its token, though its parent is gone
        assert not _alive(late)  # started by the driver while the reaper watched
        assert _alive(plain)  # running before the reaper, without the token: not Ray's
    finally:
        _clean_up(driver, (marked, plain, late), reaper)


def test_sigterm_from_the_driver_makes_the_reaper_kill_now_and_exit(tmp_path):
    driver, (marked, plain, late), reaper = _start("d4" * 16, tmp_path)
    try:
        reaper.terminate()
        assert reaper.wait(timeout=5) == 0
        _wait_for_end(marked)
        _wait_for_end(late)
        assert not _alive(marked) and not _alive(late)
        assert _alive(plain) and driver.poll() is None
    finally:
        _clean_up(driver, (marked, plain, late), reaper)
