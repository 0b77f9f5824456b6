from fractions import Fraction

import numpy as np
import pytest

from hingeflow.probe import UnusableVideo, cut_off_reason, frame_rate_stats, probe_video
from media import constant_rate_clip, marker_frame, rotated_storage, with_display_rotation, write_clip


def test_ntsc_rate_is_measured_not_rounded(tmp_path):
    p = constant_rate_clip(tmp_path / "ntsc.mp4", 60, Fraction(30000, 1001))
    r = probe_video(str(p))
    assert r.fps == pytest.approx(29.97, abs=0.01)
    assert r.frame_count == 60 and not r.vfr
    assert r.duration_s == pytest.approx(60 * 1001 / 30000, rel=1e-3)
    assert (r.width, r.height, r.rotation_deg, r.codec) == (160, 120, 0, "h264")


def test_variable_frame_rate_is_flagged(tmp_path):
    times = list(np.cumsum([0] + [1 / 30] * 20 + [1 / 10] * 5 + [1 / 60] * 20))
    p = write_clip(tmp_path / "vfr.mp4", [marker_frame(i, 64, 48) for i in range(len(times))], times)
    r = probe_video(str(p))
    assert r.vfr
    assert r.fps == pytest.approx((len(times) - 1) / times[-1], rel=1e-3)


@pytest.mark.parametrize("ccw", [90, 270])
def test_display_rotation_gives_upright_size(tmp_path, ccw):
    frames = [rotated_storage(marker_frame(i, 90, 160), ccw) for i in range(5)]
    stored = write_clip(tmp_path / "stored.mp4", frames, [i / 30 for i in range(5)])
    r = probe_video(str(with_display_rotation(stored, tmp_path / "phone.mp4", ccw)))
    assert (r.width, r.height, r.rotation_deg) == (90, 160, ccw)


def test_not_a_video_is_unusable_in_words(tmp_path):
    p = tmp_path / "junk.mp4"
    p.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(UnusableVideo, match="not a video FFmpeg can read"):
        probe_video(str(p))


def test_a_file_cut_off_mid_stream_is_unusable(tmp_path):
    from bad_media import faststart, truncated

    whole = faststart(constant_rate_clip(tmp_path / "whole.mp4", 90, Fraction(30), 320, 240), tmp_path / "fast.mp4")
    assert probe_video(str(whole)).frame_count == 90
    with pytest.raises(UnusableVideo, match=r"file is cut off: it holds \d+ of the 90 frames its index lists"):
        probe_video(str(truncated(whole, tmp_path / "cut.mp4", keep=0.6)))


def test_cut_off_reason():
    assert cut_off_reason(90, 90, 3.0, 30.0) is None
    assert cut_off_reason(40, 0, 1.3, 30.0) is None  # WebM keeps no frame count
    assert cut_off_reason(40, 90, 1.3, 30.0) == ("file is cut off: it holds 40 of the 90 frames its index lists "
                                                 "(1.3 of 3.0 s); upload it again")


def test_audio_only_is_unusable(tmp_path):
    import av

    p = tmp_path / "audio.m4a"
    with av.open(str(p), "w") as out:
        s = out.add_stream("aac", rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate = 8000
        for packet in s.encode(frame):
            out.mux(packet)
        out.mux(s.encode(None))
    with pytest.raises(UnusableVideo, match="no video stream"):
        probe_video(str(p))


def test_frame_rate_stats_constant():
    fps, vfr = frame_rate_stats(np.arange(50) / 24.0)
    assert fps == pytest.approx(24.0) and not vfr
