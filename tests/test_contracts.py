"""The contracts as code: the checks they give, and the committed files rendered from them."""

from __future__ import annotations

import json

import polars as pl
import pytest

from hingeflow import schema_doc, schemas
from hingeflow.expectations import Check, CheckResult, checks_for, split_rows, step_column, validation_view
from hingeflow.gx_project import contracts_dir


def _committed_suite(name: str) -> list[tuple[str, dict, str]]:
    data = json.loads((contracts_dir() / "gx" / "expectations" / f"{name}.json").read_text())
    return [(e["type"], e["kwargs"], e["meta"]["check"]) for e in data["expectations"]]


@pytest.mark.parametrize("name", schemas.VALIDATED)
def test_committed_suites_are_the_contracts(name):
    """data_contracts/gx holds exactly what schemas.py declares (run `hingeflow contracts` when not)."""
    from hingeflow.gx_project import _expectation

    expected = []
    for c in checks_for(schemas.TABLES[name]):
        config = _expectation(c).configuration.to_json_dict()
        expected.append((config["type"], config["kwargs"], c.name))
    assert _committed_suite(name) == expected


def test_schema_document_is_rendered_from_the_contracts():
    assert (contracts_dir() / "SCHEMA.md").read_text() == schema_doc.render()


def test_every_table_has_unique_check_names_and_the_rules_it_declares():
    for name in schemas.VALIDATED:
        checks = checks_for(schemas.TABLES[name])
        assert len({c.name for c in checks}) == len(checks)
    reps = {c.name: c for c in checks_for(schemas.REPS)}
    assert reps["reps: unique key (video_id, rep_index)"].kwargs == {"column_list": ["video_id", "rep_index"]}
    assert reps["reps.eccentric_s: between"].kwargs["strict_min"] is True  # durations are positive
    assert reps["reps.video_id: references videos.video_id"].kwargs["value_set"] == {"$PARAMETER": "known_videos_video_id"}
    assert reps["reps: t_end_s >= t_bottom_s"].type == "expect_column_pair_values_a_to_be_greater_than_b"
    assert reps["reps: columns match the contract"].scope == "table"


def test_fault_vocabulary_regex_accepts_known_lists_only():
    import re

    rx = re.compile(next(c for c in checks_for(schemas.REPS) if c.name == "reps.faults: elements in vocabulary")
                    .kwargs["regex"])
    assert rx.match("") and rx.match("rounded_back") and rx.match("rounded_back,hips_rise_first")
    assert not rx.match("rounded") and not rx.match("rounded_back,") and not rx.match("rounded_back,bogus")


def test_view_joins_lists_and_derives_steps_per_group():
    df = pl.DataFrame({"video_id": ["a", "a", "b", "a"], "frame_idx": [0, 1, 0, 2], "t_s": [0.0, 0.5, 3.0, 0.4],
                       "faults": [["x", "y"], [], ["z"], []]})
    view = validation_view(schemas.FRAMES, df)
    assert view["faults"].to_list() == ["x,y", "", "z", ""]
    steps = view[step_column("t_s")].to_list()
    assert steps[0] is None and steps[2] is None  # first frame of each video
    assert steps[1] == pytest.approx(0.5) and steps[3] == pytest.approx(-0.1)


def test_split_rows_quarantines_every_row_of_a_failing_key():
    df = pl.DataFrame({"video_id": ["a", "a", "b"], "rep_index": [1, 1, 2], "x": [1, 2, 3]})
    fail = CheckResult(Check("reps: unique key", "t", {}, "rows"), False, 3, 2,
                       [{"video_id": "a", "rep_index": 1}, {"video_id": "a", "rep_index": 1}])
    ok = CheckResult(Check("reps.x: between", "t", {}, "rows"), True, 3, 0)
    kept, out = split_rows(schemas.REPS, df, [fail, ok])
    assert kept["video_id"].to_list() == ["b"]
    assert out["row_key"].to_list() == ["video_id=a, rep_index=1"] * 2
    assert out["checks"].to_list() == [["reps: unique key"]] * 2
    assert json.loads(out["row_json"][0])["x"] in (1, 2)


def test_rendering_the_contracts_rewrites_the_committed_files_byte_for_byte(tmp_path):
    """Ids are stable, so `hingeflow contracts` on unchanged schemas changes nothing in git."""
    from hingeflow.gx_project import DEFINITIONS, write_project

    write_project(tmp_path / "gx")
    committed = contracts_dir() / "gx"
    compared = 0
    for name in DEFINITIONS:
        for fresh in sorted((tmp_path / "gx").glob(name if name.endswith(".yml") else f"{name}/*.json")):
            rel = fresh.relative_to(tmp_path / "gx")
            assert fresh.read_text() == (committed / rel).read_text(), rel
            compared += 1
    assert compared == 1 + 3 * len(schemas.VALIDATED)  # the yml, then a suite, definition and checkpoint each
