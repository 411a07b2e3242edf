"""How often prioritized replay draws a CartPole run's failures, once the agent stops failing.

    python benchmarks/diagnose_failure_priority.py RUN [RUN ...] [--before 20]

For each run folder, its last checkpoint (``checkpoint/``, verified against its manifest, its
replay checked as a resume would check it) is read, and over the transitions in the replay it
prints:

* the failures: transitions that ended an episode by termination (the pole fell or the cart
  left the track; a truncation at 500 steps is not one), their share of the buffer, and their
  share of the priority mass, which is the chance that one draw of a batch picks one of them
  (P(i) = p_i / Σ p, with p_i = (|δ_i| + ε)^α, Schaul et al. 2016);
* the same for the last ``--before`` transitions of every episode that ended in a failure
  (the states that lead to it);
* how many transitions ago the latest failure was stored.

A draw share / buffer share above 1 means replay draws these transitions more often than
uniform sampling would.  Nothing is trained or played; the run folder is only read.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def time_order(cursor: int, size: int, capacity: int) -> np.ndarray:
    """The buffer slots from the oldest transition to the newest (the buffer is circular:
    once full, the oldest is at the write cursor)."""
    if size < capacity:
        return np.arange(size)
    return (cursor + np.arange(capacity)) % capacity


def episode_starts(obs: np.ndarray, next_obs: np.ndarray) -> np.ndarray:
    """True where a transition (in time order) begins an episode: the first one, and every
    one whose observation is not the previous transition's next observation."""
    starts = np.ones(len(obs), dtype=bool)
    if len(obs) > 1:
        starts[1:] = np.any(obs[1:] != next_obs[:-1], axis=tuple(range(1, obs.ndim)))
    return starts


def failure_shares(priorities, dones, obs, next_obs, before: int) -> dict:
    """Buffer and draw shares of the failures and of the ``before`` transitions that end
    each failed episode (in time order; never reaching back past the episode's start)."""
    priorities = np.asarray(priorities, dtype=np.float64)
    failed = np.asarray(dones) > 0
    ends = np.flatnonzero(failed)  # the failures, oldest first
    starts = np.flatnonzero(episode_starts(obs, next_obs))
    leading = np.zeros(len(failed), dtype=bool)
    for end, start in zip(ends, starts[np.searchsorted(starts, ends, side="right") - 1]):
        leading[max(start, end - before + 1):end + 1] = True
    total = priorities.sum()
    return dict(
        transitions=len(failed), failures=int(failed.sum()),
        failure_buffer_share=float(failed.mean()),
        failure_draw_share=float(priorities[failed].sum() / total),
        leading_buffer_share=float(leading.mean()),
        leading_draw_share=float(priorities[leading].sum() / total),
        since_latest_failure=None if not len(ends) else int(len(failed) - 1 - ends[-1]),
    )


def read_replay(run: Path):
    """``(state, replay arrays)`` of the run's verified checkpoint, checked as a resume
    checks them; raises ``ValueError`` / ``FileNotFoundError`` saying what is wrong."""
    from noisy_helpers import PrioritizedReplayBuffer
    from noisy_helpers.atari import is_atari
    from noisy_helpers.run_folder import (_read_npz, find_checkpoint, read_state,
                                          require_run_folder)

    directory = find_checkpoint(require_run_folder(run, "RUN"))  # verified: sizes, SHA-256
    state = read_state(directory)
    config = state["config"]
    if is_atari(state["env_id"]) or not config.prioritized:
        raise ValueError(f"{str(run)!r}: needs a run with prioritized replay of whole "
                         f"observations (not Atari), got {state['env_id']!r} with "
                         f"prioritized={config.prioritized}")
    replay = _read_npz(directory / "replay.npz")
    obs = replay.get("obs")
    if not isinstance(obs, np.ndarray) or obs.ndim < 2:
        raise ValueError(f"{str(directory / 'replay.npz')!r}: 'obs' is not an array of "
                         f"observations")
    PrioritizedReplayBuffer(config.buffer_size, obs.shape[1:], obs.dtype, alpha=config.alpha,
                            eps=config.priority_eps).check_state_dict(replay)
    return state, replay


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run folders (from train)")
    parser.add_argument("--before", type=int, default=20,
                        help="transitions that end a failed episode, counted as leading to it")
    args = parser.parse_args(argv)
    if args.before < 1:
        parser.error(f"--before must be >= 1, got {args.before}")
    read = []
    for run in args.runs:  # every run checked before anything is printed
        try:
            read.append((run, *read_replay(run)))
        except (FileNotFoundError, ValueError, TypeError) as error:
            parser.error(str(error))
    for run, state, replay in read:
        size = int(replay["size"])
        order = time_order(int(replay["cursor"]), size, state["config"].buffer_size)
        shares = failure_shares(replay["priorities"][order], replay["dones"][order],
                                replay["obs"][order], replay["next_obs"][order], args.before)
        latest = ("none in the buffer" if shares["since_latest_failure"] is None
                  else f"{shares['since_latest_failure']:,} transitions ago")
        print(f"{run} (step {state['step']:,}): {shares['transitions']:,} transitions, "
              f"{shares['failures']} failures, the latest {latest}")
        for name, label in (("failure", "failures"),
                            ("leading", f"last {args.before} steps of failed episodes")):
            buffer, draw = shares[f"{name}_buffer_share"], shares[f"{name}_draw_share"]
            print(f"  {label}: {buffer:.2%} of the buffer, {draw:.2%} of the draws "
                  f"({draw / buffer if buffer else float('nan'):.1f}x uniform)")


if __name__ == "__main__":
    main()
