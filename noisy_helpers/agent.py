"""The Noisy Double DQN agent: acting, one compiled training step, target sync, checkpoints.

Taught in ``notebooks/04_noisy_double_dqn.ipynb``.

How the paper's pieces fit (Fortunato et al. 2018, Algorithm 1, with Double DQN):

* **Acting** is greedy on the *noisy* Q-values of the online network, with no
  ε (§3.1): the noise in the weights is the exploration.  Acting runs through a
  compiled ``tf.function`` (one observation in, one action out), never
  ``model.predict``, which rebuilds a data pipeline on every call.  In the
  training loop on the Nature network with one game (:meth:`Agent.cached_acting`) the noisy
  layers act with their weights ``μ + σ ⊙ ε`` built once per change, not
  from μ, σ and ε at every action.
* **Noise schedule.** A noise sample is held fixed between optimisation steps
  and redrawn after each one, in the online *and* the target network, each
  from its own generator (Algorithm 1 draws ε for the online network and ε'
  for the target network independently).  With one update per environment
  step this is the paper's "re-sampled before every action".
* **Training step** (compiled): the Double DQN target
  y = r + γ(1 − done) Q_target(s', argmax_a Q_online(s', a)), the Huber loss of
  δ = y − Q_online(s, a) weighted by the importance-sampling weights of
  prioritized replay, one Adam step with global-norm clipping, and |δ| returned
  for the priority update.
* **Target sync** copies the online network's *trainable* weights (μ and σ
  included) into the target network.  Copying all variables would also copy
  the noise and the noise generator's state, and the two networks would then
  draw identical noise forever.

Checkpoints are Keras ``.weights.h5`` for the networks, ``np.savez`` (no
pickle) for the optimizer's state and JSON for counters: no pickle anywhere.
``save`` flushes and fsyncs every file it writes; ``load`` is all-or-nothing: it
reads and checks every file first (into scratch networks) and changes the agent
only when all of them are sound.

Every public method checks all its arguments before it changes anything: a bad
input raises ``ValueError`` or ``TypeError`` naming the argument (``batch.rewards``,
``observation``, ``step``...) and leaves weights, noise, optimizer, RNG and
counters exactly as they were.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import warnings
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from .config import ADDED_FIELDS, Config  # noqa: E402
from .networks import (  # noqa: E402
    build_q_network, check_network_memory, check_obs_shape, layer_seeds, parameter_bytes,
)
from .noisy_dense import (  # noqa: E402
    NoisyDense, effective_weights, mean_abs_sigma_and_mu, noisy_layers,
)
from .replay import linear_schedule  # noqa: E402
from .run_folder import MANIFEST, fsync_directory, fsync_file, verify_checkpoint  # noqa: E402
from .targets import double_dqn_targets, dqn_targets  # noqa: E402

__all__ = ["Agent", "huber"]

#: The files of a checkpoint, as :meth:`Agent.save` writes them.
CHECKPOINT_FILES = ("online.weights.h5", "target.weights.h5", "optimizer.npz", "noise.npz",
                    "agent.json")
#: Observation dtypes an agent accepts (numpy kinds: float, signed and unsigned int).
_OBS_KINDS = "fiu"
#: A network, two Adam slots and the target network: the copies of the weights an agent holds.
_WEIGHT_COPIES = 4


def huber(x, delta: float = 1.0):
    """Huber loss: x²/2 for |x| <= delta, delta·(|x| − delta/2) beyond (Mnih et al. 2015)."""
    if isinstance(delta, (bool, np.bool_)) or not isinstance(delta, (int, float, np.floating)):
        raise TypeError(f"delta must be a finite number > 0, got {delta!r}")
    if not (math.isfinite(delta) and delta > 0):
        raise ValueError(f"delta must be a finite number > 0, got {delta!r}")
    abs_x = tf.abs(x)
    quadratic = tf.minimum(abs_x, delta)
    return 0.5 * quadratic**2 + delta * (abs_x - quadratic)


# ------------------------------------------------------------------ argument checks
#: One float observation of at most this many values is checked in Python when acting.
_SMALL_OBSERVATION = 64


def _short(value, limit: int = 80) -> str:
    """``repr(value)`` on one line, at most ``limit`` characters."""
    text = " ".join(repr(value).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _is_int(value) -> bool:
    """An int or numpy integer, not a bool."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _check_int(value, name: str, minimum: int) -> int:
    """``value`` is an int (not a bool) >= ``minimum``; returned as a Python int."""
    if not _is_int(value):
        raise TypeError(f"{name} must be an int >= {minimum}, got {_short(value)}")
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value}")
    return int(value)


def _check_step(step) -> int:
    """``step`` (the schedule's environment step) is an int >= 0."""
    return _check_int(step, "step", 0)


def _check_obs_dtype(obs_dtype, network: str) -> np.dtype:
    """A numeric numpy dtype (uint8 for the Nature network's frames)."""
    if obs_dtype is None:
        raise TypeError("obs_dtype must be a numpy dtype such as float32, got None")
    try:
        dtype = np.dtype(obs_dtype)
    except (TypeError, ValueError):
        raise TypeError(f"obs_dtype must be a numpy dtype such as float32, got "
                        f"{_short(obs_dtype)}") from None
    if dtype.kind not in _OBS_KINDS:
        raise TypeError(f"obs_dtype must be a float or integer dtype, got {dtype}")
    if network == "nature" and dtype != np.uint8:
        raise ValueError(f"obs_dtype must be uint8 for the Nature network, got {dtype}")
    return dtype


