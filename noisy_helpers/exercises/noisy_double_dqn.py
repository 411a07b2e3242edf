"""Checkers for the exercises of notebook 04 (the Noisy Double DQN agent on CartPole)."""

from __future__ import annotations

import math

import numpy as np

from . import Wrong, exercise


# ----------------------------------------------------------------------------- 04.1
def _noise_values(network) -> list:
    """The current noise sample of every noisy layer of ``network``, as numpy copies."""
    from ..noisy_dense import noisy_layers

    return [np.array(variable)
            for layer in noisy_layers(network) for variable in layer.noise_variables]


def _q_values(network, states) -> np.ndarray:
    """Q(s, ·) of every state, ``(n_states, n_actions)``, with the network's noise as it is
    (the package evaluates its networks this way: ``network(states, training=False)``)."""
    return np.asarray(network(states, training=False), dtype=float)


@exercise("04.1", "Overestimation in a real run")
def mean_max_q(answer) -> str:
    """``answer(network, states)`` must return mean_s max_a Q(s, a): the value of the greedy
    action, averaged over the states, as notebook 04 compares with 1/(1 - γ) (van Hasselt et
    al. 2016 measure overestimation the same way). Tried on a small noisy network, its noise
    held as it is: the function must neither redraw nor remove it."""
    from ..networks import build_q_network
    from ..noisy_dense import noisy_layers

    network = build_q_network((4,), 3, hidden_sizes=(16,), noisy=True, seed=4, name="exercise_04_1")
    states = np.random.default_rng(4).normal(scale=2.0, size=(64, 4)).astype("float32")
    q = _q_values(network, states)
    noise = _noise_values(network)
    truth = float(q.max(axis=1).mean())

    result = answer(network, states)
    if not all(np.array_equal(a, b) for a, b in zip(noise, _noise_values(network))):
        raise Wrong("your function changed the network's noise: measure the network as it is "
                    "(remove the noise outside the function, as section 4 does)")
    with_mu_only = _with_noise_removed(network, states, noise, noisy_layers)

    value = np.asarray(result, dtype=float)
    if value.size == len(states) and np.allclose(value.ravel(), q.max(axis=1)):
        raise Wrong("that is max_a Q(s, a) of each state: the exercise asks for their mean, "
                    "one number")
    if value.size != 1:
        raise Wrong(f"expected one number, got an array of shape {value.shape}")
    value = float(value.ravel()[0])
    mistakes = [
        (q.mean(), "that averages over the actions too: take the max over the actions of each "
                   "state first, then the mean over the states"),
        (q.max(), "that is a single max over all states and actions: take one max per state"),
        (q.mean(axis=0).max(), "that takes the mean over the states first: max per state, then "
                               "the mean"),
        (q.max(axis=0).mean(), "that takes the max over the states (axis 0): Q has one row per "
                               "state, one column per action"),
        (with_mu_only, "that is the value with the noise removed: measure the network with its "
                       "noise as it is"),
    ]
    if not np.isclose(value, truth, rtol=1e-5, atol=1e-6):
        for wrong_value, message in mistakes:
            if np.isclose(value, wrong_value, rtol=1e-5, atol=1e-6):
                raise Wrong(message)
        raise Wrong("not the mean over the states of max_a Q(s, a): call network(states), then "
                    "max over the actions, mean over the states")
    return f"mean_s max_a Q(s, a) = {truth:.4f} for this network and 64 states"


def _with_noise_removed(network, states, noise, noisy_layers) -> float:
    """mean_s max_a Q(s, a) with μ only; the network's noise (``noise``) is put back after."""
    layers = noisy_layers(network)
    for layer in layers:
        layer.remove_noise()
    value = float(_q_values(network, states).max(axis=1).mean())
    variables = [variable for layer in layers for variable in layer.noise_variables]
    for variable, saved in zip(variables, noise):
        variable.assign(saved)
    return value


