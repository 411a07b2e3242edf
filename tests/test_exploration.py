"""Tests for noisy_helpers/exploration.py: the study's configs and trials, its summaries
on hand-made results, and its figures."""

import dataclasses

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import noisy_helpers as nh  # noqa: E402
from noisy_helpers import Config, exploration  # noqa: E402
from state import tree_hashes  # noqa: E402


def test_deep_sea_config_scales_with_the_size_and_stops_at_the_goal():
    config = exploration.deep_sea_config(8, episodes=50)
    assert config.total_steps == 400 and config.learning_starts == 80
    assert config.stop_at_return == exploration.GOAL_RETURN
    assert config.noisy and config.noise_resample == "step" and config.factorised
    assert config.sigma0 == 0.5  # the paper's NoisyNet-DQN
    with pytest.raises(ValueError, match="size"):
        exploration.deep_sea_config(0)
    with pytest.raises(ValueError, match="episodes"):
        exploration.deep_sea_config(4, episodes=0)


def test_every_ablation_is_the_base_config_with_one_field_changed():
    trials = exploration.deep_sea_trials([4, 6], seeds=range(5), episodes=10)
    assert len(trials) == len(exploration.ABLATIONS) * 2 * 5
    for trial in trials:
        base = exploration.deep_sea_config(trial.env_kwargs["size"], 10, seed=trial.config.seed)
        changed = {f.name for f in dataclasses.fields(Config)
                   if getattr(base, f.name) != getattr(trial.config, f.name)}
        assert changed <= {trial.field}
        assert trial.env_kwargs["randomize_actions"] is False
    assert {t.group for t in trials} == {label for *_, label in exploration.ABLATIONS}


def test_cartpole_trials_compare_noisy_and_epsilon_greedy_over_the_same_seeds():
    trials = exploration.cartpole_trials(range(5), total_steps=100_000)
    assert [t.group for t in trials] == (["noisynet"] * 5 + ["noisynet-every-layer"] * 5
                                         + ["epsilon-greedy"] * 5)
    assert [t.config.noisy for t in trials] == [True] * 10 + [False] * 5
    assert [t.config.noisy_hidden for t in trials] == [False] * 5 + [True] * 5 + [False] * 5
    assert [t.config.seed for t in trials] == list(range(5)) * 3
    assert trials[0].config.eval_period == 5_000  # 20 evaluations
    assert exploration.cartpole_config().replace(checkpoint_period=10_000) == Config(
        best_check_episodes=0)  # the defaults, without the best agent's check


def rows():
    """Hand-made results: two groups, sizes 4 and 8, three seeds each."""
    table = [("a", 4, [3, 5, None]), ("a", 8, [None, None, 40]), ("b", 4, [1, 2, 4]),
             ("b", 8, [7, None, 9])]
    return [dict(group=group, size=size, seed=seed, first_goal_episode=first)
            for group, size, firsts in table for seed, first in enumerate(firsts)]


def test_first_goal_summary_by_hand():
    summary = exploration.first_goal_summary(rows(), budget_episodes=50)
    assert summary["a"][4] == dict(found=2, seeds=3, episodes=[3, 5, np.inf], median=5.0)
    assert summary["a"][8]["found"] == 1 and summary["a"][8]["median"] == np.inf
    assert summary["b"][4]["median"] == 2.0 and summary["b"][8]["median"] == 9.0
    with pytest.raises(ValueError, match="budget_episodes"):
        exploration.first_goal_summary(rows(), budget_episodes=30)  # "a" found it at 40


def test_signal_to_noise_is_mean_abs_mu_over_mean_sigma_per_layer():
    metrics = {"step": np.array([10.0, 20.0, 30.0]),
               "sigma/q_values": np.array([0.5, np.nan, 0.25]),
               "mu/q_values": np.array([1.0, np.nan, 1.0]),
               "sigma/hidden_1": np.array([0.1, 0.1, 0.1]),
               "mu/hidden_1": np.array([0.1, 0.2, 0.3])}
    ratios = exploration.signal_to_noise(metrics)
    steps, ratio = ratios["q_values"]
    assert steps.tolist() == [10.0, 30.0] and ratio.tolist() == [2.0, 4.0]
    assert np.allclose(ratios["hidden_1"][1], [1.0, 2.0, 3.0])


