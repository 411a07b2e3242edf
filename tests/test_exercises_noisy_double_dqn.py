"""The checkers of notebook 04's exercises say what is wrong with the likely wrong answers, and
their truth is the package's: ``nh.summarise_evaluations`` for 04.2, the training loop's own
target syncs for 04.3, ``Config.small()`` against ``Config()`` for 04.5."""


import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import noisy_helpers as nh
from noisy_helpers.exercises import CORRECT, check
from noisy_helpers.exercises.noisy_double_dqn import _metrics, target_syncs_after_learning_starts
from exercise_kit import assert_wrong, load_solutions  # noqa: E402


SOLUTIONS = load_solutions("04_noisy_double_dqn")


# ----------------------------------------------------------------------------- 04.1
def _q(network, states):
    return np.asarray(network(states, training=False))


def _max_q(network, states):
    return float(_q(network, states).max(axis=1).mean())


def _redraw_then_measure(network, states):
    nh.reset_noise(network)
    return _max_q(network, states)


def _remove_measure_restore(network, states):
    saved = [np.array(v) for layer in nh.noisy_layers(network) for v in layer.noise_variables]
    nh.remove_noise(network)
    value = _max_q(network, states)
    variables = [v for layer in nh.noisy_layers(network) for v in layer.noise_variables]
    for variable, value_saved in zip(variables, saved):
        variable.assign(value_saved)
    return value


@pytest.mark.parametrize("answer, fragment", [
    (lambda n, s: float(_q(n, s).mean()), "averages over the actions too"),
    (lambda n, s: float(_q(n, s).max()), "a single max over all states and actions"),
    (lambda n, s: _q(n, s).max(axis=1), "of each state: the exercise asks for their mean"),
    (lambda n, s: float(_q(n, s).mean(axis=0).max()), "takes the mean over the states first"),
    (lambda n, s: float(_q(n, s).max(axis=0).mean()), "takes the max over the states (axis 0)"),
    (lambda n, s: float(_q(n, s).min(axis=1).mean()), "not the mean over the states of max_a"),
    (lambda n, s: _q(n, s)[:2], "expected one number"),
    (_redraw_then_measure, "changed the network's noise"),
    (_remove_measure_restore, "the value with the noise removed"),
])
def test_04_1_wrong_reductions_and_noise_changes_are_named(answer, fragment):
    assert_wrong(check("04.1", answer), fragment)


@pytest.mark.parametrize("answer", [
    SOLUTIONS.mean_max_q,
    lambda n, s: n.predict(s, verbose=0).max(axis=1).mean(),           # numpy scalar
    lambda n, s: np.mean(np.max(n(s), axis=1)),                        # a tensor in, numpy out
])
def test_04_1_accepts_every_way_of_evaluating_the_network_with_its_noise(answer):
    assert check("04.1", answer).status == CORRECT


def test_04_1_reference_by_hand_on_a_network_with_known_q_values():
    import keras

    network = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, use_bias=False)])
    network.layers[0].set_weights([np.eye(2, dtype="float32")])      # Q(s, ·) = s
    states = np.array([[1.0, 2.0], [5.0, 3.0]], dtype="float32")
    assert SOLUTIONS.mean_max_q(network, states) == pytest.approx((2.0 + 5.0) / 2)


# ----------------------------------------------------------------------------- 04.2
def _first_where(column, reached):
    def answer(metrics, threshold):
        values = np.nan_to_num(metrics[column], nan=-np.inf)
        rows = np.flatnonzero(reached(values, threshold))
        return int(metrics["step"][rows[0]]) if rows.size else None
    return answer


def _best_step(metrics, threshold):
    summary = nh.summarise_evaluations(metrics, threshold)
    return summary["best_step"] if summary["first_step"] is not None else None


def _row_index(metrics, threshold):
    rows = np.flatnonzero(np.nan_to_num(metrics["eval_return"], nan=-np.inf) >= threshold)
    return int(rows[0]) if rows.size else None


