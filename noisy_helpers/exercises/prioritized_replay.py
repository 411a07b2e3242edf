"""Checkers for the exercises of notebook 02 (prioritized replay).

The maths is Schaul et al. 2016, *Prioritized Experience Replay* (arXiv:1511.05952): Eq. 1 and the
rank-based variant (§3.3), importance-sampling weights and the annealing of β (§3.4), stratified
sampling (Appendix B.2.1).
"""

from __future__ import annotations

import numpy as np

from . import Wrong, exercise

# Exercise 1 -----------------------------------------------------------------------------------


def _corrected_mean(g, probabilities, beta):
    """E_{i~P}[(N P(i))^-β g_i] = Σ_i P(i) (N P(i))^-β g_i, exactly (§3.4; N = len(g))."""
    n = len(g)
    return float(np.sum(probabilities * (n * probabilities) ** -beta * g))


def _exercise_1_cases():
    """(g, P, β) triples: three random buffers, each at β = 0, β = 1 and one β in between."""
    rng = np.random.default_rng(2016)
    cases = []
    for n in (5, 8, 13):
        g = rng.normal(size=n)
        probabilities = rng.dirichlet(np.ones(n))
        for beta in (0.0, 1.0, float(rng.uniform(0.2, 0.8))):
            cases.append((g, probabilities, beta))
    return cases


# Likely mistakes, each as (answer it would give, what to say).
_EXERCISE_1_MISTAKES = (
    (lambda g, p, b: _corrected_mean(g, p, b) / np.max((len(g) * p) ** -b),
     "compute it exactly, without dividing by the largest weight: that division only rescales "
     "the step size, it is not part of the expectation"),
    (lambda g, p, b: float(np.sum(p * (len(g) * p) ** b * g)),
     "the weight is (N P(i))^-β, with a minus: rare transitions must count more, not less"),
    (lambda g, p, b: float(np.mean((len(g) * p) ** -b * g)),
     "an expectation over i ~ P weights each term by P(i); a plain average is over i ~ U"),
    (lambda g, p, b: float(np.sum(p * p ** -b * g)),
     "the weight is (N P(i))^-β: you left out N"),
)


@exercise("02.1", "Derive the bias and its correction")
def corrected_mean(corrected_mean) -> str:
    """``corrected_mean(g, probabilities, beta)`` must be E_{i~P}[(N P(i))^-β g_i] computed exactly:
    the mean of g at β = 1 (the bias is gone, §3.4), E_P[g] at β = 0, the reference in between."""
    cases = _exercise_1_cases()
    answers = []
    for g, probabilities, beta in cases:
        answer = corrected_mean(g.copy(), probabilities.copy(), beta)
        if np.ndim(answer) != 0:
            raise Wrong("return one number, the expectation, not one value per transition")
        answers.append(float(answer))
    answers = np.array(answers)
    truths = np.array([_corrected_mean(*case) for case in cases])
    if np.allclose(answers, truths, rtol=1e-7, atol=1e-10):
        return ("Σ_i P(i) (N P(i))^-β g_i; at β = 1 the P(i) cancel and it is the uniform mean "
                "(1/N) Σ_i g_i, for any other β it still depends on P")
    for mistake, message in _EXERCISE_1_MISTAKES:
        if np.allclose(answers, [mistake(*case) for case in cases], rtol=1e-7, atol=1e-10):
            raise Wrong(message)
    g, probabilities, beta = cases[2]
    if corrected_mean(g.copy(), probabilities.copy(), beta) != answers[2]:
        raise Wrong("your answer changes from call to call: compute the expectation exactly, "
                    "as a sum over all N transitions, not by sampling")
    betas = np.array([beta for _, _, beta in cases])
    wrong = ~np.isclose(answers, truths, rtol=1e-7, atol=1e-10)
    if wrong[betas == 1.0].any():
        raise Wrong("at β = 1 it must equal the uniform mean of g, (1/N) Σ_i g_i")
    if wrong[betas == 0.0].any():
        raise Wrong("at β = 0 nothing is corrected: it must equal E_P[g] = Σ_i P(i) g_i")
    raise Wrong("right at β = 0 and β = 1, wrong in between: the weight is (N P(i))^-β")


