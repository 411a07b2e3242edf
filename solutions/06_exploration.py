"""Reference solutions for notebook 06 (exploration: noise against ε-greedy)."""

import numpy as np

import noisy_helpers as nh
from noisy_helpers import exploration

# Exercise 1
# The full fixed study: all eight settings of ABLATIONS, sizes 3 to 20, seeds 0 to 19, 200 episodes.
# run_trials trains a trial only when its folder has no result.json saved for that very trial, so
# the old trials are read and only those of N = 14 train, 8 settings × 20 seeds of them.
# (Discussion: read N = 14 off the redrawn figure and depth table; with 20 seeds a point a rate's
# 95 % interval is still about ±20 points, so a setting's count at 14 need not lie between its
# counts at 12 and 16.)
STUDY_SIZES = [3, 4, 5, 6, 7, 8, 10, 12, 16, 20]
old_trials = exploration.deep_sea_trials(STUDY_SIZES, range(20), 200)
new_trials = exploration.deep_sea_trials([14], range(20), 200)
new_trials_to_train = len(new_trials)        # 160
results_read_from_disk = len(old_trials)     # 1600

# Exercise 2
# With σ = 0 the noise term σ ⊙ ε is zero whatever ε is: the network computes with μ only, so its
# greedy actions are the same at every draw, and NoisyNet has no ε: no exploration at the start.
# But ∂L/∂σ^w = ∂L/∂w · ε^w (Eq. 8) is not zero, so the first gradient steps give σ a value and the
# noise can come back, if the loss favours it. (Experiment: before learning starts the runs are
# the noiseless greedy policy, so only the seeds whose untrained μ goes right all the way find the
# goal early; compare with σ0 = 0.1.)
explores_at_start = False
sigma_can_grow = True


# Exercise 3
def p_goal_every_k(right, k):
    """right: bool (draws, N), draw d's greedy action is the right one in diagonal cell i.
    Return P(goal) with a new draw at cells 0, k, 2k, ..., held in between."""
    right = np.asarray(right, dtype=bool)
    n_cells = right.shape[1]
    probability = 1.0
    for start in range(0, n_cells, k):           # [0, k), [k, 2k), ...: the last block may be short
        block = right[:, start:start + k]
        probability *= block.all(axis=1).mean()  # one held draw, right in every cell of the block
    return float(probability)                    # the blocks' draws are independent: a product
# The plot for N = 10: with `actions` of section 2 for one network, right = actions == 1, then
# plt.plot(range(1, 11), [p_goal_every_k(right, k) for k in range(1, 11)]). P rises with k, from
# the redrawn value at k = 1 to the held value at k = 10, with its largest jumps where the number
# of blocks drops to two (k = 5) and to one (k = 10).


# Exercise 4
ones_on_diagonal = []
for seed in range(20):
    right_action = nh.DeepSeaEnv(8, randomize_actions=True, mapping_seed=seed).right_action
    ones_on_diagonal.append(int(np.sum(right_action.diagonal() == 1)))
# A held draw is mostly one shared tilt towards one action (section 2), so P_held is largest on
# maps whose count is near 8 (or near 0) and small where the map mixes both actions.
# Noise that helps on every map must perturb Q(s, a) differently in each state, consistently over
# the episode: a whole random value function (bootstrapped DQN, randomized prior functions).


# Exercise 5
committed = nh.assets.path("benchmarks/results/exploration") / "runs" / "deep_sea" / "results.csv"
results = nh.read_results(committed)
first_goals = [np.inf if row["first_goal_episode"] is None else row["first_goal_episode"]
               for row in results if row["group"] == "noisynet" and row["size"] == 8]
median_first_goal = float(np.median(first_goals))   # 125.5: 9 runs of 20 never found the goal
