"""Atari training throughput on this machine: agent steps per second, and where the time goes.

    python benchmarks/bench_atari_training.py [--steps 2000] [--num-envs 1 4]

Runs the real training loop (``nh.train``) on UpNDown with ``Config.atari()``
(one update every 4 agent steps, batch 32, Nature CNN with noisy heads,
prioritized frame replay), learning from step 1,000, no evaluations or
checkpoints inside the timed part.  The agent's methods are wrapped with
timers, and the steady state is measured from the first gradient step to the
last:

* agent steps per second;
* the share of wall time inside the compiled train step (``Agent.train_step``);
* the share spent acting (``Agent.act``, or ``Agent.act_batch`` for all games at once when
  ``num_envs > 1``) and the rest (environment, replay ``add``/``sample``/
  ``update_priorities``, bookkeeping).

Each ``--num-envs`` value is one run: 1 is one gymnasium env with the wrappers of
``make_atari_env``; more are games side by side in ale-py's ``AtariVectorEnv``.

Bar (issue 4): everything but the train step costs <= 25 % of the loop.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np

import noisy_helpers as nh


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2_000, help="agent steps after learning starts")
    parser.add_argument("--learning-starts", type=int, default=1_000)
    parser.add_argument("--num-envs", type=int, nargs="+", default=[1, 4])
    args = parser.parse_args(argv)
    for num_envs in args.num_envs:
        measure(args, num_envs)


def measure(args, num_envs: int) -> None:
    from noisy_helpers.agent import Agent

    timings = {"train_step": [], "act": [], "act_batch": []}
    originals = {name: getattr(Agent, name) for name in timings}

    def timed(name):
        original = originals[name]

        def wrapper(self, *a, **k):
            start = time.perf_counter()
            result = original(self, *a, **k)
            timings[name].append((start, time.perf_counter()))
            return result

        return wrapper

    for name in timings:
        setattr(Agent, name, timed(name))
    config = nh.Config.atari(
        total_steps=args.learning_starts + args.steps, learning_starts=args.learning_starts,
        buffer_size=num_envs * (args.learning_starts + args.steps + 1_000),
        eval_period=10**9, checkpoint_period=10**9, num_envs=num_envs,
    )
    with tempfile.TemporaryDirectory() as out:
        nh.train(config, "ALE/UpNDown-v5", out=out, progress=False, tensorboard=False)
    for name, original in originals.items():
        setattr(Agent, name, original)

    train = np.array(timings["train_step"])
    acts = np.array(timings["act"] or timings["act_batch"])
    first, last = train[1, 0], train[-1, 1]  # from the 2nd update: the first one traces
    wall = last - first
    updates = train[(train[:, 0] >= first)]
    acting = acts[(acts[:, 0] >= first) & (acts[:, 1] <= last)]
    steps = len(acting) * num_envs
    train_share = (updates[:, 1] - updates[:, 0]).sum() / wall
    act_share = (acting[:, 1] - acting[:, 0]).sum() / wall
    print(f"UpNDown, Config.atari(num_envs={num_envs}): batch {config.batch_size}, one update "
          f"every {config.train_frequency} agent steps, {steps} agent steps and {len(updates)} "
          f"updates timed")
    print(f"agent steps per second: {steps / wall:.1f}   (frames per second: {4 * steps / wall:.0f})")
    print(f"train step: {1e3 * np.mean(updates[:, 1] - updates[:, 0]):.1f} ms each, "
          f"{100 * train_share:.1f} % of wall time")
    print(f"acting:     {1e3 * np.mean(acting[:, 1] - acting[:, 0]):.2f} ms per call "
          f"({num_envs} observation{'s' if num_envs > 1 else ''}), "
          f"{100 * act_share:.1f} % of wall time")
    rest = 1 - train_share
    print(f"everything but the train step (acting, env, replay, loop): {100 * rest:.1f} % "
          f"-> bar <= 25 %: {'met' if rest <= 0.25 else 'NOT met'}")
    print()


if __name__ == "__main__":
    main()
