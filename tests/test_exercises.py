"""The instructor's kit: every exercise of every notebook has a checker that says "not answered
yet" on the notebook's own placeholder and "correct" on the reference solution in ``solutions/``.

The cells are read from the committed notebooks, so what is proven is what a learner runs: the
placeholder cell, then the one-line checker cell ``nh.exercises.check("NN.k", ...)`` right after it.
The wrong answers of each exercise, with what the checker says about them, are in
``tests/test_exercises_<notebook>.py``.
"""

import json
import re
from pathlib import Path

import numpy as np
import pytest

import noisy_helpers as nh
from noisy_helpers.exercises import CORRECT, UNANSWERED, WRONG, Verdict, check, exercises
from exercise_kit import load_solutions  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
CHECK_CELL = re.compile(r'^nh\.exercises\.check\("(?P<id>\d\d\.\d)"(?P<args>(?:, [^\n]*)?)\)$')
ITEM = re.compile(r"^(?:\*\*(\d+)\.|(\d+)\.\s+\*\*)", re.M)


def _cells(path):
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _source(cell):
    return "".join(cell["source"]).strip()


def listed_exercises(path):
    """The exercise numbers of the notebook's '## Exercises' section, as "NN.k" ids."""
    cells = _cells(path)
    start = next(i for i, c in enumerate(cells) if _source(c).startswith("## Exercises"))
    ids = []
    for cell in cells[start:]:
        text = _source(cell)
        if cell is not cells[start] and text.startswith("## "):
            break
        if cell["cell_type"] == "markdown":
            ids += [f"{path.name[:2]}.{a or b}" for a, b in ITEM.findall(text)]
    return ids


def exercise_cells(path):
    """{id: (placeholder cell source, the checker call)} of one notebook."""
    cells = _cells(path)
    found = {}
    for index, cell in enumerate(cells):
        match = CHECK_CELL.match(_source(cell)) if cell["cell_type"] == "code" else None
        if match:
            assert match["id"] not in found, f"{path.name}: two checker cells for {match['id']}"
            placeholder = cells[index - 1]
            assert placeholder["cell_type"] == "code", f"{path.name}: no placeholder cell before {match['id']}"
            found[match["id"]] = (_source(placeholder), _source(cell))
    return found


ALL_CELLS = {ex_id: cells for path in NOTEBOOKS for ex_id, cells in exercise_cells(path).items()}
IDS = list(exercises())


def _namespace(source=None):
    namespace = {"np": np, "nh": nh}
    if source is not None and "keras" in source:
        import keras

        namespace["keras"] = keras
    return namespace


_SOLUTIONS = {}


def solution_namespace(ex_id):
    """The names of ``solutions/NN_*.py`` for exercise "NN.k" (loaded once per notebook)."""
    if ex_id[:2] not in _SOLUTIONS:
        path = next((ROOT / "solutions").glob(f"{ex_id[:2]}_*.py"))
        _SOLUTIONS[ex_id[:2]] = {**_namespace(), **vars(load_solutions(path.stem))}
    return _SOLUTIONS[ex_id[:2]]


def test_the_series_has_thirty_exercises_each_with_a_checker_and_the_readme_says_how_many():
    assert len(IDS) == 30
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"**{len(IDS)} exercises**" in readme


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_listed_exercise_has_one_registered_checker_cell_in_its_notebook(path):
    listed = listed_exercises(path)
    assert listed == [f"{path.name[:2]}.{k}" for k in range(1, len(listed) + 1)]
    assert sorted(exercise_cells(path)) == listed
    assert [ex_id for ex_id in IDS if ex_id.startswith(path.name[:2])] == listed


@pytest.mark.parametrize("ex_id", IDS)
def test_the_placeholder_cell_starts_with_the_exercise_number(ex_id):
    placeholder, _ = ALL_CELLS[ex_id]
    assert placeholder.startswith(f"# Exercise {int(ex_id[3:])}")


@pytest.mark.parametrize("ex_id", IDS)
def test_the_checker_says_not_answered_yet_on_the_notebooks_own_placeholder(ex_id):
    placeholder, call = ALL_CELLS[ex_id]
    namespace = _namespace(placeholder)
    exec(compile(placeholder, f"<placeholder {ex_id}>", "exec"), namespace)
    verdict = eval(call, namespace)
    assert isinstance(verdict, Verdict)
    assert (verdict.status, verdict.exercise) == (UNANSWERED, ex_id), verdict
    assert "not answered yet" in repr(verdict)
    assert not verdict


@pytest.mark.parametrize("ex_id", IDS)
def test_the_checker_says_correct_on_the_reference_solution(ex_id):
    _, call = ALL_CELLS[ex_id]
    verdict = eval(call, solution_namespace(ex_id))
    assert verdict.status == CORRECT, verdict
    assert verdict and repr(verdict).startswith(f"Exercise {ex_id}: correct")


@pytest.mark.parametrize("exercise_id, error", [
    (1.1, TypeError), (None, TypeError), ("1.1", ValueError), ("01.0", ValueError),
    ("07.1", ValueError), ("01.99", ValueError), ("", ValueError),
])
def test_bad_input_an_unknown_exercise_id_is_one_clear_error(exercise_id, error):
    with pytest.raises(error, match="exercise_id"):
        check(exercise_id, 1)


def test_a_learner_function_that_raises_is_a_wrong_answer_not_a_traceback():
    verdict = check("04.4", "sixty")
    assert verdict.status == WRONG
    assert "ValueError" in verdict.message


def test_the_installed_package_ships_the_checkers_so_they_work_on_colab_and_from_a_wheel():
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    subpackages = sorted(p.parent.relative_to(ROOT).as_posix().replace("/", ".")
                         for p in (ROOT / "noisy_helpers").rglob("__init__.py"))
    assert subpackages == ["noisy_helpers", "noisy_helpers.exercises"]
    for name in subpackages:
        assert f'"{name}"' in pyproject.split("[tool.setuptools]")[1].split("\n[")[0], name
