"""Reference solutions for notebook 03 (the NoisyDense layer)."""

import math

import keras
import numpy as np
from keras import ops

# Exercise 1
# Independent noise: one ε per weight and one per bias. Factorised noise: ε_in (p) and ε_out (q);
# the weights use f(ε_in) f(ε_out)ᵀ and the biases reuse f(ε_out) (Eq. 10-11).
p, q = 3136, 512
independent_draws = p * q + q   # 1,606,144
factorised_draws = p + q        # 3,648: 440 times fewer


# Exercise 2
def independent_forward(x, layer):
    """y = x (μ_w + σ_w ⊙ ε_w) + μ_b + σ_b ⊙ ε_b  (Eq. 8) from the layer's variables."""
    w = layer.kernel_mu.numpy() + layer.kernel_sigma.numpy() * layer.kernel_epsilon.numpy()
    b = layer.bias_mu.numpy() + layer.bias_sigma.numpy() * layer.bias_epsilon.numpy()
    return np.asarray(x) @ w + b


def factorised_forward(x, layer):
    """The same with ε_w = f(ε_in) f(ε_out)ᵀ, ε_b = f(ε_out)  (Eq. 10-11), never forming the
    p × q noise matrix: x (σ_w ⊙ f_in f_outᵀ) = ((x ⊙ f_in) σ_w) ⊙ f_out.
    The layer's epsilon_in and epsilon_out already hold f(ε_in) and f(ε_out)."""
    x = np.asarray(x)
    f_in, f_out = layer.epsilon_in.numpy(), layer.epsilon_out.numpy()
    mean = x @ layer.kernel_mu.numpy() + layer.bias_mu.numpy()
    noise = ((x * f_in) @ layer.kernel_sigma.numpy()) * f_out + layer.bias_sigma.numpy() * f_out
    return mean + noise


# Exercise 3
# With σ_w = σ_b = σ0/√p the noise term of an output is σ0/√p times a sum that does not depend on
# σ0: its standard deviation is proportional to σ0 (its variance to σ0²).
std_ratio_sigma0_1_over_0_1 = 10.0
# The exploration part (rebuild q_net of Section 3 with sigma0 = 0.1, 0.5, 1.0, fit μ, 100 noise
# samples each). μ is fitted with the noise removed, so it does not depend on σ0: the same seeds
# give the same μ, and one fit with σ set to σ0/√p afterwards gives the same maps. Measured once
# that way (600 fitting steps): on average a sample changes the greedy action on about 3 % of
# the states for σ0 = 0.1, 18 % for 0.5 and 32 % for 1.0 (10th-90th percentiles 1-6 %, 7-34 %,
# 16-50 %). Roughly in proportion to σ0 while the noise is small against the action gaps (only
# states near a boundary change), then less than in proportion, on the way to about 3/4 (noise
# that swamps μ agrees with the μ-policy about as often as a random action does).
# Matched ε = 4/3 × the mean fraction: about 0.04, 0.24 and 0.43.


# Exercise 4
# E|ε| = 2 ∫₀^∞ t φ(t) dt = √(2/π), and f(ε)² = |ε|, so E[f(ε)²] = √(2/π); an entry f(a) f(b)
# has mean 0 and variance E[f(a)²] E[f(b)²] = 2/π. Without f, Var(ab) = E[a²] E[b²] = 1, and
# E[(ab)⁴] = E[a⁴] E[b⁴] = 3 × 3 = 9: kurtosis 9 (a Gaussian's is 3), heavy tails.
variance_with_f = 2 / math.pi
variance_without_f = 1.0
kurtosis_without_f = 9.0
# By sampling (a million values):
#   rng = np.random.default_rng(0); a, b = rng.normal(size=(2, 1_000_000))
#   f = lambda v: np.sign(v) * np.sqrt(np.abs(v))
#   np.var(f(a) * f(b)), np.var(a * b), np.mean((a * b) ** 4) / np.var(a * b) ** 2


# Exercise 5
class PerCallNoisyDense(keras.layers.Layer):
    """A factorised noisy dense layer that draws new noise in every call, as the original
    notebook's layer did (linear, initialised as in §3.2)."""

    def __init__(self, units, sigma0=0.5, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.units, self.sigma0 = units, sigma0
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        fan_in = input_shape[-1]
        uniform = keras.initializers.RandomUniform(-1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in))
        sigma = keras.initializers.Constant(self.sigma0 / math.sqrt(fan_in))
        self.kernel_mu = self.add_weight(name="kernel_mu", shape=(fan_in, self.units),
                                         initializer=uniform)
        self.kernel_sigma = self.add_weight(name="kernel_sigma", shape=(fan_in, self.units),
                                            initializer=sigma)
        self.bias_mu = self.add_weight(name="bias_mu", shape=(self.units,), initializer=uniform)
        self.bias_sigma = self.add_weight(name="bias_sigma", shape=(self.units,),
                                          initializer=sigma)

    def call(self, inputs):
        def f(v):
            """f(x) = sgn(x) √|x|  (Eq. 11)."""
            return ops.sign(v) * ops.sqrt(ops.abs(v))

        fan_in = self.kernel_mu.shape[0]
        f_in = f(keras.random.normal((fan_in,), seed=self.seed_generator))      # new in
        f_out = f(keras.random.normal((self.units,), seed=self.seed_generator))  # every call
        mean = ops.matmul(inputs, self.kernel_mu) + self.bias_mu
        noise = ops.matmul(inputs * f_in, self.kernel_sigma) * f_out + self.bias_sigma * f_out
        return mean + noise

# The rules of "Why keep the noise fixed?":
# * One update, one network: kept only if everything that must see the same network is computed
#   in ONE call. Within a call the whole batch shares one sample, but the Double DQN target's
#   argmax (online network on s') and the prediction Q(s, a) are two calls, hence two networks,
#   and a batch evaluated in pieces (or one state at a time) sees a different network per piece.
# * Separate samples for online and target network: kept (each call draws its own noise anyway).
# * When to resample: lost. The layer resamples at every call, so it cannot hold one sample for
#   the steps between two optimisation steps (or an A3C rollout), cannot re-evaluate the network
#   it just acted with, and cannot switch the noise off to act with μ alone.
