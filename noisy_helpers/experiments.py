"""A small experiment runner: one ``Config`` with one field changed, many seeds, in parallel.

Taught in ``notebooks/06_exploration.ipynb``.

>>> import noisy_helpers as nh
>>> trials = nh.sweep(nh.Config.small(), "noisy", [True, False], seeds=range(5))
>>> [(t.name, t.config.noisy, t.config.seed) for t in trials][:2]
[('noisy=True/CartPole-v1/seed0', True, 0), ('noisy=True/CartPole-v1/seed1', True, 1)]
>>> results = nh.run_trials(trials, "runs/example")  # doctest: +SKIP

* :func:`sweep` builds the trials: the base config with ``field`` set to each value,
  for every seed (and every environment setting).
* :func:`run_trials` trains them with :func:`~noisy_helpers.train`, ``workers`` at a
  time in separate processes (each TensorFlow on one thread, so a seed gives the same
  run whichever worker plays it, and two workers fit two cores), with a progress bar.
  Each finished trial leaves ``<out>/<name>/result.json`` next to its ``metrics.csv``;
  a trial whose ``result.json`` holds the same trial is not run again.  So an
  interrupted study picks up where it stopped, and changing one setting re-runs only
  the trials it changes.  The results of all trials go to ``<out>/results.csv``.
* :func:`read_results` reads that CSV back.

A result row: the trial (its name, group, changed ``field`` and ``value``, seed, env id
and environment arguments), then ``episodes`` and ``steps`` played, and
``first_goal_episode`` / ``first_goal_step``: the first training episode whose return
reached ``config.stop_at_return`` (empty when it never did, or when the config has no
goal), the run's last and best evaluation returns, then the environment's arguments.  So the
same trials give the same ``results.csv`` byte for byte, on either backend.  A run's wall time,
the one thing that differs when it runs again, is ``seconds`` in its ``result.json``.

The trials run in local processes (``backend="processes"``, the default) or as Ray tasks
(``backend="ray"``, on this machine or a cluster; :mod:`noisy_helpers._ray_backend`).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import sys
import threading
import time
from dataclasses import dataclass, field as dataclass_field
from pathlib import Path

import numpy as np

from .config import Config

__all__ = ["Trial", "sweep", "run_trials", "read_results", "RESULT_FIELDS", "BACKENDS"]

#: The columns of ``results.csv`` before the environment arguments (one column each).
RESULT_FIELDS = [
    "name", "group", "field", "value", "seed", "env_id", "episodes", "steps",
    "first_goal_episode", "first_goal_step", "last_eval_return", "best_eval_return",
]


@dataclass(frozen=True)
class Trial:
    """One training run of a study.

    Attributes:
        config: the run's settings, its seed included.
        env_id: the gymnasium id.
        env_kwargs: the environment's arguments (``{"size": 10}``).
        field: the Config field this study varies (``"noisy"``), for the results table.
        group: a short label of the setting, the same for every seed (``"noisy=True"``).
    """

    config: Config
    env_id: str = "CartPole-v1"
    env_kwargs: dict = dataclass_field(default_factory=dict)
    field: str = ""
    group: str = ""

    @property
    def name(self) -> str:
        """``group/env/seedN``: the trial's folder under the study's directory.  Each part
        is one plain folder name (no separator, no ``..``): a trial never writes outside
        the study's directory."""
        env = self.env_id.split("/")[-1]
        if self.env_kwargs:
            env += "-" + "-".join(f"{k}{v}" for k, v in sorted(self.env_kwargs.items()))
        parts = (self.group, env, f"seed{self.config.seed}")
        for part in parts:
            if (part in ("", ".", "..") or any(c in part for c in "/\\\0:")
                    or part != part.strip()):
                raise ValueError(f"trial folder name part {part!r} (from group, env_id or "
                                 f"env_kwargs) must be a plain folder name")
        return "/".join(parts)

    def to_dict(self) -> dict:
        return dict(config=self.config.to_dict(), env_id=self.env_id,
                    env_kwargs=dict(self.env_kwargs), field=self.field, group=self.group)

    @classmethod
    def from_dict(cls, values: dict) -> "Trial":
        return cls(config=Config.from_dict(values["config"]), env_id=values["env_id"],
                   env_kwargs=dict(values["env_kwargs"]), field=values["field"],
                   group=values["group"])


