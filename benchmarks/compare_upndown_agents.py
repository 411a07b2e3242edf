"""Two UpNDown agents on one protocol, in one run: the shipped agent against an earlier one
taken from git history (issue 17's bar: the new agent scores at least 2x the old one).

    python benchmarks/compare_upndown_agents.py                      # agents/upndown vs 40f4f36's
    python benchmarks/compare_upndown_agents.py --new runs/upndown2 --old-commit 40f4f36

Protocol: sticky actions 0.25 (Machado et al. 2018), whole games, true scores, the noise
removed; game ``i`` of both agents uses seed ``--seed + i``.  The old agent's files are read
from git (``git show COMMIT:agents/upndown/...``, a fixed list of names) into a temporary
export folder and verified against its manifest before loading, like any export.

Prints each agent's mean ± standard deviation, a 95 % interval of the mean, min – max and the
number of distinct scores, and the ratio of the means with a 95 % bootstrap interval (games
resampled within each agent); writes everything, every score included, to
``benchmarks/results/upndown_comparison.json``.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

#: The last commit whose ``agents/upndown`` is the first shipped agent (350k agent steps).
OLD_AGENT_COMMIT = "40f4f36"
#: The files of an export, all that is read from git.
EXPORT_FILES = ("run.json", "metrics.csv", "checkpoint/MANIFEST.json", "checkpoint/agent.json",
                "checkpoint/online.weights.h5", "checkpoint/state.json",
                "checkpoint/selection.json")
_COMMIT = re.compile(r"[0-9a-fA-F]{7,40}")


def check_commit(commit) -> str:
    """``commit`` if it is 7 to 40 hex digits (nothing else reaches ``git``)."""
    if not isinstance(commit, str) or not _COMMIT.fullmatch(commit):
        raise ValueError(f"commit must be 7 to 40 hex digits, got {commit!r}")
    return commit


def export_from_git(commit: str, path: str, out: Path, repository: Path = ROOT) -> Path:
    """Write the export at ``path`` in ``commit`` of ``repository`` into ``out`` (absent or
    empty): the names of :data:`EXPORT_FILES` that the commit has.  ``ValueError`` when the
    commit has no export there."""
    check_commit(commit)
    if not isinstance(path, str) or path.startswith(("-", "/")) or ".." in Path(path).parts:
        raise ValueError(f"path must be a relative path in the repository, got {path!r}")
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise ValueError(f"out must be absent or empty, got {str(out)!r}")
    found = 0
    for name in EXPORT_FILES:
        result = subprocess.run(["git", "-C", str(repository), "show", f"{commit}:{path}/{name}"],
                                capture_output=True, check=False)
        if result.returncode != 0:
            continue  # e.g. selection.json, which exports before best/ lack
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(result.stdout)
        found += 1
    if not (out / "run.json").is_file() or not (out / "checkpoint" / "MANIFEST.json").is_file():
        raise ValueError(f"commit {commit} has no exported agent at {path!r} "
                         f"({found} of its files found)")
    return out


def ratio_interval(new: np.ndarray, old: np.ndarray, draws: int = 10_000,
                   seed: int = 0) -> list:
    """A 95 % percentile-bootstrap interval of ``mean(new) / mean(old)``."""
    rng = np.random.default_rng(seed)
    new_means = new[rng.integers(0, len(new), (draws, len(new)))].mean(axis=1)
    old_means = old[rng.integers(0, len(old), (draws, len(old)))].mean(axis=1)
    ratios = new_means / old_means
    return [float(np.quantile(ratios, 0.025)), float(np.quantile(ratios, 0.975))]


def play(folder: Path, games: int, seed: int) -> tuple:
    """The scores of ``games`` sticky-action games (noise removed) and what was played."""
    import noisy_helpers as nh
    from noisy_helpers.training import load_agent

    agent, selection, saved = load_agent(folder)
    envs = [nh.make_env(saved["env_id"], sticky_actions=0.25) for _ in range(games)]
    try:
        scores = nh.evaluate(agent, envs, [seed + i for i in range(games)], noise=False)
    finally:
        for env in envs:
            env.close()
    return scores, dict(which=selection["which"], step=selection["step"],
                        frames=4 * selection["step"])


def main(argv=None) -> int:
    from bench_upndown_protocols import summarise

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--new", type=Path, default=ROOT / "agents" / "upndown",
                        help="the new agent: an export or a run folder (default: agents/upndown)")
    parser.add_argument("--old-commit", type=str, default=OLD_AGENT_COMMIT,
                        help="the commit whose agents/upndown is the old agent")
    parser.add_argument("--games", type=int, default=30, help="games per agent")
    parser.add_argument("--seed", type=int, default=100_000, help="seed of game 0")
    parser.add_argument("--out", type=Path,
                        default=ROOT / "benchmarks" / "results" / "upndown_comparison.json")
    args = parser.parse_args(argv)
    try:
        check_commit(args.old_commit)
    except ValueError as error:
        parser.error(str(error))
    if args.games < 2:
        parser.error(f"--games must be at least 2, got {args.games}")
    rows = {}
    with tempfile.TemporaryDirectory(prefix="old_upndown_") as scratch:
        try:
            old_folder = export_from_git(args.old_commit, "agents/upndown", Path(scratch) / "a")
        except ValueError as error:
            parser.error(str(error))
        for name, folder in (("old", old_folder), ("new", args.new)):
            start = time.perf_counter()
            scores, played = play(folder, args.games, args.seed)
            rows[name] = dict(agent=str(folder) if name == "new" else
                              f"{args.old_commit}:agents/upndown", **played,
                              seconds=round(time.perf_counter() - start, 1), **summarise(scores))
    ratio = rows["new"]["mean"] / rows["old"]["mean"]
    interval = ratio_interval(np.array(rows["new"]["scores"]), np.array(rows["old"]["scores"]))
    print("Sticky actions 0.25, noise removed, whole games, game i from seed "
          f"{args.seed:,} + i\n")
    print("| agent | agent steps (frames) | games | mean ± std | 95 % interval | min – max "
          "| distinct scores |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, row in rows.items():
        print(f"| {name}: {row['agent']} ({row['which']}) | {row['step']:,} "
              f"({row['frames'] / 1e6:.1f}M) | {row['games']} | {row['mean']:,.0f} ± "
              f"{row['std']:,.0f} | {row['ci95'][0]:,.0f} – {row['ci95'][1]:,.0f} | "
              f"{row['min']:,.0f} – {row['max']:,.0f} | {row['distinct']} of {row['games']} |")
    print(f"\nnew / old = {ratio:.2f} (95 % bootstrap interval {interval[0]:.2f} – "
          f"{interval[1]:.2f}); the bar is 2.00: {'met' if ratio >= 2 else 'not met'}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(dict(protocol="sticky actions 0.25, noise removed",
                                        seed=args.seed, rows=rows, ratio=ratio,
                                        ratio_ci95=interval), indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
