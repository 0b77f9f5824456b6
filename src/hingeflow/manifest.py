"""Parse and check an upload's `manifest.csv`, row by row.

Pure functions: they take text and return accepted rows plus rejections with a
reason. Checks that need the file system (does the file exist, does a symlink
leave the upload folder) live in :mod:`hingeflow.inbox`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath

from pydantic import BaseModel, ValidationError, field_validator, model_validator

from hingeflow.settings import CAMERA_VIEWS, EXERCISES

REQUIRED_COLUMNS: tuple[str, ...] = ("video", "athlete_id", "recorded_on", "exercise", "set_index")
OPTIONAL_COLUMNS: tuple[str, ...] = ("load_kg", "load_lb", "camera_view", "bodyweight_kg", "gym_id", "notes")
ATHLETE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
KG_PER_LB = 0.45359237


class ManifestRow(BaseModel):
    """One accepted manifest row. Loads in kg (converted from `load_lb` if needed)."""

    video: str
    athlete_id: str
    recorded_on: dt.date
    exercise: str
    load_kg: float
    set_index: int
    camera_view: str = "side"
    bodyweight_kg: float | None = None
    gym_id: str | None = None
    notes: str | None = None

    @property
    def week(self) -> str:
        year, week, _ = self.recorded_on.isocalendar()
        return f"{year}-W{week:02d}"

    @field_validator("video")
    @classmethod
    def _safe_relative_path(cls, v: str) -> str:
        v = v.strip()
        if not v:
            raise ValueError("video path is empty")
        if "\x00" in v:
            raise ValueError("video path contains a NUL byte")
        posix, win = PurePosixPath(v), PureWindowsPath(v)
        if posix.is_absolute() or win.is_absolute() or win.drive or win.root:
            raise ValueError(f"video path {v!r} is absolute; it must be relative to the manifest's folder")
        if ".." in posix.parts or ".." in win.parts:
            raise ValueError(f"video path {v!r} leaves the upload folder ('..')")
        return v

    @field_validator("athlete_id")
    @classmethod
    def _athlete_id(cls, v: str) -> str:
        if not ATHLETE_ID.match(v):
            raise ValueError(f"athlete_id {v!r} must be 1-64 letters, digits, '-' or '_'")
        return v

    @field_validator("recorded_on", mode="before")
    @classmethod
    def _iso_date(cls, v: object) -> dt.date:
        if isinstance(v, dt.date):
            return v
        try:
            return dt.date.fromisoformat(str(v).strip())
        except ValueError:
            raise ValueError(f"recorded_on {v!r} is not an ISO date (YYYY-MM-DD)") from None

    @field_validator("exercise")
    @classmethod
    def _exercise(cls, v: str, info) -> str:  # type: ignore[no-untyped-def]
        allowed = (info.context or {}).get("exercises", EXERCISES)
        v = v.strip().lower()
        if v not in allowed:
            raise ValueError(f"exercise {v!r} is not one of {', '.join(allowed)}")
        return v

    @field_validator("load_kg", "bodyweight_kg", mode="before")
    @classmethod
    def _non_negative(cls, v: object, info) -> float | None:  # type: ignore[no-untyped-def]
        if v is None or (isinstance(v, str) and not v.strip()):
            if info.field_name == "load_kg":
                raise ValueError("load is missing (give load_kg or load_lb)")
            return None
        try:
            x = float(v)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ValueError(f"{info.field_name} {v!r} is not a number") from None
        if not x >= 0 or x == float("inf"):
            raise ValueError(f"{info.field_name} must be a finite number >= 0, got {v}")
        return x

    @field_validator("set_index", mode="before")
    @classmethod
    def _set_index(cls, v: object) -> int:
        try:
            i = int(str(v).strip())
        except ValueError:
            raise ValueError(f"set_index {v!r} is not a whole number") from None
        if i < 1:
            raise ValueError(f"set_index must be >= 1, got {i}")
        return i

    @field_validator("camera_view", mode="before")
    @classmethod
    def _view(cls, v: object) -> str:
        v = (str(v).strip().lower() if v is not None else "") or "side"
        if v not in CAMERA_VIEWS:
            raise ValueError(f"camera_view {v!r} is not one of {', '.join(CAMERA_VIEWS)}")
        return v

    @model_validator(mode="before")
    @classmethod
    def _blank_optionals_are_none(cls, data: dict) -> dict:
        return {k: (None if isinstance(v, str) and not v.strip() and k in ("gym_id", "notes") else v)
                for k, v in data.items()}


@dataclass(frozen=True)
class Rejection:
    manifest_row: int  # 1-based data row; 0 = the manifest as a whole
    video: str | None
    reason: str


@dataclass(frozen=True)
class ParsedManifest:
    rows: list[tuple[int, ManifestRow]]
    rejections: list[Rejection]


def _format_errors(err: ValidationError) -> str:
    parts = []
    for e in err.errors():
        msg = str(e["msg"]).removeprefix("Value error, ")
        field = ".".join(str(p) for p in e["loc"])
        parts.append(msg if field and field in msg else f"{field}: {msg}" if field else msg)
    return "; ".join(parts)


def _row_fields(raw: dict[str, str | None]) -> dict[str, object]:
    fields: dict[str, object] = {k: raw.get(k) for k in REQUIRED_COLUMNS + OPTIONAL_COLUMNS if k in raw}
    load_kg, load_lb = fields.pop("load_kg", None), fields.pop("load_lb", None)
    if (load_kg is None or not str(load_kg).strip()) and load_lb is not None and str(load_lb).strip():
        try:
            fields["load_kg"] = float(str(load_lb)) * KG_PER_LB
        except ValueError:
            fields["load_kg"] = f"{load_lb} (lb)"
    else:
        fields["load_kg"] = load_kg
    if fields.get("camera_view") is None:
        fields.pop("camera_view", None)
    return fields


def parse_manifest(data: bytes, exercises: tuple[str, ...] = EXERCISES) -> ParsedManifest:
    """Parse manifest bytes (UTF-8 CSV with a header) into accepted rows and rejections."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return ParsedManifest([], [Rejection(0, None, f"manifest.csv is not UTF-8 text ({exc.reason} at byte {exc.start})")])
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if "load_kg" not in header and "load_lb" not in header:
        missing.append("load_kg (or load_lb)")
    if missing:
        return ParsedManifest([], [Rejection(0, None, f"manifest.csv is missing required column(s): {', '.join(missing)}")])

    rows: list[tuple[int, ManifestRow]] = []
    rejections: list[Rejection] = []
    seen: dict[str, int] = {}
    try:
        raw_rows = list(reader)
    except csv.Error as exc:
        return ParsedManifest([], [Rejection(0, None, f"manifest.csv is not valid CSV: {exc}")])
    for i, raw in enumerate(raw_rows, start=1):
        video = (raw.get("video") or "").strip() or None
        if None in raw:  # more cells than header columns
            rejections.append(Rejection(i, video, "row has more cells than the header has columns"))
            continue
        try:
            row = ManifestRow.model_validate(_row_fields(raw), context={"exercises": exercises})
        except ValidationError as err:
            rejections.append(Rejection(i, video, _format_errors(err)))
            continue
        if row.video in seen:
            rejections.append(Rejection(i, row.video, f"duplicate of manifest row {seen[row.video]} (same video path)"))
            continue
        seen[row.video] = i
        rows.append((i, row))
    return ParsedManifest(rows, rejections)
