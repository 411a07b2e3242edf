"""Do the evaluations with the noise on fall back when the greedy ones do?  And is a re-run the
same run?

    python benchmarks/diagnose_noisy_evaluations.py runs/bench_cartpole/ours \\
        --summary benchmarks/results/cartpole/summary_held-out-3.json

Training plays every evaluation twice from the same episode seeds (``noisy_helpers.training``):
with the noise removed (μ only, greedy: ``eval_return``, the benchmark's protocol) and with the
noise on as in training (``eval_return_noisy``, logged beside it).  For each seed folder
(``seed_*``) of a ``bench_cartpole.py`` run folder, finished or not, this prints for both the
first step whose evaluation reached 475, the share of the evaluations from then on that stayed
>= 475 (the worst-seed bar asks 70 %) and the last evaluation.  If only the greedy evaluations
fell back, the falls would be the protocol's, not the agent's.

With ``--summary`` (a committed ``summary_*.json`` of the same setting, ours), it also says
whether each seed's greedy evaluations are the ones that summary holds, return by return: the same
run, repeated on another machine or in another session.  Nothing is trained.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from noisy_helpers import read_metrics, summarise_evaluations  # noqa: E402

THRESHOLD = 475.0
BAR = 0.7  # the worst-seed bar: a share of later evaluations >= 475 of at least 70 %


def greedy_and_noisy(metrics: dict) -> dict:
    """``{"greedy": summary, "noisy": summary}`` of one run's ``metrics`` (``read_metrics``),
    each a :func:`~noisy_helpers.summarise_evaluations` at 475."""
    if "eval_return_noisy" not in metrics:
        raise ValueError("metrics has no 'eval_return_noisy' column (a run written before the "
                         "noisy evaluations were logged)")
    noisy = dict(step=metrics["step"], eval_return=metrics["eval_return_noisy"])
    return dict(greedy=summarise_evaluations(metrics, THRESHOLD),
                noisy=summarise_evaluations(noisy, THRESHOLD))


def compare_returns(returns: list, committed: list) -> str:
    """How a run's evaluation returns compare with a committed run's of the same seed."""
    if returns == committed:
        return f"the same {len(returns)} returns"
    if len(returns) < len(committed) and returns == committed[:len(returns)]:
        return f"the same first {len(returns)} of {len(committed)} returns (the run is not finished)"
    first = next((i for i, (a, b) in enumerate(zip(returns, committed)) if a != b),
                 min(len(returns), len(committed)))
    return f"differs from evaluation {first + 1} on"


def _share(summary: dict) -> str:
    return "-" if summary["stay_share"] is None else f"{summary['stay_share']:.0%}"


def _first(summary: dict) -> str:
    return "never" if summary["first_step"] is None else f"{summary['first_step']:,}"


def _last(summary: dict) -> str:
    return "-" if summary["last"] is None else f"{summary['last']:.1f}"


def _committed_returns(path: Path) -> dict:
    """``{seed: returns}`` of ours in a ``bench_cartpole.py`` summary."""
    try:
        results = json.loads(path.read_text(encoding="utf-8"))["results"]["ours"]
        return {int(seed): list(result["returns"]) for seed, result in results.items()}
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"--summary {str(path)!r} is not a bench_cartpole summary with ours' "
                         f"returns ({type(error).__name__}: {error})") from None


def _seed_of(folder: Path):
    number = folder.name[len("seed_"):]
    return int(number) if number.isdigit() else None


def seed_folders(run_folder: Path) -> list:
    """The ``seed_<N>`` folders of ``run_folder`` that hold a ``metrics.csv``, by seed."""
    return sorted((f for f in run_folder.glob("seed_*") if _seed_of(f) is not None
                   and (f / "metrics.csv").is_file()), key=_seed_of)


def report(folders: list, committed=None) -> str:
    """The table for the seed folders ``folders`` (:func:`seed_folders`), and a closing count."""
    lines = [f"{'seed':>6} {'evals':>5} | {'greedy: first':>13} {'share':>5} {'last':>6} | "
             f"{'noisy: first':>12} {'share':>5} {'last':>6}" + (" | against the summary"
                                                              if committed is not None else "")]
    gaps, below = [], {"greedy": [], "noisy": []}
    for folder in folders:
        seed = _seed_of(folder)
        both = greedy_and_noisy(read_metrics(folder / "metrics.csv"))
        greedy, noisy = both["greedy"], both["noisy"]
        line = (f"{seed:>6} {greedy['evaluations']:>5} | {_first(greedy):>13} {_share(greedy):>5} "
                f"{_last(greedy):>6} | {_first(noisy):>12} {_share(noisy):>5} {_last(noisy):>6}")
        if committed is not None:
            line += " | " + (compare_returns(greedy["returns"], committed[seed])
                             if seed in committed else "not in the summary")
        lines.append(line)
        for name, summary in both.items():
            if summary["stay_share"] is not None and summary["stay_share"] < BAR:
                below[name].append(seed)
        if greedy["stay_share"] is not None and noisy["stay_share"] is not None:
            gaps.append(abs(greedy["stay_share"] - noisy["stay_share"]))
    lines.append(f"{len(folders)} seeds; below {BAR:.0%} of later evaluations >= 475: greedy "
                 f"{below['greedy'] or 'none'}, noisy {below['noisy'] or 'none'}; greedy and noisy "
                 f"shares differ by at most "
                 + (f"{100 * max(gaps):.0f} points" if gaps else "- (no seed reached 475 both ways)"))
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_folder", type=Path,
                        help="a bench_cartpole.py folder of ours, e.g. runs/bench_cartpole/ours")
    parser.add_argument("--summary", type=Path, default=None,
                        help="a committed summary_*.json of the same setting to compare with")
    args = parser.parse_args(argv)
    folders = seed_folders(args.run_folder) if args.run_folder.is_dir() else []
    if not folders:
        parser.error(f"run_folder must be a folder with seed_*/metrics.csv in it, got "
                     f"{str(args.run_folder)!r}")
    try:
        committed = None if args.summary is None else _committed_returns(args.summary)
        print(report(folders, committed))
    except ValueError as error:
        parser.error(str(error))


if __name__ == "__main__":
    main()
