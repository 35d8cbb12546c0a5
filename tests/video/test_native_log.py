"""decord's C++ error lines: caught at file-descriptor level, turned into one clean reason."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from viarl.errors import UserError
from viarl.video import decode
from viarl.video.native_log import DecoderError, decoder_errors, decoder_message, is_decoder_line

# What decord 0.6 writes to fd 2 for a file that is not a video (seen on this machine).
OPENING = ("[05:53:48] /github/workspace/src/video/video_reader.cc:83: ERROR opening: /d/a, b.mp4, "
           "Invalid data found when processing input")
CHECK = ("[05:56:46] /github/workspace/src/video/ffmpeg/threaded_decoder.cc:292: [05:56:46] "
         "/github/workspace/src/video/ffmpeg/threaded_decoder.cc:218: Check failed: "
         "avcodec_send_packet(dec_ctx_.get(), pkt.get()) >= 0 (-1094995529 vs. 0) Thread worker: Error sending packet.")


def test_decoder_lines_become_their_reason():
    assert decoder_message(OPENING) == "Invalid data found when processing input"
    assert decoder_message(CHECK) == "Thread worker: Error sending packet."
    assert decoder_message("[h264 @ 0x55d0c8a0] no frame!\n") == "no frame!"
    assert decoder_message("") == "" and decoder_message("\n\r\n") == ""
    assert is_decoder_line(OPENING) and is_decoder_line("[h264 @ 0x55d0c8a0] x")
    assert not is_decoder_line("pre0-warmup ━━━━ 3/3") and not is_decoder_line("[bold]x[/]")


reasons = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=300).filter(
    lambda t: t.strip() and "," not in t and not t.lstrip().startswith(("[", "Check failed", "ERROR")))


@given(reason=reasons, hh=st.integers(0, 23), line=st.integers(1, 9999), codec=st.sampled_from(["h264", "mov,mp4"]))
def test_a_reason_survives_any_prefix_and_stays_one_short_line(reason, hh, line, codec):
    for text in (f"[{hh:02d}:00:59] /src/video/video_reader.cc:{line}: ERROR opening: /v/x.mp4, {reason}",
                 f"[{hh:02d}:00:59] /src/a.cc:{line}: {reason}\nsecond line",
                 f"[{codec} @ 0x7f{line:x}] {reason}"):
        out = decoder_message(text)
        assert out == reason.strip()[:200].strip()
        assert "\n" not in out and len(out) <= 200


@pytest.fixture
def corrupt_video(tmp_path):
    """Random bytes named .mp4: decord's C++ code prints an ERROR line for it on fd 2."""
    path = tmp_path / "corrupt.mp4"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    return path


def test_a_corrupt_video_prints_no_cpp_line_and_keeps_the_reason(corrupt_video, capfd):
    assert decode.video_problem(corrupt_video) == decode.VIDEO_UNREADABLE
    out, err = capfd.readouterr()
    assert out == "" and err == ""  # decord's "video_reader.cc:83: ERROR opening" line is caught
    assert decode.video_problem_detail(corrupt_video) == "Invalid data found when processing input"
    with pytest.raises(UserError) as e:
        decode.probe(corrupt_video)
    assert "video unreadable (Invalid data found when processing input)" in e.value.render()
    with pytest.raises(DecoderError, match="Invalid data found"):
        decode.open_reader(corrupt_video)
    assert capfd.readouterr() == ("", "")


def test_other_writes_to_fd2_pass_through_and_fd2_is_restored(capfd):
    with pytest.raises(DecoderError, match="^disk on fire$"):
        with decoder_errors():
            os.write(2, b"[00:00:01] /src/x.cc:1: disk on fire\nsomeone else's line\n")
            raise RuntimeError("opaque")
    assert capfd.readouterr().err == "someone else's line\n"
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "after\n"
    with decoder_errors():  # nested, as probe -> open_reader does: both restore in turn
        with decoder_errors():
            os.write(2, b"[00:00:01] /src/x.cc:1: quiet\n")
    assert capfd.readouterr().err == ""
