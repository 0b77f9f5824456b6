"""Per-frame signals of videos: near-side selection, gap filling, zero-lag smoothing.

`compute_signals` turns one video's rows of the `frames` table into a `Signals`
record (see `types.py`); `signals_batch` does the same for many videos at once:
their frames are concatenated and every step below runs on all of them together,
each video on its own frames only (group-aware helpers in `grouped.py`), with the
same floating-point operations as for a video alone (`signals_chunk` returns them
as one `SignalsBatch`, the form the stage's reps and metrics read). Steps:

1. Near side: the side whose sagittal landmarks (shoulder, hip, knee, ankle)
   are more visible over the clip (as `angles.near_side`); knee and hip angles use
   that side only, never an average of left and right. Landmarks are then held
   as near/far pairs (`_NEAR_FAR`). Facing comes from the table's `facing`
   column (majority), else from the feet (as `angles.facing_from_feet`).
   Near-side leg landmarks are cleaned before anything else (`_unswap_legs`,
   `_fix_ankle_outliers`, `_fix_segment_outliers`): frames where the pose model
   swapped the left and right lower legs are swapped back by continuity with the
   previous frame; leg landmarks with visibility < `LOW_VIS`, an ankle far from
   its 3 s running median (feet stay planted in a hinge) and a knee/ankle whose
   thigh/shank length departs from the clip median by > `SEGMENT_TOL` are
   interpolated from the neighbouring good frames (typically the ankle latched
   onto the hands or the plate at the bottom, which read the knee 50-170 deg off).
2. Gaps: frames without a person (or with missing landmarks) are filled by
   linear interpolation when the dropout lasts at most `MAX_GAP_S` (0.25 s);
   longer dropouts, and dropouts at the clip's ends, stay NaN.
3. Hard cuts: a jump of the hip midpoint by more than `CUT_JUMP` trunk lengths
   between consecutive frames (a scene cut or camera change) splits the clip
   into separate segments, so the filter does not smear one shot into the next.
4. Smoothing: a 2nd-order Butterworth low-pass (scipy `butter` + `filtfilt`,
   forward and backward: zero lag), cutoff `cutoff_hz` (default 4 Hz: hinge
   and swing motion lives below ~2 Hz, MediaPipe jitter above), applied to the
   landmark coordinates of each contiguous valid segment separately.
   Segments too short for `filtfilt`'s padding are left unfiltered; when the
   cutoff is at or above the Nyquist frequency nothing is filtered.
5. Angles and the other signals are computed from the smoothed landmarks with
   `hingeflow.angles` (plus the hip line's tilt from horizontal, for front
   views); back-line measures are gap-filled and smoothed the same way.
   Where the hip-ankle chord (law of cosines with the clip's median thigh and
   shank) puts knee flexion above `CHORD_MIN_DEG`, the knee angle is at least
   that: at a deadlift's bottom the knee landmark sits behind the bar and plates
   and reads ~10-20 deg too straight (`_body`).
6. Tracking check (`Signals.tracked`): a frame counts as tracked when the near knee or
   ankle is seen (visibility >= `LOW_VIS`) and the pose is physically possible: a knee
   bent past `IMPLAUSIBLE_KNEE_DEG` under a trunk within `IMPLAUSIBLE_TRUNK_DEG` of
   vertical is not (on fast, deep synthetic folds MediaPipe's tracker collapses the
   figure into such an upright squat while reporting the landmarks as visible).
7. Standing reference (for chord_ratio, hip_back, hip_down, vertical): the
   median over the most upright frames — those whose shoulders stand highest
   above the ankles relative to the clip's range and whose trunk is leaning
   least (rank sum, ties ranked by frame order; best `STANDING_FRAC` = 15%) —
   computed per shot (clip pieces between hard cuts or long gaps) when the shot
   is long enough, otherwise over the whole clip.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import polars as pl
from scipy.signal import butter

from hingeflow import angles
from hingeflow.analytics import kernels
from hingeflow.analytics.grouped import (
    Groups, filtfilt_runs, group_median, group_nanmedian, group_ranks, interp_into,
    running_median_in_groups, runs_in_groups,
)
from hingeflow.analytics.types import Signals, SignalsBatch

MAX_GAP_S = 0.25  # dropouts up to this long are interpolated
CUT_JUMP = 0.6  # hip-midpoint jump between frames, in standing trunk lengths, that marks a hard cut
SHOT_GAP_S = 1.0  # a dropout at least this long starts a new shot (own standing reference)
MIN_SHOT_S = 2.0  # shots shorter than this use the clip-wide standing reference
STANDING_FRAC = 0.15  # fraction of frames taken as "standing"
FILTER_ORDER = 2
LOW_VIS = 0.3  # near-side leg landmarks below this visibility are interpolated from their neighbours
FEET_VIS = 0.3  # heel and toe seen above this visibility give a facing vote (`angles.facing_from_feet`)
_LEG = ("hip", "knee", "ankle", "heel", "foot_index")
ANKLE_WIN_S = 3.0  # running-median window for the ankle-outlier test
ANKLE_TOL = 0.2  # ankle further than this (shank lengths) from its running median: outlier
CHORD_MIN_DEG = 50.0  # hip-ankle chord knee estimate counts only above this flexion
SWAP_RATIO = 0.5  # left/right lower legs are un-swapped when crosswise pairing moves them less than this ...
SWAP_MIN_JUMP = 0.3  # ... and the straight pairing jumps by more than this many shank lengths
IMPLAUSIBLE_KNEE_DEG = 105.0  # a knee bent past this ...
IMPLAUSIBLE_TRUNK_DEG = 10.0  # ... under a trunk within this of vertical is not a real pose (real knee-dominant
# kettlebell deadlifts lean 10-20 deg at 100-130 deg of knee; collapsed tracks 0-10 deg)
SEGMENT_TOL = 0.25  # thigh/shank length departing from the clip median by more: landmark outlier

_JOINTS = ("shoulder", "hip", "knee", "ankle", "ear", "wrist", "heel", "foot_index")
_USED = tuple(f"{s}_{j}" for j in _JOINTS for s in ("left", "right"))  # the landmarks read, left/right pairs
_COL = {name: i for i, name in enumerate(_USED)}
# after the near side is known, the same rows hold near/far pairs (right-side videos swap each pair)
_NEAR_FAR = {f"{s}_{j}": 2 * i + k for i, j in enumerate(_JOINTS) for k, s in enumerate(("near", "far"))}
_SWAP = np.arange(len(_USED)) ^ 1  # row of each landmark's other side
# the coordinates read after leg cleaning, as rows of the smoothed array: x and y of a landmark in
# consecutive rows, or just the one of them that is read
_SMOOTHED = (*(f"{s}_{j}_{c}" for j in ("shoulder", "hip", "ear") for s in ("near", "far") for c in "xy"),
             "near_knee_x", "near_knee_y", "near_ankle_x", "near_ankle_y", "far_ankle_y",
             "near_wrist_x", "near_heel_x", "near_foot_index_x")
_ROW = {name: i for i, name in enumerate(_SMOOTHED)}


def _xy_row(coord: str) -> int:
    """Row of a coordinate such as "near_knee_x" in the (2 * len(_USED), N) reshape of `_Batch.xy`."""
    name, c = coord.rsplit("_", 1)
    return "xy".index(c) * len(_USED) + _NEAR_FAR[name]


# ----------------------------------------------------------------------------- inputs

@dataclass(frozen=True)
class SignalInputs:
    """The `frames` columns that `compute_signals` reads, as float64/bool numpy arrays (n rows).

    `coords` holds the used landmarks' x, y and visibility columns, in that
    order (`_USED` order within each block); `facing`, `back_bulge` and
    `back_bend` are None when the table has no such column (NaN where null).
    """

    t: np.ndarray  # (n,) seconds
    coords: np.ndarray  # (n, 3 * len(_USED)): x (px), y (px), visibility (0..1)
    person: np.ndarray  # (n,) bool, null -> False
    facing: np.ndarray | None  # (n,) +1 / -1 / 0 / NaN
    back_bulge: np.ndarray | None  # (n,) back_bulge_frac
    back_bend: np.ndarray | None  # (n,) back_bend_deg


_COORD_COLS = tuple(f"{nm}_{c}" for c in ("x", "y", "vis") for nm in _USED)
_BACK_COLS = ("back_bulge_frac", "back_bend_deg")
SIGNAL_COLUMNS = ("t_s", "person", "facing", *_BACK_COLS, *_COORD_COLS)  # the frames columns read (if present)


def signal_inputs(frames: pl.DataFrame) -> SignalInputs:
    """The columns `compute_signals` needs, from `frames` rows in their order, with one conversion.

    Everything is read in one `select(...).to_numpy()` of float64 columns: t_s,
    person (null -> 0), facing and the back-line columns when present (null ->
    NaN), then the landmark coordinates; the casts are exact (float32 -> float64).
    """
    n = frames.height
    opt = [c for c in ("facing",) + _BACK_COLS if c in frames.columns]
    person = (pl.col("person").fill_null(False) if "person" in frames.columns else pl.lit(True)).cast(pl.Float64)
    exprs = ([pl.col("t_s").cast(pl.Float64), person.alias("person")]
             + [pl.col(c).cast(pl.Float64).fill_null(np.nan) for c in opt]
             + [pl.col(c).cast(pl.Float64) for c in _COORD_COLS])
    arr = frames.select(exprs).to_numpy() if n else np.empty((0, 2 + len(opt) + len(_COORD_COLS)))
    col = {c: 2 + i for i, c in enumerate(opt)}
    get = lambda c: arr[:, col[c]] if c in col else None  # noqa: E731
    return SignalInputs(t=arr[:, 0], coords=arr[:, 2 + len(opt):], person=arr[:, 1] != 0,
                        facing=get("facing"), back_bulge=get("back_bulge_frac"), back_bend=get("back_bend_deg"))


@dataclass(frozen=True)
class _Batch:
    """The inputs of several videos laid end to end along the frame axis (N frames; arrays the
    batch owns: cleaned in place). Landmark arrays have the frame axis last."""

    groups: Groups  # the videos' frames
    t: np.ndarray  # (N,) s, increasing within each video
    person: np.ndarray  # (N,) bool
    xy: np.ndarray  # (2, len(_USED), N): x, y px; rows as `_USED`, as `_NEAR_FAR` after `_to_near_far`
    vis: np.ndarray  # (len(_USED), N) visibility 0..1, same rows
    facing: np.ndarray  # (N,) +1 / -1 / 0, NaN where null or absent
    back_bulge: np.ndarray  # (N,) back_bulge_frac, NaN where null or absent
    back_bend: np.ndarray  # (N,) back_bend_deg, NaN where null or absent


def _concat(inputs: list[SignalInputs]) -> _Batch:
    """The videos' inputs on one frame axis (copies); absent optional columns read as NaN."""
    groups = Groups.of_lengths([len(inp.t) for inp in inputs])

    def opt(name: str) -> np.ndarray:
        return np.concatenate([np.full(len(inp.t), np.nan) if getattr(inp, name) is None else getattr(inp, name)
                               for inp in inputs])

    coords = np.concatenate([inp.coords.T for inp in inputs], axis=1)  # (3 * k, N): x, y, vis rows
    k = len(_USED)
    return _Batch(groups=groups, t=np.concatenate([inp.t for inp in inputs]),
                  person=np.concatenate([inp.person for inp in inputs]),
                  xy=coords[:2 * k].reshape(2, k, -1), vis=coords[2 * k:],
                  facing=opt("facing"), back_bulge=opt("back_bulge"), back_bend=opt("back_bend"))


