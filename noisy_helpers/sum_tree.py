"""A sum tree: the data structure behind proportional prioritized replay.

Taught in ``notebooks/01_sum_tree.ipynb``.

Prioritized replay (Schaul et al. 2016, §3.3) samples transition ``i`` with
probability ``P(i) = p_i / Σ_k p_k``.  A sum tree keeps the priorities ``p_i`` in
its leaves and, in every inner node, the sum of the leaves below it.  Then

* the total ``Σ_k p_k`` is the root, read in O(1);
* changing one priority touches one node per level, O(log N);
* finding the leaf ``i`` with ``prefix(i) <= v < prefix(i + 1)`` (where
  ``prefix(i) = p_0 + ... + p_{i-1}``) walks from the root to a leaf, O(log N).
  Drawing ``v ~ U[0, total)`` and finding its leaf samples ``i`` with
  probability ``P(i)``.

Layout.  The leaves are padded to the next power of two, ``size``.  Node 1 is
the root, node ``k`` has children ``2k`` and ``2k + 1``, and leaf ``i`` is node
``size + i``.  Padding leaves hold 0 and are never returned.  Seen as pairs,
``tree.reshape(-1, 2)[k]`` is exactly the two children of node ``k``, which
lets one numpy gather read both children for a whole batch at once.

Every operation works on a whole batch per tree level: there is no Python loop
over the batch or over the leaves, only over the ~log2(N) levels.  Near the
root the levels are small, so there the work is done per whole level instead:
``find`` binary-searches the prefix sums of level 10 (1024 nodes) in one call
instead of walking 10 levels, and a write recomputes levels 10 and 11 with one
``np.add`` of contiguous slices per level.  Levels 0-9 (1023 nodes), which that
search never reads, are recomputed the same way only when something reads them
(``total``, ``nodes``, the guarded walk), so a training loop that samples after
every write skips them.  Below level 12, a write recomputes up
to four levels per step: the 16 descendants of a node four levels down are one
contiguous row, gathered in one call, and each level's new sums are one add
and one scatter of whole rows (see ``SumTree._write_plan``).  At capacity 2**20
the cost is the number of numpy calls and what each call costs, not
arithmetic, so the code keeps them few and cheap: preallocated buffers, views
built once, in-place operators, ``a[i]`` rather than ``a.take(i)`` in the walk, a
positional ``out`` rather than ``out=`` (on 64 numbers the keyword parsing
costs more than the work), and a search that also returns the smallest
priority found, which the IS weights need and which flags a zero leaf.

Floating point.  Parents are always *recomputed* from their children
(``parent = left + right``), never updated by adding a delta.  Delta updates
drift: after millions of ``+= new - old`` a parent no longer equals the sum of
its children, and a subtree whose leaves are all 0 can keep a tiny positive
sum, so that zero-priority leaves get sampled.  Recomputing keeps every node
equal to ``fl(left + right)`` exactly, so a subtree of zeros sums to exactly 0.
"""

from __future__ import annotations

import math

import numpy as np

from ._memory import allocate, check_memory

__all__ = ["SumTree"]

# Near the root the levels are small enough to handle whole: ``find`` takes
# the prefix sums of level 10 (1024 nodes) in one call, and a write recomputes
# levels 10..11 slice by slice, which costs less than gathering and scattering
# the touched nodes there; levels 0..9 wait until they are read.  (Measured at
# capacity 2**20.)
_FIND_TOP_LEVELS = 10
_WRITE_TOP_LEVELS = 12
# Below the top block a write recomputes up to this many levels per step: one
# gather of each touched ancestor's row of 2**4 descendants, then one add and
# one scatter per level.
_WRITE_STEP_LEVELS = 4
# A write of at least size / 64 leaves recomputes every level whole instead
# (cheaper than gathering rows for so many nodes).
_WHOLE_WRITE_FRACTION = 64
# At most this many batch sizes keep their preallocated write buffers.
_WRITE_PLANS_KEPT = 8


