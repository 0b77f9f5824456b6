"""Table contracts: the one place where warehouse columns, types, units and rules live.

Writers build their Arrow tables through :func:`to_arrow`, so a writer cannot
drift from the contract: a missing column or an extra one is an error. The same
declarations give the Great Expectations suites (`hingeflow.expectations`) and
the analysts' schema document (`data_contracts/SCHEMA.md`, `hingeflow.schema_doc`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pyarrow as pa
import polars as pl

from hingeflow.analytics.evidence import EVIDENCE, VERDICTS
from hingeflow.analytics.faults import FAULTS
from hingeflow.analytics.metrics import METRIC_COLUMNS
from hingeflow.landmarks import LANDMARKS
from hingeflow.manifest import ATHLETE_ID
from hingeflow.settings import CAMERA_VIEWS

SHA256 = r"^[0-9a-f]{64}$"
ISO_WEEK = r"^[0-9]{4}-W[0-9]{2}$"
# one fault decision's evidence (``analytics.evidence.EVIDENCE`` in Arrow types)
EVIDENCE_ARROW = pa.struct([pa.field(name, pa.string() if dtype == pl.String else pa.float64())
                            for name, dtype in EVIDENCE.to_schema().items()])
EXERCISES_PARAM = "exercises"  # run-time value set: the exercises this deployment is configured for


@dataclass(frozen=True)
class Column:
    """One column: Arrow type, nullability, unit, and the values it may hold.

    `min_value`/`max_value` bound the values (inclusive; `strict_min` excludes
    the minimum); `allowed` lists the values of a string column, or of the
    elements of a list column; `allowed_from` names a run-time value set instead
    (e.g. the exercises configured for this deployment); `pattern` is a regex
    every value matches. Nulls are checked only through `nullable`.
    """

    name: str
    type: pa.DataType
    nullable: bool = True
    unit: str = ""
    doc: str = ""
    min_value: float | None = None
    max_value: float | None = None
    strict_min: bool = False
    allowed: tuple[str, ...] | None = None
    allowed_from: str | None = None
    pattern: str | None = None
    view_fields: tuple[str, ...] = ()  # list of structs: validated as these fields joined with ":"


@dataclass(frozen=True)
class Reference:
    """`column` holds keys of `table`.`target` (e.g. every rep belongs to a known video)."""

    column: str
    table: str
    target: str


@dataclass(frozen=True)
class Increasing:
    """`column` strictly increases with `order_by` within each group of `within` (e.g. t_s per video)."""

    column: str
    order_by: str
    within: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    partition_by: str | None = None
    doc: str = ""
    snapshot: bool = False  # rewritten whole by every run that changes it; readers see the newest run's rows
    sort_by: tuple[str, ...] = ()  # row order inside each file (for min/max pruning); empty: the key order
    references: tuple[Reference, ...] = ()
    increasing: tuple[Increasing, ...] = ()
    ordered_pairs: tuple[tuple[str, str], ...] = ()  # (a, b): a >= b on every row where both are set

    @property
    def schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, c.type, c.nullable) for c in self.columns])

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def without_partition(self) -> "Table":
        """The same table minus its partition column (which lives in the file path)."""
        return replace(self, columns=tuple(c for c in self.columns if c.name != self.partition_by), partition_by=None)

    @property
    def order(self) -> tuple[str, ...]:
        """Columns each file is sorted by, minus the partition column (constant within a file)."""
        return tuple(c for c in (self.sort_by or self.key) if c != self.partition_by)


def _landmark_columns() -> tuple[Column, ...]:
    cols: list[Column] = []
    for n in LANDMARKS:
        cols += [
            Column(f"{n}_x", pa.float32(), unit="px", doc="upright-frame image x"),
            Column(f"{n}_y", pa.float32(), unit="px", doc="upright-frame image y (down)"),
            Column(f"{n}_vis", pa.float32(), unit="0-1", doc="MediaPipe visibility", min_value=0, max_value=1),
            Column(f"{n}_wx", pa.float32(), unit="m", doc="world x, hip-centred"),
            Column(f"{n}_wy", pa.float32(), unit="m", doc="world y, hip-centred"),
            Column(f"{n}_wz", pa.float32(), unit="m", doc="world z, hip-centred"),
        ]
    return tuple(cols)


MANIFEST_COLUMNS: tuple[Column, ...] = (
    Column("upload", pa.string(), False, doc="upload folder name inside the inbox"),
    Column("manifest_row", pa.int32(), False, doc="1-based data row in manifest.csv"),
    Column("video", pa.string(), False, doc="path relative to the manifest's folder"),
    Column("athlete_id", pa.string(), doc="pseudonymous athlete id", pattern=ATHLETE_ID.pattern),
    Column("recorded_on", pa.date32()),
    Column("week", pa.string(), doc="ISO week of recorded_on, e.g. 2026-W47", pattern=ISO_WEEK),
    Column("exercise", pa.string(), allowed_from=EXERCISES_PARAM),
    Column("load_kg", pa.float64(), unit="kg", min_value=0, max_value=1000),
    Column("set_index", pa.int32(), min_value=1),
    Column("camera_view", pa.string(), doc="side | front | diagonal", allowed=CAMERA_VIEWS),
    Column("bodyweight_kg", pa.float64(), unit="kg", min_value=20, max_value=400),
    Column("gym_id", pa.string()),
    Column("notes", pa.string()),
)

VIDEOS = Table(
    name="videos",
    sort_by=("athlete_id", "recorded_on", "video_id"),
    key=("video_id",),
    partition_by="week",
    doc="One row per distinct video file seen in an upload.",
    columns=(
        Column("video_id", pa.string(), False, doc="sha256 hex of the file's bytes", pattern=SHA256),
        *MANIFEST_COLUMNS,
        Column("size_bytes", pa.int64(), unit="bytes", min_value=0),
        Column("duration_s", pa.float64(), unit="s", min_value=0),
        Column("fps", pa.float64(), unit="frames/s", doc="average frame rate", min_value=0, strict_min=True,
               max_value=1000),
        Column("frame_count", pa.int64(), doc="frames in the stream (decoded count when pose ran)", min_value=0),
        Column("vfr", pa.bool_(), doc="variable frame rate detected from frame timestamps"),
        Column("width", pa.int32(), unit="px", doc="upright (displayed) width", min_value=1),
        Column("height", pa.int32(), unit="px", doc="upright (displayed) height", min_value=1),
        Column("rotation_deg", pa.int32(), unit="deg", doc="display rotation applied, counter-clockwise",
               min_value=-270, max_value=270),
        Column("codec", pa.string()),
        Column("status", pa.string(), False, doc="ok | quarantined", allowed=("ok", "quarantined")),
        Column("reason", pa.string(), doc="why quarantined; null when ok"),
        Column("pose_model", pa.string()),
        Column("pose_model_version", pa.string()),
        Column("analysis_fps", pa.float64(), unit="frames/s", min_value=0, strict_min=True),
        Column("frames_analysed", pa.int64(), min_value=0),
        Column("detection_rate", pa.float64(), unit="0-1", doc="analysed frames with a person",
               min_value=0, max_value=1),
        Column("pose_seconds", pa.float64(), unit="s", doc="wall time of the pose stage", min_value=0),
        Column("gate", pa.string(), doc="quality gate: pass | flagged; null when quarantined",
               allowed=("pass", "flagged")),
        Column("gate_reasons", pa.list_(pa.string()), doc="why the gate flagged the video (empty when it passed)"),
        Column("person_frac", pa.float64(), unit="0-1", doc="analysed frames with a person",
               min_value=0, max_value=1),
        Column("sagittal_vis_mean", pa.float64(), unit="0-1",
               doc="mean visibility of the nearer side's shoulder, hip, knee, ankle", min_value=0, max_value=1),
        Column("person_height_frac", pa.float64(), unit="fraction of image height",
               doc="median height of the landmark box", min_value=0),
        Column("side_on_ratio", pa.float64(), unit="fraction of trunk length",
               doc="median left-right spread of hips and shoulders; ~0 side-on, large front-on", min_value=0),
        Column("lr_swap_rate", pa.float64(), unit="per person frame", doc="left/right leg label flips",
               min_value=0, max_value=1),
        Column("other_person_frac", pa.float64(), unit="0-1", doc="sampled frames showing a second person",
               min_value=0, max_value=1),
        Column("lead_no_person_s", pa.float64(), unit="s", doc="time before the first frame with a person",
               min_value=0),
        Column("tail_no_person_s", pa.float64(), unit="s", doc="time after the last frame with a person",
               min_value=0),
        Column("processed_at", pa.timestamp("us", tz="UTC"), False),
    ),
)

_VIDEO_AND_WEEK = (  # per-video tables partitioned by the video's week
    Column("video_id", pa.string(), False, pattern=SHA256),
    Column("week", pa.string(), False, doc="ISO week of the video's recorded_on (partition)", pattern=ISO_WEEK),
)

FRAMES = Table(
    name="frames",
    key=("video_id", "frame_idx"),
    partition_by="week",
    doc="One row per analysed frame; frames without a person have null landmarks.",
    columns=(
        *_VIDEO_AND_WEEK,
        Column("frame_idx", pa.int32(), False, doc="index of the frame in decode order", min_value=0),
        Column("t_s", pa.float64(), False, unit="s", doc="presentation time from the frame's pts", min_value=0),
        Column("person", pa.bool_(), False, doc="MediaPipe found a person"),
        *_landmark_columns(),
        Column("facing", pa.int8(), doc="+1 athlete faces image right, -1 left", min_value=-1, max_value=1),
        Column("near_side", pa.string(), doc="left | right: side with higher visibility", allowed=("left", "right")),
        Column("trunk_angle_deg", pa.float32(), unit="deg", doc="hip->shoulder midpoint line from vertical, + forward",
               min_value=-180, max_value=180),
        Column("knee_flexion_deg", pa.float32(), unit="deg", doc="180 - angle(hip, knee, ankle), near side",
               min_value=0, max_value=180),
        Column("hip_flexion_deg", pa.float32(), unit="deg", doc="180 - angle(shoulder, hip, knee), near side",
               min_value=0, max_value=180),
        Column("back_bulge_frac", pa.float32(), unit="fraction of trunk length",
               doc="max bulge of the mask's back outline beyond its end-to-end line", min_value=-1, max_value=1),
        Column("back_bend_deg", pa.float32(), unit="deg",
               doc="angle between lower and upper halves of the back outline; 0 = straight",
               min_value=-180, max_value=180),
        Column("other_person", pa.bool_(),
               doc="a second person seen outside the tracked one (sampled about 1/s; null on other frames)"),
    ),
    references=(Reference("video_id", "videos", "video_id"),),
    increasing=(Increasing("t_s", "frame_idx", ("video_id",)),),
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
        Column("stage", pa.string(), False, doc="manifest | file | probe | pose",
               allowed=("manifest", "file", "probe", "pose")),
        Column("reason", pa.string(), False),
        Column("detected_at", pa.timestamp("us", tz="UTC"), False),
    ),
)

_IDENTITY: tuple[Column, ...] = (
    Column("athlete_id", pa.string(), False, pattern=ATHLETE_ID.pattern),
    Column("video_id", pa.string(), False, pattern=SHA256),
    Column("recorded_on", pa.date32(), False),
    Column("week", pa.string(), False, doc="ISO week, e.g. 2026-W47 (partition)", pattern=ISO_WEEK),
    Column("exercise", pa.string(), False, allowed_from=EXERCISES_PARAM),
    Column("load_kg", pa.float64(), False, unit="kg", min_value=0, max_value=1000),
    Column("set_index", pa.int32(), False, min_value=1),
    Column("camera_view", pa.string(), False, allowed=CAMERA_VIEWS),
)

# Per-rep metrics: unit, physiological (or geometric) range, meaning. Definitions in
# hingeflow.analytics.metrics; ranges are what a human hinge can show, with margin, so a
# value outside one is a measurement or software fault, not a bad lift.
METRIC_SPECS: dict[str, tuple[str, float | None, float | None, str]] = {
    "trunk_angle_bottom_deg": ("deg", -45, 150, "maximum forward lean in the rep"),
    "trunk_angle_top_deg": ("deg", -90, 120, "trunk angle at lockout; negative = leaning back"),
    "knee_flexion_bottom_deg": ("deg", 0, 170, "near-side knee flexion at the bottom"),
    "knee_flexion_top_deg": ("deg", 0, 170, "near-side knee flexion at lockout"),
    "hip_flexion_bottom_deg": ("deg", 0, 180, "maximum hip flexion in the rep"),
    "chord_shortening_pct": ("%", -100, 100, "shoulder-hip distance shortening at the bottom vs standing"),
    "neck_drop_deg": ("deg", -180, 180, "head line vs trunk line at the bottom minus at the start"),
    "back_bulge_bottom": ("fraction of trunk length", -1, 1, "back outline bulge at the bottom"),
    "back_bend_bottom_deg": ("deg", -180, 180, "back outline bend at the bottom"),
    "hip_back_bottom": ("thigh lengths", -5, 5, "hip travel backwards at the bottom"),
    "hip_down_bottom": ("thigh lengths", -5, 5, "hip travel downwards at the bottom"),
    "hip_back_vs_down": ("ratio", None, None, "hip_back_bottom / hip_down_bottom"),
    "wrist_offset_bottom": ("thigh lengths", -5, 5, "wrist ahead of mid-foot at the bottom"),
    "hips_rise_trunk_progress": ("0-1", -1, 2, "trunk's rise done when the knee is half extended (~0.5 in phase)"),
    "hip_tilt_bottom_deg": ("deg", -90, 90, "front view: hip-line tilt change at the bottom, + = left hip up"),
    "eccentric_s": ("s", 0, 60, "start -> bottom"),
    "concentric_s": ("s", 0, 60, "bottom -> end"),
    "descent_s": ("s", 0, 60, "5% -> 95% of the depth on the way down"),
    "depth_bottom": ("trunk-height fraction", -1, 2, "view-independent depth at the bottom"),
    "valid_frac": ("0-1", 0, 1, "fraction of the rep's frames with a person"),
    "untracked_frac": ("0-1", 0, 1, "fraction of person frames failing the tracking check"),
}
_POSITIVE = ("eccentric_s", "concentric_s", "descent_s")  # durations: > 0


def _metric_column(name: str) -> Column:
    unit, lo, hi, doc = METRIC_SPECS[name]
    return Column(name, pa.float64(), unit=unit, doc=doc, min_value=lo, max_value=hi, strict_min=name in _POSITIVE)

REPS = Table(
    name="reps",
    sort_by=("athlete_id", "recorded_on", "video_id", "rep_index"),
    key=("video_id", "rep_index"),
    partition_by="week",
    doc="One row per repetition; metrics a camera view cannot support are null, with the reason.",
    columns=(
        *_IDENTITY,
        Column("rep_index", pa.int32(), False, doc="1-based within the video", min_value=1),
        Column("t_start_s", pa.float64(), False, unit="s", min_value=0),
        Column("t_bottom_s", pa.float64(), False, unit="s", min_value=0),
        Column("t_end_s", pa.float64(), False, unit="s", min_value=0),
        *(_metric_column(m) for m in METRIC_COLUMNS),
        Column("faults", pa.list_(pa.string()), False, doc="fault names from DESIGN.md", allowed=FAULTS),
        Column("fault_evidence", pa.list_(EVIDENCE_ARROW),
               doc="one entry per rule judged: fault, metric, value, threshold, baseline, noise, margin "
                   "(noise units past the threshold), verdict (fault / not_assessable / clear); "
                   "null on reps stored before evidence was recorded",
               allowed=tuple(f"{f}:{v}" for f in FAULTS for v in VERDICTS), view_fields=("fault", "verdict")),
        Column("form_score", pa.float64(), False, unit="0-100", min_value=0, max_value=100),
        Column("confidence", pa.float64(), False, unit="0-1", doc="valid frames x view x signal quality",
               min_value=0, max_value=1),
        Column("null_reasons", pa.list_(pa.string()), False, doc="'metric: why it is null'"),
        Column("gate_reasons", pa.list_(pa.string()), False,
               doc="why the video's quality gate flagged it (confidence capped); empty when it passed"),
    ),
    references=(Reference("video_id", "videos", "video_id"),),
    increasing=(Increasing("t_start_s", "rep_index", ("video_id",)),),
    ordered_pairs=(("t_bottom_s", "t_start_s"), ("t_end_s", "t_bottom_s")),
)

SETS = Table(
    name="sets",
    sort_by=("athlete_id", "exercise", "recorded_on", "load_kg"),
    key=("athlete_id", "recorded_on", "exercise", "load_kg"),
    snapshot=True,
    doc="Per athlete x session x exercise x load: medians and IQR of rep metrics, fault rates.",
    columns=(
        *(c for c in _IDENTITY if c.name in ("athlete_id", "recorded_on", "week", "exercise", "load_kg")),
        Column("n_sets", pa.int64(), False, min_value=1),
        Column("n_reps", pa.int64(), False, min_value=1),
        *(c for m in METRIC_COLUMNS for c in (
            Column(f"{m}_median", pa.float64(), unit=METRIC_SPECS[m][0], doc=f"median of {m}",
                   min_value=METRIC_SPECS[m][1], max_value=METRIC_SPECS[m][2]),
            Column(f"{m}_iqr", pa.float64(), unit=METRIC_SPECS[m][0], doc=f"interquartile range of {m}", min_value=0))),
        *(Column(f"{f}_rate", pa.float64(), unit="0-1", doc=f"share of the reps with {f}", min_value=0, max_value=1)
          for f in FAULTS),
        Column("form_score_mean", pa.float64(), unit="0-100", min_value=0, max_value=100),
        Column("confidence_mean", pa.float64(), unit="0-1", min_value=0, max_value=1),
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
        Column("breakdown_load_kg", pa.float64(), unit="kg", doc="null: no change beyond noise",
               min_value=0, max_value=1000),
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
        Column("verdict", pa.string(), False, doc="better | worse | within noise",
               allowed=("better", "worse", "within noise")),
    ),
)

QUALITY = Table(
    name="quality",
    key=("run_id", "table", "check"),
    doc="Validation results: one row per run, table and expectation (Great Expectations, data_contracts/gx).",
    columns=(
        Column("run_id", pa.string(), False),
        Column("validated_at", pa.timestamp("us", tz="UTC"), False),
        Column("table", pa.string(), False, doc="the table validated"),
        Column("check", pa.string(), False, doc="'<column or table>: <expectation>', unique within the table's suite"),
        Column("expectation", pa.string(), False, doc="Great Expectations expectation type"),
        Column("column", pa.string(), doc="the column checked; null for table-level checks"),
        Column("success", pa.bool_(), False),
        Column("scope", pa.string(), False, doc="rows: failing rows are quarantined | table: the table is unusable",
               allowed=("rows", "table")),
        Column("element_count", pa.int64(), doc="rows validated", min_value=0),
        Column("unexpected_count", pa.int64(), doc="rows failing the check", min_value=0),
        Column("offending_keys", pa.list_(pa.string()), False, doc="keys of up to 20 failing rows, 'col=value, ...'"),
        Column("error", pa.string(), doc="why the check could not run (e.g. its column is missing)"),
    ),
)

QUARANTINED_ROWS = Table(
    name="quarantined_rows",
    key=("run_id", "table", "row_key"),
    doc="Rows that broke their table's contract, kept out of the analysts' tables, with the failed checks.",
    columns=(
        Column("run_id", pa.string(), False),
        Column("table", pa.string(), False),
        Column("row_key", pa.string(), False, doc="the row's key, 'col=value, ...'"),
        Column("checks", pa.list_(pa.string()), False, doc="the checks the row failed"),
        Column("row_json", pa.string(), False, doc="the row as JSON"),
        Column("quarantined_at", pa.timestamp("us", tz="UTC"), False),
    ),
)

KEYFRAMES = Table(
    name="keyframes",
    key=("video_id", "rep_index"),
    partition_by="week",
    doc="Report thumbnails: the bottom frame of each video's best and worst rep, head covered, pose drawn on; "
        "or, where no frame near the bottom has a believable pose (or a face could not be covered), why not.",
    columns=(
        *_VIDEO_AND_WEEK,
        Column("rep_index", pa.int32(), False, min_value=1),
        Column("which", pa.string(), False, doc="best | worst rep of the video by form score",
               allowed=("best", "worst")),
        Column("frame_idx", pa.int32(), doc="the frame shown (decode order); null without an image", min_value=0),
        Column("t_s", pa.float64(), unit="s", doc="time of the frame shown; null without an image", min_value=0),
        Column("width", pa.int32(), unit="px", min_value=1),
        Column("height", pa.int32(), unit="px", min_value=1),
        Column("image_webp", pa.binary(), doc="WebP thumbnail; the head and every confirmed face are covered (flat "
                                              "grey) before encoding; null when there is no image (see reason)"),
        Column("reason", pa.string(), doc="why the rep has no image; null when it has one"),
    ),
)

TABLES: dict[str, Table] = {t.name: t for t in (VIDEOS, FRAMES, QUARANTINE, REPS, SETS, BREAKDOWN, WEEK_OVER_WEEK,
                                                  QUALITY, QUARANTINED_ROWS, KEYFRAMES)}
VALIDATED: tuple[str, ...] = ("videos", "frames", "quarantine", "reps", "sets", "breakdown", "week_over_week")


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
