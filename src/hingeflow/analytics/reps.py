"""Rep segmentation: find each descent-bottom-return excursion in a depth signal.

Recipe (`segment_reps`):

1. Depth signal: in side views the trunk angle (`trunk_deg`, + forward lean),
   provided its robust range over the clip is at least `MIN_TRUNK_RANGE_DEG`
   (otherwise the athlete does not hinge visibly in the image plane), averaged
   with `vertical` (each scaled to its robust range) when that moves too: the
   trunk angle is the hinge itself, the vertical drop times the bottom well
   even where the pose model lags on the trunk; in front
   and diagonal views, where the trunk angle is foreshortened, the
   view-independent `vertical` signal. The signal is normalised to its robust
   range (1st to 99.5th percentile), so thresholds are fractions of the clip's
   typical rep depth.
2. Peaks: `scipy.signal.find_peaks` per contiguous valid run (NaN gaps from
   title cards, fades and cuts separate runs, so no rep is stitched across a
   gap), with prominence >= `PROMINENCE` of the range (and an absolute floor:
   `MIN_EXCURSION_DEG` of trunk angle or `MIN_EXCURSION_VERTICAL`) and peaks at
   least `MIN_DISTANCE_S` apart (kettlebell swings run at ~1.5 s per rep).
   A descent that the clip or a gap cuts off before the rise (a final
   set-down) is not a rep.
3. Bounds: start = the last frame before the bottom at which the signal is
   still within `TOP_BAND` of the excursion from the local top level (the
   minimum since the previous bottom; after the bottom: up to the next one), end = the first
   such frame after the bottom; so pauses at the top belong to neither rep, and
   touch-and-go reps share their boundary. From there start/end are extended
   while the signal keeps moving monotonically and is more than `SETTLE_BAND`
   from the top level (the motion's true onset/finish). Bottom = middle of the frames within
   `BOTTOM_BAND` of the peak (a pause at the bottom is centred).
4. Gaps: pose dropouts up to `BRIDGE_S` (1 s, e.g. MediaPipe losing a fast
   pull) are bridged linearly in the depth signal; longer gaps (title cards,
   fades, cuts) split the clip into runs.
5. Run starts: a low value is put in front of each run, so a run that begins
   at the bottom (bar on the floor, deadlift clips that open in the set-up)
   counts its first rise; but only if it starts at least `START_DEPTH` of
   the range deep, so a clip that opens in the middle of a rise does not.

Counting convention: a rep is a rise from a bottom back to the top (lockout)
that the clip shows, with the descent before it when the clip shows that too.
So a deadlift clip that opens with the bar on the floor counts its first pull;
a final set-down (or a kettlebell's park) that the clip does not follow back
up to within `END_BAND` of the starting level does not count; a pull that
ends the clip at lockout counts (`bbdl_wikimedia_reardiag`: 2).

Parameters were set on the dev clips (real TBY66/YFGD/coach clips and the
synthetic gym, never the hold-out); the sensitive ones: `START_DEPTH`
(0.6 and 0.9 each break one real clip), `END_BAND` (0.45 counts a swing
clip's final park), `MIN_DISTANCE_S` (0.4 splits one noisy YFGD pull).

Implementation: the videos of a chunk are segmented together (`segment_batch` on a
`SignalsBatch`, their signals laid end to end; `segment_reps` is the one-video view),
with the same floating-point operations as a loop over one video and one peak at a
time would do:

- per video: the depth signal, its robust range and scale (`_depth_and_scales`: videos
  of similar length together, a NaN-padded row each, rows sorted once for the ranges),
  and which runs are long enough;
- peaks: one `find_peaks` call for all runs that share a minimum distance (`_run_peaks`);
- which peaks are reps (`_rep_peaks`): a peak's rules depend on the rep before it in
  its run (its top level is the minimum since that rep's bottom); every peak is first
  decided as if the peak before it were a rep, and only the peaks after one that is
  not are decided again;
- bounds (`_rep_ends`, `_rep_starts`, `_bottoms`): each "first/last frame where ..."
  and each "walk while ..." of step 3 is a search for the frame where its condition
  holds or stops holding (`windows.first_index` / `last_index`), for all reps at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import find_peaks

from hingeflow.analytics.grouped import Groups, group_median, runs_in_groups
from hingeflow.analytics.signals import fill_gaps_into
from hingeflow.analytics.types import Rep, RepBatch, Signals, SignalsBatch
from hingeflow.analytics.windows import (IndexTest, Windows, first_index, group_starts, last_index,
                                         range_min, ranges, row_count, similar_lengths)

MIN_TRUNK_RANGE_DEG = 25.0  # side views: below this the trunk signal is not used
MIN_VERTICAL_RANGE = 0.08  # side views: vertical joins the trunk angle when its range is at least this
PROMINENCE = 0.35  # minimum rep excursion, fraction of the robust range
MIN_EXCURSION_DEG = 15.0  # absolute floor on a rep's trunk excursion
MIN_EXCURSION_VERTICAL = 0.04  # absolute floor on a rep's vertical excursion
MIN_DISTANCE_S = 0.7  # minimum time between bottoms
MIN_RUN_S = 0.5  # valid runs shorter than this are ignored
TOP_BAND = 0.12  # start/end: within this fraction of the excursion from the top level
SETTLE_BAND = 0.03  # ...then extended while the signal keeps moving, down to this fraction
BOTTOM_BAND = 0.04  # bottom: centre of the frames within this fraction of the peak
BRIDGE_S = 1.0  # dropouts up to this long are bridged (linearly) in the depth signal
START_DEPTH = 0.75  # a rep seen without its descent must start this deep (fraction of the range)
END_BAND = 0.25  # a rep must rise back to within this fraction of its excursion from its start level

KINDS = ("trunk", "vertical", "combined")  # depth signal kinds: trunk angle (deg), vertical, both scaled (0..1)
EXCURSION_FLOOR = np.array([MIN_EXCURSION_DEG, MIN_EXCURSION_VERTICAL, 0.0])  # per kind


def segment_reps(sig: Signals, exercise: str, camera_view: str) -> list[Rep]:
    """Reps of one video as index triples (start <= bottom <= end) into `sig`'s arrays.

    `exercise` is accepted for per-exercise tuning; the current recipe is the
    same for all hinge exercises (see the module docstring).
    """
    return segment_batch(SignalsBatch.of([sig], [camera_view])).per_video(0)


@np.errstate(invalid="ignore", divide="ignore")  # NaN marks a missing value
def segment_batch(batch: SignalsBatch) -> RepBatch:
    """Reps of every video of `batch` (see the module docstring), in video and time order."""
    x, ok, scales = _depth_and_scales(batch)
    runs = _valid_runs(ok, batch.offset, scales)
    peaks = _peak_table(x, runs, _run_peaks(x, runs))
    is_rep, prev_bottom, top_l = _rep_peaks(peaks, runs)
    start, bottom, end = _rep_bounds(x, peaks, runs, np.flatnonzero(is_rep), prev_bottom, top_l)
    return RepBatch(batch, batch.video_of(start), start, bottom, end)


# --- 1. the depth signal -------------------------------------------------------------------


@np.errstate(invalid="ignore", divide="ignore")  # NaN marks a missing value
def depth_signal(sig: Signals, camera_view: str) -> tuple[np.ndarray, str]:
    """The signal that rises with depth, and its kind: 'trunk' (deg), 'vertical', or 'combined' (0..1)."""
    batch = SignalsBatch.of([sig], [camera_view])
    video = Windows.of(batch.offset[:-1], batch.offset[1:])
    rows, kind = _depth_rows(batch, video, _side_views(batch))
    return rows[video.inside], KINDS[kind[0]]


def _depth_and_scales(batch: SignalsBatch) -> tuple[np.ndarray, np.ndarray, _Scales]:
    """(x, ok, scales): per frame the depth signal with its short gaps bridged and whether
    it has a value; per video its `_Scales`. Videos of similar length are done together,
    a NaN-padded row each."""
    x, ok = np.empty(batch.offset[-1]), np.empty(batch.offset[-1], dtype=bool)
    lo, hi, kind = np.empty(batch.fps.size), np.empty(batch.fps.size), np.empty(batch.fps.size, dtype=np.int64)
    side = _side_views(batch)
    for videos in similar_lengths(np.diff(batch.offset)):
        rows = Windows.of(batch.offset[videos], batch.offset[videos + 1])
        depth, kind[videos] = _depth_rows(batch, rows, side[videos])
        depth, found = _bridge_gaps(batch.frames["t_s"], depth, rows)
        lo[videos], hi[videos] = robust_ranges(depth)
        frames = ranges(rows.start, rows.stop)
        x[frames], ok[frames] = depth[rows.inside], found[rows.inside]
    return x, ok, _scales(batch, lo, hi, Groups(batch.offset).count(ok), kind)


def _side_views(batch: SignalsBatch) -> np.ndarray:
    """Per video: whether it is filmed from the side (None or '' = side; any case)."""
    return np.array([(v or "side").lower() == "side" for v in batch.views], dtype=bool)


def _depth_rows(batch: SignalsBatch, videos: Windows, side: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rows, kind): per video (its frames `videos`, a row, NaN-padded; `side`: filmed from the
    side) the signal that rises with depth, chosen as step 1 of the module docstring says,
    and its kind (index into `KINDS`)."""
    trunk = videos.read(np.asarray(batch.frames["trunk_deg"], dtype=float))
    vertical = videos.read(np.asarray(batch.frames["vertical"], dtype=float))
    trunk_low, trunk_range = _lower_end_and_range(trunk)
    vertical_low, vertical_range = _lower_end_and_range(vertical)
    use_trunk = side & (trunk_range >= MIN_TRUNK_RANGE_DEG)
    # both: the trunk angle is the hinge itself, the vertical drop of the shoulders and
    # hips times the bottom well even when the pose model lags on the trunk; averaging
    # halves either one's errors (each scaled to its range: 1st percentile -> 0, 99.5th -> 1)
    both = use_trunk & (vertical_range >= MIN_VERTICAL_RANGE)
    kind = np.where(both, KINDS.index("combined"), np.where(use_trunk, KINDS.index("trunk"), KINDS.index("vertical")))
    combined = 0.5 * ((trunk - trunk_low[:, None]) / trunk_range[:, None]
                      + (vertical - vertical_low[:, None]) / vertical_range[:, None])
    return np.where(both[:, None], combined, np.where(use_trunk[:, None], trunk, vertical)), kind


