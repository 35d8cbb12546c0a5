"""decord's C++ log lines: kept off the terminal, and turned into one clean reason per failure.

decord (and the ffmpeg inside it) write their errors straight to the process's stderr from C++,
e.g. `[05:53:48] /github/workspace/src/video/video_reader.cc:83: ERROR opening: x.mp4, Invalid
data found when processing input`, so Python's sys.stderr never sees them. `decoder_errors()`
points file descriptor 2 at a temporary file around a decord call, keeps the lines that look like
decoder logs, hands anything else back to the real stderr, and turns a failure into a
`DecoderError` whose message is the decoder's reason in plain words ("Invalid data found when
processing input"). The video's caller then reports it once, as a skip or a user error.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# "[05:53:48] /src/video/video_reader.cc:83: " (dmlc logging) and "[h264 @ 0x55d0c8] " (ffmpeg).
_DMLC_PREFIX = re.compile(r"\[\d\d:\d\d:\d\d\] \S+?\.(?:cc|cpp|h|hpp):\d+: ")
_FFMPEG_PREFIX = re.compile(r"^\[[^\]@]+ @ (?:0x)?[0-9a-fA-F]+\] ")
# "Check failed: avcodec_send_packet(...) >= 0 (-1094995529 vs. 0) ": the assertion, not the reason.
_CHECK_FAILED = re.compile(r"Check failed: .*?\(-?\d+ vs\. -?\d+\)\s*")
_MAX_CHARS = 200

# File descriptor 2 is one per process: redirections must not interleave. Re-entrant, since a
# decord call wrapped here may run inside another (`probe` opening a reader it then reads).
_lock = threading.RLock()


class DecoderError(RuntimeError):
    """decord could not open or decode a video; the message is the decoder's reason, one line."""


def is_decoder_line(line: str) -> bool:
    """True for a log line written by decord's C++ code or the ffmpeg inside it."""
    return bool(_DMLC_PREFIX.match(line) or _FFMPEG_PREFIX.match(line))


def decoder_message(text: str) -> str:
    """The reason in a decoder log line or exception text, without timestamps, source paths,
    assertion text or the video's path; one line of at most 200 characters ("" when none)."""
    lines = [line for line in text.replace("\r", "\n").splitlines() if line.strip()]
    if not lines:
        return ""
    line = _FFMPEG_PREFIX.sub("", _DMLC_PREFIX.sub("", lines[0]))
    line = _CHECK_FAILED.sub("", line).strip()
    if line.startswith("ERROR opening:") and ", " in line:
        line = line.rsplit(", ", 1)[1]  # "ERROR opening: PATH, REASON": the caller names the path
    return line[:_MAX_CHARS].strip()


@contextmanager
def _stderr_to(sink) -> Iterator[None]:
    """Point file descriptor 2 at `sink` for the block, then back at what it was."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        os.dup2(sink.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


@contextmanager
def decoder_errors() -> Iterator[None]:
    """Run decord calls with their C++ log lines caught: none reaches the terminal, and an
    exception leaves as `DecoderError` with the decoder's reason (from its log line when it wrote
    one, which says more than the exception text)."""
    with _lock, tempfile.TemporaryFile() as sink:
        error: BaseException | None = None
        with _stderr_to(sink):
            try:
                yield
            except Exception as e:  # noqa: BLE001 - decord raises RuntimeError or its DECORDError
                error = e
        sink.seek(0)
        caught = sink.read().decode("utf-8", errors="replace")
    parts = caught.split("\n")  # not splitlines: a "\r" redraw of someone else's output stays one piece
    ours = [part for part in parts if is_decoder_line(part)]
    others = "\n".join(part for part in parts if not is_decoder_line(part))
    if others:  # e.g. a progress bar redrawn meanwhile by another thread: not ours to drop
        sys.stderr.write(others)
        sys.stderr.flush()
    if error is None:
        return
    if isinstance(error, DecoderError):
        raise error
    reason = next((m for m in map(decoder_message, ours) if m), "") or decoder_message(str(error))
    raise DecoderError(reason or type(error).__name__) from None
