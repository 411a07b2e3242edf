"""Q-networks: an MLP for vector observations and the Nature DQN CNN for Atari frames,
with NoisyDense layers where asked.

Taught in ``notebooks/04_noisy_double_dqn.ipynb`` (MLP) and
``notebooks/05_atari_upndown.ipynb`` (``kind="nature"``).

``build_q_network`` returns a plain Keras functional model that maps a batch of
observations to one Q-value per action, ``(batch, *obs_shape) -> (batch, n_actions)``.
With ``noisy=True`` the output layer is a :class:`~noisy_helpers.NoisyDense`
(and with ``noisy_hidden=True`` the hidden layers too), as in NoisyNet-DQN
where the fully connected layers become noisy (Fortunato et al., §3.1).
The output is linear: Q-values are unbounded returns, never a softmax.  With
``dueling=True`` the last hidden layer feeds two heads, a value and advantages, combined by
:class:`~noisy_helpers.dueling.DuelingCombine` (Wang et al. 2016).

``kind="nature"`` is the network of Mnih et al. (2015, Methods): uint8 frame
stacks ``(4, 84, 84)`` scaled to [0, 1] inside the model, three convolutions
(32 8×8 stride 4, 64 4×4 stride 2, 64 3×3 stride 1, ReLU), then a fully connected
layer of 512 and the output; NoisyNet-DQN makes those two fully connected layers
noisy (Fortunato et al., §3.1).  The convolutions stay deterministic.
"""

from __future__ import annotations

import numpy as np

from ._memory import check_memory

__all__ = ["build_q_network", "layer_seeds"]

#: The Nature DQN convolutions: (filters, kernel size, stride) (Mnih et al. 2015, Methods).
_NATURE_CONVOLUTIONS = ((32, 8, 4), (64, 4, 2), (64, 3, 1))


#: Seeds must fit numpy's and Keras' seeding.
MAX_SEED = 2**32 - 1


