"""Reference solutions for notebook 04 (the Noisy Double DQN agent on CartPole)."""

import numpy as np

import noisy_helpers as nh


# Exercise 1
def mean_max_q(network, states):
    """The mean over the states of max_a Q(s, a), with the network's noise as it is."""
    q_values = np.asarray(network(states, training=False))   # (n_states, n_actions)
    return float(q_values.max(axis=1).mean())                # best action per state, then the mean

# Expected (discussion): without Double DQN, mean_max_q(run.agent.online, starts) (noise removed,
# as in section 4) rises above 1/(1 - γ) = 100 early in training, by more than the Double DQN run;
# with 2 actions the max picks from fewer errors than with 18, so the gap is smaller than on Atari.


# Exercise 2
def first_step_reaching(metrics, threshold):
    """The first step whose evaluation (noise removed, eval_return) is >= threshold, else None."""
    evaluated = ~np.isnan(metrics["eval_return"])            # episode rows have NaN there
    steps, returns = metrics["step"][evaluated], metrics["eval_return"][evaluated]
    reached = np.flatnonzero(returns >= threshold)
    return int(steps[reached[0]]) if reached.size else None

# Expected (discussion): one seed is one sample; DQN-family curves on CartPole vary a lot between
# seeds (when they first solve, whether they forget), so a difference in one pair of curves can be
# chance. A comparison needs several seeds and a spread (notebook 06).


# Exercise 3
def syncs_with_period(period):
    """Target syncs after learning starts in a default run with target_update_period = period.

    The loop syncs at every step s (1 .. total_steps) that is a multiple of the period; the
    first gradient step is at learning_starts + 1, so the syncs up to learning_starts copy an
    untrained network. Count the multiples of the period in (learning_starts, total_steps]."""
    config = nh.Config()
    return config.total_steps // period - config.learning_starts // period

# Expected (discussion): k = 490 at the default period 100, 2450 at 20, 98 at 500. With k = 98,
# (1 - γ^k)/(1 - γ) ≈ 62.7, so the values can still be climbing towards 100 at the end; a very
# short period makes the target chase an online network that has not fitted it yet (unstable).


# Exercise 4
your_y = 1.0 + 0.99 * 60.0   # a truncation bootstraps; the online network picks action 1 (5 > 3)


# Exercise 5
default, small = nh.Config().to_dict(), nh.Config.small().to_dict()
small_fields = {name for name in default if small[name] != default[name]}
# = {total_steps, hidden_sizes, batch_size, buffer_size, learning_starts, eval_period,
#    eval_episodes, checkpoint_period, epsilon_decay_steps}; target_update_period is set to its
#    default (100). Why it does not learn: 600 steps, of which 500 of training after 100 of
#    warm-up, with 32-unit layers, are far too few (the default run first solves after ~17,500).
