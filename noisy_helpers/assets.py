"""Files the notebooks read that are not code: the shipped agent, the study's results.

``path("agents/upndown")`` is the one way a notebook finds them, wherever it runs:

1. **In a checkout** (the package imported from a clone, editable or not installed): the
   folder in that checkout.
2. **Anywhere else** (Colab, a wheel, one notebook alone in a folder): a copy in the cache
   folder (``$NOISY_NETS_CACHE``, by default ``~/.cache/noisy_helpers``), fetched once from the
   same source the notebooks' setup cell installs from: ``$NOISY_NETS_REPO`` (a plain path,
   ``file://``, ``https://`` or ``git+...``), by default the repository URL of the package's
   metadata (``[project.urls] Repository`` in ``pyproject.toml``).

A fetch writes into a temporary folder beside its target and renames it into place when it is
complete, so an interrupted fetch leaves nothing that a later call would take for an asset.
Nothing in an asset is imported or executed: the agent's files are verified by
``run_folder`` (manifest and hashes) when they are loaded.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlparse

__all__ = ["ASSETS", "path", "repository_url", "checkout_root", "cache_root"]

#: Everything a notebook may ask for (folders of the repository).
ASSETS = (
    "agents/upndown",
    "benchmarks/results/exploration",
)

_PACKAGE = "noisy_helpers"


def repository_url() -> str:
    """The repository URL in the installed package's metadata (``Project-URL: Repository``)."""
    for entry in metadata.metadata(_PACKAGE).get_all("Project-URL") or []:
        label, _, url = entry.partition(",")
        if label.strip().lower() == "repository":
            return url.strip()
    raise LookupError("the installed noisy_helpers names no Repository URL in its metadata")


def checkout_root() -> Path | None:
    """The clone this package is imported from, or None (installed from a wheel, say)."""
    root = Path(__file__).resolve().parents[1]
    pyproject = root / "pyproject.toml"
    if pyproject.is_file() and f'name = "{_PACKAGE}"' in pyproject.read_text(encoding="utf-8"):
        return root
    return None


def cache_root() -> Path:
    """``$NOISY_NETS_CACHE``, or ``~/.cache/noisy_helpers``."""
    return Path(os.environ.get("NOISY_NETS_CACHE") or Path.home() / ".cache" / _PACKAGE)


def _check_name(name) -> str:
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__} {name!r}")
    if name not in ASSETS:
        raise ValueError(f"name must be one of {', '.join(ASSETS)}; got {name!r}")
    return name


def _local_source(source: str) -> Path | None:
    """The folder a plain path or a ``file://`` URL names; None for a repository to clone
    (``https://``, ``git+...``: a ``git+file://`` URL is cloned too, at its ``@ref``)."""
    if source.startswith("git+"):
        return None
    if source.startswith("file://"):
        return Path(unquote(urlparse(source).path))
    if "://" in source:
        return None
    return Path(source).expanduser()


def _clone(name: str, source: str, into: Path) -> None:
    """``git clone --depth 1`` of a remote ``source`` (``git+`` and an ``@ref`` allowed)."""
    if source.endswith((".zip", ".tar.gz", ".whl")):
        raise ValueError(f"could not fetch {name} from {source!r}: an archive holds the package "
                         f"only; NOISY_NETS_REPO must name the repository (path or URL)")
    url = source[len("git+"):] if source.startswith("git+") else source
    head, _, last = url.rpartition("/")
    branch = []
    if "@" in last:  # pip's git+URL@ref: a branch or a tag
        last, _, ref = last.partition("@")
        url, branch = f"{head}/{last}", ["--branch", ref]
    try:
        result = subprocess.run(["git", "clone", "--quiet", "--depth", "1", *branch, url,
                                 str(into)], capture_output=True, text=True)
    except FileNotFoundError:
        raise OSError(f"could not fetch {name} from {source!r}: git is not installed") from None
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or ["no message"])[-1]
        raise OSError(f"could not fetch {name} from {source!r}: git clone failed: {reason}")


def _fetch(name: str, source: str, target: Path) -> None:
    """Copy ``name`` out of ``source`` into ``target`` (which does not exist yet)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{target.name}.partial-") as tmp:
        local = _local_source(source)
        if local is None:  # a remote repository: one shallow clone
            _clone(name, source, Path(tmp) / "clone")
            local = Path(tmp) / "clone"
        origin = local / name
        if not origin.is_dir():
            raise FileNotFoundError(f"source {source!r} has no folder {name}")
        staged = Path(tmp) / "asset"
        shutil.copytree(origin, staged)
        try:
            os.replace(staged, target)
        except OSError:
            if not target.is_dir():  # not another process that fetched it first
                raise


def path(name: str, *, source: str | None = None) -> Path:
    """The folder of asset ``name`` (one of :data:`ASSETS`): in the checkout if there is one,
    otherwise in the cache, fetched once from ``source`` (default ``$NOISY_NETS_REPO``, else
    the package's repository URL)."""
    _check_name(name)
    if source is not None and not isinstance(source, str):
        raise TypeError(f"source must be a str or None, got {type(source).__name__} {source!r}")
    if source is not None and not source.strip():
        raise ValueError(f"source must name a path or URL, got {source!r}")
    root = checkout_root()
    if root is not None and (root / name).is_dir():
        return root / name
    target = cache_root() / name
    if target.is_dir():
        return target
    if source is None:
        source = os.environ.get("NOISY_NETS_REPO") or repository_url()
    _fetch(name, source, target)
    return target
