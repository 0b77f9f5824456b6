"""Per-frame signals: near side, gap filling, zero-lag smoothing, standing reference."""

from __future__ import annotations

import dataclasses

import numpy as np
import polars as pl
import pytest

from hingeflow.analytics.signals import compute_signals, fill_gaps, lowpass_segments, signal_inputs, signals_batch
from hingeflow.analytics.types import Signals
from hingeflow.landmarks import LANDMARKS


def hinge_frames(trunk_deg: np.ndarray, fps: float = 30.0, facing: int = 1, knee_deg: float = 15.0,
                 near: str = "left", far_knee_deg: float = 60.0, person: np.ndarray | None = None) -> pl.DataFrame:
    """A stick figure in a side view hinging by `trunk_deg` per frame (pixels, y down).

    The near-side leg has knee flexion `knee_deg`, the far side `far_knee_deg`
    (and lower visibility), so averaging sides would be visibly wrong.
    """
    n = len(trunk_deg)
    t = np.arange(n) / fps
    th = np.radians(trunk_deg)
    hip = np.stack([np.full(n, 300.0), np.full(n, 400.0)], axis=1)
    # hip moves back as the trunk tilts, keeping balance
    hip[:, 0] -= facing * 60 * np.sin(th)
    trunk = 200.0
    sh = hip + np.stack([facing * trunk * np.sin(th), -trunk * np.cos(th)], axis=1)
    ear = sh + np.stack([facing * 40 * np.sin(th), -40 * np.cos(th)], axis=1)
    pts: dict[str, np.ndarray] = {}
    vis: dict[str, float] = {}
    far = "right" if near == "left" else "left"
    for s, kd in ((near, knee_deg), (far, far_knee_deg)):
        k = np.radians(kd)
        ankle = np.stack([np.full(n, 300.0), np.full(n, 760.0)], axis=1)
        # knee forward of the hip-ankle line so that flexion = kd (thigh = shank = 180)
        knee = ankle + np.array([facing * 180 * np.sin(k / 2), -180 * np.cos(k / 2)])
        hip_s = knee + np.array([-facing * 180 * np.sin(k / 2), -180 * np.cos(k / 2)])
        # reposition the leg so its hip is the body's hip
        off = hip - hip_s
        pts[f"{s}_hip"], pts[f"{s}_knee"], pts[f"{s}_ankle"] = hip.copy(), knee + off, ankle + off
        pts[f"{s}_shoulder"], pts[f"{s}_ear"] = sh.copy(), ear.copy()
        pts[f"{s}_wrist"] = sh + np.array([0.0, 180.0])
        pts[f"{s}_heel"] = pts[f"{s}_ankle"] + np.array([-facing * 20.0, 10.0])
        pts[f"{s}_foot_index"] = pts[f"{s}_ankle"] + np.array([facing * 60.0, 10.0])
        for j in ("hip", "knee", "ankle", "shoulder", "ear", "wrist", "heel", "foot_index"):
            vis[f"{s}_{j}"] = 0.95 if s == near else 0.4
    if person is None:
        person = np.ones(n, dtype=bool)
    cols: dict[str, object] = {"frame_idx": np.arange(n, dtype=np.int32), "t_s": t, "person": person}
    for name in LANDMARKS:
        xy = pts.get(name, pts[f"{near}_shoulder"])
        cols[f"{name}_x"] = np.where(person, xy[:, 0], np.nan)
        cols[f"{name}_y"] = np.where(person, xy[:, 1], np.nan)
        cols[f"{name}_vis"] = np.where(person, vis.get(name, 0.9), np.nan)
    cols["facing"] = np.where(person, facing, 0)
    df = pl.DataFrame(cols).fill_nan(None)
    return df.with_columns(pl.when(pl.col("facing") == 0).then(None).otherwise(pl.col("facing")).alias("facing"))


def slow_reps(n: int = 300, fps: float = 30.0, period_s: float = 3.0, depth: float = 70.0) -> np.ndarray:
    t = np.arange(n) / fps
    return depth * 0.5 * (1 - np.cos(2 * np.pi * t / period_s))


