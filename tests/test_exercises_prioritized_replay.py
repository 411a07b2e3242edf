"""The checkers of notebook 02's exercises (prioritized replay) explain wrong answers, accept the
reference solutions of ``solutions/02_prioritized_replay.py``, and compute the truth right.

Each exercise has a table of likely wrong answers with the fragment of the message the checker
must give for it. The maths: Schaul et al. 2016, Eq. 1 and §3.3 (rank-based), §3.4 (IS weights, β).
"""


import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import noisy_helpers as nh
from noisy_helpers.exercises import CORRECT, UNANSWERED, check
from noisy_helpers.exercises import prioritized_replay as checkers
from exercise_kit import assert_wrong, load_solutions  # noqa: E402


SOLUTIONS = load_solutions("02_prioritized_replay")


def probabilities_strategy(min_size=2, max_size=30):
    """Random probability vectors, every entry at least 1e-4 of the largest."""
    return st.lists(st.floats(1e-4, 1.0), min_size=min_size, max_size=max_size).map(
        lambda values: np.array(values) / np.sum(values))


# Exercise 1 ------------------------------------------------------------------------------------


def _sampled_corrected_mean(g, probabilities, beta):
    """A Monte Carlo estimate instead of the exact expectation (a new generator on every call)."""
    rng = np.random.default_rng()
    drawn = rng.choice(len(g), size=10_000, p=probabilities)
    return float(np.mean((len(g) * probabilities[drawn]) ** -beta * g[drawn]))


def _self_normalised(g, probabilities, beta):
    weights = (len(g) * probabilities) ** -beta
    return float(np.sum(probabilities * weights * g) / np.sum(probabilities * weights))


def _raises(*_):
    raise ValueError("oops")


WRONG_CORRECTED_MEANS = [
    (lambda g, p, b: SOLUTIONS.corrected_mean(g, p, b) / np.max((len(g) * p) ** -b),
     "without dividing by the largest weight"),
    (lambda g, p, b: float(np.sum(p * (len(g) * p) ** b * g)), "with a minus"),
    (lambda g, p, b: float(np.mean((len(g) * p) ** -b * g)), "a plain average is over i ~ U"),
    (lambda g, p, b: float(np.sum(p * p ** -b * g)), "you left out N"),
    (_sampled_corrected_mean, "not by sampling"),
    (lambda g, p, b: p * (len(g) * p) ** -b * g, "return one number"),
    (lambda g, p, b: float(np.sum(p * g)), "at β = 1 it must equal the uniform mean"),
    (lambda g, p, b: float(np.mean(g)), "at β = 0 nothing is corrected"),
    (_self_normalised, "wrong in between"),
    (_raises, "your answer raised ValueError: oops"),
]


@pytest.mark.parametrize("answer, fragment", WRONG_CORRECTED_MEANS)
def test_exercise_1_says_what_is_wrong_with_a_wrong_corrected_mean(answer, fragment):
    assert_wrong(check("02.1", answer), fragment)


def test_exercise_1_the_reference_corrected_mean_is_correct_and_checks_by_hand():
    assert check("02.1", SOLUTIONS.corrected_mean).status == CORRECT
    # g = [1, 3], P = [1/4, 3/4]: N P = [1/2, 3/2]. β = 1: 1/4·2·1 + 3/4·(2/3)·3 = 2 = mean(g);
    # β = 0: 1/4 + 9/4 = 2.5 = E_P[g].
    g, p = np.array([1.0, 3.0]), np.array([0.25, 0.75])
    assert SOLUTIONS.corrected_mean(g, p, 1.0) == pytest.approx(2.0)
    assert SOLUTIONS.corrected_mean(g, p, 0.0) == pytest.approx(2.5)


def test_exercise_1_a_function_that_still_raises_not_implemented_is_unanswered():
    def corrected_mean(g, probabilities, beta):
        raise NotImplementedError

    assert check("02.1", corrected_mean).status == UNANSWERED


@settings(max_examples=50, deadline=None)
@given(probabilities_strategy(), st.data())
def test_exercise_1_at_beta_one_the_correction_gives_the_uniform_mean_for_any_p_and_g(p, data):
    g = np.array(data.draw(st.lists(st.floats(-10, 10), min_size=len(p), max_size=len(p))))
    assert SOLUTIONS.corrected_mean(g, p, 1.0) == pytest.approx(g.mean(), abs=1e-9)
    assert SOLUTIONS.corrected_mean(g, p, 0.0) == pytest.approx(np.dot(p, g), abs=1e-9)
    beta = data.draw(st.floats(0, 1))
    assert SOLUTIONS.corrected_mean(g, p, beta) == pytest.approx(
        checkers._corrected_mean(g, p, beta), abs=1e-9)


