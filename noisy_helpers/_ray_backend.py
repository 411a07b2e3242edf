"""``run_trials(..., backend="ray")``: each trial a Ray task of one CPU.

Ray is an optional extra (``pip install "noisy_helpers[cluster]"``); nothing else in the
package imports it.  The pieces, in the order ``run_trials`` uses them:

* :func:`import_ray` -- Ray, or one clear ``ImportError`` naming the extra.
* :func:`check_address` -- ``address`` (or ``RAY_ADDRESS``) checked before anything is
  written: its form, and that something answers there (Ray itself would retry for minutes).
* :func:`connect` -- joins the cluster at the address, or starts a local Ray of ``workers``
  CPUs with, on Linux, :mod:`noisy_helpers._reaper` beside it, so that no Ray process outlives
  a driver that is killed or interrupted while Ray starts.
* :func:`run` -- submits the trials (at most ``workers`` at a time), writes each trial's files
  as its task returns them, and on an error or Ctrl-C cancels the tasks still running.

A task trains its trial in a temporary folder on whichever machine runs it, and returns the
run's files (``run.json``, ``metrics.csv``, ``best/``) with its result: the driver writes them
into ``out/<name>``, so workers need no filesystem shared with the driver.  Each task's
TensorFlow uses one thread, so a trial repeats exactly whichever worker runs it, as on the
process backend.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path, PurePosixPath

from . import _reaper

__all__ = ["EXTRA_HINT", "import_ray", "check_address", "connect", "run"]

EXTRA_HINT = 'pip install "noisy_helpers[cluster]"'
#: Seconds to wait for a TCP answer at a cluster's address.
CONNECT_TIMEOUT = 5.0


def import_ray():
    """The ``ray`` module, or ``ImportError`` naming the extra that installs it."""
    try:
        import ray
    except ImportError as error:
        raise ImportError(f"backend='ray' needs Ray, which is not installed ({error}); "
                          f"install it with: {EXTRA_HINT}") from None
    return ray


def check_address(address):
    """The address to join: ``address``, else ``RAY_ADDRESS``, else None (start a local Ray).

    ``"auto"`` (a cluster started on this machine with ``ray start``) is left to Ray.  Any
    other address is ``host:port`` (or ``ray://host:port`` for Ray Client) and must answer a
    TCP connection within :data:`CONNECT_TIMEOUT` seconds; otherwise ``ValueError`` names it."""
    source = "address"
    if address is None:
        address, source = os.environ.get("RAY_ADDRESS") or None, "RAY_ADDRESS"
        if address is None:
            return None
    if not isinstance(address, str):
        raise TypeError(f"address must be a str such as '10.0.0.5:6379' or None, got "
                        f"{address!r}")
    if address == "auto":
        return address
    host_port = address.removeprefix("ray://")
    host, _, port = host_port.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{source} must be 'host:port' (or 'ray://host:port', or 'auto'), "
                         f"got {address!r}")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT):
            pass
    except OSError as error:
        raise ValueError(f"{source} {address!r}: no Ray cluster answers there ({error}); start "
                         f"one with `ray start --head`, or give no address for a local "
                         f"Ray") from None
    return address


def connect(ray, address, workers: int):
    """Join the cluster at ``address``, or start a local Ray with ``workers`` CPUs.  Returns a
    function that ends what this call started (``ray.shutdown()``, and on Linux the local Ray's
    watchdog, which kills any Ray process still running), or None when it started nothing.  A
    Ray already initialised in this process is used as it is.  Interrupted (Ctrl-C) while Ray
    starts, it leaves nothing running."""
    if ray.is_initialized():
        return None
    import logging

    options = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    if address is not None:
        try:
            ray.init(address=address, **options)
        except (ConnectionError, RuntimeError) as error:  # it answered TCP, then refused
            # (no cluster for "auto", a token missing, another Ray or Python version, ...)
            reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
            hint = ("start one with `ray start --head`" if address == "auto" else
                    "if the cluster uses token authentication, set RAY_AUTH_MODE=token and its "
                    "token (RAY_AUTH_TOKEN; `ray get-auth-token` on the head prints it)")
            raise ValueError(f"address {address!r}: Ray did not accept this driver ({reason}); "
                             f"{hint}") from None
        return ray.shutdown
    reaper = None
    if sys.platform.startswith("linux"):  # started first: it also covers an interrupted start
        token = uuid.uuid4().hex  # inherited by every process Ray starts (see _reaper)
        reaper = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("_reaper.py")), str(os.getpid()),
             token],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)

    def end() -> None:
        try:
            if ray.is_initialized():
                ray.shutdown()
        finally:
            if reaper is not None:  # kills whatever Ray left running, then exits
                reaper.terminate()
                reaper.wait()

    if reaper is not None:
        os.environ[_reaper.ENV_VAR] = token
    try:
        ray.init(num_cpus=workers, **options)
    except BaseException:
        end()
        raise
    finally:
        os.environ.pop(_reaper.ENV_VAR, None)  # Ray's processes have it; nothing else needs it
    return end


def _train_trial(trial_values: dict):
    """The Ray task: train one trial in a temporary folder; return its result and files."""
    from .experiments import _limit_threads, _run_trial

    _limit_threads()
    with tempfile.TemporaryDirectory(prefix="noisy-helpers-trial-") as tmp:
        folder = Path(tmp) / "run"
        result = _run_trial(trial_values, str(folder))
        files = {path.relative_to(folder).as_posix(): path.read_bytes()
                 for path in sorted(folder.rglob("*")) if path.is_file()}
    return result, files


def write_trial_files(folder: Path, files: dict) -> None:
    """Replace the run in ``folder`` (checked to be the runner's) with ``files``
    (``{relative path: bytes}``), each a path under one of the run's own entries."""
    from .run_folder import OWN_ENTRIES, remove_own_entries, write_file

    paths = {}
    for name, data in files.items():
        parts = PurePosixPath(name).parts
        if (not parts or parts[0] not in OWN_ENTRIES or name.startswith("/")
                or any(part in ("", ".", "..") or "\\" in part for part in parts)
                or not isinstance(data, bytes)):
            raise ValueError(f"a trial returned the file {name!r}, which is not one of a run's "
                             f"own files")
        paths[folder.joinpath(*parts)] = data
    remove_own_entries(folder)
    for path, data in paths.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_file(path, data)


def run(ray, todo: list, out: Path, workers, on_result) -> None:
    """Run the trials ``todo`` as Ray tasks, at most ``workers`` at a time (None: all at once,
    the cluster's CPUs decide); call ``on_result(trial, result)`` as each one finishes."""
    task = ray.remote(num_cpus=1, max_retries=0)(_train_trial)
    limit = len(todo) if workers is None else workers
    waiting = list(todo)
    running = {}
    try:
        while waiting or running:
            while waiting and len(running) < limit:
                trial = waiting.pop(0)
                running[task.remote(trial.to_dict())] = trial
            done, _ = ray.wait(list(running), num_returns=1)
            trial = running.pop(done[0])
            try:
                result, files = ray.get(done[0])
            except ray.exceptions.RayTaskError as error:  # the trial's own error, as raised
                cause = getattr(error, "cause", None)
                raise (cause if isinstance(cause, Exception) else error) from None
            write_trial_files(out / trial.name, files)
            on_result(trial, result)
    except BaseException:
        for ref in running:  # an error or Ctrl-C: stop the others (finished trials are saved)
            ray.cancel(ref, force=True)
        raise
