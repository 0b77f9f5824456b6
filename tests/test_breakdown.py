"""Sets aggregation, load-form breakdown and week over week on constructed tables."""

from __future__ import annotations

import polars as pl
import pytest

from hingeflow.analytics.breakdown import baseline_metrics, breakdown, sets_table, week_over_week

LOADS = (60.0, 80.0, 100.0, 120.0, 140.0)


def reps_frame(chord_by_load: dict[float, list[float]], week="2026-W46", athlete="a1", exercise="deadlift",
               knee=72.0, faults_by_load=None):
    rows = []
    for load, chords in chord_by_load.items():
        for i, c in enumerate(chords):
            rows.append(dict(athlete_id=athlete, recorded_on="2026-11-09", week=week, exercise=exercise,
                             load_kg=load, set_index=1 + i // 3, rep_index=1 + i % 3,
                             chord_shortening_pct=c, knee_flexion_bottom_deg=knee + i % 2,
                             back_bend_bottom_deg=2.0, wrist_offset_bottom=0.05,
                             trunk_angle_bottom_deg=58.0, form_score=100.0 - 10 * i, confidence=0.9,
                             faults=(faults_by_load or {}).get(load, [[]] * len(chords))[i]))
    return pl.DataFrame(rows)


def test_sets_table_numbers():
    reps = reps_frame({60.0: [1.0, 2.0, 3.0, 10.0, 5.0, 6.0]},
                      faults_by_load={60.0: [[], ["rounded_back"], [], ["rounded_back", "load_drift"], [], []]})
    s = sets_table(reps)
    assert s.height == 1
    r = s.row(0, named=True)
    assert r["n_reps"] == 6 and r["n_sets"] == 2
    assert r["chord_shortening_pct_median"] == pytest.approx(4.0)
    assert r["chord_shortening_pct_iqr"] == pytest.approx(5.75 - 2.25)
    assert r["knee_flexion_bottom_deg_median"] == pytest.approx(72.5)
    assert r["rounded_back_rate"] == pytest.approx(2 / 6)
    assert r["load_drift_rate"] == pytest.approx(1 / 6)
    assert r["squatting_the_hinge_rate"] == 0.0
    assert r["form_score_mean"] == pytest.approx(75.0)
    assert r["confidence_mean"] == pytest.approx(0.9)


def test_sets_table_keys_split_loads_and_weeks():
    a = reps_frame({60.0: [1, 2, 3], 80.0: [2, 2, 2]})
    b = reps_frame({60.0: [1, 1, 1]}, week="2026-W47").with_columns(pl.lit("2026-11-16").alias("recorded_on"))
    s = sets_table(pl.concat([a, b]))
    assert s.height == 3
    assert s.columns[:5] == ["athlete_id", "recorded_on", "week", "exercise", "load_kg"]


NOISE = {"chord_shortening_pct": 3.0, "knee_flexion_bottom_deg": 5.0, "back_bend_bottom_deg": 4.0,
         "wrist_offset_bottom": 0.1, "trunk_angle_bottom_deg": 3.0}


def test_breakdown_finds_load_and_says_what_changed():
    reps = reps_frame({60.0: [2, 2, 2], 80.0: [2, 3, 2], 100.0: [3, 2, 3], 120.0: [7, 8, 7], 140.0: [9, 9, 10]})
    b = breakdown(sets_table(reps), NOISE)
    assert b.height == 1
    r = b.row(0, named=True)
    assert r["breakdown_load_kg"] == 120.0
    assert r["baseline_loads_kg"] == [60.0, 80.0]
    assert "spine: chord shortening 7% at 120 kg vs baseline 2%" in r["what_changed"]
    assert r["changed_metrics"] == ["chord_shortening_pct"]