# ----------------------------------------------------------------------------- 04.2
def _metrics(episodes, evaluations, noisy_evaluations=None) -> dict:
    """Synthetic metrics in the format of ``nh.read_metrics`` (columns of ``metrics.csv``,
    NaN where a row has no value): ``episodes`` is ``[(step, return), ...]``, one row per
    training episode; ``evaluations`` ``[(step, mean return), ...]``, one row per evaluation
    (noise removed); ``noisy_evaluations`` the same evaluations played with the noise on."""
    from ..training import METRIC_FIELDS

    rows = [dict(step=step, episode_return=ret, episode_length=ret) for step, ret in episodes]
    noisy = noisy_evaluations or [ret for _, ret in evaluations]
    rows += [dict(step=step, eval_return=ret, eval_return_std=0.0, eval_return_noisy=noisy_ret)
             for (step, ret), noisy_ret in zip(evaluations, noisy)]
    rows.sort(key=lambda row: (row["step"], "eval_return" in row))  # as the loop writes them
    episode = 0
    for row in rows:
        episode += "episode_return" in row
        row.update(episode=episode, beta=0.4 + 0.6 * row["step"] / 20_000, loss=0.5)
    columns = METRIC_FIELDS + ["sigma/q_values", "mu/q_values"]
    missing = {name: 0.01 if "/" in name else math.nan for name in columns}  # σ, |μ|: every row
    return {name: np.array([float(row.get(name, missing[name])) for row in rows])
            for name in columns}


def _first_step_cases() -> list:
    """``(metrics, threshold)`` cases; each one separates a likely mistake from the truth."""
    evaluations = [(2_500, 120.0), (5_000, 475.0), (7_500, 310.0), (10_000, 490.0),
                   (12_500, 500.0), (15_000, 498.0)]
    episodes = [(400, 22.0), (1_300, 90.0), (3_000, 500.0), (4_200, 180.0), (6_100, 500.0),
                (9_000, 500.0), (14_000, 500.0)]
    noisy = [480.0, 300.0, 480.0, 500.0, 500.0, 500.0]
    return [
        (_metrics(episodes, evaluations, noisy), 475.0),  # equal to the threshold at 5,000
        (_metrics(episodes, evaluations, noisy), 495.0),
        (_metrics(episodes, evaluations, noisy), 100.0),  # the first evaluation already
        (_metrics(episodes, [(2_500, 80.0), (5_000, 130.0)], [200.0, 210.0]), 195.0),  # never
        (_metrics(episodes, [], None), 10.0),  # no evaluation at all
    ]


def _first_step_mistakes(metrics, threshold) -> list:
    """``(what a likely mistake returns, what to say)`` for one case."""
    steps = metrics["step"]

    def first(column, reached):
        rows = np.flatnonzero(reached(np.nan_to_num(metrics[column], nan=-np.inf)))
        return int(steps[rows[0]]) if rows.size else None

    evaluated = ~np.isnan(metrics["eval_return"])
    best = None
    if evaluated.any():
        returns = metrics["eval_return"][evaluated]
        best = int(steps[evaluated][np.flatnonzero(returns == returns.max())[-1]])
    return [
        (first("episode_return", lambda r: r >= threshold),
         "those are training episodes: use the evaluation rows (eval_return)"),
        (first("eval_return_noisy", lambda r: r >= threshold),
         "that uses the evaluations with the noise on: compare the noise-removed ones "
         "(eval_return)"),
        (first("eval_return", lambda r: r > threshold),
         "an evaluation exactly at the threshold counts as reaching it (≥, not >)"),
        (best, "that is the step of the best evaluation, not the first that reached the threshold"),
    ]


