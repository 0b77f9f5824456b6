"""A whole synthetic gym: a pure, seeded plan (``plan_gym``) and its writer (``make_gym``).

Layout written by ``make_gym(out_dir)``::

    out_dir/inbox/<gym>_<YYYY-MM-DD>/manifest.csv     one upload folder per week (Mondays)
    out_dir/inbox/<gym>_<YYYY-MM-DD>/<athlete>/<exercise>_<load>kg_s<set>.mp4
    out_dir/truth/frames.parquet    per frame: video, frame_idx, t_s, trunk_angle_deg,
                                    knee_flexion_deg, hip_flexion_deg, spine_rounding_deg,
                                    chord_ratio, wrist_offset_frac
    out_dir/truth/reps.parquet      per rep: video, athlete_id, exercise, load_kg, set_index,
                                    rep_index, t_start_s, t_bottom_s, t_end_s,
                                    trunk_angle_bottom_deg, knee_flexion_bottom_deg,
                                    spine_rounding_bottom_deg, faults (list[str]),
                                    borderline (list[str]: faults within the noise band, not scored)
    out_dir/truth/videos.parquet    per clip: video, athlete_id, exercise, load_kg, fps, n_frames, width, height
                                    (upright), rotation_deg (display matrix), facing
    out_dir/truth/athletes.json     per athlete: breakdown load per exercise, traits, body

``video`` in the truth tables is ``<upload folder>/<path in manifest>``.  Faults
appear above each athlete's hidden breakdown load (see ``rep_for_load``).
Same seed -> byte-identical manifests and truth tables.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import polars as pl

from .clip import (ARM_MODE, DRIFT_FRAC, INCOMPLETE_DEG, OVEREXT_DEG, ROUNDED_DEG, RUSHED_ECC_S, SQUAT_KNEE_DEG,
                   ClipSpec, ClipTruth, clip_truth, plan_clip, render_clip)
from .kinematics import BodyModel, RepSpec
from .render import Look, Scene

MANIFEST_COLUMNS = ("video", "athlete_id", "recorded_on", "exercise", "load_kg", "set_index",
                    "camera_view", "bodyweight_kg", "gym_id", "notes")
FIRST_MONDAY = dt.date(2026, 11, 2)

# exercise -> (loads ladder kg, step kg, reps per set)
LADDERS: dict[str, tuple[tuple[float, ...], float, int]] = {
    "deadlift": ((60, 80, 100, 120, 140, 160), 20.0, 3),
    "romanian_deadlift": ((40, 60, 80, 100, 120), 20.0, 3),
    "good_morning": ((20, 30, 40, 50, 60), 10.0, 3),
    "kettlebell_swing": ((16, 20, 24, 32, 40), 6.0, 5),
    "hip_hinge_drill": ((0,), 1.0, 3),
}
# exercise -> base (trunk_bottom, knee_bottom, knee_top, eccentric_s, concentric_s, pause_bottom_s, pause_top_s)
BASE: dict[str, tuple[float, ...]] = {
    "deadlift": (58.0, 72.0, 4.0, 1.2, 0.9, 0.2, 0.25),
    "romanian_deadlift": (74.0, 18.0, 6.0, 1.2, 0.9, 0.1, 0.25),
    "good_morning": (68.0, 13.0, 5.0, 1.2, 0.9, 0.1, 0.25),
    "kettlebell_swing": (55.0, 24.0, 5.0, 0.65, 0.6, 0.0, 0.15),
    "hip_hinge_drill": (72.0, 18.0, 6.0, 1.2, 0.9, 0.2, 0.25),
}
PROGRAMS = (  # (primary, secondary) per athlete, cycled
    ("deadlift", "kettlebell_swing"),
    ("romanian_deadlift", "hip_hinge_drill"),
    ("deadlift", "good_morning"),
    ("romanian_deadlift", "kettlebell_swing"),
)
CAMERAS = (  # (width, height, fps, portrait) of the upright frame, cycled
    (854, 480, 25.0, False),
    (360, 640, 29.97, True),
    (1280, 720, 24.0, False),
    (640, 360, 30.0, False),
    (854, 480, 50.0, False),
    (640, 360, 23.976, False),
    (1280, 720, 60.0, False),
)
SHIRTS = ((40, 90, 170), (170, 40, 50), (40, 130, 80), (230, 140, 30), (90, 60, 140), (235, 235, 235))
BOTTOMS = ((55, 55, 65), (30, 40, 80), (90, 85, 80), (20, 20, 22))
SKINS = ((238, 200, 170), (224, 172, 140), (190, 135, 95), (140, 95, 65), (95, 65, 45))
HAIRS = ((40, 30, 20), (90, 60, 30), (20, 20, 20), (170, 140, 90))
WALLS = (((205, 200, 190), (170, 165, 155)), ((190, 200, 210), (150, 160, 170)),
         ((215, 205, 180), (180, 165, 140)), ((180, 180, 180), (140, 140, 140)))
FLOORS = ((120, 95, 70), (70, 70, 75), (60, 90, 60), (140, 110, 80))


@dataclass(frozen=True)
class Athlete:
    """A synthetic athlete: proportions, looks, camera and hidden fault profile."""

    athlete_id: str
    body: BodyModel
    look: Look
    bodyweight_kg: float
    facing: int
    width: int
    height: int
    fps: float
    portrait: bool
    figure_height_frac: float
    noise_sigma: float
    scene_seed: int
    wall: tuple[tuple[int, int, int], tuple[int, int, int]]
    floor: tuple[int, int, int]
    exercises: tuple[str, str]
    breakdown_kg: dict[str, float]  # exercise -> load (kg) above which form breaks down
    lockout_style: str  # "overextend" | "soft" | "clean"
    squatter: bool
    hips_rise_first: bool
    rushes: bool  # lowers too fast above the breakdown load
    rounding_max_deg: float
    drift_max_frac: float
    # how this athlete's clean reps differ from the exercise's base pattern (real lifters
    # differ: tempo, where they stand tall, how deep and how bent-kneed they hinge)
    tempo_scale: float = 1.0  # eccentric time multiplier (not the swing: its tempo is the bell's)
    lockout_offset_deg: float = 0.0  # trunk at a clean lockout, + forward
    depth_offset_deg: float = 0.0  # trunk at the bottom
    knee_offset_deg: float = 0.0  # knee bend at the bottom


@dataclass(frozen=True)
class ClipJob:
    """One clip to render and its manifest row."""

    upload: str
    video: str  # path relative to the upload folder
    row: dict[str, str]
    spec: ClipSpec


@dataclass(frozen=True)
class GymPlan:
    athletes: tuple[Athlete, ...]
    jobs: tuple[ClipJob, ...]
    gym_id: str


@dataclass
class GymSummary:
    out_dir: Path
    inbox: Path
    truth_dir: Path
    uploads: list[Path] = field(default_factory=list)
    n_clips: int = 0
    n_frames: int = 0
    n_reps: int = 0


def make_athlete(i: int, rng: np.random.Generator) -> Athlete:
    """Athlete ``i`` (0-based) with seeded proportions, looks, camera and faults."""
    h = float(rng.uniform(1.58, 1.92))
    body = BodyModel(
        height_m=h,
        trunk=float(0.288 * rng.uniform(0.96, 1.05)),
        thigh=float(0.245 * rng.uniform(0.96, 1.04)),
        shin=float(0.246 * rng.uniform(0.96, 1.04)),
        upper_arm=float(0.186 * rng.uniform(0.96, 1.04)),
        forearm=float(0.146 * rng.uniform(0.96, 1.04)),
        girth=float(rng.uniform(0.9, 1.12)),
    )
    look = Look(
        skin=SKINS[int(rng.integers(len(SKINS)))],
        hair=HAIRS[int(rng.integers(len(HAIRS)))],
        shirt=SHIRTS[(i + int(rng.integers(2))) % len(SHIRTS)],
        bottoms=BOTTOMS[int(rng.integers(len(BOTTOMS)))],
        shoes=((235, 235, 235), (40, 40, 45), (200, 60, 60))[int(rng.integers(3))],
        trousers=True,
        long_sleeves=bool(rng.random() < 0.25),
    )
    w, hgt, fps, portrait = CAMERAS[i % len(CAMERAS)]
    prog = PROGRAMS[i % len(PROGRAMS)]
    breakdown: dict[str, float] = {}
    for ex in prog:
        ladder, step, _ = LADDERS[ex]
        if len(ladder) > 1:  # hidden breakdown just below the 3rd or 4th rung; drills never break
            breakdown[ex] = float(ladder[int(rng.integers(2, min(4, len(ladder))))] - step / 2)
    wall = WALLS[int(rng.integers(len(WALLS)))]
    athlete = Athlete(
        athlete_id=f"ath-{i + 1:03d}",
        body=body,
        look=look,
        bodyweight_kg=float(np.round(rng.uniform(55, 105), 1)),
        facing=1 if i % 2 == 0 else -1,
        width=w,
        height=hgt,
        fps=fps,
        portrait=portrait,
        figure_height_frac=float(rng.uniform(0.55, 0.72) if not portrait else rng.uniform(0.5, 0.6)),
        noise_sigma=float(rng.choice([0.0, 2.0, 4.0])),
        scene_seed=int(rng.integers(1 << 30)),
        wall=wall,
        floor=FLOORS[int(rng.integers(len(FLOORS)))],
        exercises=prog,
        breakdown_kg=breakdown,
        lockout_style=("overextend", "soft", "clean")[i % 3],
        squatter=bool(i % 4 == 1),
        hips_rise_first=bool(i % 3 == 2),
        rushes=bool(i % 4 in (1, 2)),
        # graded severities: from just past the label (borderline) to plainly visible
        rounding_max_deg=float(rng.uniform(20, 30)),
        drift_max_frac=float(rng.uniform(0.45, 0.65)),
    )
    own = np.random.default_rng([athlete.scene_seed, 1])  # style: its own stream, the draws above unchanged
    return replace(athlete, tempo_scale=float(own.uniform(0.75, 2.0)), lockout_offset_deg=float(own.uniform(-3, 3)),
                   depth_offset_deg=float(own.uniform(-5, 5)), knee_offset_deg=float(own.uniform(-6, 6)))


def severity(load_kg: float, breakdown_kg: float, step_kg: float) -> float:
    """0 at/below the breakdown load, 0.4..1 growing with the load above it."""
    if load_kg <= breakdown_kg:
        return 0.0
    return float(np.clip(0.4 + 0.6 * (load_kg - breakdown_kg) / (2 * step_kg), 0.0, 1.0))


# Faults are *injected*: above the breakdown load a rep of an athlete with that trait shows
# the fault clearly, at least this far past the truth-label threshold (clip.py), and grows
# with severity; a clean rep stays well inside it. Truth labels on values within the 2D
# measurement noise of a threshold would be coin tosses, so none are generated.
KNEE_MARGIN_DEG = 8.0  # squatting: knee flexion above SQUAT_KNEE_DEG
ROUNDING_MARGIN_DEG = 3.0  # rounded back: spine flexion above ROUNDED_DEG (clean reps ~2 deg)
TRUNK_TOP_MARGIN_DEG = 3.0  # overextension below OVEREXT_DEG / incomplete lockout above INCOMPLETE_DEG
DRIFT_MARGIN = 0.08  # load drift above DRIFT_FRAC thigh lengths (clean ~0.05)
RUSHED_MARGIN_S = 0.15  # rushed lowering below RUSHED_ECC_S (clean ~1.2 s)


def rep_for_load(ex: str, a: Athlete, s: float, rng: np.random.Generator) -> RepSpec:
    """Rep parameters for fault severity ``s`` (0 clean, 0.4..1 above the breakdown load).

    Each of the athlete's fault traits is injected with a margin past its truth-label
    threshold when ``s > 0`` (see the margins above); small seeded jitter on everything.
    """
    tb, kb, kt, ecc, conc, pb, pt = BASE[ex]
    j = lambda sd: float(rng.normal(0.0, sd))  # noqa: E731
    bad = s > 0
    knee_b = kb + a.knee_offset_deg + j(2.0)
    trunk_b = tb + a.depth_offset_deg + j(2.0)
    if bad and a.squatter and ex != "deadlift":
        knee_b = SQUAT_KNEE_DEG[ex] + KNEE_MARGIN_DEG + 12.0 * s + j(1.0)
        trunk_b -= 8.0 * s
    trunk_top = (0.0 if bad else a.lockout_offset_deg) + j(0.8)  # faulty lockouts keep their margins
    if a.lockout_style == "overextend":
        trunk_top += -2.0 if not bad else OVEREXT_DEG - TRUNK_TOP_MARGIN_DEG - 4.0 * s
    elif a.lockout_style == "soft":
        trunk_top += 2.0 if not bad else INCOMPLETE_DEG + TRUNK_TOP_MARGIN_DEG + 4.0 * s
    rounding = 2.0 + j(0.7)
    if bad:
        rounding = ROUNDED_DEG + ROUNDING_MARGIN_DEG + (a.rounding_max_deg - 13.0) * s + j(0.7)
    drift = 0.0
    if ARM_MODE[ex] == "hang":
        drift = 0.05 + j(0.02) if not bad else DRIFT_FRAC + DRIFT_MARGIN + (a.drift_max_frac - 0.3) * s + j(0.02)
    eccentric = ecc * (a.tempo_scale if ex != "kettlebell_swing" else 1.0) * (1 + j(0.04))
    if bad and a.rushes and ex != "kettlebell_swing":
        eccentric = RUSHED_ECC_S - RUSHED_MARGIN_S - 0.1 * s + j(0.02)
    return RepSpec(
        trunk_bottom_deg=trunk_b,
        knee_bottom_deg=max(knee_b, 6.0),
        knee_top_deg=max(kt + j(1.0), 2.0),
        trunk_top_deg=trunk_top,
        rounding_bottom_deg=max(rounding, 0.0),
        rounding_top_deg=0.0,
        drift_frac=drift,
        eccentric_s=eccentric,
        concentric_s=conc * (1 + j(0.04)),
        pause_bottom_s=pb,
        pause_top_s=pt,
        hips_rise_first=bool(a.hips_rise_first and ex == "deadlift" and bad),
    )


def fit_camera(spec: ClipSpec, margin: float = 0.04, offset: float = 0.0) -> ClipSpec:
    """Shrink the figure if needed and place it so every frame fits the width.

    ``offset`` in [-1, 1] shifts the figure within the free horizontal space.
    """
    _, pose, cam = plan_clip(spec)
    r = spec.body.m(0.09)
    xs = np.concatenate([pose.spine[:, :, 0].ravel() - r, pose.spine[:, :, 0].ravel() + r,
                         pose.head[:, 0] - r, pose.head[:, 0] + r, pose.toe[:, 0], pose.heel[:, 0],
                         pose.wrist[:, 0] - 0.25, pose.wrist[:, 0] + 0.25, pose.knee[:, 0] + r])
    lo, hi = float(xs.min()), float(xs.max())
    W = spec.scene.width
    avail = W * (1 - 2 * margin)
    span_px = (hi - lo) * cam.scale_px_per_m
    frac = spec.figure_height_frac
    if span_px > avail:
        frac *= avail / span_px
        span_px = avail
    scale = frac * spec.scene.height / spec.body.height_m
    free = avail - span_px
    left = W * margin + free * (0.5 + 0.5 * float(np.clip(offset, -1, 1)))
    # world x -> pixel: facing +1: u = u0 + s x, so u0 = left - s*lo; facing -1 mirrors
    u0 = left - scale * lo if spec.facing > 0 else left + scale * hi
    return replace(spec, figure_height_frac=frac, ankle_x_frac=u0 / W)


def plan_gym(athletes: int = 3, weeks: int = 2, seed: int = 0, gym_id: str = "synthgym",
             start: dt.date = FIRST_MONDAY) -> GymPlan:
    """Pure and seeded: athletes, and for each week and athlete the clips to render."""
    rng = np.random.default_rng(seed)
    aths = tuple(make_athlete(i, rng) for i in range(athletes))
    jobs: list[ClipJob] = []
    for w in range(weeks):
        day = start + dt.timedelta(weeks=w)
        upload = f"{gym_id}_{day.isoformat()}"
        for a in aths:
            prim, sec = a.exercises
            plan: list[tuple[str, float, int]] = []
            ladder, _, _ = LADDERS[prim]
            for k in range(3):  # three ascending sets, the ladder moves up a rung a week
                plan.append((prim, float(ladder[min(w + k, len(ladder) - 1)]), k + 1))
            if (w + aths.index(a)) % 2 == 0:  # the secondary exercise every other week
                sl = LADDERS[sec][0]
                plan.append((sec, float(sl[min(w, len(sl) - 1)]), 1))
            for ex, load, set_idx in plan:
                ladder, step, nrep = LADDERS[ex]
                bd = a.breakdown_kg.get(ex)
                s = 0.0 if bd is None else severity(load, bd, step)
                reps = tuple(rep_for_load(ex, a, min(1.0, s + (0.1 * r if s > 0 else 0.0)), rng)
                             for r in range(nrep))
                spec = ClipSpec(
                    exercise=ex, reps=reps, load_kg=load, body=a.body, look=a.look,
                    scene=Scene(width=a.width, height=a.height, wall_top=a.wall[0], wall_bottom=a.wall[1],
                                floor=a.floor, floor_v=float(rng.uniform(0.86, 0.93)),
                                noise_sigma=a.noise_sigma, seed=a.scene_seed + w),
                    fps=a.fps, facing=a.facing, figure_height_frac=a.figure_height_frac,
                    portrait=a.portrait, lead_in_s=0.4, tail_s=0.3,
                )
                spec = fit_camera(spec, offset=float(rng.uniform(-0.6, 0.6)))
                video = f"{a.athlete_id}/{ex}_{load:g}kg_s{set_idx}.mp4"
                row = {
                    "video": video, "athlete_id": a.athlete_id, "recorded_on": day.isoformat(),
                    "exercise": ex, "load_kg": f"{load:g}", "set_index": str(set_idx),
                    "camera_view": "side", "bodyweight_kg": f"{a.bodyweight_kg:g}", "gym_id": gym_id,
                    "notes": "portrait phone" if a.portrait else "",
                }
                jobs.append(ClipJob(upload, video, row, spec))
    return GymPlan(aths, tuple(jobs), gym_id)


def _render_job(args: tuple[Path, ClipSpec]) -> None:
    path, spec = args
    render_clip(path, spec)


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _parquet_bytes(df: pl.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.write_parquet(buf, compression="zstd", statistics=False)
    return buf.getvalue()


def truth_tables(plan: GymPlan) -> dict[str, pl.DataFrame]:
    """Pure: frames, reps and videos truth tables for a plan."""
    fr: list[pl.DataFrame] = []
    rp: list[dict[str, object]] = []
    vd: list[dict[str, object]] = []
    for job in plan.jobs:
        t: ClipTruth = clip_truth(job.spec)
        vid = f"{job.upload}/{job.video}"
        cols = {"video": [vid] * t.n_frames, **{k: v for k, v in t.frames.items()}}
        fr.append(pl.DataFrame(cols))
        for r in t.reps:
            rp.append({"video": vid, "athlete_id": job.row["athlete_id"], "exercise": job.spec.exercise,
                       "load_kg": job.spec.load_kg, "set_index": int(job.row["set_index"]), **r})
        vd.append({"video": vid, "athlete_id": job.row["athlete_id"], "exercise": job.spec.exercise,
                   "load_kg": job.spec.load_kg, "fps": t.fps, "n_frames": t.n_frames,
                   "width": t.width, "height": t.height, "rotation_deg": -90 if job.spec.portrait else 0,
                   "facing": t.facing})
    frames = pl.concat(fr).with_columns(pl.col("frame_idx").cast(pl.Int64))
    reps = pl.DataFrame(rp, schema_overrides={"faults": pl.List(pl.String), "borderline": pl.List(pl.String)})
    return {"frames": frames, "reps": reps, "videos": pl.DataFrame(vd)}


def athletes_json(plan: GymPlan) -> str:
    """Deterministic JSON of the athletes' hidden truth (breakdown loads, traits, body)."""
    out = []
    for a in plan.athletes:
        d = asdict(a)
        d["look"] = asdict(a.look)
        out.append(d)
    return json.dumps({"gym_id": plan.gym_id, "athletes": out}, indent=2, sort_keys=True)