def test_within_noise_gives_no_breakdown():
    reps = reps_frame({60.0: [2, 2, 2], 80.0: [3, 3, 3], 100.0: [4, 4, 4], 120.0: [4, 5, 4], 140.0: [5, 5, 4]})
    r = breakdown(sets_table(reps), NOISE).row(0, named=True)
    assert r["breakdown_load_kg"] is None
    assert "no change beyond measurement noise" in r["what_changed"]


def test_change_in_the_harmless_direction_is_not_a_breakdown():
    # less chord shortening at heavy loads is not rounding
    reps = reps_frame({60.0: [9, 9, 9], 80.0: [9, 9, 9], 100.0: [2, 2, 2], 120.0: [1, 1, 1]})
    assert breakdown(sets_table(reps), NOISE)["breakdown_load_kg"][0] is None


def test_single_load_blip_needs_to_persist():
    reps = reps_frame({60.0: [2, 2, 2], 80.0: [2, 2, 2], 100.0: [8, 8, 8], 120.0: [2, 2, 2], 140.0: [9, 9, 9]})
    assert breakdown(sets_table(reps), NOISE)["breakdown_load_kg"][0] == 140.0
    assert breakdown(sets_table(reps), NOISE, persist=False)["breakdown_load_kg"][0] == 100.0


def test_breakdown_per_athlete_and_exercise():
    a = reps_frame({60.0: [2] * 3, 80.0: [2] * 3, 100.0: [9] * 3}, athlete="a1")
    b = reps_frame({16.0: [2] * 3, 20.0: [2] * 3}, athlete="a2", exercise="kettlebell_swing")
    out = breakdown(sets_table(pl.concat([a, b])), NOISE).sort("athlete_id")
    assert out["breakdown_load_kg"].to_list() == [100.0, None]
    assert out["baseline_loads_kg"].to_list() == [[60.0], [16.0]]


def test_week_over_week():
    w1 = reps_frame({100.0: [8, 8, 8], 60.0: [2, 2, 2]}, week="2026-W46")
    w2 = reps_frame({100.0: [3, 3, 3], 60.0: [3, 3, 3]}, week="2026-W47")
    w = week_over_week(sets_table(pl.concat([w1, w2])), NOISE)
    ch = w.filter(pl.col("metric") == "chord_shortening_pct").sort("load_kg")
    assert ch["verdict"].to_list() == ["within noise", "better"]
    assert ch["week"].to_list() == ["2026-W47", "2026-W47"]
    assert ch["prev_week"].to_list() == ["2026-W46", "2026-W46"]
    assert ch["change"].to_list() == pytest.approx([1.0, -5.0])
    w3 = reps_frame({100.0: [3, 3, 3]}, week="2026-W48", knee=90.0)
    w = week_over_week(sets_table(pl.concat([w1, w2, w3])), NOISE)
    kn = w.filter((pl.col("metric") == "knee_flexion_bottom_deg") & (pl.col("week") == "2026-W48"))
    assert kn["verdict"].to_list() == ["worse"]


def test_baseline_metrics_lightest_load():
    reps = reps_frame({60.0: [1, 2, 3], 80.0: [9, 9, 9]})
    base = baseline_metrics(reps)
    assert base[("a1", "deadlift")]["chord_shortening_pct"] == pytest.approx(2.0)


def test_a_metric_missing_in_one_week_gives_no_verdict_and_no_nan():
    """A week whose reps all lack a metric (null) has no value for it: no NaN, no comparison."""
    w1 = reps_frame({100.0: [8, 8, 8]}, week="2026-W46").with_columns(pl.lit(None, pl.Float64).alias("chord_shortening_pct"))
    w2 = reps_frame({100.0: [3.0, 3.0, 3.0]}, week="2026-W47")
    w = week_over_week(sets_table(pl.concat([w1, w2], how="vertical_relaxed")), NOISE)
    assert w.filter(pl.col("metric") == "chord_shortening_pct").is_empty()
    assert not w.select(pl.col("value", "prev_value", "change").is_nan().any()).row(0)[0]
    assert set(w["verdict"]) <= {"within noise", "better", "worse"}
