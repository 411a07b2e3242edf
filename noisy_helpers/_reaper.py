"""End the processes of a local Ray when the process that started it is gone (Linux).

``ray.init()`` without an address starts Ray's own processes (the GCS server, the raylet and
its agents, and the workers that run tasks) as children of the driver.  When the driver ends
cleanly, ``ray.shutdown()`` stops them.  When it is killed (SIGKILL, a notebook kernel killed
by a timeout), or interrupted while Ray is still starting, the raylet and the workers go with it,
but Ray's dashboard and runtime-env agents were measured here to keep running with PID 1 as
parent.  The experiment runner starts this script just *before* ``ray.init``:

    python _reaper.py DRIVER_PID [EXISTING_CHILD_PID ...]

It follows every child the driver starts from then on (not the children it already had, nor
this script) and every process those start, by process id *and* start time (a reused id is not
followed), every ``PERIOD`` seconds.  When the driver is gone, or when the driver sends SIGTERM
(its run is over: Ray was shut down, or its start was interrupted), it sends SIGKILL to all of
them still running, then exits.  It is run as a plain script, without importing the package, so
it starts in milliseconds.
"""

from __future__ import annotations

import os
import signal
import sys
import time

PERIOD = 0.5


def _stat(pid: int):
    """``(state, parent id, start time)`` of ``pid`` from ``/proc/<pid>/stat``, or None."""
    try:
        with open(f"/proc/{pid}/stat") as file:
            text = file.read()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()  # after "pid (command name)"
    return fields[0], int(fields[1]), fields[19]  # fields 3, 4 and 22 of proc(5)


def _table() -> dict:
    """Every running process: ``{pid: (state, parent id, start time)}``."""
    table = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            stat = _stat(int(name))
            if stat is not None:
                table[int(name)] = stat
    return table


def _running(stat) -> bool:
    return stat is not None and stat[0] not in ("Z", "X")  # a zombie has already ended


def follow(tracked: dict, table: dict) -> dict:
    """``tracked`` (``{pid: start time}``) with every descendant in ``table`` added."""
    tracked = dict(tracked)
    grew = True
    while grew:
        grew = False
        for pid, (state, parent, start) in table.items():
            if pid in tracked or parent not in tracked:
                continue
            if table.get(parent, (None, None, None))[2] == tracked[parent]:
                tracked[pid] = start
                grew = True
    return tracked


def main(driver: int, existing: list) -> int:
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))  # the driver: reap now
    first = _stat(driver)
    if first is None:
        return 0
    ignored = set(existing) | {os.getpid()}
    tracked = {}
    while True:
        table = _table()
        tracked.update({pid: stat[2] for pid, stat in table.items()
                        if stat[1] == driver and pid not in ignored and pid not in tracked})
        tracked = follow(tracked, table)
        now = table.get(driver)
        if stop or not _running(now) or now[2] != first[2]:
            for pid, start in tracked.items():
                if _running(table.get(pid)) and table[pid][2] == start:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
            return 0
        time.sleep(PERIOD)


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]), [int(pid) for pid in sys.argv[2:]]))