@pytest.mark.parametrize("near", ["left", "right"])
def test_near_side_is_the_more_visible_one_not_an_average(near):
    far = "right" if near == "left" else "left"
    frames = hinge_frames(slow_reps(), near=near, knee_deg=15.0, far_knee_deg=60.0).with_columns(
        pl.lit(0.2).alias(f"{far}_knee_vis"), pl.lit(0.2).alias(f"{far}_ankle_vis"))  # far leg below LOW_VIS
    sig = compute_signals(frames)
    assert sig.side == near
    assert np.nanmedian(sig.knee_deg) == pytest.approx(15.0, abs=1.0)
    assert sig.tracked.all()  # the near leg's visibility is read, not the far one's


def test_trunk_angle_and_standing_reference():
    trunk = slow_reps()
    sig = compute_signals(hinge_frames(trunk))
    assert sig.facing == 1
    assert np.nanmax(np.abs(sig.trunk_deg - trunk)) < 2.0
    assert np.nanmin(sig.vertical) == pytest.approx(0.0, abs=0.02)
    assert np.nanmax(sig.vertical) > 0.1  # mean of shoulder (~0.24) and hip (~0) drop
    assert np.nanmax(sig.hip_back) > 0.2  # hips travel back by ~60 px / 180 px thigh
    assert np.nanmedian(sig.chord_ratio) == pytest.approx(1.0, abs=0.02)
    # vertical rises with the trunk angle
    assert np.corrcoef(sig.vertical, trunk)[0, 1] > 0.95


def test_facing_left_gives_the_same_angles():
    trunk = slow_reps()
    right = compute_signals(hinge_frames(trunk, facing=1))
    left = compute_signals(hinge_frames(trunk, facing=-1))
    assert left.facing == -1
    np.testing.assert_allclose(left.trunk_deg, right.trunk_deg, atol=1e-6)
    np.testing.assert_allclose(left.hip_back, right.hip_back, atol=1e-6)


def test_short_gap_is_interpolated_long_gap_stays_nan():
    n, fps = 300, 30.0
    person = np.ones(n, bool)
    person[50:56] = False  # 0.2 s
    person[150:180] = False  # 1.0 s
    sig = compute_signals(hinge_frames(slow_reps(n), fps=fps, person=person))
    assert sig.valid[50:56].all() and np.isfinite(sig.trunk_deg[50:56]).all()
    assert not sig.valid[150:180].any() and np.isnan(sig.trunk_deg[150:180]).all()
    assert np.isfinite(sig.trunk_deg[:150]).all() and np.isfinite(sig.trunk_deg[180:]).all()


def test_fill_gaps_boundary_and_ends():
    t = np.arange(20) / 20.0  # 20 fps: 5 missing frames = 0.25 s
    ok = np.ones(20, bool)
    ok[0] = False  # leading: never filled
    ok[5:10] = False  # 0.25 s: filled
    ok[12:18] = False  # 0.30 s: not filled
    x = np.where(ok, t * 2, np.nan)
    y, yok = fill_gaps(t, x, ok)
    assert not yok[0] and np.isnan(y[0])
    np.testing.assert_allclose(y[5:10], t[5:10] * 2)
    assert not yok[12:18].any()


def test_filter_keeps_slow_sinusoid_with_zero_lag_and_removes_noise():
    fps = 30.0
    t = np.arange(600) / fps
    slow = np.sin(2 * np.pi * 0.5 * t)
    rng = np.random.default_rng(0)
    noise = 0.3 * np.sin(2 * np.pi * 12.0 * t) + 0.1 * rng.standard_normal(t.size)
    out = lowpass_segments(slow + noise, np.ones(t.size, bool), fps, 4.0)
    inner = slice(30, -30)
    assert np.sqrt(np.mean((out[inner] - slow[inner]) ** 2)) < 0.06
    # zero lag: the cross-correlation peaks at shift 0
    lags = np.arange(-5, 6)
    xc = [np.dot(np.roll(out, L)[inner], slow[inner]) for L in lags]
    assert lags[int(np.argmax(xc))] == 0
    # the 12 Hz component is strongly attenuated
    resid = out[inner] - slow[inner]
    assert np.std(resid) < 0.25 * np.std(noise[inner])


