"""NoisyDense: a dense layer with learned, parametric noise on its weights.

Taught in ``notebooks/03_noisy_dense.ipynb``.

Fortunato et al. (2018), "Noisy Networks for Exploration", §3: replace the
weights ``w`` and biases ``b`` of a linear layer ``y = w x + b`` by

    w = μ_w + σ_w ⊙ ε_w,     b = μ_b + σ_b ⊙ ε_b                      (Eq. 8)

where ``μ`` and ``σ`` are learned by gradient descent and ``ε`` is zero-mean
noise.  The network learns how much noise it wants (σ), per weight.

Factorised Gaussian noise (§3.2, Eq. 10-11), the default and the one the paper
uses for DQN: draw ``p`` values ``ε_in`` and ``q`` values ``ε_out`` from N(0, 1),
with ``f(x) = sgn(x) √|x|``,

    ε_w[i, j] = f(ε_in[i]) · f(ε_out[j]),     ε_b[j] = f(ε_out[j])     (Eq. 10-11)

so one layer needs ``p + q`` random numbers instead of ``p·q + q``.
Initialisation (§3.2): ``μ ~ U[−1/√p, 1/√p]`` and ``σ = σ0/√p`` with
``σ0 = 0.5``, for the weights *and* the biases (``p`` = fan-in).

Independent Gaussian noise (``factorised=False``): one ``ε ~ N(0, 1)`` per
weight and bias, ``μ ~ U[−√(3/p), √(3/p)]`` and ``σ = 0.017`` (§3.2); the
paper uses it for A3C.  ``sigma0`` only applies to factorised noise.

The noise is held in non-trainable variables.  It stays fixed, call after
call, until ``reset_noise()`` draws a new sample, which is what makes the
exploration *consistent*: one noise sample is one perturbed policy, followed
over many steps.  ``remove_noise()`` sets the noise to zero so that the layer
computes with ``μ`` only: a deterministic greedy policy, e.g. for evaluation.

The forward pass never builds the ``p × q`` noise matrix: with factorised
noise ``x (σ_w ⊙ f(ε_in) f(ε_out)ᵀ) = ((x ⊙ f(ε_in)) σ_w) ⊙ f(ε_out)``,
one more matmul of the same size as ``x μ_w`` and two cheap broadcasts.
:func:`effective_weights` builds the weights themselves, ``μ + σ ⊙ ε``, once
per noise sample: the training loop's acting on Atari with one game uses them
(one matrix to read per action instead of two; ``Agent.cached_acting``).
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

from ._memory import check_memory

__all__ = ["NoisyDense", "noisy_layers", "reset_noise", "remove_noise", "mean_abs_sigma_and_mu",
           "effective_weights"]

#: The paper's σ for independent noise (§3.2).
INDEPENDENT_SIGMA = 0.017


def scale_noise(x):
    """``f(x) = sgn(x) · √|x|`` (Fortunato et al., Eq. 11)."""
    return ops.sign(x) * ops.sqrt(ops.abs(x))


#: Seeds must fit Keras' seed generators and numpy's seeding.
MAX_SEED = 2**32 - 1


def _check_arguments(units, activation, sigma0, factorised, seed):
    """NoisyDense's constructor arguments, checked and normalised (the activation resolved)."""
    if isinstance(units, (bool, np.bool_)) or not isinstance(units, (int, np.integer)):
        raise TypeError(f"units must be an int, got {units!r}")
    if units < 1:
        raise ValueError(f"units must be >= 1, got {units}")
    if isinstance(sigma0, (bool, np.bool_)) or not isinstance(sigma0, (int, float, np.integer,
                                                                     np.floating)):
        raise TypeError(f"sigma0 must be a number, got {sigma0!r}")
    try:
        finite = math.isfinite(sigma0)
    except OverflowError:  # an int too large for a float
        finite = False
    if not (finite and 0 <= sigma0 <= float(np.finfo(np.float32).max)):
        raise ValueError(f"sigma0 must be a finite number >= 0, got {sigma0}")
    if not isinstance(factorised, (bool, np.bool_)):
        raise TypeError(f"factorised must be a bool, got {factorised!r}")
    if seed is not None:
        if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"seed must be an int or None, got {seed!r}")
        if not 0 <= seed <= MAX_SEED:
            raise ValueError(f"seed must be in [0, {MAX_SEED}] or None, got {seed}")
        seed = int(seed)
    try:
        activation = keras.activations.get(activation)
    except (ValueError, TypeError) as error:
        message = " ".join(str(error).split())[:120]
        raise ValueError(f"activation must be a Keras activation (name, callable or None), "
                         f"got {activation!r} ({message})") from None
    return int(units), activation, float(sigma0), bool(factorised), seed


