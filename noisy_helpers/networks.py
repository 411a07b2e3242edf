"""Q-networks: an MLP for vector observations and the Nature DQN CNN for Atari frames,
with NoisyDense layers where asked.

Taught in ``notebooks/04_noisy_double_dqn.ipynb`` (MLP) and
``notebooks/05_atari_upndown.ipynb`` (``kind="nature"``).

``build_q_network`` returns a plain Keras functional model that maps a batch of
observations to one Q-value per action, ``(batch, *obs_shape) -> (batch, n_actions)``.
With ``noisy=True`` the output layer is a :class:`~noisy_helpers.NoisyDense`
(and with ``noisy_hidden=True`` the hidden layers too), as in NoisyNet-DQN
where the fully connected layers become noisy (Fortunato et al., §3.1).
The output is linear: Q-values are unbounded returns, never a softmax.

``kind="nature"`` is the network of Mnih et al. (2015, Methods): uint8 frame
stacks ``(4, 84, 84)`` scaled to [0, 1] inside the model, three convolutions
(32 8×8 stride 4, 64 4×4 stride 2, 64 3×3 stride 1, ReLU), then a fully connected
layer of 512 and the output; NoisyNet-DQN makes those two fully connected layers
noisy (Fortunato et al., §3.1).  The convolutions stay deterministic.
"""

from __future__ import annotations

import numpy as np

__all__ = ["build_q_network", "layer_seeds"]

#: The Nature DQN convolutions: (filters, kernel size, stride) (Mnih et al. 2015, Methods).
_NATURE_CONVOLUTIONS = ((32, 8, 4), (64, 4, 2), (64, 3, 1))


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
        kind: ``"mlp"`` (vector observations) or ``"nature"`` (Atari frame stacks
            ``(stack, height, width)`` uint8; ``hidden_sizes`` are then the fully connected
            widths after the convolutions, ``(512,)`` in the Nature DQN).
        name: the model's name.
    """
    import keras

    from .noisy_dense import NoisyDense

    if kind not in ("mlp", "nature"):
        raise ValueError(f"kind must be 'mlp' or 'nature', got {kind!r}")
    if isinstance(n_actions, bool) or not isinstance(n_actions, (int, np.integer)) or n_actions < 1:
        raise ValueError(f"n_actions must be an int >= 1, got {n_actions!r}")
    obs_shape = tuple(int(d) for d in np.atleast_1d(obs_shape))
    if kind == "mlp" and len(obs_shape) != 1:
        raise ValueError(f"obs_shape must be 1-D for the MLP, got {obs_shape}")
    if kind == "nature" and len(obs_shape) != 3:
        raise ValueError(f"obs_shape must be (stack, height, width) for kind='nature', "
                         f"got {obs_shape}")
    hidden_sizes = tuple(hidden_sizes)
    # The dense layers' seeds come first (a prefix of the list does not depend on its length).
    seeds = layer_seeds(seed, len(hidden_sizes) + 1 + len(_NATURE_CONVOLUTIONS))
    conv_seeds, seeds = seeds[len(hidden_sizes) + 1:], seeds[:len(hidden_sizes) + 1]

    def dense(units, activation, layer_seed, is_noisy, layer_name):
        if is_noisy:
            return NoisyDense(units, activation=activation, sigma0=sigma0,
                              factorised=factorised, seed=layer_seed, name=layer_name)
        return keras.layers.Dense(
            units, activation=activation, name=layer_name,
            kernel_initializer=keras.initializers.GlorotUniform(seed=layer_seed),
        )

    if kind == "nature":
        inputs = keras.Input(shape=obs_shape, dtype="uint8", name="frames")
        # (stack, H, W) -> (H, W, stack): TensorFlow's CPU convolutions want channels last.
        x = keras.layers.Permute((2, 3, 1), name="channels_last")(inputs)
        x = keras.layers.Rescaling(1.0 / 255.0, name="scale")(x)  # uint8 -> [0, 1] float32
        for index, (filters, size, stride) in enumerate(_NATURE_CONVOLUTIONS):
            x = keras.layers.Conv2D(
                filters, size, strides=stride, activation="relu", name=f"conv_{index + 1}",
                kernel_initializer=keras.initializers.HeUniform(seed=conv_seeds[index]),
            )(x)
        x = keras.layers.Flatten(name="flatten")(x)
    else:
        inputs = keras.Input(shape=obs_shape, name="observation")
        x = inputs
    for index, (units, layer_seed) in enumerate(zip(hidden_sizes, seeds)):
        x = dense(units, "relu", layer_seed, noisy and noisy_hidden, f"hidden_{index + 1}")(x)
    q_values = dense(int(n_actions), None, seeds[-1], noisy, "q_values")(x)  # (batch, n_actions)
    return keras.Model(inputs, q_values, name=name)
