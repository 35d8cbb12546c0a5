"""Supervised batches for chat VLMs: prompt tokens masked, loss only on the target completion.

Used by the answer SFT stage (target: the correct letter) and the selector warm-up (target: a
well-formed completion with uniformly spaced indices). Each example is run through the processor
on its own (so its image tokens expand correctly), the target tokens are appended, and the
examples are right-padded into one batch, as a data collator would.
"""

from __future__ import annotations

from typing import Sequence

import torch
from PIL import Image

from viarl.policy.prompts import encode, render

IGNORE = -100  # label of tokens that carry no loss


def supervised_batch(processor, examples: Sequence[tuple[list, Sequence[Image.Image], str]]) -> dict:
    """Collate (messages, images, target_text) triples into model inputs with `labels`.

    The target is followed by <|im_end|>, so the model also learns to stop.
    """
    tok = processor.tokenizer
    end = tok.convert_tokens_to_ids("<|im_end|>")
    rows = []
    for messages, images, target in examples:
        enc = encode(processor, [render(processor, messages)], [list(images)], padding_side="right")
        target_ids = torch.tensor(tok(target, add_special_tokens=False)["input_ids"] + [end])
        rows.append((enc, target_ids))
    width = max(e["input_ids"].shape[1] + t.numel() for e, t in rows)
    pad = tok.pad_token_id
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    attn = torch.zeros((len(rows), width), dtype=torch.long)
    labels = torch.full((len(rows), width), IGNORE, dtype=torch.long)
    types = torch.zeros((len(rows), width), dtype=torch.int32)
    pixels, grids = [], []
    for b, (enc, target_ids) in enumerate(rows):
        p, n = enc["input_ids"].shape[1], target_ids.numel()
        ids[b, :p] = enc["input_ids"][0]
        ids[b, p : p + n] = target_ids
        attn[b, : p + n] = 1
        labels[b, p : p + n] = target_ids
        if "mm_token_type_ids" in enc:
            types[b, :p] = enc["mm_token_type_ids"][0]
        if "pixel_values" in enc:
            pixels.append(enc["pixel_values"])
            grids.append(enc["image_grid_thw"])
    batch = {"input_ids": ids, "attention_mask": attn, "labels": labels}
    if "mm_token_type_ids" in rows[0][0]:
        batch["mm_token_type_ids"] = types
    if pixels:
        batch["pixel_values"] = torch.cat(pixels, 0)  # [total patches, C*T*P*P]
        batch["image_grid_thw"] = torch.cat(grids, 0)  # [total images, 3]
    return batch


def supervised_loss(model, batch: dict) -> tuple[torch.Tensor, dict[str, float]]:
    """Mean token cross-entropy over target tokens, and the target-token accuracy.

    Logits are computed only from the first labelled position on: the targets sit at the end of
    each row, after N frames of prompt, so this drops nearly all of the [B, L, V] logits (at the
    paper's 8 frames of 896 px, 8k positions of a 152k vocabulary) and changes no loss term.
    """
    device = next(model.parameters()).device
    batch = {k: v.to(device) for k, v in batch.items()}
    labels = batch.pop("labels")  # [B, L]
    labelled = (labels != IGNORE).any(0).nonzero()
    first = int(labelled.min()) if labelled.numel() else labels.shape[1] - 1
    keep = labels.shape[1] - max(first - 1, 0)  # positions first-1 .. L-1 predict tokens first .. L
    out = model(**batch, use_cache=False, logits_to_keep=keep)
    logits = out.logits[:, :-1, :].float()  # [B, keep-1, V]: position t predicts token t+1
    target = labels[:, labels.shape[1] - keep + 1 :]  # [B, keep-1]
    valid = target != IGNORE
    loss = torch.nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), target.reshape(-1), ignore_index=IGNORE
    )
    with torch.no_grad():
        hit = (logits.argmax(-1) == target) & valid
        acc = float(hit.sum()) / max(int(valid.sum()), 1)
    return loss, {"token_accuracy": acc, "target_tokens": int(valid.sum())}
