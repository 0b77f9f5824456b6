"""Faults fire on constructed reps that have them and not on clean ones; score; confidence."""

from __future__ import annotations

import numpy as np
import pytest
from test_metrics import hinge_rep, make_signals

import polars as pl

from hingeflow.analytics.faults import FAULTS, confidence, form_score, judge_reps, rep_faults
from hingeflow.analytics.metrics import rep_metrics
from hingeflow.analytics.profiles import load_profiles

P = load_profiles()


def faults_of(exercise="romanian_deadlift", baseline=None, view="side", **kw):
    sig, rep = hinge_rep(**kw)
    m = rep_metrics(sig, rep, view)
    return rep_faults(m, P[exercise], baseline), m


def test_profiles_have_sources_and_all_exercises():
    assert set(P) == {"deadlift", "romanian_deadlift", "kettlebell_swing", "good_morning", "hip_hinge_drill"}
    for p in P.values():
        assert p.source
        assert set(p.weights) <= set(FAULTS)


@pytest.mark.parametrize("ex", ["deadlift", "romanian_deadlift", "good_morning", "hip_hinge_drill"])
def test_clean_rep_has_no_faults(ex):
    knee = 72.0 if ex == "deadlift" else 15.0
    trunk = 58.0 if ex == "deadlift" else 72.0
    f, _ = faults_of(ex, knee_bottom=knee, trunk_bottom=trunk)
    assert f == []


def test_deadlift_knee_60_is_not_squatting_but_rdl_60_is():
    f_dl, _ = faults_of("deadlift", knee_bottom=60.0, trunk_bottom=55.0)
    f_rdl, _ = faults_of("romanian_deadlift", knee_bottom=60.0, trunk_bottom=55.0)
    assert "squatting_the_hinge" not in f_dl
    assert "squatting_the_hinge" in f_rdl
    # a deadlift sunk into the squat range is squatting, once clear of the knee's noise (5 deg)
    f_sq, _ = faults_of("deadlift", knee_bottom=130.0, trunk_bottom=40.0)
    assert "squatting_the_hinge" in f_sq
    f_near, _ = faults_of("deadlift", knee_bottom=122.0, trunk_bottom=40.0)
    assert "squatting_the_hinge" not in f_near


CASES = {
    "lockout_overextension": dict(trunk_top=-12.0),
    "incomplete_lockout": dict(trunk_top=16.0),
    "locked_knees": dict(knee_bottom=-1.0, knee_top=-1.0),
    "load_drift": dict(wrist_bottom=0.45),
    "weight_on_toes": dict(hip_back_bottom=-0.05),
    "shallow_range": dict(trunk_bottom=30.0),
    "rushed_eccentric": dict(ecc=0.5),
    "rounded_back": dict(bend_bottom=6.0),  # absolute fallback: outline bending outward
    "squatting_the_hinge": dict(knee_bottom=50.0),
}


@pytest.mark.parametrize("fault", sorted(CASES))
def test_each_fault_fires_alone(fault):
    f, _ = faults_of("romanian_deadlift", **CASES[fault])
    assert f == [fault]


def test_hips_rise_first_on_deadlift():
    f, _ = faults_of("deadlift", knee_bottom=72.0, trunk_bottom=58.0, hips_rise_first=True)
    assert f == ["hips_rise_first"]
    f, _ = faults_of("deadlift", knee_bottom=72.0, trunk_bottom=58.0)
    assert f == []


def test_rounded_back_relative_to_baseline():
    # this athlete's mask reads +2 deg of bend even when the back is neutral (outline/clothing)
    _, base = faults_of(bend_bottom=2.0, bulge_bottom=0.005)
    f_same, _ = faults_of(baseline=base, bend_bottom=2.5, bulge_bottom=0.007)
    f_more, _ = faults_of(baseline=base, bend_bottom=8.0, bulge_bottom=0.05)
    assert "rounded_back" not in f_same
    assert "rounded_back" in f_more
    # the absolute fallback would have called the neutral back rounded
    assert "rounded_back" in faults_of(bend_bottom=5.0)[0]
    # bulge alone (bend unavailable) is enough when large
    m = dict(base)
    m["back_bend_bottom_deg"] = None
    m["back_bulge_bottom"] = base["back_bulge_bottom"] + 0.05
    assert rep_faults(m, P["romanian_deadlift"], base) == ["rounded_back"]
    # without mask measures, chord shortening vs baseline decides
    b2 = {"chord_shortening_pct": 2.0}
    assert rep_faults({"chord_shortening_pct": 10.0}, P["romanian_deadlift"], b2) == ["rounded_back"]
    assert rep_faults({"chord_shortening_pct": 4.0}, P["romanian_deadlift"], b2) == []


def test_load_drift_relative_to_baseline():
    _, base = faults_of(wrist_bottom=0.25)
    assert "load_drift" not in faults_of(baseline=base, wrist_bottom=0.3)[0]
    assert "load_drift" in faults_of(baseline=base, wrist_bottom=0.5)[0]


def test_exercise_specific_disabling():
    f, _ = faults_of("kettlebell_swing", ecc=0.4, wrist_bottom=0.6, knee_bottom=25.0, trunk_bottom=55.0)
    assert "rushed_eccentric" not in f and "load_drift" not in f


def test_front_view_only_view_independent_faults():
    f, m = faults_of(view="front", trunk_top=-15.0, bend_bottom=12.0, ecc=0.4)
    assert f == ["rushed_eccentric"]


def test_form_score():
    p = P["romanian_deadlift"]
    assert form_score({}, [], p) == 100.0
    assert form_score({}, ["rounded_back"], p) == pytest.approx(70.0)
    assert form_score({}, ["rounded_back", "load_drift"], p) == pytest.approx(55.0)
    assert form_score({}, list(FAULTS), p) == 0.0


