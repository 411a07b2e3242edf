"""Tests for benchmarks/diagnose_noisy_evaluations.py: the greedy and the noisy evaluations of a
run summarised by hand, a re-run compared return by return with a committed summary, and bad
arguments one clear line."""

import json
import math
import re
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import diagnose_noisy_evaluations as diagnose  # noqa: E402

NAN = math.nan


def _metrics(rows):
    """``read_metrics``-like columns from (step, episode_return, eval_return, eval_return_noisy)."""
    columns = np.array(rows, dtype=float).T
    return dict(step=columns[0], episode_return=columns[1], eval_return=columns[2],
                eval_return_noisy=columns[3])


def _write_metrics(folder: Path, rows) -> None:
    folder.mkdir(parents=True)
    lines = ["step,episode_return,eval_return,eval_return_noisy"]
    lines += [",".join("" if math.isnan(v) else repr(float(v)) for v in row) for row in rows]
    (folder / "metrics.csv").write_text("\n".join(lines) + "\n")


# Episode rows (NaN evaluations) between the evaluation rows, which are all that count.
ROWS = [(100, 20.0, NAN, NAN), (2500, NAN, 480.0, 500.0), (3000, 200.0, NAN, NAN),
        (5000, NAN, 300.0, 500.0), (7500, NAN, 500.0, 470.0), (10000, NAN, 500.0, 500.0)]


def test_greedy_and_noisy_evaluations_by_hand():
    both = diagnose.greedy_and_noisy(_metrics(ROWS))
    greedy, noisy = both["greedy"], both["noisy"]
    # greedy: 480 (first >= 475 at 2,500), 300, 500, 500: 3 of 4 from then on
    assert greedy["returns"] == [480.0, 300.0, 500.0, 500.0]
    assert (greedy["first_step"], greedy["stay_share"], greedy["last"]) == (2500, 0.75, 500.0)
    # noisy: 500, 500, 470, 500: 3 of 4
    assert noisy["returns"] == [500.0, 500.0, 470.0, 500.0]
    assert (noisy["first_step"], noisy["stay_share"], noisy["last"]) == (2500, 0.75, 500.0)


def test_a_run_without_noisy_evaluations_is_one_clear_error():
    metrics = _metrics(ROWS)
    del metrics["eval_return_noisy"]
    with pytest.raises(ValueError, match="no 'eval_return_noisy' column"):
        diagnose.greedy_and_noisy(metrics)


@pytest.mark.parametrize("returns, committed, expected", [
    ([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], "the same 3 returns"),
    ([1.0, 2.0], [1.0, 2.0, 3.0], "the same first 2 of 3 returns (the run is not finished)"),
    ([1.0, 2.5, 3.0], [1.0, 2.0, 3.0], "differs from evaluation 2 on"),
    ([2.0], [1.0, 2.0, 3.0], "differs from evaluation 1 on"),
    ([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0], "differs from evaluation 4 on"),
    ([], [], "the same 0 returns"),
])
def test_compare_returns_by_hand(returns, committed, expected):
    assert diagnose.compare_returns(returns, committed) == expected


def test_the_report_counts_the_seeds_below_the_bar_both_ways_and_compares_with_a_summary(
        tmp_path, capsys):
    runs = tmp_path / "ours"
    _write_metrics(runs / "seed_7", ROWS)  # 75 % both ways: above the bar
    falls = [(2500, NAN, 500.0, 500.0), (5000, NAN, 100.0, 110.0), (7500, NAN, 120.0, 500.0)]
    _write_metrics(runs / "seed_12", falls)  # greedy 1 of 3, noisy 2 of 3: both below 70 %
    (runs / "seed_x").mkdir()  # not a seed: left out
    summary = tmp_path / "summary.json"
    summary.write_text(json.dumps({"results": {"ours": {
        "7": {"returns": [480.0, 300.0, 500.0, 500.0]},
        "12": {"returns": [500.0, 100.0, 125.0]}}}}))
    diagnose.main([str(runs), "--summary", str(summary)])
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[0] for line in lines[1:3]] == ["7", "12"]  # by seed, as numbers
    assert "the same 4 returns" in lines[1]
    assert "differs from evaluation 3 on" in lines[2]
    assert lines[2].split("|")[1].split() == ["2,500", "33%", "120.0"]
    assert lines[2].split("|")[2].split() == ["2,500", "67%", "500.0"]
    assert lines[-1] == ("2 seeds; below 70% of later evaluations >= 475: greedy [12], noisy [12]; "
                         "greedy and noisy shares differ by at most 33 points")


@pytest.mark.parametrize("make, message", [
    (lambda tmp: [str(tmp / "absent")], r"run_folder must be a folder with seed_\*/metrics\.csv"),
    (lambda tmp: [str(tmp)], r"run_folder must be a folder with seed_\*/metrics\.csv"),
    (lambda tmp: [str(tmp / "ours"), "--summary", str(tmp / "absent.json")],
     "--summary .* is not a bench_cartpole summary"),
    (lambda tmp: [str(tmp / "ours"), "--summary", str(tmp / "ours" / "seed_1" / "metrics.csv")],
     "--summary .* is not a bench_cartpole summary"),
])
def test_bad_arguments_are_one_clear_line(make, message, tmp_path, capsys):
    _write_metrics(tmp_path / "ours" / "seed_1", ROWS)
    with pytest.raises(SystemExit) as exit_info:
        diagnose.main(make(tmp_path))
    assert exit_info.value.code == 2
    printed = capsys.readouterr()
    assert printed.out == "" and "Traceback" not in printed.err
    assert re.search(message, printed.err.strip().splitlines()[-1])