def _as_step(value):
    """A learner's return value as an int step, None, or the value itself if neither."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return value
    return int(number) if math.isfinite(number) and number == int(number) else value


@exercise("04.2", "Noise against ε-greedy, one seed")
def first_step_reaching(answer) -> str:
    """``answer(metrics, threshold)`` must return the first step whose evaluation (noise
    removed) reached ``threshold``, or None: ``nh.summarise_evaluations(...)["first_step"]``
    is the truth. Tried on synthetic metrics in ``nh.read_metrics``' format, with training
    episode rows (no evaluation) between the evaluation rows."""
    from ..summary import summarise_evaluations

    for metrics, threshold in _first_step_cases():
        truth = summarise_evaluations(metrics, threshold)["first_step"]
        given = _as_step(answer({k: v.copy() for k, v in metrics.items()}, threshold))
        if given == truth:
            continue
        if truth is None:
            raise Wrong(f"with threshold {threshold:g} no evaluation reached it in one of the "
                        f"test runs: return None then (you returned {given!r})")
        if given is None:
            raise Wrong(f"you returned None, but an evaluation reached {threshold:g}")
        evaluated = ~np.isnan(metrics["eval_return"])
        if isinstance(given, int) and given not in set(metrics["step"].astype(int)) and \
                0 <= given < len(metrics["step"]):
            raise Wrong("that looks like a row index: return the step (metrics['step']) of "
                        "that row")
        for wrong, message in _first_step_mistakes(metrics, threshold):
            if wrong is not None and given == wrong:
                raise Wrong(message)
        if isinstance(given, int) and given in set(metrics["step"][evaluated].astype(int)):
            raise Wrong(f"with threshold {threshold:g} that is an evaluation step, but not the "
                        f"first whose eval_return is ≥ the threshold")
        raise Wrong(f"with threshold {threshold:g} that is not the first step whose evaluation "
                    f"(eval_return, NaN on episode rows) reached it")
    return ("the first step whose noise-removed evaluation is ≥ the threshold, as "
            "nh.summarise_evaluations finds it")


# ----------------------------------------------------------------------------- 04.3
def target_syncs_after_learning_starts(config) -> int:
    """Target syncs that follow the first gradient step, by the rule of ``nh.train``'s loop
    (``training._Loop.after_step``): at step s = 1, 2, ..., total_steps, a gradient step when
    s % train_frequency == 0, s > learning_starts and the replay holds a batch; then a sync
    when s % target_update_period == 0. A sync before the first gradient step copies a
    network that has not changed. Each sync that follows learning is one step of the
    approximate value iteration of notebook 04, section 4."""
    trained, syncs = False, 0
    for step in range(1, config.total_steps + 1):
        if (step % config.train_frequency == 0 and step > config.learning_starts
                and min(step, config.buffer_size) >= config.batch_size):
            trained = True
        if step % config.target_update_period == 0 and trained:
            syncs += 1
    return syncs


#: Periods tried: the default, its fifth and five times it, then ones that catch off-by-ones.
_PERIODS = (None, 20, 500, 600, 7, 60_000)


@exercise("04.3", "Target update period")
def syncs_with_period(answer) -> str:
    """``answer(period)`` must return k, the number of target syncs after learning starts in
    a default run (``nh.Config()``) with ``target_update_period = period``; the truth follows
    the training loop's rule (:func:`target_syncs_after_learning_starts`)."""
    from ..config import Config

    default = Config()
    results = {}
    for period in _PERIODS:
        period = default.target_update_period if period is None else period
        config = default.replace(target_update_period=period)
        truth = target_syncs_after_learning_starts(config)
        given = answer(period)
        results[period] = given
        if isinstance(given, (bool, np.bool_)) or not isinstance(given, (int, float, np.number)):
            raise Wrong(f"for period {period} you returned {type(given).__name__} {given!r}: "
                        f"a number of syncs is an int")
        if given == truth:
            continue
        total, start = config.total_steps, config.learning_starts
        if given != int(given):
            raise Wrong(f"for period {period} you returned {given!r}: a number of syncs is a whole "
                        f"number (syncs happen at steps that are multiples of the period)")
        if period != default.target_update_period and len(set(results.values())) == 1:
            raise Wrong(f"the same k for period {default.target_update_period} and {period}: "
                        f"use the period argument")
        if given == total // period:
            raise Wrong(f"for period {period} that counts the syncs before learning starts too: "
                        f"up to step learning_starts they copy a network that has not changed")
        if given == (total - start) // period:
            raise Wrong(f"off by one for period {period}: syncs happen at the steps that are "
                        f"multiples of the period, not every period steps after learning_starts")
        if given == truth + 1:
            raise Wrong(f"one sync too many for period {period} (the copy made when the agent is "
                        f"built is not a sync after learning starts)")
        raise Wrong(f"not the number of syncs after learning starts for period {period}: count "
                    f"the steps s ≤ total_steps with s % period == 0 and s > learning_starts")
    period = default.target_update_period
    k = {p: target_syncs_after_learning_starts(default.replace(target_update_period=p))
         for p in (period, period * 5)}
    horizon = {p: (1 - default.gamma ** n) / (1 - default.gamma) for p, n in k.items()}
    return (f"k = {k[period]} syncs at period {period}, {k[period * 5]} at {period * 5}; "
            f"(1−γ^k)/(1−γ) = {horizon[period]:.1f} vs {horizon[period * 5]:.1f} "
            f"(limit {1 / (1 - default.gamma):.0f})")


