"""A run folder is the user's data: the rules for writing it, checkpointing into it and reading
it back.  ``train``, ``evaluate``, ``export``, ``plot``, the CLI and the experiment runner all
go through this module.

Taught in ``notebooks/04_noisy_double_dqn.ipynb``.

What a run folder holds::

    run.json          the marker, written first: this folder is a run (or an exported agent)
    metrics.csv       one row per finished episode and per evaluation
    tensorboard/      the same scalars for TensorBoard
    checkpoint/       the latest checkpoint; MANIFEST.json in it is written last
    best/             the best agent so far: a best evaluation, confirmed on
                      Config.best_check_episodes more episodes, with selection.json (its step,
                      evaluation and check); ties go to the later agent
    snapshots/        step_<N>/: the agent as it was after N steps, for the steps a run asks
                      for (``train(..., snapshot_steps=...)``), each a verified checkpoint

The rules:

* **Only into our own folders.** A run writes into a folder that is absent, empty, or a run
  made by this package (``run.json``).  Over an existing run it needs ``overwrite``, and then
  it removes that run's own entries (:data:`OWN_ENTRIES`) and nothing else.  A non-empty folder
  without the marker is refused, with or without ``overwrite``.  Every check runs before the
  first byte is written or deleted.
* **Checkpoints you can trust.** A checkpoint is written into ``checkpoint.partial/``; every
  file is flushed and fsynced, then ``MANIFEST.json`` (size and SHA-256 of every file) is
  written last, then the folder is swapped in (``checkpoint/`` → ``checkpoint.old/``,
  ``checkpoint.partial/`` → ``checkpoint/``).  Reading verifies the manifest before anything
  is loaded.  A crash between the two renames leaves two complete copies: the one with the
  latest step is found and used (:func:`find_checkpoint`).
* **Files are untrusted input.** Everything read back is validated: JSON types and ranges,
  unknown keys refused (one rule everywhere), an env id must be registered with gymnasium and
  never names a module to import (``module:Env``).
* **One writer at a time.** A training run holds a lock on its folder from its first check to
  its end (:func:`claim_run_folder`: ``flock`` on the folder itself, so no file is added, and
  the operating system releases it when the process ends, ``kill -9`` included).  A second run
  into the same folder, from another process or the same one, is refused before it writes.
  Where ``fcntl`` does not exist (Windows), or the filesystem refuses to lock a folder (as
  some network and FUSE mounts may), no lock is taken.
* **No row lost.** ``metrics.csv`` is fsynced at every checkpoint.  A resumed run drops the rows
  written after its checkpoint and a partial last line (left by ``kill -9``), so that every
  episode and every evaluation has exactly one row.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import math
import os
import re
import shutil
import uuid
from pathlib import Path

import numpy as np

__all__ = [
    "MARKER", "MANIFEST", "OWN_ENTRIES", "check_out_folder", "start_run_folder", "read_marker",
    "save_checkpoint", "find_checkpoint", "verify_checkpoint", "read_state", "load_checkpoint",
    "check_env_id", "check_env_kwargs", "MetricsFile", "read_metrics", "export_agent",
    "write_file", "fsync_file", "fsync_directory", "require_run_folder", "read_selection",
    "find_agent", "selection_for", "check_which", "BEST", "SELECTION", "BEST_FILES",
    "remove_own_entries", "claim_run_folder",
]

MARKER = "run.json"
MANIFEST = "MANIFEST.json"
CHECKPOINT = "checkpoint"
BEST = "best"
#: Which agent a ``best/`` checkpoint or an exported agent holds: ``which``, ``step``,
#: ``eval_return``.
SELECTION = "selection.json"
#: What a run (or an exported agent) writes at its top level; ``overwrite`` removes these only.
OWN_ENTRIES = ("run.json", "metrics.csv", "tensorboard", "checkpoint", "checkpoint.partial",
               "checkpoint.old", "best", "best.partial", "best.old", "learning_curve.png",
               "sigma.png", "snapshots")
#: Where a run keeps the agents of ``snapshot_steps``: ``snapshots/step_<N>/``.
SNAPSHOTS = "snapshots"
_FORMAT = "noisy_helpers run folder"
_KINDS = ("run", "export")
#: The files of a training checkpoint, and of an exported agent (for ``evaluate`` only).
CHECKPOINT_FILES = ("agent.json", "online.weights.h5", "target.weights.h5", "optimizer.npz",
                    "noise.npz", "replay.npz", "state.json")
EXPORTED_FILES = ("agent.json", "online.weights.h5", "state.json")
#: What ``export --with-optimizer`` adds, so that a warm start continues the agent whole.
TRAINING_STATE_FILES = ("target.weights.h5", "optimizer.npz", "noise.npz")
#: The files of the best agent's checkpoint (``best/``): an exported agent's and its selection.
BEST_FILES = EXPORTED_FILES + (SELECTION,)
_HASH_CHUNK = 1 << 20


# ----------------------------------------------------------------------------- writing
def fsync_directory(path: Path) -> None:
    """Make a rename or a new file inside ``path`` durable (a no-op where unsupported)."""
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def fsync_file(path: Path) -> None:
    """Flush a file that another library wrote (Keras, ``np.savez``) to the disk."""
    with open(path, "rb+") as file:
        os.fsync(file.fileno())


def write_file(path, data) -> None:
    """Write ``data`` (str or bytes) to ``path`` atomically: a temporary file beside it,
    flushed and fsynced, then renamed over ``path``."""
    path = Path(path)
    data = data.encode() if isinstance(data, str) else data
    partial = path.with_name(path.name + ".partial")
    with open(partial, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    os.replace(partial, path)
    fsync_directory(path.parent)


def _as_path(value, name: str) -> Path:
    if isinstance(value, bool) or not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be a path (str or pathlib.Path), got {value!r}")
    if str(value) == "":
        raise ValueError(f"{name} must not be empty, got {value!r}")
    return Path(value)


# ----------------------------------------------------------------------------- JSON checks
def _read_json(path: Path, what: str) -> dict:
    """A JSON object read from ``path``; one ``ValueError`` naming the file on any problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(f"{what} {str(path)!r} is missing") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"{what} {str(path)!r} is unreadable ({type(error).__name__})") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{what} {str(path)!r} is not valid JSON ({error.msg}, line "
                         f"{error.lineno})") from None
    if not isinstance(value, dict):
        raise ValueError(f"{what} {str(path)!r} must hold a JSON object, got "
                         f"{type(value).__name__}")
    return value