def _owning(inputs: SignalInputs, lengths: list[int]) -> _Batch:
    """The batch of the videos whose inputs are laid end to end in `inputs` (`lengths`: their
    frame counts), on `inputs`' own arrays (no copy when the coordinates are column-major, as
    `signal_inputs` converts them); absent optional columns read as NaN."""
    n = len(inputs.t)
    rows = np.ascontiguousarray(inputs.coords.T)  # (3 * k, N): x, y, vis rows

    def opt(a: np.ndarray | None) -> np.ndarray:
        return np.full(n, np.nan) if a is None else a

    k = len(_USED)
    return _Batch(groups=Groups.of_lengths(lengths), t=inputs.t, person=inputs.person,
                  xy=rows[:2 * k].reshape(2, k, -1), vis=rows[2 * k:], facing=opt(inputs.facing),
                  back_bulge=opt(inputs.back_bulge), back_bend=opt(inputs.back_bend))


# ----------------------------------------------------------------------------- per-video choices

def _frame_interval(t: np.ndarray, groups: Groups) -> np.ndarray:
    """(videos,) median frame interval, s; NaN for a video of fewer than two frames."""
    inner = ~groups.first[1:]  # t[i + 1] - t[i] within one video
    return group_median(np.diff(t)[inner], groups.ids[1:][inner], groups.n_groups)


