"""Replay for Atari frames: each 84×84 uint8 frame stored once, stacks rebuilt at sample time.

Taught in ``notebooks/05_atari_upndown.ipynb``.

An Atari observation is a stack of the last 4 frames, and consecutive
observations share 3 of them.  Storing ``obs`` and ``next_obs`` as stacks keeps
every frame 8 times (28 KB a stack, 56 KB a transition in uint8; the original
notebook's float64 stacks take 8 times more again).  Here a *slot* holds one
frame and the transition that starts from it:

* slot ``i`` holds frame ``f_i`` (the newest frame of ``obs``), the action, the
  clipped reward and ``done``;
* ``obs`` is rebuilt from slots ``i-3 … i`` and ``next_obs`` from ``i-2 … i+1``;
  frames from before the episode's first slot are zeros (the environment pads
  its first stack the same way: ``FrameStackObservation(padding_type="zero")``);
* an episode's very last frame (the ``next_obs`` of its last transition) gets a
  slot of its own that is never sampled, so an episode of ``T`` transitions
  takes ``T + 1`` slots: about one frame per transition, 7,056 bytes.

Which slots may be sampled is kept in the sum tree itself: a slot that is not a
complete transition has priority 0, and the tree never returns priority 0.
That covers the newest slot (its ``next_obs`` frame is the one still being
played), each episode's last frame, and the few slots just after the write
cursor whose stack would reach back into frames overwritten by newer ones.

Several environments stepped together (``streams``, one per environment) each
write their own ring, ``capacity // streams`` slots of the buffer, so that the
frames of one stack always come from one game; the sum tree spans them all.

``PrioritizedFrameReplayBuffer`` samples like
:class:`~noisy_helpers.PrioritizedReplayBuffer` (proportional, stratified, IS
weights normalised to max 1, new transitions at the max priority);
``FrameReplayBuffer`` samples the complete transitions uniformly.
"""

from __future__ import annotations

import numpy as np

from .replay import (
    Batch,
    PrioritizedReplayBuffer,
    _as_td_errors,
    _check_td_errors,
    _check_transition,
)
from .sum_tree import _as_index_array

__all__ = ["PrioritizedFrameReplayBuffer", "FrameReplayBuffer"]

_FIRST = np.uint8(1)  # the slot holds an episode's first frame
_COMPLETE = np.uint8(2)  # the slot is a complete transition (may be sampled)


