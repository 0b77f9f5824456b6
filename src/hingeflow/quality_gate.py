"""Per-video quality gate: is a video good enough for the metrics it feeds? (pure)

From the `frames` table and the videos' rows, :func:`gate_table` measures per
video, for all videos at once (polars group_by, no per-frame Python):

- ``person_frac``: analysed frames with a person (0-1);
- ``sagittal_vis_mean``: mean visibility of the nearer side's shoulder, hip, knee
  and ankle over person frames (0-1);
- ``person_height_frac``: median landmark-box height / image height (0-1);
- ``side_on_ratio``: median over person frames of the left-right spread of hips
  and shoulders in the image relative to trunk length (0 = side-on camera, about
  0.5-1 = front-on);
- ``fps`` (probe, frames/s);
- ``lr_swap_rate``: frames whose left/right leg labels flip between consecutive
  frames, per person frame;
- ``other_person_frac``: sampled frames where a second person was seen (0-1,
  null when the pose stage did not sample);
- ``lead_no_person_s`` / ``tail_no_person_s``: seconds without a person at the
  start / end (title cards, fades to black).

Each check that fails adds a short sentence to ``gate_reasons``; ``gate`` is
"flagged" when there is any, else "pass". A flagged video is kept; its reps'
confidence is capped (:data:`FLAGGED_CONFIDENCE_CAP`) and carry the reasons.
Thresholds were set on the dev clips of ``shared/footage/clips`` (see README).
"""

from __future__ import annotations

import polars as pl

from hingeflow.landmarks import LANDMARKS

# --- thresholds (measured on the 19 dev clips with a person, pose at 30 frames/s) ---
MIN_PERSON_FRAC = 0.6  # clean clips 0.98-1.0; yfgd_bad_01/04/05 0.72-0.76 (head leaves the frame at lockout), still measured well
MIN_SAGITTAL_VIS = 0.5  # every dev clip 0.72-0.99 (lowest: yfgd_bad_01, bar plate over the legs)
MIN_PERSON_HEIGHT_FRAC = 0.15  # smallest dev lifters: outdoor yfgd_good_* 0.33-0.43 of the image height
SIDE_ON_MAX_RATIO = 0.26  # side clips 0.04-0.21; diagonal/front clips 0.31 (45 deg good morning) to 0.48
MIN_FPS = 20.0  # dev clips 24-60 frames/s; below 20 the 4 Hz filter and rep timing lose detail
MAX_LR_SWAP_RATE = 0.05  # dev clips: 0 flips (raw landmarks, 30 frames/s)
MAX_OTHER_PERSON_FRAC = 0.5  # busy gym yfgd_bad_02 0.8 (its twin yfgd_bad_03 only 0.25); clean clips 0-0.4 (yfgd_good_02: 2 false finds in 5)
MIN_OTHER_PERSON_SAMPLES = 3  # fewer samples (under ~3 s of video) say nothing
MAX_NO_PERSON_EDGE_S = 1.0  # end card of kbdl_front_lowangle_titlecard 3.0 s; every other dev clip <= 0.04 s
FLAGGED_CONFIDENCE_CAP = 0.5  # a flagged video's reps are never more than half-confident

SAGITTAL_JOINTS = ("shoulder", "hip", "knee", "ankle")
LEG_POINTS = ("knee", "ankle")

GATE_COLUMNS: tuple[str, ...] = (
    "gate", "gate_reasons", "person_frac", "sagittal_vis_mean", "person_height_frac", "side_on_ratio",
    "lr_swap_rate", "other_person_frac", "lead_no_person_s", "tail_no_person_s",
)


def _vis_mean(side: str) -> pl.Expr:
    """Mean visibility (0-1) of one side's shoulder, hip, knee and ankle in a frame."""
    return pl.mean_horizontal([pl.col(f"{side}_{j}_vis") for j in SAGITTAL_JOINTS])


def _mid(a: str, b: str, axis: str) -> pl.Expr:
    """Midpoint of landmarks `a` and `b` along `axis` (x or y), in pixels."""
    return (pl.col(f"{a}_{axis}") + pl.col(f"{b}_{axis}")) / 2