def test_plot_first_goal_draws_every_group(tmp_path):
    ax_episodes, ax_found = exploration.plot_first_goal(rows(), budget_episodes=50,
                                                        untrained={("b", 4, 0)})
    bars = {container.get_label(): container for container in ax_found.containers}
    assert set(bars) == {"a", "b"}
    found_a = bars["a"].lines[0]                       # the rates; lines[2]: the interval bars
    assert np.allclose(found_a.get_ydata(), [2 / 3, 1 / 3])
    low, high = exploration.wilson_interval(2, 3)
    segment = bars["a"].lines[2][0].get_segments()[0]  # the bar of the first size
    assert np.allclose(segment[:, 1], [low, high])
    # 12 runs: 9 found (8 filled dots, 1 hollow: its untrained μ reached the goal), 3 ×.
    markers = [c for c in ax_episodes.collections if len(c.get_offsets())]
    assert len(markers) == 12
    assert sum(len(c.get_facecolors()) == 0 for c in markers) == 1
    ax_episodes.figure.savefig(tmp_path / "first_goal.png")


def test_plot_bands_and_signal_to_noise_from_real_runs(tmp_path):
    config = Config.small(total_steps=300, eval_period=100, eval_episodes=1, noisy_hidden=True)
    directories = []
    for seed in (0, 1):
        run = nh.train(config.replace(seed=seed), out=tmp_path / f"seed{seed}", progress=False,
                       tensorboard=False)
        directories.append(run.directory)
    ax = exploration.plot_bands({"noisynet": directories}, "eval_return")
    assert ax.get_lines()[0].get_label() == "noisynet (median of 2)"
    ax = exploration.plot_signal_to_noise(directories)
    assert {line.get_label() for line in ax.get_lines()} == {"hidden_1", "hidden_2", "q_values"}


def test_randomized_deep_sea_gives_each_seed_its_own_map():
    trials = exploration.deep_sea_trials([5], seeds=range(3), episodes=10, randomize_actions=True,
                                         ablations=exploration.ABLATIONS[:1])
    assert [t.env_kwargs for t in trials] == [
        dict(size=5, randomize_actions=True, mapping_seed=seed) for seed in range(3)]
    assert [t.config.seed for t in trials] == [0, 1, 2]


def test_untrained_greedy_finds_goal_predicts_the_first_episode_of_a_noiseless_run(tmp_path):
    """With σ0 = 0 the NoisyNet acts on μ alone, and before learning starts (episode 1 of 10
    warm-up episodes) it plays exactly the untrained greedy policy."""
    trials = exploration.deep_sea_trials([4], seeds=range(6), episodes=2,
                                         ablations=[("sigma0", 0.0, "no-noise")])
    predicted, played = [], []
    for trial in trials:
        predicted.append(exploration.untrained_greedy_finds_goal(trial))
        run = nh.train(trial.config.replace(stop_at_return=None), trial.env_id,
                       out=tmp_path / trial.name, progress=False, tensorboard=False,
                       env_kwargs=trial.env_kwargs)
        returns = run.metrics()["episode_return"]
        played.append(bool(returns[~np.isnan(returns)][0] >= exploration.GOAL_RETURN))
    assert predicted == played
    assert True in predicted and False in predicted  # both cases occur among 6 seeds


def test_untrained_goal_probability_agrees_with_the_keras_network_draw_by_draw():
    """The numpy forward pass over many draws gives the same greedy actions as the Keras
    network of nh.Agent with the same noise put into its variables, one draw at a time."""
    size, draws = 5, 40
    result = exploration.untrained_goal_probability(size, seeds=[3], draws=draws, seed=7)
    agent = nh.Agent(exploration.deep_sea_config(size, seed=3), (size * size,), 2)
    rng = np.random.default_rng(7)
    layers = nh.noisy_layers(agent.online)
    noise = [(exploration._f(rng.standard_normal((draws, 1, l.kernel_mu.shape[0]))),
              exploration._f(rng.standard_normal((draws, 1, l.kernel_mu.shape[1]))))
             for l in layers]
    diagonal = np.eye(size * size, dtype=np.float32)[np.arange(size) * (size + 1)]
    right = []
    for d in range(draws):
        for layer, (f_in, f_out) in zip(layers, noise):
            layer.epsilon_in.assign(f_in[d, 0].astype(np.float32))
            layer.epsilon_out.assign(f_out[d, 0].astype(np.float32))
        right.append(agent.online(diagonal).numpy().argmax(axis=1) == 1)
    right = np.array(right)
    assert result["held"] == pytest.approx(right.all(axis=1).mean())
    assert result["redrawn"] == pytest.approx(np.prod(right.mean(axis=0)))


