"""Group-aware helpers: each equals the plain numpy/scipy call on every group alone, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import maximum_filter1d, median_filter, minimum_filter1d
from scipy.signal import butter, filtfilt

from hingeflow.analytics import kernels
from hingeflow.analytics.grouped import (
    Groups, filtfilt_runs, group_median, group_nanmedian, group_ranks, interp_into,
    running_median_in_groups, runs_in_groups,
)

LENGTHS = [0, 1, 2, 7, 30, 0, 129, 64]  # includes empty groups and groups of one element


def series(seed: int = 0, lengths: list[int] = LENGTHS) -> tuple[Groups, np.ndarray]:
    """Groups of `lengths` and random values on them, with some NaN and repeated values."""
    rng = np.random.default_rng(seed)
    groups = Groups.of_lengths(lengths)
    x = rng.normal(size=groups.bounds[-1]).round(1)  # rounding makes ties
    x[rng.random(x.size) < 0.2] = np.nan
    return groups, x


def each(groups: Groups):
    return [slice(a, b) for a, b in zip(groups.starts, groups.ends)]


def test_groups_ids_first_count():
    g = Groups.of_lengths([2, 0, 3, 0])
    assert g.ids.tolist() == [0, 0, 2, 2, 2]
    assert g.first.tolist() == [True, False, True, False, False]
    assert g.count(np.array([False, True, True, False, True])).tolist() == [1, 0, 2, 0]


def test_running_count_equals_cumsum():
    rng = np.random.default_rng(1)
    mask = rng.random(1000) < 0.3
    marks = rng.integers(-2, 3, 1000)
    np.testing.assert_array_equal(kernels.running_count(mask), np.cumsum(mask))
    np.testing.assert_array_equal(kernels.running_count(marks), np.cumsum(marks))
    assert kernels.running_count(np.zeros(0, dtype=bool)).size == 0


def test_group_median_refuses_unsorted_ids():
    with pytest.raises(ValueError, match="sorted"):
        group_median(np.arange(3.0), np.array([0, 1, 0]), 2)


@pytest.mark.parametrize("seed", range(5))
def test_group_medians_equal_numpy_per_group(seed):
    groups, x = series(seed)
    nanmed = group_nanmedian(x, groups.ids, groups.n_groups)
    med = group_median(x, groups.ids, groups.n_groups)
    for g, s in enumerate(each(groups)):
        v = x[s]
        want = np.nanmedian(v) if np.isfinite(v).any() else np.nan
        np.testing.assert_array_equal(nanmed[g], want)
        np.testing.assert_array_equal(med[g], np.median(v) if v.size else np.nan)


def test_group_nanmedian_of_several_series():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(3, 200))
    ids = np.sort(rng.integers(0, 6, 200))
    got = group_nanmedian(x, ids, 7)
    for g in range(7):
        want = np.median(x[:, ids == g], axis=1) if (ids == g).any() else np.full(3, np.nan)
        np.testing.assert_array_equal(got[:, g], want)


def test_group_nanmedian_without_values():
    assert np.isnan(group_nanmedian(np.empty(0), np.empty(0, dtype=int), 2)).all()


@pytest.mark.parametrize("lengths", [LENGTHS, [50, 43, 0, 50, 47]], ids=["mixed lengths", "similar lengths"])
@pytest.mark.parametrize("kind", ["distinct", "ties", "integers"])
def test_group_ranks_are_stable_within_groups(kind, lengths):
    """As a stable argsort of each group alone, for groups of mixed and of similar lengths."""
    groups, x = series(1, lengths)
    x = {"distinct": np.arange(x.size) * 0.37 % 1.0, "ties": np.nan_to_num(x), "integers": (np.nan_to_num(x) * 3).astype(int)}[kind]
    ranks = group_ranks(x, groups.ids, groups.n_groups)
    for s in each(groups):
        np.testing.assert_array_equal(ranks[s], np.argsort(np.argsort(x[s], kind="stable"), kind="stable"))


@pytest.mark.parametrize("helper", [group_nanmedian, group_ranks])
@pytest.mark.parametrize("ids", [[1, 0, 1], [0, 1, 2], [-1, 0, 1]], ids=["unsorted", "past the last group", "negative"])
def test_group_ids_must_be_sorted_and_in_range(helper, ids):
    with pytest.raises(ValueError):
        helper(np.arange(3.0), np.array(ids), 2)


def plain_runs(mask: np.ndarray) -> tuple[list[int], list[int]]:
    d = np.diff(np.concatenate(([0], mask.astype(int), [0])))
    return np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist()


def test_runs_in_groups_split_at_groups_and_splits():
    groups = Groups.of_lengths([5, 0, 4, 6])
    mask = np.array([1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1], bool)
    splits = np.zeros(15, bool)
    splits[[1, 11]] = True
    starts, ends = runs_in_groups(mask, groups, splits)
    assert starts.tolist() == [0, 1, 3, 5, 9, 11, 13]
    assert ends.tolist() == [1, 2, 5, 9, 11, 12, 15]
    s, e = runs_in_groups(mask, Groups.of_lengths([15]))
    assert (s.tolist(), e.tolist()) == plain_runs(mask)


@pytest.mark.parametrize("min_src", [1, 2])
def test_interp_into_equals_np_interp_per_group(min_src):
    rng = np.random.default_rng(2)
    groups = Groups.of_lengths([0, 1, 3, 40, 25, 60])
    t = np.concatenate([np.cumsum(rng.uniform(0.01, 0.05, n)) for n in np.diff(groups.bounds)])
    y = rng.normal(size=(2, t.size)) * 100
    y[:, rng.random(t.size) < 0.05] = np.inf  # non-finite neighbours take numpy's NaN fallbacks
    src = rng.random(t.size) < 0.4
    dst = ~src & (rng.random(t.size) < 0.7)
    got = y.copy()
    interp_into(t, got, src, dst, groups, min_src)
    want = y.copy()
    for s in each(groups):
        gs, gd = src[s], dst[s]
        if gd.any() and gs.sum() >= min_src:
            for row in want:
                row[s][gd] = np.interp(t[s][gd], t[s][gs], row[s][gs])
    np.testing.assert_array_equal(got, want)
    for s in each(groups):  # each group alone (numpy's own interp), on a non-contiguous view
        alone = y[:, s].T.copy().T
        interp_into(t[s], alone, src[s], dst[s], Groups.of_lengths([s.stop - s.start]), min_src)
        np.testing.assert_array_equal(alone, want[:, s])


def test_running_median_in_groups_equals_median_filter():
    rng = np.random.default_rng(4)
    groups = Groups.of_lengths([12, 0, 40, 3, 25])
    x = rng.normal(size=(2, groups.bounds[-1]))
    sizes = np.array([5, 9, 11, 3, 5])
    got = running_median_in_groups(x, groups, sizes)
    for s, size in zip(each(groups), sizes):
        np.testing.assert_array_equal(got[:, s], median_filter(x[:, s], size=(1, size), mode="nearest"))
    with pytest.raises(ValueError):
        running_median_in_groups(x, groups, np.array([4, 9, 11, 3, 5]))


def test_running_median_skips_exactly_the_narrow_windows():
    """With a spread limit, an element is NaN where its window's (max - min) norm over both series is
    below the limit, and the median_filter value elsewhere, also right after skipped elements."""
    rng = np.random.default_rng(6)
    groups = Groups.of_lengths([60, 0, 1, 200, 7])
    x = rng.normal(size=(2, groups.bounds[-1])).cumsum(axis=1)
    x[:, 100:140] = x[:, 100:101]  # a flat stretch: narrow windows in the middle of a group
    sizes = np.array([9, 5, 3, 21, 5])
    limit = rng.uniform(0.0, 6.0, groups.bounds[-1])
    got = running_median_in_groups(x, groups, sizes, spread_limit=limit)
    skipped = 0
    for s, size in zip(each(groups), sizes):
        spread = np.hypot(*(maximum_filter1d(x[:, s], size, axis=1, mode="nearest")
                            - minimum_filter1d(x[:, s], size, axis=1, mode="nearest")))
        narrow = spread < limit[s]
        want = median_filter(x[:, s], size=(1, size), mode="nearest")
        np.testing.assert_array_equal(np.isnan(got[:, s]), np.broadcast_to(narrow, want.shape))
        np.testing.assert_array_equal(got[:, s][:, ~narrow], want[:, ~narrow])
        skipped += narrow.sum()
    assert 0 < skipped < x.shape[1] / 2  # some skipped, and many computed after skipped ones


def test_filtfilt_runs_equals_scipy_filtfilt_per_run():
    rng = np.random.default_rng(5)
    b, a = butter(2, 0.27)
    x = rng.normal(size=(3, 400)).cumsum(axis=1)
    starts, ends = np.array([0, 10, 57, 200, 390]), np.array([10, 50, 200, 380, 400])
    want = x.copy()
    for s, e in zip(starts, ends):
        want[:, s:e] = filtfilt(b, a, x[:, s:e], axis=-1)
    got = x.copy()
    filtfilt_runs(b, a, got, starts, ends)
    np.testing.assert_array_equal(got, want)
    one = x[0].copy()  # a single series
    filtfilt_runs(b, a, one, starts, ends)
    np.testing.assert_array_equal(one, want[0])
    whole = x.copy()  # runs covering every element
    filtfilt_runs(b, a, whole, np.array([0, 150]), np.array([150, 400]))
    np.testing.assert_array_equal(whole, np.concatenate([filtfilt(b, a, x[:, :150]), filtfilt(b, a, x[:, 150:])], axis=1))
    with pytest.raises(ValueError):  # runs too short to filter
        filtfilt_runs(b, a, x.copy(), np.array([0]), np.array([9]))
    with pytest.raises(ValueError):  # in place needs C order
        filtfilt_runs(b, a, np.asfortranarray(x), starts, ends)


def test_filtfilt_runs_takes_second_order_filters_only():
    b, a = butter(3, 0.27)
    with pytest.raises(ValueError, match="second-order"):
        filtfilt_runs(b, a, np.zeros((1, 100)), np.array([0]), np.array([100]))