def _check_keys(values: dict, required, optional, where: str) -> None:
    """Unknown keys are refused everywhere (one rule for every file we read)."""
    missing = sorted(set(required) - set(values))
    unknown = sorted(set(values) - set(required) - set(optional))
    if missing:
        raise ValueError(f"{where} is missing {missing}")
    if unknown:
        raise ValueError(f"{where} has unknown keys {unknown}")


def _count(values: dict, key: str, where: str) -> int:
    value = values[key]
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**62:
        raise ValueError(f"{where}: {key!r} must be an int >= 0, got {value!r}")
    return value


# ----------------------------------------------------------------------------- the marker
def read_marker(directory) -> dict | None:
    """The folder's ``run.json`` (validated), or ``None`` when it has none."""
    path = Path(directory) / MARKER
    if not path.exists():
        return None
    marker = _read_json(path, "run marker")
    _check_keys(marker, ("format", "kind", "run_id", "package_version"), (), repr(str(path)))
    if marker["format"] != _FORMAT or marker["kind"] not in _KINDS:
        raise ValueError(f"{str(path)!r} is not a noisy_helpers run marker (format "
                         f"{marker['format']!r}, kind {marker['kind']!r})")
    if not isinstance(marker["run_id"], str) or not re.fullmatch(r"[0-9a-f]{32}",
                                                                   marker["run_id"]):
        raise ValueError(f"{str(path)!r}: 'run_id' must be 32 hex digits, got "
                         f"{marker['run_id']!r}")
    return marker


