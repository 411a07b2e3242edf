"""Reference solutions for notebook 02 (prioritized replay: α, β and importance-sampling weights).

Schaul et al. 2016, *Prioritized Experience Replay*: Eq. 1 and the rank-based variant (§3.3),
importance sampling and β (§3.4), stratified sampling (Appendix B.2.1).
"""

import numpy as np

import noisy_helpers as nh

# Exercise 1
# (a) E_P[g] - E_U[g] = Σ_i P(i) g_i - Σ_i g_i / N = Σ_i (P(i) - 1/N) g_i. It is 0 for every g
#     only if every coefficient P(i) - 1/N is 0 (take g = the indicator of one i): P uniform.
# (b) E_P[(N P(i))^-β g_i] = Σ_i N^-β P(i)^(1-β) g_i. For this to be Σ_i g_i / N for every g, each
#     coefficient must be 1/N: N^(1-β) P(i)^(1-β) = 1 for all i, i.e. (N P(i))^(1-β) = 1. With a
#     non-uniform P some N P(i) != 1, so only β = 1 works (any β if P is already uniform).
# (c) Σ_j w_j r_j / Σ_j w_j = (1/k Σ_j w_j r_j) / (1/k Σ_j w_j). With the raw weights 1/(N P(j)),
#     numerator and denominator are unbiased for the uniform mean of r and for 1; the batch-max
#     normalisation multiplies both by the same number, which cancels. A ratio of two averages is
#     biased (E[X/Y] != E[X]/E[Y]), but both averages converge to their expectations as k grows
#     (law of large numbers), so the ratio converges to the uniform mean: the bias is O(1/k).
# (d) The expectation over i ~ P is a sum over all N transitions, each term weighted by P(i).


def corrected_mean(g, probabilities, beta):
    """E_{i~P}[(N P(i))^(-beta) g_i], exactly: sum_i P(i) (N P(i))^(-beta) g_i, N = len(g)."""
    g, probabilities = np.asarray(g, dtype=float), np.asarray(probabilities, dtype=float)
    weights = (len(g) * probabilities) ** -beta  # the IS weights, not divided by their max
    return float(np.sum(probabilities * weights * g))


# Exercise 2
# Learning starts at step 50,000 and ends at 2,000,000: beta changes over the 1,950,000 steps in
# between, so the schedule runs on the number of steps since learning started.
beta_schedule = nh.linear_schedule(0.4, 1.0, 2_000_000 - 50_000)


def my_beta(step):
    """beta at environment step `step` (50_000 <= step <= 2_000_000): 0.4 at the first gradient
    step, 1 at the last environment step, linear in between."""
    return beta_schedule(step - 50_000)


# Exercise 3
# Discussion: multiply the largest |δ| of td_20 by 1000. At α = 0.7 the proportional P of that
# transition goes from 0.19 to 0.97 (at α = 0.6, from 0.16 to 0.92): one outlier takes nearly
# every draw. The rank-based P stays at 0.18, because the outlier was rank 1 already and ranks only see
# the order of the |δ|. So the rank-based variant is more robust to outliers (§3.3 says as much);
# its P is also heavy-tailed, and its distribution is fixed by N and α, whatever the scale of the
# TD errors (which changes a lot over training and between games).


def rank_based_probabilities(td_errors, alpha):
    """P(i) = (1 / rank(i))^alpha / sum_k (1 / rank(k))^alpha, rank 1 = the largest |delta|;
    equal |delta| are ranked by index (lower index first)."""
    magnitudes = np.abs(np.asarray(td_errors, dtype=float))
    order = np.argsort(-magnitudes, kind="stable")  # indices from the largest |delta| down
    ranks = np.empty(len(magnitudes))
    ranks[order] = np.arange(1, len(magnitudes) + 1)
    priorities = (1.0 / ranks) ** alpha
    return priorities / priorities.sum()


# Exercise 4
# Leaves: (0 + ε)^α for the zero-error transition, (1 + ε)^α for the 10^6 - 1 others, so
# P(0) = ε^α / ((N - 1)(1 + ε)^α + ε^α). A batch of 32 contains it with probability
# 1 - (1 - P(0))^32 ≈ 32 P(0) (exactly 32 P(0) with stratified sampling: its tiny interval lies in
# one segment). The number of batches until the first hit is geometric with that success
# probability, and there is one batch every 4 environment steps.
# ε = 1e-6:  P(0) ≈ 2.5e-10, about 5.0e8 steps: in practice never replayed.
# ε = 0.01:  P(0) ≈ 6.3e-8,  about 2.0e6 steps.
# Discussion: yes, it can be a problem. δ = 0 was computed with the network of that moment; as θ
# changes, the target and Q(s, a) change and the true TD error drifts away from 0, but the stored
# priority only changes when the transition is replayed. With ε ≈ 0 that never happens, so the
# transition is in effect deleted from the buffer, and whatever the network later gets wrong about
# it is never seen. A larger ε keeps every transition reachable (new transitions are safe: they
# enter with the maximal priority).


def steps_until_replay(eps, n=10**6, alpha=0.6, batch_size=32, steps_per_batch=4):
    """Expected environment steps until the δ = 0 transition is first in a batch."""
    p_zero = eps**alpha / ((n - 1) * (1 + eps) ** alpha + eps**alpha)
    p_in_batch = 1 - (1 - p_zero) ** batch_size
    return steps_per_batch / p_in_batch


steps_until_replay_eps_1e_6 = steps_until_replay(1e-6)
steps_until_replay_eps_0_01 = steps_until_replay(0.01)


# Exercise 5
# (a) w_i = (N P(i))^-β. The batch max is the weight of the batch's least likely transition,
#     (N min_batch P)^-β; the buffer max that of the buffer's, (N min_k P(k))^-β. So
#     w_i / batch max = (w_i / buffer max) × (min_batch P / min_k P)^β, for every i of the batch:
#     one common factor, ≥ 1 because min_batch P ≥ min_k P. The buffer max never gives larger
#     weights. The factor depends on which transitions were drawn, so with the batch max the
#     expected update is no longer exactly proportional to the uniform one at β = 1.
# (b) With α = 1 and δ = 0, that transition's P is ε / Σ_k p_k, about 10^-6 / Σ_k |δ_k|: the
#     buffer max (N min_k P)^-β becomes enormous, and every other weight, divided by it, becomes
#     tiny (section 5's plot: a spread of P_max / P_min at β = 1). Every update's step size
#     collapses, for as long as that transition stays in the buffer, although it is almost never
#     drawn. With the batch max this happens only to the rare batch that contains it.


def batch_over_buffer_factor(batch_probabilities, min_probability, n, beta):
    """The factor by which a batch's weights normalised by the batch max exceed those normalised
    by the buffer max (N min_k P(k))^(-beta): (min_batch P / min_k P)^beta. N cancels."""
    return float((np.min(batch_probabilities) / min_probability) ** beta)


never_larger = "buffer"
