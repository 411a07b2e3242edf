"""The exploration study: NoisyNet against ε-greedy on DeepSea and CartPole.

Taught in ``notebooks/06_exploration.ipynb``; ``benchmarks/bench_exploration.py`` runs
the full study and writes its figures.  Both build their trials here, so the notebook
and the benchmark run (and share, through the runner's cache) the very same runs.

* :func:`deep_sea_config`: the base ``Config`` for DeepSea of a given size; each study
  changes one field of it (:func:`~noisy_helpers.sweep`).
* :func:`deep_sea_trials`, :func:`cartpole_trials`: the study's trials.
* :func:`plot_first_goal`, :func:`plot_bands`, :func:`plot_signal_to_noise`: its figures.
* :func:`export_runs`: the compact copy of a study's runs that is committed, from which
  the notebook draws its figures when the runs are not on disk.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .config import Config
from .deep_sea import DEEP_SEA_ID
from .experiments import read_results, sweep
from .plotting import _axes, noisy_layer_names

__all__ = [
    "GOAL_RETURN", "ABLATIONS", "deep_sea_config", "deep_sea_trials", "cartpole_config",
    "cartpole_trials", "first_goal_summary", "plot_first_goal", "plot_bands",
    "plot_signal_to_noise", "signal_to_noise", "untrained_greedy_finds_goal",
    "untrained_goal_probability", "plot_untrained_goal_probability", "export_runs",
    "goal_probability_held_for", "RANDOMIZED_ABLATIONS", "SCHEDULE_GROUPS", "wilson_interval",
    "fisher_exact", "EXPORTED_FILES",
]

#: What :func:`export_runs` keeps of each run: all that the study's figures and the
#: runner's cache read (no weights).
EXPORTED_FILES = ("metrics.csv", "result.json")

#: A DeepSea episode whose return reaches this found the goal (the goal's +1 minus at
#: most 0.01 of move costs; every other episode returns <= 0).
GOAL_RETURN = 0.5

#: The one-field changes of the ablation, from the paper's NoisyNet-DQN (factorised,
#: σ0 = 0.5, noise redrawn after every gradient step): ``(field, value, label)``.
ABLATIONS = [
    ("noisy", False, "epsilon-greedy"),
    ("noisy", True, "noisynet"),
    ("noise_resample", "episode", "noise-per-episode"),
    ("sigma0", 0.1, "sigma0=0.1"),
    ("sigma0", 1.0, "sigma0=1.0"),
    ("factorised", False, "independent"),
    # The noise schedule between the paper's (a new draw every step here: one gradient step per
    # step) and one draw per episode: a draw held for k agent steps (Config.noise_resample=k).
    ("noise_resample", 4, "noise-held-4-steps"),
    ("noise_resample", 16, "noise-held-16-steps"),
]

#: The settings of the randomized-map study: ε-greedy, NoisyNet, and the noise schedules.
RANDOMIZED_ABLATIONS = ABLATIONS[:3] + ABLATIONS[6:]

#: The noise schedules compared, from a new draw every step to one per episode.
SCHEDULE_GROUPS = ["noisynet", "noise-held-4-steps", "noise-held-16-steps", "noise-per-episode"]


def deep_sea_config(size: int, episodes: int = 200, seed: int = 0) -> Config:
    """NoisyNet-DQN (the paper's schedule: noise redrawn after every gradient step) sized
    for DeepSea of ``size``: a budget of ``episodes`` episodes (``size`` steps each),
    stopping at the first episode that reaches the goal.

    A one-hidden-layer network of 64 units (the observation is a one-hot cell), both layers
    noisy as in the paper (``noisy_hidden=True``, not the CartPole default), learning
    from the 10th episode, one update per step, a target sync every 4 episodes, Adam at a
    constant 1e-3.  ε-greedy (``noisy=False``) falls linearly from 1 to 0.01 over the first
    half of the budget.  Evaluation and checkpoints only at the end of the budget."""
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"size must be an int >= 1, got {size!r}")
    if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1:
        raise ValueError(f"episodes must be an int >= 1, got {episodes!r}")
    total = episodes * size
    return Config(
        total_steps=total, seed=seed, hidden_sizes=(64,), noisy_hidden=True, learning_rate=1e-3,
        learning_rate_end=None, learning_rate_decay_steps=None, batch_size=32, buffer_size=10_000,
        learning_starts=10 * size, target_update_period=4 * size,
        epsilon_end=0.01, epsilon_decay_steps=max(1, total // 2),
        eval_period=total, eval_episodes=1, best_check_episodes=0, checkpoint_period=total,
        stop_at_return=GOAL_RETURN,
    )


def deep_sea_trials(sizes, seeds, episodes: int = 200, randomize_actions: bool = False,
                    ablations=ABLATIONS) -> list:
    """For every ``(field, value, label)`` of ``ablations`` and every size: the base
    :func:`deep_sea_config` with that one field changed, for each seed.

    With ``randomize_actions`` each seed also plays its own map (``mapping_seed`` = the
    seed, as in the bsuite): one map per size would make the study about that map, e.g. a
    map whose diagonal is mostly action 1 favours any agent that leans to action 1."""
    trials = []
    for field, value, label in ablations:
        for size in sizes:
            for seed in seeds:
                env_kwargs = dict(size=int(size), randomize_actions=bool(randomize_actions))
                if randomize_actions:
                    env_kwargs["mapping_seed"] = int(seed)
                trials += sweep(deep_sea_config(int(size), episodes), field, [value], [seed],
                                env_id=DEEP_SEA_ID, labels=[label], env_kwargs=[env_kwargs])
    return trials


def cartpole_config(total_steps: int = 50_000) -> Config:
    """The CartPole defaults (``Config()``: 50k steps, an evaluation of 10 episodes every
    2,500 steps), ``total_steps`` long with 20 evaluations, one checkpoint at the end.  The
    study compares learning curves, not best agents: the best agent is picked on the
    evaluation alone (``best_check_episodes=0``, as when the study was run), which changes
    nothing that it trains or measures."""
    return Config(total_steps=total_steps, eval_period=max(1, total_steps // 20),
                  best_check_episodes=0, checkpoint_period=total_steps)


def cartpole_trials(seeds, total_steps: int = 50_000) -> list:
    """On CartPole-v1, over the same seeds: NoisyNet with the defaults (the output layer
    noisy), NoisyNet with every layer noisy as in the paper (``noisy_hidden=True``) and
    ε-greedy (``noisy=False``)."""
    base = cartpole_config(total_steps)
    return (sweep(base, "noisy", [True], seeds, labels=["noisynet"])
            + sweep(base, "noisy_hidden", [True], seeds, labels=["noisynet-every-layer"])
            + sweep(base, "noisy", [False], seeds, labels=["epsilon-greedy"]))


# ------------------------------------------------------------------------ summaries
def first_goal_summary(rows, budget_episodes=None) -> dict:
    """``{group: {size: dict(found=k, seeds=n, median=..., episodes=[...])}}`` from result
    rows; a run that never found the goal counts as ``inf`` episodes, so the median is
    ``inf`` when half the seeds or more failed.  With ``budget_episodes``, a first goal
    later than the budget (rows of another study) raises ``ValueError``."""
    summary: dict = {}
    for row in rows:
        group = summary.setdefault(row["group"], {})
        cell = group.setdefault(int(row["size"]), dict(found=0, seeds=0, episodes=[]))
        cell["seeds"] += 1
        first = row["first_goal_episode"]
        if first is not None and first != "":
            if budget_episodes is not None and int(first) > budget_episodes:
                raise ValueError(f"first_goal_episode {first} of {row.get('name', row['group'])!r}"
                                 f" is beyond budget_episodes={budget_episodes}")
            cell["found"] += 1
            cell["episodes"].append(int(first))
        else:
            cell["episodes"].append(math.inf)
    for group in summary.values():
        for cell in group.values():
            cell["median"] = float(np.median(cell["episodes"]))
    return summary


def untrained_greedy_finds_goal(trial) -> bool:
    """Whether the agent of ``trial``, exactly as :func:`~noisy_helpers.train` builds it
    before its first step, reaches the DeepSea goal acting greedily on μ alone (noise
    removed).  Such a seed "finds" the goal in its first episodes without exploring: its
    initial weights already lean to the right action in every cell of the path."""
    import keras

    from .agent import Agent
    from .training import evaluate, make_env

    env = make_env(trial.env_id, env_kwargs=trial.env_kwargs)
    keras.utils.set_random_seed(trial.config.seed)  # as train() does, before the Agent
    space = env.observation_space
    agent = Agent(trial.config, space.shape, env.action_space.n, space.dtype)
    found = bool(evaluate(agent, [env], [0], noise=False)[0] >= GOAL_RETURN)
    env.close()
    return found


def _f(x: np.ndarray) -> np.ndarray:
    """f(x) = sgn(x)·√|x| (Fortunato et al., Eq. 11)."""
    return np.sign(x) * np.sqrt(np.abs(x))


def goal_probability_held_for(goes_right, k: int) -> float:
    """P(goal) when the noise is redrawn every ``k`` steps and held in between.

    ``goes_right`` (draws, N) says whether draw ``d``'s greedy action is the right one in
    diagonal cell ``i``.  A new draw at cells 0, k, 2k, ... serves the block of (up to) ``k``
    cells that follows it, and draws are independent from block to block, so P is the
    product over blocks of the chance that one draw goes right in every cell of its block:
    ``k >= N`` is one draw held for the episode, ``k = 1`` a new draw every step.
    (``Config.noise_resample = k`` in training redraws when the agent's step count is a
    multiple of ``k``, a clock that runs on across episodes; this model starts every episode
    with a fresh block, as training does on DeepSea when ``k`` divides ``N``.)"""
    goes_right = np.asarray(goes_right)
    if goes_right.ndim != 2 or goes_right.dtype != bool or goes_right.shape[0] == 0:
        raise ValueError(f"goes_right must be a bool array (draws, N) with draws >= 1, got "
                         f"{goes_right.dtype} of shape {goes_right.shape}")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be an int >= 1, got {k!r}")
    n_cells = goes_right.shape[1]
    return float(np.prod([goes_right[:, start:start + k].all(axis=1).mean()
                          for start in range(0, n_cells, int(k))]))


def untrained_goal_probability(size: int, seeds, draws: int = 2_000,
                               randomize_actions: bool = False, seed: int = 0) -> dict:
    """The chance that one DeepSea episode of the untrained NoisyNet of
    :func:`deep_sea_config` reaches the goal, averaged over the networks of ``seeds``:

    * ``"held"``: one noise draw held for the whole episode (the greedy policy of one
      perturbed network, in every cell of the path);
    * ``"redrawn"``: a new draw at every step, as NoisyNet-DQN does before learning starts.

    The path to the goal is the diagonal, so an episode succeeds iff the greedy action
    is the right-moving one in every diagonal cell.  For each network, ``draws`` factorised
    noise samples (Eq. 10-11) are pushed through the network in numpy at once; with them,
    held = mean over draws of [right in every cell], redrawn = product over cells of the
    mean over draws of [right in that cell] (draws independent from cell to cell).  The
    network is the online network that :class:`~noisy_helpers.Agent` builds for that seed;
    the noise comes from ``np.random.default_rng(seed)``: for each network, each noisy
    layer draws ``ε_in`` (draws, p) then ``ε_out`` (draws, q).  With ``randomize_actions``
    each network plays its own map (``mapping_seed`` = its seed), as the study does."""
    from .deep_sea import DeepSeaEnv
    from .networks import build_q_network, layer_seeds
    from .noisy_dense import noisy_layers

    rng = np.random.default_rng(seed)
    held, redrawn = [], []
    diagonal = np.zeros((size, size * size), dtype=np.float32)
    diagonal[np.arange(size), np.arange(size) * (size + 1)] = 1.0  # cell (i, i), one-hot
    for network_seed in seeds:
        config = deep_sea_config(size, seed=int(network_seed))
        if not (config.noisy and config.factorised):
            raise ValueError("untrained_goal_probability needs factorised noise")
        network = build_q_network(
            (size * size,), 2, hidden_sizes=config.hidden_sizes, noisy=True,
            noisy_hidden=config.noisy_hidden, sigma0=config.sigma0, factorised=True,
            seed=layer_seeds(config.seed, 3)[0])  # the Agent's online network
        layers = noisy_layers(network)
        hidden = np.broadcast_to(diagonal, (draws, size, size * size))
        for index, layer in enumerate(layers):
            mu_w, sigma_w = layer.kernel_mu.numpy(), layer.kernel_sigma.numpy()
            mu_b, sigma_b = layer.bias_mu.numpy(), layer.bias_sigma.numpy()
            f_in = _f(rng.standard_normal((draws, 1, mu_w.shape[0]))).astype(np.float32)
            f_out = _f(rng.standard_normal((draws, 1, mu_w.shape[1]))).astype(np.float32)
            # x(μ_w + σ_w ⊙ f(ε_in)f(ε_out)ᵀ) + μ_b + σ_b ⊙ f(ε_out)   (Eq. 8, 10, 11)
            out = hidden @ mu_w + mu_b + ((hidden * f_in) @ sigma_w) * f_out + sigma_b * f_out
            hidden = np.maximum(out, 0.0) if index < len(layers) - 1 else out
        actions = hidden.argmax(axis=-1)  # (draws, size): the greedy action in each cell
        if randomize_actions:
            right = DeepSeaEnv(size, randomize_actions=True,
                               mapping_seed=int(network_seed)).right_action.diagonal()
        else:
            right = np.ones(size, dtype=np.int64)
        goes_right = actions == right
        held.append(goal_probability_held_for(goes_right, size))   # one draw for all N cells
        redrawn.append(goal_probability_held_for(goes_right, 1))   # an independent draw per cell
    return dict(held=float(np.mean(held)), redrawn=float(np.mean(redrawn)))


def plot_untrained_goal_probability(sizes, seeds, draws: int = 2_000, ax=None):
    """P(goal in one episode) against the size for the untrained NoisyNet (noise held or
    redrawn, fixed map; held on randomized maps) and for coin flips (2^-N)."""
    ax = _axes(ax)
    sizes = list(sizes)
    lines = {"noise held for the episode": [], "noise redrawn every step": [],
             "held, randomized maps": []}
    for size in sizes:
        fixed = untrained_goal_probability(size, seeds, draws)
        lines["noise held for the episode"].append(fixed["held"])
        lines["noise redrawn every step"].append(fixed["redrawn"])
        lines["held, randomized maps"].append(
            untrained_goal_probability(size, seeds, draws, randomize_actions=True)["held"])
    styles = ["-o", "-s", ":^"]
    for (label, values), style in zip(lines.items(), styles):
        values = np.array(values)
        # A probability of 0 (no draw reached the goal) has no place on a log scale: not drawn.
        ax.plot(sizes, np.where(values > 0, values, np.nan), style, label=label)
    ax.plot(sizes, 2.0 ** -np.array(sizes, dtype=float), "k--", label="coin flips, 2^-N")
    ax.set_yscale("log")
    ax.set_xlabel("DeepSea size N")
    ax.set_ylabel("P(goal in one episode)")
    ax.set_title(f"untrained NoisyNet, {len(list(seeds))} networks × {draws} noise draws "
                 f"(0 not drawn)")
    ax.legend(fontsize=8)
    return lines


def signal_to_noise(metrics: dict) -> dict:
    """``{layer: (steps, mean |μ| / mean σ)}`` from one run's metrics (episode rows)."""
    ratios = {}
    for layer in noisy_layer_names(metrics):
        sigma, mu = metrics[f"sigma/{layer}"], metrics[f"mu/{layer}"]
        keep = ~np.isnan(sigma) & ~np.isnan(mu) & (sigma > 0)
        ratios[layer] = (metrics["step"][keep], mu[keep] / sigma[keep])
    return ratios


# ------------------------------------------------------------------------- figures
def _check_counts(successes, trials, names=("successes", "trials")) -> tuple:
    """``successes`` of ``trials`` as ints, with 0 <= successes <= trials and trials >= 1
    (``names``: the arguments' names in the one-line error)."""
    for name, value in zip(names, (successes, trials)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"{name} must be an int >= 0, got {value!r}")
    if trials < 1 or successes > trials:
        raise ValueError(f"need 0 <= {names[0]} <= {names[1]} and {names[1]} >= 1, got "
                         f"{names[0]}={successes!r}, {names[1]}={trials!r}")
    return int(successes), int(trials)


def wilson_interval(successes: int, trials: int, z: float = 1.96) -> tuple:
    """The Wilson score interval (95 % for ``z`` = 1.96) of a rate of ``successes`` in
    ``trials``: ``(low, high)``.  Unlike the normal approximation p ± z√(p(1-p)/n), it stays in
    [0, 1] and is not empty at 0 or n successes, which matters for 5 or 20 seeds a point
    (Wilson 1927; Brown, Cai and DasGupta 2001 recommend it for small n)."""
    successes, trials = _check_counts(successes, trials)
    if isinstance(z, bool) or not isinstance(z, (int, float)) or not 0 < z < math.inf:
        raise ValueError(f"z must be a finite number > 0, got {z!r}")
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z / (1 + z * z / trials) * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials**2))
    # At 0 (n) successes the bound is exactly 0 (1); rounding would leave it a hair off.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return low, high