def check_out_folder(out, overwrite: bool = False, resume: bool = False,
                     kind: str = "run", name: str = "out") -> str:
    """Say what writing a run (``kind="run"``) or an exported agent (``"export"``) into
    ``out`` would do, without writing anything: ``"new"`` (absent or empty), ``"overwrite"``
    (a folder of ours, and ``overwrite``) or ``"resume"``.  Anything else raises
    ``ValueError`` naming the folder."""
    out = _as_path(out, name)
    for flag, value in (("overwrite", overwrite), ("resume", resume)):
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{flag} must be a bool, got {value!r}")
    if overwrite and resume:
        raise ValueError("overwrite and resume exclude each other: resume continues the run, "
                         "overwrite replaces it")
    if out.exists() and not out.is_dir():
        raise ValueError(f"{name} {str(out)!r} exists and is not a folder")
    if resume:
        marker = read_marker(out) if out.is_dir() else None
        if marker is None:
            raise FileNotFoundError(f"no run to resume in {str(out)!r} ({MARKER} missing)")
        if marker["kind"] != "run":
            raise FileNotFoundError(f"no run to resume in {str(out)!r}: it holds an exported "
                                    f"agent (no optimizer or replay to continue from)")
        return "resume"
    if not out.exists() or not any(out.iterdir()):
        return "new"
    marker = read_marker(out)
    if marker is None:
        raise ValueError(f"{name} {str(out)!r} holds files that noisy_helpers did not write "
                         f"(no {MARKER}); choose an empty or new folder")
    if not overwrite:
        what = "a run" if marker["kind"] == "run" else "an exported agent"
        raise ValueError(f"{name} {str(out)!r} already holds {what}; pass overwrite=True "
                         f"(--overwrite) to replace it"
                         + (", or resume=True (--resume) to continue it" if kind == "run"
                            and marker["kind"] == "run" else ""))
    return "overwrite"


def start_run_folder(out, mode: str, kind: str = "run") -> dict:
    """Prepare ``out`` as :func:`check_out_folder` said (its ``mode``): create it, or remove
    the old run's own entries, then write a fresh marker first.  Returns the marker."""
    out = Path(out)
    if mode == "resume":
        return read_marker(out)
    if mode == "overwrite":
        remove_own_entries(out)
    out.mkdir(parents=True, exist_ok=True)
    from . import __version__

    marker = dict(format=_FORMAT, kind=kind, run_id=uuid.uuid4().hex,
                  package_version=__version__)
    write_file(out / MARKER, json.dumps(marker, indent=1))
    return marker


@contextlib.contextmanager
def claim_run_folder(out, mode: str, overwrite: bool = False, resume: bool = False,
                     name: str = "out"):
    """Hold ``out`` for one writer while the block runs.

    Creates ``out`` if it is absent (``mode == "new"``: the folder itself, nothing in it), takes
    an exclusive ``flock`` on it, then checks it again with :func:`check_out_folder`: if another
    run wrote into it since ``mode`` was decided, the mode differs and this raises
    ``ValueError`` instead of writing over that run.  A folder held by another run (another
    process, or this one) raises ``ValueError`` naming it.  Either way nothing in ``out`` has
    changed.  The lock is released when the block ends, and by the operating system if the
    process dies; the folders this call created are removed then if they are still empty (the
    block raised before its first write)."""
    out = Path(out)
    created = [folder for folder in (out, *out.parents) if not folder.exists()]
    out.mkdir(parents=True, exist_ok=True)
    descriptor = None
    try:
        descriptor = _lock_folder(out, name)
        changed = f"{name} {str(out)!r} changed while this run was being prepared"
        try:
            now = check_out_folder(out, overwrite=overwrite, resume=resume, name=name)
        except (ValueError, FileNotFoundError) as error:
            raise ValueError(f"{changed}: {error}") from None
        if now != mode:
            raise ValueError(f"{changed} (another run wrote into it or removed it); nothing "
                             f"was written")
        yield out
    finally:
        _release(descriptor, created)


