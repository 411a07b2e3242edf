"""Checkers for the exercises of notebook 01 (the sum tree).

The trees handed to the learner's functions are in the notebook's loop layout (node 1 the root,
node ``k`` with children ``2k`` and ``2k + 1``, leaf ``i`` at node ``size + i``): that is the
layout of ``nh.SumTree``, so they are copies of ``nh.SumTree(capacity).nodes``. Priorities are
small integers wherever sums are compared, so that every sum is an exact float and the answers
must agree exactly.
"""

from __future__ import annotations

import numpy as np

from . import Wrong, exercise

#: The hand tree of section 2 of the notebook.
_P_HAND = (3.0, 1.0, 0.0, 2.0, 4.0, 1.0, 0.0, 5.0)


class _CountingTree:
    """A loop-layout tree that counts the nodes read from it, and refuses writes.

    ``tree[k]`` counts one read; a slice or an index array counts the entries it returns;
    iterating or converting to an array (``np.asarray(tree)``) counts every node.
    """

    def __init__(self, nodes):
        self._nodes = np.array(nodes, dtype=np.float64)
        self._nodes.flags.writeable = False
        self.reads = 0

    def __len__(self) -> int:
        """The number of nodes, ``2 * size`` (node 0 unused)."""
        return len(self._nodes)

    @property
    def shape(self) -> tuple:
        """The shape of the node array, ``(2 * size,)``, as numpy gives it."""
        return self._nodes.shape

    @property
    def size(self) -> int:
        """The number of nodes, ``2 * size`` (numpy's ``size``, not the tree's)."""
        return self._nodes.size

    @property
    def dtype(self):
        """float64, as the notebook's trees."""
        return self._nodes.dtype

    def __getitem__(self, key):
        """The nodes at ``key`` (an int, a slice or an index array), counted as read."""
        values = self._nodes[key]
        self.reads += int(np.size(values))
        return values.copy() if isinstance(values, np.ndarray) else values

    def __iter__(self):
        """Every node in turn, each counted as read."""
        for node in range(len(self._nodes)):
            yield self[node]

    def __array__(self, dtype=None, copy=None):
        """A copy of every node (``np.asarray(tree)``): all of them count as read."""
        self.reads += self._nodes.size
        return np.array(self._nodes, dtype=dtype)

    def __setitem__(self, key, value):
        """Refused: the learner's function must only read the tree."""
        raise Wrong("your function writes to the tree: it must only read it")


def _loop_tree(priorities) -> tuple[np.ndarray, int]:
    """``(nodes, size)`` of the loop-layout tree holding ``priorities``, built by
    ``nh.SumTree`` (the same layout and the same additions as the notebook's loop version)."""
    from ..sum_tree import SumTree

    tree = SumTree(len(priorities))
    tree.update(np.arange(len(priorities)), np.asarray(priorities, dtype=np.float64))
    return np.array(tree.nodes), tree.size


def _one_number(value, what: str) -> float:
    """``value`` as a float, or :class:`Wrong` saying that it must be one number; ``what``
    introduces it, e.g. ``"range_total(tree, 8, 2, 5) returned"`` or ``"leaves_1025 is"``."""
    if value is None:
        raise Wrong(f"{what} None: it must be a number (a missing return?)")
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise Wrong(f"{what} {value!r}, not a number") from None
    if array.size != 1:
        raise Wrong(f"{what} {array.size} numbers (shape {array.shape}), not one")
    return float(array.reshape(-1)[0])


