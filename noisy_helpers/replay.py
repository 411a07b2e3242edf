"""Experience replay: uniform, and proportional prioritized (Schaul et al. 2016).

Taught in ``notebooks/02_prioritized_replay.ipynb``.

Proportional prioritization (Schaul et al. 2016, §3.3):

* priority of transition ``i``:  ``p_i = (|δ_i| + eps) ** alpha``          (Eq. 1 with α)
* sampling probability:          ``P(i) = p_i / Σ_k p_k``
* importance-sampling weight:    ``w_i = (N · P(i)) ** (−β) / max_j w_j``  (§3.4)

``alpha = 0.6`` and ``beta`` annealed linearly from 0.4 to 1 are the paper's
values for proportional prioritization with the Double DQN agent (Table 3).
A new transition gets the largest priority seen so far, so that every
transition is replayed at least once soon after it arrives (Algorithm 1, line 6).

Sampling is stratified: ``[0, Σp)`` is cut into ``batch_size`` equal segments
and one value is drawn uniformly in each (Appendix B.2.1), which lowers the
variance of the batch compared with ``batch_size`` independent draws.

Everything is stored in preallocated numpy arrays: no object arrays, no lists
of tuples.  Observations keep their dtype (``uint8`` frames stay ``uint8``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Callable, NamedTuple

import numpy as np

from ._memory import allocate, check_memory
from .sum_tree import (
    _SAFE_TOTAL,
    SumTree,
    _as_float_array,
    _as_index_array,
    _check_capacity,
)

__all__ = [
    "Batch",
    "ReplayBuffer",
    "PrioritizedReplayBuffer",
    "importance_weights",
    "linear_schedule",
]


class Batch(NamedTuple):
    """A sampled minibatch; the first axis of every field is the batch."""

    obs: np.ndarray  # (B, *obs_shape), the buffer's obs dtype
    actions: np.ndarray  # (B,) int64
    rewards: np.ndarray  # (B,) float32
    next_obs: np.ndarray  # (B, *obs_shape)
    dones: np.ndarray  # (B,) float32: 1.0 where the episode terminated at next_obs
    weights: np.ndarray  # (B,) float32 importance-sampling weights, max 1
    indices: np.ndarray  # (B,) int64 slots, to pass back to update_priorities


# ----------------------------------------------------------------------------
# Argument checks, shared by the buffers, the frame buffers and the pure functions.
# Each raises TypeError (wrong kind of value) or ValueError (wrong value), naming the
# argument and showing the value, before anything changes.
# ----------------------------------------------------------------------------
_BOOLS = (bool, np.bool_)
_INTS = (int, np.integer)
_REALS = (int, float, np.integer, np.floating)
_FLOAT64 = np.dtype(np.float64)
_INT64 = np.dtype(np.int64)
#: Rewards are stored as float32: a larger one would be stored as inf.
_FLOAT32_MAX = float(np.finfo(np.float32).max)
#: 1-D float observations up to this size are checked for NaN/inf in Python (see add).
_SMALL_OBS = 16
#: Actions are stored as int64 unless ``n_actions`` says less.
_INT64_END = 2**63


def _check_int(value, name: str, minimum: int | None = None) -> int:
    """``value`` as an int (numpy ints too, bools not), at least ``minimum``."""
    if isinstance(value, _BOOLS) or not isinstance(value, _INTS):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _check_real(value, name: str) -> float:
    """``value`` as a finite float: a Python or numpy number or a 0-d numeric array
    (not a bool, a string or None)."""
    if isinstance(value, _BOOLS) or not isinstance(value, _REALS):
        if not (isinstance(value, np.ndarray) and value.ndim == 0
                and value.dtype.kind in "iuf"):
            raise TypeError(f"{name} must be a real number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return float(value)


def _check_beta(beta) -> float:
    """``beta`` as a float in [0, 1] (NaN fails the comparison, so it is refused too)."""
    if isinstance(beta, _BOOLS) or not isinstance(beta, _REALS):
        raise TypeError(f"beta must be a real number, got {beta!r}")
    if not 0.0 <= beta <= 1.0:
        raise ValueError(f"beta must be in [0, 1], got {beta}")
    return float(beta)


def _check_shape(shape, name: str) -> tuple[int, ...]:
    """``shape`` (an int or a sequence of ints, each >= 1) as a tuple."""
    dims = (shape,) if isinstance(shape, _INTS) else shape
    if isinstance(dims, (str, bytes)) or not isinstance(dims, (tuple, list, np.ndarray)) or any(
            isinstance(d, _BOOLS) or not isinstance(d, _INTS) for d in dims):
        raise TypeError(f"{name} must be an int or a sequence of ints, got {shape!r}")
    if any(d < 1 for d in dims):
        raise ValueError(f"{name} must have positive dimensions, got {shape}")
    return tuple(int(d) for d in dims)


def _check_dtype(dtype, name: str) -> np.dtype:
    """``dtype`` as a numpy dtype of numbers: bool, int, uint or float (no objects,
    strings or complex numbers, which the buffers cannot check or store faithfully)."""
    try:
        result = np.dtype(dtype)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a numpy dtype, got {dtype!r}") from None
    if result.kind not in "biuf":
        raise TypeError(f"{name} must be a bool, int or float dtype, got {result}")
    return result


def _make_rng(seed) -> np.random.Generator:
    """``np.random.default_rng(seed)``, with what numpy refuses (negative or float seeds, a
    string...) raised as an error naming ``seed``."""
    if isinstance(seed, _BOOLS):
        raise TypeError(f"seed must be None, an int >= 0 or a numpy seed, got {seed!r}")
    try:
        return np.random.default_rng(seed)
    except TypeError:
        raise TypeError(f"seed must be None, an int >= 0 or a numpy seed, got {seed!r}") from None
    except ValueError:
        raise ValueError(f"seed must be None, an int >= 0 or a numpy seed, got {seed!r}") from None


def _check_n_actions(n_actions, action_dtype) -> int:
    """The end of the action range: ``n_actions``, or what ``action_dtype`` holds."""
    if n_actions is None:
        return int(np.iinfo(action_dtype).max) + 1
    n_actions = _check_int(n_actions, "n_actions", 1)
    if n_actions > np.iinfo(action_dtype).max + 1:
        raise ValueError(f"n_actions must fit {np.dtype(action_dtype)}, got {n_actions}")
    return n_actions


def _first_bad(array: np.ndarray, good: np.ndarray):
    """The first element of ``array`` where ``good`` is False (for error messages)."""
    return array.reshape(-1)[np.flatnonzero(~good.reshape(-1))[0]]


# ----------------------------------------------------------------------------
# The math, as pure functions that the notebook and the tests share.
# ----------------------------------------------------------------------------
#: How IS weights are normalised: by their largest value in the batch, or over the buffer.
NORMALISERS = ("batch", "buffer")


def _check_normalise(normalise) -> str:
    """``normalise`` as one of :data:`NORMALISERS`."""
    if not isinstance(normalise, str):
        raise TypeError(f"normalise must be 'batch' or 'buffer', got {normalise!r}")
    if normalise not in NORMALISERS:
        raise ValueError(f"normalise must be 'batch' or 'buffer', got {normalise!r}")
    return normalise


def importance_weights(probabilities, buffer_size: int, beta: float, normalise: str = "batch",
                       smallest_probability=None) -> np.ndarray:
    """IS weights ``w_i = (N · P(i)) ** (−β)``, divided by their largest value (Schaul et al. §3.4).

    ``probabilities`` are the sampling probabilities ``P(i)`` of the batch,
    ``buffer_size`` is ``N``, the number of transitions stored.  Dividing only scales
    the weights down, so no weight exceeds 1: the update never grows, for stability.
    ``beta = 0`` gives all ones (no correction), ``beta = 1`` fully compensates for the
    non-uniform sampling, up to the normaliser:

    * ``normalise="batch"``: divide by the largest weight *in the batch* (Dopamine, PFRL's
      default).  The rarest transition of each batch gets weight 1.  The divisor depends on
      which transitions were drawn, so at β = 1 the expected update is not exactly the
      uniform one times a constant: a small bias remains (notebook 02 measures it).
    * ``normalise="buffer"``: divide by the largest weight *the buffer could give*,
      ``(N · P_min) ** −β`` with ``smallest_probability = P_min`` over every stored
      transition (OpenAI Baselines; Algorithm 1's ``max_i w_i``).  The divisor is the same for
      every batch, so at β = 1 the expected update is the uniform one times a constant.
    """
    probabilities = _as_float_array(probabilities, "probabilities")
    buffer_size = _check_int(buffer_size, "buffer_size", 1)
    beta = _check_beta(beta)
    normalise = _check_normalise(normalise)
    if probabilities.size == 0:
        raise ValueError("probabilities is empty")
    if not (probabilities.min() > 0 and probabilities.max() <= 1):  # NaN fails too
        raise ValueError(f"probabilities must be in (0, 1], got {probabilities}")
    if normalise == "batch":
        if smallest_probability is not None:
            raise ValueError(f"smallest_probability is only for normalise='buffer', got "
                             f"{smallest_probability!r}")
        return _importance_weights(probabilities, buffer_size, beta)
    if smallest_probability is None:
        raise ValueError("normalise='buffer' needs smallest_probability, the smallest P(i) "
                         "over the whole buffer, got None")
    smallest = _check_real(smallest_probability, "smallest_probability")
    if not 0 < smallest <= probabilities.min():
        raise ValueError(f"smallest_probability must be in (0, min(probabilities) = "
                         f"{probabilities.min():.6g}], got {smallest_probability!r}")
    # (N P(i))^-β / (N P_min)^-β = (P_min / P(i))^β: N cancels, as in the buffer's own sample.
    return _importance_weights_of_priorities(probabilities, beta, smallest)


def _importance_weights(probabilities: np.ndarray, buffer_size: int, beta: float) -> np.ndarray:
    """``importance_weights`` without the checks (the buffer's inputs are valid by construction)."""
    weights = (buffer_size * probabilities) ** (-beta)
    weights /= weights.max()  # the rarest transition gets weight 1, all others less
    return weights.astype(np.float32)


def _importance_weights_of_priorities(priorities: np.ndarray, beta: float,
                                      smallest: float | None = None) -> np.ndarray:
    """``importance_weights`` of a batch with priorities ``p_i`` (all > 0), in fewer steps.

    With ``P(i) = p_i / Σp``, ``(N P(i)) ** -β / max_j (N P(j)) ** -β`` is
    ``(min_j p_j / p_i) ** β``: ``N`` and ``Σp`` cancel, and the rarest
    transition gets exactly ``1 ** β = 1``.  Equal to ``importance_weights``
    up to float rounding (the result is float32).  ``smallest`` is ``min_j p_j`` when
    the caller has it already; with the smallest priority of the whole buffer instead, the
    same formula gives the weights normalised over the buffer (``normalise="buffer"``).
    """
    if smallest is None:
        smallest = priorities.min()
    # The ratio in float64, the power straight into float32 (one call fewer than a cast).
    return np.power(smallest / priorities, beta, dtype=np.float32)


def linear_schedule(start: float, end: float, duration: int) -> Callable[[int], float]:
    """A function ``step -> value`` going linearly from ``start`` to ``end``
    over ``duration`` steps, then staying at ``end``.

    Used for β, from 0.4 to 1 over training (Schaul et al. §3.4, Table 3)::

        beta = linear_schedule(0.4, 1.0, total_steps)
        beta(0), beta(total_steps // 2), beta(total_steps)  # 0.4, 0.7, 1.0
    """
    duration = _check_int(duration, "duration", 1)
    start, end = _check_real(start, "start"), _check_real(end, "end")

    def value(step: int) -> float:
        step = _check_real(step, "step")
        if step < 0:
            raise ValueError(f"step must be >= 0, got {step}")
        fraction = min(step / duration, 1.0)
        return start + fraction * (end - start)

    return value


# ----------------------------------------------------------------------------
# Buffers
# ----------------------------------------------------------------------------
class ReplayBuffer:
    """A ring buffer of transitions, sampled uniformly; all IS weights are 1.

    It has the same interface as :class:`PrioritizedReplayBuffer` so that the
    agent can switch between them with one config flag.  ``n_actions``, when given,
    bounds the actions that ``add`` and ``load_state_dict`` accept to ``[0, n_actions)``.
    """

    def __init__(self, capacity: int, obs_shape, obs_dtype=np.float32, seed=None,
                 n_actions: int | None = None):
        capacity = _check_capacity(capacity)
        obs_shape = _check_shape(obs_shape, "obs_shape")
        obs_dtype = _check_dtype(obs_dtype, "obs_dtype")
        action_end = _check_n_actions(n_actions, self._ACTION_DTYPE)
        rng = _make_rng(seed)
        # A capacity too big to allocate is a ValueError naming it, not a MemoryError.
        check_memory(f"capacity={capacity}", self._nbytes_for(capacity, obs_shape, obs_dtype))
        self.capacity = capacity
        self.obs_shape = obs_shape
        self.obs_dtype = obs_dtype
        self.n_actions = None if n_actions is None else int(n_actions)
        self._action_end = action_end  # add() accepts actions in [0, _action_end)
        self.obs = allocate(f"capacity={capacity}", (capacity, *obs_shape), obs_dtype)
        self.next_obs = allocate(f"capacity={capacity}", (capacity, *obs_shape), obs_dtype)
        self.actions = np.zeros(self.capacity, dtype=self._ACTION_DTYPE)
        self.rewards = np.zeros(self.capacity, dtype=np.float32)
        self.dones = np.zeros(self.capacity, dtype=np.float32)
        self.rng = rng
        self._cursor = 0  # the slot the next add writes
        self._size = 0
        self._set_finite_check()

    #: The dtype of the stored actions.
    _ACTION_DTYPE = np.int64

    def _nbytes_for(self, capacity: int, obs_shape: tuple, obs_dtype: np.dtype) -> int:
        """Bytes of the arrays a buffer of this ``capacity`` allocates."""
        obs_bytes = math.prod(obs_shape) * obs_dtype.itemsize
        return capacity * (2 * obs_bytes + 8 + 4 + 4)

    def _set_finite_check(self) -> None:
        """How ``add`` checks that observations are finite: 0, not at all (integer dtypes
        hold nothing else); 1, sums of Python floats, for small 1-D observations (cheaper
        than any numpy call there); 2, one dot product of the flattened observations."""
        if self.obs_dtype.kind != "f":
            self._finite_check = 0
        elif len(self.obs_shape) == 1 and self.obs_shape[0] <= _SMALL_OBS:
            self._finite_check = 1
        else:
            self._finite_check = 2

    def __len__(self) -> int:
        return self._size

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(capacity={self.capacity}, size={self._size}, "
            f"obs_shape={self.obs_shape}, obs_dtype={self.obs_dtype})"
        )

    # ------------------------------------------------------------------ adding
    def _check_observations(self, obs, next_obs) -> tuple[np.ndarray, np.ndarray]:
        """``obs`` and ``next_obs`` as arrays of the buffer's shape and dtype, or raise.

        Called on every environment step.  The common case, arrays of the buffer's own
        dtype and shape, costs a few attribute reads, and for float dtypes one sum: of
        the elements of both for small 1-D observations, else the dot product
        ``obs · next_obs``.  Either is finite only if every element of both is (a NaN or
        an inf makes a NaN or an inf term, and a sum with one is not finite); when it is
        not, maybe only because it overflowed, the exact check decides.  Integer dtypes
        need no check at all.  Anything else (lists, other dtypes or shapes) takes the
        full path, ``_observation``.
        """
        dtype = self.obs_dtype
        try:
            fast = (obs.dtype is dtype and next_obs.dtype is dtype
                    and obs.shape == self.obs_shape and next_obs.shape == self.obs_shape)
        except AttributeError:  # not arrays
            fast = False
        if not fast:
            return self._observation(obs, "obs"), self._observation(next_obs, "next_obs")
        check = self._finite_check
        if check == 1:
            # Small observations: sums of Python floats (no numpy call, no FP warnings).
            if not math.isfinite(sum(obs.tolist()) + sum(next_obs.tolist())):
                self._check_finite(obs, "obs")
                self._check_finite(next_obs, "next_obs")
        elif check == 2:
            with np.errstate(over="ignore", invalid="ignore"):  # decided exactly below
                product = obs.reshape(-1).dot(next_obs.reshape(-1))
            if not math.isfinite(product):
                self._check_finite(obs, "obs")
                self._check_finite(next_obs, "next_obs")
        return obs, next_obs

    def _check_finite(self, array: np.ndarray, name: str) -> None:
        finite = np.isfinite(array)
        if not finite.all():
            raise ValueError(f"{name} must be finite, got {_first_bad(array, finite)}")

    def _observation(self, value, name: str) -> np.ndarray:
        """``value`` as an array of the buffer's shape and dtype, checked: numbers only,
        finite for float buffers, and every value must fit the buffer's dtype (300 is no
        uint8, 1e300 no float32, 1.5 no int): numpy's cast would wrap or overflow them."""
        try:
            array = np.asarray(value)
        except (TypeError, ValueError):  # e.g. ragged lists
            raise TypeError(f"{name} must be an array of numbers, got {value!r}") from None
        if array.shape != self.obs_shape:
            raise ValueError(f"{name} must have shape {self.obs_shape}, got {array.shape}")
        if array.dtype.kind not in "biuf":
            raise TypeError(f"{name} must hold numbers, got dtype {array.dtype}")
        if array.dtype == self.obs_dtype:
            converted = array
        else:
            with np.errstate(over="ignore", invalid="ignore"):  # checked just below
                converted = array.astype(self.obs_dtype)
        if self.obs_dtype.kind == "f":
            finite = np.isfinite(converted)
            if not finite.all():
                raise ValueError(f"{name} must be finite and fit {self.obs_dtype}, got "
                                 f"{_first_bad(array, finite)}")
        elif converted is not array:
            fits = converted == array  # a wrapped, truncated or NaN value differs
            if not fits.all():
                raise ValueError(f"{name} must hold values that fit {self.obs_dtype}, got "
                                 f"{_first_bad(array, fits)}")
        return converted

    def add(self, obs, action, reward, next_obs, done, truncated: bool = False) -> int:
        """Store one transition; returns its slot.  When full, overwrites the oldest.

        ``done`` means the episode *terminated* at ``next_obs`` (no bootstrap);
        a time-limit truncation is not a termination.  ``truncated`` is accepted for the
        interface that the frame buffers share (they need to know where an episode ends);
        a buffer of whole observations does not use it.  Every argument is checked before
        anything is written: on bad input nothing changes.
        """
        obs, next_obs = self._check_observations(obs, next_obs)
        _check_transition(action, reward, done, truncated, self._action_end)

        slot = self._cursor
        self.obs[slot] = obs
        self.next_obs[slot] = next_obs
        self.actions[slot] = action
        self.rewards[slot] = reward
        self.dones[slot] = done
        self._cursor = (slot + 1) % self.capacity
        if self._size < self.capacity:
            self._size += 1
        self._on_add(slot)
        return slot

    def _on_add(self, slot: int) -> None:
        """Hook for subclasses (priorities); nothing to do for uniform replay."""

    # ---------------------------------------------------------------- sampling
    def _check_batch_size(self, batch_size) -> int:
        batch_size = _check_int(batch_size, "batch_size", 1)
        if batch_size > self._size:
            raise ValueError(
                f"cannot sample batch_size={batch_size} from a buffer holding {self._size}"
            )
        return batch_size

    def _gather(self, indices: np.ndarray, weights: np.ndarray) -> Batch:
        return Batch(  # take(axis=0) is the fast gather of whole rows
            obs=self.obs.take(indices, axis=0),
            actions=self.actions.take(indices),
            rewards=self.rewards.take(indices),
            next_obs=self.next_obs.take(indices, axis=0),
            dones=self.dones.take(indices),
            weights=weights,
            indices=indices,
        )

    def sample(self, batch_size: int, beta: float | None = None) -> Batch:
        """``batch_size`` transitions drawn uniformly with replacement; weights are 1.

        ``beta`` is accepted (checked, and ignored) so that both buffers share one interface.
        """
        batch_size = self._check_batch_size(batch_size)
        if beta is not None:
            _check_beta(beta)
        indices = self.rng.integers(0, self._size, size=batch_size)
        return self._gather(indices, np.ones(batch_size, dtype=np.float32))

    def update_priorities(self, indices, td_errors) -> None:
        """Uniform replay has no priorities: checks its input, changes nothing."""
        _check_td_errors(_as_index_array(indices, max(self._size, 1)), td_errors)

    # ------------------------------------------------------------ checkpoints
    #: The preallocated storage arrays, saved and restored as they are.
    _STORAGE = ("obs", "next_obs", "actions", "rewards", "dones")

    def state_dict(self) -> dict:
        """Everything needed to continue, as numpy arrays for ``np.savez`` (no pickle):
        storage, write cursor, size and the sampling RNG's state."""
        state = {key: getattr(self, key) for key in self._STORAGE}
        state.update(
            cursor=np.int64(self._cursor), size=np.int64(self._size),
            rng_state=np.array(json.dumps(self.rng.bit_generator.state)),
        )
        return state

    def check_state_dict(self, state) -> None:
        """Raise ``ValueError``/``TypeError`` (naming the entry) if ``load_state_dict(state)``
        would refuse ``state``; change nothing.  A checkpoint loader can check every part
        first, then load them all: all or nothing."""
        self._checked_state(state)

    def load_state_dict(self, state) -> None:
        """Restore :meth:`state_dict`.  Everything is checked first (see
        :meth:`check_state_dict`): on a bad state nothing changes."""
        self._assign_state(self._checked_state(state))

    def _state_layout(self) -> dict:
        """``key -> (shape, dtype)`` of each array of :meth:`state_dict` but the RNG state
        (read without side effects: a failed check must change nothing)."""
        layout = {key: (getattr(self, key).shape, getattr(self, key).dtype)
                  for key in self._STORAGE}
        layout.update(cursor=((), _INT64), size=((), _INT64))
        return layout

    def _checked_state(self, state) -> dict:
        """The arrays of ``state`` to assign, every one checked; raises on the first bad one."""
        if not isinstance(state, Mapping):
            raise TypeError(f"state must be a dict of arrays, got {type(state).__name__}")
        layout = self._state_layout()
        missing = sorted((set(layout) | {"rng_state"}) - set(state))
        if missing:
            raise ValueError(f"replay state is missing {missing}")
        checked = {}
        for key, (shape, dtype) in layout.items():
            try:
                value = np.asarray(state[key])
            except (TypeError, ValueError):
                raise TypeError(f"replay state {key!r} must be an array, got "
                                f"{type(state[key]).__name__}") from None
            if value.shape != shape or value.dtype != dtype:
                raise ValueError(
                    f"replay state {key!r} has shape {value.shape} and dtype {value.dtype}, "
                    f"this buffer needs {shape} and {dtype}"
                )
            checked[key] = value
        self._check_state_values(checked)
        self._check_state_counters(checked)
        checked["rng_state"] = self._check_rng_state(state["rng_state"])
        return checked

    def _check_state_values(self, state: dict) -> None:
        """What ``add`` would have refused must not come in through a checkpoint."""
        for key in ("obs", "next_obs", "frames"):
            if key in state and self.obs_dtype.kind == "f":
                finite = np.isfinite(state[key])
                if not finite.all():
                    raise ValueError(f"replay state {key!r} must be finite, got "
                                     f"{_first_bad(state[key], finite)}")
        actions = state["actions"]
        valid = (actions >= 0) & (actions < self._action_end)
        if not valid.all():
            raise ValueError(f"replay state 'actions' must be in [0, {self._action_end}), got "
                             f"{_first_bad(actions, valid)}")
        finite = np.isfinite(state["rewards"])
        if not finite.all():
            raise ValueError(f"replay state 'rewards' must be finite, got "
                             f"{_first_bad(state['rewards'], finite)}")
        flags = (state["dones"] == 0) | (state["dones"] == 1)
        if not flags.all():
            raise ValueError(f"replay state 'dones' must be 0 or 1, got "
                             f"{_first_bad(state['dones'], flags)}")

    def _check_state_counters(self, state: dict) -> None:
        """Cursor and size: in range, and consistent (until the ring first wraps around,
        the next slot to write is the number of slots written)."""
        cursor, size = int(state["cursor"]), int(state["size"])
        if not (0 <= size <= self.capacity and 0 <= cursor < self.capacity) or (
                size < self.capacity and cursor != size):
            raise ValueError(f"replay state has cursor {cursor} and size {size} for capacity "
                             f"{self.capacity}")

    def _check_rng_state(self, value) -> dict:
        """The RNG state, parsed and tried on a throwaway generator of the same kind: a bad
        one then raises here, before anything changes, not halfway through a load."""
        text = np.asarray(value)
        if text.shape != () or text.dtype.kind != "U":
            raise ValueError(f"replay state 'rng_state' must be a JSON string, got "
                             f"shape {text.shape} and dtype {text.dtype}")
        bit_generator = type(self.rng.bit_generator)
        try:
            parsed = json.loads(str(text))
            bit_generator(0).state = parsed
        except Exception as error:  # noqa: BLE001  (json, KeyError, TypeError, ValueError...)
            reason = " ".join(str(error).split())
            raise ValueError(f"replay state 'rng_state' is not a {bit_generator.__name__} "
                             f"state: {type(error).__name__}: {reason}") from None
        return parsed

    def _assign_state(self, state: dict) -> None:
        """Assign a state that ``_checked_state`` returned (nothing here can fail)."""
        for key in self._STORAGE:
            getattr(self, key)[...] = state[key]
        self._cursor, self._size = int(state["cursor"]), int(state["size"])
        self.rng.bit_generator.state = state["rng_state"]


_FLAG_TYPES = (bool, np.bool_, int, np.integer)


def _is_flag(value) -> bool:
    return isinstance(value, _FLAG_TYPES) and value in (0, 1)


def _check_transition(action, reward, done, truncated=False, action_end=_INT64_END) -> None:
    """The checks of ``add`` on everything but the observations (shared with the frame
    buffers): an int action in ``[0, action_end)`` (the buffer's ``n_actions``, or what its
    action array holds: a bigger one would overflow), a finite reward that fits float32,
    and ``done`` and ``truncated`` bools.  Called on every environment step, so it takes
    plain arguments (no ``**kwargs``) and tests the common case first."""
    if type(action) is not int and (isinstance(action, _BOOLS) or not isinstance(action, _INTS)):
        raise TypeError(f"action must be an int, got {action!r}")
    if not 0 <= action < action_end:
        if action < 0:
            raise ValueError(f"action must be >= 0, got {action}")
        raise ValueError(f"action must be < {action_end} (n_actions, or what the buffer's "
                         f"actions hold), got {action}")
    if type(reward) is not float and (isinstance(reward, _BOOLS)
                                      or not isinstance(reward, _REALS)):
        _check_real(reward, "reward")  # a 0-d array passes; anything else raises
    if not -_FLOAT32_MAX <= reward <= _FLOAT32_MAX:  # NaN fails both comparisons
        raise ValueError(f"reward must be finite and fit float32, got {reward}")
    if done is not False and done is not True and not _is_flag(done):
        raise ValueError(f"done must be a bool, got {done!r}")
    if truncated is not False and truncated is not True and not _is_flag(truncated):
        raise ValueError(f"truncated must be a bool, got {truncated!r}")


def _as_td_errors(indices: np.ndarray, td_errors) -> np.ndarray:
    """``td_errors`` as a 1-D float64 array of the same length as ``indices``."""
    if type(td_errors) is np.ndarray and td_errors.dtype is _FLOAT64:
        errors = td_errors.reshape(-1)  # the common case: no conversion
    else:
        errors = _as_float_array(td_errors, "td_errors").reshape(-1)
    if errors.size != indices.size:
        raise ValueError(
            f"indices and td_errors differ in length: {indices.size} != {errors.size}"
        )
    return errors


def _check_td_errors(indices: np.ndarray, td_errors) -> np.ndarray:
    """``_as_td_errors``, and every error finite."""
    errors = _as_td_errors(indices, td_errors)
    if not np.isfinite(errors).all():
        raise ValueError(f"td_errors must be finite, got {errors[~np.isfinite(errors)][0]}")
    return errors


class PrioritizedReplayBuffer(ReplayBuffer):
    """Proportional prioritized replay on a :class:`~noisy_helpers.SumTree`.

    ``normalise`` says what the IS weights are divided by: their largest value in the
    batch (``"batch"``, the default) or over the whole buffer (``"buffer"``); see
    :func:`importance_weights`.

    >>> buffer = PrioritizedReplayBuffer(1000, obs_shape=(4,), seed=0)
    >>> for t in range(100):
    ...     _ = buffer.add(np.zeros(4), 0, 1.0, np.zeros(4), False)
    >>> batch = buffer.sample(32, beta=0.4)
    >>> buffer.update_priorities(batch.indices, td_errors=np.ones(32))

    Batched tree writes.  Walking the tree costs about the same for one leaf
    as for a hundred (numpy works per level, for all leaves at once), so
    ``add`` and ``update_priorities`` do not walk it: they queue their
    ``(slots, priorities)`` in order, and the queue is written in one
    vectorised update just before the tree is next read (``sample``, or the
    ``tree`` property).  Order is kept, so the last write to a slot wins, and
    each new transition gets the maximum priority *as of its add*: exactly
    what immediate writes would give.
    """

    def __init__(
        self,
        capacity: int,
        obs_shape,
        obs_dtype=np.float32,
        alpha: float = 0.6,
        eps: float = 1e-6,
        seed=None,
        n_actions: int | None = None,
        normalise: str = "batch",
    ):
        alpha, eps = _check_real(alpha, "alpha"), _check_real(eps, "eps")
        if alpha < 0:
            raise ValueError(f"alpha must be >= 0, got {alpha}")
        if eps <= 0:
            raise ValueError(f"eps must be > 0, got {eps}")
        normalise = _check_normalise(normalise)
        super().__init__(capacity, obs_shape, obs_dtype, seed, n_actions)
        self.alpha = alpha
        self.eps = eps
        #: IS weights divided by their largest value in the batch ("batch") or over the whole
        #: buffer ("buffer", from the tree's smallest priority): see importance_weights.
        self.normalise = normalise
        self._tree = SumTree(self.capacity)
        #: The largest priority ``p_i`` given so far; new transitions get it.
        self.max_priority = 1.0
        # No priority may exceed this: then even a tree full of them has a finite total
        # (an inf total would make every sample land in the last slot).
        self._priority_limit = _SAFE_TOTAL / self._tree.size
        # Queued tree writes: earlier (slots, priorities) chunks, then the run of
        # slots added since, [start, start + count) mod capacity, at max_priority.
        self._queued: list[tuple[np.ndarray, np.ndarray]] = []
        self._added_start = 0
        self._added_count = 0
        # What update_priorities accepts: indices of the last sample whose slots were
        # not written since.  Slot writes are counted; _written_at[slot] is the count
        # at the slot's last write, and a sample keeps a copy of its indices and the
        # count at that time.
        self._writes = 0
        self._written_at = np.zeros(self.capacity, dtype=np.int64)
        self._last_indices: np.ndarray | None = None
        self._writes_at_sample = 0
        self._strata = np.arange(0, dtype=np.float64)  # 0, 1, ..., batch_size - 1

    def _nbytes_for(self, capacity: int, obs_shape: tuple, obs_dtype: np.dtype) -> int:
        """Bytes of the storage, the sum tree and the write counts."""
        return (super()._nbytes_for(capacity, obs_shape, obs_dtype)
                + SumTree.nbytes_for(capacity) + 8 * capacity)

    @property
    def tree(self) -> SumTree:
        """The sum tree of priorities, with every queued write applied."""
        self._write_queued()
        return self._tree

    def _on_add(self, slot: int) -> None:
        if self._added_count == 0:
            self._added_start = slot
        if self._added_count < self.capacity:
            self._added_count += 1
        # A new transition: old indices to it are stale (_mark_written, inlined: every add).
        self._writes += 1
        self._written_at[slot] = self._writes

    def _mark_written(self, slot: int) -> None:
        """Note that ``slot`` now holds something else (indices to it are stale)."""
        self._writes += 1
        self._written_at[slot] = self._writes

    def _queue_added(self) -> None:
        """Move the run of added slots into the queue, at today's max priority."""
        if self._added_count:
            slots = (self._added_start + np.arange(self._added_count)) % self.capacity
            self._queued.append((slots, np.full(slots.shape, self.max_priority)))
            self._added_count = 0

    def _write_queued(self) -> None:
        self._queue_added()
        if self._queued:
            if len(self._queued) == 1:
                slots, priorities = self._queued[0]
            else:
                slots, priorities = (np.concatenate(parts) for parts in zip(*self._queued))
            self._queued.clear()
            self._tree._write(slots, priorities)  # in order: the last write to a slot wins

    def sample(self, batch_size: int, beta: float = 0.4) -> Batch:
        """Stratified proportional sample with IS weights for ``beta``."""
        batch_size = self._check_batch_size(batch_size)
        if type(beta) is not float or not 0.0 <= beta <= 1.0:  # the common case: one test
            beta = _check_beta(beta)
        if self._queued or self._added_count:
            self._write_queued()
        tree = self._tree
        # The prefix sums that the search starts from, and their total (the root's levels
        # above them are not needed here, so the tree leaves them for later).
        total = tree._prepare_search()
        # One uniform draw inside each of batch_size equal segments of [0, total):
        # (k + u_k) * total / batch_size, computed in place.
        if self._strata.size != batch_size:
            self._strata = np.arange(batch_size, dtype=np.float64)
        targets = self.rng.random(batch_size)
        targets += self._strata
        targets *= total / batch_size
        indices, priorities, smallest = tree._search(targets)
        if self.normalise == "buffer":  # the rarest transition stored, not just of this batch
            smallest = tree.smallest_positive()
        # IS weights of P(i) = p_i / total: (p_min / p_i)^β (see the helper).
        weights = _importance_weights_of_priorities(priorities, beta, smallest)
        self._last_indices = indices.copy()  # ours: the caller may change its array
        self._writes_at_sample = self._writes
        return self._gather(indices, weights)

    def update_priorities(self, indices, td_errors) -> None:
        """Set ``p_i = (|δ_i| + eps) ** alpha`` for the slots of the last sample.

        ``indices`` are the last sample's (any of them, in any order, repeats allowed),
        and their slots must not have been written since that sample.
        """
        last = self._last_indices
        # The common case, the batch's own indices passed back: one comparison with our
        # copy says they are the last sample's (so in range), and no copy is needed.
        given_back = (type(indices) is np.ndarray and last is not None
                      and indices.shape == last.shape and indices.dtype == last.dtype
                      and not (indices != last).any())
        slots = last if given_back else _as_index_array(indices, self.capacity)
        errors = _as_td_errors(slots, td_errors)  # finiteness is checked below, on the max
        stale = "indices must come from the last sample() (and not be overwritten since)"
        if not given_back and (last is None or (slots.size and not np.isin(slots, last).all())):
            raise ValueError(stale)
        if (self._writes != self._writes_at_sample and slots.size
                and self._written_at[slots].max() > self._writes_at_sample):
            raise ValueError(stale)  # a slot was written after the sample
        priorities = np.abs(errors)  # a new array: the in-place steps below leave errors alone
        priorities += self.eps
        priorities **= self.alpha  # p_i = (|δ_i| + eps)^α
        largest = float(priorities.max()) if priorities.size else self.max_priority
        if not largest <= self._priority_limit:  # NaN and inf propagate to the max
            _check_td_errors(slots, errors)  # raises, naming the bad value, if there is one
            raise ValueError(f"td_errors give priorities up to {largest}, above "
                             f"{self._priority_limit:.6g} (the total would overflow), got "
                             f"td_errors up to {np.abs(errors).max()}")
        self._queue_added()  # slots added before this call keep the max as it was
        # A copy of the caller's array (it may reuse it); our own copy is never changed.
        self._queued.append((slots if given_back else slots.copy(), priorities))
        self.max_priority = max(self.max_priority, largest)

    def state_dict(self) -> dict:
        """As :meth:`ReplayBuffer.state_dict`, plus the leaf priorities and the max priority."""
        state = super().state_dict()
        state.update(priorities=self.tree.priorities.copy(),
                     max_priority=np.float64(self.max_priority))
        return state

    def _state_layout(self) -> dict:
        layout = super()._state_layout()
        layout.update(priorities=((self.capacity,), _FLOAT64), max_priority=((), _FLOAT64))
        return layout

    def _check_state_values(self, state: dict) -> None:
        """As the parent, and the priorities finite and >= 0, the max priority finite and in
        ``(0, limit]`` (the limit that ``update_priorities`` keeps)."""
        super()._check_state_values(state)
        priorities = state["priorities"]
        valid = np.isfinite(priorities) & (priorities >= 0)
        if not valid.all():
            raise ValueError(f"replay state 'priorities' must be finite and >= 0, got "
                             f"{_first_bad(priorities, valid)}")
        with np.errstate(over="ignore"):  # an overflow here is what is being checked
            total = priorities.sum()
        if not total <= _SAFE_TOTAL:
            raise ValueError(f"replay state 'priorities' sum to {total}, the total would "
                             f"overflow")
        max_priority = float(state["max_priority"])
        if not 0 < max_priority <= self._priority_limit:  # NaN fails too
            raise ValueError(f"replay state 'max_priority' must be in (0, "
                             f"{self._priority_limit:.6g}], got {max_priority}")

    def _check_state_counters(self, state: dict) -> None:
        """As the parent, and the priorities agree with the size: slots never written
        (from ``size`` on, until the ring wraps around) have priority 0, and a buffer that
        holds transitions has a positive total (else ``sample`` would find nothing)."""
        super()._check_state_counters(state)
        size, priorities = int(state["size"]), state["priorities"]
        if priorities[size:].any():
            raise ValueError(f"replay state 'priorities' must be 0 from slot size={size} on, "
                             f"got {priorities[size:][priorities[size:] != 0][0]} there")
        if size > 0 and not priorities.sum() > 0:
            raise ValueError(f"replay state 'priorities' are all 0 while size={size}: nothing "
                             f"could be sampled")

    def _assign_state(self, state: dict) -> None:
        """As the parent; the tree is rebuilt from the leaf priorities.  The next
        ``update_priorities`` needs a fresh ``sample`` first."""
        super()._assign_state(state)
        self._queued.clear()
        self._added_count = 0
        self._tree._write(np.arange(self.capacity), state["priorities"].astype(np.float64))
        self.max_priority = float(state["max_priority"])
        self._last_indices = None
        self._written_at[:] = 0
        self._writes = self._writes_at_sample = 0