def _lower_end_and_range(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row (a video's values, NaN-padded): its robust range's lower end (1st percentile)
    and size (99.5th - 1st percentile; 0 with fewer than 3 finite values)."""
    lo, hi = robust_ranges(rows)
    return lo, np.where(row_count(np.isfinite(rows)) >= 3, hi - lo, 0.0)


def robust_ranges(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row of `rows` (a video's values, NaN-padded): the (1st, 99.5th) percentile of its
    non-NaN values, ``np.nanpercentile(row, [1, 99.5])``; NaN for a row without any.

    The rows are sorted (NaN last) and read with numpy's default ("linear") method, in
    its arithmetic (`_linear_quantiles`).
    """
    count = row_count(~np.isnan(rows))
    low, high = _linear_quantiles(np.sort(rows, axis=1), count, np.array([1.0 / 100, 99.5 / 100])).T
    return low, high


def _linear_quantiles(srt: np.ndarray, n: np.ndarray, q: np.ndarray) -> np.ndarray:
    """numpy's "linear" q-quantiles (R, len(q)) of the first n[r] values of each sorted row of srt
    (NaN if n[r] = 0).

    Virtual index (n - 1) q between order statistics lower and lower + 1 with weight
    gamma = its fraction (at the last value: that value twice, gamma = virtual + 1), and
    numpy's two-sided lerp: hi - (hi - lo)(1 - gamma) if gamma >= 0.5, else lo + (hi - lo) gamma.
    """
    n = n[:, None]
    virtual = (n - 1) * q
    last = virtual >= n - 1
    lower = np.where(last, n - 1, np.floor(virtual)).astype(np.int64)
    gamma = np.where(last, virtual + 1, virtual - lower)
    rows = np.arange(srt.shape[0])[:, None]
    lo = srt[rows, np.maximum(lower, 0)]
    hi = srt[rows, np.minimum(np.where(last, lower, lower + 1), srt.shape[1] - 1)]
    diff = hi - lo
    value = np.where(gamma >= 0.5, hi - diff * (1 - gamma), lo + diff * gamma)
    return np.where(n > 0, value, np.nan)


def _bridge_gaps(t: np.ndarray, rows: np.ndarray, videos: Windows) -> tuple[np.ndarray, np.ndarray]:
    """(rows, in place with dropouts up to BRIDGE_S bridged linearly; the cells that have a value).

    As `fill_gaps` on each video (its frames `videos`, a row of `rows`, NaN-padded; `t`: all
    videos' times), with the video's own median frame interval, all rows that have a gap at
    once (`fill_gaps_into`, one group per row). The NaN padding past a row's end is a trailing
    gap, which is never bridged.
    """
    ok = np.isfinite(rows)
    gappy = np.flatnonzero((videos.inside & ~ok).any(axis=1))
    if not gappy.size:
        return rows, ok
    width = rows.shape[1]
    times = t[np.minimum(videos.index[gappy], videos.stop[gappy, None] - 1)]  # padding: the last time again
    steps = videos.inside[gappy, 1:]  # t[i + 1] - t[i] within the video
    dt = group_median(np.diff(times, axis=1)[steps], np.nonzero(steps)[0], gappy.size)
    part, part_ok = rows[gappy], ok[gappy]
    filled = fill_gaps_into(times.ravel(), part.reshape(-1), part_ok.ravel(),
                            Groups(np.arange(gappy.size + 1) * width), dt, BRIDGE_S)
    rows[gappy], ok[gappy] = part, filled.reshape(part.shape)
    return rows, ok


# --- 2. valid runs and their peaks ---------------------------------------------------------


@dataclass(frozen=True)
class _Scales:
    """Per video: the robust range lo..hi of its depth signal, the minimum rep excursion
    `prom`, the minimum frames between bottoms `dist`, the fewest frames of a valid run
    `min_run`, and whether the video is searched for reps at all (`usable`)."""

    lo: np.ndarray
    hi: np.ndarray
    prom: np.ndarray
    dist: np.ndarray
    min_run: np.ndarray
    usable: np.ndarray


def _scales(batch: SignalsBatch, lo: np.ndarray, hi: np.ndarray, valid: np.ndarray, kind: np.ndarray) -> _Scales:
    """The `_Scales` of each video of `batch`, whose depth signal (of kind `kind`) has the
    robust range lo..hi and `valid` frames with a value."""
    rng = hi - lo
    floor = EXCURSION_FLOOR[kind]
    usable = (np.diff(batch.offset) >= 3) & (valid >= 3) & np.isfinite(rng) & ~(rng < floor)
    prom = PROMINENCE * rng
    fps = np.where(np.isfinite(batch.fps) & (batch.fps > 0), batch.fps, 30.0)
    return _Scales(lo=lo, hi=hi, prom=np.where(floor > prom, floor, prom),  # max(PROMINENCE * rng, floor)
                   dist=np.maximum(1, np.rint(MIN_DISTANCE_S * fps).astype(np.int64)),
                   min_run=np.maximum(3.0, MIN_RUN_S * fps), usable=usable)


@dataclass(frozen=True)
class _Runs:
    """Valid runs of the depth signal: frames start..stop - 1 of one video each, in order,
    with their video's scale (`lo`, `hi`, `prom`, `dist`)."""

    start: np.ndarray
    stop: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    prom: np.ndarray
    dist: np.ndarray


def _valid_runs(ok: np.ndarray, offset: np.ndarray, scales: _Scales) -> _Runs:
    """The runs of `ok` frames in each usable video, at least its `min_run` frames long."""
    start, stop = runs_in_groups(ok, Groups(offset))
    video = np.searchsorted(offset, start, side="right") - 1
    keep = scales.usable[video] & ~(stop - start < scales.min_run[video])
    video = video[keep]
    return _Runs(start=start[keep], stop=stop[keep], lo=scales.lo[video], hi=scales.hi[video],
                 prom=scales.prom[video], dist=scales.dist[video])


def _run_peaks(x: np.ndarray, runs: _Runs) -> np.ndarray:
    """Frames of the peaks `find_peaks` finds in each run (prominence >= its `prom`, at least
    `dist` apart) with a low value put in front of the run (step 5), in time order."""
    # the low value: the run's own minimum, or the video's lower range when that is lower
    low = range_min(x, runs.start, runs.stop)
    pad = np.where(low < runs.lo, low, runs.lo)
    found = [_peaks_at_distance(x, runs, pad, np.flatnonzero(runs.dist == d), int(d)) for d in np.unique(runs.dist)]
    return np.sort(np.concatenate(found)) if found else np.empty(0, dtype=np.int64)


def _peaks_at_distance(x: np.ndarray, runs: _Runs, pad: np.ndarray, sel: np.ndarray, dist: int) -> np.ndarray:
    """Peak frames of the runs `sel`, which share the minimum distance `dist`, from one `find_peaks` call.

    The runs (each behind its `pad` value) are laid end to end with `dist` NaN cells
    between them: NaN is never a peak nor part of a peak's base, and peaks of different
    runs are more than `dist` apart, so each run gets the peaks it would get alone. Except
    where two equally high local maxima lie less than `dist` apart: which one find_peaks
    keeps then depends on its sort's order of ties, so such a run is redone alone.
    """
    start, stop = runs.start[sel], runs.stop[sel]
    span = dist + 1 + (stop - start)  # NaN gap, pad value, the run
    head = np.cumsum(span) - span + dist  # where each run's pad value sits
    line = np.full(int(span.sum()), np.nan)
    line[head] = pad[sel]
    frames = ranges(start, stop)
    shift = np.repeat(head + 1 - start, stop - start)
    line[frames + shift] = x[frames]
    found, _ = find_peaks(line, prominence=np.repeat(runs.prom[sel], span), distance=dist)
    owner = np.searchsorted(head, found, side="right") - 1
    tied = _close_ties(line, head, dist)
    peaks = [(found - head[owner] - 1 + start[owner])[~np.isin(owner, tied)]]
    for i in tied.tolist():
        alone, _ = find_peaks(line[head[i]:head[i] + 1 + stop[i] - start[i]], prominence=runs.prom[sel[i]],
                              distance=dist)
        peaks.append(alone - 1 + start[i])
    return np.concatenate(peaks)


def _close_ties(line: np.ndarray, head: np.ndarray, dist: int) -> np.ndarray:
    """Runs (indices into `head`) holding two equally high local maxima less than `dist` apart."""
    cand, _ = find_peaks(line)
    cand = cand[np.lexsort((cand, line[cand]))]  # by height, then position
    close = (line[cand[1:]] == line[cand[:-1]]) & (np.diff(cand) < dist)
    return np.unique(np.searchsorted(head, cand[1:][close], side="right") - 1)


# --- 3. which peaks are reps -------------------------------------------------------------


@dataclass(frozen=True)
class _Peaks:
    """Peaks in time order. Per peak: its frame `at`, its run, its value `v`; `prev`: the
    previous peak of its run (else the run's first frame) and `nxt`: the next peak (else
    the run's last frame); `low_since_prev`: min of the signal over prev..at, `top_r`:
    over at..nxt (the top level after the peak)."""

    at: np.ndarray
    run: np.ndarray
    v: np.ndarray
    prev: np.ndarray
    nxt: np.ndarray
    low_since_prev: np.ndarray
    top_r: np.ndarray


def _peak_table(x: np.ndarray, runs: _Runs, at: np.ndarray) -> _Peaks:
    """The `_Peaks` at frames `at` (in time order) of the runs `runs`."""
    run = np.searchsorted(runs.start, at, side="right") - 1
    first = group_starts(run)
    last = np.concatenate((first[1:], [True]))
    prev = np.where(first, runs.start[run], np.concatenate(([0], at[:-1])))
    nxt = np.where(last, runs.stop[run] - 1, np.concatenate((at[1:], [0])))
    return _Peaks(at=at, run=run, v=x[at], prev=prev, nxt=nxt,
                  low_since_prev=range_min(x, prev, at + 1), top_r=range_min(x, at, nxt + 1))


def _rep_peaks(peaks: _Peaks, runs: _Runs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(is_rep, prev_bottom, top_l) per peak: whether it is a rep's bottom; the previous rep's
    peak in its run (else the run's first frame); its top level before it (`_peak_rule`).

    A peak's rules depend on the previous rep of its run: its top level is the minimum since
    that rep's bottom. Every peak is first decided as if the peak before it were a rep (or
    it is its run's first peak), which holds up to a run's first peak that is not a rep.
    The peak after that one is redone with its actual previous rep; after a redone peak
    that is a rep the first decisions hold again up to the next peak that is not. Each
    round redoes one peak in every run that needs it.
    """
    n, run = peaks.at.size, peaks.run
    low, prev_bottom = peaks.low_since_prev.copy(), peaks.prev.copy()
    is_rep, top_l = _peak_rule(peaks.v, low, peaks.top_r, runs, run)
    # the first peak from k on that is not a rep, as first decided (n: none)
    next_not_rep = np.minimum.accumulate(np.where(is_rep, n, np.arange(n))[::-1])[::-1]
    firsts = np.flatnonzero(group_starts(run))
    redo = _after(next_not_rep[firsts], run[firsts], run)
    while redo.size:
        before = redo - 1  # not a rep: the top level runs on from the rep before it
        low[redo] = np.minimum(low[before], peaks.low_since_prev[redo])
        prev_bottom[redo] = prev_bottom[before]
        is_rep[redo], top_l[redo] = _peak_rule(peaks.v[redo], low[redo], peaks.top_r[redo], runs, run[redo])
        not_rep = np.where(is_rep[redo], next_not_rep[np.minimum(redo + 1, n - 1)], redo)
        redo = _after(not_rep, run[redo], run)
    return is_rep, prev_bottom, top_l


def _after(not_rep: np.ndarray, in_run: np.ndarray, run: np.ndarray) -> np.ndarray:
    """The peaks right after the peaks `not_rep` (not reps; len(run) = none) where both are in
    the runs `in_run`: the peaks to redo next."""
    last = run.size - 1
    after = not_rep + 1
    same = (after <= last) & (run[np.minimum(not_rep, last)] == in_run) & (run[np.minimum(after, last)] == in_run)
    return after[same]


def _peak_rule(v: np.ndarray, low: np.ndarray, top_r: np.ndarray, runs: _Runs,
               run: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(is a rep, top level before it) of peaks of value v with minimum `low` since the previous
    rep's bottom and minimum `top_r` up to the next peak, in runs `run`.

    Top level: `low`; when no descent is seen (v - low < prom) the run starts at or near
    the bottom: the peak must be START_DEPTH deep, and the top level is at most the
    range's lower end. The rise after the peak must come back to within END_BAND of the
    excursion from the top level.
    """
    lo, hi, prom = runs.lo[run], runs.hi[run], runs.prom[run]
    no_descent = v - low < prom
    deep_enough = ~(v < lo + START_DEPTH * (hi - lo))
    top_l = np.where(no_descent & (lo < low), lo, low)  # min(low, lo)
    back = top_r <= top_l + END_BAND * (v - top_l)
    return (~no_descent | deep_enough) & back, top_l


# --- 4. start, bottom and end of each rep --------------------------------------------------


def _rep_bounds(x: np.ndarray, peaks: _Peaks, runs: _Runs, reps: np.ndarray, prev_bottom: np.ndarray,
                top_l: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(start, bottom, end) frames of the reps at the peaks `reps` (step 3 of the module docstring)."""
    at, v, top_r, top_l = peaks.at[reps], peaks.v[reps], peaks.top_r[reps], top_l[reps]
    end = _rep_ends(x, at, peaks.nxt[reps], v, top_r)
    # touch-and-go: a rep starts no earlier than the previous rep of its run ends
    run = peaks.run[reps]
    prev_end = np.where(group_starts(run), runs.start[run], np.concatenate(([0], end[:-1])))
    start = _rep_starts(x, prev_bottom[reps], at, v, top_l, prev_end)
    return start, _bottoms(x, start, at, end, v, np.where(top_r < top_l, top_r, top_l)), end


def _rep_ends(x: np.ndarray, at: np.ndarray, nxt: np.ndarray, v: np.ndarray, top_r: np.ndarray) -> np.ndarray:
    """End frames: the first frame after the peak `at` within TOP_BAND of the excursion from
    the top level after it (`top_r`), then on while the signal keeps falling and stays more
    than SETTLE_BAND of the excursion above that level, up to the next peak `nxt`."""
    end = first_index(_at_most(x, top_r + TOP_BAND * (v - top_r)), at, nxt + 1)
    return first_index(_walk_stops(x, top_r + SETTLE_BAND * (v - top_r), +1), end, nxt)


def _rep_starts(x: np.ndarray, prev_bottom: np.ndarray, at: np.ndarray, v: np.ndarray, top_l: np.ndarray,
                prev_end: np.ndarray) -> np.ndarray:
    """Start frames: the last frame from the previous rep's bottom to the peak `at` within
    TOP_BAND of the excursion from the top level `top_l` (else the previous bottom), then
    back while the signal (back in time) keeps falling and stays more than SETTLE_BAND of
    the excursion above the top level; kept between the previous rep's end and the peak."""
    start = np.maximum(last_index(_at_most(x, top_l + TOP_BAND * (v - top_l)), prev_bottom, at + 1), prev_bottom)
    start = last_index(_walk_stops(x, top_l + SETTLE_BAND * (v - top_l), -1), prev_bottom + 1, start + 1)
    return np.minimum(np.maximum(start, prev_end), at)


def _bottoms(x: np.ndarray, start: np.ndarray, at: np.ndarray, end: np.ndarray, v: np.ndarray,
             top: np.ndarray) -> np.ndarray:
    """Bottom frames: the middle of the frames around the peak `at` (from `start` to `end`)
    within BOTTOM_BAND of the excursion (from the lower top level `top`) of the peak value v."""
    band = v - BOTTOM_BAND * (v - top)
    first = last_index(_leaves(x, band, -1), start + 1, at + 1)
    last = first_index(_leaves(x, band, +1), at, end)
    return (first + last) // 2


def _at_most(x: np.ndarray, level: np.ndarray) -> IndexTest:
    """Search test: x at the frame is at most its window's `level`."""
    return lambda i, rows: x[i] <= level[rows, None]


def _walk_stops(x: np.ndarray, floor: np.ndarray, step: int) -> IndexTest:
    """Search test for a walk from frame i to i + step: it stops at i unless the signal falls
    from i to i + step (x[i + step] < x[i]) and stays above its window's `floor` there."""
    return lambda i, rows: ~((x[i + step] < x[i]) & (x[i + step] > floor[rows, None]))


def _leaves(x: np.ndarray, band: np.ndarray, step: int) -> IndexTest:
    """Search test: the signal at frame i + step is below its window's `band`."""
    return lambda i, rows: ~(x[i + step] >= band[rows, None])


def rep_durations(sig: Signals, rep: Rep) -> tuple[float, float]:
    """(eccentric_s, concentric_s): start -> bottom and bottom -> end, in seconds."""
    t = sig.t_s
    return float(t[rep.bottom] - t[rep.start]), float(t[rep.end] - t[rep.bottom])