def test_held_noise_reaches_the_fixed_goal_far_more_often_than_redrawn_noise():
    result = exploration.untrained_goal_probability(16, seeds=range(6), draws=500)
    assert result["held"] > 3 * result["redrawn"]
    assert 0 <= result["redrawn"] <= result["held"] <= 1


# ------------------------------------------------------------------ export_runs
def _tiny_study(tmp_path):
    trials = exploration.deep_sea_trials([3], range(2), episodes=3,
                                         ablations=exploration.ABLATIONS[:2])
    runs = tmp_path / "study"
    rows = nh.run_trials(trials, runs, workers=1, progress=False)
    return trials, runs, rows


def test_exported_runs_hold_only_metrics_and_results_and_the_runner_reads_them_as_finished(tmp_path):
    trials, runs, rows = _tiny_study(tmp_path)
    (runs / "stale_run").mkdir()  # a run results.csv does not list is not exported
    (runs / "stale_run" / "result.json").write_text("{}")
    assert exploration.export_runs(runs, tmp_path / "exported") == len(trials)
    files = sorted(str(p.relative_to(tmp_path / "exported")) for p in (tmp_path / "exported").rglob("*")
                   if p.is_file())
    assert files == sorted(["results.csv"] + [f"{t.name}/{f}" for t in trials
                                              for f in exploration.EXPORTED_FILES])
    again = nh.run_trials(trials, tmp_path / "exported", workers=1, progress=False)
    assert again == rows  # nothing trained: every result read back


@pytest.mark.parametrize("case", ["runs without results.csv", "out exists"])
def test_bad_input_export_runs_is_refused_and_changes_nothing(tmp_path, case):
    runs = tmp_path / "study"
    runs.mkdir()
    out = tmp_path / "exported"
    if case == "out exists":
        (runs / "results.csv").write_text("name\n")
        out.mkdir()
        (out / "mine.txt").write_text("keep")
    before = tree_hashes(tmp_path)
    with pytest.raises(ValueError, match="runs must be a study folder|out must not exist yet"):
        exploration.export_runs(runs, out)
    assert tree_hashes(tmp_path) == before


def test_the_committed_runs_are_exactly_the_trials_of_the_full_study():
    """Notebook 06 draws from benchmarks/results/exploration/runs when its runs are not on
    disk: every trial of the full plan is there, with the result of exactly that trial (a
    changed default would make run_trials train it again)."""
    import sys
    from pathlib import Path

    from noisy_helpers.experiments import _load_result  # run_trials' own "finished?" test

    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root / "benchmarks"))
    import bench_exploration

    for study, (trials, _) in bench_exploration.study_plan(quick=False).items():
        folder = root / "benchmarks" / "results" / "exploration" / "runs" / study
        assert [row["name"] for row in nh.read_results(folder / "results.csv")] == [t.name for t in trials]
        for trial in trials:
            assert _load_result(trial, folder / trial.name) is not None, trial.name


# ----------------------------------------------------------- noise held for k steps
def test_goal_probability_held_for_k_by_hand():
    # 4 draws, 3 cells. Block probabilities by hand:
    goes_right = np.array([[1, 1, 1], [1, 1, 0], [1, 0, 1], [0, 1, 1]], dtype=bool)
    held = exploration.goal_probability_held_for(goes_right, 3)      # 1 of 4 draws: all three
    redrawn = exploration.goal_probability_held_for(goes_right, 1)   # (3/4)³
    two = exploration.goal_probability_held_for(goes_right, 2)       # cells {0,1}: 2/4; {2}: 3/4
    assert (held, redrawn, two) == (0.25, 0.75**3, 0.5 * 0.75)
    assert exploration.goal_probability_held_for(goes_right, 100) == held


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 6), st.integers(1, 12), st.integers(0, 2**31 - 1))
def test_goal_probability_held_for_k_is_held_at_n_redrawn_at_1_and_a_product_of_blocks(k, cells, seed):
    rng = np.random.default_rng(seed)
    shared = rng.random((50, 1)) < 0.5                     # draws that lean one way in every cell
    goes_right = shared | (rng.random((50, cells)) < 0.3)
    assert exploration.goal_probability_held_for(goes_right, cells) == goes_right.all(axis=1).mean()
    assert np.isclose(exploration.goal_probability_held_for(goes_right, 1),
                      np.prod(goes_right.mean(axis=0)))
    blocks = [goes_right[:, s:s + k].all(axis=1).mean() for s in range(0, cells, k)]
    assert np.isclose(exploration.goal_probability_held_for(goes_right, k), np.prod(blocks))