def fisher_exact(successes_a: int, trials_a: int, successes_b: int, trials_b: int) -> float:
    """Two-sided p-value of Fisher's exact test that two rates, ``successes_a`` of ``trials_a``
    and ``successes_b`` of ``trials_b``, are equal: given all the margins of the 2 × 2 table,
    the chance (hypergeometric) of a table no more likely than the one observed (Fisher 1935;
    the "sum of small p" rule, as R's ``fisher.test`` and SciPy's ``fisher_exact``)."""
    successes_a, trials_a = _check_counts(successes_a, trials_a, ("successes_a", "trials_a"))
    successes_b, trials_b = _check_counts(successes_b, trials_b, ("successes_b", "trials_b"))
    successes, total = successes_a + successes_b, trials_a + trials_b

    def chance(x: int) -> float:  # P(x successes in group a | the margins)
        return (math.comb(successes, x) * math.comb(total - successes, trials_a - x)
                / math.comb(total, trials_a))

    observed = chance(successes_a)
    tables = range(max(0, successes - trials_b), min(successes, trials_a) + 1)
    # 1e-7 relative: tables exactly as likely as the observed one count, whatever the rounding.
    return min(1.0, sum(p for x in tables if (p := chance(x)) <= observed * (1 + 1e-7)))


def plot_first_goal(rows, budget_episodes: int, ax_episodes=None, ax_found=None, groups=None,
                    title: str = "", untrained=None):
    """Left: episodes to first reach the goal against the size (each seed a dot, the
    median a line; a run that never did sits above the budget line as an ×).  Right: the
    fraction of seeds that found the goal within the budget, with its 95 % Wilson interval
    (:func:`wilson_interval`; points are shifted a little sideways so that bars do not hide
    each other).

    ``untrained``: an optional set of ``(group, size, seed)`` whose untrained greedy policy
    already reaches the goal (:func:`untrained_greedy_finds_goal`); their dots are drawn
    hollow, since those runs did not need to explore."""
    import matplotlib.pyplot as plt

    if ax_episodes is None or ax_found is None:
        _, (ax_episodes, ax_found) = plt.subplots(1, 2, figsize=(11, 3.8))
    summary = first_goal_summary(rows, budget_episodes)
    groups = groups or list(summary)
    untrained = set(untrained or ())
    offsets = np.linspace(-0.15, 0.15, len(groups)) if len(groups) > 1 else [0.0]
    for (group, offset), color in zip(zip(groups, offsets), plt.cm.tab10.colors):
        cells = summary[group]
        sizes = sorted(cells)
        for row in rows:
            if row["group"] != group:
                continue
            x = int(row["size"]) + offset
            first = row["first_goal_episode"]
            if first is None or first == "":
                ax_episodes.scatter([x], [budget_episodes * 1.25], s=22, marker="x",
                                    color=color, alpha=0.8)
            elif (group, int(row["size"]), int(row["seed"])) in untrained:
                ax_episodes.scatter([x], [int(first)], s=30, facecolors="none",
                                    edgecolors=color, marker="s")
            else:
                ax_episodes.scatter([x], [int(first)], s=14, color=color, alpha=0.7)
        medians = np.array([cells[s]["median"] for s in sizes])
        shown = np.isfinite(medians)
        ax_episodes.plot(np.array(sizes)[shown] + offset, medians[shown], color=color,
                         label=group)
        rates = np.array([cells[s]["found"] / cells[s]["seeds"] for s in sizes])
        intervals = np.array([wilson_interval(cells[s]["found"], cells[s]["seeds"]) for s in sizes])
        ax_found.errorbar(np.array(sizes) + offset, rates,
                          yerr=[rates - intervals[:, 0], intervals[:, 1] - rates], marker="o",
                          color=color, label=group, capsize=2, lw=1.2, elinewidth=0.8)
    ax_episodes.axhline(budget_episodes, color="gray", lw=0.8, ls="--")
    if untrained:
        ax_episodes.scatter([], [], s=30, facecolors="none", edgecolors="gray", marker="s",
                            label="untrained μ already reaches it")
        ax_episodes.legend(fontsize=7, loc="lower right")
    ax_episodes.set_yscale("log")
    ax_episodes.set_xlabel("DeepSea size N")
    ax_episodes.set_ylabel("episodes to first reach the goal")
    ax_episodes.set_title(title or "each dot a seed, line the median; × never found")
    ax_found.set_xlabel("DeepSea size N")
    ax_found.set_ylabel(f"share of seeds that found it in {budget_episodes} episodes\n(95 % Wilson interval)")
    ax_found.set_ylim(-0.05, 1.05)
    ax_found.legend(fontsize=8)
    return ax_episodes, ax_found