def _lock_folder(out: Path, name: str):
    """An exclusive ``flock`` on the folder ``out``; returns the descriptor that holds it, or
    None where no lock can be taken: no ``fcntl`` (Windows), or a filesystem that refuses to
    lock a folder (as some network and FUSE mounts may).  A folder locked by another run
    raises ``ValueError`` naming it."""
    try:
        import fcntl
    except ImportError:
        return None
    try:
        descriptor = os.open(out, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        raise ValueError(f"{name} {str(out)!r} is in use by another training run (it holds "
                         f"the folder's lock); wait for it to end or choose another "
                         f"folder") from None
    except OSError:  # the filesystem cannot lock it: go on without, as on Windows
        os.close(descriptor)
        return None
    return descriptor


def _release(descriptor, created) -> None:
    """Close the lock's descriptor (which releases it), then remove the folders in ``created``
    (deepest first) that are still empty."""
    if descriptor is not None:
        os.close(descriptor)
    for folder in created:
        try:
            folder.rmdir()  # only an empty folder
        except OSError:
            break


def remove_own_entries(out, entries=OWN_ENTRIES) -> None:
    """Remove ``entries`` (default: a run's own, :data:`OWN_ENTRIES`) from ``out``, and
    nothing else: the caller has checked that ``out`` is ours (:func:`check_out_folder`)."""
    out = Path(out)
    for entry in entries:
        path = out / entry
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()


def require_run_folder(directory, name: str = "run") -> Path:
    """``directory`` as a Path, refused unless it is a run folder (it has ``run.json``)."""
    directory = _as_path(directory, name)
    if not directory.is_dir():
        raise FileNotFoundError(f"{name} {str(directory)!r} is not a folder")
    if read_marker(directory) is None:
        raise ValueError(f"{name} {str(directory)!r} is not a noisy_helpers run folder "
                         f"({MARKER} missing)")
    return directory


# ----------------------------------------------------------------------------- checkpoints
def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def save_checkpoint(directory, write, state: dict) -> None:
    """Write a checkpoint into ``directory`` (``run/checkpoint``) so that a crash at any
    point leaves a complete one: ``write(folder)`` writes the files, then ``state.json``,
    every file fsynced, then the manifest last, then the swap."""
    directory = Path(directory)
    partial = directory.with_name(directory.name + ".partial")
    old = directory.with_name(directory.name + ".old")
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    write(partial)
    (partial / "state.json").write_text(json.dumps(state, indent=1))
    files = {}
    for path in sorted(partial.iterdir()):
        fsync_file(path)
        files[path.name] = dict(bytes=path.stat().st_size, sha256=_sha256(path))
    write_file(partial / MANIFEST, json.dumps(dict(files=files), indent=1))
    fsync_directory(partial)
    if old.exists():  # left by a crash in the middle of an earlier swap
        shutil.rmtree(old)
    if directory.exists():
        os.rename(directory, old)
    os.rename(partial, directory)
    fsync_directory(directory.parent)
    if old.exists():
        shutil.rmtree(old)


def verify_checkpoint(directory, required=CHECKPOINT_FILES) -> dict:
    """Check every file of the checkpoint in ``directory`` against its ``MANIFEST.json``
    (present, same size, same SHA-256) and that the ``required`` files are listed.  Raises
    one ``ValueError`` naming the file and the problem; returns the manifest."""
    directory = Path(directory)
    manifest = _read_json(directory / MANIFEST, "checkpoint manifest")
    _check_keys(manifest, ("files",), (), f"{str(directory / MANIFEST)!r}")
    files = manifest["files"]
    if not isinstance(files, dict):
        raise ValueError(f"{str(directory / MANIFEST)!r}: 'files' must be an object")
    missing = sorted(set(required) - set(files))
    if missing:
        raise ValueError(f"checkpoint {str(directory)!r} lacks {missing} (not in {MANIFEST})")
    for name, entry in files.items():
        if (not isinstance(name, str) or name in ("", ".", "..") or "/" in name
                or "\\" in name or name == MANIFEST):
            raise ValueError(f"{str(directory / MANIFEST)!r} lists a bad file name {name!r}")
        if (not isinstance(entry, dict) or set(entry) != {"bytes", "sha256"}
                or isinstance(entry["bytes"], bool) or not isinstance(entry["bytes"], int)
                or not isinstance(entry["sha256"], str)):
            raise ValueError(f"{str(directory / MANIFEST)!r}: bad entry for {name!r}")
        path = directory / name
        if not path.is_file():
            raise ValueError(f"checkpoint file {name!r} in {str(directory)!r} is missing")
        size = path.stat().st_size
        if size != entry["bytes"]:
            raise ValueError(f"checkpoint file {name!r} in {str(directory)!r} has {size} bytes, "
                             f"the manifest says {entry['bytes']} (truncated or changed)")
        if _sha256(path) != entry["sha256"]:
            raise ValueError(f"checkpoint file {name!r} in {str(directory)!r} does not match "
                             f"its SHA-256 in the manifest (corrupted or changed)")
    return manifest


def _checkpoint_step(directory: Path, required) -> int | None:
    """The step of a complete checkpoint in ``directory``, or None when it is not one."""
    try:
        verify_checkpoint(directory, required)
        return read_state(directory)["step"]
    except (ValueError, FileNotFoundError):
        return None


def find_checkpoint(run_directory, required=CHECKPOINT_FILES, recover: bool = False,
                    name: str = CHECKPOINT) -> Path:
    """The run's complete checkpoint with the latest step.  Normally ``checkpoint/``; after a
    crash in the middle of a swap, ``checkpoint.partial/`` or ``checkpoint.old/``, moved
    back to ``checkpoint/`` when ``recover``.  Raises ``FileNotFoundError`` when there is
    none, and ``ValueError`` (the verification's) when the only one is damaged.  ``name``
    ``"best"`` finds the best agent's checkpoint (``best/``) the same way."""
    run_directory = Path(run_directory)
    main = run_directory / name
    candidates = [main] + [run_directory / f"{name}.{s}" for s in ("partial", "old")]
    steps = {path: _checkpoint_step(path, required) for path in candidates if path.is_dir()}
    complete = {path: step for path, step in steps.items() if step is not None}
    if not complete:
        if main.is_dir():
            verify_checkpoint(main, required)  # raises, saying what is wrong
            read_state(main)
        if name == BEST:
            raise FileNotFoundError(f"no best agent in {str(run_directory)!r} ({BEST}/ missing: "
                                    f"no evaluation has finished yet, or the run was trained "
                                    f"before best/ existed); use the last one (--which last)")
        raise FileNotFoundError(f"no checkpoint in {str(run_directory)!r} ({CHECKPOINT}/ "
                                f"missing: a run stopped before its first checkpoint starts "
                                f"again with overwrite)")
    best = max(complete, key=lambda path: (complete[path], path == main))
    if best != main and recover:
        if main.exists():
            shutil.rmtree(main)
        os.rename(best, main)
        fsync_directory(run_directory)
        best = main
    return best


# ----------------------------------------------------------------------------- best or last
_WHICH = ("best", "last")


def check_which(which, name: str = "which") -> str:
    """``"best"`` or ``"last"``; anything else raises naming ``name`` and the value."""
    if not isinstance(which, str):
        raise TypeError(f"{name} must be 'best' or 'last', got {type(which).__name__} "
                        f"{which!r}")
    if which not in _WHICH:
        raise ValueError(f"{name} must be 'best' or 'last', got {which!r}")
    return which


def selection_for(which: str, step: int, eval_return, check_return=None,
                  selection_return=None) -> dict:
    """The content of ``selection.json``: which agent, its step, its evaluation mean; for a
    best agent that played a check (``Config.best_check_episodes``) also the check's mean and
    ``selection_return``, the mean over the evaluation's and the check's episodes together,
    which ranks best agents."""
    selection = dict(which=check_which(which), step=int(step),
                     eval_return=None if eval_return is None else float(eval_return))
    if (check_return is None) != (selection_return is None):
        raise ValueError(f"check_return and selection_return go together, got {check_return!r} "
                         f"and {selection_return!r}")
    if check_return is not None:
        selection.update(check_return=float(check_return),
                         selection_return=float(selection_return))
    return selection


def selection_return(selection: dict) -> float:
    """The number that ranks best agents: the mean over the evaluation's and the check's
    episodes together, or the evaluation's mean for an agent picked without a check."""
    if "selection_return" in selection:
        return selection["selection_return"]
    return selection["eval_return"]


def at_least_best(best: dict | None, score: float) -> bool:
    """Whether ``score`` is at least the best agent's :func:`selection_return` (always, when
    there is no best agent yet): ties go to the later, longer-trained agent."""
    return best is None or score >= selection_return(best)


def _finite(values: dict, key: str, where: str, null: bool = False) -> None:
    """``values[key]`` must be a finite number (or None, with ``null``)."""
    value = values[key]
    if null and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{where}: {key!r} must be a finite number{' or null' if null else ''}, "
                         f"got {value!r}")


