"""Per-rep hinge metrics and confidence from per-frame signals and rep bounds (pure, numpy).

``batch_metrics(reps)`` measures every rep of a ``RepBatch`` (the reps of several videos,
on their signals laid end to end) at once: one float array per name in
``METRIC_COLUMNS`` (NaN = no value) and the ``NullReasons`` why a rep has no value;
``batch_confidence(reps)`` gives their confidence. Each per-rep window of a signal (the
rep, its bottom window, descent, rise, ...) is a row of a padded matrix
(``windows.py``), and each metric a row-wise operation with the same floating-point
operations as the one-rep definition. ``rep_metrics(sig, rep, camera_view)`` and
``confidence(sig, rep, camera_view)`` are the one-rep views: a dict, one float (or None)
per metric plus ``null_reasons`` (metric -> why it is None), and a float. Definitions
(DESIGN.md angle conventions; "bottom" = the frame of maximum forward trunk lean in the
rep, or ``rep.bottom`` when the trunk is not observable):

- trunk_angle_bottom_deg: maximum forward lean within the rep.
- trunk_angle_top_deg: lockout = the most extended trunk angle of the rise, up to where
  the rising speed first falls below ``LOCKOUT_SLOW`` of its peak or dips below
  ``LOCKOUT_DIP`` of it (the end of the pull; a set's last rep may run on into standing
  up straight after the set), negative = leaning back past vertical. The rise is
  followed up to ``LOCKOUT_PAST_END_S`` past the rep's end while the pose stays valid and
  tracked (the depth signal ends reps before the trunk finishes extending).
- knee_flexion_bottom_deg / knee_flexion_top_deg: near-side knee flexion at the bottom
  and at the lockout frame; hip_flexion_bottom_deg: maximum hip flexion in the rep.
- chord_shortening_pct: 100 * (1 - shoulder-hip distance / standing distance) at the
  bottom (spine proxy from landmarks only).
- neck_drop_deg: head-line vs trunk-line angle at the bottom minus at the start.
- back_bulge_bottom, back_bend_bottom_deg: person-mask back shape, median over the
  bottom window (frames within 5 deg of the maximum lean).
- hip_back_bottom, hip_down_bottom (/ thigh length) and hip_back_vs_down (their ratio).
- wrist_offset_bottom: wrist ahead of mid-foot / thigh length, median over the bottom window.
- eccentric_s, concentric_s: start->bottom and bottom->end durations of the rep.
- descent_s: time between 5% and 95% of the depth on the way down (pauses excluded),
  the tempo used for ``rushed_eccentric``.
- hips_rise_trunk_progress: fraction of the trunk's rise done when the knee has
  completed 50% of its extension (~0.5 in phase, ~0 when the hips shoot up first).
- hip_tilt_bottom_deg (front view only): hip-line tilt at the bottom minus at the rep's
  start, degrees, + = the athlete's left hip rose; median over a +-0.1 s window at the bottom.
- depth_bottom: the view-independent ``vertical`` depth signal at its maximum.
- valid_frac: fraction of the rep's frames with a person.
- untracked_frac: fraction of the rep's person frames that fail the tracking check
  (``Signals.tracked``: near knee and ankle unseen, or an impossible upright deep squat).
  Above ``MAX_UNTRACKED`` the tracker has lost the athlete (on fast, deep synthetic folds it
  misplaces hips and shoulders by a trunk length while reporting them as visible), so every
  sagittal metric of the rep, and the descent time, is None with that reason.

- confidence: 0..1, fraction of valid frames (side view: with the near leg seen) x view
  factor x signal quality. View factor: side 1.0, diagonal 0.6, front 0.4 (2D errors grow
  quickly away from side-on, coaching-criteria "Measurement accuracy"). Quality:
  exp(-j / 1 deg) with j the residual jitter of the trunk and knee angles (the worse;
  front/diagonal: the depth signal x 90) in the rep: a robust white-noise SD from the
  third differences (1.4826 * median|d3| / sqrt(20)), which smooth movement barely
  touches; quality 0 with fewer than 5 finite values.

Side view supports everything. Front and diagonal views do not show sagittal angles
faithfully: those metrics are None with a reason; durations and depth remain. The hip
tilt needs both hips apart in the image: front view only.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .types import Rep, RepBatch, Signals, SignalsBatch
from .windows import (Windows, at_columns, compact, count_in, first_true, has_gaps, last_true, row_count,
                      row_max_finite, row_median, row_min, similar_lengths)

SAGITTAL = (
    "trunk_angle_bottom_deg",
    "trunk_angle_top_deg",
    "knee_flexion_bottom_deg",
    "knee_flexion_top_deg",
    "hip_flexion_bottom_deg",
    "chord_shortening_pct",
    "neck_drop_deg",
    "back_bulge_bottom",
    "back_bend_bottom_deg",
    "hip_back_bottom",
    "hip_down_bottom",
    "hip_back_vs_down",
    "wrist_offset_bottom",
    "hips_rise_trunk_progress",
)
FRONTAL = ("hip_tilt_bottom_deg",)
OTHER = ("eccentric_s", "concentric_s", "descent_s", "depth_bottom", "valid_frac", "untracked_frac")
METRIC_COLUMNS: tuple[str, ...] = SAGITTAL + FRONTAL + OTHER
COLUMN = {m: i for i, m in enumerate(METRIC_COLUMNS)}  # metric -> its position in METRIC_COLUMNS
KEEP_NAN = ("eccentric_s", "concentric_s")  # time differences: NaN (from a NaN timestamp) is reported as NaN, not None

LOCKOUT_SLOW = 0.15  # the rise ends where its speed first drops below this fraction of its peak ...
LOCKOUT_DIP = 0.4  # ... or has a local minimum below this fraction (it runs on into standing up)
LOCKOUT_PAST_END_S = 0.5
BOTTOM_WINDOW_DEG = 5.0  # frames within this of the max lean form the bottom window
RATIO_CAP = 50.0
HIPS_RISE_MIN_KNEE_RANGE = 15.0  # deg; below this the knee barely moves (an RDL): test moot
MIN_HIP_DOWN = 0.02
# a controlled or even rushed hinge lowering takes well over this (5%-95% of depth); a faster
# read is a tracking jump (the depth signal stepping within a few frames), not a tempo
MIN_DESCENT_S = 0.25  # thigh lengths; below this the hips did not drop at all
MAX_UNTRACKED = 0.3  # fraction of a rep's frames failing the tracking check beyond which tracking is lost
VIEW_FACTOR = {"side": 1.0, "diagonal": 0.6, "front": 0.4}
REP_LENGTH_RATIO = 4.0  # reps measured together are at most this many times longer than the shortest
JITTER_SCALE_DEG = 1.0  # residual jitter (deg, robust SD) at which signal quality is 1/e

VIEW_REASON = {
    "front": "front view: sagittal angles not observable",
    "diagonal": "diagonal view: sagittal angles distorted by perspective",
}
LOST_TRACKING = "pose tracking lost in {:.0f}% of the rep (leg unseen or impossible pose)"
MISSING = "signal missing (NaN) in this rep"


# --- one rep ---------------------------------------------------------------------------------


def rep_metrics(sig: Signals, rep: Rep, camera_view: str | None = "side") -> dict:
    """Metrics of one rep (see module doc) as a dict; ``null_reasons`` explains every None."""
    values, reasons = batch_metrics(_one_rep(sig, rep, camera_view))
    out: dict = {m: optional(m, float(values[m][0])) for m in METRIC_COLUMNS}
    out["null_reasons"] = reasons.of_rep(0)
    return out


def confidence(sig: Signals, rep: Rep, camera_view: str | None = "side") -> float:
    """Confidence (0..1, see module doc) of one rep."""
    return float(batch_confidence(_one_rep(sig, rep, camera_view))[0])


def _one_rep(sig: Signals, rep: Rep, camera_view: str | None) -> RepBatch:
    """A batch of one rep of one video."""
    return RepBatch.of(SignalsBatch.of([sig], [camera_view]), [[rep]])


def optional(metric: str, value: float) -> float | None:
    """A metric's value as reported: None when not finite (except the durations in ``KEEP_NAN``)."""
    return value if metric in KEEP_NAN or math.isfinite(value) else None


