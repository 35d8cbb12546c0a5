"""Tiny models: real Qwen2.5-VL / open_clip checkpoints that load like hub ones."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from viarl.errors import UserError
from viarl.models.tiny import write_tiny_model


def _frames(n: int, size: int = 56, seed: int = 0) -> list[Image.Image]:
    rng = np.random.default_rng(seed)
    return [Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)) for _ in range(n)]


def _selector_messages(n: int) -> list[dict]:
    content = []
    for i in range(n):
        content += [{"type": "text", "text": f"Frame {i}:"}, {"type": "image"}]
    content.append({"type": "text", "text": "Which frames show the large red triangle?"})
    return [{"role": "system", "content": "Pick frames."}, {"role": "user", "content": content}]


def test_auto_classes_load_the_qwen_classes(tiny_selector_dir):
    from transformers import AutoModelForImageTextToText, AutoProcessor, AutoTokenizer

    model = AutoModelForImageTextToText.from_pretrained(tiny_selector_dir)
    processor = AutoProcessor.from_pretrained(tiny_selector_dir)
    assert type(model).__name__ == "Qwen2_5_VLForConditionalGeneration"
    assert type(processor).__name__ == "Qwen2_5_VLProcessor"
    assert type(processor.image_processor).__name__.startswith("Qwen2VLImageProcessor")
    assert type(AutoTokenizer.from_pretrained(tiny_selector_dir)).__name__ == "Qwen2Tokenizer"
    n_params = sum(p.numel() for p in model.parameters())
    assert 100_000 < n_params < 2_000_000
    cfg = json.loads((tiny_selector_dir / "config.json").read_text())
    assert cfg["architectures"] == ["Qwen2_5_VLForConditionalGeneration"]


def test_generate_from_32_frames_through_chat_template(tiny_selector_dir):
    from transformers import AutoProcessor, Qwen2_5_VLForConditionalGeneration

    model = Qwen2_5_VLForConditionalGeneration.from_pretrained(tiny_selector_dir).eval()
    processor = AutoProcessor.from_pretrained(tiny_selector_dir)
    text = processor.apply_chat_template(_selector_messages(32), add_generation_prompt=True, tokenize=False)
    assert text.count("<|vision_start|><|image_pad|><|vision_end|>") == 32
    assert text.startswith("<|im_start|>system\nPick frames.<|im_end|>\n<|im_start|>user\n")
    assert text.endswith("<|im_end|>\n<|im_start|>assistant\n")
    inputs = processor(text=[text], images=_frames(32), return_tensors="pt")
    # 56-px frames stay 56 px: 4x4 patches of 14 px, merged 2x2 -> 4 tokens per frame.
    assert inputs["image_grid_thw"].tolist() == [[1, 4, 4]] * 32
    assert int((inputs["input_ids"] == processor.image_token_id).sum()) == 32 * 4
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=12, min_new_tokens=12, do_sample=False)
    assert out.shape == (1, inputs["input_ids"].shape[1] + 12)
    decoded = processor.batch_decode(out[:, inputs["input_ids"].shape[1]:], skip_special_tokens=True)
    assert isinstance(decoded[0], str)


def test_generation_config_stops_on_im_end(tiny_selector_dir):
    from transformers import AutoTokenizer, GenerationConfig

    tok = AutoTokenizer.from_pretrained(tiny_selector_dir)
    gen = GenerationConfig.from_pretrained(tiny_selector_dir)
    assert tok.eos_token == "<|im_end|>" and tok.pad_token == "<|endoftext|>"
    for tag in ("<think>", "</think>", "<index>", "</index>", "<|image_pad|>", "<|im_start|>"):
        assert len(tok(tag, add_special_tokens=False)["input_ids"]) == 1, tag
    assert tok.convert_tokens_to_ids("<|im_end|>") in gen.eos_token_id
    assert gen.pad_token_id == tok.pad_token_id


def test_config_token_ids_match_tokenizer(tiny_selector_dir):
    from transformers import AutoConfig, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_selector_dir)
    cfg = AutoConfig.from_pretrained(tiny_selector_dir)
    assert cfg.image_token_id == tok.convert_tokens_to_ids("<|image_pad|>")
    assert cfg.video_token_id == tok.convert_tokens_to_ids("<|video_pad|>")
    assert cfg.vision_start_token_id == tok.convert_tokens_to_ids("<|vision_start|>")
    assert cfg.text_config.vocab_size >= len(tok)


@pytest.mark.slow
def test_same_seed_same_bytes_other_seed_other_weights(tmp_path, tiny_selector_dir, tiny_answer_dir):
    again = write_tiny_model(tmp_path / "again", "selector", seed=0)
    names = sorted(p.name for p in tiny_selector_dir.iterdir())
    assert names == sorted(p.name for p in again.iterdir())
    assert "generation_config.json" in names and "chat_template.jinja" in names
    for name in names:
        assert (again / name).read_bytes() == (tiny_selector_dir / name).read_bytes(), name
    other = write_tiny_model(tmp_path / "other", "selector", seed=1)
    assert (other / "model.safetensors").read_bytes() != (again / "model.safetensors").read_bytes()
    # selector and answer roles differ for the same seed.
    assert (tiny_answer_dir / "model.safetensors").read_bytes() != (again / "model.safetensors").read_bytes()


def test_clip_same_seed_same_bytes(tmp_path, tiny_clip_dir):
    again = write_tiny_model(tmp_path / "clip", "clip", seed=0)
    for name in ("open_clip_config.json", "open_clip_model.safetensors"):
        assert (again / name).read_bytes() == (tiny_clip_dir / name).read_bytes()


def test_existing_model_folder_is_replaced_whole(tmp_path):
    target = write_tiny_model(tmp_path / "m", "clip", seed=0)
    (target / "stale.txt").write_text("old")
    write_tiny_model(target, "clip", seed=1)
    assert not (target / "stale.txt").exists()
    assert (target / "open_clip_config.json").is_file()


def test_non_empty_folder_without_a_model_is_left_alone(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match="holds no model"):
        write_tiny_model(tmp_path, "clip")
    assert (tmp_path / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("role, seed", [("critic", 0), ("", 0), ("selector", -1), ("clip", 1.5)])
def test_bad_arguments_raise_user_error(tmp_path, role, seed):
    with pytest.raises(UserError) as e:
        write_tiny_model(tmp_path / "m", role, seed=seed)
    assert e.value.fix
    assert not (tmp_path / "m").exists()


def test_folder_under_a_regular_file_is_a_user_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(UserError, match="not a folder"):
        write_tiny_model(blocker / "model", "selector")
