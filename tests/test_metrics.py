"""Per-rep metrics on constructed Signals with known values, and the batched metrics against the
one-rep reference on random videos."""

from __future__ import annotations

import math

import numpy as np
import pytest

import reference_analytics as reference
from hingeflow.analytics.metrics import (METRIC_COLUMNS, SAGITTAL, batch_confidence, batch_metrics, descent_time,
                                         lockout_index, measure_reps, optional, rep_metrics)
from hingeflow.analytics.types import Rep, RepBatch, Signals, SignalsBatch

FIELDS = ("trunk_deg", "knee_deg", "hip_deg", "chord_ratio", "neck_deg", "back_bulge", "back_bend",
          "hip_back", "hip_down", "wrist_offset", "hip_tilt", "vertical")


def make_signals(t_s: np.ndarray, **arrays) -> Signals:
    """A Signals from a time base and some arrays; the rest NaN (valid: all True)."""
    n = len(t_s)
    kw = {f: np.asarray(arrays.pop(f), dtype=float) if f in arrays else np.full(n, np.nan) for f in FIELDS}
    valid = np.asarray(arrays.pop("valid", np.ones(n, bool)), dtype=bool)
    tracked = np.asarray(arrays.pop("tracked", np.ones(n, bool)), dtype=bool)
    fps = float(arrays.pop("fps", 1.0 / np.median(np.diff(t_s))))
    assert not arrays, f"unknown fields {sorted(arrays)}"
    return Signals(t_s=np.asarray(t_s, float), valid=valid, tracked=tracked, facing=1, side="left", fps=fps, **kw)


def _ease(u):
    u = np.clip(u, 0, 1)
    return 0.5 - 0.5 * np.cos(np.pi * u)


def hinge_rep(fps=30.0, trunk_bottom=70.0, knee_bottom=20.0, knee_top=5.0, trunk_top=0.0, ecc=1.2, conc=0.9,
              pause=0.2, lead=0.5, tail=0.5, hips_rise_first=False, bend_bottom=-5.0, bulge_bottom=0.005,
              chord_bottom=0.98, wrist_bottom=0.05, hip_back_bottom=0.6, hip_down_bottom=0.15,
              neck_bottom=5.0, tilt_start=0.0, tilt_bottom=0.0, jitter=0.0, seed=0):
    """Signals of one idealised rep (cosine easing) and its Rep (start, bottom, end)."""
    t = np.arange(0, lead + ecc + pause + conc + tail, 1 / fps)
    u_e = (t - lead) / ecc
    u_c = (t - lead - ecc - pause) / conc
    down = _ease(u_e)
    up = _ease(u_c)
    p_trunk = np.where(u_c > 0, 1 - up, down)
    if hips_rise_first:
        p_knee = np.where(u_c > 0, 1 - _ease(u_c / 0.55), down)
        p_trunk = np.where(u_c > 0, 1 - _ease((u_c - 0.3) / 0.7), down)
    else:
        p_knee = p_trunk
    after = u_c > 0
    trunk = np.where(after, trunk_top + (trunk_bottom - trunk_top) * p_trunk, trunk_bottom * p_trunk)
    knee = np.where(after, knee_top + (knee_bottom - knee_top) * p_knee, knee_top + (knee_bottom - knee_top) * p_knee)
    rng = np.random.default_rng(seed)
    trunk = trunk + rng.normal(0, jitter, len(t)) if jitter else trunk
    sig = make_signals(
        t, trunk_deg=trunk, knee_deg=knee, hip_deg=trunk + knee * 0.5,
        chord_ratio=1 - (1 - chord_bottom) * p_trunk, neck_deg=neck_bottom * p_trunk,
        back_bulge=bulge_bottom * p_trunk, back_bend=bend_bottom * p_trunk,
        hip_back=hip_back_bottom * p_trunk, hip_down=hip_down_bottom * p_trunk,
        wrist_offset=wrist_bottom * p_trunk, vertical=0.5 * p_trunk,
        hip_tilt=tilt_start + (tilt_bottom - tilt_start) * p_trunk,
    )
    i0 = int(round(lead * fps))
    ib = int(round((lead + ecc + pause / 2) * fps))
    i1 = min(int(round((lead + ecc + pause + conc) * fps)), len(t) - 1)
    return sig, Rep(i0, ib, i1)


