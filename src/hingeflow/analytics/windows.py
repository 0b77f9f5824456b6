"""Row-wise operations on frame windows, for measuring many reps (or runs) at once.

A window is a half-open index range [start, stop) into a 1D per-frame array (for a
batch of videos: the videos' arrays laid end to end). Window r of a batch is read as
row r of a padded (R, W) matrix (`Windows.read`): its values left-aligned, W the
longest window, NaN past the row's end. The row functions below use the same
floating-point operations, in the same order, as a loop over one window at a time
would, so batched values equal one-at-a-time values bit for bit.

Reductions over windows without a matrix use one pass over the whole array:
`count_in` a running count, `range_min` one ``ufunc.reduceat``. `first_index` /
`last_index` search each window for the first / last index where a condition
holds, scanning blocks of doubling width, so their cost follows the distance to
the hit rather than the window's length.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hingeflow.analytics import kernels

# test(idx, rows) -> hit: idx (k, w) indices inside windows `rows` (k,) -> bool (k, w)
IndexTest = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Windows:
    """Windows [start[r], stop[r]) as the rows of (R, W) matrices (0 <= start <= stop <= len(x)).

    `index`: (R, W) each cell's index into x (start + column, also past a row's end);
    `inside`: (R, W) True on the row's own cells; `blank`: -0.0 on them, NaN elsewhere
    (added to what is read: x + -0.0 is x, also for x = -0.0).
    """

    start: np.ndarray
    stop: np.ndarray
    index: np.ndarray
    inside: np.ndarray
    blank: np.ndarray

    @classmethod
    def of(cls, start: np.ndarray, stop: np.ndarray, min_width: int = 1) -> Windows:
        """The windows [start, stop), W = the longest (at least `min_width` columns)."""
        start, stop = np.asarray(start, dtype=np.int64), np.asarray(stop, dtype=np.int64)
        width = max(int((stop - start).max()) if start.size else 0, min_width)
        index = start[:, None] + np.arange(width)
        inside = index < stop[:, None]
        return cls(start, stop, index, inside, np.where(inside, -0.0, np.nan))

    def where(self, keep: np.ndarray) -> Windows:
        """The same windows, reading NaN also in the cells where `keep` (R, W) is False."""
        inside = self.inside & keep
        return Windows(self.start, self.stop, self.index, inside, np.where(inside, -0.0, np.nan))

    def read(self, x: np.ndarray) -> np.ndarray:
        """(R, W) float matrix of x[start[r]:stop[r]] per row, NaN past each row's end."""
        if x.size == 0:
            return self.blank + np.nan
        rows = x.take(self.index, mode="clip").astype(float, copy=False)
        rows += self.blank
        return rows


def similar_lengths(lengths: np.ndarray, ratio: float = 2.0) -> list[np.ndarray]:
    """Windows (indices into `lengths`) in groups whose longest is at most `ratio` times the
    shortest (at least 1): read together, their padded matrices waste little."""
    order = np.argsort(lengths, kind="stable")
    srt = lengths[order]
    groups, first = [], 0
    while first < srt.size:
        end = int(np.searchsorted(srt, ratio * max(int(srt[first]), 1), side="right"))
        groups.append(order[first:end])
        first = end
    return groups


def count_in(mask: np.ndarray, start: np.ndarray, stop: np.ndarray) -> np.ndarray:
    """Number of True values of the bool array `mask` in each window [start, stop) (int64), as
    differences of the running count (`kernels.running_count`)."""
    total = np.zeros(mask.size + 1, dtype=np.int64)
    total[1:] = kernels.running_count(mask)
    return total[np.asarray(stop, dtype=np.int64)] - total[np.asarray(start, dtype=np.int64)]


def range_min(x: np.ndarray, start: np.ndarray, stop: np.ndarray) -> np.ndarray:
    """min(x[start[r]:stop[r]]) per window (+inf for an empty window)."""
    return _reduce_windows(np.minimum, x, start, stop, x.dtype, np.inf)


