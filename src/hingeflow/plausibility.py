"""Is a frame's pose believable enough to show? Per-frame tracking and plausibility checks (pure).

A keyframe shows a skeleton to a coach, who believes a picture more than a table, so
its frame must pass checks a mislabelled skeleton fails (a "shoulder" on the hip, a
trunk line drawn down a leg). Per frame of the `frames` table, with pixel landmarks of
the upright frame (x right, y down) and segment lengths in pixels:

- **tracked**: a person was found and the near side's shoulder, hip, knee and ankle
  have mean visibility >= :data:`MIN_NEAR_VIS`;
- **segments**: the near side's trunk (shoulder-hip), thigh (hip-knee) and shin
  (knee-ankle) are each within :data:`SEGMENT_RANGE` times that segment's median over
  the video's tracked frames, and thigh and shin are within :data:`LIMB_TO_TRUNK` times
  the trunk in the same frame (adult proportions, any sagittal pose);
- **left/right**: each segment's left and right lengths are within a factor of
  :data:`MAX_LR_RATIO` of each other;
- **order**: the near side's knee and hip are above its ankle, and its shoulder is not
  below its hip by more than :data:`MAX_SHOULDER_DROP` trunk lengths (the trunk points at
  most about 30 deg below horizontal, deeper than any hinge's bottom).

:func:`plausible` adds ``plausible`` (bool) and ``implausible_reason`` (null when
plausible) columns. Thresholds were set on the dev clips (``clips/``) and the
synthetic gym; docs/keyframes.md lists what they kept and rejected.
"""

from __future__ import annotations

import polars as pl

MIN_NEAR_VIS = 0.5  # as the quality gate's MIN_SAGITTAL_VIS
SEGMENT_RANGE = (0.6, 1.6)  # a segment's length over its video median
LIMB_TO_TRUNK = (0.4, 2.0)  # thigh or shin length over trunk length in the same frame
MAX_LR_RATIO = 2.0  # a segment's longer side over its shorter side
MAX_SHOULDER_DROP = 0.5  # shoulder below hip, in trunk lengths
SEGMENTS = {"trunk": ("shoulder", "hip"), "thigh": ("hip", "knee"), "shin": ("knee", "ankle")}
JOINTS = ("shoulder", "hip", "knee", "ankle")


def _length(side: str, a: str, b: str) -> pl.Expr:
    """Pixel distance between landmarks `side_a` and `side_b`."""
    return ((pl.col(f"{side}_{a}_x") - pl.col(f"{side}_{b}_x")) ** 2
            + (pl.col(f"{side}_{a}_y") - pl.col(f"{side}_{b}_y")) ** 2).sqrt()


def _near(column: str) -> pl.Expr:
    """The near side's value of `left_<column>` / `right_<column>` (near side from `near_side`)."""
    return pl.when(pl.col("near_side") == "right").then(pl.col(f"right_{column}")).otherwise(pl.col(f"left_{column}"))


def _reason(condition: pl.Expr, text: str) -> pl.Expr:
    return pl.when(condition).then(pl.lit(text)).otherwise(None)


def _between(expr: pl.Expr, bounds: tuple[float, float]) -> pl.Expr:
    return expr.is_between(*bounds) & expr.is_not_nan()


def plausible(frames: pl.DataFrame) -> pl.DataFrame:
    """`frames` (video_id, person, near_side, `<side>_<joint>_x/y/vis` of shoulder, hip, knee,
    ankle) with ``plausible`` and ``implausible_reason`` (the first failed check)."""
    lengths = {f"_{side}_{seg}": _length(side, a, b) for seg, (a, b) in SEGMENTS.items() for side in ("left", "right")}
    near_vis = pl.mean_horizontal([_near(f"{j}_vis") for j in JOINTS])
    df = frames.with_columns(**lengths).with_columns(near_vis.alias("_near_vis"))
    df = df.with_columns(*(pl.when(pl.col("near_side") == "right").then(pl.col(f"_right_{seg}"))
                           .otherwise(pl.col(f"_left_{seg}")).alias(f"_near_{seg}") for seg in SEGMENTS))
    tracked = pl.col("person").fill_null(False) & (pl.col("_near_vis") >= MIN_NEAR_VIS)
    df = df.with_columns(tracked.alias("_tracked"))
    df = df.with_columns(*(pl.col(f"_near_{seg}").filter(pl.col("_tracked")).median().over("video_id")
                           .alias(f"_median_{seg}") for seg in SEGMENTS))
    ratio_ok = pl.all_horizontal([_between(pl.col(f"_near_{seg}") / pl.col(f"_median_{seg}"), SEGMENT_RANGE)
                                  for seg in SEGMENTS])
    trunk = pl.col("_near_trunk")
    proportion_ok = (_between(pl.col("_near_thigh") / trunk, LIMB_TO_TRUNK)
                     & _between(pl.col("_near_shin") / trunk, LIMB_TO_TRUNK))
    lr_ok = pl.all_horizontal([_between(pl.max_horizontal(pl.col(f"_left_{s}"), pl.col(f"_right_{s}"))
                                        / pl.min_horizontal(pl.col(f"_left_{s}"), pl.col(f"_right_{s}")),
                                        (1.0, MAX_LR_RATIO)) for s in SEGMENTS])
    y = {j: _near(f"{j}_y") for j in JOINTS}
    order_ok = (y["knee"] < y["ankle"]) & (y["hip"] < y["ankle"]) & (y["shoulder"] - y["hip"] < MAX_SHOULDER_DROP * trunk)
    reason = pl.coalesce(
        _reason(~tracked, "pose not tracked (no person, or near-side joints poorly visible)"),
        _reason(~ratio_ok.fill_null(False), "a segment's length far from its length in the rest of the video"),
        _reason(~proportion_ok.fill_null(False), "thigh or shin length out of proportion to the trunk"),
        _reason(~lr_ok.fill_null(False), "left and right segment lengths disagree"),
        _reason(~order_ok.fill_null(False), "joints out of order (knee or hip below the ankle, or shoulder far below the hip)"),
    )
    return frames.with_columns(df.select(reason.alias("implausible_reason")).to_series()).with_columns(
        pl.col("implausible_reason").is_null().alias("plausible"))