def _curves(directories, column: str):
    """Each run's ``(steps, values)`` of ``column`` (rows where it has a value)."""
    from .training import read_metrics

    curves = []
    for directory in directories:
        metrics = read_metrics(Path(directory) / "metrics.csv")
        keep = ~np.isnan(metrics[column])
        curves.append((metrics["step"][keep], metrics[column][keep]))
    return curves


def _median_band(ax, curves, color, label: str) -> None:
    """Draw the median over ``curves`` (``(steps, values)`` pairs) and a band from the lowest
    to the highest.  The curves are put on the union of their steps by linear interpolation
    (each run's first and last values held beyond its ends)."""
    grid = np.unique(np.concatenate([steps for steps, _ in curves]))
    stacked = np.stack([np.interp(grid, steps, values) for steps, values in curves])
    ax.plot(grid, np.median(stacked, axis=0), color=color, label=label)
    ax.fill_between(grid, stacked.min(axis=0), stacked.max(axis=0), color=color, alpha=0.2)


def plot_bands(groups: dict, column: str = "eval_return", ax=None, ylabel=None):
    """``groups``: ``{label: [run directories]}``.  The median over runs of ``column``
    against steps, with a band from the lowest to the highest run."""
    import matplotlib.pyplot as plt

    ax = _axes(ax)
    for (label, directories), color in zip(groups.items(), plt.cm.tab10.colors):
        curves = [curve for curve in _curves(directories, column) if curve[0].size]
        if not curves:
            raise ValueError(f"no run of {label!r} has a value of {column!r}")
        _median_band(ax, curves, color, f"{label} (median of {len(curves)})")
    ax.set_xlabel("environment step")
    ax.set_ylabel(ylabel or column)
    ax.legend(fontsize=8)
    return ax


