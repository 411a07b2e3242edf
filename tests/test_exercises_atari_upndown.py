"""The checkers of notebook 05's exercises: what they accept, and what they say about the likely
wrong answers. The placeholder and reference-solution runs are in ``tests/test_exercises.py``."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import noisy_helpers as nh
from noisy_helpers.exercises import CORRECT, UNANSWERED, WRONG, check
from noisy_helpers.exercises import atari_upndown as checkers
from exercise_kit import assert_wrong, load_solutions  # noqa: E402


SOLUTIONS = load_solutions("05_atari_upndown")


# ------------------------------------------------------------------ 05.1 stickier actions
def test_the_package_plays_four_frames_per_agent_step_and_05_1_reads_it_from_the_environment():
    assert checkers.frame_skip() == 4


def test_05_1_by_hand_at_a_quarter_a_whole_step_is_ignored_once_in_256_steps():
    verdict = check("05.1", lambda p: p * p * p * p)
    assert verdict.status == CORRECT, verdict
    assert "1 step in 256" in verdict.message


@pytest.mark.parametrize("answer, fragment", [
    (lambda p: p, "one emulator frame"),
    (lambda p: 1 - (1 - p) ** 4, "at least one frame"),
    (lambda p: 4 * p, "not a probability"),
    (lambda p: (1 - p) ** 4, "no frame is sticky"),
    (lambda p: 1 - p ** 4, "complement"),
    (lambda p: p ** 2, "how many frames is one agent step"),
    (lambda p: p ** 3, "how many frames is one agent step"),
    (lambda p: p ** 4 - 0.5, "[0, 1]"),
    (lambda p: float("nan"), "finite"),
    (lambda p: "often", "must be a number"),
])
def test_05_1_wrong_answers_are_explained(answer, fragment):
    assert_wrong(check("05.1", answer), fragment)


def test_05_1_a_function_that_fails_is_a_wrong_answer_with_its_error():
    verdict = check("05.1", lambda p: p ** SOLUTIONS.missing)
    assert_wrong(verdict, "AttributeError")


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 8).filter(lambda k: k != 4))
def test_05_1_any_other_number_of_frames_is_wrong_and_no_message_gives_the_exponent_away(k):
    verdict = check("05.1", lambda p: p ** k)
    assert verdict.status == WRONG
    assert "p^4" not in verdict.message and "p**4" not in verdict.message


@settings(max_examples=30, deadline=None)
@given(st.floats(0.0, 1.0))
def test_05_1_the_reference_solution_is_a_probability_that_falls_with_the_frame_skip(p):
    value = SOLUTIONS.ignored_for_a_whole_step(p)
    assert 0.0 <= value <= p
    assert math.isclose(value, p ** checkers.frame_skip())


# ------------------------------------------------------------------ 05.2 bytes per slot
def test_05_2_by_hand_a_slot_is_the_frame_five_small_fields_and_two_tree_nodes():
    by_hand = 84 * 84 + 4 + 4 + 1 + 1 + 8 + 2 * 8   # frame, int32, float32, 2 uint8, int64, 2 float64
    assert nh.PrioritizedFrameReplayBuffer(2**20).nbytes / 2**20 == by_hand == 7090
    verdict = check("05.2", by_hand)
    assert verdict.status == CORRECT and "7,090" in verdict.message, verdict


@pytest.mark.parametrize("answer, fragment", [
    (7056, "the frame alone"),
    (7056 + 4 + 4 + 1 + 1 + 8, "the sum tree is an array"),
    (7056 + 4 + 4 + 1 + 1 + 8 + 8, "2n nodes, not n"),
    (7056 + 4 + 4 + 1 + 1 + 16, "_written_at too"),
    (4 * 7056 + 34, "one frame, not a stack"),
    (2 * 7056 + 34, "one frame, not a stack"),
    (7090 + 4, "more than the buffer holds"),
    (7090 - 3, "fewer bytes"),
    ("7090 bytes", "must be a number"),
    (True, "must be a number"),
])
def test_05_2_wrong_answers_are_explained(answer, fragment):
    assert_wrong(check("05.2", answer), fragment)


def test_05_2_an_answer_off_by_a_little_is_not_told_by_how_much():
    for answer in (7089, 7091, 7100):
        verdict = check("05.2", answer)
        assert verdict.status == WRONG and not any(c.isdigit() for c in verdict.message), verdict


# ------------------------------------------------------------------ 05.3 noise at test time
def _flat(*variables):
    return np.concatenate([np.ravel(v.numpy()) for v in variables]).astype(np.float64)


@pytest.mark.parametrize("answer, fragment", [
    (lambda l: np.mean(np.abs(_flat(l.kernel_sigma, l.bias_sigma)))
     / np.mean(np.abs(_flat(l.kernel_mu, l.bias_mu))), "upside down"),
    (lambda l: np.mean(_flat(l.kernel_mu, l.bias_mu))
     / np.mean(np.abs(_flat(l.kernel_sigma, l.bias_sigma))), "cancel in a plain mean"),
    (lambda l: np.mean(np.abs(_flat(l.kernel_mu, l.bias_mu)))
     / np.mean(_flat(l.kernel_sigma, l.bias_sigma)), "averages |σ|"),
    (lambda l: np.mean(np.abs(l.kernel_mu.numpy())) / np.mean(np.abs(l.kernel_sigma.numpy())),
     "the kernel only"),
    (lambda l: np.mean(np.abs(_flat(l.kernel_mu, l.bias_mu)) / np.abs(_flat(l.kernel_sigma, l.bias_sigma))),
     "mean of the ratios"),
    (lambda l: 1.0, "not mean |μ| / mean |σ|"),
    (lambda l: l.mu, "AttributeError"),
])
def test_05_3_wrong_answers_are_explained(answer, fragment):
    assert_wrong(check("05.3", answer), fragment)


def test_05_3_every_slip_gives_its_own_number_on_the_checkers_layers():
    layers = checkers._ratio_test_layers()
    truth = np.array([checkers._package_ratio(layer) for layer in layers])
    slips = [checkers._ratio_slips(layer) for layer in layers]
    values = [truth] + [np.array([s[message] for s in slips]) for message in slips[0]]
    for i, a in enumerate(values):
        for b in values[i + 1:]:
            assert not np.allclose(a, b, rtol=1e-3)


def test_05_3_the_ratio_is_the_one_of_the_metrics_columns_on_a_real_agent():
    agent = nh.Agent(nh.Config(noisy_hidden=True, seed=0), (4,), 2, np.float32)
    rng = np.random.default_rng(0)
    for variable in agent.online.trainable_variables:   # moved off the initial values, σ of both signs
        variable.assign(variable.numpy() + rng.normal(0, 0.05, variable.shape).astype(np.float32))
    stats = agent.noise_statistics()
    for layer in agent.noisy_online:
        ratio = stats[f"mu/{layer.name}"] / stats[f"sigma/{layer.name}"]
        assert math.isclose(SOLUTIONS.mean_abs_mu_over_mean_abs_sigma(layer), ratio, rel_tol=1e-5)
        assert math.isclose(checkers._package_ratio(layer), ratio, rel_tol=1e-12)


# ------------------------------------------------------------------ 05.4 conv sizes
def test_05_4_by_hand_60_gives_14_6_4_and_1024_features():
    sizes, shapes, features = checkers._nature_sizes(60)
    assert shapes == [(8, 4), (4, 2), (3, 1)]
    assert sizes == (14, 6, 4) and features == 4 * 4 * 64
    verdict = check("05.4", [14, 6, 4])
    assert verdict.status == CORRECT and "1,024" in verdict.message, verdict


@pytest.mark.parametrize("answer, fragment", [
    ((20, 9, 7), "sizes for 84×84"),
    ((15, 8, 8), "'same' padding"),
    ((14, 6, 5), "(n - k) // s + 1"),
    ((13, 5, 3), "(n - k) // s + 1"),
    ((14, 6), "3 sizes"),
    (14, "three whole numbers"),
    (("a", "b", "c"), "three whole numbers"),
])
def test_05_4_wrong_answers_are_explained(answer, fragment):
    assert_wrong(check("05.4", answer), fragment)


@settings(max_examples=5, deadline=None)
@given(st.integers(36, 120))
def test_05_4_the_formula_of_the_exercise_gives_the_sizes_of_the_built_network(n):
    sizes, shapes, _ = checkers._nature_sizes(n)
    by_formula, size = [], n
    for kernel, stride in shapes:
        size = (size - kernel) // stride + 1
        by_formula.append(size)
    assert tuple(by_formula) == sizes


# ------------------------------------------------------------------ 05.5 the frame budget
HOURS_AT_87 = 50e6 / 87 / 3600   # 159.6 hours


def test_05_5_by_hand_87_agent_steps_a_second_is_about_160_hours():
    verdict = check("05.5", 87, 160)
    assert verdict.status == CORRECT and "160 hours" in verdict.message, verdict


@pytest.mark.parametrize("rate, hours, fragment", [
    (87, 4 * HOURS_AT_87, "a frame is not an agent step"),
    (87, 60 * HOURS_AT_87, "minutes"),
    (87, 3600 * HOURS_AT_87, "seconds"),
    (87, HOURS_AT_87 / 24, "days"),
    (87, 50e6 * 87 / 3600, "divide the steps by the speed"),
    (87, 1.1 * HOURS_AT_87, "not 50M agent steps at your speed"),
    (0, 1.0, "positive number: the speed"),
    (-87, -HOURS_AT_87, "positive number: the speed"),
    (float("inf"), 0.0, "positive number: the speed"),
    (87, 0, "positive number of hours"),
    (87, float("nan"), "positive number of hours"),
    ("fast", 1.0, "must be a number"),
])
def test_05_5_wrong_answers_are_explained(rate, hours, fragment):
    assert_wrong(check("05.5", rate, hours), fragment)


def test_05_5_either_answer_left_as_none_is_not_answered_yet():
    assert check("05.5", 87, None).status == UNANSWERED
    assert check("05.5", None, 160).status == UNANSWERED


@settings(max_examples=40, deadline=None)
@given(st.floats(0.5, 1e5), st.floats(-0.019, 0.019))
def test_05_5_any_measured_speed_is_accepted_within_two_percent_and_frames_are_not(rate, error):
    hours = 50e6 / rate / 3600
    assert check("05.5", rate, hours * (1 + error)).status == CORRECT
    verdict = check("05.5", rate, 4 * hours)
    assert verdict.status == WRONG and "frame is not an agent step" in verdict.message
