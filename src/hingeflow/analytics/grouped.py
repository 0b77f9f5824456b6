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

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import polars as pl
from scipy.signal import lfilter, lfilter_zi


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

    def sum(self, values: np.ndarray) -> np.ndarray:
        """(..., n_groups) sum of each group's values (..., n), 0 for an empty group (`np.add.reduceat`:
        the same order for equal-length groups, not necessarily `np.sum`'s last bits)."""
        out = np.zeros((*values.shape[:-1], self.n_groups), dtype=np.result_type(values, np.intp))
        nonempty = self.starts < self.ends
        if nonempty.any():
            out[..., nonempty] = np.add.reduceat(values, self.starts[nonempty], axis=-1)
        return out

    def count(self, mask: np.ndarray) -> np.ndarray:
        """(n_groups,) number of True elements of `mask` (n,) in each group."""
        return self.sum(mask.astype(np.intp))

    @cached_property
    def first(self) -> np.ndarray:
        """(n,) bool: True at the first element of each non-empty group."""
        out = np.zeros(self.bounds[-1], dtype=bool)
        out[self.starts[self.starts < self.ends]] = True
        return out


# ----------------------------------------------------------------------------- order statistics

def _grid(values: np.ndarray, ids: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """values (..., n) laid out one row per group: (grid (..., n_groups, width), flat, counts).

    `ids` must be sorted (each group's elements consecutive). Element i sits at
    grid.reshape(..., -1)[..., flat[i]], in input order within its group's row; the rest
    of each row is NaN. `counts` (n_groups,): elements per group.
    """
    if np.any(ids[1:] < ids[:-1]):
        raise ValueError("group ids must be sorted")
    bounds = np.searchsorted(ids, np.arange(n_groups + 1))
    counts = np.diff(bounds)
    width = int(counts.max(initial=0))
    flat = np.arange(ids.size) + (np.arange(n_groups) * width - bounds[:-1])[ids]
    grid = np.full((*values.shape[:-1], n_groups * width), np.nan)
    grid[..., flat] = values
    return grid.reshape(*values.shape[:-1], n_groups, width), flat, counts


def _sorted_grid(values: np.ndarray, ids: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(each group's values sorted, NaN last (..., n_groups, width), non-NaN counts (..., n_groups),
    counts (n_groups,)) for sorted `ids`."""
    grid, _, counts = _grid(values, ids, n_groups)
    grid.sort(axis=-1)
    return grid, (~np.isnan(grid)).sum(axis=-1), counts


def _middle(srt: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Median of the first `count` values of each sorted row, as `np.median`: the middle value,
    or (a + b) / 2 of the middle pair; NaN for an empty row."""
    if srt.shape[-1] == 0:
        return np.full(srt.shape[:-1], np.nan)
    rows = srt.reshape(-1, srt.shape[-1])
    lo = rows[np.arange(len(rows)), np.maximum(count - 1, 0).ravel() // 2].reshape(count.shape)
    hi = rows[np.arange(len(rows)), count.ravel() // 2].reshape(count.shape)
    mid = np.where(count % 2 == 1, lo, (lo + hi) / 2)
    return np.where(count > 0, mid, np.nan)


def group_nanmedian(values: np.ndarray, ids: np.ndarray, n_groups: int) -> np.ndarray:
    """`np.nanmedian` of each group's values (..., n) -> (..., n_groups); NaN for a group without
    values. `ids` sorted."""
    srt, count, _ = _sorted_grid(values, ids, n_groups)
    return _middle(srt, count)


def group_median(values: np.ndarray, ids: np.ndarray, n_groups: int) -> np.ndarray:
    """`np.median` of each group's values (n,) -> (n_groups,): NaN for a group with a NaN or no
    values. `ids` sorted."""
    srt, count, counts = _sorted_grid(values, ids, n_groups)
    return np.where(count < counts, np.nan, _middle(srt, count))


def group_ranks(values: np.ndarray, ids: np.ndarray, n_groups: int) -> np.ndarray:
    """(n,) rank of each value (n,) within its group, 0 = smallest, ties ranked by position.

    `ids` sorted; values without NaN. Integer values are ranked on unique integer keys
    (value, position); floats by numpy's fast sort, re-sorted stably only when a group has ties.
    """
    grid, flat, _ = _grid(values.astype(np.float64), ids, n_groups)
    width = grid.shape[-1]
    if np.issubdtype(values.dtype, np.integer):  # unique keys: any sort is stable
        pad = np.isnan(grid)
        key = np.where(pad, 0, grid).astype(np.int64) * width + np.arange(width)
        key[pad] = np.iinfo(np.int64).max
        order = np.argsort(key, axis=-1)
    else:
        order = np.argsort(grid, axis=-1)
        srt = np.take_along_axis(grid, order, axis=-1)
        if np.any(srt[:, 1:] == srt[:, :-1]):
            order = np.argsort(grid, axis=-1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(width), axis=-1)
    return ranks.reshape(-1)[flat]


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

def running_median_in_groups(x: np.ndarray, groups: Groups, sizes: np.ndarray) -> np.ndarray:
    """Centred running median over `sizes[g]` (odd) elements of each series x (..., n), within each group.

    Edges repeat the group's first/last element (scipy.ndimage `median_filter(...,
    mode="nearest")` semantics, with the same values: an odd window's median is one of
    its elements). Polars' sorted-window rolling median, one call per distinct size:
    the edge-padded groups of all series are consecutive blocks of one series, and only
    windows inside a block are kept.
    """
    sizes = np.asarray(sizes, dtype=np.intp)
    if np.any((sizes % 2 != 1) | (sizes < 1)):
        raise ValueError(f"running_median_in_groups: sizes must be odd and positive, got {np.unique(sizes)}")
    out = np.empty_like(x, dtype=np.float64)
    lengths = np.diff(groups.bounds)
    for size in np.unique(sizes[lengths > 0]):
        members = np.flatnonzero((sizes == size) & (lengths > 0))
        h = int(size) // 2
        padded = Groups.of_lengths(lengths[members] + 2 * h)
        within = np.arange(padded.bounds[-1]) - np.repeat(padded.starts, np.diff(padded.bounds)) - h
        src = groups.starts[members][padded.ids] + np.clip(within, 0, lengths[members][padded.ids] - 1)
        blocks = x.take(src, axis=-1).reshape(-1, src.size)  # one row per series
        med = pl.Series(blocks.ravel()).rolling_median(int(size)).to_numpy().reshape(blocks.shape)
        keep = (within >= 0) & (within < lengths[members][padded.ids])  # windows centred inside a group
        out[..., src[keep]] = med.take(np.flatnonzero(keep) + h, axis=-1).reshape(*x.shape[:-1], -1)
    return out


def filtfilt_runs(b: np.ndarray, a: np.ndarray, x: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> None:
    """In place: each run starts[r]:ends[r] of every series of x (..., n) (C-contiguous float64)
    replaced by scipy `filtfilt(b, a, run)` (method "pad", odd extension of 3 * max(len(a), len(b))
    elements).

    Runs must be longer than that padding. All runs are the rows of one padded 2D array,
    left-aligned, so each `lfilter` call filters them all: lfilter is row-independent and
    reads a row left to right, so the padding after a row's values does not change them;
    for the backward pass each row's forward output is reversed into a left-aligned row.
    Same operations in the same order as scipy's per-run call.
    """
    if x.dtype != np.float64 or not x.flags.c_contiguous:
        raise ValueError("filtfilt_runs: x must be C-contiguous float64 (filtered in place)")
    if len(starts) == 0:
        return
    edge = 3 * max(len(a), len(b))
    lengths = ends - starts
    if np.any(lengths <= edge):
        raise ValueError(f"filtfilt_runs: runs must be longer than {edge} elements")
    zi = lfilter_zi(b, a)[None, :]
    series = x.reshape(-1, x.shape[-1])  # a view
    ext = _odd_extension(series, starts, lengths, edge)  # (series, runs, width)
    rows = ext.reshape(-1, ext.shape[-1])
    y, _ = lfilter(b, a, rows, axis=-1, zi=zi * rows[:, :1])
    _reverse_rows(y.reshape(ext.shape), lengths + 2 * edge, out=ext)
    y, _ = lfilter(b, a, rows, axis=-1, zi=zi * rows[:, :1])
    _unextend_into(series, y.reshape(ext.shape), starts, lengths, edge)


def _odd_extension(series: np.ndarray, starts: np.ndarray, lengths: np.ndarray, edge: int) -> np.ndarray:
    """Each run of each series (k, n), odd-extended by `edge` values at both ends as scipy's
    `odd_ext` (2 * x[0] - x[edge:0:-1], x, 2 * x[-1] - x[-2:-edge - 2:-1]), left-aligned in a
    row as wide as the longest (the rest repeats values of the run): (k, runs, width)."""
    width = int(lengths.max()) + 2 * edge
    j = np.arange(width) - edge  # position within the run
    m = lengths[:, None]
    src = np.where(j < 0, -j, np.where(j >= m, 2 * (m - 1) - j, j))
    src = starts[:, None] + np.clip(src, 0, m - 1)  # (runs, width); beyond the extension: clipped
    ext = series.take(src.ravel(), axis=1).reshape(len(series), len(starts), width)
    ext[..., :edge] = 2 * ext[..., edge:edge + 1] - ext[..., :edge]
    r = np.arange(len(starts))[:, None]
    right = m + edge + np.arange(edge)  # the right extension's columns
    ext[:, r, right] = 2 * ext[:, r, right[:, :1] - 1] - ext[:, r, right]
    return ext


def _reverse_rows(y: np.ndarray, lengths: np.ndarray, out: np.ndarray) -> None:
    """out[k, r, :lengths[r]] = y[k, r, lengths[r] - 1::-1]: each row's first `lengths[r]` values
    reversed, left-aligned (y, out: (k, runs, width); the rest of `out` is filler)."""
    n_runs, width = y.shape[1:]
    flip = np.arange(n_runs)[:, None] * width + np.maximum(lengths[:, None] - 1 - np.arange(width), 0)
    y.reshape(len(y), -1).take(flip.ravel(), axis=1, out=out.reshape(len(out), -1), mode="clip")


def _unextend_into(series: np.ndarray, y: np.ndarray, starts: np.ndarray, lengths: np.ndarray, edge: int) -> None:
    """series[k, starts[r] + i] = y[k, r, lengths[r] + edge - 1 - i] for i < lengths[r]: the runs'
    backward-filtered rows (k, runs, width) reversed back, without the extensions."""
    run = np.repeat(np.arange(len(starts)), lengths)
    within = np.arange(run.size) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    src = run * y.shape[-1] + (lengths + edge - 1)[run] - within
    y = y.reshape(len(y), -1)
    if run.size == series.shape[1]:  # the runs cover every element
        y.take(src, axis=1, out=series, mode="clip")  # indices in range: "clip" writes `out` directly
    else:
        series[:, starts[run] + within] = y.take(src, axis=1)
