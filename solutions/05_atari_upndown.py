"""Reference solutions for notebook 05 (Atari: Noisy Double DQN on UpNDown)."""

import numpy as np

# Exercise 1
# With sticky actions p, ALE repeats the previous action instead of the chosen one at each emulator
# frame, independently, with probability p. Once the new action has been carried out it *is* the
# previous action, so the new choice is ignored for the whole agent step only if all the frames of
# the step are sticky. make_atari_env's frame skip is 4 (AtariPreprocessing(frame_skip=4)).
FRAME_SKIP = 4


def ignored_for_a_whole_step(p):
    """Probability that all the frames of one agent step repeat the previous action, when the
    emulator repeats it with probability p at each frame (sticky actions)."""
    return p ** FRAME_SKIP


# At 0.25 that is 1 step in 256 (0.004), at 0.5 one in 16 (0.06), at 0.75 about one in 3 (0.32);
# even when the action does happen, it starts late: on average p + p² + p³ + p⁴ of the 4 frames
# go to the previous action (1/3 of a frame at 0.25, 2 frames at 0.75).
# The experiment (10 games on sticky_seeds[:10], noise removed, one run on our machine): mean
# scores of about 2,900, 3,600 and 2,500 at 0.25, 0.5 and 0.75 (std about 1,000, so a standard
# error over 300), random play 300, 400 and 800. The score hardly moves and stays far above random
# play even at 0.75: the policy looks at the screen every step, so an action that comes late, or
# not at all, is corrected at the next step, and UpNDown forgives a few frames of delay. Random
# play gains from stickiness: its actions last longer, so it dithers less.

# Exercise 2
# Per slot: the 84×84 uint8 frame (7,056), the action (int32: 4), the reward (float32: 4), done and
# flags (uint8: 1 + 1), the write count _written_at (int64: 8), and the sum tree: 2 · 2**20 float64
# nodes for 2**20 slots, i.e. 2 · 8 = 16 bytes per slot.
your_bytes_per_slot = 84 * 84 + 4 + 4 + 1 + 1 + 8 + 2 * 8   # 7,090


# Exercise 3
# The ratio of the metrics' mu/<layer> and sigma/<layer> columns: mean |μ| over mean |σ|, weights and
# biases together. |σ| because a trained σ can be negative; its sign does not matter, since ε is
# symmetric.
def mean_abs_mu_over_mean_abs_sigma(layer):
    """mean |μ| / mean |σ| over the weights and biases of one NoisyDense layer."""
    mu = np.concatenate([np.ravel(layer.kernel_mu.numpy()), np.ravel(layer.bias_mu.numpy())])
    sigma = np.concatenate([np.ravel(layer.kernel_sigma.numpy()), np.ravel(layer.bias_sigma.numpy())])
    return np.mean(np.abs(mu)) / np.mean(np.abs(sigma))


# Expected: on the shipped agent the ratio is about 1.4 for hidden_1 and about 9 for q_values, as in
# the last row of its metrics (with mean σ instead of mean |σ|: 1.7 and 17.5, since about 15 % and
# 37 % of those σ are negative). The hidden layer's noise is still as large as its signal, weight
# for weight, yet the scores with the noise on and removed differ by less than their standard error
# (Section 6, sticky: 3,570 and 3,330 over 30 games; the eval_return_noisy column tells the same
# story). The noise still perturbs the Q-values, but it rarely changes the greedy action where it
# matters: it explores little at test time, and costs little.

# Exercise 4
# 60 → (60 - 8) // 4 + 1 = 14 → (14 - 4) // 2 + 1 = 6 → (6 - 3) // 1 + 1 = 4, so 4 · 4 · 64 = 1,024
# flattened features reach the noisy layer, against 3,136 at 84×84 (about a third of the
# parameters of hidden_1).
your_sizes = (14, 6, 4)

# Exercise 5
# The speed that Section 5's live run printed (this is the committed notebook's; use your own):
# 8,000 agent steps in 89 s, 90 agent steps/s. 50M agent steps = 200M frames / frame skip 4.
your_agent_steps_per_second = 90.0
your_hours_for_50M = 50e6 / your_agent_steps_per_second / 3600   # about 154 hours, 6.4 days
# Which part dominates: on a CPU, the gradient step, which runs every 4th agent step; acting
# (one forward pass) and env.step (4 emulator frames and the preprocessing) cost far less.
# benchmarks/bench_atari_training.py measures the shares of the loop on your machine. The short
# live run is faster than the steady state because its first 1,000 steps take no gradient step.
