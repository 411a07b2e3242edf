"""Tests for noisy_helpers/sum_tree.py.

The hand-checked tree used below (capacity 4, priorities 1, 2, 3, 4)::

                 10                 node 1 (root)
              /      \\
             3        7             nodes 2, 3
            / \\      / \\
           1   2    3   4           leaves 0..3 = nodes 4..7

    prefix sums:  leaf 0 holds [0, 1), leaf 1 [1, 3), leaf 2 [3, 6), leaf 3 [6, 10)
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from noisy_helpers import SumTree


def brute_force_find(priorities, values):
    """Reference: the leaf i with prefix(i) <= v < prefix(i + 1), by cumulative sums."""
    bounds = np.concatenate(([0.0], np.cumsum(priorities)))
    leaves = np.searchsorted(bounds, values, side="right") - 1
    # v == total: the last leaf of positive priority.
    last_positive = np.flatnonzero(np.asarray(priorities) > 0)[-1]
    return np.minimum(leaves, last_positive)


def assert_parents_are_sums_of_children(tree: SumTree):
    nodes = tree.nodes
    for node in range(1, tree.size):
        assert nodes[node] == nodes[2 * node] + nodes[2 * node + 1], node


@pytest.fixture
def small_tree():
    tree = SumTree(4)
    tree.update([0, 1, 2, 3], [1.0, 2.0, 3.0, 4.0])
    return tree


# --------------------------------------------------------------- by hand
def test_hand_drawn_tree_has_the_sums_in_the_docstring(small_tree):
    assert small_tree.total == 10.0
    assert small_tree.nodes[1:4].tolist() == [10.0, 3.0, 7.0]
    assert small_tree.nodes[4:8].tolist() == [1.0, 2.0, 3.0, 4.0]


@pytest.mark.parametrize(
    "value, leaf",
    [(0.0, 0), (0.99, 0), (1.0, 1), (2.99, 1), (3.0, 2), (5.99, 2), (6.0, 3), (9.99, 3)],
)
def test_find_returns_the_leaf_whose_prefix_interval_holds_the_value(small_tree, value, leaf):
    assert small_tree.find(value) == leaf


def test_find_of_the_total_returns_the_last_positive_leaf():
    tree = SumTree(4)
    tree.update([0, 1, 2, 3], [1.0, 2.0, 0.0, 0.0])
    assert tree.find(3.0) == 1


def test_zero_priority_leaves_are_never_returned():
    tree = SumTree(4)
    tree.update([0, 1, 2, 3], [0.0, 2.0, 0.0, 3.0])
    values = np.array([0.0, 1.0, 1.999, 2.0, 4.0, 5.0])
    assert tree.find(values).tolist() == [1, 1, 1, 3, 3, 3]


def test_scalar_in_scalar_out_and_array_in_array_out(small_tree):
    assert isinstance(small_tree.find(2.5), int)
    assert isinstance(small_tree[2], float)
    assert small_tree.find(np.array([2.5])).shape == (1,)
    assert small_tree[[1, 3]].tolist() == [2.0, 4.0]


def test_repeated_index_in_one_update_keeps_the_last_value():
    tree = SumTree(4)
    tree.update([1, 2, 1, 1], [5.0, 1.0, 7.0, 3.0])
    assert tree[1] == 3.0
    assert tree.total == 4.0
    assert_parents_are_sums_of_children(tree)


def test_scalar_priority_is_used_for_every_index():
    tree = SumTree(5)
    tree.update([0, 2, 4], 2.5)
    assert tree.priorities.tolist() == [2.5, 0.0, 2.5, 0.0, 2.5]


@pytest.mark.parametrize("capacity", [1, 2, 3, 5, 7, 1000, 1025])
def test_any_capacity_works_and_padding_leaves_are_never_returned(capacity):
    tree = SumTree(capacity)
    tree.update(np.arange(capacity), np.ones(capacity))
    assert tree.total == capacity
    found = tree.find(np.linspace(0, capacity, 4 * capacity + 1))
    assert found.min() == 0 and found.max() == capacity - 1
    assert len(tree.priorities) == capacity


def test_priorities_view_cannot_be_written(small_tree):
    with pytest.raises(ValueError):
        small_tree.priorities[0] = 5.0


# -------------------------------------------------------- floating point
def test_no_drift_after_many_float_updates_zeroed_leaves_sum_to_exactly_zero():
    """Delta updates (``parent += new - old``) would leave crumbs like 1e-13 here."""
    rng = np.random.default_rng(0)
    tree = SumTree(64)
    for _ in range(2000):
        tree.update(rng.integers(0, 64, size=16), rng.random(16) * 1e3)
    tree.update(np.arange(64), 0.0)
    tree.update(17, 0.5)
    assert tree.total == 0.5
    assert_parents_are_sums_of_children(tree)
    assert set(tree.find(np.linspace(0, 0.5, 101)).tolist()) == {17}


def test_guarded_descent_repairs_a_walk_that_rounding_ended_on_a_zero_leaf(monkeypatch):
    tree = SumTree(8)
    tree.update(np.arange(8), [1.0, 0.0, 2.0, 0.0, 0.0, 3.0, 0.0, 0.0])
    # Pretend rounding carried every fast walk onto the zero leaf 7.
    monkeypatch.setattr(tree, "_descend", lambda values: np.full(values.shape, 7))
    assert tree.find(np.array([0.5, 1.5, 4.0])).tolist() == [0, 2, 5]


def test_guarded_and_fast_descents_agree_with_brute_force_on_random_trees():
    rng = np.random.default_rng(1)
    for capacity in [3, 100, 5000]:
        priorities = rng.random(capacity) * (rng.random(capacity) < 0.7)
        tree = SumTree(capacity)
        tree.update(np.arange(capacity), priorities)
        values = rng.random(500) * tree.total
        tree._prepare_search()
        fast = tree._descend(values)
        guarded = tree._descend_guarded(values)
        assert np.array_equal(fast, guarded)
        assert np.all(priorities[fast] > 0)
        # Within rounding of the brute-force prefix sums.
        bounds = np.concatenate(([0.0], np.cumsum(priorities)))
        assert np.all(bounds[fast] <= values + 1e-9)
        assert np.all(values < bounds[fast + 1] + 1e-9)


# ---------------------------------------------- reference vs vectorised
def test_matches_brute_force_over_random_operations_at_capacity_2_pow_12():
    rng = np.random.default_rng(2)
    capacity = 4096
    tree, reference = SumTree(capacity), np.zeros(capacity)
    for _ in range(50):
        indices = rng.integers(0, capacity, size=64)
        priorities = rng.integers(0, 50, size=64).astype(float)  # integers: sums are exact
        tree.update(indices, priorities)
        for index, priority in zip(indices, priorities):  # the reference: last value wins
            reference[index] = priority
        assert tree.total == reference.sum()
        values = rng.random(64) * tree.total
        assert np.array_equal(tree.find(values), brute_force_find(reference, values))
    assert_parents_are_sums_of_children(tree)


# ----------------------------------------------------------- properties
updates = st.lists(
    st.tuples(st.integers(0, 10_000), st.integers(0, 100)), min_size=1, max_size=60
)


@settings(max_examples=150, deadline=None)
@given(capacity=st.integers(1, 300), operations=updates, data=st.data())
def test_property_every_node_is_the_sum_of_its_children_and_find_is_exact(
    capacity, operations, data
):
    tree, reference = SumTree(capacity), np.zeros(capacity)
    indices = np.array([i % capacity for i, _ in operations])
    priorities = np.array([float(p) for _, p in operations])
    tree.update(indices, priorities)
    for index, priority in zip(indices, priorities):
        reference[index] = priority
    assert_parents_are_sums_of_children(tree)
    assert tree.total == reference.sum()
    assert np.array_equal(tree.priorities, reference)
    if tree.total > 0:
        values = np.array(
            data.draw(st.lists(st.floats(0, tree.total), min_size=1, max_size=20))
        )
        found = tree.find(values)
        assert np.array_equal(found, brute_force_find(reference, values))
        assert np.all(reference[found] > 0)


@settings(max_examples=100, deadline=None)
@given(
    priorities=st.lists(
        st.floats(0, 1e6, allow_nan=False, allow_infinity=False, allow_subnormal=False),
        min_size=1,
        max_size=200,
    ),
    fractions=st.lists(st.floats(0, 1), min_size=1, max_size=20),
)
def test_property_float_priorities_never_yield_a_zero_leaf(priorities, fractions):
    tree = SumTree(len(priorities))
    tree.update(np.arange(len(priorities)), priorities)
    if tree.total == 0:
        return
    found = tree.find(np.array(fractions) * tree.total)
    assert np.all(np.asarray(priorities)[found] > 0)


# ------------------------------------------------------------ bad input
@pytest.mark.parametrize("capacity, error", [(0, ValueError), (-3, ValueError), (2.5, TypeError), (True, TypeError)])
def test_bad_capacity_is_refused(capacity, error):
    with pytest.raises(error, match="capacity"):
        SumTree(capacity)


@pytest.mark.parametrize(
    "indices, priorities, error, match",
    [
        ([0, 1], [1.0, -1.0], ValueError, ">= 0"),
        ([0, 1], [1.0, np.nan], ValueError, "finite"),
        ([0, 1], [np.inf, 1.0], ValueError, "finite"),
        ([0, 4], [1.0, 1.0], ValueError, "out of range"),
        ([-1], [1.0], ValueError, "out of range"),
        ([0, 1, 2], [1.0, 1.0], ValueError, "differ in length"),
        ([[0, 1]], [[1.0, 1.0]], ValueError, "1-D"),
        ([0.5], [1.0], TypeError, "integers"),
    ],
)
def test_bad_update_raises_and_leaves_the_tree_unchanged(
    small_tree, indices, priorities, error, match
):
    before = small_tree.nodes.copy()
    with pytest.raises(error, match=match):
        small_tree.update(indices, priorities)
    assert np.array_equal(small_tree.nodes, before)


@pytest.mark.parametrize("value", [-0.1, 10.01, np.nan, np.inf])
def test_find_outside_zero_to_total_is_refused(small_tree, value):
    with pytest.raises(ValueError, match="values must lie in"):
        small_tree.find([1.0, value])


def test_find_in_an_empty_tree_is_refused():
    with pytest.raises(ValueError, match="total priority is 0"):
        SumTree(8).find(0.0)


def test_reading_an_index_out_of_range_is_refused(small_tree):
    with pytest.raises(ValueError, match="out of range"):
        small_tree[4]


# ------------------------------------- deep trees: the per-node write path
def assert_parents_are_sums_of_children_fast(tree: SumTree):
    """The same check as above, vectorised, for trees too big for a Python loop."""
    nodes = tree.nodes
    parents = np.arange(1, tree.size)
    bad = parents[nodes[parents] != nodes[2 * parents] + nodes[2 * parents + 1]]
    assert bad.size == 0, bad[:10]


@pytest.mark.parametrize("capacity", [2**13 + 5, 2**15, 2**17 - 3, 2**20])
def test_deep_tree_batched_writes_keep_every_node_exact_and_match_brute_force(capacity):
    """Below level 12 a write recomputes only the touched ancestors, in steps of
    up to four levels; check it against a reference, repeats and zeros included."""
    rng = np.random.default_rng(capacity)
    tree, reference = SumTree(capacity), np.zeros(capacity)
    assert tree.depth > tree.write_top_levels
    tree.update(np.arange(capacity), rng.random(capacity))  # many leaves: every level whole
    reference[:] = tree.priorities
    assert_parents_are_sums_of_children_fast(tree)
    for round_ in range(40):
        size = int(rng.integers(1, 200))
        indices = rng.integers(0, capacity, size=size)
        if round_ % 4 == 0:
            indices[: size // 2] = indices[0]  # one index many times
        priorities = rng.random(size) * (rng.random(size) < 0.8)
        tree.update(indices, priorities)
        for index, priority in zip(indices, priorities):
            reference[index] = priority
        assert np.array_equal(tree.priorities, reference)
        assert_parents_are_sums_of_children_fast(tree)
        values = rng.random(100) * tree.total
        found = tree.find(values)
        assert np.all(reference[found] > 0)
        bounds = np.concatenate(([0.0], np.cumsum(reference)))
        assert np.all(bounds[found] <= values + 1e-9)
        assert np.all(values < bounds[found + 1] + 1e-9)
        assert np.array_equal(found, tree._descend_guarded(values))


def test_deep_tree_integer_priorities_find_exactly_like_brute_force():
    rng = np.random.default_rng(3)
    capacity = 2**15
    tree, reference = SumTree(capacity), np.zeros(capacity)
    for _ in range(30):
        indices = rng.integers(0, capacity, size=64)
        priorities = rng.integers(0, 50, size=64).astype(float)  # integers: sums are exact
        tree.update(indices, priorities)
        for index, priority in zip(indices, priorities):
            reference[index] = priority
        assert tree.total == reference.sum()
        values = np.append(rng.random(64) * tree.total, tree.total)
        assert np.array_equal(tree.find(values), brute_force_find(reference, values))
    assert_parents_are_sums_of_children_fast(tree)


def test_write_buffers_for_many_batch_sizes_are_reused_and_dropped_correctly():
    rng = np.random.default_rng(4)
    capacity = 2**14
    tree, reference = SumTree(capacity), np.zeros(capacity)
    for size in list(range(1, 40)) + [64, 64, 3, 64, 1]:  # more sizes than plans kept
        indices = rng.choice(capacity, size=size, replace=False)
        priorities = rng.random(size)
        tree.update(indices, priorities)
        reference[indices] = priorities
    assert len(tree._write_plans) <= 8
    assert np.array_equal(tree.priorities, reference)
    assert_parents_are_sums_of_children_fast(tree)


def test_zeroing_a_deep_tree_leaves_exactly_zero_sums():
    rng = np.random.default_rng(5)
    capacity = 2**14
    tree = SumTree(capacity)
    for _ in range(200):
        tree.update(rng.integers(0, capacity, size=64), rng.random(64) * 1e3)
    for start in range(0, capacity, 64):  # small writes: the per-node path
        tree.update(np.arange(start, start + 64), 0.0)
    assert tree.total == 0.0 and not tree.nodes.any()
    tree.update(12345, 0.5)
    assert tree.total == 0.5
    assert set(tree.find(np.linspace(0, 0.5, 101)).tolist()) == {12345}


@pytest.mark.parametrize(
    "indices", [np.array([0, -1]), np.array([0, 2**62]), np.array([2**63], dtype=np.uint64)]
)
def test_out_of_range_index_arrays_are_refused_and_change_nothing(small_tree, indices):
    before = small_tree.nodes.copy()
    with pytest.raises(ValueError, match="out of range"):
        small_tree.update(indices, np.ones(indices.size))
    assert np.array_equal(small_tree.nodes, before)


def test_levels_above_the_search_level_are_recomputed_when_read_not_when_written():
    """A write on a deep tree recomputes the levels down to ``top_levels`` (which ``find``
    searches) and leaves the few above it for later; reading them brings them up to date."""
    tree = SumTree(2**14)
    tree.update(np.arange(2**14), 1.0)
    assert not tree._top_stale
    tree.update([5, 9000], [3.0, 0.5])  # a small write: the levels near the root wait
    assert tree._top_stale
    assert tree._prepare_search() == 2**14 + 2.0 - 0.5  # the search level is up to date
    assert tree.find(np.array([5.5])).tolist() == [5]  # find reads the root: brings it up
    assert not tree._top_stale
    assert tree.total == 2**14 + 1.5
    assert_parents_are_sums_of_children(tree)


def test_a_sample_leaves_the_levels_near_the_root_for_later_and_stays_exact():
    from noisy_helpers import PrioritizedReplayBuffer

    buffer = PrioritizedReplayBuffer(2**13, obs_shape=(1,), seed=0)
    for _ in range(2**13):
        buffer.add(np.zeros(1), 0, 0.0, np.zeros(1), False)
    batch = buffer.sample(32, beta=0.4)
    buffer.update_priorities(batch.indices, np.arange(32.0))
    buffer.sample(32, beta=0.4)  # writes the new priorities, reads only level top_levels
    assert buffer._tree._top_stale
    reference = np.ones(2**13)
    reference[batch.indices] = (np.arange(32.0) + buffer.eps) ** buffer.alpha
    assert buffer.tree.total == pytest.approx(reference.sum())
    assert_parents_are_sums_of_children(buffer.tree)


# ------------------------------------------------ bad input: the whole table
# Every public entry point, fed a bad argument, raises TypeError or ValueError naming that
# argument, and the tree's whole state (tree, caches, write plans) is exactly as before.
from state import assert_refused_unchanged  # noqa: E402


def deep_tree_after_a_small_write():
    """A realistic tree: deep enough for every write path, and just written to, so that the
    levels near the root are stale (a bad call must not even bring those up to date)."""
    tree = SumTree(2**12)
    tree.update(np.arange(2**12), np.linspace(0.1, 1.0, 2**12))
    tree.update([5, 9, 4000], [3.0, 0.5, 2.0])
    assert tree._top_stale
    return tree


def hand_tree():
    tree = SumTree(4)
    tree.update([0, 1, 2, 3], [1.0, 2.0, 3.0, 4.0])
    return tree


BAD_TREE_INPUTS = [
    # (id, make the object, call on it, error, regex naming the argument)
    ("init-capacity-0", hand_tree, lambda t: SumTree(0), ValueError, "capacity"),
    ("init-capacity-negative", hand_tree, lambda t: SumTree(-3), ValueError, "capacity"),
    ("init-capacity-float", hand_tree, lambda t: SumTree(2.5), TypeError, "capacity"),
    ("init-capacity-np-float", hand_tree, lambda t: SumTree(np.float64(4)), TypeError, "capacity"),
    ("init-capacity-bool", hand_tree, lambda t: SumTree(True), TypeError, "capacity"),
    ("init-capacity-np-bool", hand_tree, lambda t: SumTree(np.bool_(True)), TypeError, "capacity"),
    ("init-capacity-str", hand_tree, lambda t: SumTree("8"), TypeError, "capacity"),
    ("init-capacity-none", hand_tree, lambda t: SumTree(None), TypeError, "capacity"),
    ("init-capacity-2**35-too-big", hand_tree, lambda t: SumTree(2**35), ValueError,
     r"capacity=34359738368 needs [\d,]+ bytes"),
    ("init-capacity-2**70-too-big", hand_tree, lambda t: SumTree(2**70), ValueError,
     "capacity=.* needs .* bytes"),
    ("update-negative", deep_tree_after_a_small_write, lambda t: t.update([0, 1], [1.0, -1.0]),
     ValueError, "priorities must be >= 0"),
    ("update-nan", deep_tree_after_a_small_write, lambda t: t.update([0, 1], [1.0, np.nan]),
     ValueError, "priorities must be finite"),
    ("update-inf", deep_tree_after_a_small_write, lambda t: t.update([0, 1], [np.inf, 1.0]),
     ValueError, "priorities must be finite"),
    ("update-minus-inf", deep_tree_after_a_small_write, lambda t: t.update(3, -np.inf),
     ValueError, "priorities must be finite"),
    ("update-two-1e308-overflow", hand_tree, lambda t: t.update([0, 1], [1e308, 1e308]),
     ValueError, "priorities would make the total priority overflow"),
    ("update-scalar-1e308-to-all", deep_tree_after_a_small_write,
     lambda t: t.update(np.arange(4), 1e308), ValueError, "priorities would make"),
    ("update-max-float-on-top-of-others", hand_tree,
     lambda t: t.update([0, 3], [np.finfo(float).max, np.finfo(float).max / 2]), ValueError,
     "priorities would make"),
    ("update-index-out-of-range", hand_tree, lambda t: t.update([0, 4], [1.0, 1.0]),
     ValueError, "indices out of range"),
    ("update-index-negative", deep_tree_after_a_small_write, lambda t: t.update([-1], [1.0]),
     ValueError, "indices out of range"),
    ("update-index-2**62", deep_tree_after_a_small_write, lambda t: t.update([2**62], [1.0]),
     ValueError, "indices out of range"),
    ("update-index-uint64-2**63", hand_tree,
     lambda t: t.update(np.array([2**63], np.uint64), [1.0]), ValueError, "indices out of range"),
    ("update-index-float", hand_tree, lambda t: t.update([0.5], [1.0]), TypeError, "indices"),
    ("update-index-bool", hand_tree, lambda t: t.update([True], [1.0]), TypeError, "indices"),
    ("update-index-str", hand_tree, lambda t: t.update("0", [1.0]), TypeError, "indices"),
    ("update-index-none", hand_tree, lambda t: t.update(None, [1.0]), TypeError, "indices"),
    ("update-index-ragged", hand_tree, lambda t: t.update([[0], [1, 2]], [1.0]), TypeError,
     "indices"),
    ("update-index-2d", hand_tree, lambda t: t.update([[0, 1]], [1.0, 1.0]), ValueError,
     "indices must be a scalar or 1-D"),
    ("update-priorities-2d", hand_tree, lambda t: t.update([0, 1], [[1.0, 1.0]]), ValueError,
     "priorities must be a scalar or 1-D"),
    ("update-length-mismatch", hand_tree, lambda t: t.update([0, 1, 2], [1.0, 1.0]),
     ValueError, "indices and priorities differ in length"),
    ("update-priorities-str", hand_tree, lambda t: t.update([0], ["1.0"]), TypeError,
     "priorities"),
    ("update-priorities-none", hand_tree, lambda t: t.update([0], None), TypeError, "priorities"),
    ("update-priorities-bool", hand_tree, lambda t: t.update([0, 1], [True, False]), TypeError,
     "priorities"),
    ("update-priorities-ragged", hand_tree, lambda t: t.update([0, 1], [[1.0], [1.0, 2.0]]),
     TypeError, "priorities"),
    ("find-negative", deep_tree_after_a_small_write, lambda t: t.find([1.0, -0.1]), ValueError,
     "values must lie in"),
    ("find-above-total", hand_tree, lambda t: t.find(10.01), ValueError, "values must lie in"),
    ("find-nan", deep_tree_after_a_small_write, lambda t: t.find([np.nan]), ValueError,
     "values must lie in"),
    ("find-inf", hand_tree, lambda t: t.find(np.inf), ValueError, "values must lie in"),
    ("find-str", hand_tree, lambda t: t.find("1.0"), TypeError, "values"),
    ("find-none", hand_tree, lambda t: t.find(None), TypeError, "values"),
    ("find-bool", hand_tree, lambda t: t.find(True), TypeError, "values"),
    ("find-2d", hand_tree, lambda t: t.find([[1.0]]), ValueError, "values must be a scalar"),
    ("find-in-empty-tree", lambda: SumTree(8), lambda t: t.find(0.0), ValueError,
     "values .*total priority is 0"),
    ("getitem-out-of-range", hand_tree, lambda t: t[4], ValueError, "indices out of range"),
    ("getitem-negative", hand_tree, lambda t: t[-1], ValueError, "indices out of range"),
    ("getitem-float", hand_tree, lambda t: t[1.5], TypeError, "indices"),
    ("getitem-str", hand_tree, lambda t: t["a"], TypeError, "indices"),
]


@pytest.mark.parametrize("make, call, error, regex",
                         [pytest.param(*case[1:], id=case[0]) for case in BAD_TREE_INPUTS])
def test_bad_input_to_the_sum_tree_raises_naming_the_argument_and_changes_nothing(
        make, call, error, regex):
    assert_refused_unchanged(make(), call, error, regex)


def test_priorities_that_fill_the_tree_without_overflow_are_accepted():
    tree = SumTree(4)
    tree.update([0, 1], [np.finfo(float).max / 4, np.finfo(float).max / 4])
    assert np.isfinite(tree.total) and tree.find(tree.total / 2) in (0, 1)
    tree.update([0, 1], [1e308, 0.0])  # the bound is close to overflow: computed exactly
    assert tree.total == 1e308


# ------------------------------------------------- the smallest priority
def test_smallest_positive_of_the_hand_drawn_tree_is_its_smallest_leaf(small_tree):
    assert small_tree.smallest_positive() == 1.0
    small_tree.update(0, 0.0)  # a zero leaf is never sampled: it does not count
    assert small_tree.smallest_positive() == 2.0
    small_tree.update(3, 0.5)  # a new, smaller value lowers it without a scan
    assert small_tree.smallest_positive() == 0.5
    small_tree.update(3, 7.0)  # the leaf that held it is overwritten: scanned again
    assert small_tree.smallest_positive() == 2.0


def test_smallest_positive_of_a_tree_of_zeros_is_refused():
    tree = SumTree(8)
    with pytest.raises(ValueError, match="every priority"):
        tree.smallest_positive()
    tree.update([2, 5], [0.0, 0.0])
    with pytest.raises(ValueError, match="every priority"):
        tree.smallest_positive()


def test_a_repeated_index_counts_its_last_value_only_for_the_smallest():
    tree = SumTree(4)
    tree.update([0, 1, 2, 3], [5.0, 6.0, 7.0, 8.0])
    assert tree.smallest_positive() == 5.0
    tree.update([1, 1], [0.1, 9.0])  # 0.1 never lands: 9.0 is the last value for leaf 1
    assert tree.smallest_positive() == 5.0


smallest_operations = st.lists(
    st.tuples(st.lists(st.integers(0, 10_000), min_size=1, max_size=8),
              st.lists(st.sampled_from([0.0, 0.25, 1.0, 2.5, 3.0, 100.0]), min_size=8,
                       max_size=8),
              st.booleans()),
    min_size=1, max_size=40)


@settings(max_examples=150, deadline=None)
@given(capacity=st.integers(1, 200), operations=smallest_operations)
def test_property_cached_smallest_positive_equals_a_scan_of_the_leaves(capacity, operations):
    """Whatever the writes (repeats, zeros, the smallest overwritten up or down) and whenever
    it is asked, the cached value is the smallest positive leaf."""
    tree, reference = SumTree(capacity), np.zeros(capacity)
    for indices, values, ask in operations:
        leaves = np.asarray(indices) % capacity
        tree.update(leaves, np.asarray(values[: leaves.size]))
        for leaf, value in zip(leaves, values):  # the reference: last value wins
            reference[leaf] = value
        if ask and (reference > 0).any():
            assert tree.smallest_positive() == reference[reference > 0].min()


def test_smallest_positive_of_a_deep_tree_matches_a_scan_over_random_writes():
    rng = np.random.default_rng(5)
    capacity = 2**15
    tree, reference = SumTree(capacity), np.zeros(capacity)
    tree.update(np.arange(capacity), 1.0)
    reference[:] = 1.0
    for _ in range(200):
        indices = rng.integers(0, capacity, size=32)
        values = rng.exponential(size=32) + 1e-3
        tree.update(indices, values)
        reference[indices] = values  # distinct positive floats: repeats are rare, last wins
        for leaf in np.unique(indices):
            reference[leaf] = values[np.flatnonzero(indices == leaf)[-1]]
        assert tree.smallest_positive() == reference.min()
