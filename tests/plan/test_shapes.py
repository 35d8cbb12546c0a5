"""Model shapes read from configs agree with real models: parameters, tokens per frame, KV bytes."""

from __future__ import annotations

import json

import pytest
import torch
from PIL import Image

from viarl.models.reference import qwen25_vl_3b, qwen25_vl_7b
from viarl.plan.shapes import ModelShape, load_shape


@pytest.fixture(scope="module")
def tiny(tiny_selector_dir):
    from viarl.models.loading import load_vlm

    model, processor = load_vlm(str(tiny_selector_dir))
    return model, processor, load_shape(str(tiny_selector_dir), "models.selector.path")


def test_tiny_parameter_counts_are_exact(tiny):
    model, _, shape = tiny
    assert shape.params() == sum(p.numel() for p in model.parameters())
    assert shape.vision_params() == sum(p.numel() for n, p in model.named_parameters() if "visual" in n)


@pytest.mark.parametrize("make, billions", [(qwen25_vl_3b, 3.75), (qwen25_vl_7b, 8.29)])
def test_3b_and_7b_shapes_count_what_transformers_builds(make, billions):
    """The in-code configs build, on the meta device, models with exactly the counted parameters."""
    from transformers import AutoModelForImageTextToText, Qwen2_5_VLConfig

    config = make()
    shape = ModelShape.from_config(config)
    hf = Qwen2_5_VLConfig(**{k: v for k, v in config.items() if k not in ("architectures", "model_type")})
    with torch.device("meta"):
        model = AutoModelForImageTextToText.from_config(hf)
    assert shape.params() == sum(p.numel() for p in model.parameters())
    assert shape.params() / 1e9 == pytest.approx(billions, abs=0.01)  # the published sizes
    assert (shape.tokens_per_frame(112), shape.tokens_per_frame(896)) == (16, 1024)


@pytest.mark.parametrize("size", [56, 112])
def test_tokens_per_frame_match_the_processor(tiny, size):
    _, processor, shape = tiny
    image = Image.new("RGB", (size, size))
    grid = processor.image_processor(images=[image], return_tensors="pt")["image_grid_thw"][0]  # [t, h, w]
    assert shape.patches_per_frame(size) == int(grid.prod())
    assert shape.tokens_per_frame(size) == int(grid.prod()) // shape.merge**2


def test_kv_bytes_per_token_match_a_real_cache(tiny):
    model, _, shape = tiny
    n = 7
    with torch.no_grad():
        out = model(input_ids=torch.arange(n).unsqueeze(0) + 10, use_cache=True)
    cache = out.past_key_values
    total = sum(layer.keys.numel() * layer.keys.element_size() + layer.values.numel() * layer.values.element_size()
                for layer in cache.layers)
    assert total == n * shape.kv_bytes_per_token(4)


def test_a_local_config_wins_and_unknown_models_are_a_user_error(tmp_path, tiny_selector_dir):
    from viarl.errors import UserError

    shape = load_shape(str(tiny_selector_dir), "x")
    assert shape.source.endswith("config.json") and shape.hidden == json.loads(
        (tiny_selector_dir / "config.json").read_text())["text_config"]["hidden_size"]
    assert load_shape("Qwen/Qwen2.5-VL-7B-Instruct", "x").hidden == 3584  # cached, or built in
    with pytest.raises(UserError) as e:
        load_shape("acme/never-seen", "models.answer.path")
    assert e.value.where == "models.answer.path" and "huggingface-cli download" in e.value.fix
    with pytest.raises(UserError) as e:
        load_shape(str(tmp_path / "missing"), "models.selector.path", "selector", tiny_seed=0)
    assert "viarl models tiny" in e.value.fix


def test_a_hub_id_is_read_from_the_hugging_face_cache(tmp_path, monkeypatch, tiny_selector_dir):
    """The cache's own layout (refs/main -> snapshots/<rev>/config.json), never the network."""
    import huggingface_hub.constants

    repo = tmp_path / "models--acme--cached-vl"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0" * 40)
    (repo / "snapshots" / ("0" * 40)).mkdir(parents=True)
    (repo / "snapshots" / ("0" * 40) / "config.json").write_text((tiny_selector_dir / "config.json").read_text())
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    shape = load_shape("acme/cached-vl", "models.selector.path")
    assert "Hugging Face cache" in shape.source and shape.params() == load_shape(str(tiny_selector_dir), "x").params()