def test_filter_per_segment_short_segments_unfiltered():
    x = np.arange(100, dtype=float) % 2  # pure Nyquist zig-zag
    ok = np.ones(100, bool)
    ok[40:50] = False
    ok[55:60] = False  # segment 50..55 is 5 frames: too short
    x[~ok] = np.nan
    out = lowpass_segments(x, ok, 30.0, 4.0)
    np.testing.assert_array_equal(out[50:55], x[50:55])
    assert np.isnan(out[40:50]).all()
    assert np.std(out[60:100]) < 0.2  # zig-zag removed in long segments


def test_no_frames_at_all():
    sig = compute_signals(hinge_frames(slow_reps(10)).head(0))
    assert sig.t_s.size == 0 and sig.trunk_deg.size == 0 and sig.valid.size == 0


def test_no_person_at_all():
    n = 40
    sig = compute_signals(hinge_frames(slow_reps(n), person=np.zeros(n, bool)))
    assert not sig.valid.any() and np.isnan(sig.trunk_deg).all() and np.isnan(sig.vertical).all()


def test_hard_cut_splits_segments():
    trunk = slow_reps(300)
    df = hinge_frames(trunk)
    # shift the second half far away (camera change): no smearing across the cut
    shift = np.where(np.arange(300) >= 150, 500.0, 0.0)
    df = df.with_columns([(pl.col(c) + pl.Series(shift)).alias(c) for c in df.columns if c.endswith("_x")])
    sig = compute_signals(df)
    assert np.nanmax(np.abs(sig.trunk_deg - trunk)) < 2.0


def _swap_legs(df: pl.DataFrame, rows: np.ndarray) -> pl.DataFrame:
    """Swap the left/right knee, ankle, heel and foot-index coordinates on `rows` (a pose-model label swap)."""
    sel = pl.Series(rows)
    out = []
    for j in ("knee", "ankle", "heel", "foot_index"):
        for c in ("x", "y"):
            lc, rc = f"left_{j}_{c}", f"right_{j}_{c}"
            out += [pl.when(sel).then(pl.col(rc)).otherwise(pl.col(lc)).alias(lc),
                    pl.when(sel).then(pl.col(lc)).otherwise(pl.col(rc)).alias(rc)]
    return df.with_columns(out)


@pytest.mark.parametrize("swap", [[100], [100, 101, 102], list(range(140, 148))])
def test_left_right_leg_swap_is_undone(swap):
    n = 300
    rows = np.zeros(n, bool)
    rows[swap] = True
    clean = compute_signals(hinge_frames(slow_reps(n), knee_deg=15.0, far_knee_deg=60.0))
    sig = compute_signals(_swap_legs(hinge_frames(slow_reps(n), knee_deg=15.0, far_knee_deg=60.0), rows))
    assert sig.side == "left"
    # without un-swapping the near knee would read ~60 deg on the swapped frames and smear around them
    np.testing.assert_allclose(sig.knee_deg, clean.knee_deg, atol=0.5)


def test_ankle_latched_onto_the_hands_is_ignored():
    n = 300
    df = hinge_frames(slow_reps(n), knee_deg=15.0)
    bad = np.zeros(n, bool)
    bad[60:90] = True  # ~1 s around the first bottom: the ankle jumps up to the wrist
    df = df.with_columns(
        pl.when(pl.Series(bad)).then(pl.col("left_wrist_x")).otherwise(pl.col("left_ankle_x")).alias("left_ankle_x"),
        pl.when(pl.Series(bad)).then(pl.col("left_wrist_y")).otherwise(pl.col("left_ankle_y")).alias("left_ankle_y"),
        pl.when(pl.Series(bad)).then(0.6).otherwise(pl.col("left_ankle_vis")).alias("left_ankle_vis"),
    )
    sig = compute_signals(df)
    # the fixture's ankle slides with the hip (up to 60 px), so interpolating across it is not exact;
    # left in, the latched ankle would read the knee ~90-170 deg
    assert np.nanmax(np.abs(sig.knee_deg - 15.0)) < 3.0


