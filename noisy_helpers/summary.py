"""What a run's evaluations say: when it first solved the task, how well it held, best and last.

Used by ``python -m noisy_helpers summary`` (and so ``make demo``), by
``benchmarks/bench_cartpole.py`` and in ``notebooks/04_noisy_double_dqn.ipynb``.

Every number comes from the evaluation rows of ``metrics.csv`` (noise removed, μ only):

* ``first_step``: the first step whose evaluation mean reached ``threshold`` (None: never),
* ``stay_share``: of the evaluations from that one on, the share that stayed >= threshold,
* ``best`` / ``best_step``: the highest evaluation mean and its step (ties: the later).
  The run's ``best/`` agent may be another one: before it is kept it also plays a check of
  ``Config.best_check_episodes`` more episodes, and it is the agent with the highest mean
  over both,
* ``last`` / ``last_step``: the last evaluation.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["summarise_evaluations", "format_summary", "solved_threshold"]


def solved_threshold(env_id: str):
    """The return at which gymnasium counts ``env_id`` as solved (``reward_threshold``:
    475 for CartPole-v1), or None when its spec has none (Atari games)."""
    import gymnasium as gym

    try:
        threshold = gym.spec(env_id).reward_threshold
    except gym.error.Error:
        return None
    return None if threshold is None else float(threshold)


def _check_threshold(threshold):
    if threshold is None:
        return None
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
        raise TypeError(f"threshold must be a number or None, got {type(threshold).__name__} "
                        f"{threshold!r}")
    if not math.isfinite(threshold):
        raise ValueError(f"threshold must be finite, got {threshold!r}")
    return float(threshold)


def summarise_evaluations(metrics: dict, threshold=None) -> dict:
    """The evaluation rows of ``metrics`` (a :func:`~noisy_helpers.read_metrics` dict) in
    a few numbers (see the module docstring).  ``threshold`` None skips ``first_step`` and
    ``stay_share``.  A run with no evaluation yet gives ``evaluations == 0`` and Nones."""
    threshold = _check_threshold(threshold)
    if not isinstance(metrics, dict) or "eval_return" not in metrics or "step" not in metrics:
        raise ValueError("metrics must be a dict with 'step' and 'eval_return' columns "
                         "(from read_metrics)")
    rows = ~np.isnan(np.asarray(metrics["eval_return"], dtype=float))
    steps = np.asarray(metrics["step"])[rows].astype(int)
    returns = np.asarray(metrics["eval_return"], dtype=float)[rows]
    summary = dict(threshold=threshold, evaluations=int(returns.size), steps=steps.tolist(),
                   returns=returns.tolist(), first_step=None, stay_share=None, best=None,
                   best_step=None, last=None, last_step=None)
    if returns.size == 0:
        return summary
    best = int(np.flatnonzero(returns == returns.max())[-1])  # ties: the later
    summary.update(best=float(returns[best]), best_step=int(steps[best]),
                   last=float(returns[-1]), last_step=int(steps[-1]))
    if threshold is not None:
        reached = np.flatnonzero(returns >= threshold)
        if reached.size:
            summary.update(first_step=int(steps[reached[0]]),
                           stay_share=float(np.mean(returns[reached[0]:] >= threshold)))
    return summary


def format_summary(summary: dict) -> str:
    """The summary as a few lines for a terminal, saying how the last evaluation compares
    with the best."""
    if summary["evaluations"] == 0:
        return "no evaluation yet"
    lines = [f"evaluations: {summary['evaluations']} (noise removed, μ only)"]
    threshold = summary["threshold"]
    if threshold is not None:
        if summary["first_step"] is None:
            lines.append(f"first evaluation >= {threshold:g}: never")
        else:
            later = summary["evaluations"] - summary["steps"].index(summary["first_step"])
            lines.append(f"first evaluation >= {threshold:g}: step {summary['first_step']:,}; "
                         f"{summary['stay_share']:.0%} of the {later} evaluations from then on "
                         f"stayed >= {threshold:g}")
    lines.append(f"best evaluation: {summary['best']:.1f} at step {summary['best_step']:,}")
    gap = summary["best"] - summary["last"]
    if gap == 0:
        comparison = "as good as the best"
    else:
        comparison = f"{gap:.1f} below the best ({summary['last'] / summary['best']:.0%} of it)" \
            if summary["best"] > 0 else f"{gap:.1f} below the best"
    lines.append(f"last evaluation: {summary['last']:.1f} at step {summary['last_step']:,}, "
                 f"{comparison}")
    return "\n".join(lines)