def sweep(base: Config, field: str, values, seeds, env_id: str = "CartPole-v1",
          env_kwargs=({},), labels=None) -> list:
    """Trials of ``base`` with ``field`` set to each of ``values``, for each environment
    setting in ``env_kwargs`` and each of ``seeds`` (in that order of nesting).

    ``labels`` name the values in the results (default ``"field=value"``).  Raises
    ``ValueError`` for a field that ``Config`` does not have, a bad value (as ``Config``
    checks it), no values or no seeds, or labels of another length."""
    if not isinstance(base, Config):
        raise TypeError(f"base must be a noisy_helpers.Config, got {type(base).__name__}")
    known = [f.name for f in dataclasses.fields(Config)]
    if field not in known or field == "seed":
        raise ValueError(f"field must be a Config field other than 'seed', got {field!r}")
    values, seeds, settings = list(values), list(seeds), list(env_kwargs)
    if not values:
        raise ValueError(f"values must not be empty, got {values!r}")
    if not seeds:
        raise ValueError(f"seeds must not be empty, got {seeds!r}")
    if not settings or not all(isinstance(s, dict) for s in settings):
        raise ValueError(f"env_kwargs must be a non-empty list of dicts, got {settings!r}")
    if labels is None:
        labels = [f"{field}={value}" for value in values]
    labels = list(labels)
    if len(labels) != len(values):
        raise ValueError(f"labels must be one per value: {len(labels)} != {len(values)}")
    if len(set(labels)) != len(labels) or any("/" in label for label in labels):
        raise ValueError(f"labels must be distinct and contain no '/', got {labels!r}")
    return [
        Trial(config=base.replace(**{field: value, "seed": int(seed)}), env_id=env_id,
              env_kwargs=dict(setting), field=field, group=label)
        for value, label in zip(values, labels)
        for setting in settings
        for seed in seeds
    ]


# ---------------------------------------------------------------------------- workers
def _exit_with_driver(driver_pid: int, period: float = 0.5, before_exit=None) -> None:
    """End this worker within ``period`` seconds of its driver ending, however it ended
    (Ctrl-C, SIGTERM, SIGKILL, a notebook kernel restarted or killed): a daemon thread
    watches the parent process id, which changes when the driver is gone.  ``before_exit``
    (no arguments), if given, runs on that thread first (``benchmarks/bench_cartpole.py``
    stops its seed there)."""
    def watch() -> None:
        while os.getppid() == driver_pid:
            time.sleep(period)
        if before_exit is not None:
            before_exit()
        os._exit(1)  # the sweep's trial folder is the runner's: the next run trains it again

    threading.Thread(target=watch, name="exit-with-driver", daemon=True).start()


def _start_worker(driver_pid: int) -> None:
    """Worker start-up: never outlive the driver, and TensorFlow on one thread."""
    _exit_with_driver(driver_pid)
    _limit_threads()


def _limit_threads() -> None:
    """Worker start-up: TensorFlow on one thread per worker (set before its first op)."""
    os.environ["TF_NUM_INTRAOP_THREADS"] = "1"
    os.environ["TF_NUM_INTEROP_THREADS"] = "1"
    from ._tensorflow import import_tensorflow

    def one_thread(tf) -> None:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)

    import_tensorflow(setup=one_thread)  # without its start-up block, once per worker