def test_extracts_known_values():
    sig, rep = hinge_rep(trunk_bottom=72.0, knee_bottom=22.0, knee_top=4.0, trunk_top=-3.0, bend_bottom=6.0,
                         chord_bottom=0.95, wrist_bottom=0.12, hip_back_bottom=0.6, hip_down_bottom=0.2,
                         neck_bottom=9.0, bulge_bottom=0.03)
    m = rep_metrics(sig, rep, "side")
    assert set(METRIC_COLUMNS) <= set(m)
    assert m["trunk_angle_bottom_deg"] == pytest.approx(72.0, abs=0.01)
    assert m["trunk_angle_top_deg"] == pytest.approx(-3.0, abs=0.05)
    assert m["knee_flexion_bottom_deg"] == pytest.approx(22.0, abs=0.3)
    assert m["knee_flexion_top_deg"] == pytest.approx(4.0, abs=0.1)
    assert m["chord_shortening_pct"] == pytest.approx(5.0, abs=0.3)
    assert m["back_bend_bottom_deg"] == pytest.approx(6.0, abs=0.3)
    assert m["back_bulge_bottom"] == pytest.approx(0.03, abs=0.002)
    assert m["neck_drop_deg"] == pytest.approx(9.0, abs=0.01)
    assert m["wrist_offset_bottom"] == pytest.approx(0.12, abs=0.01)
    assert m["hip_back_vs_down"] == pytest.approx(3.0, abs=0.01)
    assert m["eccentric_s"] == pytest.approx(1.3, abs=0.04)
    assert m["concentric_s"] == pytest.approx(1.0, abs=0.04)
    # 5% -> 95% of a cosine ease spends 71.3% of its duration
    assert m["descent_s"] == pytest.approx(0.713 * 1.2, abs=0.03)
    assert m["valid_frac"] == 1.0
    assert set(m["null_reasons"]) <= {"hips_rise_trunk_progress", "hip_tilt_bottom_deg"}
    assert m["hip_tilt_bottom_deg"] is None and "front view" in m["null_reasons"]["hip_tilt_bottom_deg"]


def test_hips_rise_first_evidence():
    fine, rep = hinge_rep(knee_bottom=70.0, knee_top=4.0, trunk_bottom=58.0)
    hrf, rep2 = hinge_rep(knee_bottom=70.0, knee_top=4.0, trunk_bottom=58.0, hips_rise_first=True)
    a = rep_metrics(fine, rep, "side")["hips_rise_trunk_progress"]
    b = rep_metrics(hrf, rep2, "side")["hips_rise_trunk_progress"]
    assert a == pytest.approx(0.5, abs=0.05)
    assert b < 0.1


def test_small_knee_range_gives_reasoned_null():
    sig, rep = hinge_rep(knee_bottom=12.0, knee_top=6.0)
    m = rep_metrics(sig, rep, "side")
    assert m["hips_rise_trunk_progress"] is None
    assert "knee" in m["null_reasons"]["hips_rise_trunk_progress"]


@pytest.mark.parametrize("view", ["front", "diagonal"])
def test_front_view_nulls_sagittal_with_reason(view):
    sig, rep = hinge_rep()
    m = rep_metrics(sig, rep, view)
    for k in SAGITTAL:
        assert m[k] is None
        assert view in m["null_reasons"][k] and "sagittal" in m["null_reasons"][k]
    assert m["eccentric_s"] == pytest.approx(1.3, abs=0.04)
    assert m["depth_bottom"] == pytest.approx(0.5)
    assert m["descent_s"] == pytest.approx(0.713 * 1.2, abs=0.03)


def test_rep_with_the_lower_body_lost_has_no_sagittal_metrics():
    sig, rep = hinge_rep()
    seen = np.ones(len(sig.t_s), bool)
    seen[rep.bottom - 12: rep.bottom + 12] = False  # ~0.8 s of a 2.6 s rep around the bottom
    lost = make_signals(sig.t_s, tracked=seen, **{f: getattr(sig, f) for f in FIELDS})
    m = rep_metrics(lost, rep, "side")
    assert m["untracked_frac"] == pytest.approx(24 / (rep.end - rep.start + 1), abs=1e-9)
    for k in SAGITTAL + ("descent_s",):
        assert m[k] is None and "tracking lost" in m["null_reasons"][k]
    assert m["eccentric_s"] is not None and m["depth_bottom"] is not None
    # a short unseen stretch (a few frames) is tolerated
    seen[rep.bottom - 12: rep.bottom + 6] = True
    ok = rep_metrics(make_signals(sig.t_s, tracked=seen, **{f: getattr(sig, f) for f in FIELDS}), rep, "side")
    assert ok["trunk_angle_bottom_deg"] is not None


