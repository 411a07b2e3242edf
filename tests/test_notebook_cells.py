"""Short cells: a markdown cell says one thing, a code cell does one thing (the series' style).

No markdown cell of a notebook has more than ``MAX_WORDS`` words and no code cell more than
``MAX_LINES`` lines, so that a learner reads a notebook in steps and an instructor can teach
from it cell by cell.
"""

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
MAX_WORDS = 250
MAX_LINES = 30


def long_cells(path):
    """``[(index, kind, size)]`` of the cells of ``path`` over the limits."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    found = []
    for index, cell in enumerate(cells):
        source = "".join(cell["source"])
        if cell["cell_type"] == "markdown" and len(source.split()) > MAX_WORDS:
            found.append((index, "markdown words", len(source.split())))
        if cell["cell_type"] == "code" and len(source.splitlines()) > MAX_LINES:
            found.append((index, "code lines", len(source.splitlines())))
    return found


def test_the_limits_count_what_they_say(tmp_path):
    notebook = {"cells": [
        {"cell_type": "markdown", "source": ["word " * MAX_WORDS]},
        {"cell_type": "markdown", "source": ["word " * (MAX_WORDS + 1)]},
        {"cell_type": "code", "source": ["x = 1\n"] * MAX_LINES},
        {"cell_type": "code", "source": ["x = 1\n"] * (MAX_LINES + 1)},
    ]}
    path = tmp_path / "01_example.ipynb"
    path.write_text(json.dumps(notebook), encoding="utf-8")
    assert long_cells(path) == [(1, "markdown words", MAX_WORDS + 1),
                                (3, "code lines", MAX_LINES + 1)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_cell_is_short(path):
    assert long_cells(path) == []