def _reduce_windows(op: np.ufunc, x: np.ndarray, start: np.ndarray, stop: np.ndarray, dtype: np.dtype,
                    empty: float) -> np.ndarray:
    """op reduced over x[start[r]:stop[r]] per window (`empty` for an empty window), with one ``op.reduceat``."""
    if x.size == 0 or start.size == 0:
        return np.full(start.shape, empty, dtype=dtype)
    bounds = np.empty(2 * start.size, dtype=np.int64)
    bounds[0::2], bounds[1::2] = start, stop
    # reduceat reduces x[bounds[i]:bounds[i + 1]] (x[bounds[i]] when that is empty): the even entries are the windows
    out = op.reduceat(np.append(x, x[:1]), bounds, dtype=dtype)[::2]
    return np.where(stop > start, out, empty)


def ranges(start: np.ndarray, stop: np.ndarray) -> np.ndarray:
    """The indices of the windows [start[r], stop[r]) one after another: concatenated aranges."""
    length = stop - start
    total = int(length.sum())
    shift = np.repeat(start - (np.cumsum(length) - length), length)
    return shift + np.arange(total)


def group_starts(labels: np.ndarray) -> np.ndarray:
    """True where a run of equal consecutive labels begins (labels (n,) -> bool (n,))."""
    return np.concatenate(([True], labels[1:] != labels[:-1]))[:labels.size]


def rank_in_group(labels: np.ndarray) -> np.ndarray:
    """Position of each element in its run of equal consecutive labels: 0, 1, ... (labels (n,))."""
    order = np.arange(labels.size)
    return order - np.maximum.accumulate(np.where(group_starts(labels), order, 0))


def first_index(test: IndexTest, start: np.ndarray, stop: np.ndarray, block: int = 16) -> np.ndarray:
    """Per window: the first index i in [start[r], stop[r]) where `test` holds; stop[r] when none does.

    `test(idx, rows)` is called on blocks of each still unresolved window `rows`, with
    idx (k, w) indices inside them (past a window's end: its last index again), and
    returns bool (k, w). Blocks double in width.
    """
    found = np.array(stop, dtype=np.int64, copy=True)
    rows = np.flatnonzero(start < stop)
    pos, width = np.asarray(start, dtype=np.int64)[rows], block
    while rows.size:
        last = stop[rows] - 1
        hit = test(np.minimum(pos[:, None] + np.arange(width), last[:, None]), rows)
        col = hit.argmax(axis=1)
        got = at_columns(hit, col)
        found[rows[got]] = pos[got] + col[got]
        pos = pos + width
        more = ~got & (pos <= last)
        rows, pos, width = rows[more], pos[more], 2 * width
    return found


def last_index(test: IndexTest, start: np.ndarray, stop: np.ndarray, block: int = 16) -> np.ndarray:
    """Per window: the last index i in [start[r], stop[r]) where `test` holds; start[r] - 1 when none does.

    As `first_index`, scanning each window backwards from its end (column c of a block:
    c steps back; before a window's start: its first index again).
    """
    found = np.asarray(start, dtype=np.int64) - 1
    rows = np.flatnonzero(start < stop)
    pos, width = np.asarray(stop, dtype=np.int64)[rows] - 1, block
    while rows.size:
        first = start[rows]
        hit = test(np.maximum(pos[:, None] - np.arange(width), first[:, None]), rows)
        col = hit.argmax(axis=1)
        got = at_columns(hit, col)
        found[rows[got]] = pos[got] - col[got]
        pos = pos - width
        more = ~got & (pos >= first)
        rows, pos, width = rows[more], pos[more], 2 * width
    return found


def first_true(mask: np.ndarray) -> np.ndarray:
    """Column of the first True in each row of a bool (R, W) matrix; -1 when the row has none."""
    if mask.shape[1] == 0:
        return np.full(mask.shape[0], -1)
    col = mask.argmax(axis=1)
    return np.where(at_columns(mask, col), col, -1)