def _is_int(value) -> bool:
    """An int or numpy integer, not a bool."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _check_seed(seed, name: str = "seed") -> None:
    """``seed`` is None or an int in [0, MAX_SEED]."""
    if seed is None:
        return
    if not _is_int(seed):
        raise TypeError(f"{name} must be an int or None, got {seed!r}")
    if not 0 <= seed <= MAX_SEED:
        raise ValueError(f"{name} must be in [0, {MAX_SEED}] or None, got {seed}")


def layer_seeds(seed, count: int):
    """``count`` distinct, reproducible seeds derived from one (``None`` gives ``None`` each)."""
    _check_seed(seed)
    if not _is_int(count):
        raise TypeError(f"count must be an int, got {count!r}")
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    if seed is None:
        return [None] * count
    state = np.random.SeedSequence(int(seed)).generate_state(int(count), dtype=np.uint32)
    return [int(s) % (2**31 - 1) for s in state]


def check_obs_shape(obs_shape, name: str = "obs_shape") -> tuple:
    """``obs_shape`` as a tuple of ints >= 1 (an int ``n`` means ``(n,)``); anything else,
    a float or a bool dimension included, raises naming ``name``."""
    dims = (obs_shape,) if _is_int(obs_shape) else obs_shape
    try:
        dims = tuple(dims)
    except TypeError:
        raise TypeError(f"{name} must be a tuple of ints, got {obs_shape!r}") from None
    if not dims or not all(_is_int(d) for d in dims):
        raise TypeError(f"{name} must be a non-empty tuple of ints, got {obs_shape!r}")
    if not all(d >= 1 for d in dims):
        raise ValueError(f"{name} must have dimensions >= 1, got {obs_shape!r}")
    return tuple(int(d) for d in dims)


def _check_hidden_sizes(hidden_sizes) -> tuple:
    """``hidden_sizes`` as a tuple of ints >= 1."""
    if isinstance(hidden_sizes, (str, bytes)):
        raise TypeError(f"hidden_sizes must be a sequence of ints, got {hidden_sizes!r}")
    try:
        sizes = tuple(hidden_sizes)
    except TypeError:
        raise TypeError(f"hidden_sizes must be a sequence of ints, got {hidden_sizes!r}") from None
    if not all(_is_int(h) for h in sizes):
        raise TypeError(f"hidden_sizes must be a sequence of ints, got {hidden_sizes!r}")
    if not all(h >= 1 for h in sizes):
        raise ValueError(f"hidden_sizes must be ints >= 1, got {hidden_sizes!r}")
    return tuple(int(h) for h in sizes)


def _conv_output_size(size: int) -> int:
    """Height (or width) after the Nature convolutions (valid padding); < 1 if too small."""
    for _, kernel, stride in _NATURE_CONVOLUTIONS:
        size = (size - kernel) // stride + 1
        if size < 1:
            return 0
    return size


def parameter_bytes(obs_shape, n_actions, hidden_sizes, noisy=True, noisy_hidden=False,
                    factorised=True, kind="mlp", dueling=False) -> int:
    """Bytes of float32 variables of one Q-network (NoisyDense: μ, σ and noise)."""
    if kind == "nature":
        channels, height, width = obs_shape
        count, in_channels = 0, channels
        for filters, kernel, _ in _NATURE_CONVOLUTIONS:
            count += (kernel * kernel * in_channels + 1) * filters
            in_channels = filters
        fan_in = _conv_output_size(height) * _conv_output_size(width) * in_channels
    else:
        count, fan_in = 0, int(np.prod(obs_shape))
    # Dueling: the value head's one unit beside the advantages' n_actions, on the same input.
    sizes = (*hidden_sizes, n_actions + (1 if dueling else 0))
    for index, units in enumerate(sizes):
        is_noisy = noisy and (noisy_hidden or index == len(sizes) - 1)
        per_weight = (3 if factorised else 4) if is_noisy else 1
        count += per_weight * (fan_in + 1) * units
        fan_in = units
    return 4 * count


def _is_finite(value) -> bool:
    """``value`` is a finite number (an int too large for a float is not)."""
    try:
        return bool(np.isfinite(float(value)))
    except (OverflowError, TypeError, ValueError):
        return False


def _check_arguments(obs_shape, n_actions, hidden_sizes, noisy, noisy_hidden, sigma0,
                     factorised, seed, kind, name, dueling=False, observation_scale=None):
    """build_q_network's arguments, checked before any layer is made; returns
    ``(obs_shape, n_actions, hidden_sizes, observation_scale)`` normalised."""
    if not isinstance(kind, str) or kind not in ("mlp", "nature"):
        raise ValueError(f"kind must be 'mlp' or 'nature', got {kind!r}")
    if not _is_int(n_actions):
        raise TypeError(f"n_actions must be an int >= 1, got {n_actions!r}")
    if n_actions < 1:
        raise ValueError(f"n_actions must be an int >= 1, got {n_actions!r}")
    obs_shape = check_obs_shape(obs_shape)
    if kind == "mlp" and len(obs_shape) != 1:
        raise ValueError(f"obs_shape must be 1-D for the MLP, got {obs_shape}")
    if kind == "nature" and len(obs_shape) != 3:
        raise ValueError(f"obs_shape must be (stack, height, width) for kind='nature', "
                         f"got {obs_shape}")
    if kind == "nature" and min(_conv_output_size(d) for d in obs_shape[1:]) < 1:
        raise ValueError(f"obs_shape {obs_shape} is too small for the Nature convolutions "
                         f"(height and width must be >= 36)")
    hidden_sizes = _check_hidden_sizes(hidden_sizes)
    if observation_scale is not None:
        if kind != "mlp":
            raise ValueError(f"observation_scale must be None for kind='nature', got "
                             f"{observation_scale!r}")
        if not isinstance(observation_scale, (tuple, list)) or not observation_scale or not all(
                isinstance(s, (int, float, np.integer, np.floating))
                and not isinstance(s, (bool, np.bool_)) and _is_finite(s) and s > 0
                for s in observation_scale):
            raise ValueError(f"observation_scale must be None or a non-empty tuple of finite "
                             f"numbers > 0, got {observation_scale!r}")
        if len(observation_scale) != obs_shape[0]:
            raise ValueError(f"observation_scale must have one number per observation "
                             f"component ({obs_shape[0]}), got {observation_scale!r}")
        observation_scale = tuple(float(s) for s in observation_scale)
    for label, flag in (("noisy", noisy), ("noisy_hidden", noisy_hidden),
                        ("factorised", factorised), ("dueling", dueling)):
        if not isinstance(flag, (bool, np.bool_)):
            raise TypeError(f"{label} must be a bool, got {flag!r}")
    if isinstance(sigma0, (bool, np.bool_)) or not isinstance(
            sigma0, (int, float, np.integer, np.floating)):
        raise TypeError(f"sigma0 must be a number, got {sigma0!r}")
    if not (_is_finite(sigma0) and sigma0 >= 0):
        raise ValueError(f"sigma0 must be a finite number >= 0, got {sigma0!r}")
    _check_seed(seed)
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty str, got {name!r}")
    needed = parameter_bytes(obs_shape, n_actions, hidden_sizes, noisy, noisy_hidden,
                             factorised, kind, bool(dueling))
    check_network_memory(needed, obs_shape, n_actions, hidden_sizes)
    return obs_shape, int(n_actions), hidden_sizes, observation_scale


def check_network_memory(needed: int, obs_shape, n_actions, hidden_sizes,
                         copies: int = 1) -> None:
    """Refuse a network whose weights (times ``copies``: an agent holds an online and a
    target network and Adam's two slots) exceed the machine's memory."""
    check_memory(f"obs_shape={obs_shape}, hidden_sizes={hidden_sizes}, n_actions={n_actions} "
                 f"(weights)", needed * copies)


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
    dueling: bool = False,
    observation_scale=None,
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
        dueling: two heads on the last hidden layer, a value V(s) and advantages A(s, a),
            combined as Q = V + A − mean_a A (Wang et al. 2016, Eq. 9); with ``noisy`` both
            heads are ``NoisyDense``, as in NoisyNet-Dueling (Fortunato et al., §3.1).  The
            model then ends on a :class:`DuelingCombine` layer named ``q_values``.
        observation_scale: MLP only: one positive number per observation component, by which
            the component is divided first (a ``Rescaling`` layer named
            ``observation_scale``, no weights); None: the observation as it is.
    """
    import keras

    from .dueling import DuelingCombine
    from .noisy_dense import NoisyDense

    obs_shape, n_actions, hidden_sizes, observation_scale = _check_arguments(
        obs_shape, n_actions, hidden_sizes, noisy, noisy_hidden, sigma0, factorised, seed,
        kind, name, dueling, observation_scale)
    # The dense layers' seeds come first (a prefix of the list does not depend on its length),
    # then the convolutions', then the dueling value head's: without it, the same seeds as
    # before it existed.
    dense_count = len(hidden_sizes) + 1
    seeds = layer_seeds(seed, dense_count + len(_NATURE_CONVOLUTIONS) + 1)
    conv_seeds = seeds[dense_count:dense_count + len(_NATURE_CONVOLUTIONS)]
    value_seed, seeds = seeds[-1], seeds[:dense_count]

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
        if observation_scale is not None:  # fixed, no weights: checkpoints are unchanged
            x = keras.layers.Rescaling([1.0 / s for s in observation_scale],
                                       name="observation_scale")(x)
    for index, (units, layer_seed) in enumerate(zip(hidden_sizes, seeds)):
        x = dense(units, "relu", layer_seed, noisy and noisy_hidden, f"hidden_{index + 1}")(x)
    if not dueling:
        q_values = dense(int(n_actions), None, seeds[-1], noisy, "q_values")(x)  # (batch, actions)
        return keras.Model(inputs, q_values, name=name)
    # Dueling (Wang et al. 2016): the advantages take the output layer's seed, the value its own.
    advantages = dense(int(n_actions), None, seeds[-1], noisy, "advantages")(x)  # (batch, actions)
    value = dense(1, None, value_seed, noisy, "value")(x)  # (batch, 1)
    q_values = DuelingCombine(name="q_values")([value, advantages])  # (batch, n_actions)
    return keras.Model(inputs, q_values, name=name)