def _per_frame(frames: pl.DataFrame) -> pl.LazyFrame:
    """Per-frame inputs of the measures: near-side visibility, box height (px), spread ratio, swaps."""
    ys = [pl.col(f"{n}_y") for n in LANDMARKS]
    trunk = ((_mid("left_hip", "right_hip", "x") - _mid("left_shoulder", "right_shoulder", "x")) ** 2
             + (_mid("left_hip", "right_hip", "y") - _mid("left_shoulder", "right_shoulder", "y")) ** 2).sqrt()
    spread = ((pl.col("left_hip_x") - pl.col("right_hip_x")).abs()
              + (pl.col("left_shoulder_x") - pl.col("right_shoulder_x")).abs()) / 2
    lf = frames.lazy().sort("video_id", "frame_idx").with_columns(
        pl.max_horizontal(_vis_mean("left"), _vis_mean("right")).alias("_vis"),
        (pl.max_horizontal(ys) - pl.min_horizontal(ys)).alias("_box_h"),
        (spread / trunk).alias("_spread"),
        trunk.alias("_trunk"),
    )
    return lf.with_columns(_swapped().alias("_swap"))


def _leg_distance(a: str, b: str) -> pl.Expr:
    """Pixel distance between side `a` legs now and side `b` legs in the previous frame of the video."""
    d = [((pl.col(f"{a}_{j}_{ax}") - pl.col(f"{b}_{j}_{ax}").shift(1).over("video_id")) ** 2)
         for j in LEG_POINTS for ax in ("x", "y")]
    return pl.sum_horizontal(d).sqrt()


def _swapped() -> pl.Expr:
    """True where the legs' left/right labels flip from the previous frame: each leg lands much
    nearer where the other leg was than where it was itself, by more than a tenth of the trunk."""
    same = _leg_distance("left", "left") + _leg_distance("right", "right")
    cross = _leg_distance("left", "right") + _leg_distance("right", "left")
    return (cross < 0.5 * same) & (same - cross > 0.1 * pl.col("_trunk"))


def measure(frames: pl.DataFrame) -> pl.DataFrame:
    """One row per video of `frames`: the gate's measures (see the module docstring for units)."""
    if "other_person" not in frames.columns:
        frames = frames.with_columns(pl.lit(None, pl.Boolean).alias("other_person"))
    person = pl.col("person")
    t_person = pl.col("t_s").filter(person)
    return _per_frame(frames).group_by("video_id").agg(
        pl.len().alias("frames_analysed"),
        person.mean().alias("person_frac"),
        pl.col("_vis").filter(person).mean().alias("sagittal_vis_mean"),
        pl.col("_box_h").filter(person).median().alias("_box_h_px"),
        pl.col("_spread").filter(person).median().alias("side_on_ratio"),
        (pl.col("_swap").filter(person).sum() / person.sum().clip(1)).alias("lr_swap_rate"),
        pl.col("other_person").mean().alias("other_person_frac"),
        pl.col("other_person").count().alias("other_person_samples"),
        (t_person.min() - pl.col("t_s").min()).alias("lead_no_person_s"),
        (pl.col("t_s").max() - t_person.max()).alias("tail_no_person_s"),
    ).collect()


def _reason(condition: pl.Expr, text: pl.Expr) -> pl.Expr:
    """`text` where `condition` holds, else null."""
    return pl.when(condition).then(text).otherwise(None)


def _fmt(expr: pl.Expr, digits: int = 0) -> pl.Expr:
    """A number as text, rounded to `digits`."""
    return expr.round(digits).cast(pl.String)


def _pct(expr: pl.Expr) -> pl.Expr:
    """A 0-1 share as whole-percent text, e.g. "35%"."""
    return (expr * 100).round(0).cast(pl.Int64).cast(pl.String) + "%"


def _side_declared() -> pl.Expr:
    """The manifest declares a side view (or no view, which means side)."""
    return pl.col("camera_view").is_null() | (pl.col("camera_view") == "side")


def sagittal_measurable() -> pl.Expr:
    """Per video (columns camera_view, side_on_ratio, sagittal_vis_mean, lr_swap_rate): whether the gate
    lets sagittal angles (trunk, hip, knee) be read off the image: a declared side view whose camera
    looks side-on, with the near side visible and the legs' labels not flipping. Null measures count as
    not measurable."""
    return (_side_declared() & (pl.col("side_on_ratio") <= SIDE_ON_MAX_RATIO)
            & (pl.col("sagittal_vis_mean") >= MIN_SAGITTAL_VIS)
            & (pl.col("lr_swap_rate") <= MAX_LR_SWAP_RATE)).fill_null(False)


