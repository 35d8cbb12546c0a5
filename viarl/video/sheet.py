"""Contact sheets: frames in a grid with optional labels, highlight borders and a title.

Used by `viarl frames`, and later to show which frames a selector chose (highlight) and where
a needle was hidden.
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

from PIL import Image, ImageDraw, ImageFont

BACKGROUND = (32, 32, 32)
LABEL_COLOUR = (230, 230, 230)
HIGHLIGHT_COLOUR = (0, 220, 90)
LABEL_FONT_PX = 12
TITLE_FONT_PX = 16


def contact_sheet(
    images: Sequence[Image.Image],
    labels: Sequence[str] | None = None,
    highlight: Iterable[int] = frozenset(),
    cols: int | None = None,
    title: str | None = None,
) -> Image.Image:
    """A grid of `images` (cell = largest image), one `labels[i]` under each.

    Images whose position is in `highlight` get a thick coloured border. `cols` defaults to a
    near-square grid. Returns an RGB image; an empty `images` gives a small blank sheet.
    """
    if labels is not None and len(labels) != len(images):
        raise ValueError(f"{len(labels)} labels for {len(images)} images")
    marked = set(int(i) for i in highlight)
    n = len(images)
    cols = max(1, cols or math.ceil(math.sqrt(max(n, 1))))
    rows = max(1, math.ceil(n / cols))
    cell_w = max((im.width for im in images), default=64)
    cell_h = max((im.height for im in images), default=64)
    border = max(3, min(cell_w, cell_h) // 20)
    gap = border + 2
    label_font = ImageFont.load_default(size=LABEL_FONT_PX)
    label_h = LABEL_FONT_PX + border + 3 if labels is not None else 0
    title_font = ImageFont.load_default(size=TITLE_FONT_PX)
    title_h = TITLE_FONT_PX + 10 if title else 0

    sheet_w = cols * (cell_w + gap) + gap
    sheet_h = title_h + rows * (cell_h + label_h + gap) + gap
    sheet = Image.new("RGB", (sheet_w, sheet_h), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    if title:
        draw.text((gap, 5), title, fill=LABEL_COLOUR, font=title_font)
    for i, im in enumerate(images):
        r, c = divmod(i, cols)
        x = gap + c * (cell_w + gap)
        y = title_h + gap + r * (cell_h + label_h + gap)
        if i in marked:
            draw.rectangle(
                (x - border, y - border, x + im.width + border - 1, y + im.height + border - 1),
                fill=HIGHLIGHT_COLOUR,
            )
        sheet.paste(im.convert("RGB"), (x, y))
        if labels is not None:
            label_y = y + cell_h + border + 1
            draw.text((x, label_y), str(labels[i]), fill=LABEL_COLOUR, font=label_font)
    return sheet