# --- shared by the batched metrics -------------------------------------------------------------


class RepRows:
    """Each rep's frames (start..end) as the rows of (R, W) matrices (NaN past a rep's end);
    each signal is read once, on first use: ``rows["trunk_deg"]``. Also per rep the number
    of valid frames and of valid frames with the near leg tracked (``valid``, ``seen``)."""

    def __init__(self, reps: RepBatch) -> None:
        self.frames = reps.signals.frames
        self.windows = Windows.of(reps.start, reps.end + 1)
        self._read: dict[str, np.ndarray] = {}
        self.valid = count_in(self.frames["valid"], reps.start, reps.end + 1)
        self.seen = count_in(self.frames["tracked"] & self.frames["valid"], reps.start, reps.end + 1)

    def __getitem__(self, signal: str) -> np.ndarray:
        if signal not in self._read:
            self._read[signal] = self.windows.read(self.frames[signal])
        return self._read[signal]

    @functools.cached_property
    def lean(self) -> np.ndarray:
        """The trunk angle with its non-finite values as -inf (never the maximum lean)."""
        trunk = self["trunk_deg"]
        return np.where(np.isfinite(trunk), trunk, -np.inf)


def _pick_rows(pick: np.ndarray, first: Callable[[], np.ndarray], other: Callable[[], np.ndarray]) -> np.ndarray:
    """Rows of the matrix first() where `pick` (R,), of other() elsewhere; each is only read when a row needs it."""
    if pick.all():
        return first()
    if not pick.any():
        return other()
    return np.where(pick[:, None], first(), other())