def _reasons() -> list[pl.Expr]:
    """One expression per check: a reason sentence where the check fails, else null."""
    view = pl.col("camera_view")
    side_declared = _side_declared()
    not_side_on = pl.col("side_on_ratio") > SIDE_ON_MAX_RATIO
    others = pl.col("other_person_frac")
    return [
        _reason(pl.col("person_frac") < MIN_PERSON_FRAC,
                pl.lit("person found on only ") + _pct(pl.col("person_frac")) + " of analysed frames"),
        _reason(pl.col("lead_no_person_s") > MAX_NO_PERSON_EDGE_S,
                pl.lit("no person in the first ") + _fmt(pl.col("lead_no_person_s"), 1)
                + " s (title card, or the athlete not in view yet?)"),
        _reason(pl.col("tail_no_person_s") > MAX_NO_PERSON_EDGE_S,
                pl.lit("no person in the last ") + _fmt(pl.col("tail_no_person_s"), 1)
                + " s (the athlete left, or an end card or fade?)"),
        _reason(pl.col("sagittal_vis_mean") < MIN_SAGITTAL_VIS,
                pl.lit("shoulder/hip/knee/ankle poorly visible: mean visibility ")
                + _fmt(pl.col("sagittal_vis_mean"), 2)),
        _reason(pl.col("person_height_frac") < MIN_PERSON_HEIGHT_FRAC,
                pl.lit("person small in frame: ") + _pct(pl.col("person_height_frac")) + " of image height"),
        _reason(side_declared & not_side_on,
                pl.lit("declared side view but camera looks front-on: sagittal angles unreliable")),
        _reason(~side_declared & not_side_on,
                view + " view: sagittal angles (trunk, knee, hip) not measurable"),
        _reason(pl.col("fps") < MIN_FPS,
                pl.lit("low frame rate: ") + _fmt(pl.col("fps"), 1) + " frames/s"),
        _reason(pl.col("lr_swap_rate") > MAX_LR_SWAP_RATE,
                pl.lit("left/right legs swapped on ") + _pct(pl.col("lr_swap_rate")) + " of frames"),
        _reason((pl.col("other_person_samples") >= MIN_OTHER_PERSON_SAMPLES) & (others > MAX_OTHER_PERSON_FRAC),
                pl.lit("several people in frame on ") + _pct(others) + " of sampled frames"),
    ]


def gate_table(frames: pl.DataFrame, videos: pl.DataFrame) -> pl.DataFrame:
    """Gate verdict per video: video_id, :data:`GATE_COLUMNS`.

    `videos`: video_id, camera_view, fps (frames/s), height (px, upright). Videos
    without frames get no row.
    """
    vids = videos.select("video_id", pl.col("camera_view").cast(pl.String), pl.col("fps").cast(pl.Float64),
                         pl.col("height").cast(pl.Float64))
    m = measure(frames).join(vids, on="video_id", how="left").with_columns(
        (pl.col("_box_h_px") / pl.col("height")).alias("person_height_frac"))
    m = m.with_columns(pl.concat_list(_reasons()).list.drop_nulls().alias("gate_reasons"))
    m = m.with_columns(pl.when(pl.col("gate_reasons").list.len() > 0).then(pl.lit("flagged"))
                       .otherwise(pl.lit("pass")).alias("gate"))
    return m.select("video_id", *GATE_COLUMNS).sort("video_id")


def apply_to_reps(reps: pl.DataFrame, gate: pl.DataFrame) -> pl.DataFrame:
    """Reps with `gate_reasons` (empty when their video passed) and confidence capped for flagged videos."""
    g = gate.select("video_id", "gate", "gate_reasons")
    out = reps.join(g, on="video_id", how="left")
    flagged = pl.col("gate") == "flagged"
    return out.with_columns(
        pl.when(flagged).then(pl.col("confidence").clip(upper_bound=FLAGGED_CONFIDENCE_CAP))
        .otherwise(pl.col("confidence")).alias("confidence"),
        pl.col("gate_reasons").fill_null(pl.lit([], pl.List(pl.String))),
    ).drop("gate")
