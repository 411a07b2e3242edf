"""Plots of a run's ``metrics.csv``: the learning curve and the noise σ over training.

Used by ``make demo`` and from ``notebooks/04_noisy_double_dqn.ipynb`` on.
Each function takes the dict that :func:`noisy_helpers.read_metrics` returns
and draws on a given matplotlib ``Axes`` (or a new figure).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np

__all__ = ["plot_learning_curve", "plot_noise", "save_run_plots", "noisy_layer_names",
           "read_best", "read_warm_start"]


def _axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(7, 4))
    return ax


def _mark_warm_start(ax, warm_start: dict | None) -> None:
    """A dotted line at the step where a run started from an exported agent."""
    if warm_start is not None:
        ax.axvline(warm_start["step"], color="gray", ls=":", lw=1.2,
                   label=f"warm start at step {warm_start['step']:,} (Adam "
                         f"{warm_start['optimizer']}, replay {warm_start['replay']})")


def noisy_layer_names(metrics: dict) -> list:
    """The noisy layers that a metrics dict has σ columns for."""
    return [key.split("/", 1)[1] for key in metrics if key.startswith("sigma/")]


def plot_learning_curve(metrics: dict, ax=None, title: str = "Learning curve",
                        window: int = 10, best: dict | None = None,
                        warm_start: dict | None = None):
    """Training episode returns (thin, with a moving average) and evaluation returns:
    noise removed (μ only, ± one std over the episodes) and noise on.  ``best`` (a run's
    ``best/`` selection, :func:`~noisy_helpers.run_folder.read_selection`: ``step`` and
    ``eval_return``) is marked with a star: the agent that ``evaluate`` uses.  ``warm_start``
    (a checkpoint's record of the export a run started from, :func:`read_warm_start`) is a
    dotted line at its step.

    On Atari (a ``game_score`` column with values) the training curve is the true score
    of each game, not the clipped return of each life, so that it compares with the
    evaluations."""
    ax = _axes(ax)
    games = metrics.get("game_score")
    if games is not None and (~np.isnan(games)).any():
        column, unit, label = "game_score", "score", "training game (true score)"
        plural = "games"
    else:
        column, unit, label = "episode_return", "episode return", "training episode"
        plural = "episodes"
    episodes = ~np.isnan(metrics[column])
    steps, returns = metrics["step"][episodes], metrics[column][episodes]
    ax.plot(steps, returns, color="tab:blue", alpha=0.25, lw=0.8, label=label)
    if len(returns) >= window:
        smooth = np.convolve(returns, np.ones(window) / window, mode="valid")
        ax.plot(steps[window - 1:], smooth, color="tab:blue", lw=1.5,
                label=f"training, mean of {window} {plural}")
    evals = ~np.isnan(metrics["eval_return"])
    if evals.any():
        eval_steps, mean = metrics["step"][evals], metrics["eval_return"][evals]
        std = metrics["eval_return_std"][evals]
        ax.plot(eval_steps, mean, "o-", color="tab:red", lw=1.5, ms=4,
                label="evaluation, noise removed (μ)")
        ax.fill_between(eval_steps, mean - std, mean + std, color="tab:red", alpha=0.15)
        ax.plot(eval_steps, metrics["eval_return_noisy"][evals], "s--", color="tab:orange",
                lw=1, ms=3, label="evaluation, noise on")
    if best is not None and best.get("eval_return") is not None:
        ax.plot([best["step"]], [best["eval_return"]], "*", color="black", ms=14, zorder=5,
                label=f"best agent (best/): {best['eval_return']:.1f} at step {best['step']:,}")
    _mark_warm_start(ax, warm_start)
    ax.set_xlabel("environment steps")
    ax.set_ylabel(unit)
    ax.set_title(title)
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    return ax


def plot_noise(metrics: dict, ax=None, title: str = "Mean σ of each noisy layer",
               warm_start: dict | None = None):
    """The mean σ of each noisy layer (weights and biases) over training (``warm_start``: as
    in :func:`plot_learning_curve`)."""
    ax = _axes(ax)
    for layer in noisy_layer_names(metrics):
        sigma = metrics[f"sigma/{layer}"]
        keep = ~np.isnan(sigma)
        ax.plot(metrics["step"][keep], sigma[keep], lw=1.5, label=f"{layer}: mean σ")
    _mark_warm_start(ax, warm_start)
    ax.set_xlabel("environment steps")
    ax.set_ylabel("mean σ")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if noisy_layer_names(metrics):
        ax.legend(loc="best", fontsize=8)
    return ax


def _best_directory(run_directory):
    """The run's verified ``best/``, or None when it has none yet."""
    from .run_folder import BEST, BEST_FILES, find_checkpoint

    try:
        return find_checkpoint(run_directory, BEST_FILES, name=BEST)
    except FileNotFoundError:
        return None


def read_best(run_directory):
    """The selection of a run's best agent (``best/selection.json``: ``step``,
    ``eval_return``), verified, or None when the run has no ``best/`` yet."""
    from .run_folder import read_selection

    directory = _best_directory(run_directory)
    return None if directory is None else read_selection(directory)


def _warm_start_record(run_directory, best_directory):
    """``state.json``'s ``warm_start`` from ``best_directory`` (already verified), else from
    the verified ``checkpoint/``; None when the run started from scratch or has neither."""
    from .run_folder import CHECKPOINT, EXPORTED_FILES, find_checkpoint, read_state

    directory = best_directory
    if directory is None:
        try:
            directory = find_checkpoint(run_directory, EXPORTED_FILES, name=CHECKPOINT)
        except FileNotFoundError:  # no checkpoint yet
            return None
    return read_state(directory).get("warm_start")


def read_warm_start(run_directory):
    """The record of the exported agent a run (or the run of an exported agent) started from
    (``state.json``'s ``warm_start``: ``step``, ``source``...), or None when it started from
    scratch.  Every checkpoint of a run holds the same record: it is read from the verified
    ``best/`` when there is one (no replay to hash), else from ``checkpoint/``."""
    return _warm_start_record(run_directory, _best_directory(run_directory))


def save_run_plots(run_directory) -> list:
    """Write ``learning_curve.png`` and ``sigma.png`` for a run; return their paths."""
    import matplotlib.pyplot as plt

    from .run_folder import read_selection
    from .training import read_metrics

    run_directory = Path(run_directory)
    metrics = read_metrics(run_directory / "metrics.csv")
    best_directory = _best_directory(run_directory)  # verified once, read twice
    best = None if best_directory is None else read_selection(best_directory)
    warm_start = _warm_start_record(run_directory, best_directory)
    paths = []
    for name, plot in (("learning_curve.png", partial(plot_learning_curve, best=best,
                                                      warm_start=warm_start)),
                       ("sigma.png", partial(plot_noise, warm_start=warm_start))):
        fig, ax = plt.subplots(figsize=(7, 4))
        plot(metrics, ax=ax)
        fig.tight_layout()
        fig.savefig(run_directory / name, dpi=120)
        plt.close(fig)
        paths.append(run_directory / name)
    return paths
