"""Processes seen through ``/proc`` (Linux), for the tests that check that no worker outlives
its driver: ``test_experiments.py`` (the sweep runner) and ``test_bench_cartpole.py``."""

import pathlib
import time


def proc(pid, name: str) -> str:
    """``/proc/<pid>/<name>``, or "" once the process is gone."""
    try:
        return pathlib.Path(f"/proc/{pid}/{name}").read_text()
    except OSError:
        return ""


def stat_fields(pid) -> list:
    """The fields of ``/proc/<pid>/stat`` after the command name: state, parent id, ..."""
    text = proc(pid, "stat")
    return text.rsplit(")", 1)[1].split() if text else []


def children(pid: int) -> list:
    """Process ids whose parent is ``pid``."""
    return [int(p.name) for p in pathlib.Path("/proc").glob("[0-9]*")
            if stat_fields(p.name)[1:2] == [str(pid)]]


def alive(pid: int) -> bool:
    """Running: a zombie ("Z") has ended, only its entry waits to be reaped."""
    return stat_fields(pid)[:1] not in ([], ["Z"], ["X"])


def left_after(pids, seconds: float) -> list:
    """The command lines of ``pids`` still running after up to ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(alive(pid) for pid in pids):
        time.sleep(0.1)
    return [proc(pid, "cmdline").replace("\0", " ")[:60] for pid in pids if alive(pid)]