def read_selection(directory) -> dict:
    """Which agent the checkpoint in ``directory`` holds: ``selection.json`` validated
    (``which`` "best" or "last", ``step``, ``eval_return`` a finite number or None, and for a
    checked best agent ``check_return`` and ``selection_return``, finite numbers).  A
    checkpoint without one is the last agent of its run (every checkpoint and export written
    before ``best/`` existed): ``which="last"`` with its state's step."""
    directory = Path(directory)
    path = directory / SELECTION
    if not path.exists():
        return dict(which="last", step=read_state(directory)["step"], eval_return=None)
    values = _read_json(path, "selection")
    where = repr(str(path))
    _check_keys(values, ("which", "step", "eval_return"), ("check_return", "selection_return"),
                where)
    if values["which"] not in _WHICH:
        raise ValueError(f"{where}: 'which' must be 'best' or 'last', got {values['which']!r}")
    _count(values, "step", where)
    _finite(values, "eval_return", where, null=True)
    if ("check_return" in values) != ("selection_return" in values):
        raise ValueError(f"{where}: 'check_return' and 'selection_return' go together")
    if "check_return" in values and values["eval_return"] is None:
        raise ValueError(f"{where}: a checked agent needs its 'eval_return', got None")
    for key in ("check_return", "selection_return"):
        if key in values:
            _finite(values, key, where)
    return values