def last_true(mask: np.ndarray) -> np.ndarray:
    """Column of the last True in each row of a bool (R, W) matrix; -1 when the row has none."""
    if mask.shape[1] == 0:
        return np.full(mask.shape[0], -1)
    col = mask.shape[1] - 1 - mask[:, ::-1].argmax(axis=1)
    return np.where(at_columns(mask, col), col, -1)


def row_count(mask: np.ndarray) -> np.ndarray:
    """Number of True values in each row of a bool (R, W) matrix (int64)."""
    return mask.view(np.uint8).sum(axis=1, dtype=np.int32).astype(np.int64)


def has_gaps(keep: np.ndarray) -> bool:
    """Whether some row of the bool (R, W) matrix `keep` has a True after a False (its kept
    cells are not all in front)."""
    return bool((keep[:, 1:] & ~keep[:, :-1]).any())


def compact(keep: np.ndarray, *mats: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Each row's kept cells moved to the front, in order (as filtering a list would), NaN after them.

    `keep`: bool (R, W); `mats`: float (R, W) matrices sharing it. Returns (the compacted
    matrices, the number of kept cells per row). Rows whose kept cells are already in
    front (the usual case: only padding is dropped) are not moved.
    """
    count = row_count(keep)
    if not has_gaps(keep):
        return [np.where(keep, m, np.nan) for m in mats], count
    order = np.argsort(~keep, axis=1, kind="stable")
    tail = np.arange(keep.shape[1]) >= count[:, None]
    return [np.where(tail, np.nan, np.take_along_axis(m, order, axis=1)) for m in mats], count


def row_min(m: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """Smallest value of each row of m (R, W) over the cells where `inside` is True (+inf if none)."""
    low = np.where(inside, m, np.inf)
    return at_columns(low, low.argmin(axis=1))


def row_max_finite(m: np.ndarray) -> np.ndarray:
    """Largest finite value of each row of m (R, W) (the first of equal ones); NaN when the row has none."""
    high = np.where(np.isfinite(m), m, -np.inf)
    best = at_columns(high, high.argmax(axis=1))
    return np.where(best > -np.inf, best, np.nan)


def row_median(m: np.ndarray) -> np.ndarray:
    """Median of each row of m (R, W), NaN cells ignored; NaN when a row has no finite value.

    Rows are sorted (NaN last) and the median is taken at the middle of the finite
    count, 0.5 * (lower + upper) of the middle pair: `np.median` of an all-finite row.
    (A row holding infinities keeps them in the sort but not in the count.) Rows holding
    a -0.0 are sorted stably, so that 0.0 and -0.0 keep their order, as `sorted()` does.
    """
    if m.shape[1] == 0:
        return np.full(m.shape[0], np.nan)
    srt = np.sort(m, axis=1)
    negative_zero = ((m == 0) & np.signbit(m)).any(axis=1)
    if negative_zero.any():
        srt[negative_zero] = np.sort(m[negative_zero], axis=1, kind="stable")
    cnt = row_count(np.isfinite(m))
    lo, hi = np.maximum((cnt - 1) // 2, 0), cnt // 2
    return np.where(cnt > 0, 0.5 * (at_columns(srt, lo) + at_columns(srt, hi)), np.nan)


def unique_rows(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(first, group) for the rows of a 2D array m (R, C), C >= 1: the index of the first row of
    each distinct row, and per row the index of its distinct row in `first`."""
    if m.shape[0] == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    as_bytes = np.ascontiguousarray(m).view(np.dtype((np.void, m.dtype.itemsize * m.shape[1])))[:, 0]
    _, first, group = np.unique(as_bytes, return_index=True, return_inverse=True)
    return first, group.reshape(-1)


def at_columns(m: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """m[r, cols[r]] for each row r."""
    return m[np.arange(m.shape[0]), cols]