@dataclass
class NullReasons:
    """Why metrics have no value, for R reps: ``code`` (R, len(METRIC_COLUMNS)), per rep and
    metric an index into ``texts``, or -1 where the metric has a value."""

    code: np.ndarray
    texts: list[str]

    @classmethod
    def none(cls, reps: int) -> NullReasons:
        """No reasons yet for `reps` reps."""
        return cls(np.full((reps, len(METRIC_COLUMNS)), -1, dtype=np.int16), [])

    @classmethod
    def concat(cls, parts: list[NullReasons]) -> NullReasons:
        """The reasons of several batches of reps, one batch after the other."""
        out = cls.none(0)
        codes = [out.code]
        for part in parts:
            ids = np.append(out.text_ids(part.texts), -1)  # code -1 (no reason) stays -1
            codes.append(ids[part.code])
        out.code = np.concatenate(codes)
        return out

    def take(self, reps: np.ndarray) -> NullReasons:
        """The reasons of the reps at the positions `reps`."""
        return NullReasons(self.code[reps], self.texts)

    def text_ids(self, texts: list[str]) -> np.ndarray:
        """Indices of `texts` into ``self.texts`` (added there when new)."""
        for text in texts:
            if text not in self.texts:
                self.texts.append(text)
        return np.array([self.texts.index(text) for text in texts], dtype=np.int16)

    def set(self, metrics: str | tuple[str, ...], where: np.ndarray, text: str | np.ndarray) -> None:
        """Give `metrics` (one or several) the reason `text` on the reps `where` (bool (R,), or (R, k) for k
        metrics); `text`: one text for all, or per rep a text id (int (R,))."""
        ids = self.text_ids([text])[0] if isinstance(text, str) else text
        if isinstance(metrics, str):
            np.copyto(self.code[:, COLUMN[metrics]], ids, where=where)
            return
        cols = [COLUMN[m] for m in metrics]
        block = self.code[:, cols]
        np.copyto(block, ids if np.ndim(ids) == 0 else ids[:, None], where=where if where.ndim == 2 else where[:, None])
        self.code[:, cols] = block

    def has(self, metrics: tuple[str, ...]) -> np.ndarray:
        """Per rep and metric of `metrics` (R, k): whether it has a reason."""
        return self.code[:, [COLUMN[m] for m in metrics]] >= 0

    def of_rep(self, rep: int) -> dict[str, str]:
        """Metric -> reason of one rep."""
        return {m: self.texts[c] for m, c in zip(METRIC_COLUMNS, self.code[rep].tolist()) if c >= 0}


def frames_in(seconds: float, fps: np.ndarray) -> np.ndarray:
    """round(seconds x fps) whole frames per fps (30 frames/s when fps is 0 or unknown)."""
    rate = np.where((fps == 0) | ~np.isfinite(fps), 30.0, fps)
    return np.rint(seconds * rate).astype(np.int64)


def _per_rep(reps: RepBatch, per_video: list) -> np.ndarray:
    """A per-video value for each rep (an array of the values at the reps' videos)."""
    return np.asarray(per_video)[reps.video] if per_video else np.empty(0)


def _is_side(view: str | None) -> bool:
    """Whether a camera view shows sagittal angles (None or '' means side)."""
    return view in (None, "", "side")


def _finite(x: np.ndarray) -> np.ndarray:
    """x with non-finite values as NaN (no value)."""
    return np.where(np.isfinite(x), x, np.nan)


# --- the metrics of a batch of reps ----------------------------------------------------------