def weight_bytes(fan_in: int, units: int, factorised: bool = True) -> int:
    """Bytes of float32 a NoisyDense of this size allocates: μ, σ and noise, plus the
    initialiser's draw of μ (its peak during ``build``)."""
    matrices = 3 if factorised else 4  # μ_w, σ_w, the (p + 1, q) draw [, ε_w]
    return 4 * (matrices * (fan_in + 1) * units + 3 * (fan_in + units))


@keras.saving.register_keras_serializable(package="noisy_helpers")
class NoisyDense(keras.layers.Layer):
    """A dense layer ``y = activation(x (μ_w + σ_w ⊙ ε_w) + μ_b + σ_b ⊙ ε_b)``.

    Args:
        units: number of outputs ``q`` (>= 1).
        activation: any Keras activation (name or callable); ``None`` is linear.
        sigma0: σ0 in ``σ = σ0/√p`` for factorised noise (paper: 0.5); >= 0.
        factorised: factorised Gaussian noise (True, the paper's DQN choice)
            or independent Gaussian noise (False).
        seed: seed of this layer's noise generator; ``None`` draws one at random.

    Weights: ``kernel_mu``, ``kernel_sigma`` (p, q) and ``bias_mu``,
    ``bias_sigma`` (q,) are trainable.  The noise is not: with factorised noise
    ``epsilon_in`` (p,) and ``epsilon_out`` (q,) hold ``f(ε_in)`` and
    ``f(ε_out)``; with independent noise ``kernel_epsilon`` (p, q) and
    ``bias_epsilon`` (q,) hold ``ε``.
    """

    def __init__(self, units, activation=None, sigma0=0.5, factorised=True, seed=None, **kwargs):
        units, activation, sigma0, factorised, seed = _check_arguments(
            units, activation, sigma0, factorised, seed)
        super().__init__(**kwargs)
        self.units = units
        self.activation = activation
        self.sigma0 = sigma0
        self.factorised = factorised
        self.seed = seed
        self.noise_generator = keras.random.SeedGenerator(seed)

    # ------------------------------------------------------------------ build
    def build(self, input_shape):
        """Create μ, σ and the noise variables for inputs of ``input_shape`` (batch, ..., p)."""
        fan_in = self._check_input_shape(input_shape)
        if self.factorised:
            mu_bound = 1.0 / math.sqrt(fan_in)  # μ ~ U[−1/√p, 1/√p]   (§3.2)
            sigma_init = self.sigma0 / math.sqrt(fan_in)  # σ = σ0/√p   (§3.2)
        else:
            mu_bound = math.sqrt(3.0 / fan_in)  # μ ~ U[−√(3/p), √(3/p)]  (§3.2)
            sigma_init = INDEPENDENT_SIGMA  # σ = 0.017                     (§3.2)
        # μ_w and μ_b come from ONE draw of shape (p + 1, q), split into rows, so
        # that a seeded layer needs one seed only: no layer's bias can reuse the
        # seed (hence the numbers) of another layer's kernel.
        mu = keras.initializers.RandomUniform(-mu_bound, mu_bound, seed=self.seed)(
            (fan_in + 1, self.units), dtype=self.variable_dtype
        )
        constant = keras.initializers.Constant(sigma_init)
        self.kernel_mu = self.add_weight(
            name="kernel_mu",
            shape=(fan_in, self.units),
            initializer=lambda shape, dtype=None: mu[:fan_in],
        )
        self.kernel_sigma = self.add_weight(
            name="kernel_sigma", shape=(fan_in, self.units), initializer=constant
        )
        self.bias_mu = self.add_weight(
            name="bias_mu", shape=(self.units,), initializer=lambda shape, dtype=None: mu[fan_in]
        )
        self.bias_sigma = self.add_weight(
            name="bias_sigma", shape=(self.units,), initializer=constant
        )
        zeros = keras.initializers.Zeros()
        if self.factorised:
            self.epsilon_in = self.add_weight(
                name="epsilon_in", shape=(fan_in,), initializer=zeros, trainable=False
            )
            self.epsilon_out = self.add_weight(
                name="epsilon_out", shape=(self.units,), initializer=zeros, trainable=False
            )
        else:
            self.kernel_epsilon = self.add_weight(
                name="kernel_epsilon", shape=(fan_in, self.units), initializer=zeros,
                trainable=False,
            )
            self.bias_epsilon = self.add_weight(
                name="bias_epsilon", shape=(self.units,), initializer=zeros, trainable=False
            )
        self.input_spec = keras.layers.InputSpec(min_ndim=2, axes={-1: fan_in})
        self.reset_noise()  # start noisy: the first actions already explore

    def _check_input_shape(self, input_shape) -> int:
        """The fan-in ``p`` of ``input_shape``; refuses a built layer, a rank below 2, an
        unknown or zero last dimension, and weights too large for the memory available."""
        if self.built:
            raise ValueError(f"NoisyDense {self.name!r} is already built; build(input_shape) "
                             f"again would replace its weights, got input_shape {input_shape!r}")
        try:
            shape = tuple(input_shape)
        except TypeError:
            raise TypeError(f"input_shape must be a shape (a tuple), got {input_shape!r}") from None
        if len(shape) < 2:
            raise ValueError(
                f"NoisyDense needs inputs of rank >= 2 (batch, features), got shape {input_shape}"
            )
        fan_in = shape[-1]
        if fan_in is None:
            raise ValueError(
                f"NoisyDense needs a known last dimension, got shape {input_shape}"
            )
        if isinstance(fan_in, bool) or not isinstance(fan_in, (int, np.integer)) or fan_in < 1:
            raise ValueError(f"input_shape must end in a fan-in >= 1, got shape {input_shape}")
        fan_in = int(fan_in)
        check_memory(f"units={self.units} with fan-in {fan_in}",
                     weight_bytes(fan_in, self.units, self.factorised))
        return fan_in

    # ------------------------------------------------------------------ noise
    def reset_noise(self):
        """Draw a new noise sample; it stays fixed until the next reset."""
        fan_in = self.kernel_mu.shape[0]
        if self.factorised:
            self.epsilon_in.assign(
                scale_noise(keras.random.normal((fan_in,), seed=self.noise_generator))
            )
            self.epsilon_out.assign(
                scale_noise(keras.random.normal((self.units,), seed=self.noise_generator))
            )
        else:
            self.kernel_epsilon.assign(
                keras.random.normal((fan_in, self.units), seed=self.noise_generator)
            )
            self.bias_epsilon.assign(
                keras.random.normal((self.units,), seed=self.noise_generator)
            )

    def remove_noise(self):
        """Set the noise to zero: the layer then computes with μ only."""
        for variable in self.noise_variables:
            variable.assign(ops.zeros(variable.shape, dtype=variable.dtype))

    @property
    def noise_variables(self):
        """The non-trainable variables that hold the current noise sample."""
        if self.factorised:
            return [self.epsilon_in, self.epsilon_out]
        return [self.kernel_epsilon, self.bias_epsilon]

    def noise(self):
        """The current ``(ε_w, ε_b)`` as full tensors (for inspection and plots)."""
        if self.factorised:
            return ops.outer(self.epsilon_in, self.epsilon_out), ops.convert_to_tensor(
                self.epsilon_out
            )
        return ops.convert_to_tensor(self.kernel_epsilon), ops.convert_to_tensor(self.bias_epsilon)

    # ----------------------------------------------------------------- forward
    def call(self, inputs):
        inputs = ops.cast(inputs, self.compute_dtype)
        mean = ops.matmul(inputs, self.kernel_mu) + self.bias_mu
        if self.factorised:
            # x (σ_w ⊙ f(ε_in) f(ε_out)ᵀ) = ((x ⊙ f(ε_in)) σ_w) ⊙ f(ε_out)      (Eq. 8, 10)
            noise = ops.matmul(inputs * self.epsilon_in, self.kernel_sigma) * self.epsilon_out
            noise = noise + self.bias_sigma * self.epsilon_out  # ε_b = f(ε_out)  (Eq. 11)
        else:
            noise = ops.matmul(inputs, self.kernel_sigma * self.kernel_epsilon)
            noise = noise + self.bias_sigma * self.bias_epsilon
        outputs = mean + noise
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        config = super().get_config()
        config.update(
            units=self.units,
            activation=keras.activations.serialize(self.activation),
            sigma0=self.sigma0,
            factorised=self.factorised,
            seed=self.seed,
        )
        return config