def _first_bad(mask: np.ndarray) -> tuple:
    """The index of the first True of ``mask`` (for messages)."""
    index = tuple(int(i) for i in np.unravel_index(int(np.argmax(mask)), mask.shape))
    return index if len(index) != 1 else index[0]


def _vector(value, name: str, size: int, dtype=np.float32) -> np.ndarray:
    """``value`` as a (size,) float array of finite numbers; raises naming ``name``."""
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold numbers, got dtype {array.dtype}")
    if array.shape != (size,):
        raise ValueError(f"{name} must have shape ({size},) like batch.obs, got {array.shape}")
    return _finite_cast(array, dtype, name)


def _finite_cast(array: np.ndarray, dtype, name: str) -> np.ndarray:
    """``array`` cast to the float ``dtype``, refused when a value is NaN or inf there (values
    beyond the dtype's range become inf)."""
    with np.errstate(over="ignore"):
        cast = array.astype(dtype, copy=False)
    finite = np.isfinite(cast)
    if not finite.all():
        index = _first_bad(~finite)
        raise ValueError(f"{name} must be finite, got {array[index]} at index {index}")
    return cast


def _as_path(directory, name: str = "directory") -> Path:
    if isinstance(directory, (bool, np.bool_)) or not isinstance(directory, (str, os.PathLike)):
        raise TypeError(f"{name} must be a str or a path, got {_short(directory)}")
    if not str(directory):
        raise ValueError(f"{name} must not be empty, got {directory!r}")
    return Path(directory)


# ------------------------------------------------------------------ checkpoint files
def _bad_file(directory: Path, name: str, problem: str) -> ValueError:
    """The one error of a load that found ``name`` broken."""
    return ValueError(f"checkpoint file {name!r} in {str(directory)!r} {problem}")


def _unreadable(directory: Path, name: str, error: BaseException) -> ValueError:
    message = " ".join(str(error).split())[:200]
    return _bad_file(directory, name, f"is unreadable (truncated or corrupted: "
                                      f"{type(error).__name__}: {message})")


def _require_file(directory: Path, name: str) -> Path:
    path = directory / name
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint file {name!r} in {str(directory)!r} is missing")
    return path


def _write_npz(path: Path, arrays: dict) -> None:
    with open(path, "wb") as file:
        np.savez(file, **arrays)
        file.flush()
        os.fsync(file.fileno())


def _write_text(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())


def _check_values(directory: Path, name: str, key: str, array: np.ndarray) -> None:
    """No NaN or inf in float arrays, no negative counters in int arrays."""
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise _bad_file(directory, name, f"holds non-finite values in {key!r}")
    if array.dtype.kind == "i" and array.size and array.min() < 0:
        raise _bad_file(directory, name, f"holds a negative counter in {key!r}: {array.min()}")


def _read_npz(directory: Path, name: str, expected: dict) -> dict:
    """Every array of ``name``, read fully, with exactly the keys, shapes and dtypes of
    ``expected`` (``{key: (shape, dtype)}``)."""
    path = _require_file(directory, name)
    try:
        with np.load(path, allow_pickle=False) as arrays:
            keys = list(arrays.files)
            values = {key: arrays[key] for key in keys}
    except Exception as error:  # BadZipFile, zlib.error, EOFError, OSError, ValueError...
        raise _unreadable(directory, name, error) from error
    if sorted(keys) != sorted(expected):
        missing = sorted(set(expected) - set(keys))
        extra = sorted(set(keys) - set(expected))
        raise _bad_file(directory, name, f"does not match this agent ({len(keys)} arrays, "
                                         f"{len(expected)} expected; missing {missing[:5]}, "
                                         f"unexpected {extra[:5]})")
    for key, (shape, dtype) in expected.items():
        array = values[key]
        if array.shape != tuple(shape) or array.dtype != dtype:
            raise _bad_file(directory, name, f"does not match this agent ({key!r} has shape "
                                             f"{array.shape} {array.dtype}, expected "
                                             f"{tuple(shape)} {np.dtype(dtype)})")
        _check_values(directory, name, key, array)
    return values


def _h5_datasets(path: Path) -> list:
    """(name, shape, dtype) of every dataset in an HDF5 file, each read fully."""
    import h5py

    found = []
    with h5py.File(path, "r") as file:
        def visit(name, item):
            if isinstance(item, h5py.Dataset):
                found.append((name, item[()]))
        file.visititems(visit)
    return found


def _check_rng_state(directory: Path, state, bit_generator: str) -> None:
    """``state`` sets a throwaway generator of the same kind and reads back identically."""
    try:
        generator = getattr(np.random, bit_generator)()
        generator.state = state
        sound = generator.state == state
    except Exception as error:  # TypeError, ValueError, KeyError, OverflowError...
        raise _bad_file(directory, "agent.json",
                        f"has an invalid 'rng' state ({type(error).__name__}: "
                        f"{_short(str(error), 120)})") from error
    if not sound:
        raise _bad_file(directory, "agent.json", f"has an invalid 'rng' state {_short(state)}")