def _summarise(trial: Trial, directory: Path) -> dict:
    """The result row of a finished trial, from its ``metrics.csv``."""
    from .training import read_metrics

    metrics = read_metrics(directory / "metrics.csv")
    is_episode = ~np.isnan(metrics.get("episode_return", np.empty(0)))
    returns = metrics["episode_return"][is_episode]
    goal = trial.config.stop_at_return
    reached = np.flatnonzero(returns >= goal) if goal is not None else np.empty(0, int)
    evals = metrics["eval_return"][~np.isnan(metrics["eval_return"])]
    return dict(
        episodes=int(metrics["episode"][is_episode][-1]) if returns.size else 0,
        steps=int(metrics["step"][-1]) if metrics["step"].size else 0,
        first_goal_episode=int(metrics["episode"][is_episode][reached[0]]) if reached.size else None,
        first_goal_step=int(metrics["step"][is_episode][reached[0]]) if reached.size else None,
        last_eval_return=float(evals[-1]) if evals.size else None,
        best_eval_return=float(evals.max()) if evals.size else None,
    )


def _run_trial(trial_values: dict, directory: str) -> dict:
    """Train one trial (in a worker process) and return its summary and wall time."""
    import shutil

    from .training import train

    trial = Trial.from_dict(trial_values)
    directory = Path(directory)
    start = time.perf_counter()
    # The trial's folder is the runner's: an earlier run of a changed trial is replaced.
    train(trial.config, trial.env_id, out=directory, progress=False, tensorboard=False,
          env_kwargs=trial.env_kwargs, overwrite=True)
    # The study keeps metrics and results; the checkpoint (replay included) is not needed.
    shutil.rmtree(directory / "checkpoint", ignore_errors=True)
    summary = _summarise(trial, directory)
    summary["seconds"] = round(time.perf_counter() - start, 2)
    return summary


def _read_result(directory: Path):
    """The runner's ``result.json`` in ``directory`` (``{"trial": ..., "result": ...}``), or
    None: none there, or a file that is not one (damaged, or not JSON of that shape)."""
    path = directory / "result.json"
    if not path.is_file():
        return None
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        return None
    if not (isinstance(saved, dict) and isinstance(saved.get("trial"), dict)
            and isinstance(saved.get("result"), dict)):
        return None
    return saved


def _load_result(trial: Trial, directory: Path):
    """The saved result of ``trial`` in ``directory``, or None (none, a damaged one, or
    another trial's: the trial is then trained again)."""
    saved = _read_result(directory)
    if saved is None:
        return None
    try:  # read as a Trial: a config saved before a field was added gets that field's value
        same = Trial.from_dict(saved["trial"]).to_dict() == trial.to_dict()
    except (KeyError, TypeError, ValueError):
        return None
    return saved["result"] if same else None


def _save_result(trial: Trial, directory: Path, result: dict) -> None:
    partial = directory / "result.json.partial"
    partial.write_text(json.dumps(dict(trial=trial.to_dict(), result=result), indent=1))
    partial.replace(directory / "result.json")  # atomic: never a half-written result


#: Where :func:`run_trials` runs the trials.
BACKENDS = ("processes", "ray")
#: What a trial's folder may hold besides a run's own entries: the runner's result.
_RESULT_ENTRIES = ("result.json", "result.json.partial")


def _check_trial_folder(folder: Path) -> None:
    """Refuse (``ValueError``) a trial folder the runner may not replace: it must be absent,
    empty, a run of this package, or a run the runner kept in compact form (a committed
    study's ``metrics.csv`` beside a ``result.json`` of the runner's)."""
    from . import run_folder

    if folder.is_dir() and not (folder / run_folder.MARKER).exists():
        own = set(run_folder.OWN_ENTRIES) | set(_RESULT_ENTRIES)
        if (_read_result(folder) is not None
                and all(entry.name in own for entry in folder.iterdir())):
            return
    run_folder.check_out_folder(folder, overwrite=True, name="trial folder")


def _check_results_csv(path: Path) -> None:
    """Refuse (``ValueError``) to replace a ``results.csv`` that the runner did not write (its
    header does not start with :data:`RESULT_FIELDS`), or one that is not a file."""
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise ValueError(f"{str(path)!r} is not a file: the study's results.csv goes there")
    if path.exists():
        with open(path, newline="", encoding="utf-8", errors="replace") as file:
            header = next(csv.reader(file), [])
        if header[: len(RESULT_FIELDS)] != RESULT_FIELDS:
            raise ValueError(f"{str(path)!r} was not written by run_trials (its columns are not "
                             f"{', '.join(RESULT_FIELDS[:3])}, ...); move it, or choose another "
                             f"out")


