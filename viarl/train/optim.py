"""Optimiser, learning-rate schedule and gradient clipping, shared by every training stage."""

from __future__ import annotations

import math

import torch

from viarl.train.finite import NonFinite
from viarl.train.sharding import scalar


def freeze_vision(model, frozen: bool) -> int:
    """Freeze (or unfreeze) the vision tower; returns the number of parameters it holds.

    Qwen2.5-VL names its vision tower `visual` (under `model.` in transformers 5).
    """
    n = 0
    for name, p in model.named_parameters():
        if ".visual." in f".{name}" or name.startswith("visual."):
            p.requires_grad_(not frozen)
            n += p.numel()
    return n


def trainable(model) -> list[torch.nn.Parameter]:
    return [p for p in model.parameters() if p.requires_grad]


def build_optimizer(model, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    """AdamW; no weight decay on biases and norms (1-D parameters), as usual for transformers."""
    decay, no_decay = [], []
    for p in trainable(model):
        (decay if p.dim() >= 2 else no_decay).append(p)
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.95), eps=1e-8)


def build_scheduler(optimizer, schedule: str, steps: int, warmup_ratio: float):
    """Linear warm-up over `warmup_ratio` of the steps, then cosine decay to 0 or constant."""
    warm = int(math.ceil(warmup_ratio * steps))

    def factor(step: int) -> float:
        if warm and step < warm:
            return (step + 1) / warm
        if schedule == "cosine":
            progress = (step - warm) / max(1, steps - warm)
            return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
        return 1.0

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def clip_and_step(model, optimizer, scheduler, max_norm: float, accelerator=None) -> float:
    """Clip the gradient norm, step, zero the gradients; returns the norm before clipping.

    Under accelerate the clip goes through the accelerator, which knows about DDP/FSDP shards.
    """
    if accelerator is not None:
        norm = accelerator.clip_grad_norm_(trainable(model), max_norm)
    else:
        norm = torch.nn.utils.clip_grad_norm_(trainable(model), max_norm)
    value = scalar(norm)
    if not math.isfinite(value):  # before the step: an inf/nan gradient must not reach the weights
        optimizer.zero_grad(set_to_none=True)
        raise NonFinite("the gradient norm", value)
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)
    return value