# --------------------------------------------------------------------------
# Whole-model helpers
# --------------------------------------------------------------------------
def noisy_layers(model):
    """Every ``NoisyDense`` in ``model``, nested models included, in order."""
    if not isinstance(model, keras.layers.Layer):
        raise TypeError(f"model must be a Keras model or layer, got {type(model).__name__}")
    found = []
    stack = [model]
    seen = set()
    while stack:
        layer = stack.pop(0)
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        if isinstance(layer, NoisyDense):
            found.append(layer)
        stack[0:0] = list(getattr(layer, "layers", []))
    return found


def mean_abs_sigma_and_mu(layer):
    """``(mean |σ|, mean |μ|)`` of a built :class:`NoisyDense`, each over its weights and
    biases together (``kernel_sigma`` with ``bias_sigma``, ``kernel_mu`` with ``bias_mu``), as
    float32 scalar tensors: the ``sigma/<layer>`` and ``mu/<layer>`` columns of ``metrics.csv``.

    |σ|, not σ: a trained σ may turn negative, and only its size matters (ε is symmetric).
    Pure tensor ops, so that the agent runs it inside one compiled call (it is computed at the
    end of every training episode)."""
    if not isinstance(layer, NoisyDense):
        raise TypeError(f"layer must be a NoisyDense, got {type(layer).__name__}")
    if not layer.built:
        raise ValueError(f"layer {layer.name!r} is not built yet: it has no μ or σ")

    def mean_abs(kernel, bias):
        count = math.prod(kernel.shape) + math.prod(bias.shape)
        return (ops.sum(ops.abs(kernel)) + ops.sum(ops.abs(bias))) / count

    return (mean_abs(layer.kernel_sigma, layer.bias_sigma),
            mean_abs(layer.kernel_mu, layer.bias_mu))


