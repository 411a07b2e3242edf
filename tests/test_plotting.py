"""Tests for noisy_helpers/plotting.py: the learning curve and σ plots of a metrics dict."""

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import noisy_helpers as nh  # noqa: E402
from noisy_helpers.plotting import noisy_layer_names  # noqa: E402

NAN = math.nan


def metrics():
    """Four rows as train() writes them: three episodes, one evaluation."""
    return {
        "step": np.array([10.0, 25.0, 40.0, 40.0]),
        "episode_return": np.array([10.0, 15.0, 15.0, NAN]),
        "eval_return": np.array([NAN, NAN, NAN, 30.0]),
        "eval_return_std": np.array([NAN, NAN, NAN, 2.0]),
        "eval_return_noisy": np.array([NAN, NAN, NAN, 25.0]),
        "sigma/hidden_1": np.array([0.25, 0.2, 0.15, 0.15]),
        "sigma/q_values": np.array([0.03, 0.02, 0.02, 0.02]),
        "mu/q_values": np.array([0.1, 0.1, 0.2, 0.2]),
    }


def test_learning_curve_draws_episodes_and_both_evaluations():
    ax = nh.plot_learning_curve(metrics(), window=2)
    lines = {line.get_label(): line for line in ax.get_lines()}
    np.testing.assert_array_equal(lines["training episode"].get_ydata(), [10, 15, 15])
    np.testing.assert_array_equal(lines["training, mean of 2 episodes"].get_ydata(), [12.5, 15])
    np.testing.assert_array_equal(lines["evaluation, noise removed (μ)"].get_ydata(), [30])
    np.testing.assert_array_equal(lines["evaluation, noise on"].get_ydata(), [25])
    assert ax.get_xlabel() == "environment steps"
    plt.close("all")


def test_noise_plot_has_one_line_per_noisy_layer():
    assert noisy_layer_names(metrics()) == ["hidden_1", "q_values"]
    ax = nh.plot_noise(metrics())
    assert [line.get_label() for line in ax.get_lines()] == [
        "hidden_1: mean σ", "q_values: mean σ"]
    plt.close("all")


def test_save_run_plots_writes_two_pngs(tmp_path):
    columns = metrics()
    with open(tmp_path / "metrics.csv", "w") as file:
        file.write(",".join(columns) + "\n")
        for row in zip(*columns.values()):
            file.write(",".join("" if math.isnan(v) else f"{v:g}" for v in row) + "\n")
    paths = nh.save_run_plots(tmp_path)
    assert [p.name for p in paths] == ["learning_curve.png", "sigma.png"]
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in paths)


def test_atari_learning_curve_shows_true_game_scores_not_clipped_life_returns():
    values = metrics()
    values["game_score"] = np.array([NAN, 900.0, NAN, NAN])  # one game ended at step 25
    ax = nh.plot_learning_curve(values)
    training = ax.get_lines()[0]
    assert list(training.get_ydata()) == [900.0]
    assert ax.get_ylabel() == "score"
    plt.close("all")


def test_learning_curve_stars_the_best_agent_when_given():
    ax = nh.plot_learning_curve(metrics(), best=dict(which="best", step=40, eval_return=30.0))
    star = [line for line in ax.get_lines() if line.get_label().startswith("best agent")]
    assert len(star) == 1
    assert star[0].get_label() == "best agent (best/): 30.0 at step 40"
    np.testing.assert_array_equal(star[0].get_xdata(), [40])
    plt.close("all")
