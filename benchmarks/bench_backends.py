"""What running a sweep on Ray costs, against the process backend, on this machine.

    python benchmarks/bench_backends.py                 # 8 CartPole trials of 2,000 steps
    python benchmarks/bench_backends.py --trials 4 --steps 600

The same trials (``Config.small()`` with ``total_steps`` = ``--steps``, NoisyNet on and off,
seeds 0, 1, ...) run twice into fresh folders, ``--workers`` at a time: once with
``backend="processes"`` (spawn processes) and once with ``backend="ray"`` (a local Ray of
``--workers`` CPUs, started and shut down by ``run_trials``).  Printed, from this one run:

* each backend's wall time for the whole sweep and per trial, and their ratio;
* Ray's extra cost: the time to start and stop a local Ray once (timed on its own; on a
  cluster that already runs, it is not paid), and the rest per trial,
  ``(ray - processes - start and stop) / trials``;
* whether the two ``results.csv`` are byte-identical (they must be).

Absolute times depend on the machine: say which one with the numbers.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import noisy_helpers as nh


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=8, help="trials per backend (even)")
    parser.add_argument("--steps", type=int, default=2_000, help="environment steps a trial")
    parser.add_argument("--workers", type=int, default=2, help="trials at once")
    args = parser.parse_args(argv)
    if args.trials < 2 or args.trials % 2:
        parser.error(f"--trials must be an even number >= 2, got {args.trials}")
    config = nh.Config.small(total_steps=args.steps, eval_period=args.steps)
    trials = nh.sweep(config, "noisy", [True, False], seeds=range(args.trials // 2))
    seconds = {}
    with tempfile.TemporaryDirectory() as tmp:
        for backend in nh.BACKENDS:
            start = time.perf_counter()
            nh.run_trials(trials, Path(tmp) / backend, workers=args.workers, progress=False,
                          backend=backend)
            seconds[backend] = time.perf_counter() - start
        from noisy_helpers import _ray_backend

        start = time.perf_counter()  # what run_trials pays once to start and stop a local Ray
        _ray_backend.connect(_ray_backend.import_ray(), None, args.workers)()
        seconds["ray start and stop"] = time.perf_counter() - start
        identical = ((Path(tmp) / "ray" / "results.csv").read_bytes()
                     == (Path(tmp) / "processes" / "results.csv").read_bytes())
    count = len(trials)
    print(f"{count} trials of {args.steps:,} CartPole steps, {args.workers} at a time")
    print("| backend | sweep (s) | per trial (s) |")
    print("|---|---:|---:|")
    for backend in nh.BACKENDS:
        print(f"| {backend} | {seconds[backend]:.1f} | {seconds[backend] / count:.2f} |")
    extra = seconds["ray"] - seconds["processes"]
    fixed = seconds["ray start and stop"]
    print(f"ray / processes: {seconds['ray'] / seconds['processes']:.2f}x")
    print(f"Ray's extra cost: {extra:+.1f} s for the sweep, of which {fixed:.1f} s start and "
          f"stop a local Ray (once per run_trials call); the rest, per trial: "
          f"{(extra - fixed) / count:+.2f} s")
    print(f"results.csv byte-identical: {identical}")
    return 0 if identical else 1


if __name__ == "__main__":
    raise SystemExit(main())
