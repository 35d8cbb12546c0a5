"""`warmup:` — a supervised format warm-up of the selector (uniformly spaced target indices)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, PositiveInt

from viarl.config.types import Schedule


class Warmup(BaseModel):
    """Teaches the selector the output format only; it learns nothing about which frames matter."""

    model_config = ConfigDict(extra="forbid")

    steps: NonNegativeInt = Field(0, description="Optimiser steps; must be > 0 when a `warmup` stage runs.")
    batch_size: PositiveInt = Field(8, description="Questions per optimiser step.")
    lr: float = Field(1.0e-4, gt=0.0, description="Learning rate of the selector.")
    schedule: Schedule = Field("constant", description="Learning-rate schedule after warm-up.")
    warmup_ratio: float = Field(0.0, ge=0.0, lt=1.0, description="Fraction of steps with linear LR warm-up.")
    grad_clip: float = Field(1.0, gt=0.0, description="Maximum gradient norm; larger norms are scaled down.")
    think_words: PositiveInt = Field(
        8, description="Keywords of the question written in the target's <think> (keep it short on CPU: "
        "every token of it is decoded in every rollout).")
