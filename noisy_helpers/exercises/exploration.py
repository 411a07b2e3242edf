"""Checkers for the exercises of notebook 06 (exploration: noise against ε-greedy).

Exercises 06.1 and 06.5 are about the committed fixed-map study,
``nh.assets.path("benchmarks/results/exploration") / "runs" / "deep_sea"``: its ``results.csv`` and
each run's ``result.json``. The checkers read it through the package, so their answers are the same
whether the notebook ran under a CI budget or trained the study in full.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np

from . import Wrong, exercise

#: The committed study of exercises 06.1 and 06.5, and the group and size of 06.5.
STUDY_ASSET = "benchmarks/results/exploration"
FIXED_STUDY = "deep_sea"
MEDIAN_GROUP, MEDIAN_SIZE = "noisynet", 8
#: The size exercise 06.1 appends, and the maps of exercise 06.4.
NEW_SIZE = 14
MAP_SIZE, MAP_SEEDS = 8, range(20)


def _integer(answer, name: str) -> int:
    """``answer`` as an int, or :class:`Wrong` saying that ``name`` must be a whole number."""
    if isinstance(answer, (bool, np.bool_)) or not float(answer).is_integer():
        raise Wrong(f"{name} must be a whole number (a count of trials), got {answer!r}")
    return int(answer)


def _boolean(answer, name: str) -> bool:
    """``answer`` as a bool, or :class:`Wrong` asking for True or False."""
    if not isinstance(answer, (bool, np.bool_)):
        raise Wrong(f"{name} must be True or False, got {answer!r}")
    return bool(answer)


# --------------------------------------------------------------------- the committed study
@functools.lru_cache(maxsize=None)
def fixed_study() -> tuple:
    """The committed fixed-map study: ``(folder, rows, sizes, seeds, budget_episodes)``.

    ``rows`` are its ``results.csv`` (``nh.read_results``); ``sizes`` and ``seeds`` the ones it
    ran; ``budget_episodes`` its episode budget, read back from a run's ``result.json`` (a
    trial's ``total_steps`` is ``episodes × size``,
    :func:`~noisy_helpers.exploration.deep_sea_config`).
    """
    from .. import assets
    from ..experiments import _read_result, read_results

    folder = Path(assets.path(STUDY_ASSET)) / "runs" / FIXED_STUDY
    rows = read_results(folder / "results.csv")
    sizes = sorted({int(row["size"]) for row in rows})
    seeds = sorted({int(row["seed"]) for row in rows})
    first = _read_result(folder / rows[0]["name"])
    budget = first["trial"]["config"]["total_steps"] // int(rows[0]["size"])
    return folder, rows, sizes, seeds, budget


# ------------------------------------------------------------------------------- 06.1
def trials_after_adding(size: int = NEW_SIZE) -> tuple:
    """``(trained, read)``: how many trials of the fixed study with ``size`` appended to its
    sizes ``nh.run_trials`` would train, and how many it would read from their ``result.json``.

    Decided exactly as ``run_trials`` decides: a trial is finished when its folder holds a
    ``result.json`` saved for that very trial (``experiments._load_result``)."""
    from ..experiments import _load_result
    from ..exploration import deep_sea_trials

    folder, _, sizes, seeds, budget = fixed_study()
    trials = deep_sea_trials(sizes + [size], seeds, budget)
    trained = sum(_load_result(trial, folder / trial.name) is None for trial in trials)
    return trained, len(trials) - trained


@exercise("06.1", "Add a size")
def add_a_size(new_trials_to_train, results_read_from_disk) -> str:
    """The fixed study (every setting of ``ABLATIONS``, its sizes and seeds) with N = 14
    appended: the trials that train and the trials read from their ``result.json``."""
    from ..exploration import ABLATIONS

    trained = _integer(new_trials_to_train, "new_trials_to_train")
    read = _integer(results_read_from_disk, "results_read_from_disk")
    truth_trained, truth_read = trials_after_adding()
    _, _, sizes, seeds, budget = fixed_study()
    if (trained, read) == (truth_trained, truth_read):
        return (f"{truth_trained} trials train ({len(ABLATIONS)} settings × {len(seeds)} seeds at "
                f"N = {NEW_SIZE}); the {truth_read} of the study ({len(ABLATIONS)} settings × "
                f"{len(sizes)} sizes × {len(seeds)} seeds) are read from their result.json")
    if (trained, read) == (truth_read, truth_trained):
        raise Wrong("the two counts are swapped: the new size trains, the old sizes are read")
    if trained == truth_trained + truth_read:
        raise Wrong("a trial whose result.json is already there is not trained again: "
                    "count only the trials of the new size")
    if read == truth_trained + truth_read:
        raise Wrong("the trials of the new size have no result.json yet: they are not read")
    if trained * len(seeds) == truth_trained or read * len(seeds) == truth_read:
        raise Wrong("count trials, not seeds: every (setting, size, seed) is one trial, "
                    "with its own folder and result.json")
    if trained * len(ABLATIONS) == truth_trained or read * len(ABLATIONS) == truth_read:
        raise Wrong("the fixed study runs every setting of exploration.ABLATIONS at each size, "
                    "not only NoisyNet")
    if trained != truth_trained:
        raise Wrong("new_trials_to_train: how many trials does exploration.deep_sea_trials("
                    f"[{NEW_SIZE}], range({len(seeds)}), {budget}) make?")
    raise Wrong("results_read_from_disk: how many trials had the study before N = "
                f"{NEW_SIZE} was added (the table of section 3)?")


# ------------------------------------------------------------------------------- 06.2
def sigma_zero_facts(seed: int = 0) -> dict:
    """Both answers of 06.2 measured on an ``nh.NoisyDense(3, sigma0=0.0)`` with fan-in 5:

    * ``explores_at_start``: does the output change when ``reset_noise`` draws new noise?
    * ``sigma_can_grow``: is the gradient of a loss with respect to σ (weights and biases)
      non-zero? With w = μ + σ ⊙ ε (Fortunato et al., Eq. 8), ∂L/∂σ = ∂L/∂w ⊙ ε, which does
      not vanish at σ = 0, so one gradient step moves σ away from 0."""
    import tensorflow as tf

    from ..noisy_dense import NoisyDense

    x = np.random.default_rng(seed).standard_normal((4, 5)).astype(np.float32)
    layer = NoisyDense(3, sigma0=0.0, seed=seed)
    before = layer(x).numpy()
    layer.reset_noise()
    after = layer(x).numpy()
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.square(layer(x) - 1.0))
    gradients = tape.gradient(loss, [layer.kernel_sigma, layer.bias_sigma])
    return dict(explores_at_start=not np.array_equal(before, after),
                sigma_can_grow=any(g is not None and float(tf.reduce_max(tf.abs(g))) > 0
                                   for g in gradients))


@exercise("06.2", "σ0 = 0")
def sigma_zero(explores_at_start, sigma_can_grow) -> str:
    """NoisyNet with ``sigma0=0.0``: does it explore at the start, and can its σ grow?"""
    explores = _boolean(explores_at_start, "explores_at_start")
    grows = _boolean(sigma_can_grow, "sigma_can_grow")
    truth = sigma_zero_facts()
    if explores != truth["explores_at_start"]:
        raise Wrong("explores_at_start: with σ = 0, what is the noise term σ ⊙ ε of Eq. 8? "
                    "Does a new draw (reset_noise) change any Q-value, hence any action?")
    if grows != truth["sigma_can_grow"]:
        raise Wrong("sigma_can_grow: σ = 0 is not where its gradient vanishes; differentiate "
                    "w = μ + σ ⊙ ε (Eq. 8) with respect to σ and look at what multiplies ∂L/∂w")
    return ("no exploration at the start (σ ⊙ ε = 0: the same greedy policy whatever the noise), "
            "but ∂L/∂σ = ∂L/∂w · ε ≠ 0, so the first gradient step can give σ a value")


# ------------------------------------------------------------------------------- 06.3
def p_goal_blocks(right, k: int, drop_last: bool = False, from_end: bool = False) -> float:
    """P(goal) with a new noise draw every ``k`` steps, from ``right`` (draws, N): whether draw
    d's greedy action is the right one in diagonal cell i.

    The cells split into blocks [0, k), [k, 2k), … (the last one may be shorter); one draw is held
    through a block, and the draws of different blocks are independent, so P is the product over
    blocks of the mean over draws of "right in every cell of the block". k = N is section 2's
    held noise, k = 1 its redrawn noise. ``drop_last`` (leave out the short last block) and
    ``from_end`` (blocks counted from the last cell) are the mistakes the checker recognises."""
    right = np.asarray(right, dtype=bool)
    n = right.shape[1]
    starts = range(n % k, n, k) if from_end else range(0, n, k)
    blocks = [right[:, s:s + k] for s in starts]
    if from_end and n % k:
        blocks.insert(0, right[:, :n % k])
    if drop_last:
        blocks = [block for block in blocks if block.shape[1] == k]
    return float(np.prod([block.all(axis=1).mean() for block in blocks]))


def correlated_right(draws: int, size: int, seed: int) -> np.ndarray:
    """A random (draws, size) boolean array whose cells are positively correlated within a draw,
    as an untrained NoisyNet's are (section 2): one shared tilt per draw, plus a little noise per
    cell, against a threshold per cell."""
    rng = np.random.default_rng(seed)
    tilt = rng.standard_normal((draws, 1))
    return tilt + 0.6 * rng.standard_normal((draws, size)) > rng.normal(-0.6, 0.3, size)


#: (draws, N, seed of the array, k): k = 1, N, and divisors and non-divisors of N.
P_GOAL_CASES = [(400, 10, 0, k) for k in (1, 2, 3, 4, 5, 7, 10)] + \
               [(300, 7, 1, k) for k in (1, 2, 3, 5, 7)] + [(500, 5, 2, k) for k in (2, 3, 4)]


@exercise("06.3", "Hold the noise for k steps")
def hold_for_k_steps(p_goal_every_k) -> str:
    """``p_goal_every_k(right, k)`` on correlated random arrays against the package's
    ``exploration.goal_probability_held_for``; :func:`p_goal_blocks` makes the mistakes."""
    from ..exploration import goal_probability_held_for

    arrays = {(draws, size, seed): correlated_right(draws, size, seed)
              for draws, size, seed, _ in P_GOAL_CASES}
    answers = []
    for draws, size, seed, k in P_GOAL_CASES:
        value = np.asarray(p_goal_every_k(arrays[draws, size, seed].copy(), k))
        if value.size != 1 or not np.issubdtype(value.dtype, np.number):
            raise Wrong(f"p_goal_every_k must return one number, a probability; got shape "
                        f"{value.shape} for right of shape ({draws}, {size}) and k = {k}")
        answers.append(float(value.ravel()[0]))

    def same(values) -> bool:
        return bool(np.allclose(answers, values, rtol=1e-9, atol=1e-12))

    def reference(**mistake):
        return [p_goal_blocks(arrays[case[:3]], case[3], **mistake) for case in P_GOAL_CASES]

    def package(k_of_case):
        return [goal_probability_held_for(arrays[case[:3]], k_of_case(case))
                for case in P_GOAL_CASES]

    if same(package(lambda case: case[3])):
        return ("P(goal) = Π over the blocks [0, k), [k, 2k), … of P(one draw right in the whole "
                "block); k = 1 gives the redrawn probability, k = N the held one")
    held = package(lambda case: case[1])
    redrawn = package(lambda case: 1)
    if same(held):
        raise Wrong("your P does not depend on k: it is the held-noise probability for every k; "
                    "a new draw every k steps makes the blocks independent")
    if same(redrawn):
        raise Wrong("your P is the redrawn-noise probability for every k: within a block of k "
                    "cells one draw is held, so its cells are not independent")
    if same(reference(drop_last=True)):
        raise Wrong("when k does not divide N the last block is shorter: it still has to be "
                    "right, so it is a factor too")
    if same(reference(from_end=True)):
        raise Wrong("the draws come at steps 0, k, 2k, …: the blocks start at the first cell, "
                    "and the short one (if any) is the last")
    raise Wrong("not the product over blocks of k consecutive cells of the chance that one draw "
                "is right in the whole block; check that k = 1 and k = N give section 2's values")


# ------------------------------------------------------------------------------- 06.4
def diagonal_ones(size: int = MAP_SIZE, seeds=MAP_SEEDS, action: int = 1,
                  whole_map: bool = False) -> list:
    """For each ``mapping_seed``: the cells of the diagonal (or of the whole map) whose right
    action is ``action``, from ``nh.DeepSeaEnv(size, randomize_actions=True, mapping_seed=s)``."""
    from ..deep_sea import DeepSeaEnv

    counts = []
    for seed in seeds:
        right = DeepSeaEnv(size, randomize_actions=True, mapping_seed=int(seed)).right_action
        cells = right if whole_map else right.diagonal()
        counts.append(int(np.sum(cells == action)))
    return counts


@exercise("06.4", "Which maps does held noise solve?")
def which_maps(ones_on_diagonal) -> str:
    """For N = 8 and ``mapping_seed`` 0..19: the diagonal cells whose right action is 1."""
    answer = np.asarray(ones_on_diagonal).ravel()
    truth = diagonal_ones()
    if answer.size != len(truth):
        raise Wrong(f"give one count per map: {len(truth)} numbers, for mapping_seed = "
                    f"{MAP_SEEDS.start}, …, {MAP_SEEDS.stop - 1}; got {answer.size}")
    if not np.issubdtype(answer.dtype, np.number):
        raise Wrong(f"give counts (whole numbers), got {list(ones_on_diagonal)!r}")
    if np.array_equal(answer, truth):
        return (f"from {min(truth)} to {max(truth)} of the {MAP_SIZE} diagonal cells ask for "
                "action 1; a shared tilt towards one action suits a map only where that count "
                f"is near 0 or {MAP_SIZE}")
    if np.array_equal(answer, diagonal_ones(whole_map=True)):
        raise Wrong("that counts the whole map: only the diagonal cells (i, i) are on the path "
                    "to the goal")
    if np.array_equal(answer, diagonal_ones(action=0)) or \
            np.array_equal(answer, diagonal_ones(action=0, whole_map=True)):
        raise Wrong("that counts the cells whose right action is 0; count those where it is 1")
    if np.array_equal(answer, diagonal_ones(seeds=range(1, len(truth) + 1))):
        raise Wrong(f"the maps are mapping_seed = {MAP_SEEDS.start}, …, {MAP_SEEDS.stop - 1}")
    raise Wrong(f"not the counts of 1s in right_action.diagonal() of the N = {MAP_SIZE} maps")


# ------------------------------------------------------------------------------- 06.5
@exercise("06.5", "Read the results yourself")
def read_the_results(median_first_goal) -> str:
    """The median ``first_goal_episode`` of the committed fixed study's NoisyNet runs at N = 8,
    a run that never found the goal counting as infinitely many episodes."""
    from ..exploration import first_goal_summary

    _, rows, _, _, budget = fixed_study()
    summary = first_goal_summary(rows, budget)
    cell = summary[MEDIAN_GROUP][MEDIAN_SIZE]
    truth = cell["median"]
    answer = float(median_first_goal)
    if math.isinf(truth) or math.isinf(answer):
        if math.isinf(truth) and math.isinf(answer):
            return "inf: half the seeds or more never found the goal"
        if math.isinf(truth):
            raise Wrong("half the seeds or more never found the goal: what is the median then?")
        raise Wrong("fewer than half of the seeds failed: the median is a finite episode")
    if np.isclose(answer, truth):
        return (f"{truth:g} episodes ({cell['found']} of {cell['seeds']} seeds found the goal; "
                "a run that never did counts as infinitely many)")
    found = [episode for episode in cell["episodes"] if math.isfinite(episode)]
    if found and np.isclose(answer, np.median(found)):
        raise Wrong("did you count runs without a goal as infinity? They are left out here")
    if found and np.isclose(answer, np.mean(found)):
        raise Wrong("that is a mean; the median is the middle run")
    if any(np.isclose(answer, cells[MEDIAN_SIZE]["median"]) for group, cells in summary.items()
           if group != MEDIAN_GROUP and MEDIAN_SIZE in cells):
        raise Wrong(f"that is another setting's median: keep the rows of group '{MEDIAN_GROUP}'")
    if any(np.isclose(answer, c["median"]) for size, c in summary[MEDIAN_GROUP].items()
           if size != MEDIAN_SIZE):
        raise Wrong(f"that is the median at another size: keep the rows of size {MEDIAN_SIZE}")
    raise Wrong(f"not the median first_goal_episode of the '{MEDIAN_GROUP}' rows at size "
                f"{MEDIAN_SIZE} of the committed results.csv")
