"""`rl:` — REINFORCE++ training of the selector."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, model_validator
from typing import Literal

from viarl.config.issues import Issue, raise_issues
from viarl.config.types import Schedule


class RL(BaseModel):
    """Rollouts, reward shaping and optimiser of the selector's RL stage."""

    model_config = ConfigDict(extra="forbid")

    steps: PositiveInt = Field(100, description="Optimiser steps per RL stage.")
    prompts_per_step: PositiveInt = Field(8, description="Questions per rollout batch on each process.")
    samples_per_prompt: PositiveInt = Field(8, description="Completions sampled per question (k).")
    temperature: float = Field(1.0, gt=0.0, description="Sampling temperature of rollouts.")
    top_p: float = Field(1.0, gt=0.0, le=1.0, description="Nucleus sampling mass of rollouts.")
    lr: float = Field(4.0e-7, gt=0.0, description="Peak learning rate of the selector.")
    weight_decay: float = Field(0.01, ge=0.0, description="AdamW weight decay.")
    schedule: Schedule = Field("cosine", description="Learning-rate schedule after warm-up.")
    warmup_ratio: float = Field(0.02, ge=0.0, lt=1.0, description="Fraction of steps with linear warm-up.")
    grad_clip: float = Field(20.0, gt=0.0, description="Clip the gradient norm to this value.")
    kl_coef: float = Field(1.0e-3, ge=0.0, description="β: weight of the per-token KL penalty (k1) in the reward.")
    kl_clamp: float = Field(10.0, gt=0.0, description="Clamp each per-token KL estimate to ±this.")
    reward_clip: float = Field(10.0, gt=0.0, description="Clip each sample's reward to ±this.")
    clip_eps: float = Field(0.2, gt=0.0, lt=1.0, description="ε of the clipped ratio objective.")
    epochs: PositiveInt = Field(1, description="Passes over each rollout batch.")
    minibatch_size: PositiveInt | None = Field(
        None, description="Sequences per forward and backward pass when optimising on a rollout; each "
        "process's rollout (prompts_per_step × samples_per_prompt sequences) is split into minibatches of "
        "this size, and every `grad_accum` of them make one optimiser step. Null: the whole rollout, one "
        "optimiser step per epoch.")
    grad_accum: PositiveInt = Field(
        1, description="Minibatches whose gradients are summed before each optimiser step: a step sees "
        "minibatch_size × grad_accum sequences, so the same update fits in less memory or on fewer GPUs.")
    index_entropy_coef: float = Field(
        0.0, ge=0.0, description="α of an entropy bonus on the completion's digit tokens (the frame "
        "indices): each sampled digit adds -α·log π_old to its token reward. It keeps the picks the "
        "reward is indifferent to (a second frame once the needle is found) from collapsing onto one "
        "fixed slot; other tokens (format) get none. 0: off.")
    reference: Literal["cycle", "initial"] = Field(
        "cycle", description="KL reference: `cycle` re-takes it from the selector at the start of every "
        "RL stage (the paper); `initial` keeps the selector as the first RL stage found it, so the KL "
        "bounds the total drift over all cycles and keeps exploration from collapsing.")
    old_logprobs: Literal["auto", "sampler", "training"] = Field(
        "auto", description="Where π_old, the ratio's denominator, comes from. `sampler`: the rollout's own "
        "log-probs (KV-cached decode on the generation copy). `training`: the training forward's numerics "
        "(FSDP, autocast), so that sampler/trainer rounding differences clip no token: the first optimiser "
        "step of a rollout uses the loss forward's own log-probs (every ratio exactly 1), later ones a "
        "no-grad pass of the training model. `auto`: `training` where the two differ (run.precision "
        "other than fp32, or FSDP), else `sampler`.")
    baseline: Literal["none", "group"] = Field(
        "none", description="`group` subtracts each question's mean reward (needs samples_per_prompt ≥ 2)."
    )

    @model_validator(mode="after")
    def check_batches(self) -> "RL":
        issues = []
        if self.baseline == "group" and self.samples_per_prompt < 2:
            issues.append(Issue("samples_per_prompt", "baseline `group` needs at least 2 samples per prompt",
                                "set samples_per_prompt: 2 or more, or baseline: none"))
        rollout = self.prompts_per_step * self.samples_per_prompt
        size = rollout if self.minibatch_size is None else self.minibatch_size
        if size > rollout:
            issues.append(Issue(
                "minibatch_size",
                f"minibatch_size ({size}) exceeds the rollout batch "
                f"(prompts_per_step × samples_per_prompt = {rollout})",
                f"use at most {rollout}, or null for the whole rollout",
            ))
        elif rollout % (size * self.grad_accum):
            # Every optimiser step must see the same number of sequences, or the last one would be
            # a smaller, noisier step with the same learning rate.
            issues.append(Issue(
                "grad_accum",
                f"minibatch_size × grad_accum ({size} × {self.grad_accum} = {size * self.grad_accum}) does "
                f"not divide the rollout batch (prompts_per_step × samples_per_prompt = {rollout})",
                "choose minibatch_size and grad_accum whose product divides "
                f"{rollout} (e.g. minibatch_size: {size}, grad_accum: 1)" if rollout % size == 0 else
                f"choose a minibatch_size that divides {rollout}, and a grad_accum that divides the quotient",
            ))
        raise_issues(issues)
        return self
