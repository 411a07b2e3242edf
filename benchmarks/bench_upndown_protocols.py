"""The shipped UpNDown agent on two evaluation protocols, beside random play on the same ones.

    python benchmarks/bench_upndown_protocols.py            # 30 agent games, 100 random, each
    python benchmarks/bench_upndown_protocols.py --games 5 --random-games 10   # a quick look

Protocols (whole games, true scores):

* ``papers``: the DQN and NoisyNet papers' (Mnih et al. 2015; Fortunato et al. 2018): a
  deterministic emulator, up to 30 no-op actions at the start, the noise removed.  With the
  noise removed the policy is deterministic, and UpNDown's screen is frozen for its first
  frames, so many of these games are the same game: the number of distinct scores says how many.
* ``sticky``: sticky actions with probability 0.25 (Machado et al. 2018), the noise removed:
  every game takes its own course.
* ``sticky, noise on``: the same, acting as in training (the noise redrawn every
  ``train_frequency`` = 4 agent steps).

Random play (uniformly random actions) on the papers' protocol and on sticky actions.  Game
``i`` of every protocol uses seed ``--seed + i``.  Prints a Markdown table (mean ± standard
deviation, the standard error, a 95 % interval for the mean, min and max, distinct scores) and
writes it with every score to ``benchmarks/results/upndown_protocols.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

import noisy_helpers as nh
from noisy_helpers.training import load_agent, random_policy_returns, resample_every

ROOT = Path(__file__).resolve().parents[1]
#: (name, sticky action probability, noise on)
AGENT_PROTOCOLS = [("papers: up to 30 no-ops, noise removed", 0.0, False),
                   ("sticky actions 0.25, noise removed", 0.25, False),
                   ("sticky actions 0.25, noise on", 0.25, True)]
RANDOM_PROTOCOLS = [("papers: up to 30 no-ops", 0.0), ("sticky actions 0.25", 0.25)]


def summarise(scores: np.ndarray) -> dict:
    """Mean, standard deviation, standard error, a 95 % interval for the mean (normal
    approximation), min, max and the number of distinct scores of ``scores``."""
    n = len(scores)
    std = float(scores.std(ddof=1)) if n > 1 else 0.0
    error = std / np.sqrt(n)
    return dict(games=n, mean=float(scores.mean()), std=std, standard_error=error,
                ci95=[float(scores.mean() - 1.96 * error), float(scores.mean() + 1.96 * error)],
                min=float(scores.min()), max=float(scores.max()),
                distinct=int(len(np.unique(scores))), scores=[float(s) for s in scores])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agent", type=Path, default=None,
                        help="an exported agent or run (default: the shipped agents/upndown)")
    parser.add_argument("--games", type=int, default=30, help="agent games per protocol")
    parser.add_argument("--random-games", type=int, default=100, help="random games per protocol")
    parser.add_argument("--seed", type=int, default=100_000, help="seed of game 0")
    parser.add_argument("--out", type=Path,
                        default=ROOT / "benchmarks" / "results" / "upndown_protocols.json")
    args = parser.parse_args(argv)
    folder = args.agent or nh.assets.path("agents/upndown")
    agent, selection, saved = load_agent(folder)
    env_id, config = saved["env_id"], saved["config"]
    frames = 4 * selection["step"]
    rows = []
    for name, sticky, noise in AGENT_PROTOCOLS:
        start = time.perf_counter()
        envs = [nh.make_env(env_id, sticky_actions=sticky) for _ in range(args.games)]
        seeds = [args.seed + i for i in range(args.games)]
        scores = nh.evaluate(agent, envs, seeds, noise=noise, resample_every=resample_every(config))
        rows.append(dict(player="agent", protocol=name, frames=frames,
                         seconds=round(time.perf_counter() - start, 1), **summarise(scores)))
        for env in envs:
            env.close()
    for name, sticky in RANDOM_PROTOCOLS:
        start = time.perf_counter()
        env = nh.make_env(env_id, sticky_actions=sticky)
        seeds = [args.seed + i for i in range(args.random_games)]
        scores = random_policy_returns([env] * args.random_games, seeds, seed=args.seed)
        rows.append(dict(player="random", protocol=name, frames=None,
                         seconds=round(time.perf_counter() - start, 1), **summarise(scores)))
        env.close()

    print(f"{folder}: the {selection['which']} agent, step {selection['step']:,} "
          f"({frames / 1e6:.1f}M frames)\n")
    print("| player | protocol | games | mean ± std | standard error | 95 % interval | min – max "
          "| distinct scores |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(f"| {row['player']} | {row['protocol']} | {row['games']} | {row['mean']:,.0f} ± "
              f"{row['std']:,.0f} | {row['standard_error']:,.0f} | {row['ci95'][0]:,.0f} – "
              f"{row['ci95'][1]:,.0f} | {row['min']:,.0f} – {row['max']:,.0f} | "
              f"{row['distinct']} of {row['games']} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(dict(agent=str(folder), which=selection["which"],
                                        step=selection["step"], frames=frames, seed=args.seed,
                                        rows=rows), indent=1) + "\n")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
