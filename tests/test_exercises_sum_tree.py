"""The checkers of notebook 01's exercises (the sum tree) recognise the likely wrong answers and
say what is wrong; the reference solutions agree with the package on random inputs.

The reference solutions are those of ``solutions/01_sum_tree.py``, loaded as the harness
``tests/test_exercises.py`` loads them.
"""


import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import noisy_helpers as nh
from noisy_helpers.exercises import CORRECT, UNANSWERED, check
from noisy_helpers.exercises.sum_tree import (
    _CountingTree,
    _stratified_expected_counts,
    _visit_order_two_capacity_minus_one,
)
from exercise_kit import assert_wrong, load_solutions  # noqa: E402


SOLUTION = load_solutions("01_sum_tree")


def loop_find(tree, size, v):
    """The notebook's plain walk (section 3): go right iff v >= left sum."""
    node = 1
    while node < size:
        left = tree[2 * node]
        if v >= left:
            v, node = v - left, 2 * node + 1
        else:
            node = 2 * node
    return node - size


def loop_tree(priorities):
    """(nodes, size) of the loop-layout tree of ``priorities``."""
    tree = nh.SumTree(len(priorities))
    tree.update(np.arange(len(priorities)), np.asarray(priorities, dtype=np.float64))
    return np.array(tree.nodes), tree.size


# ----------------------------------------------------------------------------- 01.1
def _range_total_reading_extra(tree, size, lo, hi):
    """Right sums, and a few reads per level more than needed: O(log N), but not two per level."""
    total = SOLUTION.range_total(tree, size, lo, hi)
    for _ in range(2 * size.bit_length()):
        tree[1]
    return total


def _range_total_writing(tree, size, lo, hi):
    """Clears a leaf of the tree it was given."""
    tree[size + lo] = 0.0
    return 0.0


RANGE_TOTAL_MISTAKES = {
    "slice of the leaves (O(N))": (
        lambda tree, size, lo, hi: float(tree[size + lo:size + hi].sum()), "O(N), not O(log N)"),
    "whole array first (O(N))": (
        lambda tree, size, lo, hi: np.asarray(tree)[size + lo:size + hi].sum(),
        "O(N), not O(log N)"),
    "hi included": (lambda tree, size, lo, hi: float(tree[size + lo:size + hi + 1].sum()),
                    "hi is excluded"),
    "lo left out": (lambda tree, size, lo, hi: float(tree[size + lo + 1:size + hi].sum()),
                    "includes lo"),
    "empty range not 0": (
        lambda tree, size, lo, hi: SOLUTION.range_total(tree, size, lo, hi) if lo < hi else 1.0,
        "an empty range"),
    "more than two reads per level": (_range_total_reading_extra, "two per level, 22, are enough"),
    "writes to the tree": (_range_total_writing, "writes to the tree"),
    "returns the leaves": (lambda tree, size, lo, hi: tree[size + lo:size + hi], "3 numbers"),
    "forgets to return": (lambda tree, size, lo, hi: None, "a missing return"),
    "sum of the wrong nodes": (lambda tree, size, lo, hi: float(tree[lo:hi].sum()),
                               "range_total(tree, 8, 2, 5) returned 20, but p_2 + ... + p_4 = 6"),
}


@pytest.mark.parametrize("name", RANGE_TOTAL_MISTAKES)
def test_range_total_wrong_answers_are_explained(name):
    answer, fragment = RANGE_TOTAL_MISTAKES[name]
    assert_wrong(check("01.1", answer), fragment)


def test_range_total_reference_is_correct_and_reports_its_reads():
    verdict = check("01.1", SOLUTION.range_total)
    assert verdict.status == CORRECT, verdict
    assert "O(log N)" in verdict.message and "(two per level: 22)" in verdict.message


def test_range_total_by_hand_on_the_notebooks_tree():
    nodes, size = loop_tree([3, 1, 0, 2, 4, 1, 0, 5])
    tree = _CountingTree(nodes)
    # [2, 6): leaves 2 and 3 are node 5 (one read), leaves 4 and 5 are node 6 (one read).
    assert SOLUTION.range_total(tree, size, 2, 6) == 0 + 2 + 4 + 1
    assert tree.reads == 2
    assert SOLUTION.range_total(nodes, size, 0, 8) == 16  # the root alone
    assert SOLUTION.range_total(nodes, size, 5, 5) == 0


