"""Fault evidence: noise estimated from the data, no flag inside the noise, evidence on the contract."""

from __future__ import annotations

import polars as pl
import pytest

from hingeflow import schemas
from hingeflow.analytics.evidence import EVIDENCE, K_NOISE, NOISE_FLOOR, VERDICTS, light_spread_table
from hingeflow.analytics.faults import FAULTS, judge_reps
from hingeflow.analytics.profiles import load_profiles
from hingeflow.expectations import validation_view

P = load_profiles()
NO_BASELINE = pl.DataFrame(schema={"athlete_id": pl.String, "exercise": pl.String})


def reps_of(video_values: dict[str, list[float]], metric: str, exercise: str = "deadlift", athlete: str = "a",
            load_kg: float = 100.0) -> pl.DataFrame:
    """Reps of one athlete: `video_values` maps a video id to its reps' values of `metric`."""
    rows = [{"athlete_id": athlete, "exercise": exercise, "video_id": v, "load_kg": load_kg, metric: x}
            for v, xs in video_values.items() for x in xs]
    return pl.DataFrame(rows)


def evidence_of(judged: pl.DataFrame, fault: str) -> list[dict | None]:
    return [next((e for e in evs if e["fault"] == fault), None) for evs in judged["fault_evidence"].to_list()]


def test_a_value_just_past_the_threshold_is_not_assessable():
    # deadlift lockout: absolute limit -7 deg, noise floor 4 deg
    judged = judge_reps(reps_of({"v1": [-8.0], "v2": [-11.5], "v3": [-3.0]}, "trunk_angle_top_deg"), P, NO_BASELINE)
    inside, clear_of_noise, before = evidence_of(judged, "lockout_overextension")
    assert inside["verdict"] == "not_assessable" and 0 <= inside["margin"] < K_NOISE
    assert clear_of_noise["verdict"] == "fault" and clear_of_noise["margin"] >= K_NOISE
    assert before["verdict"] == "clear" and before["margin"] < 0
    assert judged["faults"].to_list() == [[], ["lockout_overextension"], []]


def test_a_scattered_video_has_more_noise_than_the_floor():
    # the same -12 deg lockout: a steady video flags it, a video whose reps scatter by
    # ~10 deg (tracking trouble) cannot tell it from its own scatter
    steady = [-12.0, -12.5, -11.5, -12.2]
    scattered = [-12.0, -2.0, -22.0, -12.0, 0.0]
    judged = judge_reps(reps_of({"steady": steady, "scattered": scattered}, "trunk_angle_top_deg"), P, NO_BASELINE)
    ev = evidence_of(judged, "lockout_overextension")
    assert ev[0]["noise"] == NOISE_FLOOR["trunk_angle_top_deg"]  # steady: the floor
    assert ev[0]["verdict"] == "fault"
    assert ev[4]["noise"] > 8.0  # 1.4826 x MAD of the scattered reps
    assert ev[4]["value"] == -12.0 and ev[4]["verdict"] == "not_assessable"


def test_a_single_rep_video_borrows_the_athletes_light_load_spread():
    light = reps_of({"l1": [-14.0, -7.0, 0.0, 7.0, 14.0]}, "trunk_angle_top_deg", load_kg=60.0)
    heavy = reps_of({"h1": [-12.0]}, "trunk_angle_top_deg", load_kg=140.0)
    pool = pl.concat([light, heavy])
    spreads = light_spread_table(pool)
    assert spreads["spread_trunk_angle_top_deg"][0] > 8.0
    with_spread = evidence_of(judge_reps(heavy, P, NO_BASELINE, spreads), "lockout_overextension")[0]
    without = evidence_of(judge_reps(heavy, P, NO_BASELINE), "lockout_overextension")[0]
    assert without["verdict"] == "fault" and with_spread["verdict"] == "not_assessable"


def test_a_change_against_the_baseline_carries_the_baselines_noise_too():
    base = pl.DataFrame({"athlete_id": ["a"], "exercise": ["deadlift"], "trunk_angle_top_deg": [3.0]})
    judged = judge_reps(reps_of({"v": [-7.0]}, "trunk_angle_top_deg"), P, base)
    (ev,) = evidence_of(judged, "lockout_overextension")
    assert ev["metric"] == "trunk_angle_top_deg change" and ev["baseline"] == 3.0 and ev["value"] == -10.0
    assert ev["noise"] > NOISE_FLOOR["trunk_angle_top_deg"]


def test_sagittal_rules_leave_no_evidence_without_their_metric():
    # a front view has no trunk or knee angles: only the front-view rule is judged
    reps = reps_of({"v": [9.0]}, "hip_tilt_bottom_deg")
    (evs,) = judge_reps(reps, P, NO_BASELINE)["fault_evidence"].to_list()
    assert [e["fault"] for e in evs] == ["uneven_hips"]


def test_disabled_rules_leave_no_evidence():
    reps = reps_of({"v": [0.3]}, "descent_s", exercise="kettlebell_swing")
    assert judge_reps(reps, P, NO_BASELINE)["fault_evidence"].to_list() == [[]]


def test_verdicts_follow_the_margins_on_many_reps():
    values = {f"v{i}": [float(x)] for i, x in enumerate(range(-30, 20))}
    judged = judge_reps(reps_of(values, "trunk_angle_top_deg"), P, NO_BASELINE)
    for ev in judged["fault_evidence"].explode(empty_as_null=True).drop_nulls().to_list():
        assert ev["margin"] == pytest.approx(
            (ev["value"] - ev["threshold"]) / ev["noise"] * (1 if ev["fault"] == "incomplete_lockout" else -1))
        want = "fault" if ev["margin"] >= K_NOISE else "not_assessable" if ev["margin"] >= 0 else "clear"
        assert ev["verdict"] == want
    flagged = judged.filter(pl.col("faults").list.len() > 0)
    assert flagged.height and all(set(f) <= set(FAULTS) for f in flagged["faults"].to_list())


def test_evidence_is_the_contracts_struct_and_validates_as_fault_verdict_pairs():
    column = schemas.REPS.schema.field("fault_evidence")
    assert [f.name for f in column.type.value_type] == list(EVIDENCE.to_schema())
    judged = judge_reps(reps_of({"v": [-12.0, -3.0]}, "trunk_angle_top_deg"), P, NO_BASELINE)
    view = validation_view(schemas.REPS, judged.select("fault_evidence"))
    assert view["fault_evidence"].to_list() == ["lockout_overextension:fault,incomplete_lockout:clear",
                                                "lockout_overextension:clear,incomplete_lockout:clear"]
    allowed = next(c for c in schemas.REPS.columns if c.name == "fault_evidence").allowed
    assert set(allowed) == {f"{f}:{v}" for f in FAULTS for v in VERDICTS}
