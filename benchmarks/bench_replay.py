"""Prioritized replay speed: noisy_helpers against the original notebook's pure-Python tree.

    python benchmarks/bench_replay.py            # or: make bench
    python benchmarks/bench_replay.py --quick    # smaller repeat counts

Both buffers hold 2**20 transitions (observations of shape (4,), float32, as on
CartPole) with the same random priorities, and the timings are taken in one
run, so the ratios compare like with like on whatever machine runs it.

* ``sample + update``: ``sample(64, beta)`` then ``update_priorities`` of the
  64 sampled slots, the replay part of one optimisation step.
* ``add``: storing one transition.  ``noisy_helpers`` queues the new slot's
  priority and writes queued slots into the tree in one vectorised update at
  the next ``sample``; so that no cost hides there, its figure is the time of
  N adds *plus* the write of all N queued slots, divided by N.
* ``train step``: one add then one sample + update, as a DQN with one
  gradient step per environment step does (informative; no bar).

Each figure is the best of 11 rounds (3 with ``--quick``) of the mean time per
call; within each round the original and noisy_helpers take turns, so that a
slow spell of a shared machine hits both alike, and the best of many rounds
keeps such spells out of both figures.
Bars (from the project's issue): sample + update >= 8x, add >= 30x.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from original_sum_tree import OriginalMemory  # noqa: E402

import noisy_helpers as nh  # noqa: E402

CAPACITY = 2**20
BATCH = 64
OBS_SHAPE = (4,)
BARS = {"sample + update": 8.0, "add": 30.0}


def mean_seconds(function, calls: int) -> float:
    """Mean time of ``calls`` calls of ``function``."""
    start = time.perf_counter()
    for _ in range(calls):
        function()
    return (time.perf_counter() - start) / calls


def best_of_interleaved(original, original_calls, helpers, helpers_calls, rounds):
    """Best mean time of each side over ``rounds``, the two sides taking turns within
    each round so that a slow spell of the machine hits both alike."""
    best_original = best_helpers = float("inf")
    for _ in range(rounds):
        best_original = min(best_original, mean_seconds(original, original_calls))
        best_helpers = min(best_helpers, mean_seconds(helpers, helpers_calls))
    return best_original, best_helpers


def make_priorities(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.01, 1.0, CAPACITY)


def filled_original(priorities: np.ndarray) -> OriginalMemory:
    """The original memory, full, with ``priorities`` in its leaves (set up directly:
    storing 2**20 transitions one by one at O(N) each would take minutes)."""
    memory = OriginalMemory(CAPACITY, seed=0)
    observation = np.zeros(OBS_SHAPE, dtype=np.float32)
    memory.tree.data[:] = [(observation, 0, 0.0, observation, False)] * CAPACITY
    tree = memory.tree.tree
    tree[CAPACITY - 1 :] = priorities
    # Rebuild the parents level by level (leaves start at capacity - 1, a power of two here).
    first = CAPACITY - 1
    while first > 0:
        parents = (first + 1) // 2
        parent_first = first - parents
        tree[parent_first:first] = tree[first : first + 2 * parents : 2] + tree[first + 1 : first + 2 * parents : 2]
        first = parent_first
    return memory


def filled_helpers(priorities: np.ndarray) -> nh.PrioritizedReplayBuffer:
    buffer = nh.PrioritizedReplayBuffer(CAPACITY, OBS_SHAPE, seed=0)
    observation = np.zeros(OBS_SHAPE, dtype=np.float32)
    for _ in range(CAPACITY):
        buffer.add(observation, 0, 0.0, observation, False)
    buffer.tree.update(np.arange(CAPACITY), priorities)
    return buffer


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (noisier)")
    args = parser.parse_args(argv)
    rounds = 3 if args.quick else 11
    scale = 1 if args.quick else 3

    print(f"python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}")
    print(f"capacity 2**20, batch {BATCH}, obs shape {OBS_SHAPE}; setting up ...", flush=True)
    priorities = make_priorities()
    original = filled_original(priorities)
    helpers = filled_helpers(priorities)
    rng = np.random.default_rng(1)
    observation = np.zeros(OBS_SHAPE, dtype=np.float32)
    errors = rng.uniform(0.0, 2.0, size=(1000, BATCH))
    step = iter(range(10**9))

    def original_sample_update():
        tree_indices, _, _ = original.sample(BATCH, 0.4)
        original.batch_update(tree_indices, errors[next(step) % 1000])

    def helpers_sample_update():
        batch = helpers.sample(BATCH, 0.4)
        helpers.update_priorities(batch.indices, errors[next(step) % 1000])

    def original_add():
        original.store((observation, 0, 0.0, observation, False))

    adds_per_write = 1000

    def helpers_adds_then_write():
        for _ in range(adds_per_write):
            helpers.add(observation, 0, 0.0, observation, False)
        helpers.tree  # writes the queued slots into the sum tree

    def original_train_step():
        original_add()
        original_sample_update()

    def helpers_train_step():
        helpers.add(observation, 0, 0.0, observation, False)
        helpers_sample_update()

    helpers_sample_update()  # leave the queue empty before timing
    timings = {
        "sample + update": best_of_interleaved(
            original_sample_update, 30 * scale, helpers_sample_update, 300 * scale, rounds
        ),
        "add": best_of_interleaved(original_add, 100 * scale, helpers_adds_then_write, 5 * scale, rounds),
        "train step": best_of_interleaved(
            original_train_step, 30 * scale, helpers_train_step, 300 * scale, rounds
        ),
    }
    timings["add"] = (timings["add"][0], timings["add"][1] / adds_per_write)
    rows = [(name, *seconds) for name, seconds in timings.items()]

    print(f"\n| operation | original (µs) | noisy_helpers (µs) | speed-up | bar |")
    print("|---|---:|---:|---:|---|")
    failed = False
    for name, original_seconds, helpers_seconds in rows:
        ratio = original_seconds / helpers_seconds
        bar = BARS.get(name)
        verdict = "" if bar is None else (f">= {bar:g}x: " + ("pass" if ratio >= bar else "FAIL"))
        failed |= bar is not None and ratio < bar
        print(
            f"| {name} | {original_seconds * 1e6:,.1f} | {helpers_seconds * 1e6:,.1f} "
            f"| {ratio:,.1f}x | {verdict} |"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
