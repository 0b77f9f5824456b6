"""windows.py: each row-wise helper against a plain loop over one window (or row) at a time."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hingeflow.analytics import windows as W
from hingeflow.analytics.grouped import Groups, runs_in_groups

SEEDS = range(6)


def _bits(x: float) -> bytes:
    return np.float64(x).tobytes()


def _signal(rng: np.random.Generator, n: int = 80) -> np.ndarray:
    """Values with ties, 0.0 and -0.0, NaN and infinities."""
    x = np.round(rng.normal(0, 2, n), int(rng.integers(0, 2)))  # rounding: ties and -0.0
    x[rng.random(n) < 0.15] = np.nan
    x[rng.random(n) < 0.03] = np.inf
    x[rng.random(n) < 0.03] = -np.inf
    return x


def _windows(rng: np.random.Generator, n: int, count: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """(start, stop) of `count` random windows (some empty) of an n-frame array."""
    a, b = rng.integers(0, n + 1, count), rng.integers(0, n + 1, count)
    return np.minimum(a, b), np.maximum(a, b)


@pytest.mark.parametrize("seed", SEEDS)
def test_windows_read_rows_left_aligned_with_nan_after(seed):
    rng = np.random.default_rng(seed)
    x = _signal(rng)
    start, stop = _windows(rng, x.size)
    win = W.Windows.of(start, stop)
    rows = win.read(x)
    assert rows.shape == (start.size, max(int((stop - start).max()), 1))
    keep = rng.random(rows.shape) < 0.7
    kept = win.where(keep).read(x)
    for r, (a, b) in enumerate(zip(start, stop)):
        assert rows[r, :b - a].tobytes() == x[a:b].tobytes()  # bit for bit, -0.0 included
        assert np.isnan(rows[r, b - a:]).all()
        want = np.where(keep[r, :b - a], x[a:b], np.nan)
        assert kept[r, :b - a].tobytes() == want.tobytes() and np.isnan(kept[r, b - a:]).all()


@pytest.mark.parametrize("seed", SEEDS)
def test_window_reductions(seed):
    rng = np.random.default_rng(seed)
    x = _signal(rng)
    finite = np.where(np.isfinite(x), x, 7.0)
    start, stop = _windows(rng, x.size)
    counts, lows = W.count_in(x > 0, start, stop), W.range_min(finite, start, stop)
    for r, (a, b) in enumerate(zip(start, stop)):
        assert counts[r] == np.count_nonzero(x[a:b] > 0)
        assert lows[r] == (finite[a:b].min() if b > a else np.inf)
    assert W.ranges(start, stop).tolist() == [i for a, b in zip(start, stop) for i in range(a, b)]


def test_similar_lengths_and_part_counts():
    lengths = np.array([40, 3, 600, 55, 0, 90, 41])
    groups = W.similar_lengths(lengths, ratio=2.0)
    assert sorted(i for g in groups for i in g.tolist()) == list(range(lengths.size))
    for g in groups:
        assert lengths[g].max() <= 2.0 * max(lengths[g].min(), 1)
    assert [sorted(g.tolist()) for g in groups] == [[4], [1], [0, 3, 6], [5], [2]]
    assert W.similar_lengths(np.array([], dtype=int)) == []
    mask = np.array([1, 0, 1, 1, 0, 1], dtype=bool)
    assert Groups(np.array([0, 2, 2, 5, 6])).count(mask).tolist() == [1, 0, 2, 1]


def test_groups_and_runs_within_parts():
    assert W.group_starts(np.array([3, 3, 1, 1, 1, 3])).tolist() == [True, False, True, False, False, True]
    assert W.group_starts(np.array([], dtype=int)).tolist() == []
    assert W.rank_in_group(np.array([3, 3, 1, 1, 1, 3])).tolist() == [0, 1, 0, 1, 2, 0]
    mask = np.array([1, 1, 0, 1, 1, 1, 1, 0, 1], dtype=bool)
    offset = np.array([0, 2, 2, 5, 9])  # parts [0, 2), [2, 2) (empty), [2, 5), [5, 9)
    starts, stops = runs_in_groups(mask, Groups(offset))
    assert list(zip(starts.tolist(), stops.tolist())) == [(0, 2), (3, 5), (5, 7), (8, 9)]


def _first_loop(x: np.ndarray, level: np.ndarray, a: int, b: int, r: int) -> int:
    return next((i for i in range(a, b) if x[i] <= level[r]), b)


def _last_loop(x: np.ndarray, level: np.ndarray, a: int, b: int, r: int) -> int:
    return next((i for i in range(b - 1, a - 1, -1) if x[i] <= level[r]), a - 1)


@pytest.mark.parametrize("seed", SEEDS)
def test_first_and_last_index_match_a_scan(seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, 400)
    start, stop = _windows(rng, x.size, 60)
    level = rng.normal(-1.5, 1.0, start.size)  # some windows have no hit
    test = lambda i, rows: x[i] <= level[rows, None]  # noqa: E731
    first, last = W.first_index(test, start, stop, block=4), W.last_index(test, start, stop, block=4)
    for r, (a, b) in enumerate(zip(start.tolist(), stop.tolist())):
        assert first[r] == _first_loop(x, level, a, b, r)
        assert last[r] == _last_loop(x, level, a, b, r)


def test_first_and_last_true():
    m = np.array([[0, 1, 1, 0], [0, 0, 0, 0], [1, 0, 0, 1]], dtype=bool)
    assert W.first_true(m).tolist() == [1, -1, 0]
    assert W.last_true(m).tolist() == [2, -1, 3]
    assert W.row_count(m).tolist() == [2, 0, 2]
    assert W.first_true(np.zeros((2, 0), dtype=bool)).tolist() == [-1, -1]


@pytest.mark.parametrize("seed", SEEDS)
def test_compact_keeps_order_and_counts(seed):
    rng = np.random.default_rng(seed)
    m = rng.normal(0, 1, (30, 12))
    other = rng.normal(0, 1, (30, 12))
    for keep in (rng.random(m.shape) < 0.6, np.arange(12) < rng.integers(0, 13, 30)[:, None]):  # scattered / in front
        assert W.has_gaps(keep) == any("01" in "".join("1" if k else "0" for k in row) for row in keep)
        (a, b), count = W.compact(keep, m, other)
        for r in range(m.shape[0]):
            assert count[r] == keep[r].sum()
            assert np.array_equal(a[r, :count[r]], m[r][keep[r]]) and np.array_equal(b[r, :count[r]], other[r][keep[r]])
            assert np.isnan(a[r, count[r]:]).all() and np.isnan(b[r, count[r]:]).all()


@pytest.mark.parametrize("seed", SEEDS)
def test_row_min_max_and_median(seed):
    rng = np.random.default_rng(seed)
    m = np.stack([_signal(rng, 15) for _ in range(50)])
    inside = rng.random(m.shape) < 0.8
    low, high, med = W.row_min(m, inside), W.row_max_finite(m), W.row_median(m)
    for r, row in enumerate(m):
        cells = [v for v, i in zip(row.tolist(), inside[r]) if i]
        want_low = math.nan if any(v != v for v in cells) else min(cells, default=math.inf)
        assert _bits(low[r]) == _bits(want_low)
        fin = [v for v in row.tolist() if math.isfinite(v)]
        # largest finite value: the first of equal ones (max() keeps the first)
        assert _bits(high[r]) == _bits(max(fin) if fin else math.nan)
        # the median of a NaN-free, sorted() row at the middle of its finite count
        srt = sorted(v for v in row.tolist() if v == v)
        cnt = len(fin)
        assert _bits(med[r]) == _bits(0.5 * (srt[(cnt - 1) // 2] + srt[cnt // 2]) if cnt else math.nan)


def test_unique_rows_and_at_columns():
    m = np.array([[1, -1], [0, 2], [1, -1], [0, 2], [5, 5]], dtype=np.int16)
    first, group = W.unique_rows(m)
    assert np.array_equal(m[first][group], m)
    assert sorted(first.tolist()) == [0, 1, 4]
    assert W.at_columns(np.arange(6).reshape(2, 3), np.array([2, 0])).tolist() == [2, 3]