def find_agent(directory, which=None) -> tuple:
    """The verified checkpoint that holds the agent to evaluate, and its selection.

    In a run folder ``which="best"`` (the default) is ``best/``, the agent of the best
    evaluation, and ``"last"`` is ``checkpoint/``.  An exported agent holds one of them, and
    says which: ``which`` may be left ``None`` or must name that one.  Returns
    ``(checkpoint_folder, selection)``."""
    directory = require_run_folder(directory, "run")
    if which is not None:
        check_which(which)
    if read_marker(directory)["kind"] == "export":
        checkpoint = find_checkpoint(directory, EXPORTED_FILES)
        selection = read_selection(checkpoint)
        if which is not None and which != selection["which"]:
            raise ValueError(f"which={which!r}, but the exported agent in {str(directory)!r} "
                             f"is its run's {selection['which']} one (export the other from "
                             f"the run folder)")
        return checkpoint, selection
    which = which or "best"
    if which == "best":
        checkpoint = find_checkpoint(directory, BEST_FILES, name=BEST)
        return checkpoint, read_selection(checkpoint)
    checkpoint = find_checkpoint(directory, EXPORTED_FILES)
    return checkpoint, selection_for("last", read_state(checkpoint)["step"], None)


# ----------------------------------------------------------------------------- state.json
_STATE_KEYS = ("config", "env_id", "env_kwargs", "step", "episode", "evaluation", "run_id")


def check_env_id(env_id, name: str = "env_id") -> str:
    """``env_id`` if it is a gymnasium id registered here; never a ``module:Env`` id, which
    would make gymnasium import a module it names (a run folder someone shares must not run
    code)."""
    import gymnasium as gym

    if not isinstance(env_id, str):
        raise TypeError(f"{name} must be a string, got {env_id!r}")
    if ":" in env_id:
        raise ValueError(f"{name} {env_id!r} names a module to import ('module:Env'); import "
                         f"it yourself, then pass the registered id")
    if env_id.startswith("ALE/"):
        import ale_py

        gym.register_envs(ale_py)
    if env_id not in gym.registry:
        raise ValueError(f"unknown environment id {env_id!r} ({name}: not registered with "
                         f"gymnasium)")
    return env_id


def check_env_kwargs(env_kwargs, name: str = "env_kwargs") -> dict:
    """``env_kwargs`` as a dict of identifier keys and JSON scalar values (saved in
    ``state.json`` and part of trial folder names)."""
    if env_kwargs is None:
        return {}
    if not isinstance(env_kwargs, dict):
        raise TypeError(f"{name} must be a dict, got {env_kwargs!r}")
    for key, value in env_kwargs.items():
        if not isinstance(key, str) or not key.isidentifier():
            raise TypeError(f"{name} keys must be identifiers, got {key!r}")
        if value is not None and not isinstance(value, (bool, int, float, str)):
            raise TypeError(f"{name}[{key!r}] must be a number, a string, a bool or None, "
                            f"got {value!r}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{name}[{key!r}] must be finite, got {value!r}")
    return dict(env_kwargs)


def read_state(directory) -> dict:
    """The checkpoint's ``state.json``, validated: its config (a ``Config``), env id, env
    arguments and counters.  Returns the dict with ``config`` as a ``Config``."""
    from .config import Config

    path = Path(directory) / "state.json"
    state = _read_json(path, "checkpoint state")
    where = repr(str(path))
    _check_keys(state, _STATE_KEYS, ("warm_start",), where)
    if "warm_start" in state:
        _check_warm_start(state["warm_start"], where)
    if not isinstance(state["config"], dict):
        raise ValueError(f"{where}: 'config' must be an object")
    try:
        config = Config.from_dict(state["config"])
    except (TypeError, ValueError) as error:
        raise ValueError(f"{where}: bad config ({error})") from None
    try:
        check_env_id(state["env_id"], "env_id")
        env_kwargs = check_env_kwargs(state["env_kwargs"])
    except (TypeError, ValueError) as error:
        raise ValueError(f"{where}: {error}") from None
    for key in ("step", "episode", "evaluation"):
        _count(state, key, where)
    if state["step"] > config.total_steps:
        raise ValueError(f"{where}: step {state['step']} is beyond total_steps "
                         f"{config.total_steps}")
    if state["evaluation"] > state["step"] // config.eval_period:
        raise ValueError(f"{where}: evaluation {state['evaluation']} is more than step "
                         f"{state['step']} allows")
    if not isinstance(state["run_id"], str):
        raise ValueError(f"{where}: 'run_id' must be a string")
    return dict(state, config=config, env_kwargs=env_kwargs)


