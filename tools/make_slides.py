"""Slides from the notebooks, for teaching: one reveal.js HTML file per notebook.

    python tools/make_slides.py notebooks/*.ipynb --out build/slides

Each heading cell (a markdown cell that starts with ``#``) opens a new slide; every other markdown
cell opens a vertical sub-slide, and code cells with their outputs stay on the slide of the text
before them (one idea per markdown cell, as the series is written). The committed outputs (plots,
videos) are shown as they are: nothing is executed. Reveal.js itself is loaded from its CDN when
the file is opened (nbconvert's default), so the files need a network connection to present.
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path


def slide_type(cell: dict) -> str:
    """'slide' for a heading cell, 'subslide' for other text, '-' (same slide) for code."""
    if cell["cell_type"] != "markdown":
        return "-"
    source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
    return "slide" if source.lstrip().startswith("#") else "subslide"


def with_slide_types(notebook: dict) -> dict:
    """A copy of the notebook whose cells carry reveal.js slide types; the input is not changed."""
    notebook = copy.deepcopy(notebook)
    for cell in notebook["cells"]:
        cell.setdefault("metadata", {})["slideshow"] = {"slide_type": slide_type(cell)}
    return notebook


def make_slides(path: Path, out: Path) -> Path:
    """Write ``out/<notebook name>.slides.html`` and return its path."""
    import nbformat
    from nbconvert import SlidesExporter

    notebook = with_slide_types(nbformat.reads(path.read_text(encoding="utf-8"), as_version=4))
    body, _ = SlidesExporter().from_notebook_node(notebook)
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{path.stem}.slides.html"
    target.write_text(body, encoding="utf-8")
    return target


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=Path("build/slides"))
    args = parser.parse_args(argv)
    for path in args.notebooks:
        if path.suffix != ".ipynb" or not path.is_file():
            parser.error(f"notebooks must be .ipynb files, got {str(path)!r}")
    for path in args.notebooks:
        print(make_slides(path, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
