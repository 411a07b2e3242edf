"""The baseline for ``bench_replay.py``: a pure-Python sum tree and memory written
the way the original notebook wrote them (one Python loop per sample and per
tree node, a linear scan of all leaves for the max priority on every store).

It keeps the original's algorithm and costs but not its bugs that would crash
or skew a benchmark: it draws from a seeded ``numpy.random.Generator``, and it
normalises the IS weights with ``np.max`` instead of a TensorFlow op. Only the
benchmark uses it; it is not part of ``noisy_helpers``.
"""

import numpy as np


class OriginalSumTree:
    """Leaves at ``capacity - 1 ...``, node ``k``'s parent at ``(k - 1) // 2``."""

    def __init__(self, capacity):
        self.capacity = capacity
        self.tree = np.zeros(2 * capacity - 1)
        self.data = np.zeros(capacity, dtype=object)
        self.data_pointer = 0

    def add(self, priority, data):
        tree_index = self.data_pointer + self.capacity - 1
        self.data[self.data_pointer] = data
        self.update(tree_index, priority)
        self.data_pointer += 1
        if self.data_pointer >= self.capacity:
            self.data_pointer = 0

    def update(self, tree_index, priority):
        change = priority - self.tree[tree_index]
        self.tree[tree_index] = priority
        while tree_index != 0:
            tree_index = (tree_index - 1) // 2
            self.tree[tree_index] += change

    def get_leaf(self, v):
        parent_index = 0
        while True:
            left_child_index = 2 * parent_index + 1
            right_child_index = left_child_index + 1
            if left_child_index >= len(self.tree):
                leaf_index = parent_index
                break
            if v <= self.tree[left_child_index]:
                parent_index = left_child_index
            else:
                v -= self.tree[left_child_index]
                parent_index = right_child_index
        data_index = leaf_index - self.capacity + 1
        return leaf_index, self.tree[leaf_index], self.data[data_index]

    @property
    def total_priority(self):
        return self.tree[0]


class OriginalMemory:
    """The original ``Memory``: transitions as Python objects in the tree's data array."""

    PER_e = 0.01
    PER_a = 0.6
    absolute_error_upper = 1.0

    def __init__(self, capacity, seed=0):
        self.tree = OriginalSumTree(capacity)
        self.rng = np.random.default_rng(seed)

    def store(self, experience):
        max_priority = np.max(self.tree.tree[-self.tree.capacity :])
        if max_priority == 0:
            max_priority = self.absolute_error_upper
        self.tree.add(max_priority, experience)

    def sample(self, n, beta):
        memory_b = []
        b_idx = np.empty((n,), dtype=np.int32)
        b_is_weights = np.empty((n, 1), dtype=np.float32)
        priority_segment = self.tree.total_priority / n
        for i in range(n):
            a, b = priority_segment * i, priority_segment * (i + 1)
            value = self.rng.uniform(a, b)
            index, priority, data = self.tree.get_leaf(value)
            sampling_probabilities = priority / self.tree.total_priority
            b_is_weights[i] = np.power(n * sampling_probabilities, -beta)
            b_idx[i] = index
            memory_b.append([data])
        b_is_weights = b_is_weights / np.max(b_is_weights)
        return b_idx, memory_b, b_is_weights

    def batch_update(self, tree_idx, abs_errors):
        abs_errors = abs_errors + self.PER_e
        clipped_errors = np.minimum(abs_errors, self.absolute_error_upper)
        ps = np.power(clipped_errors, self.PER_a)
        for ti, p in zip(tree_idx, ps):
            self.tree.update(ti, p)
