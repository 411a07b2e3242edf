"""The checkers of notebook 06 (exploration): each recognises the likely wrong answers and says
what is wrong; the truths they compute agree with the package and with counts done by hand."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import noisy_helpers as nh
from noisy_helpers import exploration
from noisy_helpers.exercises import CORRECT, UNANSWERED, check
from noisy_helpers.exercises import exploration as checkers
from exercise_kit import assert_wrong, load_solutions  # noqa: E402


SOLUTIONS = load_solutions("06_exploration")


# --------------------------------------------------------------------------------- the study
def test_the_committed_fixed_study_is_the_notebooks_plan_with_a_budget_of_200_episodes():
    _, rows, sizes, seeds, budget = checkers.fixed_study()
    assert sizes == [3, 4, 5, 6, 7, 8, 10, 12, 16, 20] and seeds == list(range(20)) and budget == 200
    assert len(rows) == len(exploration.ABLATIONS) * len(sizes) * len(seeds)


# ------------------------------------------------------------------------------------- 06.1
def test_adding_size_14_trains_eight_settings_times_twenty_seeds_and_reads_the_1600_others():
    assert checkers.trials_after_adding(14) == (160, 1600)


def test_any_new_size_trains_160_trials_since_no_result_json_is_there_yet():
    assert checkers.trials_after_adding(9) == (160, 1600)


@pytest.mark.parametrize("trained, read, fragment", [
    (1600, 160, "swapped"),
    (1760, 1600, "not trained again"),
    (160, 1760, "no result.json yet"),
    (8, 1600, "count trials, not seeds"),
    (160, 80, "count trials, not seeds"),
    (20, 1600, "every setting"),
    (160, 200, "every setting"),
    (161, 1600, "new_trials_to_train"),
    (160, 1599, "results_read_from_disk"),
    (160.5, 1600, "whole number"),
    (True, 1600, "whole number"),
])
def test_06_1_says_what_is_wrong_with_a_count(trained, read, fragment):
    assert_wrong(check("06.1", trained, read), fragment)


def test_06_1_takes_numpy_and_float_integers():
    assert check("06.1", np.int64(160), 1600.0).status == CORRECT


# ------------------------------------------------------------------------------------- 06.2
def test_a_noisy_dense_with_sigma0_zero_is_deterministic_yet_its_sigma_has_a_gradient():
    assert checkers.sigma_zero_facts() == dict(explores_at_start=False, sigma_can_grow=True)


@pytest.mark.parametrize("explores, grows, fragment", [
    (True, True, "explores_at_start"),
    (True, False, "explores_at_start"),
    (False, False, "sigma_can_grow"),
    ("no", True, "True or False"),
    (False, 1, "True or False"),
])
def test_06_2_says_which_answer_is_wrong_without_giving_the_other_away(explores, grows, fragment):
    verdict = check("06.2", explores, grows)
    assert_wrong(verdict, fragment)
    other = {"explores_at_start": "sigma_can_grow", "sigma_can_grow": "explores_at_start"}
    assert other.get(fragment, "neither") not in verdict.message


def test_06_2_takes_numpy_booleans():
    assert check("06.2", np.bool_(False), np.bool_(True)).status == CORRECT


# ------------------------------------------------------------------------------------- 06.3
def test_p_goal_by_hand_on_three_draws_of_three_cells():
    right = np.array([[1, 1, 1], [1, 1, 0], [0, 1, 1]], dtype=bool)
    assert checkers.p_goal_blocks(right, 3) == pytest.approx(1 / 3)             # held: draw 0 only
    assert checkers.p_goal_blocks(right, 1) == pytest.approx(2 / 3 * 1 * 2 / 3)  # redrawn: per cell
    assert checkers.p_goal_blocks(right, 2) == pytest.approx(2 / 3 * 2 / 3)      # [0, 2) then [2]
    assert checkers.p_goal_blocks(right, 2, drop_last=True) == pytest.approx(2 / 3)
    # blocks from the end: [0] then [1, 3)
    assert checkers.p_goal_blocks(right, 2, from_end=True) == pytest.approx(2 / 3 * 2 / 3)


def _always_held(right, k):
    return float(np.asarray(right).all(axis=1).mean())


def _always_redrawn(right, k):
    return float(np.prod(np.asarray(right).mean(axis=0)))


def _drops_last_block(right, k):
    n = right.shape[1]
    return float(np.prod([right[:, s:s + k].all(axis=1).mean() for s in range(0, n - k + 1, k)]))


def _blocks_from_the_end(right, k):
    return checkers.p_goal_blocks(right, k, from_end=True)


def _mean_over_blocks(right, k):
    blocks = range(0, right.shape[1], k)
    return float(np.mean([right[:, s:s + k].all(axis=1).mean() for s in blocks]))


@pytest.mark.parametrize("function, fragment", [
    (_always_held, "does not depend on k"),
    (_always_redrawn, "redrawn-noise probability for every k"),
    (_drops_last_block, "last block is shorter"),
    (_blocks_from_the_end, "blocks start at the first cell"),
    (_mean_over_blocks, "product over blocks"),
])
def test_06_3_says_what_is_wrong_with_a_function(function, fragment):
    assert_wrong(check("06.3", function), fragment)


def test_06_3_a_function_that_fails_is_a_wrong_answer():
    assert_wrong(check("06.3", lambda right, k: right[:, k + 100]), "IndexError")


def test_06_3_a_function_that_returns_the_per_block_values_is_told_to_return_one_number():
    assert_wrong(check("06.3", lambda right, k: right.mean(axis=0)), "one number")


@settings(max_examples=40, deadline=None)
@given(draws=st.integers(1, 30), size=st.integers(1, 12), k=st.integers(1, 14),
       seed=st.integers(0, 10**6))
def test_the_reference_solution_is_section_2s_held_at_k_n_redrawn_at_k_1_and_the_checkers_truth(
        draws, size, k, seed):
    right = np.random.default_rng(seed).random((draws, size)) < 0.7
    assert SOLUTIONS.p_goal_every_k(right, k) == pytest.approx(checkers.p_goal_blocks(right, k))
    assert SOLUTIONS.p_goal_every_k(right, size) == pytest.approx(right.all(axis=1).mean())
    assert SOLUTIONS.p_goal_every_k(right, 1) == pytest.approx(np.prod(right.mean(axis=0)))


@settings(max_examples=20, deadline=None)
@given(size=st.integers(2, 10), seed=st.integers(0, 10**6))
def test_holding_a_draw_longer_never_hurts_when_k_divides_a_multiple(size, seed):
    """On cells positively correlated within a draw, merging blocks (k to 2k, both dividing N)
    cannot lower P: P[A and B] >= P[A] P[B] for increasing events of associated variables."""
    right = checkers.correlated_right(2_000, size, seed)
    for k in [d for d in range(1, size + 1) if size % (2 * d) == 0]:
        assert checkers.p_goal_blocks(right, 2 * k) >= checkers.p_goal_blocks(right, k) - 0.02


# ------------------------------------------------------------------------------------- 06.4
def test_the_diagonal_counts_agree_with_the_maps_drawn_by_hand():
    counts = checkers.diagonal_ones()
    assert len(counts) == 20 and all(0 <= c <= 8 for c in counts)
    map0 = nh.DeepSeaEnv(8, randomize_actions=True, mapping_seed=0).right_action
    assert counts[0] == sum(int(map0[i, i] == 1) for i in range(8))
    assert [8 - c for c in counts] == checkers.diagonal_ones(action=0)


@pytest.mark.parametrize("mistake, fragment", [
    (dict(whole_map=True), "whole map"),
    (dict(action=0), "right action is 0"),
    (dict(action=0, whole_map=True), "right action is 0"),
    (dict(seeds=range(1, 21)), "mapping_seed = 0"),
    (dict(size=10), "not the counts"),
    (dict(seeds=range(19)), "20 numbers"),
])
def test_06_4_says_what_is_wrong_with_the_counts(mistake, fragment):
    assert_wrong(check("06.4", checkers.diagonal_ones(**mistake)), fragment)


def test_06_4_takes_an_array():
    assert check("06.4", np.array(SOLUTIONS.ones_on_diagonal)).status == CORRECT


# ------------------------------------------------------------------------------------- 06.5
def _noisynet_n8():
    _, rows, _, _, _ = checkers.fixed_study()
    return [r["first_goal_episode"] for r in rows if r["group"] == "noisynet" and r["size"] == 8]


def test_the_median_by_hand_counts_a_run_without_a_goal_as_infinity():
    firsts = _noisynet_n8()
    ordered = sorted(math.inf if f is None else f for f in firsts)
    middle = len(ordered) // 2         # 20 runs: the mean of the 10th and 11th smallest
    by_hand = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    summary = exploration.first_goal_summary(checkers.fixed_study()[1], 200)
    assert summary["noisynet"][8]["median"] == by_hand == SOLUTIONS.median_first_goal


def test_06_5_has_a_wrong_answer_for_leaving_out_the_failed_runs():
    firsts = _noisynet_n8()
    assert None in firsts, "the committed study changed: no NoisyNet run at N = 8 failed"
    found = [f for f in firsts if f is not None]
    assert_wrong(check("06.5", float(np.median(found))), "count runs without a goal as infinity")
    assert_wrong(check("06.5", float(np.mean(found))), "mean")


@pytest.mark.parametrize("group, size, fragment", [
    ("noise-per-episode", 8, "another setting"),
    ("noise-held-4-steps", 8, "another setting"),
    ("noisynet", 3, "another size"),
])
def test_06_5_says_when_the_rows_are_of_another_setting_or_size(group, size, fragment):
    summary = exploration.first_goal_summary(checkers.fixed_study()[1], 200)
    assert summary[group][size]["median"] != summary["noisynet"][8]["median"]
    assert_wrong(check("06.5", summary[group][size]["median"]), fragment)


@pytest.mark.parametrize("answer, fragment", [
    (math.inf, "fewer than half"),
    (-5.0, "not the median"),
])
def test_06_5_says_what_is_wrong_with_other_numbers(answer, fragment):
    assert_wrong(check("06.5", answer), fragment)


def test_06_5_when_half_the_seeds_failed_the_median_is_inf(monkeypatch):
    folder, rows, sizes, seeds, budget = checkers.fixed_study()
    failed = [dict(r, first_goal_episode=None) if r["group"] == "noisynet" and r["size"] == 8
              and 2 * r["seed"] < len(seeds) else r for r in rows]     # half the seeds fail
    monkeypatch.setattr(checkers, "fixed_study", lambda: (folder, failed, sizes, seeds, budget))
    assert check("06.5", math.inf).status == CORRECT
    assert_wrong(check("06.5", 28.0), "half the seeds or more never found")


# ------------------------------------------------------------------------------ placeholders
@pytest.mark.parametrize("exercise_id, answers", [
    ("06.1", (None, 300)), ("06.1", (30, None)), ("06.2", (None, True)), ("06.4", (None,)),
    ("06.5", (None,)),
])
def test_a_placeholder_in_any_answer_is_not_answered_yet(exercise_id, answers):
    assert check(exercise_id, *answers).status == UNANSWERED
