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

from collections.abc import Mapping

import numpy as np

from .replay import (
    Batch,
    PrioritizedReplayBuffer,
    _as_td_errors,
    _check_beta,
    _check_dtype,
    _check_int,
    _check_shape,
    _check_td_errors,
    _check_transition,
    _first_bad,
)
from ._memory import allocate
from .sum_tree import SumTree, _as_index_array

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
        alpha, eps, seed, n_actions, normalise: as
            :class:`~noisy_helpers.PrioritizedReplayBuffer`.
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
                 streams: int = 1, n_actions: int | None = None, normalise: str = "batch"):
        stack_size = _check_int(stack_size, "stack_size", 1)
        streams = _check_int(streams, "streams", 1)
        frame_shape = _check_shape(frame_shape, "frame_shape")
        frame_dtype = _check_dtype(frame_dtype, "frame_dtype")
        if isinstance(capacity, (int, np.integer)) and not isinstance(capacity, (bool, np.bool_)):
            if capacity % streams:
                raise ValueError(f"capacity must be a multiple of streams ({streams}), "
                                 f"got {capacity}")
            if capacity // streams < stack_size + 2:
                raise ValueError(f"capacity must be >= stack_size + 2 = {stack_size + 2} per "
                                 f"stream, got {capacity} for {streams} stream(s)")
        self.stack_size = stack_size
        self.frame_shape = frame_shape
        # The parent allocates obs/next_obs stacks per slot: ask it for none (one slot of
        # shape (1,)), then put the frame storage in their place.  (It checks capacity,
        # alpha, eps, seed and n_actions, and the memory that _nbytes_for counts.)
        super().__init__(capacity, (1,), frame_dtype, alpha=alpha, eps=eps, seed=seed,
                         n_actions=n_actions, normalise=normalise)
        self.obs_shape = (self.stack_size, *self.frame_shape)
        del self.obs, self.next_obs
        self._set_finite_check()  # for stacks of frames, not the parent's placeholder
        self.frames = allocate(f"capacity={capacity}", (self.capacity, *self.frame_shape),
                                self.obs_dtype)
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

    #: The dtype of the stored actions (int32: 4 bytes a slot; n_actions bounds them).
    _ACTION_DTYPE = np.int32

    def _nbytes_for(self, capacity: int, obs_shape: tuple, obs_dtype: np.dtype) -> int:
        """Bytes of the frames, the transitions, the sum tree and the write counts (the
        parent's ``obs_shape`` is a placeholder: frames are what take the room)."""
        frame_bytes = int(np.prod(self.frame_shape)) * obs_dtype.itemsize
        return capacity * (frame_bytes + 4 + 4 + 1 + 1 + 8) + SumTree.nbytes_for(capacity)

    @property
    def nbytes(self) -> int:
        """Bytes of every array this buffer holds (frames, transitions, sum tree, write counts)."""
        arrays = (self.frames, self.actions, self.rewards, self.dones, self.flags,
                  self._tree._tree, self._written_at)
        return int(sum(a.nbytes for a in arrays))

    # ------------------------------------------------------------------ adding
    def add(self, obs, action, reward, next_obs, done, truncated: bool = False,
            stream: int = 0) -> int:
        """Store one transition of environment ``stream``; returns its slot (see the class
        docstring).  Every argument is checked before anything is written."""
        # The stacks in the frames' dtype, each value fitting it (see the parent).
        obs, next_obs = self._check_observations(obs, next_obs)
        _check_transition(action, reward, done, truncated, self._action_end)
        if isinstance(stream, (bool, np.bool_)) or not isinstance(stream, (int, np.integer)):
            raise TypeError(f"stream must be an int in [0, {self.streams}), got {stream!r}")
        if not 0 <= stream < self.streams:
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

    def _windows(self, slots: np.ndarray) -> np.ndarray:
        """For each complete slot, its stack and the next one from one gather of
        ``stack_size + 1`` frames ``(n, stack_size + 1, *frame_shape)``: the stack is
        ``[:, :-1]``, the next stack ``[:, 1:]``.  Each frame is read once (5 frames for the
        two 4-frame stacks, not 8).  The frame after a complete slot always belongs to its
        episode (``add`` writes it as the transition's next frame, and a new episode starts
        one slot later), so one rule zeroes the frames before the episode's first in both."""
        positions, in_episode = self._stack_slots(slots)
        window = np.concatenate([positions, self._later(positions[:, -1:], 1)], axis=1)
        windows = self.frames.take(window, axis=0)  # (n, stack_size + 1, *frame_shape)
        windows[:, :-1][~in_episode] = 0  # frames before the episode's first
        return windows

    def _gather(self, indices: np.ndarray, weights: np.ndarray) -> Batch:
        windows = self._windows(indices)
        return Batch(
            obs=windows[:, :-1],  # obs and next_obs are two views of one array
            actions=self.actions[indices].astype(np.int64),
            rewards=self.rewards[indices],
            next_obs=windows[:, 1:],
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

    def _state_layout(self) -> dict:
        layout = super()._state_layout()
        del layout["cursor"]  # the streams' heads take its place
        return layout

    def _checked_state(self, state) -> dict:
        """As the parent, plus ``head`` and ``open`` (one per stream) and the frame ring's
        own consistency (see ``_check_state_counters``)."""
        if not isinstance(state, Mapping):
            raise TypeError(f"state must be a dict of arrays, got {type(state).__name__}")
        missing = sorted({"head", "open"} - set(state))
        if missing:
            raise ValueError(f"frame replay state is missing {missing}")
        head, is_open = self._state_streams(state["head"], state["open"])
        checked = super()._checked_state(state)
        checked.update(head=head, open=is_open)
        self._check_state_ring(checked)
        return checked

    def _state_streams(self, head, is_open) -> tuple[np.ndarray, np.ndarray]:
        """``head`` and ``open`` as arrays of one entry per stream; each head -1 (no frame
        yet) or a slot of its own stream's ring, and only a stream with a head is open.
        (np.atleast_1d: checkpoints of single-stream buffers once stored scalars.)"""
        head, is_open = np.atleast_1d(np.asarray(head)), np.atleast_1d(np.asarray(is_open))
        if head.dtype.kind not in "iu" or is_open.dtype.kind not in "biu":
            raise ValueError(f"frame replay state 'head' must be ints and 'open' bools, got "
                             f"dtypes {head.dtype} and {is_open.dtype}")
        if head.shape != (self.streams,) or is_open.shape != (self.streams,):
            raise ValueError(f"frame replay state has head {head} and open {is_open} for "
                             f"{self.streams} stream(s)")
        start = np.arange(self.streams) * self.stream_capacity
        valid = (head == -1) | ((start <= head) & (head < start + self.stream_capacity))
        if not valid.all():
            raise ValueError(f"frame replay state has head {head} for capacity {self.capacity} "
                             f"and {self.streams} stream(s)")
        if not ((is_open == 0) | (is_open == 1)).all() or (is_open.astype(bool)
                                                            & (head < 0)).any():
            raise ValueError(f"frame replay state has open {is_open} for head {head}")
        return head.astype(np.int64), is_open.astype(bool)

    def _check_state_counters(self, state: dict) -> None:
        """Frames keep no cursor: see ``_check_state_ring`` (which needs ``head``)."""
        size = int(state["size"])
        if not 0 <= size <= self.capacity:
            raise ValueError(f"frame replay state has size {size} for capacity {self.capacity}")

    def _check_state_ring(self, state: dict) -> None:
        """Flags, size, priorities and heads agree: only the two flag bits are set; ``size``
        counts the complete slots; a slot that is not complete has priority 0 (it must never
        be sampled), and the complete ones a positive total; no head slot (the newest frame
        of its stream, whose transition is still to come) is complete."""
        flags, priorities = state["flags"], state["priorities"]
        known = (flags & ~(_FIRST | _COMPLETE)) == 0
        if not known.all():
            raise ValueError(f"frame replay state 'flags' must be 0..3, got "
                             f"{_first_bad(flags, known)}")
        complete = (flags & _COMPLETE).astype(bool)
        size = int(state["size"])
        if int(complete.sum()) != size or (priorities[~complete] != 0).any():
            raise ValueError("frame replay state is inconsistent: 'size', 'flags' and "
                             "'priorities' disagree")
        if size > 0 and not priorities.sum() > 0:
            raise ValueError(f"replay state 'priorities' are all 0 while size={size}: nothing "
                             f"could be sampled")
        head = state["head"]
        if complete[head[head >= 0]].any():
            raise ValueError(f"frame replay state is inconsistent: a head slot of {head} is "
                             f"flagged complete")

    def _assign_state(self, state: dict) -> None:
        state = dict(state, cursor=np.int64(0))  # the parent's single cursor: unused here
        super()._assign_state(state)
        self._head[:] = state["head"]
        self._open[:] = state["open"]


class FrameReplayBuffer(PrioritizedFrameReplayBuffer):
    """:class:`PrioritizedFrameReplayBuffer` sampled uniformly: every complete transition
    has priority 1, ``update_priorities`` changes nothing and every IS weight is 1."""

    def __init__(self, capacity: int, frame_shape=(84, 84), stack_size: int = 4,
                 frame_dtype=np.uint8, seed=None, streams: int = 1,
                 n_actions: int | None = None):
        super().__init__(capacity, frame_shape, stack_size, frame_dtype, seed=seed,
                         streams=streams, n_actions=n_actions)

    def _new_priority(self) -> float:
        return 1.0

    def sample(self, batch_size: int, beta: float | None = None) -> Batch:
        """``batch_size`` complete transitions, stratified uniform; weights are 1.
        ``beta`` is accepted (checked) and ignored."""
        if beta is not None:
            _check_beta(beta)
        batch = super().sample(batch_size, 0.0)
        return batch._replace(weights=np.ones(batch_size, dtype=np.float32))

    def update_priorities(self, indices, td_errors) -> None:
        """Uniform replay has no priorities: checks its input, changes nothing."""
        slots = _as_index_array(indices, self.capacity)
        _check_td_errors(slots, _as_td_errors(slots, td_errors))