def test_the_counting_tree_counts_every_entry_a_read_returns():
    tree = _CountingTree(np.arange(16.0))
    tree[3], tree[2:7], tree[[1, 1, 2]], np.asarray(tree)
    assert tree.reads == 1 + 5 + 3 + 16
    assert list(tree)[:2] == [0.0, 1.0] and tree.reads == 1 + 5 + 3 + 16 + 16


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 9), min_size=1, max_size=200), st.data())
def test_range_total_reference_sums_any_range_in_two_reads_per_level(priorities, data):
    nodes, size = loop_tree(priorities)
    lo = data.draw(st.integers(0, len(priorities)))
    hi = data.draw(st.integers(lo, len(priorities)))
    tree = _CountingTree(nodes)
    assert SOLUTION.range_total(tree, size, lo, hi) == sum(priorities[lo:hi])
    assert tree.reads <= 2 * size.bit_length()  # 2 (log2(size) + 1)


# ----------------------------------------------------------------------------- 01.2
def _counts_proportional_to_squares(priorities, k):
    """Counts that add up to k and grow with p_i, but as p_i ** 2."""
    squares = np.asarray(priorities) ** 2
    return k * squares / squares.sum()


EXPECTED_COUNT_MISTAKES = {
    "probabilities P(i)": (lambda p, k: p / p.sum(), "probabilities P(i)"),
    "rounded counts": (lambda p, k: np.round(k * p / p.sum()), "need not be a whole number"),
    "not divided by T": (lambda p, k: k * p, "add up to k"),
    "the same for every leaf": (lambda p, k: np.full(len(p), k / len(p)),
                                "every leaf gets the same"),
    "one number": (lambda p, k: k, "one expected count per leaf"),
    "not numbers": (lambda p, k: ["many"] * len(p), "did not return numbers"),
    "wrong weights": (_counts_proportional_to_squares, "should appear"),
}


@pytest.mark.parametrize("name", EXPECTED_COUNT_MISTAKES)
def test_expected_count_wrong_answers_are_explained(name):
    answer, fragment = EXPECTED_COUNT_MISTAKES[name]
    assert_wrong(check("01.2", answer), fragment)


def test_expected_count_by_overlaps_is_as_correct_as_the_closed_form():
    assert check("01.2", SOLUTION.expected_count).status == CORRECT
    assert check("01.2", _stratified_expected_counts).status == CORRECT


def test_stratified_counts_of_the_hand_tree_by_hand():
    # T = 16, k = 4: segments of length 4. Leaf 4 owns [6, 10): half of [4, 8), half of [8, 12).
    counts = _stratified_expected_counts(np.array([3, 1, 0, 2, 4, 1, 0, 5.0]), 4)
    assert counts[4] == pytest.approx(2 / 4 + 2 / 4)
    assert counts[2] == 0 and counts[6] == 0
    assert counts.sum() == pytest.approx(4)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0.0, 10.0), min_size=1, max_size=60).filter(lambda p: sum(p) > 1e-3),
       st.integers(1, 200))
def test_the_exact_overlaps_give_k_p_over_t_as_the_proof_says(priorities, k):
    priorities = np.array(priorities)
    np.testing.assert_allclose(_stratified_expected_counts(priorities, k),
                               SOLUTION.expected_count(priorities, k), rtol=1e-9, atol=1e-9)


# ----------------------------------------------------------------------------- 01.3
RIGHT_3 = (2048, 2.0, [1, 2, 0])
PADDING_MISTAKES = [
    ((1025, 2.0, [1, 2, 0]), "leaves_1025: 1025 is the capacity"),
    ((1024, 2.0, [1, 2, 0]), "one short"),
    ((4096, 2.0, [1, 2, 0]), "entries of the array"),
    ((4095, 2.0, [1, 2, 0]), "that counts the nodes"),
    ((2049, 2.0, [1, 2, 0]), "the original's node count"),
    ((1000, 2.0, [1, 2, 0]), "how does nh.SumTree pad"),
    (("many", 2.0, [1, 2, 0]), "not a number"),
    ((2048, 1025 / 1024, [1, 2, 0]), "not the capacity"),
    ((2048, 0.5, [1, 2, 0]), "upside down"),
    ((2048, 3.0, [1, 2, 0]), "nbytes_for"),
    ((2048, 2.0, [0, 1, 2]), "the order of the slots"),
    ((2048, 2.0, [3, 4, 2]), "node numbers"),
    ((2048, 2.0, [1, 1, 0]), "appears once"),
    ((2048, 2.0, [2, 1, 0]), "not the walk's order"),
    ((2048, 2.0, ["a", "b", "c"]), "a list of data indices"),
]


@pytest.mark.parametrize("answers, fragment", PADDING_MISTAKES)
def test_padded_capacity_wrong_answers_are_explained(answers, fragment):
    assert_wrong(check("01.3", *answers), fragment)


def test_padded_capacity_right_answers_in_any_sequence_type():
    assert check("01.3", *RIGHT_3).status == CORRECT
    assert check("01.3", np.int64(2048), np.float32(2.0), np.array([1, 2, 0])).status == CORRECT
    assert check("01.3", 2048, None, [1, 2, 0]).status == UNANSWERED


