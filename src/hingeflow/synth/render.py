"""Pure drawing of one upright RGB frame (H x W x 3, uint8) of the synthetic lifter.

Inputs are world-frame joints (metres, see ``kinematics``) for one frame plus a
``Camera``; everything is drawn with anti-aliased cv2 primitives at 1/16-pixel
precision.  Draw order (back to front): background, far plate,
far arm, far leg, kettlebell, torso, head, near leg, near arm.  Of the barbell only the far-side plate
is drawn (behind the body) unless ``Load.near_plate``: a face-on 45 cm near plate
hides the knees/hips, which real side-view footage also suffers from but which
would make the pose truth untestable.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .kinematics import BodyModel, Camera

SHIFT = 4
_S = float(1 << SHIFT)
RGB = tuple[int, int, int]


@dataclass(frozen=True)
class Look:
    """Appearance of an athlete (RGB colours)."""

    skin: RGB = (224, 172, 140)
    hair: RGB = (60, 40, 25)
    shirt: RGB = (40, 90, 170)
    bottoms: RGB = (55, 55, 65)
    shoes: RGB = (230, 230, 230)
    # False: shorts with bare knees -- MediaPipe then confuses the knee with the hands/plate
    # (knee MAE 10-20 deg measured), so the gym always uses trousers/leggings
    trousers: bool = True
    long_sleeves: bool = False


@dataclass(frozen=True)
class Scene:
    """Frame size and background."""

    width: int = 854
    height: int = 480
    wall_top: RGB = (205, 200, 190)
    wall_bottom: RGB = (170, 165, 155)
    floor: RGB = (120, 95, 70)
    floor_v: float = 0.88  # floor line as a fraction of height
    texture: float = 6.0  # wall texture amplitude (grey levels)
    noise_sigma: float = 0.0  # per-frame Gaussian noise (grey levels)
    seed: int = 0


@dataclass(frozen=True)
class Load:
    """External load as drawn: kind in {'none', 'barbell', 'kettlebell'}."""

    kind: str = "none"
    kg: float = 0.0
    near_plate: bool = False  # True: draw the near-side plate in front of the near limbs



def plate_diameter_m(plate_kg: float) -> float:
    """Outer diameter (m) of the largest plate on each side for ``plate_kg`` per side."""
    if plate_kg >= 20:
        return 0.45
    if plate_kg >= 15:
        return 0.40
    if plate_kg >= 10:
        return 0.33
    if plate_kg >= 5:
        return 0.23
    if plate_kg > 0:
        return 0.19
    return 0.12  # bare bar: draw a collar


def kettlebell_radius_m(kg: float) -> float:
    """Bell radius (m), roughly 0.085 m at 8 kg to 0.14 m at 48 kg."""
    return 0.085 + 0.055 * (min(max(kg, 8.0), 48.0) - 8.0) / 40.0


def background(scene: Scene) -> np.ndarray:
    """Wall with a vertical gradient and mild blurred texture, a floor and a floor line."""
    H, W = scene.height, scene.width
    rng = np.random.default_rng(scene.seed)
    fv = int(round(scene.floor_v * H))
    a = np.linspace(0.0, 1.0, fv)[:, None]
    top, bot = np.array(scene.wall_top, float), np.array(scene.wall_bottom, float)
    wall = top[None, :] * (1 - a) + bot[None, :] * a  # (fv, 3)
    img = np.empty((H, W, 3), np.float32)
    img[:fv] = wall[:, None, :]
    img[fv:] = np.array(scene.floor, float)
    small = rng.normal(0.0, 1.0, (max(H // 16, 2), max(W // 16, 2))).astype(np.float32)
    tex = cv2.resize(small, (W, H), interpolation=cv2.INTER_CUBIC)
    img += scene.texture * tex[:, :, None]
    # a few wall panels / skirting board for structure
    for x in np.arange(rng.uniform(0, W / 3), W, W / 3):
        cv2.line(img, (int(x), 0), (int(x), fv), (top * 0.9).tolist(), 2, cv2.LINE_AA)
    cv2.rectangle(img, (0, fv - max(H // 60, 3)), (W, fv), (bot * 0.75).tolist(), -1)
    cv2.line(img, (0, fv), (W, fv), (60, 50, 40), 2, cv2.LINE_AA)
    return np.clip(img, 0, 255).astype(np.uint8)


def _pt(p: np.ndarray) -> tuple[int, int]:
    return int(round(p[0] * _S)), int(round(p[1] * _S))


def _poly(img: np.ndarray, pts: np.ndarray, color: RGB) -> None:
    arr = np.round(np.asarray(pts) * _S).astype(np.int32)
    cv2.fillPoly(img, [arr], color, cv2.LINE_AA, SHIFT)


def _disc(img: np.ndarray, c: np.ndarray, r: float, color: RGB) -> None:
    cv2.circle(img, _pt(c), max(int(round(r * _S)), 1), color, -1, cv2.LINE_AA, SHIFT)


def _limb(img: np.ndarray, p0: np.ndarray, p1: np.ndarray, r0: float, r1: float, color: RGB) -> None:
    """Tapered capsule from p0 (radius r0) to p1 (radius r1), pixels."""
    d = p1 - p0
    L = float(np.hypot(*d))
    if L < 1e-6:
        _disc(img, p0, max(r0, r1), color)
        return
    u = d / L
    n = np.array([-u[1], u[0]])
    _poly(img, np.array([p0 + n * r0, p1 + n * r1, p1 - n * r1, p0 - n * r0]), color)
    _disc(img, p0, r0, color)
    _disc(img, p1, r1, color)


def _shade(c: RGB, f: float) -> RGB:
    return tuple(int(np.clip(v * f, 0, 255)) for v in c)  # type: ignore[return-value]


def draw_figure(
    img: np.ndarray,
    joints: dict[str, np.ndarray],
    body: BodyModel,
    look: Look,
    cam: Camera,
    load: Load = Load(),
) -> None:
    """Draw the lifter in place. ``joints``: world points of ONE frame (2,) each, plus
    'spine' (k, 2) and 'head_dir' (2,)."""
    s = cam.scale_px_per_m * body.height_m * body.girth  # px per unit height for widths
    sh = cam.scale_px_per_m * body.height_m  # px per unit height for lengths
    P = {k: cam.project(v) for k, v in joints.items() if k != "head_dir"}
    hd = joints["head_dir"] * np.array([cam.facing, -1.0])  # pixel-space unit vector
    hf = np.array([-hd[1], hd[0]]) * cam.facing  # face-forward in pixels
    fwd_sign = cam.facing
    skin, far = look.skin, 0.78
    legc = look.bottoms if look.trousers else skin
    off = np.array([-fwd_sign * 0.012 * sh, -0.004 * sh])  # far side offset

    def leg(o: np.ndarray, f: float) -> None:
        hip, knee, ankle = P["hip"] + o, P["knee"] + o, P["ankle"] + o
        heel, toe = P["heel"] + o, P["toe"] + o
        # shoe
        up = np.array([0.0, -0.055 * sh])
        shoe = np.array([heel + np.array([0, -0.002 * sh]), toe, toe + up * 0.45 + np.array([-fwd_sign * 0.02 * sh, 0]),
                         ankle + up * 0.25 + np.array([fwd_sign * 0.01 * sh, 0]), heel + up * 0.9])
        _limb(img, knee, ankle, 0.030 * s, 0.020 * s, _shade(legc, f))
        # calf bulge (back of the shin)
        calf = knee + (ankle - knee) * 0.3 + np.array([-fwd_sign * 0.012 * s, 0])
        _limb(img, knee, calf, 0.028 * s, 0.031 * s, _shade(legc, f))
        _limb(img, calf, ankle, 0.031 * s, 0.019 * s, _shade(legc, f))
        _limb(img, hip, knee, 0.055 * s, 0.033 * s, _shade(legc, f))
        if not look.trousers:  # shorts over the upper thigh
            mid = hip + (knee - hip) * 0.55
            _limb(img, hip, mid, 0.060 * s, 0.046 * s, _shade(look.bottoms, f))
        _poly(img, shoe, _shade(look.shoes, f))
        cv2.polylines(img, [np.round(shoe * _S).astype(np.int32)], True, _shade(look.shoes, f * 0.6), 1, cv2.LINE_AA, SHIFT)

    def arm(o: np.ndarray, f: float) -> None:
        sho, elb, wri = P["shoulder"] + o, P["elbow"] + o, P["wrist"] + o
        sleeve = look.shirt
        _limb(img, elb, wri, 0.026 * s, 0.019 * s, _shade(sleeve if look.long_sleeves else skin, f))
        _limb(img, sho, elb, 0.034 * s, 0.027 * s, _shade(skin, f))
        if not look.long_sleeves:
            mid = sho + (elb - sho) * 0.45
            _limb(img, sho, mid, 0.040 * s, 0.034 * s, _shade(look.shirt, f))
        else:
            _limb(img, sho, elb, 0.038 * s, 0.029 * s, _shade(look.shirt, f))
        d = wri - elb
        d = d / max(np.hypot(*d), 1e-6)
        _limb(img, wri, wri + d * 0.07 * sh, 0.020 * s, 0.017 * s, _shade(skin, f))

    # the far plate is behind everything; the near plate only if requested
    if load.kind == "barbell":
        _barbell(img, P, load, cam)
    # far arm and far leg
    arm(off, far)
    leg(off, far)
    # kettlebell between the legs
    if load.kind == "kettlebell":
        r = kettlebell_radius_m(load.kg) * cam.scale_px_per_m
        w = P["wrist"] + (P["wrist"] - P["elbow"]) / max(np.hypot(*(P["wrist"] - P["elbow"])), 1e-6) * 0.05 * sh
        d = (w - P["shoulder"]) / max(np.hypot(*(w - P["shoulder"])), 1e-6)
        c = w + d * r * 1.25
        cv2.circle(img, _pt(w), int(r * 0.55 * _S), (35, 35, 38), max(int(r * 0.18), 2), cv2.LINE_AA, SHIFT)
        _disc(img, c, r, (45, 45, 50))
        _disc(img, c - np.array([r * 0.3, r * 0.3]), r * 0.25, (80, 80, 88))
    # torso along the spine arc
    sp = P["spine"]
    k = len(sp)
    tang = np.gradient(sp, axis=0)
    tang /= np.linalg.norm(tang, axis=1, keepdims=True)
    nrm = np.stack([-tang[:, 1], tang[:, 0]], 1) * fwd_sign  # forward normal (pixels)
    a = np.linspace(0.0, 1.0, k)
    back = np.interp(a, [0, 0.15, 0.45, 0.75, 1.0], [0.085, 0.070, 0.050, 0.060, 0.045]) * s
    front = np.interp(a, [0, 0.15, 0.45, 0.75, 1.0], [0.050, 0.060, 0.058, 0.070, 0.040]) * s
    front_pts = sp + nrm * front[:, None]
    back_pts = sp - nrm * back[:, None]
    torso = np.concatenate([front_pts, back_pts[::-1]])
    # lower torso (waistband) in bottoms colour, rest shirt
    _poly(img, torso, look.shirt)
    j = max(int(0.18 * k), 1)
    _poly(img, np.concatenate([front_pts[: j + 1], back_pts[: j + 1][::-1]]), look.bottoms)
    # neck and head
    neck = P["neck"]
    headc = P["head"]
    HH = body.head * sh  # head height px
    chin = headc - hd * HH * 0.45
    _limb(img, neck, chin + hf * 0.01 * sh, 0.030 * s, 0.026 * s, skin)
    _disc(img, P["shoulder"], 0.045 * s, look.shirt)
    ang = np.degrees(np.arctan2(hd[1], hd[0]))
    ax = (int(HH * 0.5 * _S), int(HH * 0.40 * _S))
    cv2.ellipse(img, _pt(headc), ax, ang, 0, 360, skin, -1, cv2.LINE_AA, SHIFT)
    # hair: the crown-and-back cap of the head ellipse, cut by a line
    th = np.linspace(0, 2 * np.pi, 48, endpoint=False)
    ring = headc + np.outer(np.cos(th), hd) * HH * 0.52 + np.outer(np.sin(th), hf) * HH * 0.42
    cap = ring[(np.cos(th) * 0.8 - np.sin(th) * 0.6) > 0.05]
    _poly(img, cap, look.hair)
    # face: nose, eye, ear, mouth
    nose_base = headc + hf * HH * 0.38 - hd * HH * 0.02
    _poly(img, np.array([nose_base + hd * HH * 0.08, nose_base + hf * HH * 0.09 - hd * HH * 0.04,
                         nose_base - hd * HH * 0.08]), _shade(skin, 0.92))
    _disc(img, headc + hf * HH * 0.27 + hd * HH * 0.10, HH * 0.035, (40, 30, 30))
    cv2.line(img, _pt(headc + hf * HH * 0.18 + hd * HH * 0.18), _pt(headc + hf * HH * 0.34 + hd * HH * 0.16),
             look.hair, max(int(HH * 0.025), 1), cv2.LINE_AA, SHIFT)
    cv2.ellipse(img, _pt(headc - hf * HH * 0.02), (int(HH * 0.08 * _S), int(HH * 0.12 * _S)), ang, 0, 360,
                _shade(skin, 0.85), -1, cv2.LINE_AA, SHIFT)
    cv2.line(img, _pt(headc + hf * HH * 0.25 - hd * HH * 0.25), _pt(headc + hf * HH * 0.36 - hd * HH * 0.24),
             (150, 80, 80), max(int(HH * 0.02), 1), cv2.LINE_AA, SHIFT)
    # near leg and arm
    leg(np.zeros(2), 1.0)
    arm(np.zeros(2), 1.0)
    if load.kind == "barbell":
        if load.near_plate:
            _barbell(img, P, load, cam)
        _disc(img, P["wrist"], 0.022 * cam.scale_px_per_m, (185, 185, 190))


def _barbell(img: np.ndarray, P: dict[str, np.ndarray], load: Load, cam: Camera) -> None:
    bar = P["wrist"]
    per_side = max((load.kg - 20.0) / 2.0, 0.0)
    r = plate_diameter_m(per_side) / 2 * cam.scale_px_per_m
    if per_side > 0:
        _disc(img, bar, r, (30, 30, 34))
        cv2.circle(img, _pt(bar), int(r * 0.82 * _S), (55, 55, 60), max(int(r * 0.05), 1), cv2.LINE_AA, SHIFT)
        _disc(img, bar, r * 0.22, (90, 90, 95))
    _disc(img, bar, 0.025 * cam.scale_px_per_m, (185, 185, 190))


def render_frame(
    bg: np.ndarray,
    joints: dict[str, np.ndarray],
    body: BodyModel,
    look: Look,
    cam: Camera,
    load: Load = Load(),
    noise: np.ndarray | None = None,
) -> np.ndarray:
    """Copy ``bg``, draw the figure, add an optional int16 noise field; returns uint8 RGB."""
    img = bg.copy()
    draw_figure(img, joints, body, look, cam, load)
    if noise is not None:
        img = np.clip(img.astype(np.int16) + noise, 0, 255).astype(np.uint8)
    return img
