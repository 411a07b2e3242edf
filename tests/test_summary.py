"""Tests for noisy_helpers/summary.py: first step >= threshold, share that stayed, best, last."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import noisy_helpers as nh
from noisy_helpers.summary import format_summary, summarise_evaluations

NAN = math.nan


def rows(evaluations):
    """A metrics dict with an episode row before each evaluation row (as train writes)."""
    steps, returns = [], []
    for step, value in evaluations:
        steps += [step - 1, step]
        returns += [NAN, value]
    return dict(step=np.array(steps, float), eval_return=np.array(returns, float))


def test_a_run_that_solves_dips_and_recovers_by_hand():
    s = summarise_evaluations(rows([(2500, 100), (5000, 480), (7500, 300), (10000, 500),
                                    (12500, 490)]), 475)
    assert s["first_step"] == 5000
    assert s["stay_share"] == pytest.approx(3 / 4)  # 480, 500, 490 of 480, 300, 500, 490
    assert (s["best"], s["best_step"]) == (500, 10000)
    assert (s["last"], s["last_step"]) == (490, 12500)
    assert s["evaluations"] == 5


def test_ties_for_the_best_go_to_the_later_evaluation_as_best_folder_does():
    s = summarise_evaluations(rows([(2500, 500), (5000, 200), (7500, 500)]), 475)
    assert s["best_step"] == 7500


def test_a_run_that_never_solves_has_no_first_step():
    s = summarise_evaluations(rows([(2500, 10), (5000, 20)]), 475)
    assert s["first_step"] is None and s["stay_share"] is None and s["best"] == 20
    assert "never" in format_summary(s)


def test_no_evaluation_yet_says_so():
    s = summarise_evaluations(rows([]), 475)
    assert s["evaluations"] == 0 and s["best"] is None
    assert format_summary(s) == "no evaluation yet"


def test_format_says_how_the_last_compares_with_the_best():
    text = format_summary(summarise_evaluations(rows([(2500, 500), (5000, 250)]), 475))
    assert "first evaluation >= 475: step 2,500; 50% of the 2 evaluations" in text
    assert "last evaluation: 250.0 at step 5,000, 250.0 below the best (50% of it)" in text
    text = format_summary(summarise_evaluations(rows([(2500, 20), (5000, 500)]), 475))
    assert "as good as the best" in text


@given(st.lists(st.floats(0, 500, allow_nan=False), min_size=1, max_size=30),
       st.floats(0, 500, allow_nan=False))
def test_summary_agrees_with_a_plain_loop(values, threshold):
    s = summarise_evaluations(rows([(2500 * (i + 1), v) for i, v in enumerate(values)]),
                              threshold)
    first = next((i for i, v in enumerate(values) if v >= threshold), None)
    assert s["first_step"] == (None if first is None else 2500 * (first + 1))
    if first is not None:
        later = values[first:]
        assert s["stay_share"] == pytest.approx(sum(v >= threshold for v in later) / len(later))
    best = max(i for i, v in enumerate(values) if v == max(values))
    assert s["best_step"] == 2500 * (best + 1) and s["last"] == values[-1]


def test_solved_threshold_is_gymnasiums_reward_threshold():
    assert nh.solved_threshold("CartPole-v1") == 475.0
    assert nh.solved_threshold("NoSuchEnv-v9") is None


@pytest.mark.parametrize("metrics, threshold, error", [
    ({"step": []}, 475, ValueError), ([], 475, ValueError),
    (rows([(1, 1)]), "475", TypeError), (rows([(1, 1)]), True, TypeError),
    (rows([(1, 1)]), NAN, ValueError), (rows([(1, 1)]), math.inf, ValueError),
])
def test_bad_input_summary_is_one_clear_error(metrics, threshold, error):
    with pytest.raises(error, match="metrics|threshold"):
        summarise_evaluations(metrics, threshold)