# Exercise 2 ------------------------------------------------------------------------------------

OVER_ALL_STEPS = nh.linear_schedule(0.4, 1.0, 2_000_000)  # duration: all steps, not the learning ones

WRONG_BETAS = [
    (lambda step: min(1.0, 0.4 + 0.001 * ((step - 50_000) // 4)), "original notebook's per-call rule"),
    (lambda step: OVER_ALL_STEPS(step), "shift the step"),
    (lambda step: OVER_ALL_STEPS(step - 50_000), "exactly 1 at step 2,000,000"),
    (lambda step: 0.4 + 0.6 * ((step - 50_000) / 1_950_000) ** 2, "linear in the step"),
    (lambda step: 0.4, "exactly 1 at step 2,000,000"),
]


@pytest.mark.parametrize("my_beta, fragment", WRONG_BETAS)
def test_exercise_2_says_what_is_wrong_with_a_wrong_schedule(my_beta, fragment):
    assert_wrong(check("02.2", my_beta), fragment)


def test_exercise_2_the_reference_schedule_is_correct_and_checks_by_hand():
    assert check("02.2", SOLUTIONS.my_beta).status == CORRECT
    assert SOLUTIONS.my_beta(50_000) == 0.4
    assert SOLUTIONS.my_beta(1_025_000) == pytest.approx(0.7)  # halfway
    assert SOLUTIONS.my_beta(2_000_000) == 1.0


def test_exercise_2_the_original_rule_reaches_one_at_step_52_400():
    original = checkers._original_beta
    assert original(52_396) < 1.0 and original(52_400) == 1.0


# Exercise 3 ------------------------------------------------------------------------------------


def _normalise(p, alpha):
    p = np.asarray(p, dtype=float) ** alpha
    return p / p.sum()


def _ranks_from(order):
    ranks = np.empty(len(order))
    ranks[order] = np.arange(1, len(order) + 1)
    return ranks


def _ties_last_index_first(td, alpha):
    order = np.lexsort((-np.arange(len(td)), -np.abs(td)))  # by -|δ|, ties: the higher index first
    return _normalise(1.0 / _ranks_from(order), alpha)


WRONG_RANK_BASED = [
    (lambda td, a: _normalise(np.abs(td) + 1e-6, a), "proportional probabilities of Eq. 1"),
    (lambda td, a: _normalise(np.abs(td), a), "proportional probabilities of Eq. 1"),
    (lambda td, a: _normalise(1.0 / _ranks_from(np.argsort(np.abs(td), kind="stable")), a),
     "largest |δ|, not the smallest"),
    (lambda td, a: _normalise(1.0 / _ranks_from(np.argsort(-td, kind="stable")), a), "not by δ"),
    (lambda td, a: (1.0 / _ranks_from(np.argsort(-np.abs(td), kind="stable"))) ** a, "not normalised"),
    (lambda td, a: _normalise(1.0 / _ranks_from(np.argsort(-np.abs(td), kind="stable")), 1.0),
     "α is missing"),
    (_ties_last_index_first, "break ties by index"),
    (lambda td, a: _normalise(1.0 / (_ranks_from(np.argsort(-np.abs(td), kind="stable")) - 1), a),
     "not finite"),
    (lambda td, a: 1.0, "one probability per TD error"),
    (lambda td, a: _normalise(1.0 / _ranks_from(np.argsort(-np.abs(td), kind="stable")) + 0.1, a),
     "wrong already on td_errors = [0, 0.5, -1, 2, 4]"),
]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the 1/0 of a wrong answer
@pytest.mark.parametrize("answer, fragment", WRONG_RANK_BASED)
def test_exercise_3_says_what_is_wrong_with_wrong_rank_based_probabilities(answer, fragment):
    assert_wrong(check("02.3", answer), fragment)


def test_exercise_3_the_reference_is_correct_and_checks_by_hand():
    assert check("02.3", SOLUTIONS.rank_based_probabilities).status == CORRECT
    # |δ| = [0, 0.5, 1, 2, 4]: ranks [5, 4, 3, 2, 1]; at α = 1, P ∝ [1/5, 1/4, 1/3, 1/2, 1].
    expected = np.array([1 / 5, 1 / 4, 1 / 3, 1 / 2, 1.0])
    np.testing.assert_allclose(
        SOLUTIONS.rank_based_probabilities([0.0, 0.5, -1.0, 2.0, 4.0], 1.0), expected / expected.sum())
    # Ties: |1| = |-1|, the lower index gets rank 1.
    np.testing.assert_allclose(SOLUTIONS.rank_based_probabilities([1.0, -1.0, 0.5], 1.0),
                               np.array([1, 1 / 2, 1 / 3]) / (11 / 6))


def test_exercise_3_the_checker_has_cases_with_and_without_ties():
    ties = [has_ties for _, _, has_ties in checkers._exercise_3_cases()]
    assert any(ties) and not all(ties)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-100, 100), min_size=1, max_size=40), st.floats(0.0, 1.0),
       st.floats(0.01, 100.0))
