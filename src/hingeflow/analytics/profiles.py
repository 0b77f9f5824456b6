"""Per-exercise fault thresholds, loaded from ``profiles.toml`` (sources noted there)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

DEFAULT_PATH = Path(__file__).with_name("profiles.toml")


@dataclass(frozen=True)
class Profile:
    """Thresholds of one exercise (units in the names; see profiles.toml for sources)."""

    exercise: str
    source: str
    squat_knee_bottom_deg: float
    squat_back_vs_down_max: float
    squat_ratio_min_knee_deg: float
    shallow_trunk_bottom_deg: float
    locked_knee_max_deg: float
    overext_trunk_top_deg: float
    overext_trunk_delta_deg: float
    incomplete_trunk_top_deg: float
    rounded_flexion_delta_deg: float
    bend_per_flexion_deg: float
    bulge_per_flexion_deg: float
    rounded_chord_delta_pct: float
    rounded_bend_abs_deg: float
    drift_delta: float
    drift_abs: float
    toes_hip_back_min: float
    toes_min_trunk_deg: float
    rushed_descent_s: float
    hips_rise_trunk_progress_max: float
    hips_rise_min_knee_range_deg: float
    uneven_hip_tilt_deg: float
    weights: dict[str, float] = field(default_factory=dict)
    disabled: frozenset[str] = frozenset()

    def enabled(self, fault: str) -> bool:
        return fault not in self.disabled


def _build(exercise: str, defaults: dict[str, Any], section: dict[str, Any]) -> Profile:
    merged: dict[str, Any] = {**defaults, **section}
    weights = {**defaults.get("weights", {}), **section.get("weights", {})}
    names = {f.name for f in fields(Profile)}
    unknown = set(merged) - names
    if unknown:
        raise ValueError(f"profiles: unknown keys for {exercise}: {sorted(unknown)}")
    merged["exercise"] = exercise
    merged["weights"] = {k: float(v) for k, v in weights.items()}
    merged["disabled"] = frozenset(merged.get("disabled", ()))
    merged.setdefault("source", "")
    missing = names - set(merged)
    if missing:
        raise ValueError(f"profiles: missing keys for {exercise}: {sorted(missing)}")
    for f in fields(Profile):
        if f.name not in ("exercise", "source", "weights", "disabled"):
            merged[f.name] = float(merged[f.name])
    return Profile(**merged)


def load_profiles(path: str | Path | None = None) -> dict[str, Profile]:
    """exercise -> Profile from the TOML file (default: the bundled profiles.toml)."""
    with open(Path(path) if path else DEFAULT_PATH, "rb") as fh:
        raw = tomllib.load(fh)
    defaults = raw.pop("defaults", {})
    return {ex: _build(ex, defaults, sec) for ex, sec in raw.items()}
