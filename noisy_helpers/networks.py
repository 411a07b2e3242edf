"""Q-networks: an MLP for vector observations, with NoisyDense layers where asked.

Taught in ``notebooks/04_noisy_double_dqn.ipynb``.

``build_q_network`` returns a plain Keras functional model that maps a batch of
observations to one Q-value per action, ``(batch, *obs_shape) -> (batch, n_actions)``.
With ``noisy=True`` the output layer is a :class:`~noisy_helpers.NoisyDense`
(and with ``noisy_hidden=True`` the hidden layers too), as in NoisyNet-DQN
where the fully connected layers become noisy (Fortunato et al., §3.1).
The output is linear: Q-values are unbounded returns, never a softmax.
"""

from __future__ import annotations

import numpy as np

__all__ = ["build_q_network", "layer_seeds"]


def layer_seeds(seed, count: int):
    """``count`` distinct, reproducible seeds derived from one (``None`` gives ``None`` each)."""
    if seed is None:
        return [None] * count
    state = np.random.SeedSequence(seed).generate_state(count, dtype=np.uint32)
    return [int(s) % (2**31 - 1) for s in state]


def build_q_network(
    obs_shape,
    n_actions: int,
    hidden_sizes=(256, 256),
    noisy: bool = True,
    noisy_hidden: bool = False,
    sigma0: float = 0.5,
    factorised: bool = True,
    seed=None,
    kind: str = "mlp",
    name: str = "q_network",
):
    """A Q-network ``(batch, *obs_shape) -> (batch, n_actions)``.

    Args:
        obs_shape: shape of one observation, e.g. ``(4,)`` for CartPole.
        n_actions: number of discrete actions (>= 1).
        hidden_sizes: widths of the hidden layers (ReLU).
        noisy: output layer is ``NoisyDense`` (True) or ``Dense`` (False).
        noisy_hidden: hidden layers are ``NoisyDense`` too (only with ``noisy``).
        sigma0, factorised: passed to every ``NoisyDense``.
        seed: seeds the initialisation and the noise of every layer (distinct per layer).
        kind: ``"mlp"`` (vector observations).
        name: the model's name.
    """
    import keras

    from .noisy_dense import NoisyDense

    if kind != "mlp":
        raise ValueError(f"kind must be 'mlp', got {kind!r}")
    if isinstance(n_actions, bool) or not isinstance(n_actions, (int, np.integer)) or n_actions < 1:
        raise ValueError(f"n_actions must be an int >= 1, got {n_actions!r}")
    obs_shape = tuple(int(d) for d in np.atleast_1d(obs_shape))
    if len(obs_shape) != 1:
        raise ValueError(f"obs_shape must be 1-D for the MLP, got {obs_shape}")
    hidden_sizes = tuple(hidden_sizes)
    seeds = layer_seeds(seed, len(hidden_sizes) + 1)

    def dense(units, activation, layer_seed, is_noisy, layer_name):
        if is_noisy:
            return NoisyDense(units, activation=activation, sigma0=sigma0,
                              factorised=factorised, seed=layer_seed, name=layer_name)
        return keras.layers.Dense(
            units, activation=activation, name=layer_name,
            kernel_initializer=keras.initializers.GlorotUniform(seed=layer_seed),
        )

    inputs = keras.Input(shape=obs_shape, name="observation")
    x = inputs
    for index, (units, layer_seed) in enumerate(zip(hidden_sizes, seeds)):
        x = dense(units, "relu", layer_seed, noisy and noisy_hidden, f"hidden_{index + 1}")(x)
    q_values = dense(int(n_actions), None, seeds[-1], noisy, "q_values")(x)  # (batch, n_actions)
    return keras.Model(inputs, q_values, name=name)
