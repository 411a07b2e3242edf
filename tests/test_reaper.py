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


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_the_reaper_kills_what_it_follows_once_the_driver_is_gone():
    driver = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    root = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    reaper = subprocess.Popen([sys.executable, _reaper.__file__, str(driver.pid), str(root.pid)])
    try:
        time.sleep(1.0)
        assert root.poll() is None and reaper.poll() is None  # the driver lives: nothing done
        driver.kill()
        driver.wait()
        assert reaper.wait(timeout=5) == 0
        assert root.wait(timeout=5) == -9  # SIGKILL
    finally:
        for process in (driver, root, reaper):
            if process.poll() is None:
                process.kill()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_the_reaper_exits_when_what_it_follows_has_ended():
    root = subprocess.Popen([sys.executable, "-c", "pass"])
    root.wait()  # a zombie until reaped; already reaped here: gone
    reaper = subprocess.Popen([sys.executable, _reaper.__file__, str(subprocess.os.getpid()),
                               str(root.pid)])
    assert reaper.wait(timeout=5) == 0