@pytest.mark.parametrize("answer, fragment", [
    (_first_where("episode_return", lambda r, t: r >= t), "those are training episodes"),
    (_first_where("eval_return_noisy", lambda r, t: r >= t), "with the noise on"),
    (_first_where("eval_return", lambda r, t: r > t), "(≥, not >)"),
    (_best_step, "the step of the best evaluation"),
    (_row_index, "looks like a row index"),
    (lambda m, t: None, "you returned None, but an evaluation reached"),
    (lambda m, t: -1 if SOLUTIONS.first_step_reaching(m, t) is None else
     SOLUTIONS.first_step_reaching(m, t), "return None then"),
    (lambda m, t: float("nan") if SOLUTIONS.first_step_reaching(m, t) is None else
     SOLUTIONS.first_step_reaching(m, t), "return None then"),
    (lambda m, t: 7_500, "not the first whose eval_return is ≥"),
    (lambda m, t: 123_456, "not the first step whose evaluation"),
])
def test_04_2_likely_mistakes_are_named(answer, fragment):
    assert_wrong(check("04.2", answer), fragment)


def test_04_2_accepts_a_float_or_numpy_step():
    assert check("04.2", lambda m, t: None if (s := SOLUTIONS.first_step_reaching(m, t)) is None
                 else np.float64(s)).status == CORRECT


def test_04_2_synthetic_metrics_have_the_columns_and_the_row_layout_of_a_real_run():
    metrics = _metrics([(10, 10.0), (25, 15.0)], [(25, 200.0)], [180.0])
    assert list(metrics)[:len(nh.training.METRIC_FIELDS)] == nh.training.METRIC_FIELDS
    assert metrics["step"].tolist() == [10, 25, 25]                 # the episode row comes first
    assert np.isnan(metrics["eval_return"][:2]).all() and metrics["eval_return"][2] == 200.0
    assert np.isnan(metrics["episode_return"][2])
    assert metrics["episode"].tolist() == [1, 2, 2]


def test_04_2_reference_by_hand():
    metrics = _metrics([(100, 500.0)], [(2_500, 474.9), (5_000, 475.0), (7_500, 500.0)])
    assert SOLUTIONS.first_step_reaching(metrics, 475) == 5_000
    assert SOLUTIONS.first_step_reaching(metrics, 501) is None


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.floats(0, 500, allow_nan=False)), max_size=25),
       st.floats(0, 500, allow_nan=False))
def test_04_2_reference_agrees_with_summarise_evaluations(rows, threshold):
    episodes = [(10 * (i + 1), value) for i, (is_eval, value) in enumerate(rows) if not is_eval]
    evaluations = [(10 * (i + 1), value) for i, (is_eval, value) in enumerate(rows) if is_eval]
    metrics = _metrics(episodes, evaluations)
    truth = nh.summarise_evaluations(metrics, threshold)["first_step"]
    assert SOLUTIONS.first_step_reaching(metrics, threshold) == truth


# ----------------------------------------------------------------------------- 04.3
def _total_over_period(period):
    return nh.Config().total_steps // period


def _after_learning_over_period(period):
    config = nh.Config()
    return (config.total_steps - config.learning_starts) // period


@pytest.mark.parametrize("answer, fragment", [
    (_total_over_period, "counts the syncs before learning starts too"),
    (_after_learning_over_period, "off by one for period 600"),
    (lambda period: SOLUTIONS.syncs_with_period(period) + 1, "one sync too many"),
    (lambda period: 490, "use the period argument"),
    (lambda period: 49_000 / period, "a whole number"),
    (lambda period: str(SOLUTIONS.syncs_with_period(period)), "a number of syncs is an int"),
    (lambda period: True, "a number of syncs is an int"),
    (lambda period: SOLUTIONS.syncs_with_period(period) - 1, "not the number of syncs"),
])
def test_04_3_likely_mistakes_are_named(answer, fragment):
    assert_wrong(check("04.3", answer), fragment)


