"""Atari training throughput on this machine: agent steps per second, where the time goes, and
the same against the code of an earlier commit, in one run.

    python benchmarks/bench_atari_training.py                   # 1 and 4 envs, vs f6dd260
    python benchmarks/bench_atari_training.py --num-envs 1 --rounds 5 --out results.json
    python benchmarks/bench_atari_training.py --baseline none   # this checkout only

Runs the real training loop (``nh.train``) on UpNDown with ``Config.atari()``
(one update every 4 agent steps, batch 32, Nature CNN with noisy heads,
prioritized frame replay), learning from step 1,000, no evaluations or
checkpoints inside the timed part.  The agent's methods are wrapped with
timers, and the steady state is measured from the first gradient step to the
last:

* agent steps per second;
* the share of wall time inside the compiled train step (``Agent.train_step``);
* the share spent in ``Agent.act`` (or ``Agent.act_batch`` for all games at once when
  ``num_envs > 1``) and the rest (environment, replay ``add``/``sample``/
  ``update_priorities``, bookkeeping).

Each ``--num-envs`` value is one run: 1 is one gymnasium env with the wrappers of
``make_atari_env``; more are games side by side in ale-py's ``AtariVectorEnv``.

**Against a baseline** (``--baseline COMMIT``, default ``f6dd260``: the code as it was when
issue 17 was filed, whose text describes its 8-frame replay gather, changed in the next commit
``dd1869b``).  The baseline's ``noisy_helpers`` is taken out of git history (``git archive``,
only a commit id reaches git) into a temporary folder.  Every measurement then runs in a fresh
process: first one run of this checkout that is not counted (it warms the machine), then the
baseline's and this checkout's in turns (``--rounds`` pairs, the order swapped every round, so
that a drift of the machine falls on both).  The script prints each one and the ratio of agent
steps per second (this checkout / baseline) of every round: median and range.

Bars (issue 17): everything but the train step costs <= 25 % of the loop, with 1 env and with 4.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

#: The commit issue 17's "today's code" refers to (the parent of dd1869b, the 5-frame gather).
BASELINE_COMMIT = "f6dd260"
#: The marker before a worker's JSON line.
RESULT = "RESULT "
#: The share of the loop that everything but the train step may take (issue 17).
BAR = 0.25


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2_000, help="agent steps after learning starts")
    parser.add_argument("--learning-starts", type=int, default=1_000)
    parser.add_argument("--num-envs", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--baseline", default=BASELINE_COMMIT,
                        help="commit id (7 to 40 hex digits) to compare with, or 'none'")
    parser.add_argument("--rounds", type=int, default=3,
                        help="pairs of runs (baseline, this checkout) per --num-envs value")
    parser.add_argument("--out", type=Path, default=None, help="write every run to this JSON file")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for name, value, minimum in (("--steps", args.steps, 8), ("--learning-starts",
                                 args.learning_starts, 32), ("--rounds", args.rounds, 1)):
        if value < minimum:
            parser.error(f"{name} must be an int >= {minimum}, got {value}")
    for value in args.num_envs:
        if value < 1:
            parser.error(f"--num-envs must be ints >= 1, got {value}")
    if args.out is not None and args.out.exists():
        parser.error(f"--out {str(args.out)!r} exists: refusing to write over it")
    if args.worker:
        for num_envs in args.num_envs:
            print(RESULT + json.dumps(measure(args.steps, args.learning_starts, num_envs)))
        return 0
    if args.baseline == "none":
        runs = [dict(measure(args.steps, args.learning_starts, n), code="this checkout")
                for n in args.num_envs]
        for run in runs:
            report(run)
        write(args.out, runs)
        return 0
    from compare_upndown_agents import check_commit

    try:
        commit = check_commit(args.baseline)
        with tempfile.TemporaryDirectory() as scratch:
            baseline = extract_package(commit, Path(scratch))
            runs = compare(args, {f"baseline {commit}": baseline, "this checkout": ROOT})
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    write(args.out, runs)
    return 0


def extract_package(commit: str, out: Path, repository: Path = ROOT) -> Path:
    """``noisy_helpers`` of ``commit`` (7 to 40 hex digits) from git into ``out``; returns
    ``out``.  ``ValueError`` naming the commit when git does not have it."""
    from compare_upndown_agents import check_commit

    check_commit(commit)
    archive = subprocess.run(["git", "-C", str(repository), "archive", "--format=tar", commit,
                              "noisy_helpers"], capture_output=True, check=False)
    if archive.returncode != 0:
        raise ValueError(f"baseline commit {commit} has no noisy_helpers in this repository "
                         f"({archive.stderr.decode(errors='replace').strip()[:200]})")
    subprocess.run(["tar", "-x", "-C", str(out)], input=archive.stdout, check=True)
    return out


def compare(args, codes: dict) -> list:
    """``args.rounds`` runs of each code (name -> folder holding ``noisy_helpers``) for each
    ``--num-envs`` value, in fresh processes, in turns; prints them and the ratios."""
    runs = []
    names = list(codes)
    for num_envs in args.num_envs:
        per_code = {name: [] for name in names}
        # Not counted: in the two runs of this script before it had a warm-up, the first
        # measurement was 7-11 % below the median of the same code's later ones.
        report(dict(worker(codes[names[-1]], args, num_envs), code=f"{names[-1]}, warm-up, "
                    f"not counted"))
        for round_index in range(args.rounds):
            order = names if round_index % 2 == 0 else names[::-1]
            for name in order:
                run = dict(worker(codes[name], args, num_envs), code=name, round=round_index)
                report(run)
                per_code[name].append(run)
                runs.append(run)
        baseline, current = (per_code[name] for name in names)
        ratios = np.array([c["steps_per_s"] / b["steps_per_s"] for b, c in zip(baseline, current)])
        print(f"num_envs={num_envs}: agent steps/s, this checkout / {names[0]}, per round: "
              + ", ".join(f"{r:.3f}" for r in ratios)
              + f"; median {np.median(ratios):.3f} (range {ratios.min():.3f}-{ratios.max():.3f})")
        for name in names:
            values = [run["steps_per_s"] for run in per_code[name]]
            rests = [100 * run["rest_share"] for run in per_code[name]]
            print(f"    {name}: {np.median(values):.1f} agent steps/s (median of "
                  f"{len(values)}), everything but the train step {np.median(rests):.1f} % "
                  f"(range {min(rests):.1f}-{max(rests):.1f})")
        print()
    return runs


def worker(folder: Path, args, num_envs: int) -> dict:
    """One measurement in a fresh process whose ``noisy_helpers`` is the one in ``folder``."""
    env = dict(os.environ, PYTHONPATH=str(folder))
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", "--baseline", "none",
               "--steps", str(args.steps), "--learning-starts", str(args.learning_starts),
               "--num-envs", str(num_envs)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    lines = [line for line in result.stdout.splitlines() if line.startswith(RESULT)]
    if result.returncode != 0 or len(lines) != 1:
        raise ValueError(f"the measurement with {folder} failed (exit {result.returncode}): "
                         f"{result.stderr.strip()[-500:]}")
    run = json.loads(lines[0][len(RESULT):])
    if not Path(run["package"]).resolve().is_relative_to(Path(folder).resolve()):
        raise ValueError(f"the measurement meant for {folder} imported {run['package']}")
    return run


def measure(steps: int, learning_starts: int, num_envs: int) -> dict:
    """One timed training run in this process; the figures as a dict."""
    import noisy_helpers as nh
    from noisy_helpers.agent import Agent

    timings = {"train_step": [], "act": [], "act_batch": []}
    originals = {name: getattr(Agent, name) for name in timings}

    def timed(name):
        original = originals[name]

        def wrapper(self, *a, **k):
            start = time.perf_counter()
            result = original(self, *a, **k)
            timings[name].append((start, time.perf_counter()))
            return result

        return wrapper

    for name in timings:
        setattr(Agent, name, timed(name))
    config = nh.Config.atari(
        total_steps=learning_starts + steps, learning_starts=learning_starts,
        buffer_size=num_envs * (learning_starts + steps + 1_000),
        eval_period=10**9, checkpoint_period=10**9, num_envs=num_envs,
    )
    try:
        with tempfile.TemporaryDirectory() as out:
            nh.train(config, "ALE/UpNDown-v5", out=out, progress=False, tensorboard=False)
    finally:
        for name, original in originals.items():
            setattr(Agent, name, original)

    train = np.array(timings["train_step"])
    acts = np.array(timings["act"] or timings["act_batch"])
    first, last = train[1, 0], train[-1, 1]  # from the 2nd update: the first one traces
    wall = last - first
    updates = train[(train[:, 0] >= first)]
    acting = acts[(acts[:, 0] >= first) & (acts[:, 1] <= last)]
    train_share = (updates[:, 1] - updates[:, 0]).sum() / wall
    act_share = (acting[:, 1] - acting[:, 0]).sum() / wall
    return {
        "num_envs": num_envs, "batch_size": config.batch_size,
        "train_frequency": config.train_frequency, "agent_steps": len(acting) * num_envs,
        "updates": len(updates),
        "steps_per_s": len(acting) * num_envs / wall,
        "train_ms": 1e3 * float(np.mean(updates[:, 1] - updates[:, 0])),
        "train_share": train_share, "act_ms": 1e3 * float(np.mean(acting[:, 1] - acting[:, 0])),
        "act_share": act_share, "rest_share": 1 - train_share,
        "package": str(Path(nh.__file__).resolve().parent),
    }


def report(run: dict) -> None:
    num_envs = run["num_envs"]
    print(f"[{run['code']}] UpNDown, Config.atari(num_envs={num_envs}): batch "
          f"{run['batch_size']}, one update every {run['train_frequency']} agent steps, "
          f"{run['agent_steps']} agent steps and {run['updates']} updates timed")
    print(f"  agent steps per second: {run['steps_per_s']:.1f}   (frames per second: "
          f"{4 * run['steps_per_s']:.0f})")
    print(f"  train step: {run['train_ms']:.1f} ms each, {100 * run['train_share']:.1f} % of "
          f"wall time")
    print(f"  acting:     {run['act_ms']:.2f} ms per call ({num_envs} observation"
          f"{'s' if num_envs > 1 else ''}), {100 * run['act_share']:.1f} % of wall time")
    print(f"  everything but the train step (acting, env, replay, loop): "
          f"{100 * run['rest_share']:.1f} % -> bar <= {100 * BAR:.0f} %: "
          f"{'met' if run['rest_share'] <= BAR else 'NOT met'}")


def write(out, runs: list) -> None:
    if out is None:
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    machine = {"cpu": cpu_name(), "cores": os.cpu_count()}
    out.write_text(json.dumps({"machine": machine, "runs": runs}, indent=1) + "\n")
    print(f"wrote {out}")


def cpu_name() -> str:
    """The CPU's model name (from /proc/cpuinfo), or "unknown"."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


if __name__ == "__main__":
    sys.exit(main())