@pytest.mark.parametrize("goes_right, k, match", [
    (np.ones((4, 3), dtype=bool), 0, "k must be"), (np.ones((4, 3), dtype=bool), True, "k must be"),
    (np.ones((4, 3), dtype=bool), 2.0, "k must be"), (np.ones((4, 3)), 2, "goes_right"),
    (np.ones(3, dtype=bool), 2, "goes_right"), (np.ones((0, 3), dtype=bool), 2, "goes_right"),
])
def test_bad_input_goal_probability_held_for_is_one_clear_error(goes_right, k, match):
    before = goes_right.copy()
    with pytest.raises(ValueError, match=match):
        exploration.goal_probability_held_for(goes_right, k)
    assert np.array_equal(goes_right, before)


# ----------------------------------------------------------------------- Wilson intervals
@pytest.mark.parametrize("successes, trials, low, high", [
    (0, 5, 0.0, 0.4345), (5, 5, 0.5655, 1.0), (1, 5, 0.0362, 0.6245), (10, 20, 0.2993, 0.7007),
    (0, 20, 0.0, 0.1611),
])
def test_wilson_interval_by_hand(successes, trials, low, high):
    # centre (p + z²/2n)/(1 + z²/n), half-width z/(1 + z²/n)·√(p(1-p)/n + z²/4n²), z = 1.96
    assert np.allclose(exploration.wilson_interval(successes, trials), (low, high), atol=5e-4)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_interval_holds_the_rate_stays_in_0_1_and_mirrors(case):
    successes, trials = case
    low, high = exploration.wilson_interval(successes, trials)
    assert 0.0 <= low <= successes / trials <= high <= 1.0
    mirror = exploration.wilson_interval(trials - successes, trials)
    assert np.allclose((low, high), (1 - mirror[1], 1 - mirror[0]))


@pytest.mark.parametrize("successes, trials, z, match", [
    (-1, 5, 1.96, "successes"), (6, 5, 1.96, "successes <= trials"), (1, 0, 1.96, "trials >= 1"),
    (True, 5, 1.96, "successes"), (1.0, 5, 1.96, "successes"), (1, 5, 0.0, "z must be"),
    (1, 5, float("nan"), "z must be"), (1, "5", 1.96, "trials"),
])
def test_bad_input_wilson_interval_is_one_clear_error(successes, trials, z, match):
    with pytest.raises(ValueError, match=match):
        exploration.wilson_interval(successes, trials, z)


# -------------------------------------------------------------------- Fisher's exact test
@pytest.mark.parametrize("counts, p", [
    ((3, 4, 1, 4), 34 / 70),        # the tea-tasting table: tables 0, 1, 3, 4 of 70 ways
    ((0, 5, 5, 5), 2 / 252),        # all or nothing: the two extreme tables of C(10, 5) = 252
    ((5, 10, 5, 10), 1.0),          # equal rates: every table is at most as likely
    ((20, 20, 9, 20), 0.000145),    # README, IS weights: batch against buffer maximum (3 s.f.)
])
def test_fisher_exact_by_hand(counts, p):
    assert exploration.fisher_exact(*counts) == pytest.approx(p, rel=3e-3)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 40), st.integers(1, 40), st.data())
def test_fisher_exact_is_a_probability_symmetric_in_groups_and_outcomes(n_a, n_b, data):
    a, b = data.draw(st.integers(0, n_a)), data.draw(st.integers(0, n_b))
    p = exploration.fisher_exact(a, n_a, b, n_b)
    assert 0.0 < p <= 1.0
    assert p == pytest.approx(exploration.fisher_exact(b, n_b, a, n_a))
    assert p == pytest.approx(exploration.fisher_exact(n_a - a, n_a, n_b - b, n_b))


@pytest.mark.parametrize("counts, match", [
    ((-1, 5, 1, 5), "successes_a"), ((6, 5, 1, 5), "successes_a <= trials_a"),
    ((1, 5, 1, 0), "successes_b <= trials_b"), ((True, 5, 1, 5), "successes_a"),
    ((1, 5.0, 1, 5), "trials_a"), ((1, 5, "1", 5), "successes_b"),
])
def test_bad_input_fisher_exact_is_one_clear_error(counts, match):
    with pytest.raises(ValueError, match=match):
        exploration.fisher_exact(*counts)