# ----------------------------------------------------------------------------- 01.1
def _range_cases() -> list:
    """``(priorities, [(lo, hi), ...])`` cases: the hand tree (a harmless range first, so that
    an off-by-one shows as such), random integer trees of 1 to 300 leaves with empty and full
    ranges, and a tree of 1000 leaves (1024 after padding) whose long ranges tell O(N) reads
    from O(log N)."""
    cases = [(np.array(_P_HAND), [(2, 5), (1, 7), (0, 8), (3, 3), (0, 1), (7, 8), (4, 6)])]
    rng = np.random.default_rng(11)
    for capacity in [1, 2, 3, 5, 64, 100, 257] + rng.integers(1, 300, size=13).tolist():
        priorities = rng.integers(0, 10, size=capacity).astype(np.float64)
        ranges = [tuple(sorted(rng.integers(0, capacity + 1, size=2).tolist())) for _ in range(8)]
        empty = int(rng.integers(0, capacity + 1))
        cases.append((priorities, ranges + [(0, capacity), (empty, empty)]))
    big = np.random.default_rng(12).integers(0, 10, size=1000).astype(np.float64)
    cases.append((big, [(1, 1000), (0, 1000), (17, 900), (511, 513), (0, 0)]))
    return cases


def _range_mistake(answer: float, priorities, lo: int, hi: int, size: int) -> str:
    """What is wrong with ``answer`` as the sum of ``priorities[lo:hi]``: the likely mistakes
    first, then the plain difference."""
    if lo == hi:
        return f"an empty range (lo = hi = {lo}) sums to 0, got {answer:g}"
    if hi < len(priorities) and answer == priorities[lo : hi + 1].sum():
        return (f"for lo = {lo}, hi = {hi} that includes p_{hi}: the range is [lo, hi), hi is "
                f"excluded")
    if answer == priorities[lo + 1 : hi].sum():
        return f"for lo = {lo}, hi = {hi} that leaves out p_{lo}: the range [lo, hi) includes lo"
    return (f"range_total(tree, {size}, {lo}, {hi}) returned {answer:g}, but p_{lo} + ... + "
            f"p_{hi - 1} = {priorities[lo:hi].sum():g}")


@exercise("01.1", "The sum of a range")
def range_total(answer) -> str:
    """``answer(tree, size, lo, hi)`` must return ``p_lo + ... + p_{hi-1}`` (0 for an empty range)
    from a loop-layout tree, reading at most two nodes per level: ``2 (log2(size) + 1)`` (the
    bottom-up walk of the hint reads at most one node at each end of the range per level)."""
    reads = []  # (reads, budget, size, lo, hi) per call
    for priorities, ranges in _range_cases():
        nodes, size = _loop_tree(priorities)
        depth = size.bit_length() - 1
        budget = 2 * (depth + 1)  # two per level, log2(size) + 1 levels
        for lo, hi in ranges:
            tree = _CountingTree(nodes)
            value = _one_number(answer(tree, size, lo, hi),
                                f"range_total(tree, {size}, {lo}, {hi}) returned")
            if value != priorities[lo:hi].sum():
                raise Wrong(_range_mistake(value, priorities, lo, hi, size))
            reads.append((tree.reads, budget, size, lo, hi))
    over = [entry for entry in reads if entry[0] > entry[1]]
    longest = max(reads, key=lambda entry: (entry[2], entry[4] - entry[3]))  # big tree, long range
    if over:
        count, budget, size, lo, hi = longest if longest[0] > longest[1] else over[0]
        if count >= (hi - lo) / 2:
            raise Wrong(f"right sums, but it read {count} nodes for a range of {hi - lo} leaves "
                        f"(tree of {size} leaves): O(N), not O(log N)")
        raise Wrong(f"right sums, but it read {count} nodes for [{lo}, {hi}) in a tree of {size} "
                    f"leaves; two per level, {budget}, are enough")
    count, budget, size, lo, hi = max(entry for entry in reads if entry[2] == longest[2])
    return (f"right sums in O(log N): at most {count} node reads per range in a tree of {size} "
            f"leaves (two per level: {budget}), where a slice of [1, 1000) reads 999")


