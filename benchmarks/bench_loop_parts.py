"""Two pieces of the Atari training loop outside the train step, each against what it replaced,
timed in turns in one run on this machine.

    python benchmarks/bench_loop_parts.py
    python benchmarks/bench_loop_parts.py --rounds 3 --calls 20

* **noise statistics**: the ``sigma/<layer>`` and ``mu/<layer>`` columns that ``metrics.csv``
  gets at the end of every training episode, on ``Config.atari()``'s network (a noisy 3136×512
  layer and a noisy 512×6 output).  ``Agent.noise_statistics`` (one compiled TensorFlow call)
  against the numpy code it replaced (every weight copied out, weights and biases
  concatenated, |x| averaged), which is kept below as ``numpy_noise_statistics``.
* **env step**: one agent step of ``make_atari_env("ALE/UpNDown-v5")`` (4 emulator frames, max
  of the last two, 84×84, the training wrappers), whose emulator returns grayscale
  observations, against the same wrappers on an emulator that returns RGB ones (the default
  of ``gym.make``, used before).  Both play the same random actions from the same seed.

Each round times both sides of a piece in turn (the order swapped every round, so that a drift
of the machine falls on both); the script prints the median per-call time of each side and the
median and range of the per-round ratios (new / old: below 1 is faster).  A ratio is the
comparison; absolute times differ several-fold between machines.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from bench_atari_training import cpu_name  # the same machine record as that script's


def numpy_noise_statistics(agent) -> dict:
    """``Agent.noise_statistics`` as it was before the compiled call: numpy, float32."""
    stats = {}
    for layer in agent.noisy_online:
        sigma = np.concatenate([np.ravel(layer.kernel_sigma.numpy()),
                                np.ravel(layer.bias_sigma.numpy())])
        mu = np.concatenate([np.ravel(layer.kernel_mu.numpy()), np.ravel(layer.bias_mu.numpy())])
        stats[f"sigma/{layer.name}"] = float(np.mean(np.abs(sigma)))
        stats[f"mu/{layer.name}"] = float(np.mean(np.abs(mu)))
    return stats


def rgb_atari_env(env_id: str):
    """``make_atari_env(env_id)``'s wrappers on an emulator that returns RGB observations."""
    import ale_py
    import gymnasium as gym

    from noisy_helpers.atari import FRAME_SIZE, FRAME_STACK, ClipReward, EpisodicLife, \
        FireOnReset, GameScore

    gym.register_envs(ale_py)
    ale_py.ALEInterface.setLoggerMode(ale_py.LoggerMode.Error)
    env = gym.make(env_id, frameskip=1, repeat_action_probability=0.0)
    env = gym.wrappers.AtariPreprocessing(env, noop_max=30, frame_skip=4, screen_size=FRAME_SIZE,
                                          terminal_on_life_loss=False, grayscale_obs=True)
    env = FireOnReset(EpisodicLife(GameScore(env)))
    return gym.wrappers.FrameStackObservation(ClipReward(env), FRAME_STACK, padding_type="zero")


def stepper(env, seed: int):
    """A function that plays one agent step of ``env`` (resetting it when an episode ends)."""
    env.reset(seed=seed)
    actions = np.random.default_rng(seed).integers(env.action_space.n, size=1_000_000)
    count = [0]

    def step():
        _, _, terminated, truncated, _ = env.step(int(actions[count[0]]))
        count[0] += 1
        if terminated or truncated:
            env.reset()

    return step


def per_call(function, calls: int) -> float:
    """Mean seconds per call over ``calls`` calls."""
    start = time.perf_counter()
    for _ in range(calls):
        function()
    return (time.perf_counter() - start) / calls


def compare(new, old, calls: int, rounds: int) -> dict:
    """Both sides in turns, ``rounds`` times; per-round seconds per call and ratios new/old."""
    new(), old()  # first calls (tracing, caches) are not counted
    times = {"new": [], "old": []}
    for round_index in range(rounds):
        order = (("new", new), ("old", old)) if round_index % 2 == 0 else (("old", old),
                                                                           ("new", new))
        for side, function in order:
            times[side].append(per_call(function, calls))
    ratios = [n / o for n, o in zip(times["new"], times["old"])]
    return dict(new_s=times["new"], old_s=times["old"], ratios=ratios)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="turns of each side per piece")
    parser.add_argument("--calls", type=int, default=200, help="calls per side and round")
    parser.add_argument("--out", type=Path, default=None, help="write the figures to this JSON")
    args = parser.parse_args(argv)
    for name, value in (("--rounds", args.rounds), ("--calls", args.calls)):
        if value < 1:
            parser.error(f"{name} must be an int >= 1, got {value}")
    if args.out is not None and args.out.exists():
        parser.error(f"--out {str(args.out)!r} exists: refusing to write over it")

    import noisy_helpers as nh

    agent = nh.Agent(nh.Config.atari(), (4, 84, 84), 6, np.uint8)
    new_stats, old_stats = agent.noise_statistics(), numpy_noise_statistics(agent)
    largest = max(abs(new_stats[k] / old_stats[k] - 1) for k in old_stats)
    env_id = "ALE/UpNDown-v5"
    results = {
        "machine": {"cpu": cpu_name(), "cores": os.cpu_count()},
        "noise statistics": compare(agent.noise_statistics, lambda: numpy_noise_statistics(agent),
                                    args.calls, args.rounds),
        "env step": compare(stepper(nh.make_atari_env(env_id), 0),
                            stepper(rgb_atari_env(env_id), 0), 5 * args.calls, args.rounds),
    }
    print(f"{args.rounds} rounds; per call, median over rounds (new / old: median, range)")
    for piece in ("noise statistics", "env step"):
        figures = results[piece]
        ratios = figures["ratios"]
        print(f"  {piece:17s} new {1e3 * np.median(figures['new_s']):.3f} ms, old "
              f"{1e3 * np.median(figures['old_s']):.3f} ms; new / old {np.median(ratios):.3f} "
              f"({min(ratios):.3f}-{max(ratios):.3f})")
    print(f"  noise statistics: largest relative difference between the two, {largest:.1e}")
    results["noise statistics"]["largest_relative_difference"] = largest
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1) + "\n")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
