"""Tests for noisy_helpers/_reaper.py: it follows the processes a local Ray started, by id and
start time, and ends them when the driver is gone.  (The end-to-end test, a driver killed
mid-sweep, is in test_experiments.py.)"""

import subprocess
import sys
import time

import pytest

from noisy_helpers import _reaper


def test_follow_adds_children_and_grandchildren_of_tracked_processes_only():
    # pid: (state, parent, start time)
    table = {1: ("S", 0, "1"), 10: ("S", 1, "50"), 11: ("S", 10, "60"), 12: ("S", 11, "61"),
             20: ("S", 1, "70"), 21: ("S", 20, "71")}
    assert _reaper.follow({10: "50"}, table) == {10: "50", 11: "60", 12: "61"}


def test_follow_ignores_children_of_a_reused_process_id():
    table = {10: ("S", 1, "99"), 11: ("S", 10, "100")}  # 10 is another process now
    assert _reaper.follow({10: "50"}, table) == {10: "50"}


# A driver that has one child already, then (after a file appears) starts a second one, which
# prints its pid: the reaper must follow the second and leave the first alone.
_DRIVER = """
import os, subprocess, sys, time
old = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
print(old.pid, flush=True)
while not os.path.exists(sys.argv[1]):
    time.sleep(0.05)
new = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
print(new.pid, flush=True)
time.sleep(60)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as file:
            return file.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def _start(tmp_path):
    """The driver, its two children's pids, and the reaper, started between the two."""
    go = tmp_path / "go"
    driver = subprocess.Popen([sys.executable, "-c", _DRIVER, str(go)], stdout=subprocess.PIPE,
                              text=True)
    old = int(driver.stdout.readline())
    reaper = subprocess.Popen([sys.executable, _reaper.__file__, str(driver.pid), str(old)])
    time.sleep(0.5)
    go.write_text("")
    new = int(driver.stdout.readline())
    time.sleep(2 * _reaper.PERIOD + 0.5)  # the reaper has seen the new child
    return driver, old, new, reaper


def _wait_for_end(pid: int, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)


def _clean_up(driver, old, new, reaper) -> None:
    """Never leave a process behind, whatever the outcome."""
    import os
    import signal

    for pid in (old, new):
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
    for process in (driver, reaper):
        if process.poll() is None:
            process.kill()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_the_reaper_kills_the_drivers_new_children_once_the_driver_is_gone(tmp_path):
    driver, old, new, reaper = _start(tmp_path)
    try:
        assert _alive(new) and reaper.poll() is None  # the driver lives: nothing done
        driver.kill()
        driver.wait()
        assert reaper.wait(timeout=5) == 0
        _wait_for_end(new)
        assert not _alive(new)
        assert _alive(old)  # a child it had before the reaper started is not Ray's
    finally:
        _clean_up(driver, old, new, reaper)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_sigterm_from_the_driver_makes_the_reaper_kill_now_and_exit(tmp_path):
    driver, old, new, reaper = _start(tmp_path)
    try:
        reaper.terminate()
        assert reaper.wait(timeout=5) == 0
        _wait_for_end(new)
        assert not _alive(new) and _alive(old) and driver.poll() is None
    finally:
        _clean_up(driver, old, new, reaper)