def _rows(array: np.ndarray, width: int) -> np.ndarray:
    """A 1-D view of a C-contiguous ``array`` whose element ``g`` is the row of
    ``width`` float64 starting at ``array.flat[g * width]``, as one opaque item:
    then ``rows[g] = ...`` and ``rows.take(g)`` move whole rows in one 1-D call."""
    if width == 1:
        return array.reshape(-1)
    return array.view(np.dtype((np.void, 8 * width))).reshape(-1)


_INT64 = np.dtype(np.int64)
# A write is refused when the root could reach this: below it a sum of non-negative
# floats cannot round up to inf (rounding adds far less than a factor of 2).
_SAFE_TOTAL = np.finfo(np.float64).max / 2


def _check_capacity(capacity) -> int:
    """``capacity`` as an int >= 1, or raise ``TypeError``/``ValueError`` naming it."""
    if isinstance(capacity, (bool, np.bool_)) or not isinstance(capacity, (int, np.integer)):
        raise TypeError(f"capacity must be an int, got {capacity!r}")
    if capacity < 1:
        raise ValueError(f"capacity must be >= 1, got {capacity}")
    return int(capacity)


def _as_float_array(values, name: str) -> np.ndarray:
    """``values`` as a float64 array; numbers only (no bools, strings or objects)."""
    try:
        array = np.asarray(values)
    except (ValueError, TypeError):  # e.g. ragged lists
        raise TypeError(f"{name} must be numbers, got {values!r}") from None
    if array.dtype.kind not in "iuf" and (array.size or array.dtype.kind != "O"):
        raise TypeError(f"{name} must be numbers, got dtype {array.dtype} ({values!r})")
    return array.astype(np.float64, copy=False)


def _as_index_array(indices, capacity: int, name: str = "indices") -> np.ndarray:
    """Return ``indices`` as a 1-D int64 array, or raise ``ValueError``/``TypeError``."""
    if type(indices) is np.ndarray and indices.dtype is _INT64 and indices.ndim == 1:
        array = indices  # the common case, e.g. a Batch's indices: no conversion
    else:
        try:
            array = np.asarray(indices)
        except (ValueError, TypeError):  # e.g. ragged lists
            raise TypeError(f"{name} must be integers, got {indices!r}") from None
        if array.dtype.kind not in "iu" and (array.size or array.dtype.kind not in "fO"):
            raise TypeError(f"{name} must be integers, got dtype {array.dtype} ({indices!r})")
        if array.ndim > 1:
            raise ValueError(f"{name} must be a scalar or 1-D, got shape {array.shape}")
        array = array.reshape(-1).astype(np.int64, copy=False)
    # One reduction checks both ends: seen as unsigned, a negative index is huge.
    if array.size and array.view(np.uint64).max() >= capacity:
        bad = array[(array < 0) | (array >= capacity)][0]
        raise ValueError(f"{name} out of range [0, {capacity}): got {bad}")
    return array