def measure_reps(reps: RepBatch) -> tuple[dict[str, np.ndarray], NullReasons, np.ndarray]:
    """(metrics, null reasons, confidence) of every rep of `reps` (``batch_metrics``,
    ``batch_confidence``). Reps of similar length are measured together: their windows are
    rows of the same matrices, which one long rep would widen for all."""
    groups = similar_lengths(reps.end + 1 - reps.start, ratio=REP_LENGTH_RATIO)
    if len(groups) <= 1:
        rows = RepRows(reps)
        return (*batch_metrics(reps, rows), batch_confidence(reps, rows))
    parts = []
    for group in groups:
        some = reps.take(group)
        rows = RepRows(some)
        parts.append((*batch_metrics(some, rows), batch_confidence(some, rows)))
    order = np.argsort(np.concatenate(groups))  # each rep's place among the groups' reps
    values = {m: np.concatenate([part[0][m] for part in parts])[order] for m in METRIC_COLUMNS}
    reasons = NullReasons.concat([part[1] for part in parts]).take(order)
    return values, reasons, np.concatenate([part[2] for part in parts])[order]



@np.errstate(invalid="ignore", divide="ignore")  # NaN marks a missing value
def batch_metrics(reps: RepBatch, rows: RepRows | None = None) -> tuple[dict[str, np.ndarray], NullReasons]:
    """Metrics of every rep of `reps` (see module doc): metric -> float array (R,), NaN where a
    rep has no value, and why. `rows`: the reps' frames, when already read for them."""
    rows = rows or RepRows(reps)
    side = _per_rep(reps, [_is_side(v) for v in reps.signals.views]).astype(bool)
    have_trunk, bottom = _bottom_frames(reps, rows, side)
    values = _coverage(reps, rows)
    values["descent_s"] = _descent_s(reps, have_trunk, bottom)
    values["hip_tilt_bottom_deg"] = _hip_tilt(reps)
    values.update(_sagittal(reps, rows, have_trunk, bottom))
    return values, _blank_unsupported(reps, side, have_trunk, values)


def _bottom_frames(reps: RepBatch, rows: RepRows, side: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(have_trunk, bottom): whether the rep's trunk angle is usable (side view, some finite
    value) and its bottom frame: the maximum forward lean (first one), else ``Rep.bottom``."""
    have_trunk = side & (rows.lean > -np.inf).any(axis=1)
    return have_trunk, np.where(have_trunk, reps.start + rows.lean.argmax(axis=1), reps.bottom)


def _coverage(reps: RepBatch, rows: RepRows) -> dict[str, np.ndarray]:
    """valid_frac, untracked_frac, eccentric_s, concentric_s and depth_bottom of each rep."""
    f, s, b, e = reps.signals.frames, reps.start, reps.bottom, reps.end
    n_valid, n_seen = rows.valid, rows.seen
    untracked = np.where(n_valid > 0, 1.0 - n_seen / n_valid, np.nan)
    t = f["t_s"]
    return {"valid_frac": n_valid / (e + 1 - s), "untracked_frac": untracked,
            "eccentric_s": t[b] - t[s], "concentric_s": t[e] - t[b], "depth_bottom": row_max_finite(rows["vertical"])}


def _descent_s(reps: RepBatch, have_trunk: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    """Descent time (s) from the rep's start to its bottom, on the trunk angle (else ``vertical``)."""
    f = reps.signals.frames
    descent = Windows.of(reps.start, bottom + 1, min_width=3)
    depth = _pick_rows(have_trunk, lambda: descent.read(f["trunk_deg"]), lambda: descent.read(f["vertical"]))
    return descent_times(descent.read(f["t_s"]), depth)


def _hip_tilt(reps: RepBatch) -> np.ndarray:
    """Front view: median hip tilt over +-0.1 s around ``Rep.bottom`` minus over the rep's first 0.1 s."""
    out = np.full(reps.size, np.nan)
    front = np.flatnonzero(_per_rep(reps, [v == "front" for v in reps.signals.views]))
    if front.size == 0:
        return out
    s, b, e = reps.start[front], reps.bottom[front], reps.end[front]
    k = np.maximum(1, frames_in(0.1, reps.signals.fps[reps.video[front]]))
    tilt = reps.signals.frames["hip_tilt"]
    at_bottom = row_median(Windows.of(np.maximum(s, b - k), np.minimum(e, b + k) + 1).read(tilt))
    at_start = row_median(Windows.of(s, np.minimum(e, s + k) + 1).read(tilt))
    out[front] = _finite(at_bottom - at_start)
    return out


