"""Group-aware array helpers: many series (videos, shots) side by side on one concatenated axis.

Each helper gives, for every group, what the same numpy/scipy call gives on that
group's elements alone, with the same floating-point operations (bit-identical).

Conventions:
- `Groups(bounds)`: consecutive groups along an axis of `n` elements; group g is
  elements `bounds[g]:bounds[g + 1]` (the frames of the videos of a batch, in order).
- `ids` (n,) int, sorted: the group of each element (0 .. n_groups - 1), for values
  picked from consecutive groups (e.g. the selected frames of several videos).
- Arrays of several series have shape (..., n): the grouped axis is the last one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.signal import lfilter_zi

from hingeflow.analytics import kernels


@dataclass(frozen=True)
class Groups:
    """Consecutive groups along an axis: group g is elements bounds[g]:bounds[g + 1]."""

    bounds: np.ndarray  # (n_groups + 1,) int, non-decreasing, bounds[0] == 0

    @classmethod
    def of_lengths(cls, lengths: np.ndarray | list[int]) -> Groups:
        """Groups of these lengths, in order."""
        return cls(np.concatenate(([0], np.cumsum(lengths, dtype=np.intp))))

    @property
    def n_groups(self) -> int:
        return len(self.bounds) - 1

    @property
    def starts(self) -> np.ndarray:
        return self.bounds[:-1]

    @property
    def ends(self) -> np.ndarray:
        return self.bounds[1:]

    @cached_property
    def ids(self) -> np.ndarray:
        """(n,) the group of each element."""
        return np.repeat(np.arange(self.n_groups), np.diff(self.bounds))

    def count(self, mask: np.ndarray) -> np.ndarray:
        """(n_groups,) number of True elements of `mask` (n,) in each group."""
        return kernels.group_counts(mask, self.bounds.astype(np.int64))

    @cached_property
    def first(self) -> np.ndarray:
        """(n,) bool: True at the first element of each non-empty group."""
        out = np.zeros(self.bounds[-1], dtype=bool)
        out[self.starts[self.starts < self.ends]] = True
        return out


# ----------------------------------------------------------------------------- order statistics

def _grid(values: np.ndarray, ids: np.ndarray, bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """values (..., n) laid out one row per group: (grid (..., n_groups, width), flat).

    `ids` must be sorted (each group's elements consecutive), `bounds` theirs
    (`kernels.sorted_bounds`). Element i sits at grid.reshape(..., -1)[..., flat[i]], in
    input order within its group's row; the rest of each row is NaN (`kernels.fill_grid`).
    """
    grid, flat = kernels.fill_grid(_series(values), np.asarray(ids, dtype=np.int64), bounds)
    return grid.reshape(*values.shape[:-1], bounds.size - 1, grid.shape[-1]), flat


def _sorted_middles(values: np.ndarray, ids: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(median of each group's non-NaN values as `np.median` takes it, NaN for none (..., n_groups);
    their counts (..., n_groups); element counts (n_groups,)) for sorted `ids`. Each group's row is
    sorted by numpy (NaN last), the middles are read by `kernels.sorted_middles`."""
    ids = np.asarray(ids, dtype=np.int64)
    bounds = kernels.sorted_bounds(ids, n_groups)
    grid, _ = _grid(values, ids, bounds)
    grid.sort(axis=-1)
    mid, count = kernels.sorted_middles(grid.reshape(math.prod(grid.shape[:-1]), grid.shape[-1]))
    return mid.reshape(grid.shape[:-1]), count.reshape(grid.shape[:-1]), np.diff(bounds)


def group_nanmedian(values: np.ndarray, ids: np.ndarray, n_groups: int) -> np.ndarray:
    """`np.nanmedian` of each group's values (..., n) -> (..., n_groups); NaN for a group without
    values. `ids` sorted."""
    return _sorted_middles(values, ids, n_groups)[0]


def group_median(values: np.ndarray, ids: np.ndarray, n_groups: int) -> np.ndarray:
    """`np.median` of each group's values (n,) -> (n_groups,): NaN for a group with a NaN or no
    values. `ids` sorted."""
    mid, count, counts = _sorted_middles(values, ids, n_groups)
    return np.where(count < counts, np.nan, mid)


def group_ranks(values: np.ndarray, ids: np.ndarray, n_groups: int) -> np.ndarray:
    """(n,) rank of each value (n,) within its group, 0 = smallest, ties ranked by position.

    `ids` sorted; values without NaN. Each group's own elements are merge-sorted
    (`kernels.ranks_by_merge_sort`: stable, and quick on the nearly sorted runs of a time
    series; sorting rows padded to the largest group wasted up to 3x on videos of mixed lengths).
    """
    bounds = kernels.sorted_bounds(np.asarray(ids, dtype=np.int64), n_groups)
    return kernels.ranks_by_merge_sort(np.asarray(values, dtype=np.float64), bounds)


# ----------------------------------------------------------------------------- runs and interpolation

def runs_in_groups(mask: np.ndarray, groups: Groups, splits: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) indices of the runs of True in `mask` (n,), each within one group.

    A run also ends before an element marked in `splits` (bool, n): that element starts a new run.
    """
    n = mask.size
    cont = np.zeros(n, dtype=bool)  # element i continues the run of element i - 1
    cont[1:] = mask[1:] & mask[:-1]
    cont &= ~groups.first
    if splits is not None:
        cont &= ~splits
    starts = np.flatnonzero(mask & ~cont)
    ends = np.flatnonzero(mask & ~np.append(cont[1:], False)) + 1
    return starts, ends


def interp_into(t: np.ndarray, y: np.ndarray, src: np.ndarray, dst: np.ndarray, groups: Groups,
                min_src: int = 1) -> None:
    """In place: y[..., dst] = `np.interp(t[dst], t[src], y[..., src])` within each group.

    `t` (n,) increases within each group; `src` and `dst` (bool, n) are disjoint.
    Groups with fewer than `min_src` (>= 1) src elements are left unchanged. Same
    arithmetic as numpy: slope * (t - t_left) + y_left between the neighbouring src
    elements, the nearest src value beyond either end.
    """
    if groups.n_groups == 1:  # one series of frames: numpy's own interp
        _interp_rows_into(t, y, src, dst, min_src)
        return
    i = np.flatnonzero(dst)
    i = i[(groups.count(src) >= max(min_src, 1))[groups.ids[i]]]
    if i.size == 0:
        return
    s = np.flatnonzero(src)
    k = np.searchsorted(s, i)  # s[k - 1] < i < s[k]
    before, after = s[np.maximum(k - 1, 0)], s[np.minimum(k, s.size - 1)]
    g = groups.ids[i]
    has_before = (k > 0) & (before >= groups.starts[g])
    has_after = (k < s.size) & (after < groups.ends[g])
    p = np.where(has_before, before, after)  # beyond an end both neighbours are the nearest src
    q = np.where(has_after, after, before)
    yp, yq = y.take(p, axis=-1), y.take(q, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = (yq - yp) / (t[q] - t[p])
        res = slope * (t[i] - t[p]) + yp
        back = slope * (t[i] - t[q]) + yq  # numpy's retry from the right when the left gives NaN
    back = np.where(np.isnan(back) & (yp == yq), yp, back)
    res = np.where(np.isnan(res), back, res)
    y[..., i] = np.where(has_before & has_after, res, yp)


def _interp_rows_into(t: np.ndarray, y: np.ndarray, src: np.ndarray, dst: np.ndarray, min_src: int) -> None:
    """`interp_into` of a single group: `np.interp` on each series of y (..., n)."""
    if not dst.any() or np.count_nonzero(src) < max(min_src, 1):
        return
    at, ts = t[dst], t[src]
    for index in np.ndindex(y.shape[:-1]):
        series = y[index]  # a view
        series[dst] = np.interp(at, ts, series[src])


# ----------------------------------------------------------------------------- filters

def _series(values: np.ndarray) -> np.ndarray:
    """values (..., n) as a C-contiguous float64 (series, n) array."""
    return np.ascontiguousarray(values, dtype=np.float64).reshape(math.prod(values.shape[:-1]), values.shape[-1])


def running_median_in_groups(x: np.ndarray, groups: Groups, sizes: np.ndarray,
                             spread_limit: np.ndarray | None = None) -> np.ndarray:
    """Centred running median over `sizes[g]` (odd) elements of each series x (..., n), within each group.

    Edges repeat the group's first/last element (scipy.ndimage `median_filter(...,
    mode="nearest")` semantics, with the same values: an odd window's median is one of
    its elements). Values must not be NaN. With `spread_limit` (n,), an element whose
    window spreads less than that (the norm over the series of max - min) is NaN instead:
    its own value is already that close to the median (`kernels.running_medians`).
    """
    sizes = np.asarray(sizes, dtype=np.int64)
    if np.any((sizes % 2 != 1) | (sizes < 1)):
        raise ValueError(f"running_median_in_groups: sizes must be odd and positive, got {np.unique(sizes)}")
    limit = np.empty(0) if spread_limit is None else np.asarray(spread_limit, dtype=np.float64)
    out = kernels.running_medians(_series(x), groups.bounds.astype(np.int64), sizes, limit)
    return out.reshape(x.shape)


def filtfilt_runs(b: np.ndarray, a: np.ndarray, x: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> None:
    """In place: each run starts[r]:ends[r] of every series of x (..., n) (C-contiguous float64)
    replaced by scipy `filtfilt(b, a, run)` of a second-order filter (b, a of length 3; method "pad",
    odd extension of 9 elements), with the same operations in the same order as scipy's per-run
    call (`kernels.filtfilt2_runs`).

    Runs must be longer than that padding.
    """
    if len(a) != 3 or len(b) != 3:
        raise ValueError("filtfilt_runs: second-order filters only (b and a of length 3)")
    if x.dtype != np.float64 or not x.flags.c_contiguous:
        raise ValueError("filtfilt_runs: x must be C-contiguous float64 (filtered in place)")
    if len(starts) == 0:
        return
    edge = 3 * max(len(a), len(b))
    if np.any(np.asarray(ends) - np.asarray(starts) <= edge):
        raise ValueError(f"filtfilt_runs: runs must be longer than {edge} elements")
    b, a = np.asarray(b, dtype=np.float64), np.asarray(a, dtype=np.float64)
    if a[0] != 1.0:  # as lfilter: normalise by a[0]
        b, a = b / a[0], a / a[0]
    kernels.filtfilt2_runs(b, a, lfilter_zi(b, a), x.reshape(-1, x.shape[-1]), np.asarray(starts, dtype=np.int64),
                           np.asarray(ends, dtype=np.int64), edge)
