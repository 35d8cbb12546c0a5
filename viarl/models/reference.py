"""Qwen2.5-VL-3B and -7B configs as published on the hub, built in code (shapes only, no weights).

`viarl plan` reads model configs in the layout of a hub `config.json`; these two dicts are in that
layout, so tests and `benchmarks/gpu_smoke.py` get the paper's model shapes without a download.
The numbers are those of Qwen/Qwen2.5-VL-3B-Instruct and Qwen/Qwen2.5-VL-7B-Instruct.
"""

from __future__ import annotations

import copy

# The vision tower is the same in both sizes; only its output width follows the text model's.
_VISION = {
    "model_type": "qwen2_5_vl_vision",
    "depth": 32,
    "hidden_size": 1280,
    "intermediate_size": 3420,
    "num_heads": 16,
    "in_channels": 3,
    "patch_size": 14,
    "spatial_merge_size": 2,
    "temporal_patch_size": 2,
    "window_size": 112,
    "fullatt_block_indexes": [7, 15, 23, 31],
    "tokens_per_second": 2,
    "hidden_act": "silu",
}


def _config(hidden: int, layers: int, heads: int, kv_heads: int, intermediate: int, tied: bool) -> dict:
    text = {
        "model_type": "qwen2_5_vl_text",
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "num_key_value_heads": kv_heads,
        "intermediate_size": intermediate,
        "vocab_size": 151936,
        "max_position_embeddings": 128000,
        "rms_norm_eps": 1e-6,
        "hidden_act": "silu",
        "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": [16, 24, 24]},
        "tie_word_embeddings": tied,
    }
    return {
        "architectures": ["Qwen2_5_VLForConditionalGeneration"],
        "model_type": "qwen2_5_vl",
        "dtype": "bfloat16",
        "tie_word_embeddings": tied,
        "text_config": text,
        "vision_config": dict(copy.deepcopy(_VISION), out_hidden_size=hidden),
        "image_token_id": 151655,
        "video_token_id": 151656,
        "vision_start_token_id": 151652,
        "vision_end_token_id": 151653,
    }


def qwen25_vl_3b() -> dict:
    """The config.json of Qwen2.5-VL-3B-Instruct (tied input and output embeddings)."""
    return _config(hidden=2048, layers=36, heads=16, kv_heads=2, intermediate=11008, tied=True)


def qwen25_vl_7b() -> dict:
    """The config.json of Qwen2.5-VL-7B-Instruct."""
    return _config(hidden=3584, layers=28, heads=28, kv_heads=4, intermediate=18944, tied=False)


REFERENCE_CONFIGS = {"Qwen/Qwen2.5-VL-3B-Instruct": qwen25_vl_3b, "Qwen/Qwen2.5-VL-7B-Instruct": qwen25_vl_7b}