# ----------------------------------------------------------------------------- 01.2
def _stratified_expected_counts(priorities, k: int) -> np.ndarray:
    """Exact E[number of times leaf i is drawn] when one v_j is drawn uniformly in each of the k
    equal segments S_j = [jT/k, (j+1)T/k) of [0, T) (Schaul et al. 2016, Appendix B.2.1):
    Pr(v_j in I_i) = |I_i ∩ S_j| / (T/k), summed over j. No closed form is assumed."""
    bounds = np.concatenate(([0.0], np.cumsum(priorities)))  # I_i = [bounds[i], bounds[i + 1])
    strata = np.linspace(0.0, bounds[-1], k + 1)
    overlap = (np.minimum(bounds[1:, None], strata[None, 1:])
               - np.maximum(bounds[:-1, None], strata[None, :-1])).clip(min=0)  # |I_i ∩ S_j|
    return (overlap / (bounds[-1] / k)).sum(axis=1)


def _count_cases() -> list:
    """``(priorities, k)`` cases: the hand tree with k = 5 first (there P(i) and k P(i) differ),
    then random trees with zeros, k smaller and larger than the number of leaves."""
    cases = [(np.array(_P_HAND), 5), (np.array(_P_HAND), 64), (np.ones(6), 4)]
    rng = np.random.default_rng(21)
    for n, k in [(1, 3), (10, 64), (37, 5), (200, 64), (13, 1), (50, 7)]:
        priorities = rng.uniform(0.0, 2.0, size=n) * (rng.random(n) > 0.2)
        priorities[0] += 0.5  # a positive total
        cases.append((priorities, k))
    return cases


def _close(a, b) -> bool:
    """Equal up to rounding (the counts are sums of float overlaps)."""
    return bool(np.allclose(a, b, rtol=1e-9, atol=1e-9))


