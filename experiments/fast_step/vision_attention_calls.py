"""What `attn_implementation: auto` saves where flash-attn is installed: attention calls in the vision tower.

Qwen2.5-VL's vision tower attends within windows (and, in 4 of its 32 blocks, within whole
frames). Under `flash_attention_2` each block makes one variable-length call for all windows of
all frames; under `sdpa` (what `auto` falls back to without flash-attn or a GPU) transformers
splits the sequence and makes one call per window. This counts the sdpa calls of the real
3B/7B vision tower (random weights, built from viarl's copy of the config, on the CPU) for one
frame at the paper's selector and answer sizes, and scales them to a paper step.

    python experiments/fast_step/vision_attention_calls.py
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

from viarl.models.reference import qwen25_vl_3b


def main() -> None:
    torch.set_num_threads(2)
    cfg = copy.deepcopy(qwen25_vl_3b())
    cfg["text_config"]["num_hidden_layers"] = 1  # only the vision tower runs here
    config = Qwen2_5_VLConfig(**{k: v for k, v in cfg.items() if k not in ("architectures", "model_type", "dtype")})
    model = Qwen2_5_VLForConditionalGeneration._from_config(config, attn_implementation="sdpa").eval()
    vision = model.model.visual
    calls = {"n": 0}
    real = torch.nn.functional.scaled_dot_product_attention

    def counted(*a, **k):
        calls["n"] += 1
        return real(*a, **k)

    torch.nn.functional.scaled_dot_product_attention = counted
    patch, merge, temporal = 14, 2, 2
    per_frame = {}
    for size in (112, 896):
        grid = size // patch
        pixels = torch.from_numpy(np.random.default_rng(0).standard_normal(
            (grid * grid, 3 * temporal * patch * patch)).astype(np.float32))
        thw = torch.tensor([[1, grid, grid]])
        calls["n"] = 0
        with torch.no_grad():
            vision(pixels, grid_thw=thw)
        per_frame[size] = calls["n"]
        print(f"one {size}-px frame: {calls['n']} sdpa calls in {len(vision.blocks)} blocks "
              f"(flash attention: {len(vision.blocks)})")
    torch.nn.functional.scaled_dot_product_attention = real
    selector = 128 * per_frame[112]
    answer = 8 * per_frame[896]
    print(f"a paper RL step under sdpa: {8 * selector:,} calls for the 8 prompts' 128 frames at 112 px "
          f"(flash: {8 * len(vision.blocks)}), and {answer:,} per answer request of 8 frames at 896 px "
          f"(flash: {len(vision.blocks)}), {64 * answer:,} for the step's 64")


if __name__ == "__main__":
    main()