def _check_warm_start(record, where: str) -> None:
    """``state.json``'s ``warm_start``: the exported agent a run started from."""
    if not isinstance(record, dict):
        raise ValueError(f"{where}: 'warm_start' must be an object")
    _check_keys(record, ("source", "run_id", "step", "which", "optimizer", "replay"), (),
                f"{where} 'warm_start'")
    for key in ("source", "run_id", "which", "optimizer", "replay"):
        if not isinstance(record[key], str):
            raise ValueError(f"{where}: warm_start {key!r} must be a string")
    _count(record, "step", where)


def load_checkpoint(directory, agent, buffer=None, verify: bool = True) -> dict:
    """Verify the checkpoint in ``directory``, then load it into ``agent`` (and ``buffer``:
    ``None`` loads the networks only, for evaluation).  All or nothing: on any failure the
    agent and the buffer are exactly as before.  Returns the validated state.
    ``verify=False`` skips the manifest for a checkpoint that :func:`find_checkpoint` has
    just verified (hashing a 0.7 GB Atari replay takes seconds)."""
    directory = Path(directory)
    required = CHECKPOINT_FILES if buffer is not None else EXPORTED_FILES
    if verify:
        verify_checkpoint(directory, required)
    state = read_state(directory)
    if buffer is not None:
        replay = _read_npz(directory / "replay.npz")
        try:
            buffer.check_state_dict(replay)
        except (TypeError, ValueError) as error:
            raise ValueError(f"checkpoint file 'replay.npz' in {str(directory)!r}: "
                             f"{error}") from None
    # All or nothing by itself; the manifest was verified above.
    agent.load(directory, weights_only=buffer is None, verify=False)
    if buffer is not None:
        buffer.load_state_dict(replay)  # checked above: cannot fail now
    return state


