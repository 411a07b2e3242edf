"""The one setup cell and the Open-in-Colab badges of every notebook, from one URL.

The repository URL is written once, in ``pyproject.toml`` (``[project.urls] Repository``).
From it this script writes:

* the first cell of every notebook (the same text in all of them): on Colab, or wherever
  ``noisy_helpers`` is missing, it installs the package from ``$NOISY_NETS_REPO`` (a plain
  path, ``file://``, ``https://`` or ``git+...``), by default from that URL;
* an Open-in-Colab badge under each notebook's title;
* the badge column of the README's notebook table.

    python tools/notebook_setup.py          # rewrite the cells, badges and README table
    python tools/notebook_setup.py --check  # exit 1 if anything is out of date (tests do this)

``tests/test_notebook_setup.py`` checks the same things.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

from clean_notebooks import dumps  # tools/ is on sys.path (this script's folder, or the tests')

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"

SETUP_CELL = '''\
# NBVAL_SKIP
# Setup. On Colab, or wherever `noisy_helpers` is missing, install it; locally this does nothing.
# NOISY_NETS_REPO may name another source: a path, file://..., https://... or git+...
import importlib, importlib.util, os, subprocess, sys
if importlib.util.find_spec("noisy_helpers") is None:
    source = os.environ.get("NOISY_NETS_REPO", "{url}")
    if source.startswith(("http://", "https://")) and not source.endswith((".zip", ".tar.gz", ".whl")):
        source = "git+" + source  # a repository: pip clones it (Colab has git)
    if subprocess.run([sys.executable, "-m", "pip", "install", "-q", source]).returncode != 0:
        raise SystemExit(f"pip could not install noisy_helpers from {{source!r}}; set NOISY_NETS_REPO")
    importlib.invalidate_caches()'''


def repository_url(pyproject: Path = ROOT / "pyproject.toml") -> str:
    """``[project.urls] Repository`` of ``pyproject.toml``: the series' one URL."""
    with open(pyproject, "rb") as file:
        return tomllib.load(file)["project"]["urls"]["Repository"]


def setup_cell_source(url: str) -> str:
    """The first cell of every notebook."""
    return SETUP_CELL.format(url=url)


def colab_url(url: str, notebook: str) -> str:
    """Colab's address of ``notebooks/<notebook>`` on the main branch of the GitHub ``url``."""
    match = re.fullmatch(r"https://github\.com/([^/]+)/([^/]+?)(\.git)?/?", url)
    if match is None:
        raise ValueError(f"url must be a GitHub repository https://github.com/OWNER/NAME, got {url!r}")
    owner, name = match.group(1), match.group(2)
    return f"https://colab.research.google.com/github/{owner}/{name}/blob/main/notebooks/{notebook}"


def badge(url: str, notebook: str) -> str:
    """The Open-in-Colab badge of one notebook, as markdown."""
    return f"[![Open In Colab]({BADGE_IMAGE})]({colab_url(url, notebook)})"


_BADGE_LINE = re.compile(r"^\[!\[Open In Colab\]\([^)]*\)\]\([^)]*\)$", re.MULTILINE)


def _title_with_badge(title: str, line: str) -> str:
    """The title cell with ``line`` as its second paragraph (replacing an older badge)."""
    title = _BADGE_LINE.sub("", title)
    heading, _, rest = title.partition("\n")
    return f"{heading}\n\n{line}\n\n{rest.lstrip(chr(10))}"


def updated_notebook(path: Path, url: str) -> str:
    """The text of notebook ``path`` with its setup cell and badge up to date."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    cells = notebook["cells"]
    if cells[0]["cell_type"] != "code" or "NBVAL_SKIP" not in "".join(cells[0]["source"]):
        raise ValueError(f"{path.name}: the first cell must be the setup cell (code, NBVAL_SKIP)")
    cells[0]["source"] = setup_cell_source(url).splitlines(keepends=True)
    title = next(cell for cell in cells if cell["cell_type"] == "markdown")
    text = _title_with_badge("".join(title["source"]), badge(url, path.name))
    title["source"] = text.splitlines(keepends=True)
    return dumps(notebook)  # the committed notebooks' format (tools/clean_notebooks.py)


def updated_readme(text: str, url: str) -> str:
    """The README with a Colab column in its notebook table."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("| # | notebook |"):
            if "| Colab |" not in line:
                lines[i] = line.replace("| # | notebook |", "| # | notebook | Colab |", 1)
                lines[i + 1] = lines[i + 1].replace("|---|---|", "|---|---|---|", 1)
        match = re.match(r"\| (\d\d) \| \[`(\d\d_\w+\.ipynb)`\]\(notebooks/\2\) \|( [^|]*Colab[^|]*\|)?", line)
        if match:
            name = match.group(2)
            prefix = f"| {match.group(1)} | [`{name}`](notebooks/{name}) |"
            lines[i] = f"{prefix} {badge(url, name)} |" + line[match.end():]
    return "\n".join(lines) + ("\n" if text.endswith("\n") else "")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report what is out of date")
    parser.add_argument("--print-cell", action="store_true", help="print the setup cell's code")
    args = parser.parse_args(argv)
    url = repository_url()
    if args.print_cell:
        print(setup_cell_source(url))
        return 0
    stale = []
    targets = [(path, updated_notebook(path, url)) for path in NOTEBOOKS]
    readme = ROOT / "README.md"
    targets.append((readme, updated_readme(readme.read_text(encoding="utf-8"), url)))
    for path, text in targets:
        if path.read_text(encoding="utf-8") != text:
            stale.append(path.relative_to(ROOT))
            if not args.check:
                path.write_text(text, encoding="utf-8")
    verb = "out of date" if args.check else "rewritten"
    print(f"{verb}: {', '.join(map(str, stale))}" if stale else "setup cells and badges up to date")
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
