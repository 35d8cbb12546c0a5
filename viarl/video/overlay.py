"""The index drawn on each selector frame: red digits on a white box, bottom-right corner.

The selector's system prompt tells the model that the red number in the bottom-right corner is
the frame's index, so this is the only drawing code. The font is Pillow's bundled default
(`ImageFont.load_default(size=...)`), never a path relative to the working directory. Sizes
scale with the image so digits stay legible down to 56 px frames.

Bump OVERLAY_VERSION whenever the drawing changes: frame caches key on it.
"""

from __future__ import annotations

from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

OVERLAY_VERSION = 1

TEXT_COLOUR = (255, 0, 0)
BOX_COLOUR = (255, 255, 255)
OUTLINE_COLOUR = (0, 0, 0)
MIN_FONT_PX = 11


@lru_cache(maxsize=32)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def font_size_for(width: int, height: int) -> int:
    """Digit height in pixels for a frame of this size (about a quarter of the short side)."""
    return max(MIN_FONT_PX, round(0.24 * min(width, height)), round(0.12 * max(width, height)))


def draw_index(img: Image.Image, index: int) -> Image.Image:
    """A copy of `img` (RGB) with `index` drawn in its bottom-right corner."""
    out = img.convert("RGB") if img.mode != "RGB" else img.copy()
    width, height = out.size
    size = font_size_for(width, height)
    font = _font(size)
    text = str(int(index))
    draw = ImageDraw.Draw(out)
    # A 1 px stroke in the text colour thickens large digits so they survive downsampling;
    # below 28 px it merges 6, 8 and 9 into blobs, so small digits are drawn plain.
    stroke = 1 if size >= 28 else 0
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font, stroke_width=stroke)
    pad = max(1, size // 8)
    box_w = right - left + 2 * pad
    box_h = bottom - top + 2 * pad
    x0, y0 = width - box_w - 1, height - box_h - 1
    draw.rectangle((x0, y0, width - 1, height - 1), fill=BOX_COLOUR, outline=OUTLINE_COLOUR)
    draw.text(
        (x0 + pad - left, y0 + pad - top),
        text,
        fill=TEXT_COLOUR,
        font=font,
        stroke_width=stroke,
        stroke_fill=TEXT_COLOUR,
    )
    return out
