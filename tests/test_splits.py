"""The frozen splits: test seeds never reach tuning code, labels name only dev clips."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hingeflow.analytics.faults import FAULTS
from hingeflow.evaluation import splits

ROOT = Path(__file__).resolve().parents[1]
# the only files that may name a test seed: where the split is written down, and this test
ALLOWED = {ROOT / "src/hingeflow/evaluation/splits.py", Path(__file__).resolve()}


def test_tuning_and_test_seeds_are_disjoint():
    assert splits.TEST_SEEDS and not set(splits.TEST_SEEDS) & set(splits.TUNING_SEEDS)


def test_no_code_or_setting_names_a_test_seed():
    """Thresholds, tests and benches may only reach the test seeds through `splits.TEST_SEEDS`."""
    pattern = re.compile(r"(?<![0-9])(" + "|".join(str(s) for s in splits.TEST_SEEDS) + r")(?![0-9])")
    files = [p for d in ("src", "bench", "tests", "flows", "docs") for p in (ROOT / d).rglob("*")
             if p.suffix in {".py", ".toml", ".csv", ".yaml", ".json"} and p.resolve() not in ALLOWED]
    files += [ROOT / "Makefile", ROOT / "pyproject.toml", ROOT / "prefect.yaml"]
    named = [str(p.relative_to(ROOT)) for p in files if p.is_file() and pattern.search(p.read_text(errors="ignore"))]
    assert named == []


def test_tuning_code_refuses_a_test_seed():
    assert splits.tuning_seed(splits.TUNING_SEEDS[0]) == splits.TUNING_SEEDS[0]
    for seed in splits.TEST_SEEDS:
        with pytest.raises(ValueError, match="test seed"):
            splits.tuning_seed(seed)


def test_tests_render_only_tuning_seeds():
    """Every `seed=N` a test renders a gym or a scene with is a tuning seed."""
    used = {int(m) for p in (ROOT / "tests").glob("*.py")
            for m in re.findall(r"(?:make_gym|plan_gym)\([^)]*seed=(\d+)", p.read_text())}
    assert used and used <= set(splits.TUNING_SEEDS)


def test_labels_name_dev_clips_with_known_labels(footage):
    labels = splits.real_labels()
    assert labels and all(x.file.startswith("clips/") for x in labels)
    assert all((footage / x.file).is_file() for x in labels)
    assert {x.label for x in labels} <= {splits.CLEAN, splits.FAULTY, *FAULTS}
    assert all(x.judged_by for x in labels)
    assert len(splits.sources(labels)) >= 3  # leave-one-source-out needs several folds


def test_labels_agree_with_the_footage_table(footage):
    """Where clips.csv gives a label, ours is the same (clean = "correct"/"good", faulty = "bad")."""
    import csv

    given = {r["file"]: r["label"] for r in csv.DictReader((footage / "clips.csv").open()) if r["label"]}
    same = {"correct": splits.CLEAN, "good": splits.CLEAN, "bad": splits.FAULTY}
    for x in splits.real_labels():
        if x.file in given:
            assert same.get(given[x.file], given[x.file]) == x.label, x.file


def test_a_holdout_clip_in_the_labels_is_refused(tmp_path):
    bad = tmp_path / "labels.csv"
    bad.write_text("file,source,exercise,view,label,judged_by\nholdout/h01.mp4,s,deadlift,side,clean,looked\n")
    with pytest.raises(ValueError, match="outside the dev set"):
        splits.real_labels(bad)
