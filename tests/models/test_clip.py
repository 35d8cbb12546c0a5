"""load_clip: the tiny local open_clip model and named models go through the same function."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from viarl.errors import UserError
from viarl.models.clip import ClipBundle, load_clip


def test_local_folder_loads_and_embeds(tiny_clip_dir):
    bundle = load_clip(str(tiny_clip_dir))
    assert isinstance(bundle, ClipBundle)
    assert not bundle.model.training
    images = torch.stack([bundle.preprocess(Image.new("RGB", (56, 56), c)) for c in ("red", "blue")])
    assert images.shape == (2, 3, 64, 64)
    tokens = bundle.tokenizer(["a large red triangle", "a small blue square", "noise"])
    with torch.no_grad():
        img = bundle.model.encode_image(images)  # (2, 32)
        txt = bundle.model.encode_text(tokens)  # (3, 32)
    assert img.shape == (2, 32) and txt.shape == (3, 32)
    assert torch.isfinite(img).all() and torch.isfinite(txt).all()
    # Different images embed differently (the weights really were loaded, not zeros).
    assert not torch.allclose(img[0], img[1])


def test_loaded_weights_are_the_saved_ones(tiny_clip_dir):
    from safetensors.torch import load_file

    saved = load_file(str(tiny_clip_dir / "open_clip_model.safetensors"))
    state = load_clip(tiny_clip_dir).model.state_dict()
    assert set(saved) == set(state)
    assert all(torch.equal(saved[k], state[k]) for k in saved)


def test_named_model_offline_is_a_user_error():
    # conftest sets HF_HUB_OFFLINE=1: fetching pretrained weights fails; no traceback for users.
    with pytest.raises(UserError) as e:
        load_clip("ViT-B-32", "openai")
    assert "openai" in e.value.message
    assert "viarl models tiny" in e.value.fix


@pytest.mark.parametrize("name", ["No-Such-Model", "/missing/clip/dir", "./clip"])
def test_unknown_name_or_missing_folder(name):
    with pytest.raises(UserError) as e:
        load_clip(name)
    assert "viarl models tiny" in e.value.fix


def test_folder_without_open_clip_config(tiny_selector_dir):
    with pytest.raises(UserError, match="open_clip_config.json"):
        load_clip(tiny_selector_dir)
