"""Bytes per transition: the frame replay buffer against the original notebook's layout.

    python benchmarks/bench_frame_replay.py [--steps 20000]

The original notebook stores each transition as a tuple of two float64 stacks,
``(1, 60, 60, 4)`` each (``resize(frame, (60, 60)) / 255.`` gives float64), in
an object array; consecutive transitions share one stack object, so a
transition costs between one and two stacks.  This script *measures* it with
``tracemalloc`` by building transitions exactly as the original's ``train``
does, at its 60×60 and at the standard 84×84.

``PrioritizedFrameReplayBuffer`` stores one uint8 84×84 frame per slot; an
episode (here: a life) takes one slot more than its transitions.  Its bytes
are ``nbytes`` (every array it holds, sum tree included) at capacity 1M, and
the slot overhead is measured by filling a buffer with real UpNDown play
(uniformly random actions, training wrappers: a lost life ends an episode).
"""

from __future__ import annotations

import argparse
import tracemalloc

import numpy as np

import noisy_helpers as nh


def original_bytes_per_transition(size: int, transitions: int = 300) -> float:
    """Allocated bytes per stored transition, built as the original notebook does."""
    rng = np.random.default_rng(0)
    memory = np.zeros(transitions, dtype=object)  # the original's SumTree.data
    tracemalloc.start()
    start, _ = tracemalloc.get_traced_memory()
    frame = rng.random((size, size))  # get_frame(...): float64 in [0, 1]
    stacked = np.stack((frame, frame, frame, frame), axis=2).reshape(1, size, size, 4)
    for t in range(transitions):
        next_frame = rng.random((size, size)).reshape(1, size, size, 1)
        stacked_next = np.append(next_frame, stacked[:, :, :, :3], axis=3)
        memory[t] = (stacked, int(t % 6), 0.0, stacked_next, 0)  # experience tuple
        stacked = stacked_next
    used, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return (used - start) / transitions


def frame_buffer_bytes(steps: int, seed: int = 0) -> dict:
    env = nh.make_atari_env("ALE/UpNDown-v5", training=True)
    buffer = nh.PrioritizedFrameReplayBuffer(steps + 1_000, seed=seed)
    obs, _ = env.reset(seed=seed)
    env.action_space.seed(seed)
    lives = 0
    for _ in range(steps):
        action = int(env.action_space.sample())
        next_obs, reward, terminated, truncated, _ = env.step(action)
        buffer.add(obs, action, reward, next_obs, terminated, truncated=truncated)
        obs = next_obs
        if terminated or truncated:
            lives += 1
            obs, _ = env.reset()
    slots_used = int(buffer._head[0]) + 1  # no wrap-around: capacity > steps + lives
    per_slot_1m = nh.PrioritizedFrameReplayBuffer(1_000_000).nbytes / 1_000_000
    return dict(per_slot=per_slot_1m, transitions=len(buffer), slots=slots_used, lives=lives,
                per_transition=per_slot_1m * slots_used / len(buffer))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000,
                        help="random UpNDown steps to measure the per-life slot overhead")
    args = parser.parse_args(argv)

    original_60 = original_bytes_per_transition(60)
    original_84 = original_bytes_per_transition(84)
    ours = frame_buffer_bytes(args.steps)
    print(f"original layout, 60x60x4 float64 stacks: {original_60 / 1e3:8.1f} KB per transition "
          f"(measured, tracemalloc) -> {original_60 * 1e6 / 1e9:6.0f} GB at 1M")
    print(f"original layout, 84x84x4 float64 stacks: {original_84 / 1e3:8.1f} KB per transition "
          f"(measured, tracemalloc) -> {original_84 * 1e6 / 1e9:6.0f} GB at 1M")
    print(f"frame buffer, capacity 1M: {ours['per_slot'] / 1e3:.3f} KB per slot (nbytes: frames, "
          f"transitions, sum tree)")
    print(f"  UpNDown random play, {args.steps} steps, {ours['lives']} lives: "
          f"{ours['per_transition'] / 1e3:.3f} KB per transition "
          f"-> {ours['per_transition'] * 1e6 / 1e9:.2f} GB at 1M")
    print(f"ratio original (60x60) / ours: {original_60 / ours['per_transition']:.1f}x; "
          f"original (84x84) / ours: {original_84 / ours['per_transition']:.1f}x")
    bar = 7_200
    print(f"bar <= 7.2 KB per transition: {'met' if ours['per_transition'] <= bar else 'NOT met'}")


if __name__ == "__main__":
    main()