def plot_signal_to_noise(directories, ax=None):
    """Mean |μ| / mean |σ| of each noisy layer against steps: the median over runs, and a band
    from the lowest to the highest run."""
    import matplotlib.pyplot as plt

    from .training import read_metrics

    ax = _axes(ax)
    per_layer: dict = {}
    for directory in directories:
        for layer, curve in signal_to_noise(read_metrics(Path(directory) / "metrics.csv")).items():
            per_layer.setdefault(layer, []).append(curve)
    for (layer, curves), color in zip(sorted(per_layer.items()), plt.cm.tab10.colors):
        _median_band(ax, curves, color, layer)
    ax.set_xlabel("environment step")
    ax.set_ylabel("mean |μ| / mean |σ|")
    ax.legend(fontsize=8)
    return ax


def export_runs(runs, out) -> int:
    """Copy the compact part of the study in ``runs`` (its ``results.csv`` and, for each run
    it lists, :data:`EXPORTED_FILES`) into ``out``, which must not exist yet; return the runs copied.

    ``nh.run_trials`` takes a run whose ``result.json`` matches its trial as finished, so a
    copy of ``out`` read as a study's folder draws every figure without training.  The copy
    is written beside ``out`` and renamed into place when complete."""
    import shutil
    import tempfile

    runs, out = Path(runs), Path(out)
    if not (runs / "results.csv").is_file():
        raise ValueError(f"runs must be a study folder with a results.csv, got {str(runs)!r}")
    if out.exists():
        raise ValueError(f"out must not exist yet (it is never overwritten), got {str(out)!r}")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}.partial-") as tmp:
        staged = Path(tmp) / "runs"
        staged.mkdir()
        shutil.copyfile(runs / "results.csv", staged / "results.csv")
        names = [row["name"] for row in read_results(runs / "results.csv")]
        for name in names:  # the runs of results.csv only, not older ones left in the folder
            (staged / name).mkdir(parents=True)
            for file in EXPORTED_FILES:
                shutil.copyfile(runs / name / file, staged / name / file)
        staged.rename(out)
    return len(names)
