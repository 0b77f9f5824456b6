from fractions import Fraction

import numpy as np
import pytest

from hingeflow.decode import iter_frames, keep_mask, scaled_size, upright
from media import constant_rate_clip, marker_frame, rotated_storage, with_display_rotation, write_clip


def test_keep_mask_subsamples_to_analysis_rate():
    t = np.arange(600) / 60.0  # 10 s at 60 fps
    kept = t[keep_mask(t, 15.0)]
    assert len(kept) == pytest.approx(150, abs=1)
    assert np.allclose(np.diff(kept), 1 / 15, atol=1e-9)


def test_keep_mask_keeps_every_frame_below_rate():
    t = np.arange(100) / 10.0
    assert keep_mask(t, 15.0).all()


def test_scaled_size_limits_long_side():
    assert scaled_size(1920, 1080, 960) == (960, 540)
    assert scaled_size(360, 640, 960) == (360, 640)


def test_upright_rotates_counter_clockwise():
    img = np.zeros((2, 3, 3), np.uint8)
    img[0, 2] = 255  # top-right
    assert upright(img, 90).shape == (3, 2, 3)
    assert upright(img, 90)[0, 0, 0] == 255  # top-right goes to top-left when turned CCW


def test_timestamps_come_from_pts(tmp_path):
    p = constant_rate_clip(tmp_path / "c.mp4", 90, Fraction(30000, 1001))
    frames = list(iter_frames(str(p), analysis_fps=100, max_side_px=960))
    assert [f.frame_idx for f in frames] == list(range(90))
    assert np.allclose([f.t_s for f in frames], np.arange(90) * 1001 / 30000, atol=1e-4)


def test_vfr_subsampling_follows_time(tmp_path):
    times = list(np.cumsum([0] + [1 / 60] * 60 + [1 / 20] * 20))  # 1 s at 60 fps then 1 s at 20 fps
    p = write_clip(tmp_path / "vfr.mp4", [marker_frame(i, 64, 48) for i in range(len(times))], times)
    t = np.array([f.t_s for f in iter_frames(str(p), analysis_fps=10, max_side_px=960)])
    assert len(t) == pytest.approx(20, abs=2)
    assert np.all(np.diff(t) > 0.07) and np.all(np.diff(t) < 0.16)


@pytest.mark.parametrize("ccw", [90, 180, 270])
def test_phone_clips_come_out_upright(tmp_path, ccw):
    upright_frames = [marker_frame(i, 96, 160) for i in range(4)]
    stored = write_clip(tmp_path / "s.mp4", [rotated_storage(f, ccw) for f in upright_frames], [i / 30 for i in range(4)])
    phone = with_display_rotation(stored, tmp_path / "p.mp4", ccw)
    frame = next(iter_frames(str(phone), analysis_fps=30, max_side_px=960))
    assert frame.rgb.shape == (160, 96, 3)
    red = frame.rgb[..., 0].astype(int) - frame.rgb[..., 2]
    assert red[:32, :19].mean() > 100  # the marker sits top-left once upright
    assert red[-40:, -19:].mean() < 30


def test_prefetch_keeps_order_and_reraises():
    from hingeflow.decode import prefetch

    assert list(prefetch(iter(range(100)), depth=3)) == list(range(100))

    def broken():
        yield 1
        raise OSError("disk went away")

    with pytest.raises(OSError, match="disk went away"):
        list(prefetch(broken()))


def test_prefetch_stops_early_without_hanging():
    from hingeflow.decode import prefetch

    it = prefetch(iter(range(10_000)), depth=2)
    assert next(it) == 0
    it.close()


def test_a_stream_cut_off_mid_way_raises_damaged_video_saying_where(tmp_path):
    from bad_media import faststart, truncated
    from hingeflow.decode import DamagedVideo

    whole = faststart(constant_rate_clip(tmp_path / "whole.mp4", 90, Fraction(30), 320, 240), tmp_path / "fast.mp4")
    cut = truncated(whole, tmp_path / "cut.mp4", keep=0.5)
    seen = []
    with pytest.raises(DamagedVideo, match=r"video data is damaged after \d+\.\d s") as err:
        for f in iter_frames(str(cut), 30.0, 320):
            seen.append(f.t_s)
    assert 0 < len(seen) < 90 and f"after {seen[-1]:.1f} s" in str(err.value)
