"""Stops that land where a run's state is whole: Ctrl-C and SIGTERM during training.

Taught in ``notebooks/04_noisy_double_dqn.ipynb``.

A stop (Ctrl-C, or ``kill PID`` of a run in the background) makes :func:`~noisy_helpers.train`
save a checkpoint.  That checkpoint must describe one moment: a step whose transition, gradient
step, episode row and evaluation row are all done, or none of them.  So while a step's work runs
the stop is *deferred*: the signal only sets a flag, and the stop is raised as
``KeyboardInterrupt`` when the step's work ends (milliseconds later).  An evaluation, which can
take minutes on Atari, is the exception: a stop cuts it short at once, and the resumed run plays
that evaluation again from the same seeds.
"""

from __future__ import annotations

import signal
import threading

__all__ = ["StopRequests"]


class StopRequests:
    """SIGINT and SIGTERM as a deferred ``KeyboardInterrupt``, inside a ``with`` block.

    ``defer()`` starts a section that a stop must not cut; ``allow()`` ends it, raising
    ``KeyboardInterrupt`` if a stop came meanwhile.  Outside a section a stop raises at once.
    Only the main thread can install signal handlers; elsewhere the block changes nothing.
    """

    def __init__(self):
        self.requested = False
        self.deferring = False
        self._previous = {}

    def _handler(self, signum, frame):
        self.requested = True
        if not self.deferring:
            raise KeyboardInterrupt

    def __enter__(self) -> "StopRequests":
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._handler)
        return self

    def __exit__(self, *exc_info) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous.clear()

    def defer(self) -> None:
        """From here on a stop waits for :meth:`allow`."""
        self.deferring = True

    def allow(self) -> None:
        """End the deferred section; raise ``KeyboardInterrupt`` if a stop came during it."""
        self.deferring = False
        if self.requested:
            raise KeyboardInterrupt
