"""How good a pick is the best evaluation?  Every evaluated agent of one CartPole run, on fresh
start states.

Trains one seed of the defaults (``Config(seed=SEED)``, 50,000 steps, one thread) with a
snapshot of the agent at every evaluation step, then plays each snapshot greedily (noise
removed) on

* its evaluation's 10 episodes (the number training logged),
* its best-agent check's 30 episodes (``Config.best_check_episodes``, the start states that
  training gives the check),
* ``--fresh`` fresh episodes from seed 12345 on (``bench_cartpole.py``'s fresh check is their
  first 10),

and prints, per step, the means and how many of the check's and the fresh episodes fell short
of 475.  This is how held-out seed 2014's best agent (picked on its 10 evaluation episodes alone)
was found to fail 21 of 200 fresh episodes while every agent from step 17,500 to 47,500 failed
none (README, "CartPole: defaults tested on held-out seeds").

    python benchmarks/diagnose_best_pick.py --seed 2014 --out runs/diagnose_2014   # ~4 min

An existing run folder in ``--out`` with snapshots at every evaluation step is reused.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

THRESHOLD = 475.0
FRESH_SEED = 12345


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True, help="the run folder (new or reused)")
    parser.add_argument("--fresh", type=int, default=200, help="fresh episodes per agent")
    args = parser.parse_args(argv)
    if args.fresh < 10:
        parser.error(f"--fresh must be >= 10, got {args.fresh}")
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
    os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import noisy_helpers as nh
    from noisy_helpers.training import _check_seeds, _eval_seed

    config = nh.Config(seed=args.seed)
    steps = list(range(config.eval_period, config.total_steps + 1, config.eval_period))
    try:
        configs = {nh.load_snapshot(args.out, step)[1]["config"] for step in steps}
    except (FileNotFoundError, ValueError):
        configs = None  # no such run yet (train refuses to overwrite what is not a run)
    if configs is None:
        nh.train(config, "CartPole-v1", out=args.out, overwrite=True, progress=False,
                 tensorboard=False, snapshot_steps=tuple(steps))
    elif configs != {config}:
        parser.error(f"--out {str(args.out)!r} holds a run of another config (seed or "
                     f"settings); give another --out")
    width = max(args.fresh, config.best_check_episodes, config.eval_episodes)
    envs = [nh.make_env("CartPole-v1") for _ in range(width)]
    selection = nh.load_agent(args.out)[1]
    print(f"seed {args.seed}: best/ holds the agent of step {selection['step']:,}")
    print(f"{'step':>6} {'evaluation':>10} {'check':>6} {'check<475':>9} {'fresh 10':>8} "
          f"{'fresh':>6} {'fresh<475':>9}")
    for evaluation, step in enumerate(steps, start=1):
        agent, _ = nh.load_snapshot(args.out, step)

        def play(seeds):
            return nh.evaluate(agent, envs[:len(seeds)], seeds)

        evaluated = play([_eval_seed(config, evaluation, i) for i in range(config.eval_episodes)])
        check = play(_check_seeds(config, evaluation))
        fresh = play([FRESH_SEED + i for i in range(args.fresh)])
        print(f"{step:>6,} {evaluated.mean():>10.1f} {check.mean():>6.1f} "
              f"{int((check < THRESHOLD).sum()):>9} {fresh[:10].mean():>8.1f} "
              f"{fresh.mean():>6.1f} {int((fresh < THRESHOLD).sum()):>9}")


if __name__ == "__main__":
    main()