def _sagittal(reps: RepBatch, rows: RepRows, have_trunk: np.ndarray, bottom: np.ndarray) -> dict[str, np.ndarray]:
    """The SAGITTAL metrics of every rep (meaningful for side views; see module doc)."""
    f, s, e = reps.signals.frames, reps.start, reps.end
    trunk, knee = f["trunk_deg"], f["knee_deg"]
    lockout = np.where(have_trunk, _lockout_frames(reps, bottom), e)
    medians = _bottom_window_medians(reps, rows, have_trunk, trunk[bottom])
    k2 = np.maximum(1, frames_in(0.05, reps.signals.fps[reps.video]))
    video_end = reps.signals.offset[reps.video + 1]
    knee_top = row_median(Windows.of(np.maximum(s, lockout - k2), np.minimum(lockout + k2 + 1, video_end)).read(knee))
    hb, hd = f["hip_back"][bottom], f["hip_down"][bottom]
    ratio = hb / np.where(MIN_HIP_DOWN > hd, MIN_HIP_DOWN, hd)  # hb / max(hd, MIN_HIP_DOWN)
    neck_drop = _finite(f["neck_deg"][bottom] - f["neck_deg"][s])
    chord = _finite(100.0 * (1.0 - medians["chord_ratio"]))
    ratio = np.where(np.isfinite(hb) & np.isfinite(hd), np.where(RATIO_CAP < ratio, RATIO_CAP, ratio), np.nan)
    rise = Windows.of(bottom, lockout + 1, min_width=3)
    progress = rise_progress(rise.read(knee), rise.read(trunk), 0.5, HIPS_RISE_MIN_KNEE_RANGE)
    return {
        "trunk_angle_bottom_deg": np.where(have_trunk, trunk[bottom], np.nan),
        "trunk_angle_top_deg": np.where(have_trunk, _finite(trunk[lockout]), np.nan),
        "knee_flexion_bottom_deg": _finite(medians["knee_deg"]),
        "knee_flexion_top_deg": _finite(knee_top),
        "hip_flexion_bottom_deg": row_max_finite(rows["hip_deg"]),
        "chord_shortening_pct": chord,
        "neck_drop_deg": neck_drop,
        "back_bulge_bottom": _finite(medians["back_bulge"]),
        "back_bend_bottom_deg": _finite(medians["back_bend"]),
        "hip_back_bottom": _finite(hb),
        "hip_down_bottom": _finite(hd),
        "hip_back_vs_down": ratio,
        "wrist_offset_bottom": _finite(medians["wrist_offset"]),
        "hips_rise_trunk_progress": np.where(have_trunk, _finite(progress), np.nan),
    }


BOTTOM_MEDIANS = ("chord_ratio", "back_bulge", "back_bend", "wrist_offset", "knee_deg")  # signals read at the bottom


def _bottom_window_medians(reps: RepBatch, rows: RepRows, have_trunk: np.ndarray,
                           lean_max: np.ndarray) -> dict[str, np.ndarray]:
    """Median of each of ``BOTTOM_MEDIANS`` over each rep's bottom window: with a trunk angle,
    the rep's frames within BOTTOM_WINDOW_DEG of the maximum lean `lean_max`; without,
    the frames within 0.1 s of ``Rep.bottom``. (Robust to single-frame landmark swaps.)"""
    s, e, b = reps.start, reps.end, reps.bottom
    near = rows.lean >= (lean_max - BOTTOM_WINDOW_DEG)[:, None]
    k = np.maximum(1, frames_in(0.1, reps.signals.fps[reps.video]))
    # read only the span from the first to the last frame near the maximum lean
    window = Windows.of(np.where(have_trunk, s + first_true(near), np.maximum(s, b - k)),
                        np.where(have_trunk, s + last_true(near) + 1, np.minimum(e, b + k) + 1))
    frames = reps.signals.frames
    lean = window.read(frames["trunk_deg"])
    near = np.where(np.isfinite(lean), lean, -np.inf) >= (lean_max - BOTTOM_WINDOW_DEG)[:, None]
    near_max = window.where(~have_trunk[:, None] | near)
    read = np.stack([near_max.read(frames[name]) for name in BOTTOM_MEDIANS])
    medians = row_median(read.reshape(-1, read.shape[-1])).reshape(len(BOTTOM_MEDIANS), -1)
    return dict(zip(BOTTOM_MEDIANS, medians))