def test_deep_knee_hidden_behind_the_plates_is_read_from_the_hip_ankle_chord():
    n = 300
    trunk = slow_reps(n)
    df = hinge_frames(trunk, knee_deg=70.0, far_knee_deg=70.0)
    # near the bottoms the knee landmark is pulled halfway to the hip-ankle line (reads ~38 deg, not 70)
    deep = pl.Series(trunk > 55.0)
    out = []
    for c in ("x", "y"):
        line = (pl.col(f"left_hip_{c}") + pl.col(f"left_ankle_{c}")) / 2
        out.append(pl.when(deep).then((pl.col(f"left_knee_{c}") + line) / 2).otherwise(pl.col(f"left_knee_{c}")).alias(f"left_knee_{c}"))
    sig = compute_signals(df.with_columns(out))
    core = (trunk > 60.0)
    assert np.nanmedian(sig.knee_deg[core]) == pytest.approx(70.0, abs=3.0)
    # a moderately bent knee (below CHORD_MIN_DEG) is read from the landmarks as before
    sig30 = compute_signals(hinge_frames(trunk, knee_deg=30.0))
    assert np.nanmax(np.abs(sig30.knee_deg - 30.0)) < 1.0


def test_hip_line_tilt_from_horizontal():
    n = 120
    df = hinge_frames(np.zeros(n), near="left")
    # a front view: the hips 100 px apart, the athlete's left hip (image right) 10 px higher
    df = df.with_columns(pl.lit(350.0).alias("left_hip_x"), pl.lit(250.0).alias("right_hip_x"),
                         pl.lit(390.0).alias("left_hip_y"), pl.lit(400.0).alias("right_hip_y"))
    sig = compute_signals(df)
    assert np.nanmedian(sig.hip_tilt) == pytest.approx(np.degrees(np.arctan2(10.0, 100.0)), abs=0.01)


def test_body_measures_follow_the_angle_conventions_on_random_points():
    """The compiled per-frame measures equal `hingeflow.angles` and plain numpy on random points
    (either near side, either facing, some NaN), bit for bit."""
    from hingeflow import angles
    from hingeflow.analytics import signals as S
    from hingeflow.analytics.grouped import Groups

    rng = np.random.default_rng(21)
    n = 500
    pts = rng.uniform(0, 1000, size=(len(S._SMOOTHED), n))
    pts[:, rng.random(n) < 0.05] = np.nan
    facing, left = rng.choice([-1, 1], n), rng.random(n) < 0.5
    valid = np.ones(n, dtype=bool)
    body = S._body(pts, valid, ankle_guessed=valid, facing=facing, left=left, groups=Groups.of_lengths([n]))

    def p(name: str) -> np.ndarray:
        return pts[[S._ROW[f"{name}_x"], S._ROW[f"{name}_y"]]].T

    def mid(joint: str) -> np.ndarray:
        return (p(f"near_{joint}") + p(f"far_{joint}")) / 2

    def direction(v: np.ndarray) -> np.ndarray:
        return np.degrees(np.arctan2(facing * v[:, 0], -v[:, 1]))

    hip, sh = mid("hip"), mid("shoulder")
    right_minus_left = np.where(left[:, None], p("far_hip") - p("near_hip"), p("near_hip") - p("far_hip"))
    want = {
        "trunk": angles.trunk_angle_deg(hip, sh, facing),
        "knee": angles.flexion_deg(p("near_hip"), p("near_knee"), p("near_ankle")),  # ankle guessed: no chord
        "hip": angles.flexion_deg(p("near_shoulder"), p("near_hip"), p("near_knee")),
        "neck": (direction(mid("ear") - sh) - direction(sh - hip) + 180.0) % 360.0 - 180.0,
        "hip_tilt": np.degrees(np.arctan2(right_minus_left[:, 1], np.abs(right_minus_left[:, 0]))),
        "chord": np.linalg.norm(sh - hip, axis=1),
        "thigh": np.linalg.norm(p("near_hip") - p("near_knee"), axis=1),
        "height": (pts[S._ROW["near_ankle_y"]] + pts[S._ROW["far_ankle_y"]]) / 2 - sh[:, 1],
        "wrist_x": pts[S._ROW["near_wrist_x"]] - (pts[S._ROW["near_heel_x"]] + pts[S._ROW["near_foot_index_x"]]) / 2,
    }
    for name, value in want.items():
        np.testing.assert_array_equal(getattr(body, name), value, err_msg=name)
    np.testing.assert_array_equal(body.sh_mid, sh)
    np.testing.assert_array_equal(body.hip_mid, hip)


