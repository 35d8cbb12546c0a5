"""`sft:` and `answer_warmup:` — supervised tuning of the answer model on chosen frames."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt

from viarl.config.types import Schedule


class SFT(BaseModel):
    """Optimiser of the answer model's SFT stage."""

    model_config = ConfigDict(extra="forbid")

    steps: PositiveInt = Field(100, description="Optimiser steps per SFT stage.")
    batch_size: PositiveInt = Field(8, description="Questions per forward and backward pass on each process.")
    grad_accum: PositiveInt = Field(
        1, description="Batches whose gradients are summed before each optimiser step: a step sees "
        "batch_size × grad_accum questions per process, so the same update fits in less memory.")
    lr: float = Field(1.0e-6, gt=0.0, description="Peak learning rate of the answer model.")
    weight_decay: float = Field(0.01, ge=0.0, description="AdamW weight decay.")
    schedule: Schedule = Field("cosine", description="Learning-rate schedule after warm-up.")
    warmup_ratio: float = Field(0.02, ge=0.0, lt=1.0, description="Fraction of steps with linear warm-up.")
    grad_clip: float = Field(20.0, gt=0.0, description="Clip the gradient norm to this value.")
    freeze_vision: bool = Field(False, description="Keep the answer model's vision tower fixed during SFT.")
    target: Literal["letter", "text"] = Field(
        "letter", description="What the answer model is trained to reply: the right option's `letter`, or "
        "its `text` (\"red\"; a tiny model learns to name the option it sees long before it learns to "
        "copy the letter printed before it). Evaluation and the rewards read either reply.")
    picks: Literal["sample", "rollout", "greedy", "all"] = Field(
        "sample", description="How the current selector picks each question's frames: `sample` draws a "
        "fresh pick at `rl.temperature` every time (the answer model sees the spread of the selector's "
        "choices), `rollout` reuses the pick of the first sample of each question's last RL rollout in "
        "the cycle (a draw from the same policy, already paid for: no selector call; questions RL never "
        "drew fall back to `greedy`), `greedy` takes its single most likely pick once per question, `all` skips the "
        "selector and shows every candidate frame (the `answer_warmup` stage's default: whatever the "
        "question asks about is then in every example, so a randomly initialised answer model learns "
        "to read frames, with no frame labels).")