def _check_trainable(trials: list) -> None:
    """``train``'s own checks of each trial (config against environment), and each distinct
    environment built once: a bad env id, bad environment arguments or a config the environment
    cannot take raise their ``ValueError`` before anything is written."""
    from .training import _check_train_arguments, make_env

    for trial in trials:
        _check_train_arguments(trial.config, trial.env_id, trial.env_kwargs, False, None)
    for env_id, kwargs in dict.fromkeys((t.env_id, json.dumps(t.env_kwargs, sort_keys=True))
                                        for t in trials):
        make_env(env_id, env_kwargs=json.loads(kwargs)).close()


def _clear_trial_folder(folder: Path) -> None:
    """Make a checked trial folder ready for ``train(overwrite=True)``: a folder without a
    marker (a copied study's compact run, of a trial since changed) is emptied of the runner's
    files; a run folder is train's to replace."""
    from . import run_folder

    if folder.is_dir() and not (folder / run_folder.MARKER).exists():
        run_folder.remove_own_entries(folder, run_folder.OWN_ENTRIES + _RESULT_ENTRIES)
    folder.mkdir(parents=True, exist_ok=True)


def run_trials(trials, out, workers=None, progress: bool = True, backend: str = "processes",
               address=None) -> list:
    """Run every trial not yet finished in ``out``; return all their result rows (dicts,
    in the order of ``trials``) and write them to ``out/results.csv``.

    Args:
        trials: from :func:`sweep` (several sweeps may be added together).
        out: the study's directory; trial ``t`` lives in ``out / t.name``.
        workers: trials run at once (default: the machine's CPU count; on a Ray cluster,
            as many as its CPUs take).
        progress: show a progress bar over the trials.
        backend: ``"processes"`` (local ``spawn`` processes) or ``"ray"`` (each trial a Ray
            task of one CPU; needs ``pip install "noisy_helpers[cluster]"``).  Both write the
            same files, and the same ``results.csv`` byte for byte.
        address: with ``"ray"``, the cluster to join (``"host:6379"``, ``"auto"``); default
            ``RAY_ADDRESS``, else a local Ray of ``workers`` CPUs, shut down at the end.

    Every input is checked before anything is written: a bad backend, an address where no
    Ray answers, Ray missing, a trial folder that holds files of another kind, a
    ``results.csv`` that the runner did not write, or a trial that ``train`` would refuse (an
    unknown env id, bad env arguments, a config the env cannot take) each raise one error and
    leave ``out`` as it was.  A damaged ``result.json`` means its trial trains again.  On an error or Ctrl-C, the running trials stop and
    the finished ones stay saved; no worker outlives the driver, however it ends.
    """
    trials = list(trials)
    if not all(isinstance(t, Trial) for t in trials):
        raise TypeError("trials must be Trial objects (see noisy_helpers.sweep)")
    names = [t.name for t in trials]
    if len(set(names)) != len(names):
        duplicate = next(n for n in names if names.count(n) > 1)
        raise ValueError(f"two trials share the name {duplicate!r}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or workers < 1):
        raise ValueError(f"workers must be an int >= 1, got {workers!r}")
    if not isinstance(backend, str) or backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(map(repr, BACKENDS))}, got "
                         f"{backend!r}")
    if address is not None and backend != "ray":
        raise ValueError(f"address is for backend='ray', got address={address!r} with "
                         f"backend={backend!r}")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"out {str(out)!r} exists and is not a folder")
    for trial in trials:  # refused before anything is written: a name that leaves ``out``
        folder = (out / trial.name).resolve()
        if not folder.is_relative_to(out.resolve()):
            raise ValueError(f"trial {trial.name!r} would write outside out {str(out)!r}")
    ray = None
    if backend == "ray":
        from . import _ray_backend

        ray = _ray_backend.import_ray()
        address = _ray_backend.check_address(address)
    results = {}
    for trial in trials:
        saved = _load_result(trial, out / trial.name)
        if saved is not None:
            results[trial.name] = saved
    todo = [t for t in trials if t.name not in results]
    for trial in todo:
        _check_trial_folder(out / trial.name)
    _check_results_csv(out / "results.csv")
    _check_trainable(todo)

    end = None  # ends the Ray this call started, if any
    try:
        if todo and backend == "ray":
            end = _ray_backend.connect(ray, address, workers or os.cpu_count() or 1)
        _run_todo(todo, trials, results, out, workers, progress, backend, ray)
    finally:
        if end is not None:
            end()
    rows = [_row(trial, results[trial.name]) for trial in trials]
    _write_csv(out / "results.csv", rows)
    return rows