def _blank_unsupported(reps: RepBatch, side: np.ndarray, have_trunk: np.ndarray,
                       values: dict[str, np.ndarray]) -> NullReasons:
    """In place: blank (NaN) the values a rep cannot support; returns why each missing value is missing.

    Descents faster than MIN_DESCENT_S are tracking glitches; non-side views have no
    sagittal metrics; reps whose untracked fraction exceeds MAX_UNTRACKED lose their
    sagittal metrics and descent time. Any other missing sagittal value is a NaN signal.
    """
    why = NullReasons.none(reps.size)
    views = reps.signals.views
    descent = values["descent_s"]
    why.set("descent_s", np.isnan(descent), "no depth signal reached the bottom")
    fast = descent < MIN_DESCENT_S
    why.set("descent_s", fast, "implausibly fast descent (tracking glitch)")
    descent[fast] = np.nan
    front = _per_rep(reps, [v == "front" for v in views]).astype(bool)
    why.set("hip_tilt_bottom_deg", front & np.isnan(values["hip_tilt_bottom_deg"]), MISSING)
    overlap = why.text_ids([f"{v or 'side'} view: hips overlap, tilt needs a front view" for v in views])
    why.set("hip_tilt_bottom_deg", ~front, _per_rep(reps, list(overlap)))
    not_side = why.text_ids([VIEW_REASON.get(v, f"{v} view: sagittal angles not observable") for v in views])
    lost = _per_rep(reps, list(not_side)).astype(np.int16)
    untracked = side & (values["untracked_frac"] > MAX_UNTRACKED)
    lost[untracked] = why.text_ids([LOST_TRACKING.format(100 * u) for u in values["untracked_frac"][untracked]])
    why.set("descent_s", untracked, lost)
    descent[untracked] = np.nan
    blank = ~side | untracked
    why.set(SAGITTAL, blank, lost)
    for m in SAGITTAL:
        values[m][blank] = np.nan
    measured = side & ~untracked
    why.set("hips_rise_trunk_progress", measured & have_trunk & np.isnan(values["hips_rise_trunk_progress"]),
            "knee extends too little to compare with the trunk")
    sagittal = np.stack([values[m] for m in SAGITTAL], axis=1)
    why.set(SAGITTAL, measured[:, None] & np.isnan(sagittal) & ~why.has(SAGITTAL), MISSING)
    return why


# --- the row-wise definitions ----------------------------------------------------------------


def descent_time(t: np.ndarray, depth: np.ndarray) -> float:
    """``descent_times`` of one descent: t (s) and depth, 1D arrays of equal length."""
    one = Windows.of(np.zeros(1, dtype=np.int64), np.array([len(t)]), min_width=3)
    return float(descent_times(one.read(np.asarray(t, dtype=float)), one.read(np.asarray(depth, dtype=float)))[0])


