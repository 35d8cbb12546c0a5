"""`models.selector.pretrain:` — grounding pretraining that stands in for a hub VLM's pretraining."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, PositiveInt, field_validator

from viarl.synth.stills import TASKS


class GroundingPretrain(BaseModel):
    """Supervised pretraining of a tiny random selector on generic grounding clips (still frames;
    "which frame is the brightest / shows a large circle / shows something green?"). It never
    sees the needle data. Made once and cached at `models.selector.path`."""

    model_config = ConfigDict(extra="forbid")

    steps: PositiveInt = Field(1600, description="Optimiser steps (batch `batch_size` clips each).")
    batch_size: PositiveInt = Field(8, description="Clips per optimiser step.")
    lr: float = Field(2.0e-3, gt=0.0, description="Peak learning rate (linear warm-up, then cosine).")
    warmup_steps: NonNegativeInt = Field(50, description="Steps of linear learning-rate warm-up.")
    tasks: list[str] = Field(list(TASKS), description=f"Grounding tasks mixed in: any of {', '.join(TASKS)}.")
    first_task_steps: NonNegativeInt = Field(
        600, description="Steps of `brightest` only at the start: the frame-to-index binding forms on "
        "brightness first, then serves the other tasks.")
    think_words: NonNegativeInt = Field(
        2, description="Question keywords written in the target's <think> (the format the selector learns); "
        "0 writes the same words for every question, so a wording never seen cannot break the format.")
    think_frames: bool = Field(
        False, description="Write a mark for every frame in the target's <think> (`0n,1n,2y,...`: y for the "
        "frame the question is about), in place of `think_words`: one supervised token per frame rather than "
        "one per clip, and each mark is read from its own frame. Needs `models.selector.max_new_tokens` of "
        "about 3 x `frames.candidates` + 16.")
    filler_words: NonNegativeInt = Field(
        0, description="Wrap each clip's question in up to this many filler words before it (half as many "
        "after), of random length and naming nothing in the frames: a selector asked in a few short templates "
        "learns to find a frame by its distance from the question's end, and then breaks on longer questions. "
        "0: the templates alone.")
    start_from: Literal["random", "answer"] = Field(
        "random", description="The weights grounding pretraining starts from. `random`: a fresh tiny model "
        "(`tiny_seed`). `answer`: the answer model at `models.answer.path`, pretrained first (as the paper starts "
        "both roles from one VLM): its vision already tells the colours and sizes of things apart, so grounding "
        "only has to tie them to frame indices. Needs the two models to share an architecture.")
    seed: int = Field(0, description="Seed of the clip stream and of the training (same seed, same model).")

    @field_validator("tasks")
    @classmethod
    def check_tasks(cls, tasks: list[str]) -> list[str]:
        unknown = [t for t in tasks if t not in TASKS]
        if unknown or not tasks:
            raise ValueError(f"unknown or no tasks {unknown}; use some of: {', '.join(TASKS)}")
        return tasks


class ChoicePretrain(BaseModel):
    """Supervised pretraining of a tiny random answer model on generic multiple-choice stills
    ("what colour is the large square?", options shuffled per question; the target is the right
    option's text). It never sees the needle data. Made once and cached at `models.answer.path`."""

    model_config = ConfigDict(extra="forbid")

    steps: PositiveInt = Field(1000, description="Optimiser steps (batch `batch_size` examples each).")
    batch_size: PositiveInt = Field(8, description="Examples per optimiser step.")
    lr: float = Field(1.0e-3, gt=0.0, description="Peak learning rate (linear warm-up, then cosine).")
    warmup_steps: NonNegativeInt = Field(20, description="Steps of linear learning-rate warm-up.")
    frames: list[PositiveInt] = Field([1, 2, 2, 4], min_length=1,
                                      description="Frames per example, drawn uniformly from this list.")
    absent: float = Field(0.0, ge=0.0, lt=1.0, description="Share of examples whose frames do not show the "
                          "object; their target is the first option, a guess independent of the truth, so "
                          "answers without evidence stay at chance instead of naming one colour by default.")
    seed: int = Field(0, description="Seed of the example stream and of the training (same seed, same model).")
