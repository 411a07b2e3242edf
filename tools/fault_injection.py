"""Fault injection for training runs: crash ``python -m noisy_helpers train`` at a chosen point,
resume it, and check that the run folder lost nothing.

As a driver (one process that crashes itself)::

    python tools/fault_injection.py SITE N SIGNAL -- train --small --out DIR ...

runs the CLI's ``train`` and sends itself ``SIGNAL`` (KILL, TERM or INT) the ``N``-th time it
reaches ``SITE``:

* ``fsync``: before an fsync: inside checkpoint writes (between the files, before the
  manifest, before the swap) and metrics syncs;
* ``rename``: before a rename of the checkpoint swap (the 2nd of a swap is the crash between
  the two renames);
* ``row``: inside a metrics row write (with KILL, half the row is on disk first);
* ``evaluate``: inside an evaluation, after its first episodes' actions;
* ``act``: before the agent acts (anywhere in the loop).

As a library, :func:`crash_and_resume` runs one such scenario and resumes until the run is
complete; :func:`check_run` says what a finished run folder lost (rows missing, repeated or
partial).  ``tests/test_fault_injection.py`` runs a few scenarios in CI;
``benchmarks/bench_fault_injection.py`` runs many.
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
from pathlib import Path

SITES = ("fsync", "rename", "row", "evaluate", "act")
ROOT = Path(__file__).resolve().parents[1]


def _driver(site: str, nth: int, signal_name: str, argv: list) -> int:
    sys.path.insert(0, str(ROOT))
    from noisy_helpers import cli, run_folder, training
    from noisy_helpers.agent import Agent

    signum = getattr(signal, "SIG" + signal_name)
    count = {"n": 0}

    def hit() -> None:
        count["n"] += 1
        if count["n"] == nth:
            os.kill(os.getpid(), signum)  # KILL ends here; TERM/INT run their handler here

    if site in ("fsync", "rename"):
        original = getattr(os, site)

        def wrapped(*args, **kwargs):
            hit()
            return original(*args, **kwargs)

        setattr(os, site, wrapped)
    elif site == "row":
        original_write = run_folder.MetricsFile.write

        def write(self, row):
            if count["n"] + 1 == nth and signal_name == "KILL":
                text = ",".join(str(run_folder._format(row.get(f))) for f in self.fields)
                self.file.write(text[: len(text) // 2])  # a row cut short on disk
                self.file.flush()
            hit()
            return original_write(self, row)

        run_folder.MetricsFile.write = write
    elif site == "evaluate":
        original_evaluate = training.evaluate

        def evaluate(agent, envs, seeds, **kwargs):
            original_greedy = agent.greedy_actions
            calls = {"n": 0}

            def greedy_actions(observations):
                calls["n"] += 1
                if calls["n"] == 3:
                    hit()
                return original_greedy(observations)

            agent.greedy_actions = greedy_actions
            try:
                return original_evaluate(agent, envs, seeds, **kwargs)
            finally:
                del agent.greedy_actions

        training.evaluate = evaluate
    elif site == "act":
        original_act = Agent.act

        def act(self, observation, step=0):
            hit()
            return original_act(self, observation, step)

        Agent.act = act
    else:
        raise SystemExit(f"unknown site {site!r}; one of {SITES}")
    return cli.main(argv)


def run_cli(argv: list, fault=None, timeout: float = 300) -> subprocess.CompletedProcess:
    """``python -m noisy_helpers ARGV`` in a fresh process, crashed by ``fault`` =
    ``(site, n, signal_name)`` if given."""
    if fault is None:
        command = [sys.executable, "-m", "noisy_helpers", *argv]
    else:
        site, nth, signal_name = fault
        command = [sys.executable, __file__, site, str(nth), signal_name, "--", *argv]
    environment = dict(os.environ, TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1",
                       PYTHONPATH=str(ROOT))
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                          env=environment, cwd=ROOT)


def _checkpoint_state(out: Path):
    """The state of the run's checkpoint, or None when it has none yet."""
    sys.path.insert(0, str(ROOT))
    from noisy_helpers import run_folder

    try:
        return run_folder.read_state(run_folder.find_checkpoint(out))
    except FileNotFoundError:
        return None