def _run_todo(todo, trials, results, out, workers, progress, backend, ray) -> None:
    """Train the trials ``todo`` on ``backend`` with a progress bar over all ``trials``,
    saving each one's result as it finishes (into ``results`` too)."""
    from tqdm import tqdm

    if progress and not todo:  # nothing to train: one line, not a bar
        print(f"{out.name}: all {len(trials)} runs done before, read from {out}")
    bar = tqdm(total=len(trials), initial=len(results), disable=not (progress and todo),
               unit="run", desc=f"{out.name}: {len(results)} done before", file=sys.stdout,
               mininterval=1.0, dynamic_ncols=False, ncols=90)

    def finished(trial: Trial, result: dict) -> None:
        _save_result(trial, out / trial.name, result)
        results[trial.name] = result
        bar.update(1)

    try:
        for trial in todo:
            _clear_trial_folder(out / trial.name)
        if todo and backend == "processes":
            _run_in_processes(todo, out, workers or os.cpu_count() or 1, finished)
        elif todo:
            from . import _ray_backend

            _ray_backend.run(ray, todo, out, workers, finished)
    finally:
        bar.close()


def _run_in_processes(todo: list, out: Path, workers: int, finished) -> None:
    """The process backend: ``workers`` ``spawn`` processes, each never outliving this one."""
    import concurrent.futures
    import multiprocessing

    # "spawn": a fresh interpreter per worker (TensorFlow does not survive a fork).
    context = multiprocessing.get_context("spawn")
    pool = concurrent.futures.ProcessPoolExecutor(
        max_workers=min(workers, len(todo)), mp_context=context, initializer=_start_worker,
        initargs=(os.getpid(),),
    )
    try:
        futures = {pool.submit(_run_trial, t.to_dict(), str(out / t.name)): t for t in todo}
        for future in concurrent.futures.as_completed(futures):
            finished(futures[future], future.result())  # a failed trial raises its error here
    except BaseException:
        # A failure or Ctrl-C: stop the workers now (finished trials stay saved).
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:  # SIGKILL: a trial's folder is the runner's, trained again
            process.kill()         # next time (SIGTERM would make train save a checkpoint)
        raise
    pool.shutdown()


def _row(trial: Trial, result: dict) -> dict:
    value = getattr(trial.config, trial.field) if trial.field else ""
    row = dict(name=trial.name, group=trial.group, field=trial.field, value=value,
               seed=trial.config.seed, env_id=trial.env_id)
    row.update({key: result.get(key) for key in RESULT_FIELDS if key not in row})
    row.update(trial.env_kwargs)
    return row


def _write_csv(path: Path, rows: list) -> None:
    """``rows`` as ``path``, written whole or not at all (a temporary file renamed over it)."""
    import io

    from .run_folder import write_file

    columns = list(RESULT_FIELDS)
    for row in rows:
        columns += [key for key in row if key not in columns]
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=columns)
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    path.parent.mkdir(parents=True, exist_ok=True)
    write_file(path, text.getvalue())


def read_results(path) -> list:
    """``results.csv`` as a list of dicts; numbers become int/float, empty cells None."""

    def parse(text: str):
        if text == "":
            return None
        for kind in (int, float):
            try:
                return kind(text)
            except ValueError:
                pass
        return {"True": True, "False": False}.get(text, text)

    with open(path, newline="") as file:
        return [{k: parse(v) for k, v in row.items()} for row in csv.DictReader(file)]