def test_the_originals_walk_order_by_hand():
    # Capacity 5: nodes 0..8, leaves 4..8 = data 0..4; node 3 has children 7 and 8.
    assert _visit_order_two_capacity_minus_one(3) == [1, 2, 0]
    assert _visit_order_two_capacity_minus_one(5) == [3, 4, 0, 1, 2]
    assert _visit_order_two_capacity_minus_one(1) == [0]


@settings(deadline=None)
@given(st.integers(1, 300))
def test_the_originals_walk_visits_every_leaf_once_and_in_slot_order_for_powers_of_two(capacity):
    order = _visit_order_two_capacity_minus_one(capacity)
    assert sorted(order) == list(range(capacity))
    if capacity & (capacity - 1) == 0:
        assert order == list(range(capacity))


# ----------------------------------------------------------------------------- 01.4
def _last_positive_by_scanning(tree, size, v):
    """Right leaves, but v = total scans the leaves from the end: O(N)."""
    if v == tree[1]:
        leaf = size - 1
        while tree[size + leaf] == 0:
            leaf -= 1
        return leaf
    return loop_find(tree, size, v)


def _zero_leaf_before_the_last_positive(tree, size, v):
    """The guarded walk, but for v = total a zero leaf just before the last positive one."""
    leaf = SOLUTION.loop_find_closed(tree, size, v)
    if v == tree[1] and leaf > 0 and tree[size + leaf - 1] == 0:
        return leaf - 1
    return leaf


def _original_rule_guarded(tree, size, v):
    """The original's v <= left rule (go left), with the guard: wrong on boundaries."""
    node = 1
    while node < size:
        left, right = tree[2 * node], tree[2 * node + 1]
        if v <= left or right == 0:
            node = 2 * node
        else:
            v, node = v - left, 2 * node + 1
    return node - size


CLOSED_FIND_MISTAKES = {
    "the plain loop_find": (loop_find, "for v = total it returns a padding leaf (7, capacity 6)"),
    "a zero leaf for v = total": (_zero_leaf_before_the_last_positive,
                                  "of priority 0: v = total belongs"),
    "v <= left goes left": (_original_rule_guarded, "below total, agree with loop_find"),
    "a node number": (lambda tree, size, v: SOLUTION.loop_find_closed(tree, size, v) + size,
                      "not a leaf"),
    "the first positive leaf for v = total": (
        lambda tree, size, v: 0 if v == tree[1] else loop_find(tree, size, v),
        "the last leaf of positive priority is 5"),
    "a scan from the end (O(N))": (_last_positive_by_scanning, "O(N), not O(log N)"),
    "no leaf": (lambda tree, size, v: None, "must return a leaf index"),
}


@pytest.mark.parametrize("name", CLOSED_FIND_MISTAKES)
def test_loop_find_closed_wrong_answers_are_explained(name):
    answer, fragment = CLOSED_FIND_MISTAKES[name]
    assert_wrong(check("01.4", answer), fragment)


def test_loop_find_closed_by_hand_on_the_capacity_6_tree():
    nodes, size = loop_tree([3, 1, 0, 2, 4, 1])  # leaves 6 and 7 are padding
    assert loop_find(nodes, size, 11.0) == 7  # section 4: the plain walk falls off the end
    assert SOLUTION.loop_find_closed(nodes, size, 11.0) == 5
    assert SOLUTION.loop_find_closed(nodes, size, 4.0) == 3  # a boundary: the leaf on its right


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 5), min_size=1, max_size=100).filter(lambda p: sum(p) > 0))
def test_loop_find_closed_reference_agrees_with_the_package_on_every_boundary(priorities):
    nodes, size = loop_tree(priorities)
    reference = nh.SumTree(len(priorities))
    reference.update(np.arange(len(priorities)), np.array(priorities, dtype=np.float64))
    values = np.arange(sum(priorities) + 1, dtype=np.float64)  # every boundary, v = total too
    found = [SOLUTION.loop_find_closed(nodes, size, v) for v in values]
    assert found == reference.find(values).tolist()


# ----------------------------------------------------------------------------- 01.5
@pytest.mark.parametrize("answer, fragment", [
    (1.0, "the first write does not win"),
    (3.0, "writes are not added up"),
    (0.0, "which of the two values is left"),
    ("two", "not a number"),
])
def test_repeated_indices_wrong_answers_are_explained(answer, fragment):
    assert_wrong(check("01.5", answer), fragment)


def test_repeated_indices_the_last_write_wins_as_the_package_does():
    tree = nh.SumTree(4)
    tree.update([3, 3], [1.0, 2.0])
    assert tree[3] == SOLUTION.your_leaf_3 == 2.0
    assert check("01.5", 2).status == CORRECT