@np.errstate(invalid="ignore", divide="ignore")  # NaN marks a missing value
def descent_times(t: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """Per row: seconds between 5% and 95% of the way from the first to the last sample of ``depth``.

    ``t`` (s) and ``depth``: (R, W) matrices, one descent per row, NaN-padded (at least
    3 columns). Frames without a finite depth are dropped; "first" is the lowest value in
    the first half. 95% is the first upward crossing, 5% the last one before it, both
    interpolated in time. NaN with fewer than 3 samples, no depth gained or no crossing.
    """
    (t, d), n = compact(np.isfinite(depth), t, depth)
    cols = np.arange(d.shape[1])
    d0 = row_min(d, cols < np.maximum(1, n // 2)[:, None])
    d1 = at_columns(d, np.maximum(n - 1, 0))
    gained = d1 - d0
    p = (d - d0[:, None]) / gained[:, None]  # 0 at the first sample's level, 1 at the last
    t95 = _crossing_times(t, p, n, 0.95, first=True)
    (tb, pb), nb = compact((t <= t95[:, None]) & (cols < n[:, None]), t, p)
    t05 = _crossing_times(tb, pb, nb, 0.05, first=False)
    ok = (n >= 3) & (gained > 1e-9) & np.isfinite(t95) & np.isfinite(t05)
    return np.where(ok, t95 - t05, np.nan)


def _crossing_times(t: np.ndarray, p: np.ndarray, n: np.ndarray, level: float, first: bool) -> np.ndarray:
    """Per row: interpolated time where p (its first n cells) crosses ``level`` upward (first or
    last such crossing); t[0] when it never crosses but starts at or above it; else NaN."""
    above = (p >= level) & (np.arange(p.shape[1]) < n[:, None])
    up = above[:, 1:] & ~above[:, :-1]
    i = (first_true(up) if first else last_true(up)) + 1  # column just after the crossing; 0: none
    j = np.maximum(i, 1)
    p0, p1, t0, t1 = at_columns(p, j - 1), at_columns(p, j), at_columns(t, j - 1), at_columns(t, j)
    w = np.where(p1 != p0, (level - p0) / (p1 - p0), 0.0)
    crossing = t0 + w * (t1 - t0)
    return np.where(i > 0, crossing, np.where(above[:, 0], t[:, 0], np.nan))


def _lockout_frames(reps: RepBatch, bottom: np.ndarray) -> np.ndarray:
    """Lockout frame of each rep (``lockout_indices`` of the trunk angle from its `bottom` on)."""
    stop = _lockout_search_end(reps)
    rise = Windows.of(bottom, stop, min_width=3)
    return bottom + lockout_indices(rise.read(reps.signals.frames["trunk_deg"]), stop - bottom)


def _lockout_search_end(reps: RepBatch) -> np.ndarray:
    """Exclusive frame up to which each rep's lockout is looked for.

    The rep ends where the depth signal (trunk and hip height together) is back near
    standing, but the trunk may go on extending or leaning back after that: the search
    runs on for up to ``LOCKOUT_PAST_END_S``, while the pose stays valid and tracked
    (``lockout_indices`` then stops where the rise slows).
    """
    f = reps.signals.frames
    after = reps.end + 1
    limit = np.minimum(reps.signals.offset[reps.video + 1],
                       after + frames_in(LOCKOUT_PAST_END_S, reps.signals.fps[reps.video]))
    limit = np.maximum(limit, after)
    followed = Windows.of(after, limit)  # reads NaN past a window's end: not tracked
    lost = first_true(~((followed.read(f["valid"]) == 1) & (followed.read(f["tracked"]) == 1)))
    return np.where(lost >= 0, after + lost, limit)


def lockout_index(trunk: np.ndarray) -> int:
    """``lockout_indices`` of one rise (trunk, deg, 1D)."""
    one = Windows.of(np.zeros(1, dtype=np.int64), np.array([len(trunk)]), min_width=3)
    return int(lockout_indices(one.read(np.asarray(trunk, dtype=float)), np.array([len(trunk)]))[0])


@np.errstate(invalid="ignore", divide="ignore")  # NaN marks a missing value
def lockout_indices(trunk: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Per row: index of the lockout in ``trunk`` (deg, (R, W): the rise from the bottom on, n[r] frames).

    The most extended (smallest) angle up to where the rising speed first drops below
    ``LOCKOUT_SLOW`` of its peak or has a local minimum below ``LOCKOUT_DIP`` of it; the
    smallest angle overall when it never rises. Non-finite angles never count as the
    most extended; a step to or from one counts as speed 0. W must be at least 3.
    """
    cols = np.arange(trunk.shape[1])
    inside = cols < n[:, None]
    x = np.where(np.isfinite(trunk) & inside, trunk, np.inf)
    speed = -(trunk[:, 1:] - trunk[:, :-1])  # deg/frame, + = rising
    speed = np.where(inside[:, 1:], np.where(np.isfinite(speed), speed, 0.0), -np.inf)
    peak = speed.argmax(axis=1)
    top = at_columns(speed, peak)
    step = cols[:-1]
    after_peak = (step >= peak[:, None]) & inside[:, 1:]
    interior = (step > peak[:, None]) & (step < (n - 2)[:, None])
    before = np.concatenate((speed[:, :1], speed[:, :-1]), axis=1)
    after = np.concatenate((speed[:, 1:], speed[:, -1:]), axis=1)
    # slowed down, or a local minimum of the speed well below the peak
    dip = interior & (speed <= before) & (speed < after) & (speed < LOCKOUT_DIP * top[:, None])
    ends = first_true(after_peak & ((speed < LOCKOUT_SLOW * top[:, None]) | dip))
    stop = np.where(ends >= 0, ends + 1, n)
    until_stop = np.where(cols <= stop[:, None], x, np.inf).argmin(axis=1)
    rises = (n >= 3) & np.isfinite(x).any(axis=1) & (top > 0)
    return np.where(rises, until_stop, x.argmin(axis=1))


@np.errstate(invalid="ignore", divide="ignore")  # NaN marks a missing value
def rise_progress(knee: np.ndarray, trunk: np.ndarray, knee_frac: float = 0.5,
                  min_knee_range: float = 0.0) -> np.ndarray:
    """Per row: trunk rise progress (0..1) when the knee has done ``knee_frac`` of its extension.

    ``knee`` and ``trunk`` (deg, (R, W), NaN-padded, at least 3 columns) cover the
    concentric phase, bottom first; frames where either is not finite are dropped. NaN
    when the knee barely moves (< ``min_knee_range`` deg) or the trunk does not rise.
    """
    (k, tr), n = compact(np.isfinite(knee) & np.isfinite(trunk), knee, trunk)
    inside = np.arange(k.shape[1]) < n[:, None]
    k0, t0 = k[:, 0], tr[:, 0]
    k_range, t_range = k0 - row_min(k, inside), t0 - row_min(tr, inside)
    done = (k0[:, None] - k) / k_range[:, None]  # knee extension progress
    i = np.maximum(first_true((done >= knee_frac) & inside), 0)
    h = np.maximum(i - 1, 0)
    d_i, d_h, tr_i, tr_h = at_columns(done, i), at_columns(done, h), at_columns(tr, i), at_columns(tr, h)
    w = (knee_frac - d_h) / (d_i - d_h)
    trunk_at = np.where((i > 0) & (d_i != d_h), tr_h + w * (tr_i - tr_h), tr_i)
    progress = (t0 - trunk_at) / t_range
    ok = (n >= 3) & ~(k_range < max(min_knee_range, 1e-6)) & ~(t_range < 1e-6)
    progress = np.where(0.0 > progress, 0.0, progress)  # clip to [0, 1] as min(max(x, 0), 1) does
    return np.where(ok, np.where(1.0 < progress, 1.0, progress), np.nan)


# --- confidence --------------------------------------------------------------------------------


@np.errstate(invalid="ignore", divide="ignore")  # NaN marks a missing value
def batch_confidence(reps: RepBatch, rows: RepRows | None = None) -> np.ndarray:
    """Confidence (0..1, see module doc) of every rep of `reps`. `rows`: as for ``batch_metrics``."""
    rows = rows or RepRows(reps)
    side = _per_rep(reps, [(v or "side") == "side" for v in reps.signals.views]).astype(bool)
    n_valid, n_seen = rows.valid, rows.seen
    frac = n_valid / (reps.end + 1 - reps.start)  # (count / size: the division a bool array's mean does)
    seen = np.where(n_valid > 0, n_seen / n_valid, 0.0)
    frac = np.where(side, frac * seen, frac)  # side-view angles need the near leg in sight
    view = _per_rep(reps, [VIEW_FACTOR.get(v or "side", 0.4) for v in reps.signals.views])
    trunk_or_depth = _pick_rows(side, lambda: rows["trunk_deg"], lambda: 90.0 * rows["vertical"])
    jit_a, count_a = robust_jitter(trunk_or_depth)
    jit_b, _ = robust_jitter(rows["knee_deg"])
    jit = np.where(jit_a > 0.0, jit_a, 0.0)  # max(0, a), then max(that, b) for side views
    jit = np.where(side & (jit_b > jit), jit_b, jit)
    quality = np.array(list(map(math.exp, (-jit / JITTER_SCALE_DEG).tolist())))  # math.exp, as per rep
    score = frac * view * np.where(count_a >= 5, quality, 0.0)
    score = np.where(0.0 > score, 0.0, score)  # clipped to [0, 1] as min(max(x, 0), 1) does
    return np.where(1.0 < score, 1.0, score)


def robust_jitter(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row of x (R, W, NaN-padded): (white-noise SD estimate 1.4826 * median|third difference| / sqrt(20),
    0 with fewer than 5 finite values; the number of finite values). Non-finite values are dropped first;
    the median of an even count is the upper middle value."""
    finite = np.isfinite(x)
    count = row_count(finite)
    if has_gaps(finite):  # else the non-finite values are each row's last ones: past its count - 3 differences
        (x,), _ = compact(finite, x)
    if x.shape[1] < 4:
        return np.zeros(x.shape[0]), count
    d3 = np.abs(np.diff(x, 3, axis=1))  # past each row's count - 3 values: NaN or inf, sorted last
    mid = at_columns(np.sort(d3, axis=1), np.maximum(count - 3, 0) // 2)
    return np.where(count >= 5, 1.4826 * mid / math.sqrt(20.0), 0.0), count
