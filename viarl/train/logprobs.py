"""Log-probabilities of given completions under a model: the policy, old-policy and reference passes.

The batch-1 prompt is repeated for the k completions (pixel values included) and one forward pass
scores all of them; only the last L+1 logits are kept, so the vocabulary projection never runs
over the long frame prompt.
"""

from __future__ import annotations

import torch

from viarl.train.reinforce_pp import token_logprobs


def repeat_prompt(inputs, k: int) -> dict[str, torch.Tensor]:
    """Repeat a batch-1 processor output k times along the batch (and the image-patch axis)."""
    out: dict[str, torch.Tensor] = {}
    for name, value in inputs.items():
        if not isinstance(value, torch.Tensor):
            continue
        if name in ("pixel_values", "image_grid_thw", "pixel_values_videos", "video_grid_thw"):
            out[name] = value.repeat(k, *([1] * (value.dim() - 1)))  # rows are patches / images
        else:
            out[name] = value.expand(k, *value.shape[1:]) if value.shape[0] == 1 else value
    return out


def completion_logprobs(model, inputs, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """log π(token) for each completion token: [k, L] (zero where mask is 0).

    inputs: the batch-1 selector prompt; tokens/mask: [k, L] right-padded completions.
    """
    k, length = tokens.shape
    device = next(model.parameters()).device
    batch = {n: v.to(device) for n, v in repeat_prompt(inputs, k).items()}
    tokens, mask = tokens.to(device), mask.to(device)
    batch["input_ids"] = torch.cat([batch["input_ids"], tokens], dim=1)  # [k, P+L]
    batch["attention_mask"] = torch.cat([batch["attention_mask"], mask.long()], dim=1)
    if "mm_token_type_ids" in batch:  # completions are text: type 0
        batch["mm_token_type_ids"] = torch.cat(
            [batch["mm_token_type_ids"], torch.zeros_like(tokens, dtype=batch["mm_token_type_ids"].dtype)], 1)
    out = model(**batch, use_cache=False, logits_to_keep=length + 1)
    logits = out.logits[:, :-1, :]  # [k, L, V]: position P-1+t predicts token t
    return token_logprobs(logits, tokens) * mask
