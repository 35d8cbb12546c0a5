"""Supervised batches: loss only on the target tokens, and it trains."""

from __future__ import annotations

import pytest
import torch

from viarl.train.optim import build_optimizer, build_scheduler, clip_and_step, freeze_vision
from viarl.policy.prompts import answer_messages
from viarl.train.supervised import IGNORE, supervised_batch, supervised_loss


def test_labels_cover_only_target_and_end(selector, frames):
    model, proc = selector
    ex = [(answer_messages("Which?", ["a", "b"], 2), frames[:2], "B"),
          (answer_messages("Which one is it?", ["a", "b", "c"], 3), frames[:3], "C")]
    batch = supervised_batch(proc, ex)
    end = proc.tokenizer.convert_tokens_to_ids("<|im_end|>")
    for b, letter in enumerate("BC"):
        labelled = batch["labels"][b][batch["labels"][b] != IGNORE].tolist()
        assert labelled == proc.tokenizer(letter, add_special_tokens=False)["input_ids"] + [end]
    assert batch["image_grid_thw"].shape[0] == 5
    assert (batch["attention_mask"].sum(1) == (batch["input_ids"] != proc.tokenizer.pad_token_id).sum(1)).all()


def test_a_few_steps_fit_a_batch(tiny_answer_dir, frames):
    from viarl.models.loading import load_vlm

    torch.manual_seed(0)
    model, proc = load_vlm(str(tiny_answer_dir))
    assert freeze_vision(model, True) > 0
    assert all(not p.requires_grad for n, p in model.named_parameters() if "visual" in n)
    opt = build_optimizer(model, 3e-3, 0.0)
    sched = build_scheduler(opt, "constant", 30, 0.0)
    ex = [(answer_messages("Which?", ["a", "b"], 1), frames[i : i + 1], "AB"[i % 2]) for i in range(4)]
    batch = supervised_batch(proc, ex)
    first = None
    for _ in range(30):
        loss, info = supervised_loss(model, batch)
        first = first if first is not None else float(loss.detach())
        loss.backward()
        clip_and_step(model, opt, sched, 1.0)
    assert float(loss.detach()) < 0.5 * first


def test_loss_from_the_first_target_on_equals_the_full_sequence_loss(selector, frames):
    """Only the logits from the first labelled position are computed; the loss is unchanged."""
    model, proc = selector
    ex = [(answer_messages("Which?", ["a", "b"], 2), frames[:2], "B"),
          (answer_messages("Which one is it, really?", ["a", "b", "c"], 3), frames[:3], "C")]
    batch = supervised_batch(proc, ex)
    loss, info = supervised_loss(model, batch)
    full = {k: v for k, v in batch.items() if k != "labels"}
    with torch.no_grad():
        logits = model(**full, use_cache=False).logits[:, :-1].float()  # [B, L-1, V]
    target = batch["labels"][:, 1:]
    expected = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1),
                                                 ignore_index=IGNORE)
    assert float(loss.detach()) == pytest.approx(float(expected), rel=1e-5)
    assert info["target_tokens"] == int((target != IGNORE).sum())
