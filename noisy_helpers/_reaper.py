"""End the processes of a local Ray when the process that started it is gone (Linux).

``ray.init()`` without an address starts Ray's own processes (the GCS server, the raylet and
its agents, and the workers that run tasks) below the driver.  When the driver ends cleanly,
``ray.shutdown()`` stops them.  When it is killed (SIGKILL, a notebook kernel killed by a
timeout), or interrupted while Ray is still starting, the raylet and the workers go with it,
but Ray's dashboard and runtime-env agents were measured here to keep running with PID 1 as
parent.  The experiment runner starts this script just *before* ``ray.init``:

    python _reaper.py DRIVER_PID TOKEN

and sets ``NOISY_HELPERS_RAY_OWNER=TOKEN`` in its own environment while ``ray.init`` runs.
Every ``PERIOD`` seconds it looks at the processes it has not seen before and follows (by
process id and start time) each one that either carries the token in its environment (inherited
by every process Ray starts) or was started by the driver or by a process it follows.  Both are
needed: Ray renames its agents (``ray::DashboardAgent``), which overwrites the environment
``/proc`` shows, and a process whose parent has died is re-parented to PID 1.  Processes that
were running before this script started are not followed unless they carry the token.  When
the driver is gone, or when the driver sends SIGTERM (its run is over: Ray was shut down, or its
start was interrupted), it sends SIGKILL to every followed process still running and to every
process carrying the token, then exits.  It is run as a plain script, without importing the
package, so it starts in milliseconds.
"""

from __future__ import annotations

import os
import signal
import sys
import time

#: The environment variable that marks the processes of one local Ray.
ENV_VAR = "NOISY_HELPERS_RAY_OWNER"
#: Seconds between two looks at the processes.
PERIOD = 0.1


def _start_time(pid: int):
    """The start time of a running ``pid``, or None once it is gone or has ended."""
    return (_stat(pid) or (None, None))[1]


def _stat(pid: int):
    """``(parent id, start time)`` of a running ``pid``, or None."""
    try:
        with open(f"/proc/{pid}/stat") as file:
            fields = file.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] in ("Z", "X") else (int(fields[1]), fields[19])


def _carries(pid: int, token: str) -> bool:
    """Whether the environment of ``pid`` holds ``ENV_VAR=token``."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as file:
            return f"{ENV_VAR}={token}".encode() in file.read().split(b"\0")
    except OSError:  # gone, or another user's
        return False


def _pids() -> set:
    return {int(name) for name in os.listdir("/proc") if name.isdigit()} - {os.getpid()}


def marked(token: str) -> list:
    """The running processes, this one aside, whose environment holds ``ENV_VAR=token``."""
    return sorted(pid for pid in _pids() if _carries(pid, token) and _stat(pid) is not None)


class Follower:
    """The processes of one local Ray: see the module docstring."""

    def __init__(self, driver: int, token: str):
        self.driver, self.token = driver, token
        self.followed = {}  # pid: start time
        self.seen = set()
        self.look(first=True)

    def look(self, first: bool = False) -> None:
        """Classify the processes not seen before (the first look: those already running)."""
        pids = _pids()
        self.seen &= pids
        for pid in sorted(pids - self.seen):
            self.seen.add(pid)
            stat = _stat(pid)
            if stat is None:
                continue
            parent, start = stat
            parent_start = self.followed.get(parent)  # a followed parent, not a reused id
            by_parent = not first and (parent == self.driver or (
                parent_start is not None and (_stat(parent) or (0, None))[1] == parent_start))
            if by_parent or _carries(pid, self.token):
                self.followed[pid] = start

    def kill(self) -> None:
        """SIGKILL what is followed and still running, and whatever carries the token."""
        self.look()
        targets = {pid for pid, start in self.followed.items()
                   if (_stat(pid) or (0, None))[1] == start}
        for pid in targets | set(marked(self.token)):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def main(driver: int, token: str) -> int:
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))  # the driver: reap now
    started = _start_time(driver)
    follower = Follower(driver, token)
    while not stop and started is not None and _start_time(driver) == started:
        follower.look()
        time.sleep(PERIOD)
    for _ in range(2):  # twice, in case one was starting
        follower.kill()
        time.sleep(0.1)
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]), sys.argv[2]))