def test_judge_reps_uses_each_reps_own_profile_and_athlete_baseline():
    reps = pl.DataFrame({
        "athlete_id": ["a", "b", "a", "c"],
        "exercise": ["deadlift", "deadlift", "romanian_deadlift", "deadlift"],
        "trunk_angle_top_deg": [-6.0, -2.0, 2.0, -12.0],
        "hips_rise_trunk_progress": [0.0, None, 0.0, float("nan")],
        "back_bend_bottom_deg": [20.0, 20.0, None, None],
    })
    baselines = pl.DataFrame({  # athlete c has no baseline: absolute thresholds
        "athlete_id": ["a", "b"], "exercise": ["deadlift", "deadlift"],
        "trunk_angle_top_deg": [4.0, -6.5], "back_bend_bottom_deg": [19.0, 5.0],
    })
    judged = judge_reps(reps, P, baselines)
    assert judged.columns == [*reps.columns, "faults", "fault_evidence", "form_score"]
    assert judged["faults"].to_list() == [
        ["lockout_overextension", "hips_rise_first"],  # 10 deg behind a's lockout; hips rise on
        ["rounded_back"],  # b's lockout is her usual -6.5 deg; back bend +15 deg over her baseline
        [],  # hips_rise_first is disabled in the romanian_deadlift profile
        ["lockout_overextension"],  # no baseline: the absolute -7 deg; NaN progress never fires
    ]
    (c_lockout,) = [e for e in judged["fault_evidence"][3] if e["fault"] == "lockout_overextension"]
    assert c_lockout == {"fault": "lockout_overextension", "metric": "trunk_angle_top_deg", "value": -12.0,
                         "threshold": -7.0, "baseline": None, "noise": 4.0, "margin": pytest.approx(1.25),
                         "verdict": "fault"}
    w = P["deadlift"].weights
    assert judged["form_score"].to_list() == pytest.approx(
        [100 - w["lockout_overextension"] - w["hips_rise_first"], 100 - w["rounded_back"], 100.0,
         100 - w["lockout_overextension"]])
    with pytest.raises(ValueError, match="no fault profile"):
        judge_reps(reps.with_columns(pl.lit("bench_press").alias("exercise")), P, baselines)


def test_confidence_orders_views_and_quality():
    sig, rep = hinge_rep()
    side, diag, front = (confidence(sig, rep, v) for v in ("side", "diagonal", "front"))
    assert 0.9 < side <= 1.0 and side > diag > front > 0
    noisy, rep2 = hinge_rep(jitter=2.0)
    assert confidence(noisy, rep2, "side") < side - 0.2
    valid = sig.valid.copy()
    valid[rep.start: (rep.start + rep.end) // 2] = False
    half = make_signals(sig.t_s, valid=valid, trunk_deg=sig.trunk_deg)
    assert confidence(half, rep, "side") == pytest.approx(side * valid[rep.start: rep.end + 1].mean(), rel=0.02)


def _judge(ex, baseline, **m):
    return rep_faults(m, P[ex], baseline)


def test_load_drift_needs_the_bar_ahead_of_the_toes_too():
    base = {"wrist_offset_bottom": 0.0}
    assert "load_drift" not in _judge("deadlift", base, wrist_offset_bottom=0.25)  # moved, still over foot
    assert "load_drift" in _judge("deadlift", base, wrist_offset_bottom=0.45)
    assert "load_drift" not in _judge("deadlift", {"wrist_offset_bottom": 0.3}, wrist_offset_bottom=0.45)


def test_overextension_relative_to_own_lockout():
    base = {"trunk_angle_top_deg": 3.0}
    assert "lockout_overextension" in _judge("deadlift", base, trunk_angle_top_deg=-7.0)
    assert "lockout_overextension" not in _judge("deadlift", base, trunk_angle_top_deg=1.0)
    assert "lockout_overextension" in _judge("deadlift", None, trunk_angle_top_deg=-12.0)
    # an athlete whose upright trunk reads -6.5 deg (camera offset): -9 is within their own range
    assert "lockout_overextension" not in _judge("deadlift", {"trunk_angle_top_deg": -6.5}, trunk_angle_top_deg=-9.0)


def test_hips_rise_first_only_where_the_knees_extend():
    for ex in ("romanian_deadlift", "good_morning", "hip_hinge_drill"):
        assert "hips_rise_first" not in _judge(ex, None, hips_rise_trunk_progress=0.0)
    assert "hips_rise_first" in _judge("deadlift", None, hips_rise_trunk_progress=0.0)


def test_uneven_hips_from_the_hip_tilt_relative_to_the_athletes_own():
    level, rep = hinge_rep(tilt_start=-3.0, tilt_bottom=-1.0)
    tilted, rep2 = hinge_rep(tilt_start=-3.0, tilt_bottom=8.0)
    base = rep_metrics(level, rep, "front")
    assert "uneven_hips" not in rep_faults(base, P["deadlift"], None)
    assert "uneven_hips" in rep_faults(rep_metrics(tilted, rep2, "front"), P["deadlift"], None)
    # a camera off-front gives every rep the same tilt change: judged against the athlete's own
    assert "uneven_hips" not in _judge("deadlift", {"hip_tilt_bottom_deg": -7.0}, hip_tilt_bottom_deg=-8.0)
    assert "uneven_hips" in _judge("deadlift", {"hip_tilt_bottom_deg": -2.0}, hip_tilt_bottom_deg=-14.0)
    # never from a side view
    assert "uneven_hips" not in rep_faults(rep_metrics(tilted, rep2, "side"), P["deadlift"], None)