def test_exercise_3_rank_based_p_sums_to_one_follows_the_order_and_ignores_scale_and_sign(
        td, alpha, scale):
    td = np.array(td)
    p = SOLUTIONS.rank_based_probabilities(td, alpha)
    assert p.sum() == pytest.approx(1.0)
    order = np.argsort(-np.abs(td), kind="stable")
    assert np.all(np.diff(p[order]) <= 1e-15)  # the larger |δ| (or the lower index), the larger P
    if len(np.unique(np.abs(td))) == len(np.unique(np.abs(td * scale))):  # no new ties by rounding
        np.testing.assert_allclose(SOLUTIONS.rank_based_probabilities(-scale * td, alpha), p)
    np.testing.assert_allclose(p, checkers._rank_based(td, alpha))


# Exercise 4 ------------------------------------------------------------------------------------

TRUTH_4 = {eps: checkers._steps_until_replay(eps) for eps in (1e-6, 0.01)}
P0 = {eps: checkers._zero_error_probability(eps) for eps in (1e-6, 0.01)}


def _no_alpha(eps):
    return checkers._steps_per_hit(checkers._zero_error_probability(eps, alpha=1.0))


WRONG_STEPS = [
    ((_no_alpha(1e-6), _no_alpha(0.01)), "with ε = 10^-6: α is missing"),
    ((TRUTH_4[1e-6], _no_alpha(0.01)), "with ε = 0.01: α is missing"),
    ((TRUTH_4[1e-6] / 4, TRUTH_4[0.01] / 4), "a number of batches"),
    ((4 / P0[1e-6], 4 / P0[0.01]), "one draw per batch"),
    ((1 / P0[1e-6], 1 / P0[0.01]), "single draws"),
    ((TRUTH_4[0.01], TRUTH_4[1e-6]), "swapped"),
    ((-TRUTH_4[1e-6], TRUTH_4[0.01]), "positive"),
    ((TRUTH_4[1e-6], 1.2 * TRUTH_4[0.01]), "with ε = 0.01: not within 5 %"),
    (("many", TRUTH_4[0.01]), "your answer raised ValueError"),
]


@pytest.mark.parametrize("answers, fragment", WRONG_STEPS)
def test_exercise_4_says_what_is_wrong_with_wrong_step_counts(answers, fragment):
    assert_wrong(check("02.4", *answers), fragment)


def test_exercise_4_the_reference_and_answers_within_five_percent_are_correct():
    verdict = check("02.4", SOLUTIONS.steps_until_replay_eps_1e_6, SOLUTIONS.steps_until_replay_eps_0_01)
    assert verdict.status == CORRECT
    assert "5.0 × 10^8" in verdict.message and "2.0 × 10^6" in verdict.message
    approximate = {eps: 4 / (32 * P0[eps]) for eps in P0}  # ≈ 1 / (32 P(0)) batches of 4 steps
    assert check("02.4", approximate[1e-6], approximate[0.01]).status == CORRECT
    assert check("02.4", 1.04 * TRUTH_4[1e-6], 0.96 * TRUTH_4[0.01]).status == CORRECT


def test_exercise_4_checks_by_hand():
    # ε = 0.01: ε^0.6 = 10^-1.2 ≈ 0.0631 against 999,999 × 1.01^0.6 ≈ 1.006e6: P(0) ≈ 6.27e-8,
    # one batch every 4 steps hits with ≈ 32 P(0) ≈ 2.0e-6: ≈ 2.0e6 steps.
    assert P0[0.01] == pytest.approx(10**-1.2 / (999_999 * 1.01**0.6 + 10**-1.2))
    assert TRUTH_4[0.01] == pytest.approx(1.99e6, rel=0.01)
    assert TRUTH_4[1e-6] == pytest.approx(4 / (32 * 10**-3.6 / 10**6), rel=0.01)


@pytest.mark.parametrize("eps", [1e-6, 0.01])
def test_exercise_4_the_zero_error_probability_is_the_buffers_own(eps):
    n = 1000
    buffer = nh.PrioritizedReplayBuffer(n, obs_shape=(1,), alpha=0.6, eps=eps, seed=0)
    for _ in range(n):
        buffer.add(np.zeros(1), 0, 0.0, np.zeros(1), False)
    everyone = buffer.sample(n)  # equal priorities: every slot exactly once
    buffer.update_priorities(everyone.indices, np.where(everyone.indices == 0, 0.0, 1.0))
    assert buffer.tree[0] / buffer.tree.total == pytest.approx(
        checkers._zero_error_probability(eps, n=n), rel=1e-9)