def test_hip_tilt_change_in_front_view_only():
    sig, rep = hinge_rep(tilt_start=-3.0, tilt_bottom=5.0)  # a constant -3 deg camera tilt, +8 deg in the rep
    assert rep_metrics(sig, rep, "front")["hip_tilt_bottom_deg"] == pytest.approx(8.0, abs=0.2)
    for view in ("side", "diagonal"):
        m = rep_metrics(sig, rep, view)
        assert m["hip_tilt_bottom_deg"] is None and "front view" in m["null_reasons"]["hip_tilt_bottom_deg"]


def test_missing_signal_null_reason_and_valid_fraction():
    sig, rep = hinge_rep()
    valid = sig.valid.copy()
    valid[rep.start: rep.start + 10] = False
    bend = np.full(len(sig.t_s), np.nan)
    sig2 = make_signals(sig.t_s, valid=valid, trunk_deg=sig.trunk_deg, knee_deg=sig.knee_deg,
                        back_bend=bend, vertical=sig.vertical)
    m = rep_metrics(sig2, rep, "side")
    assert m["back_bend_bottom_deg"] is None and "NaN" in m["null_reasons"]["back_bend_bottom_deg"]
    assert m["valid_frac"] == pytest.approx(1 - 10 / (rep.end - rep.start + 1))
    assert m["trunk_angle_bottom_deg"] == pytest.approx(70.0, abs=0.01)


def test_descent_time_linear():
    t = np.linspace(0, 1, 101)
    assert descent_time(t, t * 50) == pytest.approx(0.9, abs=1e-6)
    assert math.isnan(descent_time(t, np.zeros(101)))



def test_lockout_of_a_last_rep_that_runs_on_into_standing_up():
    # a soft 16 deg lockout reached at the end of the pull, then straight on to upright (set over)
    t = np.arange(0, 2.0, 1 / 30)
    rise = 70 - 54 * _ease(t / 1.0)  # 70 -> 16 deg in 1 s
    after = 16 - 16 * _ease((t - 1.0) / 0.5)  # then 16 -> 0 in 0.5 s
    trunk = np.where(t <= 1.0, rise, after)
    i = lockout_index(trunk)
    assert trunk[i] == pytest.approx(16.0, abs=2.0)
    # with a pause at the top the lockout is the most extended angle, as before
    held = np.where(t <= 1.0, 70 - 72 * _ease(t / 1.0), -2.0)
    assert held[lockout_index(held)] == pytest.approx(-2.0, abs=0.01)


def test_lockout_found_after_the_reps_end():
    # the rep (as segmented) ends at 2 deg on the way back; the trunk goes on to -12 deg
    sig, rep = hinge_rep(trunk_top=-12.0, tail=1.0)
    early_end = int(np.flatnonzero((np.arange(len(sig.t_s)) > rep.bottom) & (sig.trunk_deg <= 2.0))[0])
    m = rep_metrics(sig, Rep(rep.start, rep.bottom, early_end), "side")
    assert m["trunk_angle_top_deg"] == pytest.approx(-12.0, abs=0.05)
    # ... but not into the next rep's descent: a touch-and-go rep stops where the rise turns
    t = np.arange(0, 4.0, 1 / 30)
    trunk = 35 + 35 * np.cos(2 * np.pi * t / 2.0)  # 70 -> 0 -> 70 every 2 s, lockout 0 at t = 1 s
    sig2 = make_signals(t, trunk_deg=trunk, knee_deg=np.full(len(t), 10.0), vertical=trunk / 140)
    m2 = rep_metrics(sig2, Rep(0, 0, 27), "side")  # ends 3 frames before the turn
    assert m2["trunk_angle_top_deg"] == pytest.approx(0.0, abs=0.2)


def test_lockout_search_past_the_end_stops_where_tracking_is_lost():
    sig, rep = hinge_rep(trunk_top=0.0, tail=1.0)
    trunk = sig.trunk_deg.copy()
    tracked = np.ones(len(trunk), bool)
    end = rep.end
    trunk[end + 3:] = -120.0  # garbage pose just after the rep
    tracked[end + 3:] = False
    sig = make_signals(sig.t_s, trunk_deg=trunk, knee_deg=sig.knee_deg, vertical=sig.vertical, tracked=tracked)
    m = rep_metrics(sig, rep, "side")
    assert m["trunk_angle_top_deg"] == pytest.approx(0.0, abs=0.5)


