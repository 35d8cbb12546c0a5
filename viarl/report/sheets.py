"""Contact sheets of single questions: what the selector saw, what it chose, where the needle was.

Each sheet stacks three parts:

1. a header: question, lettered options, the truth, the parsed answer, correct / hit;
2. the candidate strip (selector view with drawn indices): chosen candidates get a green
   border, candidates inside a needle span an orange bar along their top edge and
   "needle" in their label (when the dataset's truth is known);
3. the chosen frames large (what the answer model saw), labelled with index and source frame.

Frames are decoded again from the video named in the predictions row (`candidate_frames` gives
the exact source frame numbers), so a sheet shows the real pixels, not a cached copy.
"""

from __future__ import annotations

import io
import textwrap
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from viarl.atomic import write_bytes
from viarl.errors import UserError
from viarl.video.candidates import selector_view
from viarl.video.decode import read_frames
from viarl.video.sheet import contact_sheet

NEEDLE_COLOUR = (255, 140, 0)
BACKGROUND = (32, 32, 32)
TEXT_COLOUR = (235, 235, 235)
GOOD, BAD = (90, 220, 120), (255, 110, 110)
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def needle_positions(candidate_frames: Sequence[int], spans: Sequence[tuple[int, int]] | None) -> set[int]:
    """Candidate positions whose source frame lies in a truth span [start, end_exclusive)."""
    if not spans:
        return set()
    return {i for i, f in enumerate(candidate_frames) if any(a <= int(f) < b for a, b in spans)}


def _mark_needle(im: Image.Image) -> Image.Image:
    out = im.convert("RGB").copy()
    bar = max(3, out.height // 10)
    # along the top edge: the drawn index sits bottom-right and must stay legible
    ImageDraw.Draw(out).rectangle((0, 0, out.width - 1, bar - 1), fill=NEEDLE_COLOUR)
    return out


def _header(row: dict[str, Any], width: int, selector: str | None) -> Image.Image:
    font = ImageFont.load_default(size=14)
    chars = max(40, width // 8)
    lines: list[tuple[str, tuple[int, int, int]]] = []
    head = f"{row.get('id')}  ·  {Path(str(row.get('video'))).name}  ·  type {row.get('question_type')}"
    if selector:
        head = f"[{selector}]  " + head
    lines.append((head, TEXT_COLOUR))
    for part in textwrap.wrap(f"Q: {row.get('question', '')}", chars):
        lines.append((part, TEXT_COLOUR))
    for i, opt in enumerate(row.get("options") or []):
        lines += [(p, TEXT_COLOUR) for p in textwrap.wrap(f"   {LETTERS[i]}. {opt}", chars)]
    verdict = "correct" if row.get("correct") else "wrong"
    hit = row.get("hit")
    tail = f"truth {row.get('answer')}  ·  answered {row.get('parsed') or '(unparsed)'}  ·  {verdict}"
    if hit is not None:
        tail += f"  ·  needle {'hit' if hit else 'missed'}"
    if row.get("fallback"):
        tail += "  ·  selector output invalid (uniform fallback)"
    lines.append((tail, GOOD if row.get("correct") else BAD))
    raw = (row.get("answer_raw") or "").strip().replace("\n", " ")
    lines.append((f"answer model wrote: {raw[:chars - 22]!r}", TEXT_COLOUR))
    line_h = 19
    im = Image.new("RGB", (width, 10 + line_h * len(lines)), BACKGROUND)
    draw = ImageDraw.Draw(im)
    for k, (text, colour) in enumerate(lines):
        draw.text((8, 5 + k * line_h), text, fill=colour, font=font)
    return im


def _caption(text: str, width: int) -> Image.Image:
    """A one-line caption band (drawn here so a narrow sheet below cannot clip it)."""
    font = ImageFont.load_default(size=15)
    im = Image.new("RGB", (width, 26), BACKGROUND)
    ImageDraw.Draw(im).text((8, 5), text, fill=TEXT_COLOUR, font=font)
    return im


def _stack(parts: Sequence[Image.Image]) -> Image.Image:
    width = max(p.width for p in parts)
    out = Image.new("RGB", (width, sum(p.height for p in parts)), BACKGROUND)
    y = 0
    for p in parts:
        out.paste(p, (0, y))
        y += p.height
    return out


def question_sheet(row: dict[str, Any], *, spans: Sequence[tuple[int, int]] | None = None,
                   selector_size: int = 96, large_size: int = 320, cols: int = 16,
                   selector: str | None = None) -> Image.Image:
    """The sheet of one predictions row (see the module docstring); decodes its video.

    Raises UserError when the video can no longer be read.
    """
    frames = np.asarray(row["candidate_frames"], dtype=np.int64)
    small = selector_view(read_frames(row["video"], frames, max_side=max(selector_size, 64)), selector_size)
    chosen = list(row.get("chosen") or [])
    needle = needle_positions(row["candidate_frames"], spans)
    thumbs = [_mark_needle(Image.fromarray(f)) if i in needle else Image.fromarray(f) for i, f in enumerate(small)]
    labels = [f"{i} needle" if i in needle else str(i) for i in range(len(thumbs))]
    legend = "candidates: green border = chosen"
    if spans is not None:
        legend += ", orange top bar = inside the needle span"
    strip = contact_sheet(thumbs, labels=labels, highlight=chosen, cols=min(cols, max(1, len(thumbs))))
    big_frames = read_frames(row["video"], np.asarray(row["chosen_frames"], dtype=np.int64), max_side=large_size)
    big = [Image.fromarray(f) for f in big_frames]
    big_labels = [f"#{i}  (frame {f})" + ("  needle" if i in needle else "") for i, f in zip(chosen, row["chosen_frames"])]
    large = contact_sheet(big, labels=big_labels, cols=min(4, max(1, len(big))))
    width = max(strip.width, large.width, 560)
    return _stack([_header(row, width, selector), _caption(legend, width), strip,
                   _caption("chosen frames, as the answer model saw them (sorted by index)", width), large])


def pick_rows(rows: Sequence[dict[str, Any]], k: int) -> list[dict[str, Any]]:
    """`k` rows spread evenly over `rows` (deterministic), all of them when there are fewer."""
    if len(rows) <= k:
        return list(rows)
    return [rows[int(i)] for i in np.linspace(0, len(rows) - 1, k).round().astype(int)]


def write_sheets(rows: Sequence[dict[str, Any]], out_dir: str | Path, *, truth=None, k: int = 6,
                 selector: str | None = None, prefix: str = "sheet") -> tuple[list[tuple[Path, dict]], list[str]]:
    """Write sheets for `k` sampled rows into `out_dir`.

    Returns ([(png path, row)], [problems]): a row whose video can no longer be read is
    reported as a problem instead of stopping the report.
    """
    made, problems = [], []
    for row in pick_rows(rows, k):
        spans = truth.get(Path(str(row.get("video"))).name) if truth else None
        try:
            sheet = question_sheet(row, spans=spans, selector=selector)
        except (UserError, KeyError) as e:
            problems.append(f"{row.get('id')}: {getattr(e, 'message', None) or e}")
            continue
        safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in str(row.get("id")))[:60]
        path = Path(out_dir) / f"{prefix}_{safe}.png"
        buf = io.BytesIO()
        sheet.save(buf, format="PNG")
        write_bytes(path, buf.getvalue())
        made.append((path, row))
    return made, problems
