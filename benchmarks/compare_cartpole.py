"""Compare two runs of ``bench_cartpole.py`` on the same seeds (ours in both), seed by seed.

    python benchmarks/compare_cartpole.py \\
        benchmarks/results/cartpole/summary_held-out_no-check.json \\
        benchmarks/results/cartpole/summary_held-out_buffer_max.json --names batch buffer

(``summary_held-out_no-check.json``: the defaults' run from before the best agent's check, so
that both pick their best agent on the evaluation alone.)

Prints, for each setting, the per-seed numbers and, for each count (seeds whose last
evaluation reached 475, seeds whose best agent reached 475 on fresh episodes), the rate with its
95 % Wilson interval and Fisher's exact two-sided p-value for the difference; for the paired
per-seed numbers (last evaluation, share of later evaluations >= 475), the seeds where each
setting was ahead and the two-sided sign-test p-value.  With ``--runs DIR DIR`` (the two
benchmarks' run folders, ``runs/bench_cartpole/<tag>``), also the median over seeds of the ratio
of the logged losses (median loss of the second over the first) in three windows of training:
the IS weights multiply the loss, so this is how much smaller the second's updates are.
Nothing is trained.
"""

from __future__ import annotations

import argparse
import json
import sys
from math import comb
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from noisy_helpers import read_metrics  # noqa: E402
from noisy_helpers.exploration import fisher_exact, wilson_interval  # noqa: E402

THRESHOLD = 475.0


def sign_test(wins: int, losses: int) -> float:
    """Two-sided sign-test p-value (ties left out)."""
    n = wins + losses
    if n == 0:
        return 1.0
    tail = sum(comb(n, k) for k in range(0, min(wins, losses) + 1)) / 2**n
    return min(1.0, 2 * tail)


def load(path: Path) -> dict:
    results = json.loads(path.read_text())["results"]["ours"]
    return {int(seed): r for seed, r in results.items()}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("first", type=Path)
    parser.add_argument("second", type=Path)
    parser.add_argument("--names", nargs=2, default=["first", "second"])
    parser.add_argument("--runs", nargs=2, type=Path, metavar="DIR",
                        help="the two benchmarks' run folders, for the loss ratio")
    args = parser.parse_args(argv)
    runs = [load(args.first), load(args.second)]
    seeds = sorted(set(runs[0]) & set(runs[1]))
    if not seeds:
        parser.error("the two summaries share no seed")
    names = args.names
    print(f"{len(seeds)} seeds in both: {seeds[0]}-{seeds[-1]}")
    print(f"{'seed':>5} | " + " | ".join(f"{n:>8}: first  later   last  fresh" for n in names))
    for seed in seeds:
        cells = []
        for run in runs:
            r = run[seed]
            first = "never" if r["first_step"] is None else f"{r['first_step']:,}"
            cells.append(f"{first:>15} {r['stay_share'] or 0:>6.0%} {r['last']:>6.1f} "
                         f"{r['best_fresh']:>6.1f}")
        print(f"{seed:>5} | " + " | ".join(cells))
    for key, what in (("last", "last evaluation >= 475"),
                      ("best_fresh", "best agent on fresh episodes >= 475")):
        counts = [sum(run[s][key] >= THRESHOLD for s in seeds) for run in runs]
        intervals = [wilson_interval(c, len(seeds)) for c in counts]
        rates = ", ".join(f"{n} {c}/{len(seeds)} ({low:.0%}-{high:.0%})"
                          for n, c, (low, high) in zip(names, counts, intervals))
        p = fisher_exact(counts[0], len(seeds), counts[1], len(seeds))
        print(f"{what}: {rates}; Fisher's exact p = {p:.3g}")
    for key, what in (("last", "last evaluation"),
                      ("stay_share", "share of later evaluations >= 475")):
        values = [[run[s][key] or 0.0 for s in seeds] for run in runs]
        wins = sum(a > b for a, b in zip(*values))
        losses = sum(a < b for a, b in zip(*values))
        median = [float(np.median(v)) for v in values]
        print(f"{what}: median {names[0]} {median[0]:.3g}, {names[1]} {median[1]:.3g}; "
              f"{names[0]} ahead on {wins} seeds, behind on {losses}, "
              f"tied on {len(seeds) - wins - losses}; sign test p = {sign_test(wins, losses):.3g}")
    if args.runs:
        loss_ratios(args.runs, seeds, names)


def loss_ratios(folders, seeds, names, windows=((2_000, 10_000), (20_000, 30_000),
                                                (40_000, 50_001))) -> None:
    """Median over seeds of (median loss of the second run) / (median loss of the first)."""
    ratios = []
    for seed in seeds:
        medians = []
        for folder in folders:
            metrics = read_metrics(folder / f"seed_{seed}" / "metrics.csv")
            loss, step = metrics["loss"], metrics["step"]
            medians.append([np.median(loss[np.isfinite(loss) & (step >= a) & (step < b)])
                            for a, b in windows])
        ratios.append(np.array(medians[1]) / np.array(medians[0]))
    ratios = np.array(ratios)
    for (a, b), column in zip(windows, ratios.T):
        print(f"loss {names[1]} / {names[0]}, steps {a:,}-{min(b, 50_000):,}: median over seeds "
              f"{np.median(column):.3g} (range {column.min():.3g}-{column.max():.3g})")


if __name__ == "__main__":
    main()
