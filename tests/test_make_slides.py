"""`make slides`: one reveal.js file per notebook, a slide per heading, the notebook untouched."""

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import make_slides  # noqa: E402


@pytest.mark.parametrize("cell, expected", [
    ({"cell_type": "markdown", "source": ["## 2 · A tree by hand\n"]}, "slide"),
    ({"cell_type": "markdown", "source": "# 01 · The sum tree"}, "slide"),
    ({"cell_type": "markdown", "source": ["The sum of a range.\n"]}, "subslide"),
    ({"cell_type": "code", "source": ["# a comment, not a heading\n"]}, "-"),
])
def test_headings_open_slides_text_opens_subslides_and_code_stays_with_its_text(cell, expected):
    assert make_slides.slide_type(cell) == expected


def test_the_slides_of_notebook_01_have_one_slide_per_heading_and_leave_the_notebook_as_it_was(tmp_path):
    path = ROOT / "notebooks" / "01_sum_tree.ipynb"
    before = path.read_bytes()
    target = make_slides.make_slides(path, tmp_path)
    html = target.read_text(encoding="utf-8")
    cells = json.loads(before)["cells"]
    slides = sum(make_slides.slide_type(c) == "slide" for c in cells)
    subslides = sum(make_slides.slide_type(c) == "subslide" for c in cells)
    assert target.name == "01_sum_tree.slides.html"
    assert "reveal" in html and slides >= 10
    # reveal.js nests sub-slides: <section> per slide, around a <section> per block of it
    assert html.count("<section>") >= 2 * slides + subslides
    assert path.read_bytes() == before


def test_bad_input_a_path_that_is_not_a_notebook_is_one_clear_error(tmp_path, capsys):
    with pytest.raises(SystemExit):
        make_slides.main([str(tmp_path / "missing.ipynb"), "--out", str(tmp_path / "out")])
    assert "notebooks must be .ipynb files" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
