"""Reference solutions for notebook 01 (the sum tree).

Each name is the one the notebook's exercise cell defines; ``nh.exercises.check("01.k", ...)``,
called as in the notebook, says "correct" on them.
"""

import numpy as np

import noisy_helpers as nh

# Exercise 1
# Bottom-up over the half-open range of nodes [lo, hi) of one level. A left end that is a right
# child (odd) is not covered by its parent's range: add it alone and step right. A right end hi
# that is odd means node hi - 1 is a left child whose parent would reach beyond the range: step
# left and add it. Then both ends move up a level. At most one read per end per level:
# 2 (log2(size) + 1) reads.


def range_total(tree, size, lo, hi):
    """p_lo + ... + p_{hi-1} from a loop-layout tree (0 when lo == hi): O(log N) reads."""
    total = 0.0
    lo, hi = lo + size, hi + size
    while lo < hi:
        if lo % 2 == 1:
            total += tree[lo]
            lo += 1
        if hi % 2 == 1:
            hi -= 1
            total += tree[hi]
        lo, hi = lo // 2, hi // 2
    return total


# Exercise 2
# Proof. Leaf i owns I_i = [prefix(i), prefix(i+1)), of length p_i. The draw v_j is uniform on
# S_j, of length T/k, so Pr(v_j ∈ I_i) = |I_i ∩ S_j| / (T/k). The count of leaf i is
# Σ_j 1[v_j ∈ I_i], so E[count_i] = Σ_j |I_i ∩ S_j| · k/T = |I_i| · k/T = k p_i / T, because
# the S_j partition [0, T). A batch entry picked uniformly among the k is leaf i with probability
# E[count_i] / k = p_i / T = P(i).
# Bound: leaf i can appear only in draws whose segment meets I_i, at most one per segment. An
# interval of length p_i meets at most ⌈p_i / (T/k)⌉ + 1 segments of length T/k (one more than
# it covers, when it straddles boundaries at both ends). With independent draws the count is
# Binomial(k, P(i)) and can reach k; stratified, it stays within about one of k P(i).


def expected_count(priorities, k):
    """E[number of times each leaf appears in a stratified batch of k]: k p_i / T."""
    priorities = np.asarray(priorities, dtype=np.float64)
    return k * priorities / priorities.sum()


# Exercise 3
# (a) 1025 is padded to 2048 leaves: twice the memory of capacity 1024. In general
#     size < 2 × capacity, so padding costs less than a factor 2; the worst case is just above
#     a power of two (capacity 2**m + 1 gets 2**(m+1) leaves, a ratio close to 2). With 2 × size
#     nodes, the tree is under 4 × capacity float64 numbers.
# (b) Padding leaves hold 0. Any walk keeps 0 <= v < sum(node) (section 3), so every node it
#     visits, the leaf included, has a positive sum: a padding leaf never is. For v = total the
#     invariant fails at the root, and nh.SumTree redoes that walk with the guard (go right only
#     into a positive subtree), which again visits only positive nodes.
# (c) Capacity 3: 5 nodes. Node 0 has children 1 and 2; node 1 has children 3 and 4; node 2 has
#     none. The leaves are nodes 2, 3, 4 = data 0, 1, 2 (node − (capacity − 1)):
#
#             0
#           /   \
#          1     2 (data 0)
#         / \
#  (data 1) 3   4 (data 2)
#
#     A left-to-right walk visits data 1, 2, 0: rotated, and on two depths, but each leaf's
#     interval still has length p_i.
leaves_1025 = nh.SumTree(1025).size
memory_ratio_1025_over_1024 = nh.SumTree.nbytes_for(1025) / nh.SumTree.nbytes_for(1024)
visit_order_capacity_3 = [1, 2, 0]


# Exercise 4
# Going right only into a positive subtree keeps every visited node positive, so the leaf is
# positive too. For v < total nothing changes: the walk keeps v < sum(node), so v >= left means
# right = sum(node) − left > v − left >= 0. For v = total, every step keeps v = sum(node), and
# the walk goes right whenever the right subtree holds anything: the last positive leaf.
# For integer priorities (exact sums) that is enough. For floats, v − left can round up to (or
# past) the right child's sum, so v leaves the invariant; nh.SumTree clamps v just below the sum
# of the child it enters (np.nextafter) so that every later comparison is made with a v inside
# that child's interval.


def loop_find_closed(tree, size, v):
    """Like loop_find, for v in [0, total]: v == total gives the last leaf of positive priority."""
    node = 1
    while node < size:
        left, right = tree[2 * node], tree[2 * node + 1]
        if v >= left and right > 0:  # go right only into a subtree with positive priority
            v, node = v - left, 2 * node + 1
        else:
            node = 2 * node
    return node - size


# Exercise 5
# The last write should win: update([3, 3], [1.0, 2.0]) must mean update(3, 1.0) then
# update(3, 2.0). numpy does not promise which of two writes to one index lands in
# tree[nodes] = values, so nh.SumTree reads the leaves back after writing and, if a repeated
# index kept the wrong value, writes each index's last value once (np.unique on the reversed
# indices). Leaf 3 holds 2.0.
your_leaf_3 = 2.0
