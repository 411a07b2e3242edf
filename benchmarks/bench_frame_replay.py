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

On that buffer it also times the replay's side of a training step, ``sample(32)`` +
``update_priorities``, with the batch built from one window of 5 frames per sample (the
package) against two 4-frame stacks gathered apart (the previous version, kept here as the
baseline): a ratio measured in one run.
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
                per_transition=per_slot_1m * slots_used / len(buffer), buffer=buffer)


def two_stack_gather(buffer, indices, weights):
    """The baseline: the gather before this version, each stack rebuilt on its own (8 frames
    read per sample for two 4-frame stacks, where 5 hold both)."""
    return nh.Batch(obs=buffer._stacks(indices),
                    actions=buffer.actions[indices].astype(np.int64),
                    rewards=buffer.rewards[indices],
                    next_obs=buffer._stacks(buffer._later(indices, 1)),
                    dones=buffer.dones[indices].astype(np.float32),
                    weights=weights, indices=indices)


def sample_update_seconds(buffer, gather, batch_size: int = 32, calls: int = 2_000,
                          repeats: int = 5) -> float:
    """Best-of-``repeats`` mean seconds of one ``sample(batch_size)`` + ``update_priorities``
    with ``gather`` as the buffer's way of building the batch, the agent's step from the
    replay's side (the seed is reset before each repeat, so both gathers draw the same
    indices)."""
    import time

    rng = np.random.default_rng(0)
    errors = rng.random((calls, batch_size))
    buffer._gather = gather.__get__(buffer)
    best = float("inf")
    try:
        for _ in range(repeats):
            buffer.rng = np.random.default_rng(1)
            start = time.perf_counter()
            for call in range(calls):
                batch = buffer.sample(batch_size, beta=0.4)
                buffer.update_priorities(batch.indices, errors[call])
            best = min(best, (time.perf_counter() - start) / calls)
    finally:
        del buffer._gather
    return best


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
    buffer = ours["buffer"]
    baseline = sample_update_seconds(buffer, two_stack_gather)
    windows = sample_update_seconds(buffer, type(buffer)._gather)
    print(f"sample(32) + update_priorities on that buffer ({len(buffer):,} transitions), best of "
          f"5 x 2,000 calls: two stacks gathered apart (8 frames a sample) {baseline * 1e6:.0f} us,"
          f" one window (5 frames) {windows * 1e6:.0f} us: {baseline / windows:.2f}x faster")


if __name__ == "__main__":
    main()