def test_chord_knee_estimate_ignores_frames_with_a_guessed_ankle():
    n = 300
    trunk = slow_reps(n)
    df = hinge_frames(trunk, knee_deg=15.0)
    # at the bottoms the ankle is unseen (vis 0.1) and the hip landmark slides down towards it:
    # the hip-ankle chord then says "deep knee" although the knee stays at 15 deg
    deep = pl.Series(trunk > 55.0)
    df = df.with_columns(
        pl.when(deep).then(pl.col("left_hip_y") + 45.0).otherwise(pl.col("left_hip_y")).alias("left_hip_y"),
        pl.when(deep).then(0.1).otherwise(pl.col("left_ankle_vis")).alias("left_ankle_vis"),
    )
    sig = compute_signals(df)
    assert np.nanmax(sig.knee_deg[trunk > 60.0]) < 25.0  # trusting the chord there read ~61 deg


def test_tracking_check_flags_unseen_legs_and_an_upright_deep_squat():
    n = 300
    trunk = slow_reps(n)
    sig = compute_signals(hinge_frames(trunk, knee_deg=15.0))
    assert sig.tracked.all()
    unseen = hinge_frames(trunk, knee_deg=15.0).with_columns(pl.lit(0.1).alias("left_knee_vis"), pl.lit(0.1).alias("left_ankle_vis"))
    assert not compute_signals(unseen).tracked.any()
    collapsed = compute_signals(hinge_frames(np.zeros(n), knee_deg=120.0, far_knee_deg=120.0))
    assert not collapsed.tracked.any()  # knees at 120 deg under a vertical trunk
    leaning = compute_signals(hinge_frames(np.full(n, 35.0), knee_deg=120.0, far_knee_deg=120.0))
    assert leaning.tracked.all()  # a squat leans forward: fine


def _latched_ankle(df: pl.DataFrame, rows: slice) -> pl.DataFrame:
    """The near (left) ankle jumps onto the wrist on `rows`."""
    bad = np.zeros(df.height, bool)
    bad[rows] = True
    return df.with_columns(
        pl.when(pl.Series(bad)).then(pl.col(f"left_wrist_{c}")).otherwise(pl.col(f"left_ankle_{c}")).alias(f"left_ankle_{c}")
        for c in ("x", "y"))


def _shifted(df: pl.DataFrame, dx: float, dy: float = 0.0) -> pl.DataFrame:
    """The whole figure moved by (dx, dy) px."""
    return df.with_columns([pl.col(c) + (dx if c.endswith("_x") else dy) for c in df.columns if c.endswith(("_x", "_y"))])


def assert_same_signals(got: Signals, want: Signals) -> None:
    """Every field equal, arrays bit for bit (NaN where NaN)."""
    for f in dataclasses.fields(Signals):
        a, b = getattr(got, f.name), getattr(want, f.name)
        if isinstance(a, np.ndarray):
            assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), f.name
        else:
            assert a == b or (a != a and b != b), f.name