@exercise("01.2", "Stratified sampling keeps P(i)")
def expected_count(answer) -> str:
    """``answer(priorities, k)`` must return, for every leaf, the expected number of times it
    appears in a batch of k stratified draws; compared with the exact sum over segments of
    |I_i ∩ S_j| / (T/k) (which the proof shows is k p_i / T)."""
    for priorities, k in _count_cases():
        truth = _stratified_expected_counts(priorities, k)
        call = f"expected_count(p, {k}) with {len(priorities)} leaves"
        try:
            counts = np.asarray(answer(priorities.copy(), k), dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise Wrong(f"{call} did not return numbers ({error})") from None
        if counts.shape != truth.shape:
            raise Wrong(f"{call} returned shape {counts.shape}: one expected count per leaf, "
                        f"shape {truth.shape}")
        if _close(counts, truth):
            continue
        total = priorities.sum()
        if _close(counts, priorities / total):
            raise Wrong("those are the probabilities P(i) of one draw; the expected count in a "
                        "batch of k multiplies by k")
        if any(_close(counts, rounded(truth)) for rounded in (np.round, np.floor, np.ceil)):
            raise Wrong("an expected count need not be a whole number: do not round it")
        if not np.isclose(counts.sum(), k):
            raise Wrong(f"the expected counts of a batch of k = {k} add up to k; yours add up "
                        f"to {counts.sum():.6g}")
        if np.ptp(counts) == 0:
            raise Wrong("every leaf gets the same count: a leaf of larger priority must appear "
                        "more often")
        leaf = int(np.argmax(np.abs(counts - truth)))
        raise Wrong(f"{call}: leaf {leaf} (p = {priorities[leaf]:.4g}, total {total:.4g}) "
                    f"should appear {truth[leaf]:.6g} times on average, got {counts[leaf]:.6g}")
    return ("E[count of leaf i] = k p_i / T: a batch entry picked at random is leaf i with "
            "P(i) = p_i / T")


# ----------------------------------------------------------------------------- 01.3
def _visit_order_two_capacity_minus_one(capacity: int) -> list:
    """The data indices of the leaves of the original's layout (``2 * capacity - 1`` nodes, root
    0, node k with children 2k + 1 and 2k + 2, leaf nodes capacity - 1 ... 2 capacity - 2 holding
    data 0 ... capacity - 1) in the order a left-to-right walk visits them."""
    n_nodes = 2 * capacity - 1
    order, stack = [], [0]
    while stack:  # depth first, left child before right
        node = stack.pop()
        if 2 * node + 1 < n_nodes:
            stack += [2 * node + 2, 2 * node + 1]
        else:
            order.append(node - (capacity - 1))
    return order


@exercise("01.3", "Capacities that are not powers of two")
def padded_capacities(leaves_1025, memory_ratio, visit_order) -> str:
    """(a) the leaves of ``nh.SumTree(1025)`` and its memory over that of capacity 1024, both
    from the package; (c) the original's capacity-3 leaves in walk order, by building its
    layout. (b), and the worst-case ratio, are written answers."""
    from ..sum_tree import SumTree

    leaves = SumTree(1025).size
    ratio = SumTree.nbytes_for(1025) / SumTree.nbytes_for(1024)
    order = _visit_order_two_capacity_minus_one(3)

    value = _one_number(leaves_1025, "leaves_1025 is")
    if value != leaves:
        mistakes = {1025: "1025 is the capacity: the leaves are padded up to a power of two",
                    1024: "1024 leaves hold only 1024 priorities, one short",
                    2 * leaves: "that counts the entries of the array (2 × size): the question "
                                "asks for the leaves",
                    2 * leaves - 1: "that counts the nodes: the question asks for the leaves",
                    2 * 1025 - 1: "that is the original's node count (2 × capacity − 1): "
                                  "nh.SumTree pads the leaves to a power of two"}
        raise Wrong("leaves_1025: " + mistakes.get(value, "how does nh.SumTree pad the capacity?"))
    value = _one_number(memory_ratio, "memory_ratio_1025_over_1024 is")
    if not np.isclose(value, ratio):
        if np.isclose(value, 1025 / 1024):
            raise Wrong("memory_ratio_1025_over_1024: the memory follows the padded number of "
                        "leaves, not the capacity")
        if np.isclose(value, 1 / ratio):
            raise Wrong("memory_ratio_1025_over_1024: that is upside down, 1024 over 1025")
        raise Wrong("memory_ratio_1025_over_1024: compare nh.SumTree.nbytes_for(1025) with "
                    "nh.SumTree.nbytes_for(1024)")
    try:
        answer = [int(i) for i in np.asarray(visit_order).reshape(-1)]
    except (TypeError, ValueError):
        raise Wrong(f"visit_order_capacity_3 must be a list of data indices, got "
                    f"{visit_order!r}") from None
    if answer != order:
        if sorted(answer) == [2, 3, 4]:
            raise Wrong("visit_order_capacity_3: those are node numbers; give data indices "
                        "(node − (capacity − 1))")
        if answer == sorted(order):
            raise Wrong("visit_order_capacity_3: that is the order of the slots; with 5 nodes the "
                        "leaves sit on two depths: draw the tree")
        if sorted(answer) != sorted(order):
            raise Wrong("visit_order_capacity_3: each of the data indices 0, 1, 2 appears once")
        raise Wrong("visit_order_capacity_3: not the walk's order; draw the 5 nodes with "
                    "children 2k + 1 and 2k + 2")
    return (f"{leaves} leaves, {ratio:g} times the memory of capacity 1024; the original's "
            f"capacity-3 walk visits data {order}: rotated, each interval still of length p_i")


# ----------------------------------------------------------------------------- 01.4
def _closed_find_cases() -> list:
    """Integer priorities with zeros at the end: capacity 6 (two padding leaves, the example
    of section 4), capacity 8 with a zero last leaf (no padding), a zero first leaf, random
    trees with zero tails, and a tree of 1000 leaves for the node count."""
    cases = [np.array(_P_HAND[:6]), np.array(_P_HAND[:7] + (0.0,)), np.array([0.0, 2.0, 3.0, 1.0])]
    rng = np.random.default_rng(31)
    while len(cases) < 20:
        capacity = int(rng.integers(2, 50))
        priorities = rng.integers(0, 4, size=capacity).astype(np.float64)
        priorities[-int(rng.integers(1, capacity)):] = 0.0  # a tail of zeros
        if priorities.sum() > 0:
            cases.append(priorities)
    big = np.zeros(1000)
    big[:300] = np.random.default_rng(32).integers(1, 10, size=300)
    cases.append(big)
    return cases


@exercise("01.4", "Close the end of the interval")
def loop_find_closed(answer) -> str:
    """``answer(tree, size, v)`` on loop-layout trees with zero tails must agree with
    ``nh.SumTree.find`` for v = total (the last leaf of positive priority) and for v in
    [0, total) (every integer, which hits every boundary, and random values), reading a few
    nodes per level."""
    from ..sum_tree import SumTree

    rng = np.random.default_rng(33)
    largest = (0, 0, 0)  # (reads, size, capacity) of a call on the largest tree
    for priorities in _closed_find_cases():
        capacity = len(priorities)
        reference = SumTree(capacity)
        reference.update(np.arange(capacity), priorities)
        nodes, size = _loop_tree(priorities)
        total = reference.total
        values = [total]
        if capacity < 1000:
            values += np.arange(int(total), dtype=np.float64).tolist()
        values += rng.uniform(0.0, total, size=20).tolist()
        for v in values:
            tree = _CountingTree(nodes)
            found = answer(tree, size, v)
            try:
                leaf = int(found)
            except (TypeError, ValueError):
                raise Wrong(f"loop_find_closed must return a leaf index, got {found!r}") from None
            truth = reference.find(v)
            if leaf != truth:
                priority = nodes[size + leaf] if 0 <= leaf < size else None
                if not 0 <= leaf < size:
                    raise Wrong(f"for v = {v:g} it returns {leaf}, which is not a leaf of a tree "
                                f"of {size} leaves")
                if v == total:
                    if leaf >= capacity:
                        raise Wrong(f"for v = total it returns a padding leaf ({leaf}, capacity "
                                    f"{capacity}): v = total belongs to the last leaf of positive "
                                    f"priority")
                    if priority == 0:
                        raise Wrong(f"for v = total it returns leaf {leaf}, of priority 0: "
                                    f"v = total belongs to the last leaf of positive priority")
                    raise Wrong(f"for v = total it returns leaf {leaf}; the last leaf of positive "
                                f"priority is {truth}")
                if priority == 0:
                    raise Wrong(f"for v = {v:g} < total it returns leaf {leaf}, of priority 0: a "
                                f"boundary belongs to the leaf on its right")
                raise Wrong(f"for v = {v:g} < total it returns leaf {leaf}, but prefix(i) <= v < "
                            f"prefix(i + 1) holds for leaf {truth}: below total, agree with "
                            f"loop_find")
            if size > largest[1] or (size == largest[1] and tree.reads > largest[0]):
                largest = (tree.reads, size, capacity)
    reads, size, capacity = largest
    depth = size.bit_length() - 1
    if reads > 4 * (depth + 1):
        raise Wrong(f"right leaves, but it read {reads} nodes for one v in a tree of {size} "
                    f"leaves (depth {depth}): O(N), not O(log N)")
    return (f"v = total gives the last leaf of positive priority, in {reads} node reads at most "
            f"on a tree of {size} leaves (depth {depth})")


# ----------------------------------------------------------------------------- 01.5
@exercise("01.5", "Repeated indices in one batch")
def repeated_indices(answer) -> str:
    """The priority left in leaf 3 by ``nh.SumTree(4).update([3, 3], [1.0, 2.0])``, found by
    running it: the last write wins, as if the updates ran one after the other."""
    from ..sum_tree import SumTree

    tree = SumTree(4)
    tree.update([3, 3], [1.0, 2.0])
    truth = tree[3]
    value = _one_number(answer, "your_leaf_3 is")
    if value == truth:
        return (f"{truth}: the last write wins, as with the two updates made one by one (numpy "
                f"does not promise which of two writes to one index lands: nh.SumTree.update "
                f"checks after writing)")
    if value == 1.0:
        raise Wrong("the first write does not win: a batched update must mean the same as the "
                    "same updates made one by one")
    if value == 3.0:
        raise Wrong("writes are not added up: update sets a priority, it does not add to it")
    raise Wrong("update([3, 3], [1.0, 2.0]) sets leaf 3 twice: which of the two values is left?")