def _finished(state) -> bool:
    """The checkpoint is the run's last: every step and every evaluation done (a crash
    after the last checkpoint leaves nothing to resume)."""
    config = state["config"]
    return (state["step"] >= config.total_steps
            and state["evaluation"] == state["step"] // config.eval_period)


def crash_and_resume(out: Path, train_args: list, faults: list) -> dict:
    """Start a run with the first fault, resume it with each of the others in turn, then
    resume it without faults until it finishes.  A run stopped before its first checkpoint
    has nothing to resume: it starts again (``--overwrite``).  Returns counts: ``crashes``
    (faults that fired), ``resumes`` (resumed processes, all of which must succeed: finish or
    be crashed by the next fault), ``restarts``.  Any other failure raises
    ``AssertionError`` with the process's error output."""
    counts = dict(crashes=0, resumes=0, restarts=0)
    started = False
    for fault in list(faults) + [None]:
        argv = ["train", "--out", str(out), "--no-progress"]
        state = _checkpoint_state(out) if started else None
        if state is not None and _finished(state):
            break
        if state is not None:
            argv += ["--resume"]
            counts["resumes"] += 1
        else:
            argv += train_args + (["--overwrite"] if started else [])
            counts["restarts"] += started
        started = True
        result = run_cli(argv, fault)
        crashed = fault is not None and result.returncode in (-signal.SIGKILL, 130)
        if (result.returncode != 0 and not crashed) or "Traceback" in result.stderr:
            raise AssertionError(f"{argv} (fault {fault}) failed with exit code "
                                 f"{result.returncode}:\n{result.stderr[-3000:]}")
        counts["crashes"] += crashed
        if not crashed:
            break
    return counts


def check_run(out: Path) -> dict:
    """What a finished run folder lost: episode rows missing or repeated, evaluation rows
    missing or repeated, partial rows, and whether the checkpoint verifies at the end."""
    sys.path.insert(0, str(ROOT))
    from noisy_helpers import run_folder

    checkpoint = run_folder.find_checkpoint(out)
    state = run_folder.read_state(checkpoint)
    config = state["config"]
    text = (out / "metrics.csv").read_text()
    rows = list(csv.DictReader(text.splitlines()))
    width = len(text.splitlines()[0].split(","))
    partial = sum(1 for line in text.splitlines()[1:] if len(next(csv.reader([line]))) != width)
    partial += not text.endswith("\n")
    episodes = [int(r["episode"]) for r in rows if r["episode_return"] != ""]
    evals = [int(r["step"]) for r in rows if r["eval_return"] != ""]
    expected_evals = [config.eval_period * k
                      for k in range(1, state["step"] // config.eval_period + 1)]
    expected_episodes = list(range(1, state["episode"] + 1))
    return dict(
        step=state["step"], total_steps=config.total_steps,
        episode_rows_missing=len(set(expected_episodes) - set(episodes)),
        episode_rows_repeated=len(episodes) - len(set(episodes)),
        episode_rows_unexpected=len(set(episodes) - set(expected_episodes)),
        eval_rows_missing=len(set(expected_evals) - set(evals)),
        eval_rows_repeated=len(evals) - len(set(evals)),
        partial_rows=partial,
        steps_in_order=[int(r["step"]) for r in rows] == sorted(int(r["step"]) for r in rows),
    )


def rows_lost(report: dict) -> int:
    return sum(report[k] for k in ("episode_rows_missing", "episode_rows_repeated",
                                   "episode_rows_unexpected", "eval_rows_missing",
                                   "eval_rows_repeated", "partial_rows"))


if __name__ == "__main__":
    if len(sys.argv) < 5 or "--" not in sys.argv:
        raise SystemExit(__doc__)
    site_, nth_, signal_ = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    sys.exit(_driver(site_, nth_, signal_, sys.argv[sys.argv.index("--") + 1:]))
