"""Tiny, randomly initialised models written to disk in the exact layout of hub checkpoints.

`write_tiny_model(dir, "selector"|"answer")` writes a real Qwen2.5-VL (about 0.7 M parameters,
about 3 MB) with its processor, tokenizer, chat template and generation config; the Auto classes
load it exactly as they load `Qwen/Qwen2.5-VL-3B-Instruct`. `write_tiny_model(dir, "clip")` writes
an open_clip model in open_clip's own local-folder layout (`open_clip_config.json` + weights).
Same role and seed give byte-identical files.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from viarl.atomic import atomic_dir, write_json
from viarl.errors import UserError
from viarl.models.tokenizer import build_tokenizer, CHAT_TEMPLATE

ROLES = ("selector", "answer", "clip")

# Text tower: head_dim = 128 / 4 = 32, so mrope_section must sum to head_dim / 2 = 16.
# rope θ 1e4 rather than Qwen's 1e6: a prompt here is a few hundred tokens, and with 1e6 nearby
# positions are hard to tell apart, which delays the frame-to-label attention. An earlier
# truth-supervised probe found 0.59 vs 0.28 hit at 200 steps (1e4 vs 1e6); the grounding
# pretraining (experiments/needle/pretrain_probe.py) is tuned at 1e4.
TEXT_CONFIG = dict(
    hidden_size=128,
    intermediate_size=256,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=32768,
    rms_norm_eps=1e-6,
    rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [4, 6, 6]},
)
# Vision tower: 14-px patches, 2x2 merge, so a 56-px frame is 16 patches -> 4 LLM tokens.
VISION_CONFIG = dict(
    depth=2,
    hidden_size=64,
    intermediate_size=128,
    num_heads=2,
    patch_size=14,
    spatial_merge_size=2,
    temporal_patch_size=2,
    window_size=112,
    fullatt_block_indexes=[1],
    out_hidden_size=128,
    tokens_per_second=2,
)
# Saved processor limits: 28*28 keeps 56-px frames at 56 px; 224*224 caps a frame at 64 tokens.
MIN_PIXELS = 28 * 28
MAX_PIXELS = 224 * 224
VOCAB_PAD = 64  # embedding rows rounded up to a multiple of this

# open_clip tiny: ViT on 64-px images and a 2-layer text transformer, 32-d joint space.
CLIP_CONFIG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 64, "layers": 2, "width": 64, "head_width": 32, "patch_size": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 2},
}
CLIP_WEIGHTS = "open_clip_model.safetensors"
CLIP_CONFIG_FILE = "open_clip_config.json"


def _check_args(out_dir, role: str, seed: int) -> Path:
    if role not in ROLES:
        raise UserError(
            f"unknown model role {role!r}", where="role", fix=f"use one of: {', '.join(ROLES)}"
        )
    if not isinstance(seed, int) or seed < 0:
        raise UserError(f"seed must be a non-negative integer, got {seed!r}", where="seed",
                        fix="pass --seed 0 or another integer >= 0")
    out = Path(out_dir)
    for parent in [out, *out.parents]:
        if parent.exists():
            if not parent.is_dir():
                raise UserError(f"{parent} exists and is not a folder", where=str(out),
                                fix="choose an output folder that is not under a regular file")
            if not os.access(parent, os.W_OK):
                raise UserError(f"cannot write into {parent}", where=str(out),
                                fix="choose a folder you can write to")
            break
    # The folder is replaced whole; never wipe a folder that is not a model we could have written.
    if out.is_dir() and any(out.iterdir()) and not any(
            (out / marker).is_file() for marker in ("config.json", CLIP_CONFIG_FILE)):
        raise UserError(f"{out} is a non-empty folder that holds no model", where=str(out),
                        fix="choose a new or empty folder (an existing tiny model folder is replaced)")
    return out


def _vlm_config(tokenizer):
    from transformers import Qwen2_5_VLConfig

    ids = tokenizer.convert_tokens_to_ids
    vocab = (len(tokenizer) + VOCAB_PAD - 1) // VOCAB_PAD * VOCAB_PAD
    text = dict(TEXT_CONFIG, vocab_size=vocab, bos_token_id=ids("<|endoftext|>"),
                eos_token_id=ids("<|im_end|>"), pad_token_id=ids("<|endoftext|>"))
    return Qwen2_5_VLConfig(
        text_config=text,
        vision_config=dict(VISION_CONFIG),
        image_token_id=ids("<|image_pad|>"),
        video_token_id=ids("<|video_pad|>"),
        vision_start_token_id=ids("<|vision_start|>"),
        vision_end_token_id=ids("<|vision_end|>"),
        tie_word_embeddings=False,
    )


def _processor(tokenizer):
    from transformers import Qwen2_5_VLProcessor, Qwen2VLImageProcessor, Qwen2VLVideoProcessor

    common = dict(patch_size=VISION_CONFIG["patch_size"], merge_size=VISION_CONFIG["spatial_merge_size"],
                  temporal_patch_size=VISION_CONFIG["temporal_patch_size"])
    image_processor = Qwen2VLImageProcessor(min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS, **common)
    video_processor = Qwen2VLVideoProcessor(min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS, **common)
    return Qwen2_5_VLProcessor(image_processor=image_processor, tokenizer=tokenizer,
                               video_processor=video_processor, chat_template=CHAT_TEMPLATE)


def _write_vlm(out: Path, role: str, seed: int) -> None:
    from transformers import GenerationConfig, Qwen2_5_VLForConditionalGeneration
    from transformers.utils import logging as hf_logging

    tokenizer = build_tokenizer()
    config = _vlm_config(tokenizer)
    # A distinct random stream per role, so selector and answer differ for the same seed.
    torch.manual_seed(seed * 2 + (role == "answer"))
    model = Qwen2_5_VLForConditionalGeneration(config).to(torch.float32).eval()
    model.generation_config = GenerationConfig(
        bos_token_id=config.text_config.bos_token_id,
        pad_token_id=config.text_config.pad_token_id,
        # Stop on <|im_end|> (end of turn) or <|endoftext|>, as Qwen2.5-VL-Instruct does.
        eos_token_id=[config.text_config.eos_token_id, config.text_config.bos_token_id],
        do_sample=False,
    )
    hf_logging.disable_progress_bar()  # no "Writing model shards" bar for a 3 MB file
    model.save_pretrained(out)
    _processor(tokenizer).save_pretrained(out)


def _write_clip(out: Path, seed: int) -> None:
    import open_clip
    from safetensors.torch import save_file

    torch.manual_seed(seed)
    model = open_clip.model.CLIP(**json.loads(json.dumps(CLIP_CONFIG)))
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(out / CLIP_WEIGHTS), metadata={"format": "pt"})
    write_json(out / CLIP_CONFIG_FILE, {
        "model_cfg": CLIP_CONFIG,
        "preprocess_cfg": {"mean": list(open_clip.OPENAI_DATASET_MEAN),
                           "std": list(open_clip.OPENAI_DATASET_STD)},
    })


def write_tiny_model(out_dir, role: str, seed: int = 0) -> Path:
    """Write a tiny random model for `role` ("selector", "answer" or "clip") into `out_dir`.

    The folder is written through `viarl.atomic.atomic_dir`: it appears complete or not at all
    (an existing folder of the same name is replaced). Returns the folder's path.
    """
    out = _check_args(out_dir, role, seed)
    try:
        with atomic_dir(out) as tmp:
            if role == "clip":
                _write_clip(tmp, seed)
            else:
                _write_vlm(tmp, role, seed)
    except PermissionError as e:
        raise UserError(f"cannot write {out}: {e.strerror}", where=str(out),
                        fix="choose a folder you can write to") from None
    return out