class Agent:
    """Online and target Q-networks, an Adam optimizer and the compiled functions that use them.

    Args:
        config: the run's :class:`~noisy_helpers.Config`.
        obs_shape: shape of one observation (ints >= 1; an int ``n`` means ``(n,)``).
        n_actions: number of discrete actions (an int >= 1).
        obs_dtype: dtype of observations (float32 for CartPole, uint8 for Atari frames).
    """

    def __init__(self, config: Config, obs_shape, n_actions: int, obs_dtype=np.float32):
        if not isinstance(config, Config):
            raise TypeError(f"config must be a noisy_helpers.Config, got {type(config).__name__}")
        obs_shape = check_obs_shape(obs_shape)
        n_actions = _check_int(n_actions, "n_actions", 1)
        obs_dtype = _check_obs_dtype(obs_dtype, config.network)
        network = dict(
            obs_shape=obs_shape, n_actions=n_actions,
            hidden_sizes=config.hidden_sizes, noisy=config.noisy,
            noisy_hidden=config.noisy_hidden, sigma0=config.sigma0,
            factorised=config.factorised, kind=config.network, dueling=config.dueling,
            observation_scale=config.observation_scale,
        )
        if config.network == "nature" and len(obs_shape) != 3:
            raise ValueError(f"obs_shape must be (stack, height, width) for the Nature network, "
                             f"got {obs_shape}")
        if config.network == "mlp" and len(obs_shape) != 1:
            raise ValueError(f"obs_shape must be 1-D for the MLP, got {obs_shape}")
        weights = parameter_bytes(obs_shape, n_actions, config.hidden_sizes, config.noisy,
                                  config.noisy_hidden, config.factorised, config.network,
                                  config.dueling)
        check_network_memory(weights, obs_shape, n_actions, config.hidden_sizes, _WEIGHT_COPIES)

        self.config = config
        self.obs_shape = obs_shape
        self.n_actions = n_actions
        self.obs_dtype = obs_dtype
        self._network = network  # build_q_network's arguments, for load's scratch networks
        online_seed, target_seed, action_seed = layer_seeds(config.seed, 3)
        self.online = build_q_network(**network, seed=online_seed, name="online")
        # Its own seed: the target network's noise is independent of the online one's.
        self.target = build_q_network(**network, seed=target_seed, name="target")
        self.sync_target()
        learning_rate = config.learning_rate
        if config.learning_rate_end is not None:
            # Linear decay over the gradient steps up to learning_rate_decay_steps (default:
            # the whole run), then constant (the optimizer counts the gradient steps).
            horizon = config.learning_rate_decay_steps or config.total_steps
            updates = max(1, (horizon - config.learning_starts) // config.train_frequency)
            learning_rate = keras.optimizers.schedules.PolynomialDecay(
                config.learning_rate, updates, end_learning_rate=config.learning_rate_end
            )
        self.optimizer = keras.optimizers.Adam(
            learning_rate=learning_rate, epsilon=config.adam_epsilon,
            global_clipnorm=config.max_grad_norm,
        )
        self.optimizer.build(self.online.trainable_variables)
        self.noisy_online = noisy_layers(self.online)
        self.noisy_target = noisy_layers(self.target)
        # cached_acting: each noisy layer's effective weights μ + σ ⊙ ε, rebuilt by every
        # method that changes the online network.  Held here, not in the Keras model, so
        # that checkpoints do not carry them.  Only for the Nature network, whose 3136 x 512
        # noisy layer makes reading μ and σ at every action cost more than the convolutions,
        # and only with one game: four actions then share each rebuild.  With games side by
        # side one batched action does, and the rebuild cost more than it saved
        # (benchmarks/bench_atari_training.py; README, "Atari training speed").  The small
        # MLP acts as it always has, and so does a dueling head (two noisy heads, not a chain).
        self._acting_weights = {}
        if (config.network == "nature" and self.noisy_online and config.num_envs == 1
                and not config.dueling):
            self._acting_chain = _layer_chain(self.online)
            self._acting_weights = {
                id(layer): (tf.Variable(kernel, trainable=False, name=f"{layer.name}_acting_w"),
                            tf.Variable(bias, trainable=False, name=f"{layer.name}_acting_b"))
                for layer, (kernel, bias) in zip(
                    self.noisy_online, map(effective_weights, self.noisy_online))}
        self._acting_depth = 0  # > 0 inside cached_acting()
        self._acting_fresh = False  # the effective weights match the online network
        self.epsilon = linear_schedule(
            config.epsilon_start, config.epsilon_end, config.epsilon_decay_steps
        )
        self.rng = np.random.default_rng(action_seed)  # ε-greedy's coin and random actions
        self.train_steps = 0

        obs_spec = tf.TensorSpec((None, *self.obs_shape), tf.as_dtype(self.obs_dtype))
        # Acting is one small forward pass, so TensorFlow's per-call overhead dominates it:
        # compiled with XLA and called through its concrete function, it costs about half
        # as much as a plain tf.function call (measured on the 2-core machine that runs CI).
        self._greedy_actions = tf.function(
            self._greedy_actions_graph, jit_compile=True
        ).get_concrete_function(obs_spec)
        # The training step is compiled without XLA, which alone did not speed it up.  With
        # cached_acting's weights (the Nature network, one game) it is one XLA program that
        # also rebuilds them, μ + σ ⊙ f(ε_in) f(ε_out)ᵀ, from the new μ, σ and noise: that
        # added about 1 ms to the train step, where a separate XLA rebuild inside the plain
        # step added about 2 ms, as much as the cheaper actions saved (README, "Atari
        # training speed").  The noise reset rebuilds them in the same way.
        fused = bool(self._acting_weights)
        if fused:
            self._cached_greedy_actions = tf.function(
                self._cached_greedy_actions_graph, jit_compile=True
            ).get_concrete_function(obs_spec)
            self._refresh_acting = tf.function(
                self._refresh_acting_graph, jit_compile=True).get_concrete_function()
        self._train_step = tf.function(
            self._train_step_and_refresh_graph, jit_compile=fused
        ).get_concrete_function(
            obs_spec, tf.TensorSpec((None,), tf.int64), tf.TensorSpec((None,), tf.float32),
            obs_spec, tf.TensorSpec((None,), tf.float32), tf.TensorSpec((None,), tf.float32),
        )
        self._reset_noise = tf.function(
            self._reset_noise_graph, jit_compile=fused).get_concrete_function()
        self._soft_update = tf.function(self._soft_update_graph).get_concrete_function(
            tf.TensorSpec((), tf.float32))
        # The σ and μ columns of metrics.csv, written at the end of every training episode: one
        # compiled call that sums |x| where the weights lie, instead of copying every weight
        # into numpy, concatenating and averaging there (several ms a call on the Nature
        # network).  Not XLA: its float32 sum of the 1.6M hidden weights drifted by 5e-4 of the
        # mean; TensorFlow's own reduction stays within about 1e-6 (tests/test_agent.py).
        self._noise_means = tf.function(self._noise_means_graph).get_concrete_function()

    # ------------------------------------------------------ input checks
    def _observations(self, value, name: str, batched: bool) -> np.ndarray:
        """``value`` as observations of this agent's shape and dtype, checked: numbers, the
        right shape (a non-empty batch if ``batched``), finite (float dtypes only: uint8
        frames are taken as they are) and within the dtype's range."""
        if (not batched and type(value) is np.ndarray and value.dtype is self.obs_dtype
                and value.shape == self.obs_shape):
            # Acting on one observation from the env, every step: the cheapest checks that
            # decide.  Integer frames need none; a small float vector is finite when the
            # Python sum of its elements is (a NaN or an inf term makes the sum NaN or inf;
            # a sum that merely overflowed falls through to the exact check below).
            if self.obs_dtype.kind != "f":
                return value
            if value.size <= _SMALL_OBSERVATION and math.isfinite(sum(value.tolist())):
                return value
        try:
            array = np.asarray(value)
        except (TypeError, ValueError) as error:
            raise TypeError(f"{name} must be an array of numbers, got {_short(value)} "
                            f"({error})") from None
        if array.dtype.kind not in "biuf":
            raise TypeError(f"{name} must hold numbers, got dtype {array.dtype}")
        if batched:
            if array.ndim != len(self.obs_shape) + 1 or array.shape[1:] != self.obs_shape:
                expected = ", ".join(["batch", *map(str, self.obs_shape)])
                raise ValueError(f"{name} must have shape ({expected}), got shape {array.shape}")
            if array.shape[0] < 1:
                raise ValueError(f"{name} must hold at least one observation, got shape "
                                 f"{array.shape}")
        elif array.shape != self.obs_shape:
            raise ValueError(f"{name} must have shape {self.obs_shape}, got shape {array.shape}")
        return self._cast_observations(array, name)

    def _cast_observations(self, array: np.ndarray, name: str) -> np.ndarray:
        """``array`` in ``obs_dtype``; refuses NaN/inf, and values the cast would change."""
        dtype = self.obs_dtype
        if dtype.kind == "f":
            return _finite_cast(array, dtype, name)
        if array.dtype == dtype:
            return array  # e.g. uint8 frames: nothing to check
        if array.dtype.kind == "f":
            bad = ~np.isfinite(array) | (array != np.floor(array))
            if bad.any():
                index = _first_bad(bad)
                raise ValueError(f"{name} must hold whole numbers for obs_dtype {dtype}, got "
                                 f"{array[index]} at index {index}")
        info = np.iinfo(dtype)
        low, high = array.min(), array.max()
        if low < info.min or high > info.max:
            raise ValueError(f"{name} must be in [{info.min}, {info.max}] for obs_dtype {dtype}, "
                             f"got values in [{low}, {high}]")
        return array.astype(dtype)

    def _actions(self, value, size: int) -> np.ndarray:
        """``batch.actions`` as int64, checked: integers, (size,), in [0, n_actions)."""
        array = np.asarray(value)
        if array.dtype.kind not in "iu":
            raise TypeError(f"batch.actions must be integers, got dtype {array.dtype}")
        if array.shape != (size,):
            raise ValueError(f"batch.actions must have shape ({size},) like batch.obs, got "
                             f"{array.shape}")
        low, high = array.min(), array.max()
        if low < 0 or high >= self.n_actions:
            bad = low if low < 0 else high
            raise ValueError(f"batch.actions must be in [0, {self.n_actions}), got {bad} at index "
                             f"{int(np.argmax(array == bad))}")
        return array.astype(np.int64, copy=False)

    def _check_batch(self, batch) -> tuple:
        """The six fields the training step uses, checked and converted, in its order."""
        fields = {}
        for field in ("obs", "actions", "rewards", "next_obs", "dones", "weights"):
            try:
                fields[field] = getattr(batch, field)
            except AttributeError:
                raise TypeError(f"batch must be a replay Batch with a field {field!r} "
                                f"(batch.{field}), got {type(batch).__name__}") from None
        obs = self._observations(fields["obs"], "batch.obs", batched=True)
        size = len(obs)
        next_obs = self._observations(fields["next_obs"], "batch.next_obs", batched=True)
        if len(next_obs) != size:
            raise ValueError(f"batch.next_obs must have {size} rows like batch.obs, got "
                             f"{len(next_obs)}")
        actions = self._actions(fields["actions"], size)
        rewards = _vector(fields["rewards"], "batch.rewards", size)
        dones = _vector(fields["dones"], "batch.dones", size)
        bad = (dones != 0) & (dones != 1)
        if bad.any():
            index = int(np.argmax(bad))
            raise ValueError(f"batch.dones must be 0 or 1, got {dones[index]} at index {index}")
        weights = _vector(fields["weights"], "batch.weights", size)
        if weights.min() < 0:
            index = int(np.argmin(weights))
            raise ValueError(f"batch.weights must be >= 0, got {weights[index]} at index "
                             f"{index}")
        return obs, actions, rewards, next_obs, dones, weights

    # ------------------------------------------------------------ acting
    def _greedy_actions_graph(self, observations):
        q_values = self.online(observations, training=False)  # (batch, n_actions)
        return tf.argmax(q_values, axis=1)

    def _cached_q_values_graph(self, observations):
        # The online network layer by layer, each NoisyDense replaced by x @ w + b with its
        # effective weights (noisy_dense.effective_weights, refreshed by _refresh_acting_graph).
        hidden = observations
        for layer in self._acting_chain:
            if isinstance(layer, NoisyDense):
                kernel, bias = self._acting_weights[id(layer)]
                hidden = tf.matmul(tf.cast(hidden, kernel.dtype), kernel) + bias
                if layer.activation is not None:
                    hidden = layer.activation(hidden)
            else:
                hidden = layer(hidden, training=False)
        return hidden  # (batch, n_actions)

    def _cached_greedy_actions_graph(self, observations):
        return tf.argmax(self._cached_q_values_graph(observations), axis=1)

    def _refresh_acting_graph(self):
        for layer in self.noisy_online:
            kernel, bias = self._acting_weights[id(layer)]
            new_kernel, new_bias = effective_weights(layer)
            kernel.assign(new_kernel)
            bias.assign(new_bias)
        return tf.constant(0)

    @contextlib.contextmanager
    def cached_acting(self):
        """Inside the block, acting (:meth:`act`, :meth:`act_batch`, :meth:`greedy_actions`)
        on the Nature network with one game (``config.num_envs == 1``) uses each noisy
        layer's effective weights ``w = μ + σ ⊙ ε``
        (:func:`~noisy_helpers.noisy_dense.effective_weights`), built once per change instead
        of from μ, σ and ε at every action: one 3136 x 512 matrix to read per action instead of
        two.  The actions are those of the online network with its current noise; the
        Q-values differ from it by float rounding only.

        The training loop acts inside this block.  Every method of the agent that changes the
        online network rebuilds the weights or marks them for rebuilding (the train step and
        :meth:`reset_noise` inside their compiled calls; :meth:`remove_noise`,
        :meth:`keep_noise` and :meth:`load` on the next action), and so does entering the
        block.  Code that assigns the online network's variables itself, inside the block,
        must leave the block first.  Outside it, for the MLP and for games side by side,
        acting reads the network as it is."""
        self._acting_depth += 1
        self._acting_fresh = False  # the network may have changed while outside the block
        try:
            yield
        finally:
            self._acting_depth -= 1

    def _act_on(self, observations):
        """Greedy actions (a tensor) for a checked batch of observations (a tensor)."""
        if self._acting_depth and self._acting_weights:
            if not self._acting_fresh:
                self._refresh_acting()
                self._acting_fresh = True
            return self._cached_greedy_actions(observations)
        return self._greedy_actions(observations)

    def greedy_actions(self, observations) -> np.ndarray:
        """argmax_a Q_online(s, a) for a batch of observations, with the current noise."""
        observations = self._observations(observations, "observations", batched=True)
        return self._act_on(tf.convert_to_tensor(observations)).numpy()

    def act(self, observation, step: int = 0) -> int:
        """The action for one observation: greedy on the noisy Q (NoisyNet, no ε), or
        ε-greedy with ε = epsilon(step) when the network is not noisy."""
        step = _check_step(step)
        observation = self._observations(observation, "observation", batched=False)
        if not self.config.noisy and self.rng.random() < self.epsilon(step):
            return int(self.rng.integers(self.n_actions))
        return int(self._act_on(tf.convert_to_tensor(observation[None])).numpy()[0])

    def act_batch(self, observations, step: int = 0) -> np.ndarray:
        """Actions for a batch of observations, one per environment (vectorised envs):
        greedy on the noisy Q-values, or ε-greedy (one coin per environment) when the
        network is not noisy."""
        step = _check_step(step)
        actions = self.greedy_actions(observations)
        if not self.config.noisy:
            explore = self.rng.random(actions.size) < self.epsilon(step)
            actions = np.where(explore, self.rng.integers(self.n_actions, size=actions.size),
                               actions)
        return actions

    # ------------------------------------------------------------- noise
    def _redraw_noise(self):
        """New noise in every noisy layer of both networks (traced into the graphs that call it)."""
        for layer in self.noisy_online + self.noisy_target:
            layer.reset_noise()

    def _reset_noise_graph(self):
        self._redraw_noise()
        if self._acting_weights:
            self._refresh_acting_graph()  # cached_acting's weights, with the new noise
        return tf.constant(0)

    def reset_noise(self) -> None:
        """Draw new noise in the online and the target network (each from its own generator)."""
        if self.noisy_online:
            self._reset_noise()
            self._acting_fresh = True

    @contextlib.contextmanager
    def keep_noise(self):
        """Inside the block, the online network's noise may change (e.g. for an evaluation);
        afterwards it is back exactly as before, generator state included.  Only the online
        network's: a :meth:`reset_noise` inside the block also draws new target noise (an
        independent draw either way, but not the one a run without the block would draw)."""
        saved = [v.numpy() for v in self.online.non_trainable_variables]
        try:
            yield
        finally:
            for variable, value in zip(self.online.non_trainable_variables, saved):
                variable.assign(value)
            self._acting_fresh = False

    def remove_noise(self) -> None:
        """Zero the online network's noise: it then acts with μ only (evaluation)."""
        for layer in self.noisy_online:
            layer.remove_noise()
        self._acting_fresh = False

    # ----------------------------------------------------------- learning
    def _train_step_graph(self, obs, actions, rewards, next_obs, dones, weights):
        config = self.config
        next_q_online = self.online(next_obs, training=False)  # (batch, n_actions)
        next_q_target = self.target(next_obs, training=False)  # (batch, n_actions)
        # An n-step transition's reward is already its discounted n-step return; the bootstrap
        # is n steps ahead (noisy_helpers.n_step).  γ^1 = γ: the one-step target.
        discount = config.gamma ** config.n_step
        if config.double:
            targets = double_dqn_targets(rewards, dones, next_q_online, next_q_target, discount)
        else:
            targets = dqn_targets(rewards, dones, next_q_target, discount)
        targets = tf.stop_gradient(targets)  # (batch,)
        variables = self.online.trainable_variables
        with tf.GradientTape() as tape:
            q_values = self.online(obs, training=True)  # (batch, n_actions)
            q_taken = tf.gather(q_values, actions, batch_dims=1)  # Q(s, a), (batch,)
            td_errors = targets - q_taken  # δ
            # Prioritized replay: each transition's loss is weighted by its IS weight
            # (Schaul et al. 2016, Algorithm 1, line 12).
            loss = tf.reduce_mean(weights * huber(td_errors, config.huber_delta))
        gradients = tape.gradient(loss, variables)
        self.optimizer.apply(gradients, variables)
        if config.noise_resample == "step":
            self._redraw_noise()  # new noise for the next steps, in both networks (Algorithm 1)
        return loss, tf.abs(td_errors)

    def _train_step_and_refresh_graph(self, *batch):
        loss, abs_td = self._train_step_graph(*batch)
        if self._acting_weights:
            self._refresh_acting_graph()  # cached_acting's weights: new μ and σ, new noise
        return loss, abs_td

    def train_step(self, batch):
        """One gradient step on a replay ``Batch``; returns ``(loss, |δ|)`` as numpy.

        Afterwards the noise of both networks is redrawn (``config.noise_resample == "step"``,
        the paper's choice; with ``"episode"`` or an int ``k`` the training loop redraws it
        instead).

        The batch is checked first, in numpy: observations of the right shape (finite, for
        float dtypes), integer actions in [0, n_actions), finite rewards, dones 0 or 1, finite
        weights >= 0, one batch size.  A bad field raises naming it (``batch.rewards``...)
        before the noise, the weights or Adam's state change."""
        tensors = [tf.convert_to_tensor(value) for value in self._check_batch(batch)]
        loss, abs_td = self._train_step(*tensors)
        self._acting_fresh = True
        self.train_steps += 1
        return float(loss), abs_td.numpy()

    def _soft_update_graph(self, tau):
        for target_variable, online_variable in zip(
            self.target.trainable_variables, self.online.trainable_variables
        ):
            target_variable.assign(tau * online_variable + (1.0 - tau) * target_variable)

    def sync_target(self, tau: float = 1.0) -> None:
        """Move the target network's trainable weights (μ, σ, Dense kernels) toward the online
        network's: θ' ← τ θ + (1 − τ) θ'.  ``tau=1`` (the default) copies them; the training
        loop passes ``config.target_update_tau``.  Never the noise or its generator: those
        stay independent."""
        if not isinstance(tau, (int, float)) or isinstance(tau, bool) or not 0 < tau <= 1:
            raise ValueError(f"tau must be a number in (0, 1], got {_short(tau)}")
        if tau == 1:
            for target_variable, online_variable in zip(
                self.target.trainable_variables, self.online.trainable_variables
            ):
                target_variable.assign(online_variable)
            return
        self._soft_update(tf.constant(float(tau), tf.float32))

    # --------------------------------------------------------- inspection
    def noise_flip_rates(self, observations, draws: int = 16) -> np.ndarray:
        """For each state, the share of ``draws`` fresh noise draws under which its greedy
        action differs from the greedy action with the noise removed: where, and how often,
        the noise changes what the agent does (``nan`` for a network without noise).

        Each draw is new noise in the online network; afterwards its noise and generator are
        exactly as before (the target network's are never touched), so measuring during a
        run changes nothing in it."""
        observations = self._observations(observations, "observations", batched=True)
        if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or draws < 1:
            raise ValueError(f"draws must be an int >= 1, got {_short(draws)}")
        if not self.noisy_online:
            return np.full(len(observations), math.nan)
        tensor = tf.convert_to_tensor(observations)
        flips = np.zeros(len(observations))
        with self.keep_noise():
            self.remove_noise()
            greedy = self._greedy_actions(tensor).numpy()
            for _ in range(int(draws)):
                for layer in self.noisy_online:  # the online network only (see keep_noise)
                    layer.reset_noise()
                flips += self._greedy_actions(tensor).numpy() != greedy
        return flips / int(draws)

    def noise_flip_share(self, observations, draws: int = 16) -> float:
        """The mean of :meth:`noise_flip_rates` over ``observations``: the share of (state,
        draw) pairs whose greedy action the noise changes."""
        return float(np.mean(self.noise_flip_rates(observations, draws)))

    def _noise_means_graph(self):
        # (mean |σ|, mean |μ|) of each noisy layer, in order, as one float32 vector.
        means = [mean for layer in self.noisy_online for mean in mean_abs_sigma_and_mu(layer)]
        return tf.stack(means) if means else tf.zeros((0,), tf.float32)

    def noise_statistics(self) -> dict:
        """Mean |σ| and mean |μ| of each noisy layer of the online network (weights and biases
        together, :func:`~noisy_helpers.noisy_dense.mean_abs_sigma_and_mu`), keyed
        ``sigma/<layer>`` and ``mu/<layer>``; empty for a network without noise."""
        means = self._noise_means().numpy().tolist()
        stats = {}
        for index, layer in enumerate(self.noisy_online):
            stats[f"sigma/{layer.name}"] = means[2 * index]
            stats[f"mu/{layer.name}"] = means[2 * index + 1]
        return stats

    # --------------------------------------------------------- checkpoints
    def _architecture(self) -> dict:
        config = self.config
        return dict(
            obs_shape=list(self.obs_shape), n_actions=self.n_actions,
            obs_dtype=self.obs_dtype.name, network=config.network,
            hidden_sizes=list(config.hidden_sizes),
            noisy=config.noisy, noisy_hidden=config.noisy_hidden, factorised=config.factorised,
            dueling=config.dueling,
            observation_scale=(None if config.observation_scale is None
                               else list(config.observation_scale)),
        )

    def save(self, directory) -> None:
        """Write ``online.weights.h5``, ``target.weights.h5``, ``optimizer.npz``,
        ``noise.npz`` and ``agent.json`` into ``directory`` (created if missing), each
        flushed and fsynced (and the directory's entries too)."""
        directory = _as_path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        for name, model in (("online.weights.h5", self.online),
                            ("target.weights.h5", self.target)):
            model.save_weights(directory / name)
            fsync_file(directory / name)
        _write_npz(directory / "optimizer.npz",
                   {f"v{i}": v.numpy() for i, v in enumerate(self.optimizer.variables)})
        # The noise and the state of its generators: `.weights.h5` does not hold the
        # generators' state, and a resumed run should draw the noise it would have drawn.
        _write_npz(directory / "noise.npz", {
            key: variable.numpy() for key, variable in self._noise_variables().items()})
        state = dict(
            architecture=self._architecture(), train_steps=self.train_steps,
            rng=self.rng.bit_generator.state,
        )
        _write_text(directory / "agent.json", json.dumps(state, indent=1))
        fsync_directory(directory)

    def _noise_variables(self) -> dict:
        """``noise.npz``'s keys and the variables they hold: every non-trainable variable
        (noise and noise-generator state) of both networks."""
        return {f"{name}{i}": variable
                for name, model in (("online", self.online), ("target", self.target))
                for i, variable in enumerate(model.non_trainable_variables)}

    def load(self, directory, weights_only: bool = False, verify: bool = True) -> None:
        """Load what :meth:`save` wrote, all or nothing.

        Every file is read and checked before the agent changes: ``agent.json`` (its
        architecture must be this agent's, ``train_steps`` an int >= 0, ``rng`` a valid
        generator state), the ``.weights.h5`` files (loaded into scratch networks of this
        architecture), ``optimizer.npz`` and ``noise.npz`` (the arrays, shapes and dtypes of
        this agent's variables, all finite).  A missing directory or file raises
        ``FileNotFoundError``; any other problem one ``ValueError`` naming the file; either
        way the agent is exactly as before.

        ``weights_only``: the networks only (to evaluate or watch an agent, not to continue
        training it); a checkpoint without ``target.weights.h5`` (an exported agent) then
        gets a target network copied from the online one.

        A checkpoint with a ``MANIFEST.json`` (every checkpoint that ``train`` and ``export``
        write) is verified against it first: flipped bytes that HDF5 cannot see are caught
        (``verify=False``: the caller has just verified it)."""
        directory = _as_path(directory)
        for flag, value in (("weights_only", weights_only), ("verify", verify)):
            if not isinstance(value, (bool, np.bool_)):
                raise TypeError(f"{flag} must be a bool, got {_short(value)}")
        if not directory.is_dir():
            what = "not a directory" if directory.exists() else "no such directory"
            raise FileNotFoundError(f"no agent checkpoint in {str(directory)!r} ({what})")
        if not (directory / "agent.json").is_file():
            raise FileNotFoundError(f"no agent checkpoint in {str(directory)!r} (agent.json "
                                    f"missing)")
        if verify and (directory / MANIFEST).exists():  # a run's checkpoint, an export
            verify_checkpoint(directory, required=("agent.json", "online.weights.h5"))
        state = self._read_state(directory)
        updates = self._read_network(directory, "online.weights.h5", self.online)
        if (directory / "target.weights.h5").exists() or not weights_only:
            updates += self._read_network(directory, "target.weights.h5", self.target)
        else:  # an exported agent (export_agent) ships the online network only: the target
            # gets the online network's trainable weights (as sync_target), its noise stays
            trainable = len(self.online.trainable_variables)  # they come first in `updates`
            updates += [(variable, value) for variable, (_, value)
                        in zip(self.target.trainable_variables, updates[:trainable])]
        if not weights_only:
            updates += self._read_optimizer(directory)
            noise = _read_npz(directory, "noise.npz", {
                key: (tuple(v.shape), np.dtype(v.dtype))
                for key, v in self._noise_variables().items()})
            updates += [(variable, noise[key])
                        for key, variable in self._noise_variables().items()]
        self._acting_fresh = False  # whether or not every assignment below succeeds
        self._assign_all(updates)
        if not weights_only:
            self.train_steps = state["train_steps"]
            self.rng.bit_generator.state = state["rng"]

    def _read_state(self, directory: Path) -> dict:
        """``agent.json``, parsed and checked: this agent's architecture, ``train_steps`` an
        int >= 0 and ``rng`` a state this agent's bit generator accepts."""
        name = "agent.json"
        try:
            data = (directory / name).read_bytes()
        except OSError as error:
            raise _unreadable(directory, name, error) from error
        try:
            state = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as error:
            raise _bad_file(directory, name, f"is unreadable (not valid JSON: "
                                             f"{type(error).__name__}: "
                                             f"{_short(str(error), 120)})") from error
        if not isinstance(state, dict):
            raise _bad_file(directory, name, f"must hold a JSON object, got "
                                             f"{type(state).__name__}")
        missing = [key for key in ("architecture", "train_steps", "rng") if key not in state]
        if missing:
            raise _bad_file(directory, name, f"lacks the keys {missing}")
        saved, mine = state["architecture"], self._architecture()
        if not isinstance(saved, dict):
            raise _bad_file(directory, name, f"has an 'architecture' that is not an object: "
                                             f"{_short(saved)}")
        # A Config field added later (dueling) reads, when the file lacks it, as the value that
        # agents saved before it existed had (config.ADDED_FIELDS).
        saved = {**{k: ADDED_FIELDS[k] for k in mine if k in ADDED_FIELDS}, **saved}
        different = {k: (saved.get(k), v) for k, v in mine.items() if saved.get(k) != v}
        if different:
            details = ", ".join(f"{k}: checkpoint {a!r} vs this agent {b!r}"
                                for k, (a, b) in different.items())
            raise _bad_file(directory, name, f"is for another network ({details})")
        steps = state["train_steps"]
        if not _is_int(steps) or steps < 0:
            raise _bad_file(directory, name, f"has 'train_steps' {_short(steps)}, not an "
                                             f"int >= 0")
        _check_rng_state(directory, state["rng"], type(self.rng.bit_generator).__name__)
        return state

    def _read_network(self, directory: Path, name: str, live) -> list:
        """``name`` loaded into a scratch network of this architecture and checked against
        the file's own datasets; returns ``[(live variable, value)]`` for the variables a
        ``.weights.h5`` holds (the trainable ones and the noise)."""
        path = _require_file(directory, name)
        scratch = build_q_network(**self._network, seed=0, name=live.name)
        try:
            datasets = _h5_datasets(path)
        except Exception as error:  # OSError, KeyError, RuntimeError... from h5py
            raise _unreadable(directory, name, error) from error
        try:
            with warnings.catch_warnings():
                # Keras warns (and skips) where the file lacks a layer; the comparison of
                # the file's datasets with this architecture below refuses such a file.
                warnings.simplefilter("ignore")
                scratch.load_weights(path)
        except ValueError as error:  # Keras: the file's layers or shapes are not this network's
            message = " ".join(str(error).split())[:200]
            raise _bad_file(directory, name, f"does not match this agent's network "
                                             f"(Keras: {message})") from error
        except Exception as error:  # OSError, KeyError... from h5py while Keras reads
            raise _unreadable(directory, name, error) from error
        pairs = list(zip(_saved_variables(live), _saved_variables(scratch)))
        expected = sorted(tuple(v.shape) for v, _ in pairs)
        found = sorted(tuple(array.shape) for _, array in datasets)
        if expected != found:
            raise _bad_file(directory, name, f"does not match this agent ({len(found)} arrays, "
                                             f"{len(expected)} expected)")
        values = [(variable, np.array(source.numpy())) for variable, source in pairs]
        for variable, value in values:
            if not np.isfinite(value).all():
                raise _bad_file(directory, name, f"holds non-finite values in "
                                                 f"{variable.path!r}")
        return values

    def _read_optimizer(self, directory: Path) -> list:
        """``optimizer.npz`` checked against Adam's variables (iterations, slots)."""
        variables = self.optimizer.variables
        arrays = _read_npz(directory, "optimizer.npz", {
            f"v{i}": (tuple(v.shape), np.dtype(v.dtype)) for i, v in enumerate(variables)})
        return [(variable, arrays[f"v{i}"]) for i, variable in enumerate(variables)]

    @staticmethod
    def _assign_all(updates: list) -> None:
        """Assign every ``(variable, value)``; if one fails, put all back as they were."""
        previous = [(variable, np.array(variable.numpy())) for variable, _ in updates]
        try:
            for variable, value in updates:
                variable.assign(value)
        except Exception:
            for variable, value in previous:
                variable.assign(value)
            raise


def _layer_chain(model) -> list:
    """The layers of ``model`` after its input, in order, when each one takes the previous
    one's output (as every network of ``build_q_network`` does); ``ValueError`` otherwise."""
    layers = model.layers[1:]
    previous = model.layers[0]
    for layer in layers:
        if layer.input is not previous.output:
            raise ValueError(f"the network {model.name!r} is not a chain of layers: "
                             f"{layer.name!r} does not take {previous.name!r}'s output")
        previous = layer
    if previous.output is not model.output:
        raise ValueError(f"the network {model.name!r} does not end on its last layer")
    return layers


def _saved_variables(model) -> list:
    """The variables a ``.weights.h5`` of ``model`` holds, in a fixed order: the trainable
    ones, then each NoisyDense's noise (not the noise generators' state)."""
    return list(model.trainable_variables) + [
        variable for layer in noisy_layers(model) for variable in layer.noise_variables]
