"""Fixtures for the training tests: a loaded tiny selector and random-pixel frames."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image


@pytest.fixture(scope="module")
def selector(tiny_selector_dir):
    """(model, processor) of the tiny selector, loaded the way a hub checkpoint is."""
    from viarl.models.loading import load_vlm

    torch.manual_seed(0)
    return load_vlm(str(tiny_selector_dir))


@pytest.fixture(scope="module")
def frames():
    """Sixteen 56-px random RGB frames."""
    rng = np.random.default_rng(0)
    return [Image.fromarray(rng.integers(0, 255, (56, 56, 3), dtype=np.uint8)) for _ in range(16)]