def manifest_csv(rows: list[dict[str, str]]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(MANIFEST_COLUMNS), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def make_gym(out_dir: Path, athletes: int = 3, weeks: int = 2, seed: int = 0, gym_id: str = "synthgym",
             workers: int | None = None, videos: bool = True) -> GymSummary:
    """Write the synthetic inbox (videos + manifests) and truth tables under ``out_dir``.

    ``workers``: render processes (default: CPU count, at most 4); ``videos=False``
    writes manifests and truth only (fast; for tests of determinism).
    """
    out_dir = Path(out_dir)
    plan = plan_gym(athletes, weeks, seed, gym_id)
    inbox, truth = out_dir / "inbox", out_dir / "truth"
    if videos:
        tasks = [(inbox / j.upload / j.video, j.spec) for j in plan.jobs]
        for p, _ in tasks:
            p.parent.mkdir(parents=True, exist_ok=True)
        n = workers or min(os.cpu_count() or 1, 4)
        if n > 1:
            # spawn, not fork: the caller may already run threads (Prefect, decoders)
            with ProcessPoolExecutor(max_workers=n, mp_context=multiprocessing.get_context("spawn")) as ex:
                list(ex.map(_render_job, tasks, chunksize=1))
        else:
            for t in tasks:
                _render_job(t)
    uploads: dict[str, list[dict[str, str]]] = {}
    for j in plan.jobs:
        uploads.setdefault(j.upload, []).append(j.row)
    for up, rows in uploads.items():  # manifest last: an upload is complete once it exists
        _atomic_write_bytes(inbox / up / "manifest.csv", manifest_csv(rows).encode())
    tables = truth_tables(plan)
    for name, df in tables.items():
        _atomic_write_bytes(truth / f"{name}.parquet", _parquet_bytes(df))
    _atomic_write_bytes(truth / "athletes.json", athletes_json(plan).encode())
    return GymSummary(out_dir, inbox, truth, [inbox / u for u in uploads], len(plan.jobs),
                      tables["frames"].height, tables["reps"].height)
