"""How a CartPole agent's episodes end: the cart off the track, the pole down, or 500 steps.

    python benchmarks/diagnose_episode_ends.py RUN [RUN ...] [--which last] [--episodes 20]

CartPole-v1 ends an episode when the cart leaves the track (|x| > 2.4) or the pole falls
(|θ| > 12°), and truncates it at 500 steps.  For each run folder (or exported agent), its agent
(``--which best|last``, verified before loading) plays ``--episodes`` greedy episodes with the
noise removed (μ only, as in an evaluation) from seeds 12345, 12346, ... (``bench_cartpole.py``'s
fresh episodes are the first 10), and this prints how many ended each way, with their lengths
and the largest |x| the cart reached.

A policy that keeps the pole up but lets the cart drift ends every episode at the track's edge,
hundreds of steps in, where γ = 0.99 weighs the failure at γ^300 ≈ 5 % (README, "CartPole:
defaults tested on held-out seeds").
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from diagnose_action_gap import parse_cartpole_runs  # noqa: E402  (one loader for both)

FIRST_SEED = 12345
ENDS = ("500 steps", "cart off the track", "pole down", "cart off and pole down",
        "terminated otherwise")  # the last: not CartPole-v1's rules (another env_kwargs)


def how_it_ended(obs, terminated: bool, x_limit: float, angle_limit: float) -> str:
    """One of ``ENDS`` for an episode whose last observation is ``obs`` (x, ẋ, θ, θ̇)."""
    if not terminated:
        return ENDS[0]
    off, down = abs(float(obs[0])) > x_limit, abs(float(obs[2])) > angle_limit
    if off and down:
        return ENDS[3]
    if off:
        return ENDS[1]
    return ENDS[2] if down else ENDS[4]


def play(agent, episodes: int, env_kwargs=None) -> list:
    """``[(end, length, largest |x|)]`` of ``episodes`` greedy episodes on CartPole-v1 (made as
    training made it: ``noisy_helpers.make_env`` with the run's ``env_kwargs``)."""
    from noisy_helpers import make_env

    env = make_env("CartPole-v1", env_kwargs=env_kwargs)
    x_limit, angle_limit = env.unwrapped.x_threshold, env.unwrapped.theta_threshold_radians
    results = []
    for episode in range(episodes):
        obs, _ = env.reset(seed=FIRST_SEED + episode)
        length, widest, terminated, truncated = 0, abs(float(obs[0])), False, False
        while not (terminated or truncated):
            obs, _, terminated, truncated, _ = env.step(agent.act(obs))
            length += 1
            widest = max(widest, abs(float(obs[0])))
        results.append((how_it_ended(obs, terminated, x_limit, angle_limit), length, widest))
    env.close()
    return results


def main(argv=None) -> None:
    args, agents = parse_cartpole_runs(argv, __doc__.splitlines()[0], episodes=20)
    for run, agent, selection, env_kwargs in agents:
        agent.remove_noise()
        results = play(agent, args.episodes, env_kwargs)
        counts = Counter(end for end, _, _ in results)
        print(f"{run} ({selection['which']}, step {selection['step']:,}), {args.episodes} "
              f"episodes from seed {FIRST_SEED}:")
        for end, count in counts.most_common():
            lengths = [length for e, length, _ in results if e == end]
            widest = [w for e, _, w in results if e == end]
            print(f"  {end}: {count}, after {min(lengths)}-{max(lengths)} steps "
                  f"(median {np.median(lengths):.0f}); largest |x| {max(widest):.2f}")


if __name__ == "__main__":
    main()
