import numpy as np
import pytest
from PIL import Image

from viarl.video.overlay import TEXT_COLOUR, draw_index


def _red_mask(img: Image.Image) -> np.ndarray:
    a = np.asarray(img).astype(int)
    r, g, b = TEXT_COLOUR
    return (np.abs(a[..., 0] - r) < 60) & (a[..., 1] < 90) & (a[..., 2] < 90)


@pytest.mark.parametrize("size", [(112, 63), (63, 112), (56, 32), (112, 112), (896, 504)])
def test_index_is_red_in_the_bottom_right_corner(size):
    img = Image.new("RGB", size, (0, 0, 0))
    out = draw_index(img, 127)
    assert out.size == img.size and out.mode == "RGB"
    red = _red_mask(out)
    ys, xs = np.nonzero(red)
    assert len(xs) > 10
    w, h = size
    assert xs.min() > w * 0.4 and ys.min() > h * 0.4  # only in the bottom-right corner
    assert np.asarray(img).max() == 0  # the input is not modified


@pytest.mark.parametrize("size", [(112, 63), (56, 32)])
def test_every_index_draws_differently(size):
    img = Image.new("RGB", size, (40, 120, 40))
    drawn = {draw_index(img, i).tobytes() for i in range(128)}
    assert len(drawn) == 128


def test_box_keeps_digits_legible_on_red_background():
    # On a red frame the digits still sit on their white box, so the box is what we see.
    img = Image.new("RGB", (112, 63), TEXT_COLOUR)
    a = np.asarray(draw_index(img, 5))
    assert (a[-8:, -8:] == 255).all(axis=-1).any()
