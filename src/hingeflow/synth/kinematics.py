"""Pure kinematics of a synthetic side-view lifter.

Conventions
-----------
* World frame: metres, origin on the floor directly below the ankle joint,
  ``x`` points the way the athlete faces (forward), ``y`` points up.
* Pixel frame (upright image): ``u`` right, ``v`` down.  ``facing=+1`` means
  the athlete faces image-right, ``-1`` image-left.
* Angles in degrees, per DESIGN.md: ``trunk_angle_deg`` is the hip->shoulder
  chord from vertical, 0 upright, positive = forward lean, negative = leaning
  back; ``knee_flexion_deg`` = 180 - angle(hip, knee, ankle);
  ``hip_flexion_deg`` = 180 - angle(shoulder, hip, knee).
* Spine rounding: the trunk midline (hip joint -> shoulder joint) is a circular
  arc of fixed length whose total bend is ``rounding_deg``; the bulge is on the
  back side, so the chord shortens as ``sin(r/2)/(r/2)``.  The requested trunk
  angle is the angle of the chord (what a landmark-based measure sees).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

N_SPINE = 6  # spine sub-segments (arc samples = N_SPINE + 1)
# hips rising first: while the knees make their first half of extension the trunk tips this
# fraction of its bottom-to-top range further forward (~12 deg on a 58 deg deadlift): what
# a coach calls the hips shooting up. A trunk that merely holds its angle while the knees
# extend is how a clean conventional pull leaves the floor, not this fault.
HRF_CHEST_DROP = 0.2


@dataclass(frozen=True)
class BodyModel:
    """Segment lengths as fractions of standing height (Drillis-Contini-like)."""

    height_m: float = 1.75
    head: float = 0.130  # chin to crown
    neck: float = 0.052  # shoulder-joint level to chin
    trunk: float = 0.288  # hip joint to shoulder joint
    upper_arm: float = 0.186
    forearm: float = 0.146
    hand: float = 0.090
    thigh: float = 0.245
    shin: float = 0.246
    ankle_h: float = 0.039
    foot: float = 0.152
    girth: float = 1.0  # width multiplier for the drawn body (0.85 slim .. 1.2 stocky)

    def m(self, frac: float) -> float:
        """Fraction of height -> metres."""
        return frac * self.height_m


@dataclass(frozen=True)
class RepSpec:
    """One repetition, starting and ending standing. Angles deg, times s."""

    trunk_bottom_deg: float = 70.0
    knee_bottom_deg: float = 20.0
    knee_top_deg: float = 5.0
    trunk_top_deg: float = 0.0  # <0 lean-back (over-extension), >0 soft lockout
    rounding_bottom_deg: float = 2.0
    rounding_top_deg: float = 0.0
    drift_frac: float = 0.0  # extra wrist offset (fwd) from mid-foot at the bottom, / thigh
    eccentric_s: float = 1.2
    concentric_s: float = 0.9
    pause_bottom_s: float = 0.2
    pause_top_s: float = 0.5
    hips_rise_first: bool = False


@dataclass(frozen=True)
class Timeline:
    """Per-frame targets (arrays of length n_frames) and rep boundaries (s)."""

    t_s: np.ndarray
    trunk_deg: np.ndarray
    knee_deg: np.ndarray
    rounding_deg: np.ndarray
    drift_frac: np.ndarray
    progress: np.ndarray  # 0 standing .. 1 bottom (trunk channel)
    swing_w: np.ndarray  # 0..1 weight of the kettlebell-swing arm raise
    reps: list[tuple[float, float, float]] = field(default_factory=list)  # start, bottom, end


def _ease(u: np.ndarray) -> np.ndarray:
    u = np.clip(u, 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * u)


def build_timeline(
    reps: list[RepSpec], fps: float, lead_in_s: float = 0.6, tail_s: float = 0.6
) -> Timeline:
    """Sample a sequence of reps at ``fps``: lead-in standing, reps, tail standing."""
    # Keyframes: (t, trunk, knee, rounding, drift, prog, kind) where kind says how
    # to interpolate the segment ending at this key.
    r0 = reps[0]
    state = (0.0, r0.knee_top_deg, r0.rounding_top_deg, 0.0, 0.0)
    keys: list[tuple[float, tuple[float, ...], str, float]] = [(0.0, state, "hold", 0.0)]
    t = lead_in_s
    keys.append((t, state, "hold", 0.0))
    bounds: list[tuple[float, float, float]] = []
    for i, r in enumerate(reps):
        t_start = t
        bottom = (r.trunk_bottom_deg, r.knee_bottom_deg, r.rounding_bottom_deg, r.drift_frac, 1.0)
        t += r.eccentric_s
        keys.append((t, bottom, "ecc", 1.0 if i > 0 else 0.0))
        t += r.pause_bottom_s
        keys.append((t, bottom, "hold", 1.0))
        t_bottom = t - r.pause_bottom_s / 2
        last = i == len(reps) - 1
        top = (r.trunk_top_deg, r.knee_top_deg, r.rounding_top_deg, 0.0, 0.0)
        t += r.concentric_s
        keys.append((t, top, "conc_hrf" if r.hips_rise_first else "conc", 0.0 if last else 1.0))
        bounds.append((t_start, t_bottom, t))
        if last:
            t += tail_s
            keys.append((t, (0.0, r.knee_top_deg, 0.0, 0.0, 0.0), "ecc", 0.0))
            t += 0.2
            keys.append((t, keys[-1][1], "hold", 0.0))
        else:
            t += r.pause_top_s
            keys.append((t, top, "hold", 1.0))
    n = int(np.floor(t * fps)) + 1
    ts = np.arange(n) / fps
    out = np.zeros((n, 5))
    sw = np.zeros(n)
    for (ta, sa, _, wa), (tb, sb, kind, wb) in zip(keys[:-1], keys[1:]):
        m = (ts >= ta) & (ts <= tb)
        if not m.any():
            continue
        u = (ts[m] - ta) / max(tb - ta, 1e-9)
        a, b = np.array(sa), np.array(sb)
        p = _ease(u)[:, None] * np.ones(5)
        if kind == "conc_hrf":  # hips shoot up: the knees extend first and the chest drops, then the back rises
            p[:, 1] = _ease(u / 0.55)
            p[:, [0, 2, 3, 4]] = _ease((u - 0.3) / 0.7)[:, None]
            p[:, 0] -= HRF_CHEST_DROP * np.sin(np.pi * np.clip(u / 0.55, 0.0, 1.0))
        out[m] = a + (b - a) * p
        sw[m] = wa + (wb - wa) * _ease(u)
    return Timeline(
        t_s=ts,
        trunk_deg=out[:, 0],
        knee_deg=out[:, 1],
        rounding_deg=out[:, 2],
        drift_frac=out[:, 3],
        progress=out[:, 4],
        swing_w=sw,
        reps=bounds,
    )


# Segment masses as fractions of body mass (Winter) for the balance rule.
_M_HEAD, _M_TRUNK, _M_UARM, _M_FARM, _M_THIGH, _M_SHANK = 0.081, 0.497, 0.056, 0.044, 0.2, 0.093


def _rot(deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r = np.radians(deg)
    return np.sin(r), np.cos(r)


@dataclass(frozen=True)
class Pose2D:
    """World-frame joint positions (metres, x forward, y up), arrays shaped (n, 2)."""

    ankle: np.ndarray
    heel: np.ndarray
    toe: np.ndarray
    knee: np.ndarray
    hip: np.ndarray
    spine: np.ndarray  # (n, N_SPINE+1, 2), hip -> shoulder
    shoulder: np.ndarray
    elbow: np.ndarray
    wrist: np.ndarray
    neck: np.ndarray  # base of the neck
    head: np.ndarray  # head centre
    head_dir: np.ndarray  # (n, 2) unit vector chin -> crown
    midfoot: np.ndarray


def _spine_arc(hip: np.ndarray, trunk_deg: np.ndarray, round_deg: np.ndarray, L: float) -> np.ndarray:
    """Arc of length L from hip whose chord has angle trunk_deg and total bend round_deg."""
    n = len(trunk_deg)
    k = np.arange(N_SPINE) + 0.5
    # tangent angle of each sub-segment: chord angle - r/2 at hip .. + r/2 at shoulder
    ang = trunk_deg[:, None] + round_deg[:, None] * (k[None, :] / N_SPINE - 0.5)
    s, c = _rot(ang)
    seg = L / N_SPINE
    steps = np.stack([s * seg, c * seg], axis=-1)  # (n, N, 2)
    pts = np.concatenate([np.zeros((n, 1, 2)), np.cumsum(steps, axis=1)], axis=1)
    # the arc's chord angle equals trunk_deg by symmetry
    return pts + hip[:, None, :]


def _two_link(shoulder: np.ndarray, target: np.ndarray, l1: float, l2: float, bend: float) -> tuple[np.ndarray, np.ndarray]:
    """Planar IK: elbow and (reach-clamped) wrist; ``bend`` +1 puts the elbow behind (-x)."""
    d = target - shoulder
    dist = np.linalg.norm(d, axis=1, keepdims=True)
    reach = 0.995 * (l1 + l2)
    dist_c = np.clip(dist, abs(l1 - l2) + 1e-3, reach)
    u = d / np.maximum(dist, 1e-9)
    wrist = shoulder + u * dist_c
    a = (l1**2 - l2**2 + dist_c**2) / (2 * dist_c)
    h = np.sqrt(np.maximum(l1**2 - a**2, 0.0))
    perp = np.stack([u[:, 1], -u[:, 0]], axis=1)  # u rotated clockwise
    # for a downward arm u=(0,-1) -> perp=(-1,0): behind.
    elbow = shoulder + u * a + bend * perp * h
    return elbow, wrist


def forward_kinematics(
    body: BodyModel,
    trunk_deg: np.ndarray,
    knee_deg: np.ndarray,
    rounding_deg: np.ndarray,
    drift_frac: np.ndarray,
    arm_mode: str = "hang",
    swing_deg: np.ndarray | None = None,
    load_frac: float = 0.0,
    min_wrist_y: float = 0.0,
) -> Pose2D:
    """Joint positions for per-frame angles. Feet planted; the shin tilt is chosen so
    the centre of mass (body + ``load_frac`` x body mass at the hands) sits over the
    mid-foot (clamped to a plausible shin range).

    arm_mode: ``hang`` (wrist at mid-foot + drift, arms nearly straight),
    ``chest`` (arms folded across the chest),
    ``free`` (arms hang vertically), ``back`` (bar on upper back),
    ``swing`` (arm angle from straight down = ``swing_deg``, forward positive).
    """
    trunk_deg = np.asarray(trunk_deg, float)
    knee_deg = np.asarray(knee_deg, float)
    rounding_deg = np.asarray(rounding_deg, float)
    drift_frac = np.asarray(drift_frac, float)
    n = len(trunk_deg)
    B = body
    ankle = np.tile([0.0, B.m(B.ankle_h)], (n, 1))
    heel = np.tile([-0.22 * B.m(B.foot), 0.0], (n, 1))
    toe = np.tile([0.78 * B.m(B.foot), 0.0], (n, 1))
    midfoot = (heel + toe) / 2
    Ls, Lt, Ltr = B.m(B.shin), B.m(B.thigh), B.m(B.trunk)
    rr = np.radians(np.abs(rounding_deg)) / 2
    chord = Ltr * np.where(rr > 1e-6, np.sin(rr) / np.maximum(rr, 1e-9), 1.0)
    ts, tc = _rot(trunk_deg)

    def com_x(phi_s: np.ndarray) -> np.ndarray:
        ss, sc = _rot(phi_s)
        knee = ankle + np.stack([ss * Ls, sc * Ls], 1)
        st, _ = _rot(knee_deg - phi_s)
        hip_x = knee[:, 0] - st * Lt
        sh_x = hip_x + ts * chord
        upper = _M_TRUNK * (hip_x + sh_x) / 2 + _M_HEAD * (sh_x + ts * B.m(0.12))
        arms = (_M_UARM + _M_FARM + load_frac) * (sh_x * 0.5 + midfoot[:, 0] * 0.5)
        return (upper + arms + _M_THIGH * (knee[:, 0] + hip_x) / 2 + _M_SHANK * knee[:, 0] / 2) / (
            _M_TRUNK + _M_HEAD + _M_UARM + _M_FARM + load_frac + _M_THIGH + _M_SHANK
        )

    lo = np.full(n, -4.0)
    hi = np.clip(knee_deg * 0.75, 2.0, 25.0)  # shins tilt at most 25 deg forward
    target = midfoot[:, 0] - 0.02 * B.height_m
    for _ in range(40):
        mid = (lo + hi) / 2
        big = com_x(mid) > target
        hi = np.where(big, mid, hi)
        lo = np.where(big, lo, mid)
    phi_s = (lo + hi) / 2
    ss, sc = _rot(phi_s)
    knee = ankle + np.stack([ss * Ls, sc * Ls], 1)
    st, ct = _rot(knee_deg - phi_s)
    hip = knee + np.stack([-st * Lt, ct * Lt], 1)
    spine = _spine_arc(hip, trunk_deg, rounding_deg, Ltr)
    shoulder = spine[:, -1]
    # thoracic direction (last sub-segment) and forward normal
    u = spine[:, -1] - spine[:, -2]
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    fwd = np.stack([u[:, 1], -u[:, 0]], 1)
    neck = shoulder + u * B.m(0.012) - fwd * B.m(0.012)
    # head held nearly neutral to the thoracic line, slightly extended
    ext = np.radians(np.clip(trunk_deg, 0, 90) * 0.25 + 5)
    ce, se = np.cos(ext), np.sin(ext)
    hd = np.stack([u[:, 0] * ce - u[:, 1] * se, u[:, 0] * se + u[:, 1] * ce], 1)  # rotate u ccw (back)
    hd /= np.linalg.norm(hd, axis=1, keepdims=True)
    hf = np.stack([hd[:, 1], -hd[:, 0]], 1)
    head = neck + hd * (B.m(B.neck) + B.m(B.head) * 0.5) + hf * B.m(0.012)
    L1, L2 = B.m(B.upper_arm), B.m(B.forearm)
    if arm_mode == "hang":
        tx = midfoot[:, 0] + drift_frac * Lt + 0.01 * B.height_m
        dx = tx - shoulder[:, 0]
        reach = 0.97 * (L1 + L2)
        dy = np.sqrt(np.maximum(reach**2 - dx**2, 0.0))
        tgt = np.stack([tx, np.maximum(shoulder[:, 1] - dy, min_wrist_y)], 1)
        elbow, wrist = _two_link(shoulder, tgt, L1, L2, 1.0)
    elif arm_mode == "free":
        tgt = shoulder + np.stack([drift_frac * Lt + 0.02, -np.full(n, 0.96 * (L1 + L2))], 1)
        elbow, wrist = _two_link(shoulder, tgt, L1, L2, 1.0)
    elif arm_mode == "back":  # bar across the upper back, hands beside it, elbows down-back
        wrist = shoulder - fwd * B.m(0.045) + u * B.m(0.035)
        elbow = shoulder + (np.tile([0.0, -0.75], (n, 1)) - fwd * 0.55) * L1 * 0.85
    elif arm_mode == "chest":  # arms folded across the chest (bodyweight drill)
        k1, k2 = int(round(0.45 * N_SPINE)), int(round(0.85 * N_SPINE))
        elbow = spine[:, k1] + fwd * B.m(0.085)
        wrist = spine[:, k2] + fwd * B.m(0.07)
    elif arm_mode == "swing":
        sd = np.zeros(n) if swing_deg is None else np.asarray(swing_deg, float)
        s1, c1 = _rot(sd)
        tgt = shoulder + np.stack([s1, -c1], 1) * 0.97 * (L1 + L2)
        elbow, wrist = _two_link(shoulder, tgt, L1, L2, 1.0)
    else:
        raise ValueError(f"unknown arm_mode {arm_mode!r}")
    return Pose2D(
        ankle=ankle, heel=heel, toe=toe, knee=knee, hip=hip, spine=spine, shoulder=shoulder,
        elbow=elbow, wrist=wrist, neck=neck, head=head, head_dir=hd, midfoot=midfoot,
    )


def _angle(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Angle at b (deg) between b->a and b->c."""
    v1, v2 = a - b, c - b
    cos = np.sum(v1 * v2, -1) / (np.linalg.norm(v1, axis=-1) * np.linalg.norm(v2, axis=-1))
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def angles_from_points(
    shoulder: np.ndarray, hip: np.ndarray, knee: np.ndarray, ankle: np.ndarray, facing: int
) -> dict[str, np.ndarray]:
    """DESIGN.md angles from 2D points in *pixel* coordinates (v down).

    ``facing`` +1: athlete faces image-right; -1: image-left.
    """
    d = shoulder - hip
    trunk = np.degrees(np.arctan2(facing * d[..., 0], -d[..., 1]))
    return {
        "trunk_angle_deg": trunk,
        "knee_flexion_deg": 180.0 - _angle(hip, knee, ankle),
        "hip_flexion_deg": 180.0 - _angle(shoulder, hip, knee),
    }


@dataclass(frozen=True)
class Camera:
    """World metres -> upright-image pixels: ``u = u0 + facing*s*x``, ``v = v0 - s*y``."""

    scale_px_per_m: float
    u0: float  # pixel column of the ankle
    v0: float  # pixel row of the floor
    facing: int = 1

    def project(self, p: np.ndarray) -> np.ndarray:
        p = np.asarray(p, float)
        out = np.empty_like(p)
        out[..., 0] = self.u0 + self.facing * self.scale_px_per_m * p[..., 0]
        out[..., 1] = self.v0 - self.scale_px_per_m * p[..., 1]
        return out


def frame_joints(pose: Pose2D, i: int) -> dict[str, np.ndarray]:
    """Joints of frame ``i`` as a dict of world points (for the renderer)."""
    return {k: getattr(pose, k)[i] for k in pose.__dataclass_fields__}
