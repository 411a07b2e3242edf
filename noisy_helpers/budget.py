"""Run budgets: full for a learner, small under CI.

Every notebook sizes its runs with :func:`budget`, so that ``make test`` in CI
(where ``CI=true``) runs each notebook in seconds while a learner running it
gets the full-size experiment whose outputs are committed.
"""

from __future__ import annotations

import os

__all__ = ["in_ci", "budget"]


def in_ci() -> bool:
    """True when the environment variable ``CI`` is set to a true value (as CI services do)."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes", "on"}


def budget(full, ci):
    """``full`` for a learner, ``ci`` under CI: ``steps = nh.budget(full=20_000, ci=500)``."""
    return ci if in_ci() else full