def test_a_batch_equals_each_video_alone():
    """Videos of different lengths, frame rates, sides and places in the image, computed together,
    give exactly what each gives alone, field by field (bit for bit), in any batch order."""
    n = 300
    trunk = slow_reps(n)
    dropouts = np.ones(n, bool)
    dropouts[:4] = False  # leading: stays NaN
    dropouts[50:56] = False  # filled
    dropouts[150:180] = False  # stays a gap: two runs, two shots
    swap = np.zeros(n, bool)
    swap[[0, 1, 100, 101, 102]] = True
    unseen_start = pl.Series(np.arange(n) < 5)
    videos = [
        hinge_frames(trunk),
        hinge_frames(slow_reps(40), person=np.zeros(40, bool)),  # no person at all
        _shifted(hinge_frames(trunk, person=dropouts), 400.0, -90.0),
        _shifted(hinge_frames(slow_reps(8)), -250.0),  # too short to filter
        pl.concat([hinge_frames(trunk[:150]), _shifted(hinge_frames(trunk[150:]), 500.0)  # a hard cut
                   .with_columns(pl.col("frame_idx") + 150, pl.col("t_s") + 5.0)]),
        _shifted(hinge_frames(slow_reps(200, fps=25.0), fps=25.0, facing=-1, near="right"), 700.0, 50.0),
        hinge_frames(trunk[::-1], knee_deg=15.0),  # ends where the next one starts, which has its legs swapped
        _swap_legs(_latched_ankle(hinge_frames(trunk, knee_deg=15.0), slice(60, 90)), swap)
        .with_columns(pl.when(unseen_start).then(0.1).otherwise(pl.col("left_ankle_vis")).alias("left_ankle_vis")),
        _shifted(hinge_frames(slow_reps(3 * n, period_s=7.0), knee_deg=70.0, far_knee_deg=70.0), 90.0).drop("facing"),
    ]
    inputs = [signal_inputs(df) for df in videos]
    alone = [signals_batch([inp])[0] for inp in inputs]
    for order in (list(range(len(inputs))), list(reversed(range(len(inputs))))):
        for i, got in zip(order, signals_batch([inputs[i] for i in order])):
            assert_same_signals(got, alone[i])
    assert alone[5].side == "right" and alone[5].facing == -1 and alone[5].fps == pytest.approx(25.0)
    assert not alone[1].valid.any() and np.isnan(alone[2].trunk_deg[150:180]).all()


def test_near_side_per_video_equals_angles_near_side_over_the_frames_with_a_person():
    """Many videos at once: each video's near side is `angles.near_side` of its frames with a person
    (the others do not vote), and a video whose two sides are equally visible is a left one."""
    from hingeflow.analytics import signals
    from hingeflow.analytics.grouped import Groups
    from hingeflow.angles import INDEX, SAGITTAL, near_side

    rng = np.random.default_rng(7)
    groups = Groups.of_lengths(rng.integers(1, 60, 40))
    vis = rng.random((len(signals._USED), groups.bounds[-1]))
    vis[rng.random(vis.shape) < 0.1] = np.nan
    ok = rng.random(vis.shape[1]) < 0.7
    vis[:, ~ok] += 5.0  # frames without a person would decide every video if they voted
    for g in range(0, 40, 4):  # equally visible sides
        s, e = groups.bounds[g], groups.bounds[g + 1]
        for j in SAGITTAL:
            vis[signals._COL[f"right_{j}"], s:e] = vis[signals._COL[f"left_{j}"], s:e]
    got = signals._near_is_left(vis, ok, groups)
    for g in range(groups.n_groups):
        s, e = groups.bounds[g], groups.bounds[g + 1]
        full = np.full((int(ok[s:e].sum()), 33), np.nan)
        for name, row in signals._COL.items():
            full[:, INDEX[name]] = vis[row, s:e][ok[s:e]]
        assert got[g] == (near_side(full) == "left"), g
    assert got[::4].all() and not got.all()


@pytest.mark.parametrize("shift, flagged", [(1.05, True), (0.95, False)])
def test_ankle_just_past_the_tolerance_is_replaced(shift, flagged):
    """A planted ankle displaced on one frame by `shift` x ANKLE_TOL shank lengths is an outlier
    only past the tolerance (the running median is skipped only where no frame can be one)."""
    from hingeflow.analytics import signals

    n, at = 200, 100
    df = hinge_frames(np.zeros(n), knee_deg=15.0)  # standing still: knee and ankle do not move
    shank = 180.0
    df = df.with_columns(pl.when(pl.int_range(n) == at).then(pl.col("left_ankle_x") + shift * signals.ANKLE_TOL * shank)
                         .otherwise(pl.col("left_ankle_x")).alias("left_ankle_x"))
    batch = signals._owning(signal_inputs(df), [n])
    videos = signals._choose(batch)
    bad = signals._fix_ankle_outliers(batch, videos.ok, videos.dt)
    assert np.flatnonzero(bad).tolist() == ([at] if flagged else [])