def test_04_3_by_hand_a_default_run_syncs_490_times_after_learning_starts():
    # syncs at steps 100, 200, ..., 50,000; the first gradient step is at step 1,001
    assert target_syncs_after_learning_starts(nh.Config()) == 50_000 // 100 - 1_000 // 100 == 490
    verdict = check("04.3", SOLUTIONS.syncs_with_period)
    assert "k = 490 syncs at period 100, 98 at 500" in verdict.message


def test_04_3_the_rule_counts_the_syncs_of_a_real_training_run(tmp_path, monkeypatch):
    """The checker's truth is the loop's: count the sync_target calls of a tiny run that come
    after a gradient step (period 60 after 100 warm-up steps: 120, 180, 240, not (260-100)//60)."""
    train_steps_at_sync = []
    original = nh.Agent.sync_target

    def recording(self, tau=1.0):
        train_steps_at_sync.append(getattr(self, "train_steps", 0))
        return original(self, tau)

    monkeypatch.setattr(nh.Agent, "sync_target", recording)
    config = nh.Config.small(total_steps=260, learning_starts=100, target_update_period=60,
                             batch_size=16, eval_period=10_000, checkpoint_period=10_000)
    nh.train(config, "CartPole-v1", out=tmp_path / "run", progress=False)
    after_learning = sum(1 for steps in train_steps_at_sync if steps > 0)
    assert after_learning == target_syncs_after_learning_starts(config) == 3
    assert (config.total_steps - config.learning_starts) // config.target_update_period == 2


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 3_000), st.integers(200, 1_000), st.integers(1, 400))
def test_04_3_the_rule_is_the_multiples_of_the_period_after_learning_starts(total, start, period):
    config = nh.Config(total_steps=total, learning_starts=start, target_update_period=period)
    assert target_syncs_after_learning_starts(config) == max(0, total // period - start // period)


# ----------------------------------------------------------------------------- 04.4
@pytest.mark.parametrize("answer, fragment", [
    (1.0, "target of a terminal state"),
    (1.0 + 0.99 * 40.0, "which action does the online network choose"),
    (0.99 * 60.0, "for a step that is not terminal"),
])
def test_04_4_likely_mistakes_are_named(answer, fragment):
    assert_wrong(check("04.4", answer), fragment)


def test_04_4_by_hand():
    assert check("04.4", 60.4).status == CORRECT


# ----------------------------------------------------------------------------- 04.5
TRUTH_05 = {"total_steps", "hidden_sizes", "batch_size", "buffer_size", "learning_starts",
            "eval_period", "eval_episodes", "best_check_episodes", "checkpoint_period",
            "epsilon_decay_steps"}


@pytest.mark.parametrize("answer, fragment", [
    (TRUTH_05 | {"target_update_period"}, "target_update_period (=100): the same in both"),
    (TRUTH_05 | {"seed"}, "seed (=0): the same in both"),
    (TRUTH_05 | {"steps"}, "steps: not a Config field"),
    (TRUTH_05 - {"hidden_sizes", "eval_episodes"}, "2 changed fields are missing"),
    (TRUTH_05 - {"checkpoint_period"}, "1 changed field is missing"),
    ((TRUTH_05 - {"total_steps"}) | {"--total-steps"},
     "write field names (total_steps), not flags"),
    ("total_steps", "give a set of field names"),
    (42, "give a set of field names"),
    ({"total_steps", 3}, "must be a field name"),
])
def test_04_5_likely_mistakes_are_named(answer, fragment):
    assert_wrong(check("04.5", answer), fragment)


def test_04_5_a_wrong_answer_does_not_list_the_missing_fields():
    message = check("04.5", {"total_steps"}).message
    assert not any(name in message for name in TRUTH_05 - {"total_steps"})


@pytest.mark.parametrize("answer", [TRUTH_05, sorted(TRUTH_05), tuple(TRUTH_05),
                                    frozenset(TRUTH_05)])
def test_04_5_accepts_any_collection_of_the_nine_fields(answer):
    assert check("04.5", answer).status == CORRECT


def test_04_5_truth_is_every_field_whose_value_small_changes():
    default, small = nh.Config().to_dict(), nh.Config.small().to_dict()
    assert {name for name in default if default[name] != small[name]} == TRUTH_05
