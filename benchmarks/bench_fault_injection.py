"""Fault injection at random points: crash training runs many times, resume each, and count
the rows that metrics.csv lost.

    python benchmarks/bench_fault_injection.py [--runs 40] [--seed 0] [--workers 2]

Each run is the CLI's ``train --small`` on CartPole (600 steps, an evaluation and a checkpoint
every 100), crashed by one to three faults drawn at random: a site (inside checkpoint writes:
``fsync``, ``rename``; inside a metrics row: ``row``; inside an evaluation: ``evaluate``;
anywhere in the loop: ``act``), the how-many-th time it is reached, and a signal (KILL, TERM,
INT); then resumed until it finishes (see ``tools/fault_injection.py``).  Prints one line per
run and the totals: runs, crashes, resumes that succeeded, runs started again because they
stopped before their first checkpoint, and rows lost (missing, repeated or partial).  A
resume that fails (an error exit or a traceback) stops the script with its error output.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import fault_injection  # noqa: E402

TRAIN_ARGS = ["--small", "--total-steps", "600", "--eval-period", "100",
              "--checkpoint-period", "100", "--eval-episodes", "2"]
#: For each site, the range of "how many times reached" to draw from (a 600-step run reaches
#: fsync ~70 times, rename ~14, row ~50, evaluate ~12, act 600).
RANGES = dict(fsync=(1, 70), rename=(1, 14), row=(1, 50), evaluate=(1, 10), act=(1, 600))


def draw_faults(rng: random.Random) -> list:
    return [(site, rng.randint(*RANGES[site]), rng.choice(["KILL", "TERM", "INT"]))
            for site in rng.choices(sorted(RANGES), k=rng.randint(1, 3))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    plans = [draw_faults(rng) for _ in range(args.runs)]
    root = Path(tempfile.mkdtemp(prefix="fault_injection_"))
    start = time.perf_counter()

    def one(index: int):
        out = root / f"run{index}"
        counts = fault_injection.crash_and_resume(out, TRAIN_ARGS, plans[index])
        return index, counts, fault_injection.check_run(out)

    totals = dict(runs=0, faults=0, crashes=0, resumes=0, restarts=0, rows_lost=0,
                  unfinished=0)
    with concurrent.futures.ThreadPoolExecutor(args.workers) as pool:
        for index, counts, report in pool.map(one, range(args.runs)):
            lost = fault_injection.rows_lost(report)
            finished = report["step"] == report["total_steps"]
            print(f"run {index:3d} faults {plans[index]}: {counts}, rows lost {lost}"
                  f"{'' if finished else ', UNFINISHED'}", flush=True)
            totals["runs"] += 1
            totals["faults"] += len(plans[index])
            for key in ("crashes", "resumes", "restarts"):
                totals[key] += counts[key]
            totals["rows_lost"] += lost
            totals["unfinished"] += not finished
    print(f"\n{totals['runs']} runs, {totals['faults']} faults drawn, {totals['crashes']} fired "
          f"(crashes), {totals['resumes']} resumes (every one succeeded: a failed resume "
          f"stops this script), {totals['restarts']} runs started again "
          f"(stopped before their first checkpoint), {totals['rows_lost']} rows lost, "
          f"{totals['unfinished']} runs unfinished; {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