def _read_npz(path: Path) -> dict:
    import zipfile

    try:
        with np.load(path, allow_pickle=False) as arrays:
            return {key: arrays[key] for key in arrays.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as error:
        raise ValueError(f"checkpoint file {path.name!r} in {str(path.parent)!r} is "
                         f"unreadable ({type(error).__name__}: {error})") from None


# ----------------------------------------------------------------------------- metrics.csv
def _format(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return value


def _complete_rows(text: str, width: int, path: Path):
    """The header and the complete rows of a metrics file: a last line without its newline
    (a write cut short) is dropped; a malformed row anywhere else raises ``ValueError``."""
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines.pop()
    rows = list(csv.reader(lines))
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != width:
            raise ValueError(f"{str(path)!r} line {number} has {len(row)} fields, the "
                             f"header {width}")
    return rows


class MetricsFile:
    """``metrics.csv``: one row per finished episode and per evaluation.

    A new run writes the header; a resumed run (``resume_step``) keeps the rows up to its
    checkpoint's step and drops the rest and any partial last line, so that no row is lost
    or repeated.  Each row is flushed; :meth:`sync` also fsyncs (at every checkpoint)."""

    def __init__(self, path, fields: list, resume_step: int | None = None):
        self.path = Path(path)
        self.fields = list(fields)
        if resume_step is None or not self.path.exists():
            write_file(self.path, ",".join(self.fields) + "\r\n")
        else:
            self._trim(resume_step)
        self.file = open(self.path, "a", newline="")
        self.writer = csv.writer(self.file)

    def _trim(self, last_step: int) -> None:
        text = self.path.read_text()
        if next(csv.reader(text.splitlines()[:1]), None) != self.fields:
            raise ValueError(f"{str(self.path)!r} has other columns than this run writes")
        rows = _complete_rows(text, len(self.fields), self.path)
        kept = [rows[0]]
        for number, row in enumerate(rows[1:], start=2):
            try:
                step = float(row[0])
            except ValueError:
                raise ValueError(f"{str(self.path)!r} line {number}: the step is not a "
                                 f"number: {row[0][:40]!r}") from None
            if step <= last_step:
                kept.append(row)
        text = io.StringIO()
        csv.writer(text).writerows(kept)
        write_file(self.path, text.getvalue())

    def write(self, row: dict) -> None:
        self.writer.writerow([_format(row.get(field)) for field in self.fields])
        self.file.flush()

    def sync(self) -> None:
        """Flush and fsync the rows written so far (nothing to do once closed)."""
        if not self.file.closed:
            self.file.flush()
            os.fsync(self.file.fileno())

    def close(self) -> None:
        if not self.file.closed:
            self.sync()
            self.file.close()


def metrics_header(path) -> list | None:
    """The column names of the ``metrics.csv`` at ``path`` (``None``: no such file)."""
    try:
        with open(path, newline="", encoding="utf-8") as file:
            return next(csv.reader(file), [])
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        raise ValueError(f"{str(path)!r} is not a text file") from None


def read_metrics(path) -> dict:
    """Read a ``metrics.csv`` into ``{column: float array}``; empty cells become NaN.  A
    partial last line (a run killed while writing it) is skipped; any other malformed row
    raises ``ValueError`` naming the file and the line."""
    path = _as_path(path, "path")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{str(path)!r} is not a text file") from None
    header = next(csv.reader(text.splitlines()[:1]), [])
    rows = _complete_rows(text, len(header), path)
    if not rows:
        return {}
    columns = {}
    for index, field in enumerate(rows[0]):
        values = []
        for number, row in enumerate(rows[1:], start=2):
            cell = row[index]
            try:
                values.append(float(cell) if cell != "" else math.nan)
            except ValueError:
                raise ValueError(f"{str(path)!r} line {number}, column {field!r}: not a "
                                 f"number: {cell[:40]!r}") from None
        columns[field] = np.array(values)
    return columns


# ----------------------------------------------------------------------------- export
def export_agent(run_directory, out, overwrite: bool = False, which: str = "best",
                 optimizer: bool = False) -> Path:
    """Copy what it takes to evaluate a trained agent, and nothing more, into ``out``:
    ``checkpoint/`` with the online network's weights, ``agent.json``, ``state.json``
    (config and counters), ``selection.json`` (which agent: ``which``, "best" (``best/``)
    or "last" (``checkpoint/``), its step and evaluation) and their manifest, the run's
    ``metrics.csv``, and a marker.  Not the replay: an exported agent is for ``evaluate``,
    videos and a warm start (``train(warm_start=out)``), not for ``--resume``.  With
    ``optimizer`` also the target network, Adam's state and the noise
    (:data:`TRAINING_STATE_FILES`, about three times the weights), so that a warm start goes on
    with them rather than with a fresh Adam.  ``out`` follows the rule of a run's folder:
    absent, empty, or (with ``overwrite``) an earlier export or run.  The source checkpoint
    is verified first."""
    run_directory = require_run_folder(run_directory, "run_directory")
    out = _as_path(out, "out")
    check_which(which)
    if not isinstance(optimizer, (bool, np.bool_)):
        raise TypeError(f"optimizer must be a bool, got {optimizer!r}")
    if out.resolve() == run_directory.resolve():
        raise ValueError(f"out must differ from run_directory, got {str(out)!r} for both")
    source, selection = find_agent(run_directory, which)
    read_state(source)
    names = EXPORTED_FILES + (TRAINING_STATE_FILES if optimizer else ())
    if optimizer:
        missing = [name for name in TRAINING_STATE_FILES if not (source / name).is_file()]
        if missing:
            raise ValueError(f"optimizer=True, but {str(source)!r} lacks {missing} (an "
                             f"export without them cannot pass them on)")
    mode = check_out_folder(out, overwrite=overwrite, kind="export")
    start_run_folder(out, mode, kind="export")

    def copy(folder: Path) -> None:
        for name in names:
            if name != "state.json":
                shutil.copyfile(source / name, folder / name)
        (folder / SELECTION).write_text(json.dumps(selection, indent=1))

    state = json.loads((source / "state.json").read_text())
    save_checkpoint(out / CHECKPOINT, copy, state)
    verify_checkpoint(out / CHECKPOINT, names)  # the copy is what was verified
    metrics = run_directory / "metrics.csv"
    if metrics.exists():
        write_file(out / "metrics.csv", metrics.read_bytes())
    return out