def effective_weights(layer):
    """``(w, b)`` of a built :class:`NoisyDense` with its current noise, as tensors:
    ``w = μ_w + σ_w ⊙ ε_w`` and ``b = μ_b + σ_b ⊙ ε_b`` (Eq. 8), with
    ``ε_w = f(ε_in) f(ε_out)ᵀ`` and ``ε_b = f(ε_out)`` for factorised noise (Eq. 10-11).

    ``inputs @ w + b`` (then the activation) is the layer's output, up to float rounding; with
    the noise removed ``w`` and ``b`` are ``μ_w`` and ``μ_b`` exactly.  Pure tensor ops, so that
    the agent computes them inside its compiled calls."""
    if not isinstance(layer, NoisyDense):
        raise TypeError(f"layer must be a NoisyDense, got {type(layer).__name__}")
    if not layer.built:
        raise ValueError(f"layer {layer.name!r} is not built yet: it has no μ or σ")
    if layer.factorised:
        kernel_noise = ops.outer(layer.epsilon_in, layer.epsilon_out)
        bias_noise = layer.epsilon_out
    else:
        kernel_noise, bias_noise = layer.kernel_epsilon, layer.bias_epsilon
    return (layer.kernel_mu + layer.kernel_sigma * kernel_noise,
            layer.bias_mu + layer.bias_sigma * bias_noise)


def reset_noise(model):
    """Draw new noise in every ``NoisyDense`` of ``model``."""
    for layer in noisy_layers(model):
        layer.reset_noise()


def remove_noise(model):
    """Zero the noise in every ``NoisyDense`` of ``model`` (it then acts with μ only)."""
    for layer in noisy_layers(model):
        layer.remove_noise()