class SumTree:
    """A binary sum tree over ``capacity`` non-negative priorities (all 0 at first).

    >>> tree = SumTree(4)
    >>> tree.update([0, 1, 2, 3], [1.0, 2.0, 3.0, 4.0])
    >>> tree.total
    10.0
    >>> tree.find([0.0, 0.99, 1.0, 2.5, 9.99]).tolist()
    [0, 0, 1, 1, 3]
    """

    def __init__(self, capacity: int):
        self.capacity = _check_capacity(capacity)
        #: Number of leaves after padding to a power of two.
        self.size = 1 << (self.capacity - 1).bit_length()
        #: Number of levels below the root (the root is level 0, leaves level depth).
        self.depth = self.size.bit_length() - 1
        # A capacity too big to allocate is a ValueError naming it, not a MemoryError.
        check_memory(f"capacity={capacity}", self.nbytes_for(self.capacity))
        # Node 0 is unused so that node k's children are 2k and 2k + 1.
        self._tree = allocate(f"capacity={capacity}", 2 * self.size, np.float64)
        self._pairs = self._tree.reshape(-1, 2)  # _pairs[k] == children of node k
        self._leaves = self._tree[self.size :]  # leaf i is _leaves[i] (contiguous view)
        #: ``find`` searches the prefix sums of level ``top_levels`` in one step.
        self.top_levels = min(self.depth, _FIND_TOP_LEVELS)
        first = 1 << self.top_levels
        self._top_level = self._tree[first : 2 * first]  # a view, reused on every call
        self._top_bounds = np.zeros(first + 1)  # room for its prefix sums
        self._top_inclusive = self._top_bounds[1:]  # bounds[j + 1] = sum of nodes 0..j
        # The inclusive sums but the last: a search in them never returns ``first``,
        # so v == total (or rounding past the last sum) lands in the last node.
        self._top_search = self._top_bounds[1:-1]
        # For each level below it, the level's children as a contiguous view: the
        # left child of the node at position p of level j is _child_levels[.][2p].
        self._child_levels = [
            self._tree[2 << level : 4 << level] for level in range(self.top_levels, self.depth)
        ]
        #: A write recomputes the levels above ``write_top_levels`` whole (those above
        #: ``top_levels`` when they are next read).
        self.write_top_levels = min(self.depth, _WRITE_TOP_LEVELS)
        # Every level as views (left children, right children, parents), the
        # deepest first, so that recomputing a whole level is one np.add.
        self._level_slices = [
            (
                self._pairs[1 << level : 2 << level, 0],
                self._pairs[1 << level : 2 << level, 1],
                self._tree[1 << level : 2 << level],
            )
            for level in range(self.depth - 1, -1, -1)
        ]
        # A write recomputes the levels from write_top_levels - 1 up to top_levels whole; the
        # levels above top_levels (which ``sample`` never reads: it searches level top_levels)
        # are recomputed only when something reads them (see _sync_top).
        self._top_slices = self._level_slices[self.depth - self.write_top_levels :
                                              self.depth - self.top_levels]
        self._lazy_slices = self._level_slices[self.depth - self.top_levels :]
        self._top_stale = False  # True: the levels above top_levels wait for _sync_top
        # Between the leaves and the top block, the levels in steps of at most
        # _WRITE_STEP_LEVELS, balanced (8 levels: 4 + 4), the deepest first.
        below = self.depth - self.write_top_levels
        steps = -(-below // _WRITE_STEP_LEVELS)
        self._write_steps = [below // steps + (i < below % steps) for i in range(steps)]
        self._write_plans: dict[int, list] = {}  # batch size -> buffers and views
        # The smallest positive priority, for IS weights normalised over the whole buffer
        # (see smallest_positive): None while unknown.  Kept up to date by _write only after
        # the first call asks for it, so that a tree nobody asks costs nothing more.
        self._smallest: float | None = None
        self._track_smallest = False

    def _write_plan(self, n: int) -> list:
        """Preallocated buffers (and views into them) for writing ``n`` leaves.

        For a step of ``k`` levels: the touched ancestors ``g`` (k levels up)
        gather their rows of ``2**k`` descendants into ``gathered`` (one take of
        row items); then, level by level, ``np.add`` of the even and odd entries
        (both flat, so that numpy runs one loop over the whole batch) gives the
        sums one level up, and one scatter of row items writes them back (node
        ``g``'s descendants ``m`` levels down are row ``g`` of the tree seen as
        rows of ``2**m``).
        """
        plan = self._write_plans.get(n)
        if plan is None:
            if len(self._write_plans) >= _WRITE_PLANS_KEPT:
                self._write_plans.clear()
            plan = []
            for k in self._write_steps:
                gathered = np.empty((n, 1 << k))
                levels, source = [], gathered.reshape(-1)
                for m in range(k - 1, -1, -1):
                    sums = np.empty((n, 1 << m))
                    flat = sums.reshape(-1)
                    levels.append((source[0::2], source[1::2], flat,
                                   _rows(self._tree, 1 << m), _rows(sums, 1 << m)))
                    source = flat
                plan.append((k, _rows(self._tree, 1 << k), _rows(gathered, 1 << k), levels))
            self._write_plans[n] = plan
        return plan

    @staticmethod
    def nbytes_for(capacity: int) -> int:
        """Bytes of the tree of a ``SumTree(capacity)``: every node, a float64 each."""
        return 2 * (1 << (int(capacity) - 1).bit_length()) * 8

    # ------------------------------------------------------------------ reading
    def _peek_total(self) -> float:
        """The root, without bringing the levels near it up to date: bad input must change
        nothing, not even those (see ``_sync_top``).  The same additions, on a copy."""
        if not self._top_stale:
            return float(self._tree[1])
        level = self._top_level
        while level.size > 1:
            level = level[0::2] + level[1::2]
        return float(level[0])

    def _sync_top(self) -> None:
        """Recompute the levels above ``top_levels`` if a write left them stale."""
        if self._top_stale:
            for left, right, parents in self._lazy_slices:
                np.add(left, right, out=parents)
            self._top_stale = False

    @property
    def nodes(self) -> np.ndarray:
        """A read-only view of every node (node 0 unused, the root is node 1, leaf ``i`` is
        node ``size + i``), each parent the sum of its children."""
        self._sync_top()
        view = self._tree[:]
        view.flags.writeable = False
        return view

    @property
    def total(self) -> float:
        """The sum of all priorities (the root)."""
        self._sync_top()
        return float(self._tree[1])

    @property
    def priorities(self) -> np.ndarray:
        """A read-only view of the ``capacity`` leaf priorities."""
        view = self._tree[self.size : self.size + self.capacity]
        view.flags.writeable = False
        return view

    def smallest_positive(self) -> float:
        """The smallest priority above 0: that of the least likely leaf to be found.

        Prioritized replay needs it to normalise importance weights by their largest value
        over the whole buffer, ``(N · P_min) ** -β`` (Schaul et al. 2016, Algorithm 1, line
        10).  A min-tree beside the sum tree would cost a second walk on every write; here
        the value is cached and a write updates it in O(batch): a new smaller value lowers
        it, and only a write over the leaf that held it forces one O(N) scan, on the next
        call.  Raises ``ValueError`` when every priority is 0.
        """
        self._track_smallest = True
        if self._smallest is None:
            leaves = self._leaves
            positive = leaves[leaves > 0]
            if not positive.size:
                raise ValueError("smallest_positive: every priority in the sum tree is 0")
            self._smallest = float(positive.min())
        return self._smallest

    def __len__(self) -> int:
        return self.capacity

    def __getitem__(self, indices):
        """Leaf priorities at ``indices`` (a scalar index gives a float)."""
        flat = _as_index_array(indices, self.capacity)
        values = self._tree[self.size + flat]
        return float(values[0]) if np.ndim(indices) == 0 else values

    def __repr__(self) -> str:
        return f"SumTree(capacity={self.capacity}, total={self.total:.6g})"

    # ----------------------------------------------------------------- updating
    def update(self, indices, priorities) -> None:
        """Set the priority of each leaf in ``indices``.

        ``indices`` and ``priorities`` are scalars or 1-D arrays of the same
        length (a scalar priority is used for every index).  When an index
        appears more than once, the last of its priorities wins.  Priorities
        must be finite and >= 0, and the total after the update finite.  On bad
        input nothing changes.
        """
        leaves = _as_index_array(indices, self.capacity)
        values = _as_float_array(priorities, "priorities")
        if values.ndim > 1:
            raise ValueError(f"priorities must be a scalar or 1-D, got shape {values.shape}")
        if values.ndim == 0:
            values = np.full(leaves.shape, float(values))
        if values.shape != leaves.shape:
            raise ValueError(
                f"indices and priorities differ in length: {leaves.size} != {values.size}"
            )
        if not np.isfinite(values).all():
            raise ValueError(f"priorities must be finite, got {values[~np.isfinite(values)][0]}")
        if values.size and values.min() < 0:
            raise ValueError(f"priorities must be >= 0, got {values.min()}")
        if leaves.size:
            self._check_total_after(leaves, values)
            self._write(leaves, values)

    def _check_total_after(self, leaves: np.ndarray, values: np.ndarray) -> None:
        """Refuse a write after which the total would overflow to inf (then every ``find``
        would land in the last leaf).  The new total is at most the old one plus the new
        values; only when that bound is near overflow, compute the new total exactly."""
        with np.errstate(over="ignore"):  # an overflow here is what is being checked
            bound = self._peek_total() + float(values.sum())
            if bound <= _SAFE_TOTAL:
                return
            reversed_unique, first_in_reversed = np.unique(leaves[::-1], return_index=True)
            level = self._leaves.copy()
            level[reversed_unique] = values[leaves.size - 1 - first_in_reversed]  # last wins
            while level.size > 1:  # the same additions as the tree's
                level = level[0::2] + level[1::2]
        if not math.isfinite(level[0]):
            raise ValueError(f"priorities would make the total priority overflow, got "
                             f"priorities up to {values.max()}")

    def _write(self, leaves: np.ndarray, values: np.ndarray) -> None:
        """``update`` without the checks: ``leaves`` int64 in range, ``values`` valid.

        This runs before every ``sample`` of a replay buffer, so it keeps numpy calls
        few and cheap: operators and positional ``out`` arguments (a keyword costs more
        than the work on 64 numbers), in-place steps, buffers made once per batch size.
        """
        tree = self._tree
        nodes = leaves + self.size
        smallest = self._smallest if self._track_smallest else None
        if smallest is not None and (tree[nodes] == smallest).any():
            smallest = self._smallest = None  # its leaf is overwritten: scan when next asked
        tree[nodes] = values
        if leaves.size > 1 and (tree[nodes] != values).any():
            # A repeated index with different values: numpy does not promise
            # which write lands last, so write each index's last value once.
            reversed_unique, first_in_reversed = np.unique(leaves[::-1], return_index=True)
            nodes = reversed_unique + self.size
            tree[nodes] = values[leaves.size - 1 - first_in_reversed]
        if smallest is not None:  # the values now in the written leaves (the last wins)
            written = tree[nodes]
            written = written[written > 0]
            if written.size:
                self._smallest = min(smallest, float(written.min()))
        n = nodes.size
        if not n:
            return
        if n * _WHOLE_WRITE_FRACTION >= self.size:
            # So many leaves that recomputing every level whole is cheaper.
            for left, right, parents in self._level_slices:
                np.add(left, right, parents)
            self._top_stale = False
            return
        # Recompute the touched ancestors below the top block, up to four
        # levels per step (see _write_plan).  A node listed twice just gets
        # the same value twice.  ``nodes`` is our own array: shifted in place.
        for k, tree_rows, gathered, levels in self._write_plan(n):
            nodes >>= k
            tree_rows.take(nodes, None, gathered)
            for even, odd, sums, sum_rows, sums_as_rows in levels:
                np.add(even, odd, sums)
                sum_rows[nodes] = sums_as_rows
        # Near the root, recompute whole levels, one contiguous slice each, down to the
        # level that ``find`` searches; the few above it wait until they are read.
        for left, right, parents in self._top_slices:
            np.add(left, right, parents)
        self._top_stale = bool(self._lazy_slices)

    # ------------------------------------------------------------------ finding
    def find(self, values):
        """For each ``v`` return the leaf ``i`` with ``prefix(i) <= v < prefix(i + 1)``.

        ``values`` is a scalar or 1-D array in ``[0, total]``; ``v == total``
        returns the last leaf of positive priority.  Leaves of priority 0 are
        never returned.  Raises ``ValueError`` if the tree is empty (total 0)
        or a value is outside ``[0, total]``.
        """
        targets = _as_float_array(values, "values")
        if targets.ndim > 1:
            raise ValueError(f"values must be a scalar or 1-D, got shape {targets.shape}")
        total = self._peek_total()  # no side effect before the checks pass
        if total <= 0:
            raise ValueError(f"cannot find values in a sum tree whose total priority is 0, "
                             f"got values {values!r}")
        flat = targets.reshape(-1)
        outside = ~np.isfinite(flat) | (flat < 0) | (flat > total)
        if outside.any():
            raise ValueError(f"values must lie in [0, total={total}], got {flat[outside][0]}")
        self._sync_top()  # find reads the root: bring the levels near it up to date
        if not flat.size:
            return np.empty(0, dtype=np.int64)
        self._prepare_search()
        indices, _, _ = self._search(flat)
        return int(indices[0]) if targets.ndim == 0 else indices

    def _prepare_search(self) -> float:
        """The prefix sums of level ``top_levels`` that ``_search`` needs (call it after the
        last write, before searching); returns their total, the sum of all priorities."""
        np.add.accumulate(self._top_level, 0, None, self._top_inclusive)  # a cumsum, into place
        return float(self._top_inclusive[-1])

    def _search(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """``find`` without the checks, for ``values`` (1-D float64, not empty) in
        ``[0, total]`` with total > 0, after ``_prepare_search``.  Returns the leaf
        indices, their priorities and the smallest of those (which the IS weights of a
        replay buffer need, and which shows at once whether a walk ended on a zero)."""
        leaves = self._descend(values)
        priorities = self._leaves[leaves]
        smallest = priorities.min()
        if smallest == 0:
            # A walk ended on a zero leaf: v == total (which belongs to the last
            # positive leaf), or, very rarely, rounding carried v past the end
            # of a subtree.  Redo those few with the guarded walk from the root.
            zero = priorities == 0
            leaves[zero] = self._descend_guarded(values[zero])
            priorities = self._leaves[leaves]
            smallest = priorities.min()
        return leaves, priorities, smallest

    def _descend(self, remaining: np.ndarray) -> np.ndarray:
        """Walk root → leaf for every value at once; returns the leaf indices.

        The first ``top_levels`` levels are one step: the prefix sums of the
        (at most 1024) nodes of level ``top_levels`` and a binary search in
        them say which of those nodes holds each v.  Below it, each level is
        one step for the whole batch: go right iff v >= sum(left child), and
        then subtract the left sum.  Positions are counted within each level,
        so that the last level's position is the leaf index.  (Indexing with
        ``[]`` and in-place operators: on 64 numbers they cost less than
        ``take`` and ``out=``.)
        """
        position = self._top_search.searchsorted(remaining, side="right")
        # bounds[j] = sum of the level's nodes before node j
        remaining = remaining - self._top_bounds[position]
        levels = self._child_levels
        if not levels:
            return position
        for children in levels[:-1]:
            position += position  # the left child, one level down
            left = children[position]  # its sum (a new array: ours to change)
            go_right = remaining >= left
            left *= go_right
            remaining -= left
            position += go_right  # the child we enter
        # The leaves: the same step, without the v left over (no longer needed).
        position += position
        position += remaining >= levels[-1][position]
        return position

    def _descend_guarded(self, remaining: np.ndarray) -> np.ndarray:
        """The same walk, one level at a time from the root, keeping v strictly
        below the sum of the child it enters: every node visited then has a
        positive sum, so the leaf reached has a positive priority.  Returns the
        leaf indices, like ``_descend``."""
        self._sync_top()
        nodes = np.ones(remaining.shape, dtype=np.int64)
        for _ in range(self.depth):
            left, right = self._pairs[nodes, 0], self._pairs[nodes, 1]
            go_right = (remaining >= left) & (right > 0)
            remaining = np.where(
                go_right,
                np.minimum(remaining - left, np.nextafter(right, 0.0)),
                np.minimum(remaining, np.nextafter(left, 0.0)),
            )
            nodes = 2 * nodes + go_right
        return nodes - self.size
