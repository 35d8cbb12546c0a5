import numpy as np
from PIL import Image

from viarl.cli import main
from viarl.video.encode import write_video


def _video(tmp_path, n=40):
    frames = np.zeros((n, 48, 64, 3), dtype=np.uint8)
    frames[..., 2] = np.linspace(0, 255, n, dtype=np.uint8)[:, None, None]
    return write_video(tmp_path / "clip.mp4", frames, fps=20)


def test_frames_writes_pngs_and_contact_sheet(tmp_path, capsys):
    video = _video(tmp_path)
    out = tmp_path / "out"
    assert main(["frames", str(video), "--candidates", "12", "--out", str(out)]) == 0
    pngs = sorted(p.name for p in out.glob("frame_*.png"))
    assert pngs == [f"frame_{i:02d}.png" for i in range(12)]
    assert Image.open(out / "frame_00.png").size == (112, 84)
    sheet = Image.open(out / "contact_sheet.png")
    assert sheet.width > 3 * 112 and sheet.height > 3 * 84
    assert "12 frames" in capsys.readouterr().out


def test_frames_size_and_short_video(tmp_path, capsys):
    video = _video(tmp_path, n=6)
    out = tmp_path / "small"
    assert main(["frames", str(video), "-T", "32", "--size", "56", "--out", str(out)]) == 0
    assert len(list(out.glob("frame_*.png"))) == 6  # the true count, not 32
    assert Image.open(out / "frame_5.png").size == (56, 42)
    assert "only 6 frames" in capsys.readouterr().out


def test_frames_bad_input_exits_2(tmp_path, capsys):
    out = str(tmp_path / "o")
    assert main(["frames", str(tmp_path / "none.mp4"), "--candidates", "8", "--out", out]) == 2
    assert "video missing" in " ".join(capsys.readouterr().err.split())  # rich wraps lines
    video = _video(tmp_path)
    assert main(["frames", str(video), "--candidates", "0", "--out", out]) == 2
    assert main(["frames", str(video), "--candidates", "8", "--size", "4", "--out", out]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
