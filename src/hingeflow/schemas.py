"""Table contracts: the one place where warehouse columns, types and units live.

Writers build their Arrow tables through :func:`to_arrow`, so a writer cannot
drift from the contract: a missing column or an extra one is an error.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import polars as pl

from hingeflow.analytics.faults import FAULTS
from hingeflow.analytics.metrics import METRIC_COLUMNS
from hingeflow.landmarks import LANDMARKS


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    nullable: bool = True
    unit: str = ""
    doc: str = ""


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    partition_by: str | None = None
    doc: str = ""
    snapshot: bool = False  # rewritten whole by every run that changes it; readers see the newest run's rows

    @property
    def schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, c.type, c.nullable) for c in self.columns])

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def without_partition(self) -> "Table":
        """The same table minus its partition column (which lives in the file path)."""
        cols = tuple(c for c in self.columns if c.name != self.partition_by)
        return Table(self.name, cols, self.key, None, self.doc, self.snapshot)


def _landmark_columns() -> tuple[Column, ...]:
    cols: list[Column] = []
    for n in LANDMARKS:
        cols += [
            Column(f"{n}_x", pa.float32(), unit="px", doc="upright-frame image x"),
            Column(f"{n}_y", pa.float32(), unit="px", doc="upright-frame image y (down)"),
            Column(f"{n}_vis", pa.float32(), unit="0-1", doc="MediaPipe visibility"),
            Column(f"{n}_wx", pa.float32(), unit="m", doc="world x, hip-centred"),
            Column(f"{n}_wy", pa.float32(), unit="m", doc="world y, hip-centred"),
            Column(f"{n}_wz", pa.float32(), unit="m", doc="world z, hip-centred"),
        ]
    return tuple(cols)


MANIFEST_COLUMNS: tuple[Column, ...] = (
    Column("upload", pa.string(), False, doc="upload folder name inside the inbox"),
    Column("manifest_row", pa.int32(), False, doc="1-based data row in manifest.csv"),
    Column("video", pa.string(), False, doc="path relative to the manifest's folder"),
    Column("athlete_id", pa.string(), doc="pseudonymous athlete id"),
    Column("recorded_on", pa.date32()),
    Column("week", pa.string(), doc="ISO week of recorded_on, e.g. 2026-W47"),
    Column("exercise", pa.string()),
    Column("load_kg", pa.float64(), unit="kg"),
    Column("set_index", pa.int32()),
    Column("camera_view", pa.string(), doc="side | front | diagonal"),
    Column("bodyweight_kg", pa.float64(), unit="kg"),
    Column("gym_id", pa.string()),
    Column("notes", pa.string()),
)

VIDEOS = Table(
    name="videos",
    key=("video_id",),
    partition_by="week",
    doc="One row per distinct video file seen in an upload.",
    columns=(
        Column("video_id", pa.string(), False, doc="sha256 hex of the file's bytes"),
        *MANIFEST_COLUMNS,
        Column("size_bytes", pa.int64(), unit="bytes"),
        Column("duration_s", pa.float64(), unit="s"),
        Column("fps", pa.float64(), unit="frames/s", doc="average frame rate"),
        Column("frame_count", pa.int64(), doc="frames in the stream (decoded count when pose ran)"),
        Column("vfr", pa.bool_(), doc="variable frame rate detected from frame timestamps"),
        Column("width", pa.int32(), unit="px", doc="upright (displayed) width"),
        Column("height", pa.int32(), unit="px", doc="upright (displayed) height"),
        Column("rotation_deg", pa.int32(), unit="deg", doc="display rotation applied, counter-clockwise"),
        Column("codec", pa.string()),
        Column("status", pa.string(), False, doc="ok | quarantined"),
        Column("reason", pa.string(), doc="why quarantined; null when ok"),
        Column("pose_model", pa.string()),
        Column("pose_model_version", pa.string()),
        Column("analysis_fps", pa.float64(), unit="frames/s"),
        Column("frames_analysed", pa.int64()),
        Column("detection_rate", pa.float64(), unit="0-1", doc="analysed frames with a person"),
        Column("pose_seconds", pa.float64(), unit="s", doc="wall time of the pose stage"),
        Column("gate", pa.string(), doc="quality gate: pass | flagged; null when quarantined"),
        Column("gate_reasons", pa.list_(pa.string()), doc="why the gate flagged the video (empty when it passed)"),
        Column("person_frac", pa.float64(), unit="0-1", doc="analysed frames with a person"),
        Column("sagittal_vis_mean", pa.float64(), unit="0-1",
               doc="mean visibility of the nearer side's shoulder, hip, knee, ankle"),
        Column("person_height_frac", pa.float64(), unit="fraction of image height",
               doc="median height of the landmark box"),
        Column("side_on_ratio", pa.float64(), unit="fraction of trunk length",
               doc="median left-right spread of hips and shoulders; ~0 side-on, large front-on"),
        Column("lr_swap_rate", pa.float64(), unit="per person frame", doc="left/right leg label flips"),
        Column("other_person_frac", pa.float64(), unit="0-1", doc="sampled frames showing a second person"),
        Column("lead_no_person_s", pa.float64(), unit="s", doc="time before the first frame with a person"),
        Column("tail_no_person_s", pa.float64(), unit="s", doc="time after the last frame with a person"),
        Column("processed_at", pa.timestamp("us", tz="UTC"), False),
    ),
)

FRAMES = Table(
    name="frames",
    key=("video_id", "frame_idx"),
    partition_by="week",
    doc="One row per analysed frame; frames without a person have null landmarks.",
    columns=(
        Column("video_id", pa.string(), False),
        Column("week", pa.string(), False, doc="ISO week of the video's recorded_on (partition)"),
        Column("frame_idx", pa.int32(), False, doc="index of the frame in decode order"),
        Column("t_s", pa.float64(), False, unit="s", doc="presentation time from the frame's pts"),
        Column("person", pa.bool_(), False, doc="MediaPipe found a person"),
        *_landmark_columns(),
        Column("facing", pa.int8(), doc="+1 athlete faces image right, -1 left"),
        Column("near_side", pa.string(), doc="left | right: side with higher visibility"),
        Column("trunk_angle_deg", pa.float32(), unit="deg", doc="hip->shoulder midpoint line from vertical, + forward"),
        Column("knee_flexion_deg", pa.float32(), unit="deg", doc="180 - angle(hip, knee, ankle), near side"),
        Column("hip_flexion_deg", pa.float32(), unit="deg", doc="180 - angle(shoulder, hip, knee), near side"),
        Column("back_bulge_frac", pa.float32(), unit="fraction of trunk length",
               doc="max bulge of the mask's back outline beyond its end-to-end line"),
        Column("back_bend_deg", pa.float32(), unit="deg",
               doc="angle between lower and upper halves of the back outline; 0 = straight"),
        Column("other_person", pa.bool_(),
               doc="a second person seen outside the tracked one (sampled about 1/s; null on other frames)"),
    ),
)

QUARANTINE = Table(
    name="quarantine",
    key=("upload", "manifest_row"),
    partition_by=None,
    doc="Manifest rows and videos that could not be used, with the reason.",
    columns=(
        Column("upload", pa.string(), False),
        Column("manifest_row", pa.int32(), False, doc="0 when the manifest itself is unusable"),
        Column("video", pa.string()),
        Column("video_id", pa.string(), doc="sha256 when the file could be read"),
        Column("stage", pa.string(), False, doc="manifest | file | probe | pose"),
        Column("reason", pa.string(), False),
        Column("detected_at", pa.timestamp("us", tz="UTC"), False),
    ),
)

_IDENTITY: tuple[Column, ...] = (
    Column("athlete_id", pa.string(), False),
    Column("video_id", pa.string(), False),
    Column("recorded_on", pa.date32(), False),
    Column("week", pa.string(), False, doc="ISO week, e.g. 2026-W47 (partition)"),
    Column("exercise", pa.string(), False),
    Column("load_kg", pa.float64(), False, unit="kg"),
    Column("set_index", pa.int32(), False),
    Column("camera_view", pa.string(), False),
)

REPS = Table(
    name="reps",
    key=("video_id", "rep_index"),
    partition_by="week",
    doc="One row per repetition; metrics a camera view cannot support are null, with the reason.",
    columns=(
        *_IDENTITY,
        Column("rep_index", pa.int32(), False, doc="1-based within the video"),
        Column("t_start_s", pa.float64(), False, unit="s"),
        Column("t_bottom_s", pa.float64(), False, unit="s"),
        Column("t_end_s", pa.float64(), False, unit="s"),
        *(Column(m, pa.float64(), unit="see hingeflow.analytics.metrics") for m in METRIC_COLUMNS),
        Column("faults", pa.list_(pa.string()), False, doc="fault names from DESIGN.md"),
        Column("form_score", pa.float64(), False, unit="0-100"),
        Column("confidence", pa.float64(), False, unit="0-1", doc="valid frames x view x signal quality"),
        Column("null_reasons", pa.list_(pa.string()), False, doc="'metric: why it is null'"),
        Column("gate_reasons", pa.list_(pa.string()), False,
               doc="why the video's quality gate flagged it (confidence capped); empty when it passed"),
    ),
)

SETS = Table(
    name="sets",
    key=("athlete_id", "recorded_on", "exercise", "load_kg"),
    snapshot=True,
    doc="Per athlete x session x exercise x load: medians and IQR of rep metrics, fault rates.",
    columns=(
        *(c for c in _IDENTITY if c.name in ("athlete_id", "recorded_on", "week", "exercise", "load_kg")),
        Column("n_sets", pa.int64(), False),
        Column("n_reps", pa.int64(), False),
        *(c for m in METRIC_COLUMNS for c in (Column(f"{m}_median", pa.float64()), Column(f"{m}_iqr", pa.float64()))),
        *(Column(f"{f}_rate", pa.float64(), unit="0-1") for f in FAULTS),
        Column("form_score_mean", pa.float64(), unit="0-100"),
        Column("confidence_mean", pa.float64(), unit="0-1"),
    ),
)

BREAKDOWN = Table(
    name="breakdown",
    key=("athlete_id", "exercise"),
    snapshot=True,
    doc="Per athlete x exercise: the lowest load where form departs from the light-load baseline.",
    columns=(
        Column("athlete_id", pa.string(), False),
        Column("exercise", pa.string(), False),
        Column("baseline_loads_kg", pa.list_(pa.float64()), False, unit="kg"),
        Column("loads_kg", pa.list_(pa.float64()), False, unit="kg"),
        Column("breakdown_load_kg", pa.float64(), unit="kg", doc="null: no change beyond noise"),
        Column("changed_metrics", pa.list_(pa.string()), False),
        Column("what_changed", pa.string(), False),
    ),
)

WEEK_OVER_WEEK = Table(
    name="week_over_week",
    key=("athlete_id", "exercise", "load_kg", "metric", "week"),
    snapshot=True,
    doc="The same athlete, exercise and load in consecutive recorded weeks: change per metric.",
    columns=(
        Column("athlete_id", pa.string(), False),
        Column("exercise", pa.string(), False),
        Column("load_kg", pa.float64(), False, unit="kg"),
        Column("metric", pa.string(), False, doc="a sets-table metric (its median) or form_score_mean"),
        Column("week", pa.string(), False),
        Column("prev_week", pa.string(), False),
        Column("value", pa.float64()),
        Column("prev_value", pa.float64()),
        Column("change", pa.float64(), doc="value - prev_value, in the metric's unit"),
        Column("noise", pa.float64(), doc="measurement noise the change must exceed"),
        Column("verdict", pa.string(), False, doc="better | worse | within noise"),
    ),
)

TABLES: dict[str, Table] = {t.name: t for t in (VIDEOS, FRAMES, QUARANTINE, REPS, SETS, BREAKDOWN, WEEK_OVER_WEEK)}


def to_arrow(table: Table, data: pl.DataFrame | list[dict]) -> pa.Table:
    """Cast rows to the table's Arrow schema; raise if columns differ from the contract."""
    if isinstance(data, list) and not data:
        return table.schema.empty_table()
    df = data if isinstance(data, pl.DataFrame) else pl.DataFrame(data, infer_schema_length=None)
    missing = set(table.names) - set(df.columns)
    extra = set(df.columns) - set(table.names)
    if missing or extra:
        raise ValueError(f"{table.name}: columns differ from contract: missing={sorted(missing)} extra={sorted(extra)}")
    if df.height == 0:
        return table.schema.empty_table()
    return df.select(table.names).to_arrow().cast(table.schema)
