"""How close a CartPole agent's two Q-values are, and how little it takes to flip its policy.

    python benchmarks/diagnose_action_gap.py RUN [RUN ...] [--which last] [--episodes 5]

For each run folder (or exported agent), its agent (``--which best|last``, verified before
loading) plays ``--episodes`` greedy episodes with the noise removed (μ only, as in an
evaluation; seeds 777, 778, ...).  Over every state it visited it prints:

* the median Q-value, and the action gap |Q(s, left) − Q(s, right)| as a share of the larger
  |Q(s, ·)|: its median and its 10th percentile;
* for perturbations of every trainable weight by an independent uniform amount in [−d, d]
  (5 draws each, then the weights are put back): the share of visited states whose greedy
  action flips.

With γ = 0.99 and an episode that only ends by truncation at 500 steps, every Q-value of a
balancing agent approaches 1 / (1 − γ) = 100, and the choice between the two actions rests on
the small difference between two large numbers.  The README ("CartPole: defaults tested on
held-out seeds") uses this to explain why a policy that balances can flip while its weights
barely move.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FIRST_SEED = 777
SIZES = (1e-4, 1e-3, 2e-3)
DRAWS = 5


def visited_states(agent, episodes: int, env_kwargs=None) -> tuple:
    """``(states, returns)`` of ``episodes`` greedy episodes on CartPole-v1 (made as training
    made it: ``noisy_helpers.make_env`` with the run's ``env_kwargs``)."""
    from noisy_helpers import make_env

    env = make_env("CartPole-v1", env_kwargs=env_kwargs)
    states, returns = [], []
    for episode in range(episodes):
        obs, _ = env.reset(seed=FIRST_SEED + episode)
        total, done = 0.0, False
        while not done:
            states.append(obs)
            action = int(agent.greedy_actions(obs[None])[0])
            obs, reward, terminated, truncated, _ = env.step(action)
            total += reward
            done = terminated or truncated
        returns.append(total)
    env.close()
    return np.asarray(states, np.float32), returns


def flip_share(agent, states: np.ndarray, size: float, rng) -> float:
    """Mean share of ``states`` whose greedy action flips when every trainable weight moves
    by U[−size, size]; the weights are restored afterwards, whatever happens."""
    variables = agent.online.trainable_variables
    saved = [v.numpy() for v in variables]
    greedy = agent.online(states, training=False).numpy().argmax(1)
    shares = []
    try:
        for _ in range(DRAWS):
            for variable, value in zip(variables, saved):
                variable.assign(value + rng.uniform(-size, size, value.shape).astype(value.dtype))
            moved = agent.online(states, training=False).numpy().argmax(1)
            shares.append(float(np.mean(moved != greedy)))
    finally:
        for variable, value in zip(variables, saved):
            variable.assign(value)
    return float(np.mean(shares))


def load_cartpole_agents(parser, runs, which: str) -> list:
    """``[(run, agent, selection, env_kwargs)]``: the ``which`` agent of every run folder (or
    exported agent) in ``runs``, each verified and loaded before any of them plays; a run that
    cannot be loaded, or holds an agent of another env than CartPole-v1, is ``parser.error``'s
    one line (exit 2)."""
    from noisy_helpers import load_agent

    agents = []
    for run in runs:
        try:
            agent, selection, state = load_agent(run, which)
        except (FileNotFoundError, ValueError) as error:
            parser.error(str(error))
        if state["env_id"] != "CartPole-v1":
            parser.error(f"{run} holds an agent of {state['env_id']!r}, not CartPole-v1")
        agents.append((run, agent, selection, state["env_kwargs"]))
    return agents


def parse_cartpole_runs(argv, description: str, episodes: int) -> tuple:
    """``(args, agents)`` for a script that plays CartPole run folders: the arguments ``runs``,
    ``--which`` (best or last) and ``--episodes`` (default ``episodes``, >= 1), checked, then
    :func:`load_cartpole_agents`.  Any bad argument is ``parser.error``'s one line (exit 2)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("runs", nargs="+", type=Path, help="run folders or exported agents")
    parser.add_argument("--which", choices=("best", "last"), default="last")
    parser.add_argument("--episodes", type=int, default=episodes)
    args = parser.parse_args(argv)
    if args.episodes < 1:
        parser.error(f"--episodes must be >= 1, got {args.episodes}")
    return args, load_cartpole_agents(parser, args.runs, args.which)


def main(argv=None) -> None:
    args, agents = parse_cartpole_runs(argv, __doc__.splitlines()[0], episodes=5)
    for run, agent, selection, env_kwargs in agents:
        agent.remove_noise()
        states, returns = visited_states(agent, args.episodes, env_kwargs)
        q = agent.online(states, training=False).numpy()
        gap = np.abs(q[:, 0] - q[:, 1]) / np.abs(q).max(axis=1)
        rng = np.random.default_rng(0)
        print(f"{run} ({selection['which']}, step {selection['step']:,}): returns "
              f"{[round(r, 1) for r in returns]}, {len(states)} states")
        print(f"  median Q {np.median(q):.1f}; action gap / |Q|: median {np.median(gap):.2e}, "
              f"10th percentile {np.quantile(gap, 0.1):.2e}")
        for size in SIZES:
            print(f"  every weight moved by up to {size:g}: the greedy action flips on "
                  f"{flip_share(agent, states, size, rng):.1%} of these states")


if __name__ == "__main__":
    main()