def _bits(x: float | None) -> bytes | None:
    return None if x is None else np.float64(x).tobytes()


def _random_video(rng: np.random.Generator) -> Signals:
    """Signals of a random video: hinge cycles with noise, ties and -0.0 (rounding), gaps,
    the odd infinity, untracked and invalid stretches, random frame rate."""
    n = int(rng.integers(2, 160))
    fps = float(rng.choice([25.0, 30.0, 60.0, 0.0]))
    t = np.arange(n) / (fps or 30.0)
    cycle = 0.5 - 0.5 * np.cos(2 * np.pi * t / rng.uniform(1.0, 3.0))
    arrays = {}
    for name in FIELDS:
        x = rng.uniform(5, 80) * cycle + rng.normal(0, rng.choice([0.0, 1.0, 4.0]), n) + rng.uniform(-20, 5)
        if rng.random() < 0.3:
            x = np.round(x)  # ties, and -0.0 from small negatives
        x[rng.random(n) < rng.choice([0.0, 0.05, 0.5])] = np.nan
        x[rng.random(n) < 0.01] = rng.choice([np.inf, -np.inf])
        arrays[name] = x
    # the maxima (depth_bottom, hip flexion) are positive: numpy's max of mixed 0.0 / -0.0 picks either sign
    arrays["vertical"], arrays["hip_deg"] = np.abs(arrays["vertical"]) + 0.5, np.abs(arrays["hip_deg"]) + 0.5
    tracked = rng.random(n) > rng.choice([0.0, 0.1, 0.5])
    return make_signals(t, valid=rng.random(n) > 0.1, tracked=tracked, fps=fps, **arrays)


@pytest.mark.parametrize("seed", range(30))
def test_batched_metrics_and_confidence_equal_the_per_rep_reference(seed):
    """Reps of several videos measured together get exactly the values, reasons and confidence
    of the one-rep reference (tests/reference_analytics.py); windows never reach into a
    neighbouring video."""
    rng = np.random.default_rng(seed)
    sigs = [_random_video(rng) for _ in range(5)]
    views = [rng.choice(["side", "side", "front", "diagonal", "", None]) for _ in sigs]
    reps = [[Rep(*sorted(rng.integers(0, len(s.t_s), 3).tolist())) for _ in range(6)] for s in sigs]
    batch = RepBatch.of(SignalsBatch.of(sigs, views), reps)
    values, reasons = batch_metrics(batch)
    conf = batch_confidence(batch)
    # measured in groups of similar length, in the same order
    grouped_values, grouped_reasons, grouped_conf = measure_reps(batch)
    assert all(grouped_values[m].tobytes() == values[m].tobytes() for m in METRIC_COLUMNS)
    assert [grouped_reasons.of_rep(i) for i in range(batch.size)] == [reasons.of_rep(i) for i in range(batch.size)]
    assert grouped_conf.tobytes() == conf.tobytes()
    r = 0
    for sig, view, rr in zip(sigs, views, reps):
        for rep in rr:
            want = reference.rep_metrics(sig, rep, view)
            got = {m: optional(m, float(values[m][r])) for m in METRIC_COLUMNS}
            assert {m: _bits(got[m]) for m in METRIC_COLUMNS} == {m: _bits(want[m]) for m in METRIC_COLUMNS}
            assert reasons.of_rep(r) == want["null_reasons"]
            assert _bits(conf[r]) == _bits(reference.confidence(sig, rep, view))
            assert rep_metrics(sig, rep, view) == {**got, "null_reasons": reasons.of_rep(r)}
            r += 1


def test_lockout_index_matches_the_reference_on_random_rises():
    rng = np.random.default_rng(3)
    for _ in range(300):
        n = int(rng.integers(1, 40))
        trunk = np.cumsum(rng.integers(-4, 2, n)).astype(float) + 0.0  # integer speeds: tied dips
        trunk[rng.random(n) < 0.1] = rng.choice([np.nan, np.inf])
        assert lockout_index(trunk) == reference.lockout_index(trunk)
        t = np.cumsum(rng.uniform(0.02, 0.05, n))
        assert _bits(descent_time(t, -trunk)) == _bits(reference.descent_time(t, -trunk))
