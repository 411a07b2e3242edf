"""Shared by the exercise tests: the reference solutions and the "not yet" assertion."""

import importlib.util
from pathlib import Path

from noisy_helpers.exercises import WRONG

ROOT = Path(__file__).resolve().parents[1]


def load_solutions(notebook: str):
    """The module ``solutions/<notebook>.py`` (not a package: loaded from its path)."""
    path = ROOT / "solutions" / f"{notebook}.py"
    spec = importlib.util.spec_from_file_location(f"solutions_{notebook}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def assert_wrong(verdict, fragment):
    """The verdict is "not yet", one line, and its message says ``fragment``."""
    assert verdict.status == WRONG, verdict
    assert verdict.message.startswith("not yet: "), verdict
    assert "\n" not in verdict.message, verdict
    assert fragment in verdict.message, verdict
