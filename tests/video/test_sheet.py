import numpy as np
import pytest
from PIL import Image

from viarl.video.sheet import HIGHLIGHT_COLOUR, contact_sheet


def _tiles(n, size=(40, 30)):
    return [Image.new("RGB", size, (10 * i, 0, 100)) for i in range(n)]


def test_grid_layout_and_highlight():
    sheet = contact_sheet(_tiles(6), labels=[str(i) for i in range(6)], highlight={4}, cols=3)
    a = np.asarray(sheet)
    green = np.all(a == HIGHLIGHT_COLOUR, axis=-1)
    ys, xs = np.nonzero(green)
    assert len(xs) > 0
    # the border surrounds the tile in row 1, column 1 (of 3 x 2): middle third, lower half
    w, h = sheet.size
    assert w / 3 < xs.mean() < 2 * w / 3 and ys.mean() > h / 2
    plain = np.asarray(contact_sheet(_tiles(6), labels=[str(i) for i in range(6)], cols=3))
    assert not np.all(plain == HIGHLIGHT_COLOUR, axis=-1).any()
    assert plain.shape == a.shape


def test_title_and_default_columns():
    no_title = contact_sheet(_tiles(9))
    titled = contact_sheet(_tiles(9), title="hello")
    assert titled.height > no_title.height and titled.width == no_title.width
    assert contact_sheet(_tiles(9)).width < contact_sheet(_tiles(9), cols=9).width
    assert contact_sheet([]).size[0] > 0


def test_labels_must_match_images():
    with pytest.raises(ValueError):
        contact_sheet(_tiles(3), labels=["a"])
