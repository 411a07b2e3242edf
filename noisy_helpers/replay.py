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
from typing import Callable, NamedTuple

import numpy as np

from .sum_tree import SumTree, _as_index_array

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
# The math, as pure functions that the notebook and the tests share.
# ----------------------------------------------------------------------------
def importance_weights(probabilities, buffer_size: int, beta: float) -> np.ndarray:
    """IS weights ``w_i = (N · P(i)) ** (−β)``, divided by their maximum (Schaul et al. §3.4).

    ``probabilities`` are the sampling probabilities ``P(i)`` of the batch,
    ``buffer_size`` is ``N``, the number of transitions stored.  Dividing by the
    maximum only scales the weights down, so the largest weight is exactly 1:
    the update never grows, for stability.  ``beta = 0`` gives all ones
    (no correction), ``beta = 1`` fully compensates for the non-uniform sampling.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if isinstance(buffer_size, bool) or not isinstance(buffer_size, (int, np.integer)):
        raise TypeError(f"buffer_size must be an int, got {buffer_size!r}")
    if buffer_size < 1:
        raise ValueError(f"buffer_size must be >= 1, got {buffer_size}")
    if not 0.0 <= beta <= 1.0:
        raise ValueError(f"beta must be in [0, 1], got {beta}")
    if probabilities.size == 0:
        raise ValueError("probabilities is empty")
    if not (probabilities.min() > 0 and probabilities.max() <= 1):
        raise ValueError(f"probabilities must be in (0, 1], got {probabilities}")
    return _importance_weights(probabilities, buffer_size, beta)


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
    the caller has it already.
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
    if isinstance(duration, bool) or not isinstance(duration, (int, np.integer)):
        raise TypeError(f"duration must be an int, got {duration!r}")
    if duration < 1:
        raise ValueError(f"duration must be >= 1, got {duration}")
    if not (np.isfinite(start) and np.isfinite(end)):
        raise ValueError(f"start and end must be finite, got {start}, {end}")
    start, end = float(start), float(end)

    def value(step: int) -> float:
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
    agent can switch between them with one config flag.
    """

    def __init__(self, capacity: int, obs_shape, obs_dtype=np.float32, seed=None):
        if isinstance(capacity, bool) or not isinstance(capacity, (int, np.integer)):
            raise TypeError(f"capacity must be an int, got {capacity!r}")
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.capacity = int(capacity)
        self.obs_shape = tuple(int(d) for d in np.atleast_1d(obs_shape))
        if any(d < 1 for d in self.obs_shape):
            raise ValueError(f"obs_shape must have positive dimensions, got {obs_shape}")
        self.obs_dtype = np.dtype(obs_dtype)
        self.obs = np.zeros((self.capacity, *self.obs_shape), dtype=self.obs_dtype)
        self.next_obs = np.zeros_like(self.obs)
        self.actions = np.zeros(self.capacity, dtype=np.int64)
        self.rewards = np.zeros(self.capacity, dtype=np.float32)
        self.dones = np.zeros(self.capacity, dtype=np.float32)
        self.rng = np.random.default_rng(seed)
        self._cursor = 0  # the slot the next add writes
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(capacity={self.capacity}, size={self._size}, "
            f"obs_shape={self.obs_shape}, obs_dtype={self.obs_dtype})"
        )

    # ------------------------------------------------------------------ adding
    def _check_observation(self, value, name: str) -> np.ndarray:
        array = np.asarray(value)
        if array.shape != self.obs_shape:
            raise ValueError(f"{name} must have shape {self.obs_shape}, got {array.shape}")
        return array

    def add(self, obs, action, reward, next_obs, done, truncated: bool = False) -> int:
        """Store one transition; returns its slot.  When full, overwrites the oldest.

        ``done`` means the episode *terminated* at ``next_obs`` (no bootstrap);
        a time-limit truncation is not a termination.  ``truncated`` is accepted for the
        interface that the frame buffers share (they need to know where an episode ends);
        a buffer of whole observations does not use it.
        """
        obs = self._check_observation(obs, "obs")
        next_obs = self._check_observation(next_obs, "next_obs")
        _check_transition(action, reward, done)  # truncated: not used here

        slot = self._cursor
        self.obs[slot] = obs
        self.next_obs[slot] = next_obs
        self.actions[slot] = action
        self.rewards[slot] = reward
        self.dones[slot] = done
        self._cursor = (slot + 1) % self.capacity
        self._size = min(self._size + 1, self.capacity)
        self._on_add(slot)
        return slot

    def _on_add(self, slot: int) -> None:
        """Hook for subclasses (priorities); nothing to do for uniform replay."""

    # ---------------------------------------------------------------- sampling
    def _check_batch_size(self, batch_size) -> int:
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
            raise TypeError(f"batch_size must be an int, got {batch_size!r}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if batch_size > self._size:
            raise ValueError(
                f"cannot sample batch_size={batch_size} from a buffer holding {self._size}"
            )
        return int(batch_size)

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

        ``beta`` is accepted (and ignored) so that both buffers share one interface.
        """
        batch_size = self._check_batch_size(batch_size)
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

    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict`.  Arrays of another shape or dtype raise ``ValueError``
        (naming the array) before anything changes."""
        mine = self.state_dict()
        missing = sorted(set(mine) - set(state))
        if missing:
            raise ValueError(f"replay state is missing {missing}")
        for key, value in mine.items():
            if key == "rng_state":
                continue
            other = np.asarray(state[key])
            if other.shape != np.shape(value) or other.dtype != np.asarray(value).dtype:
                raise ValueError(
                    f"replay state {key!r} has shape {other.shape} and dtype {other.dtype}, "
                    f"this buffer needs {np.shape(value)} and {np.asarray(value).dtype}"
                )
        cursor, size = int(state["cursor"]), int(state["size"])
        if not (0 <= size <= self.capacity and 0 <= cursor < self.capacity):
            raise ValueError(f"replay state has cursor {cursor} and size {size} for capacity "
                             f"{self.capacity}")
        rng_state = json.loads(str(state["rng_state"]))
        for key in self._STORAGE:
            getattr(self, key)[...] = state[key]
        self._cursor, self._size = cursor, size
        self.rng.bit_generator.state = rng_state


_FLAG_TYPES = (bool, np.bool_, int, np.integer)


def _is_flag(value) -> bool:
    return isinstance(value, _FLAG_TYPES) and value in (0, 1)


def _check_transition(action, reward, done, truncated=False) -> None:
    """The checks of ``add`` on everything but the observations (shared with the frame
    buffers): an int action >= 0, a finite reward, and ``done`` and ``truncated`` bools.
    Called on every environment step, so it takes plain arguments (no ``**kwargs``)."""
    if isinstance(action, (bool, np.bool_)) or not isinstance(action, (int, np.integer)):
        raise TypeError(f"action must be an int, got {action!r}")
    if action < 0:
        raise ValueError(f"action must be >= 0, got {action}")
    if not math.isfinite(reward):
        raise ValueError(f"reward must be finite, got {reward}")
    if not _is_flag(done):
        raise ValueError(f"done must be a bool, got {done!r}")
    if truncated is not False and not _is_flag(truncated):
        raise ValueError(f"truncated must be a bool, got {truncated!r}")


def _as_td_errors(indices: np.ndarray, td_errors) -> np.ndarray:
    """``td_errors`` as a 1-D float64 array of the same length as ``indices``."""
    errors = np.asarray(td_errors, dtype=np.float64).reshape(-1)
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
    ):
        if not (np.isfinite(alpha) and alpha >= 0):
            raise ValueError(f"alpha must be >= 0, got {alpha}")
        if not (np.isfinite(eps) and eps > 0):
            raise ValueError(f"eps must be > 0, got {eps}")
        super().__init__(capacity, obs_shape, obs_dtype, seed)
        self.alpha = float(alpha)
        self.eps = float(eps)
        self._tree = SumTree(self.capacity)
        #: The largest priority ``p_i`` given so far; new transitions get it.
        self.max_priority = 1.0
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

    @property
    def tree(self) -> SumTree:
        """The sum tree of priorities, with every queued write applied."""
        self._write_queued()
        return self._tree

    def _on_add(self, slot: int) -> None:
        if self._added_count == 0:
            self._added_start = slot
        self._added_count = min(self._added_count + 1, self.capacity)
        self._mark_written(slot)  # a new transition: old indices to it are stale

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
        if not 0.0 <= beta <= 1.0:
            raise ValueError(f"beta must be in [0, 1], got {beta}")
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
        # IS weights of P(i) = p_i / total, normalised to max 1 (see the helper).
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
        if not math.isfinite(largest):  # NaN and inf propagate to the max
            _check_td_errors(slots, errors)  # raises, naming the bad value
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

    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict`; the tree is rebuilt from the leaf priorities.  The
        next ``update_priorities`` needs a fresh ``sample`` first."""
        if "max_priority" not in state or not float(state["max_priority"]) > 0:
            raise ValueError("replay state needs a 'max_priority' > 0")
        priorities = np.asarray(state.get("priorities", np.empty(0)), dtype=np.float64)
        if priorities.shape != (self.capacity,) or not (
            np.isfinite(priorities).all() and (priorities >= 0).all()
        ):
            raise ValueError(
                f"replay state 'priorities' must be {self.capacity} finite values >= 0, got "
                f"shape {priorities.shape}"
            )
        super().load_state_dict(state)
        self._queued.clear()
        self._added_count = 0
        self._tree.update(np.arange(self.capacity), priorities)
        self.max_priority = float(state["max_priority"])
        self._last_indices = None
        self._written_at[:] = 0
        self._writes = self._writes_at_sample = 0