# ----------------------------------------------------------------------------- 04.4
@exercise("04.4", "Terminated vs truncated")
def truncated_target(answer) -> str:
    """The Double DQN target of a truncated last step: r = 1, γ = 0.99, Q_online(s') = [3, 5],
    Q_target(s') = [40, 60]. A truncation is stored with done = terminated = 0, so it bootstraps."""
    from ..targets import double_dqn_targets

    truth = float(double_dqn_targets([1.0], [0.0], [[3.0, 5.0]], [[40.0, 60.0]], 0.99)[0])
    answer = float(answer)
    if np.isclose(answer, 1.0):
        raise Wrong("1.0 is the target of a terminal state: a truncation still bootstraps")
    if np.isclose(answer, 1.0 + 0.99 * 40.0):
        raise Wrong("that bootstraps from action 0: which action does the online network choose?")
    if not np.isclose(answer, truth):
        raise Wrong("y = r + γ Q_target(s', argmax_a Q_online(s', a)) for a step that is not "
                    "terminal")
    return f"y = 1 + 0.99 × 60 = {truth:g}"


# ----------------------------------------------------------------------------- 04.5
@exercise("04.5", "From the command line")
def small_fields(answer) -> str:
    """``answer`` must be the set of ``Config`` fields whose values differ between
    ``nh.Config.small()`` (what ``--small`` starts from) and ``nh.Config()``, compared with
    ``to_dict()``; the order does not matter."""
    import dataclasses

    from ..config import Config

    default, small = Config().to_dict(), Config.small().to_dict()
    fields = {field.name for field in dataclasses.fields(Config)}
    truth = {name for name in fields if small[name] != default[name]}
    if isinstance(answer, (str, bytes)) or not hasattr(answer, "__iter__"):
        raise Wrong('give a set of field names, e.g. {"total_steps", "seed"}')
    names = list(answer)
    if not all(isinstance(name, str) for name in names):
        raise Wrong("every element must be a field name, a string")
    names = set(names)
    problems = []
    flags = sorted(name for name in names - fields if name.lstrip("-").replace("-", "_") in fields)
    if flags:
        problems.append(f"{', '.join(flags)}: write field names (total_steps), not flags")
    unknown = sorted(names - fields - set(flags))
    if unknown:
        what = "Config fields" if len(unknown) > 1 else "a Config field"
        problems.append(f"{', '.join(unknown)}: not {what}")
    same = sorted((names & fields) - truth)
    if same:
        problems.append(f"{', '.join(f'{name} (={default[name]!r})' for name in same)}: the same "
                        f"in both")
    missing = truth - names - {name.lstrip("-").replace("-", "_") for name in flags}
    if missing:
        problems.append(f"{len(missing)} changed field{'s are' if len(missing) > 1 else ' is'} "
                        f"missing")
    if problems:
        raise Wrong("; ".join(problems))
    return (f"small() changes {len(truth)} fields: {', '.join(sorted(truth))} "
            f"(its target_update_period is the default, {default['target_update_period']})")