def _near_is_left(vis: np.ndarray, ok: np.ndarray, groups: Groups) -> np.ndarray:
    """(videos,) bool: the left sagittal landmarks are at least as visible as the right ones over
    the `ok` frames (NaN counts 0), as `angles.near_side` (`kernels.side_scores`). Both sides are
    summed in the same order, so identical visibilities tie; the sums' last bits may differ from
    `np.nansum`'s."""
    rows = np.array([[_COL[f"{side}_{j}"] for j in angles.SAGITTAL] for side in ("left", "right")])
    score = kernels.side_scores(vis, rows, ok, groups.bounds.astype(np.int64))
    return score[0] >= score[1]


def _facing(batch: _Batch, ok: np.ndarray) -> np.ndarray:
    """(videos,) +1 facing image right, -1 left: the majority of the table's `facing` column,
    else the sign of the median heel -> toe x over the `ok` frames where both are seen
    (as `angles.facing_from_feet`), else +1."""
    groups = batch.groups
    said = np.isfinite(batch.facing) & (batch.facing != 0)
    table = np.where(groups.count(said & (batch.facing > 0)) >= groups.count(said & (batch.facing < 0)), 1, -1)
    from_table = groups.count(said) > 0
    if from_table.all():
        return table
    frames = np.flatnonzero(ok & ~from_table[groups.ids])
    votes = []
    for side in ("left", "right"):
        toe, heel = _COL[f"{side}_foot_index"], _COL[f"{side}_heel"]
        seen = (batch.vis[toe, frames] > FEET_VIS) & (batch.vis[heel, frames] > FEET_VIS)
        votes.append(np.where(seen, batch.xy[0, toe, frames] - batch.xy[0, heel, frames], np.nan))
    d = np.stack(votes, axis=1).ravel()  # both feet's votes of each frame, in frame order
    vid = np.repeat(groups.ids[frames], 2)
    fin = np.isfinite(d)
    feet = group_median(d[fin], vid[fin], groups.n_groups)
    return np.where(from_table, table, np.where(np.isnan(feet) | (feet >= 0), 1, -1))


def _to_near_far(batch: _Batch, left: np.ndarray) -> None:
    """In place: swap each left/right landmark pair (rows 2i, 2i + 1) on the frames of videos
    whose near side is right (`left` (videos,) bool)."""
    bounds, flip = batch.groups.bounds.astype(np.int64), ~left
    kernels.swap_row_pairs(batch.xy.reshape(2 * len(_USED), batch.t.size), bounds, flip)  # views: swapped in place
    kernels.swap_row_pairs(batch.vis, bounds, flip)


# ----------------------------------------------------------------------------- leg clean-up

def _norm(v: np.ndarray) -> np.ndarray:
    """Length of 2D vectors v (2, n): `np.linalg.norm` over x, y, with its arithmetic."""
    return np.sqrt(v[0] * v[0] + v[1] * v[1])


def _seg_len(xy: np.ndarray, a: int, b: int) -> np.ndarray:
    """Image distance (px, `np.hypot`) between landmark rows a and b per frame."""
    return np.hypot(xy[0, a] - xy[0, b], xy[1, a] - xy[1, b])


def _mask_landmarks(batch: _Batch, ok: np.ndarray) -> None:
    """In place: landmarks NaN outside the `ok` frames; inside them, a coordinate missing
    alone is interpolated from its finite frames."""
    xy = batch.xy
    lone_rows = kernels.mask_frames(xy.reshape(2 * xy.shape[1], xy.shape[2]), ok).reshape(xy.shape[:-1]) > 0
    for c, j in zip(*np.nonzero(lone_rows)):  # rare
        fin = np.isfinite(xy[c, j])
        interp_into(batch.t, xy[c, j], fin, ok & ~fin, batch.groups)