class PrioritizedFrameReplayBuffer(PrioritizedReplayBuffer):
    """Prioritized replay of frame-stack transitions, each frame stored once.

    Args:
        capacity: slots (frames); about one per transition, plus one per episode.
        frame_shape: shape of one frame, ``(84, 84)``.
        stack_size: frames per observation, 4.
        frame_dtype: ``uint8``.
        alpha, eps, seed: as :class:`~noisy_helpers.PrioritizedReplayBuffer`.
        streams: environments that add transitions in turn (``add(..., stream=k)``); each
            owns ``capacity // streams`` consecutive slots (capacity must be a multiple).

    ``add(obs, action, reward, next_obs, done, truncated=False)`` takes the stacks the
    environment gives, ``(stack_size, *frame_shape)``; ``truncated`` (a time limit, no
    termination) also ends the episode, without ``done``.  Each ``obs`` must continue the
    previous ``next_obs``, or, after an episode ended, start a new episode (zeros before
    its newest frame): anything else raises ``ValueError`` and stores nothing.
    """

    def __init__(self, capacity: int, frame_shape=(84, 84), stack_size: int = 4,
                 frame_dtype=np.uint8, alpha: float = 0.6, eps: float = 1e-6, seed=None,
                 streams: int = 1):
        for name, value in (("stack_size", stack_size), ("streams", streams)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise TypeError(f"{name} must be an int, got {value!r}")
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        if isinstance(capacity, (int, np.integer)) and not isinstance(capacity, bool):
            if capacity % streams:
                raise ValueError(f"capacity must be a multiple of streams ({streams}), "
                                 f"got {capacity}")
            if capacity // streams < stack_size + 2:
                raise ValueError(f"capacity must be >= stack_size + 2 = {stack_size + 2} per "
                                 f"stream, got {capacity} for {streams} stream(s)")
        self.stack_size = int(stack_size)
        self.frame_shape = tuple(int(d) for d in np.atleast_1d(frame_shape))
        # The parent allocates obs/next_obs stacks per slot: ask it for none (one slot of
        # shape (1,)), then put the frame storage in their place.
        super().__init__(capacity, (1,), frame_dtype, alpha=alpha, eps=eps, seed=seed)
        if any(d < 1 for d in self.frame_shape):
            raise ValueError(f"frame_shape must have positive dimensions, got {frame_shape}")
        self.obs_shape = (self.stack_size, *self.frame_shape)
        del self.obs, self.next_obs
        self.frames = np.zeros((self.capacity, *self.frame_shape), dtype=self.obs_dtype)
        self.actions = np.zeros(self.capacity, dtype=np.int32)
        self.dones = np.zeros(self.capacity, dtype=np.uint8)
        self.flags = np.zeros(self.capacity, dtype=np.uint8)  # _FIRST | _COMPLETE
        self.streams = int(streams)
        self.stream_capacity = self.capacity // self.streams  # stream k: slots k*this, ...
        # Per stream: the slot of the newest frame (the last next_obs; -1: none yet), and
        # whether its episode goes on (the next obs of that stream continues it).
        self._head = np.full(self.streams, -1, dtype=np.int64)
        self._open = np.zeros(self.streams, dtype=bool)
        self._stack_offsets = np.arange(-self.stack_size + 1, 1)  # -3, -2, -1, 0

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(capacity={self.capacity}, transitions={self._size}, "
                f"frame_shape={self.frame_shape}, stack_size={self.stack_size})")

    @property
    def nbytes(self) -> int:
        """Bytes of every array this buffer holds (frames, transitions, sum tree, write counts)."""
        arrays = (self.frames, self.actions, self.rewards, self.dones, self.flags,
                  self._tree._tree, self._written_at)
        return int(sum(a.nbytes for a in arrays))

    # ------------------------------------------------------------------ adding
    def _check_stack(self, value, name: str) -> np.ndarray:
        array = np.asarray(value)
        if array.shape != self.obs_shape:
            raise ValueError(f"{name} must have shape {self.obs_shape}, got {array.shape}")
        return array

    def add(self, obs, action, reward, next_obs, done, truncated: bool = False,
            stream: int = 0) -> int:
        """Store one transition of environment ``stream``; returns its slot (see the class
        docstring)."""
        obs = self._check_stack(obs, "obs")
        next_obs = self._check_stack(next_obs, "next_obs")
        _check_transition(action, reward, done, truncated)
        if isinstance(stream, bool) or not isinstance(stream, (int, np.integer)) or not (
                0 <= stream < self.streams):
            raise ValueError(f"stream must be an int in [0, {self.streams}), got {stream!r}")
        if not np.array_equal(obs[1:], next_obs[:-1]):
            raise ValueError("next_obs must be obs shifted by one frame (frame stacks)")
        head = int(self._head[stream])
        continues = bool(self._open[stream]) and np.array_equal(obs, self._stack(head))
        if not continues and obs[:-1].any():
            raise ValueError(
                "obs neither continues the previous next_obs nor starts an episode (zeros "
                "before its newest frame: FrameStackObservation(padding_type='zero'))"
            )

        if continues:  # obs's newest frame is already stored, in the head slot
            slot = head
        elif head < 0:  # the stream's first frame ever
            slot = stream * self.stream_capacity
        else:  # a new episode: its first frame gets a fresh slot
            slot = self._later(head, 1)
        if not continues:
            self._write_frame(slot, obs[-1], first=True)
        self.actions[slot] = action
        self.rewards[slot] = reward
        self.dones[slot] = bool(done)
        self._head[stream] = self._later(slot, 1)
        self._write_frame(int(self._head[stream]), next_obs[-1], first=False)
        self._open[stream] = not (done or truncated)
        self._set_complete(slot)
        return slot

    def _later(self, slots, k):
        """The slot ``k`` places after ``slots`` in their stream's ring (wrapping around)."""
        base = slots - slots % self.stream_capacity
        return base + (slots - base + k) % self.stream_capacity

    def _write_frame(self, slot: int, frame: np.ndarray, first: bool) -> None:
        """Overwrite ``slot`` with a frame that is not (yet) a complete transition."""
        if self.flags[slot] & _COMPLETE:
            self._size -= 1
        self._queued.append((np.array([slot]), np.zeros(1)))
        self._mark_written(slot)  # old indices to this slot are stale
        self.frames[slot] = frame
        self.flags[slot] = _FIRST if first else 0
        # The next stack_size - 1 slots (older transitions of another episode) built
        # their stacks from the frame just overwritten: they can no longer be sampled.
        for k in range(1, self.stack_size):
            later = self._later(slot, k)
            if self.flags[later] & _FIRST:
                break  # from there on, stacks start at that episode's first frame
            if self.flags[later] & _COMPLETE:
                self.flags[later] &= ~_COMPLETE
                self._size -= 1
                self._queued.append((np.array([later]), np.zeros(1)))
                self._mark_written(later)

    def _set_complete(self, slot: int) -> None:
        self.flags[slot] |= _COMPLETE
        self._size += 1
        self._queued.append((np.array([slot]), np.array([self._new_priority()])))

    def _new_priority(self) -> float:
        return self.max_priority

    def _on_add(self, slot: int) -> None:  # the parent's hook: add() queues its own writes
        raise AssertionError("not used")

    # ---------------------------------------------------------------- stacks
    def _stack_slots(self, slots: np.ndarray):
        """For each slot, the slots of its stack ``(n, stack_size)`` and which of them
        belong to its episode (False: before the episode's first frame, read as zeros)."""
        positions = self._later(slots[:, None], self._stack_offsets)
        first = (self.flags.take(positions) & _FIRST).astype(bool)
        # Frame j is in the episode unless an episode starts at a later frame of the stack.
        later_first = np.logical_or.accumulate(first[:, :0:-1], axis=1)[:, ::-1]
        in_episode = np.ones(positions.shape, dtype=bool)
        in_episode[:, :-1] = ~later_first
        return positions, in_episode

    def _stacks(self, slots: np.ndarray) -> np.ndarray:
        positions, in_episode = self._stack_slots(slots)
        stacks = self.frames.take(positions, axis=0)  # (n, stack_size, *frame_shape)
        stacks[~in_episode] = 0
        return stacks

    def _stack(self, slot: int) -> np.ndarray:
        return self._stacks(np.array([slot]))[0]

    def _gather(self, indices: np.ndarray, weights: np.ndarray) -> Batch:
        return Batch(
            obs=self._stacks(indices),
            actions=self.actions[indices].astype(np.int64),
            rewards=self.rewards[indices],
            next_obs=self._stacks(self._later(indices, 1)),
            dones=self.dones[indices].astype(np.float32),
            weights=weights,
            indices=indices,
        )

    def transition(self, slot: int) -> tuple:
        """``(obs, action, reward, next_obs, done)`` of one complete slot, rebuilt."""
        slot = int(_as_index_array(slot, self.capacity)[0])
        if not self.flags[slot] & _COMPLETE:
            raise ValueError(f"slot {slot} holds no complete transition")
        batch = self._gather(np.array([slot]), np.ones(1, dtype=np.float32))
        return (batch.obs[0], int(batch.actions[0]), float(batch.rewards[0]),
                batch.next_obs[0], bool(batch.dones[0]))

    def complete_slots(self) -> np.ndarray:
        """The slots that may be sampled, in slot order."""
        return np.flatnonzero(self.flags & _COMPLETE)

    # ------------------------------------------------------------ checkpoints
    _STORAGE = ("frames", "actions", "rewards", "dones", "flags")

    def state_dict(self) -> dict:
        state = super().state_dict()
        del state["cursor"]
        state.update(head=self._head.copy(), open=self._open.copy())
        return state

    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict` (checked before anything changes)."""
        state = dict(state)
        if "head" not in state or "open" not in state:
            raise ValueError("frame replay state needs 'head' and 'open'")
        # np.atleast_1d: checkpoints of single-stream buffers once stored scalars.
        state["head"] = head = np.atleast_1d(np.asarray(state["head"], dtype=np.int64))
        state["open"] = np.atleast_1d(np.asarray(state["open"], dtype=bool))
        if head.shape != (self.streams,) or not ((-1 <= head) & (head < self.capacity)).all():
            raise ValueError(f"frame replay state has head {head} for capacity {self.capacity} "
                             f"and {self.streams} stream(s)")
        flags = np.asarray(state.get("flags"))
        priorities = np.asarray(state.get("priorities"))
        if flags.shape == (self.capacity,) and priorities.shape == (self.capacity,):
            complete = (flags & _COMPLETE).astype(bool)
            if int(complete.sum()) != int(state.get("size", -1)) or (
                    priorities[~complete] != 0).any():
                raise ValueError("frame replay state is inconsistent: 'size', 'flags' and "
                                 "'priorities' disagree")
        state["cursor"] = np.int64(0)  # the parent's single cursor: unused here
        super().load_state_dict(state)
        self._head[:] = head
        self._open[:] = np.asarray(state["open"])


class FrameReplayBuffer(PrioritizedFrameReplayBuffer):
    """:class:`PrioritizedFrameReplayBuffer` sampled uniformly: every complete transition
    has priority 1, ``update_priorities`` changes nothing and every IS weight is 1."""

    def __init__(self, capacity: int, frame_shape=(84, 84), stack_size: int = 4,
                 frame_dtype=np.uint8, seed=None, streams: int = 1):
        super().__init__(capacity, frame_shape, stack_size, frame_dtype, seed=seed,
                         streams=streams)

    def _new_priority(self) -> float:
        return 1.0

    def sample(self, batch_size: int, beta: float | None = None) -> Batch:
        """``batch_size`` complete transitions, stratified uniform; weights are 1.
        ``beta`` is accepted and ignored."""
        batch = super().sample(batch_size, 0.0)
        return batch._replace(weights=np.ones(batch_size, dtype=np.float32))

    def update_priorities(self, indices, td_errors) -> None:
        """Uniform replay has no priorities: checks its input, changes nothing."""
        slots = _as_index_array(indices, self.capacity)
        _check_td_errors(slots, _as_td_errors(slots, td_errors))