def test_exercise_4_a_stratified_batch_contains_a_rare_transition_with_probability_k_p():
    # One transition with δ = 0 among 19 with |δ| = 1, ε = 0.05: P(0) ≈ 0.0089; batches of 8.
    n, k, eps, batches = 20, 8, 0.05, 4000
    buffer = nh.PrioritizedReplayBuffer(n, obs_shape=(1,), alpha=0.6, eps=eps, seed=1)
    for _ in range(n):
        buffer.add(np.zeros(1), 0, 0.0, np.zeros(1), False)
    everyone = buffer.sample(n)
    buffer.update_priorities(everyone.indices, np.where(everyone.indices == 0, 0.0, 1.0))
    hits = sum(0 in buffer.sample(k).indices for _ in range(batches))
    per_batch = 1 / checkers._steps_per_hit(checkers._zero_error_probability(eps, n=n), k, 1)
    assert per_batch == pytest.approx(k * checkers._zero_error_probability(eps, n=n), rel=0.05)
    sd = np.sqrt(batches * per_batch * (1 - per_batch))
    assert abs(hits - batches * per_batch) < 4 * sd


# Exercise 5 ------------------------------------------------------------------------------------

WRONG_FACTORS = [
    (lambda b, m, n, beta: (m / np.min(b)) ** beta, "the inverse factor"),
    (lambda b, m, n, beta: np.min(b) / m, "β is missing"),
    (lambda b, m, n, beta: (np.max(b) / m) ** beta, "least likely transition, not its most likely"),
    (lambda b, m, n, beta: (np.asarray(b) / m) ** beta, "return one number"),
    (lambda b, m, n, beta: (n * np.min(b)) ** -beta, "divide a transition's batch-max weight"),
]


@pytest.mark.parametrize("factor, fragment", WRONG_FACTORS)
def test_exercise_5_says_what_is_wrong_with_a_wrong_factor(factor, fragment):
    assert_wrong(check("02.5", factor, "buffer"), fragment)


@pytest.mark.parametrize("never_larger, fragment", [
    ("batch", "not never_larger"),
    ("both", 'must be "batch" or "buffer"'),
    (1, 'must be "batch" or "buffer"'),
])
def test_exercise_5_says_what_is_wrong_with_never_larger(never_larger, fragment):
    assert_wrong(check("02.5", SOLUTIONS.batch_over_buffer_factor, never_larger), fragment)


def test_exercise_5_the_reference_is_correct_and_checks_by_hand():
    assert check("02.5", SOLUTIONS.batch_over_buffer_factor, SOLUTIONS.never_larger).status == CORRECT
    assert check("02.5", SOLUTIONS.batch_over_buffer_factor, " Buffer").status == CORRECT
    # Batch P = [0.2, 0.1], min over the buffer 0.05: the factor is (0.1 / 0.05)^β.
    assert SOLUTIONS.batch_over_buffer_factor([0.2, 0.1], 0.05, 100, 1.0) == pytest.approx(2.0)
    assert SOLUTIONS.batch_over_buffer_factor([0.2, 0.1], 0.05, 100, 0.5) == pytest.approx(np.sqrt(2))


def test_exercise_5_the_checker_has_batches_with_and_without_the_rarest_transition():
    truths = [checkers._batch_over_buffer_factor(*case) for case in checkers._exercise_5_cases()]
    assert max(truths) > 1.5 and truths[-1] == pytest.approx(1.0)


@settings(max_examples=50, deadline=None)
@given(probabilities_strategy(min_size=2, max_size=50), st.floats(0.0, 1.0), st.data())
def test_exercise_5_batch_max_weights_are_the_buffer_max_weights_times_the_factor(p, beta, data):
    batch = np.array(data.draw(st.lists(st.sampled_from(list(p)), min_size=1, max_size=16)))
    factor = SOLUTIONS.batch_over_buffer_factor(batch, p.min(), len(p), beta)
    assert factor >= 1.0
    by_batch = nh.importance_weights(batch, len(p), beta).astype(float)
    by_buffer = (len(p) * batch) ** -beta / (len(p) * p.min()) ** -beta
    np.testing.assert_allclose(by_batch, factor * by_buffer, rtol=1e-5)
    assert checkers._batch_over_buffer_factor(batch, p.min(), len(p), beta) == pytest.approx(
        factor, rel=1e-5)
