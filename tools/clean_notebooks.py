"""Clean committed notebooks: keep outputs (plots, videos), drop execution noise.

    python tools/clean_notebooks.py notebooks/*.ipynb          # clean in place
    python tools/clean_notebooks.py --check notebooks/*.ipynb  # exit 1 if any is unclean

Renumbers execution counts 1, 2, 3, ... in cell order, and removes per-cell
metadata other than ``tags``, output metadata, and notebook metadata other
than the kernelspec and language name (as nbdev's ``nbdev_clean`` does).

Counts are renumbered rather than removed because nbval refuses a cell that
has outputs but no execution count ("Unrun reference cell has outputs").
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

KEEP_NOTEBOOK_METADATA = {"kernelspec", "language_info"}


def clean(notebook: dict) -> dict:
    metadata = notebook.get("metadata", {})
    notebook["metadata"] = {k: v for k, v in metadata.items() if k in KEEP_NOTEBOOK_METADATA}
    if "language_info" in notebook["metadata"]:
        notebook["metadata"]["language_info"] = {
            "name": notebook["metadata"]["language_info"].get("name", "python")
        }
    count = 0
    for cell in notebook.get("cells", []):
        cell["metadata"] = {k: v for k, v in cell.get("metadata", {}).items() if k == "tags"}
        if cell["cell_type"] == "code":
            count += 1
            cell["execution_count"] = count if cell.get("outputs") else None
            for output in cell.get("outputs", []):
                if "execution_count" in output:
                    output["execution_count"] = count
                if output.get("output_type") in {"display_data", "execute_result"}:
                    output["metadata"] = {}
    return notebook


def dumps(notebook: dict) -> str:
    return json.dumps(notebook, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--check", action="store_true", help="only report unclean notebooks")
    args = parser.parse_args(argv)
    unclean = []
    for path in args.paths:
        text = path.read_text(encoding="utf-8")
        cleaned = dumps(clean(json.loads(text)))
        if cleaned != text:
            unclean.append(path)
            if not args.check:
                path.write_text(cleaned, encoding="utf-8")
    if args.check and unclean:
        print("unclean notebooks (run `make clean-notebooks`):", *map(str, unclean), sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
