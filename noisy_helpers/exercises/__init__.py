"""Checkers for every exercise of the series: ``nh.exercises.check("01.1", answer)``.

Taught nowhere on its own: each notebook ends with exercises, and each exercise has a code cell
with a placeholder (``None``, or a function that raises ``NotImplementedError``) and a cell that
calls :func:`check` on it. A checker answers in one of three ways:

* ``not answered yet`` on the placeholder,
* ``not yet: ...`` on a wrong answer, saying what is wrong,
* ``correct: ...`` on a right one.

The checkers compute the truth from the package itself (``nh.SumTree``, ``nh.NoisyDense``, ...),
so they hold whatever the package's version. Reference solutions are *not* in the package: they
live in the repository's ``solutions/`` folder, one file per notebook, for instructors; the test
suite proves, for every exercise, that its checker says "not answered yet" on the notebook's
placeholder and "correct" on the reference solution.

One module per notebook registers that notebook's checkers under ids ``"NN.k"`` (notebook NN,
exercise k): :mod:`.sum_tree` (01), :mod:`.prioritized_replay` (02), :mod:`.noisy_dense` (03),
:mod:`.noisy_double_dqn` (04), :mod:`.atari_upndown` (05), :mod:`.exploration` (06).
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from typing import Callable

__all__ = ["Verdict", "Wrong", "check", "exercise", "exercises"]

_MODULES = ("sum_tree", "prioritized_replay", "noisy_dense", "noisy_double_dqn", "atari_upndown",
            "exploration")
_ID = re.compile(r"^0[1-6]\.[1-9]$")
_REGISTRY: dict[str, "Exercise"] = {}

UNANSWERED = "unanswered"
WRONG = "wrong"
CORRECT = "correct"


class Wrong(Exception):
    """Raised by a checker: the answer is wrong; the message says what is wrong."""


@dataclass(frozen=True)
class Exercise:
    """One exercise: its id ``"NN.k"``, its title as the notebook prints it, and its checker."""

    id: str
    title: str
    checker: Callable[..., str]


@dataclass(frozen=True)
class Verdict:
    """What a checker says about an answer. ``bool(verdict)`` is True only when it is correct."""

    exercise: str
    status: str
    message: str

    def __bool__(self) -> bool:
        return self.status == CORRECT

    def __repr__(self) -> str:
        return f"Exercise {self.exercise}: {self.message}"

    def _repr_pretty_(self, printer, cycle) -> None:  # IPython shows the one line, not a dataclass
        printer.text(repr(self))


def exercise(exercise_id: str, title: str):
    """Register the decorated function as the checker of ``exercise_id``.

    The checker receives the learner's answers (never ``None``: :func:`check` catches that), and
    returns a short "correct" message or raises :class:`Wrong` with what is wrong.
    """
    if not _ID.match(exercise_id):
        raise ValueError(f"exercise_id must look like '01.1', got {exercise_id!r}")

    def register(checker):
        if exercise_id in _REGISTRY:
            raise ValueError(f"exercise {exercise_id} is registered twice")
        _REGISTRY[exercise_id] = Exercise(exercise_id, title, checker)
        return checker

    return register


def exercises() -> dict[str, Exercise]:
    """Every exercise of the series, by id, in order."""
    for name in _MODULES:
        importlib.import_module(f"{__name__}.{name}")
    return dict(sorted(_REGISTRY.items()))


def _is_placeholder(answer) -> bool:
    return answer is None or answer is Ellipsis


def check(exercise_id: str, *answers) -> Verdict:
    """Check the answer(s) to exercise ``exercise_id`` (``"NN.k"``); see the module docstring.

    An answer that is still the placeholder (``None``, ``...``, or a function that raises
    ``NotImplementedError``) gives "not answered yet". A function of the learner's that raises
    anything else gives "not yet" with the error, never a traceback.
    """
    if not isinstance(exercise_id, str):
        raise TypeError(f"exercise_id must be a string like '01.1', got {exercise_id!r}")
    known = exercises()
    if exercise_id not in known:
        raise ValueError(f"exercise_id must be one of {', '.join(known)}; got {exercise_id!r}")
    if any(_is_placeholder(answer) for answer in answers):
        return Verdict(exercise_id, UNANSWERED,
                       "not answered yet: replace the placeholder (None) in the cell above")
    try:
        message = known[exercise_id].checker(*answers)
    except NotImplementedError:
        return Verdict(exercise_id, UNANSWERED,
                       "not answered yet: the function above still raises NotImplementedError")
    except Wrong as wrong:
        return Verdict(exercise_id, WRONG, f"not yet: {wrong}")
    except Exception as error:  # the learner's own code failed: say how, in one line
        return Verdict(exercise_id, WRONG,
                       f"not yet: your answer raised {type(error).__name__}: {error}")
    return Verdict(exercise_id, CORRECT, f"correct{': ' + message if message else ''}")
