"""The exploration study: NoisyNet against ε-greedy, with its ablations, 20 seeds a DeepSea point.

    python benchmarks/bench_exploration.py            # the full study (about 100 minutes on 2 cores)
    python benchmarks/bench_exploration.py --quick    # a tiny version (CI-sized)
    python benchmarks/bench_exploration.py --backend ray [--address HOST:6379]  # on Ray

Three studies, each a set of trials from ``noisy_helpers.exploration`` run by
``noisy_helpers.run_trials`` (two processes at a time by default; finished trials
are kept in ``notebooks/runs/exploration/`` and never recomputed, so an interrupted
run continues where it stopped, and ``notebooks/06_exploration.ipynb`` reads the same
runs instead of training them again):

1. ``deep_sea``: DeepSea with action 1 moving right in every cell, sizes 3-20,
   20 seeds a point, 200 episodes each: ε-greedy, NoisyNet as in the paper (noise redrawn after
   every gradient step), and one-field changes of it: noise held for a whole
   episode or for k = 4 and 16 steps, σ0 = 0.1 and 1.0, independent noise.
2. ``deep_sea_randomized``: the bsuite's DeepSea (a random action moves right in
   each cell; each seed its own map), sizes 3-10, 20 seeds a point: ε-greedy, NoisyNet, noise held
   per episode or for k = 4 and 16 steps.
3. ``cartpole``: NoisyNet (the defaults: the output layer noisy), NoisyNet with every
   layer noisy (the paper's) and ε-greedy on CartPole-v1, 5 seeds each, 50k steps (the
   defaults' budget), evaluated every 2,500 steps.

Also, before any training: the chance that one episode of an untrained NoisyNet
reaches the goal, with its noise held for the episode or redrawn every step
(20 networks x 2,000 noise draws a point).

Writes ``benchmarks/results/exploration/``: each study's ``results.csv`` (one row
per run), the figures, and ``runs/<study>/``: each run's ``metrics.csv`` and
``result.json`` (``exploration.export_runs``), from which notebook 06 draws its figures
when the runs themselves are not on disk, and prints, for each setting, the first size at which
fewer than half of the seeds found the goal, and how many runs had an
untrained network whose greedy policy (μ only) already reached it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import noisy_helpers as nh  # noqa: E402
from noisy_helpers import exploration  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FIXED_SEEDS = range(20)
RANDOMIZED_SEEDS = range(20)
CARTPOLE_SEEDS = range(5)


def study_plan(quick: bool) -> dict:
    """``{study: (trials, budget in episodes or steps)}`` of the full or the quick study."""
    if quick:
        episodes, steps = 20, 600
        fixed_sizes, randomized_sizes = [3, 5], [3, 5]
        fixed_seeds = randomized_seeds = cartpole_seeds = range(2)
    else:
        episodes, steps = 200, 50_000
        fixed_sizes, randomized_sizes = [3, 4, 5, 6, 7, 8, 10, 12, 16, 20], [3, 4, 5, 6, 7, 8, 10]
        # Both DeepSea studies rank settings: 20 seeds a point, so that a rate's 95 % interval
        # is about ±20 points. CartPole's 5 seeds a setting show curves, not a ranking.
        fixed_seeds, randomized_seeds, cartpole_seeds = FIXED_SEEDS, RANDOMIZED_SEEDS, \
            CARTPOLE_SEEDS
    randomized_ablations = exploration.RANDOMIZED_ABLATIONS
    return {
        "deep_sea": (exploration.deep_sea_trials(fixed_sizes, fixed_seeds, episodes), episodes),
        "deep_sea_randomized": (exploration.deep_sea_trials(
            randomized_sizes, randomized_seeds, episodes, randomize_actions=True,
            ablations=randomized_ablations), episodes),
        "cartpole": (exploration.cartpole_trials(cartpole_seeds, steps), steps),
    }


def first_size_lost(rows) -> dict:
    """``{group: the smallest size at which fewer than half the seeds found the goal}``
    (None: at least half found it at every size)."""
    summary = exploration.first_goal_summary(rows)
    return {group: min([size for size, cell in cells.items()
                        if cell["found"] * 2 < cell["seeds"]] or [None])
            for group, cells in summary.items()}


def untrained_finds(trials, path: Path) -> set:
    """``{(group, size, seed)}`` whose untrained greedy policy (μ only) reaches the goal.

    σ0 and the noise schedule do not change the initial μ, so the check runs once per
    (noisy, factorised, env settings, seed) and is kept in ``path`` (a CSV)."""
    import csv

    def key(trial):
        return (trial.config.noisy, trial.config.factorised,
                json.dumps(trial.env_kwargs, sort_keys=True), trial.config.seed)

    known = {}
    if path.exists():
        with open(path, newline="") as file:
            for row in csv.DictReader(file):
                known[(row["noisy"] == "True", row["factorised"] == "True", row["env_kwargs"],
                       int(row["seed"]))] = row["found"] == "True"
    for trial in trials:
        if key(trial) not in known:
            known[key(trial)] = exploration.untrained_greedy_finds_goal(trial)
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["noisy", "factorised", "env_kwargs", "seed", "found"])
        writer.writerows([*k, v] for k, v in sorted(known.items()))
    return {(t.group, t.env_kwargs["size"], t.config.seed) for t in trials if known[key(t)]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tiny version (seconds a run)")
    parser.add_argument("--workers", type=int, default=None,
                        help="trials at once (default: this machine's CPUs; on a Ray cluster, "
                             "as many as its CPUs take)")
    parser.add_argument("--backend", choices=nh.BACKENDS, default="processes",
                        help="processes (default) or ray: each trial a Ray task, on a local "
                             "Ray or the cluster at --address / RAY_ADDRESS (needs "
                             "pip install \"noisy_helpers[cluster]\")")
    parser.add_argument("--address", default=None,
                        help="with --backend ray: the cluster to join (default RAY_ADDRESS, "
                             "else a local Ray)")
    parser.add_argument("--runs", type=Path, default=ROOT / "notebooks" / "runs" / "exploration",
                        help="where the trials live (default notebooks/runs/exploration, "
                             "where notebook 06 finds them)")
    parser.add_argument("--results", type=Path,
                        default=ROOT / "benchmarks" / "results" / "exploration",
                        help="where results.csv files and figures go")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs = args.runs.with_name(args.runs.name + "_quick")
        args.results = args.results.with_name(args.results.name + "_quick")
    args.results.mkdir(parents=True, exist_ok=True)

    rows = {}
    for study, (trials, budget) in study_plan(args.quick).items():
        rows[study] = nh.run_trials(trials, args.runs / study, workers=args.workers,
                                    backend=args.backend, address=args.address)
        shutil.copyfile(args.runs / study / "results.csv", args.results / f"{study}.csv")
        # The compact copy notebook 06 draws from when the runs are not on disk (this
        # script's own output: the previous copy is replaced).
        shutil.rmtree(args.results / "runs" / study, ignore_errors=True)
        exploration.export_runs(args.runs / study, args.results / "runs" / study)

    for study in ("deep_sea", "deep_sea_randomized"):
        trials, budget = study_plan(args.quick)[study]
        untrained = untrained_finds(trials, args.results / f"{study}_untrained.csv")
        main_groups = [label for *_, label in exploration.ABLATIONS[:3]]
        ablation_groups = ["noisynet"] + [label for *_, label in exploration.ABLATIONS[2:6]]
        for name, groups in ((study, main_groups), (f"{study}_ablation", ablation_groups),
                             (f"{study}_schedule", exploration.SCHEDULE_GROUPS)):
            groups = [g for g in groups if any(row["group"] == g for row in rows[study])]
            if name.endswith("_ablation") and len(groups) < 3:
                continue  # the randomized study has no ablation
            fig, axes = plt.subplots(1, 2, figsize=(12, 4))
            exploration.plot_first_goal(rows[study], budget, *axes, groups=groups, title=name,
                                        untrained=untrained)
            fig.tight_layout()
            fig.savefig(args.results / f"{name}.png", dpi=110)
            plt.close(fig)
        print(f"\n{study}: the first size at which fewer than half of the seeds found the goal "
              f"within {budget} episodes (-: none); seeds whose untrained μ already reaches it")
        for group, size in first_size_lost(rows[study]).items():
            lucky = sorted({(s, seed) for g, s, seed in untrained if g == group})
            print(f"  {group:<20} {size if size is not None else '-':>3}   untrained: "
                  f"{len(lucky)} of {sum(r['group'] == group for r in rows[study])} runs")

    # Before any training: how often one episode of an untrained NoisyNet reaches the goal.
    sizes = [3, 5] if args.quick else [3, 4, 5, 6, 7, 8, 10, 12, 16, 20]
    network_seeds, draws = (range(2), 100) if args.quick else (range(20), 2_000)
    fig, ax = plt.subplots(figsize=(7, 4))
    lines = exploration.plot_untrained_goal_probability(sizes, network_seeds, draws, ax=ax)
    fig.tight_layout()
    fig.savefig(args.results / "untrained_goal_probability.png", dpi=110)
    plt.close(fig)
    print(f"\nuntrained NoisyNet, P(goal in one episode), {len(network_seeds)} networks x "
          f"{draws} draws:")
    print("  N     " + "".join(f"{size:>9}" for size in sizes))
    for label, values in lines.items():
        print(f"  {label:<28}" + "".join(f"{v:9.2g}" for v in values))

    trials = study_plan(args.quick)["cartpole"][0]
    groups = {}
    for trial in trials:
        groups.setdefault(trial.group, []).append(args.runs / "cartpole" / trial.name)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
    exploration.plot_bands(groups, "eval_return", ax=left, ylabel="evaluation return (μ only)")
    exploration.plot_signal_to_noise(groups["noisynet-every-layer"], ax=right)
    fig.tight_layout()
    fig.savefig(args.results / "cartpole.png", dpi=110)
    plt.close(fig)
    print(f"\nwrote {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
