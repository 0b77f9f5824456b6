"""The frozen splits hingeflow is tuned and measured on. Written down once; do not edit to
make a figure look better.

- Synthetic footage (``hingeflow synth --seed N``): ``TUNING_SEEDS`` are every seed that
  thresholds, filters or tests have been looked at with; ``TEST_SEEDS`` are for
  ``bench/eval_faults.py synthetic`` only, and nothing that chooses a number may read them
  (``tests/test_splits.py`` checks the code base for them).
- Real labelled clips (``real_labels.csv``, the dev clips of ``../shared/footage/clips``):
  scored leave-one-source-out. ``TUNED_ON`` lists, per fault, the real sources a
  threshold of that fault was read from (see profiles.toml); a source's score for such a
  fault is a training score and is reported as one.
- The hold-out clips (``../shared/footage/holdout``) carry no labels and tune nothing:
  they are only run to see that nothing crashes.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

TUNING_SEEDS: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 8, 11, 31, 41, 43, 77, 2024)
TEST_SEEDS: tuple[int, ...] = (70101, 70202, 70303)
TEST_GYM = {"athletes": 4, "weeks": 2}  # the size of each test gym

LABELS_FILE = Path(__file__).with_name("real_labels.csv")
CLEAN, FAULTY = "clean", "faulty"  # "faulty": the clip's source says bad form without naming the fault

# fault -> real sources a threshold of it was set on (profiles.toml says how)
TUNED_ON: dict[str, frozenset[str]] = {
    "squatting_the_hinge": frozenset({"TBY66/Intelligent-Deadlift-Diagnosis-System"}),  # squat_back_vs_down_max
    "uneven_hips": frozenset({"Ulisses-coach/kbtrainer"}),  # uneven_hip_tilt_deg (the Russian swing)
}
# real sources the rep segmentation and the quality gate were set on: rep counts and gate
# decisions on these are training scores (analytics/reps.py, quality_gate.py)
SEGMENTATION_TUNED_ON: frozenset[str] = frozenset({
    "TBY66/Intelligent-Deadlift-Diagnosis-System", "mattiolato98/deadlift-visual-analyzer",
    "Ulisses-coach/kbtrainer", "jrplatin/FormFit", "momokaP/2DPoseToAR"})


@dataclass(frozen=True)
class Label:
    """One real clip's label: `label` is "clean", a fault name, or "faulty" (fault not named)."""

    file: str
    source: str
    exercise: str
    view: str
    label: str
    judged_by: str


def real_labels(path: Path = LABELS_FILE) -> list[Label]:
    """The labelled real clips (dev clips only: a hold-out path here is an error)."""
    with path.open(newline="") as fh:
        labels = [Label(**row) for row in csv.DictReader(fh)]
    held = [x.file for x in labels if not x.file.startswith("clips/")]
    if held:
        raise ValueError(f"labels name clips outside the dev set: {held}")
    return labels


def sources(labels: list[Label]) -> list[str]:
    """The real sources, each one fold of leave-one-source-out."""
    return sorted({x.source for x in labels})


def tuning_seed(seed: int) -> int:
    """`seed` if it may be tuned on; raises for a test seed (tuning code must go through this)."""
    if seed in TEST_SEEDS:
        raise ValueError(f"seed {seed} is a test seed: nothing may be tuned on it")
    return seed