def _interp_unseen_legs(batch: _Batch, ok: np.ndarray) -> np.ndarray:
    """In place: near-side leg landmarks MediaPipe is unsure of (visibility < LOW_VIS: typically
    the ankle latched onto the hands or the plate at the bottom) interpolated from the frames
    where they are seen (in videos with two such frames). Returns the unseen-ankle mask."""
    unseen = {}
    for j in _LEG:
        r = _NEAR_FAR[f"near_{j}"]
        unseen[j] = low = ok & ~(batch.vis[r] >= LOW_VIS)
        good = ok & ~low & np.isfinite(batch.xy[0, r]) & np.isfinite(batch.xy[1, r])
        interp_into(batch.t, batch.xy[:, r], good, low, batch.groups, min_src=2)
    return unseen["ankle"]


def _fast_hypot(dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """sqrt(dx^2 + dy^2): within a few ulp of `np.hypot` (libm, ~20x slower) for pixel-sized values."""
    return np.sqrt(dx * dx + dy * dy)


def _undecided(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Where a and b are too close (1e-12 relative, or tiny) for approximations within a few ulp
    (`_fast_hypot` sums) to decide a > b as the exact values do."""
    with np.errstate(invalid="ignore"):
        return np.abs(a - b) <= 1e-12 * (np.abs(a) + np.abs(b)) + 1e-100


def _unswap_legs(xy: np.ndarray, ok: np.ndarray, groups: Groups) -> None:
    """In place: undo frames where the pose model swapped the left and right lower legs.

    Walking each video's valid frames in order, a frame's knee and ankle labels are
    swapped back when pairing them crosswise with the previous (already corrected)
    frame moves them much less (< `SWAP_RATIO` of the straight pairing) and the
    straight pairing jumps by more than `SWAP_MIN_JUMP` shank lengths (the video's
    median). Knee, ankle, heel and foot index swap together (`kernels.unswap_legs`).
    """
    legs = xy[:, _NEAR_FAR["near_knee"]:_NEAR_FAR["far_ankle"] + 1]  # (2, 4, N) view: near/far knee, near/far ankle
    shank = _norm(legs[:, :2] - legs[:, 2:]).T.ravel()  # both shanks of each frame, in frame order
    fin = np.isfinite(shank)
    shank_med = group_median(shank[fin], Groups(2 * groups.bounds).ids[fin], groups.n_groups)
    rows = np.flatnonzero(kernels.unswap_legs(legs, ok, groups.bounds.astype(np.int64), shank_med, SWAP_MIN_JUMP,
                                              SWAP_RATIO))
    if rows.size:
        swap = [_NEAR_FAR[f"{s}_{j}"] for s in ("near", "far") for j in ("knee", "ankle", "heel", "foot_index")]
        xy[np.ix_([0, 1], swap, rows)] = xy[np.ix_([0, 1], list(_SWAP[swap]), rows)]


def _ankle_windows(dt: np.ndarray, count: np.ndarray) -> np.ndarray:
    """(videos,) odd running-median window, frames: `ANKLE_WIN_S` at the frame interval `dt` (s),
    capped by the largest odd number <= the track's frame `count` (1 where there is no track)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        size = np.where(dt > 0, np.rint(ANKLE_WIN_S / np.where(dt > 0, dt, 1.0)).astype(np.intp) | 1, 1)
    return np.maximum(np.minimum(size, count - 1 + count % 2), 1)


def _fix_ankle_outliers(batch: _Batch, ok: np.ndarray, dt: np.ndarray) -> np.ndarray:
    """In place: a near ankle further than `ANKLE_TOL` shank lengths (the video's median) from
    its `ANKLE_WIN_S` running median is interpolated from the other frames of that track (feet
    stay planted in a hinge). The track: frames with a person and a finite ankle and shank, in
    videos with at least 10 of them. Returns the mask of the replaced ankles."""
    groups, xy = batch.groups, batch.xy
    ik, ia = _NEAR_FAR["near_knee"], _NEAR_FAR["near_ankle"]
    shank = _seg_len(xy, ik, ia)
    fin = ok & np.isfinite(shank) & np.isfinite(xy[0, ia]) & np.isfinite(xy[1, ia])
    count = groups.count(fin)
    tracked = (count >= 10) & (np.diff(groups.bounds) > 1)
    track = fin & tracked[groups.ids]
    idx = np.flatnonzero(track)
    vid = groups.ids[idx]
    ankle = xy[:, ia].take(idx, axis=-1)
    ref = group_median(shank[idx], vid, groups.n_groups)[vid]
    # where the ankle's whole window spreads less than the tolerance (planted feet), the ankle is
    # that close to the window's median: no median needed (NaN); 1% margin for rounding
    med = running_median_in_groups(ankle, Groups.of_lengths(np.where(tracked, count, 0)),
                                   _ankle_windows(dt, count), spread_limit=0.99 * ANKLE_TOL * ref)
    at = np.flatnonzero(~np.isnan(med[0]))
    dx, dy = ankle[0, at] - med[0, at], ankle[1, at] - med[1, at]
    dev = _fast_hypot(dx, dy)
    close = np.flatnonzero(_undecided(dev, ANKLE_TOL * ref[at]))
    dev[close] = np.hypot(dx[close], dy[close])  # `np.hypot` where the fast value might decide otherwise
    bad = np.zeros(batch.t.size, dtype=bool)
    bad[idx[at[(ref[at] > 0) & (dev > ANKLE_TOL * ref[at])]]] = True
    interp_into(batch.t, xy[:, ia], track & ~bad, bad, groups, min_src=2)
    return bad


def _fix_segment_outliers(batch: _Batch, ok: np.ndarray) -> np.ndarray:
    """In place: a near knee whose thigh (hip-knee) length, then a near ankle whose shank
    (knee-ankle) length, departs from the video's median by more than `SEGMENT_TOL` is
    interpolated from the other frames (videos with at least 10 finite lengths). The
    segments are rigid and, in a side view, stay in the image plane; such a landmark has
    latched onto something else (hands, plate, the other leg). Returns the replaced-ankle mask."""
    groups, xy = batch.groups, batch.xy
    ih, ik, ia = (_NEAR_FAR[f"near_{j}"] for j in ("hip", "knee", "ankle"))
    replaced = {}
    for a, b in ((ih, ik), (ik, ia)):  # thigh first: a fixed knee makes the shank test fair
        length = _seg_len(xy, a, b)
        fin = ok & np.isfinite(length)
        ref = group_median(length[fin], groups.ids[fin], groups.n_groups)
        usable = (groups.count(fin) >= 10) & (ref > 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            replaced[b] = bad = fin & usable[groups.ids] & (np.abs(length / ref[groups.ids] - 1.0) > SEGMENT_TOL)
        interp_into(batch.t, xy[:, b], fin & ~bad, bad, groups, min_src=2)
    return replaced[ia]


# ----------------------------------------------------------------------------- gaps, cuts, smoothing

def fill_gaps_into(t: np.ndarray, x: np.ndarray, ok: np.ndarray, groups: Groups, dt: np.ndarray,
                   max_gap_s: float = MAX_GAP_S) -> np.ndarray:
    """In place: linearly interpolate x (..., n) where `ok` is False, for interior gaps <= max_gap_s,
    per group. Returns the new ok mask.

    The gap's duration is the time spanned by its missing frames (count x the group's
    median frame interval `dt` (groups,), s). Leading/trailing gaps stay NaN.
    """
    gs, ge = runs_in_groups(~ok, groups)
    g = groups.ids[gs]
    interior = (gs > groups.starts[g]) & (ge < groups.ends[g])
    n = t.size
    span = t[np.minimum(ge, n - 1)] - t[np.maximum(gs - 1, 0)] - dt[g]  # last good frame to the next, minus one interval
    fill = interior & (span <= max_gap_s + 1e-6)
    marks = np.zeros(n + 1, dtype=np.int64)
    marks[gs[fill]] += 1
    marks[ge[fill]] -= 1
    target = kernels.running_count(marks[:n]) > 0
    interp_into(t, x, ok, target, groups)
    return ok | target


def fill_gaps(t: np.ndarray, x: np.ndarray, ok: np.ndarray, max_gap_s: float = MAX_GAP_S) -> tuple[np.ndarray, np.ndarray]:
    """`fill_gaps_into` of one series x (n,) or (n, k) with frames first: (filled copy, new ok mask)."""
    ok = np.asarray(ok, dtype=bool)
    x = np.array(x, dtype=np.float64, copy=True)
    if ok.all() or not ok.any():
        return x, ok.copy()
    dt = np.median(np.diff(t))  # median frame interval, s
    return x, fill_gaps_into(t, x.T, ok, Groups.of_lengths([len(t)]), np.array([dt]), max_gap_s)


_PAIR_ROWS = {j: np.array([_ROW[f"near_{j}_x"], _ROW[f"far_{j}_x"]]) for j in ("shoulder", "hip")}


def _hard_cuts(pts: np.ndarray, groups: Groups) -> np.ndarray:
    """(N,) bool: frames whose hip midpoint jumped more than `CUT_JUMP` trunk lengths (the video's
    median) from the previous frame. `pts`: gap-filled coordinates (len(_SMOOTHED), N)."""
    trunk, jump = kernels.trunk_and_hip_jump(pts, _PAIR_ROWS["shoulder"], _PAIR_ROWS["hip"])
    scale = group_nanmedian(trunk, groups.ids, groups.n_groups)
    scale = np.where(np.isfinite(scale) & (scale > 0), scale, np.nan)
    with np.errstate(invalid="ignore"):
        breaks = np.nan_to_num(jump / scale[groups.ids], nan=0.0) > CUT_JUMP
    return breaks & ~groups.first


@lru_cache(maxsize=64)
def _butter(order: int, wn: float) -> tuple[np.ndarray, np.ndarray]:
    """Butterworth low-pass (b, a)."""
    return butter(order, wn)


def lowpass_into(x: np.ndarray, ok: np.ndarray, groups: Groups, fps: np.ndarray, cutoff_hz: float,
                 breaks: np.ndarray | None = None) -> None:
    """In place: zero-lag Butterworth low-pass (order 2, `filtfilt`) of x (..., n) (C-contiguous
    float64) per contiguous run of `ok` within each group (frame rate `fps` (groups,), 1/s).

    `breaks` (bool, n) marks frames that start a new segment even inside a run
    (hard cuts). Runs too short for filtfilt's padding, and groups whose Nyquist
    frequency is at or below the cutoff, are left unfiltered.
    """
    starts, ends = runs_in_groups(np.asarray(ok, dtype=bool), groups, breaks)
    run_fps = fps[groups.ids[starts]]
    for f in np.unique(run_fps).tolist():  # Python floats: `round` below is Python's
        if not np.isfinite(f) or f <= 0 or cutoff_hz <= 0 or cutoff_hz >= f / 2:
            continue
        b, a = _butter(FILTER_ORDER, round(cutoff_hz / (f / 2), 9))
        sel = (run_fps == f) & (ends - starts > 3 * max(len(a), len(b)))
        filtfilt_runs(b, a, x, starts[sel], ends[sel])


def lowpass_segments(x: np.ndarray, ok: np.ndarray, fps: float, cutoff_hz: float,
                     breaks: np.ndarray | None = None) -> np.ndarray:
    """`lowpass_into` a copy of one series x (n,) or (n, k) with frames first."""
    out = np.array(np.asarray(x, dtype=np.float64).T, order="C")  # a copy, frames last
    lowpass_into(out, ok, Groups.of_lengths([len(ok)]), np.array([fps], dtype=np.float64), cutoff_hz, breaks)
    return out.T


# ----------------------------------------------------------------------------- angles

@dataclass(frozen=True)
class _Body:
    """Per-frame measures of the smoothed landmarks (N frames)."""

    trunk: np.ndarray  # deg
    knee: np.ndarray  # deg
    hip: np.ndarray  # deg
    neck: np.ndarray  # deg
    hip_tilt: np.ndarray  # deg
    sh_mid: np.ndarray  # (N, 2) px
    hip_mid: np.ndarray  # (N, 2) px
    chord: np.ndarray  # shoulder-hip distance, px
    thigh: np.ndarray  # px
    height: np.ndarray  # shoulders above the ankles, px
    wrist_x: np.ndarray  # near wrist x minus mid-foot x, px


_BODY_ROWS = np.array([_ROW[f"{point}_x"] for point in kernels.BODY_POINTS] + [_ROW[v] for v in kernels.BODY_VALUES])


def _body(pts: np.ndarray, valid: np.ndarray, ankle_guessed: np.ndarray, facing: np.ndarray,
          left: np.ndarray, groups: Groups) -> _Body:
    """Angles (deg, as `hingeflow.angles`) and distances (px) from the smoothed coordinates `pts`
    (len(_SMOOTHED), N), per frame (`kernels.body_measures`); `facing` (N,) +1/-1 and `left` (N,)
    bool (near side is left).

    The knee is raised to the hip-ankle chord estimate where that says it is deeply bent:
    the chord D = |hip - ankle| with the video's median thigh T and shank S (over the valid
    frames whose ankle is not guessed) gives flexion = 180 - acos((T^2 + S^2 - D^2) / (2 T S))
    without the knee landmark, which at a deadlift's bottom sits behind the bar and plates and
    reads up to ~20 deg too straight. The chord estimate is ill-conditioned near a straight
    knee, so it only counts above `CHORD_MIN_DEG`, and only ever raises the value.
    """
    m = dict(zip(kernels.BODY_MEASURES, kernels.body_measures(pts, _BODY_ROWS, facing, left)))
    ids, n = groups.ids, groups.n_groups
    chord_frames = valid & ~ankle_guessed
    thigh, shank = (group_nanmedian(m[k][chord_frames], ids[chord_frames], n) for k in ("thigh", "shank"))
    with np.errstate(invalid="ignore"):
        knee = 180.0 - np.degrees(np.arccos(m["knee_cos"]))
        chord = 180.0 - np.degrees(np.arccos(kernels.chord_cosines(m["hip_ankle"], thigh, shank, ids, chord_frames)))
        knee = np.where(chord > CHORD_MIN_DEG, np.fmax(knee, chord), knee)
    trunk = np.degrees(np.arctan2(m["trunk_y"], m["trunk_x"]))
    neck = np.degrees(np.arctan2(m["neck_y"], m["neck_x"])) - trunk
    return _Body(trunk=trunk, knee=knee, hip=180.0 - np.degrees(np.arccos(m["hip_cos"])),
                 neck=(neck + 180.0) % 360.0 - 180.0, hip_tilt=np.degrees(np.arctan2(m["tilt_y"], m["tilt_x"])),
                 sh_mid=np.stack([m["sh_mid_x"], m["sh_mid_y"]], axis=1),
                 hip_mid=np.stack([m["hip_mid_x"], m["hip_mid_y"]], axis=1),
                 chord=m["chord"], thigh=m["thigh"], height=m["height"], wrist_x=m["wrist_x"])


# ----------------------------------------------------------------------------- standing reference

def _shots(t: np.ndarray, valid: np.ndarray, breaks: np.ndarray, groups: Groups) -> np.ndarray:
    """(N,) shot number (increasing over the batch): clip pieces between hard cuts and dropouts
    of at least `SHOT_GAP_S`."""
    start = breaks | groups.first
    gs, ge = runs_in_groups(~valid, groups)
    g = groups.ids[gs]
    after = np.minimum(ge, groups.ends[g] - 1)
    start[after[t[after] - t[np.maximum(gs - 1, groups.starts[g])] >= SHOT_GAP_S]] = True
    return kernels.running_count(start)


_REF = ("sh_y", "hip_x", "hip_y", "height", "chord", "thigh")  # the standing reference's measures


def _standing_refs(body: _Body, frames: np.ndarray, ids: np.ndarray, n: int) -> np.ndarray:
    """(len(_REF), n) medians of the measures over each group's most upright frames, NaN for a
    group without a finite height. `frames` (m,): candidate frame indices; `ids` (m,) their group.

    Upright: rank sum of shoulder height (highest first) and trunk lean (least first; NaN
    lean counts as the group's median), best `STANDING_FRAC` of the frames.
    """
    fin = np.isfinite(body.height[frames])
    frames, ids = frames[fin], ids[fin]
    lean = body.trunk[frames]
    if not np.isfinite(lean).all():
        fallback = group_nanmedian(lean, ids, n)
        lean = np.where(np.isfinite(lean), lean, np.where(np.isnan(fallback), 0.0, fallback)[ids])
    score = group_ranks(-body.height[frames], ids, n) + group_ranks(lean, ids, n)
    k = np.maximum(1, np.rint(STANDING_FRAC * np.bincount(ids, minlength=n)).astype(np.intp))
    stand = group_ranks(score, ids, n) < k[ids]
    at = frames[stand]
    measures = np.stack([body.sh_mid[at, 1], body.hip_mid[at, 0], body.hip_mid[at, 1],
                         body.height[at], body.chord[at], body.thigh[at]])
    return group_nanmedian(measures, ids[stand], n)


def _reference_per_frame(body: _Body, t: np.ndarray, valid: np.ndarray, breaks: np.ndarray,
                         groups: Groups) -> np.ndarray:
    """(len(_REF), N) the standing reference each frame is measured against, NaN where none:
    its shot's own when the video has several shots and this one lasts `MIN_SHOT_S`, else
    the video's."""
    frames = np.flatnonzero(valid)
    vid = groups.ids[frames]
    shot = _shots(t, valid, breaks, groups)[frames]
    # numbered 0, 1, ... over the shots with valid frames
    shot = kernels.running_count(np.diff(shot, prepend=-1) != 0) - 1
    n_shots = shot[-1] + 1 if shot.size else 0
    first = np.flatnonzero(np.diff(shot, prepend=-1))  # each shot's first and last valid frame, in `frames`
    last = np.flatnonzero(np.diff(shot, append=n_shots))
    shots_in_video = np.bincount(vid[first], minlength=groups.n_groups)
    own = (shots_in_video[vid[first]] > 1) & (t[frames[last]] - t[frames[first]] >= MIN_SHOT_S)
    own_frames = own[shot]
    table = np.concatenate([_standing_refs(body, frames, vid, groups.n_groups),  # columns: videos, shots, none
                            _standing_refs(body, frames[own_frames], shot[own_frames], n_shots),
                            np.full((len(_REF), 1), np.nan)], axis=1)
    use_own = own & ~np.isnan(table[_REF.index("height"), groups.n_groups:-1])
    column = np.full(t.size, table.shape[1] - 1)
    column[frames] = np.where(use_own[shot], groups.n_groups + shot, vid)
    return table.take(column, axis=1)


@dataclass(frozen=True)
class _Relative:
    """Measures relative to the standing reference (N frames), NaN without one."""

    vertical: np.ndarray
    chord_ratio: np.ndarray
    hip_back: np.ndarray
    hip_down: np.ndarray
    wrist_offset: np.ndarray


def _relative(body: _Body, ref: np.ndarray, facing: np.ndarray) -> _Relative:
    """Depth and travel against the reference `ref` (len(_REF), N) of each frame."""
    r = dict(zip(_REF, ref))
    with np.errstate(invalid="ignore", divide="ignore"):
        H = np.where(r["height"] > 0, r["height"], np.nan)
        L = np.where(r["thigh"] > 0, r["thigh"], np.nan)
        return _Relative(
            vertical=0.5 * ((body.sh_mid[:, 1] - r["sh_y"]) / H + (body.hip_mid[:, 1] - r["hip_y"]) / H),
            chord_ratio=np.where(r["chord"] > 0, body.chord / r["chord"], np.nan),
            hip_back=-facing * (body.hip_mid[:, 0] - r["hip_x"]) / L,
            hip_down=(body.hip_mid[:, 1] - r["hip_y"]) / L,
            wrist_offset=facing * body.wrist_x / L,
        )


# ----------------------------------------------------------------------------- main

def compute_signals(frames: pl.DataFrame, cutoff_hz: float = 4.0) -> Signals:
    """Per-frame signals of one video from its `frames` rows (sorted by frame_idx).

    Smoothing: 2nd-order zero-lag Butterworth low-pass (`filtfilt`), cutoff
    `cutoff_hz` (default 4.0 Hz), per contiguous valid segment, after
    interpolating dropouts of at most 0.25 s; longer dropouts stay NaN.
    See the module docstring for the full recipe and the standing reference.
    """
    return signals_batch([signal_inputs(frames)], cutoff_hz)[0]


def signals_batch(inputs: list[SignalInputs], cutoff_hz: float = 4.0) -> list[Signals]:
    """`compute_signals` of several videos, from their already extracted columns (each video's
    rows sorted by frame_idx), computed together on their concatenated frames.

    The arrays of the returned records are views of shared batch arrays.
    """
    if not inputs:
        return []
    per_frame, videos, groups = _signals_arrays(_concat(inputs), cutoff_hz)
    return [Signals(**{k: a[s:e] for k, a in per_frame.items()}, facing=int(videos.facing[v]),
                    side="left" if videos.left[v] else "right", fps=float(videos.fps[v]))
            for v, (s, e) in enumerate(zip(groups.starts, groups.ends))]


def signals_chunk(inputs: SignalInputs, lengths: list[int], views: list[str | None],
                  cutoff_hz: float = 4.0) -> SignalsBatch:
    """`signals_batch` of several videos as one `SignalsBatch` (the form reps and metrics
    read), without splitting it into per-video records. `inputs`: the videos' rows laid end
    to end (`lengths[v]` rows of video v, each sorted by frame_idx), whose arrays the batch
    takes over (they are cleaned in place); `views[v]`: video v's camera view."""
    if not lengths:
        return SignalsBatch.of([], [])
    per_frame, videos, groups = _signals_arrays(_owning(inputs, lengths), cutoff_hz)
    return SignalsBatch(frames=per_frame, offset=groups.bounds.astype(np.int64),
                        fps=np.asarray(videos.fps, dtype=np.float64), views=tuple(views))


def _signals_arrays(batch: _Batch, cutoff_hz: float) -> tuple[dict[str, np.ndarray], _Videos, Groups]:
    """(per-frame `Signals` fields of the batch's videos laid end to end, per-video choices, the videos' frames)."""
    videos = _choose(batch)
    ankle_guessed, legs_seen = _clean_legs(batch, videos)
    pts, valid, breaks = _smooth(batch, videos, cutoff_hz)
    facing = videos.facing[batch.groups.ids]
    body = _body(pts, valid, ankle_guessed, facing, videos.left[batch.groups.ids], batch.groups)
    rel = _relative(body, _reference_per_frame(body, batch.t, valid, breaks, batch.groups), facing)
    back_bulge, back_bend = _back_lines(batch, videos, cutoff_hz, breaks)
    with np.errstate(invalid="ignore"):  # no hinge or squat balances a knee past 105 deg under an upright trunk
        folded_upright = (body.knee > IMPLAUSIBLE_KNEE_DEG) & (np.abs(body.trunk) < IMPLAUSIBLE_TRUNK_DEG)
    for a in (body.trunk, body.knee, body.hip, body.neck, body.hip_tilt):
        a[~valid] = np.nan
    per_frame = dict(
        t_s=batch.t, valid=valid, trunk_deg=body.trunk, knee_deg=body.knee, hip_deg=body.hip,
        chord_ratio=rel.chord_ratio, neck_deg=body.neck, back_bulge=back_bulge, back_bend=back_bend,
        hip_back=rel.hip_back, hip_down=rel.hip_down, wrist_offset=rel.wrist_offset, hip_tilt=body.hip_tilt,
        tracked=legs_seen & ~folded_upright, vertical=rel.vertical)
    return per_frame, videos, batch.groups


@dataclass(frozen=True)
class _Videos:
    """Per-video choices (arrays over the videos of a batch) and the frames with a person."""

    dt: np.ndarray  # median frame interval, s (NaN below two frames)
    fps: np.ndarray  # 1 / dt, 1/s (NaN unless dt > 0)
    left: np.ndarray  # bool: the near side is the left one
    facing: np.ndarray  # +1 facing image right, -1 left
    ok: np.ndarray  # (N,) bool: frames with a person and finite shoulders and hips


def _choose(batch: _Batch) -> _Videos:
    """Frame rate, near side and facing of each video; then the batch in near/far layout (in place)."""
    dt = _frame_interval(batch.t, batch.groups)
    with np.errstate(divide="ignore"):
        fps = np.where(dt > 0, 1.0 / dt, np.nan)
    core = [_COL[f"{s}_{j}"] for j in ("shoulder", "hip") for s in ("left", "right")]
    ok = batch.person & np.isfinite(batch.xy[:, core]).all(axis=(0, 1))
    left = _near_is_left(batch.vis, ok, batch.groups)
    facing = _facing(batch, ok)
    _to_near_far(batch, left)
    return _Videos(dt=dt, fps=fps, left=left, facing=facing, ok=ok)


def _clean_legs(batch: _Batch, videos: _Videos) -> tuple[np.ndarray, np.ndarray]:
    """Step 1 of the module recipe, in place on `batch.xy`. Returns (ankle_guessed: the near
    ankle was interpolated, legs_seen: the near knee or ankle is seen), (N,) bool each."""
    ok = videos.ok
    _mask_landmarks(batch, ok)
    ankle_guessed = _interp_unseen_legs(batch, ok)
    vis = batch.vis
    legs_seen = ok & ((vis[_NEAR_FAR["near_knee"]] >= LOW_VIS) | (vis[_NEAR_FAR["near_ankle"]] >= LOW_VIS))
    _unswap_legs(batch.xy, ok, batch.groups)
    ankle_guessed |= _fix_ankle_outliers(batch, ok, videos.dt)
    ankle_guessed |= _fix_segment_outliers(batch, ok)
    return ankle_guessed, legs_seen


def _smooth(batch: _Batch, videos: _Videos, cutoff_hz: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Steps 2-4 on the coordinates read from here on (`_SMOOTHED`): (smoothed coordinates
    (len(_SMOOTHED), N) px, valid (N,) bool: frames with a person or gap-filled, hard-cut frames (N,) bool)."""
    pts = batch.xy.reshape(2 * len(_USED), batch.t.size)[[_xy_row(name) for name in _SMOOTHED]]
    valid = fill_gaps_into(batch.t, pts, videos.ok, batch.groups, videos.dt)
    breaks = _hard_cuts(pts, batch.groups)
    lowpass_into(pts, valid, batch.groups, videos.fps, cutoff_hz, breaks)
    return pts, valid, breaks


def _back_lines(batch: _Batch, videos: _Videos, cutoff_hz: float,
                breaks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(back_bulge, back_bend) (N,): each over its frames with a person, gap-filled and smoothed,
    NaN elsewhere; both in one pass when those frames coincide (one mask measures both)."""
    lines = np.stack([batch.back_bulge, batch.back_bend])
    good = np.isfinite(lines) & batch.person
    if np.array_equal(good[0], good[1]):
        return tuple(_smooth_back(lines, good[0], batch, videos, cutoff_hz, breaks))
    return tuple(_smooth_back(v, g, batch, videos, cutoff_hz, breaks) for v, g in zip(lines, good))


def _smooth_back(v: np.ndarray, good: np.ndarray, batch: _Batch, videos: _Videos, cutoff_hz: float,
                 breaks: np.ndarray) -> np.ndarray:
    """Back-line measures v (..., N) sharing the mask `good`: gap-filled and smoothed, NaN elsewhere."""
    v = np.where(good, v, np.nan)
    vok = fill_gaps_into(batch.t, v, good, batch.groups, videos.dt)
    lowpass_into(v, vok, batch.groups, videos.fps, cutoff_hz, breaks)
    return np.where(vok, v, np.nan)
