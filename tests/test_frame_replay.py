"""Tests for noisy_helpers/frame_replay.py.

Hand-checked ring used below: capacity 8, stacks of 2 frames, each frame one
number.  Episode 1 plays frames 11 12 13 (terminated), episode 2 plays 21 22
(truncated), episode 3 plays 31 32 33 34 and wraps around::

    slot    0     1     2     3     4     5     6     7
    frame  34*   12    13f   21F   22f   31F   32    33        F: episode's first frame
           (11F)                                              f: episode's last frame
                                                              *: 34 overwrote 11

    complete transitions (may be sampled):  3, 5, 6, 7
      slot 3: obs [0, 21]   next [21, 22]   (truncated: done = 0)
      slot 5: obs [0, 31]   next [31, 32]
      slot 6: obs [31, 32]  next [32, 33]
      slot 7: obs [32, 33]  next [33, 34]   (next frame from slot 0, across the wrap)
    not complete: 0 (newest frame), 2 and 4 (episodes' last frames), and 1, whose
    stack [11, 12] lost frame 11 when 34 overwrote it.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from noisy_helpers import FrameReplayBuffer, PrioritizedFrameReplayBuffer


def stacks_of(frames, stack_size):
    """The (obs, next_obs) stacks of an episode with these frames, zero-padded at its start."""
    frames = np.asarray(frames)
    pad = np.zeros((stack_size - 1, *frames.shape[1:]), frames.dtype)
    padded = np.concatenate([pad, frames])
    return [(padded[t:t + stack_size], padded[t + 1:t + 1 + stack_size])
            for t in range(len(frames) - 1)]


def play(buffer, frames, done=True, first_action=0, reward=1.0):
    """Add one episode (its frames, shape (T+1, *frame_shape)); returns the slots."""
    pairs = stacks_of(frames, buffer.stack_size)
    slots = []
    for t, (obs, next_obs) in enumerate(pairs):
        last = t == len(pairs) - 1
        slots.append(buffer.add(obs, first_action + t, reward * (t + 1), next_obs,
                                done and last, truncated=last and not done))
    return slots


def scalar_frames(*values):
    return np.array(values, dtype=np.uint8).reshape(-1, 1)


def hand_checked_buffer():
    buffer = PrioritizedFrameReplayBuffer(8, frame_shape=(1,), stack_size=2, seed=0)
    play(buffer, scalar_frames(11, 12, 13), done=True)
    play(buffer, scalar_frames(21, 22), done=False)
    play(buffer, scalar_frames(31, 32, 33, 34), done=True)
    return buffer


# ------------------------------------------------------------ hand-checked
def test_hand_drawn_ring_holds_the_drawn_frames_and_complete_slots():
    buffer = hand_checked_buffer()
    assert buffer.frames.ravel().tolist() == [34, 12, 13, 21, 22, 31, 32, 33]
    assert buffer.complete_slots().tolist() == [3, 5, 6, 7]
    assert len(buffer) == 4
    priorities = buffer.tree.priorities
    assert (priorities[[0, 1, 2, 4]] == 0).all() and (priorities[[3, 5, 6, 7]] > 0).all()


@pytest.mark.parametrize("slot, obs, next_obs, done", [
    (3, [0, 21], [21, 22], False),
    (5, [0, 31], [31, 32], False),
    (6, [31, 32], [32, 33], False),
    (7, [32, 33], [33, 34], True),
])
def test_hand_drawn_ring_rebuilds_each_transition(slot, obs, next_obs, done):
    got_obs, _, _, got_next, got_done = hand_checked_buffer().transition(slot)
    assert got_obs.ravel().tolist() == obs
    assert got_next.ravel().tolist() == next_obs
    assert got_done == done


def test_slots_that_are_not_complete_transitions_are_refused_by_transition():
    buffer = hand_checked_buffer()
    for slot in (0, 1, 2, 4):
        with pytest.raises(ValueError, match="no complete transition"):
            buffer.transition(slot)


def test_sample_returns_only_complete_slots_with_stacks_and_dtypes():
    buffer = hand_checked_buffer()
    batch = buffer.sample(4, beta=0.5)  # stratified, equal priorities: each once
    assert sorted(batch.indices.tolist()) == [3, 5, 6, 7]
    assert batch.obs.shape == (4, 2, 1) and batch.obs.dtype == np.uint8
    assert batch.next_obs.dtype == np.uint8
    assert batch.actions.dtype == np.int64 and batch.dones.dtype == np.float32
    for i, slot in enumerate(batch.indices):
        obs, action, reward, next_obs, done = buffer.transition(slot)
        assert np.array_equal(batch.obs[i], obs) and np.array_equal(batch.next_obs[i], next_obs)
        assert batch.actions[i] == action and batch.rewards[i] == reward
        assert batch.dones[i] == done


# ------------------------------------------------- against a naive buffer
def random_episodes(rng, count, stack_size, frame_shape, max_length=12):
    for _ in range(count):
        length = int(rng.integers(1, max_length))
        frames = rng.integers(1, 256, size=(length + 1, *frame_shape), dtype=np.uint8)
        yield frames, bool(rng.random() < 0.7)


class NaiveStacks:
    """The naive layout: both stacks copied whole into every slot (what the frame buffer
    avoids), as the reference that every rebuilt transition must equal."""

    def __init__(self, capacity, stack_size, frame_shape):
        self.obs = np.zeros((capacity, stack_size, *frame_shape), np.uint8)
        self.next_obs = np.zeros_like(self.obs)
        self.actions = np.zeros(capacity, np.int64)
        self.rewards = np.zeros(capacity, np.float32)
        self.dones = np.zeros(capacity, np.float32)

    def store(self, slot, obs, action, reward, next_obs, done):
        self.obs[slot], self.next_obs[slot] = obs, next_obs
        self.actions[slot], self.rewards[slot], self.dones[slot] = action, reward, done

    def assert_matches(self, buffer):
        """Every complete slot of ``buffer`` rebuilds the transition last stored there."""
        complete = buffer.complete_slots()
        assert len(buffer) == complete.size
        batch = buffer._gather(complete, np.ones(complete.size, np.float32))
        assert np.array_equal(batch.obs, self.obs[complete])
        assert np.array_equal(batch.next_obs, self.next_obs[complete])
        assert np.array_equal(batch.actions, self.actions[complete])
        assert np.array_equal(batch.rewards, self.rewards[complete])
        assert np.array_equal(batch.dones, self.dones[complete])


def check_against_naive(capacity, stack_size, seed, episodes=60, frame_shape=(2, 3)):
    """Feed random episodes to the buffer and to a naive buffer of stacked copies; after
    every add, each complete slot rebuilds exactly the transition last stored in it."""
    rng = np.random.default_rng(seed)
    buffer = PrioritizedFrameReplayBuffer(capacity, frame_shape, stack_size, seed=seed)
    naive = NaiveStacks(capacity, stack_size, frame_shape)
    for frames, done in random_episodes(rng, episodes, stack_size, frame_shape):
        pairs = stacks_of(frames, stack_size)
        for t, (obs, next_obs) in enumerate(pairs):
            last = t == len(pairs) - 1
            action, reward = int(rng.integers(18)), float(rng.normal())
            slot = buffer.add(obs, action, reward, next_obs, done and last,
                              truncated=last and not done)
            naive.store(slot, obs, action, reward, next_obs, done and last)
            assert slot in buffer.complete_slots()  # the newest transition may be sampled
            naive.assert_matches(buffer)
            if len(buffer) >= 4 and rng.random() < 0.3:
                batch = buffer.sample(4, beta=0.4)
                buffer.update_priorities(batch.indices, rng.random(4))
    return buffer


@pytest.mark.parametrize("capacity", [6, 7, 13, 40, 1000])
def test_stacks_equal_a_naive_stacked_copy_buffer_across_episode_ends_and_wrap_around(capacity):
    buffer = check_against_naive(capacity, stack_size=4, seed=capacity)
    assert buffer.tree.total > 0


@settings(max_examples=40, deadline=None)
@given(capacity=st.integers(4, 30), stack_size=st.integers(1, 4), seed=st.integers(0, 10**6))
def test_property_every_complete_slot_rebuilds_its_transition(capacity, stack_size, seed):
    capacity = max(capacity, stack_size + 2)
    buffer = check_against_naive(capacity, stack_size, seed, episodes=15, frame_shape=(2,))
    # Exactly the complete slots have a priority: nothing else can ever be sampled.
    complete = np.zeros(capacity, dtype=bool)
    complete[buffer.complete_slots()] = True
    assert ((buffer.tree.priorities > 0) == complete).all()


@settings(max_examples=40, deadline=None)
@given(capacity=st.integers(4, 30), stack_size=st.integers(1, 4), seed=st.integers(0, 10**6))
def test_property_a_batch_reads_each_frame_once_and_equals_the_two_stacks(capacity, stack_size,
                                                                          seed):
    """The sampled obs and next_obs come from one gather of stack_size + 1 frames per slot;
    they equal the two stacks rebuilt one by one (the reference), across episode ends and
    wrap-around."""
    capacity = max(capacity, stack_size + 2)
    buffer = check_against_naive(capacity, stack_size, seed, episodes=15, frame_shape=(2,))
    slots = buffer.complete_slots()
    windows = buffer._windows(slots)
    assert windows.shape == (len(slots), stack_size + 1, 2)
    np.testing.assert_array_equal(windows[:, :-1], buffer._stacks(slots))
    np.testing.assert_array_equal(windows[:, 1:], buffer._stacks(buffer._later(slots, 1)))
    batch = buffer.sample(min(4, len(buffer)), beta=0.4)
    np.testing.assert_array_equal(batch.obs, buffer._stacks(batch.indices))
    np.testing.assert_array_equal(batch.next_obs, buffer._stacks(buffer._later(batch.indices, 1)))


@pytest.mark.parametrize("capacity, streams", [(24, 3), (64, 4), (400, 2)])
def test_interleaved_streams_never_mix_frames_of_two_environments(capacity, streams):
    """Several environments add in turn, each into its own ring of capacity // streams slots;
    every complete slot rebuilds exactly the transition of its own environment."""
    rng = np.random.default_rng(capacity)
    buffer = PrioritizedFrameReplayBuffer(capacity, (2,), 4, seed=0, streams=streams)
    naive = NaiveStacks(capacity, 4, (2,))
    games = [None] * streams  # per stream: the rest of its episode
    for _ in range(400):
        stream = int(rng.integers(streams))
        if not games[stream]:
            (frames, done), = random_episodes(rng, 1, 4, (2,))
            pairs = stacks_of(frames, 4)
            games[stream] = [(o, n, done and t == len(pairs) - 1,
                              (not done) and t == len(pairs) - 1)
                             for t, (o, n) in enumerate(pairs)]
        obs, next_obs, done, truncated = games[stream].pop(0)
        action = int(rng.integers(18))
        slot = buffer.add(obs, action, 1.0, next_obs, done, truncated=truncated, stream=stream)
        per_stream = capacity // streams
        assert stream * per_stream <= slot < (stream + 1) * per_stream
        naive.store(slot, obs, action, 1.0, next_obs, done)
        naive.assert_matches(buffer)


def test_a_full_buffer_keeps_nearly_every_slot_sampleable():
    # Long episodes: only each episode's last frame and the newest slot are not complete.
    buffer = PrioritizedFrameReplayBuffer(500, frame_shape=(2,), stack_size=4, seed=0)
    rng = np.random.default_rng(0)
    for _ in range(10):
        play(buffer, rng.integers(1, 256, size=(101, 2), dtype=np.uint8))
    assert len(buffer) >= 500 - 5 - 1 - 3


# ------------------------------------------------------------------ memory
def test_bytes_per_transition_at_capacity_1m_are_below_7_2_kb():
    buffer = PrioritizedFrameReplayBuffer(1_000_000, frame_shape=(84, 84), stack_size=4)
    per_slot = buffer.nbytes / buffer.capacity
    assert 84 * 84 <= per_slot <= 7_200


# --------------------------------------------------------------- sampling
def test_new_transitions_get_the_largest_priority_seen_so_far():
    buffer = hand_checked_buffer()
    batch = buffer.sample(4, beta=0.4)
    buffer.update_priorities(batch.indices, [3.0, 0.5, 0.5, 0.5])
    slot = play(buffer, scalar_frames(41, 42))[0]
    assert buffer.tree[slot] == pytest.approx((3.0 + buffer.eps) ** buffer.alpha)


@pytest.mark.parametrize("frames, refused", [((41, 42), False), ((41, 42, 43, 44), True)])
def test_indices_of_slots_overwritten_after_the_sample_are_refused(frames, refused):
    """The hand-drawn ring's complete slots are 3, 5, 6, 7.  A new episode writes its
    frames from slot 1 on: 41 42 fill slots 1-2 (the sample stays valid); 41 42 43 44
    reach slots 3-4, and slot 3 was sampled."""
    buffer = hand_checked_buffer()
    batch = buffer.sample(4, beta=0.4)
    assert sorted(batch.indices.tolist()) == [3, 5, 6, 7]
    play(buffer, scalar_frames(*frames))
    if refused:
        with pytest.raises(ValueError, match="last sample"):
            buffer.update_priorities(batch.indices, np.ones(4))
    else:
        buffer.update_priorities(batch.indices, np.ones(4))


def test_sampled_frequencies_follow_priorities():
    buffer = PrioritizedFrameReplayBuffer(64, frame_shape=(1,), stack_size=2, alpha=1.0, seed=1)
    play(buffer, scalar_frames(*range(1, 11)))  # 9 transitions in slots 0..8
    batch = buffer.sample(9, beta=0.4)
    errors = np.arange(1, 10, dtype=float)[np.argsort(np.argsort(batch.indices))]
    buffer.update_priorities(batch.indices, errors)  # slot k gets |δ| = k + 1
    counts = np.zeros(64)
    for _ in range(2_000):
        np.add.at(counts, buffer.sample(9, beta=0.4).indices, 1)
    expected = np.arange(1, 10) / 45 * counts.sum()
    assert np.allclose(counts[:9], expected, rtol=0.1)
    assert counts[9:].sum() == 0


def test_buffer_normalised_weights_divide_by_the_smallest_priority_of_a_complete_slot():
    """Incomplete slots hold priority 0 and never count; the weights are (p_min / p_i)^beta
    over the complete ones, while episodes end and the ring wraps around."""
    rng = np.random.default_rng(2)
    buffer = PrioritizedFrameReplayBuffer(24, frame_shape=(1,), stack_size=2, seed=2,
                                          normalise="buffer")
    for episode in range(6):
        play(buffer, scalar_frames(*range(10 * episode, 10 * episode + 5)))
        batch = buffer.sample(4, beta=0.7)
        priorities = buffer.tree.priorities
        smallest = priorities[buffer.complete_slots()].min()
        assert np.allclose(batch.weights, (smallest / priorities[batch.indices]) ** 0.7,
                           rtol=1e-5)
        buffer.update_priorities(batch.indices, rng.exponential(size=4))


def test_uniform_frame_buffer_has_unit_weights_and_ignores_updates():
    buffer = FrameReplayBuffer(16, frame_shape=(1,), stack_size=2, seed=0)
    play(buffer, scalar_frames(1, 2, 3, 4, 5))
    batch = buffer.sample(4, beta=0.9)
    assert (batch.weights == 1).all()
    before = buffer.tree.priorities.copy()
    buffer.update_priorities(batch.indices, np.full(4, 100.0))
    assert np.array_equal(buffer.tree.priorities, before)
    assert set(np.unique(before)) == {0.0, 1.0}


def test_same_seed_same_samples():
    first, second = hand_checked_buffer(), hand_checked_buffer()
    for _ in range(5):
        assert np.array_equal(first.sample(4, 0.4).indices, second.sample(4, 0.4).indices)


# --------------------------------------------------------------- bad input
def snapshot(buffer):
    return [buffer.frames.copy(), buffer.actions.copy(), buffer.flags.copy(),
            buffer.tree.priorities.copy(), len(buffer), buffer._head.copy(), buffer._open.copy()]


def assert_unchanged(buffer, before):
    for a, b in zip(snapshot(buffer), before):
        assert np.array_equal(a, b)


def continuing_pair():
    """Stacks that would continue episode 3 of hand_checked_buffer() (33 34 -> 34 35), had
    it not ended."""
    return np.array([[33], [34]], np.uint8), np.array([[34], [35]], np.uint8)


@pytest.mark.parametrize("change, error, match", [
    (dict(obs=np.zeros((3, 1), np.uint8)), ValueError, "obs must have shape"),
    (dict(next_obs=np.zeros((2, 2), np.uint8)), ValueError, "next_obs must have shape"),
    (dict(next_obs=np.array([[5], [6]], np.uint8)), ValueError, "shifted by one frame"),
    (dict(action=1.5), TypeError, "action must be an int"),
    (dict(action=-1), ValueError, "action must be >= 0"),
    (dict(reward=float("nan")), ValueError, "reward must be finite"),
    (dict(done=2), ValueError, "done must be a bool"),
    (dict(truncated="yes"), ValueError, "truncated must be a bool"),
])
def test_bad_transition_raises_and_changes_nothing(change, error, match):
    buffer = hand_checked_buffer()
    before = snapshot(buffer)
    transition = dict(obs=np.array([[0], [41]], np.uint8), action=0, reward=0.0,
                      next_obs=np.array([[41], [42]], np.uint8), done=False, truncated=False)
    transition.update(change)
    with pytest.raises(error, match=match):
        buffer.add(**transition)
    assert_unchanged(buffer, before)


def test_an_obs_that_neither_continues_nor_starts_an_episode_is_refused():
    buffer = hand_checked_buffer()  # its last episode ended: a new one must start
    before = snapshot(buffer)
    obs, next_obs = continuing_pair()
    with pytest.raises(ValueError, match="neither continues"):
        buffer.add(obs, 0, 0.0, next_obs, False)
    assert_unchanged(buffer, before)


def test_bad_constructor_arguments_are_refused():
    with pytest.raises(ValueError, match="capacity must be >= stack_size"):
        PrioritizedFrameReplayBuffer(5, stack_size=4)
    with pytest.raises(ValueError, match="stack_size must be >= 1"):
        PrioritizedFrameReplayBuffer(10, stack_size=0)
    with pytest.raises(TypeError, match="stack_size must be an int"):
        PrioritizedFrameReplayBuffer(10, stack_size=2.0)
    with pytest.raises(ValueError, match="frame_shape"):
        PrioritizedFrameReplayBuffer(10, frame_shape=(0, 84))
    with pytest.raises(ValueError, match="multiple of streams"):
        PrioritizedFrameReplayBuffer(30, stack_size=4, streams=4)
    with pytest.raises(ValueError, match="per stream"):
        PrioritizedFrameReplayBuffer(20, stack_size=4, streams=4)


def test_an_unknown_stream_is_refused_and_changes_nothing():
    buffer = PrioritizedFrameReplayBuffer(16, (1,), 2, streams=2)
    before = snapshot(buffer)
    with pytest.raises(ValueError, match="stream must be"):
        buffer.add(np.array([[0], [1]], np.uint8), 0, 0.0, np.array([[1], [2]], np.uint8),
                   False, stream=2)
    assert_unchanged(buffer, before)


# ------------------------------------------------------------- checkpoints
@pytest.mark.parametrize("buffer_type", [PrioritizedFrameReplayBuffer, FrameReplayBuffer])
def test_state_dict_round_trip_continues_identically(buffer_type, tmp_path):
    def build():
        buffer = buffer_type(8, frame_shape=(1,), stack_size=2, seed=3)
        play(buffer, scalar_frames(11, 12, 13))
        for obs, next_obs in stacks_of(scalar_frames(21, 22, 23), 2):  # an episode still open
            buffer.add(obs, 0, 0.5, next_obs, False)
        return buffer

    original, restored = build(), buffer_type(8, frame_shape=(1,), stack_size=2, seed=99)
    np.savez(tmp_path / "replay.npz", **original.state_dict())
    with np.load(tmp_path / "replay.npz", allow_pickle=False) as arrays:
        restored.load_state_dict(dict(arrays))
    for buffer in (original, restored):  # the open episode goes on in both
        buffer.add(np.array([[22], [23]], np.uint8), 1, 1.0, np.array([[23], [24]], np.uint8),
                   True)
    assert_unchanged(restored, snapshot(original))
    assert np.array_equal(original.sample(4, 0.5).indices, restored.sample(4, 0.5).indices)


def test_load_state_dict_refuses_an_inconsistent_state_and_changes_nothing():
    buffer = hand_checked_buffer()
    state = buffer.state_dict()
    state["priorities"] = state["priorities"].copy()
    state["priorities"][2] = 1.0  # an episode's last frame may never be sampled
    before = snapshot(buffer)
    with pytest.raises(ValueError, match="inconsistent"):
        buffer.load_state_dict(state)
    assert_unchanged(buffer, before)


# ------------------------------------------------ bad input: the whole table
# Every public entry point, fed a bad argument, raises TypeError or ValueError naming that
# argument, and the buffer's whole state is exactly as before.  The hand-drawn ring has
# wrapped around (an add overwrites live slots).
import json  # noqa: E402

from state import assert_unchanged as assert_deep_unchanged  # noqa: E402
from state import assert_refused_unchanged  # noqa: E402
from state import snapshot as deep_snapshot  # noqa: E402


def sampled():
    buffer = hand_checked_buffer()
    buffer.sample(4, beta=0.4)
    return buffer


def bounded():
    """The hand-drawn ring with n_actions = 18, as on Atari."""
    buffer = PrioritizedFrameReplayBuffer(8, frame_shape=(1,), stack_size=2, seed=0, n_actions=18)
    play(buffer, scalar_frames(11, 12, 13), done=True)
    play(buffer, scalar_frames(21, 22, 23, 24, 25), done=True)
    return buffer


def float_frames():
    buffer = PrioritizedFrameReplayBuffer(8, frame_shape=(1,), stack_size=2, frame_dtype=np.float32,
                                          seed=0)
    play(buffer, np.arange(1.0, 8.0, dtype=np.float32).reshape(-1, 1), done=True)
    return buffer


def uniform():
    buffer = FrameReplayBuffer(8, frame_shape=(1,), stack_size=2, seed=0)
    play(buffer, scalar_frames(1, 2, 3, 4, 5, 6, 7))
    buffer.sample(2)
    return buffer


NEW_OBS, NEW_NEXT = np.array([[0], [41]], np.uint8), np.array([[41], [42]], np.uint8)


def adding(obs=NEW_OBS, action=0, reward=0.0, next_obs=NEW_NEXT, done=False, truncated=False,
           **kwargs):
    return lambda buffer: buffer.add(obs, action, reward, next_obs, done, truncated, **kwargs)


def frame_state(make=hand_checked_buffer):
    return {key: np.array(value, copy=True) for key, value in make().state_dict().items()}


def frame_corrupted(change, make=hand_checked_buffer, drop=()):
    state = frame_state(make)
    for key in drop:
        del state[key]
    for key, value in change.items():
        if callable(value):  # a change of the original entry
            value = value(state[key].copy())
        state[key] = value
    return state


def setting(index, value):
    def change(array):
        array[index] = value
        return array
    return change


FRAME_KEYS = ["frames", "actions", "rewards", "dones", "flags", "size", "rng_state",
              "priorities", "max_priority", "head", "open"]
frame_rng = json.loads(str(frame_state()["rng_state"]))
BAD_FRAME_STATES = [(f"missing-{key}", frame_corrupted({}, drop=[key]), ValueError,
                     f"missing.*{key}") for key in FRAME_KEYS] + [
    ("frames-wrong-shape", frame_corrupted(dict(frames=np.zeros((8, 2), np.uint8))), ValueError,
     "'frames'"),
    ("frames-wrong-dtype", frame_corrupted(dict(frames=np.zeros((8, 1), np.int64))), ValueError,
     "'frames'"),
    ("frames-nan", frame_corrupted(dict(frames=setting(3, np.nan)), float_frames), ValueError,
     "'frames' must be finite"),
    ("actions-negative", frame_corrupted(dict(actions=setting(3, -1))), ValueError, "'actions'"),
    ("actions-beyond-n-actions", frame_corrupted(dict(actions=setting(3, 18)), bounded),
     ValueError, r"'actions' must be in \[0, 18\)"),
    ("actions-int64", frame_corrupted(dict(actions=np.zeros(8, np.int64))), ValueError,
     "'actions'"),
    ("rewards-nan", frame_corrupted(dict(rewards=setting(5, np.nan))), ValueError, "'rewards'"),
    ("rewards-inf", frame_corrupted(dict(rewards=setting(5, np.inf))), ValueError, "'rewards'"),
    ("dones-2", frame_corrupted(dict(dones=setting(5, 2))), ValueError, "'dones'"),
    ("flags-4", frame_corrupted(dict(flags=setting(0, 4))), ValueError, "'flags'"),
    ("size-mismatch", frame_corrupted(dict(size=np.int64(3))), ValueError, "'size'"),
    ("size-beyond-capacity", frame_corrupted(dict(size=np.int64(9))), ValueError, "size 9"),
    ("priority-on-incomplete-slot", frame_corrupted(dict(priorities=setting(2, 1.0))),
     ValueError, "'priorities' disagree"),
    ("priorities-all-zero", frame_corrupted(dict(priorities=np.zeros(8))), ValueError,
     "'priorities' are all 0"),
    ("priorities-nan", frame_corrupted(dict(priorities=setting(3, np.nan))), ValueError,
     "'priorities' must be finite"),
    ("priorities-negative", frame_corrupted(dict(priorities=setting(3, -1.0))), ValueError,
     "'priorities'"),
    ("max-priority-inf", frame_corrupted(dict(max_priority=np.float64(np.inf))), ValueError,
     "'max_priority'"),
    ("max-priority-negative", frame_corrupted(dict(max_priority=np.float64(-1))), ValueError,
     "'max_priority'"),
    ("head-out-of-range", frame_corrupted(dict(head=np.array([8]))), ValueError, "head"),
    ("head-below-minus-1", frame_corrupted(dict(head=np.array([-2]))), ValueError, "head"),
    ("head-wrong-shape", frame_corrupted(dict(head=np.array([0, 1]))), ValueError, "head"),
    ("head-float", frame_corrupted(dict(head=np.array([0.5]))), ValueError, "'head'"),
    ("head-on-a-complete-slot", frame_corrupted(dict(head=np.array([3]))), ValueError,
     "head slot"),
    ("open-2", frame_corrupted(dict(open=np.array([2]))), ValueError, "open"),
    ("open-without-head", frame_corrupted(dict(open=np.array([True]), head=np.array([-1]))),
     ValueError, "open"),
    ("open-str", frame_corrupted(dict(open=np.array(["yes"]))), ValueError, "'open'"),
    ("rng-bad", frame_corrupted(dict(rng_state=np.array("{}"))), ValueError, "'rng_state'"),
    ("rng-other-generator", frame_corrupted(dict(rng_state=np.array(json.dumps(
        dict(frame_rng, bit_generator="Philox"))))), ValueError, "'rng_state'"),
]

# The buffer each corrupted state is loaded into (by default the hand-drawn one).
STATE_TARGETS = {"actions-beyond-n-actions": bounded, "frames-nan": float_frames}

BAD_FRAME_INPUTS = [
    # constructors
    ("init-capacity-too-small", hand_checked_buffer,
     lambda b: PrioritizedFrameReplayBuffer(5, stack_size=4), ValueError, "capacity"),
    ("init-capacity-not-multiple", hand_checked_buffer,
     lambda b: PrioritizedFrameReplayBuffer(30, stack_size=4, streams=4), ValueError, "capacity"),
    ("init-capacity-float", hand_checked_buffer,
     lambda b: PrioritizedFrameReplayBuffer(10.0, stack_size=2), TypeError, "capacity"),
    ("init-capacity-too-big", hand_checked_buffer,
     lambda b: PrioritizedFrameReplayBuffer(2**30), ValueError,
     r"capacity=1073741824 needs [\d,]+ bytes"),
    ("init-stack-size-0", hand_checked_buffer,
     lambda b: PrioritizedFrameReplayBuffer(10, stack_size=0), ValueError, "stack_size"),
    ("init-stack-size-float", hand_checked_buffer,
     lambda b: PrioritizedFrameReplayBuffer(10, stack_size=2.0), TypeError, "stack_size"),
    ("init-stack-size-bool", hand_checked_buffer,
     lambda b: FrameReplayBuffer(10, stack_size=True), TypeError, "stack_size"),
    ("init-streams-0", hand_checked_buffer,
     lambda b: PrioritizedFrameReplayBuffer(10, stack_size=2, streams=0), ValueError, "streams"),
    ("init-streams-str", hand_checked_buffer,
     lambda b: FrameReplayBuffer(10, stack_size=2, streams="2"), TypeError, "streams"),
    ("init-frame-shape-0", hand_checked_buffer,
     lambda b: PrioritizedFrameReplayBuffer(10, frame_shape=(0, 84)), ValueError, "frame_shape"),
    ("init-frame-shape-str", hand_checked_buffer,
     lambda b: PrioritizedFrameReplayBuffer(10, frame_shape="84"), TypeError, "frame_shape"),
    ("init-frame-shape-none", hand_checked_buffer,
     lambda b: FrameReplayBuffer(10, frame_shape=None), TypeError, "frame_shape"),
    ("init-frame-dtype-object", hand_checked_buffer,
     lambda b: PrioritizedFrameReplayBuffer(10, (1,), 2, frame_dtype=object), TypeError,
     "frame_dtype"),
    ("init-frame-dtype-str", hand_checked_buffer,
     lambda b: FrameReplayBuffer(10, (1,), 2, frame_dtype="U4"), TypeError, "frame_dtype"),
    ("init-alpha-nan", hand_checked_buffer,
     lambda b: PrioritizedFrameReplayBuffer(10, (1,), 2, alpha=np.nan), ValueError, "alpha"),
    ("init-eps-inf", hand_checked_buffer,
     lambda b: PrioritizedFrameReplayBuffer(10, (1,), 2, eps=np.inf), ValueError, "eps"),
    ("init-seed-negative", hand_checked_buffer,
     lambda b: FrameReplayBuffer(10, (1,), 2, seed=-1), ValueError, "seed"),
    ("init-seed-float", hand_checked_buffer,
     lambda b: PrioritizedFrameReplayBuffer(10, (1,), 2, seed=0.5), TypeError, "seed"),
    ("init-n-actions-0", hand_checked_buffer,
     lambda b: FrameReplayBuffer(10, (1,), 2, n_actions=0), ValueError, "n_actions"),
    ("init-n-actions-beyond-int32", hand_checked_buffer,
     lambda b: PrioritizedFrameReplayBuffer(10, (1,), 2, n_actions=2**40), ValueError,
     "n_actions"),
    # add, on the wrapped ring
    ("add-int64-frame-300", hand_checked_buffer,
     adding(obs=np.array([[0], [300]]), next_obs=np.array([[300], [1]])), ValueError,
     "obs must hold values that fit uint8, got 300"),
    ("add-int64-next-frame-300", hand_checked_buffer,
     adding(next_obs=np.array([[41], [300]])), ValueError, "next_obs .* uint8, got 300"),
    ("add-negative-frame", hand_checked_buffer,
     adding(obs=np.array([[0], [-1]]), next_obs=np.array([[-1], [2]])), ValueError, "obs"),
    ("add-fractional-frame", hand_checked_buffer,
     adding(obs=np.array([[0.0], [41.5]]), next_obs=np.array([[41.5], [42.0]])), ValueError,
     "obs .* got 41.5"),
    ("add-nan-frame-into-uint8", hand_checked_buffer,
     adding(obs=np.array([[0.0], [np.nan]]), next_obs=np.array([[np.nan], [1.0]])), ValueError,
     "obs"),
    ("add-str-frames", hand_checked_buffer, adding(obs=np.array([["0"], ["a"]])), TypeError,
     "obs"),
    ("add-wrong-shape", hand_checked_buffer, adding(obs=np.zeros((3, 1), np.uint8)), ValueError,
     "obs must have shape"),
    ("add-next-wrong-shape", hand_checked_buffer, adding(next_obs=np.zeros((2, 2), np.uint8)),
     ValueError, "next_obs must have shape"),
    ("add-next-not-shifted", hand_checked_buffer,
     adding(next_obs=np.array([[5], [6]], np.uint8)), ValueError, "next_obs must be obs shifted"),
    ("add-obs-neither-continues-nor-starts", hand_checked_buffer,
     adding(obs=np.array([[33], [34]], np.uint8), next_obs=np.array([[34], [35]], np.uint8)),
     ValueError, "obs neither continues"),
    ("add-float-frame-nan", float_frames,
     adding(obs=np.array([[0], [np.nan]], np.float32), next_obs=np.array([[np.nan], [1]], np.float32)),
     ValueError, "obs must be finite"),
    ("add-float-frame-inf", float_frames,
     adding(obs=np.array([[0], [1]], np.float32), next_obs=np.array([[1], [np.inf]], np.float32)),
     ValueError, "next_obs must be finite"),
    ("add-float-frame-1e300", float_frames,
     adding(obs=np.array([[0.0], [1e300]]), next_obs=np.array([[1e300], [1.0]])), ValueError,
     "obs must be finite and fit float32"),
    ("add-action-int32-overflow", hand_checked_buffer, adding(action=2**40), ValueError,
     "action must be < 2147483648"),
    ("add-action-2**70", hand_checked_buffer, adding(action=2**70), ValueError, "action"),
    ("add-action-n-actions", bounded, adding(action=18), ValueError, "action must be < 18"),
    ("add-action-10**6", bounded, adding(action=10**6), ValueError, "action"),
    ("add-action-negative", hand_checked_buffer, adding(action=-1), ValueError,
     "action must be >= 0"),
    ("add-action-float", hand_checked_buffer, adding(action=1.5), TypeError, "action"),
    ("add-action-bool", bounded, adding(action=np.bool_(True)), TypeError, "action"),
    ("add-reward-nan", hand_checked_buffer, adding(reward=np.nan), ValueError, "reward"),
    ("add-reward-1e300", bounded, adding(reward=1e300), ValueError, "reward"),
    ("add-reward-str", hand_checked_buffer, adding(reward="1"), TypeError, "reward"),
    ("add-done-2", hand_checked_buffer, adding(done=2), ValueError, "done"),
    ("add-truncated-str", hand_checked_buffer, adding(truncated="yes"), ValueError, "truncated"),
    ("add-stream-2", hand_checked_buffer, adding(stream=1), ValueError, "stream"),
    ("add-stream-negative", hand_checked_buffer, adding(stream=-1), ValueError, "stream"),
    ("add-stream-float", hand_checked_buffer, adding(stream=0.0), TypeError, "stream"),
    ("add-stream-bool", hand_checked_buffer, adding(stream=False), TypeError, "stream"),
    # sample and update_priorities
    ("sample-too-many", hand_checked_buffer, lambda b: b.sample(5, 0.4), ValueError,
     "batch_size=5"),
    ("sample-zero", hand_checked_buffer, lambda b: b.sample(0, 0.4), ValueError, "batch_size"),
    ("sample-str", hand_checked_buffer, lambda b: b.sample("4", 0.4), TypeError, "batch_size"),
    ("sample-beta-nan", hand_checked_buffer, lambda b: b.sample(2, np.nan), ValueError, "beta"),
    ("sample-beta-bool", hand_checked_buffer, lambda b: b.sample(2, False), TypeError, "beta"),
    ("sample-uniform-beta-2", uniform, lambda b: b.sample(2, 2.0), ValueError, "beta"),
    ("sample-uniform-batch-bool", uniform, lambda b: b.sample(True), TypeError, "batch_size"),
    ("update-nan", sampled, lambda b: b.update_priorities(
        b._last_indices.copy(), [1.0, np.nan, 1.0, 1.0]), ValueError, "td_errors"),
    ("update-str", sampled, lambda b: b.update_priorities(b._last_indices.copy(), ["1"] * 4),
     TypeError, "td_errors"),
    ("update-length", sampled, lambda b: b.update_priorities(b._last_indices.copy(), [1.0]),
     ValueError, "td_errors"),
    ("update-stale", sampled, lambda b: b.update_priorities([0], [1.0]), ValueError,
     "last sample"),
    ("update-out-of-range", sampled, lambda b: b.update_priorities([8], [1.0]), ValueError,
     "indices out of range"),
    ("update-float-indices", sampled, lambda b: b.update_priorities([3.0], [1.0]), TypeError,
     "indices"),
    ("update-uniform-nan", uniform, lambda b: b.update_priorities([1], [np.nan]), ValueError,
     "td_errors"),
    ("update-uniform-str-indices", uniform, lambda b: b.update_priorities("1", [1.0]), TypeError,
     "indices"),
    ("transition-out-of-range", hand_checked_buffer, lambda b: b.transition(8), ValueError,
     "indices out of range"),
    ("transition-float", hand_checked_buffer, lambda b: b.transition(3.0), TypeError, "indices"),
    # checkpoints
    ("load-not-a-dict", hand_checked_buffer, lambda b: b.load_state_dict("state"), TypeError,
     "state"),
    ("check-not-a-dict", uniform, lambda b: b.check_state_dict(None), TypeError, "state"),
] + [(f"{method}-{name}", STATE_TARGETS.get(name, hand_checked_buffer),
      (lambda state, method: lambda b: getattr(b, method + "_state_dict")(state))(state, method),
      error, regex)
     for method in ("load", "check") for name, state, error, regex in BAD_FRAME_STATES]


@pytest.mark.parametrize("make, call, error, regex",
                         [pytest.param(*case[1:], id=case[0]) for case in BAD_FRAME_INPUTS])
def test_bad_input_to_the_frame_buffers_raises_naming_the_argument_and_changes_nothing(
        make, call, error, regex):
    assert_refused_unchanged(make(), call, error, regex)


def test_a_float_frame_buffer_loads_only_matching_float_frames():
    state = frame_state(float_frames)
    fresh = PrioritizedFrameReplayBuffer(8, frame_shape=(1,), stack_size=2,
                                         frame_dtype=np.float32, seed=5)
    fresh.load_state_dict(state)
    assert np.array_equal(fresh.frames, state["frames"])


# ------------------------------------------- good input the checks must not refuse
def test_uint8_frames_and_in_range_int_frames_and_numpy_actions_are_accepted():
    buffer = PrioritizedFrameReplayBuffer(8, frame_shape=(2,), stack_size=2, seed=0, n_actions=18)
    obs, next_obs = np.array([[0, 0], [7, 255]], np.uint8), np.array([[7, 255], [1, 2]], np.uint8)
    slot = buffer.add(obs, np.int64(17), np.float32(1.0), next_obs, np.bool_(False))
    assert buffer.frames.dtype == np.uint8 and buffer.actions[slot] == 17
    # int64 stacks of values that fit uint8: converted, not refused
    slot = buffer.add(next_obs.astype(np.int64), np.uint8(3), 0, np.array([[1, 2], [3, 4]]), True)
    assert buffer.transition(slot)[3].tolist() == [[1, 2], [3, 4]]


@pytest.mark.parametrize("buffer_type", [PrioritizedFrameReplayBuffer, FrameReplayBuffer])
def test_checkpoint_round_trip_onto_a_fresh_buffer_gives_an_equal_state(buffer_type):
    buffer = buffer_type(16, frame_shape=(1,), stack_size=2, seed=1, streams=2, n_actions=4)
    for stream in (0, 1):
        for obs, next_obs in stacks_of(scalar_frames(1, 2, 3, 4), 2):
            buffer.add(obs, 3, 0.5, next_obs, False, stream=stream)  # both episodes open
    state = buffer.state_dict()
    fresh = buffer_type(16, frame_shape=(1,), stack_size=2, seed=9, streams=2, n_actions=4)
    before = deep_snapshot(fresh)
    fresh.check_state_dict(state)
    assert_deep_unchanged(before, fresh)
    fresh.load_state_dict(state)
    for key, value in fresh.state_dict().items():
        np.testing.assert_array_equal(value, state[key], err_msg=key)
    fresh.add(np.array([[3], [4]], np.uint8), 0, 0.0, np.array([[4], [5]], np.uint8), True,
              stream=1)  # the open episode goes on


def test_a_scalar_head_of_an_old_single_stream_checkpoint_still_loads():
    state = frame_state()
    state["head"], state["open"] = np.int64(state["head"][0]), np.bool_(state["open"][0])
    fresh = PrioritizedFrameReplayBuffer(8, frame_shape=(1,), stack_size=2, seed=1)
    fresh.load_state_dict(state)
    assert fresh._head.tolist() == [0]