# Exercise 2 -----------------------------------------------------------------------------------

_FIRST_STEP, _LAST_STEP = 50_000, 2_000_000
_EXERCISE_2_STEPS = (50_000, 100_000, 525_000, 1_025_000, 1_999_999, 2_000_000)


def _original_beta(step):
    """The original notebook's β: +0.001 per sample() call from 0.4, capped at 1, one call every
    4 environment steps from step 50,000 (the rule of its `Memory.sample`)."""
    return min(1.0, 0.4 + 0.001 * ((step - _FIRST_STEP) // 4))


@exercise("02.2", "Choose a β schedule")
def beta_schedule(my_beta) -> str:
    """``my_beta(step)`` must go linearly from β = 0.4 at step 50,000 (the first gradient step) to
    exactly 1 at step 2,000,000 (the last): ``nh.linear_schedule`` over the 1,950,000 steps in
    between, evaluated at ``step - 50_000`` (§3.4: β annealed to 1 at the end of training)."""
    from ..replay import linear_schedule

    reference = linear_schedule(0.4, 1.0, _LAST_STEP - _FIRST_STEP)
    answers = {step: float(my_beta(step)) for step in _EXERCISE_2_STEPS}
    truths = {step: reference(step - _FIRST_STEP) for step in _EXERCISE_2_STEPS}
    wrong = [step for step in _EXERCISE_2_STEPS if not np.isclose(answers[step], truths[step])]
    at_the_end = np.isclose(answers[_LAST_STEP], 1.0, rtol=0, atol=1e-9)
    if not wrong and at_the_end:
        return ("nh.linear_schedule(0.4, 1.0, 1_950_000)(step - 50_000): 0.4 at the first "
                "gradient step, 0.7 halfway, 1 at the last step")
    if all(np.isclose(answers[step], _original_beta(step)) for step in _EXERCISE_2_STEPS):
        raise Wrong("that is the original notebook's per-call rule: it reaches β = 1 after 600 "
                    "sample() calls (step 52,400), not at the end of training")
    if not np.isclose(answers[_FIRST_STEP], 0.4):
        raise Wrong(f"β must be 0.4 at step 50,000, the first gradient step, not "
                    f"{answers[_FIRST_STEP]:.4g}: shift the step")
    if not at_the_end:
        raise Wrong(f"β must be exactly 1 at step 2,000,000, the last step, not "
                    f"{answers[_LAST_STEP]:.6g}: over how many steps does β change?")
    raise Wrong(f"β must be linear in the step from 50,000 to 2,000,000: wrong at steps {wrong}")


# Exercise 3 -----------------------------------------------------------------------------------


def _ranks(keys):
    """rank(i) = 1 + the position of i when sorted by ``keys`` ascending, ties kept in index order."""
    ranks = np.empty(len(keys))
    ranks[np.argsort(keys, kind="stable")] = np.arange(1, len(keys) + 1)
    return ranks


def _normalised(priorities, alpha):
    """P(i) = p_i^α / Σ_k p_k^α (Eq. 1)."""
    powered = np.asarray(priorities, dtype=float) ** alpha
    return powered / powered.sum()


def _rank_based(td_errors, alpha):
    """Rank-based prioritization (§3.3): p_i = 1 / rank(i), rank 1 = the largest |δ|."""
    return _normalised(1.0 / _ranks(-np.abs(td_errors)), alpha)


def _exercise_3_cases():
    """(TD errors, α, has ties): a small hand case, random ones, and random ones rounded to one
    decimal so that several |δ| are equal (some with opposite signs)."""
    rng = np.random.default_rng(7)
    cases = [(np.array([0.0, 0.5, -1.0, 2.0, 4.0]), 0.7)]
    for _ in range(12):
        cases.append((rng.normal(size=int(rng.integers(2, 50))), float(rng.choice([0.7, 0.5, 1.0]))))
    for _ in range(6):
        cases.append((np.round(rng.normal(size=int(rng.integers(20, 50))), 1), 0.7))
    return [(td, alpha, len(np.unique(np.abs(td))) < len(td)) for td, alpha in cases]


_PROPORTIONAL = ("those are the proportional probabilities of Eq. 1: here p_i = 1/rank(i), which "
                 "keeps only the order of the |δ|")
_EXERCISE_3_MISTAKES = (
    (lambda td, a: _normalised(np.abs(td) + 1e-6, a), _PROPORTIONAL),
    (lambda td, a: _normalised(np.abs(td), a), _PROPORTIONAL),
    (lambda td, a: _normalised(1.0 / _ranks(np.abs(td)), a),
     "rank 1 must be the transition with the largest |δ|, not the smallest"),
    (lambda td, a: _normalised(1.0 / _ranks(-np.asarray(td)), a),
     "rank by |δ|, not by δ: the sign of a TD error does not matter"),
    (lambda td, a: 1.0 / _ranks(-np.abs(td)) ** a,
     "not normalised: the probabilities must sum to 1"),
    (lambda td, a: _normalised(1.0 / _ranks(-np.abs(td)), 1.0),
     "α is missing: P(i) uses p_i^α"),
)


@exercise("02.3", "The rank-based variant")
def rank_based(rank_based_probabilities) -> str:
    """``rank_based_probabilities(td_errors, alpha)`` must give P(i) = (1/rank(i))^α / Σ_k
    (1/rank(k))^α, rank 1 = the largest |δ|, ties broken by index (§3.3), on random TD errors."""
    cases = _exercise_3_cases()
    answers = []
    for td, alpha, _ in cases:
        answer = np.asarray(rank_based_probabilities(td.copy(), alpha), dtype=float)
        if answer.shape != td.shape:
            raise Wrong(f"return one probability per TD error: shape {td.shape}, got {answer.shape}")
        if not np.isfinite(answer).all():
            raise Wrong("some probabilities are not finite: ranks start at 1, for the largest |δ|")
        answers.append(answer)
    right = [np.allclose(answer, _rank_based(td, alpha), rtol=1e-7, atol=1e-12)
             for answer, (td, alpha, _) in zip(answers, cases)]
    if all(right):
        return ("P depends only on the order of the |δ|: an outlier keeps rank 1 and the same P, "
                "while the proportional P hands it almost all the probability mass")
    no_ties = [(answer, td, alpha) for answer, (td, alpha, ties) in zip(answers, cases) if not ties]
    for mistake, message in _EXERCISE_3_MISTAKES:
        if all(np.allclose(answer, mistake(td, alpha), rtol=1e-6, atol=1e-12)
               for answer, td, alpha in no_ties):
            raise Wrong(message)
    if all(ok for ok, (_, _, ties) in zip(right, cases) if not ties):
        raise Wrong("wrong when several |δ| are equal: break ties by index, the lower index "
                    "first, as np.argsort(..., kind=\"stable\") does")
    if not right[0]:
        raise Wrong("wrong already on td_errors = [0, 0.5, -1, 2, 4], α = 0.7: "
                    "P(i) = (1/rank(i))^α / Σ_k (1/rank(k))^α, rank 1 = the largest |δ|")
    raise Wrong("wrong on some random TD errors: P(i) = (1/rank(i))^α / Σ_k (1/rank(k))^α, "
                "rank 1 = the largest |δ|")


# Exercise 4 -----------------------------------------------------------------------------------

_N_4, _ALPHA_4, _BATCH_4, _PERIOD_4 = 10**6, 0.6, 32, 4


def _zero_error_probability(eps, alpha=_ALPHA_4, n=_N_4):
    """P(0) by Eq. 1 for one transition with δ = 0 among n − 1 with |δ| = 1:
    ε^α / ((n − 1)(1 + ε)^α + ε^α)."""
    return eps**alpha / ((n - 1) * (1 + eps) ** alpha + eps**alpha)


def _steps_per_hit(probability, batch=_BATCH_4, period=_PERIOD_4):
    """Expected environment steps until a transition of probability P is first in a batch:
    a batch of `batch` draws contains it with probability 1 − (1 − P)^batch (≈ batch·P, exactly
    batch·P with stratified sampling while its interval fits in one segment, Appendix B.2.1), the
    number of batches until then is geometric, and one batch is drawn every `period` steps."""
    per_batch = -np.expm1(batch * np.log1p(-probability))  # 1 - (1 - P)^batch, without rounding
    return period / per_batch


def _steps_until_replay(eps):
    """The truth of exercise 4 for one ε."""
    return _steps_per_hit(_zero_error_probability(eps))


def _exercise_4_mistakes(eps):
    """(the answer a likely mistake gives for this ε, what to say)."""
    p0 = _zero_error_probability(eps)
    truth = _steps_per_hit(p0)
    return (
        (_steps_per_hit(_zero_error_probability(eps, alpha=1.0)),
         "α is missing: the transition's leaf is (0 + ε)^α, and every other leaf (1 + ε)^α"),
        (truth / _PERIOD_4, "that is a number of batches: one batch is drawn every 4 environment steps"),
        (_PERIOD_4 / p0, "that counts one draw per batch: each batch makes 32 draws"),
        (1.0 / p0, "that is the expected number of single draws: a batch makes 32 draws every "
                   "4 environment steps"),
    )


def _power_of_ten(x):
    """``x`` as a learner reads it: 497633778.3 -> "5.0 × 10^8"."""
    exponent = int(np.floor(np.log10(x)))
    mantissa = round(x / 10**exponent, 1)
    if mantissa >= 10:
        mantissa, exponent = mantissa / 10, exponent + 1
    return f"{mantissa:.1f} × 10^{exponent}"


def _close(answer, truth, rtol=0.05):
    """``answer`` within ``rtol`` (5 %) of ``truth``."""
    return abs(answer - truth) <= rtol * abs(truth)


@exercise("02.4", "ε and never-replayed transitions")
def never_replayed(steps_until_replay_eps_1e_6, steps_until_replay_eps_0_01) -> str:
    """The expected number of environment steps before the δ = 0 transition of a buffer of 10^6
    (all others |δ| = 1, α = 0.6, batches of 32 every 4 steps) is first replayed, for ε = 10^-6
    and ε = 0.01, within 5 %: P(0) by Eq. 1, a batch contains it with probability
    1 − (1 − P(0))^32 ≈ 32 P(0), geometric waiting time, 4 steps per batch."""
    answers = {1e-6: float(steps_until_replay_eps_1e_6), 0.01: float(steps_until_replay_eps_0_01)}
    truths = {eps: _steps_until_replay(eps) for eps in answers}
    if all(_close(answers[eps], truths[eps]) for eps in answers):
        return (f"about {_power_of_ten(truths[1e-6])} steps with ε = 10^-6, in practice never, "
                f"and {_power_of_ten(truths[0.01])} with ε = 0.01: P(0) = ε^α / Σ_k p_k^α, a batch "
                f"contains it with probability ≈ 32 P(0), one batch every 4 steps")
    if _close(answers[1e-6], truths[0.01]) and _close(answers[0.01], truths[1e-6]):
        raise Wrong("the two answers are swapped: with which ε is the zero-error transition more likely?")
    for eps, name in ((1e-6, "ε = 10^-6"), (0.01, "ε = 0.01")):
        answer = answers[eps]
        if not np.isfinite(answer) or answer <= 0:
            raise Wrong(f"with {name}: a number of steps is a positive number, got {answer:g}")
        if _close(answer, truths[eps]):
            continue
        for mistake, message in _exercise_4_mistakes(eps):
            if _close(answer, mistake):
                raise Wrong(f"with {name}: {message}")
        raise Wrong(f"with {name}: not within 5 %; P(0) = (0 + ε)^α / Σ_k (|δ_k| + ε)^α, then how "
                    f"many batches until one contains it, and how many steps per batch?")
    raise AssertionError("unreachable: some answer was wrong")  # pragma: no cover


# Exercise 5 -----------------------------------------------------------------------------------


def _batch_over_buffer_factor(batch_probabilities, min_probability, n, beta):
    """The factor by which a batch's weights normalised by the batch max exceed the same weights
    normalised by the buffer max, computed with ``nh.importance_weights`` (§3.4).

    The largest weight of the whole buffer belongs to its least likely transition, so appending
    ``min_probability`` to the batch and normalising by the max gives the buffer-max weights. In
    closed form the factor is (min_batch P / min_k P)^β ≥ 1: N cancels.
    """
    from ..replay import importance_weights

    batch_probabilities = np.asarray(batch_probabilities, dtype=float)
    by_batch = importance_weights(batch_probabilities, n, beta).astype(float)
    by_buffer = importance_weights(np.append(batch_probabilities, min_probability), n,
                                   beta)[:-1].astype(float)
    factors = by_batch / by_buffer
    assert np.allclose(factors, factors[0], rtol=1e-5), "one common factor per batch"
    return float(factors.mean())


def _exercise_5_cases():
    """(batch probabilities, min_k P(k), N, β): batches of 8 drawn from random buffers; the first
    batches miss the buffer's rarest transition (factor > 1), the last one contains it (factor 1)."""
    rng = np.random.default_rng(5)
    cases = []
    for n, beta in ((40, 0.4), (100, 1.0), (25, 0.7), (60, 0.55), (30, 0.0)):
        probabilities = rng.dirichlet(np.full(n, 0.7))
        rarest = int(np.argmin(probabilities))
        others = np.delete(probabilities, rarest)
        batch = rng.choice(others, size=8, p=others / others.sum())
        cases.append((batch, float(probabilities[rarest]), n, beta))
    batch, rarest, n, _ = cases[0]
    cases.append((np.append(batch[:7], rarest), rarest, n, 0.8))
    return cases


def _exercise_5_mistakes(batch, rarest, n, beta):
    """(the factor a likely mistake gives, what to say)."""
    truth = (batch.min() / rarest) ** beta
    return (
        (1.0 / truth, "that is the inverse factor: the question asks for the batch-max weights "
                      "divided by the buffer-max weights"),
        (batch.min() / rarest, "β is missing: the weights are (N P(i))^-β"),
        ((batch.max() / rarest) ** beta, "the largest weight of a batch is that of its least "
                                         "likely transition, not its most likely"),
    )


@exercise("02.5", "Batch max or buffer max?")
def batch_or_buffer_max(batch_over_buffer_factor, never_larger) -> str:
    """``batch_over_buffer_factor(batch_probabilities, min_probability, n, beta)`` must be the
    factor (min_batch P / min_k P)^β ≥ 1 by which batch-max weights exceed buffer-max weights
    (§3.4; computed here with ``nh.importance_weights``), and ``never_larger`` must be "buffer"."""
    cases = _exercise_5_cases()
    answers = []
    for batch, rarest, n, beta in cases:
        answer = batch_over_buffer_factor(batch.copy(), rarest, n, beta)
        if np.size(answer) != 1:
            raise Wrong("one common factor for the whole batch: return one number")
        answers.append(float(np.reshape(answer, ())))
    truths = [_batch_over_buffer_factor(*case) for case in cases]
    if not np.allclose(answers, truths, rtol=1e-4):
        mistakes = [_exercise_5_mistakes(*case) for case in cases]
        for which in range(len(mistakes[0])):
            if all(np.isclose(answer, case_mistakes[which][0], rtol=1e-4)
                   for answer, case_mistakes in zip(answers, mistakes)):
                raise Wrong(mistakes[0][which][1])
        raise Wrong("divide a transition's batch-max weight by its buffer-max weight: the result "
                    "is the same for every transition of the batch")
    choice = str(never_larger).strip().lower()
    if choice not in ("batch", "buffer"):
        raise Wrong(f'never_larger must be "batch" or "buffer", got {never_larger!r}')
    if choice == "batch":
        raise Wrong("your factor is right, but not never_larger: is the factor above or below 1, "
                    "and which maximum can be the larger?")
    return ("batch-max weights = (min_batch P / min_k P)^β × buffer-max weights, a factor ≥ 1, so "
            "the buffer max never gives larger weights; the factor changes from batch to batch")
