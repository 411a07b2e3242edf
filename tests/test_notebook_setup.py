"""Every notebook opens anywhere: one setup cell and Colab badges, all from one URL.

The URL is ``[project.urls] Repository`` of ``pyproject.toml``; ``tools/notebook_setup.py``
writes the cells and badges from it.
"""

import importlib.util
import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import notebook_setup  # noqa: E402

URL = notebook_setup.repository_url()
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _cells(path):
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def test_the_repository_url_is_a_github_repository_named_in_pyproject():
    assert URL.startswith("https://github.com/")
    assert notebook_setup.colab_url(URL, "x.ipynb").endswith("/blob/main/notebooks/x.ipynb")


def test_there_are_six_notebooks():
    assert [p.name[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05", "06"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_notebook_starts_with_the_same_setup_cell_built_from_the_url(path):
    first = _cells(path)[0]
    assert first["cell_type"] == "code"
    assert "".join(first["source"]) == notebook_setup.setup_cell_source(URL)
    assert first["outputs"] == []  # it does nothing locally, and nbval skips it


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_title_cell_has_its_colab_badge(path):
    title = next(c for c in _cells(path) if c["cell_type"] == "markdown")
    lines = "".join(title["source"]).splitlines()
    assert lines[0].startswith(f"# {path.name[:2]} ")
    assert lines[2] == notebook_setup.badge(URL, path.name)


def test_the_readme_table_has_one_badge_per_notebook():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for path in NOTEBOOKS:
        assert readme.count(notebook_setup.badge(URL, path.name)) == 1, path.name


def test_the_tool_finds_nothing_out_of_date():
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "notebook_setup.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("url", ["http://github.com/a/b", "https://gitlab.com/a/b",
                                 "https://github.com/a", "github.com/a/b", ""])
def test_colab_url_refuses_what_is_not_a_github_repository(url):
    with pytest.raises(ValueError, match="url must be a GitHub repository"):
        notebook_setup.colab_url(url, "01_sum_tree.ipynb")


# ----------------------------------------------------------- the setup cell, executed
def _run_setup_cell(monkeypatch, *, installed, source=None, pip_returncode=0):
    """Execute the setup cell with pip replaced by a recorder; the pip arguments it used."""
    calls = []
    fake_subprocess = types.SimpleNamespace(
        run=lambda args, **kw: calls.append(args) or types.SimpleNamespace(returncode=pip_returncode))
    monkeypatch.setitem(sys.modules, "subprocess", fake_subprocess)
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: (real_find_spec(name) if installed or name != "noisy_helpers"
                                          else None))
    if source is None:
        monkeypatch.delenv("NOISY_NETS_REPO", raising=False)
    else:
        monkeypatch.setenv("NOISY_NETS_REPO", source)
    exec(notebook_setup.setup_cell_source(URL), {})
    return calls


def test_the_setup_cell_does_nothing_where_the_package_is_installed(monkeypatch):
    assert _run_setup_cell(monkeypatch, installed=True) == []


@pytest.mark.parametrize("source, pip_target", [
    (None, f"git+{URL}"),                                   # the default: the repository
    ("https://github.com/me/my-fork", "git+https://github.com/me/my-fork"),
    ("git+https://github.com/me/fork@v1", "git+https://github.com/me/fork@v1"),
    ("git+file:///home/me/clone", "git+file:///home/me/clone"),
    ("file:///home/me/clone", "file:///home/me/clone"),
    ("/home/me/clone", "/home/me/clone"),
    ("../clone", "../clone"),
    ("https://example.org/noisy_helpers-0.1.0.tar.gz", "https://example.org/noisy_helpers-0.1.0.tar.gz"),
    ("https://example.org/noisy_helpers-0.1.0-py3-none-any.whl",
     "https://example.org/noisy_helpers-0.1.0-py3-none-any.whl"),
])
def test_the_setup_cell_installs_from_any_kind_of_source(monkeypatch, source, pip_target):
    calls = _run_setup_cell(monkeypatch, installed=False, source=source)
    assert calls == [[sys.executable, "-m", "pip", "install", "-q", pip_target]]


def test_a_failed_install_is_one_line_naming_the_source(monkeypatch):
    with pytest.raises(SystemExit) as caught:
        _run_setup_cell(monkeypatch, installed=False, source="/no/such/folder", pip_returncode=1)
    assert str(caught.value) == ("pip could not install noisy_helpers from '/no/such/folder'; "
                                 "set NOISY_NETS_REPO")


# ------------------------------------------------------------- Colab's runtime as it is
#: Colab's preinstalled versions (googlecolab/backend-info, pip-freeze.txt and os-info.txt of
#: 2026-08-19, "Upgrade to Python 3.13"): the install must keep them, TensorFlow above all.
COLAB = {"python": "3.13.15", "tensorflow": "2.20.0", "keras": "3.13.2", "numpy": "2.1.3",
         "gymnasium": "1.3.0", "ale-py": "0.12.1", "matplotlib": "3.10.0", "moviepy": "1.0.3",
         "tensorboard": "2.20.0", "tqdm": "4.67.3", "opencv-python-headless": "5.0.0.93"}


def test_the_dependency_ranges_accept_colabs_preinstalled_versions():
    import tomllib

    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert COLAB["python"] in SpecifierSet(project["requires-python"])
    ranges = {Requirement(text).name: Requirement(text).specifier for text in project["dependencies"]}
    for name, version in COLAB.items():
        if name != "python":
            assert version in ranges[name], f"{name} {version} not in {ranges[name]}"
    assert not {"jupyter", "notebook", "nbval"} & set(ranges)  # Colab's notebook server stays
