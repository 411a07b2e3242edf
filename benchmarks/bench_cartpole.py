"""Sample efficiency of the default Noisy Double DQN + PER agent on CartPole-v1.

Trains ``--seeds`` seeds for ``--total-steps`` environment steps each (in parallel
processes), evaluating every 2,500 steps over 10 episodes with the noise removed
(μ only).  Per seed it reports the first step whose evaluation mean reaches 475,
and the share of the evaluations from then on that stay >= 475.

Bar (issue 3): the median seed first reaches 475 within 25k steps, and after it
first does, >= 80 % of its evaluations stay >= 475.

    python benchmarks/bench_cartpole.py                    # 5 seeds x 50k steps
    python benchmarks/bench_cartpole.py --set learning_rate=2.5e-4 --out runs/bench_lr

Runs already finished in ``--out`` with the same config are not recomputed (delete the folder to
redo); a run of another config is run again.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

THRESHOLD = 475.0


def _run_seed(job):
    config_dict, seed, out = job
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    # Parallel processes share the cores: one thread each.
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    from noisy_helpers import Config, train

    config = Config.from_dict(config_dict).replace(seed=seed)
    # The seed's folder is this script's: an unfinished or other-config run is replaced.
    run = train(config, env_id="CartPole-v1", out=out, progress=False, tensorboard=False,
                overwrite=True)
    return str(run.metrics_path)


def summarise(metrics: dict, threshold: float = THRESHOLD) -> dict:
    """First step with an evaluation mean >= threshold, and the share of evaluations
    from that one on that stay >= threshold."""
    evals = ~np.isnan(metrics["eval_return"])
    steps, returns = metrics["step"][evals], metrics["eval_return"][evals]
    reached = np.flatnonzero(returns >= threshold)
    if reached.size == 0:
        return dict(first_step=None, stay_share=0.0, final=float(returns[-1]),
                    evals=returns.tolist())
    first = reached[0]
    return dict(first_step=int(steps[first]),
                stay_share=float(np.mean(returns[first:] >= threshold)),
                final=float(returns[-1]), evals=returns.tolist())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--total-steps", type=int, default=50_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("runs/bench_cartpole"))
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="change one Config field (repeatable), e.g. --set double=False")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from noisy_helpers import Config, read_metrics

    changes = {}
    for item in args.set:
        field, _, value = item.partition("=")
        changes[field] = ast.literal_eval(value)
    config = Config(total_steps=args.total_steps, eval_period=2_500, eval_episodes=10,
                    **changes)
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    jobs, paths = [], {}
    for seed in seeds:
        out = args.out / f"seed_{seed}"
        paths[seed] = out / "metrics.csv"
        state = out / "checkpoint" / "state.json"
        saved = json.loads(state.read_text()) if state.exists() else None
        done = (saved is not None and saved["step"] >= config.total_steps
                and saved["config"] == config.replace(seed=seed).to_dict())
        if not done:
            jobs.append((config.to_dict(), seed, str(out)))
    if jobs:
        with ProcessPoolExecutor(max_workers=args.workers) as pool:
            for path in pool.map(_run_seed, jobs):
                print(f"finished {path}", flush=True)

    summaries = {seed: summarise(read_metrics(paths[seed])) for seed in seeds}
    print(f"\nCartPole-v1, {len(seeds)} seeds x {config.total_steps} steps; changes: {changes or 'none'}")
    print(f"{'seed':>4}  {'first >= 475':>12}  {'stay >= 475':>11}  evaluations")
    for seed, s in summaries.items():
        first = "never" if s["first_step"] is None else f"{s['first_step']:,}"
        print(f"{seed:>4}  {first:>12}  {s['stay_share']:>10.0%}  "
              + " ".join(f"{r:.0f}" for r in s["evals"]))
    firsts = [s["first_step"] if s["first_step"] is not None else np.inf for s in summaries.values()]
    order = np.argsort(firsts, kind="stable")
    median_seed = seeds[order[len(seeds) // 2]]
    median = summaries[median_seed]
    median_first = np.median(firsts)
    print(f"\nmedian first step >= 475: {median_first:,.0f} (bar: <= 25,000)")
    print(f"median seed ({median_seed}): stays >= 475 in {median['stay_share']:.0%} of its later "
          f"evaluations (bar: >= 80%)")
    stays = [s["stay_share"] for s in summaries.values()]
    print(f"share of later evaluations >= 475, median over seeds: {np.median(stays):.0%}")
    (args.out / "summary.json").write_text(json.dumps(
        dict(changes=changes, total_steps=config.total_steps, seeds=summaries,
             median_first_step=None if not np.isfinite(median_first) else float(median_first),
             median_stay_share=float(np.median(stays))), indent=1))


if __name__ == "__main__":
    main()
